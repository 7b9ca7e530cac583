//! The CPU nearest-centroid kernel: scores for a tile of rows against every centroid by one SGEMM
//! (`matrixmultiply`, which picks AVX/FMA kernels at run time), then a vectorisable arg-min per row.
//!
//! For a tile of rows it computes `score(i, j) = ‖c_j‖² − 2 x_i·c_j` into a `tile × k` scratch buffer
//! (reused across calls, never `N × K`), and keeps per row the smallest score, lowest index on exact ties.
//! The caller recomputes the exact distance `Σ (x − c)²` for the winner.

/// Scores per SGEMM call: the tile is `SCORES / k` rows (at least 64, at most 4096), so the scratch stays at
/// 256 KiB whatever `k` is and small `k` does not pay the call and packing overhead for few rows.
pub const SCORES: usize = 1 << 16;

/// Rows per SGEMM call for `k` centroids.
pub fn tile_rows(k: usize) -> usize {
    (SCORES / k.max(1)).clamp(64, 4096)
}

/// Centroids prepared for the kernel: a row-major copy and their squared norms.
#[derive(Debug, Default, Clone)]
pub struct Packed {
    pub k: usize,
    pub d: usize,
    pub c: Vec<f32>,
    pub norms: Vec<f32>,
}

impl Packed {
    pub fn set(&mut self, c: &[f32], k: usize, d: usize) {
        self.k = k;
        self.d = d;
        self.c.clear();
        self.c.extend_from_slice(&c[..k * d]);
        self.norms.clear();
        self.norms.extend((0..k).map(|j| c[j * d..(j + 1) * d].iter().map(|v| v * v).sum::<f32>()));
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

/// Labels of the nearest centroid for `rows` consecutive rows of `x` (row-major, `p.d` columns).
/// `scratch` is resized to `tile_rows(k) × k` once and reused.
pub fn nearest_block(x: &[f32], rows: usize, p: &Packed, out: &mut [u32], scratch: &mut Vec<f32>) {
    let (k, d) = (p.k, p.d);
    assert!(x.len() >= rows * d && out.len() >= rows && k >= 1);
    let tile = tile_rows(k);
    scratch.resize(tile * k, 0.0);
    let mut start = 0;
    while start < rows {
        let m = (rows - start).min(tile);
        // scores (m × k) = −2 · X_tile (m × d) · Cᵀ (d × k); Cᵀ(f, j) = c[j·d + f].
        // SAFETY: every pointer/stride pair addresses inside its slice: X_tile is m × d at row stride d,
        // Cᵀ reads c[j·d + f] for j < k, f < d, and the output is m × k at row stride k within `scratch`.
        unsafe {
            matrixmultiply::sgemm(
                m,
                d,
                k,
                -2.0,
                x[start * d..].as_ptr(),
                d as isize,
                1,
                p.c.as_ptr(),
                1,
                d as isize,
                0.0,
                scratch.as_mut_ptr(),
                k as isize,
                1,
            );
        }
        for r in 0..m {
            out[start + r] = argmin_plus(&scratch[r * k..(r + 1) * k], &p.norms);
        }
        start += m;
    }
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
    fn tiled_kernel_matches_brute_force_for_odd_shapes() {
        let mut seed = 12345u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) * 10.0 - 5.0
        };
        for (n, d, k) in [(1, 1, 1), (7, 3, 5), (300, 16, 17), (50, 33, 64), (9, 2, 256), (600, 4, 3)] {
            let x: Vec<f32> = (0..n * d).map(|_| rnd()).collect();
            let c: Vec<f32> = (0..k * d).map(|_| rnd()).collect();
            let mut p = Packed::default();
            p.set(&c, k, d);
            let mut out = vec![0u32; n];
            nearest_block(&x, n, &p, &mut out, &mut Vec::new());
            assert_eq!(out, brute(&x, d, &c, k), "n={n} d={d} k={k}");
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
    fn exact_ties_go_to_the_lowest_index() {
        let c = [1.0f32, -1.0, 1.0];
        let mut p = Packed::default();
        p.set(&c, 3, 1);
        let mut out = [9u32; 1];
        nearest_block(&[0.0], 1, &p, &mut out, &mut Vec::new());
        assert_eq!(out, [0]);
    }
}
