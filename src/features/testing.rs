//! Fixtures shared by the unit tests of `features` (compiled only for tests): small transaction logs written as
//! Parquet with `crate::test_util`, and the options and columns they use.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::dates::parse_date;
use super::options::FeatureOptions;
use crate::test_util::{batch, write_batch};

pub(crate) fn day(s: &str) -> i32 {
    parse_date(s).unwrap()
}

pub(crate) fn opts(as_of: &str) -> FeatureOptions {
    FeatureOptions::new(day(as_of))
}

pub(crate) fn dates(v: &[&str]) -> ArrayRef {
    Arc::new(Date32Array::from(v.iter().map(|s| day(s)).collect::<Vec<_>>()))
}

pub(crate) fn f64s(v: Vec<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

pub(crate) fn assert_has(m: &str, parts: &[&str]) {
    for p in parts {
        assert!(m.contains(p), "expected {p:?} in: {m}");
    }
}

/// Every column of a Parquet file as one record batch.
pub(crate) fn read_all(p: &Path) -> RecordBatch {
    let r = ParquetRecordBatchReaderBuilder::try_new(File::open(p).unwrap()).unwrap().build().unwrap();
    let b: Vec<RecordBatch> = r.map(|b| b.unwrap()).collect();
    arrow::compute::concat_batches(&b[0].schema(), &b).unwrap()
}

/// Three customers, as of 2026-11-01, in row groups of 3 rows:
/// 1: 100 on 10-01, 50 on 10-01 (same day), −30 on 10-21 → 3 rows, 2 days.
/// 2: 20 on 11-01 (as-of: kept) and 99 on 11-02 (after: dropped).
/// 3: 40 on 2026-01-01, 0 on 06-01, 60 on 10-31.
pub(crate) fn small(dir: &Path) -> PathBuf {
    let path = dir.join("tx.parquet");
    let b = batch(vec![
        ("customer_id", Arc::new(Int64Array::from(vec![3, 1, 1, 2, 2, 1, 3, 3]))),
        (
            "date",
            dates(&[
                "2026-01-01",
                "2026-10-01",
                "2026-10-01",
                "2026-11-01",
                "2026-11-02",
                "2026-10-21",
                "2026-06-01",
                "2026-10-31",
            ]),
        ),
        ("amount", f64s(vec![40.0, 100.0, 50.0, 20.0, 99.0, -30.0, 0.0, 60.0])),
    ]);
    write_batch(&path, &b, Some(3), None);
    path
}

/// A bigger generated log (40,000 rows with order and category columns), many row groups, in two files.
pub(crate) fn many(dir: &Path) -> Vec<PathBuf> {
    let batches: Vec<RecordBatch> = crate::generate::generate_transactions(40_000, 5, day("2026-11-01"))
        .collect::<crate::error::Result<_>>()
        .unwrap();
    let all = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    let mut paths = Vec::new();
    for (i, part) in [all.slice(0, 25_000), all.slice(25_000, 15_000)].iter().enumerate() {
        let p = dir.join(format!("part{i}.parquet"));
        write_batch(&p, part, Some(1_000 + 777 * i), None);
        paths.push(p);
    }
    paths
}
