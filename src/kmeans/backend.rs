//! The backend trait: the only data-parallel steps K-means needs. CPU and GPU implement it; the algorithm lives once.
//!
//! A backend is built over one dataset (`n × d` features plus optional weights) and keeps whatever per-point state
//! it needs (labels of the previous step, k-means++ closest distances) next to the data: on the GPU that state never
//! leaves the device. Every method takes centroids as a row-major `k × d` `f32` slice.
//!
//! Contract shared by all backends (the parity tests check it):
//! - the nearest centroid is the one with the smallest squared distance; exact ties go to the lowest index;
//! - sums, weights and potentials are returned in `f64` and do not depend on thread count or scheduling;
//! - `dist2` is the squared Euclidean distance to the chosen centroid, computed as `Σ (x - c)²`.

use crate::error::Result;
use crate::matrix::Matrix;

/// Output of one Lloyd step: the assignment's per-cluster sums, against the centroids that were passed in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepStats {
    /// `k × d`: Σ wᵢ·xᵢ over the points assigned to each cluster.
    pub sums: Vec<f64>,
    /// `k`: Σ wᵢ over the points assigned to each cluster (the point count when unweighted).
    pub weights: Vec<f64>,
    /// `k`: number of points assigned to each cluster.
    pub counts: Vec<u64>,
    /// Σ wᵢ·‖xᵢ − c_{label(i)}‖².
    pub inertia: f64,
    /// Number of points whose label differs from the previous step (all of them after `reset_labels`).
    pub n_changed: u64,
}

impl StepStats {
    /// Zeroed stats for `k` clusters of `d` features.
    pub fn zeros(k: usize, d: usize) -> Self {
        StepStats { sums: vec![0.0; k * d], weights: vec![0.0; k], counts: vec![0; k], inertia: 0.0, n_changed: 0 }
    }
}

/// Labels and squared distances of every point, read back once at the end of a fit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assignment {
    /// `n`: the index of each point's nearest centroid (the lowest index on exact ties).
    pub labels: Vec<u32>,
    /// `n`: each point's squared distance to that centroid, `Σ (x − c)²`.
    pub dist2: Vec<f32>,
}

/// The data-parallel kernels of K-means. Iteration, restarts, convergence and empty clusters live in `algorithm.rs`.
pub trait Backend {
    /// Human-readable name, e.g. `cpu avx2 (2 threads)` or `gpu: NVIDIA H100 80GB HBM3 (Vulkan)`.
    fn name(&self) -> String;
    /// Number of points.
    fn n(&self) -> usize;
    /// Number of features.
    fn d(&self) -> usize;

    /// Forgets the labels of the previous step: the next `lloyd_step` counts every point as changed.
    fn reset_labels(&mut self) -> Result<()>;

    /// Assigns every point to its nearest centroid, remembers the labels, and returns the per-cluster sums.
    fn lloyd_step(&mut self, centroids: &[f32], k: usize) -> Result<StepStats>;

    /// Assigns every point to its nearest centroid and reads labels and squared distances back.
    fn assign(&mut self, centroids: &[f32], k: usize) -> Result<Assignment>;

    /// k-means++: sets each point's closest squared distance to its distance to `first` (one row of `d`);
    /// returns the potential Σ wᵢ·closestᵢ.
    fn pp_reset(&mut self, first: &[f32]) -> Result<f64>;

    /// k-means++: for each of the `m` candidate rows, the potential Σ wᵢ·min(closestᵢ, ‖xᵢ − cand‖²).
    fn pp_potentials(&mut self, candidates: &[f32], m: usize) -> Result<Vec<f64>>;

    /// k-means++: closestᵢ ← min(closestᵢ, ‖xᵢ − chosen‖²) for the chosen row.
    fn pp_commit(&mut self, chosen: &[f32]) -> Result<()>;

    /// k-means++: for each target t (each in [0, potential)), the first index i such that
    /// cumsum(w·closest)[i] ≥ t, clipped to `n − 1` (NumPy's `searchsorted(.., side='left')`, as scikit-learn does).
    fn pp_sample(&mut self, targets: &[f64]) -> Result<Vec<usize>>;
}

/// Builds a backend over other data: [`fit`](super::fit) calls it when k-means++ seeds from a sample of the rows
/// (`InitSample`), with the sample and its weights, at most once per run, and seeds on what it returns. It is how
/// the caller, not `kmeans/`, chooses the backend of that seeding: every caller in this crate passes
/// `backend::cpu::sample_backend`, so the seeding runs on the CPU whatever the device of the fit. Errors it returns
/// end the fit.
pub type SampleBackend<'f> = dyn for<'a> Fn(&'a Matrix, Option<&'a [f32]>) -> Result<Box<dyn Backend + 'a>> + 'f;
