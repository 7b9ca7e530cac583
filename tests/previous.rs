//! `segment --previous`: segments that are still there keep their numbers across periods, a new one gets a fresh
//! number, a vanished one is reported, and another feature set is refused before anything is written.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, UInt32Array};
use rand::{RngExt, SeedableRng};

use crate::util::{read_parquet, run_in, stderr, stdout, write_parquet};

/// Customers in 2-D blobs: `(centre, size)`; the first blob's customers get IDs from 0, and so on. Returns each
/// customer's blob.
fn write_blobs(path: &Path, blobs: &[((f64, f64), usize)], seed: u64) -> Vec<usize> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut normal = move || {
        let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    let (mut x, mut y, mut blob) = (Vec::new(), Vec::new(), Vec::new());
    for (b, &((cx, cy), n)) in blobs.iter().enumerate() {
        for _ in 0..n {
            x.push(cx + normal());
            y.push(cy + normal());
            blob.push(b);
        }
    }
    let ids: Vec<i64> = (0..x.len() as i64).collect();
    write_parquet(
        path,
        vec![
            ("customer_id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("x", Arc::new(Float64Array::from(x)) as ArrayRef),
            ("y", Arc::new(Float64Array::from(y)) as ArrayRef),
        ],
    );
    blob
}

fn labels(path: &Path) -> Vec<u32> {
    let b = read_parquet(path);
    b.column_by_name("segment").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap().values().to_vec()
}

/// The one segment number each blob's customers got (the test's blobs are far apart, so each is one segment).
fn number_of_blob(labels: &[u32], blob: &[usize], blobs: usize) -> Vec<u32> {
    (0..blobs)
        .map(|b| {
            let mut seen: Vec<u32> = labels.iter().zip(blob).filter(|(_, &x)| x == b).map(|(&l, _)| l).collect();
            seen.dedup();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), 1, "blob {b} split over segments {seen:?}");
            seen[0]
        })
        .collect()
}

fn segment(dir: &Path, input: &str, out: &str, model: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["segment", "--input", input, "--k", "4", "--device", "cpu", "-o", out, "--model", model];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

const A: (f64, f64) = (0.0, 0.0);
const B: (f64, f64) = (10.0, 0.0);
const C: (f64, f64) = (0.0, 10.0);
const D: (f64, f64) = (10.0, 10.0);

#[test]
fn previous_keeps_numbers_when_the_data_changes_a_little() {
    let d = tempfile::tempdir().unwrap();
    let p1 = write_blobs(&d.path().join("p1.parquet"), &[(A, 400), (B, 300), (C, 200), (D, 100)], 1);
    let o = segment(d.path(), "p1.parquet", "s1.parquet", "m1.json", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = number_of_blob(&labels(&d.path().join("s1.parquet")), &p1, 4);
    assert_eq!(first, [0, 1, 2, 3], "without a money column the biggest segment comes first");

    // The next period: every centre moves a little, and B outgrows A, so the canonical order alone would swap them.
    let shift = |(x, y): (f64, f64)| (x + 0.3, y - 0.2);
    let p2 = write_blobs(
        &d.path().join("p2.parquet"),
        &[(shift(A), 250), (shift(B), 450), (shift(C), 200), (shift(D), 100)],
        2,
    );
    let o = segment(d.path(), "p2.parquet", "plain.parquet", "plain.json", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plain = number_of_blob(&labels(&d.path().join("plain.parquet")), &p2, 4);
    assert_eq!(plain, [1, 0, 2, 3], "the test must make the canonical order change");

    let o = segment(d.path(), "p2.parquet", "s2.parquet", "m2.json", &["--previous", "m1.json", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let kept = number_of_blob(&labels(&d.path().join("s2.parquet")), &p2, 4);
    assert_eq!(kept, first, "--previous keeps every blob's number");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["previous"]["new"], serde_json::json!([]));
    assert_eq!(v["previous"]["vanished"], serde_json::json!([]));
    assert_eq!(v["previous"]["kept"].as_array().unwrap().len(), 4);
    let seg_numbers: Vec<u64> =
        v["segments"].as_array().unwrap().iter().map(|s| s["segment"].as_u64().unwrap()).collect();
    assert_eq!(seg_numbers, [0, 1, 2, 3]);
    let model =
        |f: &str| -> serde_json::Value { serde_json::from_slice(&std::fs::read(d.path().join(f)).unwrap()).unwrap() };
    assert_eq!(model("m2.json")["names"], model("m1.json")["names"], "kept segments keep their names");
}

#[test]
fn previous_gives_a_new_segment_a_fresh_number_and_reports_the_vanished_one() {
    let d = tempfile::tempdir().unwrap();
    write_blobs(&d.path().join("p1.parquet"), &[(A, 400), (B, 300), (C, 200), (D, 100)], 1);
    let o = segment(d.path(), "p1.parquet", "s1.parquet", "m1.json", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // D (number 3) is gone; E, far from every old centre, is new.
    let e = (30.0, 30.0);
    let p3 = write_blobs(&d.path().join("p3.parquet"), &[(A, 400), (B, 300), (C, 200), (e, 150)], 3);
    let o = segment(d.path(), "p3.parquet", "s3.parquet", "m3.json", &["--previous", "m1.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("new segments:       4"), "{out}");
    assert!(out.contains("vanished:           3"), "{out}");
    let numbers = number_of_blob(&labels(&d.path().join("s3.parquet")), &p3, 4);
    assert_eq!(numbers, [0, 1, 2, 4]);
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(d.path().join("m3.json")).unwrap()).unwrap();
    assert_eq!(m["numbers"], serde_json::json!([0, 1, 2, 4]), "the model keeps the numbers");

    // `assign` with that model writes the same numbers, and the next period can match against it in turn.
    let o = run_in(d.path(), &["assign", "--model", "m3.json", "--input", "p3.parquet", "-o", "a3.parquet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(labels(&d.path().join("a3.parquet")), labels(&d.path().join("s3.parquet")));
    assert!(stdout(&o).lines().any(|l| l.trim_start().starts_with("4 ")), "{}", stdout(&o));
    let o = segment(d.path(), "p3.parquet", "s4.parquet", "m4.json", &["--previous", "m3.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(number_of_blob(&labels(&d.path().join("s4.parquet")), &p3, 4), [0, 1, 2, 4]);
}

#[test]
fn a_match_radius_of_zero_makes_every_segment_new() {
    let d = tempfile::tempdir().unwrap();
    write_blobs(&d.path().join("p1.parquet"), &[(A, 400), (B, 300), (C, 200), (D, 100)], 1);
    assert!(segment(d.path(), "p1.parquet", "s1.parquet", "m1.json", &[]).status.success());
    write_blobs(&d.path().join("p2.parquet"), &[(A, 400), (B, 300), (C, 200), (D, 100)], 2);
    let o = segment(d.path(), "p2.parquet", "s2.parquet", "m2.json", &["--previous", "m1.json", "--match-radius", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut seen = labels(&d.path().join("s2.parquet"));
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen, [4, 5, 6, 7]);
}

#[test]
fn previous_with_other_features_is_refused_before_anything_is_written() {
    let d = tempfile::tempdir().unwrap();
    write_blobs(&d.path().join("p1.parquet"), &[(A, 100), (B, 100), (C, 100), (D, 100)], 1);
    let o = segment(d.path(), "p1.parquet", "s1.parquet", "m1.json", &["--features", "x"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = segment(d.path(), "p1.parquet", "out/s2.parquet", "out/m2.json", &["--previous", "m1.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("--previous m1.json was fitted on the features x, this run has x,y"), "{err}");
    assert!(err.contains("pass --features x or drop --previous"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!d.path().join("out").exists(), "no output");
    let o = segment(d.path(), "p1.parquet", "s3.parquet", "m3.json", &["--previous", "m1.json", "--match-radius=-1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("expected a distance ≥ 0"), "{}", stderr(&o));
}
