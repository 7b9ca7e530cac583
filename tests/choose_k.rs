//! Choosing K: the indices against scikit-learn's on committed fixtures, `choose-k` recommending the planted K on
//! generated customers, `segment` with no flags choosing K on the bundled sample, the JSON and the HTML page, and
//! every bad-input message.

use std::collections::HashMap;
use std::path::Path;

use arrow::array::{Array, Float64Array, Int64Array, StringArray, UInt32Array};
use custseg::evaluate::{adjusted_rand_index, cluster_indices, silhouette_score};
use custseg::Matrix;

use crate::util::{adjusted_rand_index as ari_util, files_in, fixtures, read_parquet, root, run_in, stderr, stdout};

fn close(what: &str, got: f64, want: f64) {
    let rel = (got - want).abs() / want.abs().max(1e-12);
    assert!(rel <= 1e-4 || (got - want).abs() <= 1e-9, "{what}: got {got}, scikit-learn {want} (relative {rel:e})");
}

#[test]
fn indices_equal_scikit_learns_on_the_fixtures() {
    let text = std::fs::read_to_string(fixtures().join("choosek/indices.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for ds in doc["datasets"].as_array().unwrap() {
        let (n, d) = (ds["n"].as_u64().unwrap() as usize, ds["d"].as_u64().unwrap() as usize);
        let values: Vec<f32> = ds["x"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let x = Matrix::from_vec(values, n, d);
        let name = ds["name"].as_str().unwrap();
        let mut sets: HashMap<String, Vec<u32>> = HashMap::new();
        for s in ds["label_sets"].as_array().unwrap() {
            let labels: Vec<u32> = s["labels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
            let what = format!("{name}/{}", s["name"].as_str().unwrap());
            let k = *labels.iter().max().unwrap() as usize + 1;
            close(
                &format!("{what} silhouette"),
                silhouette_score(&x, &labels).unwrap(),
                s["silhouette"].as_f64().unwrap(),
            );
            let ix = cluster_indices(&x, &labels, k).unwrap();
            close(&format!("{what} davies_bouldin"), ix.davies_bouldin, s["davies_bouldin"].as_f64().unwrap());
            close(&format!("{what} calinski_harabasz"), ix.calinski_harabasz, s["calinski_harabasz"].as_f64().unwrap());
            sets.insert(s["name"].as_str().unwrap().to_string(), labels);
            checked += 3;
        }
        for p in ds["ari"].as_array().unwrap() {
            let (a, b) = (&sets[p["a"].as_str().unwrap()], &sets[p["b"].as_str().unwrap()]);
            close(
                &format!("{name} ARI {} {}", p["a"], p["b"]),
                adjusted_rand_index(a, b),
                p["value"].as_f64().unwrap(),
            );
            checked += 1;
        }
    }
    assert!(checked >= 4 * (7 * 3 + 28), "{checked} values checked");
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run_in(dir, args);
    assert!(o.status.success(), "custseg {args:?} failed:\n{}", stderr(&o));
    stdout(&o)
}

#[test]
fn choose_k_recommends_the_planted_k_on_generated_customers() {
    // Planted segments of unequal shares (e.g. 32% down to 9% for 5) and unequal spreads (data/README.md).
    let d = tempfile::tempdir().unwrap();
    for (segments, seed) in [("5", "1"), ("7", "2"), ("8", "3")] {
        let file = format!("c{segments}.parquet");
        ok(d.path(), &["generate", "--customers", "4000", "--segments", segments, "--seed", seed, "--output", &file]);
        let out = ok(
            d.path(),
            &[
                "choose-k",
                "--input",
                &file,
                "--log1p",
                "monetary,avg_basket",
                "--k",
                "2..10",
                "--sample",
                "2000",
                "--bootstrap",
                "2",
                "--device",
                "cpu",
                "--json",
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["recommended_k"].as_u64().unwrap().to_string(), segments, "{segments} planted:\n{out}");
        assert_eq!(v["rows"].as_array().unwrap().len(), 9);
    }
}

#[test]
fn choose_k_json_has_exactly_the_documented_keys_and_the_table_marks_the_choice() {
    let d = tempfile::tempdir().unwrap();
    ok(d.path(), &["generate", "--customers", "1500", "--segments", "5", "--seed", "4", "--output", "c.parquet"]);
    let args =
        ["choose-k", "--input", "c.parquet", "--log1p", "monetary,avg_basket", "--k", "3,5,6", "--device", "cpu"];
    let out = ok(d.path(), &[&args[..], &["--json", "--bootstrap", "2"]].concat());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["reason", "recommended_k", "rows"]);
    let row = v["rows"][0].as_object().unwrap();
    let mut keys: Vec<&str> = row.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["calinski_harabasz", "davies_bouldin", "inertia", "k", "min_share", "silhouette", "stability"]);
    let ks: Vec<u64> = v["rows"].as_array().unwrap().iter().map(|r| r["k"].as_u64().unwrap()).collect();
    assert_eq!(ks, [3, 5, 6]);
    for r in v["rows"].as_array().unwrap() {
        let s = r["silhouette"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&s) && r["stability"].as_f64().unwrap() <= 1.0 + 1e-12, "{r}");
    }
    assert!(v["reason"].as_str().unwrap().contains("silhouette"), "{v}");

    let table = ok(d.path(), &[&args[..], &["--bootstrap", "0", "--report", "k.html"]].concat());
    assert!(table.contains("<- recommended"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("chosen k = ")), "{table}");
    let html = std::fs::read_to_string(d.path().join("k.html")).unwrap();
    assert_eq!(html.matches("data-chart=\"choose-k-").count(), 6);
    assert_eq!(files_in(d.path()), ["c.parquet", "k.html"], "no temporaries");
}

/// Runs `args` in `dir`, expecting exit code 2 and one line on stderr that holds every needle.
fn usage_error(dir: &Path, args: &[&str], needles: &[&str]) {
    let o = run_in(dir, args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: exit code; stderr:\n{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "{args:?}: one error line:\n{err}");
    for n in needles {
        assert!(lines[0].contains(n), "{args:?}: '{n}' not in: {}", lines[0]);
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_ranges_samples_and_too_few_distinct_rows_are_one_line_usage_errors() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("tiny.parquet");
    // 6 rows, 4 distinct.
    let spend = Float64Array::from(vec![1.0, 2.0, 3.0, 4.0, 4.0, 4.0]);
    crate::util::write_parquet(
        &p,
        vec![
            ("customer_id", std::sync::Arc::new(Int64Array::from((1..=6).collect::<Vec<i64>>())) as _),
            ("spend", std::sync::Arc::new(spend) as _),
        ],
    );
    let input = p.to_str().unwrap();
    usage_error(d.path(), &["choose-k", "--input", input, "--k", "6..3"], &["--k 6..3", "empty"]);
    usage_error(d.path(), &["choose-k", "--input", input, "--k", "1..4"], &["--k 1..4", "below 2"]);
    usage_error(d.path(), &["choose-k", "--input", input, "--k", "2..x"], &["'x' is not a whole number"]);
    usage_error(d.path(), &["choose-k", "--input", input, "--sample", "0"], &["--sample 0"]);
    usage_error(d.path(), &["choose-k", "--input", input, "--bootstrap", "1"], &["--bootstrap 1"]);
    usage_error(d.path(), &["choose-k", "--input", input, "--min-segment-share", "1.5"], &["--min-segment-share 1.5"]);
    usage_error(
        d.path(),
        &["choose-k", "--input", input, "--k", "2..6", "--device", "cpu", "--report", "r.html"],
        &["--k 2..6", "k = 6", "tiny.parquet", "only 4 distinct rows", "lower the largest k to 4"],
    );
    usage_error(
        d.path(),
        &["segment", "--input", input, "--device", "cpu", "--k-range", "2..5"],
        &["--k-range 2..5", "only 4 distinct rows"],
    );
    usage_error(
        d.path(),
        &["segment", "--input", input, "--k", "3", "--k-range", "2..5"],
        &["--k-range 2..5", "only with --k auto"],
    );
    usage_error(d.path(), &["segment", "--input", input, "--k-range", "0..5"], &["--k-range 0..5", "below 2"]);
    usage_error(d.path(), &["segment", "--input", input, "--k", "auto", "--sample", "0"], &["--sample 0"]);
    assert_eq!(files_in(d.path()), ["tiny.parquet"], "nothing written by a refused run");
}

#[test]
fn a_k_whose_fit_fails_keeps_its_row_and_the_others_still_run() {
    // 9 distinct values: three groups of two values ten times each, and three values once. k = 9 fits the data,
    // but a bootstrap resample that misses one of the single values has fewer than 9 distinct rows.
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("grid.parquet");
    let mut spend: Vec<f64> = (0..60).map(|i| ((i % 3) * 100 + (i / 3) % 2) as f64).collect();
    spend.extend([50.0, 150.0, 250.0]);
    crate::util::write_parquet(
        &p,
        vec![
            ("customer_id", std::sync::Arc::new(Int64Array::from((1..=63).collect::<Vec<i64>>())) as _),
            ("spend", std::sync::Arc::new(Float64Array::from(spend)) as _),
        ],
    );
    let input = p.to_str().unwrap();
    let out = ok(d.path(), &["choose-k", "--input", input, "--k", "2,3,9", "--device", "cpu", "--bootstrap", "3"]);
    let row9 = out.lines().find(|l| l.trim_start().starts_with("9 ")).unwrap_or_else(|| panic!("{out}"));
    assert!(row9.contains("failed: bootstrap resample") && row9.contains("distinct rows"), "{out}");
    assert!(out.contains("chosen k = 3"), "{out}");
}

#[test]
fn the_choose_k_page_renders_in_headless_chromium_without_errors() {
    let Some(chromium) = crate::report::chromium() else { return };
    let d = tempfile::tempdir().unwrap();
    ok(d.path(), &["generate", "--customers", "1500", "--segments", "5", "--seed", "4", "--output", "c.parquet"]);
    ok(
        d.path(),
        &[
            "choose-k",
            "--input",
            "c.parquet",
            "--k",
            "2..7",
            "--device",
            "cpu",
            "--bootstrap",
            "2",
            "--report",
            "k.html",
        ],
    );
    let page = d.path().join("k.html");
    let (dom, err) =
        crate::report::run_chromium(&chromium, &d.path().join("chromium-dom"), &page, &["--dump-dom".into()]);
    let console: Vec<&str> = err.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).collect();
    assert!(console.is_empty(), "console messages:\n{}", console.join("\n"));
    assert_eq!(crate::report::body_attribute(&dom, "data-errors"), None, "window.onerror fired:\n{dom}");
    assert_eq!(crate::report::body_attribute(&dom, "data-charts-drawn").as_deref(), Some("6"), "every chart drawn");
}

/// The planted segment of each customer of the bundled sample, by customer ID.
fn planted() -> HashMap<i64, String> {
    let b = read_parquet(&root().join("data/customers_sample.parquet"));
    let ids = b.column_by_name("customer_id").unwrap().as_any().downcast_ref::<Int64Array>().unwrap();
    let seg = b.column_by_name("planted_segment").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
    (0..b.num_rows()).map(|i| (ids.value(i), seg.value(i).to_string())).collect()
}

#[test]
fn segment_with_no_flags_chooses_k_on_the_bundled_sample_and_finds_the_planted_segments() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(d.path(), &["segment", "--json", "--report", "r.html"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["k"], 6, "{}", v["k_choice"]);
    assert_eq!(v["k_choice"]["recommended_k"], 6);
    assert_eq!(v["k_choice"]["rows"].as_array().unwrap().len(), 11, "2..12");
    let seg = read_parquet(&d.path().join("custseg-out/segments.parquet"));
    let ids = seg.column_by_name("customer_id").unwrap().as_any().downcast_ref::<Int64Array>().unwrap();
    let labels = seg.column_by_name("segment").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap();
    let truth = planted();
    let mut names: HashMap<&str, u32> = HashMap::new();
    let planted: Vec<u32> = (0..ids.len())
        .map(|i| {
            let next = names.len() as u32;
            *names.entry(truth[&ids.value(i)].as_str()).or_insert(next)
        })
        .collect();
    let ari = ari_util(&planted, labels.values());
    assert!(ari >= 0.95, "ARI {ari} against the planted segments");
    let html = std::fs::read_to_string(d.path().join("r.html")).unwrap();
    assert!(html.contains("id=\"choose-k\"") && html.matches("data-chart=\"choose-k-").count() == 6);

    let table = ok(d.path(), &["segment", "--device", "cpu", "--k-range", "5..7", "--bootstrap", "0"]);
    assert!(table.contains("chosen k = 6: k = 6 has the best silhouette"), "{table}");
    assert!(table.contains("  (k from 5..7; silhouette on 20,000 rows on the CPU)"), "{table}");
}
