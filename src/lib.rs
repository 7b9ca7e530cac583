//! custseg: customer segmentation with K-means on the GPU (wgpu) or the CPU (rayon).
//!
//! The pipeline: `io` reads Parquet into a [`Matrix`], `prep` scales it, `kmeans` clusters it through a
//! [`kmeans::Backend`] (`backend::cpu` or `backend::gpu`), and `io`/`report` write segments, model and profiles.

pub mod backend;
pub mod bench;
pub mod device;
pub mod error;
pub mod features;
pub mod generate;
pub mod io;
pub mod kmeans;
pub mod matrix;
pub mod model;
pub mod pipeline;
pub mod prep;

pub use error::{Error, Result};
pub use matrix::Matrix;
