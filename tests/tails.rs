//! Heavy tails, returns, `--missing` counts and small-segment warnings in `custseg segment`, driven through the
//! binary on the fixture of `tests/fixtures/tails/make_fixtures.py` (clipping limits from NumPy).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{fixtures, run_in, stderr, stdout};

fn heavy() -> PathBuf {
    fixtures().join("tails/heavy.parquet")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("tails/expected.json")).unwrap()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Runs `segment` on the heavy fixture in `dir` with `args` (CPU, outputs in `dir`).
fn segment(dir: &Path, args: &[&str]) -> std::process::Output {
    let input = heavy();
    let mut all = vec!["segment", "--device", "cpu", "-i", input.to_str().unwrap()];
    all.extend_from_slice(args);
    run_in(dir, &all)
}

fn model(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("custseg-out/model.json")).unwrap()).unwrap()
}

fn column<'a>(m: &'a Value, name: &str) -> &'a Value {
    m["scaler"]["columns"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()
}

#[test]
fn log1p_on_returns_fails_with_the_file_the_count_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let o = segment(dir.path(), &["--features", "spend,visits", "--log1p", "spend", "-k", "3"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    let want = expected()["spend_at_or_below_minus_one"].as_u64().unwrap();
    assert_eq!(e.lines().filter(|l| l.starts_with("error:")).count(), 1, "{e}");
    for part in [
        "heavy.parquet".to_string(),
        format!("column 'spend' has {want} values <= -1"),
        "use --signed-log spend".into(),
    ] {
        assert!(e.contains(&part), "missing {part:?} in {e}");
    }
    assert!(!dir.path().join("custseg-out").exists(), "no output after the error");
}

#[test]
fn clip_limits_are_numpys_quantiles_and_assign_applies_them() {
    let dir = tempfile::tempdir().unwrap();
    let o = segment(
        dir.path(),
        &[
            "--features",
            "spend,visits",
            "--clip",
            "spend",
            "--clip-quantiles",
            "1,99",
            "--signed-log",
            "spend",
            "-k",
            "4",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let m = model(dir.path());
    let spend = column(&m, "spend");
    let want = expected()["spend_p1_p99"].clone();
    let (lo, hi) = (spend["clip"][0].as_f64().unwrap(), spend["clip"][1].as_f64().unwrap());
    assert!(close(lo, want[0].as_f64().unwrap()) && close(hi, want[1].as_f64().unwrap()), "{spend} vs {want}");
    assert_eq!(spend["signed_log"], true);
    assert!(column(&m, "visits").get("clip").is_none(), "only --clip columns are clipped");
    // Every centroid lies within the limits, in original units.
    for c in m["centroids"].as_array().unwrap() {
        let v = c[0].as_f64().unwrap();
        assert!(lo - 1e-6 * lo.abs() <= v && v <= hi * (1.0 + 1e-6), "{v} outside [{lo}, {hi}]");
    }
    // Scoring the training data with the model reproduces the segments file: clipping and the signed log are
    // applied again.
    let input = heavy();
    let o = run_in(
        dir.path(),
        &[
            "assign",
            "--device",
            "cpu",
            "--model",
            "custseg-out/model.json",
            "-i",
            input.to_str().unwrap(),
            "-o",
            "scored.parquet",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let a = std::fs::read(dir.path().join("scored.parquet")).unwrap();
    let b = std::fs::read(dir.path().join("custseg-out/segments.parquet")).unwrap();
    assert!(a == b, "assign on the training data differs from segment's file");
}

#[test]
fn signed_log_profiles_report_original_units() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--features",
        "spend,visits",
        "--signed-log",
        "spend",
        "-k",
        "4",
        "--profile",
        "p.json",
        "--money-column",
        "spend",
    ];
    let o = segment(dir.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let p: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("p.json")).unwrap()).unwrap();
    let mean = p["overall"][0]["mean"].as_f64().unwrap();
    let want = expected()["spend_mean"].as_f64().unwrap();
    assert!((mean - want).abs() <= 1e-4 * want.abs(), "mean spend {mean}, NumPy {want}");
    let shares: f64 =
        p["segments"].as_array().unwrap().iter().map(|s| s["revenue_share"].as_f64().unwrap_or(0.0)).sum();
    assert!((shares - 1.0).abs() < 1e-6, "revenue shares sum to {shares}");
}

#[test]
fn the_default_clip_quantiles_are_half_a_percent() {
    let dir = tempfile::tempdir().unwrap();
    let o = segment(dir.path(), &["--features", "spend,visits", "--clip", "spend", "-k", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let spend = column(&model(dir.path()), "spend").clone();
    let want = expected()["spend_p0_5_p99_5"].clone();
    for i in 0..2 {
        assert!(close(spend["clip"][i].as_f64().unwrap(), want[i].as_f64().unwrap()), "{spend} vs {want}");
    }
}

#[test]
fn clip_quantiles_out_of_order_are_one_usage_line() {
    let dir = tempfile::tempdir().unwrap();
    let o = segment(dir.path(), &["--clip", "spend", "--clip-quantiles", "99.5,0.5"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("the lower quantile must be below the upper one, got '99.5,0.5': use 0.5,99.5"), "{e}");
    let o = segment(dir.path(), &["--features", "spend,visits", "--clip", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--clip column 'nope' is not a feature"), "{}", stderr(&o));
    assert!(!dir.path().join("custseg-out").exists());
}

#[test]
fn missing_rows_dropped_and_values_imputed_are_in_the_summary() {
    let nulls = expected()["null_ages"].as_u64().unwrap();
    let rows = expected()["rows"].as_u64().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = segment(dir.path(), &["--features", "visits,age", "--missing", "drop", "-k", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = format!(
        "{nulls} of {rows} rows dropped for missing feature values (--missing drop): {} clustered",
        rows - nulls
    );
    assert!(stdout(&o).contains(&want), "{}", stdout(&o));
    let o = segment(dir.path(), &["--features", "visits,age", "--missing", "drop", "-k", "3", "--json"]);
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["rows_dropped"], nulls);
    let o = segment(dir.path(), &["--features", "visits,age", "--missing", "mean", "-k", "3", "--json"]);
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["values_imputed"]["age"], nulls, "{j}");
    let o = segment(dir.path(), &["--features", "visits,age", "--missing", "mean", "-k", "3"]);
    assert!(stdout(&o)
        .contains(&format!("{nulls} missing values replaced by the column mean (--missing mean): age {nulls}")));
}

#[test]
fn segments_under_the_minimum_share_are_warned_about_in_the_summary_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--features", "spend,visits", "-k", "6", "--min-segment-share", "0.2", "--report", "r.html"];
    let o = segment(dir.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let sizes: Vec<u64> = model(dir.path())["sizes"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    let small: Vec<usize> = (0..6).filter(|&j| (sizes[j] as f64) < 0.2 * 2000.0).collect();
    assert!(!small.is_empty(), "six segments cannot all hold 20%");
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    for j in small {
        let w = format!("segment {j} holds {} of 2000 customers", sizes[j]);
        assert!(out.contains(&format!("warning: {w}")), "{out}");
        assert!(html.contains(&w), "the report warns too");
        assert!(stderr(&o).contains(&w), "and the log");
    }
    let o = segment(dir.path(), &["--min-segment-share", "1.5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--min-segment-share 1.5"), "{}", stderr(&o));
}

#[test]
fn the_default_log_is_for_people_and_verbose_keeps_the_detail() {
    let dir = tempfile::tempdir().unwrap();
    let o = segment(dir.path(), &["--features", "spend,visits", "-k", "3"]);
    assert!(o.status.success());
    let e = stderr(&o);
    let long_float = |s: &str| {
        s.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .any(|t| t.split_once('.').is_some_and(|(_, f)| f.len() > 4))
    };
    assert!(e.contains("seconds="), "{e}");
    assert!(!long_float(&e), "no long floats at the default level: {e}");
    assert!(!e.lines().any(|l| l.starts_with("20") && l.contains('T')), "a time of day, not a timestamp: {e}");
    let o = segment(dir.path(), &["--features", "spend,visits", "-k", "3", "-v"]);
    assert!(long_float(&stderr(&o)), "-v keeps every digit: {}", stderr(&o));
}

#[test]
fn every_subcommand_help_ends_with_examples() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["segment", "assign", "compare", "features", "generate", "devices", "bench"] {
        let o = run_in(dir.path(), &[cmd, "--help"]);
        let out = stdout(&o);
        let at = out.rfind("Examples:").unwrap_or_else(|| panic!("{cmd} --help has no examples:\n{out}"));
        let examples = out[at..].lines().filter(|l| l.trim_start().starts_with("custseg ")).count();
        assert!((2..=4).contains(&examples), "{cmd}: {examples} examples\n{out}");
    }
}
