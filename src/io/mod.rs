//! Input and output: Parquet customers in, segments Parquet and JSON out.
//!
//! Reading: `input` resolves a file, folder or glob; `options` says which columns to read and how; `plan` reads
//! the files' metadata; `decode` decodes every row group in parallel (through the helpers of `parquet`, which the
//! features aggregator shares, and the conversions of `convert`); `checks` checks IDs, weights and missing values;
//! `select` holds the rules of the default feature selection; `reader` is the entry point. Writing: `writer`
//! (segments Parquet) and `atomic` (temporary file, then rename).

pub mod atomic;
mod checks;
mod convert;
mod decode;
mod input;
mod options;
pub(crate) mod parquet;
mod plan;
mod reader;
pub(crate) mod select;
pub(crate) mod writer;

pub use input::resolve_inputs;
pub use options::{DefaultSelection, Missing, ReadOptions};
pub use reader::{read_features, read_features_with, FeatureTable, ReadReport};
pub use select::SkipReason;
