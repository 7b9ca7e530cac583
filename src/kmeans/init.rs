//! Seeded initialisation: greedy k-means++ (scikit-learn's variant, through the backend) and weighted random rows.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::backend::{Backend, SampleBackend};
use crate::error::Result;
use crate::matrix::Matrix;

/// The generator behind every random choice: ChaCha8, seeded from the user's seed, so results are reproducible
/// across platforms and thread counts.
pub(crate) type Rng = ChaCha8Rng;

/// The generator for a user's seed.
pub(crate) fn rng(seed: u64) -> Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn weight(w: Option<&[f32]>, i: usize) -> f64 {
    w.map_or(1.0, |w| w[i] as f64)
}

/// One index drawn with probability proportional to its weight (uniform when unweighted).
fn weighted_index(rng: &mut Rng, n: usize, w: Option<&[f32]>) -> usize {
    match w {
        None => rng.random_range(0..n),
        Some(w) => {
            let total: f64 = w.iter().map(|&v| v as f64).sum();
            let t = rng.random::<f64>() * total;
            let mut acc = 0.0;
            for (i, &v) in w.iter().enumerate() {
                acc += v as f64;
                if acc > t && v > 0.0 {
                    return i;
                }
            }
            w.iter().rposition(|&v| v > 0.0).unwrap_or(n - 1)
        }
    }
}

/// Greedy k-means++ (Arthur & Vassilvitskii, with scikit-learn's `2 + ⌊ln k⌋` local trials per step).
/// The distance updates and potentials run on the backend; the host only draws random numbers.
pub(crate) fn kmeans_plus_plus(
    x: &Matrix,
    w: Option<&[f32]>,
    k: usize,
    rng: &mut Rng,
    backend: &mut dyn Backend,
) -> Result<Matrix> {
    let d = x.d();
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centers = Matrix::zeros(k, d);
    let first = weighted_index(rng, x.n(), w);
    centers.row_mut(0).copy_from_slice(x.row(first));
    let mut pot = backend.pp_reset(x.row(first))?;
    let mut cands = vec![0f32; trials * d];
    for c in 1..k {
        let targets: Vec<f64> = (0..trials).map(|_| rng.random::<f64>() * pot).collect();
        let ids = backend.pp_sample(&targets)?;
        for (t, &i) in ids.iter().enumerate() {
            cands[t * d..(t + 1) * d].copy_from_slice(x.row(i));
        }
        let pots = backend.pp_potentials(&cands, trials)?;
        let mut best = 0;
        for (t, &p) in pots.iter().enumerate() {
            if p < pots[best] {
                best = t;
            }
        }
        pot = pots[best];
        backend.pp_commit(&cands[best * d..(best + 1) * d])?;
        centers.row_mut(c).copy_from_slice(x.row(ids[best]));
    }
    Ok(centers)
}

/// k-means++ on a uniform sample of `rows` rows (without replacement, drawn from `rng`; sample weights are
/// carried along), run on the backend that `sample_backend` builds over the sample. With `rows ≥ n` it is plain
/// [`kmeans_plus_plus`] on the given backend. Seeding on a sample is what keeps initialisation from dominating at
/// millions of rows: the greedy method makes about `k·(3 + ln k)` passes over the rows it seeds from.
pub(crate) fn kmeans_plus_plus_sampled(
    x: &Matrix,
    w: Option<&[f32]>,
    k: usize,
    rows: usize,
    rng: &mut Rng,
    backend: &mut dyn Backend,
    sample_backend: &SampleBackend<'_>,
) -> Result<Matrix> {
    let n = x.n();
    if rows >= n {
        return kmeans_plus_plus(x, w, k, rng, backend);
    }
    // Floyd's algorithm: `rows` distinct indices, then sorted so the sample keeps the data's order.
    let mut chosen = std::collections::HashSet::with_capacity(rows);
    for j in n - rows..n {
        let t = rng.random_range(0..=j);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    let mut idx: Vec<usize> = chosen.into_iter().collect();
    idx.sort_unstable();
    let d = x.d();
    let mut data = Vec::with_capacity(rows * d);
    for &i in &idx {
        data.extend_from_slice(x.row(i));
    }
    let sample = Matrix::from_vec(data, rows, d);
    let sw: Option<Vec<f32>> = w.map(|w| idx.iter().map(|&i| w[i]).collect());
    if sw.as_ref().is_some_and(|sw| !sw.iter().any(|&v| v > 0.0)) {
        // Every sampled row has weight 0: seed from all rows instead.
        return kmeans_plus_plus(x, w, k, rng, backend);
    }
    let mut on_sample = sample_backend(&sample, sw.as_deref())?;
    kmeans_plus_plus(&sample, sw.as_deref(), k, rng, on_sample.as_mut())
}

/// `k` distinct rows drawn without replacement, with probability proportional to weight
/// (Efraimidis–Spirakis keys `u^(1/w)`; uniform when unweighted).
pub(crate) fn random_rows(x: &Matrix, w: Option<&[f32]>, k: usize, rng: &mut Rng) -> Matrix {
    let n = x.n();
    let mut keyed: Vec<(f64, usize)> = (0..n)
        .filter(|&i| weight(w, i) > 0.0)
        .map(|i| {
            let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
            (u.ln() / weight(w, i), i)
        })
        .collect();
    let k = k.min(keyed.len());
    keyed.select_nth_unstable_by(k.saturating_sub(1), |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = keyed[..k].iter().map(|&(_, i)| i).collect();
    chosen.sort_unstable();
    let mut centers = Matrix::zeros(k, x.d());
    for (c, &i) in chosen.iter().enumerate() {
        centers.row_mut(c).copy_from_slice(x.row(i));
    }
    centers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kmeans::naive::{naive_backend, NaiveBackend};

    fn grid() -> Matrix {
        let v: Vec<f32> = (0..100).flat_map(|i| [(i % 20) as f32, (i / 20) as f32]).collect();
        Matrix::from_vec(v, 100, 2)
    }

    #[test]
    fn kmeans_pp_picks_k_distinct_data_rows() {
        let x = grid();
        let mut b = NaiveBackend::new(&x, None);
        let c = kmeans_plus_plus(&x, None, 8, &mut rng(7), &mut b).unwrap();
        let rows: Vec<&[f32]> = (0..8).map(|j| c.row(j)).collect();
        for (a, ra) in rows.iter().enumerate() {
            assert!((0..x.n()).any(|i| x.row(i) == *ra), "centre {a} is a data row");
            for rb in &rows[a + 1..] {
                assert_ne!(ra, rb);
            }
        }
    }

    #[test]
    fn same_seed_same_centres() {
        let x = grid();
        let a = kmeans_plus_plus(&x, None, 5, &mut rng(3), &mut NaiveBackend::new(&x, None)).unwrap();
        let b = kmeans_plus_plus(&x, None, 5, &mut rng(3), &mut NaiveBackend::new(&x, None)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn zero_weight_rows_are_never_chosen() {
        let x = grid();
        let w: Vec<f32> = (0..100).map(|i| if i < 60 { 0.0 } else { 1.0 }).collect();
        for seed in 0..5 {
            let c = random_rows(&x, Some(&w), 10, &mut rng(seed));
            let p = kmeans_plus_plus(&x, Some(&w), 10, &mut rng(seed), &mut NaiveBackend::new(&x, Some(&w))).unwrap();
            for j in 0..10 {
                assert!(c.row(j)[1] >= 2.5 && p.row(j)[1] >= 2.5, "only rows with weight > 0 (y >= 3)");
            }
        }
    }

    #[test]
    fn sampled_kmeans_pp_picks_distinct_data_rows_and_is_seeded() {
        let x = grid();
        let run = |seed| {
            let mut b = NaiveBackend::new(&x, None);
            kmeans_plus_plus_sampled(&x, None, 6, 40, &mut rng(seed), &mut b, &naive_backend).unwrap()
        };
        let a = run(4);
        assert_eq!(a, run(4));
        for j in 0..6 {
            assert!((0..x.n()).any(|i| x.row(i) == a.row(j)));
            for l in j + 1..6 {
                assert_ne!(a.row(j), a.row(l));
            }
        }
    }

    #[test]
    fn a_sample_is_seeded_on_the_backend_the_caller_builds_over_it() {
        let x = grid();
        let built = std::cell::RefCell::new(Vec::new());
        let make: &SampleBackend<'_> = &|s, w| {
            built.borrow_mut().push((s.n(), w.is_some()));
            naive_backend(s, w)
        };
        let mut b = NaiveBackend::new(&x, None);
        kmeans_plus_plus_sampled(&x, None, 6, 40, &mut rng(4), &mut b, make).unwrap();
        assert_eq!(*built.borrow(), vec![(40, false)], "one backend, over the 40 sampled rows");
        kmeans_plus_plus_sampled(&x, None, 6, 100, &mut rng(4), &mut b, make).unwrap();
        assert_eq!(built.borrow().len(), 1, "all rows: seeded on the given backend");
    }

    #[test]
    fn random_rows_are_distinct() {
        let x = grid();
        let c = random_rows(&x, None, 100, &mut rng(1));
        let mut seen: Vec<Vec<u32>> = (0..100).map(|j| c.row(j).iter().map(|v| v.to_bits()).collect()).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 100);
    }
}
