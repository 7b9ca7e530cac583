//! `features`: per-customer figures of the fixture transaction logs against the pandas reference of
//! `tests/fixtures/transactions/make_reference.py`, the local day of zoned timestamps and offset strings, and bad
//! input. (The 10M-row timing is `cargo bench --bench features`.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Float64Array, Int64Array, StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Float64Type};
use arrow::record_batch::RecordBatch;
use serde_json::Value;

use custseg::features::{self, build_features, parse_date, FeatureOptions, FeatureReport, TxColumns};

use crate::util::{expected_got, fixtures, read_parquet, run_in, stderr, write_parquet};

fn dir() -> PathBuf {
    fixtures().join("transactions")
}

/// Floats agree to 1e-9 of their size (sizes below 1 count as 1, so sums that cancel to about 0 compare
/// absolutely).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn opts_of(doc: &Value) -> FeatureOptions {
    let o = &doc["options"];
    let s = |k: &str| o[k].as_str().map(str::to_string);
    FeatureOptions {
        columns: TxColumns {
            customer: s("customer").unwrap(),
            date: s("date").unwrap(),
            amount: s("amount").unwrap(),
            order: s("order"),
            category: s("category"),
            ..TxColumns::default()
        },
        as_of: parse_date(o["as_of"].as_str().unwrap()).unwrap(),
        batch_size: 100,
        ..FeatureOptions::new(0)
    }
}

/// Value `i` of column `a` as JSON: integers and floats as numbers, strings as strings, null as null.
fn json_at(a: &ArrayRef, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Utf8 => Value::from(a.as_string::<i32>().value(i)),
        DataType::Float64 => Value::from(a.as_primitive::<Float64Type>().value(i)),
        _ => {
            let v = arrow::compute::cast(&a.slice(i, 1), &DataType::Int64).unwrap();
            Value::from(v.as_primitive::<arrow::datatypes::Int64Type>().value(0))
        }
    }
}

fn same(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Number(w), Value::Number(g)) if w.is_f64() || g.is_f64() => {
            close(w.as_f64().unwrap(), g.as_f64().unwrap())
        }
        _ => want == got,
    }
}

/// Runs `build_features` on the fixture `name` and compares every figure, count and summary with the reference.
fn check_fixture(name: &str) {
    check_fixture_as(name, |p| p);
}

/// [`check_fixture`] on the fixture's files as `file(path)` gives them (e.g. rewritten as CSV).
fn check_fixture_as(name: &str, file: impl Fn(PathBuf) -> PathBuf) {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join(format!("{name}_expected.json"))).unwrap()).unwrap();
    let paths: Vec<PathBuf> =
        doc["files"].as_array().unwrap().iter().map(|f| file(dir().join(f.as_str().unwrap()))).collect();
    let opts = opts_of(&doc);
    let (batch, report) = build_features(&paths, &opts).unwrap();

    let got_report = serde_json::to_value(&report).unwrap();
    for (k, want) in doc["report"].as_object().unwrap() {
        assert_eq!(&got_report[k], want, "{}", expected_got(&format!("{name}: report.{k}"), want, &got_report[k]));
    }

    let customers = doc["customers"].as_array().unwrap();
    assert_eq!(batch.num_rows(), customers.len(), "{name}: customers");
    let mut mismatches = Vec::new();
    for (i, want) in customers.iter().enumerate() {
        for (k, w) in want.as_object().unwrap() {
            let col = batch.column_by_name(k).unwrap_or_else(|| panic!("{name}: no output column {k}"));
            let g = json_at(col, i);
            if !same(w, &g) {
                mismatches.push(format!("customer {} {k}: expected {w}, got {g}", want["customer_id"]));
            }
        }
    }
    assert!(mismatches.is_empty(), "{name}: {} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));

    let rfm = report.rfm.as_ref().unwrap();
    let want = &doc["rfm"];
    match (want["pareto_share"].as_f64(), rfm.pareto_share) {
        (Some(w), Some(g)) => assert!(close(w, g), "{}", expected_got("pareto share", w, g)),
        (w, g) => assert_eq!(w, g, "pareto share"),
    }
    assert_eq!(rfm.lifetime.cohort, want["retention_cohort"].as_u64().unwrap(), "retention cohort");
    assert_eq!(rfm.lifetime.retention, want["retention"].as_f64(), "retention");
    assert!(close(rfm.lifetime.expected_years, want["expected_lifetime_years"].as_f64().unwrap()));
    for s in &rfm.segments {
        assert_eq!(Some(s.customers), want["segments"][s.name].as_u64(), "segment {}", s.name);
    }
    for t in &rfm.tiers {
        assert_eq!(Some(t.customers), want["tiers"][t.name].as_u64(), "tier {}", t.name);
    }
}

#[test]
fn handmade_log_matches_the_pandas_reference() {
    check_fixture("handmade");
}

#[test]
fn generated_log_in_two_files_matches_the_pandas_reference() {
    check_fixture("generated");
}

/// The Parquet file at `path` written as CSV by arrow's CSV writer into `dir`, gzipped when `gz`.
fn as_csv(dir: &Path, path: &Path, gz: bool) -> PathBuf {
    let stem = path.file_stem().unwrap().to_str().unwrap();
    let out = dir.join(if gz { format!("{stem}.csv.gz") } else { format!("{stem}.csv") });
    let file = std::fs::File::create(&out).unwrap();
    let sink: Box<dyn std::io::Write> =
        if gz { Box::new(flate2::write::GzEncoder::new(file, flate2::Compression::default())) } else { Box::new(file) };
    let mut w = arrow::csv::Writer::new(sink);
    w.write(&read_parquet(path)).unwrap();
    drop(w);
    out
}

#[test]
fn transactions_as_csv_match_the_pandas_reference() {
    // The same logs as CSV (one file gzipped): the same figures, counts and summaries as from Parquet.
    let tmp = tempfile::tempdir().unwrap();
    check_fixture_as("generated", |p| {
        let gz = p.file_name().unwrap().to_str().unwrap().contains("_b");
        as_csv(tmp.path(), &p, gz)
    });
    check_fixture_as("handmade", |p| as_csv(tmp.path(), &p, false));
}

#[test]
fn the_features_command_reads_a_csv_log() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = as_csv(tmp.path(), &dir().join("generated_a.parquet"), false);
    let args = |input: &Path, out: &str| -> Vec<String> {
        let input = input.display().to_string();
        let fixture = ["--date", "ts", "--order", "order_id", "--category", "category"];
        let mut a = vec!["features", "--transactions", &input, "--as-of", "2026-11-01", "-o", out];
        a.extend(fixture);
        a.into_iter().map(String::from).collect()
    };
    let o = run_in(tmp.path(), &args(&csv, "from_csv.parquet").iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let parquet = dir().join("generated_a.parquet");
    let o = run_in(tmp.path(), &args(&parquet, "from_parquet.parquet").iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let (a, b) =
        (read_parquet(&tmp.path().join("from_csv.parquet")), read_parquet(&tmp.path().join("from_parquet.parquet")));
    assert_eq!(a, b, "the features of the CSV log and of the Parquet log");
}

#[test]
fn fixtures_are_small() {
    let total: u64 = std::fs::read_dir(dir()).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(total < 1 << 20, "tests/fixtures/transactions is {total} bytes");
}

// ---- days: a zoned timestamp counts on its local day, an ISO string on the day as written ----

/// The figure `name` of every customer as `i64`.
fn ints(b: &RecordBatch, name: &str) -> Vec<i64> {
    let a = arrow::compute::cast(b.column_by_name(name).unwrap(), &DataType::Int64).unwrap();
    a.as_primitive::<arrow::datatypes::Int64Type>().values().to_vec()
}

/// Builds the features, as of 2026-11-01, of customers `ids` with dates `dates` and amount 1 each.
fn features_of(dir: &Path, name: &str, ids: Vec<i64>, dates: ArrayRef) -> (RecordBatch, FeatureReport) {
    let n = ids.len();
    let p = dir.join(name);
    write_parquet(
        &p,
        vec![
            ("customer_id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("date", dates),
            ("amount", Arc::new(Float64Array::from(vec![1.0; n]))),
        ],
    );
    build_features(&[p], &FeatureOptions::new(day("2026-11-01"))).unwrap()
}

#[test]
fn a_timestamp_in_a_named_zone_counts_on_its_local_day() {
    let t = tempfile::tempdir().unwrap();
    let ms = |date: &str, h: i64, m: i64| (day(date) as i64 * 86_400 + h * 3600 + m * 60) * 1000;
    // Customer 1: 2026-07-01 22:30 UTC is July 2nd, 00:30 in Berlin (summer time, UTC+2); 2026-10-31 23:30 UTC is
    // November 1st, 00:30 (winter time, UTC+1). Customer 2: 2026-11-01 23:30 UTC is November 2nd in Berlin, after
    // as-of, though the UTC day is as-of.
    let instants = vec![ms("2026-07-01", 22, 30), ms("2026-10-31", 23, 30), ms("2026-11-01", 23, 30)];
    let zoned =
        |tz: &str| -> ArrayRef { Arc::new(TimestampMillisecondArray::from(instants.clone()).with_timezone(tz)) };

    let (b, r) = features_of(t.path(), "berlin.parquet", vec![1, 1, 2], zoned("Europe/Berlin"));
    assert_eq!((r.rows_after_as_of, r.rows_used, r.customers), (1, 2, 1));
    assert_eq!(ints(&b, "recency_days"), [0]);
    assert_eq!(ints(&b, "tenure_days"), [i64::from(day("2026-11-01") - day("2026-07-02"))]);

    // The same instants in UTC fall a day earlier, and customer 2's on as-of.
    let (b, r) = features_of(t.path(), "utc.parquet", vec![1, 1, 2], zoned("UTC"));
    assert_eq!((r.rows_after_as_of, r.rows_used, r.customers), (0, 3, 2));
    assert_eq!(ints(&b, "recency_days"), [1, 0]);
    assert_eq!(ints(&b, "tenure_days"), [i64::from(day("2026-11-01") - day("2026-07-01")), 0]);
}

#[test]
fn an_iso_string_with_an_offset_counts_on_the_day_as_written() {
    let t = tempfile::tempdir().unwrap();
    // In UTC these are 2026-11-01 04:30, 2026-10-31 22:30 and 2026-11-01 22:30; the written days are 10-31, 11-01
    // and 11-02 (after as-of).
    let dates: ArrayRef = Arc::new(StringArray::from(vec![
        "2026-10-31T23:30:00-05:00",
        "2026-11-01T00:30:00+02:00",
        "2026-11-02T00:30:00+0200",
    ]));
    let (b, r) = features_of(t.path(), "offsets.parquet", vec![1, 1, 2], dates);
    assert_eq!((r.rows_after_as_of, r.unparsable_dates, r.customers), (1, 0, 1));
    assert_eq!(ints(&b, "recency_days"), [0]);
    assert_eq!(ints(&b, "tenure_days"), [1]);
    assert_eq!(ints(&b, "frequency"), [2], "two distinct days");
}

// ---- bad input: a clear one-line error or a counted exclusion, never a panic ----

fn day(s: &str) -> i32 {
    parse_date(s).unwrap()
}

fn log(dir: &Path, name: &str, dates: ArrayRef, amounts: Vec<Option<f64>>) -> PathBuf {
    let n = amounts.len() as i64;
    let p = dir.join(name);
    write_parquet(
        &p,
        vec![
            ("customer_id", Arc::new(Int64Array::from((0..n).map(|i| i % 3).collect::<Vec<_>>()))),
            ("date", dates),
            ("amount", Arc::new(Float64Array::from(amounts))),
        ],
    );
    p
}

fn d32(v: &[&str]) -> ArrayRef {
    Arc::new(Date32Array::from(v.iter().map(|s| day(s)).collect::<Vec<_>>()))
}

fn run(paths: &[PathBuf]) -> Result<(RecordBatch, FeatureReport), String> {
    build_features(paths, &FeatureOptions::new(day("2026-11-01"))).map_err(|e| {
        let m = e.to_string();
        assert!(!m.contains('\n'), "one line: {m}");
        m
    })
}

fn assert_has(m: &str, parts: &[&str]) {
    for p in parts {
        assert!(m.contains(p), "expected {p:?} in: {m}");
    }
}

#[test]
fn zero_and_negative_amounts_are_kept_and_counted() {
    let t = tempfile::tempdir().unwrap();
    let p = log(
        t.path(),
        "a.parquet",
        d32(&["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04"]),
        vec![Some(0.0), Some(-5.0), Some(7.0), Some(-0.5)],
    );
    let (b, r) = run(&[p]).unwrap();
    assert_eq!((r.zero_amount_rows, r.negative_amount_rows, r.rows_used), (1, 2, 4));
    assert_eq!(b.num_rows(), 3);
}

#[test]
fn future_dates_are_excluded_and_counted() {
    let t = tempfile::tempdir().unwrap();
    let p = log(t.path(), "a.parquet", d32(&["2026-10-01", "2030-01-01", "2026-11-01"]), vec![Some(1.0); 3]);
    let (b, r) = run(&[p]).unwrap();
    assert_eq!((r.rows_after_as_of, r.rows_used, b.num_rows()), (1, 2, 2));
}

#[test]
fn unparsable_dates_are_counted_and_all_unparsable_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    let some: ArrayRef = Arc::new(StringArray::from(vec!["2026-10-01", "yesterday", "2026-13-01"]));
    let (_, r) = run(&[log(t.path(), "some.parquet", some, vec![Some(1.0); 3])]).unwrap();
    assert_eq!(r.unparsable_dates, 2);
    assert_has(r.first_unparsable_date.as_deref().unwrap(), &["'yesterday'", "some.parquet"]);
    let none: ArrayRef = Arc::new(StringArray::from(vec![Some("1/10/2026"), None, Some("Oct 2")]));
    let e = run(&[log(t.path(), "none.parquet", none, vec![Some(1.0); 3])]).unwrap_err();
    assert_has(&e, &["date column 'date'", "none of its 2 values is a date", "none.parquet"]);
}

#[test]
fn date_types_differing_between_files_are_an_error_naming_both() {
    let t = tempfile::tempdir().unwrap();
    let a = log(t.path(), "dates.parquet", d32(&["2026-10-01"]), vec![Some(1.0)]);
    let b = log(t.path(), "ints.parquet", Arc::new(arrow::array::Int32Array::from(vec![20261001])), vec![Some(1.0)]);
    let e = run(&[a, b]).unwrap_err();
    assert_has(&e, &["date column 'date' has type Int32 in", "ints.parquet but Date32 in", "dates.parquet"]);
}

#[test]
fn missing_columns_list_the_columns_that_exist() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("m.parquet");
    write_parquet(
        &p,
        vec![
            ("client", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            ("day", d32(&["2026-10-01"])),
            ("amount", Arc::new(Float64Array::from(vec![1.0]))),
        ],
    );
    let e = run(&[p]).unwrap_err();
    assert_has(&e, &["m.parquet: no columns 'customer_id', 'date'; columns are: client, day, amount"]);
}

#[test]
fn null_amounts_and_customers_are_dropped_and_counted() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("n.parquet");
    write_parquet(
        &p,
        vec![
            ("customer_id", Arc::new(StringArray::from(vec![Some("a"), None, Some("b")])) as ArrayRef),
            ("date", d32(&["2026-10-01", "2026-10-01", "2026-10-01"])),
            ("amount", Arc::new(Float64Array::from(vec![Some(1.0), Some(2.0), None]))),
        ],
    );
    let (b, r) = run(&[p]).unwrap();
    assert_eq!((r.null_customer_rows, r.null_amount_rows, b.num_rows()), (1, 1, 1));
}

#[test]
fn a_features_file_feeds_the_kmeans_reader() {
    let t = tempfile::tempdir().unwrap();
    let tx = t.path().join("tx.parquet");
    let as_of = day("2026-11-01");
    features::write_transactions(50_000, 9, as_of, &tx).unwrap();
    let out = t.path().join("customers.parquet");
    let mut o = FeatureOptions::new(as_of);
    o.columns.order = Some("order_id".into());
    o.columns.category = Some("category".into());
    let r = features::write_features(std::slice::from_ref(&tx), &o, &out).unwrap();
    // The default selection leaves the derived columns out; with --missing mean the null-by-design ones stay.
    let read = custseg::io::ReadOptions { missing: custseg::io::Missing::Mean, ..Default::default() };
    let table = custseg::io::read_features(&[out], &read).unwrap();
    assert_eq!(table.x.n() as u64, r.customers);
    assert_eq!(
        table.feature_names,
        [
            "recency_days",
            "frequency",
            "monetary",
            "avg_order_value",
            "tenure_days",
            "days_between_purchases",
            "returns_share",
            "n_categories"
        ]
    );
}

#[test]
fn a_features_file_segments_as_it_is_on_its_behavioural_columns() {
    let d = tempfile::tempdir().unwrap();
    let ok = |args: &[&str]| {
        let o = run_in(d.path(), args);
        assert!(o.status.success(), "custseg {args:?} failed:\n{}", stderr(&o));
        stderr(&o)
    };
    ok(&["generate", "--transactions", "20000", "--seed", "5", "--output", "tx.parquet"]);
    ok(&[
        "features",
        "--transactions",
        "tx.parquet",
        "--as-of",
        "2026-11-01",
        "--order",
        "order_id",
        "--category",
        "category",
        "--output",
        "cust.parquet",
    ]);
    let cust = read_parquet(&d.path().join("cust.parquet"));
    let nulls = |c: &str| cust.column_by_name(c).unwrap().null_count();
    let gaps = nulls(features::columns::DAYS_BETWEEN_PURCHASES);
    assert!(gaps > 0, "the log has customers with one purchase day, so days_between_purchases has nulls");
    for c in features::columns::NON_CLUSTERING {
        assert!(cust.column_by_name(c).is_some(), "the features file has {c}");
    }

    // No --features, no --missing: the default selection clusters on the behavioural columns.
    let log = ok(&[
        "segment",
        "--input",
        "cust.parquet",
        "--id",
        "customer_id",
        "--k",
        "4",
        "--seed",
        "1",
        "--device",
        "cpu",
        "--output",
        "seg.parquet",
        "--model",
        "model.json",
    ]);
    let model: Value = serde_json::from_str(&std::fs::read_to_string(d.path().join("model.json")).unwrap()).unwrap();
    let got: Vec<&str> = model["features"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    // The behavioural columns in file order, less the null-by-design ones that have nulls in this file.
    let want: Vec<&str> = [
        "recency_days",
        "frequency",
        "monetary",
        "avg_order_value",
        "tenure_days",
        "days_between_purchases",
        "returns_share",
        "n_categories",
    ]
    .into_iter()
    .filter(|c| !features::columns::NULL_BY_DESIGN.contains(c) || nulls(c) == 0)
    .collect();
    assert_eq!(got, want, "{}", expected_got("model features", &want, &got));
    for c in features::columns::NON_CLUSTERING {
        assert!(!got.contains(&c), "{c} is not a default feature");
    }
    assert_eq!(read_parquet(&d.path().join("seg.parquet")).num_rows(), cust.num_rows(), "no customer is dropped");
    let mut parts = vec!["left out bgnbd_x, bgnbd_t_x, bgnbd_T, r_score, f_score, m_score, clv".to_string()];
    for c in features::columns::NULL_BY_DESIGN.into_iter().filter(|c| nulls(c) > 0) {
        parts.push(format!("left out '{c}', which has {} null values (in cust.parquet)", nulls(c)));
    }
    for part in &parts {
        assert!(log.contains(part.as_str()), "expected {part:?} in the log:\n{log}");
    }

    // Named, the column with nulls is still refused without --missing, in one line naming file, column and count.
    let o = run_in(
        d.path(),
        &[
            "segment",
            "--input",
            "cust.parquet",
            "--features",
            "frequency,days_between_purchases",
            "--k",
            "4",
            "--device",
            "cpu",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    let line = e.lines().find(|l| l.starts_with("error:")).unwrap_or_default();
    for part in ["column 'days_between_purchases'", &format!("{gaps} null values"), "cust.parquet", "--missing"] {
        assert!(line.contains(part), "expected {part:?} in: {e}");
    }
    // And with --missing mean it is clustered on, as before.
    ok(&[
        "segment",
        "--input",
        "cust.parquet",
        "--features",
        "frequency,days_between_purchases",
        "--missing",
        "mean",
        "--k",
        "4",
        "--device",
        "cpu",
        "--output",
        "seg2.parquet",
        "--model",
        "model2.json",
    ]);
    let model: Value = serde_json::from_str(&std::fs::read_to_string(d.path().join("model2.json")).unwrap()).unwrap();
    assert_eq!(model["features"], serde_json::json!(["frequency", "days_between_purchases"]));
}
