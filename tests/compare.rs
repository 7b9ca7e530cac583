//! Segments over time, end to end as a user runs it: two snapshots of one transaction log three months apart,
//! `features` → `segment` → `assign` → `compare`. The transition counts must equal a crosstab computed here
//! independently, for the numbered segments and for the named RFM segments.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, StringArray};
use arrow::datatypes::DataType;

use crate::util::{files_in, read_parquet, run_in, stderr, stdout, write_parquet};

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run_in(dir, args);
    assert!(o.status.success(), "custseg {args:?} failed:\n{}", stderr(&o));
    stdout(&o)
}

/// ID → value of `column`, both as text, read independently of custseg.
fn column_by_id(path: &Path, id: &str, column: &str) -> HashMap<String, String> {
    let b = read_parquet(path);
    let text = |name: &str| {
        let a = arrow::compute::cast(b.column_by_name(name).unwrap(), &DataType::Utf8).unwrap();
        a.as_any().downcast_ref::<StringArray>().unwrap().iter().map(|v| v.unwrap().to_string()).collect::<Vec<_>>()
    };
    text(id).into_iter().zip(text(column)).collect()
}

/// The crosstab, entered and left of two ID → segment maps.
fn crosstab(
    before: &HashMap<String, String>,
    after: &HashMap<String, String>,
) -> (HashMap<(String, String), u64>, u64, u64) {
    let mut cross = HashMap::new();
    for (id, from) in before {
        if let Some(to) = after.get(id) {
            *cross.entry((from.clone(), to.clone())).or_default() += 1;
        }
    }
    let entered = after.keys().filter(|id| !before.contains_key(*id)).count() as u64;
    let left = before.keys().filter(|id| !after.contains_key(*id)).count() as u64;
    (cross, entered, left)
}

fn check_against_crosstab(v: &serde_json::Value, before: &HashMap<String, String>, after: &HashMap<String, String>) {
    let (cross, entered, left) = crosstab(before, after);
    let text = |x: &serde_json::Value| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string());
    let got: HashMap<(String, String), u64> = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| ((text(&t["from"]), text(&t["to"])), t["customers"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, cross, "transition counts against the independent crosstab");
    assert_eq!(v["entered"].as_u64(), Some(entered));
    assert_eq!(v["left"].as_u64(), Some(left));
}

#[test]
fn two_periods_of_one_log_compare_as_an_independent_crosstab() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(p, &["generate", "--transactions", "120000", "--seed", "3", "--as-of", "2026-11-01", "--output", "tx.parquet"]);
    for (as_of, out) in [("2026-08-01", "aug.parquet"), ("2026-11-01", "nov.parquet")] {
        ok(p, &["features", "--transactions", "tx.parquet", "--as-of", as_of, "--order", "order_id", "--output", out]);
    }
    ok(
        p,
        &[
            "segment",
            "--device",
            "cpu",
            "--input",
            "aug.parquet",
            "--k",
            "5",
            "-o",
            "seg_aug.parquet",
            "--model",
            "m.json",
        ],
    );
    // Assigning the training period reproduces its segments file; then the later period is scored.
    ok(p, &["assign", "--device", "cpu", "--model", "m.json", "--input", "aug.parquet", "-o", "again.parquet"]);
    assert!(std::fs::read(p.join("again.parquet")).unwrap() == std::fs::read(p.join("seg_aug.parquet")).unwrap());
    ok(p, &["assign", "--device", "cpu", "--model", "m.json", "--input", "nov.parquet", "-o", "seg_nov.parquet"]);

    let out = ok(
        p,
        &[
            "compare",
            "--before",
            "seg_aug.parquet",
            "--after",
            "seg_nov.parquet",
            "--json",
            "--output",
            "movers.parquet",
            "--report",
            "flows.html",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let before = column_by_id(&p.join("seg_aug.parquet"), "customer_id", "segment");
    let after = column_by_id(&p.join("seg_nov.parquet"), "customer_id", "segment");
    check_against_crosstab(&v, &before, &after);
    assert!(v["entered"].as_u64().unwrap() > 0, "new customers arrive in three months of transactions");
    // The movers file: exactly the customers in both periods whose segment changed.
    let movers = read_parquet(&p.join("movers.parquet"));
    let ids = movers.column_by_name("customer_id").unwrap();
    let ids = arrow::compute::cast(ids, &DataType::Utf8).unwrap();
    let ids = ids.as_any().downcast_ref::<StringArray>().unwrap();
    let from = movers.column_by_name("from").unwrap().as_any().downcast_ref::<Int64Array>().unwrap().clone();
    let to = movers.column_by_name("to").unwrap().as_any().downcast_ref::<Int64Array>().unwrap().clone();
    let moved: Vec<&String> =
        before.iter().filter(|(id, s)| after.get(*id).is_some_and(|t| t != *s)).map(|(id, _)| id).collect();
    assert_eq!(movers.num_rows(), moved.len());
    for i in 0..movers.num_rows() {
        let id = ids.value(i);
        assert_eq!(before[id], from.value(i).to_string(), "from of {id}");
        assert_eq!(after[id], to.value(i).to_string(), "to of {id}");
    }
    let html = std::fs::read_to_string(p.join("flows.html")).unwrap();
    assert!(html.contains("<svg data-chart=\"transitions\"") && !html.contains("https://"), "self-contained");

    // The named RFM segments of the two features files compare the same way.
    let out =
        ok(p, &["compare", "--before", "aug.parquet", "--after", "nov.parquet", "--column", "rfm_segment", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    check_against_crosstab(
        &v,
        &column_by_id(&p.join("aug.parquet"), "customer_id", "rfm_segment"),
        &column_by_id(&p.join("nov.parquet"), "customer_id", "rfm_segment"),
    );
    assert!(v["biggest_flows"][0].as_str().unwrap().contains(" customers went from "), "{}", v["biggest_flows"]);
}

fn segments_file(path: &Path, ids: ArrayRef, segs: Vec<u32>) {
    write_parquet(path, vec![("customer_id", ids), ("segment", Arc::new(arrow::array::UInt32Array::from(segs)))]);
}

/// Runs `compare` expecting a one-line error with every needle and no movers file.
fn assert_compare_fails(dir: &Path, before: &str, after: &str, needles: &[&str]) {
    let o = run_in(dir, &["compare", "--before", before, "--after", after, "--output", "out/movers.parquet"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "expected {n:?} in: {}", lines[0]);
    }
    assert!(files_in(&dir.join("out")).is_empty() && !dir.join("out").exists(), "no output left");
}

#[test]
fn duplicate_ids_are_counted_and_refused() {
    let d = tempfile::tempdir().unwrap();
    segments_file(&d.path().join("a.parquet"), Arc::new(Int64Array::from(vec![1, 2, 2, 3, 3])), vec![0, 1, 1, 0, 2]);
    segments_file(&d.path().join("b.parquet"), Arc::new(Int64Array::from(vec![1, 2, 3])), vec![0, 0, 1]);
    assert_compare_fails(d.path(), "a.parquet", "b.parquet", &["a.parquet", "2 duplicate values", "customer_id"]);
    assert_compare_fails(d.path(), "b.parquet", "a.parquet", &["a.parquet", "2 duplicate values"]);
}

#[test]
fn ids_of_different_types_are_refused() {
    let d = tempfile::tempdir().unwrap();
    segments_file(&d.path().join("a.parquet"), Arc::new(Int64Array::from(vec![1, 2])), vec![0, 1]);
    segments_file(&d.path().join("b.parquet"), Arc::new(StringArray::from(vec!["1", "2"])), vec![0, 1]);
    assert_compare_fails(
        d.path(),
        "a.parquet",
        "b.parquet",
        &["b.parquet", "holds text here but integers in a.parquet"],
    );
}

#[test]
fn a_missing_column_is_named() {
    let d = tempfile::tempdir().unwrap();
    segments_file(&d.path().join("a.parquet"), Arc::new(Int64Array::from(vec![1, 2])), vec![0, 1]);
    let o = run_in(d.path(), &["compare", "--before", "a.parquet", "--after", "a.parquet", "--column", "rfm_segment"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("a.parquet: no column 'rfm_segment' (columns: customer_id, segment)"),
        "{}",
        stderr(&o)
    );
}
