//! Synthetic retail customers with planted segments (for demos, tests and benchmarks).
//!
//! [`write_customers`] writes one row per customer with eight numeric features and the ground truth
//! `planted_segment` as a string column (so the default feature selection, every numeric column but the id,
//! leaves it out). Each customer first draws its segment by the shares of [`segment_recipes`], then each feature
//! from that segment's distribution.
//!
//! Determinism: rows are made in fixed chunks of [`CHUNK_ROWS`](super::CHUNK_ROWS), chunk `c` from its own
//! ChaCha8 stream (`seed_from_u64(seed)`, stream `c`), so the output depends on the options only, never on the
//! thread count.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use super::draw::{beta_params, gamma_params, Draw};
use super::recipes::{
    segment_recipes, LogNormal, MeanSd, PlantedSegment, MAX_CATEGORIES, MAX_RECENCY_DAYS, MAX_TENURE_DAYS,
    SEGMENT_COUNTS,
};
use super::writer::{chunk_count, chunk_span, write_chunks, write_properties};
use crate::error::{Error, Result};

/// Name of the ground-truth column (Utf8).
pub const PLANTED_SEGMENT_COLUMN: &str = "planted_segment";

/// Relative noise (sd of the log) on `avg_basket` around `monetary / frequency`.
const BASKET_NOISE_SIGMA: f64 = 0.05;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Number of customers (rows). Zero gives a file with the schema and no rows.
    pub customers: usize,
    /// Random seed: the same options give the same rows and the same file bytes.
    pub seed: u64,
    /// Number of planted segments, 5 to 8 (default 6): the first `segments` rows of the recipe table.
    pub segments: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions { customers: 20_000, seed: 42, segments: 6 }
    }
}

impl GenerateOptions {
    /// The smallest and largest number of planted segments.
    pub const SEGMENTS: std::ops::RangeInclusive<usize> = SEGMENT_COUNTS;

    /// Checks the options: `segments` must be 5 to 8 (a usage error otherwise).
    pub fn validate(&self) -> Result<()> {
        if !Self::SEGMENTS.contains(&self.segments) {
            return Err(Error::Usage(format!("the number of planted segments must be 5 to 8, got {}", self.segments)));
        }
        Ok(())
    }
}

/// The schema of the generated table: `customer_id` Int64, `recency_days` Int32, `frequency` Int32,
/// `monetary` Float64, `avg_basket` Float64, `tenure_days` Int32, `n_categories` Int32, `online_share` Float32,
/// `returns_rate` Float32, `planted_segment` Utf8; none nullable.
pub fn customer_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("recency_days", DataType::Int32, false),
        Field::new("frequency", DataType::Int32, false),
        Field::new("monetary", DataType::Float64, false),
        Field::new("avg_basket", DataType::Float64, false),
        Field::new("tenure_days", DataType::Int32, false),
        Field::new("n_categories", DataType::Int32, false),
        Field::new("online_share", DataType::Float32, false),
        Field::new("returns_rate", DataType::Float32, false),
        Field::new(PLANTED_SEGMENT_COLUMN, DataType::Utf8, false),
    ]))
}

/// Rows written per planted segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRows {
    pub name: &'static str,
    /// The recipe's share (the expected fraction).
    pub planted_share: f64,
    /// Rows actually written with this segment.
    pub rows: usize,
}

/// What [`write_customers`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateSummary {
    /// Rows written (= customers).
    pub rows: usize,
    /// One entry per planted segment, in recipe order.
    pub per_segment: Vec<SegmentRows>,
}

/// Generates all customers in memory, as record batches of [`CHUNK_ROWS`](super::CHUNK_ROWS) rows (the last one
/// shorter) with [`customer_schema`], in parallel. Prefer [`write_customers`] for large tables: it streams.
pub fn generate_customers(opts: &GenerateOptions) -> Result<Vec<RecordBatch>> {
    let plan = Plan::new(opts)?;
    (0..chunk_count(plan.customers)).into_par_iter().map(|c| plan.chunk(c).map(|(batch, _)| batch)).collect()
}

/// Writes the customers to `path` as zstd Parquet (row groups of [`ROW_GROUP_ROWS`](super::ROW_GROUP_ROWS); delta
/// encoding for the sequential ids, dictionaries only where values repeat), atomically: chunks are generated in
/// parallel on the current rayon pool while a second thread encodes and writes them in order. Returns the rows
/// written per planted segment.
pub fn write_customers(opts: &GenerateOptions, path: &Path) -> Result<GenerateSummary> {
    let plan = Plan::new(opts)?;
    let mut counts = vec![0usize; plan.recipes.len()];
    write_chunks(
        path,
        plan.schema.clone(),
        write_properties(&["customer_id"], &["n_categories", PLANTED_SEGMENT_COLUMN]),
        plan.customers,
        |c| plan.chunk(c),
        |chunk_counts: Vec<usize>| {
            for (total, c) in counts.iter_mut().zip(chunk_counts) {
                *total += c;
            }
        },
    )?;
    Ok(GenerateSummary {
        rows: plan.customers,
        per_segment: plan
            .recipes
            .iter()
            .zip(counts)
            .map(|(r, rows)| SegmentRows { name: r.name, planted_share: r.share, rows })
            .collect(),
    })
}

/// Validated options with everything the chunk generator needs.
struct Plan {
    customers: usize,
    seed: u64,
    recipes: Vec<PlantedSegment>,
    samplers: Vec<SegmentSampler>,
    /// Cumulative shares; the last is forced to 1.
    cumulative: Vec<f64>,
    schema: SchemaRef,
}

impl Plan {
    fn new(opts: &GenerateOptions) -> Result<Self> {
        opts.validate()?;
        let recipes = segment_recipes(opts.segments);
        let samplers = recipes.iter().map(SegmentSampler::new).collect();
        let mut acc = 0.0;
        let mut cumulative: Vec<f64> = recipes
            .iter()
            .map(|r| {
                acc += r.share;
                acc
            })
            .collect();
        *cumulative.last_mut().expect("at least 5 segments") = 1.0;
        Ok(Plan {
            customers: opts.customers,
            seed: opts.seed,
            recipes,
            samplers,
            cumulative,
            schema: customer_schema(),
        })
    }

    /// Chunk `c` as a record batch, with its row count per segment.
    fn chunk(&self, c: usize) -> Result<(RecordBatch, Vec<usize>)> {
        let (start, len) = chunk_span(c, self.customers);
        let mut rng = Draw::new(self.seed, c as u64);
        let mut counts = vec![0usize; self.recipes.len()];
        let mut recency = Vec::with_capacity(len);
        let mut frequency = Vec::with_capacity(len);
        let mut monetary = Vec::with_capacity(len);
        let mut basket = Vec::with_capacity(len);
        let mut tenure = Vec::with_capacity(len);
        let mut categories = Vec::with_capacity(len);
        let mut online = Vec::with_capacity(len);
        let mut returns = Vec::with_capacity(len);
        let mut names = Vec::with_capacity(len);
        for _ in 0..len {
            let u = rng.uniform();
            let s = self.cumulative.iter().position(|&c| u < c).unwrap_or(self.cumulative.len() - 1);
            counts[s] += 1;
            let c = self.samplers[s].customer(&mut rng);
            recency.push(c.recency_days);
            frequency.push(c.frequency);
            monetary.push(c.monetary);
            basket.push(c.avg_basket);
            tenure.push(c.tenure_days);
            categories.push(c.n_categories);
            online.push(c.online_share);
            returns.push(c.returns_rate);
            names.push(self.recipes[s].name);
        }
        let ids = Int64Array::from_iter_values((start as i64 + 1)..=((start + len) as i64));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(ids),
            Arc::new(Int32Array::from(recency)),
            Arc::new(Int32Array::from(frequency)),
            Arc::new(Float64Array::from(monetary)),
            Arc::new(Float64Array::from(basket)),
            Arc::new(Int32Array::from(tenure)),
            Arc::new(Int32Array::from(categories)),
            Arc::new(Float32Array::from(online)),
            Arc::new(Float32Array::from(returns)),
            Arc::new(StringArray::from(names)),
        ];
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| Error::Data(format!("generated batch {c}: {e}")))?;
        Ok((batch, counts))
    }
}

/// One generated customer.
struct Customer {
    recency_days: i32,
    frequency: i32,
    monetary: f64,
    avg_basket: f64,
    tenure_days: i32,
    n_categories: i32,
    online_share: f32,
    returns_rate: f32,
}

/// A recipe turned into sampler parameters (gamma shape/scale, beta a/b, log-medians).
struct SegmentSampler {
    recency: (f64, f64),
    orders: (f64, f64),
    basket: (f64, f64),
    tenure: (f64, f64),
    categories: MeanSd,
    online: (f64, f64),
    returns: (f64, f64),
}

impl SegmentSampler {
    fn new(r: &PlantedSegment) -> Self {
        let log = |l: LogNormal| (l.median.ln(), l.sigma);
        SegmentSampler {
            recency: gamma_params(r.recency_days.mean, r.recency_days.sd),
            orders: log(r.frequency),
            basket: log(r.avg_basket),
            tenure: gamma_params(r.tenure_days.mean, r.tenure_days.sd),
            categories: r.n_categories,
            online: beta_params(r.online_share.mean, r.online_share.sd),
            returns: beta_params(r.returns_rate.mean, r.returns_rate.sd),
        }
    }

    fn customer(&self, rng: &mut Draw) -> Customer {
        let recency = rng.gamma(self.recency.0, self.recency.1).round().min(MAX_RECENCY_DAYS as f64);
        let orders = rng.lognormal(self.orders.0, self.orders.1);
        let basket = rng.lognormal(self.basket.0, self.basket.1);
        let monetary = cents(orders * basket).max(0.01);
        let frequency = orders.round().max(1.0);
        let avg_basket = cents(monetary / frequency * (BASKET_NOISE_SIGMA * rng.normal()).exp()).max(0.01);
        let tenure = rng.gamma(self.tenure.0, self.tenure.1).round().clamp(recency, MAX_TENURE_DAYS as f64);
        let categories =
            (self.categories.mean + self.categories.sd * rng.normal()).round().clamp(1.0, MAX_CATEGORIES as f64);
        let online = rng.beta(self.online.0, self.online.1);
        let returns = rng.beta(self.returns.0, self.returns.1);
        Customer {
            recency_days: recency as i32,
            frequency: frequency as i32,
            monetary,
            avg_basket,
            tenure_days: tenure as i32,
            n_categories: categories as i32,
            online_share: online as f32,
            returns_rate: returns as f32,
        }
    }
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::CHUNK_ROWS;
    use crate::test_util::mean_sd;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float32Type, Float64Type, Int32Type, Int64Type};

    fn opts(customers: usize, seed: u64) -> GenerateOptions {
        GenerateOptions { customers, seed, segments: 6 }
    }

    fn column<'a>(batches: &'a [RecordBatch], name: &str) -> Vec<&'a dyn Array> {
        batches.iter().map(|b| b.column_by_name(name).expect(name).as_ref()).collect()
    }

    fn f64s(batches: &[RecordBatch], name: &str) -> Vec<f64> {
        column(batches, name).iter().flat_map(|a| a.as_primitive::<Float64Type>().values().to_vec()).collect()
    }

    fn f32s(batches: &[RecordBatch], name: &str) -> Vec<f32> {
        column(batches, name).iter().flat_map(|a| a.as_primitive::<Float32Type>().values().to_vec()).collect()
    }

    fn i32s(batches: &[RecordBatch], name: &str) -> Vec<i32> {
        column(batches, name).iter().flat_map(|a| a.as_primitive::<Int32Type>().values().to_vec()).collect()
    }

    fn names(batches: &[RecordBatch]) -> Vec<String> {
        column(batches, PLANTED_SEGMENT_COLUMN)
            .iter()
            .flat_map(|a| a.as_string::<i32>().iter().map(|s| s.unwrap().to_string()).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn segments_outside_five_to_eight_are_a_usage_error() {
        for k in [0, 4, 9] {
            let e = generate_customers(&GenerateOptions { customers: 10, seed: 1, segments: k }).unwrap_err();
            assert!(e.is_usage(), "{k}: {e}");
            assert!(e.to_string().contains("5 to 8"), "{e}");
        }
    }

    #[test]
    fn batches_have_the_schema_and_chunk_sizes() {
        let b = generate_customers(&opts(CHUNK_ROWS + 10, 1)).unwrap();
        assert_eq!(b.iter().map(|b| b.num_rows()).collect::<Vec<_>>(), vec![CHUNK_ROWS, 10]);
        assert!(b.iter().all(|b| b.schema() == customer_schema()));
        assert_eq!(customer_schema().field_with_name(PLANTED_SEGMENT_COLUMN).unwrap().data_type(), &DataType::Utf8);
        let ids: Vec<i64> =
            column(&b, "customer_id").iter().flat_map(|a| a.as_primitive::<Int64Type>().values().to_vec()).collect();
        assert_eq!(ids, (1..=(CHUNK_ROWS as i64 + 10)).collect::<Vec<_>>());
    }

    #[test]
    fn zero_customers_give_no_batches() {
        assert!(generate_customers(&opts(0, 1)).unwrap().is_empty());
    }

    #[test]
    fn shares_match_the_recipes() {
        for k in [5, 6, 8] {
            let o = GenerateOptions { customers: 100_000, seed: 3, segments: k };
            let got = names(&generate_customers(&o).unwrap());
            for r in segment_recipes(k) {
                let share = got.iter().filter(|n| *n == r.name).count() as f64 / got.len() as f64;
                assert!((share - r.share).abs() < 0.01, "{k} segments, {}: share {share} vs {}", r.name, r.share);
            }
        }
    }

    #[test]
    fn same_seed_gives_the_same_batches() {
        let a = generate_customers(&opts(70_000, 9)).unwrap();
        let b = generate_customers(&opts(70_000, 9)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn thread_count_does_not_change_the_batches() {
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| generate_customers(&opts(3 * CHUNK_ROWS + 5, 4)).unwrap())
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn different_seeds_give_different_batches() {
        let a = generate_customers(&opts(1000, 1)).unwrap();
        let b = generate_customers(&opts(1000, 2)).unwrap();
        assert_ne!(f64s(&a, "monetary"), f64s(&b, "monetary"));
        assert_ne!(names(&a), names(&b));
    }

    #[test]
    fn values_stay_in_their_documented_ranges() {
        let b = generate_customers(&GenerateOptions { customers: 50_000, seed: 5, segments: 8 }).unwrap();
        let recency = i32s(&b, "recency_days");
        let tenure = i32s(&b, "tenure_days");
        assert!(recency.iter().all(|&r| (0..=MAX_RECENCY_DAYS).contains(&r)));
        assert!(recency.iter().zip(&tenure).all(|(&r, &t)| t >= r && t <= MAX_TENURE_DAYS));
        assert!(i32s(&b, "frequency").iter().all(|&f| f >= 1));
        assert!(i32s(&b, "n_categories").iter().all(|&c| (1..=MAX_CATEGORIES).contains(&c)));
        assert!(f64s(&b, "monetary").iter().all(|&m| m > 0.0 && m.is_finite()));
        assert!(f64s(&b, "avg_basket").iter().all(|&m| m > 0.0 && m.is_finite()));
        for c in ["online_share", "returns_rate"] {
            assert!(f32s(&b, c).iter().all(|&s| (0.0..=1.0).contains(&s)), "{c}");
        }
        let known: Vec<_> = segment_recipes(8).iter().map(|r| r.name).collect();
        assert!(names(&b).iter().all(|n| known.contains(&n.as_str())));
    }

    #[test]
    fn money_is_heavy_tailed() {
        let mut m = f64s(&generate_customers(&opts(50_000, 6)).unwrap(), "monetary");
        let mean = m.iter().sum::<f64>() / m.len() as f64;
        m.sort_by(f64::total_cmp);
        let median = m[m.len() / 2];
        assert!(mean > 1.5 * median, "mean {mean} vs median {median}");
    }

    #[test]
    fn avg_basket_is_about_monetary_over_frequency() {
        let b = generate_customers(&opts(20_000, 8)).unwrap();
        let ratio: Vec<f64> = f64s(&b, "avg_basket")
            .iter()
            .zip(f64s(&b, "monetary"))
            .zip(i32s(&b, "frequency"))
            .map(|((a, m), f)| a / (m / f as f64))
            .collect();
        let (mean, sd) = mean_sd(&ratio);
        assert!((mean - 1.0).abs() < 0.01 && sd < 0.1, "ratio mean {mean}, sd {sd}");
    }

    #[test]
    fn segment_features_follow_their_recipe() {
        let b = generate_customers(&opts(100_000, 2)).unwrap();
        let seg = names(&b);
        let recency = i32s(&b, "recency_days");
        let monetary = f64s(&b, "monetary");
        for r in segment_recipes(6) {
            let rows: Vec<usize> = (0..seg.len()).filter(|&i| seg[i] == r.name).collect();
            let (m, _) = mean_sd(&rows.iter().map(|&i| recency[i] as f64).collect::<Vec<_>>());
            assert!((m - r.recency_days.mean).abs() < 0.05 * r.recency_days.mean + 1.0, "{}: recency {m}", r.name);
            let logs: Vec<f64> = rows.iter().map(|&i| monetary[i].ln()).collect();
            let (mu, sigma) = mean_sd(&logs);
            let want = r.monetary();
            assert!((mu - want.median.ln()).abs() < 0.03, "{}: log median {mu}", r.name);
            assert!((sigma - want.sigma).abs() < 0.03, "{}: log sd {sigma} vs {}", r.name, want.sigma);
        }
    }

    #[test]
    fn written_file_is_byte_identical_for_the_same_seed_and_counts_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let (p1, p2) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
        let o = opts(CHUNK_ROWS + 123, 11);
        let s1 = write_customers(&o, &p1).unwrap();
        let s2 = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| write_customers(&o, &p2))
            .unwrap();
        assert_eq!(std::fs::read(&p1).unwrap(), std::fs::read(&p2).unwrap());
        assert_eq!(s1, s2);
        assert_eq!(s1.rows, o.customers);
        assert_eq!(s1.per_segment.iter().map(|s| s.rows).sum::<usize>(), o.customers);
        let seg = names(&generate_customers(&o).unwrap());
        for s in &s1.per_segment {
            assert_eq!(s.rows, seg.iter().filter(|n| *n == s.name).count(), "{}", s.name);
        }
    }

    #[test]
    fn zero_customers_write_a_file_with_the_schema_and_no_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.parquet");
        let s = write_customers(&opts(0, 1), &p).unwrap();
        assert_eq!(s.rows, 0);
        let r =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&p).unwrap())
                .unwrap();
        assert_eq!(r.metadata().file_metadata().num_rows(), 0);
        assert_eq!(r.schema(), &customer_schema());
    }

    #[test]
    fn unwritable_output_is_an_output_error() {
        let e = write_customers(&opts(10, 1), Path::new("/proc/custseg-cannot-write/c.parquet")).unwrap_err();
        assert!(matches!(e, Error::Output { .. }), "{e}");
    }
}
