//! Oracle tests: the CPU K-means against numbers scikit-learn produced.
//!
//! Each fixture in `tests/fixtures/sklearn/` (made by `make_fixtures.py` there) holds a dataset whose values are
//! exact in f32, explicit initial centres, `max_iter` and `tol`, and what
//! `sklearn.cluster.KMeans(init=..., n_init=1, algorithm="lloyd")` returned in float64. From the same start we
//! must get identical labels (except points the fixture lists as exact ties), inertia within 1e-5 relative, the
//! same number of iterations, and centroids within 1e-4 (relative, or absolute below 1).

use std::path::PathBuf;

use serde_json::Value;

use custseg::backend::cpu::{sample_backend, Bounds, CpuBackend};
use custseg::kmeans::{fit, Init, KMeansParams};
use custseg::Matrix;

use crate::util::{expected_got, fixtures};

const INERTIA_REL: f64 = 1e-5;
const CENTROID_TOL: f64 = 1e-4;

/// Every fixture the script writes; `every_fixture_file_has_a_test` keeps this list and the directory in step.
const FIXTURES: &[&str] =
    &["iris", "blobs_2d", "blobs_16d", "weighted", "wide_33d_k7", "empty_cluster", "empty_two_weighted", "max_iter_3"];

fn dir() -> PathBuf {
    fixtures().join("sklearn")
}

fn load(name: &str) -> Value {
    let path = dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn field<'a>(fx: &'a Value, key: &str) -> &'a Value {
    fx.get(key).unwrap_or_else(|| panic!("fixture {} has no field `{key}`", fx["name"]))
}

fn usize_of(fx: &Value, key: &str) -> usize {
    field(fx, key).as_u64().unwrap_or_else(|| panic!("`{key}` is not an integer")) as usize
}

fn f64_of(fx: &Value, key: &str) -> f64 {
    field(fx, key).as_f64().unwrap_or_else(|| panic!("`{key}` is not a number"))
}

/// A value the fixture promises is exact in f32. The script writes each as the shortest float64 repr of the f32
/// value; serde_json's default float parser may land one float64 ulp off such a long decimal, which still rounds
/// to the intended f32 (f32 values are 2^29 float64 ulps apart). The check rejects anything farther off, so a
/// damaged fixture cannot pass silently.
fn exact_f32(v: &Value, what: &str) -> f32 {
    let x = v.as_f64().unwrap_or_else(|| panic!("{what}: not a number: {v}"));
    let y = x as f32;
    assert!(
        (y as f64 - x).abs() <= 4.0 * f64::EPSILON * x.abs(),
        "{what}: {x} is not (up to JSON parsing) a float32 value; nearest f32 is {y}"
    );
    y
}

/// A list of rows as a row-major `Matrix` (`rows × d`).
fn matrix(fx: &Value, key: &str, rows: usize, d: usize) -> Matrix {
    let list = field(fx, key).as_array().unwrap_or_else(|| panic!("`{key}` is not a list"));
    assert_eq!(list.len(), rows, "`{key}` has {} rows, expected {rows}", list.len());
    let mut data = Vec::with_capacity(rows * d);
    for (i, row) in list.iter().enumerate() {
        let row = row.as_array().unwrap_or_else(|| panic!("`{key}`[{i}] is not a list"));
        assert_eq!(row.len(), d, "`{key}`[{i}] has {} values, expected {d}", row.len());
        data.extend(row.iter().map(|v| exact_f32(v, key)));
    }
    Matrix::from_vec(data, rows, d)
}

fn f64_rows(fx: &Value, key: &str) -> Vec<Vec<f64>> {
    field(fx, key)
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` is not a list"))
        .iter()
        .map(|r| r.as_array().expect("row").iter().map(|v| v.as_f64().expect("number")).collect())
        .collect()
}

fn indices(fx: &Value, key: &str) -> Vec<usize> {
    field(fx, key).as_array().expect("list").iter().map(|v| v.as_u64().expect("index") as usize).collect()
}

/// Runs the CPU K-means from the fixture's start and compares everything with scikit-learn's result.
fn check(name: &str) {
    check_with(name, Bounds::Auto)
}

/// [`check`] with the CPU backend's Hamerly bounds as `bounds` says (the fixtures' k is below the threshold).
fn check_with(name: &str, bounds: Bounds) {
    let fx = load(name);
    let (n, d, k) = (usize_of(&fx, "n"), usize_of(&fx, "d"), usize_of(&fx, "k"));
    let max_iter = usize_of(&fx, "max_iter");
    let tol = f64_of(&fx, "tol");
    let x = matrix(&fx, "X", n, d);
    let init = matrix(&fx, "init", k, d);
    let weights: Option<Vec<f32>> = match field(&fx, "sample_weight") {
        Value::Null => None,
        v => Some(v.as_array().expect("sample_weight list").iter().map(|w| exact_f32(w, "sample_weight")).collect()),
    };
    if let Some(w) = &weights {
        assert_eq!(w.len(), n, "{name}: sample_weight length");
    }

    let params = KMeansParams::new(k).max_iter(max_iter).tol(tol).n_init(1).init(Init::Given(init)).check().unwrap();
    let mut backend = CpuBackend::new(&x, weights.as_deref()).with_bounds(bounds);
    let got = fit(&params, &x, weights.as_deref(), &mut backend, &sample_backend)
        .unwrap_or_else(|e| panic!("{name}: fit failed: {e}"));

    let mut failures: Vec<String> = Vec::new();
    let what = |s: &str| format!("[sklearn fixture `{name}`, bounds {bounds:?}] {s}");

    // Labels: identical except exact ties (the fixture lists them).
    let want_labels: Vec<u32> = indices(&fx, "labels").into_iter().map(|l| l as u32).collect();
    let ties: std::collections::HashSet<usize> = indices(&fx, "exact_ties").into_iter().collect();
    assert_eq!(want_labels.len(), n);
    if got.labels.len() != n {
        failures.push(expected_got(&what("number of labels"), n, got.labels.len()));
    } else {
        let diff: Vec<usize> = (0..n).filter(|i| !ties.contains(i) && got.labels[*i] != want_labels[*i]).collect();
        if !diff.is_empty() {
            let show: Vec<_> = diff.iter().take(12).map(|&i| (i, want_labels[i], got.labels[i])).collect();
            failures.push(expected_got(
                &what(&format!(
                    "{} of {n} labels differ ({} exact ties exempt); first (point, sklearn, custseg)",
                    diff.len(),
                    ties.len()
                )),
                show.iter().map(|&(i, e, _)| (i, e)).collect::<Vec<_>>(),
                show.iter().map(|&(i, _, g)| (i, g)).collect::<Vec<_>>(),
            ));
        }
    }

    // Inertia within 1e-5 relative.
    let want_inertia = f64_of(&fx, "inertia");
    let rel = (got.inertia - want_inertia).abs() / want_inertia.abs().max(f64::MIN_POSITIVE);
    if rel.is_nan() || rel > INERTIA_REL {
        failures.push(expected_got(
            &what(&format!("inertia (relative difference {rel:.3e} > {INERTIA_REL:e})")),
            want_inertia,
            got.inertia,
        ));
    }

    // Same number of iterations.
    let want_iter = usize_of(&fx, "n_iter");
    if got.n_iter != want_iter {
        failures.push(expected_got(&what("n_iter"), want_iter, got.n_iter));
    }

    // Stopped the same way: only a run cut off by max_iter is not converged.
    let want_converged = field(&fx, "stopped_by").as_str() != Some("max_iter");
    if got.converged != want_converged {
        failures.push(expected_got(
            &what(&format!("converged (sklearn stopped by {})", field(&fx, "stopped_by"))),
            want_converged,
            got.converged,
        ));
    }

    // Empty-cluster relocations happened as often as in sklearn.
    let want_reloc = usize_of(&fx, "empty_cluster_relocations");
    let got_reloc = got.runs.get(got.best_run).map(|r| r.empty_relocations);
    if got_reloc != Some(want_reloc) {
        failures.push(expected_got(&what("empty-cluster relocations"), Some(want_reloc), got_reloc));
    }

    // Centroids within 1e-4 (relative above 1, absolute below).
    let want_c = f64_rows(&fx, "cluster_centers");
    let mut worst_centroid = f64::NAN;
    if (got.centroids.n(), got.centroids.d()) != (k, d) {
        failures.push(expected_got(&what("centroid shape"), (k, d), (got.centroids.n(), got.centroids.d())));
    } else {
        let mut worst = (0.0f64, 0usize, 0usize);
        for (j, row) in want_c.iter().enumerate() {
            for (f, &e) in row.iter().enumerate() {
                let g = got.centroids.row(j)[f] as f64;
                let err = (g - e).abs() / e.abs().max(1.0);
                if err.is_nan() || err > worst.0 {
                    worst = (err, j, f);
                }
            }
        }
        worst_centroid = worst.0;
        if worst.0.is_nan() || worst.0 > CENTROID_TOL {
            let (_, j, f) = worst;
            failures.push(expected_got(
                &what(&format!("centroid [{j}][{f}] (scaled error {:.3e} > {CENTROID_TOL:e})", worst.0)),
                want_c[j][f],
                got.centroids.row(j)[f],
            ));
        }
    }

    eprintln!(
        "{name}: n_iter {} (sklearn {want_iter}), inertia rel diff {rel:.2e}, labels differing {}, relocations {:?}, worst centroid error {worst_centroid:.2e}",
        got.n_iter,
        (0..n.min(got.labels.len())).filter(|&i| got.labels[i] != want_labels[i]).count(),
        got_reloc
    );
    assert!(
        failures.is_empty(),
        "custseg differs from scikit-learn on fixture `{name}` (n={n}, d={d}, k={k}, max_iter={max_iter}, tol={tol}):\n{}",
        failures.join("")
    );
}

#[test]
fn every_fixture_file_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .expect("tests/fixtures/sklearn")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "{}", expected_got("sklearn fixtures on disk vs tested", &listed, &on_disk));
}

#[test]
fn fixtures_cover_the_required_cases() {
    let all: Vec<Value> = FIXTURES.iter().map(|n| load(n)).collect();
    let any = |p: &dyn Fn(&Value) -> bool| all.iter().any(p);
    assert!(any(&|f| !f["sample_weight"].is_null()), "no weighted fixture");
    assert!(any(&|f| f["d"].as_u64().unwrap() % 4 != 0), "no fixture with d not a multiple of 4");
    assert!(any(&|f| f["tol"].as_f64() == Some(0.0)), "no fixture with tol = 0");
    assert!(
        any(&|f| f["empty_cluster_relocations"].as_u64().unwrap() > 0 && f["n_distinct_labels"] == f["k"]),
        "no fixture where sklearn relocated an empty cluster"
    );
    assert!(
        any(&|f| f["stopped_by"] == "max_iter" && f["n_iter"] == f["max_iter"]),
        "no fixture stopped by max_iter before converging"
    );
    for f in &all {
        assert!(f["versions"]["sklearn"].is_string(), "{}: no sklearn version recorded", f["name"]);
    }
}

#[test]
fn matches_sklearn_on_iris() {
    check("iris");
}

#[test]
fn matches_sklearn_on_blobs_2d() {
    check("blobs_2d");
}

#[test]
fn matches_sklearn_on_blobs_16d() {
    check("blobs_16d");
}

#[test]
fn matches_sklearn_on_weighted() {
    check("weighted");
}

#[test]
fn matches_sklearn_on_wide_33d_k7() {
    check("wide_33d_k7");
}

#[test]
fn matches_sklearn_on_empty_cluster() {
    check("empty_cluster");
}

#[test]
fn matches_sklearn_on_empty_two_weighted() {
    check("empty_two_weighted");
}

#[test]
fn matches_sklearn_on_max_iter_3() {
    check("max_iter_3");
}

#[test]
fn matches_sklearn_on_every_fixture_with_bounds_forced_on() {
    for name in FIXTURES {
        check_with(name, Bounds::Always);
    }
}
