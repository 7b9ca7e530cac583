//! Criterion bench of the profile pass (`report::build_profiles`: means, histogram medians and indexes per
//! segment and feature) on Gaussian blobs. Run with `cargo bench --bench profiles`; `CUSTSEG_PROFILE_ROWS` sets the
//! rows (default 2,000,000) × 8 features, k = 8.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use custseg::prep::{ScaleMethod, Scaler};
use custseg::report::build_profiles;

fn profiles(c: &mut Criterion) {
    let n: usize = std::env::var("CUSTSEG_PROFILE_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000_000);
    let (d, k) = (8, 8);
    let (mut x, labels) = custseg::generate::generate_blobs(n, d, k, 1);
    let names: Vec<String> = (0..d).map(|f| format!("f{f}")).collect();
    let scaler = Scaler::fit_transform(&mut x, &names, ScaleMethod::Zscore, &[]).expect("scaler");
    let mut g = c.benchmark_group("profiles");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(format!("n={n} d={d} k={k}"), |b| {
        b.iter(|| build_profiles(&x, &scaler, &names, &labels, k, None).expect("profiles"))
    });
    g.finish();
}

criterion_group!(benches, profiles);
criterion_main!(benches);
