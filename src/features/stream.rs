//! The streaming of transaction files into the sharded per-customer states (`state`), and their merge: the
//! customers' totals, ordered by ID, and the row counts.
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
//! **How.** Work is split into units, one per row group. A window of units is decoded in parallel (rayon), each
//! unit's rows being converted and routed to one of [`SHARDS`] customer shards by key hash; then the shards
//! apply the window's rows in parallel, unit after unit, so each customer sees its rows in file order (so each
//! customer's amounts are summed in file order, and the result does not depend on the thread count). The next
//! window is decoded while the previous one is applied. At the end every shard finishes its customers in
//! parallel and the customers are sorted by ID. Memory: the state of `state` (a fixed 64 bytes per customer plus
//! 8 to 12 bytes per distinct customer-day, customer-order and customer-category pair, at most 1.5 times that
//! between compactions) plus two windows of rows in flight (about 40 bytes a row, a window being [`WINDOW_ROWS`]
//! rows or one row group if larger).

use std::path::Path;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rayon::prelude::*;

use super::dates::{to_days, DayStatus};
use super::extra::window_start;
use super::input::{amounts, key_values, TxFile, AMOUNT, CATEGORY, CUSTOMER, DATE, ORDER, PROFIT};
use super::options::FeatureOptions;
use super::report::FeatureReport;
use super::state::{key_hash, shard_of, IntKeys, KeyKind, Shard, ShardRows, StrKeys, Totals, Track, SHARDS};
use crate::error::{Error, Result};
use crate::io::csv_read::read_csv;
use crate::io::parquet::decode_row_group;

/// Rows per window of units decoded together (a window holds at least one row group).
const WINDOW_ROWS: usize = 4 << 20;

/// One unit's rows, routed to shards, and its counts.
struct UnitOut<K: KeyKind> {
    shards: Vec<ShardRows<K>>,
    counts: FeatureReport,
}

/// Streams every file through the sharded state; returns the customer IDs (as an array of the first file's ID
/// type, ascending), their totals in the same order, and the row counts.
pub(crate) fn aggregate(files: &[TxFile], opts: &FeatureOptions) -> Result<(ArrayRef, Vec<Totals>, FeatureReport)> {
    let id_type = files[0].types[CUSTOMER].clone().expect("customer column");
    match id_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => aggregate_keys::<StrKeys>(files, opts, &id_type),
        _ => aggregate_keys::<IntKeys>(files, opts, &id_type),
    }
}

/// One unit of work: a row group.
#[derive(Debug, Clone, Copy)]
struct Unit {
    file: usize,
    row_group: usize,
    rows: usize,
}

/// [`aggregate`] for one kind of customer key; `id_type` is the type of the ID column.
fn aggregate_keys<K: KeyKind>(
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
    let track = Track {
        orders: opts.columns.order.is_some(),
        categories: opts.columns.category.is_some(),
        margin: opts.columns.profit().is_some(),
        window_start: window_start(opts.as_of, opts.window_days),
    };

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
    for part in shards.into_par_iter().map(|s| s.finish(track)).collect::<Vec<_>>() {
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
    // A CSV file is one unit, decoded in parallel pieces by the CSV reader itself.
    let Some(meta) = &file.meta else {
        for batch in read_csv(path, &file.schema, &file.roots, opts.batch_size)? {
            route_batch(&batch, file, opts, &mut out)?;
        }
        return Ok(out);
    };
    decode_row_group(path, meta, &file.roots, row_group, file.row_groups[row_group], opts.batch_size, |batch, _| {
        route_batch(batch, file, opts, &mut out)
    })?;
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
    let profit = match file.pos[PROFIT] {
        Some(p) => Some(
            amounts(batch.column(p).as_ref()).map_err(|m| column_error(path, cols.profit().unwrap_or_default(), m))?,
        ),
        None => None,
    };
    let is_cost = cols.cost.is_some();
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
        if let Some((v, ok)) = &profit {
            if !ok[i] {
                c.null_profit_rows += 1;
                continue;
            }
            c.cost_above_amount_rows += u64::from(is_cost && v[i].abs() > amount[i].abs());
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
        if let Some((v, _)) = &profit {
            rows.margin.push(if is_cost { amount[r] - v[r] } else { v[r] });
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::Arc;

    use arrow::array::{
        AsArray, DictionaryArray, Float64Array, Int32Array, Int64Array, Int8Array, LargeStringArray, StringArray,
        StringViewArray, TimestampSecondArray, UInt64Array,
    };
    use arrow::datatypes::{Float64Type, Int32Type, Int64Type};

    use super::super::input::plan_files;
    use super::super::testing::{dates, day, f64s, many, opts, read_all, small};
    use crate::test_util::{batch, write_batch, write_parquet};

    /// The customer IDs, their totals and the counts of `paths`.
    fn run(paths: &[PathBuf], o: &FeatureOptions) -> (ArrayRef, Vec<Totals>, FeatureReport) {
        aggregate(&plan_files(paths, &o.columns, &[]).unwrap(), o).unwrap()
    }

    fn i64s(a: &ArrayRef) -> Vec<i64> {
        arrow::compute::cast(a, &DataType::Int64).unwrap().as_primitive::<Int64Type>().values().to_vec()
    }

    /// `as_of − last day` per customer: the recency.
    fn recency(totals: &[Totals], as_of: &str) -> Vec<i32> {
        totals.iter().map(|t| day(as_of) - t.last).collect()
    }

    #[test]
    fn rows_after_as_of_are_excluded_and_rows_on_it_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (ids, totals, r) = run(&[small(dir.path())], &opts("2026-10-31"));
        assert_eq!(i64s(&ids), [1, 3]);
        assert_eq!(r.rows_after_as_of, 2);
        assert_eq!(recency(&totals, "2026-10-31"), [10, 0]);
    }

    #[test]
    fn bad_rows_are_counted_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
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
        );
        let (ids, totals, r) = run(&[f], &opts("2026-11-01"));
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
        assert_eq!(ids.as_string::<i32>().iter().collect::<Vec<_>>(), [Some("b")]);
        assert_eq!((totals[0].pos, totals[0].neg, totals[0].days), (10.0, -5.0, 2));
    }

    #[test]
    fn every_date_type_gives_the_same_totals() {
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
            (
                // 01:00 UTC is 02:00 or 03:00 in Berlin: the same day.
                "named_ts",
                Arc::new(TimestampSecondArray::from(secs.clone()).with_timezone("Europe/Berlin")),
            ),
            ("naive_ts", Arc::new(TimestampSecondArray::from(secs))),
            ("yyyymmdd", Arc::new(Int32Array::from(vec![20261001, 20261005, 20261101]))),
            ("iso", Arc::new(LargeStringArray::from(d.to_vec()))),
            ("view", Arc::new(StringViewArray::from(d.to_vec()))),
            ("dict", Arc::new(d.iter().copied().collect::<DictionaryArray<Int32Type>>())),
        ];
        let mut first = None;
        for (name, dates) in variants {
            let f = write_parquet(
                dir.path(),
                &format!("{name}.parquet"),
                vec![("customer_id", ids.clone()), ("date", dates), ("amount", amount.clone())],
            );
            let got = run(&[f], &opts("2026-11-01"));
            assert_eq!(recency(&got.1, "2026-11-01"), [27, 0], "{name}");
            match &first {
                None => first = Some(got),
                Some(f) => assert_eq!(f, &got, "{name}"),
            }
        }
    }

    #[test]
    fn orders_count_distinct_order_ids_and_categories_distinct_values() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("o.parquet");
        let b = batch(vec![
            ("customer_id", Arc::new(Int64Array::from(vec![1, 1, 1, 1, 2]))),
            ("date", dates(&["2026-10-01", "2026-10-01", "2026-10-01", "2026-10-03", "2026-10-03"])),
            ("amount", f64s(vec![10.0, 20.0, 30.0, 40.0, 50.0])),
            ("order_id", Arc::new(StringArray::from(vec!["A", "A", "B", "A", "C"]))),
            ("category", Arc::new(StringArray::from(vec![Some("x"), None, Some("y"), Some("x"), None]))),
        ]);
        write_batch(&f, &b, Some(2), None);
        let mut o = opts("2026-11-01");
        o.columns.order = Some("order_id".into());
        o.columns.category = Some("category".into());
        let (_, totals, r) = run(&[f], &o);
        let of = |g: fn(&Totals) -> u32| totals.iter().map(g).collect::<Vec<_>>();
        assert_eq!(of(|t| t.orders), [2, 1], "orders A and B; C");
        assert_eq!(of(|t| t.categories), [2, 0]);
        assert_eq!(of(|t| t.days), [2, 1], "two distinct days");
        assert_eq!(totals.iter().map(|t| t.pos).collect::<Vec<_>>(), [100.0, 50.0]);
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
        let f = dir.path().join("c.parquet");
        let b = batch(vec![
            ("customer_id", Arc::new(Int64Array::from(ids))),
            ("date", dates(&vec!["2026-10-01"; n])),
            ("amount", f64s(vec![1.0; n])),
            ("category", Arc::new(Int64Array::from(cats))),
        ]);
        write_batch(&f, &b, Some(97), None);
        let mut o = opts("2026-11-01");
        o.columns.category = Some("category".into());
        let (_, totals, _) = run(&[f], &o);
        assert_eq!(totals.iter().map(|t| t.categories).collect::<Vec<_>>(), [150, 3]);
    }

    #[test]
    fn null_orders_are_dropped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "o.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![1, 1]))),
                ("date", dates(&["2026-10-01", "2026-10-02"])),
                ("amount", f64s(vec![10.0, 20.0])),
                ("order_id", Arc::new(Int64Array::from(vec![Some(5), None]))),
            ],
        );
        let mut o = opts("2026-11-01");
        o.columns.order = Some("order_id".into());
        let (_, totals, r) = run(&[f], &o);
        assert_eq!((r.null_order_rows, r.rows_used), (1, 1));
        assert_eq!(totals[0].pos, 10.0);
    }

    #[test]
    fn ids_keep_their_type_and_sort_by_value() {
        let dir = tempfile::tempdir().unwrap();
        let run = |name: &str, ids: ArrayRef| {
            let n = ids.len();
            let f = dir.path().join(name);
            let b = batch(vec![
                ("customer_id", ids),
                ("date", dates(&vec!["2026-10-01"; n])),
                ("amount", f64s(vec![1.0; n])),
            ]);
            write_batch(&f, &b, Some(2), None);
            run(&[f], &opts("2026-11-01")).0
        };
        let ids = run("i8.parquet", Arc::new(Int8Array::from(vec![5, -3, 100, -3])));
        assert_eq!(ids.data_type(), &DataType::Int8);
        assert_eq!(i64s(&ids), [-3, 5, 100]);
        let ids = run("u64.parquet", Arc::new(UInt64Array::from(vec![u64::MAX, 1, u64::MAX])));
        assert_eq!(ids.as_primitive::<arrow::datatypes::UInt64Type>().values().to_vec(), [1, u64::MAX]);
        let ids = run(
            "dict.parquet",
            Arc::new(vec!["zed", "amy", "zed"].into_iter().collect::<DictionaryArray<Int32Type>>()),
        );
        assert_eq!(ids.data_type(), &DataType::Utf8);
        assert_eq!(ids.as_string::<i32>().iter().collect::<Vec<_>>(), [Some("amy"), Some("zed")]);
        let ids = run("view.parquet", Arc::new(StringViewArray::from(vec!["b", "a"])));
        assert_eq!(ids.data_type(), &DataType::Utf8View);
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
            pool.install(|| run(&paths, &o))
        };
        let a = run(1, 65_536);
        let b = run(3, 333);
        assert_eq!(a, b);
        assert!(a.1.len() > 1_000 && a.2.rows_after_as_of > 0);
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
        let (ids, totals, _) = run(&paths, &o);
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
        assert_eq!(i64s(&ids), naive.keys().copied().collect::<Vec<_>>());
        for (t, n) in totals.iter().zip(naive.values()) {
            assert_eq!(t.orders as usize, n.orders.len());
            assert_eq!(t.categories as usize, n.cats.len());
            assert_eq!(t.days as usize, n.days.len());
            assert_eq!((t.first, t.last), (*n.days.first().unwrap(), *n.days.last().unwrap()));
            let m = t.pos + t.neg;
            assert!((m - n.sum).abs() <= 1e-9 * n.sum.abs().max(1.0));
        }
    }
}
