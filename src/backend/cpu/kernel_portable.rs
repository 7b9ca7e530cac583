//! The portable CPU kernels, for every CPU: the exact distance [`dist2`] (and [`dist2_rows`] for a sub-tile's rows),
//! and the fallback nearest-centroid search for CPUs without AVX2/FMA: one tiled SGEMM (`matrixmultiply`) per tile of
//! rows for the dot products, then an 8-lane arg-min of `‖c‖² − 2x·c` per row (lowest index on exact ties), so no
//! `N × K` matrix is built.

use super::packed::{Packed, LANES};

/// Scores per SGEMM call in the fallback: the tile is `SCORES / k` rows (at least 64, at most 4096), so the scratch
/// stays at 256 KiB whatever `k` is and small `k` does not pay the call and packing overhead for few rows.
const SCORES: usize = 1 << 16;

/// Rows per SGEMM call of the fallback for `k` centroids.
fn tile_rows(k: usize) -> usize {
    (SCORES / k.max(1)).clamp(64, 4096)
}

/// Exact squared Euclidean distance `Σ (a − b)²`, summed in 8 lanes (so it vectorises) and then in a fixed tree:
/// the same bits on every thread count and every kernel.
#[inline(always)]
pub(crate) fn dist2(a: &[f32], b: &[f32]) -> f32 {
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
pub(crate) fn dist2_rows(x: &[f32], d: usize, labels: &[u32], c: &[f32], out: &mut [f32]) {
    for (r, (&j, o)) in labels.iter().zip(out.iter_mut()).enumerate() {
        let j = j as usize;
        *o = dist2(&x[r * d..(r + 1) * d], &c[j * d..(j + 1) * d]);
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

/// The fallback: scores by one SGEMM per tile of rows, then an arg-min per row; with `second`, also each row's
/// second-smallest score over all `k` centroids, from the same scores.
pub(crate) fn nearest_sgemm(
    x: &[f32],
    rows: usize,
    p: &Packed,
    out: &mut [u32],
    second: Option<&mut [f32]>,
    scratch: &mut Vec<f32>,
) {
    match second {
        None => sgemm_rows(x, rows, p, scratch, |i, s| out[i] = argmin_plus(s, &p.norms)),
        Some(second) => sgemm_rows(x, rows, p, scratch, |i, s| {
            out[i] = argmin_plus(s, &p.norms);
            second[i] = second_smallest(s.iter().zip(&p.norms).map(|(&v, &nj)| v + nj));
        }),
    }
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
fn sgemm_scores(x: &[f32], rows: usize, p: &Packed, out: &mut [f32]) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::rng;

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
}
