//! Hamerly's bounds for the CPU Lloyd step: rows whose label provably cannot change skip the K·D scan.
//!
//! After Hamerly (2010), "Making k-means even faster". The backend still receives full centroids each step (the
//! trait and the algorithm do not change); it keeps, per row, a lower bound `l` on the distance to the closest
//! centroid *other than* its label `a`, and the centroids of its previous step. Each step:
//!
//! 1. per centroid: the shift `δ_j = ‖c_j − c_j^prev‖`, `drift_j = max_{j'≠j} δ_j'` (from the largest and the
//!    second-largest shift, so it is exact for every `j`), the norm `‖c_j‖`, and
//!    `s_j = ½ min_{j'≠j} ‖c_j − c_j'‖`;
//! 2. per row: `u = ‖x − c_a‖` — the *exact* distance, which the step computes for the inertia anyway, so no
//!    upper bound is stored or loosened (Hamerly's `u += δ_a` and "tighten `u`" collapse into this one value,
//!    and the bounds cost 4 bytes per row, not 8); `l ← l − drift_a`; `L = max(l, 2·s_a − u)`, a lower bound on
//!    `‖x − c_j‖` for every `j ≠ a` (for the second term: `‖x − c_j‖ ≥ ‖c_a − c_j‖ − ‖x − c_a‖ ≥ 2·s_a − u`).
//!    If `L > u` by the margin below, the label stays and `l ← L`; otherwise the row joins the scan;
//! 3. the rows that need it (gathered into a contiguous buffer) are scanned with the kernel's own
//!    [`nearest_second_block`], one pass that gives the labels of [`super::kernel::nearest_block`] (the full
//!    scan's, by construction) and each row's second-smallest score, from which `l` is reset.
//!
//! Inertia and sums are still computed for every row from the exact [`dist2`] and its row, in row order
//! inside the fixed blocks, through the same `accumulate_any` as the unbounded step: the results (labels, sums,
//! weights, counts, inertia, `n_changed`) are bit-identical to the full scan's, whatever the thread count.
//!
//! # The margin: why a skipped row's label is the one the scan would choose
//!
//! The bounds are on true distances; the scan ranks by the `f32` score `ŝ_j = ‖c_j‖² − 2·x·c_j`, which has
//! rounding error. With `ρ = 2⁻²⁴` and `γ_n = nρ/(1 − nρ)`, the norm is off by at most `γ_d·‖c_j‖²`; the AVX2
//! kernel then adds the `d` products `−2·x_f·c_f` to it one FMA at a time (a sum of `d + 1` terms, off by at most
//! `γ_d` times the sum of their magnitudes, `‖c_j‖² + 2·‖x‖·‖c_j‖`), and the SGEMM kernel adds the norm once to a
//! dot product off by `γ_d·2·‖x‖·‖c_j‖`. Either way `|ŝ_j − (‖x − c_j‖² − ‖x‖²)| ≤ γ_{2d}·(‖x‖ + ‖c_j‖)² ≤
//! ε := (2d + 4)·ρ·(‖x‖ + C)²` with `C = max_j ‖c_j‖`. The scan keeps the strict minimum of the scores (lowest index on exact ties), so it chooses
//! `a` if `ŝ_a < ŝ_j` for every `j ≠ a`, which holds when `‖x − c_j‖² − ‖x − c_a‖² > 2ε`. The bounds give
//! `‖x − c_j‖² − ‖x − c_a‖² ≥ L² − u²`, so a row is skipped only if
//!
//! `L > u  and  (L − u)·(L + u) > 2·SAFETY·ε`,  with `‖x‖ ≤ ‖c_a‖ + u` in `ε` (triangle inequality).
//!
//! `SAFETY = 2` covers the `γ_n ≈ nρ` approximation and the `f64` arithmetic of the test itself. Near-ties (and
//! rows far from the origin relative to their distances, where the scan's own rounding is large) fall through
//! to the scan, which decides them exactly as the unbounded step does. Every stored bound is itself rounded the
//! safe way: `u` from `dist2` (relative error at most `(d + 2)·ρ`) is inflated by `(d + 4)·ρ`; shifts, norms and
//! separations are computed in `f64` from the exact `f32` centroids and nudged by `1e-12` relative; `l` is
//! stored rounded down to `f32`; `l` reset from the second-smallest score `ŝ₂` is
//! `√(ŝ₂ + ‖x‖² − SAFETY·ε)`, rounded down (`ŝ₂` is at most the smallest score over the centroids other than the
//! label, whichever the label is, and `‖x‖²` is summed in `f64`).
//!
//! Bounds become invalid — the next step scans every row and sets them from the scan — after `reset_labels`,
//! when `k` changes, and on the first step. `assign` does not touch them.
//!
//! # When they are used
//!
//! [`Bounds::Auto`] (the default) uses them from [`BOUNDS_MIN_K`] centroids up, where they were measured to pay
//! (docs/PERFORMANCE.md, "Hamerly's bounds"); the bound vector (`4·n` bytes) is allocated lazily on the first bounded
//! step and freed by the first unbounded one. Setting the environment variable `CUSTSEG_NO_BOUNDS=1` makes every new
//! CPU backend use [`Bounds::Never`] (for timing comparisons); tests pick a mode with `CpuBackend::with_bounds`.

use std::cell::RefCell;

use rayon::prelude::*;

use super::kernel::nearest_second_block;
#[cfg(target_arch = "x86_64")]
use super::kernel_avx2;
use super::kernel_portable::dist2;
#[cfg(target_arch = "x86_64")]
use super::packed::Kernel;
use super::packed::Packed;
use super::step::{accumulate_any, Block, Partial, SUB_ROWS};

/// `f32` unit roundoff.
const RHO: f64 = 1.0 / (1u64 << 24) as f64;

/// Extra factor on the derived rounding bound of the scores (see the module doc).
const SAFETY: f64 = 2.0;

/// Relative nudge for quantities computed in `f64` from `f32` inputs (their own error is ~`d·2⁻⁵³`).
const NUDGE: f64 = 1e-12;

/// The smallest `k` at which [`Bounds::Auto`] uses the bounds: bounds pay from 64 centroids; below that the skip
/// test and the fused pass of the rows that fail it cost more than the scan they save (measured: docs/PERFORMANCE.md,
/// "Hamerly's bounds").
pub(crate) const BOUNDS_MIN_K: usize = 64;

/// Whether a CPU backend keeps Hamerly's bounds, which skip the scan of rows whose label provably cannot change
/// (the results are the full scan's, to the bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bounds {
    /// From 64 centroids up (`BOUNDS_MIN_K`), where they pay.
    #[default]
    Auto,
    /// For every `k` (tests).
    Always,
    /// Never: every step scans every row.
    Never,
}

impl Bounds {
    /// `Never` when the environment variable `CUSTSEG_NO_BOUNDS` is set to anything but `""` or `"0"`, else `Auto`.
    pub fn from_env() -> Bounds {
        match std::env::var_os("CUSTSEG_NO_BOUNDS") {
            Some(v) if !v.is_empty() && v != "0" => Bounds::Never,
            _ => Bounds::Auto,
        }
    }

    /// Whether a step with `k` centroids uses the bounds.
    pub fn active(self, k: usize) -> bool {
        match self {
            Bounds::Auto => k >= BOUNDS_MIN_K,
            Bounds::Always => true,
            Bounds::Never => false,
        }
    }
}

/// Per-row lower bounds and the centroids they refer to.
#[derive(Debug, Default)]
pub(crate) struct BoundState {
    /// `n` lower bounds on the distance to the closest centroid other than the row's label (empty until used).
    pub(crate) lower: Vec<f32>,
    /// The previous step's `k × d` centroids.
    prev: Vec<f32>,
    k: usize,
    valid: bool,
}

impl BoundState {
    /// The next step scans every row.
    pub(crate) fn invalidate(&mut self) {
        self.valid = false;
    }

    /// Whether the bound vector is allocated.
    pub(crate) fn allocated(&self) -> bool {
        self.lower.capacity() > 0
    }

    /// Prepares a step over `n` rows with these centroids: allocates the bounds on first use and computes the
    /// per-centroid quantities of the test.
    pub(crate) fn begin(&mut self, n: usize, centroids: &[f32], packed: &Packed) -> Geometry {
        let (k, d) = (packed.k, packed.d);
        if self.lower.len() != n {
            self.lower = vec![0.0; n];
            self.valid = false;
        }
        let valid = self.valid && self.k == k && self.prev.len() == k * d;
        Geometry::new(centroids, valid.then_some(&self.prev[..]), packed)
    }

    /// Records the centroids the bounds now refer to.
    pub(crate) fn finish(&mut self, centroids: &[f32], k: usize) {
        self.prev.clear();
        self.prev.extend_from_slice(centroids);
        self.k = k;
        self.valid = true;
    }
}

/// Per-centroid quantities of one bounded step, shared by every block.
pub(crate) struct Geometry {
    /// Whether the stored bounds refer to the previous centroids (else every row is scanned).
    valid: bool,
    /// `s_j = ½ min_{j'≠j} ‖c_j − c_j'‖`, rounded down (+∞ when `k = 1`).
    half_gap: Vec<f64>,
    /// `max_{j'≠j} δ_j'`, rounded up.
    drift: Vec<f64>,
    /// `‖c_j‖`, rounded up.
    norm: Vec<f64>,
    /// `max_j ‖c_j‖`.
    norm_max: f64,
    /// `(d + 4)·ρ`: the relative error bound of `dist2`.
    coef: f64,
    /// `(2d + 4)·ρ`: the coefficient of the scores' error `ε`.
    score_coef: f64,
}

fn dist_f64(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64) * (x as f64 - y as f64)).sum::<f64>().sqrt()
}

impl Geometry {
    fn new(c: &[f32], prev: Option<&[f32]>, packed: &Packed) -> Geometry {
        let (k, d) = (packed.k, packed.d);
        let row = |j: usize| &c[j * d..(j + 1) * d];
        let norm: Vec<f64> =
            (0..k).map(|j| row(j).iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt() * (1.0 + NUDGE)).collect();
        let norm_max = norm.iter().copied().fold(0.0, f64::max);
        let (half_gap, drift) = match prev {
            None => (Vec::new(), Vec::new()),
            Some(p) => {
                let half_gap: Vec<f64> = (0..k)
                    .into_par_iter()
                    .map(|j| {
                        let m =
                            (0..k).filter(|&o| o != j).map(|o| dist_f64(row(j), row(o))).fold(f64::INFINITY, f64::min);
                        0.5 * m * (1.0 - NUDGE)
                    })
                    .collect();
                let shift: Vec<f64> =
                    (0..k).map(|j| dist_f64(row(j), &p[j * d..(j + 1) * d]) * (1.0 + NUDGE)).collect();
                let (mut i1, mut m1, mut m2) = (usize::MAX, 0f64, 0f64);
                for (j, &s) in shift.iter().enumerate() {
                    if s > m1 {
                        (m2, m1, i1) = (m1, s, j);
                    } else if s > m2 {
                        m2 = s;
                    }
                }
                let drift = (0..k).map(|j| if j == i1 { m2 } else { m1 }).collect();
                (half_gap, drift)
            }
        };
        Geometry {
            valid: prev.is_some(),
            half_gap,
            drift,
            norm,
            norm_max,
            coef: (d + 4) as f64 * RHO,
            score_coef: (2 * d + 4) as f64 * RHO,
        }
    }

    /// The skip test for a row labelled `a` whose exact squared distance to `c_a` is `d2` and whose stored lower
    /// bound is `lower`: whether the scan provably keeps `a`, and the new lower bound (valid only if it does).
    #[inline(always)]
    fn keeps(&self, a: usize, d2: f32, lower: f32) -> (bool, f32) {
        let u = ((d2 as f64) * (1.0 + self.coef)).sqrt() * (1.0 + NUDGE);
        let l = (lower as f64 - self.drift[a]).max(2.0 * self.half_gap[a] - u);
        let r = self.norm[a] + u + self.norm_max;
        // Written so that a NaN anywhere fails the test (and the row is scanned); `&`, not `&&`, so no branch.
        let keep = (l > u) & ((l - u) * (l + u) > 2.0 * SAFETY * self.score_coef * r * r);
        (keep, round_down(l))
    }
}

/// The largest `f32` not above `v` (or slightly below it), 0 for negative `v`.
#[inline(always)]
fn round_down(v: f64) -> f32 {
    if v > 0.0 {
        (v * (1.0 - 2.0 * f32::EPSILON as f64)) as f32
    } else {
        0.0
    }
}

/// Per-thread buffers of the bounded step (per thread rather than per block, so they cost nothing per row).
#[derive(Default)]
struct Scratch {
    /// Labels of the sub-tile.
    new: Vec<u32>,
    /// Exact squared distance of each row of the sub-tile to its new label.
    d2: Vec<f32>,
    /// Rows of the sub-tile that need the scan.
    scan: Vec<u32>,
    /// Those rows, gathered.
    gx: Vec<f32>,
    /// Their labels from the kernel.
    glab: Vec<u32>,
    /// The kernel's score buffer (SGEMM fallback only).
    kscores: Vec<f32>,
    /// The second-smallest score of each gathered row.
    second: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// One block of a bounded Lloyd step (see the module doc); `low` is the block's slice of lower bounds.
pub(crate) fn step_block_bounded(p: &mut Partial, b: Block, low: &mut [f32], g: &Geometry) {
    SCRATCH.with_borrow_mut(|s| {
        #[cfg(target_arch = "x86_64")]
        if b.packed.kernel == Kernel::Avx2 {
            // SAFETY: `Kernel::Avx2` is only ever selected when the CPU has AVX2 and FMA (`Packed::with_kernel`).
            return unsafe { bounded_avx2(p, b, low, g, s) };
        }
        bounded_body(p, b, low, g, s, dist2)
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn bounded_avx2(p: &mut Partial, b: Block, low: &mut [f32], g: &Geometry, s: &mut Scratch) {
    // SAFETY (of the closure): this function only runs on CPUs with AVX2; callers pass equal-length rows.
    bounded_body(p, b, low, g, s, |a, b| unsafe { kernel_avx2::dist2(a, b) })
}

#[inline(always)]
fn bounded_body(
    p: &mut Partial,
    b: Block,
    low: &mut [f32],
    g: &Geometry,
    s: &mut Scratch,
    dist: impl Fn(&[f32], &[f32]) -> f32 + Copy,
) {
    let Block { xb, wb, lab, packed, c, quant } = b;
    let d = packed.d;
    let crow = |j: usize| &c[j * d..(j + 1) * d];
    s.new.resize(SUB_ROWS, 0);
    s.d2.resize(SUB_ROWS, 0.0);
    for (t, (lab_s, low_s)) in lab.chunks_mut(SUB_ROWS).zip(low.chunks_mut(SUB_ROWS)).enumerate() {
        let rows = lab_s.len();
        let xs = &xb[t * SUB_ROWS * d..(t * SUB_ROWS + rows) * d];
        s.scan.clear();
        if g.valid {
            // Branch-free (the outcome is close to a coin toss on real data): every row takes its old label, its
            // distance and its tested bound, and its index is written at the scan list's end, which only moves for
            // rows that fail. The scan below overwrites all three for the rows it takes.
            s.scan.resize(rows, 0);
            let mut m = 0;
            for r in 0..rows {
                let a = lab_s[r] as usize;
                let d2 = dist(&xs[r * d..(r + 1) * d], crow(a));
                let (keep, l) = g.keeps(a, d2, low_s[r]);
                s.new[r] = a as u32;
                s.d2[r] = d2;
                low_s[r] = l;
                s.scan[m] = r as u32;
                m += usize::from(!keep);
            }
            s.scan.truncate(m);
        } else {
            s.scan.extend(0..rows as u32);
        }
        let m = s.scan.len();
        if m > 0 {
            let gx: &[f32] = if m == rows {
                xs
            } else {
                s.gx.clear();
                for &r in &s.scan {
                    s.gx.extend_from_slice(&xs[r as usize * d..(r as usize + 1) * d]);
                }
                &s.gx
            };
            s.glab.resize(m, 0);
            s.second.resize(m, 0.0);
            nearest_second_block(gx, m, packed, &mut s.glab, &mut s.second, &mut s.kscores);
            for (q, &r) in s.scan.iter().enumerate() {
                let (r, j) = (r as usize, s.glab[q]);
                s.new[r] = j;
                s.d2[r] = dist(&xs[r * d..(r + 1) * d], crow(j as usize));
                low_s[r] = lower_from_score(&gx[q * d..(q + 1) * d], s.second[q], g);
            }
        }
        p.scanned += m as u64;
        let w = wb.map(|w| &w[t * SUB_ROWS..t * SUB_ROWS + rows]);
        accumulate_any(p, xs, d, &s.new[..rows], lab_s, w, quant, &s.d2[..rows]);
    }
}

/// A lower bound on the distance from `x` to every centroid but its label, from `second`, the second-smallest
/// score `‖c_j‖² − 2x·c_j` over all centroids (at most the smallest score over the centroids other than the
/// label, whichever one the label is): `‖x − c_j‖² ≥ ŝ_j + ‖x‖² − ε`.
#[inline(always)]
fn lower_from_score(x: &[f32], second: f32, g: &Geometry) -> f32 {
    let xx: f64 = x.iter().map(|&v| v as f64 * v as f64).sum();
    let r = xx.sqrt() * (1.0 + NUDGE) + g.norm_max;
    let l2 = second as f64 + xx - SAFETY * g.score_coef * r * r;
    round_down(l2.max(0.0).sqrt())
}
