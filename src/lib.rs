//! custseg: customer segmentation with K-means on the GPU (wgpu) or the CPU (rayon).
//!
//! Each command is one job (`jobs::segment`, `jobs::assign`, `jobs::compare`, `features::build_features`,
//! `bench::run_bench`, `generate`). A fit: `io` reads Parquet into a [`Matrix`], `prep` scales it, `kmeans` clusters
//! it through a [`kmeans::Backend`] (`backend::cpu` or `backend::gpu`, chosen by `device`), `numbering` orders the
//! segments, and `io`, `model` and `report` write the segments, the model and the profiles.

pub mod backend;
pub mod bench;
pub mod cli;
pub mod device;
pub mod drift;
pub mod error;
pub mod evaluate;
pub mod exact;
pub mod explain;
pub mod features;
pub mod format;
pub mod generate;
pub mod io;
pub mod jobs;
pub mod kmeans;
pub mod matrix;
pub mod model;
pub mod numbering;
pub mod prep;
pub mod previous;
pub mod pseudonym;
pub mod report;
#[cfg(test)]
mod test_util;

pub use error::{Error, Result};
pub use matrix::{Matrix, SharedRows};
