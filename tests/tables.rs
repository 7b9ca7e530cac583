//! CSV input and the run that says what it used, driven through the binary: the same table as CSV, gzipped CSV,
//! a folder and a glob of CSV parts, and Parquet gives the same output bytes; the CSV reader agrees with pandas'
//! reading of the file (tests/fixtures/tables/make_tables.py wrote both); bad CSV fails with one line naming the
//! file, the line and the column; and the log names every column the default selection left out, with its reason.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, StringArray};

use crate::util::{files_in, fixtures, run_in, stderr, write_parquet};

fn tables() -> PathBuf {
    fixtures().join("tables")
}

fn fixture(name: &str) -> String {
    tables().join(name).to_str().unwrap().to_string()
}

/// Runs `custseg args` in `dir`, failing the test with stderr if it failed; returns stderr (the log).
fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run_in(dir, args);
    assert!(o.status.success(), "custseg {args:?} failed:\n{}", stderr(&o));
    stderr(&o)
}

/// Runs `segment` on `input` in a fresh folder `dir/name` with `extra` flags, writing segments, model and
/// profiles there; returns the folder and the log.
fn segment(dir: &Path, name: &str, input: &str, extra: &[&str]) -> (PathBuf, String) {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    let mut args = vec![
        "segment",
        "--device",
        "cpu",
        "--input",
        input,
        "--k",
        "4",
        "--seed",
        "3",
        "-o",
        "seg.parquet",
        "--model",
        "model.json",
        "--profile",
        "profiles.json",
    ];
    args.extend_from_slice(extra);
    let log = ok(&out, &args);
    (out, log)
}

/// The model JSON without its input description (the file names differ by design).
fn model_without_input(dir: &Path) -> serde_json::Value {
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("model.json")).unwrap()).unwrap();
    m["input"]["files"] = serde_json::Value::Null;
    m
}

fn assert_same_outputs(a: &Path, b: &Path, what: &str) {
    for f in ["seg.parquet", "profiles.json"] {
        let (x, y) = (std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap());
        assert!(x == y, "{what}: {f} differs ({} and {} bytes)", x.len(), y.len());
    }
    assert_eq!(model_without_input(a), model_without_input(b), "{what}: model.json differs beyond its input files");
}

#[test]
fn the_same_table_as_csv_gzip_csv_parts_and_parquet_gives_the_same_output_bytes() {
    let d = tempfile::tempdir().unwrap();
    let parts = fixture("retail_parts");
    let glob = format!("{parts}/part-*");
    for extra in [
        &["--features", "net_spend,visits,tenure_days,age", "--missing", "mean"][..],
        // The default selection (which leaves out the text, flag and postcode columns), rows with a gap dropped.
        &["--missing", "drop"][..],
    ] {
        let (parquet, _) = segment(d.path(), "parquet", &fixture("retail.parquet"), extra);
        for (name, input) in [
            ("csv", fixture("retail.csv")),
            ("gz", fixture("retail.csv.gz")),
            ("folder", parts.clone()),
            ("glob", glob.clone()),
        ] {
            let (csv, _) = segment(d.path(), name, &input, extra);
            assert_same_outputs(&parquet, &csv, &format!("{name} {extra:?}"));
        }
    }
    // assign with that model scores the CSV and the Parquet table to the same bytes, and to segment's file.
    let model = d.path().join("parquet/model.json");
    let model = model.to_str().unwrap();
    for (input, out) in [(fixture("retail.csv.gz"), "a.parquet"), (fixture("retail.parquet"), "b.parquet")] {
        ok(
            d.path(),
            &["assign", "--device", "cpu", "--model", model, "--input", &input, "-o", out, "--missing", "drop"],
        );
    }
    let (a, b) =
        (std::fs::read(d.path().join("a.parquet")).unwrap(), std::fs::read(d.path().join("b.parquet")).unwrap());
    assert!(a == b, "assign on CSV and on Parquet differ");
    assert!(a == std::fs::read(d.path().join("parquet/seg.parquet")).unwrap(), "assign differs from segment");
}

#[test]
fn the_csv_reader_agrees_with_pandas() {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tables().join("expected.json")).unwrap()).unwrap();
    let rows = expected["rows"].as_u64().unwrap() as usize;
    let numbers = ["postcode", "net_spend", "visits", "tenure_days", "age"];
    let opts = custseg::io::ReadOptions {
        features: Some(numbers.iter().map(|s| s.to_string()).collect()),
        missing: custseg::io::Missing::Mean,
        ..Default::default()
    };
    for file in ["retail.csv", "retail.csv.gz"] {
        let t = custseg::io::read_features(&[tables().join(file)], &opts).unwrap();
        assert_eq!((t.x.n(), t.report.rows_read), (rows, rows), "{file}");
        let ids = t.ids.as_string::<i32>();
        assert_eq!(ids.value(0), expected["columns"]["customer_id"]["first"].as_str().unwrap());
        for (j, name) in numbers.iter().enumerate() {
            let col = &expected["columns"][*name];
            let nulls = col["nulls"].as_u64().unwrap() as usize;
            let imputed = t.report.imputed.iter().find(|(c, _)| c == name).map_or(0, |(_, n)| *n);
            assert_eq!(imputed, nulls, "{file} {name}: nulls");
            // pandas' sum skips the gaps; the reader filled them with the column mean.
            let pandas = col["sum"].as_f64().unwrap();
            let want = pandas + nulls as f64 * pandas / (rows - nulls) as f64;
            let got: f64 = (0..rows).map(|i| t.x.row(i)[j] as f64).sum();
            assert!((got - want).abs() <= 1e-6 * want.abs().max(1.0), "{file} {name}: sum {got}, pandas {want}");
            assert_eq!(t.x.row(0)[j] as f64, col["first"].as_f64().unwrap() as f32 as f64, "{file} {name}: first");
        }
    }
}

#[test]
fn the_log_names_each_column_left_out_and_why() {
    let d = tempfile::tempdir().unwrap();
    let (_, log) = segment(d.path(), "csv", &fixture("retail.csv"), &["--missing", "mean"]);
    for needle in [
        "default features: clustering on net_spend, visits, tenure_days, age (4 columns); the ID is customer_id (--id)",
        "default features: left out region: text; use --categorical region",
        "default features: left out gender: text; use --categorical gender",
        "default features: left out opt_in: true/false; use --categorical opt_in",
        "default features: left out postcode: an integer whose name says it is a code or ID, not an amount",
    ] {
        assert!(log.contains(needle), "the log lacks '{needle}':\n{log}");
    }
    // A spend column stored as text and an integer that differs on every row (a row number) are left out with a
    // warning; so is an integer named like an ID.
    let n = 300i64;
    let f = d.path().join("mixed.parquet");
    let spend: Vec<String> = (0..n).map(|i| format!("{}.25", i % 50)).collect();
    write_parquet(
        &f,
        vec![
            (
                "customer_id",
                Arc::new(StringArray::from((0..n).map(|i| format!("c{i}")).collect::<Vec<_>>())) as ArrayRef,
            ),
            ("row_number", Arc::new(Int64Array::from((0..n).collect::<Vec<_>>()))),
            ("store_id", Arc::new(Int64Array::from((0..n).map(|i| i % 12).collect::<Vec<_>>()))),
            ("spend", Arc::new(StringArray::from(spend))),
            ("visits", Arc::new(Float64Array::from((0..n).map(|i| (i % 7) as f64).collect::<Vec<_>>()))),
            ("tenure", Arc::new(Int64Array::from((0..n).map(|i| i % 30).collect::<Vec<_>>()))),
        ],
    );
    let (_, log) = segment(d.path(), "mixed", f.to_str().unwrap(), &[]);
    for needle in [
        "default features: clustering on visits, tenure (2 columns)",
        "WARN",
        "left out row_number: an integer with a different value on each of the 300 rows, like an ID",
        "left out store_id: an integer whose name says it is a code or ID",
        "left out spend: text, but every value is a number; store it as numbers to cluster on it (for CSV: \
         --csv-schema spend:float64)",
    ] {
        assert!(log.contains(needle), "the log lacks '{needle}':\n{log}");
    }
}

/// Runs a `segment` that must fail in a fresh folder: (exit code, stderr, files left there).
fn fails(dir: &Path, args: &[&str]) -> (i32, String, Vec<String>) {
    let out = tempfile::tempdir_in(dir).unwrap();
    let mut all = vec!["segment", "--device", "cpu", "--k", "2", "-o", "seg.parquet", "--model", "model.json"];
    all.extend_from_slice(args);
    let o = run_in(out.path(), &all);
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: not one line:\n{err}");
    (o.status.code().unwrap_or(-1), err, files_in(out.path()))
}

#[test]
fn a_bad_csv_cell_names_the_file_line_and_column_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("bad.csv");
    let mut text = String::from("customer_id,spend,visits\n");
    // Past the 10,000 rows the types are inferred from (within them, `visits` would just be read as text).
    for i in 0..10_000 {
        text.push_str(&format!("c{i},{}.5,{}\n", i, i % 4));
    }
    text.push_str("c10000,12.5,three\n");
    std::fs::write(&f, text).unwrap();
    let (code, err, left) = fails(d.path(), &["--input", f.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "{}: line 10002, column 'visits': cannot read 'three' as int64 (the type inferred from the first 10000 \
             rows); fix the value, or give the column's type with --csv-schema visits:utf8",
            f.display()
        )),
        "{err}"
    );
    assert!(left.is_empty(), "{left:?}");
    // A line with a missing field.
    std::fs::write(&f, "customer_id,spend,visits\nc1,2.5,1\nc2,3.5\n").unwrap();
    let (code, err, left) = fails(d.path(), &["--input", f.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.csv: line 3 has 2 fields, but the header has 3"), "{err}");
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn csv_named_parquet_mixed_folders_and_bad_csv_schemas_fail_with_one_line() {
    let d = tempfile::tempdir().unwrap();
    let fake = d.path().join("customers.parquet");
    std::fs::copy(tables().join("retail.csv"), &fake).unwrap();
    let (code, err, left) = fails(d.path(), &["--input", fake.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("customers.parquet: not a Parquet file: it looks like CSV; name it .csv"), "{err}");
    assert!(left.is_empty());

    let mixed = d.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    std::fs::copy(tables().join("retail.csv"), mixed.join("a.csv")).unwrap();
    std::fs::copy(tables().join("retail.parquet"), mixed.join("b.parquet")).unwrap();
    let (code, err, _) = fails(d.path(), &["--input", mixed.to_str().unwrap()]);
    assert!(code != 0 && err.contains("holds 1 CSV and 1 Parquet files"), "{err}");

    let csv = fixture("retail.csv");
    for (args, needle) in [
        (vec!["--input", csv.as_str(), "--csv-schema", "spend"], "not column:type"),
        (vec!["--input", csv.as_str(), "--csv-schema", "age:money"], "unknown type 'money' for column 'age'"),
        (
            vec!["--input", csv.as_str(), "--csv-schema", "nope:int64"],
            "--csv-schema names 'nope', which is not a column",
        ),
        (vec!["--input", fixture("retail.parquet").as_str(), "--csv-schema", "age:int64"], "applies to CSV files"),
    ] {
        let (code, err, left) = fails(d.path(), &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(left.is_empty(), "{args:?}: {left:?}");
    }
}

#[test]
fn csv_schema_reads_a_column_as_the_type_given() {
    let d = tempfile::tempdir().unwrap();
    // postcode as text: the log then calls it text; visits as float: the same numbers, the same segments.
    let (_, log) = segment(
        d.path(),
        "typed",
        &fixture("retail.csv"),
        &["--missing", "mean", "--csv-schema", "postcode:utf8,visits:float64"],
    );
    assert!(log.contains("left out postcode: text; use --categorical postcode"), "{log}");
    let (plain, _) = segment(d.path(), "plain", &fixture("retail.csv"), &["--missing", "mean"]);
    let (a, b) =
        (std::fs::read(plain.join("seg.parquet")).unwrap(), std::fs::read(d.path().join("typed/seg.parquet")).unwrap());
    assert!(a == b, "reading visits as float64 changed the segments");
}
