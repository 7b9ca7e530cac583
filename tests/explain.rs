//! Names, rules and the report's map: the CART against scikit-learn's trees and the principal components against
//! numpy's (fixtures by `tests/fixtures/explain/make_fixtures.py`), and `segment` run as a user would on the
//! bundled sample and on a `custseg features` file.

use std::path::Path;

use custseg::explain::cart::{self, Data};
use custseg::explain::pca::pca;
use custseg::Matrix;
use serde_json::Value;

use crate::util::{expected_got, fixtures, run_in, stderr, stdout};

fn fixture(name: &str) -> Value {
    let path = fixtures().join("explain").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// Our tree on a fixture's data, and the fixture.
fn tree_of(case: &Value) -> (cart::Tree, Vec<Vec<f32>>, Vec<u32>) {
    let rows: Vec<Vec<f64>> = case["x"].as_array().unwrap().iter().map(floats).collect();
    let d = rows[0].len();
    let columns: Vec<Vec<f32>> = (0..d).map(|f| rows.iter().map(|r| r[f] as f32).collect()).collect();
    let labels: Vec<u32> = case["y"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
    let k = case["n_classes"].as_u64().unwrap() as usize;
    let depth = case["max_depth"].as_u64().unwrap() as usize;
    let t = cart::fit(&Data { columns: &columns, labels: &labels, n_classes: k }, depth);
    (t, columns, labels)
}

fn accuracy(t: &cart::Tree, columns: &[Vec<f32>], labels: &[u32]) -> f64 {
    let hits = (0..labels.len()).filter(|&i| t.nodes[t.leaf(|f| columns[f][i] as f64)].class == labels[i]).count();
    hits as f64 / labels.len() as f64
}

/// Where no two splits tie, custseg's CART is scikit-learn's tree: the same nodes in the same order, the same
/// split features and bit-identical thresholds, the same rows in each node and the same predictions.
#[test]
fn cart_grows_scikit_learns_tree_on_data_without_ties() {
    let all = fixture("trees.json");
    for case in
        all["cases"].as_array().unwrap().iter().filter(|c| c["name"].as_str().unwrap().starts_with("continuous"))
    {
        let name = case["name"].as_str().unwrap();
        let (t, columns, labels) = tree_of(case);
        let want = case["nodes"].as_array().unwrap();
        assert_eq!(t.nodes.len(), want.len(), "{name}: node count");
        for (i, (got, w)) in t.nodes.iter().zip(want).enumerate() {
            let feature = w["feature"].as_i64().unwrap();
            match got.split {
                Some((f, thr)) => {
                    assert_eq!(f as i64, feature, "{name} node {i}: split feature");
                    assert_eq!(thr, w["threshold"].as_f64().unwrap(), "{name} node {i}: threshold");
                }
                None => assert_eq!(feature, -2, "{name} node {i}: sklearn splits here"),
            }
            assert_eq!(got.counts.iter().sum::<u64>(), w["n"].as_u64().unwrap(), "{name} node {i}: rows");
            assert_eq!(got.class as u64, w["class"].as_u64().unwrap(), "{name} node {i}: class");
        }
        let (ours, theirs) = (accuracy(&t, &columns, &labels), case["accuracy"].as_f64().unwrap());
        assert!((ours - theirs).abs() < 1e-9, "{}", expected_got(name, theirs, ours));
    }
}

/// With tied values (integer features), splits may tie and the two trees may keep different ones; their
/// fidelity must still match.
#[test]
fn cart_matches_scikit_learns_fidelity_on_integer_data() {
    let all = fixture("trees.json");
    let case = all["cases"].as_array().unwrap().iter().find(|c| c["name"] == "integer_ties").unwrap();
    let (t, columns, labels) = tree_of(case);
    let (ours, theirs) = (accuracy(&t, &columns, &labels), case["accuracy"].as_f64().unwrap());
    assert!((ours - theirs).abs() < 1e-9, "{}", expected_got("accuracy", theirs, ours));
    assert!(t.nodes.iter().all(|n| n.depth <= 3));
}

#[test]
fn principal_components_match_numpy() {
    let f = fixture("pca.json");
    let rows: Vec<Vec<f64>> = f["x"].as_array().unwrap().iter().map(floats).collect();
    let (n, d) = (rows.len(), rows[0].len());
    let x = Matrix::from_vec(rows.iter().flatten().map(|&v| v as f32).collect(), n, d);
    let p = pca(&x);
    let want: Vec<Vec<f64>> = f["components"].as_array().unwrap().iter().map(floats).collect();
    for (c, w) in p.components.iter().zip(&want) {
        for (a, b) in c.iter().zip(w) {
            assert!((a - b).abs() < 1e-6, "{}", expected_got("component", w, c));
        }
    }
    for (a, b) in p.variance.iter().zip(floats(&f["variance"])) {
        assert!((a - b).abs() < 1e-6 * b.abs().max(1.0), "{}", expected_got("variance", b, a));
    }
    assert!((p.total_variance - f["total_variance"].as_f64().unwrap()).abs() < 1e-6);
    let proj: Vec<Vec<f64>> = f["projections"].as_array().unwrap().iter().map(floats).collect();
    for (i, w) in proj.iter().enumerate() {
        let got = p.project(x.row(i));
        assert!((got[0] - w[0]).abs() < 1e-5 && (got[1] - w[1]).abs() < 1e-5, "{}", expected_got("row", w, got));
    }
}

/// Runs `segment` in `dir` with `args`, expecting success.
fn segment(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["segment"];
    all.extend(args);
    let o = run_in(dir, &all);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn segment_names_and_explains_the_bundled_sample() {
    let dir = tempfile::tempdir().unwrap();
    let out = segment(
        dir.path(),
        &[
            "--k",
            "6",
            "--log1p",
            "monetary,avg_basket",
            "--n-init",
            "3",
            "--device",
            "cpu",
            "--report",
            "r.html",
            "--profile",
            "p.json",
        ],
    );
    let model: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("custseg-out/model.json")).unwrap()).unwrap();
    let names: Vec<&str> = model["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(names.len(), 6);
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 6, "names are unique: {names:?}");
    for n in &names {
        assert!(out.contains(n), "stdout shows {n}:\n{out}");
    }
    // The planted segments: champions spend most (segment 0), and somebody has lapsed.
    assert!(names[0].contains("high spenders"), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("Lapsed")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("New")), "{names:?}");
    assert!(out.contains("rules (a depth-3 decision tree fitted on 20,000 customers"), "{out}");
    assert!(out.contains("→ segment 0 (precision"), "{out}");

    let profile: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("p.json")).unwrap()).unwrap();
    let e = &profile["explanation"];
    assert_eq!(e["names"][0]["name"].as_str(), Some(names[0]));
    let fidelity = e["rules"]["fidelity"].as_f64().unwrap();
    assert!(fidelity > 0.8, "six well-separated segments are explained by a depth-3 tree: {fidelity}");
    assert_eq!(e["settings"]["k"], 6);
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(html.contains("data-chart=\"map\"") && html.contains("Who is in each segment"));
    assert!(html.contains("How these segments were made") && html.contains("monetary, avg_basket"));
    let text = visible_text(&html);
    assert!(!has_exponent(&text), "a number with an exponent in the report:\n{text}");

    let json = segment(dir.path(), &["--k", "6", "--device", "cpu", "--json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert!(v["segments"][0]["name"].is_string());
    assert!(v["rules"]["rules"].as_array().unwrap().len() >= 2);
    assert!(v["rules"]["rules"][0]["text"].as_str().unwrap().contains("→ segment"));
}

/// The text a reader sees: the body without its tags (attributes such as colours `#4e79a7` are left out).
fn visible_text(html: &str) -> String {
    let body = &html[html.find("<body").unwrap()..];
    let mut out = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Whether `s` holds a number written with an exponent, such as `-7.062e-9` or `2.500e7`.
fn has_exponent(s: &str) -> bool {
    let b = s.as_bytes();
    (1..b.len().saturating_sub(2)).any(|i| {
        b[i] == b'e'
            && b[i - 1].is_ascii_digit()
            && (b[i + 1].is_ascii_digit() || (b[i + 1] == b'-' && b[i + 2].is_ascii_digit()))
    })
}

#[test]
fn a_features_file_gets_rfm_names_and_a_crosstab() {
    let dir = tempfile::tempdir().unwrap();
    let gen = run_in(dir.path(), &["generate", "--transactions", "40000", "--seed", "3", "--output", "tx.parquet"]);
    assert!(gen.status.success(), "{}", stderr(&gen));
    let feat = run_in(
        dir.path(),
        &["features", "--transactions", "tx.parquet", "--as-of", "2026-11-01", "--output", "f.parquet"],
    );
    assert!(feat.status.success(), "{}", stderr(&feat));
    let out = segment(
        dir.path(),
        &["--input", "f.parquet", "--k", "5", "--device", "cpu", "--report", "r.html", "--profile", "p.json"],
    );
    let profile: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("p.json")).unwrap()).unwrap();
    let e = &profile["explanation"];
    let rfm: Vec<&str> = custseg::features::rfm::SEGMENTS.iter().map(|s| s.name).collect();
    for n in e["names"].as_array().unwrap() {
        let name = n["name"].as_str().unwrap();
        let base = name.split(" (").next().unwrap();
        assert!(rfm.contains(&base), "{name} is an RFM name");
        assert!(out.contains(name), "{out}");
    }
    let c = &e["rfm_crosstab"];
    let total: u64 =
        c["counts"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap()).map(|v| v.as_u64().unwrap()).sum();
    let customers = profile["customers"].as_u64().unwrap();
    assert_eq!(total + c["unmatched"].as_u64().unwrap(), customers);
    assert_eq!(c["unmatched"], 0, "every customer of a features file has an RFM segment");
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(html.contains("Segments against the RFM segments"));
}

/// The report of a real run, names, rules, map and settings included, renders in headless Chromium with no
/// console message and every chart drawn. `CUSTSEG_EXPLAIN_SCREENSHOT=path.png` keeps a screenshot.
#[test]
fn the_full_report_renders_in_headless_chromium() {
    use crate::report::{body_attribute, chromium, run_chromium};
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    segment(
        dir.path(),
        &["--k", "6", "--log1p", "monetary,avg_basket", "--n-init", "3", "--device", "cpu", "--report", "r.html"],
    );
    let page = dir.path().join("r.html");
    let (dom, stderr) = run_chromium(&chromium, &dir.path().join("dom"), &page, &["--dump-dom".into()]);
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).collect();
    assert!(console.is_empty(), "console messages:\n{}", console.join("\n"));
    assert_eq!(body_attribute(&dom, "data-errors"), None, "window.onerror fired");
    // sizes, heatmap, the map, and one distribution per feature (8 in the bundled sample)
    let charts = (3 + 8).to_string();
    assert_eq!(body_attribute(&dom, "data-charts").as_deref(), Some(charts.as_str()));
    assert_eq!(body_attribute(&dom, "data-charts-drawn").as_deref(), Some(charts.as_str()));
    if let Ok(keep) = std::env::var("CUSTSEG_EXPLAIN_SCREENSHOT") {
        let png = dir.path().join("shot.png");
        run_chromium(
            &chromium,
            &dir.path().join("shot"),
            &page,
            &[format!("--screenshot={}", png.display()), "--window-size=1300,5200".into(), "--hide-scrollbars".into()],
        );
        std::fs::copy(&png, keep).unwrap();
    }
}
