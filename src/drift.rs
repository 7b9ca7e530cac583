//! Drift between the data a model was fitted on and new data it scores: the reference kept in the model (each
//! feature's training deciles, and the 99th percentile of the distance to the segment's centre), and the
//! measures `assign` reports against it (the population stability index per feature, and the share of rows
//! farther from their centre than the training's 99th percentile).
//!
//! Thresholds (documented in README.md, "Assigning new customers"): a PSI under 0.1 is stable, 0.1 to 0.25 a
//! moderate shift, 0.25 or more a significant one; the share of rows beyond the training's 99th-percentile
//! distance is 1% on data like the training's, and more than [`FAR_SHARE_WARN`] is a warning.

mod bins;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::matrix::Matrix;

/// Rows the deciles are computed from at most: a fixed stride through the rows above that.
pub const DECILE_SAMPLE_ROWS: usize = 200_000;
/// A feature's PSI from which its shift is moderate.
pub const PSI_MODERATE: f64 = 0.1;
/// A feature's PSI from which its shift is significant (refit recommended).
pub const PSI_SIGNIFICANT: f64 = 0.25;
/// The share of rows beyond the training's 99th-percentile distance above which `assign` warns (1% is expected).
pub const FAR_SHARE_WARN: f64 = 0.05;
/// The smallest share a PSI bin counts with, so that an empty bin gives a large but finite term.
const PSI_FLOOR: f64 = 1e-4;

/// One feature's training distribution in ten bins: the nine inner decile edges (in the scaled units K-means saw)
/// and the share of training rows in each bin (about 10% each; less even where values tie).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureBins {
    pub name: String,
    pub edges: Vec<f64>,
    pub shares: Vec<f64>,
}

/// What the model keeps to measure drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReference {
    /// The 99th percentile of the Euclidean distance to the segment's centre over the training rows (scaled units).
    pub distance_p99: f64,
    pub features: Vec<FeatureBins>,
}

/// One feature's drift.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureDrift {
    pub name: String,
    pub psi: f64,
    /// "stable", "moderate" or "significant".
    pub level: &'static str,
}

/// The drift of new data against a [`DriftReference`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    /// The share of new rows farther from their centre than the training's 99th percentile.
    pub far_share: f64,
    pub features: Vec<FeatureDrift>,
}

impl Drift {
    /// One sentence per warning (a feature with a significant shift, or too many far rows); empty when none.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in self.features.iter().filter(|f| f.psi >= PSI_SIGNIFICANT) {
            out.push(format!(
                "feature '{}' has shifted (population stability index {:.2} >= {PSI_SIGNIFICANT}): consider refitting",
                f.name, f.psi
            ));
        }
        if self.far_share > FAR_SHARE_WARN {
            out.push(format!(
                "{:.1}% of customers are farther from their segment's centre than 99% of the training customers \
                 (more than {:.0}%): consider refitting",
                100.0 * self.far_share,
                100.0 * FAR_SHARE_WARN
            ));
        }
        out
    }
}

/// The level of a PSI value.
pub fn psi_level(psi: f64) -> &'static str {
    if psi >= PSI_SIGNIFICANT {
        "significant"
    } else if psi >= PSI_MODERATE {
        "moderate"
    } else {
        "stable"
    }
}

/// The reference of a fit: `x` scaled as K-means saw it, `names` its features, `dist2` each row's squared
/// distance to its centre.
pub fn reference(x: &Matrix, names: &[String], dist2: &[f32]) -> DriftReference {
    let (n, d) = (x.n(), x.d());
    let stride = n.div_ceil(DECILE_SAMPLE_ROWS).max(1);
    let features = (0..d)
        .into_par_iter()
        .map(|f| {
            let mut col: Vec<f32> = (0..n).step_by(stride).map(|i| x.row(i)[f]).collect();
            col.sort_unstable_by(f32::total_cmp);
            let edges: Vec<f64> = (1..10).map(|q| quantile_sorted(&col, q as f64 / 10.0)).collect();
            let shares = bin_shares(col.iter().copied(), col.len(), &edges);
            FeatureBins { name: names[f].clone(), edges, shares }
        })
        .collect();
    let mut dist = dist2.to_vec();
    let p99 = if dist.is_empty() {
        0.0
    } else {
        let i = ((dist.len() - 1) as f64 * 0.99).round() as usize;
        let (_, v, _) = dist.select_nth_unstable_by(i, f32::total_cmp);
        (*v as f64).sqrt()
    };
    DriftReference { distance_p99: p99, features }
}

/// The drift of `x` (scaled with the model's scaler, columns in the model's order) whose rows lie at squared
/// distances `dist2` from their centres.
pub fn measure(reference: &DriftReference, x: &Matrix, dist2: &[f32]) -> Drift {
    let (n, d) = (x.n(), x.d());
    let bins = reference.features.len().min(d);
    // Bin counts of every feature, by blocks of rows in parallel (integers: exact); `bins.rs` says how.
    let counts = bins::count_bins(&reference.features[..bins], x);
    let features = reference.features[..bins]
        .iter()
        .enumerate()
        .map(|(f, fb)| {
            let shares: Vec<f64> = match counts.get(f) {
                Some(c) if n > 0 => c.iter().map(|&v| v as f64 / n as f64).collect(),
                _ => vec![0.0; fb.edges.len() + 1],
            };
            let p = psi(&fb.shares, &shares);
            FeatureDrift { name: fb.name.clone(), psi: p, level: psi_level(p) }
        })
        .collect();
    let limit = (reference.distance_p99 * reference.distance_p99) as f32;
    let far = dist2.par_iter().filter(|&&v| v > limit).count();
    Drift { far_share: if n == 0 { 0.0 } else { far as f64 / n as f64 }, features }
}

/// Population stability index: Σ (actual − expected) · ln(actual / expected) over the bins, each share floored
/// at 0.01%.
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let (e, a) = (e.max(PSI_FLOOR), a.max(PSI_FLOOR));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// Shares of `values` (of which there are `n`) in the bins cut by the sorted `edges`: bin `b` holds the values
/// `v` with `edges[b-1] < v <= edges[b]`.
fn bin_shares(values: impl Iterator<Item = f32>, n: usize, edges: &[f64]) -> Vec<f64> {
    // The rule `measure` counts with (`bins.rs`), so the same data has the same shares on both sides.
    let counts = bins::bin_counts(values, edges);
    counts.iter().map(|&c| if n == 0 { 0.0 } else { c as f64 / n as f64 }).collect()
}

/// Linear-interpolated quantile of sorted data (NumPy's default), `q` in [0, 1].
fn quantile_sorted(sorted: &[f32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] as f64 + (sorted[hi] as f64 - sorted[lo] as f64) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: Vec<f32>) -> Matrix {
        let n = values.len();
        Matrix::from_vec(values, n, 1)
    }

    #[test]
    fn the_same_data_has_no_drift() {
        let x = column((0..1000).map(|i| i as f32).collect());
        let dist2: Vec<f32> = (0..1000).map(|i| (i % 100) as f32).collect();
        let r = reference(&x, &["a".into()], &dist2);
        assert_eq!(r.features[0].shares.len(), 10);
        assert!(r.features[0].shares.iter().all(|&s| (s - 0.1).abs() < 0.002), "{:?}", r.features[0].shares);
        let d = measure(&r, &x, &dist2);
        assert!(d.features[0].psi < 1e-6, "{d:?}");
        assert!(d.far_share <= 0.011, "{d:?}");
        assert!(d.warnings().is_empty());
    }

    #[test]
    fn a_shifted_feature_is_significant() {
        let x = column((0..1000).map(|i| i as f32).collect());
        let r = reference(&x, &["spend".into()], &vec![1.0; 1000]);
        let shifted = column((0..1000).map(|i| i as f32 + 500.0).collect());
        let d = measure(&r, &shifted, &vec![1.0; 1000]);
        assert_eq!(d.features[0].level, "significant", "{d:?}");
        assert!(d.warnings()[0].starts_with("feature 'spend' has shifted"), "{:?}", d.warnings());
    }

    #[test]
    fn rows_far_from_their_centre_are_counted_against_the_99th_percentile() {
        let x = column(vec![0.0; 100]);
        let dist2: Vec<f32> = (0..100).map(|i| (i * i) as f32).collect();
        let r = reference(&x, &["a".into()], &dist2);
        assert_eq!(r.distance_p99, 98.0);
        let far: Vec<f32> = (0..100).map(|i| if i < 20 { 1e6 } else { 0.0 }).collect();
        let d = measure(&r, &x, &far);
        assert_eq!(d.far_share, 0.2);
        assert!(d.warnings().iter().any(|w| w.starts_with("20.0% of customers are farther")), "{:?}", d.warnings());
    }

    #[test]
    fn psi_matches_a_hand_computed_value() {
        // (0.5 − 0.25)·ln(0.5/0.25) + (0.5 − 0.75)·ln(0.5/0.75)
        let want = 0.25 * 2f64.ln() + (-0.25) * (0.5f64 / 0.75).ln();
        assert!((psi(&[0.25, 0.75], &[0.5, 0.5]) - want).abs() < 1e-12);
    }
}
