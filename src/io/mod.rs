//! Input and output: Parquet customers in (`reader`, with the default feature selection in `select`), segments
//! Parquet and JSON out (`writer`, `atomic`).

pub mod atomic;
pub mod input;
pub mod reader;
pub mod select;
pub mod writer;

pub use input::resolve_inputs;
pub use reader::{read_features, FeatureTable, Missing, ReadOptions, ReadReport};
pub use select::SkipReason;
pub use writer::{read_segments, write_segments};
