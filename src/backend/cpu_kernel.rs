//! The CPU nearest-centroid kernels: a register-blocked AVX2/FMA kernel that reads X once with no packing, and a
//! portable fallback (tiled SGEMM through `matrixmultiply`, then an 8-lane arg-min) for CPUs without AVX2/FMA.
//!
//! Both rank centroids by `score(i, j) = ‖c_j‖² − 2 x_i·c_j` and keep per row the smallest score, lowest index on
//! exact ties; neither builds an `N × K` matrix. The caller recomputes the exact distance `Σ (x − c)²` for the
//! winner ([`dist2`]).
//!
//! The AVX2 kernel ([`avx2`]) keeps the centroids, times −2, transposed in panels of 8 (`d × 8` floats each, padded
//! with zero centroids whose norm is +∞, so padding never wins). For a tile of 4 rows it starts 4 × 16 scores at
//! the centroids' `‖c‖²` in 8 `ymm` registers and adds `x_f · (−2c_f)` feature by feature with one FMA each (per
//! feature: 2 panel loads, 4 broadcasts, 8 FMAs), the same chain of operations as the GPU kernel (which ranks by
//! the same scores where the driver fuses WGSL's `fma`; Vulkan lets it round twice, and lavapipe does, so near-ties
//! may still rank differently there); it keeps a per-lane running best (value, index) per row with
//! compare-and-blend; the 8 lanes are reduced once per row at the end. Starting at the norm saves the separate
//! score FMA per 8 centroids per row. Each row of X is read once from memory, and the panels (`k·d·4`
//! bytes) stay in L1/L2.
//!
//! At small K that per-row reduction across lanes costs as much as the FMAs, so for `k ≤ 32` and `d ≤ 16` the
//! AVX2 kernel turns the tile around: 16 rows are transposed (8 × 8 register shuffles) into a stack buffer, each
//! centroid's scores for 8 rows fill one register (2 × 4 accumulators: 2 row registers × 4 centroids, the centroid
//! values broadcast from the same panels), and the arg-min runs down the lanes over the centroids in order, with
//! no reduction across lanes; the next tiles' rows are prefetched, because one tile's FMAs fill the reorder
//! window. The scores are the same FMA chain, so the labels are the panel kernel's, bit for bit (a unit test
//! checks it against the fused pass, which always runs the panel kernel). Measured on 1M rows, 2 threads,
//! interleaved in one process (2026-12-02; with [`dist2_rows`] below, against neither): 13% less time per Lloyd
//! step at 16 features and 16 centroids, 21–24% at 8 features; at 32 features this kernel alone was 16% slower
//! than the panel kernel (hence `d ≤ 16`).
//!
//! [`dist2_rows`] gives the exact distances of a sub-tile's rows to their labels; the AVX2 one does eight rows'
//! lane reductions together (two `hadd`s for eight rows instead of a shuffle chain per row), with [`dist2`]'s
//! reduction tree, so the same bits.

/// Scores per SGEMM call in the fallback: the tile is `SCORES / k` rows (at least 64, at most 4096), so the scratch
/// stays at 256 KiB whatever `k` is and small `k` does not pay the call and packing overhead for few rows.
pub const SCORES: usize = 1 << 16;

/// Centroids per panel of the AVX2 kernel (one `ymm` register of `f32`).
pub const LANES: usize = 8;

/// Rows per SGEMM call of the fallback for `k` centroids.
pub fn tile_rows(k: usize) -> usize {
    (SCORES / k.max(1)).clamp(64, 4096)
}

/// Which nearest-centroid kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Register-blocked AVX2 + FMA kernel over transposed centroid panels (x86-64 with AVX2 and FMA only).
    Avx2,
    /// Tiled SGEMM (`matrixmultiply`) plus an 8-lane arg-min: any CPU.
    Sgemm,
}

impl Kernel {
    /// The fastest kernel this CPU can run (checked at run time; the result is cached by `std`).
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return Kernel::Avx2;
        }
        Kernel::Sgemm
    }

    /// Whether this CPU can run the kernel.
    pub fn available(self) -> bool {
        match self {
            Kernel::Sgemm => true,
            Kernel::Avx2 => Kernel::detect() == Kernel::Avx2,
        }
    }
}

/// Centroids prepared for the kernels: a row-major copy, their squared norms, and the transposed panels.
#[derive(Debug, Clone)]
pub struct Packed {
    pub k: usize,
    pub d: usize,
    pub kernel: Kernel,
    /// Row-major `k × d` copy.
    pub c: Vec<f32>,
    /// `k` squared norms.
    pub norms: Vec<f32>,
    /// `ceil(k / 8)` panels of `d × 8`: `panels[(g·d + f)·8 + l] = −2·c[(8g + l)·d + f]`, zero past `k`.
    panels: Vec<f32>,
    /// `ceil(k / 8) · 8` norms, +∞ past `k`.
    panel_norms: Vec<f32>,
}

impl Default for Packed {
    fn default() -> Self {
        Packed::with_kernel(Kernel::detect())
    }
}

impl Packed {
    /// Empty centroids for a given kernel (tests force one; `default` detects the CPU's best).
    pub fn with_kernel(kernel: Kernel) -> Self {
        assert!(kernel.available(), "kernel {kernel:?} is not available on this CPU");
        Packed { k: 0, d: 0, kernel, c: Vec::new(), norms: Vec::new(), panels: Vec::new(), panel_norms: Vec::new() }
    }

    pub fn set(&mut self, c: &[f32], k: usize, d: usize) {
        self.k = k;
        self.d = d;
        self.c.clear();
        self.c.extend_from_slice(&c[..k * d]);
        self.norms.clear();
        self.norms.extend((0..k).map(|j| c[j * d..(j + 1) * d].iter().map(|v| v * v).sum::<f32>()));
        if self.kernel == Kernel::Avx2 {
            let groups = k.div_ceil(LANES);
            self.panels.clear();
            self.panels.resize(groups * d * LANES, 0.0);
            // The panels hold −2·c (exact in binary floating point), so a score is one chain of FMAs from ‖c‖².
            for j in 0..k {
                let (g, l) = (j / LANES, j % LANES);
                for f in 0..d {
                    self.panels[(g * d + f) * LANES + l] = -2.0 * c[j * d + f];
                }
            }
            self.panel_norms.clear();
            self.panel_norms.extend_from_slice(&self.norms);
            self.panel_norms.resize(groups * LANES, f32::INFINITY);
        }
    }

    fn groups(&self) -> usize {
        self.k.div_ceil(LANES)
    }
}

/// Exact squared Euclidean distance `Σ (a − b)²`, summed in 8 lanes (so it vectorises) and then in a fixed tree:
/// the same bits on every thread count and every kernel.
#[inline(always)]
pub fn dist2(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let full = a.len() / LANES * LANES;
    let mut acc = [0f32; LANES];
    for (ca, cb) in a[..full].chunks_exact(LANES).zip(b[..full].chunks_exact(LANES)) {
        for l in 0..LANES {
            let t = ca[l] - cb[l];
            acc[l] += t * t;
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in a[full..].iter().zip(&b[full..]) {
        let t = x - y;
        s += t * t;
    }
    s
}

/// `out[r] = dist2(row r of x, centroid labels[r] of c)` for every row (`d` columns in both): the exact distances of
/// rows to their labels, with [`dist2`]'s bits on every kernel.
pub fn dist2_rows(x: &[f32], d: usize, labels: &[u32], c: &[f32], out: &mut [f32]) {
    for (r, (&j, o)) in labels.iter().zip(out.iter_mut()).enumerate() {
        let j = j as usize;
        *o = dist2(&x[r * d..(r + 1) * d], &c[j * d..(j + 1) * d]);
    }
}

/// Labels of the nearest centroid for `rows` consecutive rows of `x` (row-major, `p.d` columns), by `p.kernel`.
/// `scratch` (the fallback's `tile × k` score buffer) is resized once and reused.
pub fn nearest_block(x: &[f32], rows: usize, p: &Packed, out: &mut [u32], scratch: &mut Vec<f32>) {
    assert!(x.len() >= rows * p.d && out.len() >= rows && p.k >= 1);
    match p.kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Packed::with_kernel` only accepts `Kernel::Avx2` when the CPU has AVX2 and FMA, and the
        // slice lengths were checked above.
        Kernel::Avx2 => unsafe { avx2::nearest(x, rows, p, out) },
        _ => nearest_sgemm(x, rows, p, out, scratch),
    }
}

/// [`nearest_block`] and, in the same pass over the centroids, each row's second-smallest score
/// `‖c_j‖² − 2x·c_j` over all `k` centroids (with repeats; +∞ when `k = 1`), for Hamerly's lower bounds. The labels
/// are bit-for-bit those of [`nearest_block`] (the same scores, compared in the same order); `second` holds one
/// score per row.
pub fn nearest_second_block(
    x: &[f32],
    rows: usize,
    p: &Packed,
    out: &mut [u32],
    second: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    assert!(x.len() >= rows * p.d && out.len() >= rows && second.len() >= rows && p.k >= 1);
    match p.kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `nearest_block`; `second` holds `rows` values (checked above).
        Kernel::Avx2 => unsafe { avx2::nearest_second(x, rows, p, out, second) },
        _ => sgemm_rows(x, rows, p, scratch, |i, s| {
            out[i] = argmin_plus(s, &p.norms);
            second[i] = second_smallest(s.iter().zip(&p.norms).map(|(&v, &nj)| v + nj));
        }),
    }
}

/// The second-smallest of the values, with repeats (`[1, 1, 2]` gives 1); +∞ for fewer than two values.
#[inline(always)]
fn second_smallest(v: impl IntoIterator<Item = f32>) -> f32 {
    let (mut b1, mut b2) = (f32::INFINITY, f32::INFINITY);
    for v in v {
        if v < b1 {
            (b2, b1) = (b1, v);
        } else if v < b2 {
            b2 = v;
        }
    }
    b2
}

/// The fallback: scores by one SGEMM per tile of rows, then an arg-min per row.
fn nearest_sgemm(x: &[f32], rows: usize, p: &Packed, out: &mut [u32], scratch: &mut Vec<f32>) {
    sgemm_rows(x, rows, p, scratch, |i, s| out[i] = argmin_plus(s, &p.norms));
}

/// The fallback's tiles: one SGEMM per tile of rows into `scratch`, then `per_row(i, s)` for each row `i` with its
/// `k` dot-product scores `s` (`−2 x·c_j`; the norms are added by the caller).
fn sgemm_rows(x: &[f32], rows: usize, p: &Packed, scratch: &mut Vec<f32>, mut per_row: impl FnMut(usize, &[f32])) {
    let (k, d) = (p.k, p.d);
    let tile = tile_rows(k);
    scratch.resize(tile * k, 0.0);
    let mut start = 0;
    while start < rows {
        let m = (rows - start).min(tile);
        sgemm_scores(&x[start * d..(start + m) * d], m, p, &mut scratch[..m * k]);
        for r in 0..m {
            per_row(start + r, &scratch[r * k..(r + 1) * k]);
        }
        start += m;
    }
}

/// `out (rows × k) = −2 · X (rows × d) · Cᵀ (d × k)`, the dot-product part of the scores, by one SGEMM.
pub(crate) fn sgemm_scores(x: &[f32], rows: usize, p: &Packed, out: &mut [f32]) {
    let (k, d) = (p.k, p.d);
    assert!(x.len() >= rows * d && out.len() >= rows * k && p.c.len() >= k * d);
    // Cᵀ(f, j) = c[j·d + f].
    // SAFETY: every pointer/stride pair addresses inside its slice (checked above): X is rows × d at row stride d,
    // Cᵀ reads c[j·d + f] for j < k, f < d, and the output is rows × k at row stride k.
    unsafe {
        matrixmultiply::sgemm(
            rows,
            d,
            k,
            -2.0,
            x.as_ptr(),
            d as isize,
            1,
            p.c.as_ptr(),
            1,
            d as isize,
            0.0,
            out.as_mut_ptr(),
            k as isize,
            1,
        );
    }
}

/// Index of the smallest `s[j] + norms[j]`, lowest index on exact ties. Branch-free over 8 lanes (each lane keeps
/// its best value and index with strict `<`, so the earliest index within a lane wins), which vectorises to
/// compare-and-blend; the lanes are then reduced by (value, index).
#[inline]
fn argmin_plus(s: &[f32], norms: &[f32]) -> u32 {
    const L: usize = 8;
    let k = s.len();
    let mut bv = [f32::INFINITY; L];
    let mut bi = [0u32; L];
    let full = k / L * L;
    for (c, (sc, nc)) in s[..full].chunks_exact(L).zip(norms[..full].chunks_exact(L)).enumerate() {
        for l in 0..L {
            let v = sc[l] + nc[l];
            let better = v < bv[l];
            bv[l] = if better { v } else { bv[l] };
            bi[l] = if better { (c * L + l) as u32 } else { bi[l] };
        }
    }
    let (mut best, mut idx) = (bv[0], bi[0]);
    for l in 1..L {
        if bv[l] < best || (bv[l] == best && bi[l] < idx) {
            best = bv[l];
            idx = bi[l];
        }
    }
    for j in full..k {
        let v = s[j] + norms[j];
        if v < best || (full == 0 && j == 0) {
            best = v;
            idx = j as u32;
        }
    }
    idx
}

/// The AVX2 + FMA kernel (see the module doc).
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use std::arch::x86_64::*;

    use super::{Packed, LANES};

    /// Rows per register tile.
    const MR: usize = 4;
    /// Rows per tile of the small-K kernel (two registers of 8 rows).
    const VR: usize = 16;
    /// Tiles ahead that the small-K kernel prefetches.
    const PREFETCH_TILES: usize = 2;
    /// Centroids per pass of the small-K kernel over a tile's features (2 × 4 accumulators).
    const VC: usize = 4;
    /// The small-K kernel (rows in lanes, [`tile_vertical`]) runs up to this many centroids...
    pub(super) const VERTICAL_MAX_K: usize = 32;
    /// ... and this many features (its transposed tile lives on the stack).
    const VERTICAL_MAX_D: usize = 16;

    /// [`super::dist2`] in 256-bit registers, with the same operations in the same order (sub, mul, add per lane,
    /// then the same reduction tree and the same scalar tail), so the bits are identical.
    ///
    /// # Safety
    /// The CPU must have AVX2; `a` and `b` must have the same length.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dist2(a: &[f32], b: &[f32]) -> f32 {
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

    /// [`super::dist2_rows`]: eight rows at a time, each row's 8 lanes summed as in [`dist2`] and the eight
    /// reductions done together, by the same tree (`lo + hi`, then two pairwise adds per row), so the bits are
    /// [`dist2`]'s, row by row.
    ///
    /// # Safety
    /// The CPU must have AVX2; `x` must hold `labels.len() · d` floats, every label must index a row of `c`
    /// (`d` columns) and `out` must hold at least `labels.len()` values.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dist2_rows(x: &[f32], d: usize, labels: &[u32], c: &[f32], out: &mut [f32]) {
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
    pub unsafe fn nearest(x: &[f32], rows: usize, p: &Packed, out: &mut [u32]) {
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
    pub unsafe fn nearest_second(x: &[f32], rows: usize, p: &Packed, out: &mut [u32], second: &mut [f32]) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kernels() -> Vec<Kernel> {
        [Kernel::Avx2, Kernel::Sgemm].into_iter().filter(|k| k.available()).collect()
    }

    fn brute(x: &[f32], d: usize, c: &[f32], k: usize) -> Vec<u32> {
        (0..x.len() / d)
            .map(|i| {
                let mut best = (f64::INFINITY, 0u32);
                for j in 0..k {
                    let s: f64 = (0..d).map(|f| (x[i * d + f] as f64 - c[j * d + f] as f64).powi(2)).sum();
                    if s < best.0 {
                        best = (s, j as u32);
                    }
                }
                best.1
            })
            .collect()
    }

    fn rng(mut seed: u64) -> impl FnMut() -> f32 {
        move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) * 10.0 - 5.0
        }
    }

    fn labels(kernel: Kernel, x: &[f32], n: usize, c: &[f32], k: usize, d: usize) -> Vec<u32> {
        let mut p = Packed::with_kernel(kernel);
        p.set(c, k, d);
        let mut out = vec![u32::MAX; n];
        nearest_block(x, n, &p, &mut out, &mut Vec::new());
        out
    }

    #[test]
    fn every_kernel_matches_brute_force_for_odd_shapes() {
        let mut rnd = rng(12345);
        // Rows not a multiple of the 4-row tile, k not a multiple of 8 or 16, one panel, an odd panel count.
        for (n, d, k) in [(1, 1, 1), (7, 3, 5), (300, 16, 17), (50, 33, 64), (9, 2, 256), (600, 4, 3), (13, 8, 24)] {
            let x: Vec<f32> = (0..n * d).map(|_| rnd()).collect();
            let c: Vec<f32> = (0..k * d).map(|_| rnd()).collect();
            for kernel in kernels() {
                assert_eq!(labels(kernel, &x, n, &c, k, d), brute(&x, d, &c, k), "{kernel:?} n={n} d={d} k={k}");
            }
        }
    }

    #[test]
    fn this_x86_64_machine_runs_the_avx2_kernel() {
        // The AVX2 kernel is what CI and the developer machines are measured with; make its absence visible.
        if cfg!(target_arch = "x86_64") && std::arch::is_x86_feature_detected!("avx2") {
            assert_eq!(Kernel::detect(), Kernel::Avx2);
            assert_eq!(Packed::default().kernel, Kernel::Avx2);
        }
    }

    #[test]
    fn lane_argmin_keeps_the_lowest_index_on_ties_across_lanes_and_tail() {
        for k in [1usize, 3, 8, 9, 16, 17, 40] {
            for tie in [(0usize, k - 1), (k / 2, k - 1), (1.min(k - 1), k / 2)] {
                let mut s = vec![5.0f32; k];
                let norms = vec![1.0f32; k];
                s[tie.0] = 2.0;
                s[tie.1] = 2.0;
                assert_eq!(argmin_plus(&s, &norms) as usize, tie.0.min(tie.1), "k={k} ties at {tie:?}");
            }
            let s: Vec<f32> = (0..k).map(|j| ((j * 7919) % 13) as f32).collect();
            let norms = vec![0.0f32; k];
            let want = (0..k).fold(0, |b, j| if s[j] < s[b] { j } else { b });
            assert_eq!(argmin_plus(&s, &norms) as usize, want, "k={k}");
        }
    }

    #[test]
    fn exact_ties_go_to_the_lowest_index_in_every_kernel() {
        // One feature, centroids at ±1 and the point at 0: an exact tie between every pair of equal centroids.
        // Duplicated centroids put equal scores in different lanes, panels and panel pairs.
        for k in [2usize, 3, 9, 17, 40] {
            let c: Vec<f32> = (0..k).map(|j| if j % 2 == 0 { 1.0 } else { -1.0 }).collect();
            for kernel in kernels() {
                assert_eq!(labels(kernel, &[0.0; 5], 5, &c, k, 1), vec![0; 5], "{kernel:?} k={k}");
                assert_eq!(labels(kernel, &[0.0; 40], 40, &c, k, 1), vec![0; 40], "{kernel:?} k={k}");
            }
            // The winner appears only late (in a later panel and lane), then again later still.
            let mut c = vec![3.0f32; k];
            c[k - 1] = 0.5;
            if k > 9 {
                c[9] = 0.5;
            }
            let want = if k > 9 { 9 } else { k as u32 - 1 };
            for kernel in kernels() {
                assert_eq!(labels(kernel, &[0.5; 6], 6, &c, k, 1), vec![want; 6], "{kernel:?} k={k}");
                // 35 rows: two 16-row tiles of the small-K kernel and a tail of the panel kernel.
                assert_eq!(labels(kernel, &[0.5; 35], 35, &c, k, 1), vec![want; 35], "{kernel:?} k={k}");
            }
        }
    }

    #[test]
    fn the_small_k_kernel_gives_the_panel_kernels_labels_bit_for_bit() {
        // AVX2 at k ≤ 32 and d ≤ 64 puts rows in lanes (16 rows per tile); the fused pass with the second score
        // always runs the panel kernel over the same scores. Integer-valued data makes exact ties common, so the
        // lowest-index rule is exercised in lanes, across the 4-centroid steps and in the single-centroid tail.
        if !Kernel::Avx2.available() {
            return;
        }
        let mut rnd = rng(777);
        for d in [1usize, 3, 8, 9, 16, 17, 32, 64, 65] {
            for k in [1usize, 2, 3, 4, 5, 8, 15, 16, 17, 31, 32, 33] {
                for (n, round) in [(16usize, true), (35, true), (1024, false), (47, false)] {
                    let mut q = || if round { rnd().round() } else { rnd() };
                    let x: Vec<f32> = (0..n * d).map(|_| q()).collect();
                    let c: Vec<f32> = (0..k * d).map(|_| q()).collect();
                    let mut p = Packed::with_kernel(Kernel::Avx2);
                    p.set(&c, k, d);
                    let (mut lab, mut second) = (vec![u32::MAX; n], vec![0.0; n]);
                    nearest_second_block(&x, n, &p, &mut lab, &mut second, &mut Vec::new());
                    assert_eq!(labels(Kernel::Avx2, &x, n, &c, k, d), lab, "n={n} d={d} k={k}");
                }
            }
        }
    }

    #[test]
    fn the_fused_pass_gives_the_same_labels_and_the_second_smallest_score() {
        let mut rnd = rng(4242);
        for (n, d, k) in [(1, 1, 1), (9, 3, 2), (300, 16, 17), (50, 33, 64), (9, 2, 256), (13, 8, 24), (6, 5, 9)] {
            let x: Vec<f32> = (0..n * d).map(|_| rnd()).collect();
            let c: Vec<f32> = (0..k * d).map(|_| rnd()).collect();
            for kernel in kernels() {
                let mut p = Packed::with_kernel(kernel);
                p.set(&c, k, d);
                let (mut lab, mut second) = (vec![u32::MAX; n], vec![f32::NAN; n]);
                nearest_second_block(&x, n, &p, &mut lab, &mut second, &mut Vec::new());
                assert_eq!(lab, labels(kernel, &x, n, &c, k, d), "{kernel:?} n={n} d={d} k={k}");
                for i in 0..n {
                    let mut s: Vec<f64> = (0..k)
                        .map(|j| {
                            (0..d)
                                .map(|f| c[j * d + f] as f64 * (c[j * d + f] as f64 - 2.0 * x[i * d + f] as f64))
                                .sum()
                        })
                        .collect();
                    s.sort_by(f64::total_cmp);
                    if k == 1 {
                        assert_eq!(second[i], f32::INFINITY, "{kernel:?} k=1");
                    } else {
                        assert!((second[i] as f64 - s[1]).abs() <= 1e-4 * (1.0 + s[1].abs()), "{kernel:?} row {i}");
                    }
                }
            }
        }
        // Repeats count: two equal best scores in different lanes and panels make the second equal the best.
        for k in [2usize, 9, 17, 40] {
            let mut c = vec![3.0f32; k];
            c[0] = 0.5;
            c[k - 1] = 0.5;
            for kernel in kernels() {
                let mut p = Packed::with_kernel(kernel);
                p.set(&c, k, 1);
                let (mut lab, mut second) = (vec![9; 5], vec![0.0; 5]);
                nearest_second_block(&[0.5; 5], 5, &p, &mut lab, &mut second, &mut Vec::new());
                assert_eq!(lab, vec![0; 5], "{kernel:?} k={k}");
                assert_eq!(second, vec![-0.25; 5], "{kernel:?} k={k}");
            }
        }
    }

    #[test]
    fn avx2_dist2_has_the_same_bits_as_the_portable_one() {
        if !Kernel::Avx2.available() {
            return;
        }
        let mut rnd = rng(99);
        for d in [0usize, 1, 5, 8, 9, 15, 16, 17, 31, 33, 70] {
            for _ in 0..20 {
                let a: Vec<f32> = (0..d).map(|_| rnd() * 1e3).collect();
                let b: Vec<f32> = (0..d).map(|_| rnd()).collect();
                #[cfg(target_arch = "x86_64")]
                // SAFETY: AVX2 is available (checked above); equal lengths.
                let fast = unsafe { avx2::dist2(&a, &b) };
                #[cfg(not(target_arch = "x86_64"))]
                let fast = dist2(&a, &b);
                assert_eq!(fast.to_bits(), dist2(&a, &b).to_bits(), "d={d}");
            }
        }
    }

    #[test]
    fn dist2_rows_has_dist2s_bits_on_every_kernel() {
        let mut rnd = rng(5);
        for d in [0usize, 1, 7, 8, 9, 16, 17, 32, 33] {
            let k = 5;
            let c: Vec<f32> = (0..k * d).map(|_| rnd()).collect();
            // 0..=25 rows: whole groups of eight, remainders, and none.
            for rows in [0usize, 1, 7, 8, 9, 16, 25] {
                let x: Vec<f32> = (0..rows * d).map(|_| rnd() * 1e3).collect();
                let labels: Vec<u32> = (0..rows).map(|r| ((r * 3 + d) % k) as u32).collect();
                let want: Vec<u32> = (0..rows)
                    .map(|r| {
                        let j = labels[r] as usize;
                        dist2(&x[r * d..(r + 1) * d], &c[j * d..(j + 1) * d]).to_bits()
                    })
                    .collect();
                let mut out = vec![f32::NAN; rows];
                dist2_rows(&x, d, &labels, &c, &mut out);
                assert_eq!(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want, "portable d={d} rows={rows}");
                #[cfg(target_arch = "x86_64")]
                if Kernel::Avx2.available() {
                    let mut out = vec![f32::NAN; rows];
                    // SAFETY: AVX2 is available; x holds rows·d floats, labels < k, out holds rows values.
                    unsafe { avx2::dist2_rows(&x, d, &labels, &c, &mut out) };
                    assert_eq!(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want, "avx2 d={d} rows={rows}");
                }
            }
        }
    }

    #[test]
    fn dist2_is_the_sum_of_squared_differences() {
        let mut rnd = rng(7);
        for d in [1usize, 7, 8, 9, 16, 33] {
            let a: Vec<f32> = (0..d).map(|_| rnd()).collect();
            let b: Vec<f32> = (0..d).map(|_| rnd()).collect();
            let want: f64 = a.iter().zip(&b).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum();
            assert!((dist2(&a, &b) as f64 - want).abs() <= 1e-5 * want.max(1.0), "d={d}");
        }
        assert_eq!(dist2(&[], &[]), 0.0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the shape, no centroid is closer to a row than the one a kernel chose (beyond f32 rounding of
        /// the ‖c‖² − 2x·c form), and both kernels agree wherever the best two are not within rounding.
        #[test]
        fn nothing_is_closer_than_the_chosen_centroid(
            n in 1usize..40, d in 1usize..40, k in 1usize..70, seed in any::<u64>()
        ) {
            let mut rnd = rng(seed);
            let x: Vec<f32> = (0..n * d).map(|_| rnd()).collect();
            let c: Vec<f32> = (0..k * d).map(|_| rnd()).collect();
            for kernel in kernels() {
                let got = labels(kernel, &x, n, &c, k, d);
                for i in 0..n {
                    let xi = &x[i * d..(i + 1) * d];
                    let dist = |j: usize| dist2(xi, &c[j * d..(j + 1) * d]) as f64;
                    let best = (0..k).map(dist).fold(f64::INFINITY, f64::min);
                    let scale: f64 = xi.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() + 25.0 * d as f64;
                    prop_assert!((got[i] as usize) < k);
                    prop_assert!(dist(got[i] as usize) <= best + 1e-5 * scale, "{:?} row {}", kernel, i);
                }
            }
        }
    }
}
