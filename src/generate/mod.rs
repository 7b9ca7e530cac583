//! Synthetic data: retail customers with planted segments (`custseg generate`), Gaussian blobs for the benchmarks,
//! and transaction logs for `custseg features`.
//!
//! - `customers`: [`write_customers`] / [`generate_customers`] and their options; `recipes`: the planted
//!   segments ([`segment_recipes`]).
//! - `blobs`: [`generate_blobs`].
//! - `transactions`: [`write_transactions`] / [`generate_transactions`].
//! - `draw` and `writer`: what the generators share, the seeded ChaCha8 streams with their samplers, and the
//!   chunked, parallel zstd Parquet writing ([`CHUNK_ROWS`] rows a chunk, one stream each).

mod blobs;
mod customers;
mod draw;
mod recipes;
mod transactions;
mod writer;

pub use blobs::generate_blobs;
pub use customers::{
    customer_schema, generate_customers, write_customers, GenerateOptions, GenerateSummary, SegmentRows,
    PLANTED_SEGMENT_COLUMN,
};
pub(crate) use draw::fmix64;
pub use recipes::{
    segment_recipes, LogNormal, MeanSd, PlantedSegment, MAX_CATEGORIES, MAX_RECENCY_DAYS, MAX_TENURE_DAYS,
};
pub use transactions::{
    generate_transactions, transaction_schema, write_transactions, CATEGORIES, DAYS_AFTER_AS_OF, HISTORY_DAYS,
    ROWS_PER_CUSTOMER,
};
pub use writer::{CHUNK_ROWS, ROW_GROUP_ROWS};
