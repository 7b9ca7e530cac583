//! `custseg features` as a library call: transaction logs (Parquet) in, one row of RFM / BG-NBD features per
//! customer out, as a record batch ([`build_features`]) or a written file ([`write_features`]).
//!
//! **The figures**, per customer (days are calendar days, see [`dates`](super::dates); which rows count, see
//! [`stream`](super::stream)):
//! - `recency_days` = as-of − last day; `tenure_days` = as-of − first day (both ≥ 0);
//! - `frequency` = distinct order IDs, or distinct days without an order column;
//! - `monetary` = sum of amounts (net: returns subtract); `avg_order_value` = monetary / frequency;
//! - `days_between_purchases` = (last − first) / (distinct days − 1): the mean gap between distinct days;
//!   **null** for a customer with one day (a mean gap does not exist; `custseg segment`'s default selection
//!   then leaves the column out, see [`crate::io::select`]);
//! - `returns_share` = |sum of negative amounts| / sum of positive amounts; 0 without returns; **null** for a
//!   customer with returns but no purchases;
//! - `n_categories` (with a category column) = distinct non-null categories;
//! - BG/NBD inputs: `bgnbd_x` = distinct days − 1, `bgnbd_t_x` = last − first, `bgnbd_T` = as-of − first;
//! - with a cost column (`--cost`): `gross_margin` = sum of (amount − cost); with a margin column (`--margin`):
//!   the sum of the margins. Rows with a null cost or margin are dropped and counted;
//! - with `--window-days N`: `monetary_Nd`, `frequency_Nd` (distinct orders, or days, in the window) and, with a
//!   cost or margin, `gross_margin_Nd`, over the days `d` with `as_of − N < d ≤ as_of` (see [`extra`](super::extra));
//! - with RFM on: `r_score`, `f_score`, `m_score` (UInt8), `rfm_code`, `rfm_segment`, `value_tier` (strings) and
//!   `clv` (see [`rfm`](super::rfm)); the value tiers, the Pareto share and CLV are computed on `gross_margin`
//!   when there is one, else on `monetary`.
//!
//! Rows are ordered by customer ID. The output is the same for the same input whatever the thread count.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int32Array, Int64Array, StringArray, UInt8Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::input::plan_files;
use super::options::{check_options, columns, FeatureOptions, TxColumns};
use super::report::{check_counts, FeatureReport};
use super::rfm::{self, RfmSummary};
use super::state::Totals;
use super::stream::aggregate;
use crate::error::{Error, Result};
use crate::io::atomic::{check_writable, write_atomically};

/// Rows per row group of the written features file.
const ROW_GROUP_ROWS: usize = 1 << 20;

/// Computes the features of the transactions in `paths` (in order). Returns one record batch, one row per
/// customer ordered by ID, and the report.
pub fn build_features(paths: &[PathBuf], opts: &FeatureOptions) -> Result<(RecordBatch, FeatureReport)> {
    check_options(paths, opts)?;
    let files = plan_files(paths, &opts.columns, &opts.csv_schema)?;
    let (ids, totals, mut report) = aggregate(&files, opts)?;
    check_counts(&report, paths, opts)?;
    report.customers = totals.len() as u64;
    let last_day = totals.iter().map(|t| t.last).max();
    report.warnings = super::warnings::warnings(&report, &opts.columns, opts.as_of, last_day);
    let t0 = std::time::Instant::now();
    let (batch, rfm) = features_batch(&opts.columns, ids, &totals, opts)?;
    tracing::debug!(elapsed = ?t0.elapsed(), "features batch built");
    report.rfm = rfm;
    Ok((batch, report))
}

/// Computes the features and writes them to `output` (zstd Parquet, atomically: a failure leaves no file).
/// The output is checked to be writable before any work.
pub fn write_features(paths: &[PathBuf], opts: &FeatureOptions, output: &Path) -> Result<FeatureReport> {
    check_writable(output)?;
    if paths.iter().any(|p| p.as_path() == output) {
        return Err(Error::Usage(format!("the output {} is also an input", output.display())));
    }
    let (mut batch, report) = build_features(paths, opts)?;
    if let Some(key) = &opts.pseudonym {
        batch = with_pseudonyms(batch, &opts.columns.customer, key)?;
    }
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    write_atomically(output, |w| {
        let mut writer = ArrowWriter::try_new(w, batch.schema(), Some(props)).map_err(|e| Error::output(output, e))?;
        let n = batch.num_rows();
        let mut start = 0;
        while start < n {
            let len = ROW_GROUP_ROWS.min(n - start);
            writer.write(&batch.slice(start, len)).map_err(|e| Error::output(output, e))?;
            start += len;
        }
        writer.close().map_err(|e| Error::output(output, e))?;
        Ok(())
    })?;
    Ok(report)
}

/// `batch` with its ID column `id` replaced by the pseudonyms of its IDs (text).
fn with_pseudonyms(batch: RecordBatch, id: &str, key: &crate::pseudonym::IdKey) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut arrays = batch.columns().to_vec();
    if let Some(i) = fields.iter().position(|f| f.name() == id) {
        arrays[i] = key.pseudonymize(&arrays[i])?;
        fields[i] = Field::new(id, DataType::Utf8, fields[i].is_nullable());
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| Error::Data(e.to_string()))
}

/// The features record batch and, with RFM on, its summary.
fn features_batch(
    cols: &TxColumns,
    ids: ArrayRef,
    totals: &[Totals],
    opts: &FeatureOptions,
) -> Result<(RecordBatch, Option<RfmSummary>)> {
    use columns::*;
    let as_of = opts.as_of;
    let frequency: Vec<i64> =
        totals.iter().map(|t| i64::from(if cols.order.is_some() { t.orders } else { t.days })).collect();
    let recency: Vec<i32> = totals.iter().map(|t| as_of - t.last).collect();
    let tenure: Vec<i32> = totals.iter().map(|t| as_of - t.first).collect();
    let monetary: Vec<f64> = totals.iter().map(|t| t.pos + t.neg).collect();
    let avg: Vec<f64> = monetary.iter().zip(&frequency).map(|(&m, &f)| m / f as f64).collect();
    let gaps: Float64Array =
        totals.iter().map(|t| (t.days > 1).then(|| (t.last - t.first) as f64 / (t.days - 1) as f64)).collect();
    let returns: Float64Array = totals
        .iter()
        .map(|t| {
            if t.neg == 0.0 {
                Some(0.0)
            } else if t.pos > 0.0 {
                Some(-t.neg / t.pos)
            } else {
                None
            }
        })
        .collect();

    let mut fields: Vec<Field> = vec![Field::new(&cols.customer, ids.data_type().clone(), false)];
    let mut arrays: Vec<ArrayRef> = vec![ids];
    let mut push = |name: &str, a: ArrayRef| {
        fields.push(Field::new(name, a.data_type().clone(), a.null_count() > 0));
        arrays.push(a);
    };
    push(RECENCY_DAYS, Arc::new(Int32Array::from(recency.clone())));
    push(FREQUENCY, Arc::new(Int64Array::from(frequency.clone())));
    push(MONETARY, Arc::new(Float64Array::from(monetary.clone())));
    push(AVG_ORDER_VALUE, Arc::new(Float64Array::from(avg)));
    push(TENURE_DAYS, Arc::new(Int32Array::from(tenure.clone())));
    push(DAYS_BETWEEN_PURCHASES, Arc::new(gaps));
    push(RETURNS_SHARE, Arc::new(returns));
    if cols.category.is_some() {
        push(N_CATEGORIES, Arc::new(Int64Array::from_iter_values(totals.iter().map(|t| i64::from(t.categories)))));
    }
    push(BGNBD_X, Arc::new(Int64Array::from_iter_values(totals.iter().map(|t| i64::from(t.days) - 1))));
    push(BGNBD_T_X, Arc::new(Int32Array::from_iter_values(totals.iter().map(|t| t.last - t.first))));
    push(BGNBD_T, Arc::new(Int32Array::from(tenure.clone())));

    let margin: Option<Vec<f64>> = cols.profit().map(|_| totals.iter().map(|t| t.extra.margin).collect());
    if let Some(m) = &margin {
        push(GROSS_MARGIN, Arc::new(Float64Array::from(m.clone())));
    }
    if let Some(n) = opts.window_days {
        push(
            &windowed(MONETARY, n),
            Arc::new(Float64Array::from_iter_values(totals.iter().map(|t| t.extra.win_monetary))),
        );
        push(
            &windowed(FREQUENCY, n),
            Arc::new(Int64Array::from_iter_values(totals.iter().map(|t| i64::from(t.extra.win_frequency)))),
        );
        if margin.is_some() {
            push(
                &windowed(GROSS_MARGIN, n),
                Arc::new(Float64Array::from_iter_values(totals.iter().map(|t| t.extra.win_margin))),
            );
        }
    }

    let mut summary = None;
    if let Some(ro) = &opts.rfm {
        let value = match &margin {
            Some(m) => (m.as_slice(), GROSS_MARGIN),
            None => (monetary.as_slice(), MONETARY),
        };
        let s = rfm::score(&recency, &frequency, &monetary, &tenure, value, ro);
        push(R_SCORE, Arc::new(UInt8Array::from(s.r)));
        push(F_SCORE, Arc::new(UInt8Array::from(s.f)));
        push(M_SCORE, Arc::new(UInt8Array::from(s.m)));
        push(RFM_CODE, Arc::new(StringArray::from(s.code)));
        push(RFM_SEGMENT, Arc::new(StringArray::from(s.segment)));
        push(VALUE_TIER, Arc::new(StringArray::from(s.tier)));
        push(CLV, Arc::new(Float64Array::from(s.clv)));
        summary = Some(s.summary);
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| Error::Data(format!("cannot assemble the features: {e}")))?;
    Ok((batch, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Float64Type, Int64Type, UInt8Type};

    use super::super::testing::{assert_has, dates, day, f64s, opts, read_all, small};
    use crate::test_util::write_parquet;

    fn col<'a>(b: &'a RecordBatch, name: &str) -> &'a ArrayRef {
        b.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"))
    }

    fn i64s(b: &RecordBatch, name: &str) -> Vec<i64> {
        arrow::compute::cast(col(b, name), &DataType::Int64).unwrap().as_primitive::<Int64Type>().values().to_vec()
    }

    fn floats(b: &RecordBatch, name: &str) -> Vec<Option<f64>> {
        col(b, name).as_primitive::<Float64Type>().iter().collect()
    }

    fn err(paths: &[PathBuf], o: &FeatureOptions) -> String {
        let e = build_features(paths, o).unwrap_err().to_string();
        assert!(!e.contains('\n'), "one line: {e}");
        e
    }

    #[test]
    fn hand_computed_features() {
        let dir = tempfile::tempdir().unwrap();
        let (b, r) = build_features(&[small(dir.path())], &opts("2026-11-01")).unwrap();
        assert_eq!(i64s(&b, "customer_id"), [1, 2, 3]);
        assert_eq!(i64s(&b, "recency_days"), [11, 0, 1]);
        assert_eq!(i64s(&b, "frequency"), [2, 1, 3], "distinct days");
        assert_eq!(floats(&b, "monetary"), [Some(120.0), Some(20.0), Some(100.0)]);
        assert_eq!(floats(&b, "avg_order_value"), [Some(60.0), Some(20.0), Some(100.0 / 3.0)]);
        let t3 = day("2026-11-01") - day("2026-01-01");
        assert_eq!(i64s(&b, "tenure_days"), [31, 0, t3 as i64]);
        let span3 = (day("2026-10-31") - day("2026-01-01")) as f64;
        assert_eq!(floats(&b, "days_between_purchases"), [Some(20.0), None, Some(span3 / 2.0)]);
        assert_eq!(floats(&b, "returns_share"), [Some(30.0 / 150.0), Some(0.0), Some(0.0)]);
        assert_eq!(i64s(&b, "bgnbd_x"), [1, 0, 2]);
        assert_eq!(i64s(&b, "bgnbd_t_x"), [20, 0, span3 as i64]);
        assert_eq!(i64s(&b, "bgnbd_T"), [31, 0, t3 as i64]);
        assert!(b.column_by_name("n_categories").is_none());
        assert_eq!(
            r,
            FeatureReport {
                rows_read: 8,
                rows_after_as_of: 1,
                rows_used: 7,
                zero_amount_rows: 1,
                negative_amount_rows: 1,
                customers: 3,
                rfm: r.rfm.clone(),
                ..FeatureReport::default()
            }
        );
        assert!(r.rfm.is_some());
        assert_eq!(col(&b, "r_score").as_primitive::<UInt8Type>().values().to_vec(), [1, 4, 2]);
    }

    #[test]
    fn no_row_left_after_as_of_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = err(&[small(dir.path())], &opts("2025-12-31"));
        assert_has(&e, &["no transactions left of 8 rows", "8 after as-of 2025-12-31", "tx.parquet"]);
    }

    #[test]
    fn all_dates_unparsable_is_an_error_naming_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "us.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![1, 2]))),
                ("when", Arc::new(StringArray::from(vec![Some("10/01/2026"), Some("10/02/2026")]))),
                ("amount", f64s(vec![1.0, 2.0])),
            ],
        );
        let mut o = opts("2026-11-01");
        o.columns.date = "when".into();
        let e = err(&[f], &o);
        assert_has(&e, &["date column 'when'", "none of its 2 values is a date", "'10/01/2026'", "us.parquet"]);
    }

    #[test]
    fn returns_only_customers_have_no_returns_share() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "r.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![1, 1]))),
                ("date", dates(&["2026-10-01", "2026-10-02"])),
                ("amount", f64s(vec![-10.0, 0.0])),
            ],
        );
        let (b, r) = build_features(&[f], &opts("2026-11-01")).unwrap();
        assert_eq!(floats(&b, "returns_share"), [None]);
        assert_eq!(floats(&b, "monetary"), [Some(-10.0)]);
        assert_eq!((r.zero_amount_rows, r.negative_amount_rows), (1, 1));
    }

    #[test]
    fn write_features_round_trips_and_checks_the_output_first() {
        let dir = tempfile::tempdir().unwrap();
        let f = small(dir.path());
        let out = dir.path().join("out/customers.parquet");
        let o = opts("2026-11-01");
        let r = write_features(std::slice::from_ref(&f), &o, &out).unwrap();
        assert_eq!(r.customers, 3);
        let t = read_all(&out);
        let (b, _) = build_features(std::slice::from_ref(&f), &o).unwrap();
        assert_eq!(t, b);
        let e = write_features(std::slice::from_ref(&f), &o, dir.path()).unwrap_err();
        assert!(matches!(e, Error::Output { .. }), "{e}");
        let e = write_features(std::slice::from_ref(&f), &o, &f).unwrap_err();
        assert!(e.is_usage(), "{e}");
    }

    #[test]
    fn bad_options_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = small(dir.path());
        let mut same = opts("2026-11-01");
        same.columns.order = Some("customer_id".into());
        let mut named = opts("2026-11-01");
        named.columns.customer = "monetary".into();
        let zero = FeatureOptions { batch_size: 0, ..opts("2026-11-01") };
        for o in [same, named, zero] {
            let e = build_features(std::slice::from_ref(&f), &o).unwrap_err();
            assert!(e.is_usage(), "{e}");
        }
        assert!(build_features(&[], &opts("2026-11-01")).unwrap_err().is_usage());
    }

    #[test]
    fn no_rfm_leaves_the_rfm_columns_out() {
        let dir = tempfile::tempdir().unwrap();
        let o = FeatureOptions { rfm: None, ..opts("2026-11-01") };
        let (b, r) = build_features(&[small(dir.path())], &o).unwrap();
        assert!(r.rfm.is_none());
        assert_eq!(b.num_columns(), 11);
        assert!(b.column_by_name("r_score").is_none());
    }

    #[test]
    fn categories_add_n_categories_and_orders_set_frequency() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "o.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![1, 1, 1, 1, 2]))),
                ("date", dates(&["2026-10-01", "2026-10-01", "2026-10-01", "2026-10-03", "2026-10-03"])),
                ("amount", f64s(vec![10.0, 20.0, 30.0, 40.0, 50.0])),
                ("order_id", Arc::new(StringArray::from(vec!["A", "A", "B", "A", "C"]))),
                ("category", Arc::new(StringArray::from(vec![Some("x"), None, Some("y"), Some("x"), None]))),
            ],
        );
        let mut o = opts("2026-11-01");
        o.columns.order = Some("order_id".into());
        o.columns.category = Some("category".into());
        let (b, _) = build_features(&[f], &o).unwrap();
        assert_eq!(i64s(&b, "frequency"), [2, 1], "orders A and B; C");
        assert_eq!(floats(&b, "avg_order_value"), [Some(50.0), Some(50.0)]);
        assert_eq!(i64s(&b, "n_categories"), [2, 0]);
        assert_eq!(i64s(&b, "bgnbd_x"), [1, 0], "two distinct days");
    }
}
