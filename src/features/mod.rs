//! Retail features from transaction logs: per-customer RFM, BG/NBD inputs, RFM scores and segments
//! (`custseg features`), and synthetic transaction logs to try them on.
//!
//! - [`aggregate`]: [`build_features`] / [`write_features`], the streaming, sharded, parallel aggregation.
//! - [`dates`]: every accepted date representation, as days since 1970-01-01 ([`parse_date`]).
//! - [`rfm`]: quintile or binned R/F/M scores, the named segments ([`rfm::SEGMENTS`]), value tiers, Pareto, CLV.
//! - [`synth`]: deterministic synthetic transaction logs.
//! - `input` and `state`: column checks and conversions, and the per-customer state (internal).

pub mod aggregate;
pub mod dates;
mod input;
pub mod rfm;
mod selection;
mod state;
pub mod synth;

pub use aggregate::{build_features, columns, write_features, FeatureOptions, FeatureReport, TxColumns};
pub use dates::{format_date, parse_date};
pub use rfm::{RfmBins, RfmOptions, RfmSummary};
pub use synth::{generate_transactions, write_transactions};
