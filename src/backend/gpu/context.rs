//! An open GPU ([`GpuContext`]): the device on the chosen adapter with the adapter's own limits, what the adapter
//! is, the launch shape, the compiled kernels (built on first use) and the upload staging ring. Obtaining an
//! adapter (`adapter::select_adapter`) is kept apart from using a device ([`GpuContext::from_adapter`],
//! [`GpuContext::from_device`]), so tests can hand in a device of their own.

use std::sync::OnceLock;

use super::adapter::{is_hardware_type, select_adapter, GpuOptions};
use super::kernels::Kernels;
use super::launch::Tuning;
use super::runtime::Runtime;
use super::transfer::StagingRing;
use crate::error::{one_line, Error, Result};

/// An open GPU: device, queue, what the adapter is, its limits, and the compiled kernels (built on first use).
pub struct GpuContext {
    /// The device, its queue and limits, and its error plumbing.
    pub(crate) rt: Runtime,
    info: wgpu::AdapterInfo,
    /// Bytes one storage binding may hold: `min(max_storage_buffer_binding_size, max_buffer_size, option)`.
    pub(crate) max_binding: u64,
    pub(crate) tuning: Tuning,
    kernels: OnceLock<Kernels>,
    /// The upload staging ring, kept for the next backend on this context.
    pub(crate) staging: StagingRing,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext").field("adapter", &self.name()).field("max_binding", &self.max_binding).finish()
    }
}

impl GpuContext {
    /// Opens the GPU `opts` asks for.
    pub fn new(opts: &GpuOptions) -> Result<GpuContext> {
        let adapter = select_adapter(opts)?;
        GpuContext::from_adapter(&adapter, opts.max_binding_bytes)
    }

    /// Opens a device on `adapter`, requesting the adapter's own limits (wgpu's defaults are far lower).
    pub fn from_adapter(adapter: &wgpu::Adapter, max_binding_bytes: Option<u64>) -> Result<GpuContext> {
        let info = adapter.get_info();
        let desc = wgpu::DeviceDescriptor {
            label: Some("custseg"),
            // GPU timestamps time the Lloyd passes (`GpuBackend::last_step_gpu_ms`) where the adapter has them.
            required_features: adapter.features() & wgpu::Features::TIMESTAMP_QUERY,
            required_limits: adapter.limits(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc)).map_err(|e| {
            Error::gpu(one_line(&format!("cannot open a device on {} ({:?}): {e}", info.name, info.backend)))
        })?;
        GpuContext::from_device(device, queue, info, max_binding_bytes)
    }

    /// Wraps an already opened device. Installs the handlers that record asynchronous errors.
    pub fn from_device(
        device: wgpu::Device,
        queue: wgpu::Queue,
        info: wgpu::AdapterInfo,
        max_binding_bytes: Option<u64>,
    ) -> Result<GpuContext> {
        let rt = Runtime::new(device, queue);
        let limits = &rt.limits;
        // Bindings are indexed with u32 words in the shaders: stay below 4 GiB, and keep a multiple of 4 bytes.
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
            .min(max_binding_bytes.unwrap_or(u64::MAX))
            .min((1u64 << 32) - 4)
            / 4
            * 4;
        if max_binding < 16 {
            return Err(Error::gpu(format!("storage binding limit of {max_binding} bytes is too small")));
        }
        let tuning = Tuning::for_adapter(limits, info.subgroup_max_size, info.vendor);
        Ok(GpuContext { rt, info, max_binding, tuning, kernels: OnceLock::new(), staging: StagingRing::new() })
    }

    /// The adapter's name with backend and type, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu)`.
    pub fn name(&self) -> String {
        format!("{} ({:?}, {:?})", self.info.name, self.info.backend, self.info.device_type)
    }

    /// Whether this is a real GPU (discrete, integrated or virtual) rather than a CPU driver.
    pub fn is_hardware(&self) -> bool {
        is_hardware_type(self.info.device_type)
    }

    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// The bytes one storage binding may hold here; data larger than this is split over several buffers.
    pub fn max_binding_bytes(&self) -> u64 {
        self.max_binding
    }

    /// The launch shape the kernels use.
    pub fn tuning(&self) -> Tuning {
        self.tuning
    }

    /// Whether the device records GPU timestamps (`Features::TIMESTAMP_QUERY`), so that
    /// [`super::GpuBackend::last_step_gpu_ms`] has a value.
    pub fn has_timestamps(&self) -> bool {
        self.rt.timestamps
    }

    /// Changes the launch shape (tests use it to force 2-D dispatches, many small blocks, the Lloyd kernel's
    /// workgroup size and points per thread). Kernels are rebuilt.
    #[doc(hidden)]
    pub fn set_tuning(&mut self, t: Tuning) -> Result<()> {
        self.tuning = t.checked(&self.rt.limits)?;
        self.kernels = OnceLock::new();
        Ok(())
    }

    /// Sets the upload chunk size (a multiple of 4 bytes, at most `STAGE_BYTES`): tests use small chunks so that
    /// data goes through the staging ring many times.
    #[doc(hidden)]
    pub fn set_upload_chunk(&mut self, bytes: u64) {
        assert!(bytes >= 4 && bytes.is_multiple_of(4), "upload chunk must be a positive multiple of 4 bytes");
        self.staging.set_chunk(bytes);
    }

    /// Frees the upload staging ring (two buffers of up to 64 MiB of host-visible memory); the next upload makes
    /// it again. `segment` calls it once its data is on the device, so the fit and the write run without it.
    pub fn release_staging(&self) {
        self.staging.release();
    }

    /// Bytes held by the upload staging ring.
    pub fn staging_bytes(&self) -> u64 {
        self.staging.bytes()
    }

    /// Builds the kernels, and the Lloyd pipeline that a fit of `k` centroids over `d` features (weighted or not)
    /// with this context's default launch uses, ahead of the fit. `segment` calls it on another thread while the
    /// input is read, so the shader compilation is not part of the fit.
    pub fn prepare(&self, d: usize, k: usize, weighted: bool) -> Result<()> {
        let kernels = self.kernels()?;
        let shape = self.tuning.lloyd_shape(d as u32, k as u32, weighted, kernels.storage_bytes);
        kernels.lloyd(&self.rt, &shape)?;
        Ok(())
    }

    /// How many Lloyd pipelines (one per launch shape) this context has built so far.
    pub fn lloyd_pipelines_built(&self) -> usize {
        self.kernels.get().map_or(0, |k| k.lloyd_built())
    }

    /// The compiled kernels, built on first use.
    pub(crate) fn kernels(&self) -> Result<&Kernels> {
        if let Some(k) = self.kernels.get() {
            return Ok(k);
        }
        let built = Kernels::new(&self.rt, self.tuning)?;
        let _ = self.kernels.set(built);
        Ok(self.kernels.get().expect("just set"))
    }
}
