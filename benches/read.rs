//! Criterion bench of reading customers (`io::read_features`): the same table of `CUSTSEG_BENCH_ROWS` rows
//! (default 10,000,000) × 10 features as CSV and as Parquet, read into the feature matrix. Run with
//! `cargo bench --no-default-features --bench read` (reading does not depend on the `gpu` feature).
//!
//! The table is written once into `CUSTSEG_BENCH_DIR` (default `/tmp/custseg-bench`) as `read_<rows>.csv` (arrow's
//! CSV writer) and `read_<rows>.parquet` (zstd, row groups of 1M rows, as `custseg generate` writes) and kept; it is
//! never committed. Columns: a 64-bit integer ID, five money columns with two decimals and five small counts, the
//! shape of a customer table. `docs/PERFORMANCE.md` has the figures and the ratio.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use custseg::io::{read_features, ReadOptions};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CHUNK: usize = 1 << 20;

fn schema() -> Arc<Schema> {
    let mut fields = vec![Field::new("customer_id", DataType::Int64, false)];
    fields.extend((0..5).map(|j| Field::new(format!("money_{j}"), DataType::Float64, false)));
    fields.extend((0..5).map(|j| Field::new(format!("count_{j}"), DataType::Int64, false)));
    Arc::new(Schema::new(fields))
}

/// Rows `from..from + n` of the table.
fn chunk(schema: &Arc<Schema>, from: usize, n: usize) -> RecordBatch {
    let mut rng = ChaCha8Rng::seed_from_u64(from as u64);
    let mut cols: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter_values((from..from + n).map(|i| i as i64)))];
    for j in 0..5 {
        let scale = 10f64.powi(j % 3 + 1);
        cols.push(Arc::new(Float64Array::from_iter_values(
            (0..n).map(|_| (rng.random::<f64>() * scale * 100.0).round() / 100.0),
        )));
    }
    for j in 0..5 {
        cols.push(Arc::new(Int64Array::from_iter_values((0..n).map(|_| rng.random_range(0..(10i64 << j))))));
    }
    RecordBatch::try_new(schema.clone(), cols).unwrap()
}

/// The two files of `rows` rows, written if absent.
fn tables(rows: usize) -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(std::env::var("CUSTSEG_BENCH_DIR").unwrap_or_else(|_| "/tmp/custseg-bench".into()));
    std::fs::create_dir_all(&dir).unwrap();
    let (csv, parquet) = (dir.join(format!("read_{rows}.csv")), dir.join(format!("read_{rows}.parquet")));
    let schema = schema();
    if !csv.exists() {
        write(&csv, |f| {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(f);
            for from in (0..rows).step_by(CHUNK) {
                w.write(&chunk(&schema, from, CHUNK.min(rows - from))).unwrap();
            }
        });
    }
    if !parquet.exists() {
        write(&parquet, |f| {
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .set_max_row_group_row_count(Some(CHUNK))
                .build();
            let mut w = ArrowWriter::try_new(f, schema.clone(), Some(props)).unwrap();
            for from in (0..rows).step_by(CHUNK) {
                w.write(&chunk(&schema, from, CHUNK.min(rows - from))).unwrap();
            }
            w.close().unwrap();
        });
    }
    (csv, parquet)
}

/// Writes `path` through a temporary file, so an interrupted run leaves no half table behind.
fn write(path: &Path, body: impl FnOnce(std::fs::File)) {
    let tmp = path.with_extension("partial");
    body(std::fs::File::create(&tmp).unwrap());
    std::fs::rename(&tmp, path).unwrap();
}

fn bench_read(c: &mut Criterion) {
    let rows: usize = std::env::var("CUSTSEG_BENCH_ROWS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let (csv, parquet) = tables(rows);
    let opts = ReadOptions::default();
    let mut g = c.benchmark_group("read");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rows as u64));
    for (name, path) in [("parquet", &parquet), ("csv", &csv)] {
        g.bench_function(format!("{name}/{rows}x10"), |b| {
            b.iter(|| {
                let t = read_features(std::slice::from_ref(path), &opts).unwrap();
                assert_eq!(t.x.d(), 10);
                t.x.n()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_read);
criterion_main!(benches);
