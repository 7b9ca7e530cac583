//! `custseg bench` as a library job: times one Lloyd iteration (assignment + per-cluster sums) per backend and
//! shape on in-memory blobs, and puts each figure beside the hardware floor, `max(bytes / bandwidth, 2·N·K·D / peak
//! FLOP/s)`. The CPU's peaks are measured in the same run; a GPU's come from a table of known adapters, the flags,
//! or the probes run through wgpu. [`run_bench`] returns typed rows; printing them is the caller's.

mod cpu_peak;
mod floor;
mod run;
mod timing;

pub use cpu_peak::measure_cpu_peak;
pub use floor::{bytes_per_iter, floor_ms, flops_per_iter, known_gpu_peak, row, BenchRow, Peak};
pub use run::{launch_label, run_bench, BenchBackend, BenchConfig, BenchReport, FastestLaunch, LaunchSweep, UploadRow};
pub use timing::{time_steps, time_steps_probed};
