//! Fixed-point arithmetic for the GPU's per-cluster sums, mirrored in Rust: the per-feature scale, the quantiser,
//! the 64-bit accumulator made of two `u32` words, and its decoding. The shaders do exactly this; the unit tests
//! here pin the edge cases (rounding, sign, carries, overflow bounds) without a GPU.
//!
//! A value `v` of feature `f` becomes the integer `q = round_ties_even(v · 2^e_f)`, where `e_f` is chosen once per
//! backend from `max|v|` so that `|q| ≤ 2^30`. The accumulator adds the *biased* word `u = q + 2^30` (so
//! `0 ≤ u ≤ 2^31`) into a 64-bit unsigned sum kept as `(lo, hi)`: `atomicAdd(lo, u)` returns the old `lo`, and a
//! carry happened exactly when `old + u` wrapped, in which case `hi` gets `+1`. Integer addition is associative,
//! so the final `(hi, lo)` does not depend on the order of the adds. The host subtracts `count · 2^30` and scales by
//! `2^-e_f`. With at most `2^33` adds the unsigned sum cannot overflow 64 bits.
//!
//! The host itself needs only the exponent and the decoding; the rest mirrors the shader for the tests.
#![cfg_attr(not(test), allow(dead_code))]

/// The bias added to every quantised value so that the accumulated words are unsigned.
pub const BIAS: u32 = 1 << 30;

/// The exponent `e` such that `max_abs · 2^e` lies in `[2^29, 2^30)`; `0` when `max_abs` is 0 (or not finite).
pub fn scale_exponent(max_abs: f32) -> i32 {
    if max_abs == 0.0 || !max_abs.is_finite() {
        return 0;
    }
    // f64 holds every f32 (subnormals included) as a normal number, so its exponent field is floor(log2 |x|).
    let e = ((f64::from(max_abs.abs()).to_bits() >> 52) & 0x7ff) as i32 - 1023;
    29 - e
}

/// `round_ties_even(v · 2^e)` as the shader computes it (`i32(round(ldexp(v, e)))`). Exact: scaling by a power of
/// two loses nothing, and `|v| ≤ max_abs` keeps the result within `±2^30`.
pub fn quantise(v: f32, e: i32) -> i32 {
    (f64::from(v) * pow2(e)).round_ties_even() as i32
}

/// The biased unsigned word the accumulator adds for a quantised value.
pub fn biased(q: i32) -> u32 {
    (q as u32).wrapping_add(BIAS)
}

/// `2^e` as an `f64` (exact for the exponents used here).
pub fn pow2(e: i32) -> f64 {
    2f64.powi(e)
}

/// One accumulator add, as the shader does it with two atomics: add `u` to `lo`, carry into `hi` on wrap.
pub fn add_word(lo: &mut u32, hi: &mut u32, u: u32) {
    let old = *lo;
    *lo = old.wrapping_add(u);
    if *lo < old {
        *hi = hi.wrapping_add(1);
    }
}

/// Adds a whole 64-bit pair (a workgroup's private total) into another, as the shader's flush does.
pub fn add_pair(lo: &mut u32, hi: &mut u32, v_lo: u32, v_hi: u32) {
    let old = *lo;
    *lo = old.wrapping_add(v_lo);
    let carry = u32::from(*lo < old);
    *hi = hi.wrapping_add(v_hi).wrapping_add(carry);
}

/// The signed sum of `count` quantised values whose biased words accumulated to `(lo, hi)`, in units of `2^-e`.
pub fn decode_sum(lo: u32, hi: u32, count: u64, e: i32) -> f64 {
    let total = (u64::from(hi) << 32) | u64::from(lo);
    let q = total.wrapping_sub(count.wrapping_mul(u64::from(BIAS))) as i64;
    q as f64 * pow2(-e)
}

/// An unbiased, unsigned sum (the weight sums) in units of `2^-e`.
pub fn decode_unsigned(lo: u32, hi: u32, e: i32) -> f64 {
    ((u64::from(hi) << 32) | u64::from(lo)) as f64 * pow2(-e)
}

/// The largest possible quantisation error of one value, relative to the feature's `max_abs`: half a unit of
/// `2^-e`, and `max_abs · 2^e ≥ 2^29`.
pub const MAX_REL_ERROR: f64 = 1.0 / (1u64 << 30) as f64;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scale_puts_the_maximum_in_the_top_binade() {
        for m in [1.0f32, 1.5, 2.0, 0.75, 1e-3, 3.0e38, f32::MAX, 1e-40, f32::MIN_POSITIVE, 123456.7] {
            let e = scale_exponent(m);
            let s = f64::from(m) * pow2(e);
            assert!((2f64.powi(29)..2f64.powi(30)).contains(&s), "max {m}: e {e} gives {s}");
        }
        assert_eq!(scale_exponent(0.0), 0);
        assert_eq!(scale_exponent(-2.0), scale_exponent(2.0));
    }

    #[test]
    fn quantised_values_stay_within_2_pow_30_and_round_to_even() {
        let e = scale_exponent(1.0);
        assert_eq!(e, 29);
        assert_eq!(quantise(1.0, e), 1 << 29);
        assert_eq!(quantise(-1.0, e), -(1 << 29));
        // The largest value below 2 in the same binade rounds to at most 2^30.
        let m = f32::from_bits(2.0f32.to_bits() - 1);
        assert!(quantise(m, scale_exponent(m)).unsigned_abs() <= 1 << 30);
        // Ties go to even: 0.5 and 1.5 units.
        assert_eq!(quantise(0.5 * 2f32.powi(-29), e), 0);
        assert_eq!(quantise(1.5 * 2f32.powi(-29), e), 2);
        assert_eq!(quantise(-2.5 * 2f32.powi(-29), e), -2);
    }

    #[test]
    fn biased_words_are_unsigned_and_invert() {
        assert_eq!(biased(-(1 << 30)), 0);
        assert_eq!(biased(1 << 30), 1 << 31);
        assert_eq!(biased(0), BIAS);
        assert_eq!(decode_sum(biased(-5), 0, 1, 0), -5.0);
    }

    #[test]
    fn carries_propagate_at_the_word_edge() {
        let (mut lo, mut hi) = (u32::MAX - 1, 7u32);
        add_word(&mut lo, &mut hi, 1);
        assert_eq!((lo, hi), (u32::MAX, 7));
        add_word(&mut lo, &mut hi, 1);
        assert_eq!((lo, hi), (0, 8));
        add_word(&mut lo, &mut hi, 0);
        assert_eq!((lo, hi), (0, 8));
        add_word(&mut lo, &mut hi, u32::MAX);
        add_word(&mut lo, &mut hi, u32::MAX);
        assert_eq!(((u64::from(hi) << 32) | u64::from(lo)), (8u64 << 32) + 2 * u64::from(u32::MAX));
        let (mut lo, mut hi) = (u32::MAX, 0u32);
        add_pair(&mut lo, &mut hi, u32::MAX, u32::MAX);
        assert_eq!((lo, hi), (u32::MAX - 1, 0), "adding 2^64 - 1 wraps like a u64");
    }

    #[test]
    fn the_extreme_sum_fits_in_64_bits() {
        // 2^33 adds of the largest biased word, 2^31, is 2^64: one more bit would overflow.
        let (mut lo, mut hi) = (0u32, 0u32);
        for _ in 0..4 {
            add_pair(&mut lo, &mut hi, 0, 1 << 30); // 2^62 each: four of them make 2^64, i.e. wrap to 0
        }
        assert_eq!((lo, hi), (0, 0));
        // 2^32 adds of the most negative value: the decoded sum is exact.
        let n = 1u64 << 32;
        let total = n * u64::from(biased(-(1 << 30)));
        assert_eq!(decode_sum(total as u32, (total >> 32) as u32, n, 0), -(2f64.powi(62)));
        let n = 1u64 << 32;
        let total = n * u64::from(biased(1 << 30));
        assert_eq!(decode_sum(total as u32, (total >> 32) as u32, n, 0), 2f64.powi(62));
    }

    proptest! {
        #[test]
        fn any_add_order_gives_the_same_words_and_the_exact_sum(
            vals in proptest::collection::vec(-1.0e6f32..1.0e6, 1..200),
            rot in 0usize..200,
        ) {
            let max = vals.iter().fold(0f32, |m, v| m.max(v.abs()));
            let e = scale_exponent(max);
            let acc = |order: &mut dyn Iterator<Item = &f32>| {
                let (mut lo, mut hi) = (0u32, 0u32);
                for &v in order {
                    let q = quantise(v, e);
                    prop_assert!(q.unsigned_abs() <= 1 << 30);
                    add_word(&mut lo, &mut hi, biased(q));
                }
                Ok((lo, hi))
            };
            let a = acc(&mut vals.iter())?;
            let r = rot % vals.len();
            let b = acc(&mut vals[r..].iter().chain(&vals[..r]).rev())?;
            prop_assert_eq!(a, b);
            // Split into two private partials, then flush both: same words again.
            let (mut lo, mut hi) = (0u32, 0u32);
            for half in [&vals[..r], &vals[r..]] {
                let (plo, phi) = acc(&mut half.iter())?;
                add_pair(&mut lo, &mut hi, plo, phi);
            }
            prop_assert_eq!((lo, hi), a);
            let got = decode_sum(a.0, a.1, vals.len() as u64, e);
            let exact: f64 = vals.iter().map(|&v| f64::from(v)).sum();
            let bound = vals.len() as f64 * f64::from(max) * MAX_REL_ERROR + 1e-300;
            prop_assert!((got - exact).abs() <= bound, "got {} exact {} bound {}", got, exact, bound);
        }
    }
}
