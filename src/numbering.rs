//! Stable segment numbers. K-means numbers its clusters in the order its seeding happened to find them, so two
//! seeds that find the same partition would number it differently. After the fit, segments are renumbered in a
//! canonical order: by descending mean of the money column (original units) where there is one, else by
//! descending size; ties are broken by the centroid (scaled units, compared feature by feature), then by the
//! fit's own number.

use rayon::prelude::*;

use crate::kmeans::FitResult;
use crate::matrix::Matrix;
use crate::prep::Scaler;

/// The canonical order of a fit's segments: `order[new] = old`. `money` is the money column's feature index, if
/// any; its per-segment mean is taken over the rows of `x_scaled` mapped back through `scaler`.
pub fn canonical_order(fit: &FitResult, x_scaled: &Matrix, scaler: &Scaler, money: Option<usize>) -> Vec<usize> {
    let k = fit.centroids.n();
    let means: Option<Vec<f64>> = money.map(|f| segment_means(x_scaled, scaler, f, &fit.labels, k));
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        let by_key = match &means {
            Some(m) => m[b].total_cmp(&m[a]),
            None => fit.sizes[b].cmp(&fit.sizes[a]),
        };
        by_key.then_with(|| compare_rows(fit.centroids.row(a), fit.centroids.row(b))).then(a.cmp(&b))
    });
    order
}

/// Renumbers `fit` so that old segment `order[new]` becomes `new`: labels, centroids and sizes.
pub fn renumber(fit: &mut FitResult, order: &[usize]) {
    let k = order.len();
    let mut new_of = vec![0u32; k];
    for (new, &old) in order.iter().enumerate() {
        new_of[old] = new as u32;
    }
    fit.labels.par_iter_mut().for_each(|l| *l = new_of[*l as usize]);
    let d = fit.centroids.d();
    let mut c = Matrix::zeros(k, d);
    for (new, &old) in order.iter().enumerate() {
        c.row_mut(new).copy_from_slice(fit.centroids.row(old));
    }
    fit.centroids = c;
    fit.sizes = order.iter().map(|&old| fit.sizes[old]).collect();
}

/// The mean of feature `f` in original units per segment, summed in fixed blocks of rows merged in order (the
/// same bits whatever the thread count).
fn segment_means(x: &Matrix, scaler: &Scaler, f: usize, labels: &[u32], k: usize) -> Vec<f64> {
    const BLOCK: usize = 8192;
    let partial: Vec<(Vec<f64>, Vec<u64>)> = (0..x.n().div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let (mut sum, mut count) = (vec![0f64; k], vec![0u64; k]);
            let rows = b * BLOCK..((b + 1) * BLOCK).min(x.n());
            for (i, &l) in rows.clone().zip(&labels[rows]) {
                sum[l as usize] += scaler.inverse_value(f, x.row(i)[f] as f64);
                count[l as usize] += 1;
            }
            (sum, count)
        })
        .collect();
    let (mut sum, mut count) = (vec![0f64; k], vec![0u64; k]);
    for (s, c) in partial {
        for j in 0..k {
            sum[j] += s[j];
            count[j] += c[j];
        }
    }
    sum.iter().zip(&count).map(|(&s, &c)| if c == 0 { f64::NEG_INFINITY } else { s / c as f64 }).collect()
}

fn compare_rows(a: &[f32], b: &[f32]) -> std::cmp::Ordering {
    a.iter().zip(b).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prep::ScaleMethod;

    /// A fit of four 1-D rows into `k` segments with the given labels and centroids (identity scaling).
    fn fit(labels: Vec<u32>, centroids: Vec<f32>) -> (FitResult, Matrix, Scaler) {
        let k = centroids.len();
        let x = Matrix::from_vec(vec![1.0, 2.0, 10.0, 11.0], 4, 1);
        let mut sizes = vec![0u64; k];
        for &l in &labels {
            sizes[l as usize] += 1;
        }
        let mut xs = x.clone();
        let scaler = Scaler::fit_transform(&mut xs, &["spend".into()], ScaleMethod::None, &[]).unwrap();
        let r = FitResult {
            centroids: Matrix::from_vec(centroids, k, 1),
            labels,
            dist2: vec![0.0; 4],
            inertia: 0.0,
            n_iter: 1,
            converged: true,
            sizes,
            runs: Vec::new(),
            best_run: 0,
            backend: "test".into(),
        };
        (r, xs, scaler)
    }

    #[test]
    fn the_biggest_spenders_come_first() {
        let (mut f, x, s) = fit(vec![0, 0, 1, 1], vec![1.5, 10.5]);
        let order = canonical_order(&f, &x, &s, Some(0));
        assert_eq!(order, [1, 0]);
        renumber(&mut f, &order);
        assert_eq!(f.labels, [1, 1, 0, 0]);
        assert_eq!(f.centroids.as_slice(), [10.5, 1.5]);
    }

    #[test]
    fn without_a_money_column_the_largest_segment_comes_first() {
        let (f, x, s) = fit(vec![0, 1, 1, 1], vec![1.0, 7.7]);
        assert_eq!(canonical_order(&f, &x, &s, None), [1, 0]);
    }

    #[test]
    fn two_numberings_of_one_partition_agree_after_renumbering() {
        let (mut a, x, s) = fit(vec![0, 0, 1, 2], vec![1.5, 10.0, 11.0]);
        let (mut b, _, _) = fit(vec![2, 2, 0, 1], vec![10.0, 11.0, 1.5]);
        for f in [&mut a, &mut b] {
            let order = canonical_order(f, &x, &s, None);
            renumber(f, &order);
        }
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.centroids, b.centroids);
        assert_eq!(a.sizes, b.sizes);
    }
}
