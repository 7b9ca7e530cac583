//! `custseg assign` as a user runs it: scoring the training data gives back `segment`'s file to the byte, an
//! independent nearest-centre computation agrees with it, shifted data is reported as drift, and bad models or
//! inputs fail cleanly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float32Array, Float64Array, Int64Array, UInt32Array};

use crate::util::{expected_got, files_in, read_parquet, root, run_in, stderr, stdout, write_parquet};

fn sample() -> PathBuf {
    root().join("data/customers_sample.parquet")
}

/// Runs `custseg args` in `dir` and returns stdout, failing the test with stderr if it failed.
fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run_in(dir, args);
    assert!(o.status.success(), "custseg {args:?} failed:\n{}", stderr(&o));
    stdout(&o)
}

/// Fits on the bundled sample in `dir` (model in custseg-out/model.json) on `device`.
fn fit(dir: &Path, device: &str) {
    let input = sample();
    ok(dir, &["segment", "--device", device, "--input", input.to_str().unwrap(), "--k", "6", "--log1p", "monetary"]);
}

#[test]
fn assign_on_the_training_data_reproduces_the_segments_file_to_the_byte() {
    let d = tempfile::tempdir().unwrap();
    fit(d.path(), "cpu");
    let input = sample();
    let out = ok(
        d.path(),
        &["assign", "--device", "cpu", "--model", "custseg-out/model.json", "--input", input.to_str().unwrap()],
    );
    let a = std::fs::read(d.path().join("custseg-out/segments.parquet")).unwrap();
    let b = std::fs::read(d.path().join("custseg-out/assigned.parquet")).unwrap();
    assert!(a == b, "assign's file differs from segment's ({} and {} bytes)", a.len(), b.len());
    // Every share equals the share at fit time, and nothing has drifted.
    assert!(out.starts_with("20000 customers assigned to 6 segments (cpu"), "{out}");
    assert_eq!(out.matches("+0.0pp").count(), 6, "{out}");
    assert!(out.contains("drift: 1.0% of customers beyond the training's 99th-percentile distance"), "{out}");
    assert!(!out.contains("moderate") && !out.contains("significant"), "{out}");
}

#[test]
fn assign_on_the_gpu_reproduces_the_gpus_fit() {
    if !crate::util::gpu_available() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    fit(d.path(), "gpu");
    let input = sample();
    ok(
        d.path(),
        &["assign", "--device", "gpu", "--model", "custseg-out/model.json", "--input", input.to_str().unwrap()],
    );
    let a = std::fs::read(d.path().join("custseg-out/segments.parquet")).unwrap();
    let b = std::fs::read(d.path().join("custseg-out/assigned.parquet")).unwrap();
    assert!(a == b, "assign's file differs from segment's on the GPU");
}

/// An independent scoring in f64 from model.json alone: log1p, centre and scale each raw value as the scaler
/// describes, then the nearest centroid by squared Euclidean distance.
#[test]
#[allow(clippy::needless_range_loop)] // row `i` is read from several columns and outputs at once
fn labels_and_distances_agree_with_an_independent_scoring_from_the_model_file() {
    let d = tempfile::tempdir().unwrap();
    fit(d.path(), "cpu");
    // New customers: the sample's rows with every value moved a little, so that the scoring is of unseen rows.
    let raw = read_parquet(&sample());
    let names: Vec<String> =
        raw.schema().fields().iter().map(|f| f.name().clone()).filter(|n| n != "customer_id").collect();
    let n = raw.num_rows();
    let mut cols: Vec<(&str, ArrayRef)> = vec![("customer_id", raw.column_by_name("customer_id").unwrap().clone())];
    let mut values: Vec<Vec<f64>> = Vec::new();
    for name in &names {
        let c = arrow::compute::cast(raw.column_by_name(name).unwrap(), &arrow::datatypes::DataType::Float64).unwrap();
        let c = c.as_any().downcast_ref::<Float64Array>().unwrap();
        let v: Vec<f64> = (0..n).map(|i| c.value(i) * (1.0 + 0.01 * ((i % 7) as f64 - 3.0))).collect();
        values.push(v.clone());
        cols.push((name.as_str(), Arc::new(Float64Array::from(v)) as ArrayRef));
    }
    write_parquet(&d.path().join("new.parquet"), cols);
    ok(d.path(), &["assign", "--device", "cpu", "--model", "custseg-out/model.json", "--input", "new.parquet"]);

    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("custseg-out/model.json")).unwrap()).unwrap();
    let features: Vec<&str> = model["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    let scaler = model["scaler"]["columns"].as_array().unwrap();
    let cents: Vec<Vec<f64>> = model["centroids_scaled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect())
        .collect();
    let out = read_parquet(&d.path().join("custseg-out/assigned.parquet"));
    let labels = out.column_by_name("segment").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap();
    let dist = out.column_by_name("distance").unwrap().as_any().downcast_ref::<Float32Array>().unwrap();
    let (mut differ, mut worst) = (0, 0f64);
    for i in 0..n {
        let x: Vec<f64> = features
            .iter()
            .zip(scaler)
            .map(|(f, s)| {
                let mut v = values[names.iter().position(|nm| nm == f).unwrap()][i] as f32 as f64;
                if s["log1p"].as_bool().unwrap() {
                    v = v.ln_1p();
                }
                (v - s["center"].as_f64().unwrap()) / s["scale"].as_f64().unwrap()
            })
            .collect();
        let d2: Vec<f64> = cents.iter().map(|c| c.iter().zip(&x).map(|(a, b)| (a - b) * (a - b)).sum()).collect();
        let best = (0..d2.len()).min_by(|&a, &b| d2[a].total_cmp(&d2[b])).unwrap();
        // A row whose two nearest centres are within f32 rounding of each other may go either way.
        let second = (0..d2.len()).filter(|&j| j != best).map(|j| d2[j]).fold(f64::INFINITY, f64::min);
        if labels.value(i) as usize != best && second - d2[best] > 1e-4 * d2[best].max(1.0) {
            differ += 1;
        }
        worst = worst.max((dist.value(i) as f64 - d2[best].sqrt()).abs() / d2[best].sqrt().max(1e-3));
    }
    assert_eq!(differ, 0, "{}", expected_got("rows labelled differently from the independent scoring", 0, differ));
    assert!(worst < 1e-4, "largest relative distance difference {worst}");
}

#[test]
fn shifted_spend_is_reported_as_drift() {
    let d = tempfile::tempdir().unwrap();
    fit(d.path(), "cpu");
    let raw = read_parquet(&sample());
    let n = raw.num_rows();
    let mut cols: Vec<(&str, ArrayRef)> = Vec::new();
    let schema = raw.schema();
    for (f, c) in schema.fields().iter().zip(raw.columns()) {
        let c = if f.name() == "monetary" {
            let m = arrow::compute::cast(c, &arrow::datatypes::DataType::Float64).unwrap();
            let m = m.as_any().downcast_ref::<Float64Array>().unwrap();
            Arc::new(Float64Array::from_iter_values((0..n).map(|i| m.value(i) * 4.0))) as ArrayRef
        } else {
            c.clone()
        };
        cols.push((f.name().as_str(), c));
    }
    write_parquet(&d.path().join("shifted.parquet"), cols);
    let o = run_in(
        d.path(),
        &["assign", "--device", "cpu", "--model", "custseg-out/model.json", "--input", "shifted.parquet", "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let monetary = v["drift"]["features"].as_array().unwrap().iter().find(|f| f["name"] == "monetary").unwrap();
    assert_eq!(monetary["level"], "significant", "{monetary}");
    let recency = v["drift"]["features"].as_array().unwrap().iter().find(|f| f["name"] == "recency_days").unwrap();
    assert_eq!(recency["level"], "stable", "{recency}");
    assert!(stderr(&o).contains("feature 'monetary' has shifted"), "{}", stderr(&o));
}

/// Runs `assign` expecting a one-line error with every needle, exit code `code`, and no output file.
fn assert_assign_fails(dir: &Path, model: &str, input: &Path, code: i32, needles: &[&str]) {
    let o = run_in(
        dir,
        &["assign", "--device", "cpu", "--model", model, "--input", input.to_str().unwrap(), "-o", "out/a.parquet"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line:\n{err}");
    for n in needles {
        assert!(lines[0].contains(n), "{}", expected_got("the error mentions", n, lines[0]));
    }
    assert!(files_in(&dir.join("out")).is_empty() && !dir.join("out").exists(), "no output left");
}

#[test]
fn a_file_that_is_not_a_model_is_refused() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("notes.json"), r#"{"k": 3}"#).unwrap();
    assert_assign_fails(d.path(), "notes.json", &sample(), 1, &["notes.json", "not a custseg model"]);
}

#[test]
fn a_model_from_another_engine_version_is_refused() {
    let d = tempfile::tempdir().unwrap();
    fit(d.path(), "cpu");
    let text = std::fs::read_to_string(d.path().join("custseg-out/model.json")).unwrap();
    let old = text.replacen(&format!("\"custseg {}\"", env!("CARGO_PKG_VERSION")), "\"custseg 9.4.1\"", 1);
    assert_ne!(old, text);
    std::fs::write(d.path().join("old.json"), old).unwrap();
    assert_assign_fails(d.path(), "old.json", &sample(), 1, &["old.json", "custseg 9.4.1", "refit"]);
}

#[test]
fn an_input_without_a_model_feature_names_it() {
    let d = tempfile::tempdir().unwrap();
    fit(d.path(), "cpu");
    let p = d.path().join("thin.parquet");
    write_parquet(
        &p,
        vec![
            ("customer_id", Arc::new(Int64Array::from_iter_values(1..=3)) as ArrayRef),
            ("recency_days", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])) as ArrayRef),
        ],
    );
    assert_assign_fails(d.path(), "custseg-out/model.json", &p, 1, &["thin.parquet", "frequency"]);
}
