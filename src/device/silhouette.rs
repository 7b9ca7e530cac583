//! The silhouette on the requested device: the seeded sample of `evaluate::silhouette` scored with the GPU's
//! per-cluster distance sums (`backend::gpu::silhouette_sums`) where the run's device is the GPU, with the same
//! fall-back to the CPU as a fit, and on the CPU otherwise. The host part (sample, a(i), b(i), mean) is shared.

use tracing::info;

use super::{with_fallback, DeviceRequest};
use crate::error::Result;
use crate::evaluate::{sample_rows, silhouette_sampled, SilhouetteSample};
use crate::matrix::Matrix;

/// Where a silhouette was computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SilhouettePlace {
    Cpu,
    /// On the GPU, with the adapter's name.
    Gpu(String),
}

impl SilhouettePlace {
    /// "CPU" or "GPU", for one line of output.
    pub fn short(&self) -> &'static str {
        match self {
            SilhouettePlace::Cpu => "CPU",
            SilhouettePlace::Gpu(_) => "GPU",
        }
    }
}

/// [`silhouette_sampled`] on the device `req` asks for: `gpu` runs it on the GPU (a GPU failure is the error),
/// `auto` on a hardware GPU if one opens (else, or when it fails, on the CPU), `cpu` on the CPU.
pub fn silhouette_on_device(
    req: &DeviceRequest,
    x: &Matrix,
    labels: &[u32],
    sample: usize,
    seed: u64,
) -> Result<(Option<f64>, SilhouettePlace)> {
    with_fallback(
        req,
        |hardware_only| silhouette_gpu(req, hardware_only, x, labels, sample, seed),
        || Ok((silhouette_sampled(x, labels, sample, seed), SilhouettePlace::Cpu)),
    )
}

#[cfg(feature = "gpu")]
fn silhouette_gpu(
    req: &DeviceRequest,
    hardware_only: bool,
    x: &Matrix,
    labels: &[u32],
    sample: usize,
    seed: u64,
) -> Result<(Option<f64>, SilhouettePlace)> {
    let ctx = crate::backend::gpu::GpuContext::new(&super::gpu_options(req, hardware_only))?;
    let score = silhouette_sampled_gpu(&ctx, x, labels, sample, seed)?;
    Ok((score, SilhouettePlace::Gpu(ctx.name())))
}

#[cfg(not(feature = "gpu"))]
fn silhouette_gpu(
    _: &DeviceRequest,
    _: bool,
    _: &Matrix,
    _: &[u32],
    _: usize,
    _: u64,
) -> Result<(Option<f64>, SilhouettePlace)> {
    Err(super::not_built())
}

/// The silhouette of the same seeded sample as [`silhouette_sampled`], its distance sums made on `ctx`: equal to
/// the CPU's within the bound of `docs/GPU.md` (2 · ((d + 3)/2 + 3) · 2^-24 absolute on the mean).
pub fn silhouette_sampled_gpu(
    ctx: &crate::backend::gpu::GpuContext,
    x: &Matrix,
    labels: &[u32],
    sample: usize,
    seed: u64,
) -> Result<Option<f64>> {
    let idx = sample_rows(x.n(), sample, seed);
    let Some(smp) = SilhouetteSample::new(x, labels, &idx) else {
        return Ok(None);
    };
    let clock = std::time::Instant::now();
    let sums = crate::backend::gpu::silhouette_sums(ctx, &smp.rows, smp.d, &smp.start)?;
    info!(rows = smp.s(), clusters = smp.m(), seconds = clock.elapsed().as_secs_f64(), "silhouette sums on the GPU");
    Ok(Some(smp.mean_from_sums(&sums)))
}
