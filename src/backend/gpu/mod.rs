//! The GPU backend: K-means kernels as WGSL compute shaders (`shaders/`) run through wgpu (Vulkan, Metal or DX12).
//! The design of the kernels (data on the device, tiling, exact integer sums, split bindings, 2-D dispatch, launch
//! shapes) and a map of these files are in `docs/GPU.md`.

mod adapter;
mod backend;
mod context;
mod fixed;
mod kernels;
mod kmeanspp;
mod launch;
mod lloyd;
mod parts;
mod peak;
mod runtime;
mod shaders;
mod silhouette;
mod transfer;
mod uniforms;
mod upload;

pub use adapter::{choose, list_adapters, select_adapter, AdapterSummary, GpuOptions};
pub use backend::{GpuBackend, Setup};
pub use context::GpuContext;
pub use launch::{Launch, LaunchInfo, Tuning};
pub use peak::{measure_peak, MeasuredPeak, PeakSize};
pub use shaders::{Shader, PRELUDE};
pub use silhouette::{silhouette_sums, SilParams};
pub use uniforms::{PartParams, ProbeParams, StepParams};
