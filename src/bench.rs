//! `custseg bench`: times one Lloyd iteration (assignment + per-cluster sums) per backend on in-memory blobs, and
//! puts each figure beside the hardware floor: `max(bytes / bandwidth, 2·N·K·D / peak FLOP/s)`.
//!
//! The CPU's peak is *measured* here (a parallel streaming read for bandwidth, independent FMA chains for FLOP/s),
//! so "percent of floor" is against what this machine actually does. A GPU's peak cannot be read through wgpu:
//! it comes from a small table of known adapters, or from `--gpu-peak-gbs` / `--gpu-peak-gflops`.
//! Timing: warm-up steps, then the median of the timed steps; each step reads its sums back, so the clock stops
//! after the device has finished.

use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::kmeans::Backend;

/// Peak rates used for the floor.
#[derive(Debug, Clone, Serialize)]
pub struct Peak {
    pub gbs: f64,
    pub gflops: f64,
    /// Where the figures came from ("measured", "table: H100", "flags").
    pub source: String,
}

/// One measured case.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    pub backend: String,
    pub n: usize,
    pub d: usize,
    pub k: usize,
    /// Median milliseconds per Lloyd iteration.
    pub ms: f64,
    /// Fastest iteration.
    pub ms_min: f64,
    pub gbs: f64,
    pub gflops: f64,
    /// The hardware floor for this shape, in milliseconds.
    pub floor_ms: f64,
    /// floor / measured, in percent (100 = at the floor).
    pub pct_of_floor: f64,
    /// Time of the `cpu` backend / this backend's time for the same case (on GPU and cpu-sgemm rows).
    pub speedup_vs_cpu: Option<f64>,
    /// The median of the timed steps' GPU times from timestamp queries (the Lloyd pass only), where the adapter
    /// has them. The other figures use wall time (median), which includes submission and the small read-back.
    pub gpu_ms: Option<f64>,
    /// The median GPU time of the assignment pass alone (nearest centre and distance per row, no labels kept and
    /// no sums), where the adapter has timestamps: `gpu_ms` minus this is what the sums and label bookkeeping cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_assign_ms: Option<f64>,
    /// The GPU kernel's launch shape (points per thread, workgroup size, workgroups, tiles), on GPU rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch: Option<serde_json::Value>,
}

/// Bytes one iteration must move: X once, plus reading and writing one label per row.
pub fn bytes_per_iter(n: usize, d: usize) -> f64 {
    (n * d * 4 + n * 8) as f64
}

/// FLOP of the assignment: 2·N·K·D.
pub fn flops_per_iter(n: usize, d: usize, k: usize) -> f64 {
    2.0 * n as f64 * k as f64 * d as f64
}

pub fn floor_ms(n: usize, d: usize, k: usize, p: &Peak) -> f64 {
    let mem = bytes_per_iter(n, d) / (p.gbs * 1e9);
    let fl = flops_per_iter(n, d, k) / (p.gflops * 1e9);
    mem.max(fl) * 1e3
}

/// Times `lloyd_step` on `backend`: `warmup` untimed steps, then the median and minimum of `repeats` steps (ms).
pub fn time_steps(
    backend: &mut dyn Backend,
    centroids: &[f32],
    k: usize,
    warmup: usize,
    repeats: usize,
) -> Result<(f64, f64)> {
    let (ms, ms_min, _) = time_steps_probed(backend, centroids, k, warmup, repeats, |_| None)?;
    Ok((ms, ms_min))
}

/// [`time_steps`], plus the median of `probe` read after each timed step (a GPU backend's own timestamp of the
/// step's pass), where it gave a value every time.
pub fn time_steps_probed<B: Backend + ?Sized>(
    backend: &mut B,
    centroids: &[f32],
    k: usize,
    warmup: usize,
    repeats: usize,
    probe: impl Fn(&B) -> Option<f64>,
) -> Result<(f64, f64, Option<f64>)> {
    for _ in 0..warmup {
        backend.lloyd_step(centroids, k)?;
    }
    let mut ms = Vec::with_capacity(repeats.max(1));
    let mut probed = Vec::with_capacity(repeats.max(1));
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        backend.lloyd_step(centroids, k)?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        probed.extend(probe(backend));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let probed = (probed.len() == ms.len()).then(|| median(&mut probed));
    let min = ms.iter().copied().fold(f64::INFINITY, f64::min);
    Ok((median(&mut ms), min, probed))
}

pub fn row(backend: String, n: usize, d: usize, k: usize, (ms, ms_min): (f64, f64), peak: &Peak) -> BenchRow {
    let floor = floor_ms(n, d, k, peak);
    BenchRow {
        backend,
        n,
        d,
        k,
        ms,
        ms_min,
        gbs: bytes_per_iter(n, d) / (ms * 1e-3) / 1e9,
        gflops: flops_per_iter(n, d, k) / (ms * 1e-3) / 1e9,
        floor_ms: floor,
        pct_of_floor: 100.0 * floor / ms,
        speedup_vs_cpu: None,
        gpu_ms: None,
        gpu_assign_ms: None,
        launch: None,
    }
}

/// Measures this CPU: best of three parallel streaming reads of 512 MiB (GB/s), and best of three runs of
/// independent FMA chains on every thread (GFLOP/s, counting an FMA as 2 FLOP).
pub fn measure_cpu_peak() -> Peak {
    let buf = vec![1.0f32; 128 << 20];
    let mut gbs = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        // 32 independent sums per chunk (4 `ymm` chains): one running sum would be bound by the add's latency
        // (about 7 GB/s on 2 cores of a 3.5 GHz host), not by memory.
        let s: f32 = buf
            .par_chunks(1 << 16)
            .map(|c| {
                let mut acc = [0f32; 32];
                for v in c.chunks_exact(32) {
                    for (a, x) in acc.iter_mut().zip(v) {
                        *a += x;
                    }
                }
                acc.iter().sum::<f32>()
            })
            .sum();
        let dt = t.elapsed().as_secs_f64();
        std::hint::black_box(s);
        gbs = gbs.max(buf.len() as f64 * 4.0 / dt / 1e9);
    }
    drop(buf);
    // Best of three, like the bandwidth: on a shared machine one run can lose its core for a while (a single run
    // once measured 19.5 GFLOP/s on a host whose best is 223).
    let iters = 8_000_000usize;
    let threads = rayon::current_num_threads();
    let mut gflops = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        let flops: f64 = (0..threads).into_par_iter().map(|i| fma_chains(iters, i as f32)).sum();
        gflops = gflops.max(flops / t.elapsed().as_secs_f64() / 1e9);
    }
    Peak { gbs, gflops, source: format!("measured on this machine ({threads} threads)") }
}

/// Runs 64 independent FMA chains for `iters` rounds; returns the FLOP done.
fn fma_chains(iters: usize, seed: f32) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { fma_chains_avx2(iters, seed) };
        }
    }
    fma_chains_generic(iters, seed)
}

macro_rules! chains {
    ($iters:expr, $seed:expr, $op:expr) => {{
        let mut acc = [$seed; 64];
        let (a, b) = (0.999_999f32, 1e-7f32);
        for _ in 0..$iters {
            for v in acc.iter_mut() {
                *v = $op(*v, a, b);
            }
        }
        std::hint::black_box(acc);
        $iters as f64 * 64.0 * 2.0
    }};
}

fn fma_chains_generic(iters: usize, seed: f32) -> f64 {
    chains!(iters, seed, |v: f32, a: f32, b: f32| v * a + b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_chains_avx2(iters: usize, seed: f32) -> f64 {
    chains!(iters, seed, |v: f32, a: f32, b: f32| v.mul_add(a, b))
}

/// Peaks of known GPUs (vendor figures for FP32 and memory bandwidth, rounded as in the performance issue).
pub fn known_gpu_peak(adapter_name: &str) -> Option<Peak> {
    let n = adapter_name.to_ascii_lowercase();
    let table: &[(&str, f64, f64)] =
        &[("h100", 3000.0, 55_000.0), ("h200", 4800.0, 55_000.0), ("a100", 1900.0, 19_500.0)];
    table.iter().find(|(key, _, _)| n.contains(key)).map(|(key, gbs, gflops)| Peak {
        gbs: *gbs,
        gflops: *gflops,
        source: format!("table: {key}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_is_the_larger_of_memory_and_compute_time() {
        let p = Peak { gbs: 3000.0, gflops: 55_000.0, source: "t".into() };
        // 10M x 16: 640 MB + 80 MB labels at 3 TB/s = 0.24 ms; K=256: 81.9 GFLOP at 55 TFLOP/s = 1.49 ms.
        assert!((floor_ms(10_000_000, 16, 256, &p) - 1.489).abs() < 0.01);
        assert!((floor_ms(10_000_000, 16, 8, &p) - 0.24).abs() < 0.01);
    }

    #[test]
    fn known_gpus_are_found_by_name() {
        assert!(known_gpu_peak("NVIDIA H100 80GB HBM3").is_some());
        assert!(known_gpu_peak("llvmpipe (LLVM 15.0.6, 256 bits)").is_none());
    }
}
