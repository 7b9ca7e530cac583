//! Retail features from transaction logs: per-customer RFM, BG/NBD inputs, RFM scores and segments
//! (`custseg features`).
//!
//! - `build`: [`build_features`] / [`write_features`], the figures per customer and the written file.
//! - `stream`: the transaction files streamed, row group by row group in parallel, into the sharded per-customer
//!   states (`state`), which rows count, and the merge of the shards.
//! - `options` and `report`: [`FeatureOptions`] with the output [`columns`], and [`FeatureReport`], the counts.
//! - [`dates`]: every accepted date representation, as days since 1970-01-01 ([`parse_date`]).
//! - [`rfm`]: quintile or binned R/F/M scores, the named segments ([`rfm::SEGMENTS`]), value tiers, Pareto, CLV.
//! - `input` and `state`: column checks and conversions, and the per-customer state (internal).
//!
//! The synthetic transaction logs to try them on are made in [`crate::generate`]; [`generate_transactions`] and
//! [`write_transactions`] are re-exported here.

mod build;
pub mod dates;
mod extra;
mod input;
mod options;
mod report;
pub mod rfm;
mod selection;
mod state;
mod stream;
#[cfg(test)]
mod testing;
mod warnings;

pub use build::{build_features, write_features};
pub use dates::{format_date, parse_date};
pub use options::{columns, FeatureOptions, TxColumns};
pub use report::FeatureReport;
pub use rfm::{RfmBins, RfmOptions, RfmSummary};
pub use selection::default_prep;

pub use crate::generate::{generate_transactions, write_transactions};
