//! Bad input through the binary: each case gives a one-line error naming the file or column (and the count),
//! a non-zero exit code, no panic, and no output file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};

use crate::util::{files_in, parquet_testing, run_in, stderr, write_parquet};

/// Runs `segment` on `input` with extra args in a fresh folder, writing into `out/` (which does not exist yet);
/// returns (exit code, stderr, what was left in `out/`, or `out/` itself if it was created and left empty).
fn segment(dir: &Path, input: &Path, extra: &[&str]) -> (i32, String, Vec<String>) {
    let out = dir.join("out");
    let mut args = vec![
        "segment".to_string(),
        "--input".into(),
        input.display().to_string(),
        "--output".into(),
        out.join("seg.parquet").display().to_string(),
        "--model".into(),
        out.join("model.json").display().to_string(),
        "--device".into(),
        "cpu".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let o = run_in(dir, &args);
    let mut left = files_in(&out);
    // The output folder does not exist beforehand: a failed run must not leave even an empty one.
    if left.is_empty() && out.exists() {
        left.push("out/ (an empty folder)".into());
    }
    (o.status.code().unwrap_or(-1), stderr(&o), left)
}

/// Asserts a clean failure: exit code, a one-line error containing every `needle`, no panic, no output.
fn assert_fails(case: &str, r: (i32, String, Vec<String>), code: i32, needles: &[&str]) {
    let (c, err, files) = r;
    assert_eq!(c, code, "{case}: exit code; stderr:\n{err}");
    assert!(!err.contains("panicked"), "{case}: panicked:\n{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{case}: exactly one error line; stderr:\n{err}");
    for n in needles {
        assert!(lines[0].contains(n), "{case}: error should mention {n:?}; got:\n{}", lines[0]);
    }
    assert!(files.is_empty(), "{case}: no output file may be left, found {files:?}");
}

fn ids(n: i64) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(1..=n))
}

fn f64s(v: Vec<Option<f64>>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

fn file(dir: &Path, name: &str, cols: Vec<(&str, ArrayRef)>) -> PathBuf {
    let p = dir.join(name);
    write_parquet(&p, cols);
    p
}

#[test]
fn nan_in_a_feature_names_column_and_count() {
    let d = tempfile::tempdir().unwrap();
    let p = file(
        d.path(),
        "nan.parquet",
        vec![("customer_id", ids(4)), ("spend", f64s(vec![Some(1.0), Some(f64::NAN), Some(f64::INFINITY), Some(4.0)]))],
    );
    assert_fails("nan", segment(d.path(), &p, &["--k", "2"]), 1, &["spend", "2"]);
}

#[test]
fn missing_drop_and_mean_handle_nan_and_nulls() {
    let d = tempfile::tempdir().unwrap();
    let p = file(
        d.path(),
        "gaps.parquet",
        vec![
            ("customer_id", ids(6)),
            ("spend", f64s(vec![Some(1.0), None, Some(f64::NAN), Some(4.0), Some(9.0), Some(10.0)])),
            ("visits", f64s(vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0), Some(9.0), Some(10.0)])),
        ],
    );
    for policy in ["drop", "mean"] {
        let (c, err, files) = segment(d.path(), &p, &["--k", "2", "--missing", policy]);
        assert_eq!(c, 0, "--missing {policy}: {err}");
        assert_eq!(files, vec!["model.json", "seg.parquet"]);
        let seg = crate::util::read_parquet(&d.path().join("out/seg.parquet"));
        assert_eq!(seg.num_rows(), if policy == "drop" { 4 } else { 6 }, "--missing {policy}");
        std::fs::remove_dir_all(d.path().join("out")).unwrap();
    }
}

#[test]
fn null_feature_values_name_column_and_count() {
    let d = tempfile::tempdir().unwrap();
    let p = file(
        d.path(),
        "nulls.parquet",
        vec![("customer_id", ids(4)), ("spend", f64s(vec![Some(1.0), None, None, Some(4.0)]))],
    );
    assert_fails("null features", segment(d.path(), &p, &["--k", "2"]), 1, &["spend", "2", "null"]);
}

#[test]
fn null_and_duplicate_ids_are_counted() {
    let d = tempfile::tempdir().unwrap();
    let vals = f64s(vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0)]);
    let p = file(
        d.path(),
        "nullid.parquet",
        vec![
            ("customer_id", Arc::new(Int64Array::from(vec![Some(1), None, None, Some(4)])) as ArrayRef),
            ("spend", vals.clone()),
        ],
    );
    assert_fails("null ids", segment(d.path(), &p, &["--k", "2"]), 1, &["customer_id", "2", "null"]);
    let p = file(
        d.path(),
        "dupid.parquet",
        vec![("customer_id", Arc::new(StringArray::from(vec!["a", "b", "a", "a"])) as ArrayRef), ("spend", vals)],
    );
    assert_fails("duplicate ids", segment(d.path(), &p, &["--k", "2"]), 1, &["customer_id", "2", "duplicate"]);
}

#[test]
fn zero_rows_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "empty.parquet", vec![("customer_id", ids(0)), ("spend", f64s(vec![]))]);
    assert_fails("0 rows", segment(d.path(), &p, &["--k", "2"]), 1, &["no rows", "empty.parquet"]);
}

#[test]
fn zero_feature_columns_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let p = file(
        d.path(),
        "onlyid.parquet",
        vec![("customer_id", ids(3)), ("name", Arc::new(StringArray::from(vec!["x", "y", "z"])) as ArrayRef)],
    );
    assert_fails(
        "0 features",
        segment(d.path(), &p, &["--k", "2"]),
        1,
        &["no numeric feature columns", "onlyid.parquet"],
    );
}

#[test]
fn non_numeric_feature_names_column_and_type() {
    let d = tempfile::tempdir().unwrap();
    let p = file(
        d.path(),
        "text.parquet",
        vec![("customer_id", ids(3)), ("city", Arc::new(StringArray::from(vec!["x", "y", "z"])) as ArrayRef)],
    );
    assert_fails("non-numeric", segment(d.path(), &p, &["--k", "2", "--features", "city"]), 1, &["city", "Utf8"]);
}

#[test]
fn missing_column_lists_the_columns_that_exist() {
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "cols.parquet", vec![("customer_id", ids(3)), ("spend", f64s(vec![Some(1.0); 3]))]);
    assert_fails(
        "missing column",
        segment(d.path(), &p, &["--k", "2", "--features", "spend,age"]),
        1,
        &["cols.parquet", "age", "customer_id, spend"],
    );
}

#[test]
fn k_zero_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "ok.parquet", vec![("customer_id", ids(3)), ("spend", f64s(vec![Some(1.0); 3]))]);
    let r = segment(d.path(), &p, &["--k", "0"]);
    assert_eq!(r.1.matches("cannot be 0").count(), 1, "the reason is said once: {}", r.1);
    assert_fails("k = 0", r, 2, &["k"]);
}

#[test]
fn k_above_distinct_rows_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let p = file(
        d.path(),
        "dups.parquet",
        vec![("customer_id", ids(4)), ("spend", f64s(vec![Some(1.0), Some(1.0), Some(2.0), Some(2.0)]))],
    );
    assert_fails("k > distinct", segment(d.path(), &p, &["--k", "3"]), 1, &["k = 3", "distinct rows (2)"]);
}

#[test]
fn a_file_that_is_not_parquet_is_named() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("notes.parquet");
    std::fs::write(&p, "customer_id,spend\n1,2\n").unwrap();
    assert_fails("not parquet", segment(d.path(), &p, &["--k", "2"]), 1, &["notes.parquet", "Parquet"]);
}

#[test]
fn every_corrupt_file_in_parquet_testing_fails_cleanly() {
    let bad = parquet_testing().join("bad_data");
    let mut n = 0;
    for e in std::fs::read_dir(&bad).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "parquet") {
            let d = tempfile::tempdir().unwrap();
            let (c, err, files) = segment(d.path(), &p, &["--k", "2"]);
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert_eq!(c, 1, "{name}: exit code; stderr:\n{err}");
            assert!(!err.contains("panicked"), "{name}: panicked:\n{err}");
            assert!(
                err.lines().any(|l| l.starts_with("error:") && l.contains(&name)),
                "{name}: error names the file:\n{err}"
            );
            assert!(files.is_empty(), "{name}: left {files:?}");
            n += 1;
        }
    }
    assert!(n >= 8, "expected the 8 bad_data files, saw {n}");
}

#[test]
fn unwritable_output_is_reported_before_any_work() {
    let d = tempfile::tempdir().unwrap();
    let p = file(
        d.path(),
        "ok.parquet",
        vec![("customer_id", ids(3)), ("spend", f64s(vec![Some(1.0), Some(2.0), Some(3.0)]))],
    );
    let model = d.path().join("model.json");
    let o = run_in(
        d.path(),
        &[
            "segment",
            "--input",
            p.to_str().unwrap(),
            "--k",
            "2",
            "--device",
            "cpu",
            "--output",
            "/proc/custseg-no/seg.parquet",
            "--model",
            model.to_str().unwrap(),
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("/proc/custseg-no/seg.parquet"), "{err}");
    assert!(!model.exists(), "no model is written when the segments path is unwritable");
}

#[cfg(unix)]
#[test]
fn a_deleted_working_folder_is_a_one_line_error() {
    // A relative output under a working folder that has been deleted: the folder cannot be made, said up front.
    let d = tempfile::tempdir().unwrap();
    let script = format!(
        "mkdir gone && cd gone && rmdir ../gone && exec '{}' generate --customers 10 --output sub/c.parquet",
        env!("CARGO_BIN_EXE_custseg")
    );
    let o = std::process::Command::new("sh").arg("-c").arg(&script).current_dir(d.path()).output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("sub/c.parquet") && err.contains("cannot create folder sub"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn a_money_column_that_is_not_a_feature_fails_before_any_output() {
    let d = tempfile::tempdir().unwrap();
    let sample = crate::util::root().join("data/customers_sample.parquet");
    let profile = d.path().join("out/p.json");
    let r = segment(d.path(), &sample, &["--k", "2", "--profile", profile.to_str().unwrap(), "--money-column", "nope"]);
    assert_fails("--money-column nope", r, 2, &["money column 'nope' is not a feature", "monetary"]);
}

#[test]
fn a_log1p_column_that_is_not_a_feature_fails_before_any_output() {
    let d = tempfile::tempdir().unwrap();
    let sample = crate::util::root().join("data/customers_sample.parquet");
    let r = segment(d.path(), &sample, &["--k", "2", "--log1p", "spend"]);
    assert_fails("--log1p spend", r, 2, &["--log1p column 'spend' is not a feature"]);
}
