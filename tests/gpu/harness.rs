//! How a GPU test gets its device: `gpu_test!` turns a body taking a [`GpuContext`] into a test that runs it on the
//! default adapter, and `device_test!` turns a body taking a [`TestDevice`] into a CPU test and a GPU test (after
//! candle's `test_device!`). Without an adapter a GPU test writes `SKIPPED gpu test NAME: no Vulkan adapter` to the
//! process's stderr (which libtest does not capture) and passes; with `CI=true` it fails instead.

use custseg::backend::cpu::CpuBackend;
use custseg::backend::gpu::{select_adapter, GpuBackend, GpuContext, GpuOptions};
use custseg::error::GpuErrorKind;
use custseg::kmeans::Backend;
use custseg::Matrix;

/// `gpu_test!(body, test_name)`: a test `test_name` that runs `body(ctx)` on the default adapter, or reports a skip.
macro_rules! gpu_test {
    ($body:ident, $test:ident) => {
        #[test]
        fn $test() {
            if let Some(ctx) = crate::gpu::harness::gpu_or_skip(stringify!($test)) {
                $body(ctx);
            }
        }
    };
}

/// `device_test!(body, cpu_name, gpu_name)`: two tests running `body(&TestDevice)`, on the CPU backend and on the
/// default adapter (or reporting the GPU test's skip).
macro_rules! device_test {
    ($body:ident, $cpu:ident, $gpu:ident) => {
        #[test]
        fn $cpu() {
            $body(&crate::gpu::harness::TestDevice::Cpu);
        }

        #[test]
        fn $gpu() {
            if let Some(ctx) = crate::gpu::harness::gpu_or_skip(stringify!($gpu)) {
                $body(&crate::gpu::harness::TestDevice::Gpu(Box::new(ctx)));
            }
        }
    };
}

/// The default adapter's context for the test `test`, or `None` after writing the skip to stderr where the machine
/// has no adapter. Panics there under `CI=true`, and wherever an adapter exists but cannot be opened.
pub fn gpu_or_skip(test: &str) -> Option<GpuContext> {
    match GpuContext::new(&GpuOptions::default()) {
        Ok(c) => Some(c),
        Err(e) if e.gpu_error_kind() == Some(GpuErrorKind::NoAdapter) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but no GPU adapter for {test}: install mesa-vulkan-drivers ({e})");
            }
            let line = format!(
                "SKIPPED gpu test {test}: no Vulkan adapter (install mesa-vulkan-drivers to run it on lavapipe)\n"
            );
            // Straight to the process's stderr: libtest captures `eprintln!`, not the handle.
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            None
        }
        Err(e) => panic!("{test}: opening the GPU failed: {e}"),
    }
}

/// A second context with `opts`, in a test that already has one (so the adapter exists).
pub fn open(opts: GpuOptions) -> GpuContext {
    GpuContext::new(&opts).unwrap_or_else(|e| panic!("opening a second GPU context: {e}"))
}

/// A context on the default adapter whose binding limit is forced to `bytes`, so small data splits into parts.
pub fn with_max_binding(bytes: u64) -> GpuContext {
    open(GpuOptions { max_binding_bytes: Some(bytes), ..Default::default() })
}

/// A device opened by the test itself (the seam between obtaining an adapter and using a device), with `limits`
/// or the adapter's own.
pub fn own_device(limits: Option<wgpu::Limits>) -> (wgpu::Device, wgpu::Queue, wgpu::AdapterInfo) {
    let adapter = select_adapter(&GpuOptions::default()).unwrap();
    let desc =
        wgpu::DeviceDescriptor { required_limits: limits.unwrap_or_else(|| adapter.limits()), ..Default::default() };
    let (device, queue) = pollster::block_on(adapter.request_device(&desc)).unwrap();
    (device, queue, adapter.get_info())
}

/// Where a `device_test!` body runs.
pub enum TestDevice {
    Cpu,
    Gpu(Box<GpuContext>),
}

impl TestDevice {
    /// A backend over `x` (and `w`) on this device.
    pub fn backend<'a>(&'a self, x: &'a Matrix, w: Option<&'a [f32]>) -> Box<dyn Backend + 'a> {
        match self {
            TestDevice::Cpu => Box::new(CpuBackend::new(x, w)),
            TestDevice::Gpu(ctx) => Box::new(GpuBackend::new(ctx, x, w).unwrap()),
        }
    }
}
