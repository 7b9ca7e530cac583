//! Input and output: Parquet customers in (`reader`), segments Parquet and JSON out (`writer`, `atomic`).

pub mod atomic;
