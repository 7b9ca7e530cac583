//! Criterion bench: does a matrix with one-hot categorical blocks cost a Lloyd step more than its width accounts
//! for? One CPU Lloyd iteration (fastest kernel, Hamerly's bounds off) on `d` numeric columns plus the indicator
//! blocks of `--categorical` columns, against the same `d` plus as many numeric columns, and against `d` alone.
//! Run with `cargo bench --bench categorical`; the figures are in docs/PERFORMANCE.md.
//!
//! Sizes: `CUSTSEG_BENCH_N` rows (default 1,000,000); 8 numeric columns; 3 categorical columns of 8 levels each
//! (24 indicator columns, built by the library's own encoder); K = 16 and 64.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use custseg::backend::cpu::{Bounds, CpuBackend};
use custseg::generate::generate_blobs;
use custseg::kmeans::Backend;
use custseg::prep::categorical::append_blocks;
use custseg::prep::{CategoricalColumn, LevelRules};
use custseg::Matrix;

const D: usize = 8;
const VARS: usize = 3;
const LEVELS: usize = 8;
const KS: [usize; 2] = [16, 64];

fn n_rows() -> usize {
    std::env::var("CUSTSEG_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

/// `x` with `VARS` categorical columns of `LEVELS` levels appended as weighted indicator blocks; each row's level
/// follows its blob so the blocks carry structure as real ones do.
fn with_categorical(x: &Matrix, blob: &[u32]) -> Matrix {
    let (mut vars, mut codes) = (Vec::new(), Vec::new());
    for v in 0..VARS {
        let values: Vec<String> =
            blob.iter().enumerate().map(|(i, &b)| format!("l{}", (b as usize + v * i % 3) % LEVELS)).collect();
        let a: ArrayRef = Arc::new(StringArray::from(values));
        let (var, c) = CategoricalColumn::fit(&format!("c{v}"), &a, &LevelRules::default(), "bench").unwrap();
        vars.push(var);
        codes.push(c);
    }
    let on: Vec<f32> = vars.iter().map(|v| v.factor as f32).collect();
    append_blocks(x, &vars, &codes, &on)
}

fn step(c: &mut Criterion) {
    let n = n_rows();
    let wide = D + VARS * LEVELS;
    let (numeric, labels) = generate_blobs(n, D, 32, 0);
    let (all_numeric, _) = generate_blobs(n, wide, 32, 0);
    let onehot = with_categorical(&numeric, &labels);
    assert_eq!(onehot.d(), wide);
    let mut g = c.benchmark_group("cpu_lloyd_iteration_categorical");
    g.sample_size(10);
    for (name, x) in [
        (format!("d{D}_numeric"), &numeric),
        (format!("d{D}_plus_{}_onehot", VARS * LEVELS), &onehot),
        (format!("d{wide}_numeric"), &all_numeric),
    ] {
        g.throughput(Throughput::Bytes(x.bytes() as u64));
        let mut b = CpuBackend::new(x, None).with_bounds(Bounds::Never);
        for k in KS {
            let cent = x.as_slice()[..k * x.d()].to_vec();
            g.bench_with_input(BenchmarkId::new(format!("n{n}_{name}"), k), &k, |bch, &k| {
                bch.iter(|| b.lloyd_step(&cent, k).expect("lloyd step"))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, step);
criterion_main!(benches);
