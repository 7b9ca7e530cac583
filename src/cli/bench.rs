//! `custseg bench`: ms per Lloyd iteration, GB/s, GFLOP/s and percent of the hardware floor, per backend and
//! shape, on blobs generated in memory; with `--json` the same rows as JSON.

use std::io::Write;

use clap::Args;
use custseg::backend::cpu::{Bounds, CpuBackend, Kernel};
#[cfg(feature = "gpu")]
use custseg::bench::time_steps_probed;
use custseg::bench::{measure_cpu_peak, row, time_steps, BenchRow, Peak};
use custseg::generate::generate_blobs;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Rows, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
    pub n: Vec<usize>,
    /// Features, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "8,16,32")]
    pub d: Vec<usize>,
    /// Clusters, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "8,64,256")]
    pub k: Vec<usize>,
    /// Backends to time, comma-separated: cpu (this CPU's fastest kernel), cpu-sgemm (the portable SGEMM
    /// kernel, for comparison), gpu.
    #[arg(long, value_delimiter = ',', default_value = "cpu,gpu")]
    pub backends: Vec<String>,
    /// GPU adapter (substring of its name).
    #[arg(long)]
    pub adapter: Option<String>,
    /// Untimed iterations before timing.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Timed iterations (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub iters: usize,
    /// Override the GPU's peak memory bandwidth (GB/s) and FP32 rate (GFLOP/s) for the floor.
    #[arg(long)]
    pub gpu_peak_gbs: Option<f64>,
    #[arg(long)]
    pub gpu_peak_gflops: Option<f64>,
    /// GPU launch shapes to time after the default one: points per thread (1, 2, 4, 8), comma-separated. With
    /// --gpu-workgroup, --gpu-groups and --gpu-copies, every combination of the given values is timed (a flag not
    /// given keeps the default), each on the same uploaded data, and the fastest is named per case.
    #[arg(long, value_delimiter = ',')]
    pub gpu_points: Vec<u32>,
    /// GPU launch shapes: threads per workgroup (powers of two), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub gpu_workgroup: Vec<u32>,
    /// GPU launch shapes: target workgroups per part of the data (at least 1), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub gpu_groups: Vec<u32>,
    /// GPU launch shapes: copies of each workgroup's private sums (powers of two up to 32), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub gpu_copies: Vec<u32>,
    /// Worker threads for the CPU backend.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    super::set_threads(a.threads)?;
    for b in &a.backends {
        if !["cpu", "cpu-sgemm", "gpu"].contains(&b.as_str()) {
            return Err(custseg::Error::Usage(format!("--backends takes cpu, cpu-sgemm and gpu, got '{b}'")).into());
        }
    }
    if let Some(p) = a.gpu_points.iter().find(|p| ![1, 2, 4, 8].contains(*p)) {
        return Err(custseg::Error::Usage(format!("--gpu-points takes 1, 2, 4 and 8, got {p}")).into());
    }
    if let Some(w) = a.gpu_workgroup.iter().find(|w| !w.is_power_of_two() || **w > 1024) {
        return Err(custseg::Error::Usage(format!("--gpu-workgroup takes powers of two up to 1024, got {w}")).into());
    }
    if let Some(c) = a.gpu_copies.iter().find(|c| !c.is_power_of_two() || **c > 32) {
        return Err(custseg::Error::Usage(format!("--gpu-copies takes powers of two up to 32, got {c}")).into());
    }
    if a.gpu_groups.contains(&0) {
        return Err(custseg::Error::Usage("--gpu-groups takes counts of at least 1, got 0".into()).into());
    }
    let want_cpu = a.backends.iter().any(|b| b == "cpu");
    let want_sgemm = a.backends.iter().any(|b| b == "cpu-sgemm");
    let want_gpu = a.backends.iter().any(|b| b == "gpu");
    let cpu_peak = measure_cpu_peak();
    tracing::info!(gbs = cpu_peak.gbs, gflops = cpu_peak.gflops, "CPU peak measured");
    let gpu = if want_gpu { open_gpu(&a) } else { None };
    let mut rows: Vec<BenchRow> = Vec::new();
    // The upload of each (n, d)'s matrix to the GPU (the first also creates the staging ring).
    #[cfg_attr(not(feature = "gpu"), allow(unused_mut))]
    let mut uploads: Vec<serde_json::Value> = Vec::new();
    for &n in &a.n {
        for &d in &a.d {
            let (x, _) = generate_blobs(n, d, 32, 0);
            #[cfg(feature = "gpu")]
            let mut gpu_backend = match &gpu {
                Some((ctx, _, _)) => {
                    let b = custseg::backend::gpu::GpuBackend::new(ctx, &x, None)?;
                    let s = b.setup();
                    uploads.push(serde_json::json!({
                        "n": n, "d": d, "bytes": s.upload_bytes, "seconds": s.upload_s, "gbs": s.upload_gbs(),
                        "exponents_seconds": s.exponents_s,
                    }));
                    Some(b)
                }
                None => None,
            };
            for &k in &a.k {
                if k > n {
                    continue;
                }
                let cent = x.as_slice()[..k * d].to_vec();
                let mut cpu_ms = None;
                if want_cpu {
                    // The bench times one full iteration: with Hamerly's bounds, repeated steps with the same
                    // centroids would skip nearly every row and time nothing.
                    let mut b = CpuBackend::new(&x, None).with_bounds(Bounds::Never);
                    let t = time_steps(&mut b, &cent, k, a.warmup, a.iters)?;
                    cpu_ms = Some(t.0);
                    rows.push(row(custseg::kmeans::Backend::name(&b), n, d, k, t, &cpu_peak));
                }
                if want_sgemm {
                    let mut b = CpuBackend::with_kernel(&x, None, Kernel::Sgemm).with_bounds(Bounds::Never);
                    let t = time_steps(&mut b, &cent, k, a.warmup, a.iters)?;
                    let mut r = row(custseg::kmeans::Backend::name(&b), n, d, k, t, &cpu_peak);
                    r.speedup_vs_cpu = cpu_ms.map(|c| c / t.0);
                    rows.push(r);
                }
                #[cfg(feature = "gpu")]
                if let (Some(b), Some((_, peak, _))) = (gpu_backend.as_mut(), &gpu) {
                    // The default shape first (the row other tools read), then the sweep's. A swept shape the
                    // device cannot run (a workgroup over its limit, a tile that does not fit) is skipped with a
                    // warning, so the other shapes' rows are kept.
                    for launch in std::iter::once(None).chain(sweep(&a).into_iter().map(Some)) {
                        let timed = b.set_launch(launch.unwrap_or_default()).and_then(|()| {
                            let info = b.launch_info(k)?;
                            let t = time_steps_probed(b, &cent, k, a.warmup, a.iters, |b| b.last_step_gpu_ms())?;
                            Ok((info, t, time_assign(b, &cent, k, a.iters)?))
                        });
                        let (info, (ms, ms_min, gpu_ms), assign_ms) = match (timed, launch) {
                            (Ok(t), _) => t,
                            (Err(e), Some(l)) => {
                                tracing::warn!(n, d, k, "launch {l:?} skipped: {e}");
                                continue;
                            }
                            (Err(e), None) => return Err(e.into()),
                        };
                        let mut r = row(custseg::kmeans::Backend::name(b), n, d, k, (ms, ms_min), peak);
                        r.speedup_vs_cpu = cpu_ms.map(|c| c / ms);
                        r.gpu_ms = gpu_ms;
                        r.gpu_assign_ms = assign_ms;
                        r.launch = Some(serde_json::to_value(info)?);
                        rows.push(r);
                    }
                    b.set_launch(Default::default())?;
                }
                let _ = cpu_ms;
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        let v = serde_json::json!({
            "cpu_peak": cpu_peak,
            "gpu_peak": gpu.as_ref().map(|g| &g.1),
            "gpu_peak_measured": gpu.as_ref().and_then(|g| g.2.as_ref()),
            "rows": rows,
            "uploads": uploads,
            "fastest_launch": fastest_shapes(&rows),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    writeln!(out, "CPU peak ({}): {:.1} GB/s, {:.1} GFLOP/s", cpu_peak.source, cpu_peak.gbs, cpu_peak.gflops)?;
    if let Some((_, p, m)) = &gpu {
        writeln!(out, "GPU peak ({}): {:.0} GB/s, {:.0} GFLOP/s", p.source, p.gbs, p.gflops)?;
        if let Some(m) = m {
            writeln!(
                out,
                "GPU measured through wgpu ({}): {:.0} GB/s streaming read of {:.0} MB, {:.0} GFLOP/s FP32 FMA",
                m["clock"].as_str().unwrap_or("?"),
                m["gbs"].as_f64().unwrap_or(f64::NAN),
                m["read_bytes"].as_f64().unwrap_or(0.0) / 1e6,
                m["gflops"].as_f64().unwrap_or(f64::NAN)
            )?;
        }
    }
    writeln!(
        out,
        "{:<36} {:>9} {:>3} {:>4} {:>10} {:>10} {:>10} {:>8} {:>9} {:>9} {:>7} {:>8}  {}",
        "backend",
        "n",
        "d",
        "k",
        "ms/iter",
        "gpu ms",
        "assign ms",
        "GB/s",
        "GFLOP/s",
        "floor ms",
        "%floor",
        "vs cpu",
        "launch"
    )?;
    for r in &rows {
        let name: String = r.backend.chars().take(36).collect();
        writeln!(
            out,
            "{:<36} {:>9} {:>3} {:>4} {:>10.3} {:>10} {:>10} {:>8.1} {:>9.1} {:>9.3} {:>6.1}% {:>8}  {}",
            name,
            r.n,
            r.d,
            r.k,
            r.ms,
            r.gpu_ms.map(|g| format!("{g:.3}")).unwrap_or_default(),
            r.gpu_assign_ms.map(|g| format!("{g:.3}")).unwrap_or_default(),
            r.gbs,
            r.gflops,
            r.floor_ms,
            r.pct_of_floor,
            r.speedup_vs_cpu.map(|s| format!("{s:.1}x")).unwrap_or_default(),
            r.launch.as_ref().map(launch_label).unwrap_or_default()
        )?;
    }
    for u in &uploads {
        writeln!(
            out,
            "GPU upload n={} d={}: {:.1} MB in {:.1} ms = {:.2} GB/s (the exponents pass before it: {:.1} ms)",
            u["n"],
            u["d"],
            u["bytes"].as_f64().unwrap_or(0.0) / 1e6,
            u["seconds"].as_f64().unwrap_or(0.0) * 1e3,
            u["gbs"].as_f64().unwrap_or(0.0),
            u["exponents_seconds"].as_f64().unwrap_or(0.0) * 1e3
        )?;
    }
    for line in fastest_shapes(&rows) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A launch shape in a few characters: `P4 WG128 G1024 T1 C4` (points per thread, workgroup size, workgroups,
/// centroid tiles per round, copies of the private sums, or `global` where the sums go straight to the global
/// atomics), then `uncached` where rows are read from X.
fn launch_label(l: &serde_json::Value) -> String {
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

/// The median GPU time of `repeats` assignment passes after one untimed pass; `None` without timestamps.
#[cfg(feature = "gpu")]
fn time_assign(
    b: &mut custseg::backend::gpu::GpuBackend,
    cent: &[f32],
    k: usize,
    repeats: usize,
) -> custseg::Result<Option<f64>> {
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
#[cfg(feature = "gpu")]
fn sweep(a: &BenchArgs) -> Vec<custseg::backend::gpu::Launch> {
    if a.gpu_points.is_empty() && a.gpu_workgroup.is_empty() && a.gpu_groups.is_empty() && a.gpu_copies.is_empty() {
        return Vec::new();
    }
    let opts = |v: &[u32]| if v.is_empty() { vec![None] } else { v.iter().copied().map(Some).collect() };
    let mut out = Vec::new();
    for &points_per_thread in &opts(&a.gpu_points) {
        for &workgroup_size in &opts(&a.gpu_workgroup) {
            for &groups_per_part in &opts(&a.gpu_groups) {
                for &sum_copies in &opts(&a.gpu_copies) {
                    out.push(custseg::backend::gpu::Launch {
                        points_per_thread,
                        workgroup_size,
                        groups_per_part,
                        sum_copies,
                    });
                }
            }
        }
    }
    out
}

/// For each case with more than one GPU launch shape: the fastest (by GPU time where every row of the case has
/// one, else wall time) against the default (the first GPU row of the case).
fn fastest_shapes(rows: &[BenchRow]) -> Vec<String> {
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
        let by_gpu = all.iter().all(|g| g.gpu_ms.is_some());
        let key = |r: &BenchRow| if by_gpu { r.gpu_ms.unwrap_or(r.ms) } else { r.ms };
        let best = all.iter().min_by(|x, y| key(x).total_cmp(&key(y))).expect("not empty");
        let l = best.launch.as_ref().expect("gpu row");
        out.push(format!(
            "fastest launch n={} d={} k={}: {} {:.3} ms, the default {:.3} ms ({} shapes; {} time)",
            r.n,
            r.d,
            r.k,
            launch_label(l),
            key(best),
            key(r),
            all.len(),
            if by_gpu { "GPU" } else { "wall" }
        ));
    }
    out
}

/// The GPU context, the peak its floor uses, and the peaks measured through wgpu (as JSON).
#[cfg(feature = "gpu")]
fn open_gpu(a: &BenchArgs) -> Option<(custseg::backend::gpu::GpuContext, Peak, Option<serde_json::Value>)> {
    use custseg::backend::gpu::{measure_peak, GpuContext, GpuOptions, PeakSize};
    let opts = GpuOptions { adapter: a.adapter.clone(), require_hardware: false, max_binding_bytes: None };
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
    let peak = match (a.gpu_peak_gbs, a.gpu_peak_gflops) {
        (Some(gbs), Some(gflops)) => Peak { gbs, gflops, source: "flags".into() },
        _ => custseg::bench::known_gpu_peak(&ctx.name()).unwrap_or_else(|| match &measured {
            Some(m) => Peak { gbs: m.gbs, gflops: m.gflops, source: format!("measured through wgpu ({})", m.clock) },
            None => Peak {
                gbs: f64::NAN,
                gflops: f64::NAN,
                source: "unknown adapter: pass --gpu-peak-gbs/--gpu-peak-gflops".into(),
            },
        }),
    };
    let measured = measured.and_then(|m| serde_json::to_value(m).ok());
    Some((ctx, peak, measured))
}

#[cfg(not(feature = "gpu"))]
fn open_gpu(_: &BenchArgs) -> Option<((), Peak, Option<serde_json::Value>)> {
    tracing::warn!("built without the gpu feature; timing the CPU only");
    None
}
