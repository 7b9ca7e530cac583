//! Test data for the GPU tests: a small deterministic generator, blobs with features of different scales,
//! centroids drawn from the points, weights (some zero), and the f64 distance and tolerance they are checked with.

use custseg::Matrix;

/// A small deterministic generator (splitmix64).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit() as f32
    }
}

/// `n` points around `blobs` random centres (feature scales differ per feature), plus `k` centroids drawn from the
/// points and nudged, so that clusters are neither empty nor trivially separated.
pub fn data(n: usize, d: usize, blobs: usize, seed: u64) -> Matrix {
    let mut r = Rng(seed);
    let scale: Vec<f32> = (0..d).map(|f| [1.0, 10.0, 0.01, 250.0][f % 4]).collect();
    let centres: Vec<f32> = (0..blobs * d).map(|i| r.range(-5.0, 5.0) * scale[i % d]).collect();
    let mut v = Vec::with_capacity(n * d);
    for _ in 0..n {
        let b = (r.next() % blobs as u64) as usize;
        for f in 0..d {
            v.push(centres[b * d + f] + r.range(-1.5, 1.5) * scale[f]);
        }
    }
    Matrix::from_vec(v, n, d)
}

pub fn centroids(x: &Matrix, k: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng(seed);
    let mut c = Vec::with_capacity(k * x.d());
    for _ in 0..k {
        let i = (r.next() % x.n() as u64) as usize;
        c.extend(x.row(i).iter().map(|&v| v + r.range(-0.01, 0.01) * v.abs().max(1e-3)));
    }
    c
}

pub fn weights(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng(seed);
    (0..n).map(|i| if i % 17 == 0 { 0.0 } else { r.range(0.1, 3.0) }).collect()
}

pub fn d2_f64(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum()
}

pub fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) + abs
}
