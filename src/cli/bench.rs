//! `custseg bench`: ms per Lloyd iteration, GB/s, GFLOP/s and percent of the hardware floor, per backend and
//! shape, on blobs generated in memory; with `--json` the same rows as JSON.

use std::io::Write;

use clap::Args;
use custseg::backend::cpu::{Bounds, CpuBackend, Kernel};
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
    let want_cpu = a.backends.iter().any(|b| b == "cpu");
    let want_sgemm = a.backends.iter().any(|b| b == "cpu-sgemm");
    let want_gpu = a.backends.iter().any(|b| b == "gpu");
    let cpu_peak = measure_cpu_peak();
    tracing::info!(gbs = cpu_peak.gbs, gflops = cpu_peak.gflops, "CPU peak measured");
    let gpu = if want_gpu { open_gpu(&a) } else { None };
    let mut rows: Vec<BenchRow> = Vec::new();
    for &n in &a.n {
        for &d in &a.d {
            let (x, _) = generate_blobs(n, d, 32, 0);
            #[cfg(feature = "gpu")]
            let mut gpu_backend = match &gpu {
                Some((ctx, _)) => Some(custseg::backend::gpu::GpuBackend::new(ctx, &x, None)?),
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
                if let (Some(b), Some((_, peak))) = (gpu_backend.as_mut(), &gpu) {
                    let t = time_steps(b, &cent, k, a.warmup, a.iters)?;
                    let mut r = row(custseg::kmeans::Backend::name(b), n, d, k, t, peak);
                    r.speedup_vs_cpu = cpu_ms.map(|c| c / t.0);
                    r.gpu_ms = b.last_step_gpu_ms();
                    rows.push(r);
                }
                let _ = cpu_ms;
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        let v = serde_json::json!({ "cpu_peak": cpu_peak, "gpu_peak": gpu.as_ref().map(|g| &g.1), "rows": rows });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    writeln!(out, "CPU peak ({}): {:.1} GB/s, {:.1} GFLOP/s", cpu_peak.source, cpu_peak.gbs, cpu_peak.gflops)?;
    if let Some((_, p)) = &gpu {
        writeln!(out, "GPU peak ({}): {:.0} GB/s, {:.0} GFLOP/s", p.source, p.gbs, p.gflops)?;
    }
    writeln!(
        out,
        "{:<44} {:>9} {:>3} {:>4} {:>10} {:>10} {:>8} {:>9} {:>9} {:>7} {:>8}",
        "backend", "n", "d", "k", "ms/iter", "gpu ms", "GB/s", "GFLOP/s", "floor ms", "%floor", "vs cpu"
    )?;
    for r in &rows {
        let name: String = r.backend.chars().take(44).collect();
        writeln!(
            out,
            "{:<44} {:>9} {:>3} {:>4} {:>10.3} {:>10} {:>8.1} {:>9.1} {:>9.3} {:>6.1}% {:>8}",
            name,
            r.n,
            r.d,
            r.k,
            r.ms,
            r.gpu_ms.map(|g| format!("{g:.3}")).unwrap_or_default(),
            r.gbs,
            r.gflops,
            r.floor_ms,
            r.pct_of_floor,
            r.speedup_vs_cpu.map(|s| format!("{s:.1}x")).unwrap_or_default()
        )?;
    }
    Ok(())
}

#[cfg(feature = "gpu")]
fn open_gpu(a: &BenchArgs) -> Option<(custseg::backend::gpu::GpuContext, Peak)> {
    use custseg::backend::gpu::{GpuContext, GpuOptions};
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
    let peak = match (a.gpu_peak_gbs, a.gpu_peak_gflops) {
        (Some(gbs), Some(gflops)) => Peak { gbs, gflops, source: "flags".into() },
        _ => custseg::bench::known_gpu_peak(&ctx.name()).unwrap_or(Peak {
            gbs: f64::NAN,
            gflops: f64::NAN,
            source: "unknown adapter: pass --gpu-peak-gbs/--gpu-peak-gflops".into(),
        }),
    };
    Some((ctx, peak))
}

#[cfg(not(feature = "gpu"))]
fn open_gpu(_: &BenchArgs) -> Option<((), Peak)> {
    tracing::warn!("built without the gpu feature; timing the CPU only");
    None
}
