//! The AVX2 + FMA kernels (x86-64 only, compiled in by `cfg` and run only where `Kernel::detect` found AVX2 and FMA):
//! the nearest-centroid search and the exact distances, bit for bit the portable [`super::kernel_portable::dist2`].
//!
//! The nearest-centroid kernel ([`nearest`]) keeps the centroids, times −2, transposed in panels of 8 (`d × 8`
//! floats each, padded with zero centroids whose norm is +∞, so padding never wins). For a tile of 4 rows it starts
//! 4 × 16 scores at the centroids' `‖c‖²` in 8 `ymm` registers and adds `x_f · (−2c_f)` feature by feature with one
//! FMA each (per feature: 2 panel loads, 4 broadcasts, 8 FMAs), the same chain of operations as the GPU kernel
//! (which ranks by the same scores where the driver fuses WGSL's `fma`; Vulkan lets it round twice, and lavapipe
//! does, so near-ties may still rank differently there); it keeps a per-lane running best (value, index) per row
//! with compare-and-blend; the 8 lanes are reduced once per row at the end. Starting at the norm saves a separate
//! score FMA per 8 centroids per row. Each row of X is read once from memory, and the panels (`k·d·4` bytes) stay in
//! L1/L2.
//!
//! At small K that per-row reduction across lanes costs as much as the FMAs, so for `k ≤ 32` and `d ≤ 16` the
//! kernel turns the tile around ([`tile_vertical`]): 16 rows are transposed (8 × 8 register shuffles) into a stack
//! buffer, each centroid's scores for 8 rows fill one register (2 × 4 accumulators: 2 row registers × 4 centroids,
//! the centroid values broadcast from the same panels), and the arg-min runs down the lanes over the centroids in
//! order, with no reduction across lanes; the next tiles' rows are prefetched, because one tile's FMAs fill the
//! reorder window. The scores are the same FMA chain, so the labels are the panel kernel's, bit for bit (a unit
//! test checks it against the fused pass, which always runs the panel kernel). Above 16 features the panel kernel
//! is the faster one. Measurements: docs/PERFORMANCE.md, "The small-K kernel".
//!
//! [`dist2_rows`] gives the exact distances of a sub-tile's rows to their labels, eight rows' lane reductions
//! together (two `hadd`s for eight rows instead of a shuffle chain per row), with [`dist2`]'s reduction tree, so the
//! same bits.
//!
//! Safety: the entry points are `unsafe` and `#[target_feature(enable = "avx2,fma")]` (the helpers are
//! `#[inline(always)]` into them). Callers check the CPU through the kernel they hold (a `Packed` says
//! `Kernel::Avx2` only where the CPU has both features) and the slice lengths each entry point lists under
//! `# Safety`.

use std::arch::x86_64::*;

use super::packed::{Packed, LANES};

/// Rows per register tile.
const MR: usize = 4;
/// Rows per tile of the small-K kernel (two registers of 8 rows).
const VR: usize = 16;
/// Tiles ahead that the small-K kernel prefetches.
const PREFETCH_TILES: usize = 2;
/// Centroids per pass of the small-K kernel over a tile's features (2 × 4 accumulators).
const VC: usize = 4;
/// The small-K kernel (rows in lanes, [`tile_vertical`]) runs up to this many centroids...
const VERTICAL_MAX_K: usize = 32;
/// ... and this many features (its transposed tile lives on the stack).
const VERTICAL_MAX_D: usize = 16;

/// [`super::kernel_portable::dist2`] in 256-bit registers, with the same operations in the same order (sub, mul, add per lane,
/// then the same reduction tree and the same scalar tail), so the bits are identical.
///
/// # Safety
/// The CPU must have AVX2; `a` and `b` must have the same length.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn dist2(a: &[f32], b: &[f32]) -> f32 {
    let full = a.len() / LANES * LANES;
    let mut acc = _mm256_setzero_ps();
    let mut f = 0;
    while f < full {
        let t = _mm256_sub_ps(_mm256_loadu_ps(a.as_ptr().add(f)), _mm256_loadu_ps(b.as_ptr().add(f)));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(t, t));
        f += LANES;
    }
    // [a0+a4, a1+a5, a2+a6, a3+a7], then (s0+s1) + (s2+s3).
    let s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
    let t = _mm_add_ps(s, _mm_shuffle_ps::<0b10_11_00_01>(s, s));
    let mut out = _mm_cvtss_f32(t) + _mm_cvtss_f32(_mm_movehl_ps(t, t));
    while f < a.len() {
        let t = *a.get_unchecked(f) - *b.get_unchecked(f);
        out += t * t;
        f += 1;
    }
    out
}

/// [`super::kernel_portable::dist2_rows`]: eight rows at a time, each row's 8 lanes summed as in [`dist2`] and the eight
/// reductions done together, by the same tree (`lo + hi`, then two pairwise adds per row), so the bits are
/// [`dist2`]'s, row by row.
///
/// # Safety
/// The CPU must have AVX2; `x` must hold `labels.len() · d` floats, every label must index a row of `c`
/// (`d` columns) and `out` must hold at least `labels.len()` values.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn dist2_rows(x: &[f32], d: usize, labels: &[u32], c: &[f32], out: &mut [f32]) {
    let rows = labels.len();
    debug_assert!(x.len() >= rows * d && out.len() >= rows);
    let full = d / LANES * LANES;
    let crow = |q: usize| c.as_ptr().add(*labels.get_unchecked(q) as usize * d);
    let mut r = 0;
    while r + 8 <= rows {
        let mut acc = [_mm256_setzero_ps(); 8];
        for (q, a) in acc.iter_mut().enumerate() {
            let (xa, cb) = (x.as_ptr().add((r + q) * d), crow(r + q));
            let mut f = 0;
            while f < full {
                let t = _mm256_sub_ps(_mm256_loadu_ps(xa.add(f)), _mm256_loadu_ps(cb.add(f)));
                *a = _mm256_add_ps(*a, _mm256_mul_ps(t, t));
                f += LANES;
            }
        }
        // Rows q and q + 4 share a register: [lo(q) + hi(q) | lo(q+4) + hi(q+4)] = [a0+a4, a1+a5, a2+a6, a3+a7].
        let half = |a: __m256, b: __m256| {
            _mm256_add_ps(_mm256_permute2f128_ps::<0x20>(a, b), _mm256_permute2f128_ps::<0x31>(a, b))
        };
        let (p0, p1) = (half(acc[0], acc[4]), half(acc[1], acc[5]));
        let (p2, p3) = (half(acc[2], acc[6]), half(acc[3], acc[7]));
        // hadd pairs (s0+s1, s2+s3) within each row, then adds the pairs: rows 0..3 low, 4..7 high.
        let s = _mm256_hadd_ps(_mm256_hadd_ps(p0, p1), _mm256_hadd_ps(p2, p3));
        _mm256_storeu_ps(out.as_mut_ptr().add(r), s);
        if full < d {
            for q in r..r + 8 {
                let (xa, cb) = (x.as_ptr().add(q * d), crow(q));
                let o = out.get_unchecked_mut(q);
                for f in full..d {
                    let t = *xa.add(f) - *cb.add(f);
                    *o += t * t;
                }
            }
        }
        r += 8;
    }
    for q in r..rows {
        *out.get_unchecked_mut(q) = dist2(&x[q * d..(q + 1) * d], std::slice::from_raw_parts(crow(q), d));
    }
}

/// # Safety
/// The CPU must have AVX2 and FMA; `x` must hold `rows · p.d` floats and `out` at least `rows` labels.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn nearest(x: &[f32], rows: usize, p: &Packed, out: &mut [u32]) {
    let d = p.d;
    let none = std::ptr::null_mut();
    let mut r = 0;
    if p.k <= VERTICAL_MAX_K && d <= VERTICAL_MAX_D {
        // A stack buffer for one tile of rows, transposed: `xt[f·VR + i]` = feature f of row i.
        let mut xt = [0f32; VERTICAL_MAX_D * VR];
        while r + VR <= rows {
            // The next tile's rows, requested now: a tile's FMAs fill the reorder window, so without this its
            // loads would only start once this tile's work is nearly done.
            let ahead = (r + PREFETCH_TILES * VR).min(rows) * d;
            let end = (r + (PREFETCH_TILES + 1) * VR).min(rows) * d;
            for o in (ahead..end).step_by(16) {
                _mm_prefetch::<_MM_HINT_T0>(x.as_ptr().add(o) as *const i8);
            }
            transpose_rows(x.as_ptr().add(r * d), d, xt.as_mut_ptr());
            tile_vertical(xt.as_ptr(), p, out[r..r + VR].as_mut_ptr());
            r += VR;
        }
    }
    while r + MR <= rows {
        tile::<MR, false>(x.as_ptr().add(r * d), p, out[r..r + MR].as_mut_ptr(), none);
        r += MR;
    }
    while r < rows {
        tile::<1, false>(x.as_ptr().add(r * d), p, out[r..].as_mut_ptr(), none);
        r += 1;
    }
}

/// Copies `VR` rows of `d` features from `x` into `xt`, transposed (`xt[f·VR + i]` = feature f of row i): 8 × 8
/// blocks by register shuffles, the features past the last whole 8 one by one.
#[inline(always)]
unsafe fn transpose_rows(x: *const f32, d: usize, xt: *mut f32) {
    let full = d / LANES * LANES;
    for fb in (0..full).step_by(LANES) {
        for h in 0..VR / LANES {
            let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(x.add((h * LANES + i) * d + fb)));
            let t: [__m256; 8] = std::array::from_fn(|i| {
                let (a, b) = (r[i / 2 * 2], r[i / 2 * 2 + 1]);
                if i % 2 == 0 {
                    _mm256_unpacklo_ps(a, b)
                } else {
                    _mm256_unpackhi_ps(a, b)
                }
            });
            // s[c]: columns c (low half) and c + 4 (high half) of rows 0..4 (i < 4) or 4..8 (i ≥ 4).
            let s: [__m256; 8] = std::array::from_fn(|i| {
                let (q, c) = (i / 4, i % 4);
                let (a, b) = (t[q * 4 + c / 2], t[q * 4 + c / 2 + 2]);
                if c % 2 == 0 {
                    _mm256_shuffle_ps::<0x44>(a, b)
                } else {
                    _mm256_shuffle_ps::<0xEE>(a, b)
                }
            });
            for c in 0..4 {
                let (lo, hi) = (s[c], s[4 + c]);
                let base = xt.add(h * LANES);
                _mm256_storeu_ps(base.add((fb + c) * VR), _mm256_permute2f128_ps::<0x20>(lo, hi));
                _mm256_storeu_ps(base.add((fb + c + 4) * VR), _mm256_permute2f128_ps::<0x31>(lo, hi));
            }
        }
    }
    for f in full..d {
        for i in 0..VR {
            *xt.add(f * VR + i) = *x.add(i * d + f);
        }
    }
}

/// Nearest centroid for the `VR` rows transposed in `xt`, with rows in lanes: each centroid's scores for 8
/// rows fill one register, by the same FMA chain from ‖c‖² as [`tile`] (so the same bits), and the arg-min runs
/// down the lanes over the centroids in order with a strict `<` (the lowest index wins a tie): no reduction
/// across lanes at all, which is what makes small K cheap.
#[inline(always)]
unsafe fn tile_vertical(xt: *const f32, p: &Packed, out: *mut u32) {
    let (d, k) = (p.d, p.k);
    let (panels, norms) = (p.panels.as_ptr(), p.panel_norms.as_ptr());
    // −2·c[j][f] sits at panels[(j/8·d + f)·8 + j%8].
    let pan = |j: usize| panels.add(j / LANES * d * LANES + j % LANES);
    let mut bv = [_mm256_set1_ps(f32::INFINITY); 2];
    let mut bi = [_mm256_setzero_si256(); 2];
    let mut j = 0;
    while j + VC <= k {
        let cs: [*const f32; VC] = std::array::from_fn(|q| pan(j + q));
        let mut a0: [__m256; VC] = std::array::from_fn(|q| _mm256_broadcast_ss(&*norms.add(j + q)));
        let mut a1 = a0;
        for f in 0..d {
            let (x0, x1) = (_mm256_loadu_ps(xt.add(f * VR)), _mm256_loadu_ps(xt.add(f * VR + LANES)));
            for q in 0..VC {
                let cv = _mm256_broadcast_ss(&*cs[q].add(f * LANES));
                a0[q] = _mm256_fmadd_ps(x0, cv, a0[q]);
                a1[q] = _mm256_fmadd_ps(x1, cv, a1[q]);
            }
        }
        for q in 0..VC {
            let idx = _mm256_set1_epi32((j + q) as i32);
            keep_best(&mut bv[0], &mut bi[0], a0[q], idx);
            keep_best(&mut bv[1], &mut bi[1], a1[q], idx);
        }
        j += VC;
    }
    while j < k {
        let c = pan(j);
        let mut a0 = _mm256_broadcast_ss(&*norms.add(j));
        let mut a1 = a0;
        for f in 0..d {
            let cv = _mm256_broadcast_ss(&*c.add(f * LANES));
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xt.add(f * VR)), cv, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(xt.add(f * VR + LANES)), cv, a1);
        }
        let idx = _mm256_set1_epi32(j as i32);
        keep_best(&mut bv[0], &mut bi[0], a0, idx);
        keep_best(&mut bv[1], &mut bi[1], a1, idx);
        j += 1;
    }
    _mm256_storeu_si256(out as *mut __m256i, bi[0]);
    _mm256_storeu_si256(out.add(LANES) as *mut __m256i, bi[1]);
}

/// [`nearest`], and each row's second-smallest score into `second`.
///
/// # Safety
/// As [`nearest`]; `second` must hold at least `rows` values.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn nearest_second(x: &[f32], rows: usize, p: &Packed, out: &mut [u32], second: &mut [f32]) {
    let d = p.d;
    let mut r = 0;
    while r + MR <= rows {
        tile::<MR, true>(x.as_ptr().add(r * d), p, out[r..r + MR].as_mut_ptr(), second[r..r + MR].as_mut_ptr());
        r += MR;
    }
    while r < rows {
        tile::<1, true>(x.as_ptr().add(r * d), p, out[r..].as_mut_ptr(), second[r..].as_mut_ptr());
        r += 1;
    }
}

/// Nearest centroid for `M` consecutive rows starting at `x`; writes `M` labels at `out` and, when `SECOND`,
/// `M` second-smallest scores at `second` (each lane also keeps its second-smallest score; the row's is the
/// second-smallest of the lanes' two).
// Its loops index the row registers and the rows of `x` by the same `r`, written alike in every loop.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
unsafe fn tile<const M: usize, const SECOND: bool>(x: *const f32, p: &Packed, out: *mut u32, second: *mut f32) {
    let d = p.d;
    let groups = p.groups();
    let panels = p.panels.as_ptr();
    let norms = p.panel_norms.as_ptr();
    let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let mut bv = [_mm256_set1_ps(f32::INFINITY); M];
    let mut bi = [_mm256_setzero_si256(); M];
    let mut b2 = [_mm256_set1_ps(f32::INFINITY); M];
    let mut g = 0;
    // Two panels (16 centroids) at a time: 2·M accumulators.
    while g + 2 <= groups {
        let pa = panels.add(g * d * LANES);
        let pb = pa.add(d * LANES);
        // Each score starts at ‖c‖² and takes one FMA per feature, in feature order: ‖c‖² − 2x·c.
        let (n0, n1) = (_mm256_loadu_ps(norms.add(g * LANES)), _mm256_loadu_ps(norms.add(g * LANES + LANES)));
        let mut a0 = [n0; M];
        let mut a1 = [n1; M];
        for f in 0..d {
            let b0 = _mm256_loadu_ps(pa.add(f * LANES));
            let b1 = _mm256_loadu_ps(pb.add(f * LANES));
            for r in 0..M {
                let xv = _mm256_broadcast_ss(&*x.add(r * d + f));
                a0[r] = _mm256_fmadd_ps(xv, b0, a0[r]);
                a1[r] = _mm256_fmadd_ps(xv, b1, a1[r]);
            }
        }
        let i0 = _mm256_add_epi32(lane, _mm256_set1_epi32((g * LANES) as i32));
        let i1 = _mm256_add_epi32(lane, _mm256_set1_epi32((g * LANES + LANES) as i32));
        for r in 0..M {
            let (s0, s1) = (a0[r], a1[r]);
            if SECOND {
                keep_second(&mut b2[r], bv[r], s0);
            }
            keep_best(&mut bv[r], &mut bi[r], s0, i0);
            if SECOND {
                keep_second(&mut b2[r], bv[r], s1);
            }
            keep_best(&mut bv[r], &mut bi[r], s1, i1);
        }
        g += 2;
    }
    if g < groups {
        let pa = panels.add(g * d * LANES);
        let mut a0 = [_mm256_loadu_ps(norms.add(g * LANES)); M];
        for f in 0..d {
            let b0 = _mm256_loadu_ps(pa.add(f * LANES));
            for r in 0..M {
                a0[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(&*x.add(r * d + f)), b0, a0[r]);
            }
        }
        let i0 = _mm256_add_epi32(lane, _mm256_set1_epi32((g * LANES) as i32));
        for r in 0..M {
            let s0 = a0[r];
            if SECOND {
                keep_second(&mut b2[r], bv[r], s0);
            }
            keep_best(&mut bv[r], &mut bi[r], s0, i0);
        }
    }
    for r in 0..M {
        *out.add(r) = lowest_best(bv[r], bi[r]);
        if SECOND {
            *second.add(r) = lowest_second(bv[r], b2[r]);
        }
    }
}

/// Per lane, before `s` goes into the best `bv`: the second-smallest becomes `min(b2, max(bv, s))`.
#[inline(always)]
unsafe fn keep_second(b2: &mut __m256, bv: __m256, s: __m256) {
    *b2 = _mm256_min_ps(*b2, _mm256_max_ps(bv, s));
}

/// Per lane: take `(s, idx)` where `s` is strictly smaller, so the earliest index wins a tie within a lane.
#[inline(always)]
unsafe fn keep_best(bv: &mut __m256, bi: &mut __m256i, s: __m256, idx: __m256i) {
    let lt = _mm256_cmp_ps::<_CMP_LT_OQ>(s, *bv);
    // `min(s, bv)` is `s` exactly where `s < bv` (and `bv` on ties and NaN), the same as blending on `lt`.
    *bv = _mm256_min_ps(s, *bv);
    *bi = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(*bi), _mm256_castsi256_ps(idx), lt));
}

/// The second-smallest (with repeats) of the 16 values of `(b1, b2)`, where each lane holds its two smallest
/// scores (`b1 ≤ b2`): the lanes are merged in pairs, three times, by `(a₁, a₂) ∪ (b₁, b₂) → (min(a₁, b₁),
/// min(max(a₁, b₁), min(a₂, b₂)))`, which is exact for the two smallest of a multiset; no branches.
#[inline(always)]
unsafe fn lowest_second(mut b1: __m256, mut b2: __m256) -> f32 {
    let merge = |b1: &mut __m256, b2: &mut __m256, o1: __m256, o2: __m256| {
        let lo = _mm256_min_ps(*b1, o1);
        *b2 = _mm256_min_ps(_mm256_max_ps(*b1, o1), _mm256_min_ps(*b2, o2));
        *b1 = lo;
    };
    let (o1, o2) = (_mm256_permute2f128_ps::<1>(b1, b1), _mm256_permute2f128_ps::<1>(b2, b2));
    merge(&mut b1, &mut b2, o1, o2);
    let (o1, o2) = (_mm256_permute_ps::<0b01_00_11_10>(b1), _mm256_permute_ps::<0b01_00_11_10>(b2));
    merge(&mut b1, &mut b2, o1, o2);
    let (o1, o2) = (_mm256_permute_ps::<0b10_11_00_01>(b1), _mm256_permute_ps::<0b10_11_00_01>(b2));
    merge(&mut b1, &mut b2, o1, o2);
    _mm256_cvtss_f32(b2)
}

/// The smallest value across the 8 lanes, and among the lanes holding it the lowest index.
#[inline(always)]
unsafe fn lowest_best(bv: __m256, bi: __m256i) -> u32 {
    let mut m = _mm256_min_ps(bv, _mm256_permute2f128_ps::<1>(bv, bv));
    m = _mm256_min_ps(m, _mm256_permute_ps::<0b01_00_11_10>(m));
    m = _mm256_min_ps(m, _mm256_permute_ps::<0b10_11_00_01>(m));
    let eq = _mm256_cmp_ps::<_CMP_EQ_OQ>(bv, m);
    let cand = _mm256_castps_si256(_mm256_blendv_ps(
        _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX)),
        _mm256_castsi256_ps(bi),
        eq,
    ));
    let mut i = _mm256_min_epi32(cand, _mm256_permute2x128_si256::<1>(cand, cand));
    i = _mm256_min_epi32(i, _mm256_shuffle_epi32::<0b01_00_11_10>(i));
    i = _mm256_min_epi32(i, _mm256_shuffle_epi32::<0b10_11_00_01>(i));
    let best = _mm256_cvtsi256_si32(i);
    // Every score was +∞ (overflowing data): no lane compared equal to a finite minimum; take centroid 0.
    if best == i32::MAX {
        0
    } else {
        best as u32
    }
}
