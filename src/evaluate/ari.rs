//! The adjusted Rand index of two labelings (Hubert & Arabie 1985), as scikit-learn's `adjusted_rand_score`:
//! from the pair confusion matrix, counted exactly in integers, so that a relabelled partition scores exactly 1.

use std::collections::HashMap;

/// The contingency table of two labelings: the count of each (a, b) pair, and the marginal counts.
struct Contingency {
    cells: Vec<u64>,
    rows: Vec<u64>,
    cols: Vec<u64>,
}

/// Maps arbitrary `u32` labels to `0..m` in order of first appearance.
fn dense(labels: &[u32]) -> (Vec<u32>, usize) {
    let mut ids: HashMap<u32, u32> = HashMap::new();
    let mapped = labels
        .iter()
        .map(|&l| {
            let next = ids.len() as u32;
            *ids.entry(l).or_insert(next)
        })
        .collect();
    (mapped, ids.len())
}

fn contingency(a: &[u32], b: &[u32]) -> Contingency {
    let (a, ka) = dense(a);
    let (b, kb) = dense(b);
    let mut cells = vec![0u64; ka * kb];
    let (mut rows, mut cols) = (vec![0u64; ka], vec![0u64; kb]);
    for (&x, &y) in a.iter().zip(&b) {
        cells[x as usize * kb + y as usize] += 1;
        rows[x as usize] += 1;
        cols[y as usize] += 1;
    }
    Contingency { cells, rows, cols }
}

/// Σ n·n over a set of counts, exactly.
fn sum_squares(v: &[u64]) -> u128 {
    v.iter().map(|&c| c as u128 * c as u128).sum()
}

/// The adjusted Rand index of two labelings of the same rows: 1 for the same partition (whatever the label
/// numbers), about 0 for independent ones, negative below chance. As scikit-learn, 1.0 when both labelings put
/// every row in one cluster or every row in its own (no pair disagrees), and for fewer than two rows.
///
/// # Panics
/// When the labelings have different lengths.
pub fn adjusted_rand_index(a: &[u32], b: &[u32]) -> f64 {
    assert_eq!(a.len(), b.len(), "two labelings of the same rows");
    let n = a.len() as u128;
    if n < 2 {
        return 1.0;
    }
    let c = contingency(a, b);
    // scikit-learn's pair_confusion_matrix, in exact integers (ordered pairs, so every count is doubled).
    let sum_sq = sum_squares(&c.cells);
    let tp = sum_sq - n; // pairs together in both
    let fp = sum_squares(&c.cols) - sum_sq; // together in b only
    let fn_ = sum_squares(&c.rows) - sum_sq; // together in a only
    let tn = n * n - fp - fn_ - sum_sq; // apart in both
    if fn_ == 0 && fp == 0 {
        return 1.0;
    }
    // 2(tp·tn − fn·fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn)); the products reach n⁴, past u128 only
    // beyond 4·10⁹ rows, so they are taken in f64 after the exact counts.
    let (tp, fp, fn_, tn) = (tp as f64, fp as f64, fn_ as f64, tn as f64);
    2.0 * (tp * tn - fn_ * fp) / ((tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_same_partition_under_other_numbers_scores_one() {
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1, 2], &[7, 7, 3, 3, 0]), 1.0);
    }

    #[test]
    fn a_known_value_matches_scikit_learn() {
        // adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]) = 0.5714285714285715
        let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]);
        assert!((v - 0.571_428_571_428_571_5).abs() < 1e-12, "{v}");
    }

    #[test]
    fn splitting_everything_against_one_cluster_scores_zero() {
        assert_eq!(adjusted_rand_index(&[0, 0, 0, 0], &[0, 1, 2, 3]), 0.0);
    }

    #[test]
    fn fewer_than_two_rows_score_one() {
        assert_eq!(adjusted_rand_index(&[], &[]), 1.0);
        assert_eq!(adjusted_rand_index(&[4], &[2]), 1.0);
    }

    proptest! {
        #[test]
        fn a_relabelled_partition_scores_one(labels in prop::collection::vec(0u32..6, 2..200), shift in 1u32..1000) {
            let relabelled: Vec<u32> = labels.iter().map(|&l| (5 - l) * 31 + shift).collect();
            prop_assert_eq!(adjusted_rand_index(&labels, &relabelled), 1.0);
        }

        #[test]
        fn the_index_is_symmetric_and_at_most_one(
            pairs in prop::collection::vec((0u32..5, 0u32..5), 2..200)
        ) {
            let (a, b): (Vec<u32>, Vec<u32>) = pairs.into_iter().unzip();
            let ab = adjusted_rand_index(&a, &b);
            prop_assert!((ab - adjusted_rand_index(&b, &a)).abs() < 1e-12);
            prop_assert!(ab <= 1.0 + 1e-12, "{}", ab);
            prop_assert!(ab >= -1.0 - 1e-12, "{}", ab);
        }
    }
}
