//! Segment profiles: per segment size, share, revenue share, and every feature's mean, median and index in
//! original units, computed in one rayon pass over the scaled matrix through the fitted [`Scaler`].
//!
//! Medians come from a fixed-bin histogram per segment per feature ([`MEDIAN_BINS`] bins over the feature's range
//! in scaled units) that also keeps the smallest and largest value seen in each bin; see [`build_profiles`] for
//! the error bound. The same bins feed the HTML distribution charts.

use rayon::prelude::*;

use super::describe::describe;
use super::types::{FeatureHistogram, FeatureStats, OverallStats, Profiles, SegmentProfile};
use crate::error::{Error, Result};
use crate::matrix::Matrix;
use crate::prep::Scaler;

/// Histogram bins per segment per feature used for medians (in scaled units, over the feature's range).
pub const MEDIAN_BINS: usize = 2048;
/// Bins shown per feature in the HTML distribution charts (at most).
pub const DISPLAY_BINS: usize = 32;
/// How many distinguishing features each segment lists.
pub const TOP_FEATURES: usize = 3;
/// The money column used for revenue shares when the caller names none and the feature exists.
pub const DEFAULT_MONEY_COLUMN: &str = "monetary";
/// The feature whose per-segment shares are reported as margin shares, where it exists.
pub const MARGIN_COLUMN: &str = "gross_margin";
/// Rows per rayon work item (at least).
const CHUNK_ROWS: usize = 16 * 1024;
/// Share of the customers left out at each end of the charted range (outliers fall into the end bins).
const DISPLAY_TAIL: f64 = 0.005;

/// Per-feature transform constants, copied out of the scaler for the hot loop.
#[derive(Clone, Copy)]
struct Col {
    log1p: bool,
    /// The signed log (`--signed-log`): like `log1p`, original sums are accumulated.
    signed: bool,
    scale: f64,
    center: f64,
    /// Smallest scaled value, and bins per scaled unit (0 for a constant column).
    min: f32,
    inv_width: f32,
}

impl Col {
    fn bin(&self, v: f32) -> usize {
        (((v - self.min) * self.inv_width) as usize).min(MEDIAN_BINS - 1)
    }
}

/// Sums for one block of rows. Indexing: `cell = j * d + f`, `bin = cell * MEDIAN_BINS + b`.
struct Acc {
    count: Vec<u64>,
    /// Σ scaled value and Σ scaled value² per cell.
    sum: Vec<f64>,
    sum2: Vec<f64>,
    /// Σ original value per cell, for `log1p` columns only (linear columns derive it from `sum`).
    sum_orig: Vec<f64>,
    bin_count: Vec<u64>,
    bin_lo: Vec<f32>,
    bin_hi: Vec<f32>,
}

impl Acc {
    fn new(k: usize, d: usize) -> Self {
        let cells = k * d;
        Acc {
            count: vec![0; k],
            sum: vec![0.0; cells],
            sum2: vec![0.0; cells],
            sum_orig: vec![0.0; cells],
            bin_count: vec![0; cells * MEDIAN_BINS],
            bin_lo: vec![f32::INFINITY; cells * MEDIAN_BINS],
            bin_hi: vec![f32::NEG_INFINITY; cells * MEDIAN_BINS],
        }
    }

    fn add_rows(mut self, rows: &[f32], labels: &[u32], cols: &[Col]) -> Self {
        let d = cols.len();
        for (row, &j) in rows.chunks_exact(d).zip(labels) {
            let j = j as usize;
            self.count[j] += 1;
            for (f, (&v, c)) in row.iter().zip(cols).enumerate() {
                let cell = j * d + f;
                let vd = v as f64;
                self.sum[cell] += vd;
                self.sum2[cell] += vd * vd;
                if c.log1p {
                    self.sum_orig[cell] += (vd * c.scale + c.center).exp_m1();
                } else if c.signed {
                    self.sum_orig[cell] += crate::prep::signed_log_inverse(vd * c.scale + c.center);
                }
                let b = cell * MEDIAN_BINS + c.bin(v);
                self.bin_count[b] += 1;
                self.bin_lo[b] = self.bin_lo[b].min(v);
                self.bin_hi[b] = self.bin_hi[b].max(v);
            }
        }
        self
    }

    fn merge(mut self, o: Acc) -> Self {
        let add = |a: &mut [f64], b: &[f64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        self.count.iter_mut().zip(&o.count).for_each(|(x, y)| *x += y);
        add(&mut self.sum, &o.sum);
        add(&mut self.sum2, &o.sum2);
        add(&mut self.sum_orig, &o.sum_orig);
        self.bin_count.iter_mut().zip(&o.bin_count).for_each(|(x, y)| *x += y);
        self.bin_lo.iter_mut().zip(&o.bin_lo).for_each(|(x, y)| *x = x.min(*y));
        self.bin_hi.iter_mut().zip(&o.bin_hi).for_each(|(x, y)| *x = x.max(*y));
        self
    }
}

/// The `q`-th smallest value (0-based) estimated from bins: found exactly to its bin, then placed linearly by
/// rank between the smallest and largest value seen in that bin. Exact when the bin holds one distinct value.
fn order_statistic(count: &[u64], lo: &[f32], hi: &[f32], q: u64) -> f64 {
    let mut before = 0u64;
    for b in 0..count.len() {
        let c = count[b];
        if c == 0 {
            continue;
        }
        if q < before + c {
            if c == 1 || lo[b] == hi[b] {
                return lo[b] as f64;
            }
            let t = (q - before) as f64 / (c - 1) as f64;
            return lo[b] as f64 + t * (hi[b] as f64 - lo[b] as f64);
        }
        before += c;
    }
    f64::NAN
}

/// Median in original units: the two middle order statistics (one for an odd count) are found in scaled units,
/// mapped back through `inverse`, and averaged there (so a `log1p` column's median of 200 and 300 is 250). NaN
/// when empty.
fn binned_median(count: &[u64], lo: &[f32], hi: &[f32], inverse: impl Fn(f64) -> f64) -> f64 {
    let n: u64 = count.iter().sum();
    if n == 0 {
        return f64::NAN;
    }
    let a = inverse(order_statistic(count, lo, hi, (n - 1) / 2));
    let b = if n.is_multiple_of(2) { inverse(order_statistic(count, lo, hi, n / 2)) } else { a };
    (a + b) / 2.0
}

/// The feature revenue shares are computed from: `money_column` when given (a usage error if it is not one of
/// `names`), else [`DEFAULT_MONEY_COLUMN`] when it is a feature, else none.
pub fn money_feature(names: &[String], money_column: Option<&str>) -> Result<Option<usize>> {
    match money_column {
        Some(m) => match names.iter().position(|nm| nm == m) {
            Some(f) => Ok(Some(f)),
            None => {
                Err(Error::Usage(format!("money column '{m}' is not a feature; features are: {}", names.join(", "))))
            }
        },
        None => Ok(names.iter().position(|nm| nm == DEFAULT_MONEY_COLUMN)),
    }
}

/// Builds the profiles of a fit.
///
/// `x_scaled` is the matrix K-means clustered (scaled in place by `scaler`), `names` its feature names, `labels`
/// each row's segment (< `k`). `money_column` names the feature revenue shares are computed from; `None` takes
/// [`DEFAULT_MONEY_COLUMN`] when it is a feature, else revenue shares are left out. Every customer counts once
/// (sample weights are not applied), as in the scaler's statistics.
///
/// Means, medians, indexes and revenue shares are in original units: each value is mapped back through the
/// scaler (`expm1` for `log1p` columns). The distinguishing features are ranked by |z|, the standardised
/// difference of means in scaled units, i.e. in the space K-means clustered (after `log1p`), so a skewed money
/// column is judged on its log scale rather than by a few big spenders.
///
/// Medians are not exact: each (segment, feature) keeps a [`MEDIAN_BINS`]-bin histogram over the feature's range
/// in scaled units, with the smallest and largest value seen in each bin. The middle order statistic is found
/// exactly to its bin and placed by rank between that bin's smallest and largest value, so the error is at most
/// the spread of the values in one bin: |error| ≤ (max − min) / 2048 in scaled units, i.e. 0.05% of the feature's
/// range (for a `log1p` column, of its range on the log1p scale: a relative error of at most
/// `expm1(range·scale/2048)`). A median that falls in a bin of identical values (integer counts, ties) is exact.
/// This needs 16 bytes per bin, `k × d × 2048` bins (32 KiB per segment and feature) per block of rows, with two
/// blocks per rayon thread, however many rows there are. One rayon pass finds each feature's range, a second
/// accumulates every sum and bin.
pub fn build_profiles(
    x_scaled: &Matrix,
    scaler: &Scaler,
    names: &[String],
    labels: &[u32],
    k: usize,
    money_column: Option<&str>,
) -> Result<Profiles> {
    let (n, d) = (x_scaled.n(), x_scaled.d());
    if names.len() != d || scaler.columns.len() != d {
        return Err(Error::Data(format!(
            "profiles: the matrix has {d} features, but {} names and {} scaler columns were given",
            names.len(),
            scaler.columns.len()
        )));
    }
    if labels.len() != n {
        return Err(Error::Data(format!("profiles: {} labels for {n} rows", labels.len())));
    }
    if n == 0 || d == 0 || k == 0 {
        return Err(Error::Data(format!("profiles: nothing to profile ({n} rows, {d} features, k = {k})")));
    }
    if let Some(bad) = labels.iter().find(|&&l| l as usize >= k) {
        return Err(Error::Data(format!("profiles: label {bad} is not a segment of k = {k}")));
    }
    let money = money_feature(names, money_column)?;

    // Pass 1: each feature's range in scaled units.
    let data = x_scaled.as_slice();
    let (mins, maxs) = data
        .par_chunks(CHUNK_ROWS * d)
        .fold(
            || (vec![f32::INFINITY; d], vec![f32::NEG_INFINITY; d]),
            |(mut lo, mut hi), rows| {
                for row in rows.chunks_exact(d) {
                    for f in 0..d {
                        lo[f] = lo[f].min(row[f]);
                        hi[f] = hi[f].max(row[f]);
                    }
                }
                (lo, hi)
            },
        )
        .reduce(
            || (vec![f32::INFINITY; d], vec![f32::NEG_INFINITY; d]),
            |(a, b), (c, e)| {
                (a.iter().zip(&c).map(|(x, y)| x.min(*y)).collect(), b.iter().zip(&e).map(|(x, y)| x.max(*y)).collect())
            },
        );
    let cols: Vec<Col> = (0..d)
        .map(|f| {
            let c = &scaler.columns[f];
            let range = maxs[f] - mins[f];
            let inv_width = if range > 0.0 && range.is_finite() { MEDIAN_BINS as f32 / range } else { 0.0 };
            Col { log1p: c.log1p, signed: c.signed_log, scale: c.scale, center: c.center, min: mins[f], inv_width }
        })
        .collect();

    // Pass 2: counts, sums and bins per segment per feature.
    // Few large blocks (two per thread), so that only that many accumulators of `k × d × 2048` bins exist.
    let block = n.div_ceil(2 * rayon::current_num_threads()).max(CHUNK_ROWS);
    let acc = data
        .par_chunks(block * d)
        .zip(labels.par_chunks(block))
        .map(|(rows, labels)| Acc::new(k, d).add_rows(rows, labels, &cols))
        .reduce_with(Acc::merge)
        .expect("at least one row");

    let cell = |j: usize, f: usize| j * d + f;
    let bins = |j: usize, f: usize| {
        let s = cell(j, f) * MEDIAN_BINS..(cell(j, f) + 1) * MEDIAN_BINS;
        (&acc.bin_count[s.clone()], &acc.bin_lo[s.clone()], &acc.bin_hi[s])
    };
    // Σ original value for a cell.
    let sum_orig = |j: usize, f: usize| {
        let c = &cols[f];
        if c.log1p || c.signed {
            acc.sum_orig[cell(j, f)]
        } else {
            acc.sum[cell(j, f)] * c.scale + acc.count[j] as f64 * c.center
        }
    };

    // Overall statistics per feature.
    let mut overall = Vec::with_capacity(d);
    let mut overall_mean_scaled = vec![0.0; d];
    let mut overall_sd_scaled = vec![0.0; d];
    let mut overall_bins = Vec::with_capacity(d);
    for f in 0..d {
        let mut count = vec![0u64; MEDIAN_BINS];
        let mut lo = vec![f32::INFINITY; MEDIAN_BINS];
        let mut hi = vec![f32::NEG_INFINITY; MEDIAN_BINS];
        for j in 0..k {
            let (c, l, h) = bins(j, f);
            for b in 0..MEDIAN_BINS {
                count[b] += c[b];
                lo[b] = lo[b].min(l[b]);
                hi[b] = hi[b].max(h[b]);
            }
        }
        let s: f64 = (0..k).map(|j| acc.sum[cell(j, f)]).sum();
        let s2: f64 = (0..k).map(|j| acc.sum2[cell(j, f)]).sum();
        let mean_scaled = s / n as f64;
        overall_mean_scaled[f] = mean_scaled;
        overall_sd_scaled[f] = (s2 / n as f64 - mean_scaled * mean_scaled).max(0.0).sqrt();
        let mean = (0..k).map(|j| sum_orig(j, f)).sum::<f64>() / n as f64;
        let median = binned_median(&count, &lo, &hi, |v| scaler.inverse_value(f, v));
        overall.push(OverallStats {
            name: names[f].clone(),
            mean,
            median,
            min: scaler.inverse_value(f, mins[f] as f64),
            max: scaler.inverse_value(f, maxs[f] as f64),
            log1p: cols[f].log1p || cols[f].signed,
        });
        overall_bins.push(count);
    }

    let total_money: Option<f64> = money.map(|m| (0..k).map(|j| sum_orig(j, m)).sum());
    let margin = names.iter().position(|n| n == MARGIN_COLUMN);
    let total_margin: Option<f64> = margin.map(|m| (0..k).map(|j| sum_orig(j, m)).sum());
    let mut segments = Vec::with_capacity(k);
    for j in 0..k {
        let size = acc.count[j];
        let features: Vec<FeatureStats> = (0..d)
            .map(|f| {
                let (mean, median, z) = if size == 0 {
                    (f64::NAN, f64::NAN, f64::NAN)
                } else {
                    let (c, l, h) = bins(j, f);
                    let mean_scaled = acc.sum[cell(j, f)] / size as f64;
                    let sd = overall_sd_scaled[f];
                    // A spread below float noise (a constant column) never distinguishes.
                    let z = if sd > 1e-9 { (mean_scaled - overall_mean_scaled[f]) / sd } else { 0.0 };
                    (sum_orig(j, f) / size as f64, binned_median(c, l, h, |v| scaler.inverse_value(f, v)), z)
                };
                let om = overall[f].mean;
                let index = if om != 0.0 && mean.is_finite() { Some(mean / om * 100.0) } else { None };
                FeatureStats { name: names[f].clone(), mean, median, index, z }
            })
            .collect();
        let mut order: Vec<usize> = (0..d).filter(|&f| features[f].z.is_finite()).collect();
        order.sort_by(|&a, &b| features[b].z.abs().total_cmp(&features[a].z.abs()).then(a.cmp(&b)));
        order.truncate(TOP_FEATURES);
        let distinguishing: Vec<String> = order.iter().map(|&f| names[f].clone()).collect();
        let description = if size == 0 {
            "empty".to_string()
        } else {
            describe(&order.iter().map(|&f| (names[f].as_str(), features[f].z)).collect::<Vec<_>>())
        };
        let revenue_share = match (money, total_money) {
            (Some(m), Some(t)) if t != 0.0 && t.is_finite() => Some(sum_orig(j, m) / t),
            _ => None,
        };
        let margin_share = match (margin, total_margin) {
            (Some(m), Some(t)) if t != 0.0 && t.is_finite() => Some(sum_orig(j, m) / t),
            _ => None,
        };
        segments.push(SegmentProfile {
            segment: j as u32,
            size,
            share: size as f64 / n as f64,
            revenue_share,
            margin_share,
            features,
            distinguishing,
            description,
        });
    }

    let histograms = (0..d)
        .map(|f| {
            let seg_bins: Vec<&[u64]> = (0..k).map(|j| bins(j, f).0).collect();
            display_histogram(&names[f], &overall_bins[f], &seg_bins, &cols[f], maxs[f], |v| scaler.inverse_value(f, v))
        })
        .collect();

    Ok(Profiles {
        k,
        customers: n as u64,
        money_column: money.map(|m| names[m].clone()),
        median_method: format!("histogram-{MEDIAN_BINS}"),
        overall,
        segments,
        histograms,
        warnings: Vec::new(),
        explanation: None,
        columns: Default::default(),
    })
}

/// Merges the fine bins of one feature into at most [`DISPLAY_BINS`] chart bins over the range that holds all
/// but the outer [`DISPLAY_TAIL`] of customers at each end; the tails are counted in the end bins.
fn display_histogram(
    name: &str,
    overall: &[u64],
    seg_bins: &[&[u64]],
    col: &Col,
    max: f32,
    inverse: impl Fn(f64) -> f64,
) -> FeatureHistogram {
    let n: u64 = overall.iter().sum();
    if col.inv_width == 0.0 {
        let v = inverse(col.min as f64);
        return FeatureHistogram {
            name: name.to_string(),
            edges: vec![v, v],
            counts: seg_bins.iter().map(|b| vec![b.iter().sum()]).collect(),
        };
    }
    let tail = (n as f64 * DISPLAY_TAIL).floor() as u64;
    let (mut first, mut last) = (0, MEDIAN_BINS - 1);
    let mut cum = 0;
    for (b, &c) in overall.iter().enumerate() {
        cum += c;
        if cum > tail {
            first = b;
            break;
        }
    }
    cum = 0;
    for (b, &c) in overall.iter().enumerate().rev() {
        cum += c;
        if cum > tail {
            last = b;
            break;
        }
    }
    let last = last.max(first);
    let span = last - first + 1;
    let group = span.div_ceil(DISPLAY_BINS);
    let nbins = span.div_ceil(group);
    let width = (max - col.min) as f64 / MEDIAN_BINS as f64;
    let edges = (0..=nbins)
        .map(|i| {
            let b = (first + i * group).min(last + 1);
            inverse(col.min as f64 + b as f64 * width)
        })
        .collect();
    let counts = seg_bins
        .iter()
        .map(|fine| {
            let mut out = vec![0u64; nbins];
            for (b, &c) in fine.iter().enumerate() {
                let i = (b.saturating_sub(first) / group).min(nbins - 1);
                out[i] += c;
            }
            out
        })
        .collect();
    FeatureHistogram { name: name.to_string(), edges, counts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prep::ScaleMethod;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    /// Two segments of 4 and 2 customers:
    /// segment 0: recency 5, 10, 15, 20 · monetary 100, 200, 300, 1000 · visits 1, 1, 1, 1
    /// segment 1: recency 100, 200      · monetary 10, 30              · visits 3, 5
    fn two_segments(method: ScaleMethod, log1p: &[&str]) -> (Profiles, Vec<String>) {
        let nm = names(&["recency_days", "monetary", "visits"]);
        #[rustfmt::skip]
        let raw = vec![
            5.0, 100.0, 1.0,
            100.0, 10.0, 3.0,
            10.0, 200.0, 1.0,
            15.0, 300.0, 1.0,
            200.0, 30.0, 5.0,
            20.0, 1000.0, 1.0,
        ];
        let labels = vec![0, 1, 0, 0, 1, 0];
        let mut x = Matrix::from_vec(raw, 6, 3);
        let scaler = Scaler::fit_transform(&mut x, &nm, method, &names(log1p)).unwrap();
        (build_profiles(&x, &scaler, &nm, &labels, 2, None).unwrap(), nm)
    }

    #[test]
    fn hand_made_means_medians_shares_and_indexes() {
        let (p, _) = two_segments(ScaleMethod::Zscore, &[]);
        assert_eq!((p.k, p.customers), (2, 6));
        assert_eq!(p.money_column.as_deref(), Some("monetary"));
        let (s0, s1) = (&p.segments[0], &p.segments[1]);
        assert_eq!((s0.size, s1.size), (4, 2));
        assert!(close(s0.share, 4.0 / 6.0, 1e-12) && close(s1.share, 2.0 / 6.0, 1e-12));
        // revenue: 1600 of 1640
        assert!(close(s0.revenue_share.unwrap(), 1600.0 / 1640.0, 1e-6));
        assert!(close(s1.revenue_share.unwrap(), 40.0 / 1640.0, 1e-6));
        let tol = 1e-5;
        // recency: overall mean 350 / 6
        let om = 350.0 / 6.0;
        assert!(close(p.overall[0].mean, om, tol));
        assert!(close(p.overall[0].median, 17.5, tol), "{}", p.overall[0].median);
        assert!(close(s0.features[0].mean, 12.5, tol) && close(s0.features[0].median, 12.5, tol));
        assert!(close(s1.features[0].mean, 150.0, tol) && close(s1.features[0].median, 150.0, tol));
        assert!(close(s0.features[0].index.unwrap(), 12.5 / om * 100.0, tol));
        assert!(close(s1.features[0].index.unwrap(), 150.0 / om * 100.0, tol));
        // monetary
        assert!(close(s0.features[1].mean, 400.0, tol) && close(s0.features[1].median, 250.0, tol));
        assert!(close(s1.features[1].mean, 20.0, tol) && close(s1.features[1].median, 20.0, tol));
        assert!(close(p.overall[1].median, 150.0, tol));
        // visits
        assert!(close(s1.features[2].median, 4.0, tol) && close(s0.features[2].median, 1.0, tol));
        assert!(close(p.overall[2].median, 1.0, tol) && close(p.overall[2].mean, 2.0, tol));
    }

    #[test]
    fn log1p_columns_come_back_in_original_units() {
        let (p, _) = two_segments(ScaleMethod::Zscore, &["monetary", "recency_days"]);
        let (s0, s1) = (&p.segments[0], &p.segments[1]);
        let tol = 1e-4;
        assert!(close(s0.features[1].mean, 400.0, tol), "{}", s0.features[1].mean);
        assert!(close(s0.features[1].median, 250.0, tol), "{}", s0.features[1].median);
        assert!(close(s1.features[1].mean, 20.0, tol) && close(s1.features[1].median, 20.0, tol));
        assert!(close(s1.features[0].mean, 150.0, tol));
        assert!(close(s0.revenue_share.unwrap(), 1600.0 / 1640.0, 1e-5));
        assert!(close(p.overall[1].min, 10.0, tol) && close(p.overall[1].max, 1000.0, tol));
        assert!(p.overall[1].log1p && !p.overall[2].log1p);
    }

    #[test]
    fn scaling_method_does_not_change_profiles() {
        let (a, _) = two_segments(ScaleMethod::Zscore, &[]);
        for m in [ScaleMethod::Minmax, ScaleMethod::Robust, ScaleMethod::None] {
            let (b, _) = two_segments(m, &[]);
            for (sa, sb) in a.segments.iter().zip(&b.segments) {
                assert_eq!(sa.distinguishing, sb.distinguishing, "{m:?}");
                for (fa, fb) in sa.features.iter().zip(&sb.features) {
                    assert!(close(fa.mean, fb.mean, 1e-5) && close(fa.median, fb.median, 1e-5), "{m:?}");
                }
            }
        }
    }

    #[test]
    fn distinguishing_features_rank_by_standardised_difference() {
        let (p, _) = two_segments(ScaleMethod::Zscore, &[]);
        let s1 = &p.segments[1];
        assert_eq!(s1.distinguishing.len(), 3);
        // every |z| in the list is non-increasing
        let z: Vec<f64> =
            s1.distinguishing.iter().map(|nm| s1.features.iter().find(|f| &f.name == nm).unwrap().z.abs()).collect();
        assert!(z.windows(2).all(|w| w[0] >= w[1]), "{z:?}");
        // segment 1: lapsed, low spend, many visits
        assert!(s1.features[0].z > 0.0 && s1.features[1].z < 0.0 && s1.features[2].z > 0.0);
        assert!(s1.description.contains("lapsed") && s1.description.contains("low spend"), "{}", s1.description);
        assert!(s1.description.contains("high visits"), "{}", s1.description);
        assert!(p.segments[0].description.contains("recent"), "{}", p.segments[0].description);
    }

    #[test]
    fn index_against_zero_mean_is_null() {
        let nm = names(&["delta"]);
        let mut x = Matrix::from_vec(vec![-1.0, 1.0, -2.0, 2.0], 4, 1);
        let s = Scaler::fit_transform(&mut x, &nm, ScaleMethod::Zscore, &[]).unwrap();
        let p = build_profiles(&x, &s, &nm, &[0, 0, 1, 1], 2, None).unwrap();
        assert_eq!(p.segments[0].features[0].index, None);
        assert_eq!(p.money_column, None);
        assert_eq!(p.segments[0].revenue_share, None);
        let json = p.to_json();
        assert!(json.contains("\"index\": null"), "{json}");
    }

    #[test]
    fn empty_segment_is_null_in_json_and_reads_back() {
        let nm = names(&["monetary"]);
        let mut x = Matrix::from_vec(vec![1.0, 2.0, 3.0], 3, 1);
        let s = Scaler::fit_transform(&mut x, &nm, ScaleMethod::Zscore, &[]).unwrap();
        let p = build_profiles(&x, &s, &nm, &[0, 0, 2], 3, None).unwrap();
        assert_eq!(p.segments[1].size, 0);
        assert_eq!(p.segments[1].description, "empty");
        let back: Profiles = serde_json::from_str(&p.to_json()).unwrap();
        assert!(back.segments[1].features[0].mean.is_nan());
        assert_eq!(back.segments[1].features[0].index, None);
        assert_eq!((back.segments[0].size, &back.segments[0].description), (2, &p.segments[0].description));
    }

    #[test]
    fn unknown_money_column_is_a_usage_error() {
        let nm = names(&["a"]);
        let mut x = Matrix::from_vec(vec![1.0, 2.0], 2, 1);
        let s = Scaler::fit_transform(&mut x, &nm, ScaleMethod::Zscore, &[]).unwrap();
        let e = build_profiles(&x, &s, &nm, &[0, 1], 2, Some("spend")).unwrap_err();
        assert!(e.is_usage());
        assert_eq!(e.to_string(), "money column 'spend' is not a feature; features are: a");
        let p = build_profiles(&x, &s, &nm, &[0, 1], 2, Some("a")).unwrap();
        assert!(close(p.segments[1].revenue_share.unwrap(), 2.0 / 3.0, 1e-6));
    }

    #[test]
    fn label_out_of_range_is_a_data_error() {
        let nm = names(&["a"]);
        let x = Matrix::from_vec(vec![1.0, 2.0], 2, 1);
        let s = Scaler { method: ScaleMethod::None, columns: vec![] };
        assert!(build_profiles(&x, &s, &nm, &[0, 1], 2, None).is_err(), "scaler columns must match");
        let mut x2 = x.clone();
        let s = Scaler::fit_transform(&mut x2, &nm, ScaleMethod::None, &[]).unwrap();
        let e = build_profiles(&x2, &s, &nm, &[0, 5], 2, None).unwrap_err();
        assert_eq!(e.to_string(), "profiles: label 5 is not a segment of k = 2");
    }

    #[test]
    fn binned_median_is_within_one_bin_of_exact() {
        // 10,001 spread values in one segment: the error bound is range / 2048.
        let n = 10_001;
        let raw: Vec<f32> = (0..n).map(|i| ((i * 7919) % n) as f32 * 0.37 + (i % 3) as f32 * 0.01).collect();
        let mut sorted = raw.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let exact = sorted[n / 2] as f64;
        let bound = (sorted[n - 1] - sorted[0]) as f64 / MEDIAN_BINS as f64;
        let nm = names(&["v"]);
        let mut x = Matrix::from_vec(raw, n, 1);
        let s = Scaler::fit_transform(&mut x, &nm, ScaleMethod::None, &[]).unwrap();
        let p = build_profiles(&x, &s, &nm, &vec![0; n], 1, None).unwrap();
        let got = p.segments[0].features[0].median;
        assert!((got - exact).abs() <= bound, "median {got} vs exact {exact}, bound {bound}");
    }

    #[test]
    fn histograms_count_every_customer() {
        let (p, nm) = two_segments(ScaleMethod::Zscore, &["monetary"]);
        assert_eq!(p.histograms.len(), nm.len());
        for h in &p.histograms {
            assert_eq!(h.edges.len(), h.counts[0].len() + 1);
            assert!(h.counts[0].len() <= DISPLAY_BINS);
            assert!(h.edges.windows(2).all(|w| w[0] <= w[1]), "{:?}", h.edges);
            assert_eq!(h.counts[0].iter().sum::<u64>(), 4);
            assert_eq!(h.counts[1].iter().sum::<u64>(), 2);
        }
    }
}
