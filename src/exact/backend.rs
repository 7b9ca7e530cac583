//! The exact-sum Lloyd step on the CPU: [`partial_step`] (one partition's share, for a distributed fit),
//! [`exact_backend`] (the same step as a [`Backend`], for a single-machine fit), [`update_centres`] (the centre
//! update of `kmeans/algorithm.rs`, for a driver that runs the loop itself) and [`fit_exact`].
//!
//! All of them run the CPU backend with exact sums (`CpuBackend::with_exact_sums`): its kernels, blocks and
//! Hamerly's bounds, so the same labels as the CLI's CPU fit on this CPU, with each value quantised on the global
//! scale (`fixed.rs`) as it is added.

use crate::backend::cpu::{sample_backend, CpuBackend};
use crate::error::Result;
use crate::kmeans::{fit, FitResult, StepStats, ValidParams};
use crate::matrix::Matrix;

use super::fixed::{ExactScale, ExactSums};

/// One partition's share of a Lloyd step against `centres` (`k × d`): assigns its rows on the CPU and adds them
/// exactly with the fit's global `scale`. Shares of the same step add ([`ExactSums::add`]) to the same integers
/// whatever the partitioning.
pub fn partial_step(scale: &ExactScale, x: &Matrix, w: Option<&[f32]>, centres: &[f32], k: usize) -> Result<ExactSums> {
    assert_eq!(scale.d(), x.d(), "scale of other data");
    let (sums, _) = CpuBackend::new(x, w).with_exact_sums(scale.clone()).exact_step(centres, k)?;
    Ok(sums)
}

/// The centre update of one Lloyd step, exactly as `kmeans/algorithm.rs` does it: each cluster with weight takes
/// `(sum / weight) as f32`; a cluster without weight keeps its centre. Returns the total squared shift (`f64`).
/// A driver that runs the loop itself (the Spark fit) calls this, so its centres are the same bits as
/// [`fit_exact`]'s.
pub fn update_centres(stats: &StepStats, centres: &mut [f32], k: usize, d: usize) -> f64 {
    let mut shift = 0f64;
    for j in 0..k {
        if stats.weights[j] > 0.0 {
            for f in 0..d {
                let new = (stats.sums[j * d + f] / stats.weights[j]) as f32;
                let delta = new as f64 - centres[j * d + f] as f64;
                shift += delta * delta;
                centres[j * d + f] = new;
            }
        }
    }
    shift
}

/// The CPU backend over `x` (and optional weights) with exact sums on the scale of this data.
pub fn exact_backend<'a>(x: &'a Matrix, w: Option<&'a [f32]>) -> CpuBackend<'a> {
    CpuBackend::new(x, w).with_exact_sums(ExactScale::of_data(x.as_slice(), x.d(), w))
}

/// Fits K-means on the CPU with exact sums (k-means++ seeding on the CPU backend, as every caller in the crate).
pub fn fit_exact(params: &ValidParams, x: &Matrix, w: Option<&[f32]>) -> Result<FitResult> {
    let mut b = exact_backend(x, w);
    fit(params, x, w, &mut b, &sample_backend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::Bounds;
    use crate::kmeans::{Backend, Init, KMeansParams};
    use proptest::prelude::*;

    /// Deterministic pseudo-random data (a splitmix-style hash), `n × d`, with clusters around a few centres.
    fn data(n: usize, d: usize, seed: u64) -> Matrix {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut v = Vec::with_capacity(n * d);
        for i in 0..n {
            for f in 0..d {
                v.push(((i % 5) as f64 * 3.0 + next() * 2.0 - 1.0 + f as f64 * 0.1) as f32 * 17.3);
            }
        }
        Matrix::from_vec(v, n, d)
    }

    /// Splits rows `0..n` into `parts` contiguous partitions of uneven sizes.
    fn cuts(n: usize, parts: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut start = 0;
        for p in 0..parts {
            let end = if p + 1 == parts { n } else { (start + (n - start) / (parts - p) + p * 7).min(n) };
            out.push((start, end));
            start = end;
        }
        out
    }

    fn share(x: &Matrix, w: Option<&[f32]>, (a, b): (usize, usize)) -> (Matrix, Option<Vec<f32>>) {
        let d = x.d();
        (Matrix::from_vec(x.as_slice()[a * d..b * d].to_vec(), b - a, d), w.map(|w| w[a..b].to_vec()))
    }

    fn partitioned_sums(x: &Matrix, w: Option<&[f32]>, c: &[f32], k: usize, parts: usize) -> ExactSums {
        let scale = ExactScale::of_data(x.as_slice(), x.d(), w);
        let mut total = ExactSums::zeros(k, x.d(), scale.inertia_exp(c));
        // Added in reverse order: the order does not matter either.
        for cut in cuts(x.n(), parts).into_iter().rev() {
            let (xs, ws) = share(x, w, cut);
            total.add(&partial_step(&scale, &xs, ws.as_deref(), c, k).unwrap());
        }
        total
    }

    #[test]
    fn sums_over_1_2_3_7_partitions_are_bit_identical() {
        let x = data(50_000, 6, 3);
        let w: Vec<f32> = (0..x.n()).map(|i| 0.5 + (i % 13) as f32 * 0.37).collect();
        let c: Vec<f32> = (0..4).flat_map(|j| x.row(j * 1001).to_vec()).collect();
        for weights in [None, Some(w.as_slice())] {
            let one = partitioned_sums(&x, weights, &c, 4, 1);
            for parts in [2, 3, 7] {
                assert_eq!(partitioned_sums(&x, weights, &c, 4, parts), one, "{parts} partitions");
            }
            let scale = ExactScale::of_data(x.as_slice(), x.d(), weights);
            let a = one.to_stats(&scale, 0);
            let b = partitioned_sums(&x, weights, &c, 4, 7).to_stats(&scale, 0);
            assert!(a.sums.iter().zip(&b.sums).all(|(p, q)| p.to_bits() == q.to_bits()));
            assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
        }
    }

    #[test]
    fn exact_sums_agree_with_f64_sums_to_the_quantum() {
        let x = data(20_000, 5, 9);
        let c: Vec<f32> = (0..3).flat_map(|j| x.row(j * 7).to_vec()).collect();
        let mut cpu = CpuBackend::new(&x, None);
        let reference = cpu.lloyd_step(&c, 3).unwrap();
        let mut exact = exact_backend(&x, None);
        let s = exact.lloyd_step(&c, 3).unwrap();
        let scale = exact.exact_scale().unwrap().clone();
        assert_eq!(s.counts, reference.counts);
        assert_eq!(s.n_changed, x.n() as u64);
        for (i, (a, b)) in s.sums.iter().zip(&reference.sums).enumerate() {
            // Each row's value is truncated by less than one quantum 2^-e_f.
            let quantum = 2f64.powi(-scale.sum_exp[i % 5]);
            let bound = s.counts[i / 5] as f64 * quantum + 1e-12 * b.abs();
            assert!((a - b).abs() <= bound, "{a} vs {b}");
        }
        assert!((s.inertia - reference.inertia).abs() <= 1e-9 * reference.inertia);
    }

    /// The reference: every row quantised and added one by one in `i128` (`ExactSums::add_rows`) on the labels and
    /// distances of a full assignment.
    fn row_by_row(x: &Matrix, w: Option<&[f32]>, scale: &ExactScale, c: &[f32], k: usize) -> ExactSums {
        let a = CpuBackend::new(x, w).assign(c, k).unwrap();
        let mut s = ExactSums::zeros(k, x.d(), scale.inertia_exp(c));
        s.add_rows(scale, x.as_slice(), w, &a.labels, &a.dist2);
        s
    }

    /// The backend's blocked accumulation (integer-valued `f64` block sums, then `i128`) gives the reference's
    /// integers, with and without weights, in full scans and in bounded steps (the centres move, so some rows are
    /// skipped and some scanned).
    #[test]
    fn blocked_exact_sums_equal_the_row_by_row_reference() {
        let x = data(40_000, 7, 5);
        let w: Vec<f32> = (0..x.n()).map(|i| 0.25 + (i % 17) as f32 * 0.61).collect();
        for weights in [None, Some(w.as_slice())] {
            for (k, bounds) in [(4, Bounds::Never), (4, Bounds::Always), (70, Bounds::Auto)] {
                let scale = ExactScale::of_data(x.as_slice(), x.d(), weights);
                let mut c: Vec<f32> = (0..k).flat_map(|j| x.row(j * 523 + 11).to_vec()).collect();
                let mut b = CpuBackend::new(&x, weights).with_bounds(bounds).with_exact_sums(scale.clone());
                for step in 0..4 {
                    let (got, _) = b.exact_step(&c, k).unwrap();
                    assert_eq!(got, row_by_row(&x, weights, &scale, &c, k), "k {k} {bounds:?} step {step}");
                    update_centres(&got.to_stats(&scale, 0), &mut c, k, x.d());
                }
                if bounds != Bounds::Never {
                    assert!(b.last_step_scanned() < x.n() as u64, "the bounds skipped no row");
                }
            }
        }
    }

    /// A driver loop over partitions (as the Spark fit runs it) reaches the same centres, to the bit, as
    /// `fit_exact` on the whole data, with explicit initial centres.
    #[test]
    fn a_partitioned_driver_loop_gives_fit_exacts_bits() {
        let x = data(30_000, 4, 11);
        let k = 5;
        let init: Vec<f32> = (0..k).flat_map(|j| x.row(j * 3 + 1).to_vec()).collect();
        let p = KMeansParams::new(k)
            .init(Init::Given(Matrix::from_vec(init.clone(), k, 4)))
            .max_iter(50)
            .tol(0.0)
            .check()
            .unwrap();
        let fitted = fit_exact(&p, &x, None).unwrap();
        for parts in [2, 3, 7] {
            let mut c = init.clone();
            let scale = ExactScale::of_data(x.as_slice(), 4, None);
            let mut iters = 0;
            for _ in 0..50 {
                let mut total = ExactSums::zeros(k, 4, scale.inertia_exp(&c));
                for cut in cuts(x.n(), parts) {
                    let (xs, _) = share(&x, None, cut);
                    total.add(&partial_step(&scale, &xs, None, &c, k).unwrap());
                }
                iters += 1;
                if update_centres(&total.to_stats(&scale, 0), &mut c, k, 4) == 0.0 {
                    break;
                }
            }
            assert_eq!(iters, fitted.n_iter, "{parts} partitions");
            let got: Vec<u32> = c.iter().map(|v| v.to_bits()).collect();
            let want: Vec<u32> = fitted.centroids.as_slice().iter().map(|v| v.to_bits()).collect();
            assert_eq!(got, want, "{parts} partitions");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Any cut of the rows into two shares adds to the whole's sums.
        #[test]
        fn any_two_way_cut_adds_to_the_whole(n in 2usize..400, cut in 0usize..400, seed in 0u64..1000) {
            let cut = cut % n;
            let x = data(n, 3, seed);
            let c: Vec<f32> = x.row(0).iter().chain(x.row(n - 1)).copied().collect();
            let scale = ExactScale::of_data(x.as_slice(), 3, None);
            let whole = partial_step(&scale, &x, None, &c, 2).unwrap();
            let (a, _) = share(&x, None, (0, cut));
            let (b, _) = share(&x, None, (cut, n));
            let mut parts = partial_step(&scale, &b, None, &c, 2).unwrap();
            parts.add(&partial_step(&scale, &a, None, &c, 2).unwrap());
            prop_assert_eq!(parts, whole);
        }
    }
}
