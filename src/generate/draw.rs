//! The random draws of every generator: one ChaCha8 stream per chunk of rows, the samplers built on it (uniform,
//! normal, lognormal, gamma, beta), and the hash that fixes a key's own properties from the seed.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A ChaCha8 stream with the samplers the generators need (rand 0.10 ships no distributions beyond uniform).
/// Stream `s` of seed `seed` is `ChaCha8Rng::seed_from_u64(seed)` with `set_stream(s)`: a chunk of rows has its own
/// stream, so what a seed gives does not depend on the thread count.
pub(crate) struct Draw {
    rng: ChaCha8Rng,
    spare: Option<f64>,
}

impl Draw {
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Draw { rng, spare: None }
    }

    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    /// Uniform index in `0..k`.
    pub(crate) fn index(&mut self, k: usize) -> usize {
        self.rng.random_range(0..k)
    }

    /// Standard normal (Box-Muller; the second value of each pair is kept for the next call).
    pub(crate) fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let (r, angle) = self.box_muller();
        let (sin, cos) = angle.sin_cos();
        self.spare = Some(r * sin);
        r * cos
    }

    /// Standard normal from a fresh pair of uniforms each call (Box-Muller's cosine value only; the transaction
    /// log is defined with it).
    pub(crate) fn normal_unpaired(&mut self) -> f64 {
        let (r, angle) = self.box_muller();
        r * angle.cos()
    }

    /// Box-Muller's radius and angle from two uniforms.
    fn box_muller(&mut self) -> (f64, f64) {
        let u1 = 1.0 - self.uniform(); // (0, 1]: the log is finite
        let u2 = self.uniform();
        ((-2.0 * u1.ln()).sqrt(), std::f64::consts::TAU * u2)
    }

    pub(crate) fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        (mu + sigma * self.normal()).exp()
    }

    /// Gamma(shape, scale) by Marsaglia and Tsang (2000); shapes below 1 use the `U^(1/shape)` boost.
    pub(crate) fn gamma(&mut self, shape: f64, scale: f64) -> f64 {
        if shape < 1.0 {
            let u = 1.0 - self.uniform();
            return self.gamma(shape + 1.0, scale) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = 1.0 - self.uniform();
            let x2 = x * x;
            if u < 1.0 - 0.0331 * x2 * x2 || u.ln() < 0.5 * x2 + d * (1.0 - v + v.ln()) {
                return d * v * scale;
            }
        }
    }

    pub(crate) fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a, 1.0);
        let y = self.gamma(b, 1.0);
        x / (x + y)
    }
}

/// Gamma (shape, scale) with the given mean and sd.
pub(crate) fn gamma_params(mean: f64, sd: f64) -> (f64, f64) {
    ((mean / sd).powi(2), sd * sd / mean)
}

/// Beta (a, b) with the given mean and sd (needs `sd² < mean (1 - mean)`).
pub(crate) fn beta_params(mean: f64, sd: f64) -> (f64, f64) {
    let concentration = mean * (1.0 - mean) / (sd * sd) - 1.0;
    (mean * concentration, (1.0 - mean) * concentration)
}

/// MurmurHash3's 64-bit finaliser: every output bit depends on every input bit. The transaction generator fixes
/// each customer's join day and lifetime with it, and the features aggregation's key hasher ends with it.
#[inline]
pub(crate) fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::mean_sd;

    #[test]
    fn samplers_have_the_requested_moments() {
        let mut rng = Draw::new(1, 0);
        let n = 200_000;
        let normal: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let (m, s) = mean_sd(&normal);
        assert!(m.abs() < 0.01 && (s - 1.0).abs() < 0.01, "normal {m} {s}");
        for (shape, scale) in [(0.5, 2.0), (2.25, 3.0), (40.0, 0.5)] {
            let g: Vec<f64> = (0..n).map(|_| rng.gamma(shape, scale)).collect();
            let (m, s) = mean_sd(&g);
            let (want_m, want_s) = (shape * scale, shape.sqrt() * scale);
            assert!((m / want_m - 1.0).abs() < 0.02 && (s / want_s - 1.0).abs() < 0.03, "gamma {shape}: {m} {s}");
        }
        let (mean, sd) = (0.15, 0.04);
        let (a, b) = beta_params(mean, sd);
        let x: Vec<f64> = (0..n).map(|_| rng.beta(a, b)).collect();
        let (m, s) = mean_sd(&x);
        assert!((m - mean).abs() < 0.002 && (s - sd).abs() < 0.002, "beta {m} {s}");
        let unpaired: Vec<f64> = (0..n).map(|_| rng.normal_unpaired()).collect();
        let (m, s) = mean_sd(&unpaired);
        assert!(m.abs() < 0.01 && (s - 1.0).abs() < 0.01, "unpaired normal {m} {s}");
    }

    #[test]
    fn the_paired_normal_is_the_unpaired_one_then_its_sine() {
        let (mut a, mut b) = (Draw::new(5, 3), Draw::new(5, 3));
        let first = a.normal();
        assert_eq!(first, b.normal_unpaired());
        // The spare uses no uniform: both streams are at the same place again.
        a.normal();
        assert_eq!(a.uniform(), b.uniform());
    }

    #[test]
    fn streams_differ_and_repeat() {
        let draws = |seed, stream| {
            let mut d = Draw::new(seed, stream);
            (0..4).map(|_| d.uniform()).collect::<Vec<_>>()
        };
        assert_eq!(draws(1, 0), draws(1, 0));
        assert_ne!(draws(1, 0), draws(1, 1));
        assert_ne!(draws(1, 0), draws(2, 0));
    }

    #[test]
    fn fmix64_is_murmur3s_finaliser() {
        assert_eq!(fmix64(0), 0);
        assert_ne!(fmix64(1), fmix64(2));
        assert_eq!(fmix64(1), 0xb456_bcfc_34c2_cb2c);
    }
}
