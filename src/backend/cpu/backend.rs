//! The CPU backend: rayon over fixed blocks of rows ([`BLOCK_ROWS`]). It is the reference every GPU kernel is
//! checked against.
//!
//! A Lloyd step runs each block on a thread (`step.rs`), merges the blocks' partials in block order, and so gives the
//! same bits with any thread count. Distances: the nearest centroid is found with `‖c‖² − 2x·c` by the kernel the
//! CPU can run (`kernel.rs`: AVX2/FMA register tiles where the CPU has them, a tiled SGEMM elsewhere); the distance
//! to the winner is then recomputed exactly as `Σ (x − c)²`.
//!
//! Hamerly's bounds (`bounds.rs`): with them a step skips the K·D scan for rows whose label provably cannot change,
//! with the same results to the bit. `Bounds::Auto` uses them from `BOUNDS_MIN_K` centroids up (where they pay: see
//! docs/PERFORMANCE.md), `Bounds::Always` forces them; [`CpuBackend::with_bounds`] and the environment variable
//! `CUSTSEG_NO_BOUNDS=1` turn them off, [`CpuBackend::last_step_scanned`] says how many rows the last step scanned.
//! k-means++'s candidate potentials and commit are in `pp.rs`.
//!
//! Exact sums ([`CpuBackend::with_exact_sums`], the Python package's and the Spark fit's step): the same scan and
//! bounds, with each value quantised on the global scale of `exact::fixed` before it is added, so the step's sums are
//! integers, the same bits however the rows are split ([`CpuBackend::exact_step`] returns them undecoded).

use rayon::prelude::*;
use tracing::debug;

use super::bounds::{step_block_bounded, BoundState, Bounds};
use super::kernel::nearest_block;
#[cfg(target_arch = "x86_64")]
use super::kernel_avx2;
use super::kernel_portable::{dist2, dist2_rows};
use super::packed::{Kernel, Packed};
use super::pp::{block_commit, block_potentials};
use super::step::{merge, merge_exact, step_block, Block, Partial, BLOCK_ROWS, SUB_ROWS};
use crate::error::Result;
use crate::exact::{ExactScale, ExactSums, StepQuant};
use crate::kmeans::{Assignment, Backend, StepStats};
use crate::matrix::Matrix;

/// Sentinel label meaning "no previous label" (after `reset_labels`).
const NO_LABEL: u32 = u32::MAX;

/// The CPU implementation of [`Backend`] over one borrowed dataset (rows, optional weights), the reference every
/// GPU kernel is checked against: the same bits with any thread count, and, on one CPU, with or without bounds.
pub struct CpuBackend<'a> {
    x: &'a Matrix,
    w: Option<&'a [f32]>,
    labels: Vec<u32>,
    closest: Vec<f32>,
    partials: Vec<Partial>,
    packed: Packed,
    bounds_mode: Bounds,
    bounds: BoundState,
    last_scanned: u64,
    /// The global scale of exact sums, or `None` for `f64` block sums.
    exact: Option<ExactScale>,
}

impl<'a> CpuBackend<'a> {
    /// A backend over `x` with optional per-row weights (length `n`), using this CPU's fastest kernel.
    pub fn new(x: &'a Matrix, weights: Option<&'a [f32]>) -> Self {
        Self::with_kernel(x, weights, Kernel::detect())
    }

    /// A backend that uses the given nearest-centroid kernel (benches and tests compare them). Panics if this CPU
    /// cannot run it ([`Kernel::available`]). Bounds: [`Bounds::from_env`] (`Auto` unless `CUSTSEG_NO_BOUNDS=1`).
    pub fn with_kernel(x: &'a Matrix, weights: Option<&'a [f32]>, kernel: Kernel) -> Self {
        if let Some(w) = weights {
            assert_eq!(w.len(), x.n(), "weights length must equal the number of rows");
        }
        let blocks = x.n().div_ceil(BLOCK_ROWS);
        CpuBackend {
            x,
            w: weights,
            // Allocated by the first step: a backend that only assigns (`custseg assign`) does not fill n labels.
            labels: Vec::new(),
            closest: Vec::new(),
            partials: vec![Partial::new(); blocks],
            packed: Packed::with_kernel(kernel),
            bounds_mode: Bounds::from_env(),
            bounds: BoundState::default(),
            last_scanned: 0,
            exact: None,
        }
    }

    /// The same backend with exact sums on `scale` (that of this data, or of a larger data set it is a part of):
    /// `lloyd_step` decodes them, [`Self::exact_step`] returns them as integers.
    pub fn with_exact_sums(mut self, scale: ExactScale) -> Self {
        assert_eq!(scale.d(), self.x.d(), "scale of other data");
        self.exact = Some(scale);
        self
    }

    /// The scale of the exact sums, if the backend has one.
    pub fn exact_scale(&self) -> Option<&ExactScale> {
        self.exact.as_ref()
    }

    /// One Lloyd step with exact sums (panics without [`Self::with_exact_sums`]): the sums as integers, and the rows
    /// whose label changed.
    pub fn exact_step(&mut self, centroids: &[f32], k: usize) -> Result<(ExactSums, u64)> {
        let scale = self.exact.as_ref().expect("exact_step needs with_exact_sums");
        let quant = scale.step_quant(centroids);
        self.run_step(centroids, k, Some(&quant))?;
        let (sums, changed, scanned) = merge_exact(&self.partials, k, self.x.d(), quant.inertia_exp);
        self.last_scanned = scanned;
        Ok((sums, changed))
    }

    /// The same backend with Hamerly's bounds used as `mode` says (tests and timings compare them).
    pub fn with_bounds(mut self, mode: Bounds) -> Self {
        self.bounds_mode = mode;
        self.bounds = BoundState::default();
        self
    }

    /// Rows the last `lloyd_step` ran the nearest-centroid scan for (`n` without bounds; 0 when no centroid moved
    /// and the bounds were valid, unless a row is within rounding of a tie).
    pub fn last_step_scanned(&self) -> u64 {
        self.last_scanned
    }

    #[inline]
    fn weight(w: Option<&[f32]>, i: usize) -> f64 {
        w.map_or(1.0, |w| w[i] as f64)
    }

    /// Runs `f(block_start, block_rows, partial)` over every block in parallel, after resetting partials to k × d.
    fn blocks_mut(&mut self, k: usize) -> impl IndexedParallelIterator<Item = (usize, &mut Partial)> {
        let d = self.x.d();
        self.partials.par_iter_mut().enumerate().map(move |(b, p)| {
            p.reset(k, d);
            (b * BLOCK_ROWS, p)
        })
    }

    /// Runs a step's blocks (full scan or bounded) into the partials; `quant` for exact sums.
    fn run_step(&mut self, centroids: &[f32], k: usize, quant: Option<&StepQuant>) -> Result<()> {
        let d = self.x.d();
        assert_eq!(centroids.len(), k * d);
        let mut packed = std::mem::take(&mut self.packed);
        packed.set(centroids, k, d);
        let (x, w) = (self.x, self.w);
        let mut labels = std::mem::take(&mut self.labels);
        if labels.len() != x.n() {
            labels = vec![NO_LABEL; x.n()];
        }
        let bounded = self.bounds_mode.active(k);
        if bounded {
            let mut st = std::mem::take(&mut self.bounds);
            let geo = st.begin(x.n(), centroids, &packed);
            let mut lower = std::mem::take(&mut st.lower);
            self.blocks_mut(k).zip(labels.par_chunks_mut(BLOCK_ROWS)).zip(lower.par_chunks_mut(BLOCK_ROWS)).for_each(
                |(((start, p), lab), low)| {
                    step_block_bounded(p, Block::at(x, w, start, lab, &packed, centroids, quant), low, &geo);
                },
            );
            st.lower = lower;
            st.finish(centroids, k);
            self.bounds = st;
        } else {
            if self.bounds.allocated() {
                self.bounds = BoundState::default();
            }
            self.blocks_mut(k).zip(labels.par_chunks_mut(BLOCK_ROWS)).for_each(|((start, p), lab)| {
                step_block(p, Block::at(x, w, start, lab, &packed, centroids, quant));
            });
        }
        self.labels = labels;
        self.packed = packed;
        let scanned: u64 = self.partials.iter().map(|p| p.scanned).sum();
        debug!(
            k,
            bounds = bounded,
            exact = quant.is_some(),
            scanned,
            fraction_scanned = scanned as f64 / x.n().max(1) as f64,
            "cpu lloyd step"
        );
        Ok(())
    }
}

impl Backend for CpuBackend<'_> {
    fn name(&self) -> String {
        let kernel = match self.packed.kernel {
            Kernel::Avx2 => "avx2",
            Kernel::Sgemm => "sgemm",
        };
        let exact = if self.exact.is_some() { ", exact sums" } else { "" };
        format!("cpu {kernel} ({} threads){exact}", rayon::current_num_threads())
    }
    fn n(&self) -> usize {
        self.x.n()
    }
    fn d(&self) -> usize {
        self.x.d()
    }

    fn reset_labels(&mut self) -> Result<()> {
        self.labels.fill(NO_LABEL);
        self.bounds.invalidate();
        Ok(())
    }

    fn lloyd_step(&mut self, centroids: &[f32], k: usize) -> Result<StepStats> {
        if self.exact.is_some() {
            let (sums, changed) = self.exact_step(centroids, k)?;
            return Ok(sums.to_stats(self.exact.as_ref().expect("exact scale"), changed));
        }
        self.run_step(centroids, k, None)?;
        let (out, scanned) = merge(&self.partials, k, self.x.d());
        self.last_scanned = scanned;
        Ok(out)
    }

    fn assign(&mut self, centroids: &[f32], k: usize) -> Result<Assignment> {
        let (n, d) = (self.x.n(), self.x.d());
        assert_eq!(centroids.len(), k * d);
        let mut packed = std::mem::take(&mut self.packed);
        packed.set(centroids, k, d);
        let mut out = Assignment { labels: vec![0; n], dist2: vec![0.0; n] };
        let x = self.x;
        out.labels.par_chunks_mut(BLOCK_ROWS).zip(out.dist2.par_chunks_mut(BLOCK_ROWS)).enumerate().for_each_init(
            Vec::new,
            |scratch, (b, (lab, dst))| {
                let start = b * BLOCK_ROWS;
                assign_block(&x.as_slice()[start * d..(start + lab.len()) * d], &packed, centroids, lab, dst, scratch);
            },
        );
        self.packed = packed;
        Ok(out)
    }

    fn pp_reset(&mut self, first: &[f32]) -> Result<f64> {
        let x = self.x;
        self.closest.resize(x.n(), 0.0);
        self.closest.par_chunks_mut(BLOCK_ROWS).enumerate().for_each(|(b, cl)| {
            for (r, c) in cl.iter_mut().enumerate() {
                *c = dist2(x.row(b * BLOCK_ROWS + r), first);
            }
        });
        Ok(self.potential_of(|_, c| c))
    }

    fn pp_potentials(&mut self, candidates: &[f32], m: usize) -> Result<Vec<f64>> {
        let (x, w, d, kernel) = (self.x, self.w, self.x.d(), self.packed.kernel);
        assert_eq!(candidates.len(), m * d);
        let per_block: Vec<Vec<f64>> = self
            .closest
            .par_chunks(BLOCK_ROWS)
            .enumerate()
            .map(|(b, cl)| {
                let mut pot = vec![0f64; m];
                let start = b * BLOCK_ROWS;
                let xb = &x.as_slice()[start * d..(start + cl.len()) * d];
                let wb = w.map(|w| &w[start..start + cl.len()]);
                block_potentials(kernel, xb, d, wb, cl, candidates, m, &mut pot);
                pot
            })
            .collect();
        let mut out = vec![0f64; m];
        for p in per_block {
            for (o, v) in out.iter_mut().zip(p) {
                *o += v;
            }
        }
        Ok(out)
    }

    fn pp_commit(&mut self, chosen: &[f32]) -> Result<()> {
        let (x, d, kernel) = (self.x, self.x.d(), self.packed.kernel);
        self.closest.par_chunks_mut(BLOCK_ROWS).enumerate().for_each(|(b, cl)| {
            let start = b * BLOCK_ROWS;
            block_commit(kernel, &x.as_slice()[start * d..(start + cl.len()) * d], d, chosen, cl);
        });
        Ok(())
    }

    fn pp_sample(&mut self, targets: &[f64]) -> Result<Vec<usize>> {
        let n = self.x.n();
        let mut order: Vec<usize> = (0..targets.len()).collect();
        order.sort_by(|&a, &b| targets[a].total_cmp(&targets[b]));
        let mut out = vec![n - 1; targets.len()];
        let mut t = 0;
        let mut acc = 0f64;
        for i in 0..n {
            acc += Self::weight(self.w, i) * self.closest[i] as f64;
            while t < order.len() && acc >= targets[order[t]] {
                out[order[t]] = i;
                t += 1;
            }
            if t == order.len() {
                break;
            }
        }
        Ok(out)
    }
}

impl CpuBackend<'_> {
    /// Σ wᵢ·f(i, closestᵢ), summed per block in f64 and merged in block order.
    fn potential_of(&self, f: impl Fn(usize, f32) -> f32 + Sync) -> f64 {
        let w = self.w;
        let per_block: Vec<f64> = self
            .closest
            .par_chunks(BLOCK_ROWS)
            .enumerate()
            .map(|(b, cl)| {
                cl.iter()
                    .enumerate()
                    .map(|(r, &c)| Self::weight(w, b * BLOCK_ROWS + r) * f(b * BLOCK_ROWS + r, c) as f64)
                    .sum()
            })
            .collect();
        per_block.iter().sum()
    }
}

/// One block of a full assignment: its rows' nearest centroids (`lab`) and exact squared distances to them
/// (`dst`), a sub-tile of [`SUB_ROWS`] rows at a time (as a Lloyd step does), so the distances re-read rows the kernel
/// has just read from L1/L2; the distances by the kernel's `dist2_rows` (AVX2 where the kernel is: the portable
/// `dist2`'s bits). `scratch` is the fallback kernel's score buffer, reused.
fn assign_block(xb: &[f32], packed: &Packed, c: &[f32], lab: &mut [u32], dst: &mut [f32], scratch: &mut Vec<f32>) {
    let d = packed.d;
    for (s, (lab_s, dst_s)) in lab.chunks_mut(SUB_ROWS).zip(dst.chunks_mut(SUB_ROWS)).enumerate() {
        let rows = lab_s.len();
        let xs = &xb[s * SUB_ROWS * d..(s * SUB_ROWS + rows) * d];
        nearest_block(xs, rows, packed, lab_s, scratch);
        #[cfg(target_arch = "x86_64")]
        if packed.kernel == Kernel::Avx2 {
            // SAFETY: `Kernel::Avx2` is only selected where the CPU has AVX2 and FMA (`Packed::with_kernel`); `xs`
            // holds `rows` rows, every label is below k (the kernel's), and `dst_s` holds `rows` values.
            unsafe { kernel_avx2::dist2_rows(xs, d, lab_s, c, dst_s) };
            continue;
        }
        dist2_rows(xs, d, lab_s, c, dst_s);
    }
}

/// A boxed [`CpuBackend`] over `x` with optional weights: the [`crate::kmeans::SampleBackend`] that every caller of
/// [`crate::kmeans::fit`] passes, so k-means++ on a sample of the rows seeds on the CPU whatever the device of the fit.
pub fn sample_backend<'a>(x: &'a Matrix, weights: Option<&'a [f32]>) -> Result<Box<dyn Backend + 'a>> {
    Ok(Box::new(CpuBackend::new(x, weights)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::bounds::BOUNDS_MIN_K;

    fn data() -> Matrix {
        // Two obvious groups on a line, plus one point exactly between the centres (a tie).
        Matrix::from_vec(vec![0.0, 0.0, 1.0, 0.0, 10.0, 0.0, 11.0, 0.0, 5.5, 0.0], 5, 2)
    }

    #[test]
    fn nothing_is_closer_than_the_chosen_centroid() {
        let x = data();
        let c = [0.5f32, 0.0, 10.5, 0.0, 3.0, 3.0];
        let mut b = CpuBackend::new(&x, None);
        let a = b.assign(&c, 3).unwrap();
        for i in 0..x.n() {
            for j in 0..3 {
                assert!(a.dist2[i] <= dist2(x.row(i), &c[j * 2..j * 2 + 2]) + 1e-6);
            }
        }
    }

    #[test]
    fn exact_ties_go_to_the_lowest_index() {
        let x = data();
        let c = [0.5f32, 0.0, 10.5, 0.0];
        let a = CpuBackend::new(&x, None).assign(&c, 2).unwrap();
        assert_eq!(a.labels, vec![0, 0, 1, 1, 0]);
    }

    #[test]
    fn step_sums_are_weighted_sums_of_members() {
        let x = data();
        let w = [1.0f32, 3.0, 1.0, 1.0, 2.0];
        let c = [0.5f32, 0.0, 10.5, 0.0];
        let mut b = CpuBackend::new(&x, Some(&w));
        let s = b.lloyd_step(&c, 2).unwrap();
        assert_eq!(s.counts, vec![3, 2]);
        assert_eq!(s.weights, vec![6.0, 2.0]);
        assert_eq!(s.sums, vec![3.0 + 11.0, 0.0, 21.0, 0.0]);
        assert_eq!(s.n_changed, 5);
        assert_eq!(b.lloyd_step(&c, 2).unwrap().n_changed, 0);
        let expect_inertia = 0.25 + 3.0 * 0.25 + 0.25 + 0.25 + 2.0 * 25.0;
        assert!((s.inertia - expect_inertia).abs() < 1e-9);
    }

    fn blobs(n: usize, d: usize, seed: u64) -> Matrix {
        crate::generate::generate_blobs(n, d, 40, seed).0
    }

    fn weights_for(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i * 7919) % 13) as f32 * 0.25).collect()
    }

    fn kernels() -> Vec<Kernel> {
        [Kernel::Avx2, Kernel::Sgemm].into_iter().filter(|k| k.available()).collect()
    }

    /// `k` rows spread through the data, as initial centroids.
    fn start(x: &Matrix, k: usize) -> Vec<f32> {
        (0..k).flat_map(|j| x.row(j * 97 % x.n()).to_vec()).collect()
    }

    #[test]
    fn a_fit_with_bounds_equals_a_fit_without_them_below_and_above_the_threshold() {
        use crate::kmeans::{fit, Init, KMeansParams};
        // More than two blocks, so block order and bounds per block both matter.
        let x = blobs(2 * BLOCK_ROWS + 777, 5, 3);
        let w = weights_for(x.n());
        for k in [3, 31, 32, 64] {
            for weights in [None, Some(&w[..])] {
                let init = Init::Given(Matrix::from_vec(start(&x, k), k, 5));
                let p = KMeansParams::new(k).init(init).max_iter(60).tol(0.0).check().unwrap();
                let mut off = CpuBackend::new(&x, weights).with_bounds(Bounds::Never);
                let off = fit(&p, &x, weights, &mut off, &sample_backend).unwrap();
                for mode in [Bounds::Always, Bounds::Auto] {
                    let mut on = CpuBackend::new(&x, weights).with_bounds(mode);
                    let on = fit(&p, &x, weights, &mut on, &sample_backend).unwrap();
                    let what = format!("k={k} weighted={} {mode:?}", weights.is_some());
                    assert_eq!(on.labels, off.labels, "{what}");
                    assert_eq!(on.n_iter, off.n_iter, "{what}");
                    assert_eq!(on.inertia.to_bits(), off.inertia.to_bits(), "{what}");
                    assert_eq!(on.centroids.as_slice(), off.centroids.as_slice(), "{what}");
                    assert_eq!(on.runs, off.runs, "{what}");
                }
            }
        }
    }

    #[test]
    fn every_bounded_step_equals_the_full_scan_on_both_kernels() {
        // Step stats (sums, weights, counts, inertia, n_changed) compared bit for bit at every Lloyd step.
        let x = blobs(BLOCK_ROWS + 3001, 7, 11);
        let w = weights_for(x.n());
        let (k, d) = (48, 7);
        for kernel in kernels() {
            let mut on = CpuBackend::with_kernel(&x, Some(&w), kernel).with_bounds(Bounds::Always);
            let mut off = CpuBackend::with_kernel(&x, Some(&w), kernel).with_bounds(Bounds::Never);
            let mut c = start(&x, k);
            for it in 0..15 {
                let a = on.lloyd_step(&c, k).unwrap();
                let b = off.lloyd_step(&c, k).unwrap();
                assert_eq!(a, b, "{kernel:?} step {it}");
                assert_eq!(on.labels, off.labels, "{kernel:?} step {it}");
                for j in 0..k {
                    if a.weights[j] > 0.0 {
                        for f in 0..d {
                            c[j * d + f] = (a.sums[j * d + f] / a.weights[j]) as f32;
                        }
                    }
                }
            }
            assert!(on.last_step_scanned() < x.n() as u64 / 2, "{kernel:?}: {} scanned", on.last_step_scanned());
        }
    }

    #[test]
    fn a_step_with_unchanged_centroids_scans_no_row() {
        // 40 well-separated groups (centres 10 apart, rows within 1 of them): no row is near a tie.
        let centre = |j: usize| [10.0 * (j % 8) as f32, 10.0 * (j / 8) as f32, 0.0, 0.0];
        let n = BLOCK_ROWS + 100;
        let v: Vec<f32> =
            (0..n).flat_map(|i| centre(i % 40).map(|c| c + ((i * 37 + c as usize) % 100) as f32 / 100.0)).collect();
        let x = Matrix::from_vec(v, n, 4);
        let c: Vec<f32> = (0..40).flat_map(centre).collect();
        let mut b = CpuBackend::new(&x, None).with_bounds(Bounds::Always);
        b.lloyd_step(&c, 40).unwrap();
        assert_eq!(b.last_step_scanned(), x.n() as u64, "the first step scans every row");
        let s = b.lloyd_step(&c, 40).unwrap();
        assert_eq!(b.last_step_scanned(), 0);
        assert_eq!(s.n_changed, 0);
    }

    #[test]
    fn reset_labels_invalidates_the_bounds() {
        let x = blobs(3000, 4, 5);
        let c = start(&x, 40);
        let mut b = CpuBackend::new(&x, None).with_bounds(Bounds::Always);
        b.lloyd_step(&c, 40).unwrap();
        b.reset_labels().unwrap();
        let s = b.lloyd_step(&c, 40).unwrap();
        assert_eq!(b.last_step_scanned(), 3000);
        assert_eq!(s.n_changed, 3000);
    }

    #[test]
    fn a_change_of_k_invalidates_the_bounds() {
        let x = blobs(3000, 4, 5);
        let c = start(&x, 40);
        let mut b = CpuBackend::new(&x, None).with_bounds(Bounds::Always);
        b.lloyd_step(&c, 40).unwrap();
        let s = b.lloyd_step(&c[..39 * 4], 39).unwrap();
        assert_eq!(b.last_step_scanned(), 3000);
        let mut off = CpuBackend::new(&x, None).with_bounds(Bounds::Never);
        off.lloyd_step(&c, 40).unwrap();
        assert_eq!(s, off.lloyd_step(&c[..39 * 4], 39).unwrap());
    }

    #[test]
    fn assign_does_not_touch_the_bounds() {
        let x = blobs(3000, 4, 5);
        let c = start(&x, 40);
        let other: Vec<f32> = c.iter().map(|v| v + 1.0).collect();
        let mut b = CpuBackend::new(&x, None).with_bounds(Bounds::Always);
        b.lloyd_step(&c, 40).unwrap();
        b.assign(&other, 40).unwrap();
        b.lloyd_step(&c, 40).unwrap();
        assert_eq!(b.last_step_scanned(), 0);
    }

    #[test]
    fn auto_bounds_follow_the_threshold_and_are_allocated_only_when_used() {
        let x = blobs(3000, 4, 5);
        let c = start(&x, 64);
        let mut b = CpuBackend::new(&x, None).with_bounds(Bounds::Auto);
        b.lloyd_step(&c, 64).unwrap();
        b.lloyd_step(&c, 64).unwrap();
        assert_eq!(Bounds::Auto.active(64), 64 >= BOUNDS_MIN_K);
        assert_eq!(b.bounds.allocated(), Bounds::Auto.active(64));
        assert_eq!(b.last_step_scanned() == 3000, !Bounds::Auto.active(64));
        let mut b = CpuBackend::new(&x, None).with_bounds(Bounds::Always);
        b.lloyd_step(&c, 64).unwrap();
        assert!(b.bounds.allocated());
        let mut b = b.with_bounds(Bounds::Never);
        b.lloyd_step(&c, 64).unwrap();
        assert!(!b.bounds.allocated(), "an unbounded step keeps no bounds");
        assert_eq!(b.last_step_scanned(), 3000);
    }

    #[test]
    fn a_row_at_an_exact_tie_is_always_scanned() {
        // Row 4 (5.5, 0) is equidistant from both centres: no margin can prove its label, so it is rescanned
        // (and keeps the lowest index), while the other rows are skipped.
        let x = data();
        let c = [0.5f32, 0.0, 10.5, 0.0];
        let mut b = CpuBackend::new(&x, None).with_bounds(Bounds::Always);
        b.lloyd_step(&c, 2).unwrap();
        let s = b.lloyd_step(&c, 2).unwrap();
        assert_eq!(b.last_step_scanned(), 1);
        assert_eq!(s.counts, vec![3, 2]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// For random small data (on a coarse grid, so exact ties and duplicate rows occur), random weights and a
        /// random sequence of centroids (small moves, big jumps, duplicated centroids), bounded and unbounded
        /// steps give equal stats and labels at every step, on every kernel.
        #[test]
        fn bounded_and_unbounded_steps_agree_on_random_centroid_sequences(
            n in 1usize..400, d in 1usize..10, k in 1usize..24, seed in proptest::prelude::any::<u64>(),
            weighted in proptest::prelude::any::<bool>(),
        ) {
            let mut state = seed | 1;
            let mut rnd = move || {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 33) as u32
            };
            let x = Matrix::from_vec((0..n * d).map(|_| (rnd() % 9) as f32 * 0.5 - 2.0).collect(), n, d);
            let w: Vec<f32> = (0..n).map(|_| (rnd() % 4) as f32 * 0.5).collect();
            let w = weighted.then_some(&w[..]);
            let mut c: Vec<f32> = (0..k * d).map(|_| (rnd() % 1000) as f32 * 0.005 - 2.5).collect();
            for kernel in kernels() {
                let mut on = CpuBackend::with_kernel(&x, w, kernel).with_bounds(Bounds::Always);
                let mut off = CpuBackend::with_kernel(&x, w, kernel).with_bounds(Bounds::Never);
                for step in 0..8 {
                    let a = on.lloyd_step(&c, k).unwrap();
                    let b = off.lloyd_step(&c, k).unwrap();
                    proptest::prop_assert_eq!(&a, &b, "{:?} step {}", kernel, step);
                    proptest::prop_assert_eq!(&on.labels, &off.labels, "{:?} step {}", kernel, step);
                    match rnd() % 4 {
                        // Small moves of every centroid.
                        0 => c.iter_mut().for_each(|v| *v += ((rnd() % 201) as f32 - 100.0) * 1e-4),
                        // One centroid jumps.
                        1 => {
                            let j = rnd() as usize % k;
                            c[j * d..(j + 1) * d].iter_mut().for_each(|v| *v = (rnd() % 9) as f32 * 0.5 - 2.0);
                        }
                        // A centroid becomes a copy of another (exact ties between centroids).
                        2 => {
                            let (i, j) = (rnd() as usize % k, rnd() as usize % k);
                            let src = c[i * d..(i + 1) * d].to_vec();
                            c[j * d..(j + 1) * d].copy_from_slice(&src);
                        }
                        // Nothing moves.
                        _ => {}
                    }
                }
            }
        }
    }

    #[test]
    fn sample_backend_builds_a_cpu_backend_over_the_data_it_is_given() {
        let x = data();
        let w = [1.0f32, 3.0, 1.0, 1.0, 2.0];
        let b = sample_backend(&x, Some(&w)).unwrap();
        assert_eq!((b.n(), b.d()), (5, 2));
        assert!(b.name().starts_with("cpu "), "{}", b.name());
    }

    #[test]
    fn pp_sample_is_searchsorted_left_on_the_running_sum() {
        let x = data();
        let mut b = CpuBackend::new(&x, None);
        let pot = b.pp_reset(&[0.0, 0.0]).unwrap();
        // closest = [0, 1, 100, 121, 30.25]; running sum = [0, 1, 101, 222, 252.25]
        assert_eq!(pot, 252.25);
        assert_eq!(b.pp_sample(&[0.5, 1.0, 150.0, 0.0, 252.0]).unwrap(), vec![1, 1, 3, 0, 4]);
    }

    #[test]
    fn pp_potentials_take_the_minimum_with_closest() {
        let x = data();
        let mut b = CpuBackend::new(&x, None);
        b.pp_reset(&[0.0, 0.0]).unwrap();
        let p = b.pp_potentials(&[10.0, 0.0, 0.0, 0.0], 2).unwrap();
        // with 10: min([0,1,100,121,30.25],[100,81,0,1,20.25]) = [0,1,0,1,20.25]
        assert_eq!(p, vec![22.25, 252.25]);
        b.pp_commit(&[10.0, 0.0]).unwrap();
        assert_eq!(b.pp_potentials(&[0.0, 0.0], 1).unwrap(), vec![22.25]);
    }
}
