//! The K-means algorithm, written once for every backend: restarts, initialisation, the Lloyd loop, convergence
//! and empty clusters. Backends supply only the data-parallel steps (see `backend.rs`).
//!
//! The loop follows scikit-learn's `_kmeans_single_lloyd`: each step assigns points to the current centres and
//! computes the new centres from the per-cluster sums; it stops on strict convergence (no label changed) or when
//! the total squared centre shift is at most `tol × mean feature variance`. An empty cluster takes the point
//! farthest from its centre, as scikit-learn's `_relocate_empty_clusters` does. Sums arrive in `f64`.

use std::collections::HashSet;

use rayon::prelude::*;
use tracing::{debug, info};

use super::backend::{Backend, SampleBackend, StepStats};
use super::hyperparams::{Init, ValidParams};
use super::init;
use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// What one restart did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunSummary {
    /// Σ wᵢ·‖xᵢ − c_{label(i)}‖² against the run's final centroids.
    pub inertia: f64,
    /// Lloyd steps taken.
    pub n_iter: usize,
    /// Whether the run stopped on convergence (no label changed, or the centre shift within the tolerance) rather
    /// than at `max_iter`.
    pub converged: bool,
    /// How many times a cluster was empty and took the farthest point.
    pub empty_relocations: usize,
}

/// A fitted clustering: the best of the `n_init` runs, with every point's label and distance to its centre.
#[derive(Debug, Clone)]
pub struct FitResult {
    /// `k × d` centroids, in the units of the matrix that was clustered.
    pub centroids: Matrix,
    /// Each point's segment: the index of its nearest centroid.
    pub labels: Vec<u32>,
    /// Squared Euclidean distance of each point to its centroid.
    pub dist2: Vec<f32>,
    /// Σ wᵢ·dist2ᵢ of the best run.
    pub inertia: f64,
    /// Lloyd steps of the best run.
    pub n_iter: usize,
    /// Whether the best run converged.
    pub converged: bool,
    /// Number of points in each segment.
    pub sizes: Vec<u64>,
    /// Every run, in order; `best_run` indexes the one kept (lowest inertia, first on ties).
    pub runs: Vec<RunSummary>,
    /// Index into `runs` of the run kept.
    pub best_run: usize,
    /// The backend's name.
    pub backend: String,
}

/// Checks the data once: at least one row and one column, finite values, valid weights, and `k` no larger than
/// the number of distinct rows.
fn check_data(x: &Matrix, w: Option<&[f32]>, k: usize) -> Result<()> {
    if x.n() == 0 {
        return Err(Error::Data("no rows to cluster (0 rows)".into()));
    }
    if x.d() == 0 {
        return Err(Error::Data("no feature columns to cluster (0 columns)".into()));
    }
    let bad = x.as_slice().par_iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(Error::Data(format!("feature matrix has {bad} NaN or infinite values")));
    }
    if let Some(w) = w {
        if w.len() != x.n() {
            return Err(Error::Data(format!("{} weights for {} rows", w.len(), x.n())));
        }
        let bad = w.iter().filter(|v| !v.is_finite() || **v < 0.0).count();
        if bad > 0 {
            return Err(Error::Data(format!("{bad} sample weights are negative, NaN or infinite")));
        }
        if !w.iter().any(|&v| v > 0.0) {
            return Err(Error::Data("every sample weight is 0".into()));
        }
    }
    let distinct = count_distinct_rows(x, w, k);
    if distinct < k {
        return Err(Error::Data(format!(
            "k = {k} is larger than the number of distinct rows ({distinct}{})",
            if w.is_some() { " with weight > 0" } else { "" }
        )));
    }
    Ok(())
}

/// Counts distinct rows (with weight > 0), stopping as soon as `limit` have been seen.
pub(crate) fn count_distinct_rows(x: &Matrix, w: Option<&[f32]>, limit: usize) -> usize {
    let mut seen: HashSet<Vec<u32>> = HashSet::new();
    let mut key = Vec::with_capacity(x.d());
    for i in 0..x.n() {
        if w.is_some_and(|w| w[i] <= 0.0) {
            continue;
        }
        key.clear();
        key.extend(x.row(i).iter().map(|v| (v + 0.0).to_bits()));
        if !seen.contains(key.as_slice()) {
            seen.insert(key.clone());
            if seen.len() >= limit {
                break;
            }
        }
    }
    seen.len()
}

/// Mean over features of the per-feature variance (unweighted, as scikit-learn's `_tolerance`).
fn mean_variance(x: &Matrix) -> f64 {
    let (n, d) = (x.n(), x.d());
    let mut mean = vec![0f64; d];
    for i in 0..n {
        for (m, &v) in mean.iter_mut().zip(x.row(i)) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut var = vec![0f64; d];
    for i in 0..n {
        for ((s, &v), m) in var.iter_mut().zip(x.row(i)).zip(&mean) {
            *s += (v as f64 - m) * (v as f64 - m);
        }
    }
    var.iter().sum::<f64>() / (n as f64 * d as f64)
}

/// The target of the progress events (each run's start with `run`, `runs`, `max_iter`; each Lloyd iteration
/// with `iter`), for a display of progress; they carry no I/O here.
pub const PROGRESS_TARGET: &str = "custseg::progress";

/// Fits K-means: `n_init` runs from seeded initialisations, keeping the one with the lowest inertia.
///
/// `x` and `weights` must be the data `backend` was built over. When k-means++ seeds from a sample of the rows
/// (`params.init_sample` smaller than `n`), it seeds on the backend that `sample_backend` builds over that sample
/// (see [`SampleBackend`]; the crate's callers pass `backend::cpu::sample_backend`); otherwise on `backend`.
pub fn fit(
    params: &ValidParams,
    x: &Matrix,
    weights: Option<&[f32]>,
    backend: &mut dyn Backend,
    sample_backend: &SampleBackend<'_>,
) -> Result<FitResult> {
    let k = params.k;
    assert_eq!((backend.n(), backend.d()), (x.n(), x.d()), "backend built over other data");
    check_data(x, weights, k)?;
    if let Init::Given(c) = &params.init {
        if c.d() != x.d() {
            return Err(Error::Usage(format!("initial centroids have {} columns, the data has {}", c.d(), x.d())));
        }
    }
    let tol = params.tol * mean_variance(x);
    let mut rng = init::rng(params.seed);
    let mut runs = Vec::with_capacity(params.n_init);
    let mut best: Option<(usize, Vec<f32>)> = None;
    for run in 0..params.n_init {
        tracing::trace!(
            target: PROGRESS_TARGET,
            run = run as u64 + 1,
            runs = params.n_init as u64,
            max_iter = params.max_iter as u64,
            "k-means run starts"
        );
        let t0 = std::time::Instant::now();
        let start = match &params.init {
            Init::KMeansPlusPlus => {
                let rows = params.init_sample.rows(x.n(), k);
                init::kmeans_plus_plus_sampled(x, weights, k, rows, &mut rng, backend, sample_backend)?
            }
            Init::Random => init::random_rows(x, weights, k, &mut rng),
            Init::Given(c) => c.clone(),
        };
        let init_seconds = t0.elapsed().as_secs_f64();
        let t1 = std::time::Instant::now();
        let (centers, summary) = lloyd(x, weights, start.into_vec(), k, params.max_iter, tol, backend)?;
        info!(run, init_seconds, lloyd_seconds = t1.elapsed().as_secs_f64(), "k-means run timing");
        info!(
            run,
            inertia = summary.inertia,
            n_iter = summary.n_iter,
            converged = summary.converged,
            "k-means run done"
        );
        let better = best.is_none()
            || summary.inertia < runs.iter().map(|r: &RunSummary| r.inertia).fold(f64::INFINITY, f64::min);
        if better {
            best = Some((run, centers));
        }
        runs.push(summary);
    }
    let (best_run, centers) = best.expect("n_init >= 1");
    let a = backend.assign(&centers, k)?;
    let mut sizes = vec![0u64; k];
    for &l in &a.labels {
        sizes[l as usize] += 1;
    }
    let r = &runs[best_run];
    Ok(FitResult {
        centroids: Matrix::from_vec(centers, k, x.d()),
        inertia: r.inertia,
        n_iter: r.n_iter,
        converged: r.converged,
        labels: a.labels,
        dist2: a.dist2,
        sizes,
        best_run,
        runs,
        backend: backend.name(),
    })
}

/// One Lloyd run from `centers`. Returns the final centres and a summary whose inertia is against them.
fn lloyd(
    x: &Matrix,
    w: Option<&[f32]>,
    mut centers: Vec<f32>,
    k: usize,
    max_iter: usize,
    tol: f64,
    backend: &mut dyn Backend,
) -> Result<(Vec<f32>, RunSummary)> {
    let d = x.d();
    backend.reset_labels()?;
    let mut summary = RunSummary { inertia: 0.0, n_iter: 0, converged: false, empty_relocations: 0 };
    let mut strict_inertia = None;
    for it in 0..max_iter {
        let mut s = backend.lloyd_step(&centers, k)?;
        let empty: Vec<usize> = (0..k).filter(|&j| s.weights[j] <= 0.0).collect();
        let relocated = !empty.is_empty();
        if relocated {
            relocate_empty_clusters(x, w, &centers, k, &empty, &mut s, backend)?;
            summary.empty_relocations += empty.len();
        }
        let mut shift = 0f64;
        for j in 0..k {
            if s.weights[j] > 0.0 {
                for f in 0..d {
                    let new = (s.sums[j * d + f] / s.weights[j]) as f32;
                    let delta = new as f64 - centers[j * d + f] as f64;
                    shift += delta * delta;
                    centers[j * d + f] = new;
                }
            }
        }
        summary.n_iter = it + 1;
        tracing::trace!(target: PROGRESS_TARGET, iter = it as u64 + 1, "lloyd iteration");
        debug!(iter = it + 1, inertia = s.inertia, changed = s.n_changed, shift, "lloyd step");
        if s.n_changed == 0 {
            summary.converged = true;
            if !relocated {
                strict_inertia = Some(s.inertia);
            }
            break;
        }
        if shift <= tol {
            summary.converged = true;
            break;
        }
    }
    summary.inertia = match strict_inertia {
        Some(i) => i,
        None => backend.lloyd_step(&centers, k)?.inertia,
    };
    Ok((centers, summary))
}

/// scikit-learn's relocation: each empty cluster takes one of the points farthest from their (old) centres, in
/// decreasing order of distance; the point's weight moves from its old cluster's sums to the empty one's.
fn relocate_empty_clusters(
    x: &Matrix,
    w: Option<&[f32]>,
    centers: &[f32],
    k: usize,
    empty: &[usize],
    s: &mut StepStats,
    backend: &mut dyn Backend,
) -> Result<()> {
    let d = x.d();
    let a = backend.assign(centers, k)?;
    let mut order: Vec<usize> = (0..x.n()).filter(|&i| w.is_none_or(|w| w[i] > 0.0)).collect();
    let m = empty.len().min(order.len());
    let by_distance = |p: &usize, q: &usize| a.dist2[*q].total_cmp(&a.dist2[*p]).then(p.cmp(q));
    if m < order.len() {
        order.select_nth_unstable_by(m, by_distance);
    }
    order.truncate(m);
    order.sort_by(by_distance);
    for (&j, &far) in empty.iter().zip(&order) {
        let wt = w.map_or(1.0, |w| w[far] as f64);
        let old = a.labels[far] as usize;
        let row = x.row(far);
        for (f, &v) in row.iter().enumerate() {
            s.sums[old * d + f] -= v as f64 * wt;
            s.sums[j * d + f] = v as f64 * wt;
        }
        s.weights[old] -= wt;
        s.weights[j] = wt;
        s.counts[old] -= 1;
        s.counts[j] = 1;
        debug!(cluster = j, point = far, "empty cluster takes the farthest point");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kmeans::naive::{naive_backend, NaiveBackend};
    use crate::kmeans::KMeansParams;

    fn two_blobs() -> Matrix {
        let mut v = Vec::new();
        for i in 0..50 {
            let t = i as f32 * 0.01;
            v.extend([t, -t]);
            v.extend([10.0 + t, 10.0 - t]);
        }
        Matrix::from_vec(v, 100, 2)
    }

    #[test]
    fn two_separated_blobs_get_two_labels() {
        let x = two_blobs();
        let p = KMeansParams::new(2).seed(1).check().unwrap();
        let r = fit(&p, &x, None, &mut NaiveBackend::new(&x, None), &naive_backend).unwrap();
        assert!(r.converged);
        for i in (0..100).step_by(2) {
            assert_ne!(r.labels[i], r.labels[i + 1]);
            assert_eq!(r.labels[i], r.labels[0]);
        }
        assert_eq!(r.sizes, vec![50, 50]);
    }

    #[test]
    fn empty_cluster_takes_the_farthest_point_and_no_centroid_is_nan() {
        let x = two_blobs();
        // The third centre is far from everything: it is empty after the first assignment.
        let init = Matrix::from_vec(vec![0.0, 0.0, 10.0, 10.0, 1000.0, 1000.0], 3, 2);
        let p = KMeansParams::new(3).init(Init::Given(init)).check().unwrap();
        let r = fit(&p, &x, None, &mut NaiveBackend::new(&x, None), &naive_backend).unwrap();
        assert!(r.runs[0].empty_relocations >= 1);
        assert!(r.centroids.as_slice().iter().all(|v| v.is_finite()));
        assert!(r.sizes.iter().all(|&s| s > 0), "every cluster ends non-empty: {:?}", r.sizes);
    }

    #[test]
    fn k_larger_than_distinct_rows_is_an_error() {
        let x = Matrix::from_vec(vec![1.0, 1.0, 1.0, 1.0, 2.0, 2.0], 3, 2);
        let p = KMeansParams::new(3).check().unwrap();
        let e = fit(&p, &x, None, &mut NaiveBackend::new(&x, None), &naive_backend).unwrap_err();
        assert!(e.to_string().contains("distinct rows (2)"), "{e}");
    }

    #[test]
    fn nan_in_data_is_an_error() {
        let x = Matrix::from_vec(vec![1.0, f32::NAN, 2.0, 2.0], 2, 2);
        let p = KMeansParams::new(1).check().unwrap();
        assert!(fit(&p, &x, None, &mut NaiveBackend::new(&x, None), &naive_backend).is_err());
    }

    #[test]
    fn k_equal_one_gives_the_weighted_mean() {
        let x = Matrix::from_vec(vec![0.0, 2.0, 4.0, 10.0], 4, 1);
        let w = [1.0f32, 1.0, 1.0, 0.0];
        let p = KMeansParams::new(1).check().unwrap();
        let r = fit(&p, &x, Some(&w), &mut NaiveBackend::new(&x, Some(&w)), &naive_backend).unwrap();
        assert_eq!(r.centroids.as_slice(), &[2.0]);
        assert!((r.inertia - 8.0).abs() < 1e-9);
    }

    #[test]
    fn more_restarts_never_increase_inertia() {
        let x = two_blobs();
        let one = KMeansParams::new(5).n_init(1).seed(9).check().unwrap();
        let many = KMeansParams::new(5).n_init(6).seed(9).check().unwrap();
        let a = fit(&one, &x, None, &mut NaiveBackend::new(&x, None), &naive_backend).unwrap();
        let b = fit(&many, &x, None, &mut NaiveBackend::new(&x, None), &naive_backend).unwrap();
        assert!(b.inertia <= a.inertia);
        assert_eq!(b.runs.len(), 6);
    }

    #[test]
    fn max_iter_bounds_the_iterations() {
        let x = two_blobs();
        let p = KMeansParams::new(4).max_iter(1).seed(2).check().unwrap();
        let r = fit(&p, &x, None, &mut NaiveBackend::new(&x, None), &naive_backend).unwrap();
        assert_eq!(r.n_iter, 1);
    }
}
