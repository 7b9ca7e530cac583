//! Backends that implement the K-means kernels: `cpu` (rayon, the reference) and `gpu` (wgpu compute shaders).

pub mod cpu;
mod cpu_bounds;
pub mod cpu_kernel;
mod cpu_pp;
#[cfg(feature = "gpu")]
pub mod gpu;
#[cfg(not(feature = "gpu"))]
#[path = "gpu/stub.rs"]
pub mod gpu;
