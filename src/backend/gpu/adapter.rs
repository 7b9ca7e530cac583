//! Finding a GPU: the adapters wgpu can see (for `custseg devices`), and the choice among them (by name, hardware
//! only, then the best type). Errors here come before any device exists: [`GpuErrorKind::NoAdapter`] and
//! [`GpuErrorKind::NoMatchingAdapter`], which `--device auto` answers with the CPU backend without a warning.

use crate::error::{Error, GpuError, GpuErrorKind, Result};

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

pub(crate) fn is_hardware_type(t: wgpu::DeviceType) -> bool {
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

fn no_match(message: String) -> Error {
    Error::Gpu(GpuError::new(GpuErrorKind::NoMatchingAdapter, message))
}

fn describe(adapters: &[AdapterSummary]) -> String {
    adapters.iter().map(|a| format!("{} ({:?}, {:?})", a.name, a.backend, a.device_type)).collect::<Vec<_>>().join("; ")
}

/// Picks an adapter index from `found` per `opts`: the name filter, then hardware only, then the best type
/// (discrete, integrated, virtual, CPU), first in wgpu's order on ties. Errors raised here are of the kinds
/// [`GpuErrorKind::NoAdapter`] and [`GpuErrorKind::NoMatchingAdapter`].
pub fn choose(found: &[AdapterSummary], opts: &GpuOptions) -> Result<usize> {
    if found.is_empty() {
        return Err(Error::Gpu(GpuError::new(
            GpuErrorKind::NoAdapter,
            "no GPU adapter found (Vulkan/Metal/DX12); install mesa-vulkan-drivers for a CPU Vulkan driver, or use --device cpu",
        )));
    }
    let mut idx: Vec<usize> = (0..found.len()).collect();
    if let Some(want) = &opts.adapter {
        let want_l = want.to_lowercase();
        idx.retain(|&i| found[i].name.to_lowercase().contains(&want_l));
        if idx.is_empty() {
            return Err(no_match(format!("no GPU adapter matches \"{want}\" (found: {})", describe(found))));
        }
    }
    if opts.require_hardware {
        let candidates: Vec<AdapterSummary> = idx.iter().map(|&i| found[i].clone()).collect();
        idx.retain(|&i| found[i].is_hardware);
        if idx.is_empty() {
            return Err(no_match(format!(
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
    fn no_adapter_is_an_error_of_its_own_kind_that_says_what_to_install() {
        let e = choose(&[], &GpuOptions::default()).unwrap_err();
        assert_eq!(e.gpu_error_kind(), Some(GpuErrorKind::NoAdapter), "{e}");
        assert!(e.to_string().contains("mesa-vulkan-drivers"), "{e}");
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
        let e = choose(&found, &opts).unwrap_err();
        assert_eq!(e.gpu_error_kind(), Some(GpuErrorKind::NoMatchingAdapter), "{e}");
        let e = e.to_string();
        assert!(e.contains("no GPU adapter matches \"radeon\"") && e.contains("llvmpipe") && e.contains("H100"), "{e}");
    }

    #[test]
    fn require_hardware_refuses_a_cpu_driver() {
        let found = [fake("llvmpipe (LLVM 15)", wgpu::DeviceType::Cpu)];
        let opts = GpuOptions { require_hardware: true, ..Default::default() };
        let e = choose(&found, &opts).unwrap_err();
        assert_eq!(e.gpu_error_kind(), Some(GpuErrorKind::NoMatchingAdapter), "{e}");
        let e = e.to_string();
        assert!(e.starts_with("GPU: no hardware GPU adapter") && e.contains("llvmpipe"), "{e}");
    }

    #[test]
    fn summaries_serialise_enums_by_name() {
        let s = serde_json::to_string(&fake("x", wgpu::DeviceType::Cpu)).unwrap();
        assert!(s.contains("\"backend\":\"Vulkan\"") && s.contains("\"device_type\":\"Cpu\""), "{s}");
    }
}
