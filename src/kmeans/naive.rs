//! A naive reference [`Backend`] for the unit tests of `kmeans/` (compiled only for tests): each method is the
//! textbook loop over rows and centroids, distances in `f64`, so the algorithm's tests do not depend on any real
//! backend's kernels.

use super::backend::{Assignment, Backend, StepStats};
use crate::error::Result;
use crate::matrix::Matrix;

/// Sentinel label: no previous step.
const NONE: u32 = u32::MAX;

/// The naive backend over one borrowed dataset.
pub(crate) struct NaiveBackend<'a> {
    x: &'a Matrix,
    w: Option<&'a [f32]>,
    /// The previous step's labels (`NONE` after `reset_labels`).
    labels: Vec<u32>,
    /// k-means++: each row's squared distance to its closest chosen centre.
    closest: Vec<f64>,
}

/// A boxed [`NaiveBackend`]: the sample backend the tests pass to `fit`.
pub(crate) fn naive_backend<'a>(x: &'a Matrix, w: Option<&'a [f32]>) -> Result<Box<dyn Backend + 'a>> {
    Ok(Box::new(NaiveBackend::new(x, w)))
}

impl<'a> NaiveBackend<'a> {
    pub(crate) fn new(x: &'a Matrix, w: Option<&'a [f32]>) -> Self {
        NaiveBackend { x, w, labels: vec![NONE; x.n()], closest: vec![0.0; x.n()] }
    }

    fn weight(&self, i: usize) -> f64 {
        self.w.map_or(1.0, |w| w[i] as f64)
    }

    /// `Σ (xᵢ − c)²` in `f64`.
    fn dist(&self, i: usize, c: &[f32]) -> f64 {
        self.x.row(i).iter().zip(c).map(|(&a, &b)| (a as f64 - b as f64) * (a as f64 - b as f64)).sum()
    }

    /// The nearest of the `k` centroids to row `i` (the first on ties) and its squared distance.
    fn nearest(&self, i: usize, centroids: &[f32], k: usize) -> (u32, f64) {
        let d = self.x.d();
        let mut best = (0u32, f64::INFINITY);
        for j in 0..k {
            let dj = self.dist(i, &centroids[j * d..(j + 1) * d]);
            if dj < best.1 {
                best = (j as u32, dj);
            }
        }
        best
    }
}

impl Backend for NaiveBackend<'_> {
    fn name(&self) -> String {
        "naive".into()
    }
    fn n(&self) -> usize {
        self.x.n()
    }
    fn d(&self) -> usize {
        self.x.d()
    }

    fn reset_labels(&mut self) -> Result<()> {
        self.labels.fill(NONE);
        Ok(())
    }

    fn lloyd_step(&mut self, centroids: &[f32], k: usize) -> Result<StepStats> {
        let d = self.x.d();
        let mut s = StepStats::zeros(k, d);
        for i in 0..self.x.n() {
            let (j, dist) = self.nearest(i, centroids, k);
            let w = self.weight(i);
            let ju = j as usize;
            for (f, &v) in self.x.row(i).iter().enumerate() {
                s.sums[ju * d + f] += w * v as f64;
            }
            s.weights[ju] += w;
            s.counts[ju] += 1;
            s.inertia += w * dist;
            s.n_changed += u64::from(self.labels[i] != j);
            self.labels[i] = j;
        }
        Ok(s)
    }

    fn assign(&mut self, centroids: &[f32], k: usize) -> Result<Assignment> {
        let (labels, dist2) =
            (0..self.x.n()).map(|i| self.nearest(i, centroids, k)).map(|(j, d)| (j, d as f32)).unzip();
        Ok(Assignment { labels, dist2 })
    }

    fn pp_reset(&mut self, first: &[f32]) -> Result<f64> {
        self.closest = (0..self.x.n()).map(|i| self.dist(i, first)).collect();
        Ok((0..self.x.n()).map(|i| self.weight(i) * self.closest[i]).sum())
    }

    fn pp_potentials(&mut self, candidates: &[f32], m: usize) -> Result<Vec<f64>> {
        let d = self.x.d();
        let pot = |t: usize| -> f64 {
            let cand = &candidates[t * d..(t + 1) * d];
            (0..self.x.n()).map(|i| self.weight(i) * self.closest[i].min(self.dist(i, cand))).sum()
        };
        Ok((0..m).map(pot).collect())
    }

    fn pp_commit(&mut self, chosen: &[f32]) -> Result<()> {
        for i in 0..self.x.n() {
            self.closest[i] = self.closest[i].min(self.dist(i, chosen));
        }
        Ok(())
    }

    fn pp_sample(&mut self, targets: &[f64]) -> Result<Vec<usize>> {
        let n = self.x.n();
        let cumsum: Vec<f64> = (0..n)
            .scan(0.0, |acc, i| {
                *acc += self.weight(i) * self.closest[i];
                Some(*acc)
            })
            .collect();
        Ok(targets.iter().map(|&t| cumsum.iter().position(|&c| c >= t).unwrap_or(n - 1)).collect())
    }
}
