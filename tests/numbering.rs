//! Stable segment numbers: seeds that find the same partition number it the same way, biggest spenders first.

use arrow::array::{Array, Float64Array, UInt32Array};

use crate::util::{read_parquet, run_in, stderr};

fn labels(path: &std::path::Path) -> Vec<u32> {
    let b = read_parquet(path);
    b.column_by_name("segment").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap().values().to_vec()
}

#[test]
fn three_seeds_on_well_separated_data_give_identical_segment_numbers() {
    let d = tempfile::tempdir().unwrap();
    let o = run_in(d.path(), &["generate", "--customers", "20000", "--seed", "7", "--output", "c.parquet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut runs = Vec::new();
    for seed in ["1", "2", "3"] {
        let out = format!("s{seed}.parquet");
        let model = format!("m{seed}.json");
        let args = [
            "segment",
            "--input",
            "c.parquet",
            "--k",
            "6",
            "--log1p",
            "monetary,avg_basket",
            "--n-init",
            "3",
            "--seed",
            seed,
            "--device",
            "cpu",
            "--output",
            &out,
            "--model",
            &model,
        ];
        let o = run_in(d.path(), &args);
        assert!(o.status.success(), "{}", stderr(&o));
        runs.push(labels(&d.path().join(&out)));
    }
    for (i, r) in runs.iter().enumerate().skip(1) {
        let differ = r.iter().zip(&runs[0]).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "seed {} numbers {differ} customers differently from seed 1", i + 1);
    }
}

#[test]
fn segments_are_numbered_by_descending_mean_spend() {
    let d = tempfile::tempdir().unwrap();
    let o = run_in(d.path(), &["segment", "--device", "cpu", "--k", "5", "--seed", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let seg = labels(&d.path().join("custseg-out/segments.parquet"));
    let raw = read_parquet(&crate::util::root().join("data/customers_sample.parquet"));
    let m =
        arrow::compute::cast(raw.column_by_name("monetary").unwrap(), &arrow::datatypes::DataType::Float64).unwrap();
    let m = m.as_any().downcast_ref::<Float64Array>().unwrap();
    let (mut sum, mut n) = (vec![0f64; 5], vec![0f64; 5]);
    for (i, &l) in seg.iter().enumerate() {
        sum[l as usize] += m.value(i);
        n[l as usize] += 1.0;
    }
    let means: Vec<f64> = sum.iter().zip(&n).map(|(s, c)| s / c).collect();
    assert!(means.windows(2).all(|w| w[0] >= w[1]), "mean spend by segment number: {means:?}");
}

#[test]
fn a_warm_start_from_the_same_data_starts_at_the_answer() {
    let d = tempfile::tempdir().unwrap();
    let first =
        ["segment", "--device", "cpu", "--k", "6", "--log1p", "monetary", "-o", "a.parquet", "--model", "a.json"];
    assert!(run_in(d.path(), &first).status.success());
    let warm = [
        "segment",
        "--device",
        "cpu",
        "--log1p",
        "monetary",
        "--warm-start",
        "a.json",
        "-o",
        "b.parquet",
        "--model",
        "b.json",
    ];
    let o = run_in(d.path(), &warm);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(d.path().join("b.json")).unwrap()).unwrap();
    assert_eq!(m["params"]["init"], "given");
    assert_eq!(m["params"]["k"], 6, "k comes from the warm-start model");
    assert!(m["n_iter"].as_u64().unwrap() <= 2, "a warm start at a fixed point converges at once: {}", m["n_iter"]);
    let (a, b) = (labels(&d.path().join("a.parquet")), labels(&d.path().join("b.parquet")));
    // The centroids travel through original units (expm1, then log1p and the scaler again), so a customer within
    // rounding of two centres may change sides; no more than that.
    let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(differ <= a.len() / 1000, "{differ} customers changed segment after a warm start at the answer");
    let first: serde_json::Value = serde_json::from_slice(&std::fs::read(d.path().join("a.json")).unwrap()).unwrap();
    let (i0, i1) = (first["inertia"].as_f64().unwrap(), m["inertia"].as_f64().unwrap());
    assert!(i1 <= i0 * (1.0 + 1e-6), "the warm start ended worse: inertia {i1} after {i0}");
}

#[test]
fn a_warm_start_on_other_features_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let first = ["segment", "--device", "cpu", "--k", "3", "--features", "recency_days,frequency", "--model", "a.json"];
    assert!(run_in(d.path(), &first).status.success());
    let o = run_in(d.path(), &["segment", "--device", "cpu", "--warm-start", "a.json", "-o", "out/b.parquet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("--warm-start a.json was fitted on the features recency_days,frequency"), "{err}");
    assert!(err.contains("pass --features recency_days,frequency"), "{err}");
    assert!(!d.path().join("out").exists(), "no output");
}
