//! The exact-sum Lloyd step on the CPU: [`partial_step`] (one partition's share, for a distributed fit),
//! [`ExactCpuBackend`] (the same step as a [`Backend`], for a single-machine fit), [`update_centres`] (the centre
//! update of `kmeans/algorithm.rs`, for a driver that runs the loop itself) and [`fit_exact`].
//!
//! Nearest centres and distances come from the CPU backend's `assign` (the same kernels, so the same labels as the
//! CLI's CPU fit on this CPU); the sums are then added exactly (`fixed.rs`) over fixed blocks in parallel. The step
//! has no Hamerly bounds: every row is scanned each step.

use rayon::prelude::*;

use super::fixed::{ExactScale, ExactSums};
use crate::backend::cpu::{sample_backend, CpuBackend};
use crate::error::Result;
use crate::kmeans::{fit, Assignment, Backend, FitResult, StepStats, ValidParams};
use crate::matrix::Matrix;

/// Rows per block of the parallel exact accumulation (any size gives the same integers).
const BLOCK_ROWS: usize = 8192;

/// Sentinel: no previous label (after `reset_labels`).
const NO_LABEL: u32 = u32::MAX;

/// One partition's share of a step: its exact sums, and its rows' labels and squared distances.
#[derive(Debug, Clone)]
pub struct PartialStep {
    pub sums: ExactSums,
    pub assignment: Assignment,
}

/// Adds the rows of an assignment exactly, in parallel over fixed blocks.
fn exact_sums(
    scale: &ExactScale,
    x: &Matrix,
    w: Option<&[f32]>,
    a: &Assignment,
    k: usize,
    centres: &[f32],
) -> ExactSums {
    let d = x.d();
    let ie = scale.inertia_exp(centres);
    x.as_slice()
        .par_chunks(BLOCK_ROWS * d.max(1))
        .zip(a.labels.par_chunks(BLOCK_ROWS))
        .zip(a.dist2.par_chunks(BLOCK_ROWS))
        .enumerate()
        .map(|(b, ((xb, lb), db))| {
            let mut s = ExactSums::zeros(k, d, ie);
            let wb = w.map(|w| &w[b * BLOCK_ROWS..b * BLOCK_ROWS + lb.len()]);
            s.add_rows(scale, xb, wb, lb, db);
            s
        })
        .reduce(
            || ExactSums::zeros(k, d, ie),
            |mut a, b| {
                a.add(&b);
                a
            },
        )
}

/// One partition's share of a Lloyd step against `centres` (`k × d`): assigns its rows on the CPU and adds them
/// exactly with the fit's global `scale`. Shares of the same step add ([`ExactSums::add`]) to the same integers
/// whatever the partitioning.
pub fn partial_step(
    scale: &ExactScale,
    x: &Matrix,
    w: Option<&[f32]>,
    centres: &[f32],
    k: usize,
) -> Result<PartialStep> {
    assert_eq!(scale.d(), x.d(), "scale of other data");
    let a = CpuBackend::new(x, w).assign(centres, k)?;
    let sums = exact_sums(scale, x, w, &a, k, centres);
    Ok(PartialStep { sums, assignment: a })
}

/// The centre update of one Lloyd step, exactly as `kmeans/algorithm.rs` does it: each cluster with weight takes
/// `(sum / weight) as f32`; a cluster without weight keeps its centre. Returns the total squared shift (`f64`).
/// A driver that runs the loop itself (the Spark fit) calls this, so its centres are the same bits as
/// [`fit_exact`]'s.
pub fn update_centres(stats: &StepStats, centres: &mut [f32], k: usize, d: usize) -> f64 {
    let mut shift = 0f64;
    for j in 0..k {
        if stats.weights[j] > 0.0 {
            for f in 0..d {
                let new = (stats.sums[j * d + f] / stats.weights[j]) as f32;
                let delta = new as f64 - centres[j * d + f] as f64;
                shift += delta * delta;
                centres[j * d + f] = new;
            }
        }
    }
    shift
}

/// The CPU backend with exact sums: the CPU backend's kernels for the assignment and k-means++, [`ExactSums`] for
/// the Lloyd step.
pub struct ExactCpuBackend<'a> {
    inner: CpuBackend<'a>,
    x: &'a Matrix,
    w: Option<&'a [f32]>,
    scale: ExactScale,
    labels: Vec<u32>,
}

impl<'a> ExactCpuBackend<'a> {
    /// A backend over `x` (and optional weights) with the scale of this data.
    pub fn new(x: &'a Matrix, w: Option<&'a [f32]>) -> Self {
        let scale = ExactScale::of_data(x.as_slice(), x.d(), w);
        Self::with_scale(x, w, scale)
    }

    /// A backend with a given scale (that of a larger data set this one is part of).
    pub fn with_scale(x: &'a Matrix, w: Option<&'a [f32]>, scale: ExactScale) -> Self {
        ExactCpuBackend { inner: CpuBackend::new(x, w), x, w, scale, labels: vec![NO_LABEL; x.n()] }
    }

    /// The scale the sums use.
    pub fn scale(&self) -> &ExactScale {
        &self.scale
    }
}

impl Backend for ExactCpuBackend<'_> {
    fn name(&self) -> String {
        format!("{}, exact sums", self.inner.name())
    }
    fn n(&self) -> usize {
        self.x.n()
    }
    fn d(&self) -> usize {
        self.x.d()
    }
    fn reset_labels(&mut self) -> Result<()> {
        self.labels.fill(NO_LABEL);
        self.inner.reset_labels()
    }
    fn lloyd_step(&mut self, centroids: &[f32], k: usize) -> Result<StepStats> {
        let a = self.inner.assign(centroids, k)?;
        let sums = exact_sums(&self.scale, self.x, self.w, &a, k, centroids);
        let changed = self.labels.par_iter().zip(&a.labels).filter(|(p, q)| p != q).count() as u64;
        self.labels = a.labels;
        Ok(sums.to_stats(&self.scale, changed))
    }
    fn assign(&mut self, centroids: &[f32], k: usize) -> Result<Assignment> {
        self.inner.assign(centroids, k)
    }
    fn pp_reset(&mut self, first: &[f32]) -> Result<f64> {
        self.inner.pp_reset(first)
    }
    fn pp_potentials(&mut self, candidates: &[f32], m: usize) -> Result<Vec<f64>> {
        self.inner.pp_potentials(candidates, m)
    }
    fn pp_commit(&mut self, chosen: &[f32]) -> Result<()> {
        self.inner.pp_commit(chosen)
    }
    fn pp_sample(&mut self, targets: &[f64]) -> Result<Vec<usize>> {
        self.inner.pp_sample(targets)
    }
}

/// Fits K-means on the CPU with exact sums (k-means++ seeding on the CPU backend, as every caller in the crate).
pub fn fit_exact(params: &ValidParams, x: &Matrix, w: Option<&[f32]>) -> Result<FitResult> {
    let mut b = ExactCpuBackend::new(x, w);
    fit(params, x, w, &mut b, &sample_backend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kmeans::{Init, KMeansParams};
    use proptest::prelude::*;

    /// Deterministic pseudo-random data (a splitmix-style hash), `n × d`, with clusters around a few centres.
    fn data(n: usize, d: usize, seed: u64) -> Matrix {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut v = Vec::with_capacity(n * d);
        for i in 0..n {
            for f in 0..d {
                v.push(((i % 5) as f64 * 3.0 + next() * 2.0 - 1.0 + f as f64 * 0.1) as f32 * 17.3);
            }
        }
        Matrix::from_vec(v, n, d)
    }

    /// Splits rows `0..n` into `parts` contiguous partitions of uneven sizes.
    fn cuts(n: usize, parts: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut start = 0;
        for p in 0..parts {
            let end = if p + 1 == parts { n } else { (start + (n - start) / (parts - p) + p * 7).min(n) };
            out.push((start, end));
            start = end;
        }
        out
    }

    fn share(x: &Matrix, w: Option<&[f32]>, (a, b): (usize, usize)) -> (Matrix, Option<Vec<f32>>) {
        let d = x.d();
        (Matrix::from_vec(x.as_slice()[a * d..b * d].to_vec(), b - a, d), w.map(|w| w[a..b].to_vec()))
    }

    fn partitioned_sums(x: &Matrix, w: Option<&[f32]>, c: &[f32], k: usize, parts: usize) -> ExactSums {
        let scale = ExactScale::of_data(x.as_slice(), x.d(), w);
        let mut total = ExactSums::zeros(k, x.d(), scale.inertia_exp(c));
        // Added in reverse order: the order does not matter either.
        for cut in cuts(x.n(), parts).into_iter().rev() {
            let (xs, ws) = share(x, w, cut);
            total.add(&partial_step(&scale, &xs, ws.as_deref(), c, k).unwrap().sums);
        }
        total
    }

    #[test]
    fn sums_over_1_2_3_7_partitions_are_bit_identical() {
        let x = data(50_000, 6, 3);
        let w: Vec<f32> = (0..x.n()).map(|i| 0.5 + (i % 13) as f32 * 0.37).collect();
        let c: Vec<f32> = (0..4).flat_map(|j| x.row(j * 1001).to_vec()).collect();
        for weights in [None, Some(w.as_slice())] {
            let one = partitioned_sums(&x, weights, &c, 4, 1);
            for parts in [2, 3, 7] {
                assert_eq!(partitioned_sums(&x, weights, &c, 4, parts), one, "{parts} partitions");
            }
            let scale = ExactScale::of_data(x.as_slice(), x.d(), weights);
            let a = one.to_stats(&scale, 0);
            let b = partitioned_sums(&x, weights, &c, 4, 7).to_stats(&scale, 0);
            assert!(a.sums.iter().zip(&b.sums).all(|(p, q)| p.to_bits() == q.to_bits()));
            assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
        }
    }

    #[test]
    fn exact_sums_agree_with_f64_sums_to_rounding() {
        let x = data(20_000, 5, 9);
        let c: Vec<f32> = (0..3).flat_map(|j| x.row(j * 7).to_vec()).collect();
        let mut cpu = CpuBackend::new(&x, None);
        let reference = cpu.lloyd_step(&c, 3).unwrap();
        let mut exact = ExactCpuBackend::new(&x, None);
        let s = exact.lloyd_step(&c, 3).unwrap();
        assert_eq!(s.counts, reference.counts);
        assert_eq!(s.n_changed, x.n() as u64);
        for (a, b) in s.sums.iter().zip(&reference.sums) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
        }
        assert!((s.inertia - reference.inertia).abs() <= 1e-9 * reference.inertia);
    }

    /// A driver loop over partitions (as the Spark fit runs it) reaches the same centres, to the bit, as
    /// `fit_exact` on the whole data, with explicit initial centres.
    #[test]
    fn a_partitioned_driver_loop_gives_fit_exacts_bits() {
        let x = data(30_000, 4, 11);
        let k = 5;
        let init: Vec<f32> = (0..k).flat_map(|j| x.row(j * 3 + 1).to_vec()).collect();
        let p = KMeansParams::new(k)
            .init(Init::Given(Matrix::from_vec(init.clone(), k, 4)))
            .max_iter(50)
            .tol(0.0)
            .check()
            .unwrap();
        let fitted = fit_exact(&p, &x, None).unwrap();
        for parts in [2, 3, 7] {
            let mut c = init.clone();
            let scale = ExactScale::of_data(x.as_slice(), 4, None);
            let mut iters = 0;
            for _ in 0..50 {
                let mut total = ExactSums::zeros(k, 4, scale.inertia_exp(&c));
                for cut in cuts(x.n(), parts) {
                    let (xs, _) = share(&x, None, cut);
                    total.add(&partial_step(&scale, &xs, None, &c, k).unwrap().sums);
                }
                iters += 1;
                if update_centres(&total.to_stats(&scale, 0), &mut c, k, 4) == 0.0 {
                    break;
                }
            }
            assert_eq!(iters, fitted.n_iter, "{parts} partitions");
            let got: Vec<u32> = c.iter().map(|v| v.to_bits()).collect();
            let want: Vec<u32> = fitted.centroids.as_slice().iter().map(|v| v.to_bits()).collect();
            assert_eq!(got, want, "{parts} partitions");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Any cut of the rows into two shares adds to the whole's sums.
        #[test]
        fn any_two_way_cut_adds_to_the_whole(n in 2usize..400, cut in 0usize..400, seed in 0u64..1000) {
            let cut = cut % n;
            let x = data(n, 3, seed);
            let c: Vec<f32> = x.row(0).iter().chain(x.row(n - 1)).copied().collect();
            let scale = ExactScale::of_data(x.as_slice(), 3, None);
            let whole = partial_step(&scale, &x, None, &c, 2).unwrap().sums;
            let (a, _) = share(&x, None, (0, cut));
            let (b, _) = share(&x, None, (cut, n));
            let mut parts = partial_step(&scale, &b, None, &c, 2).unwrap().sums;
            parts.add(&partial_step(&scale, &a, None, &c, 2).unwrap().sums);
            prop_assert_eq!(parts, whole);
        }
    }
}
