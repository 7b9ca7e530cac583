//! Categorical, profiled and kept columns (`--categorical`, `--profile-by`, `--keep`).
//!
//! The oracle: `tests/fixtures/categorical/make_fixtures.py` encodes a table with pandas (`get_dummies` and the
//! weighting of docs/CATEGORICAL.md) and clusters it with scikit-learn from explicit initial rows; the library's
//! encoding must give the same matrix and the CPU K-means the same labels. The end-to-end tests drive the binary
//! on the fixture's retail table (string IDs, region, gender, an opt-in flag, spend with returns, missing ages).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{Float32Type, UInt32Type};
use serde_json::Value;

use custseg::backend::cpu::{sample_backend, CpuBackend};
use custseg::io::named::read_columns;
use custseg::io::{read_features, ReadOptions};
use custseg::kmeans::{fit, Init, KMeansParams};
use custseg::prep::categorical::{append_blocks, scaled_one};
use custseg::prep::{CategoricalColumn, LevelRules, ScaleMethod, Scaler};
use custseg::Matrix;

use crate::util::{expected_got, fixtures, read_parquet, run_in, stderr, stdout};

fn dir() -> PathBuf {
    fixtures().join("categorical")
}

fn retail() -> String {
    dir().join("retail.parquet").display().to_string()
}

fn oracle_fixture() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("oracle.json")).unwrap()).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

#[test]
fn the_encoding_and_the_fit_match_pandas_and_scikit_learn() {
    let fx = oracle_fixture();
    let path = dir().join("oracle.parquet");
    let numeric = strings(&fx["numeric"]);
    let read = ReadOptions { id_column: "id".into(), features: Some(numeric.clone()), ..ReadOptions::default() };
    let mut table = read_features(std::slice::from_ref(&path), &read).unwrap();
    let mut names = table.feature_names.clone();
    let mut scaler = Scaler::fit_transform(&mut table.x, &names, ScaleMethod::Zscore, &[]).unwrap();
    let rules = LevelRules {
        min_level_share: fx["min_level_share"].as_f64().unwrap(),
        weight: fx["categorical_weight"].as_f64().unwrap(),
        ..LevelRules::default()
    };
    let columns: Vec<String> =
        fx["variables"].as_array().unwrap().iter().map(|v| v["column"].as_str().unwrap().into()).collect();
    let arrays = read_columns(std::slice::from_ref(&path), &columns, 64, &[]).unwrap();
    let (mut vars, mut codes) = (Vec::new(), Vec::new());
    for ((c, a), want) in columns.iter().zip(&arrays).zip(fx["variables"].as_array().unwrap()) {
        let (var, code) = CategoricalColumn::fit(c, a, &rules, "oracle.parquet").unwrap();
        assert_eq!(var.levels, strings(&want["levels"]), "{c}: levels and their order");
        for (g, w) in var.shares.iter().zip(want["shares"].as_array().unwrap()) {
            assert!((g - w.as_f64().unwrap()).abs() < 1e-12, "{c}: share {g} against pandas {w}");
        }
        let f = want["factor"].as_f64().unwrap();
        assert!((var.factor - f).abs() < 1e-12 * f, "{}", expected_got(&format!("{c}: factor"), f, var.factor));
        scaler.columns.extend(var.column_scales());
        names.extend(var.encoded_names());
        vars.push(var);
        codes.push(code);
    }
    assert_eq!(names, strings(&fx["columns"]), "the encoded columns, in order");
    let on: Vec<f32> = vars.iter().map(scaled_one).collect();
    let x = append_blocks(&table.x, &vars, &codes, &on);
    let want = fx["encoded"].as_array().unwrap();
    assert_eq!((x.n(), x.d()), (want.len(), names.len()));
    let mut worst = 0.0f64;
    for (i, row) in want.iter().enumerate() {
        for (j, w) in row.as_array().unwrap().iter().enumerate() {
            worst = worst.max((x.row(i)[j] as f64 - w.as_f64().unwrap()).abs());
        }
    }
    assert!(worst < 1e-5, "the encoded matrix differs from pandas' by up to {worst}");

    // K-means from the same rows: the same partition, inertia and iterations as scikit-learn.
    let k = fx["k"].as_u64().unwrap() as usize;
    let rows: Vec<usize> = fx["init_rows"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let init = Matrix::from_vec(rows.iter().flat_map(|&r| x.row(r).to_vec()).collect(), k, x.d());
    let params = KMeansParams::new(k).tol(1e-4).n_init(1).init(Init::Given(init)).check().unwrap();
    let mut backend = CpuBackend::new(&x, None);
    let got = fit(&params, &x, None, &mut backend, &sample_backend).unwrap();
    let labels: Vec<u32> = fx["labels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
    assert_eq!(got.labels, labels, "labels against scikit-learn");
    let inertia = fx["inertia"].as_f64().unwrap();
    assert!((got.inertia - inertia).abs() < 1e-5 * inertia, "{}", expected_got("inertia", inertia, got.inertia));
    assert_eq!(got.n_iter, fx["n_iter"].as_u64().unwrap() as usize);
    for (j, c) in fx["centres"].as_array().unwrap().iter().enumerate() {
        for (f, v) in c.as_array().unwrap().iter().enumerate() {
            let (g, w) = (got.centroids.row(j)[f] as f64, v.as_f64().unwrap());
            assert!((g - w).abs() < 1e-4 * w.abs().max(1.0), "centre [{j}][{f}]: {g} against {w}");
        }
    }
}

/// The columns of a segments file, by name.
fn column(path: &Path, name: &str) -> ArrayRef {
    let b = read_parquet(path);
    b.column_by_name(name).unwrap_or_else(|| panic!("{} has no column {name}", path.display())).clone()
}

const SEGMENT: &[&str] = &["--features", "recency_days,orders,spend", "--categorical", "region,gender", "--k", "4"];

#[test]
fn segment_clusters_on_categorical_columns_and_assign_reproduces_it() {
    let tmp = tempfile::tempdir().unwrap();
    let input = retail();
    let mut args = vec!["segment", "--input", &input, "--seed", "3", "-o", "seg.parquet", "--model", "model.json"];
    args.extend(SEGMENT);
    args.extend(["--profile", "profile.json", "--report", "report.html"]);
    args.extend(["--profile-by", "age,email_optin,store", "--keep", "region,email_optin"]);
    let o = run_in(tmp.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);

    // The model holds the levels: Islands (0.25%) merged into other, nulls a level, gender's literal "other" kept.
    let model: Value = serde_json::from_str(&std::fs::read_to_string(tmp.path().join("model.json")).unwrap()).unwrap();
    let cat = model["categorical"].as_array().unwrap();
    assert_eq!(cat.len(), 2);
    let region = strings(&cat[0]["levels"]);
    assert_eq!(region.len(), 7, "{region:?}");
    assert_eq!(&region[5..], ["other", "missing"]);
    for r in ["North", "South", "East", "West", "Central"] {
        assert!(region.contains(&r.to_string()), "{region:?}");
    }
    assert!(!region.contains(&"Islands".to_string()));
    let gender = strings(&cat[1]["levels"]);
    assert_eq!(gender, ["F", "M", "other", "missing"]);
    let features = strings(&model["features"]);
    assert_eq!(features.len(), 3 + 7 + 4);
    assert_eq!(features[3], format!("region={}", region[0]));
    assert_eq!(features.last().unwrap(), "gender=missing");
    // A centroid in original units holds each level's share in the segment: a block sums to 1.
    for c in model["centroids"].as_array().unwrap() {
        let s: f64 = c.as_array().unwrap()[3..10].iter().map(|v| v.as_f64().unwrap()).sum();
        assert!((s - 1.0).abs() < 1e-4, "region shares of a centroid sum to {s}");
    }

    // Stdout: the level shares in words, and no indicator in the centroid table.
    assert!(out.contains("region (clustered on): share of each segment"), "{out}");
    assert!(out.contains("% of segment ") && out.contains("% overall, index "), "{out}");
    assert!(out.contains("store (profiled)") && out.contains("age (profiled): mean and median"), "{out}");
    assert!(!out.contains("region=North"), "{out}");

    // Profiles: level shares per segment that add up, with indexes against the whole base.
    let p: Value = serde_json::from_str(&std::fs::read_to_string(tmp.path().join("profile.json")).unwrap()).unwrap();
    let levels = p["columns"]["levels"].as_array().unwrap();
    let names: Vec<&str> = levels.iter().map(|l| l["column"].as_str().unwrap()).collect();
    assert_eq!(names, ["region", "gender", "email_optin", "store"]);
    assert_eq!(levels[0]["clustered"], true);
    assert_eq!(levels[2]["clustered"], false);
    let sizes: Vec<f64> = p["segments"].as_array().unwrap().iter().map(|s| s["size"].as_f64().unwrap()).collect();
    for l in levels {
        for j in 0..4 {
            let s: f64 = l["levels"].as_array().unwrap().iter().map(|v| v["shares"][j].as_f64().unwrap()).sum();
            assert!((s - 1.0).abs() < 1e-9, "{}: shares of segment {j} sum to {s}", l["column"]);
        }
        for v in l["levels"].as_array().unwrap() {
            let back: f64 = (0..4).map(|j| v["shares"][j].as_f64().unwrap() * sizes[j]).sum::<f64>() / 2400.0;
            assert!((back - v["overall"].as_f64().unwrap()).abs() < 1e-9, "size-weighted shares give the overall");
        }
    }
    let age = &p["columns"]["numeric"][0];
    assert_eq!(age["column"], "age");
    assert!(age["missing"].as_u64().unwrap() > 150, "{age}");
    assert_eq!(p["segments"][0]["features"].as_array().unwrap().len(), 3, "indicators are not numeric features");
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("Categorical and profiled columns") && html.contains("data-chart=\"levels\""));

    // The segments file keeps region and the flag beside the ID.
    let seg = tmp.path().join("seg.parquet");
    let schema: Vec<String> = read_parquet(&seg).schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(schema, ["customer_id", "region", "email_optin", "segment", "distance"]);
    let kept = column(&seg, "region");
    let source = read_parquet(&dir().join("retail.parquet"));
    assert_eq!(kept.as_string::<i32>(), source.column_by_name("region").unwrap().as_string::<i32>());

    // assign with the model gives every customer the same segment and distance; with the same --keep, the same
    // file to the byte.
    let keep = ["--keep", "region,email_optin", "-o", "kept.parquet"];
    let o = run_in(tmp.path(), &[&["assign", "--model", "model.json", "--input", &input][..], &keep].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(tmp.path().join("kept.parquet")).unwrap() == std::fs::read(&seg).unwrap());
    let o = run_in(tmp.path(), &["assign", "--model", "model.json", "--input", &input, "-o", "assigned.parquet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let assigned = tmp.path().join("assigned.parquet");
    assert_eq!(column(&assigned, "customer_id").as_string::<i32>(), column(&seg, "customer_id").as_string::<i32>());
    assert_eq!(
        column(&assigned, "segment").as_primitive::<UInt32Type>(),
        column(&seg, "segment").as_primitive::<UInt32Type>()
    );
    assert_eq!(
        column(&assigned, "distance").as_primitive::<Float32Type>(),
        column(&seg, "distance").as_primitive::<Float32Type>()
    );
}

#[test]
fn without_keep_assign_writes_segments_file_to_the_byte_and_json_has_the_levels() {
    let tmp = tempfile::tempdir().unwrap();
    let input = retail();
    let mut args = vec!["segment", "--input", &input, "-o", "seg.parquet", "--model", "model.json", "--json"];
    args.extend(SEGMENT);
    let o = run_in(tmp.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let region = &v["columns"]["levels"][0];
    assert_eq!(region["column"], "region");
    assert_eq!(region["levels"][0]["shares"].as_array().unwrap().len(), 4);
    let o = run_in(tmp.path(), &["assign", "--model", "model.json", "--input", &input, "-o", "assigned.parquet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (a, b) = (
        std::fs::read(tmp.path().join("seg.parquet")).unwrap(),
        std::fs::read(tmp.path().join("assigned.parquet")).unwrap(),
    );
    assert!(a == b, "assign on the training data writes segment's file to the byte");
}

#[test]
fn assign_sends_unseen_levels_to_other_and_nulls_to_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let input = retail();
    let mut args = vec!["segment", "--input", &input, "-o", "seg.parquet", "--model", "model.json"];
    args.extend(SEGMENT);
    assert!(run_in(tmp.path(), &args).status.success());
    let new = tmp.path().join("new.parquet");
    let ids: ArrayRef = Arc::new(StringArray::from(vec!["n1", "n2", "n3"]));
    crate::util::write_parquet(
        &new,
        vec![
            ("customer_id", ids),
            ("recency_days", Arc::new(Int32Array::from(vec![10, 200, 30]))),
            ("orders", Arc::new(Int64Array::from(vec![3, 1, 12]))),
            ("spend", Arc::new(Float64Array::from(vec![80.0, -20.0, 2000.0]))),
            ("region", Arc::new(StringArray::from(vec![Some("Atlantis"), None, Some("North")]))),
            ("gender", Arc::new(StringArray::from(vec![Some("F"), Some("X"), None]))),
        ],
    );
    let o = run_in(tmp.path(), &["assign", "--model", "model.json", "--input", "new.parquet", "-o", "a.parquet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("'region': 1 customers with a value that is not a level of the model, scored as 'other'"),
        "{err}"
    );
    // The scoring by hand: each row's raw features through the model's scaler, the nearest centroid.
    let model = custseg::model::Model::load(&tmp.path().join("model.json")).unwrap();
    let level = |v: usize, l: &str| model.categorical[v].levels.iter().position(|x| x == l).unwrap();
    let rows: [(&[f32; 3], &str, &str); 3] = [
        (&[10.0, 3.0, 80.0], "other", "F"),
        (&[200.0, 1.0, -20.0], "missing", "other"),
        (&[30.0, 12.0, 2000.0], "North", "missing"),
    ];
    let d = model.features.len();
    let mut raw = Matrix::zeros(3, d);
    for (i, (num, r, g)) in rows.iter().enumerate() {
        raw.row_mut(i)[..3].copy_from_slice(&num[..]);
        raw.row_mut(i)[3 + level(0, r)] = 1.0;
        raw.row_mut(i)[3 + model.categorical[0].levels.len() + level(1, g)] = 1.0;
    }
    let (labels, _) = model.predict(raw).unwrap();
    let got: Vec<u32> = column(&tmp.path().join("a.parquet"), "segment").as_primitive::<UInt32Type>().values().to_vec();
    assert_eq!(got, labels);
}

/// Runs `segment` on the retail table with `extra` and expects an error of one line containing `parts`, exit
/// `code` (2: usage), and no output file.
fn refused(extra: &[&str], code: i32, parts: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let input = retail();
    let mut args = vec!["segment", "--input", &input, "-o", "out/seg.parquet", "--model", "out/model.json"];
    args.extend(extra);
    let o = run_in(tmp.path(), &args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{extra:?}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    for p in parts {
        assert!(lines[0].contains(p), "expected {p:?} in: {}", lines[0]);
    }
    assert!(!tmp.path().join("out").exists() || crate::util::files_in(&tmp.path().join("out")).is_empty());
}

#[test]
fn bad_categorical_flags_and_columns_are_one_line_usage_errors() {
    let feats = ["--features", "recency_days,orders"];
    let with = |more: &[&'static str]| -> Vec<&'static str> { feats.iter().chain(more).copied().collect() };
    refused(&with(&["--categorical", "spend"]), 2, &["retail.parquet", "'spend'", "Float64", "--features spend"]);
    refused(
        &with(&["--categorical", "store", "--max-levels", "10"]),
        2,
        &["retail.parquet", "'store'", "30 levels", "--max-levels 10", "--profile-by store"],
    );
    // A column that is not there is a data error (exit 1), as for --features.
    refused(&with(&["--categorical", "postcode"]), 1, &["retail.parquet", "no column 'postcode'"]);
    refused(&["--features", "orders,region", "--categorical", "region"], 2, &["both --features and --categorical"]);
    refused(&with(&["--categorical", "region", "--min-level-share", "1.5"]), 2, &["--min-level-share"]);
    refused(&with(&["--categorical", "region", "--categorical-weight=-1"]), 2, &["--categorical-weight"]);
    refused(&with(&["--profile-by", "customer_id"]), 2, &["--profile-by", "id column"]);
}

#[test]
fn integer_coded_and_boolean_columns_are_categorical_and_left_out_of_the_default_selection() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("t.parquet");
    let n = 400;
    crate::util::write_parquet(
        &data,
        vec![
            ("customer_id", Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())) as ArrayRef),
            ("spend", Arc::new(Float64Array::from((0..n).map(|i| (i % 17) as f64).collect::<Vec<_>>()))),
            ("store_code", Arc::new(Int32Array::from((0..n).map(|i| (i % 3) * 10).collect::<Vec<_>>()))),
            ("optin", Arc::new(BooleanArray::from((0..n).map(|i| i % 4 == 0).collect::<Vec<_>>()))),
        ],
    );
    let o = run_in(tmp.path(), &["segment", "--input", "t.parquet", "--categorical", "store_code,optin", "--k", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("custseg-out/model.json")).unwrap()).unwrap();
    assert_eq!(
        strings(&m["features"]),
        ["spend", "store_code=0", "store_code=10", "store_code=20", "optin=false", "optin=true"]
    );
}

#[test]
fn the_report_with_level_shares_renders_in_headless_chromium_without_errors() {
    use crate::report::{body_attribute, chromium, run_chromium};
    let Some(chromium) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let input = retail();
    let mut args =
        vec!["segment", "--input", &input, "--report", "report.html", "--profile-by", "age,email_optin,store"];
    args.extend(SEGMENT);
    let o = run_in(tmp.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = tmp.path().join("report.html");
    let (dom, err) = run_chromium(&chromium, &tmp.path().join("chromium-dom"), &page, &["--dump-dom".into()]);
    let console: Vec<&str> = err.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).collect();
    assert!(console.is_empty(), "console messages:\n{}", console.join("\n"));
    assert_eq!(body_attribute(&dom, "data-errors"), None, "window.onerror fired");
    // The sizes chart, the heatmap, the map of the segments, 3 distributions, and one level chart per text column
    // (region, gender, email_optin, store).
    let charts = (3 + 3 + 4).to_string();
    assert_eq!(body_attribute(&dom, "data-charts").as_deref(), Some(charts.as_str()));
    assert_eq!(body_attribute(&dom, "data-charts-drawn").as_deref(), Some(charts.as_str()), "every chart has marks");
    assert!(dom.contains("% of segment") && dom.contains("against"), "the level sentences are on the page");
    let png = tmp.path().join("report.png");
    run_chromium(
        &chromium,
        &tmp.path().join("chromium-shot"),
        &page,
        &[format!("--screenshot={}", png.display()), "--window-size=1300,2400".into(), "--hide-scrollbars".into()],
    );
    assert!(std::fs::read(&png).unwrap().len() > 40_000, "the screenshot is not blank");
    if let Ok(keep) = std::env::var("CUSTSEG_CATEGORICAL_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
        std::fs::copy(&page, format!("{}.html", std::env::var("CUSTSEG_CATEGORICAL_SCREENSHOT").unwrap())).unwrap();
    }
}

#[test]
fn a_csv_file_and_its_parquet_twin_give_the_same_levels_and_segments() {
    // pandas wrote both (tests/fixtures/tables/make_tables.py): the same table as CSV and as Parquet.
    let tables = fixtures().join("tables");
    let tmp = tempfile::tempdir().unwrap();
    let run = |input: &Path, tag: &str| -> Value {
        let (seg, model) = (format!("{tag}.parquet"), format!("{tag}.json"));
        let input = input.display().to_string();
        let o = run_in(
            tmp.path(),
            &[
                "segment",
                "--input",
                &input,
                "--features",
                "net_spend,visits,tenure_days",
                "--categorical",
                "region,gender,opt_in",
                "--profile-by",
                "age",
                "--keep",
                "region",
                "--k",
                "3",
                "--seed",
                "1",
                "-o",
                &seg,
                "--model",
                &model,
                "--json",
            ],
        );
        assert!(o.status.success(), "{tag}: {}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    let from_csv = run(&tables.join("retail.csv"), "csv");
    let from_parquet = run(&tables.join("retail.parquet"), "parquet");
    assert_eq!(from_csv["features"], from_parquet["features"]);
    assert!(strings(&from_csv["features"]).contains(&"opt_in=true".to_string()), "{}", from_csv["features"]);
    assert_eq!(from_csv["columns"], from_parquet["columns"], "level shares and the profiled age");
    let labels = |tag: &str| column(&tmp.path().join(format!("{tag}.parquet")), "segment");
    assert_eq!(labels("csv").as_primitive::<UInt32Type>(), labels("parquet").as_primitive::<UInt32Type>());
    let kept = column(&tmp.path().join("csv.parquet"), "region");
    assert_eq!(kept.len(), 400);
    assert!(kept.as_string::<i32>().iter().all(|v| v.is_some_and(|s| ["North", "South", "East", "West"].contains(&s))));
}

#[test]
fn choose_k_clusters_on_the_categorical_columns_as_segment_does() {
    let tmp = tempfile::tempdir().unwrap();
    let input = retail();
    let common = ["--features", "recency_days,orders,spend", "--categorical", "region,gender", "--seed", "3"];
    let mut args = vec!["choose-k", "--input", &input, "--k", "3..5", "--n-init", "2", "--bootstrap", "2"];
    args.extend(common);
    let o = run_in(tmp.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("2,400 customers, 3 features and 2 categorical columns (11 levels), k = 3..5"));
    args.push("--json");
    let chosen: Value = serde_json::from_str(&stdout(&run_in(tmp.path(), &args))).unwrap();
    // K = 4's fit is segment's fit with the same flags: the same inertia.
    let mut seg = vec!["segment", "--input", &input, "--k", "4", "--n-init", "2", "--json"];
    seg.extend(common);
    let o = run_in(tmp.path(), &seg);
    assert!(o.status.success(), "{}", stderr(&o));
    let fitted: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let row = chosen["rows"].as_array().unwrap().iter().find(|r| r["k"] == 4).unwrap();
    let (a, b) = (row["inertia"].as_f64().unwrap(), fitted["inertia"].as_f64().unwrap());
    assert!((a - b).abs() <= 1e-9 * b, "{}", expected_got("choose-k's inertia at k = 4", b, a));
    // A float column is refused before any row is read, as segment refuses it.
    let o = run_in(tmp.path(), &["choose-k", "--input", &input, "--categorical", "spend"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--categorical column 'spend' has type Float64"), "{}", stderr(&o));
}
