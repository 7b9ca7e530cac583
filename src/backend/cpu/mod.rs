//! The CPU backend (rayon, the reference every GPU kernel is checked against) and its kernels.

mod backend;
mod bounds;
mod kernel;
#[cfg(target_arch = "x86_64")]
mod kernel_avx2;
mod kernel_portable;
mod packed;
mod pp;
mod step;

pub use backend::{sample_backend, CpuBackend};
pub use bounds::Bounds;
pub use packed::Kernel;
