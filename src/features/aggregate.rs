//! `custseg features` as a library call: transaction logs (Parquet) in, one row of RFM / BG-NBD features per
//! customer out.
//!
//! **Which rows count.** Each row is checked in this order and, at the first failure, dropped and counted once:
//! null customer ID (`null_customer_rows`), null or NaN/infinite amount (`null_amount_rows`), null date
//! (`null_date_rows`), a date that does not parse (`unparsable_dates`; if every non-null date fails, it is an
//! error naming the column), a date after as-of (`rows_after_as_of`; rows *on* the as-of day are kept), and,
//! with an order column, a null order ID (`null_order_rows`). Every other row is used (`rows_used`) — purchases
//! (amount > 0), returns (amount < 0, `negative_amount_rows`) and zero amounts (`zero_amount_rows`) alike: all of
//! them are activity on a day, and with an order column, an order. A null category keeps its row and is counted
//! (`null_category_rows`).
//!
//! **The figures**, per customer (days are calendar days, see [`dates`](super::dates)):
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
//! - with RFM on: `r_score`, `f_score`, `m_score` (UInt8), `rfm_code`, `rfm_segment`, `value_tier` (strings) and
//!   `clv` (see [`rfm`](super::rfm)).
//!
//! Rows are ordered by customer ID. The output is the same for the same input whatever the thread count: each
//! customer's amounts are summed in file order.
//!
//! **How.** Work is split into units, one per row group. A window of units is decoded in parallel (rayon), each
//! unit's rows being converted and routed to one of [`SHARDS`] customer shards by key hash; then the shards
//! apply the window's rows in parallel, unit after unit, so each customer sees its rows in file order. The next
//! window is decoded while the previous one is applied. Memory: the state of `state` (a fixed 64 bytes per
//! customer plus 8 to 12 bytes per distinct customer-day, customer-order and customer-category pair, at most 1.5
//! times that between compactions) plus two windows of rows in flight (about 40 bytes a row, a window being
//! [`WINDOW_ROWS`] rows or one row group if larger).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int32Array, Int64Array, StringArray, UInt8Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;
use serde::Serialize;

use super::dates::{format_date, to_days, DayStatus};
use super::input::{amounts, key_values, plan_files, TxFile, AMOUNT, CATEGORY, CUSTOMER, DATE, ORDER};
use super::rfm::{self, RfmOptions, RfmSummary};
use super::state::{key_hash, shard_of, IntKeys, KeyKind, Shard, ShardRows, StrKeys, Totals, Track, SHARDS};
use crate::error::{Error, Result};
use crate::io::atomic::{check_writable, write_atomically};
use crate::io::parquet::decode_row_group;

/// Rows per window of units decoded together (a window holds at least one row group).
pub const WINDOW_ROWS: usize = 4 << 20;

/// Rows per row group of the written features file.
pub const ROW_GROUP_ROWS: usize = 1 << 20;

/// The names of the transaction columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxColumns {
    /// Customer ID: integers or strings. Default `customer_id`.
    pub customer: String,
    /// Transaction date. Default `date`.
    pub date: String,
    /// Amount (net: returns negative). Default `amount`.
    pub amount: String,
    /// Order ID (integers or strings): `frequency` counts distinct orders. Without it, distinct days.
    pub order: Option<String>,
    /// Product category (integers or strings): adds `n_categories`.
    pub category: Option<String>,
}

impl Default for TxColumns {
    fn default() -> Self {
        TxColumns {
            customer: "customer_id".into(),
            date: "date".into(),
            amount: "amount".into(),
            order: None,
            category: None,
        }
    }
}

/// What to compute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureOptions {
    pub columns: TxColumns,
    /// The as-of day, in days since 1970-01-01 (see [`parse_date`](super::parse_date)). Rows after it are
    /// excluded.
    pub as_of: i32,
    /// Rows per decoded record batch. Default 65536.
    pub batch_size: usize,
    /// RFM scores, segments, tiers and CLV: `None` leaves those columns out.
    pub rfm: Option<RfmOptions>,
}

impl FeatureOptions {
    /// The default columns, batch size and RFM scoring, as of `as_of`.
    pub fn new(as_of: i32) -> Self {
        FeatureOptions { columns: TxColumns::default(), as_of, batch_size: 65_536, rfm: Some(RfmOptions::default()) }
    }
}

/// What building the features did with the rows (see the module docs for the order of the checks).
/// `rows_read` = the drop counts + `rows_used`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FeatureReport {
    pub rows_read: u64,
    pub null_customer_rows: u64,
    pub null_amount_rows: u64,
    pub null_date_rows: u64,
    pub unparsable_dates: u64,
    pub rows_after_as_of: u64,
    pub null_order_rows: u64,
    pub rows_used: u64,
    /// Of the rows used: amount exactly 0, and amount < 0 (returns).
    pub zero_amount_rows: u64,
    pub negative_amount_rows: u64,
    /// Of the rows used, with a category column: null category.
    pub null_category_rows: u64,
    pub customers: u64,
    /// The first date that did not parse, with its file.
    pub first_unparsable_date: Option<String>,
    /// With RFM on: segment and tier counts, the Pareto share and the lifetime used for CLV.
    pub rfm: Option<RfmSummary>,
}

impl FeatureReport {
    fn add(&mut self, o: &FeatureReport) {
        self.rows_read += o.rows_read;
        self.null_customer_rows += o.null_customer_rows;
        self.null_amount_rows += o.null_amount_rows;
        self.null_date_rows += o.null_date_rows;
        self.unparsable_dates += o.unparsable_dates;
        self.rows_after_as_of += o.rows_after_as_of;
        self.null_order_rows += o.null_order_rows;
        self.rows_used += o.rows_used;
        self.zero_amount_rows += o.zero_amount_rows;
        self.negative_amount_rows += o.negative_amount_rows;
        self.null_category_rows += o.null_category_rows;
        if self.first_unparsable_date.is_none() {
            self.first_unparsable_date = o.first_unparsable_date.clone();
        }
    }
}

/// Output column names.
pub mod columns {
    pub const RECENCY_DAYS: &str = "recency_days";
    pub const FREQUENCY: &str = "frequency";
    pub const MONETARY: &str = "monetary";
    pub const AVG_ORDER_VALUE: &str = "avg_order_value";
    pub const TENURE_DAYS: &str = "tenure_days";
    pub const DAYS_BETWEEN_PURCHASES: &str = "days_between_purchases";
    pub const RETURNS_SHARE: &str = "returns_share";
    pub const N_CATEGORIES: &str = "n_categories";
    pub const BGNBD_X: &str = "bgnbd_x";
    pub const BGNBD_T_X: &str = "bgnbd_t_x";
    pub const BGNBD_T: &str = "bgnbd_T";
    pub const R_SCORE: &str = "r_score";
    pub const F_SCORE: &str = "f_score";
    pub const M_SCORE: &str = "m_score";
    pub const RFM_CODE: &str = "rfm_code";
    pub const RFM_SEGMENT: &str = "rfm_segment";
    pub const VALUE_TIER: &str = "value_tier";
    pub const CLV: &str = "clv";

    /// Numeric output columns that restate others (the BG/NBD inputs repeat frequency and tenure, the scores are
    /// ranks of R, F and M, CLV is spend times a constant). `custseg segment`'s default selection (no
    /// `--features`) leaves them out; see [`crate::io::select`].
    pub const NON_CLUSTERING: [&str; 7] = [BGNBD_X, BGNBD_T_X, BGNBD_T, R_SCORE, F_SCORE, M_SCORE, CLV];

    /// Numeric output columns that are null where the figure does not exist: `days_between_purchases` for a
    /// customer with one purchase day, `returns_share` for one with returns but no purchases. `custseg segment`'s
    /// default selection leaves such a column out when it has nulls and `--missing` is `fail`; see
    /// [`crate::io::select`].
    pub const NULL_BY_DESIGN: [&str; 2] = [DAYS_BETWEEN_PURCHASES, RETURNS_SHARE];

    /// Every output column name (the customer ID column is named as in the input).
    pub const ALL: [&str; 18] = [
        RECENCY_DAYS,
        FREQUENCY,
        MONETARY,
        AVG_ORDER_VALUE,
        TENURE_DAYS,
        DAYS_BETWEEN_PURCHASES,
        RETURNS_SHARE,
        N_CATEGORIES,
        BGNBD_X,
        BGNBD_T_X,
        BGNBD_T,
        R_SCORE,
        F_SCORE,
        M_SCORE,
        RFM_CODE,
        RFM_SEGMENT,
        VALUE_TIER,
        CLV,
    ];
}

fn file_list(paths: &[PathBuf]) -> String {
    const MAX: usize = 5;
    let mut s = paths.iter().take(MAX).map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    if paths.len() > MAX {
        s.push_str(&format!(" and {} more files", paths.len() - MAX));
    }
    s
}

fn check_options(paths: &[PathBuf], opts: &FeatureOptions) -> Result<()> {
    if paths.is_empty() {
        return Err(Error::Usage("no input files".into()));
    }
    if opts.batch_size == 0 {
        return Err(Error::Usage("batch size must be at least 1".into()));
    }
    let c = &opts.columns;
    let roles = [
        ("customer", Some(&c.customer)),
        ("date", Some(&c.date)),
        ("amount", Some(&c.amount)),
        ("order", c.order.as_ref()),
        ("category", c.category.as_ref()),
    ];
    for (i, (role, name)) in roles.iter().enumerate() {
        let Some(name) = name else { continue };
        if name.is_empty() {
            return Err(Error::Usage(format!("the {role} column name is empty")));
        }
        if let Some((other, _)) = roles[..i].iter().find(|(_, n)| *n == Some(*name)) {
            return Err(Error::Usage(format!("column '{name}' cannot be both the {other} and the {role} column")));
        }
    }
    if columns::ALL.contains(&c.customer.as_str()) {
        return Err(Error::Usage(format!(
            "the customer column cannot be named '{}': the features file has a column of that name",
            c.customer
        )));
    }
    Ok(())
}

/// One unit's rows, routed to shards, and its counts.
struct UnitOut<K: KeyKind> {
    shards: Vec<ShardRows<K>>,
    counts: FeatureReport,
}

/// Computes the features of the transactions in `paths` (in order). Returns one record batch, one row per
/// customer ordered by ID, and the report.
pub fn build_features(paths: &[PathBuf], opts: &FeatureOptions) -> Result<(RecordBatch, FeatureReport)> {
    check_options(paths, opts)?;
    let files = plan_files(paths, &opts.columns)?;
    let id_type = files[0].types[CUSTOMER].clone().expect("customer column");
    let (ids, totals, mut report) = match id_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => aggregate::<StrKeys>(&files, opts, &id_type)?,
        _ => aggregate::<IntKeys>(&files, opts, &id_type)?,
    };
    check_counts(&report, paths, opts)?;
    report.customers = totals.len() as u64;
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
    let (batch, report) = build_features(paths, opts)?;
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

/// Errors that need the whole input: no date parsed at all, or no row left.
fn check_counts(r: &FeatureReport, paths: &[PathBuf], opts: &FeatureOptions) -> Result<()> {
    let dated = r.rows_read - r.null_customer_rows - r.null_amount_rows - r.null_date_rows;
    if r.unparsable_dates > 0 && r.unparsable_dates == dated {
        return Err(Error::Data(format!(
            "date column '{}': none of its {dated} values is a date (YYYY-MM-DD, YYYYMMDD or an ISO timestamp), e.g. {} (in {})",
            opts.columns.date,
            r.first_unparsable_date.as_deref().unwrap_or("?"),
            file_list(paths)
        )));
    }
    if r.rows_used == 0 {
        return Err(Error::Data(format!(
            "no transactions left of {} rows: {} with a null customer, {} with a null or non-finite amount, {} with a null date, {} unparsable dates, {} after as-of {}, {} with a null order (in {})",
            r.rows_read,
            r.null_customer_rows,
            r.null_amount_rows,
            r.null_date_rows,
            r.unparsable_dates,
            r.rows_after_as_of,
            format_date(opts.as_of),
            r.null_order_rows,
            file_list(paths)
        )));
    }
    Ok(())
}

/// One unit of work: a row group.
#[derive(Debug, Clone, Copy)]
struct Unit {
    file: usize,
    row_group: usize,
    rows: usize,
}

/// Streams every file through the sharded state; returns the customer IDs (as an array of `id_type`, ascending),
/// their totals in the same order, and the row counts.
fn aggregate<K: KeyKind>(
    files: &[TxFile],
    opts: &FeatureOptions,
    id_type: &DataType,
) -> Result<(ArrayRef, Vec<Totals>, FeatureReport)> {
    let units: Vec<Unit> = files
        .iter()
        .enumerate()
        .flat_map(|(f, file)| {
            file.row_groups.iter().enumerate().map(move |(g, &rows)| Unit { file: f, row_group: g, rows })
        })
        .collect();
    let max_units = (4 * rayon::current_num_threads()).max(2);
    let mut windows: Vec<&[Unit]> = Vec::new();
    let mut start = 0;
    while start < units.len() {
        let mut end = start;
        let mut rows = 0;
        while end < units.len() && (end == start || (rows < WINDOW_ROWS && end - start < max_units)) {
            rows += units[end].rows;
            end += 1;
        }
        windows.push(&units[start..end]);
        start = end;
    }
    let track = Track { orders: opts.columns.order.is_some(), categories: opts.columns.category.is_some() };

    let mut shards: Vec<Shard<K>> = (0..SHARDS).map(|_| Shard::default()).collect();
    let mut report = FeatureReport::default();
    let mut pending: Option<Vec<UnitOut<K>>> = None;
    let t0 = std::time::Instant::now();
    let dec = std::sync::atomic::AtomicU64::new(0);
    let app = std::sync::atomic::AtomicU64::new(0);
    for window in windows {
        let (decoded, ()) = rayon::join(
            || {
                let t = std::time::Instant::now();
                let r = window
                    .par_iter()
                    .map(|u| decode_unit::<K>(&files[u.file], u.row_group, opts))
                    .collect::<Result<Vec<_>>>();
                dec.fetch_add(t.elapsed().as_micros() as u64, std::sync::atomic::Ordering::Relaxed);
                r
            },
            || {
                let t = std::time::Instant::now();
                if let Some(outs) = pending.take() {
                    apply_window(&mut shards, outs, track, &mut report);
                }
                app.fetch_add(t.elapsed().as_micros() as u64, std::sync::atomic::Ordering::Relaxed);
            },
        );
        pending = Some(decoded?);
    }
    if let Some(outs) = pending.take() {
        apply_window(&mut shards, outs, track, &mut report);
    }

    tracing::debug!(
        elapsed = ?t0.elapsed(),
        decode_ms = dec.into_inner() / 1000,
        apply_ms = app.into_inner() / 1000,
        "transactions streamed"
    );
    let t0 = std::time::Instant::now();
    let n: usize = shards.iter().map(|s| s.customers()).sum();
    let mut all: Vec<(K::Owned, Totals)> = Vec::with_capacity(n);
    for part in shards.into_par_iter().map(Shard::finish).collect::<Vec<_>>() {
        all.extend(part);
    }
    K::sort_pairs(&mut all, id_type);
    tracing::debug!(elapsed = ?t0.elapsed(), "customer states finished and sorted");
    let (keys, totals): (Vec<K::Owned>, Vec<Totals>) = all.into_iter().unzip();
    Ok((K::to_array(keys, id_type), totals, report))
}

/// Applies a window's rows: every shard in parallel, each taking the units in order.
fn apply_window<K: KeyKind>(shards: &mut [Shard<K>], outs: Vec<UnitOut<K>>, track: Track, report: &mut FeatureReport) {
    let mut per_shard: Vec<Vec<ShardRows<K>>> = (0..SHARDS).map(|_| Vec::with_capacity(outs.len())).collect();
    for out in outs {
        report.add(&out.counts);
        for (s, rows) in out.shards.into_iter().enumerate() {
            per_shard[s].push(rows);
        }
    }
    shards.par_iter_mut().zip(per_shard).for_each(|(shard, list)| {
        for rows in &list {
            shard.apply(rows, track);
        }
    });
}

fn column_error(path: &Path, column: &str, m: impl std::fmt::Display) -> Error {
    Error::Data(format!("{}: column '{column}': {m}", path.display()))
}

/// Decodes one row group and routes its usable rows to the shards.
fn decode_unit<K: KeyKind>(file: &TxFile, row_group: usize, opts: &FeatureOptions) -> Result<UnitOut<K>> {
    let path = file.path.as_path();
    let mut out =
        UnitOut { shards: (0..SHARDS).map(|_| ShardRows::default()).collect(), counts: FeatureReport::default() };
    decode_row_group(
        path,
        &file.meta,
        &file.roots,
        row_group,
        file.row_groups[row_group],
        opts.batch_size,
        |batch, _| route_batch(batch, file, opts, &mut out),
    )?;
    Ok(out)
}

/// Classifies each row of `batch` (see the module docs), counts, and appends the usable ones to their shards.
fn route_batch<K: KeyKind>(
    batch: &RecordBatch,
    file: &TxFile,
    opts: &FeatureOptions,
    out: &mut UnitOut<K>,
) -> Result<()> {
    let path = file.path.as_path();
    let cols = &opts.columns;
    let col = |role: usize| batch.column(file.pos[role].expect("role is projected"));
    let n = batch.num_rows();

    let customer = col(CUSTOMER);
    let customer: ArrayRef = match customer.data_type() {
        DataType::Dictionary(_, v) => {
            arrow::compute::cast(customer, v).map_err(|e| column_error(path, &cols.customer, e))?
        }
        _ => customer.clone(),
    };
    let customer_nulls = customer.logical_nulls();
    let (amount, amount_ok) = amounts(col(AMOUNT).as_ref()).map_err(|m| column_error(path, &cols.amount, m))?;
    let days = to_days(col(DATE).as_ref()).map_err(|m| column_error(path, &cols.date, m))?;
    let order = match file.pos[ORDER] {
        Some(p) => Some(
            key_values(batch.column(p).as_ref())
                .map_err(|m| column_error(path, cols.order.as_deref().unwrap_or_default(), m))?,
        ),
        None => None,
    };
    let category = match file.pos[CATEGORY] {
        Some(p) => Some(
            key_values(batch.column(p).as_ref())
                .map_err(|m| column_error(path, cols.category.as_deref().unwrap_or_default(), m))?,
        ),
        None => None,
    };
    let is_null = |nb: &Option<arrow::buffer::NullBuffer>, i: usize| nb.as_ref().is_some_and(|nb| nb.is_null(i));

    let c = &mut out.counts;
    c.rows_read += n as u64;
    let mut kept: Vec<u32> = Vec::with_capacity(n);
    for i in 0..n {
        if is_null(&customer_nulls, i) {
            c.null_customer_rows += 1;
            continue;
        }
        if !amount_ok[i] {
            c.null_amount_rows += 1;
            continue;
        }
        match days.status[i] {
            DayStatus::Null => {
                c.null_date_rows += 1;
                continue;
            }
            DayStatus::Unparsable => {
                c.unparsable_dates += 1;
                if c.first_unparsable_date.is_none() {
                    let shown = ArrayFormatter::try_new(col(DATE).as_ref(), &FormatOptions::default())
                        .map(|f| f.value(i).to_string())
                        .unwrap_or_default();
                    c.first_unparsable_date = Some(format!("'{shown}' in {}", path.display()));
                }
                continue;
            }
            DayStatus::Ok => {}
        }
        if days.days[i] > opts.as_of {
            c.rows_after_as_of += 1;
            continue;
        }
        if let Some((_, nulls)) = &order {
            if is_null(nulls, i) {
                c.null_order_rows += 1;
                continue;
            }
        }
        if let Some((_, nulls)) = &category {
            c.null_category_rows += u64::from(is_null(nulls, i));
        }
        c.rows_used += 1;
        if amount[i] == 0.0 {
            c.zero_amount_rows += 1;
        } else if amount[i] < 0.0 {
            c.negative_amount_rows += 1;
        }
        kept.push(i as u32);
    }

    let shards = &mut out.shards;
    K::visit(customer.as_ref(), &kept, |j, key| {
        let r = kept[j] as usize;
        let rows = &mut shards[shard_of(key_hash(key))];
        K::buf_push(&mut rows.keys, key);
        rows.day.push(days.days[r]);
        rows.amount.push(amount[r]);
        if let Some((o, _)) = &order {
            rows.order.push(o[r]);
        }
        if let Some((v, nulls)) = &category {
            rows.cat.push(v[r]);
            rows.cat_ok.push(!is_null(nulls, r));
        }
    });
    Ok(())
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

    let mut summary = None;
    if let Some(ro) = &opts.rfm {
        let s = rfm::score(&recency, &frequency, &monetary, &tenure, ro);
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
    use std::fs::File;

    use arrow::array::{
        AsArray, Date32Array, DictionaryArray, Int8Array, LargeStringArray, StringViewArray, TimestampSecondArray,
        UInt64Array,
    };
    use arrow::datatypes::{Float64Type, Int32Type, Int64Type, UInt8Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// Writes `columns` as `name` in `dir`, with row groups of at most `group` rows.
    fn write(dir: &Path, name: &str, columns: Vec<(&str, ArrayRef)>, group: usize) -> PathBuf {
        let path = dir.join(name);
        let batch = RecordBatch::try_from_iter(columns.into_iter().map(|(n, a)| (n.to_string(), a))).unwrap();
        let props = WriterProperties::builder().set_max_row_group_row_count(Some(group)).build();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        path
    }

    fn day(s: &str) -> i32 {
        crate::features::parse_date(s).unwrap()
    }

    /// Every column of a Parquet file as one record batch.
    fn read_all(p: &Path) -> RecordBatch {
        let r = ParquetRecordBatchReaderBuilder::try_new(File::open(p).unwrap()).unwrap().build().unwrap();
        let b: Vec<RecordBatch> = r.map(|b| b.unwrap()).collect();
        arrow::compute::concat_batches(&b[0].schema(), &b).unwrap()
    }

    fn opts(as_of: &str) -> FeatureOptions {
        FeatureOptions::new(day(as_of))
    }

    fn dates(v: &[&str]) -> ArrayRef {
        Arc::new(Date32Array::from(v.iter().map(|s| day(s)).collect::<Vec<_>>()))
    }

    fn f64s(v: Vec<f64>) -> ArrayRef {
        Arc::new(Float64Array::from(v))
    }

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

    fn assert_has(m: &str, parts: &[&str]) {
        for p in parts {
            assert!(m.contains(p), "expected {p:?} in: {m}");
        }
    }

    /// Three customers, as of 2026-11-01:
    /// 1: 100 on 10-01, 50 on 10-01 (same day), −30 on 10-21 → 3 rows, 2 days.
    /// 2: 20 on 11-01 (as-of: kept) and 99 on 11-02 (after: dropped).
    /// 3: 40 on 2026-01-01, 0 on 06-01, 60 on 10-31.
    fn small(dir: &Path) -> PathBuf {
        write(
            dir,
            "tx.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![3, 1, 1, 2, 2, 1, 3, 3]))),
                (
                    "date",
                    dates(&[
                        "2026-01-01",
                        "2026-10-01",
                        "2026-10-01",
                        "2026-11-01",
                        "2026-11-02",
                        "2026-10-21",
                        "2026-06-01",
                        "2026-10-31",
                    ]),
                ),
                ("amount", f64s(vec![40.0, 100.0, 50.0, 20.0, 99.0, -30.0, 0.0, 60.0])),
            ],
            3,
        )
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
    fn rows_after_as_of_are_excluded_and_rows_on_it_kept() {
        let dir = tempfile::tempdir().unwrap();
        let f = small(dir.path());
        let (b, r) = build_features(std::slice::from_ref(&f), &opts("2026-10-31")).unwrap();
        assert_eq!(i64s(&b, "customer_id"), [1, 3]);
        assert_eq!(r.rows_after_as_of, 2);
        assert_eq!(i64s(&b, "recency_days"), [10, 0]);
        let e = err(&[f], &opts("2025-12-31"));
        assert_has(&e, &["no transactions left of 8 rows", "8 after as-of 2025-12-31", "tx.parquet"]);
    }

    #[test]
    fn bad_rows_are_counted_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "bad.parquet",
            vec![
                (
                    "customer_id",
                    Arc::new(StringArray::from(vec![
                        None,
                        Some("a"),
                        Some("a"),
                        Some("a"),
                        Some("b"),
                        Some("b"),
                        Some("b"),
                    ])),
                ),
                (
                    "date",
                    Arc::new(StringArray::from(vec![
                        Some("bad"),
                        Some("2026-10-01"),
                        None,
                        Some("31/10/2026"),
                        Some("2026-10-05T10:00:00+02:00"),
                        Some("20261006"),
                        Some("2027-01-01"),
                    ])),
                ),
                (
                    "amount",
                    Arc::new(Float64Array::from(vec![
                        Some(1.0),
                        Some(f64::NAN),
                        Some(1.0),
                        Some(1.0),
                        Some(-5.0),
                        Some(10.0),
                        None,
                    ])),
                ),
            ],
            100,
        );
        let (b, r) = build_features(&[f], &opts("2026-11-01")).unwrap();
        assert_eq!(
            (
                r.null_customer_rows,
                r.null_amount_rows,
                r.null_date_rows,
                r.unparsable_dates,
                r.rows_after_as_of,
                r.rows_used,
                r.negative_amount_rows
            ),
            (1, 2, 1, 1, 0, 2, 1)
        );
        assert_eq!(r.rows_read, 7);
        assert_eq!(
            r.first_unparsable_date.as_deref().map(|s| s.starts_with("'31/10/2026' in ")),
            Some(true),
            "{:?}",
            r.first_unparsable_date
        );
        assert_eq!(col(&b, "customer_id").as_string::<i32>().iter().collect::<Vec<_>>(), [Some("b")]);
        assert_eq!(floats(&b, "returns_share"), [Some(0.5)]);
        assert_eq!(i64s(&b, "frequency"), [2]);
    }

    #[test]
    fn all_dates_unparsable_is_an_error_naming_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "us.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![1, 2]))),
                ("when", Arc::new(StringArray::from(vec![Some("10/01/2026"), Some("10/02/2026")]))),
                ("amount", f64s(vec![1.0, 2.0])),
            ],
            100,
        );
        let mut o = opts("2026-11-01");
        o.columns.date = "when".into();
        let e = err(&[f], &o);
        assert_has(&e, &["date column 'when'", "none of its 2 values is a date", "'10/01/2026'", "us.parquet"]);
    }

    #[test]
    fn missing_columns_are_listed_with_the_columns_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "m.parquet",
            vec![("cust", Arc::new(Int64Array::from(vec![1]))), ("amount", f64s(vec![1.0]))],
            100,
        );
        let mut o = opts("2026-11-01");
        o.columns.order = Some("order_id".into());
        let e = err(&[f], &o);
        assert_has(&e, &["m.parquet: no columns 'customer_id', 'date', 'order_id'; columns are: cust, amount"]);
    }

    #[test]
    fn date_types_differing_between_files_name_both() {
        let dir = tempfile::tempdir().unwrap();
        let a = small(dir.path());
        let b = write(
            dir.path(),
            "strings.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![9]))),
                ("date", Arc::new(StringArray::from(vec!["2026-10-01"]))),
                ("amount", f64s(vec![1.0])),
            ],
            100,
        );
        let e = err(&[a, b], &opts("2026-11-01"));
        assert_has(&e, &["date column 'date' has type Utf8 in ", "strings.parquet but Date32 in ", "tx.parquet"]);
    }

    #[test]
    fn wrong_column_types_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "t.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![1]))),
                ("date", f64s(vec![1.0])),
                ("amount", Arc::new(StringArray::from(vec!["1"]))),
            ],
            100,
        );
        let e = err(&[f], &opts("2026-11-01"));
        assert_has(&e, &["t.parquet: date column 'date' has type Float64"]);
    }

    #[test]
    fn every_date_type_gives_the_same_features() {
        let dir = tempfile::tempdir().unwrap();
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 1, 2]));
        let amount = f64s(vec![10.0, 5.0, 7.0]);
        let d = ["2026-10-01", "2026-10-05", "2026-11-01"];
        let secs: Vec<i64> = d.iter().map(|s| day(s) as i64 * 86_400 + 3600).collect();
        let variants: Vec<(&str, ArrayRef)> = vec![
            ("date32", dates(&d)),
            ("utc_ts", Arc::new(TimestampSecondArray::from(secs.clone()).with_timezone("UTC"))),
            (
                // 01:00 UTC is still the same day at −01:00 (00:00).
                "offset_ts",
                Arc::new(TimestampSecondArray::from(secs.clone()).with_timezone("-01:00")),
            ),
            ("naive_ts", Arc::new(TimestampSecondArray::from(secs))),
            ("yyyymmdd", Arc::new(Int32Array::from(vec![20261001, 20261005, 20261101]))),
            ("iso", Arc::new(LargeStringArray::from(d.to_vec()))),
            ("view", Arc::new(StringViewArray::from(d.to_vec()))),
            ("dict", Arc::new(d.iter().copied().collect::<DictionaryArray<Int32Type>>())),
        ];
        let mut first: Option<RecordBatch> = None;
        for (name, dates) in variants {
            let f = write(
                dir.path(),
                &format!("{name}.parquet"),
                vec![("customer_id", ids.clone()), ("date", dates), ("amount", amount.clone())],
                100,
            );
            let (b, _) = build_features(&[f], &opts("2026-11-01")).unwrap();
            assert_eq!(i64s(&b, "recency_days"), [27, 0], "{name}");
            match &first {
                None => first = Some(b),
                Some(f) => assert_eq!(f, &b, "{name}"),
            }
        }
    }

    #[test]
    fn orders_count_distinct_order_ids_and_categories_distinct_values() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "o.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![1, 1, 1, 1, 2]))),
                ("date", dates(&["2026-10-01", "2026-10-01", "2026-10-01", "2026-10-03", "2026-10-03"])),
                ("amount", f64s(vec![10.0, 20.0, 30.0, 40.0, 50.0])),
                ("order_id", Arc::new(StringArray::from(vec!["A", "A", "B", "A", "C"]))),
                ("category", Arc::new(StringArray::from(vec![Some("x"), None, Some("y"), Some("x"), None]))),
            ],
            2,
        );
        let mut o = opts("2026-11-01");
        o.columns.order = Some("order_id".into());
        o.columns.category = Some("category".into());
        let (b, r) = build_features(&[f], &o).unwrap();
        assert_eq!(i64s(&b, "frequency"), [2, 1], "orders A and B; C");
        assert_eq!(floats(&b, "avg_order_value"), [Some(50.0), Some(50.0)]);
        assert_eq!(i64s(&b, "n_categories"), [2, 0]);
        assert_eq!(i64s(&b, "bgnbd_x"), [1, 0], "two distinct days");
        assert_eq!(r.null_category_rows, 2);
    }

    #[test]
    fn more_than_64_categories_are_counted_exactly() {
        // Customer 1 buys 150 categories (each twice, out of order); customer 2 three of them. Categories past the
        // shard's 64th take the pair path instead of the state's bits.
        let dir = tempfile::tempdir().unwrap();
        let mut ids = Vec::new();
        let mut cats = Vec::new();
        for round in 0..2 {
            for c in 0..150i64 {
                ids.push(1i64);
                cats.push(if round == 0 { c } else { 149 - c });
            }
        }
        for c in [7i64, 100, 7, 149] {
            ids.push(2);
            cats.push(c);
        }
        let n = ids.len();
        let f = write(
            dir.path(),
            "c.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(ids))),
                ("date", dates(&vec!["2026-10-01"; n])),
                ("amount", f64s(vec![1.0; n])),
                ("category", Arc::new(Int64Array::from(cats))),
            ],
            97,
        );
        let mut o = opts("2026-11-01");
        o.columns.category = Some("category".into());
        let (b, _) = build_features(&[f], &o).unwrap();
        assert_eq!(i64s(&b, "n_categories"), [150, 3]);
    }

    #[test]
    fn null_orders_are_dropped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "o.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![1, 1]))),
                ("date", dates(&["2026-10-01", "2026-10-02"])),
                ("amount", f64s(vec![10.0, 20.0])),
                ("order_id", Arc::new(Int64Array::from(vec![Some(5), None]))),
            ],
            100,
        );
        let mut o = opts("2026-11-01");
        o.columns.order = Some("order_id".into());
        let (b, r) = build_features(&[f], &o).unwrap();
        assert_eq!((r.null_order_rows, r.rows_used), (1, 1));
        assert_eq!(floats(&b, "monetary"), [Some(10.0)]);
    }

    #[test]
    fn ids_keep_their_type_and_sort_by_value() {
        let dir = tempfile::tempdir().unwrap();
        let run = |name: &str, ids: ArrayRef| {
            let n = ids.len();
            let f = write(
                dir.path(),
                name,
                vec![("customer_id", ids), ("date", dates(&vec!["2026-10-01"; n])), ("amount", f64s(vec![1.0; n]))],
                2,
            );
            build_features(&[f], &opts("2026-11-01")).unwrap().0
        };
        let b = run("i8.parquet", Arc::new(Int8Array::from(vec![5, -3, 100, -3])));
        assert_eq!(col(&b, "customer_id").data_type(), &DataType::Int8);
        assert_eq!(i64s(&b, "customer_id"), [-3, 5, 100]);
        let b = run("u64.parquet", Arc::new(UInt64Array::from(vec![u64::MAX, 1, u64::MAX])));
        assert_eq!(
            col(&b, "customer_id").as_primitive::<arrow::datatypes::UInt64Type>().values().to_vec(),
            [1, u64::MAX]
        );
        let b = run(
            "dict.parquet",
            Arc::new(vec!["zed", "amy", "zed"].into_iter().collect::<DictionaryArray<Int32Type>>()),
        );
        assert_eq!(col(&b, "customer_id").data_type(), &DataType::Utf8);
        assert_eq!(col(&b, "customer_id").as_string::<i32>().iter().collect::<Vec<_>>(), [Some("amy"), Some("zed")]);
        let b = run("view.parquet", Arc::new(StringViewArray::from(vec!["b", "a"])));
        assert_eq!(col(&b, "customer_id").data_type(), &DataType::Utf8View);
    }

    #[test]
    fn returns_only_customers_have_no_returns_share() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "r.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![1, 1]))),
                ("date", dates(&["2026-10-01", "2026-10-02"])),
                ("amount", f64s(vec![-10.0, 0.0])),
            ],
            100,
        );
        let (b, r) = build_features(&[f], &opts("2026-11-01")).unwrap();
        assert_eq!(floats(&b, "returns_share"), [None]);
        assert_eq!(floats(&b, "monetary"), [Some(-10.0)]);
        assert_eq!((r.zero_amount_rows, r.negative_amount_rows), (1, 1));
    }

    /// A bigger log, many row groups, in two files.
    fn many(dir: &Path) -> Vec<PathBuf> {
        let as_of = day("2026-11-01");
        let batches: Vec<RecordBatch> =
            crate::features::generate_transactions(40_000, 5, as_of).collect::<Result<_>>().unwrap();
        let all = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        let mut paths = Vec::new();
        for (i, part) in [all.slice(0, 25_000), all.slice(25_000, 15_000)].iter().enumerate() {
            let p = dir.join(format!("part{i}.parquet"));
            let props = WriterProperties::builder().set_max_row_group_row_count(Some(1_000 + 777 * i)).build();
            let mut w = ArrowWriter::try_new(File::create(&p).unwrap(), part.schema(), Some(props)).unwrap();
            w.write(part).unwrap();
            w.close().unwrap();
            paths.push(p);
        }
        paths
    }

    #[test]
    fn the_result_does_not_depend_on_threads_or_batches() {
        let dir = tempfile::tempdir().unwrap();
        let paths = many(dir.path());
        let mut o = opts("2026-11-01");
        o.columns.order = Some("order_id".into());
        o.columns.category = Some("category".into());
        let run = |threads: usize, batch: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let o = FeatureOptions { batch_size: batch, ..o.clone() };
            pool.install(|| build_features(&paths, &o).unwrap())
        };
        let (a, ra) = run(1, 65_536);
        let (b, rb) = run(3, 333);
        assert_eq!(a, b);
        assert_eq!(ra, rb);
        assert!(ra.customers > 1_000 && ra.rows_after_as_of > 0);
    }

    #[test]
    fn merged_states_equal_a_naive_aggregation() {
        use std::collections::{BTreeMap, BTreeSet};
        let dir = tempfile::tempdir().unwrap();
        let paths = many(dir.path());
        let as_of = day("2026-11-01");
        let mut o = FeatureOptions::new(as_of);
        o.columns.order = Some("order_id".into());
        o.columns.category = Some("category".into());
        let (b, _) = build_features(&paths, &o).unwrap();
        #[derive(Default)]
        struct Naive {
            days: BTreeSet<i32>,
            orders: BTreeSet<i64>,
            cats: BTreeSet<String>,
            sum: f64,
        }
        let mut naive: BTreeMap<i64, Naive> = BTreeMap::new();
        for p in &paths {
            let t = read_all(p);
            let c = t.column(0).as_primitive::<Int64Type>();
            let o = t.column(1).as_primitive::<Int64Type>();
            let d = t.column(2).as_primitive::<arrow::datatypes::Date32Type>();
            let a = t.column(3).as_primitive::<Float64Type>();
            let k = arrow::compute::cast(t.column(4), &DataType::Utf8).unwrap();
            let k = k.as_string::<i32>();
            for i in 0..t.num_rows() {
                if d.value(i) > as_of {
                    continue;
                }
                let n = naive.entry(c.value(i)).or_default();
                n.days.insert(d.value(i));
                n.orders.insert(o.value(i));
                n.cats.insert(k.value(i).to_string());
                n.sum += a.value(i);
            }
        }
        assert_eq!(i64s(&b, "customer_id"), naive.keys().copied().collect::<Vec<_>>());
        let freq = i64s(&b, "frequency");
        let ncat = i64s(&b, "n_categories");
        let x = i64s(&b, "bgnbd_x");
        let m = floats(&b, "monetary");
        for (i, n) in naive.values().enumerate() {
            assert_eq!(freq[i], n.orders.len() as i64);
            assert_eq!(ncat[i], n.cats.len() as i64);
            assert_eq!(x[i], n.days.len() as i64 - 1);
            assert!((m[i].unwrap() - n.sum).abs() <= 1e-9 * n.sum.abs().max(1.0));
        }
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
    fn corrupt_or_missing_files_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let f = small(dir.path());
        let mut bytes = std::fs::read(&f).unwrap();
        let n = bytes.len();
        bytes.truncate(n - 10);
        let bad = dir.path().join("cut.parquet");
        std::fs::write(&bad, bytes).unwrap();
        assert_has(&err(&[bad], &opts("2026-11-01")), &["cut.parquet", "not a readable Parquet file"]);
        let e = err(&[dir.path().join("nope.parquet")], &opts("2026-11-01"));
        assert_has(&e, &["nope.parquet", "cannot open"]);
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
}
