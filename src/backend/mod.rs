//! Backends that implement the K-means kernels: `cpu` (rayon, the reference) and `gpu` (wgpu compute shaders).

pub mod cpu;
mod cpu_kernel;
