//! `custseg bench`: ms per Lloyd iteration, GB/s, GFLOP/s and percent of the hardware floor, per backend and
//! shape, on blobs generated in memory; with `--json` the same rows as JSON.

use std::io::Write;

use crate::bench::{launch_label, run_bench, BenchBackend, BenchConfig, BenchReport, LaunchSweep};
use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  custseg bench --n 1000000 --d 16 --k 64
  custseg bench --backends cpu,cpu-sgemm --n 2000000 --d 8,32 --k 8,256 --json
  custseg bench --backends gpu --gpu-points 1,2,4 --gpu-workgroup 128,256")]
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
    let backends = a.backends.iter().map(|b| b.parse::<BenchBackend>()).collect::<crate::Result<Vec<_>>>()?;
    let cfg = BenchConfig {
        n: a.n,
        d: a.d,
        k: a.k,
        backends,
        adapter: a.adapter,
        warmup: a.warmup,
        iters: a.iters,
        gpu_peak: a.gpu_peak_gbs.zip(a.gpu_peak_gflops),
        sweep: LaunchSweep {
            points: a.gpu_points,
            workgroup: a.gpu_workgroup,
            groups: a.gpu_groups,
            copies: a.gpu_copies,
        },
    };
    let report = run_bench(&cfg)?;
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }
    write_table(&mut out, &report)?;
    Ok(())
}

/// The report as a table: the peaks, one line per row, the uploads and the fastest launch shapes.
fn write_table(out: &mut dyn Write, report: &BenchReport) -> anyhow::Result<()> {
    let cpu_peak = &report.cpu_peak;
    writeln!(out, "CPU peak ({}): {:.1} GB/s, {:.1} GFLOP/s", cpu_peak.source, cpu_peak.gbs, cpu_peak.gflops)?;
    if let Some(p) = &report.gpu_peak {
        writeln!(out, "GPU peak ({}): {:.0} GB/s, {:.0} GFLOP/s", p.source, p.gbs, p.gflops)?;
        if let Some(m) = &report.gpu_peak_measured {
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
        "{:<36} {:>9} {:>3} {:>4} {:>10} {:>10} {:>10} {:>8} {:>9} {:>9} {:>7} {:>8}  launch",
        "backend", "n", "d", "k", "ms/iter", "gpu ms", "assign ms", "GB/s", "GFLOP/s", "floor ms", "%floor", "vs cpu"
    )?;
    for r in &report.rows {
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
    for u in &report.uploads {
        writeln!(
            out,
            "GPU upload n={} d={}: {:.1} MB in {:.1} ms = {:.2} GB/s (the exponents pass before it: {:.1} ms)",
            u.n,
            u.d,
            u.bytes as f64 / 1e6,
            u.seconds * 1e3,
            u.gbs,
            u.exponents_seconds * 1e3
        )?;
    }
    for line in &report.fastest_launch {
        writeln!(out, "{line}")?;
    }
    Ok(())
}
