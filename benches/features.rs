//! Criterion benches of `custseg features` on a synthetic transaction log: writing the log
//! (`generate::write_transactions`) and building the features of it with the order and category columns on
//! (`features::build_features`). Run with `cargo bench --bench features`.
//!
//! Sizes: `CUSTSEG_BENCH_ROWS` transactions (default 10,000,000), as of 2026-11-01, in
//! `CUSTSEG_BENCH_DIR/tx_<rows>.parquet` (default folder `/tmp/custseg-bench`; the file is written by the first
//! bench and kept). `docs/PERFORMANCE.md` has the figures of the release binary on 10M and 100M rows.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use custseg::features::{build_features, parse_date, FeatureOptions};
use custseg::generate::write_transactions;

/// The log's row count, its path and the as-of day.
fn bench_file() -> (usize, PathBuf, i32) {
    let rows: usize = std::env::var("CUSTSEG_BENCH_ROWS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let dir = PathBuf::from(std::env::var("CUSTSEG_BENCH_DIR").unwrap_or_else(|_| "/tmp/custseg-bench".into()));
    std::fs::create_dir_all(&dir).unwrap();
    (rows, dir.join(format!("tx_{rows}.parquet")), parse_date("2026-11-01").unwrap())
}

fn bench_features(c: &mut Criterion) {
    let (rows, path, as_of) = bench_file();
    let mut g = c.benchmark_group("features");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rows as u64));
    g.bench_function(format!("write_transactions/{rows}"), |b| {
        b.iter(|| write_transactions(rows, 42, as_of, &path).unwrap())
    });
    if !path.exists() {
        write_transactions(rows, 42, as_of, &path).unwrap();
    }
    let mut o = FeatureOptions::new(as_of);
    o.columns.order = Some("order_id".into());
    o.columns.category = Some("category".into());
    g.bench_function(format!("build_features/{rows}"), |b| {
        b.iter(|| build_features(std::slice::from_ref(&path), &o).unwrap().0.num_rows())
    });
    g.finish();
}

criterion_group!(benches, bench_features);
criterion_main!(benches);
