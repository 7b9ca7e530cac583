//! `custseg features --cost/--window-days` against a pandas group-by (`tests/fixtures/margin/make_fixtures.py`),
//! its warnings, and the default `features` → `segment` path on generated logs (no segment under 1%).

use arrow::array::AsArray;
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use serde_json::Value;

use crate::util::{fixtures, read_parquet, run_in, stderr, stdout};

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("margin/expected.json")).unwrap()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn floats(b: &arrow::record_batch::RecordBatch, name: &str) -> Vec<f64> {
    let c = b.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    c.as_primitive::<Float64Type>().values().to_vec()
}

fn ints(b: &arrow::record_batch::RecordBatch, name: &str) -> Vec<i64> {
    let c = b.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    let c = arrow::compute::cast(c, &DataType::Int64).unwrap();
    c.as_primitive::<Int64Type>().values().to_vec()
}

fn floats_of(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn ints_of(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(close(*g, *w), "{what}[{i}]: expected {w}, got {g}");
    }
}

/// Runs `features` on the margin fixture with the extra `args`; returns the written table and the JSON report.
fn features(args: &[&str]) -> (arrow::record_batch::RecordBatch, Value) {
    let dir = tempfile::tempdir().unwrap();
    let log = fixtures().join("margin/log.parquet");
    let mut all = vec!["features", "--transactions", log.to_str().unwrap(), "--as-of", "2026-11-01", "-o", "f.parquet"];
    all.extend_from_slice(args);
    all.push("--json");
    let o = run_in(dir.path(), &all);
    assert!(o.status.success(), "{}", stderr(&o));
    (read_parquet(&dir.path().join("f.parquet")), serde_json::from_str(&stdout(&o)).unwrap())
}

#[test]
fn gross_margin_and_windowed_figures_match_pandas() {
    let want = expected();
    let (b, r) = features(&["--cost", "cost", "--order", "order_id", "--window-days", "90"]);
    assert_eq!(ints(&b, "customer_id"), ints_of(&want["customers"]));
    assert_close("gross_margin", &floats(&b, "gross_margin"), &floats_of(&want["gross_margin"]));
    assert_close("monetary_90d", &floats(&b, "monetary_90d"), &floats_of(&want["monetary_90d"]));
    assert_close("gross_margin_90d", &floats(&b, "gross_margin_90d"), &floats_of(&want["gross_margin_90d"]));
    assert_eq!(ints(&b, "frequency_90d"), ints_of(&want["frequency_90d_orders"]), "orders in the window");
    for k in ["null_profit_rows", "cost_above_amount_rows", "rows_used"] {
        assert_eq!(r[k], want[k], "{k}");
    }
    // Value tiers and the Pareto share are on margin.
    assert_eq!(r["rfm"]["value_basis"], "gross_margin");
    let tiers: serde_json::Map<String, Value> = r["rfm"]["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["customers"].clone()))
        .collect();
    assert_eq!(Value::Object(tiers), want["tiers_on_margin"]);
    assert!(close(r["rfm"]["pareto_share"].as_f64().unwrap(), want["pareto_on_margin"].as_f64().unwrap()));
}

#[test]
fn without_an_order_column_the_window_counts_days() {
    let want = expected();
    let (b, _) = features(&["--cost", "cost", "--window-days", "90"]);
    assert_eq!(ints(&b, "frequency_90d"), ints_of(&want["frequency_90d_days"]));
    assert_close("monetary_90d", &floats(&b, "monetary_90d"), &floats_of(&want["monetary_90d"]));
}

#[test]
fn margin_column_gives_the_same_gross_margin_and_no_cost_warning() {
    // A margin column equal to amount - cost: the same gross margin. The fixture's cost column read as a margin
    // gives sum(cost), which the oracle's figures pin through gross_margin = monetary - sum(cost).
    let (b, r) = features(&["--margin", "cost"]);
    let (c, _) = features(&["--cost", "cost"]);
    let monetary = floats(&c, "monetary");
    let via_cost = floats(&c, "gross_margin");
    let sum_cost: Vec<f64> = monetary.iter().zip(&via_cost).map(|(m, g)| m - g).collect();
    assert_close("margin column", &floats(&b, "gross_margin"), &sum_cost);
    assert!(r.get("cost_above_amount_rows").is_none(), "a margin column has no cost check");
    assert!(b.column_by_name("monetary_90d").is_none(), "no window without --window-days");
}

#[test]
fn features_warnings_are_one_line_each_and_printed() {
    let dir = tempfile::tempdir().unwrap();
    let log = fixtures().join("margin/log.parquet");
    let base = ["features", "--transactions", log.to_str().unwrap(), "-o", "f.parquet", "--cost", "cost"];
    let o = run_in(dir.path(), &[&base[..], &["--as-of", "2028-06-01"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let want = expected();
    let above = want["cost_above_amount_rows"].as_u64().unwrap();
    assert!(out.contains("warning: --as-of 2028-06-01 is "), "{out}");
    assert!(out.contains(&format!("warning: cost column 'cost': {above} of ")), "{out}");
    assert!(out.contains("value tiers (by gross margin)") && out.contains("make 80% of gross margin"), "{out}");
    let o = run_in(dir.path(), &[&base[..], &["--margin", "x", "--as-of", "2026-11-01"]].concat());
    assert_eq!(o.status.code(), Some(2), "--cost with --margin");
}

/// The smallest segment share of a default `segment` run on `features` in `dir`, for `k`.
fn smallest_share(dir: &std::path::Path, k: usize) -> f64 {
    let o = run_in(dir, &["segment", "--device", "cpu", "-i", "f.parquet", "-k", &k.to_string(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    j["segments"].as_array().unwrap().iter().map(|s| s["share"].as_f64().unwrap()).fold(1.0, f64::min)
}

#[test]
fn the_default_features_to_segment_path_leaves_no_segment_under_one_percent() {
    for seed in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let o = run_in(dir.path(), &["generate", "--transactions", "150000", "--seed", seed, "-o", "tx.parquet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run_in(
            dir.path(),
            &["features", "--transactions", "tx.parquet", "--as-of", "2026-11-01", "-o", "f.parquet"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        for k in 4..=8 {
            let s = smallest_share(dir.path(), k);
            assert!(s >= 0.01, "seed {seed}, k = {k}: a segment of {:.2}% of customers", 100.0 * s);
        }
    }
}
