//! Choosing where K-means runs: `cpu`, `gpu`, or `auto` (a hardware GPU if there is one, else the CPU), with the
//! fallback to the CPU when `auto` meets a GPU failure; and the opening of the GPU on another thread while the input
//! is read ([`open_early`]). The only place that knows both backends.

use tracing::{info, warn};

use crate::backend::cpu::CpuBackend;
use crate::error::{Error, Result};
use crate::kmeans::{fit, FitResult, ValidParams};
use crate::matrix::Matrix;

mod silhouette;
pub use silhouette::{silhouette_on_device, silhouette_sampled_gpu, SilhouettePlace};

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

/// A GPU being opened on another thread (the device, the kernels, and the Lloyd pipeline of the expected shape),
/// so that the driver's start-up and the shader compilation overlap the reading of the input. Empty for
/// `--device cpu` and without the `gpu` feature.
#[derive(Debug)]
pub struct EarlyGpu {
    #[cfg(feature = "gpu")]
    pending: Option<std::thread::JoinHandle<Result<Opened>>>,
}

#[cfg(feature = "gpu")]
#[derive(Debug)]
struct Opened {
    ctx: crate::backend::gpu::GpuContext,
    open_s: f64,
    prepare_s: f64,
}

/// Waits for a GPU that was being opened and is no longer wanted (the read failed): the thread must not be inside
/// the driver while the process exits.
#[cfg(feature = "gpu")]
impl Drop for EarlyGpu {
    fn drop(&mut self) {
        if let Some(handle) = self.pending.take() {
            let _ = handle.join();
        }
    }
}

impl EarlyGpu {
    /// Nothing opened: the fit opens its GPU itself.
    pub fn none() -> Self {
        EarlyGpu {
            #[cfg(feature = "gpu")]
            pending: None,
        }
    }
}

/// Starts opening the GPU that `req` asks for (`gpu` or `auto`) on another thread, and building the Lloyd pipeline
/// for `k` centroids over `d` features (a hint: the fit builds whatever shape it needs). Errors are kept for the
/// fit, which reports them exactly as if it had opened the GPU itself.
pub fn open_early(req: &DeviceRequest, d: usize, k: usize, weighted: bool) -> EarlyGpu {
    #[cfg(feature = "gpu")]
    if req.choice != DeviceChoice::Cpu {
        let opts = gpu_options(req, req.choice == DeviceChoice::Auto);
        let spawned = std::thread::Builder::new().name("custseg-gpu-open".into()).spawn(move || {
            let clock = std::time::Instant::now();
            let ctx = crate::backend::gpu::GpuContext::new(&opts)?;
            let open_s = clock.elapsed().as_secs_f64();
            let clock = std::time::Instant::now();
            ctx.prepare(d, k, weighted)?;
            Ok(Opened { ctx, open_s, prepare_s: clock.elapsed().as_secs_f64() })
        });
        // A thread that cannot be spawned leaves the opening to the fit.
        return EarlyGpu { pending: spawned.ok() };
    }
    let _ = (req, d, k, weighted);
    EarlyGpu::none()
}

/// Fits on the requested device. With `auto`, a GPU that cannot be opened or fails during the fit falls back to
/// the CPU with a warning; with `gpu`, such a failure is the error.
pub fn fit_on_device(req: &DeviceRequest, params: &ValidParams, x: &Matrix, w: Option<&[f32]>) -> Result<FitResult> {
    fit_on_device_early(req, EarlyGpu::none(), params, x, w)
}

/// [`fit_on_device`] with the GPU that [`open_early`] started opening, if any (waited for here).
pub fn fit_on_device_early(
    req: &DeviceRequest,
    early: EarlyGpu,
    params: &ValidParams,
    x: &Matrix,
    w: Option<&[f32]>,
) -> Result<FitResult> {
    with_fallback(req, |hardware_only| fit_gpu(req, early, hardware_only, params, x, w), || fit_cpu(params, x, w))
}

/// [`fit_on_device`] with another CPU fit (the Python package's exact sums, `exact::fit_exact`): the GPU as `req`
/// asks, with the same fall-back, and `cpu` where the CPU runs.
pub fn fit_on_device_or(
    req: &DeviceRequest,
    params: &ValidParams,
    x: &Matrix,
    w: Option<&[f32]>,
    cpu: impl FnOnce() -> Result<FitResult>,
) -> Result<FitResult> {
    with_fallback(req, |hardware_only| fit_gpu(req, EarlyGpu::none(), hardware_only, params, x, w), cpu)
}

/// Runs `gpu` (told whether only a hardware adapter will do) or `cpu`, as `req` asks: with `auto`, a GPU that cannot
/// be opened or fails during the work falls back to the CPU, with a warning where a device had been opened.
fn with_fallback<T>(
    req: &DeviceRequest,
    gpu: impl FnOnce(bool) -> Result<T>,
    cpu: impl FnOnce() -> Result<T>,
) -> Result<T> {
    match req.choice {
        DeviceChoice::Cpu => cpu(),
        DeviceChoice::Gpu => gpu(false),
        DeviceChoice::Auto => match gpu(true) {
            Ok(r) => Ok(r),
            Err(e @ Error::Gpu(_)) => {
                if gpu_was_opened(&e) {
                    warn!("{e}; falling back to the CPU backend");
                } else {
                    info!("device auto: {e}; using the CPU backend");
                }
                cpu()
            }
            Err(e) => Err(e),
        },
    }
}

fn fit_cpu(params: &ValidParams, x: &Matrix, w: Option<&[f32]>) -> Result<FitResult> {
    let mut b = CpuBackend::new(x, w);
    info!(backend = %crate::kmeans::Backend::name(&b), "clustering");
    fit(params, x, w, &mut b, &crate::backend::cpu::sample_backend)
}

/// Whether the GPU error happened on an opened device, rather than before one existed (no adapter, none that fits
/// the request, or a build without the gpu feature).
fn gpu_was_opened(e: &Error) -> bool {
    matches!(e, Error::Gpu(g) if g.device_was_opened())
}

#[cfg(feature = "gpu")]
fn gpu_options(req: &DeviceRequest, hardware_only: bool) -> crate::backend::gpu::GpuOptions {
    crate::backend::gpu::GpuOptions {
        adapter: req.adapter.clone(),
        require_hardware: hardware_only,
        max_binding_bytes: req.max_binding_bytes,
    }
}

#[cfg(feature = "gpu")]
fn fit_gpu(
    req: &DeviceRequest,
    mut early: EarlyGpu,
    hardware_only: bool,
    params: &ValidParams,
    x: &Matrix,
    w: Option<&[f32]>,
) -> Result<FitResult> {
    use crate::backend::gpu::{GpuBackend, GpuContext};
    let ctx = match early.pending.take() {
        Some(handle) => {
            let clock = std::time::Instant::now();
            let opened =
                handle.join().unwrap_or_else(|_| Err(Error::gpu("opening the GPU failed: its thread panicked")))?;
            info!(
                open_seconds = opened.open_s,
                prepare_seconds = opened.prepare_s,
                waited_seconds = clock.elapsed().as_secs_f64(),
                "opened the GPU while the input was read"
            );
            opened.ctx
        }
        None => GpuContext::new(&gpu_options(req, hardware_only))?,
    };
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
    fit(params, x, w, &mut b, &crate::backend::cpu::sample_backend)
}

#[cfg(not(feature = "gpu"))]
fn fit_gpu(
    _: &DeviceRequest,
    _: EarlyGpu,
    _: bool,
    _: &ValidParams,
    _: &Matrix,
    _: Option<&[f32]>,
) -> Result<FitResult> {
    Err(not_built())
}

/// The error of asking for the GPU in a build without the `gpu` feature.
#[cfg(not(feature = "gpu"))]
pub(crate) fn not_built() -> Error {
    Error::Gpu(crate::error::GpuError::new(
        crate::error::GpuErrorKind::NotBuilt,
        "no GPU backend: custseg was built without the gpu feature",
    ))
}

/// Assigns every row of `x` to its nearest of the `k` centroids (`k × d`, row-major) on the requested device,
/// with the same fall-back as [`fit_on_device`]. Returns the assignment and the name of the backend that made it.
/// On the device a fit ran on, the labels and distances are those of the fit's last assignment, to the bit.
pub fn assign_on_device(
    req: &DeviceRequest,
    x: &Matrix,
    centroids: &[f32],
    k: usize,
) -> Result<(crate::kmeans::Assignment, String)> {
    with_fallback(req, |hardware_only| assign_gpu(req, hardware_only, x, centroids, k), || assign_cpu(x, centroids, k))
}

fn assign_cpu(x: &Matrix, centroids: &[f32], k: usize) -> Result<(crate::kmeans::Assignment, String)> {
    use crate::kmeans::Backend;
    let mut b = CpuBackend::new(x, None);
    Ok((b.assign(centroids, k)?, b.name()))
}

#[cfg(feature = "gpu")]
fn assign_gpu(
    req: &DeviceRequest,
    hardware_only: bool,
    x: &Matrix,
    centroids: &[f32],
    k: usize,
) -> Result<(crate::kmeans::Assignment, String)> {
    use crate::backend::gpu::{GpuBackend, GpuContext};
    use crate::kmeans::Backend;
    let ctx = GpuContext::new(&gpu_options(req, hardware_only))?;
    info!(adapter = %ctx.name(), "assigning on the GPU");
    let mut b = GpuBackend::new(&ctx, x, None)?;
    ctx.release_staging();
    Ok((b.assign(centroids, k)?, b.name()))
}

#[cfg(not(feature = "gpu"))]
fn assign_gpu(
    _: &DeviceRequest,
    _: bool,
    _: &Matrix,
    _: &[f32],
    _: usize,
) -> Result<(crate::kmeans::Assignment, String)> {
    Err(not_built())
}
