//! The hardware floor of a Lloyd iteration, `max(bytes / bandwidth, 2·N·K·D / peak FLOP/s)`, the peak rates it is
//! computed from, and one measured case as a typed row.

use serde::Serialize;

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
