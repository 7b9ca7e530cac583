//! `segment --previous`: matches a new fit's segments to the previous model's, so that a segment that is still
//! there keeps its number. The matching is optimal (Hungarian, through the `pathfinding` crate) on the distance
//! between centroids in the NEW run's scaled units; a pair farther apart than the match radius counts as no match,
//! so the new segment gets a fresh number and the old one is reported as vanished.

use pathfinding::prelude::{kuhn_munkres_min, Matrix as Weights};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::matrix::Matrix;
use crate::model::Model;
use crate::prep::Scaler;

/// The default match radius, in units of the new fit's RMS distance from a customer to its centre.
pub const DEFAULT_MATCH_RADIUS: f64 = 1.0;

/// How the new segments relate to the previous model's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matching {
    /// The number of each new segment (by position in the new fit).
    pub numbers: Vec<u32>,
    /// Per new segment: the previous number it kept and the centroid distance (new scaled units), or `None` for a
    /// new segment.
    pub matched: Vec<Option<(u32, f64)>>,
    /// Previous numbers that no new segment kept, ascending.
    pub vanished: Vec<u32>,
    /// The largest centroid distance that still counts as a match (new scaled units).
    pub max_distance: f64,
}

/// The RMS distance from a customer to its centre, from the squared distances of a fit: the scale of the match
/// radius, so that "the same segment" means "moved less than a typical customer's distance from its centre".
pub fn rms_radius(dist2: &[f32]) -> f64 {
    if dist2.is_empty() {
        return 0.0;
    }
    (dist2.iter().map(|&v| v as f64).sum::<f64>() / dist2.len() as f64).sqrt()
}

/// Matches `centroids` (the new fit's, in the new scaled units) to `prev`'s segments. The previous centroids are
/// mapped from their original units into the new scaled units with `scaler`, so the distances are those the new
/// fit measures. Matched segments keep the previous number; the others get fresh numbers above every previous one,
/// in the order of their positions (the canonical order).
pub fn match_previous(prev: &Model, centroids: &Matrix, scaler: &Scaler, max_distance: f64) -> Result<Matching> {
    let d = prev.features.len();
    if centroids.d() != d {
        return Err(Error::Data(format!("the new fit has {} features, the previous model {d}", centroids.d())));
    }
    let mut old = Matrix::from_vec(prev.centroids.iter().flatten().map(|&v| v as f32).collect(), prev.k(), d);
    scaler.transform(&mut old)?;
    let (kn, ko) = (centroids.n(), old.n());
    let dist: Vec<Vec<f64>> = (0..kn)
        .map(|i| {
            (0..ko)
                .map(|j| {
                    let (a, b) = (centroids.row(i), old.row(j));
                    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>().sqrt()
                })
                .collect()
        })
        .collect();
    let pairs = optimal_pairs(&dist);
    let prev_numbers = prev.numbers();
    let mut matched = vec![None; kn];
    for (i, j) in pairs {
        if dist[i][j] <= max_distance {
            matched[i] = Some((prev_numbers[j], dist[i][j]));
        }
    }
    let mut next = prev_numbers.iter().max().map_or(0, |&m| m + 1);
    let numbers = matched
        .iter()
        .map(|m| match m {
            Some((n, _)) => *n,
            None => {
                next += 1;
                next - 1
            }
        })
        .collect();
    let kept: Vec<u32> = matched.iter().flatten().map(|&(n, _)| n).collect();
    let mut vanished: Vec<u32> = prev_numbers.into_iter().filter(|n| !kept.contains(n)).collect();
    vanished.sort_unstable();
    Ok(Matching { numbers, matched, vanished, max_distance })
}

/// The pairs (row, column) of a minimum-total-distance matching of every row to a distinct column (or of every
/// column to a distinct row, when there are more rows). Distances are rounded to integers on a grid of 1e-12 of
/// the largest, as the Hungarian method needs exact sums; distances closer than that are ties.
fn optimal_pairs(dist: &[Vec<f64>]) -> Vec<(usize, usize)> {
    let (rows, cols) = (dist.len(), dist.first().map_or(0, Vec::len));
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    let top = dist.iter().flatten().fold(0f64, |m, &v| m.max(v));
    let unit = if top > 0.0 { 1e12 / top } else { 1.0 };
    let int = |v: f64| (v * unit).round() as i64;
    if rows <= cols {
        let w = Weights::from_rows(dist.iter().map(|r| r.iter().map(|&v| int(v)).collect::<Vec<_>>()))
            .expect("rectangular");
        let (_, cols_of) = kuhn_munkres_min(&w);
        cols_of.into_iter().enumerate().collect()
    } else {
        let w = Weights::from_rows((0..cols).map(|j| dist.iter().map(|r| int(r[j])).collect::<Vec<_>>()))
            .expect("rectangular");
        let (_, rows_of) = kuhn_munkres_min(&w);
        rows_of.into_iter().enumerate().map(|(j, i)| (i, j)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_force(dist: &[Vec<f64>]) -> f64 {
        // Every injection of the smaller side into the larger, by recursion.
        fn go(dist: &[Vec<f64>], i: usize, used: &mut Vec<bool>) -> f64 {
            if i == dist.len() {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for j in 0..used.len() {
                if !used[j] {
                    used[j] = true;
                    best = best.min(dist[i][j] + go(dist, i + 1, used));
                    used[j] = false;
                }
            }
            best
        }
        if dist.len() <= dist[0].len() {
            go(dist, 0, &mut vec![false; dist[0].len()])
        } else {
            let t: Vec<Vec<f64>> = (0..dist[0].len()).map(|j| dist.iter().map(|r| r[j]).collect()).collect();
            go(&t, 0, &mut vec![false; dist.len()])
        }
    }

    proptest::proptest! {
        /// The matching is a valid injection whose total equals the brute-force optimum, square or not.
        #[test]
        fn optimal_pairs_are_optimal(rows in 1usize..6, cols in 1usize..6, seed in 0u64..1000) {
            use rand::{RngExt, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let dist: Vec<Vec<f64>> = (0..rows).map(|_| (0..cols).map(|_| rng.random::<f64>() * 10.0).collect()).collect();
            let pairs = optimal_pairs(&dist);
            proptest::prop_assert_eq!(pairs.len(), rows.min(cols));
            let mut rs: Vec<usize> = pairs.iter().map(|p| p.0).collect();
            let mut cs: Vec<usize> = pairs.iter().map(|p| p.1).collect();
            rs.sort_unstable(); rs.dedup(); cs.sort_unstable(); cs.dedup();
            proptest::prop_assert_eq!(rs.len(), pairs.len());
            proptest::prop_assert_eq!(cs.len(), pairs.len());
            let total: f64 = pairs.iter().map(|&(i, j)| dist[i][j]).sum();
            proptest::prop_assert!((total - brute_force(&dist)).abs() < 1e-9);
        }
    }

    #[test]
    fn the_radius_is_the_rms_distance() {
        assert_eq!(rms_radius(&[1.0, 9.0]), 5f64.sqrt());
        assert_eq!(rms_radius(&[]), 0.0);
    }
}
