//! Choosing and opening a GPU: the adapter list for `custseg devices`, the adapter choice (by name, hardware
//! only), the device with the adapter's own limits, and the error plumbing that turns every wgpu failure
//! (validation, out of memory, lost device, failed maps and polls) into a one-line `Error::Gpu`.
//!
//! Obtaining an adapter ([`select_adapter`]) is kept apart from using a device ([`GpuContext::from_adapter`],
//! [`GpuContext::from_device`]), so tests can hand in a device of their own.

use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{one_line, Error, Result};

use super::kernels::{Kernels, Tuning};

/// The backends custseg asks wgpu for: the native compute APIs, never GL (whose probing is noisy and which lacks
/// what the kernels need). `WGPU_BACKEND` overrides this.
fn backends() -> wgpu::Backends {
    wgpu::Backends::from_env().unwrap_or(wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12)
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends = backends();
    wgpu::Instance::new(desc)
}

fn ser_debug<T: std::fmt::Debug, S: serde::Serializer>(v: &T, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:?}"))
}

/// One adapter wgpu can see, with the limits that shape the kernels.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    #[serde(serialize_with = "ser_debug")]
    pub backend: wgpu::Backend,
    #[serde(serialize_with = "ser_debug")]
    pub device_type: wgpu::DeviceType,
    /// Driver name and version, e.g. `llvmpipe / Mesa 22.3.6 (LLVM 15.0.6)`.
    pub driver: String,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_invocations_per_workgroup: u32,
    /// A discrete, integrated or virtual GPU (not a CPU driver such as lavapipe).
    pub is_hardware: bool,
}

fn is_hardware_type(t: wgpu::DeviceType) -> bool {
    matches!(t, wgpu::DeviceType::DiscreteGpu | wgpu::DeviceType::IntegratedGpu | wgpu::DeviceType::VirtualGpu)
}

fn driver_string(info: &wgpu::AdapterInfo) -> String {
    match (info.driver.is_empty(), info.driver_info.is_empty()) {
        (false, false) => format!("{} / {}", info.driver, info.driver_info),
        (false, true) => info.driver.clone(),
        (true, false) => info.driver_info.clone(),
        (true, true) => "unknown".into(),
    }
}

fn summarise(adapter: &wgpu::Adapter) -> AdapterSummary {
    let info = adapter.get_info();
    let l = adapter.limits();
    AdapterSummary {
        name: info.name.clone(),
        backend: info.backend,
        device_type: info.device_type,
        driver: driver_string(&info),
        max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
        max_buffer_size: l.max_buffer_size,
        max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
        max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
        max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
        is_hardware: is_hardware_type(info.device_type),
    }
}

fn enumerate() -> Vec<wgpu::Adapter> {
    pollster::block_on(instance().enumerate_adapters(backends()))
}

/// Every adapter wgpu can see on the native backends (Vulkan, Metal, DX12), in wgpu's order.
pub fn list_adapters() -> Vec<AdapterSummary> {
    enumerate().iter().map(summarise).collect()
}

/// How to choose and configure the GPU.
#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    /// A case-insensitive substring of the adapter's name; `None` takes the best adapter.
    pub adapter: Option<String>,
    /// Refuse CPU drivers (lavapipe, WARP): used by `--device auto`, which prefers the CPU backend to them.
    pub require_hardware: bool,
    /// Forces a smaller storage-binding limit in bytes, so tests can split small data over many buffers.
    pub max_binding_bytes: Option<u64>,
}

fn type_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

fn describe(adapters: &[AdapterSummary]) -> String {
    adapters.iter().map(|a| format!("{} ({:?}, {:?})", a.name, a.backend, a.device_type)).collect::<Vec<_>>().join("; ")
}

/// Picks an adapter index from `found` per `opts`: the name filter, then hardware only, then the best type
/// (discrete, integrated, virtual, CPU), first in wgpu's order on ties. Errors raised here start with "no ".
pub fn choose(found: &[AdapterSummary], opts: &GpuOptions) -> Result<usize> {
    if found.is_empty() {
        return Err(Error::Gpu(
            "no GPU adapter found (Vulkan/Metal/DX12); install mesa-vulkan-drivers for a CPU Vulkan driver, or use --device cpu"
                .into(),
        ));
    }
    let mut idx: Vec<usize> = (0..found.len()).collect();
    if let Some(want) = &opts.adapter {
        let want_l = want.to_lowercase();
        idx.retain(|&i| found[i].name.to_lowercase().contains(&want_l));
        if idx.is_empty() {
            return Err(Error::Gpu(format!("no GPU adapter matches \"{want}\" (found: {})", describe(found))));
        }
    }
    if opts.require_hardware {
        let candidates: Vec<AdapterSummary> = idx.iter().map(|&i| found[i].clone()).collect();
        idx.retain(|&i| found[i].is_hardware);
        if idx.is_empty() {
            return Err(Error::Gpu(format!(
                "no hardware GPU adapter (found only software ones: {})",
                describe(&candidates)
            )));
        }
    }
    idx.sort_by_key(|&i| type_rank(found[i].device_type));
    Ok(idx[0])
}

/// Finds the adapter `opts` asks for. This is the only code that looks at the machine's adapters.
pub fn select_adapter(opts: &GpuOptions) -> Result<wgpu::Adapter> {
    let mut adapters = enumerate();
    let summaries: Vec<AdapterSummary> = adapters.iter().map(summarise).collect();
    let i = choose(&summaries, opts)?;
    Ok(adapters.swap_remove(i))
}

/// The first error wgpu reported asynchronously (uncaptured validation error, lost device); sticky.
type ErrorSlot = Arc<Mutex<Option<String>>>;

fn record(slot: &ErrorSlot, msg: String) {
    let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
    if s.is_none() {
        *s = Some(one_line(&msg));
    }
}

/// An open GPU: device, queue, what the adapter is, its limits, and the compiled kernels (built on first use).
pub struct GpuContext {
    pub(super) device: wgpu::Device,
    pub(super) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    pub(super) limits: wgpu::Limits,
    /// Bytes one storage binding may hold: `min(max_storage_buffer_binding_size, max_buffer_size, option)`.
    pub(super) max_binding: u64,
    errors: ErrorSlot,
    pub(super) tuning: Tuning,
    /// The device has `TIMESTAMP_QUERY`: Lloyd steps are timed on the GPU.
    pub(super) timestamps: bool,
    kernels: OnceLock<Kernels>,
    /// The ring of MAP_WRITE staging buffers for uploads (two, so the host fills one while the GPU copies out of
    /// the other), kept for the next backend on this context.
    pub(super) upload_staging: Mutex<Vec<wgpu::Buffer>>,
    /// Bytes per upload chunk (`STAGE_BYTES` unless a test makes it small to drive many chunks through the ring).
    pub(super) upload_chunk: u64,
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
            Error::Gpu(one_line(&format!("cannot open a device on {} ({:?}): {e}", info.name, info.backend)))
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
        let errors: ErrorSlot = Arc::default();
        let slot = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| record(&slot, format!("wgpu error: {e}"))));
        let slot = errors.clone();
        device
            .set_device_lost_callback(move |reason, msg| record(&slot, format!("GPU device lost ({reason:?}): {msg}")));
        let limits = device.limits();
        // Bindings are indexed with u32 words in the shaders: stay below 4 GiB, and keep a multiple of 4 bytes.
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
            .min(max_binding_bytes.unwrap_or(u64::MAX))
            .min((1u64 << 32) - 4)
            / 4
            * 4;
        if max_binding < 16 {
            return Err(Error::Gpu(format!("storage binding limit of {max_binding} bytes is too small")));
        }
        let tuning = Tuning::for_adapter(&limits, info.subgroup_max_size, info.vendor);
        let timestamps = device.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        Ok(GpuContext {
            device,
            queue,
            info,
            limits,
            max_binding,
            errors,
            tuning,
            timestamps,
            kernels: OnceLock::new(),
            upload_staging: Mutex::new(Vec::new()),
            upload_chunk: super::buffers::STAGE_BYTES,
        })
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
        self.timestamps
    }

    /// Changes the launch shape (tests use it to force 2-D dispatches, many small blocks, the Lloyd kernel's
    /// workgroup size and points per thread). Kernels are rebuilt.
    #[doc(hidden)]
    pub fn set_tuning(&mut self, t: Tuning) -> Result<()> {
        self.tuning = t.checked(&self.limits)?;
        self.kernels = OnceLock::new();
        Ok(())
    }

    /// Sets the upload chunk size (a multiple of 4 bytes, at most `STAGE_BYTES`): tests use small chunks so that
    /// data goes through the staging ring many times.
    #[doc(hidden)]
    pub fn set_upload_chunk(&mut self, bytes: u64) {
        assert!(bytes >= 4 && bytes % 4 == 0, "upload chunk must be a positive multiple of 4 bytes");
        self.upload_chunk = bytes.min(super::buffers::STAGE_BYTES);
        self.upload_staging.get_mut().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// A pair of timestamp queries (a pass's beginning and end) and the 16-byte buffer they resolve into, where the
    /// device has `TIMESTAMP_QUERY`; `None` otherwise.
    pub(super) fn timestamp_pair(&self, label: &str) -> Result<Option<(wgpu::QuerySet, wgpu::Buffer)>> {
        if !self.timestamps {
            return Ok(None);
        }
        let set = self.scoped(&format!("creating the {label} timestamp queries"), || {
            self.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some(label),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            })
        })?;
        let resolve = self.buffer(label, 16, wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC)?;
        Ok(Some((set, resolve)))
    }

    /// Milliseconds between two resolved timestamps; `None` when they are out of order.
    pub(super) fn timestamp_ms(&self, begin: u64, end: u64) -> Option<f64> {
        let period_ns = f64::from(self.queue.get_timestamp_period());
        end.checked_sub(begin).map(|ticks| ticks as f64 * period_ns * 1e-6)
    }

    /// Frees the upload staging ring (two buffers of up to 64 MiB of host-visible memory); the next upload makes
    /// it again. `segment` calls it once its data is on the device, so the fit and the write run without it.
    pub fn release_staging(&self) {
        self.upload_staging.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Bytes held by the upload staging ring.
    pub fn staging_bytes(&self) -> u64 {
        self.upload_staging.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|b| b.size()).sum()
    }

    /// The compiled kernels, built on first use.
    /// Builds the kernels, and the Lloyd pipeline that a fit of `k` centroids over `d` features (weighted or not)
    /// with this context's default launch uses, ahead of the fit. `segment` calls it on another thread while the
    /// input is read, so the shader compilation is not part of the fit.
    pub fn prepare(&self, d: usize, k: usize, weighted: bool) -> Result<()> {
        let kernels = self.kernels()?;
        let shape = self.tuning.lloyd_shape(d as u32, k as u32, weighted, kernels.storage_bytes);
        kernels.lloyd(self, &shape)?;
        Ok(())
    }

    /// How many Lloyd pipelines (one per launch shape) this context has built so far.
    pub fn lloyd_pipelines_built(&self) -> usize {
        self.kernels.get().map_or(0, |k| k.lloyd_built())
    }

    pub(super) fn kernels(&self) -> Result<&Kernels> {
        if let Some(k) = self.kernels.get() {
            return Ok(k);
        }
        let built = Kernels::new(self)?;
        let _ = self.kernels.set(built);
        Ok(self.kernels.get().expect("just set"))
    }

    /// The first asynchronous error wgpu reported, if any: once the device has failed, every call fails.
    pub(super) fn check(&self) -> Result<()> {
        match &*self.errors.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(msg) => Err(Error::Gpu(msg.clone())),
            None => Ok(()),
        }
    }

    /// Runs `f` inside error scopes and turns an out-of-memory or validation error into `Error::Gpu`.
    pub(super) fn scoped<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(val.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = o {
            return Err(Error::Gpu(one_line(&format!("out of GPU memory: {what}: {e}"))));
        }
        if let Some(e) = v {
            return Err(Error::Gpu(one_line(&format!("{what} failed: {e}"))));
        }
        self.check()?;
        Ok(out)
    }

    /// Creates a buffer, reporting out-of-memory as `Error::Gpu`.
    pub(super) fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> Result<wgpu::Buffer> {
        let size = size.max(16).div_ceil(wgpu::COPY_BUFFER_ALIGNMENT) * wgpu::COPY_BUFFER_ALIGNMENT;
        self.scoped(&format!("allocating {label} ({size} bytes)"), || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        })
    }

    /// Submits `cmd` and waits for it to finish.
    pub(super) fn submit_wait(&self, cmd: wgpu::CommandBuffer) -> Result<()> {
        let idx = self.queue.submit([cmd]);
        let polled = self.device.poll(wgpu::PollType::Wait { submission_index: Some(idx), timeout: None });
        // A recorded error (lost device, validation) explains a failed poll better than the poll does.
        self.check()?;
        polled.map(|_| ()).map_err(|e| match e {
            wgpu::PollError::WrongSubmissionIndex(..) => {
                Error::Gpu("the GPU did not accept the submitted work (the device was lost or destroyed)".into())
            }
            e => Error::Gpu(one_line(&format!("waiting for the GPU failed: {e}"))),
        })
    }

    /// Submits `cmd` without waiting; returns its index (for [`GpuContext::map_after`] and [`GpuContext::wait`]).
    pub(super) fn submit(&self, cmd: wgpu::CommandBuffer) -> wgpu::SubmissionIndex {
        self.queue.submit([cmd])
    }

    /// Waits until the submission `idx` has finished.
    pub(super) fn wait(&self, idx: wgpu::SubmissionIndex) -> Result<()> {
        let polled = self.device.poll(wgpu::PollType::Wait { submission_index: Some(idx), timeout: None });
        self.check()?;
        polled.map(|_| ()).map_err(|e| Error::Gpu(one_line(&format!("waiting for the GPU failed: {e}"))))
    }

    /// Maps `size` bytes of `buf` (from offset 0) for `mode`, waiting until the map is done.
    pub(super) fn map(&self, buf: &wgpu::Buffer, size: u64, mode: wgpu::MapMode) -> Result<()> {
        self.map_after(buf, size, mode, None)
    }

    /// Like [`GpuContext::map`], but waits only for the submission `after` (the last one that used `buf`), not for
    /// everything in flight, so work submitted later (a copy out of another staging buffer) keeps running. With
    /// `after = None` an idle buffer is mapped at once if one non-blocking poll resolves it, else after all work.
    pub(super) fn map_after(
        &self,
        buf: &wgpu::Buffer,
        size: u64,
        mode: wgpu::MapMode,
        after: Option<wgpu::SubmissionIndex>,
    ) -> Result<()> {
        let done: Arc<Mutex<Option<std::result::Result<(), wgpu::BufferAsyncError>>>> = Arc::default();
        let d = done.clone();
        buf.slice(0..size).map_async(mode, move |r| *d.lock().unwrap_or_else(|p| p.into_inner()) = Some(r));
        let polled = match after {
            Some(idx) => self.device.poll(wgpu::PollType::Wait { submission_index: Some(idx), timeout: None }),
            None => match self.device.poll(wgpu::PollType::Poll) {
                Ok(_) if done.lock().unwrap_or_else(|p| p.into_inner()).is_some() => Ok(wgpu::PollStatus::Poll),
                _ => self.device.poll(wgpu::PollType::wait_indefinitely()),
            },
        };
        self.check()?;
        polled.map_err(|e| Error::Gpu(one_line(&format!("waiting for a buffer map failed: {e}"))))?;
        let r = done.lock().unwrap_or_else(|p| p.into_inner()).take();
        match r {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(Error::Gpu(one_line(&format!("mapping a buffer failed: {e}")))),
            None => Err(Error::Gpu("mapping a buffer did not complete".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(name: &str, t: wgpu::DeviceType) -> AdapterSummary {
        AdapterSummary {
            name: name.into(),
            backend: wgpu::Backend::Vulkan,
            device_type: t,
            driver: "test".into(),
            max_storage_buffer_binding_size: 1 << 27,
            max_buffer_size: 1 << 31,
            max_compute_workgroup_storage_size: 32768,
            max_compute_workgroups_per_dimension: 65535,
            max_compute_invocations_per_workgroup: 1024,
            is_hardware: is_hardware_type(t),
        }
    }

    #[test]
    fn no_adapter_is_a_clear_error_starting_with_no() {
        let e = choose(&[], &GpuOptions::default()).unwrap_err().to_string();
        assert!(e.contains("no GPU adapter found") && e.contains("mesa-vulkan-drivers"), "{e}");
    }

    #[test]
    fn a_discrete_gpu_beats_a_cpu_driver() {
        let found =
            [fake("llvmpipe (LLVM 15)", wgpu::DeviceType::Cpu), fake("NVIDIA H100", wgpu::DeviceType::DiscreteGpu)];
        assert_eq!(choose(&found, &GpuOptions::default()).unwrap(), 1);
    }

    #[test]
    fn the_name_filter_is_a_case_insensitive_substring_and_lists_what_exists() {
        let found =
            [fake("llvmpipe (LLVM 15)", wgpu::DeviceType::Cpu), fake("NVIDIA H100", wgpu::DeviceType::DiscreteGpu)];
        let opts = GpuOptions { adapter: Some("LLVMPIPE".into()), ..Default::default() };
        assert_eq!(choose(&found, &opts).unwrap(), 0);
        let opts = GpuOptions { adapter: Some("radeon".into()), ..Default::default() };
        let e = choose(&found, &opts).unwrap_err().to_string();
        assert!(e.contains("no GPU adapter matches \"radeon\"") && e.contains("llvmpipe") && e.contains("H100"), "{e}");
    }

    #[test]
    fn require_hardware_refuses_a_cpu_driver() {
        let found = [fake("llvmpipe (LLVM 15)", wgpu::DeviceType::Cpu)];
        let opts = GpuOptions { require_hardware: true, ..Default::default() };
        let e = choose(&found, &opts).unwrap_err().to_string();
        assert!(e.starts_with("GPU: no hardware GPU adapter") && e.contains("llvmpipe"), "{e}");
    }

    #[test]
    fn summaries_serialise_enums_by_name() {
        let s = serde_json::to_string(&fake("x", wgpu::DeviceType::Cpu)).unwrap();
        assert!(s.contains("\"backend\":\"Vulkan\"") && s.contains("\"device_type\":\"Cpu\""), "{s}");
    }
}
