//! Choosing where K-means runs: `cpu`, `gpu`, or `auto` (a hardware GPU if there is one, else the CPU), with the
//! fallback to the CPU when `auto` meets a GPU failure. The only place that knows both backends.

use tracing::{info, warn};

use crate::backend::cpu::CpuBackend;
use crate::error::{Error, Result};
use crate::kmeans::{fit, FitResult, ValidParams};
use crate::matrix::Matrix;

/// The `--device` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    Cpu,
    Gpu,
    #[default]
    Auto,
}

/// What the user asked for: the device, and optionally an adapter name (substring, case-insensitive).
#[derive(Debug, Clone, Default)]
pub struct DeviceRequest {
    pub choice: DeviceChoice,
    pub adapter: Option<String>,
    /// Forces a smaller storage-binding limit (bytes) on the GPU; for tests of split data.
    pub max_binding_bytes: Option<u64>,
}

/// Fits on the requested device. With `auto`, a GPU that cannot be opened or fails during the fit falls back to
/// the CPU with a warning; with `gpu`, such a failure is the error.
pub fn fit_on_device(req: &DeviceRequest, params: &ValidParams, x: &Matrix, w: Option<&[f32]>) -> Result<FitResult> {
    match req.choice {
        DeviceChoice::Cpu => fit_cpu(params, x, w),
        DeviceChoice::Gpu => fit_gpu(req, false, params, x, w),
        DeviceChoice::Auto => match fit_gpu(req, true, params, x, w) {
            Ok(r) => Ok(r),
            Err(e @ Error::Gpu(_)) => {
                if gpu_was_opened(&e) {
                    warn!("{e}; falling back to the CPU backend");
                } else {
                    info!("device auto: {e}; using the CPU backend");
                }
                fit_cpu(params, x, w)
            }
            Err(e) => Err(e),
        },
    }
}

fn fit_cpu(params: &ValidParams, x: &Matrix, w: Option<&[f32]>) -> Result<FitResult> {
    let mut b = CpuBackend::new(x, w);
    info!(backend = %crate::kmeans::Backend::name(&b), "clustering");
    fit(params, x, w, &mut b)
}

/// Errors raised before a device existed say "no ..." (no adapter / no hardware GPU / built without).
fn gpu_was_opened(e: &Error) -> bool {
    !matches!(e, Error::Gpu(m) if m.starts_with("no ") || m.contains("without the gpu feature"))
}

#[cfg(feature = "gpu")]
fn fit_gpu(
    req: &DeviceRequest,
    hardware_only: bool,
    params: &ValidParams,
    x: &Matrix,
    w: Option<&[f32]>,
) -> Result<FitResult> {
    use crate::backend::gpu::{GpuBackend, GpuContext, GpuOptions};
    let opts = GpuOptions {
        adapter: req.adapter.clone(),
        require_hardware: hardware_only,
        max_binding_bytes: req.max_binding_bytes,
    };
    let ctx = GpuContext::new(&opts)?;
    info!(adapter = %ctx.name(), "clustering on the GPU");
    let mut b = GpuBackend::new(&ctx, x, w)?;
    // The data is on the device: the staging ring's host memory is not needed for the fit or the write.
    ctx.release_staging();
    let s = b.setup();
    info!(
        bytes = s.upload_bytes,
        seconds = s.upload_s,
        gbs = s.upload_gbs(),
        exponents_seconds = s.exponents_s,
        "uploaded the features to the GPU"
    );
    fit(params, x, w, &mut b)
}

#[cfg(not(feature = "gpu"))]
fn fit_gpu(_: &DeviceRequest, _: bool, _: &ValidParams, _: &Matrix, _: Option<&[f32]>) -> Result<FitResult> {
    Err(Error::Gpu("no GPU backend: custseg was built without the gpu feature".into()))
}
