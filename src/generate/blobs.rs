//! Plain Gaussian blobs for benchmarks and tests of the clustering.

use rayon::prelude::*;

use super::draw::Draw;
use super::writer::CHUNK_ROWS;
use crate::matrix::Matrix;

/// Plain Gaussian blobs for benchmarks: `k` centres drawn uniformly in `[-10, 10]^d`, then `n` points, each
/// from a uniformly chosen centre plus unit-variance noise. Returns the `n × d` matrix and each point's centre
/// index. Deterministic in `seed` whatever the thread count.
///
/// # Panics
/// If `k` is 0 while `n` is not.
pub fn generate_blobs(n: usize, d: usize, k: usize, seed: u64) -> (Matrix, Vec<u32>) {
    assert!(k > 0 || n == 0, "generate_blobs: k must be at least 1");
    let mut rng = Draw::new(seed, u64::MAX);
    let centres: Vec<f64> = (0..k * d).map(|_| rng.uniform() * 20.0 - 10.0).collect();
    let mut data = vec![0f32; n * d];
    let mut labels = vec![0u32; n];
    if n > 0 && d > 0 {
        data.par_chunks_mut(CHUNK_ROWS * d).zip(labels.par_chunks_mut(CHUNK_ROWS)).enumerate().for_each(
            |(c, (rows, labels))| {
                let mut rng = Draw::new(seed, c as u64);
                for (row, label) in rows.chunks_exact_mut(d).zip(labels) {
                    let j = rng.index(k);
                    *label = j as u32;
                    for (x, centre) in row.iter_mut().zip(&centres[j * d..(j + 1) * d]) {
                        *x = (centre + rng.normal()) as f32;
                    }
                }
            },
        );
    } else if n > 0 {
        labels.par_chunks_mut(CHUNK_ROWS).enumerate().for_each(|(c, labels)| {
            let mut rng = Draw::new(seed, c as u64);
            labels.iter_mut().for_each(|l| *l = rng.index(k) as u32);
        });
    }
    (Matrix::from_vec(data, n, d), labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::mean_sd;

    #[test]
    fn blobs_have_the_requested_shape() {
        let (x, labels) = generate_blobs(1000, 3, 4, 7);
        assert_eq!((x.n(), x.d()), (1000, 3));
        assert_eq!(labels.len(), 1000);
        assert!(labels.iter().all(|&l| l < 4));
        let (m0, l0) = generate_blobs(0, 3, 4, 7);
        assert_eq!((m0.n(), l0.len()), (0, 0));
    }

    #[test]
    fn blobs_are_unit_variance_around_centres_in_the_box() {
        let (x, labels) = generate_blobs(CHUNK_ROWS + 500, 2, 3, 1);
        for j in 0..3u32 {
            for dim in 0..2 {
                let v: Vec<f64> = (0..x.n()).filter(|&i| labels[i] == j).map(|i| x.row(i)[dim] as f64).collect();
                let (m, s) = mean_sd(&v);
                assert!((-10.1..=10.1).contains(&m), "centre {j} at {m}");
                assert!((s - 1.0).abs() < 0.03, "cluster {j} dim {dim}: sd {s}");
            }
        }
    }

    #[test]
    fn blobs_are_deterministic_across_thread_counts() {
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| generate_blobs(2 * CHUNK_ROWS + 7, 4, 5, 3))
        };
        assert_eq!(run(1), run(2));
        assert_ne!(generate_blobs(100, 2, 3, 1).0, generate_blobs(100, 2, 3, 2).0);
    }
}
