//! The CPU nearest-centroid kernel: a register-blocked micro-kernel (4 rows × 16 centroids of accumulators)
//! over a transposed, 16-padded copy of the centroids, with an AVX2+FMA build chosen at run time on x86-64.
//!
//! For a block of rows it computes `score(i, j) = ‖c_j‖² − 2 x_i·c_j` for every centroid and keeps, per row,
//! the smallest score with the lowest index on exact ties. The caller recomputes the exact distance
//! `Σ (x − c)²` for the winner. No `N × K` matrix exists: scores live in registers, 4 × 16 at a time.

/// Centroids laid out for the kernel: `d × kp` (transposed, `kp` = k rounded up to 16), padded columns get
/// `+∞` norms so they never win.
#[derive(Debug, Default, Clone)]
pub struct Packed {
    pub k: usize,
    pub kp: usize,
    pub d: usize,
    /// `d × kp`, row f holds feature f of every centroid, pre-multiplied by −2.
    pub ct: Vec<f32>,
    /// `kp` squared norms (`+∞` for padding).
    pub norms: Vec<f32>,
}

pub const LANES: usize = 16;
pub const ROWS: usize = 4;

impl Packed {
    pub fn set(&mut self, c: &[f32], k: usize, d: usize) {
        let kp = k.div_ceil(LANES) * LANES;
        self.k = k;
        self.kp = kp;
        self.d = d;
        self.ct.clear();
        self.ct.resize(d * kp, 0.0);
        self.norms.clear();
        self.norms.resize(kp, f32::INFINITY);
        for j in 0..k {
            let row = &c[j * d..(j + 1) * d];
            let mut s = 0.0f32;
            for (f, &v) in row.iter().enumerate() {
                self.ct[f * kp + j] = -2.0 * v;
                s += v * v;
            }
            self.norms[j] = s;
        }
    }
}

macro_rules! kernel_body {
    ($x:expr, $rows:expr, $p:expr, $out:expr, $fma:expr) => {{
        let x: &[f32] = $x;
        let rows: usize = $rows;
        let p: &Packed = $p;
        let out: &mut [u32] = $out;
        let d = p.d;
        let mut r0 = 0;
        while r0 < rows {
            let nr = (rows - r0).min(ROWS);
            let mut best = [f32::INFINITY; ROWS];
            let mut best_j = [0u32; ROWS];
            let mut j0 = 0;
            while j0 < p.kp {
                let mut acc = [[0f32; LANES]; ROWS];
                for r in 0..ROWS {
                    acc[r].copy_from_slice(&p.norms[j0..j0 + LANES]);
                }
                for f in 0..d {
                    let col: &[f32; LANES] = p.ct[f * p.kp + j0..f * p.kp + j0 + LANES].try_into().unwrap();
                    for r in 0..ROWS {
                        let xv = if r < nr { x[(r0 + r) * d + f] } else { 0.0 };
                        for l in 0..LANES {
                            acc[r][l] = $fma(xv, col[l], acc[r][l]);
                        }
                    }
                }
                for r in 0..nr {
                    for l in 0..LANES {
                        if acc[r][l] < best[r] {
                            best[r] = acc[r][l];
                            best_j[r] = (j0 + l) as u32;
                        }
                    }
                }
                j0 += LANES;
            }
            out[r0..r0 + nr].copy_from_slice(&best_j[..nr]);
            r0 += ROWS;
        }
    }};
}

#[inline(always)]
fn mul_add_plain(a: f32, b: f32, c: f32) -> f32 {
    a * b + c
}

fn nearest_generic(x: &[f32], rows: usize, p: &Packed, out: &mut [u32]) {
    kernel_body!(x, rows, p, out, mul_add_plain)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn nearest_avx2(x: &[f32], rows: usize, p: &Packed, out: &mut [u32]) {
    kernel_body!(x, rows, p, out, f32::mul_add)
}

/// Labels of the nearest centroid for `rows` consecutive rows of `x` (row-major, `p.d` columns).
pub fn nearest_block(x: &[f32], rows: usize, p: &Packed, out: &mut [u32]) {
    debug_assert!(x.len() >= rows * p.d && out.len() >= rows);
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features the function was compiled for.
            unsafe { nearest_avx2(x, rows, p, out) };
            return;
        }
    }
    nearest_generic(x, rows, p, out)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn blocked_kernel_matches_brute_force_for_odd_shapes() {
        let mut seed = 12345u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) * 10.0 - 5.0
        };
        for (n, d, k) in [(1, 1, 1), (7, 3, 5), (33, 16, 17), (50, 33, 64), (9, 2, 256)] {
            let x: Vec<f32> = (0..n * d).map(|_| rnd()).collect();
            let c: Vec<f32> = (0..k * d).map(|_| rnd()).collect();
            let mut p = Packed::default();
            p.set(&c, k, d);
            let mut out = vec![0u32; n];
            nearest_block(&x, n, &p, &mut out);
            assert_eq!(out, brute(&x, d, &c, k), "n={n} d={d} k={k}");
            let mut g = vec![0u32; n];
            nearest_generic(&x, n, &p, &mut g);
            assert_eq!(g, out, "generic and SIMD builds agree, n={n} d={d} k={k}");
        }
    }

    #[test]
    fn exact_ties_go_to_the_lowest_index() {
        let c = [1.0f32, -1.0, 1.0];
        let mut p = Packed::default();
        p.set(&c, 3, 1);
        let mut out = [9u32; 1];
        nearest_block(&[0.0], 1, &p, &mut out);
        assert_eq!(out, [0]);
    }
}
