//! The report's map of the segments: the first two principal components of the scaled features, from the d × d
//! covariance (summed in `f64` in one pass over the rows, never an n × n matrix), with a seeded sample of points
//! and the centroids projected on them.
//!
//! The eigenvectors come from the cyclic Jacobi method on the small symmetric covariance (d is the number of
//! features, tens at most): about 40 lines, exact to rounding, where a linear-algebra crate (nalgebra, or
//! ndarray-linalg with its LAPACK) would add far more to the build than it saves.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::matrix::Matrix;

/// Points drawn in the report's map (at most).
pub const MAP_POINTS: usize = 3000;
/// The map's sample stream of the run's seed.
const MAP_STREAM: u64 = 17;

/// The first two principal components of a matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Column means.
    pub mean: Vec<f64>,
    /// Up to two unit vectors of length d, by decreasing variance; each has its largest-magnitude entry positive.
    pub components: Vec<Vec<f64>>,
    /// The variance along each component (population covariance, divided by n).
    pub variance: Vec<f64>,
    /// The sum of every feature's variance.
    pub total_variance: f64,
}

impl Pca {
    /// Coordinates of one row on the components.
    pub fn project(&self, row: &[f32]) -> Vec<f64> {
        self.components
            .iter()
            .map(|c| c.iter().zip(row).zip(&self.mean).map(|((w, &v), m)| w * (v as f64 - m)).sum())
            .collect()
    }
}

/// The eigenvalues and eigenvectors of a symmetric matrix (`a[i * d + j]`) by cyclic Jacobi rotations, until the
/// off-diagonal is below 1e-14 of the matrix's norm. Returns (values, vectors) with `vectors[e]` the e-th unit
/// eigenvector, in no particular order.
pub fn jacobi_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let norm: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j].powi(2))
            .sum();
        if off.sqrt() <= 1e-14 * norm.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation that zeroes a[p][q] (Golub & Van Loan, Algorithm 8.5.1).
                let tau = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = tau.signum() / (tau.abs() + (1.0 + tau * tau).sqrt());
                let t = if tau == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let values = (0..d).map(|i| a[i * d + i]).collect();
    let vectors = (0..d).map(|e| (0..d).map(|k| v[k * d + e]).collect()).collect();
    (values, vectors)
}

/// The first two principal components of `x`'s rows (one component when d = 1).
pub fn pca(x: &Matrix) -> Pca {
    let (n, d) = (x.n(), x.d());
    const BLOCK: usize = 8192;
    // Σ x and Σ x xᵀ per fixed block of rows, merged in block order: the same bits whatever the thread count.
    let partial: Vec<(Vec<f64>, Vec<f64>)> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let (mut s, mut ss) = (vec![0.0; d], vec![0.0; d * d]);
            for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                let row = x.row(i);
                for p in 0..d {
                    let vp = row[p] as f64;
                    s[p] += vp;
                    for q in p..d {
                        ss[p * d + q] += vp * row[q] as f64;
                    }
                }
            }
            (s, ss)
        })
        .collect();
    let (mut s, mut ss) = (vec![0.0; d], vec![0.0; d * d]);
    for (a, b) in partial {
        s.iter_mut().zip(&a).for_each(|(x, y)| *x += y);
        ss.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
    }
    let nf = n.max(1) as f64;
    let mean: Vec<f64> = s.iter().map(|v| v / nf).collect();
    let mut cov = vec![0.0; d * d];
    for p in 0..d {
        for q in p..d {
            let c = ss[p * d + q] / nf - mean[p] * mean[q];
            cov[p * d + q] = c;
            cov[q * d + p] = c;
        }
    }
    let total_variance = (0..d).map(|p| cov[p * d + p]).sum();
    let (values, vectors) = jacobi_eigen(&cov, d);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let components: Vec<Vec<f64>> = order
        .iter()
        .take(2)
        .map(|&e| {
            let v = &vectors[e];
            let big = v.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            if big < 0.0 {
                v.iter().map(|x| -x).collect()
            } else {
                v.clone()
            }
        })
        .collect();
    let variance = order.iter().take(2).map(|&e| values[e].max(0.0)).collect();
    Pca { mean, components, variance, total_variance }
}

/// What the report draws: the components, a seeded sample of points and the centroids, in component units.
#[derive(Debug, Clone, PartialEq)]
pub struct PcaView {
    pub pca: Pca,
    /// (first, second component, segment) of at most [`MAP_POINTS`] rows.
    pub points: Vec<(f32, f32, u32)>,
    /// Each centroid's (first, second) coordinates.
    pub centroids: Vec<(f64, f64)>,
    pub feature_names: Vec<String>,
}

/// The map of a fit: `x_scaled` the clustered matrix, `labels` its segments, `centroids` in scaled units.
pub fn pca_view(x_scaled: &Matrix, labels: &[u32], centroids: &Matrix, names: &[String], seed: u64) -> PcaView {
    let p = pca(x_scaled);
    let n = x_scaled.n();
    let rows: Vec<usize> = if n <= MAP_POINTS {
        (0..n).collect()
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(MAP_STREAM);
        let mut r = rand::seq::index::sample(&mut rng, n, MAP_POINTS).into_vec();
        r.sort_unstable();
        r
    };
    let xy = |v: Vec<f64>| (v.first().copied().unwrap_or(0.0), v.get(1).copied().unwrap_or(0.0));
    let points = rows
        .iter()
        .map(|&i| {
            let (a, b) = xy(p.project(x_scaled.row(i)));
            (a as f32, b as f32, labels[i])
        })
        .collect();
    let centroids = (0..centroids.n()).map(|j| xy(p.project(centroids.row(j)))).collect();
    PcaView { pca: p, points, centroids, feature_names: names.to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalises_a_small_symmetric_matrix() {
        let a = [4.0, 1.0, 2.0, 1.0, 3.0, 0.5, 2.0, 0.5, 1.0];
        let (vals, vecs) = jacobi_eigen(&a, 3);
        for (l, v) in vals.iter().zip(&vecs) {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i * 3 + j] * v[j]).sum();
                assert!((av - l * v[i]).abs() < 1e-12, "A v = λ v");
            }
            assert!((v.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-12);
        }
        assert!((vals.iter().sum::<f64>() - 8.0).abs() < 1e-12, "the trace is kept");
    }

    #[test]
    fn points_on_a_line_have_all_their_variance_on_the_first_component() {
        let x = Matrix::from_vec((0..20).flat_map(|i| [i as f32, 2.0 * i as f32]).collect(), 20, 2);
        let p = pca(&x);
        let s = 5f64.sqrt();
        assert!((p.components[0][0] - 1.0 / s).abs() < 1e-9 && (p.components[0][1] - 2.0 / s).abs() < 1e-9);
        assert!(p.variance[1].abs() < 1e-9 && (p.variance[0] - p.total_variance).abs() < 1e-9);
        let view = pca_view(&x, &[0; 20], &Matrix::from_vec(vec![0.0, 0.0], 1, 2), &["a".into(), "b".into()], 1);
        assert_eq!(view.points.len(), 20);
        assert!((view.centroids[0].0 + 9.5 * s).abs() < 1e-6, "{:?}", view.centroids);
    }
}
