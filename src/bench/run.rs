//! The bench sweep: every (n, d, k) case on every asked-for backend, the GPU's launch-shape sweep, the uploads, and
//! the fastest launch shape per case, as one validated config in and one typed report out.

use serde::Serialize;

use super::cpu_peak::measure_cpu_peak;
use super::floor::{row, BenchRow, Peak};
use super::timing::time_steps;
use crate::backend::cpu::{Bounds, CpuBackend, Kernel};
use crate::error::{Error, Result};
use crate::generate::generate_blobs;
use crate::kmeans::Backend;

/// A backend `custseg bench` can time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchBackend {
    /// This CPU's fastest kernel (AVX2/FMA on x86-64).
    Cpu,
    /// The portable SGEMM kernel, for comparison.
    CpuSgemm,
    /// The wgpu backend.
    Gpu,
}

impl std::str::FromStr for BenchBackend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(BenchBackend::Cpu),
            "cpu-sgemm" => Ok(BenchBackend::CpuSgemm),
            "gpu" => Ok(BenchBackend::Gpu),
            _ => Err(Error::Usage(format!("--backends takes cpu, cpu-sgemm and gpu, got '{s}'"))),
        }
    }
}

/// GPU launch shapes to time after the default one: every combination of the given values (an empty list keeps
/// the default for that setting).
#[derive(Debug, Clone, Default)]
pub struct LaunchSweep {
    /// Points per thread: 1, 2, 4 or 8.
    pub points: Vec<u32>,
    /// Threads per workgroup: powers of two up to 1024.
    pub workgroup: Vec<u32>,
    /// Target workgroups per part of the data: at least 1.
    pub groups: Vec<u32>,
    /// Copies of each workgroup's private sums: powers of two up to 32.
    pub copies: Vec<u32>,
}

impl LaunchSweep {
    /// Whether no launch setting is swept.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty() && self.workgroup.is_empty() && self.groups.is_empty() && self.copies.is_empty()
    }

    fn check(&self) -> Result<()> {
        if let Some(p) = self.points.iter().find(|p| ![1, 2, 4, 8].contains(*p)) {
            return Err(Error::Usage(format!("--gpu-points takes 1, 2, 4 and 8, got {p}")));
        }
        if let Some(w) = self.workgroup.iter().find(|w| !w.is_power_of_two() || **w > 1024) {
            return Err(Error::Usage(format!("--gpu-workgroup takes powers of two up to 1024, got {w}")));
        }
        if let Some(c) = self.copies.iter().find(|c| !c.is_power_of_two() || **c > 32) {
            return Err(Error::Usage(format!("--gpu-copies takes powers of two up to 32, got {c}")));
        }
        if self.groups.contains(&0) {
            return Err(Error::Usage("--gpu-groups takes counts of at least 1, got 0".into()));
        }
        Ok(())
    }
}

/// What to time.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub n: Vec<usize>,
    pub d: Vec<usize>,
    pub k: Vec<usize>,
    pub backends: Vec<BenchBackend>,
    /// GPU adapter (substring of its name).
    pub adapter: Option<String>,
    /// Untimed iterations before timing.
    pub warmup: usize,
    /// Timed iterations (the median is reported).
    pub iters: usize,
    /// The GPU's peak (GB/s, GFLOP/s) for the floor, overriding the table and the probes.
    pub gpu_peak: Option<(f64, f64)>,
    pub sweep: LaunchSweep,
}

impl BenchConfig {
    /// Checks every setting; called by [`run_bench`] before any work.
    pub fn check(&self) -> Result<()> {
        self.sweep.check()
    }

    fn wants(&self, b: BenchBackend) -> bool {
        self.backends.contains(&b)
    }
}

/// The upload of one (n, d) matrix to the GPU (the first also creates the staging ring).
#[derive(Debug, Clone, Serialize)]
pub struct UploadRow {
    pub n: usize,
    pub d: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub gbs: f64,
    /// The host pass for the fixed-point exponents before the upload.
    pub exponents_seconds: f64,
}

/// For a case timed with more than one GPU launch shape: the fastest against the default.
#[derive(Debug, Clone)]
pub struct FastestLaunch {
    pub n: usize,
    pub d: usize,
    pub k: usize,
    /// The fastest shape, as [`launch_label`] writes it.
    pub label: String,
    pub ms: f64,
    /// The default shape's time (the first GPU row of the case).
    pub default_ms: f64,
    pub shapes: usize,
    /// Whether the times are the GPU's own (timestamps on every row of the case) rather than wall time.
    pub gpu_clock: bool,
}

impl std::fmt::Display for FastestLaunch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fastest launch n={} d={} k={}: {} {:.3} ms, the default {:.3} ms ({} shapes; {} time)",
            self.n,
            self.d,
            self.k,
            self.label,
            self.ms,
            self.default_ms,
            self.shapes,
            if self.gpu_clock { "GPU" } else { "wall" }
        )
    }
}

/// Everything one bench run measured. Serialises as `custseg bench --json` prints it (the fastest launches as
/// their one-line descriptions).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub cpu_peak: Peak,
    /// The GPU peak the floor used, where a GPU was timed.
    pub gpu_peak: Option<Peak>,
    /// The GPU's read and FMA rates measured through wgpu.
    pub gpu_peak_measured: Option<serde_json::Value>,
    pub rows: Vec<BenchRow>,
    pub uploads: Vec<UploadRow>,
    #[serde(serialize_with = "as_lines")]
    pub fastest_launch: Vec<FastestLaunch>,
}

fn as_lines<S: serde::Serializer>(v: &[FastestLaunch], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|f| f.to_string()))
}

/// Runs the bench: checks `cfg`, measures the CPU's peaks, opens the GPU if asked for (a GPU that cannot be opened
/// is a warning, and the CPU is still timed), then times every case.
pub fn run_bench(cfg: &BenchConfig) -> Result<BenchReport> {
    cfg.check()?;
    let cpu_peak = measure_cpu_peak();
    tracing::info!(gbs = cpu_peak.gbs, gflops = cpu_peak.gflops, "CPU peak measured");
    #[cfg(feature = "gpu")]
    let gpu = if cfg.wants(BenchBackend::Gpu) { gpu::open(cfg) } else { None };
    #[cfg(not(feature = "gpu"))]
    if cfg.wants(BenchBackend::Gpu) {
        tracing::warn!("built without the gpu feature; timing the CPU only");
    }
    let mut rows: Vec<BenchRow> = Vec::new();
    #[cfg_attr(not(feature = "gpu"), allow(unused_mut))]
    let mut uploads: Vec<UploadRow> = Vec::new();
    for &n in &cfg.n {
        for &d in &cfg.d {
            let (x, _) = generate_blobs(n, d, 32, 0);
            #[cfg(feature = "gpu")]
            let mut gpu_backend = match &gpu {
                Some(g) => {
                    let b = crate::backend::gpu::GpuBackend::new(&g.ctx, &x, None)?;
                    let s = b.setup();
                    uploads.push(UploadRow {
                        n,
                        d,
                        bytes: s.upload_bytes,
                        seconds: s.upload_s,
                        gbs: s.upload_gbs(),
                        exponents_seconds: s.exponents_s,
                    });
                    Some(b)
                }
                None => None,
            };
            for &k in &cfg.k {
                if k > n {
                    continue;
                }
                let cent = x.as_slice()[..k * d].to_vec();
                let mut cpu_ms = None;
                if cfg.wants(BenchBackend::Cpu) {
                    // One full iteration: with Hamerly's bounds, repeated steps with the same centroids would skip
                    // nearly every row and time nothing.
                    let mut b = CpuBackend::new(&x, None).with_bounds(Bounds::Never);
                    let t = time_steps(&mut b, &cent, k, cfg.warmup, cfg.iters)?;
                    cpu_ms = Some(t.0);
                    rows.push(row(b.name(), n, d, k, t, &cpu_peak));
                }
                if cfg.wants(BenchBackend::CpuSgemm) {
                    let mut b = CpuBackend::with_kernel(&x, None, Kernel::Sgemm).with_bounds(Bounds::Never);
                    let t = time_steps(&mut b, &cent, k, cfg.warmup, cfg.iters)?;
                    let mut r = row(b.name(), n, d, k, t, &cpu_peak);
                    r.speedup_vs_cpu = cpu_ms.map(|c| c / t.0);
                    rows.push(r);
                }
                #[cfg(feature = "gpu")]
                if let (Some(b), Some(g)) = (gpu_backend.as_mut(), &gpu) {
                    rows.extend(gpu::time_case(cfg, b, &g.peak, &cent, (n, d, k), cpu_ms)?);
                }
                let _ = cpu_ms;
            }
        }
    }
    let fastest_launch = fastest_shapes(&rows);
    Ok(BenchReport {
        cpu_peak,
        #[cfg(feature = "gpu")]
        gpu_peak: gpu.as_ref().map(|g| g.peak.clone()),
        #[cfg(not(feature = "gpu"))]
        gpu_peak: None,
        #[cfg(feature = "gpu")]
        gpu_peak_measured: gpu.and_then(|g| g.measured),
        #[cfg(not(feature = "gpu"))]
        gpu_peak_measured: None,
        rows,
        uploads,
        fastest_launch,
    })
}

/// A launch shape in a few characters: `P4 WG128 G1024 T1 C4` (points per thread, workgroup size, workgroups,
/// centroid tiles per round, copies of the private sums, or `global` where the sums go straight to the global
/// atomics), then `uncached` where rows are read from X.
pub fn launch_label(l: &serde_json::Value) -> String {
    let mut s = format!("P{} WG{} G{} T{}", l["points_per_thread"], l["workgroup_size"], l["workgroups"], l["tiles"]);
    if l["private_sums"] == false {
        s.push_str(" global");
    } else {
        s.push_str(&format!(" C{}", l["sum_copies"]));
    }
    if l["rows_cached"] == false {
        s.push_str(" uncached");
    }
    s
}

/// For each case with more than one GPU launch shape: the fastest (by GPU time where every row of the case has
/// one, else wall time) against the default (the first GPU row of the case).
fn fastest_shapes(rows: &[BenchRow]) -> Vec<FastestLaunch> {
    let gpu: Vec<&BenchRow> = rows.iter().filter(|r| r.launch.is_some()).collect();
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for r in &gpu {
        let case = (r.n, r.d, r.k);
        if seen.contains(&case) {
            continue;
        }
        seen.push(case);
        let all: Vec<&&BenchRow> = gpu.iter().filter(|g| (g.n, g.d, g.k) == case).collect();
        if all.len() < 2 {
            continue;
        }
        let gpu_clock = all.iter().all(|g| g.gpu_ms.is_some());
        let key = |r: &BenchRow| if gpu_clock { r.gpu_ms.unwrap_or(r.ms) } else { r.ms };
        let best = all.iter().min_by(|x, y| key(x).total_cmp(&key(y))).expect("not empty");
        out.push(FastestLaunch {
            n: r.n,
            d: r.d,
            k: r.k,
            label: launch_label(best.launch.as_ref().expect("gpu row")),
            ms: key(best),
            default_ms: key(r),
            shapes: all.len(),
            gpu_clock,
        });
    }
    out
}

#[cfg(feature = "gpu")]
mod gpu {
    //! The GPU half of the bench: opening the adapter with its peaks, and timing one case over the launch sweep.

    use super::{BenchConfig, LaunchSweep};
    use crate::backend::gpu::{measure_peak, GpuBackend, GpuContext, GpuOptions, Launch, PeakSize};
    use crate::bench::floor::{known_gpu_peak, row, BenchRow, Peak};
    use crate::bench::timing::time_steps_probed;
    use crate::error::Result;
    use crate::kmeans::Backend;

    /// An opened GPU, the peak its floor uses, and the peaks measured through wgpu (as JSON).
    pub(super) struct OpenGpu {
        pub ctx: GpuContext,
        pub peak: Peak,
        pub measured: Option<serde_json::Value>,
    }

    /// Opens the adapter and measures its peaks; `None` (with a warning) when it cannot be opened.
    pub(super) fn open(cfg: &BenchConfig) -> Option<OpenGpu> {
        let opts = GpuOptions { adapter: cfg.adapter.clone(), require_hardware: false, max_binding_bytes: None };
        let ctx = match GpuContext::new(&opts) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("{e}; timing the CPU only");
                return None;
            }
        };
        if !ctx.is_hardware() {
            tracing::warn!(adapter = %ctx.name(), "software adapter: its timings say nothing about a GPU");
        }
        let measured = match measure_peak(&ctx, PeakSize::for_context(&ctx)) {
            Ok(m) => {
                tracing::info!(gbs = m.gbs, gflops = m.gflops, clock = %m.clock, "GPU peak measured through wgpu");
                Some(m)
            }
            Err(e) => {
                tracing::warn!("measuring the GPU's peaks failed: {e}");
                None
            }
        };
        // The floor: the flags, else the vendor figures of a known GPU (the hardware floor), else what was measured.
        let peak = match cfg.gpu_peak {
            Some((gbs, gflops)) => Peak { gbs, gflops, source: "flags".into() },
            None => known_gpu_peak(&ctx.name()).unwrap_or_else(|| match &measured {
                Some(m) => {
                    Peak { gbs: m.gbs, gflops: m.gflops, source: format!("measured through wgpu ({})", m.clock) }
                }
                None => Peak {
                    gbs: f64::NAN,
                    gflops: f64::NAN,
                    source: "unknown adapter: pass --gpu-peak-gbs/--gpu-peak-gflops".into(),
                },
            }),
        };
        let measured = measured.and_then(|m| serde_json::to_value(m).ok());
        Some(OpenGpu { ctx, peak, measured })
    }

    /// Times one case on the GPU: the default shape first (the row other tools read), then the sweep's. A swept
    /// shape the device cannot run (a workgroup over its limit, a tile that does not fit) is skipped with a warning,
    /// so the other shapes' rows are kept.
    pub(super) fn time_case(
        cfg: &BenchConfig,
        b: &mut GpuBackend,
        peak: &Peak,
        cent: &[f32],
        (n, d, k): (usize, usize, usize),
        cpu_ms: Option<f64>,
    ) -> Result<Vec<BenchRow>> {
        let mut rows = Vec::new();
        for launch in std::iter::once(None).chain(sweep(&cfg.sweep).into_iter().map(Some)) {
            let timed = b.set_launch(launch.unwrap_or_default()).and_then(|()| {
                let info = b.launch_info(k)?;
                let t = time_steps_probed(b, cent, k, cfg.warmup, cfg.iters, |b| b.last_step_gpu_ms())?;
                Ok((info, t, time_assign(b, cent, k, cfg.iters)?))
            });
            let (info, (ms, ms_min, gpu_ms), assign_ms) = match (timed, launch) {
                (Ok(t), _) => t,
                (Err(e), Some(l)) => {
                    tracing::warn!(n, d, k, "launch {l:?} skipped: {e}");
                    continue;
                }
                (Err(e), None) => return Err(e),
            };
            let mut r = row(b.name(), n, d, k, (ms, ms_min), peak);
            r.speedup_vs_cpu = cpu_ms.map(|c| c / ms);
            r.gpu_ms = gpu_ms;
            r.gpu_assign_ms = assign_ms;
            r.launch = serde_json::to_value(info).ok();
            rows.push(r);
        }
        b.set_launch(Default::default())?;
        Ok(rows)
    }

    /// The median GPU time of `repeats` assignment passes after one untimed pass; `None` without timestamps.
    fn time_assign(b: &mut GpuBackend, cent: &[f32], k: usize, repeats: usize) -> Result<Option<f64>> {
        if b.time_assign_pass(cent, k)?.is_none() {
            return Ok(None);
        }
        let mut ms = Vec::new();
        for _ in 0..repeats.max(1) {
            match b.time_assign_pass(cent, k)? {
                Some(t) => ms.push(t),
                None => return Ok(None),
            }
        }
        ms.sort_by(f64::total_cmp);
        Ok(Some(ms[ms.len() / 2]))
    }

    /// The sweep's launch overrides: every combination of the given values (a flag not given keeps the default).
    fn sweep(s: &LaunchSweep) -> Vec<Launch> {
        if s.is_empty() {
            return Vec::new();
        }
        let opts = |v: &[u32]| if v.is_empty() { vec![None] } else { v.iter().copied().map(Some).collect() };
        let mut out = Vec::new();
        for &points_per_thread in &opts(&s.points) {
            for &workgroup_size in &opts(&s.workgroup) {
                for &groups_per_part in &opts(&s.groups) {
                    for &sum_copies in &opts(&s.copies) {
                        out.push(Launch { points_per_thread, workgroup_size, groups_per_part, sum_copies });
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu_row(n: usize, ms: f64, gpu_ms: Option<f64>, points: u32) -> BenchRow {
        let peak = Peak { gbs: 1.0, gflops: 1.0, source: "t".into() };
        let mut r = row("gpu".into(), n, 4, 8, (ms, ms), &peak);
        r.gpu_ms = gpu_ms;
        r.launch = Some(serde_json::json!({
            "points_per_thread": points, "workgroup_size": 128, "workgroups": 16, "tiles": 1,
            "private_sums": true, "sum_copies": 4, "rows_cached": true,
        }));
        r
    }

    #[test]
    fn the_fastest_shape_is_named_against_the_default() {
        let rows =
            vec![gpu_row(100, 3.0, Some(2.0), 1), gpu_row(100, 2.5, Some(1.0), 4), gpu_row(100, 1.0, Some(1.5), 8)];
        let f = fastest_shapes(&rows);
        assert_eq!(f.len(), 1);
        // By GPU time (every row has one), not wall time.
        assert_eq!(f[0].label, "P4 WG128 G16 T1 C4");
        assert_eq!((f[0].ms, f[0].default_ms, f[0].shapes, f[0].gpu_clock), (1.0, 2.0, 3, true));
        assert_eq!(
            f[0].to_string(),
            "fastest launch n=100 d=4 k=8: P4 WG128 G16 T1 C4 1.000 ms, the default 2.000 ms (3 shapes; GPU time)"
        );
    }

    #[test]
    fn a_case_with_one_shape_names_no_fastest() {
        assert!(fastest_shapes(&[gpu_row(100, 3.0, None, 1), gpu_row(200, 3.0, None, 1)]).is_empty());
    }

    #[test]
    fn bad_sweep_values_are_usage_errors() {
        let bad = [
            LaunchSweep { points: vec![3], ..Default::default() },
            LaunchSweep { workgroup: vec![96], ..Default::default() },
            LaunchSweep { groups: vec![0], ..Default::default() },
            LaunchSweep { copies: vec![64], ..Default::default() },
        ];
        for s in bad {
            assert!(s.check().unwrap_err().is_usage(), "{s:?}");
        }
    }

    #[test]
    fn unknown_backends_are_usage_errors() {
        assert_eq!("cpu-sgemm".parse::<BenchBackend>().unwrap(), BenchBackend::CpuSgemm);
        let e = "tpu".parse::<BenchBackend>().unwrap_err();
        assert_eq!(e.to_string(), "--backends takes cpu, cpu-sgemm and gpu, got 'tpu'");
    }
}
