//! The fixed-point arithmetic of the exact sums: the global scale ([`ExactScale`]), the quantiser, and the `i128`
//! accumulators of one Lloyd step ([`ExactSums`]) with their decoding into the `f64` [`StepStats`] the algorithm uses.
//!
//! Each value `w·x_f` (the product is exact in `f64`: two 24-bit mantissas) becomes the integer
//! `q = trunc(w·x_f · 2^e_f)`, where `e_f` is chosen once per feature from the largest `|w·x_f|` of the whole data so
//! that `|q| < 2^40` ([`SUM_BITS`]); the weights likewise. 40 bits, not more, so that a block of up to 2^13 rows
//! ([`BLOCK_LIMIT`]) can add its `q` in `f64` without rounding (every partial sum is an integer below 2^53): the
//! CPU backend accumulates them in its `f64` block sums with vector instructions, and each block's integer-valued
//! sums become `i128` when the blocks are merged. Integer addition is associative, so any split of the rows into
//! partitions, blocks or threads gives the same integers, and `i128` cannot overflow below 2^65 rows. The only
//! error is the quantisation, below `2^-39` of the feature's largest value per row (a centre is off by less than
//! that, far below the `f32` rounding of its value). The inertia is quantised per row to `|q| < 2^62`
//! ([`VALUE_BITS`]) and added as `i128` directly; its exponent comes from an upper bound on `w·‖x − c‖²` that
//! depends only on the scale and the step's centres, so every partition of a step derives the same one. Without
//! weights each row adds exactly 1 (the weight sums are the counts). Truncation (not rounding) is used because it is
//! one instruction (`cvttsd2si`, or `vroundpd` on four values) and just as deterministic; GPU sums
//! (`backend/gpu/fixed.rs`) use 2^30 and rounding instead.

use crate::kmeans::StepStats;

/// Every quantised per-row inertia is below `2^VALUE_BITS` in magnitude.
pub const VALUE_BITS: i32 = 62;

/// Every quantised value of a feature sum or a weight sum is below `2^SUM_BITS` in magnitude.
pub const SUM_BITS: i32 = 40;

/// The most rows whose quantised values may be added in one `f64` without rounding: `BLOCK_LIMIT · 2^SUM_BITS` is
/// 2^53. The CPU backend's blocks have at most this many rows (a compile-time assertion there).
pub const BLOCK_LIMIT: usize = 1 << (53 - SUM_BITS);

/// The exponent `e` such that `max_abs · 2^e` lies in `[2^(bits−1), 2^bits)`; 0 when `max_abs` is 0 or not finite.
/// Clamped to ±1000 so that `2^e` and `2^−e` are finite `f64`s.
pub fn exponent_for(max_abs: f64, bits: i32) -> i32 {
    if max_abs == 0.0 || !max_abs.is_finite() {
        return 0;
    }
    // The exponent field of a normal f64 is floor(log2 |x|); a subnormal reads as -1023, which the clamp covers.
    let e = ((max_abs.abs().to_bits() >> 52) & 0x7ff) as i32 - 1023;
    (bits - 1 - e).clamp(-1000, 1000)
}

/// `2^e` as an `f64` (exact for |e| ≤ 1000).
fn pow2(e: i32) -> f64 {
    2f64.powi(e)
}

/// The multipliers of one step's quantisation, for an accumulator that adds the `q` itself (the CPU backend): per
/// feature `2^e_f`, the weights' `2^e_w` (1 without weights: each row then adds 1), and the inertia's.
#[derive(Debug, Clone, PartialEq)]
pub struct StepQuant {
    pub feature: Vec<f64>,
    pub weight: f64,
    pub inertia: f64,
    pub inertia_exp: i32,
}

/// `trunc(v · 2^e)` given `p = 2^e`; exact scaling, then truncation toward zero. `|v · p| < 2^63` by construction.
/// The reference of the CPU backend's quantisation (`backend/cpu/step.rs`, which adds the same values in `f64`).
#[cfg(test)]
fn quantise(v: f64, p: f64) -> i128 {
    (v * p) as i64 as i128
}

/// The global scale of one fit: per feature, the largest `|x_f|` and the exponent of `w·x_f`; the weights' exponent.
/// Every partition of a distributed fit must use the same one (the driver computes it from the whole data).
#[derive(Debug, Clone, PartialEq)]
pub struct ExactScale {
    /// Per feature, the largest `|x_f|` over the rows (for the inertia's bound).
    pub x_max: Vec<f64>,
    /// Per feature, the exponent of the quantised `w·x_f`.
    pub sum_exp: Vec<i32>,
    /// The weights' exponent, or `None` without weights (each row then adds exactly 1).
    pub weight_exp: Option<i32>,
    /// The largest weight (1 without weights).
    pub w_max: f64,
}

impl ExactScale {
    /// The scale from the data's maxima: per feature `max|x_f|` and `max|w·x_f|` (equal without weights), and the
    /// largest weight (`None` without weights).
    pub fn from_maxima(x_max: Vec<f64>, wx_max: &[f64], w_max: Option<f64>) -> Self {
        assert_eq!(x_max.len(), wx_max.len(), "one maximum per feature");
        ExactScale {
            sum_exp: wx_max.iter().map(|&m| exponent_for(m, SUM_BITS)).collect(),
            x_max,
            weight_exp: w_max.map(|m| exponent_for(m, SUM_BITS)),
            w_max: w_max.unwrap_or(1.0),
        }
    }

    /// The scale of a row-major `n × d` matrix with optional weights. Non-finite values are ignored here (the fit
    /// refuses them).
    pub fn of_data(x: &[f32], d: usize, w: Option<&[f32]>) -> Self {
        use rayon::prelude::*;
        const ROWS: usize = 16_384;
        let d1 = d.max(1);
        // Per piece of rows in parallel, per feature the largest |x_f| and |w·x_f| (maxima: any split gives the same).
        // |x| in f32 is exact, so the unweighted maxima are taken in f32 (vectorised), then widened.
        let maxima = |piece: (usize, &[f32])| -> (Vec<f64>, Vec<f64>) {
            let (p, rows) = piece;
            match w {
                None => {
                    let mut m = vec![0f32; d];
                    for row in rows.chunks_exact(d1) {
                        for (m, &v) in m.iter_mut().zip(row) {
                            let a = v.abs();
                            // NaN and infinities are left out (the fit refuses them).
                            *m = if a < f32::INFINITY && a > *m { a } else { *m };
                        }
                    }
                    let m: Vec<f64> = m.into_iter().map(f64::from).collect();
                    (m.clone(), m)
                }
                Some(w) => {
                    let (mut xm, mut wxm) = (vec![0f64; d], vec![0f64; d]);
                    for (i, row) in rows.chunks_exact(d1).enumerate() {
                        let wi = w[p * ROWS + i] as f64;
                        for (f, &v) in row.iter().enumerate() {
                            let a = (v as f64).abs();
                            if a.is_finite() {
                                xm[f] = xm[f].max(a);
                                wxm[f] = wxm[f].max((wi * a).abs());
                            }
                        }
                    }
                    (xm, wxm)
                }
            }
        };
        let max_of = |mut a: Vec<f64>, b: Vec<f64>| {
            a.iter_mut().zip(b).for_each(|(p, q)| *p = p.max(q));
            a
        };
        let (x_max, wx_max) = x
            .par_chunks(ROWS * d1)
            .enumerate()
            .map(maxima)
            .reduce(|| (vec![0f64; d], vec![0f64; d]), |a, b| (max_of(a.0, b.0), max_of(a.1, b.1)));
        let w_max = w.map(|w| w.iter().map(|&v| v as f64).filter(|v| v.is_finite()).fold(0.0, f64::max));
        Self::from_maxima(x_max, &wx_max, w_max)
    }

    /// The number of features.
    pub fn d(&self) -> usize {
        self.x_max.len()
    }

    /// The inertia's exponent for a step against `centres` (`k × d`): from the bound
    /// `w_max · Σ_f (max|x_f| + max_j |c_jf|)² ≥ w·‖x − c‖²`, computed in a fixed order, so every partition of the
    /// step derives the same exponent from the same scale and centres.
    pub fn inertia_exp(&self, centres: &[f32]) -> i32 {
        let d = self.d();
        let mut c_max = vec![0f64; d];
        for row in centres.chunks_exact(d.max(1)) {
            for (m, &v) in c_max.iter_mut().zip(row) {
                *m = m.max((v as f64).abs());
            }
        }
        let bound: f64 = self.x_max.iter().zip(&c_max).map(|(x, c)| (x + c) * (x + c)).sum::<f64>() * self.w_max;
        // Twice the bound: f32 rounding of the distance may exceed the exact bound by a few ulps.
        exponent_for(2.0 * bound, VALUE_BITS)
    }

    /// The multipliers of a step against `centres`.
    pub fn step_quant(&self, centres: &[f32]) -> StepQuant {
        let inertia_exp = self.inertia_exp(centres);
        StepQuant {
            feature: self.sum_exp.iter().map(|&e| pow2(e)).collect(),
            weight: pow2(self.weight_exp.unwrap_or(0)),
            inertia: pow2(inertia_exp),
            inertia_exp,
        }
    }
}

/// The exact sums of one Lloyd step (or of one partition's share of it), against given centres.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactSums {
    pub k: usize,
    pub d: usize,
    /// `k × d`: Σ q(w·x_f) per cluster, in units of `2^−sum_exp[f]`.
    pub sums: Vec<i128>,
    /// `k`: Σ q(w) per cluster, in units of `2^−weight_exp` (the counts without weights).
    pub weights: Vec<i128>,
    /// `k`: rows per cluster.
    pub counts: Vec<u64>,
    /// Σ q(w·‖x − c‖²), in units of `2^−inertia_exp`.
    pub inertia: i128,
    /// The inertia's exponent ([`ExactScale::inertia_exp`] of the step's centres).
    pub inertia_exp: i32,
}

impl ExactSums {
    /// Zero sums for `k` clusters of `d` features.
    pub fn zeros(k: usize, d: usize, inertia_exp: i32) -> Self {
        ExactSums { k, d, sums: vec![0; k * d], weights: vec![0; k], counts: vec![0; k], inertia: 0, inertia_exp }
    }

    /// Adds another share of the same step (same shape and inertia exponent): exact, in any order.
    pub fn add(&mut self, o: &ExactSums) {
        assert_eq!((self.k, self.d, self.inertia_exp), (o.k, o.d, o.inertia_exp), "shares of different steps");
        self.sums.iter_mut().zip(&o.sums).for_each(|(a, b)| *a += b);
        self.weights.iter_mut().zip(&o.weights).for_each(|(a, b)| *a += b);
        self.counts.iter_mut().zip(&o.counts).for_each(|(a, b)| *a += b);
        self.inertia += o.inertia;
    }

    /// Adds rows (row-major `x`, optional weights) with their labels and squared distances to their centres: the
    /// reference, row by row in `i128`, that the CPU backend's blocked accumulation is tested against.
    #[cfg(test)]
    pub(crate) fn add_rows(&mut self, scale: &ExactScale, x: &[f32], w: Option<&[f32]>, labels: &[u32], dist2: &[f32]) {
        let d = self.d;
        let pows: Vec<f64> = scale.sum_exp.iter().map(|&e| pow2(e)).collect();
        let wp = pow2(scale.weight_exp.unwrap_or(0));
        let ip = pow2(self.inertia_exp);
        for (i, (&l, &dd)) in labels.iter().zip(dist2).enumerate() {
            let j = l as usize;
            let row = &x[i * d..(i + 1) * d];
            let s = &mut self.sums[j * d..(j + 1) * d];
            self.counts[j] += 1;
            match w {
                None => {
                    self.weights[j] += 1;
                    self.inertia += quantise(dd as f64, ip);
                    for ((a, &v), &p) in s.iter_mut().zip(row).zip(&pows) {
                        *a += quantise(v as f64, p);
                    }
                }
                Some(w) => {
                    let wi = w[i] as f64;
                    self.weights[j] += quantise(wi, wp);
                    self.inertia += quantise(wi * dd as f64, ip);
                    for ((a, &v), &p) in s.iter_mut().zip(row).zip(&pows) {
                        *a += quantise(wi * v as f64, p);
                    }
                }
            }
        }
    }

    /// The step's stats in `f64`: each integer converted once (round to nearest) and scaled by a power of two.
    /// `n_changed` is the caller's.
    pub fn to_stats(&self, scale: &ExactScale, n_changed: u64) -> StepStats {
        let d = self.d;
        let inv: Vec<f64> = scale.sum_exp.iter().map(|&e| pow2(-e)).collect();
        let sums = self.sums.iter().enumerate().map(|(i, &s)| s as f64 * inv[i % d]).collect();
        let weights = match scale.weight_exp {
            None => self.weights.iter().map(|&v| v as f64).collect(),
            Some(e) => self.weights.iter().map(|&v| v as f64 * pow2(-e)).collect(),
        };
        StepStats {
            sums,
            weights,
            counts: self.counts.clone(),
            inertia: self.inertia as f64 * pow2(-self.inertia_exp),
            n_changed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponent_puts_the_maximum_just_below_the_bits() {
        for m in [1.0, 3.5, 1e-20, 7e30, 0.75] {
            for bits in [SUM_BITS, VALUE_BITS] {
                let v = m * pow2(exponent_for(m, bits));
                assert!((2f64.powi(bits - 1)..2f64.powi(bits)).contains(&v), "{m}: {v}");
            }
        }
        assert_eq!(exponent_for(0.0, VALUE_BITS), 0);
        assert_eq!(exponent_for(f64::NAN, SUM_BITS), 0);
    }

    #[test]
    fn a_block_of_quantised_values_adds_in_f64_without_rounding() {
        assert_eq!(BLOCK_LIMIT as f64 * 2f64.powi(SUM_BITS), 2f64.powi(53));
    }

    #[test]
    fn the_scale_of_data_is_the_maximum_of_each_features_magnitudes() {
        // 40,000 rows: several parallel pieces; NaN and infinities are left out; weights scale w·x.
        let n = 40_000;
        let mut x: Vec<f32> =
            (0..n * 2).map(|i| ((i * 7919) % 1000) as f32 * if i % 3 == 0 { -1.0 } else { 0.5 }).collect();
        x[2 * 33_001] = -1234.5;
        x[2 * 17 + 1] = f32::NAN;
        x[2 * 20_000 + 1] = f32::NEG_INFINITY;
        let s = ExactScale::of_data(&x, 2, None);
        let naive = |f: usize| {
            x.iter().skip(f).step_by(2).filter(|v| v.is_finite()).map(|v| v.abs() as f64).fold(0.0, f64::max)
        };
        assert_eq!(s.x_max, vec![naive(0), naive(1)]);
        assert_eq!(s.x_max[0], 1234.5);
        let w: Vec<f32> = (0..n).map(|i| if i == 39_999 { 4.0 } else { 0.5 }).collect();
        let sw = ExactScale::of_data(&x, 2, Some(&w));
        assert_eq!(sw.x_max, s.x_max);
        let wx = |f: usize| {
            (0..n).filter(|i| x[2 * i + f].is_finite()).map(|i| (w[i] * x[2 * i + f]).abs() as f64).fold(0.0, f64::max)
        };
        let want: Vec<i32> = [wx(0), wx(1)].iter().map(|&m| exponent_for(m, SUM_BITS)).collect();
        assert_eq!(sw.sum_exp, want);
        assert_eq!(sw.w_max, 4.0);
    }

    #[test]
    fn quantisation_error_is_below_one_unit() {
        let scale = ExactScale::from_maxima(vec![10.0], &[10.0], None);
        let p = pow2(scale.sum_exp[0]);
        for v in [9.999_999f32, -3.25, 1e-7, -10.0] {
            let q = quantise(v as f64, p);
            let back = q as f64 / p;
            assert!((back - v as f64).abs() <= 1.0 / p, "{v} -> {back}");
        }
    }

    #[test]
    fn unweighted_weight_sums_are_the_counts() {
        let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let scale = ExactScale::of_data(&x, 2, None);
        let mut s = ExactSums::zeros(2, 2, scale.inertia_exp(&[0.0, 0.0, 1.0, 1.0]));
        s.add_rows(&scale, &x, None, &[0, 1, 1], &[0.5, 1.0, 2.0]);
        let st = s.to_stats(&scale, 3);
        assert_eq!(st.weights, vec![1.0, 2.0]);
        assert_eq!(st.counts, vec![1, 2]);
        assert_eq!(st.sums, vec![1.0, 2.0, 8.0, 10.0]);
        assert!((st.inertia - 3.5).abs() < 1e-15);
    }

    #[test]
    fn the_inertia_bound_covers_centres_outside_the_data() {
        let x = [1.0f32, -1.0];
        let scale = ExactScale::of_data(&x, 1, None);
        let e = scale.inertia_exp(&[1000.0]);
        let d2 = 1001f64 * 1001.0;
        assert!(d2 * pow2(e) < 2f64.powi(VALUE_BITS));
    }
}
