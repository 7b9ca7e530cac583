//! Shared helpers for the integration tests: paths to fixtures and the binary, and expected/got messages.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The crate root (where Cargo.toml is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/parquet-testing`: Apache Parquet's own test files (Apache License 2.0, its LICENSE.txt beside them).
pub fn parquet_testing() -> PathBuf {
    fixtures().join("parquet-testing")
}

/// `tests/fixtures`.
pub fn fixtures() -> PathBuf {
    root().join("tests/fixtures")
}

/// The built `custseg` binary.
pub fn custseg() -> Command {
    Command::new(env!("CARGO_BIN_EXE_custseg"))
}

/// Runs the binary with `args` in `dir`, returning its output.
pub fn run_in(dir: &std::path::Path, args: &[&str]) -> Output {
    custseg().current_dir(dir).args(args).output().expect("spawn custseg")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Formats an expected/got block for assertion messages.
pub fn expected_got(what: &str, expected: impl std::fmt::Debug, got: impl std::fmt::Debug) -> String {
    format!("\n{what}\nexpected:\n  {expected:?}\ngot:\n  {got:?}\n")
}

/// Writes a small Parquet file from named arrow arrays (for bad-input tests).
pub fn write_parquet(path: &std::path::Path, columns: Vec<(&str, arrow::array::ArrayRef)>) {
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;
    let fields: Vec<Field> = columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
    let schema = Arc::new(Schema::new(fields));
    let batch =
        arrow::record_batch::RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect())
            .expect("batch");
    let file = std::fs::File::create(path).expect("create parquet");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
}

/// Reads every column of a Parquet file into one record batch.
pub fn read_parquet(path: &std::path::Path) -> arrow::record_batch::RecordBatch {
    let f = std::fs::File::open(path).expect("open parquet");
    let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .expect("reader")
        .build()
        .expect("build");
    let batches: Vec<_> = r.map(|b| b.expect("batch")).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).expect("concat")
}

/// Adjusted Rand index of two labelings (Hubert & Arabie), as scikit-learn's `adjusted_rand_score`.
pub fn adjusted_rand_index(a: &[u32], b: &[u32]) -> f64 {
    use std::collections::HashMap;
    assert_eq!(a.len(), b.len());
    let comb2 = |x: f64| x * (x - 1.0) / 2.0;
    let mut cont: HashMap<(u32, u32), f64> = HashMap::new();
    let mut ra: HashMap<u32, f64> = HashMap::new();
    let mut rb: HashMap<u32, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *cont.entry((x, y)).or_default() += 1.0;
        *ra.entry(x).or_default() += 1.0;
        *rb.entry(y).or_default() += 1.0;
    }
    let index: f64 = cont.values().map(|&v| comb2(v)).sum();
    let sa: f64 = ra.values().map(|&v| comb2(v)).sum();
    let sb: f64 = rb.values().map(|&v| comb2(v)).sum();
    let expected = sa * sb / comb2(a.len() as f64);
    let max = (sa + sb) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// Files left in a folder (to check that a failed run wrote nothing).
pub fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|it| it.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Whether a Vulkan adapter exists for the tests that run the binary with `--device gpu`. Without one (or without
/// the gpu feature), and with `CI` unset, the caller returns early and a `SKIPPED` line goes straight to stderr (past the harness's capture);
/// with `CI=true` a missing adapter fails the test.
pub fn gpu_available() -> bool {
    #[cfg(feature = "gpu")]
    let found = !custseg::backend::gpu::list_adapters().is_empty();
    #[cfg(not(feature = "gpu"))]
    let found = false;
    if !found {
        // A build without the gpu feature has no GPU to test, in CI or not.
        assert!(
            !cfg!(feature = "gpu") || std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no GPU adapter: install mesa-vulkan-drivers"
        );
        let line = format!("SKIPPED {}: no GPU adapter\n", std::thread::current().name().unwrap_or("a GPU test"));
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    }
    found
}
