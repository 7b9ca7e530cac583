//! The CPU's nearest-centroid search, dispatched at run time to the kernel a [`Packed`] was made for: the AVX2/FMA
//! kernels (`kernel_avx2.rs`) where the CPU has them, else the portable SGEMM fallback (`kernel_portable.rs`).
//!
//! Both rank centroids by `score(i, j) = ‖c_j‖² − 2 x_i·c_j` and keep per row the smallest score, lowest index on
//! exact ties; neither builds an `N × K` matrix. The caller recomputes the exact distance `Σ (x − c)²` for the
//! winner (`kernel_portable::dist2`, or its AVX2 twin with the same bits).

#[cfg(target_arch = "x86_64")]
use super::kernel_avx2;
use super::kernel_portable::nearest_sgemm;
use super::packed::{Kernel, Packed};

/// Labels of the nearest centroid for `rows` consecutive rows of `x` (row-major, `p.d` columns), by `p.kernel`.
/// `scratch` (the fallback's `tile × k` score buffer) is resized once and reused.
pub(crate) fn nearest_block(x: &[f32], rows: usize, p: &Packed, out: &mut [u32], scratch: &mut Vec<f32>) {
    assert!(x.len() >= rows * p.d && out.len() >= rows && p.k >= 1);
    match p.kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Packed::with_kernel` only accepts `Kernel::Avx2` when the CPU has AVX2 and FMA, and the
        // slice lengths were checked above.
        Kernel::Avx2 => unsafe { kernel_avx2::nearest(x, rows, p, out) },
        _ => nearest_sgemm(x, rows, p, out, None, scratch),
    }
}

/// [`nearest_block`] and, in the same pass over the centroids, each row's second-smallest score
/// `‖c_j‖² − 2x·c_j` over all `k` centroids (with repeats; +∞ when `k = 1`), for Hamerly's lower bounds. The labels
/// are bit-for-bit those of [`nearest_block`] (the same scores, compared in the same order); `second` holds one
/// score per row.
pub(crate) fn nearest_second_block(
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
        Kernel::Avx2 => unsafe { kernel_avx2::nearest_second(x, rows, p, out, second) },
        _ => nearest_sgemm(x, rows, p, out, Some(second), scratch),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::backend::cpu::kernel_portable::{dist2, dist2_rows};
    use crate::test_util::rng;

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
                let fast = unsafe { kernel_avx2::dist2(&a, &b) };
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
                    unsafe { kernel_avx2::dist2_rows(&x, d, &labels, &c, &mut out) };
                    assert_eq!(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want, "avx2 d={d} rows={rows}");
                }
            }
        }
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
