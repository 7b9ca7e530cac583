//! The CPU side of greedy k-means++: the potential of every candidate over one block of rows, with the distances
//! computed for 8 candidates at once (one per `ymm` lane) on AVX2, bit-identical to the portable loop; and the
//! commit of the chosen centre.
//!
//! A k-means++ step scores `2 + ⌊ln k⌋` candidate centres: for each, `Σ_i w_i · min(closest_i, ‖x_i − cand‖²)`.
//! The portable loop calls [`dist2`] once per (row, candidate); its 8-lane sums and reduction tree are short at
//! small `d` and dominated by the horizontal reduction. The AVX2 loop transposes the candidates into groups of 8
//! (`d × 8` floats, zero past `m`) and runs the *same* arithmetic with the candidates in the lanes: lane-position
//! accumulators `acc_l += t·t` (separate multiply and add, as `dist2`), the same tree
//! `((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7))`, the same sequential tail, then the same `min` and `f64`
//! weighted sum per candidate in row order. So every potential has the bits of the portable loop's, which keeps
//! seeding identical whatever the CPU (unit test below).

use super::kernel_portable::dist2;
use super::packed::Kernel;

/// `pot[j] += w_i · min(closest_i, dist2(x_i, cand_j))` over the `closest.len()` rows of `x` (row-major, `d`
/// columns), in row order, for the `m` candidates (`m × d`, row-major). `w` is the block's weights, if any.
#[allow(clippy::too_many_arguments)]
pub(crate) fn block_potentials(
    kernel: Kernel,
    x: &[f32],
    d: usize,
    w: Option<&[f32]>,
    closest: &[f32],
    candidates: &[f32],
    m: usize,
    pot: &mut [f64],
) {
    assert!(x.len() >= closest.len() * d && candidates.len() >= m * d && pot.len() >= m);
    assert!(w.is_none_or(|w| w.len() >= closest.len()));
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx2 && d > 0 {
        // SAFETY: `Kernel::Avx2` is only constructed on CPUs with AVX2 and FMA (`Packed::with_kernel`, and the
        // backend's kernel comes from there); the lengths were checked above.
        return unsafe { avx2::block_potentials(x, d, w, closest, candidates, m, pot) };
    }
    let _ = kernel;
    portable(x, d, w, closest, candidates, m, pot);
}

/// `closest_i = min(closest_i, dist2(x_i, chosen))` over the `closest.len()` rows of `x` (the k-means++ commit), with
/// the AVX2 [`dist2`] where the kernel is AVX2 (the same bits as the portable one).
pub(crate) fn block_commit(kernel: Kernel, x: &[f32], d: usize, chosen: &[f32], closest: &mut [f32]) {
    assert!(x.len() >= closest.len() * d && chosen.len() == d);
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx2 {
        // SAFETY: as in `block_potentials`; the lengths were checked above.
        return unsafe { avx2::block_commit(x, d, chosen, closest) };
    }
    let _ = kernel;
    for (r, c) in closest.iter_mut().enumerate() {
        *c = c.min(dist2(&x[r * d..(r + 1) * d], chosen));
    }
}

fn portable(x: &[f32], d: usize, w: Option<&[f32]>, closest: &[f32], cand: &[f32], m: usize, pot: &mut [f64]) {
    for (r, &c) in closest.iter().enumerate() {
        let xi = &x[r * d..(r + 1) * d];
        let wi = w.map_or(1.0, |w| w[r] as f64);
        for (j, p) in pot[..m].iter_mut().enumerate() {
            let d2 = dist2(xi, &cand[j * d..(j + 1) * d]);
            *p += wi * d2.min(c) as f64;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use crate::backend::cpu::kernel_avx2;
    use crate::backend::cpu::packed::LANES;

    /// # Safety
    /// AVX2 and FMA; `x` holds `closest.len() · d` floats and `chosen` `d`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn block_commit(x: &[f32], d: usize, chosen: &[f32], closest: &mut [f32]) {
        for (r, c) in closest.iter_mut().enumerate() {
            *c = c.min(kernel_avx2::dist2(x.get_unchecked(r * d..(r + 1) * d), chosen));
        }
    }

    /// # Safety
    /// AVX2 and FMA; `x` holds `closest.len() · d` floats, `cand` `m · d`, `pot` `m`, `w` (if any) `closest.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn block_potentials(
        x: &[f32],
        d: usize,
        w: Option<&[f32]>,
        closest: &[f32],
        cand: &[f32],
        m: usize,
        pot: &mut [f64],
    ) {
        let groups = m.div_ceil(LANES);
        // ct[(g·d + f)·8 + l] = cand[(8g + l)·d + f], zero past m.
        let mut ct = vec![0f32; groups * d * LANES];
        for j in 0..m {
            for f in 0..d {
                ct[((j / LANES) * d + f) * LANES + j % LANES] = cand[j * d + f];
            }
        }
        let full = d / LANES * LANES;
        for g in 0..groups {
            let cg = ct.as_ptr().add(g * d * LANES);
            // The running sums start from `pot`, as the portable loop's do.
            let live = (m - g * LANES).min(LANES);
            let mut start = [0f64; LANES];
            start[..live].copy_from_slice(&pot[g * LANES..g * LANES + live]);
            let (mut lo, mut hi) = (_mm256_loadu_pd(start.as_ptr()), _mm256_loadu_pd(start.as_ptr().add(4)));
            for (r, &c) in closest.iter().enumerate() {
                let xi = x.as_ptr().add(r * d);
                // `dist2`'s lane accumulators, one vector per lane position, candidates across the lanes.
                let mut acc = [_mm256_setzero_ps(); LANES];
                let mut f = 0;
                while f < full {
                    for (l, a) in acc.iter_mut().enumerate() {
                        let v = _mm256_sub_ps(_mm256_set1_ps(*xi.add(f + l)), _mm256_loadu_ps(cg.add((f + l) * LANES)));
                        *a = _mm256_add_ps(*a, _mm256_mul_ps(v, v));
                    }
                    f += LANES;
                }
                let mut s = _mm256_add_ps(
                    _mm256_add_ps(_mm256_add_ps(acc[0], acc[4]), _mm256_add_ps(acc[1], acc[5])),
                    _mm256_add_ps(_mm256_add_ps(acc[2], acc[6]), _mm256_add_ps(acc[3], acc[7])),
                );
                while f < d {
                    let v = _mm256_sub_ps(_mm256_set1_ps(*xi.add(f)), _mm256_loadu_ps(cg.add(f * LANES)));
                    s = _mm256_add_ps(s, _mm256_mul_ps(v, v));
                    f += 1;
                }
                // `d2.min(c)`: the distances are finite or +∞ (never NaN: the matrix is validated finite), so
                // `min` agrees with `f32::min`.
                let v = _mm256_min_ps(s, _mm256_set1_ps(c));
                let wi = _mm256_set1_pd(w.map_or(1.0, |w| *w.get_unchecked(r) as f64));
                lo = _mm256_add_pd(lo, _mm256_mul_pd(wi, _mm256_cvtps_pd(_mm256_castps256_ps128(v))));
                hi = _mm256_add_pd(hi, _mm256_mul_pd(wi, _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v))));
            }
            let mut out = [0f64; LANES];
            _mm256_storeu_pd(out.as_mut_ptr(), lo);
            _mm256_storeu_pd(out.as_mut_ptr().add(4), hi);
            pot[g * LANES..g * LANES + live].copy_from_slice(&out[..live]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::rng;

    #[test]
    fn every_kernel_gives_the_portable_potentials_to_the_bit() {
        let mut rnd = rng(77);
        for (n, d, m) in [(1, 1, 1), (37, 3, 5), (100, 8, 8), (64, 16, 9), (20, 33, 2), (50, 7, 17), (10, 1, 12)] {
            let x: Vec<f32> = (0..n * d).map(|_| rnd() * 3.0).collect();
            let cand: Vec<f32> = (0..m * d).map(|_| rnd()).collect();
            // Some rows already at distance 0, some far: both sides of the `min`.
            let closest: Vec<f32> = (0..n).map(|i| if i % 5 == 0 { 0.0 } else { (rnd() + 5.0) * 40.0 }).collect();
            let w: Vec<f32> = (0..n).map(|i| (i % 4) as f32 * 0.75).collect();
            for weights in [None, Some(&w[..])] {
                let mut want = vec![0.5f64; m];
                portable(&x, d, weights, &closest, &cand, m, &mut want);
                for kernel in [Kernel::Avx2, Kernel::Sgemm].into_iter().filter(|k| k.available()) {
                    let mut got = vec![0.5f64; m];
                    block_potentials(kernel, &x, d, weights, &closest, &cand, m, &mut got);
                    let bits = |v: &[f64]| v.iter().map(|p| p.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&want), "{kernel:?} n={n} d={d} m={m} weighted={}", weights.is_some());
                }
            }
        }
    }

    #[test]
    fn every_kernel_commits_the_portable_minimum_to_the_bit() {
        let mut rnd = rng(5);
        for (n, d) in [(1, 1), (40, 3), (33, 8), (17, 19)] {
            let x: Vec<f32> = (0..n * d).map(|_| rnd() * 3.0).collect();
            let chosen: Vec<f32> = (0..d).map(|_| rnd()).collect();
            let start: Vec<f32> = (0..n).map(|i| if i % 3 == 0 { 0.5 } else { 1e4 }).collect();
            let want: Vec<u32> =
                (0..n).map(|i| start[i].min(dist2(&x[i * d..(i + 1) * d], &chosen)).to_bits()).collect();
            for kernel in [Kernel::Avx2, Kernel::Sgemm].into_iter().filter(|k| k.available()) {
                let mut got = start.clone();
                block_commit(kernel, &x, d, &chosen, &mut got);
                assert_eq!(got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want, "{kernel:?} n={n} d={d}");
            }
        }
    }

    #[test]
    fn potentials_are_the_weighted_sums_of_the_smaller_distance() {
        // Two rows on a line, candidates at 0 and 3; row 1 already has a centre at distance² 1.
        let x = [0.0f32, 2.0];
        let closest = [100.0f32, 1.0];
        for kernel in [Kernel::Avx2, Kernel::Sgemm].into_iter().filter(|k| k.available()) {
            let mut pot = vec![0f64; 2];
            block_potentials(kernel, &x, 1, Some(&[2.0, 3.0]), &closest, &[0.0, 3.0], 2, &mut pot);
            // cand 0: 2·min(100, 0) + 3·min(1, 4) = 3; cand 3: 2·min(100, 9) + 3·min(1, 1) = 21.
            assert_eq!(pot, vec![3.0, 21.0], "{kernel:?}");
        }
    }
}
