//! Davies-Bouldin and Calinski-Harabasz on every row, as scikit-learn's `davies_bouldin_score` and
//! `calinski_harabasz_score`: one pass for the per-cluster sums (the clusters' means) and one pass for each
//! row's distance to its cluster's mean; and the smallest segment's share.
//!
//! Sums are `f64`, per fixed block of rows and then merged in block order, so the result has the same bits
//! whatever the thread count; the squared distances to the mean are summed directly rather than as
//! `Σ‖x‖² − n‖c‖²`, which cancels catastrophically for tight clusters far from the origin.

use rayon::prelude::*;

use crate::matrix::Matrix;

/// Rows per block of the parallel passes.
const BLOCK: usize = 16 * 1024;

/// Davies-Bouldin (lower is better, 0 at best) and Calinski-Harabasz (higher is better) of one labeling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterIndices {
    pub davies_bouldin: f64,
    pub calinski_harabasz: f64,
}

/// Per-cluster sums of one block of rows: counts, `Σx` (k × d), and whatever a second pass adds.
fn block_sums(x: &Matrix, labels: &[u32], k: usize, lo: usize, hi: usize) -> (Vec<u64>, Vec<f64>) {
    let d = x.d();
    let (mut count, mut sum) = (vec![0u64; k], vec![0f64; k * d]);
    for (i, &l) in (lo..hi).zip(&labels[lo..hi]) {
        let l = l as usize;
        count[l] += 1;
        for (s, &v) in sum[l * d..(l + 1) * d].iter_mut().zip(x.row(i)) {
            *s += v as f64;
        }
    }
    (count, sum)
}

/// The two indices of `labels` (values below `k`) over every row of `x`. Clusters without rows are left out, as
/// scikit-learn's label encoding does. `None` unless there are at least 2 non-empty clusters and fewer clusters
/// than rows (scikit-learn refuses those).
pub fn cluster_indices(x: &Matrix, labels: &[u32], k: usize) -> Option<ClusterIndices> {
    assert_eq!(labels.len(), x.n(), "one label per row");
    let (n, d) = (x.n(), x.d());
    let blocks: Vec<(usize, usize)> = (0..n.div_ceil(BLOCK)).map(|b| (b * BLOCK, ((b + 1) * BLOCK).min(n))).collect();
    // Pass 1: counts and sums, hence the means.
    let parts: Vec<_> = blocks.par_iter().map(|&(lo, hi)| block_sums(x, labels, k, lo, hi)).collect();
    let (mut count, mut sum) = (vec![0u64; k], vec![0f64; k * d]);
    for (c, s) in parts {
        count.iter_mut().zip(c).for_each(|(a, b)| *a += b);
        sum.iter_mut().zip(s).for_each(|(a, b)| *a += b);
    }
    let present: Vec<usize> = (0..k).filter(|&j| count[j] > 0).collect();
    let m = present.len();
    if m < 2 || m >= n {
        return None;
    }
    let mean: Vec<f64> =
        (0..k * d).map(|i| if count[i / d] > 0 { sum[i] / count[i / d] as f64 } else { 0.0 }).collect();
    // Pass 2: each row's distance and squared distance to its cluster's mean, summed per cluster.
    let parts: Vec<(Vec<f64>, Vec<f64>)> = blocks
        .par_iter()
        .map(|&(lo, hi)| {
            let (mut dist, mut dist2) = (vec![0f64; k], vec![0f64; k]);
            for (i, &l) in (lo..hi).zip(&labels[lo..hi]) {
                let l = l as usize;
                let c = &mean[l * d..(l + 1) * d];
                let e: f64 = x.row(i).iter().zip(c).map(|(&v, &m)| (v as f64 - m) * (v as f64 - m)).sum();
                dist[l] += e.sqrt();
                dist2[l] += e;
            }
            (dist, dist2)
        })
        .collect();
    let (mut dist, mut dist2) = (vec![0f64; k], vec![0f64; k]);
    for (a, b) in parts {
        dist.iter_mut().zip(a).for_each(|(s, v)| *s += v);
        dist2.iter_mut().zip(b).for_each(|(s, v)| *s += v);
    }
    let centre = |j: usize| &mean[j * d..(j + 1) * d];
    let between = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum::<f64>();

    // Calinski-Harabasz: between-cluster over within-cluster dispersion, each over its degrees of freedom.
    let grand: Vec<f64> = (0..d).map(|f| present.iter().map(|&j| sum[j * d + f]).sum::<f64>() / n as f64).collect();
    let extra: f64 = present.iter().map(|&j| count[j] as f64 * between(centre(j), &grand)).sum();
    let intra: f64 = present.iter().map(|&j| dist2[j]).sum();
    let calinski_harabasz = if intra == 0.0 { 1.0 } else { extra * (n - m) as f64 / (intra * (m as f64 - 1.0)) };

    // Davies-Bouldin: the mean over clusters of the worst (sᵢ + sⱼ) / dᵢⱼ.
    let s: Vec<f64> = present.iter().map(|&j| dist[j] / count[j] as f64).collect();
    let cd: Vec<Vec<f64>> =
        present.iter().map(|&a| present.iter().map(|&b| between(centre(a), centre(b)).sqrt()).collect()).collect();
    // scikit-learn: 0 when every scatter or every centre distance is (numpy-allclose to) 0.
    let close0 = |v: f64| v.abs() <= 1e-8;
    let davies_bouldin = if s.iter().all(|&v| close0(v)) || cd.iter().flatten().all(|&v| close0(v)) {
        0.0
    } else {
        (0..m)
            .map(|a| {
                (0..m)
                    .filter(|&b| b != a)
                    .map(|b| if cd[a][b] == 0.0 { 0.0 } else { (s[a] + s[b]) / cd[a][b] })
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .sum::<f64>()
            / m as f64
    };
    Some(ClusterIndices { davies_bouldin, calinski_harabasz })
}

/// The smallest cluster's share of the rows, over `sizes` (empty clusters count, as 0).
pub fn min_share(sizes: &[u64]) -> f64 {
    let total: u64 = sizes.iter().sum();
    if total == 0 {
        return 0.0;
    }
    sizes.iter().copied().min().unwrap_or(0) as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_points_per_cluster_give_the_hand_computed_indices() {
        // Clusters {0, 2} and {10, 12} on a line: means 1 and 11, scatters 1 and 1, centre distance 10.
        let x = Matrix::from_vec(vec![0.0, 2.0, 10.0, 12.0], 4, 1);
        let r = cluster_indices(&x, &[0, 0, 1, 1], 2).unwrap();
        assert!((r.davies_bouldin - 0.2).abs() < 1e-12, "{r:?}");
        // between = 2·25 + 2·25 = 100 over 1 dof; within = 4 over 2 dof: 100 / 2 = 50.
        assert!((r.calinski_harabasz - 50.0).abs() < 1e-9, "{r:?}");
    }

    #[test]
    fn empty_clusters_are_left_out() {
        let x = Matrix::from_vec(vec![0.0, 2.0, 10.0, 12.0], 4, 1);
        assert_eq!(cluster_indices(&x, &[0, 0, 3, 3], 5), cluster_indices(&x, &[0, 0, 1, 1], 2));
    }

    #[test]
    fn one_cluster_has_no_indices() {
        let x = Matrix::from_vec(vec![0.0, 2.0, 10.0], 3, 1);
        assert_eq!(cluster_indices(&x, &[1, 1, 1], 2), None);
        assert_eq!(cluster_indices(&x, &[0, 1, 2], 3), None, "as many clusters as rows");
    }

    #[test]
    fn min_share_counts_an_empty_cluster_as_zero() {
        assert_eq!(min_share(&[30, 10, 60]), 0.1);
        assert_eq!(min_share(&[30, 0, 60]), 0.0);
    }
}
