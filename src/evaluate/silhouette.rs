//! The silhouette coefficient, exact, on every row or on a seeded uniform sample of rows, as scikit-learn's
//! `silhouette_score(X, labels, sample_size=...)`: the sample's silhouette uses distances among the sample's rows
//! only, and its clusters are the labels found in the sample.
//!
//! Work is O(s² d) for s rows, so the distances come in tiles of a matrix product (`ndarray`'s `general_mat_mul`
//! over `matrixmultiply`), `‖a‖² + ‖b‖² − 2a·b`, as scikit-learn's `euclidean_distances` does. Everything is in
//! `f64`: in `f32` that formula loses every digit for rows closer than about 1e-3 of their norms, and the per-row
//! sums run over up to 50,000 distances. Row blocks run in parallel with rayon; no `s × s` matrix is ever held.
//!
//! The sample and the scoring from per-cluster sums ([`SilhouetteSample`]) are shared with the GPU path
//! (`device::silhouette_on_device`), whose sums come from `shaders/silhouette.wgsl`.

use ndarray::{linalg::general_mat_mul, Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::matrix::Matrix;

/// Rows per parallel block, and columns per distance tile (a block's tile is 64 × 2048 `f64`, 1 MiB).
const BLOCK: usize = 64;
const TILE: usize = 2048;

/// The mean silhouette over every row of `x`. `None` when the labels hold fewer than 2 clusters or as many as
/// there are rows (scikit-learn refuses those).
pub fn silhouette_score(x: &Matrix, labels: &[u32]) -> Option<f64> {
    let idx: Vec<usize> = (0..x.n()).collect();
    silhouette_of_rows(x, labels, &idx)
}

/// The silhouette of a seeded uniform sample of `sample` rows (without replacement, from ChaCha8 seeded with
/// `seed`), or of every row when there are no more than `sample`.
pub fn silhouette_sampled(x: &Matrix, labels: &[u32], sample: usize, seed: u64) -> Option<f64> {
    let idx = sample_rows(x.n(), sample, seed);
    silhouette_of_rows(x, labels, &idx)
}

/// The rows the silhouette of `sample` rows out of `n` is computed on: a seeded uniform sample without
/// replacement (ChaCha8 seeded with `seed`), ascending, or every row when there are no more than `sample`.
pub fn sample_rows(n: usize, sample: usize, seed: u64) -> Vec<usize> {
    if sample >= n {
        return (0..n).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut idx = rand::seq::index::sample(&mut rng, n, sample).into_vec();
    idx.sort_unstable();
    idx
}

/// The sampled rows ordered by cluster, so that each cluster is one contiguous run `start[c]..start[c + 1]`:
/// the CPU sums a run as one slice of a tile's row, and the GPU kernel (`backend::gpu::silhouette`) keeps one
/// running sum per run instead of a per-cluster array per thread.
#[derive(Debug, Clone)]
pub struct SilhouetteSample {
    /// `s × d` features, row-major, ordered by cluster.
    pub rows: Vec<f32>,
    pub d: usize,
    /// Each row's cluster, `0..m` (renumbered in order of first appearance in the sample).
    pub lab: Vec<usize>,
    /// Where each cluster's run starts, with `start[m] = s`.
    pub start: Vec<usize>,
}

impl SilhouetteSample {
    /// The rows `idx` of `x` with their labels; `None` when they hold fewer than 2 clusters or as many as rows
    /// (scikit-learn refuses those).
    pub fn new(x: &Matrix, labels: &[u32], idx: &[usize]) -> Option<SilhouetteSample> {
        assert_eq!(labels.len(), x.n(), "one label per row");
        let (s, d) = (idx.len(), x.d());
        // Labels of the sample, renumbered 0..m.
        let mut ids = std::collections::HashMap::new();
        let lab: Vec<usize> = idx
            .iter()
            .map(|&i| {
                let next = ids.len();
                *ids.entry(labels[i]).or_insert(next)
            })
            .collect();
        let m = ids.len();
        if m < 2 || m >= s {
            return None;
        }
        let mut order: Vec<usize> = (0..s).collect();
        order.sort_by_key(|&r| lab[r]);
        let lab: Vec<usize> = order.iter().map(|&r| lab[r]).collect();
        let mut start = vec![0usize; m + 1];
        lab.iter().for_each(|&l| start[l + 1] += 1);
        for c in 0..m {
            start[c + 1] += start[c];
        }
        let mut rows = Vec::with_capacity(s * d);
        order.iter().for_each(|&r| rows.extend_from_slice(x.row(idx[r])));
        Some(SilhouetteSample { rows, d, lab, start })
    }

    /// Rows in the sample.
    pub fn s(&self) -> usize {
        self.lab.len()
    }

    /// Clusters in the sample.
    pub fn m(&self) -> usize {
        self.start.len() - 1
    }

    /// Rows of cluster `c` in the sample.
    fn size(&self, c: usize) -> usize {
        self.start[c + 1] - self.start[c]
    }

    /// The mean silhouette from every row's per-cluster sums of distances to the other sample rows (`s × m`,
    /// row-major, in the sample's order). Rows are scored and added per block of 64 rows, block sums in
    /// block order, exactly as the CPU path does, so that equal sums give equal bits.
    pub fn mean_from_sums(&self, sums: &[f64]) -> f64 {
        let (s, m) = (self.s(), self.m());
        assert_eq!(sums.len(), s * m, "one sum per row and cluster");
        let blocks: Vec<f64> = (0..s.div_ceil(BLOCK))
            .map(|b| {
                let (lo, hi) = (b * BLOCK, ((b + 1) * BLOCK).min(s));
                self.block_score(lo, hi, &sums[lo * m..hi * m])
            })
            .collect();
        blocks.iter().sum::<f64>() / s as f64
    }

    /// The sum of the silhouettes of rows `lo..hi`, from their per-cluster sums (`(hi − lo) × m`).
    fn block_score(&self, lo: usize, hi: usize, sums: &[f64]) -> f64 {
        let m = self.m();
        (lo..hi)
            .map(|i| {
                let acc = &sums[(i - lo) * m..(i - lo + 1) * m];
                let own = self.lab[i];
                if self.size(own) == 1 {
                    return 0.0; // scikit-learn: a singleton's silhouette is 0
                }
                let a = acc[own] / (self.size(own) - 1) as f64;
                let b =
                    (0..m).filter(|&c| c != own).map(|c| acc[c] / self.size(c) as f64).fold(f64::INFINITY, f64::min);
                let den = a.max(b);
                if den > 0.0 {
                    (b - a) / den
                } else {
                    0.0
                }
            })
            .sum::<f64>()
    }
}

/// The silhouette of the rows `idx` of `x` among themselves, on the CPU.
fn silhouette_of_rows(x: &Matrix, labels: &[u32], idx: &[usize]) -> Option<f64> {
    let smp = SilhouetteSample::new(x, labels, idx)?;
    let (s, d, m) = (smp.s(), smp.d, smp.m());
    let start = &smp.start;
    let rows = Array2::from_shape_fn((s, d), |(r, f)| smp.rows[r * d + f] as f64);
    let norms: Vec<f64> = rows.outer_iter().map(|r| r.dot(&r)).collect();

    let per_block: Vec<f64> = (0..s.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let (lo, hi) = (b * BLOCK, ((b + 1) * BLOCK).min(s));
            let a = rows.slice(ndarray::s![lo..hi, ..]);
            // Each row's sum of distances to the other sample rows, per cluster.
            let mut sums = vec![0f64; (hi - lo) * m];
            let mut g = Array2::<f64>::zeros((hi - lo, TILE));
            for t0 in (0..s).step_by(TILE) {
                let t1 = (t0 + TILE).min(s);
                let tile: ArrayView2<f64> = rows.slice(ndarray::s![t0..t1, ..]);
                let mut gv = g.slice_mut(ndarray::s![.., ..t1 - t0]);
                general_mat_mul(1.0, &a, &tile.t(), 0.0, &mut gv);
                for (r, grow) in gv.outer_iter().enumerate() {
                    let i = lo + r;
                    let grow = grow.as_slice().expect("a row of a standard-layout tile");
                    let ni = norms[i];
                    for c in 0..m {
                        let (j0, j1) = (start[c].max(t0), start[c + 1].min(t1));
                        if j0 >= j1 {
                            continue;
                        }
                        let dist = |j: usize| (ni + norms[j] - 2.0 * grow[j - t0]).max(0.0).sqrt();
                        let mut acc: f64 = (j0..j1).map(dist).sum();
                        if (j0..j1).contains(&i) {
                            acc -= dist(i); // a row's distance to itself is 0 (here a rounding residue)
                        }
                        sums[r * m + c] += acc;
                    }
                }
            }
            smp.block_score(lo, hi, &sums)
        })
        .collect();
    // Block sums are added in block order: the same bits whatever the thread count.
    Some(per_block.iter().sum::<f64>() / s as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, row by row, with direct distances.
    fn naive(x: &Matrix, labels: &[u32]) -> f64 {
        let n = x.n();
        let dist = |i: usize, j: usize| {
            x.row(i).iter().zip(x.row(j)).map(|(a, b)| (*a as f64 - *b as f64).powi(2)).sum::<f64>().sqrt()
        };
        let mut total = 0.0;
        for i in 0..n {
            let mut by: std::collections::BTreeMap<u32, (f64, usize)> = Default::default();
            for (j, &lj) in labels.iter().enumerate() {
                let e = by.entry(lj).or_default();
                e.1 += 1;
                if j != i {
                    e.0 += dist(i, j);
                }
            }
            let (sa, na) = by[&labels[i]];
            if na == 1 {
                continue;
            }
            let a = sa / (na - 1) as f64;
            let b =
                by.iter().filter(|(l, _)| **l != labels[i]).map(|(_, (s, c))| s / *c as f64).fold(f64::MAX, f64::min);
            total += if a.max(b) > 0.0 { (b - a) / a.max(b) } else { 0.0 };
        }
        total / n as f64
    }

    #[test]
    fn two_tight_far_groups_score_near_one() {
        let x = Matrix::from_vec(vec![0.0, 0.1, 0.2, 10.0, 10.1, 10.2], 6, 1);
        let s = silhouette_score(&x, &[0, 0, 0, 1, 1, 1]).unwrap();
        assert!(s > 0.97, "{s}");
    }

    #[test]
    fn one_cluster_or_one_row_per_cluster_has_no_silhouette() {
        let x = Matrix::from_vec(vec![0.0, 1.0, 2.0], 3, 1);
        assert_eq!(silhouette_score(&x, &[4, 4, 4]), None);
        assert_eq!(silhouette_score(&x, &[0, 1, 2]), None);
    }

    #[test]
    fn a_sample_as_large_as_the_data_is_the_data() {
        let x = Matrix::from_vec((0..40).map(|v| (v % 7) as f32 + v as f32 * 0.01).collect(), 20, 2);
        let l: Vec<u32> = (0..20).map(|i| (i % 3) as u32).collect();
        assert_eq!(silhouette_sampled(&x, &l, 20, 5), silhouette_score(&x, &l));
        assert_eq!(silhouette_sampled(&x, &l, 1000, 5), silhouette_score(&x, &l));
    }

    #[test]
    fn the_same_seed_draws_the_same_sample() {
        let x = Matrix::from_vec((0..600).map(|v| ((v * 37) % 101) as f32).collect(), 300, 2);
        let l: Vec<u32> = (0..300).map(|i| (i % 4) as u32).collect();
        assert_eq!(silhouette_sampled(&x, &l, 50, 9), silhouette_sampled(&x, &l, 50, 9));
    }

    #[test]
    fn tiles_and_blocks_cover_every_pair() {
        // More rows than one block and one tile, so the block and tile edges are crossed.
        let n = TILE + BLOCK + 7;
        let x = Matrix::from_vec((0..n * 2).map(|v| ((v * 7919) % 1000) as f32 / 100.0).collect(), n, 2);
        let l: Vec<u32> = (0..n).map(|i| (x.row(i)[0] > 5.0) as u32 + 2 * (x.row(i)[1] > 3.0) as u32).collect();
        let got = silhouette_score(&x, &l).unwrap();
        let want = naive(&x, &l);
        assert!((got - want).abs() <= 1e-7, "{got} vs {want}");
    }

    proptest! {
        #[test]
        fn the_silhouette_lies_in_minus_one_one_and_matches_the_definition(
            rows in prop::collection::vec((-50i32..50, -50i32..50, 0u32..4), 3..60)
        ) {
            let x = Matrix::from_vec(rows.iter().flat_map(|r| [r.0 as f32 / 4.0, r.1 as f32 / 4.0]).collect(), rows.len(), 2);
            let l: Vec<u32> = rows.iter().map(|r| r.2).collect();
            if let Some(s) = silhouette_score(&x, &l) {
                prop_assert!((-1.0..=1.0).contains(&s), "{}", s);
                let want = naive(&x, &l);
                prop_assert!((s - want).abs() <= 1e-7, "{} vs {}", s, want);
            }
        }
    }
}
