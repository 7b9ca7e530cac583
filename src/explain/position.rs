//! Where each segment's median customer stands in the whole base: per segment and feature, the exact median and
//! the shares of all customers strictly below and strictly above it. The names are read from these.

use rayon::prelude::*;

use crate::matrix::Matrix;
use crate::prep::Scaler;

/// One segment's median on one feature, and its place among all customers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// The segment's median in original units (the mean of the two middle values for an even count); NaN when
    /// the segment is empty.
    pub median: f64,
    /// Share of all customers whose value is strictly below the median.
    pub below: f64,
    /// Share of all customers whose value is strictly above the median.
    pub above: f64,
}

/// `positions[j][f]` for every segment `j < k` and feature `f`, exact over every row of `x_scaled` (compared in
/// scaled units, which the scaler maps to original units in the same order).
///
/// Only the first `d` features are placed (the numeric ones: one-hot categorical indicators come after them).
pub fn positions(x_scaled: &Matrix, d: usize, scaler: &Scaler, labels: &[u32], k: usize) -> Vec<Vec<Position>> {
    let n = x_scaled.n();
    let d = d.min(x_scaled.d());
    let mut out = vec![Vec::with_capacity(d); k];
    for f in 0..d {
        let mut buckets: Vec<Vec<f32>> = vec![Vec::new(); k];
        for (i, &l) in labels.iter().enumerate() {
            buckets[l as usize].push(x_scaled.row(i)[f]);
        }
        // Median per segment, in scaled units (for comparisons) and original units (for people).
        let medians: Vec<(f64, f64)> = buckets
            .par_iter_mut()
            .map(|b| {
                if b.is_empty() {
                    return (f64::NAN, f64::NAN);
                }
                let m = b.len();
                let (_, &mut hi, _) = b.select_nth_unstable_by(m / 2, f32::total_cmp);
                let lo = if m % 2 == 0 { b[..m / 2].iter().copied().fold(f32::NEG_INFINITY, f32::max) } else { hi };
                let (lo, hi) = (lo as f64, hi as f64);
                ((lo + hi) / 2.0, (scaler.inverse_value(f, lo) + scaler.inverse_value(f, hi)) / 2.0)
            })
            .collect();
        drop(buckets);
        let mut sorted: Vec<(f64, usize)> =
            medians.iter().enumerate().filter(|(_, m)| !m.0.is_nan()).map(|(j, m)| (m.0, j)).collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let s = sorted.len();
        // `lt[p]`: rows whose value is below exactly the medians from sorted position p on; `gt[q]`: rows above
        // exactly the medians before q.
        let (lt, gt) = (0..n)
            .into_par_iter()
            .fold(
                || (vec![0u64; s + 1], vec![0u64; s + 1]),
                |(mut lt, mut gt), i| {
                    let v = x_scaled.row(i)[f] as f64;
                    lt[sorted.partition_point(|m| m.0 <= v)] += 1;
                    gt[sorted.partition_point(|m| m.0 < v)] += 1;
                    (lt, gt)
                },
            )
            .reduce(
                || (vec![0u64; s + 1], vec![0u64; s + 1]),
                |(a, b), (c, e)| {
                    (a.iter().zip(&c).map(|(x, y)| x + y).collect(), b.iter().zip(&e).map(|(x, y)| x + y).collect())
                },
            );
        let mut row = vec![Position { median: f64::NAN, below: f64::NAN, above: f64::NAN }; k];
        for (p, &(_, j)) in sorted.iter().enumerate() {
            let below: u64 = lt[..=p].iter().sum();
            let above: u64 = gt[p + 1..].iter().sum();
            row[j] = Position { median: medians[j].1, below: below as f64 / n as f64, above: above as f64 / n as f64 };
        }
        for (j, r) in row.into_iter().enumerate() {
            out[j].push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prep::ScaleMethod;

    #[test]
    fn medians_and_shares_below_and_above_are_exact() {
        // Values 1..=10; segment 0 holds 1, 2, 3, 4 (median 2.5), segment 1 holds 5..=10 (median 7.5).
        let mut x = Matrix::from_vec((1..=10).map(|v| v as f32).collect(), 10, 1);
        let s = Scaler::fit_transform(&mut x, &["v".into()], ScaleMethod::Zscore, &[]).unwrap();
        let labels = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
        let p = positions(&x, x.d(), &s, &labels, 3);
        assert!((p[0][0].median - 2.5).abs() < 1e-5 && (p[1][0].median - 7.5).abs() < 1e-5);
        assert_eq!((p[0][0].below, p[0][0].above), (0.2, 0.8));
        assert_eq!((p[1][0].below, p[1][0].above), (0.7, 0.3));
        assert!(p[2][0].median.is_nan(), "an empty segment has no median");
    }

    #[test]
    fn ties_count_neither_below_nor_above() {
        let mut x = Matrix::from_vec(vec![1.0, 1.0, 1.0, 2.0], 4, 1);
        let s = Scaler::fit_transform(&mut x, &["v".into()], ScaleMethod::None, &[]).unwrap();
        let p = positions(&x, x.d(), &s, &[0, 0, 1, 1], 2);
        assert_eq!((p[0][0].median, p[0][0].below, p[0][0].above), (1.0, 0.0, 0.25));
        assert_eq!((p[1][0].median, p[1][0].below, p[1][0].above), (1.5, 0.75, 0.25));
    }
}
