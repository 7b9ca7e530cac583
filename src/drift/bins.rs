//! Counting values into the drift's decile bins: the bin of `v` among sorted edges `e` is the number of edges with
//! `e < v as f64` (what `partition_point` finds), computed without a search and without a scatter. Per feature and
//! edge, the values above the edge are counted by branch-free `f32` compares over a row's features (eight features
//! per vector, every edge per row), and a bin's count is the difference of two such counts.
//!
//! Why `f32` compares give the same counts: see [`edge_threshold`]. Why differences of counts: with sorted edges,
//! `{j : e_j < v}` is a prefix `0..b` of the edges, `b` being `v`'s bin, so the values above edge `j` are those in
//! bins `j + 1..`, and bin `b` holds `above[b − 1] − above[b]` of them (`n − above[0]` for the first bin,
//! `above[last]` for the last). Edges that are not sorted (or NaN: a hand-edited model) keep the binary search, whose
//! answer on them is not a prefix count.
//!
//! Hand-written rather than a crate: no histogram crate bins many columns of `f32` against per-column `f64` edges
//! with `partition_point`'s exact rule; the loop is a few lines that the compiler vectorises.

use rayon::prelude::*;

use super::FeatureBins;
use crate::matrix::Matrix;

/// The edges per feature of the fast path: the nine inner deciles that [`super::reference`] keeps.
pub(super) const EDGES: usize = 9;
/// Features per vector of compares (one AVX2 register of `f32`).
const LANES: usize = 8;
/// Rows whose counts a parallel task adds up (the unit of parallel work).
const BLOCK_ROWS: usize = 16 * 1024;
/// Rows counted in `u32` per pass over one group of eight features, so a block's rows are re-read from L1/L2 for the
/// next group (64 KiB of X at 16 features).
const SUB_ROWS: usize = 1024;

/// The `f32` threshold that stands for the `f64` edge `e` against `f32` values: the largest `f32` not above `e`
/// (`e` rounded down; −∞ below the `f32` range, `f32::MAX` above it, ±∞ for ±∞).
///
/// For every `f32` value `v` (NaN included), `e < v as f64` ⟺ `edge_threshold(e) < v`:
/// - ⇒: `t = edge_threshold(e) ≤ e < v`.
/// - ⇐: `v` is an `f32` greater than `t`, and `t` is the largest `f32` not above `e`, so `v` is above `e` (else `v`
///   would be an `f32` not above `e` and larger than `t`).
/// - NaN `v`: both sides are false.
///
/// `e` must not be NaN (the fast path checks the edges first).
pub(super) fn edge_threshold(e: f64) -> f32 {
    // `as` rounds to the nearest `f32` (to ±∞ beyond the range), so it is at most one step above `e`.
    let r = e as f32;
    if r as f64 > e {
        r.next_down()
    } else {
        r
    }
}

/// Whether the edges are sorted ascending and none is NaN (`NaN <= x` is false), so bins are prefix counts.
pub(super) fn sorted(edges: &[f64]) -> bool {
    edges.windows(2).all(|w| w[0] <= w[1]) && !edges.iter().any(|e| e.is_nan())
}

/// Bin counts from the counts of values above each sorted edge (`above` non-increasing, each at most `n`).
fn bins_from_above(n: u64, above: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(above.len() + 1);
    let mut below = n;
    for &a in above {
        out.push(below - a);
        below = a;
    }
    out.push(below);
    out
}

/// The bin counts of `values` among `edges` (bin `b`: `edges[b-1] < v <= edges[b]`, compared in `f64`), by the
/// thresholds where the edges are sorted, by binary search otherwise: the same counts as [`counts_by_search`].
pub(super) fn bin_counts(values: impl Iterator<Item = f32>, edges: &[f64]) -> Vec<u64> {
    if !sorted(edges) {
        let mut counts = vec![0u64; edges.len() + 1];
        for v in values {
            counts[edges.partition_point(|&e| e < v as f64)] += 1;
        }
        return counts;
    }
    let t: Vec<f32> = edges.iter().map(|&e| edge_threshold(e)).collect();
    let (mut n, mut above) = (0u64, vec![0u64; t.len()]);
    for v in values {
        n += 1;
        for (a, &t) in above.iter_mut().zip(&t) {
            *a += (v > t) as u64;
        }
    }
    bins_from_above(n, &above)
}

/// The bin counts of every feature of `x` against `features` (one per leading column of `x`), by a binary search per
/// value (`partition_point`): the rule [`count_bins`] reproduces, kept for edges it does not handle.
pub(super) fn counts_by_search(features: &[FeatureBins], x: &Matrix) -> Vec<Vec<u64>> {
    let d = x.d();
    x.as_slice()
        .par_chunks(BLOCK_ROWS * d.max(1))
        .map(|rows| {
            let mut c: Vec<Vec<u64>> = features.iter().map(|b| vec![0; b.edges.len() + 1]).collect();
            for row in rows.chunks_exact(d) {
                for (f, fb) in features.iter().enumerate() {
                    c[f][fb.edges.partition_point(|&e| e < row[f] as f64)] += 1;
                }
            }
            c
        })
        .reduce_with(|mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                x.iter_mut().zip(y).for_each(|(u, v)| *u += v);
            }
            a
        })
        .unwrap_or_else(|| features.iter().map(|b| vec![0; b.edges.len() + 1]).collect())
}

/// The bin counts of every feature of `x` against `features` (one per leading column of `x`, `features.len() ≤
/// x.d()`): the same counts as [`counts_by_search`], by threshold compares where every feature has [`EDGES`] sorted
/// edges.
pub(super) fn count_bins(features: &[FeatureBins], x: &Matrix) -> Vec<Vec<u64>> {
    let Some(plan) = Plan::new(features) else {
        return counts_by_search(features, x);
    };
    let d = x.d();
    let above = x
        .as_slice()
        .par_chunks(BLOCK_ROWS * d.max(1))
        .map(|rows| {
            let mut above = vec![0u64; plan.features * EDGES];
            plan.count_above(rows, d, &mut above);
            above
        })
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(b).for_each(|(u, v)| *u += v);
            a
        })
        .unwrap_or_else(|| vec![0u64; plan.features * EDGES]);
    let n = x.n() as u64;
    above.chunks_exact(EDGES).map(|a| bins_from_above(n, a)).collect()
}

/// The thresholds of the fast path, by groups of eight features: `t[g * EDGES + j][l]` is edge `j` of feature
/// `8g + l` ([`edge_threshold`]); the lanes past the last feature hold +∞, which no value is above.
struct Plan {
    features: usize,
    t: Vec<[f32; LANES]>,
}

impl Plan {
    /// The plan of `features`, or `None` where one has other than [`EDGES`] edges or edges that are not sorted.
    fn new(features: &[FeatureBins]) -> Option<Plan> {
        if !features.iter().all(|f| f.edges.len() == EDGES && sorted(&f.edges)) {
            return None;
        }
        let groups = features.len().div_ceil(LANES);
        let mut t = vec![[f32::INFINITY; LANES]; groups * EDGES];
        for (f, fb) in features.iter().enumerate() {
            for (j, &e) in fb.edges.iter().enumerate() {
                t[(f / LANES) * EDGES + j][f % LANES] = edge_threshold(e);
            }
        }
        Some(Plan { features: features.len(), t })
    }

    /// Adds to `above[f * EDGES + j]` the rows of `rows` (row-major, `d ≥ features` columns) whose feature `f` is
    /// above threshold `j`.
    fn count_above(&self, rows: &[f32], d: usize, above: &mut [u64]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked on the line above).
            return unsafe { self.count_above_avx2(rows, d, above) };
        }
        self.count_above_body(rows, d, above)
    }

    /// [`Self::count_above_body`] in AVX2 intrinsics: per row and group of eight features, one load, then per edge one
    /// compare and one subtraction of its all-ones mask (`−1` per value above), into nine accumulators that stay in
    /// registers (the portable body's arrays are kept on the stack by the compiler, a store and a load per edge and row).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn count_above_avx2(&self, rows: &[f32], d: usize, above: &mut [u64]) {
        use std::arch::x86_64::*;
        let n = rows.len() / d.max(1);
        for start in (0..n).step_by(SUB_ROWS) {
            let sub = &rows[start * d..(start + SUB_ROWS).min(n) * d];
            for (g, t) in self.t.chunks_exact(EDGES).enumerate() {
                let lo = g * LANES;
                let width = LANES.min(self.features - lo);
                let t: [__m256; EDGES] = std::array::from_fn(|j| _mm256_loadu_ps(t[j].as_ptr()));
                let mut acc = [_mm256_setzero_si256(); EDGES];
                for row in sub.chunks_exact(d) {
                    let v = if width == LANES {
                        _mm256_loadu_ps(row[lo..lo + LANES].as_ptr())
                    } else {
                        let mut v = [0f32; LANES];
                        v[..width].copy_from_slice(&row[lo..lo + width]);
                        _mm256_loadu_ps(v.as_ptr())
                    };
                    for j in 0..EDGES {
                        let above = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GT_OQ>(v, t[j]));
                        acc[j] = _mm256_sub_epi32(acc[j], above);
                    }
                }
                for (j, a) in acc.iter().enumerate() {
                    let mut c = [0u32; LANES];
                    _mm256_storeu_si256(c.as_mut_ptr().cast(), *a);
                    for (l, &c) in c[..width].iter().enumerate() {
                        above[(lo + l) * EDGES + j] += c as u64;
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn count_above_body(&self, rows: &[f32], d: usize, above: &mut [u64]) {
        let n = rows.len() / d.max(1);
        for start in (0..n).step_by(SUB_ROWS) {
            let sub = &rows[start * d..(start + SUB_ROWS).min(n) * d];
            for (g, t) in self.t.chunks_exact(EDGES).enumerate() {
                let t: &[[f32; LANES]; EDGES] = t.try_into().expect("EDGES thresholds per group");
                let lo = g * LANES;
                let width = LANES.min(self.features - lo);
                let mut acc = [[0u32; LANES]; EDGES];
                if width == LANES {
                    for row in sub.chunks_exact(d) {
                        let v: &[f32; LANES] = row[lo..lo + LANES].try_into().expect("eight features");
                        add_above(&mut acc, v, t);
                    }
                } else {
                    for row in sub.chunks_exact(d) {
                        let mut v = [0f32; LANES];
                        v[..width].copy_from_slice(&row[lo..lo + width]);
                        add_above(&mut acc, &v, t);
                    }
                }
                for (j, a) in acc.iter().enumerate() {
                    for (l, &c) in a[..width].iter().enumerate() {
                        above[(lo + l) * EDGES + j] += c as u64;
                    }
                }
            }
        }
    }
}

/// `acc[j][l] += (v[l] > t[j][l])` for every edge and lane: compares and adds, no branch.
#[inline(always)]
fn add_above(acc: &mut [[u32; LANES]; EDGES], v: &[f32; LANES], t: &[[f32; LANES]; EDGES]) {
    for (a, t) in acc.iter_mut().zip(t) {
        for l in 0..LANES {
            a[l] += (v[l] > t[l]) as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn bins(edges: Vec<f64>) -> FeatureBins {
        FeatureBins { name: "f".into(), shares: vec![0.1; edges.len() + 1], edges }
    }

    /// The old rule, value by value.
    fn search(v: f32, edges: &[f64]) -> usize {
        edges.partition_point(|&e| e < v as f64)
    }

    #[test]
    fn a_threshold_compares_as_its_edge_for_representable_and_other_edges() {
        let edges = [
            0.0,
            -0.0,
            1.0,
            0.1, // not an f32
            -0.1,
            1.0 + 1e-12, // between two f32s, just above one
            1.0 - 1e-12, // just below one
            f32::MIN_POSITIVE as f64 / 3.0,
            1e-46, // below the smallest subnormal f32
            -1e-46,
            f32::MAX as f64 * 1.5, // above the f32 range
            -(f32::MAX as f64) * 1.5,
            f32::MAX as f64,
            f64::INFINITY,
            f64::NEG_INFINITY,
            16_777_217.0, // 2^24 + 1: not an f32
        ];
        for &e in &edges {
            let t = edge_threshold(e);
            assert!(t as f64 <= e, "{e}: {t}");
            let near = [t.next_down(), t, t.next_up(), t.next_up().next_up(), e as f32];
            let values = near.into_iter().chain([0.0, -0.0, 1.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN]);
            for v in values {
                assert_eq!(e < v as f64, t < v, "edge {e:e}, value {v:e}");
            }
        }
        assert_eq!(edge_threshold(0.1), 0.1f32.next_down(), "0.1 as f32 rounds up, so the threshold is one step down");
        assert_eq!(edge_threshold(-0.1), -0.1f32, "-0.1 as f32 is below -0.1");
        assert_eq!(edge_threshold(f32::MAX as f64 * 1.5), f32::MAX);
        assert_eq!(edge_threshold(-(f32::MAX as f64) * 1.5), f32::NEG_INFINITY);
    }

    #[test]
    fn values_equal_to_an_edge_fall_in_the_bin_below_it() {
        let edges: Vec<f64> = (1..10).map(|q| q as f64).collect();
        let x = Matrix::from_vec((0..=10).map(|v| v as f32).collect(), 11, 1);
        let got = count_bins(&[bins(edges.clone())], &x);
        // 0 and 1 (equal to the first edge) in bin 0, then one value per bin: 9 in bin 8, 10 in the last.
        assert_eq!(got, vec![vec![2, 1, 1, 1, 1, 1, 1, 1, 1, 1]]);
        assert_eq!(got, counts_by_search(&[bins(edges)], &x));
    }

    #[test]
    fn tied_edges_leave_their_bins_empty() {
        let edges = vec![0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0];
        let x = Matrix::from_vec(vec![-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, f32::NAN], 8, 1);
        let got = count_bins(&[bins(edges.clone())], &x);
        assert_eq!(got, counts_by_search(&[bins(edges.clone())], &x));
        assert_eq!(got, vec![vec![3, 0, 0, 2, 0, 2, 0, 0, 0, 1]], "NaN counts in the first bin, as the search puts it");
        assert_eq!(bin_counts(x.as_slice().iter().copied(), &edges), got[0]);
    }

    #[test]
    fn unsorted_or_nan_edges_keep_the_binary_search() {
        let mut edges: Vec<f64> = (1..10).map(|q| q as f64).collect();
        edges.swap(2, 6);
        let x = Matrix::from_vec((0..40).map(|v| v as f32 * 0.25).collect(), 40, 1);
        assert!(!sorted(&edges));
        assert_eq!(count_bins(&[bins(edges.clone())], &x), counts_by_search(&[bins(edges.clone())], &x));
        assert_eq!(bin_counts(x.as_slice().iter().copied(), &edges), counts_by_search(&[bins(edges)], &x)[0]);
        let mut edges: Vec<f64> = (1..10).map(|q| q as f64).collect();
        edges[4] = f64::NAN;
        assert!(!sorted(&edges));
        assert_eq!(count_bins(&[bins(edges.clone())], &x), counts_by_search(&[bins(edges)], &x));
    }

    #[test]
    fn more_blocks_and_features_than_one_vector_count_as_the_search() {
        // 21 features (two full groups of eight and a tail of five) over three blocks and a part.
        let (n, d) = (3 * BLOCK_ROWS + 1234, 23);
        let mut s = 7u64;
        let v: Vec<f32> = (0..n * d)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 6.0
            })
            .collect();
        let x = Matrix::from_vec(v, n, d);
        let features: Vec<FeatureBins> =
            (0..21).map(|f| bins((1..10).map(|q| (q as f64 - 5.0) * 0.6 + f as f64 * 0.01 + 0.1).collect())).collect();
        let got = count_bins(&features, &x);
        assert_eq!(got, counts_by_search(&features, &x));
        assert!(got.iter().all(|c| c.iter().sum::<u64>() == n as u64));
        // The portable body (CPUs without AVX2) counts as the dispatched path does on this CPU.
        let plan = Plan::new(&features).expect("sorted edges");
        let (mut portable, mut dispatched) = (vec![0u64; 21 * EDGES], vec![0u64; 21 * EDGES]);
        plan.count_above_body(x.as_slice(), d, &mut portable);
        plan.count_above(x.as_slice(), d, &mut dispatched);
        assert_eq!(portable, dispatched);
    }

    fn edges_strategy() -> impl Strategy<Value = Vec<f64>> {
        // Edges on a coarse grid (ties among edges and with values), or off it (not f32-representable).
        prop::collection::vec((-20i32..20, any::<bool>()), EDGES).prop_map(|v| {
            let mut e: Vec<f64> =
                v.into_iter().map(|(i, off)| i as f64 * 0.25 + if off { 1e-9 } else { 0.0 }).collect();
            e.sort_by(f64::total_cmp);
            e
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// On random data and sorted edges (values equal to edges, edges tied with each other, edges that are and
        /// are not `f32`s), the threshold counts equal the binary search's, for the matrix and for one column.
        #[test]
        fn threshold_counts_equal_the_binary_search(
            n in 0usize..300,
            d in 1usize..20,
            grid in prop::collection::vec(-24i32..24, 1..64),
            edges in prop::collection::vec(edges_strategy(), 1..20),
            seed in any::<u64>(),
        ) {
            let mut s = seed | 1;
            let v: Vec<f32> = (0..n * d)
                .map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let pick = (s >> 33) as usize;
                    // Half on the grid of the edges, half anywhere.
                    if pick.is_multiple_of(2) { grid[pick / 2 % grid.len()] as f32 * 0.25 } else { (pick % 10_000) as f32 * 1e-3 - 5.0 }
                })
                .collect();
            let x = Matrix::from_vec(v, n, d);
            let features: Vec<FeatureBins> = (0..d.min(edges.len())).map(|f| bins(edges[f].clone())).collect();
            let got = count_bins(&features, &x);
            prop_assert_eq!(&got, &counts_by_search(&features, &x));
            for (f, fb) in features.iter().enumerate() {
                let mut want = vec![0u64; EDGES + 1];
                (0..n).for_each(|i| want[search(x.row(i)[f], &fb.edges)] += 1);
                prop_assert_eq!(&got[f], &want);
                prop_assert_eq!(&bin_counts((0..n).map(|i| x.row(i)[f]), &fb.edges), &want);
            }
        }
    }
}
