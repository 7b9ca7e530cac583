//! Backends that implement the K-means kernels: `cpu` (rayon, the reference) and `gpu` (wgpu compute shaders).

pub mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;
#[cfg(not(feature = "gpu"))]
#[path = "gpu/stub.rs"]
pub mod gpu;
