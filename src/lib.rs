//! custseg: customer segmentation with K-means on the GPU (wgpu) or the CPU (rayon).
//!
//! The pipeline (`pipeline`): `io` reads Parquet into a [`Matrix`], `prep` scales it, `kmeans` clusters it through
//! a [`kmeans::Backend`] (`backend::cpu` or `backend::gpu`, chosen by `device`), and `io` and `model` write the
//! segments and the model. `features` turns transaction logs into customer features; `generate` makes synthetic
//! data; `bench` times the kernels.

pub mod assign;
pub mod backend;
pub mod bench;
pub mod compare;
pub mod device;
pub mod drift;
pub mod error;
pub mod features;
pub mod format;
pub mod generate;
pub mod io;
pub mod kmeans;
pub mod matrix;
pub mod model;
pub mod numbering;
pub mod pipeline;
pub mod prep;
pub mod pseudonym;
pub mod report;
#[cfg(test)]
mod test_util;

pub use error::{Error, Result};
pub use matrix::Matrix;
