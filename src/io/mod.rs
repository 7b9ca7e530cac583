//! Input and output: Parquet or CSV customers in, segments Parquet and JSON out.
//!
//! Reading: `input` resolves a file, folder or glob; `options` says which columns to read and how; `plan` reads
//! the files' metadata (for CSV, `csv` infers a schema and `csv_read` decodes the rows in parallel pieces);
//! `decode` decodes every row group in parallel (through the helpers of `parquet`, which the features aggregator
//! shares, and the conversions of `convert`); `checks` checks IDs, weights and missing values; `select` holds the
//! rules of the default feature selection and `columns` its account of every column; `reader` is the entry point;
//! `named` reads named columns whole as Arrow arrays (categorical, profiled and kept columns); `table` streams a
//! table's batches. Writing: `writer` (segments Parquet) and `atomic` (temporary file, then rename).

pub mod atomic;
mod checks;
mod columns;
mod convert;
pub(crate) mod csv;
pub(crate) mod csv_read;
mod decode;
mod input;
pub mod named;
mod options;
pub(crate) mod parquet;
mod plan;
mod reader;
pub(crate) mod select;
mod table;
pub(crate) mod writer;

pub use csv::{parse_csv_schema, SAMPLE_ROWS as CSV_SAMPLE_ROWS};
pub use input::resolve_inputs;
pub use options::{DefaultSelection, Missing, ReadOptions};
pub use reader::{read_features, read_features_with, FeatureTable, ReadReport};
pub use select::SkipReason;
pub use table::TableFile;
