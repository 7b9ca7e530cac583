//! Synthetic transaction logs for tests and benchmarks of `custseg features`: a date-ordered log of order lines
//! with returns, zero amounts, customers of very different activity, and a few days after as-of.
//!
//! The model, for `n_tx` rows and `customers = max(1, n_tx / 20)`:
//! - The log spans [`HISTORY_DAYS`] days up to as-of plus [`DAYS_AFTER_AS_OF`] days after it; row `r` is dated
//!   `first + ⌊r × span / n_tx⌋` (so the file is date-sorted and about 2% of rows fall after as-of), except that
//!   every line of an order takes the date of its first line.
//! - An order has `1 + ⌊Exp(1.5)⌋` lines (at most 12, cut at chunk ends). Its customer is drawn with
//!   `id = 1 + ⌊customers × u²⌋` (low IDs buy far more often) until one is active that day (at most 8 draws):
//!   customer `id` is active from a join day uniform in `[first − 365, as-of]` for an exponential lifetime of mean
//!   500 days, both fixed by `(seed, id)`.
//! - 4% of orders are returns (every line negative); otherwise a line's amount is lognormal (median 18, log-sd
//!   0.9) rounded to cents; 0.3% of lines are free (amount 0).
//! - `order_id` is the row number of the order's first line plus one (unique, increasing); `category` one of
//!   [`CATEGORIES`], skewed to the first ones.
//!
//! Determinism: rows are made in chunks of [`CHUNK_ROWS`](super::CHUNK_ROWS), chunk `c` from ChaCha8
//! (`seed_from_u64(seed)`, stream `c`), so a seed gives the same rows whatever the thread count.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, DictionaryArray, Float64Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::draw::{fmix64, Draw};
use super::writer::{chunk_count, chunk_span, write_chunks, write_properties};
use crate::error::{Error, Result};

/// Days of history before as-of.
pub const HISTORY_DAYS: i32 = 730;
/// Days the log runs past as-of (rows that `features` must exclude).
pub const DAYS_AFTER_AS_OF: i32 = 14;
/// Average rows per customer.
pub const ROWS_PER_CUSTOMER: usize = 20;

/// The product categories.
pub const CATEGORIES: [&str; 20] = [
    "grocery",
    "household",
    "beauty",
    "baby",
    "pets",
    "drinks",
    "snacks",
    "frozen",
    "bakery",
    "dairy",
    "electronics",
    "toys",
    "garden",
    "sports",
    "books",
    "clothing",
    "shoes",
    "kitchen",
    "office",
    "health",
];

/// `customer_id` Int64, `order_id` Int64, `date` Date32, `amount` Float64, `category` Dictionary(Int32, Utf8);
/// none nullable.
pub fn transaction_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("order_id", DataType::Int64, false),
        Field::new("date", DataType::Date32, false),
        Field::new("amount", DataType::Float64, false),
        Field::new("category", DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), false),
    ]))
}

/// The generation plan shared by all chunks.
#[derive(Clone)]
struct Plan {
    n_tx: usize,
    seed: u64,
    as_of: i32,
    customers: u64,
    first_day: i32,
    span: i64,
    schema: SchemaRef,
    categories: ArrayRef,
}

impl Plan {
    fn new(n_tx: usize, seed: u64, as_of: i32) -> Self {
        Plan {
            n_tx,
            seed,
            as_of,
            customers: (n_tx / ROWS_PER_CUSTOMER).max(1) as u64,
            first_day: as_of - HISTORY_DAYS,
            span: i64::from(HISTORY_DAYS + DAYS_AFTER_AS_OF + 1),
            schema: transaction_schema(),
            categories: Arc::new(StringArray::from(CATEGORIES.to_vec())),
        }
    }

    /// Whether customer `id` is active on `day`: join day and lifetime from a hash of (seed, id).
    fn active(&self, id: u64, day: i32) -> bool {
        let h1 = fmix64(self.seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let h2 = fmix64(h1 ^ 0x5851_F42D_4C95_7F2D);
        let unit = |h: u64| (h >> 11) as f64 / (1u64 << 53) as f64;
        let window = i64::from(self.as_of - (self.first_day - 365)) + 1;
        let join = self.first_day - 365 + (unit(h1) * window as f64) as i32;
        let life = -(1.0 - unit(h2)).ln() * 500.0;
        day >= join && f64::from(day - join) <= life
    }

    fn day_of_row(&self, r: usize) -> i32 {
        self.first_day + ((r as i128 * self.span as i128) / self.n_tx as i128) as i32
    }

    fn chunk(&self, c: usize) -> Result<RecordBatch> {
        let (start, len) = chunk_span(c, self.n_tx);
        let mut rng = Draw::new(self.seed, c as u64);
        let mut customer = Vec::with_capacity(len);
        let mut order = Vec::with_capacity(len);
        let mut date = Vec::with_capacity(len);
        let mut amount = Vec::with_capacity(len);
        let mut category = Vec::with_capacity(len);
        let mut r = start;
        while r < start + len {
            let day = self.day_of_row(r);
            let lines = (1 + (-(1.0 - rng.uniform()).ln() * 1.5) as usize).min(12);
            let mut id = 1;
            for _ in 0..8 {
                let u = rng.uniform();
                id = 1 + ((self.customers as f64 * u * u) as u64).min(self.customers - 1);
                if self.active(id, day) {
                    break;
                }
            }
            let is_return = rng.uniform() < 0.04;
            for _ in 0..lines.min(start + len - r) {
                let free = rng.uniform() < 0.003;
                let z = rng.normal_unpaired();
                let mut a = if free { 0.0 } else { ((18f64.ln() + 0.9 * z).exp() * 100.0).round().max(1.0) / 100.0 };
                if is_return && !free {
                    a = -a;
                }
                let u = rng.uniform();
                let cat = ((CATEGORIES.len() as f64 * u.powf(1.6)) as i32).min(CATEGORIES.len() as i32 - 1);
                customer.push(id as i64);
                order.push(r as i64 + 1);
                date.push(day);
                amount.push(a);
                category.push(cat);
            }
            r += lines.min(start + len - r);
        }
        let category = DictionaryArray::<Int32Type>::try_new(Int32Array::from(category), self.categories.clone())
            .map_err(|e| Error::Data(format!("generated transactions chunk {c}: {e}")))?;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(customer)),
            Arc::new(Int64Array::from(order)),
            Arc::new(Date32Array::from(date)),
            Arc::new(Float64Array::from(amount)),
            Arc::new(category),
        ];
        RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| Error::Data(format!("generated transactions chunk {c}: {e}")))
    }
}

/// The `n_tx` rows of the log for `seed` ending [`DAYS_AFTER_AS_OF`] days after `as_of`, as record batches of
/// [`CHUNK_ROWS`](super::CHUNK_ROWS) rows (the last shorter), generated lazily in order.
pub fn generate_transactions(n_tx: usize, seed: u64, as_of: i32) -> impl Iterator<Item = Result<RecordBatch>> + Send {
    let plan = Plan::new(n_tx, seed, as_of);
    (0..chunk_count(n_tx)).map(move |c| plan.chunk(c))
}

/// Writes the log of [`generate_transactions`] to `path` (zstd Parquet, row groups of
/// [`ROW_GROUP_ROWS`](super::ROW_GROUP_ROWS); delta-encoded order IDs, dictionaries for the date and the category
/// only), atomically: chunks are generated in parallel while a second thread encodes and writes them in order.
pub fn write_transactions(n_tx: usize, seed: u64, as_of: i32, path: &Path) -> Result<()> {
    let plan = Plan::new(n_tx, seed, as_of);
    write_chunks(
        path,
        plan.schema.clone(),
        write_properties(&["order_id"], &["date", "category"]),
        n_tx,
        |c| plan.chunk(c).map(|b| (b, ())),
        |()| {},
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::CHUNK_ROWS;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Date32Type, Float64Type, Int64Type};

    /// 2026-11-01, in days since 1970-01-01.
    const AS_OF: i32 = 20_758;

    fn all(n: usize, seed: u64) -> Vec<RecordBatch> {
        generate_transactions(n, seed, AS_OF).collect::<Result<_>>().unwrap()
    }

    #[test]
    fn same_seed_same_rows_other_seed_other_rows() {
        assert_eq!(all(70_000, 7), all(70_000, 7));
        assert_ne!(all(70_000, 7), all(70_000, 8));
    }

    #[test]
    fn the_log_has_the_promised_shape() {
        let as_of = AS_OF;
        let batches = all(200_000, 3);
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 200_000);
        assert_eq!(batches[0].schema(), transaction_schema());
        let (mut prev_day, mut prev_order) = (i32::MIN, 0i64);
        let (mut neg, mut zero, mut after) = (0, 0, 0);
        let mut ids = std::collections::HashSet::new();
        for b in &batches {
            let day = b.column(2).as_primitive::<Date32Type>();
            let order = b.column(1).as_primitive::<Int64Type>();
            let amount = b.column(3).as_primitive::<Float64Type>();
            for i in 0..b.num_rows() {
                assert!(day.value(i) >= prev_day, "date-sorted");
                assert!(order.value(i) >= prev_order, "order ids increase");
                prev_day = day.value(i);
                prev_order = order.value(i);
                neg += usize::from(amount.value(i) < 0.0);
                zero += usize::from(amount.value(i) == 0.0);
                after += usize::from(day.value(i) > as_of);
            }
            ids.extend(b.column(0).as_primitive::<Int64Type>().values().iter().copied());
            assert_eq!(b.column(4).null_count(), 0);
        }
        assert_eq!(prev_day, as_of + DAYS_AFTER_AS_OF);
        assert!((2_000..20_000).contains(&neg), "returns: {neg}");
        assert!((100..2_000).contains(&zero), "free lines: {zero}");
        assert!((2_000..8_000).contains(&after), "after as-of: {after}");
        assert!(ids.len() > 3_000 && ids.len() <= 10_000, "customers: {}", ids.len());
    }

    #[test]
    fn write_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tx.parquet");
        let as_of = AS_OF;
        write_transactions(100_000, 1, as_of, &p).unwrap();
        let f = std::fs::File::open(&p).unwrap();
        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .with_batch_size(CHUNK_ROWS)
            .build()
            .unwrap();
        let read: Vec<RecordBatch> = r.map(|b| b.unwrap()).collect();
        let want = all(100_000, 1);
        assert_eq!(read.len(), want.len());
        for (a, b) in read.iter().zip(&want) {
            for c in 0..4 {
                assert_eq!(a.column(c), b.column(c));
            }
            let cast = |x: &ArrayRef| arrow::compute::cast(x, &DataType::Utf8).unwrap();
            assert_eq!(&cast(a.column(4)), &cast(b.column(4)));
        }
    }
}
