//! One block of a CPU Lloyd step: its rows and centroids ([`Block`]), its reused partial sums ([`Partial`]), the
//! full scan of its rows ([`step_block`]), the accumulation shared with the bounded step ([`accumulate_any`]), and
//! the merge of the blocks' partials in block order ([`merge`]; [`merge_exact`] for the exact sums of
//! `exact::fixed`).
//!
//! Determinism: rows are cut into fixed blocks of [`BLOCK_ROWS`], each block accumulates its own `f64` partial sums
//! sequentially, and partials are merged in block order. Block boundaries do not depend on the thread count, so the
//! result is bit-identical with 1 or 64 threads. Partials are allocated once per backend and reused, so an
//! iteration allocates nothing proportional to `n`.
//!
//! One pass over X per step: each block is cut into sub-tiles of [`SUB_ROWS`] rows, and each sub-tile is assigned
//! and then added into the block's sums while its rows are still in L1/L2.

use super::kernel::nearest_block;
#[cfg(target_arch = "x86_64")]
use super::kernel_avx2;
use super::kernel_portable::dist2_rows;
#[cfg(target_arch = "x86_64")]
use super::packed::Kernel;
use super::packed::Packed;
use crate::exact::{ExactSums, StepQuant, BLOCK_LIMIT};
use crate::kmeans::StepStats;
use crate::matrix::Matrix;

/// Rows per block: the unit of parallel work and of deterministic partial sums.
pub(crate) const BLOCK_ROWS: usize = 8192;

// A block's exact sums (quantised values added in its `f64` sums) must not round: see `exact::fixed`.
const _: () = assert!(BLOCK_ROWS <= BLOCK_LIMIT);

/// Rows assigned and then accumulated together inside a block (64 KiB of X at 16 features).
pub(crate) const SUB_ROWS: usize = 1024;

/// Per-block partial results, reused across iterations.
#[derive(Debug, Clone)]
pub(crate) struct Partial {
    sums: Vec<f64>,
    weights: Vec<f64>,
    counts: Vec<u64>,
    inertia: f64,
    /// The quantised inertia of a step with exact sums (then `sums` and `weights` hold integers: `exact::fixed`).
    exact_inertia: i128,
    changed: u64,
    /// Rows of this block that went through the nearest-centroid scan.
    pub(crate) scanned: u64,
    /// Labels of this block from the kernel, before comparison with the previous step's.
    scratch: Vec<u32>,
    /// The kernel's `tile × k` score buffer.
    scores: Vec<f32>,
    /// Exact distances of a sub-tile's rows to their new labels.
    d2: Vec<f32>,
}

impl Partial {
    /// Empty buffers, sized on the first step.
    pub(crate) fn new() -> Self {
        Partial {
            sums: Vec::new(),
            weights: Vec::new(),
            counts: Vec::new(),
            inertia: 0.0,
            exact_inertia: 0,
            changed: 0,
            scanned: 0,
            scratch: Vec::new(),
            scores: Vec::new(),
            d2: Vec::new(),
        }
    }

    /// Zeroes the sums for `k` centroids of `d` features (keeping the buffers).
    pub(crate) fn reset(&mut self, k: usize, d: usize) {
        self.sums.clear();
        self.sums.resize(k * d, 0.0);
        self.weights.clear();
        self.weights.resize(k, 0.0);
        self.counts.clear();
        self.counts.resize(k, 0);
        self.inertia = 0.0;
        self.exact_inertia = 0;
        self.changed = 0;
        self.scanned = 0;
    }
}

/// One block of a Lloyd step: its rows of X, their weights (if any) and labels, the step's centroids (`c`, and
/// packed for the kernel), and the quantisation of a step with exact sums.
pub(crate) struct Block<'a> {
    pub(crate) xb: &'a [f32],
    pub(crate) wb: Option<&'a [f32]>,
    pub(crate) lab: &'a mut [u32],
    pub(crate) packed: &'a Packed,
    pub(crate) c: &'a [f32],
    pub(crate) quant: Option<&'a StepQuant>,
}

impl<'a> Block<'a> {
    /// The block of rows `start..start + lab.len()` of `x` (and of `w`), labelled `lab`.
    pub(crate) fn at(
        x: &'a Matrix,
        w: Option<&'a [f32]>,
        start: usize,
        lab: &'a mut [u32],
        packed: &'a Packed,
        c: &'a [f32],
        quant: Option<&'a StepQuant>,
    ) -> Self {
        let (rows, d) = (lab.len(), x.d());
        Block {
            xb: &x.as_slice()[start * d..(start + rows) * d],
            wb: w.map(|w| &w[start..start + rows]),
            lab,
            packed,
            c,
            quant,
        }
    }
}

/// One block of a Lloyd step that scans every row: assigns each sub-tile of rows, then adds it into the block's
/// partials.
pub(crate) fn step_block(p: &mut Partial, b: Block) {
    #[cfg(target_arch = "x86_64")]
    if b.packed.kernel == Kernel::Avx2 {
        // SAFETY: `Kernel::Avx2` is only ever selected when the CPU has AVX2 and FMA (`Packed::with_kernel`).
        return unsafe { step_block_avx2(p, b) };
    }
    step_block_body(p, b, dist2_rows)
}

/// The same body compiled with AVX2 and FMA, so the accumulation loops vectorise to 256-bit registers, with the
/// bit-identical AVX2 exact distances (eight rows per reduction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn step_block_avx2(p: &mut Partial, b: Block) {
    // SAFETY (of the closure): this function only runs on CPUs with AVX2; `step_block_body` passes a sub-tile's rows,
    // its labels (each < k) and an output of one value per row.
    step_block_body(p, b, |x, d, l, c, o| unsafe { kernel_avx2::dist2_rows(x, d, l, c, o) })
}

#[inline(always)]
fn step_block_body(p: &mut Partial, b: Block, dists: impl Fn(&[f32], usize, &[u32], &[f32], &mut [f32]) + Copy) {
    let Block { xb, wb, lab, packed, c, quant } = b;
    let d = packed.d;
    let mut new = std::mem::take(&mut p.scratch);
    new.resize(SUB_ROWS, 0);
    let mut d2 = std::mem::take(&mut p.d2);
    d2.resize(SUB_ROWS, 0.0);
    for (s, lab_s) in lab.chunks_mut(SUB_ROWS).enumerate() {
        let rows = lab_s.len();
        let xs = &xb[s * SUB_ROWS * d..(s * SUB_ROWS + rows) * d];
        nearest_block(xs, rows, packed, &mut new, &mut p.scores);
        dists(xs, d, &new[..rows], c, &mut d2[..rows]);
        let w = wb.map(|w| &w[s * SUB_ROWS..s * SUB_ROWS + rows]);
        accumulate_any(p, xs, d, &new[..rows], lab_s, w, quant, &d2[..rows]);
    }
    p.scratch = new;
    p.d2 = d2;
    p.scanned = lab.len() as u64;
}

/// [`accumulate`] for rows with or without weights (`w`), with `f64` sums or exact ones (`quant`); `d2` holds the
/// rows' exact squared distances to their new labels.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn accumulate_any(
    p: &mut Partial,
    xs: &[f32],
    d: usize,
    new: &[u32],
    lab: &mut [u32],
    w: Option<&[f32]>,
    quant: Option<&StepQuant>,
    d2: &[f32],
) {
    match (w, quant) {
        (None, None) => accumulate::<false>(p, xs, d, new, lab, &[], d2),
        (Some(w), None) => accumulate::<true>(p, xs, d, new, lab, w, d2),
        (None, Some(q)) => accumulate_exact::<false>(p, xs, d, new, lab, &[], q, d2),
        (Some(w), Some(q)) => accumulate_exact::<true>(p, xs, d, new, lab, w, q, d2),
    }
}

/// Adds rows into the partial sums of their new labels, counts label changes, and records the new labels.
/// Unweighted rows add `x` and `1.0` exactly as weighted rows of weight 1 would (the same bits). `d2[r]` is row
/// `r`'s exact squared distance to its new label (computed by the full scan, or cached by the bounded step: the same
/// bits).
#[inline(always)]
fn accumulate<const WEIGHTED: bool>(
    p: &mut Partial,
    xs: &[f32],
    d: usize,
    new: &[u32],
    lab: &mut [u32],
    w: &[f32],
    d2: &[f32],
) {
    // Scalars in locals, so they stay in registers (the sums' stores could alias fields of `p`).
    let (mut inertia, mut changed) = (p.inertia, p.changed);
    let (sums, weights, counts) = (&mut p.sums[..], &mut p.weights[..], &mut p.counts[..]);
    for (r, (l, &j)) in lab.iter_mut().zip(new).enumerate() {
        changed += (*l != j) as u64;
        *l = j;
        let j = j as usize;
        let xi = &xs[r * d..(r + 1) * d];
        let d2 = d2[r] as f64;
        let sj = &mut sums[j * d..(j + 1) * d];
        counts[j] += 1;
        if WEIGHTED {
            let wi = w[r] as f64;
            weights[j] += wi;
            inertia += wi * d2;
            for (s, &v) in sj.iter_mut().zip(xi) {
                *s += wi * v as f64;
            }
        } else {
            weights[j] += 1.0;
            inertia += d2;
            for (s, &v) in sj.iter_mut().zip(xi) {
                *s += v as f64;
            }
        }
    }
    p.inertia = inertia;
    p.changed = changed;
}

/// [`accumulate`] with exact sums: each value is quantised (`trunc(w·x_f·2^e_f)`, `exact::fixed`) before it is
/// added, so the block's `f64` sums hold integers and add without rounding; the inertia is quantised per row into an
/// `i128`. Its row bookkeeping repeats `accumulate`'s on purpose: one body for both (a const flag) made the `f64`
/// step 13% slower (docs/PERFORMANCE.md, "The exact step fused into the CPU backend").
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn accumulate_exact<const WEIGHTED: bool>(
    p: &mut Partial,
    xs: &[f32],
    d: usize,
    new: &[u32],
    lab: &mut [u32],
    w: &[f32],
    q: &StepQuant,
    d2: &[f32],
) {
    let (mut inertia, mut changed) = (p.exact_inertia, p.changed);
    let (sums, weights, counts) = (&mut p.sums[..], &mut p.weights[..], &mut p.counts[..]);
    let (qf, qw, qi) = (&q.feature[..d], q.weight, q.inertia);
    for (r, (l, &j)) in lab.iter_mut().zip(new).enumerate() {
        changed += (*l != j) as u64;
        *l = j;
        let j = j as usize;
        let xi = &xs[r * d..(r + 1) * d];
        let d2 = d2[r] as f64;
        let sj = &mut sums[j * d..(j + 1) * d];
        counts[j] += 1;
        // `w · v` is exact in f64 (two 24-bit mantissas) and `qf` a power of two: one rounding, the truncation.
        if WEIGHTED {
            let wi = w[r] as f64;
            weights[j] += (wi * qw).trunc();
            inertia += (wi * d2 * qi) as i64 as i128;
            for ((s, &v), &q) in sj.iter_mut().zip(xi).zip(qf) {
                *s += (wi * v as f64 * q).trunc();
            }
        } else {
            weights[j] += 1.0;
            inertia += (d2 * qi) as i64 as i128;
            for ((s, &v), &q) in sj.iter_mut().zip(xi).zip(qf) {
                *s += (v as f64 * q).trunc();
            }
        }
    }
    p.exact_inertia = inertia;
    p.changed = changed;
}

/// The step's stats from the blocks' partials, added in block order (so the same bits whatever the thread count),
/// and the number of rows the blocks scanned.
pub(crate) fn merge(partials: &[Partial], k: usize, d: usize) -> (StepStats, u64) {
    let mut out = StepStats::zeros(k, d);
    for p in partials {
        for (o, v) in out.sums.iter_mut().zip(&p.sums) {
            *o += v;
        }
        for (o, v) in out.weights.iter_mut().zip(&p.weights) {
            *o += v;
        }
        for (o, v) in out.counts.iter_mut().zip(&p.counts) {
            *o += v;
        }
        out.inertia += p.inertia;
        out.n_changed += p.changed;
    }
    (out, partials.iter().map(|p| p.scanned).sum())
}

/// The exact sums of a step from the blocks' partials (each block's integer-valued `f64` sums as `i128`; integer
/// addition, so the order does not matter), and the rows changed and scanned.
pub(crate) fn merge_exact(partials: &[Partial], k: usize, d: usize, inertia_exp: i32) -> (ExactSums, u64, u64) {
    let mut out = ExactSums::zeros(k, d, inertia_exp);
    for p in partials {
        for (o, &v) in out.sums.iter_mut().zip(&p.sums) {
            *o += v as i128;
        }
        for (o, &v) in out.weights.iter_mut().zip(&p.weights) {
            *o += v as i128;
        }
        for (o, v) in out.counts.iter_mut().zip(&p.counts) {
            *o += v;
        }
        out.inertia += p.exact_inertia;
    }
    let changed = partials.iter().map(|p| p.changed).sum();
    (out, changed, partials.iter().map(|p| p.scanned).sum())
}
