//! Criterion benches of one Lloyd iteration (assignment + per-cluster sums): the CPU backend with each of its
//! nearest-centroid kernels (AVX2 where the CPU has it, and the portable SGEMM one), and the GPU backend where an
//! adapter exists, and the exact-sum step of the Python package (`exact::exact_backend`). Run with
//! `cargo bench --bench lloyd`; `custseg bench` covers the large sizes.
//!
//! Sizes: `CUSTSEG_BENCH_N` rows (default 1,000,000) × 16 features, K = 16, 64, 256. Every step is a full scan
//! (Hamerly's bounds off: repeated steps with the same centroids would otherwise skip every row). A GPU step reads
//! its sums back before returning, so the clock stops after the device has finished. On a software adapter
//! (lavapipe) the GPU figures are CPU emulation and say nothing about a GPU.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use custseg::backend::cpu::{Bounds, CpuBackend, Kernel};
use custseg::exact::exact_backend;
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
    for kernel in [Kernel::Avx2, Kernel::Sgemm] {
        if !kernel.available() {
            eprintln!("cpu kernel {kernel:?} is not available on this CPU: skipped");
            continue;
        }
        let mut b = CpuBackend::with_kernel(&x, None, kernel).with_bounds(Bounds::Never);
        let name = format!("cpu_{}_lloyd_iteration", format!("{kernel:?}").to_lowercase());
        bench_backend(c, &name, &x, &mut b);
    }
    // The exact-sum step of the Python package and the Spark fit (fixed-point sums added as integers).
    let mut b = exact_backend(&x, None).with_bounds(Bounds::Never);
    bench_backend(c, "cpu_exact_lloyd_iteration", &x, &mut b);
}

#[cfg(feature = "gpu")]
fn gpu(c: &mut Criterion) {
    use custseg::backend::gpu::{GpuBackend, GpuContext, GpuOptions};
    let ctx = match GpuContext::new(&GpuOptions::default()) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("no GPU adapter ({e}): GPU benches skipped");
            return;
        }
    };
    if !ctx.is_hardware() {
        eprintln!("software adapter {}: its GPU timings say nothing about a GPU", ctx.name());
    }
    let (x, _) = generate_blobs(n_rows(), D, 32, 0);
    let mut b = GpuBackend::new(&ctx, &x, None).expect("GPU backend");
    bench_backend(c, "gpu_lloyd_iteration", &x, &mut b);
}

#[cfg(not(feature = "gpu"))]
fn gpu(_: &mut Criterion) {
    eprintln!("built without the gpu feature: GPU benches skipped");
}

criterion_group!(benches, cpu, gpu);
criterion_main!(benches);
