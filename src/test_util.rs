//! Helpers shared by the unit tests inside `src/` (compiled only for tests): small columns and Parquet files, the
//! checks of error messages, a seeded stream of test values, and sample moments.

use std::fmt::Display;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

/// A record batch of named columns, in order.
pub(crate) fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns.into_iter().map(|(n, a)| (n.to_string(), a))).expect("record batch")
}

/// Writes `batch` to `path` as Parquet. `group` caps the rows per row group; `chunk` cuts the batch into writes of
/// that many rows (row groups then end on chunk boundaries too).
pub(crate) fn write_batch(path: &Path, batch: &RecordBatch, group: Option<usize>, chunk: Option<usize>) {
    let props = group.map(|g| WriterProperties::builder().set_max_row_group_row_count(Some(g)).build());
    let mut w = ArrowWriter::try_new(File::create(path).expect("create parquet"), batch.schema(), props)
        .expect("parquet writer");
    let step = chunk.unwrap_or(batch.num_rows().max(1));
    for start in (0..batch.num_rows()).step_by(step) {
        w.write(&batch.slice(start, step.min(batch.num_rows() - start))).expect("write batch");
    }
    w.close().expect("close parquet");
}

/// Writes `columns` as the Parquet file `name` in `dir`, in one row group, and returns its path.
pub(crate) fn write_parquet(dir: &Path, name: &str, columns: Vec<(&str, ArrayRef)>) -> PathBuf {
    let path = dir.join(name);
    write_batch(&path, &batch(columns), None, None);
    path
}

/// A `Float64` column (from values, or options of them for nulls).
pub(crate) fn f64s(v: impl Into<Float64Array>) -> ArrayRef {
    Arc::new(v.into())
}

/// An `Int64` column.
pub(crate) fn i64s(v: impl Into<Int64Array>) -> ArrayRef {
    Arc::new(v.into())
}

/// An `Int32` column.
pub(crate) fn i32s(v: impl Into<Int32Array>) -> ArrayRef {
    Arc::new(v.into())
}

/// A `Utf8` column.
pub(crate) fn strs(v: Vec<&str>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}

/// The `Int64` IDs 1, 2, 3.
pub(crate) fn ids3() -> ArrayRef {
    i64s(vec![1, 2, 3])
}

/// The error of `r` as text, which must be one line.
pub(crate) fn err_line<T, E: Display>(r: Result<T, E>) -> String {
    let e = r.err().expect("should fail").to_string();
    assert!(!e.contains('\n'), "message is one line: {e}");
    e
}

/// Panics unless `msg` contains every one of `parts`.
pub(crate) fn assert_has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "expected {p:?} in: {msg}");
    }
}

/// A seeded stream of values in `[-5, 5)` (a 64-bit LCG's high bits): the same on every run and platform.
pub(crate) fn rng(mut seed: u64) -> impl FnMut() -> f32 {
    move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 40) as f32 / (1u64 << 24) as f32) * 10.0 - 5.0
    }
}

/// The mean and the (population) standard deviation of `x`.
pub(crate) fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    (m, (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt())
}
