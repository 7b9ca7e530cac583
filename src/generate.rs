//! Synthetic retail customers with planted segments (for demos, tests and benchmarks), and Gaussian blobs.
//!
//! [`write_customers`] writes one row per customer with eight numeric features and the ground truth
//! `planted_segment` as a string column (so the default feature selection, every numeric column but the id,
//! leaves it out). Each customer first draws its segment by the shares of [`segment_recipes`], then each feature
//! from that segment's distribution. The segments are far enough apart that K-means with k = the number of
//! segments, on z-scored features with `log1p` on `monetary` and `avg_basket`, recovers them (adjusted Rand index
//! about 0.999 with a few restarts; `data/README.md` has the measurements).
//!
//! Determinism: rows are made in fixed chunks of [`CHUNK_ROWS`], chunk `c` from its own ChaCha8 stream
//! (`seed_from_u64(seed)`, stream `c`), so the output depends on the options only, never on the thread count.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// Rows generated per chunk (one RNG stream and one record batch each). Part of the output's definition: changing
/// it changes the data a seed gives.
pub const CHUNK_ROWS: usize = 65_536;

/// Rows per Parquet row group of the written file (16 chunks).
pub const ROW_GROUP_ROWS: usize = 16 * CHUNK_ROWS;

/// Name of the ground-truth column (Utf8).
pub const PLANTED_SEGMENT_COLUMN: &str = "planted_segment";

/// The largest `recency_days`.
pub const MAX_RECENCY_DAYS: i32 = 730;
/// The largest `tenure_days` (ten years).
pub const MAX_TENURE_DAYS: i32 = 3650;
/// The largest `n_categories` (the smallest is 1).
pub const MAX_CATEGORIES: i32 = 20;

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
    pub const SEGMENTS: std::ops::RangeInclusive<usize> = 5..=8;

    /// Checks the options: `segments` must be 5 to 8 (a usage error otherwise).
    pub fn validate(&self) -> Result<()> {
        if !Self::SEGMENTS.contains(&self.segments) {
            return Err(Error::Usage(format!("the number of planted segments must be 5 to 8, got {}", self.segments)));
        }
        Ok(())
    }
}

/// A distribution given by its mean and standard deviation; the field using it says which family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSd {
    pub mean: f64,
    pub sd: f64,
}

/// A lognormal distribution given by its median and the standard deviation `sigma` of its logarithm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogNormal {
    pub median: f64,
    pub sigma: f64,
}

/// One planted segment: its name, its share of customers, what it means, and how each feature is drawn.
///
/// Per customer: `orders ~ frequency` and `basket ~ avg_basket` (independent lognormals), `monetary = orders ×
/// basket` rounded to cents (so `monetary` is lognormal, see [`PlantedSegment::monetary`]), `frequency =
/// max(1, round(orders))`, and the `avg_basket` column is `monetary / frequency` times a small lognormal noise.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedSegment {
    /// The value in the `planted_segment` column (snake_case).
    pub name: &'static str,
    /// Expected fraction of customers (the shares of a table sum to 1).
    pub share: f64,
    /// What the segment means, in retail terms.
    pub meaning: &'static str,
    /// Days since the last order: gamma, rounded, at most [`MAX_RECENCY_DAYS`].
    pub recency_days: MeanSd,
    /// Orders: lognormal, rounded, at least 1.
    pub frequency: LogNormal,
    /// Spend per order: lognormal.
    pub avg_basket: LogNormal,
    /// Days since the first order: gamma, rounded, at least the recency, at most [`MAX_TENURE_DAYS`].
    pub tenure_days: MeanSd,
    /// Distinct product categories bought: normal, rounded, 1 to [`MAX_CATEGORIES`].
    pub n_categories: MeanSd,
    /// Share of orders placed online: beta, in [0, 1].
    pub online_share: MeanSd,
    /// Share of spend returned: beta, in [0, 1].
    pub returns_rate: MeanSd,
}

impl PlantedSegment {
    /// The distribution of total spend: lognormal with median `frequency.median × avg_basket.median` and
    /// `sigma = hypot(frequency.sigma, avg_basket.sigma)` (before rounding the order count).
    pub fn monetary(&self) -> LogNormal {
        LogNormal {
            median: self.frequency.median * self.avg_basket.median,
            sigma: self.frequency.sigma.hypot(self.avg_basket.sigma),
        }
    }
}

const fn ms(mean: f64, sd: f64) -> MeanSd {
    MeanSd { mean, sd }
}

const fn ln(median: f64, sigma: f64) -> LogNormal {
    LogNormal { median, sigma }
}

/// The eight recipes, in the order they are taken; shares are set per table size by [`SHARES`].
const RECIPES: [PlantedSegment; 8] = [
    PlantedSegment {
        name: "loyal",
        share: 0.0,
        meaning: "long-standing regulars: order every few weeks, solid baskets across many categories",
        recency_days: ms(20.0, 10.0),
        frequency: ln(18.0, 0.18),
        avg_basket: ln(75.0, 0.2),
        tenure_days: ms(1150.0, 160.0),
        n_categories: ms(11.0, 1.3),
        online_share: ms(0.4, 0.08),
        returns_rate: ms(0.04, 0.02),
    },
    PlantedSegment {
        name: "hibernating",
        share: 0.0,
        meaning: "lapsed for well over a year: a few small orders long ago, mostly in store",
        recency_days: ms(520.0, 50.0),
        frequency: ln(2.5, 0.3),
        avg_basket: ln(40.0, 0.22),
        tenure_days: ms(800.0, 150.0),
        n_categories: ms(2.0, 0.8),
        online_share: ms(0.15, 0.05),
        returns_rate: ms(0.06, 0.025),
    },
    PlantedSegment {
        name: "new",
        share: 0.0,
        meaning: "joined about six weeks ago: one or two orders so far, mostly online",
        recency_days: ms(14.0, 8.0),
        frequency: ln(1.5, 0.3),
        avg_basket: ln(55.0, 0.22),
        tenure_days: ms(40.0, 18.0),
        n_categories: ms(2.0, 0.8),
        online_share: ms(0.6, 0.1),
        returns_rate: ms(0.03, 0.02),
    },
    PlantedSegment {
        name: "at_risk",
        share: 0.0,
        meaning: "used to buy regularly, silent for about half a year; high returns hint at dissatisfaction",
        recency_days: ms(200.0, 30.0),
        frequency: ln(8.0, 0.2),
        avg_basket: ln(90.0, 0.2),
        tenure_days: ms(1000.0, 160.0),
        n_categories: ms(5.0, 1.0),
        online_share: ms(0.25, 0.06),
        returns_rate: ms(0.18, 0.035),
    },
    PlantedSegment {
        name: "bargain_hunters",
        share: 0.0,
        meaning: "frequent small baskets in few categories, hardly ever return anything",
        recency_days: ms(25.0, 10.0),
        frequency: ln(24.0, 0.15),
        avg_basket: ln(15.0, 0.2),
        tenure_days: ms(700.0, 120.0),
        n_categories: ms(4.0, 1.0),
        online_share: ms(0.5, 0.08),
        returns_rate: ms(0.02, 0.012),
    },
    PlantedSegment {
        name: "champions",
        share: 0.0,
        meaning: "the best customers: bought days ago, very often, big baskets, widest range, longest tenure",
        recency_days: ms(5.0, 3.0),
        frequency: ln(50.0, 0.15),
        avg_basket: ln(180.0, 0.2),
        tenure_days: ms(2000.0, 220.0),
        n_categories: ms(16.0, 1.5),
        online_share: ms(0.6, 0.08),
        returns_rate: ms(0.03, 0.02),
    },
    PlantedSegment {
        name: "online_first",
        share: 0.0,
        meaning: "shop almost only online: medium frequency, younger accounts",
        recency_days: ms(18.0, 9.0),
        frequency: ln(12.0, 0.2),
        avg_basket: ln(60.0, 0.2),
        tenure_days: ms(400.0, 100.0),
        n_categories: ms(7.0, 1.2),
        online_share: ms(0.95, 0.025),
        returns_rate: ms(0.1, 0.03),
    },
    PlantedSegment {
        name: "returners",
        share: 0.0,
        meaning: "send back close to half of what they buy, mostly bought online",
        recency_days: ms(40.0, 14.0),
        frequency: ln(8.0, 0.2),
        avg_basket: ln(95.0, 0.2),
        tenure_days: ms(650.0, 150.0),
        n_categories: ms(5.0, 1.2),
        online_share: ms(0.7, 0.08),
        returns_rate: ms(0.45, 0.06),
    },
];

/// Shares per table size (5, 6, 7, 8 segments): unequal, largest first, each summing to 1.
const SHARES: [&[f64]; 4] = [
    &[0.32, 0.25, 0.20, 0.14, 0.09],
    &[0.30, 0.22, 0.18, 0.14, 0.10, 0.06],
    &[0.27, 0.20, 0.16, 0.13, 0.10, 0.08, 0.06],
    &[0.25, 0.18, 0.15, 0.12, 0.10, 0.08, 0.07, 0.05],
];

/// The planted segments for a table of `segments` (5 to 8): the first `segments` of loyal, hibernating, new,
/// at_risk, bargain_hunters, champions, online_first, returners, with unequal shares summing to 1 (for 6:
/// 0.30, 0.22, 0.18, 0.14, 0.10, 0.06).
///
/// # Panics
/// If `segments` is not 5 to 8 ([`GenerateOptions::validate`] reports that as an error).
pub fn segment_recipes(segments: usize) -> Vec<PlantedSegment> {
    assert!(
        GenerateOptions::SEGMENTS.contains(&segments),
        "the number of planted segments must be 5 to 8, got {segments}"
    );
    let shares = SHARES[segments - 5];
    RECIPES[..segments].iter().zip(shares).map(|(r, &share)| PlantedSegment { share, ..r.clone() }).collect()
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

/// Generates all customers in memory, as record batches of [`CHUNK_ROWS`] rows (the last one shorter) with
/// [`customer_schema`], in parallel. Prefer [`write_customers`] for large tables: it streams.
pub fn generate_customers(opts: &GenerateOptions) -> Result<Vec<RecordBatch>> {
    let plan = Plan::new(opts)?;
    (0..plan.chunks()).into_par_iter().map(|c| plan.chunk(c).map(|(batch, _)| batch)).collect()
}

/// Writes the customers to `path` as zstd Parquet (row groups of [`ROW_GROUP_ROWS`]), atomically: chunks are
/// generated in parallel on the current rayon pool while a second thread encodes and writes them in order.
/// Returns the rows written per planted segment.
pub fn write_customers(opts: &GenerateOptions, path: &Path) -> Result<GenerateSummary> {
    let plan = Plan::new(opts)?;
    let mut counts = vec![0usize; plan.recipes.len()];
    crate::io::writer::write_chunks_in_parallel(
        path,
        plan.schema.clone(),
        writer_properties(),
        plan.chunks(),
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

/// Parquet settings: zstd; delta encoding for the sequential ids; dictionaries only where values repeat.
fn writer_properties() -> WriterProperties {
    let col = |name: &str| ColumnPath::from(name);
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_dictionary_enabled(false)
        .set_column_encoding(col("customer_id"), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(col("n_categories"), true)
        .set_column_dictionary_enabled(col(PLANTED_SEGMENT_COLUMN), true)
        .build()
}

/// Plain Gaussian blobs for benchmarks: `k` centres drawn uniformly in `[-10, 10]^d`, then `n` points, each
/// from a uniformly chosen centre plus unit-variance noise. Returns the `n × d` matrix and each point's centre
/// index. Deterministic in `seed` whatever the thread count.
///
/// # Panics
/// If `k` is 0 while `n` is not.
pub fn generate_blobs(n: usize, d: usize, k: usize, seed: u64) -> (Matrix, Vec<u32>) {
    assert!(k > 0 || n == 0, "generate_blobs: k must be at least 1");
    let mut rng = Draw::new(seed, u64::MAX);
    let centres: Vec<f64> = (0..k * d).map(|_| rng.uniform() * 20.0 - 10.0).collect();
    let mut data = vec![0f32; n * d];
    let mut labels = vec![0u32; n];
    if n > 0 && d > 0 {
        data.par_chunks_mut(CHUNK_ROWS * d).zip(labels.par_chunks_mut(CHUNK_ROWS)).enumerate().for_each(
            |(c, (rows, labels))| {
                let mut rng = Draw::new(seed, c as u64);
                for (row, label) in rows.chunks_exact_mut(d).zip(labels) {
                    let j = rng.index(k);
                    *label = j as u32;
                    for (x, centre) in row.iter_mut().zip(&centres[j * d..(j + 1) * d]) {
                        *x = (centre + rng.normal()) as f32;
                    }
                }
            },
        );
    } else if n > 0 {
        labels.par_chunks_mut(CHUNK_ROWS).enumerate().for_each(|(c, labels)| {
            let mut rng = Draw::new(seed, c as u64);
            labels.iter_mut().for_each(|l| *l = rng.index(k) as u32);
        });
    }
    (Matrix::from_vec(data, n, d), labels)
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

    fn chunks(&self) -> usize {
        self.customers.div_ceil(CHUNK_ROWS)
    }

    /// Chunk `c` as a record batch, with its row count per segment.
    fn chunk(&self, c: usize) -> Result<(RecordBatch, Vec<usize>)> {
        let start = c * CHUNK_ROWS;
        let len = CHUNK_ROWS.min(self.customers - start);
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
            recency: gamma_params(r.recency_days),
            orders: log(r.frequency),
            basket: log(r.avg_basket),
            tenure: gamma_params(r.tenure_days),
            categories: r.n_categories,
            online: beta_params(r.online_share),
            returns: beta_params(r.returns_rate),
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

/// Gamma (shape, scale) with the given mean and sd.
fn gamma_params(m: MeanSd) -> (f64, f64) {
    ((m.mean / m.sd).powi(2), m.sd * m.sd / m.mean)
}

/// Beta (a, b) with the given mean and sd (needs `sd² < mean (1 - mean)`).
fn beta_params(m: MeanSd) -> (f64, f64) {
    let concentration = m.mean * (1.0 - m.mean) / (m.sd * m.sd) - 1.0;
    (m.mean * concentration, (1.0 - m.mean) * concentration)
}

/// A ChaCha8 stream with the samplers this module needs (rand 0.10 ships no distributions beyond uniform).
struct Draw {
    rng: ChaCha8Rng,
    spare: Option<f64>,
}

impl Draw {
    fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Draw { rng, spare: None }
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    /// Uniform index in `0..k`.
    fn index(&mut self, k: usize) -> usize {
        self.rng.random_range(0..k)
    }

    /// Standard normal (Box-Muller; the second value of each pair is kept for the next call).
    fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = 1.0 - self.uniform(); // (0, 1]: the log is finite
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
        self.spare = Some(r * sin);
        r * cos
    }

    fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        (mu + sigma * self.normal()).exp()
    }

    /// Gamma(shape, scale) by Marsaglia and Tsang (2000); shapes below 1 use the `U^(1/shape)` boost.
    fn gamma(&mut self, shape: f64, scale: f64) -> f64 {
        if shape < 1.0 {
            let u = 1.0 - self.uniform();
            return self.gamma(shape + 1.0, scale) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = 1.0 - self.uniform();
            let x2 = x * x;
            if u < 1.0 - 0.0331 * x2 * x2 || u.ln() < 0.5 * x2 + d * (1.0 - v + v.ln()) {
                return d * v * scale;
            }
        }
    }

    fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a, 1.0);
        let y = self.gamma(b, 1.0);
        x / (x + y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn mean_sd(x: &[f64]) -> (f64, f64) {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        (m, (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt())
    }

    #[test]
    fn every_table_size_has_unequal_shares_summing_to_one() {
        for k in 5..=8 {
            let r = segment_recipes(k);
            assert_eq!(r.len(), k);
            assert!((r.iter().map(|s| s.share).sum::<f64>() - 1.0).abs() < 1e-12, "{k} segments");
            assert!(r.windows(2).all(|w| w[0].share > w[1].share), "{k}: shares strictly decrease");
        }
    }

    #[test]
    fn recipe_names_are_unique_snake_case() {
        let r = segment_recipes(8);
        let mut names: Vec<_> = r.iter().map(|s| s.name).collect();
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 8);
    }

    #[test]
    fn recipe_parameters_are_valid_distributions() {
        for r in segment_recipes(8) {
            for m in [r.recency_days, r.tenure_days, r.n_categories] {
                assert!(m.mean > 0.0 && m.sd > 0.0, "{}", r.name);
            }
            for m in [r.online_share, r.returns_rate] {
                assert!(m.sd * m.sd < m.mean * (1.0 - m.mean), "{}: beta needs sd² < m(1-m)", r.name);
            }
            assert!(r.frequency.median > 0.0 && r.avg_basket.median > 0.0);
        }
    }

    #[test]
    #[should_panic(expected = "must be 5 to 8")]
    fn recipes_outside_five_to_eight_panic() {
        segment_recipes(4);
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
    fn samplers_have_the_requested_moments() {
        let mut rng = Draw::new(1, 0);
        let n = 200_000;
        let normal: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let (m, s) = mean_sd(&normal);
        assert!(m.abs() < 0.01 && (s - 1.0).abs() < 0.01, "normal {m} {s}");
        for (shape, scale) in [(0.5, 2.0), (2.25, 3.0), (40.0, 0.5)] {
            let g: Vec<f64> = (0..n).map(|_| rng.gamma(shape, scale)).collect();
            let (m, s) = mean_sd(&g);
            let (want_m, want_s) = (shape * scale, shape.sqrt() * scale);
            assert!((m / want_m - 1.0).abs() < 0.02 && (s / want_s - 1.0).abs() < 0.03, "gamma {shape}: {m} {s}");
        }
        let want = ms(0.15, 0.04);
        let (a, b) = beta_params(want);
        let x: Vec<f64> = (0..n).map(|_| rng.beta(a, b)).collect();
        let (m, s) = mean_sd(&x);
        assert!((m - want.mean).abs() < 0.002 && (s - want.sd).abs() < 0.002, "beta {m} {s}");
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

    #[test]
    fn blobs_have_the_requested_shape() {
        let (x, labels) = generate_blobs(1000, 3, 4, 7);
        assert_eq!((x.n(), x.d()), (1000, 3));
        assert_eq!(labels.len(), 1000);
        assert!(labels.iter().all(|&l| l < 4));
        let (m0, l0) = generate_blobs(0, 3, 4, 7);
        assert_eq!((m0.n(), l0.len()), (0, 0));
    }

    #[test]
    fn blobs_are_unit_variance_around_centres_in_the_box() {
        let (x, labels) = generate_blobs(CHUNK_ROWS + 500, 2, 3, 1);
        for j in 0..3u32 {
            for dim in 0..2 {
                let v: Vec<f64> = (0..x.n()).filter(|&i| labels[i] == j).map(|i| x.row(i)[dim] as f64).collect();
                let (m, s) = mean_sd(&v);
                assert!((-10.1..=10.1).contains(&m), "centre {j} at {m}");
                assert!((s - 1.0).abs() < 0.03, "cluster {j} dim {dim}: sd {s}");
            }
        }
    }

    #[test]
    fn blobs_are_deterministic_across_thread_counts() {
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| generate_blobs(2 * CHUNK_ROWS + 7, 4, 5, 3))
        };
        assert_eq!(run(1), run(2));
        assert_ne!(generate_blobs(100, 2, 3, 1).0, generate_blobs(100, 2, 3, 2).0);
    }
}
