//! A small CART classifier (Gini, axis-aligned splits, depth-limited), written to mirror scikit-learn's
//! `DecisionTreeClassifier(max_depth=…)` with its defaults, so that its trees can be checked against it.
//!
//! Why not a crate: smartcore 0.7 (which fits our ndarray 0.17 and rand 0.10) keeps the fitted tree's nodes
//! private, so its splits cannot be read out as rules; linfa-trees 0.8 exposes them but pulls ndarray 0.16,
//! rand 0.8, ndarray-rand and sprs beside ours. The rules need only this: exhaustive best splits on a sample of
//! at most tens of thousands of rows, to depth 3.
//!
//! The rules of scikit-learn's `BestSplitter` and `DepthFirstTreeBuilder` that this follows:
//! - values are `f32`; a threshold is the midpoint `a/2 + b/2` of two consecutive sorted values, in `f64`
//!   (the lower value when the midpoint rounds up to the upper one); a row goes left when `value ≤ threshold`;
//! - a split may fall only between values that differ by more than 1e-7, and a feature whose values in the node
//!   span at most 1e-7 is constant there;
//! - the split kept maximises the Gini proxy `Σ left² / n_left + Σ right² / n_right` (class counts), the first
//!   one strictly better in feature order and then value order (scikit-learn visits the features in a random
//!   order, so where two splits tie exactly it may keep another);
//! - a node is a leaf at the maximum depth, with fewer than 2 rows, when pure, or when no split exists; otherwise
//!   it is split even when no split lowers the impurity (`min_impurity_decrease = 0`);
//! - a leaf predicts its most frequent class, the lowest on ties; nodes are numbered depth first, left first.

/// Values closer than this are not split between (scikit-learn's `FEATURE_THRESHOLD`).
const FEATURE_THRESHOLD: f64 = 1e-7;

/// One node of a fitted tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The split, `None` for a leaf: (feature, threshold); rows with `value ≤ threshold` go left.
    pub split: Option<(usize, f64)>,
    /// Children (left, right), indexes into [`Tree::nodes`]; `None` for a leaf.
    pub children: Option<(usize, usize)>,
    /// Training rows of each class that reached the node.
    pub counts: Vec<u64>,
    /// The class the node predicts: its most frequent, the lowest on ties.
    pub class: u32,
    pub depth: usize,
}

/// One step of a path from the root: (feature, threshold, whether the path goes left, i.e. `value ≤ threshold`).
pub type Step = (usize, f64, bool);

/// A fitted tree; `nodes[0]` is the root, nodes are numbered depth first, left before right.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub n_classes: usize,
}

/// Training data, column-major: `columns[f][i]` is feature `f` of row `i`.
pub struct Data<'a> {
    pub columns: &'a [Vec<f32>],
    /// Class of each row, `< n_classes`.
    pub labels: &'a [u32],
    pub n_classes: usize,
}

fn argmax(counts: &[u64]) -> u32 {
    let mut best = 0;
    for (c, &v) in counts.iter().enumerate() {
        if v > counts[best] {
            best = c;
        }
    }
    best as u32
}

/// The best split of `rows`: (feature, threshold, rows going left), or `None` when every feature is constant.
fn best_split(data: &Data, rows: &[u32], counts: &[u64]) -> Option<(usize, f64, Vec<u32>)> {
    let n = rows.len() as f64;
    let mut best: Option<(f64, usize, f64)> = None;
    let mut pairs: Vec<(f32, u32)> = Vec::with_capacity(rows.len());
    for (f, col) in data.columns.iter().enumerate() {
        pairs.clear();
        pairs.extend(rows.iter().map(|&i| (col[i as usize], data.labels[i as usize])));
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        if pairs[pairs.len() - 1].0 as f64 <= pairs[0].0 as f64 + FEATURE_THRESHOLD {
            continue;
        }
        let mut left = vec![0u64; counts.len()];
        let (mut sq_left, mut sq_right) = (0f64, counts.iter().map(|&c| (c * c) as f64).sum::<f64>());
        // Moving row i (the lower of each window) to the left side, then scoring the cut after it.
        for (i, w) in pairs.windows(2).enumerate() {
            let c = w[0].1 as usize;
            let right_c = counts[c] - left[c];
            sq_right -= (2 * right_c - 1) as f64;
            sq_left += (2 * left[c] + 1) as f64;
            left[c] += 1;
            let (prev, next) = (w[0].0 as f64, w[1].0 as f64);
            if next <= prev + FEATURE_THRESHOLD {
                continue;
            }
            let n_left = (i + 1) as f64;
            let proxy = sq_left / n_left + sq_right / (n - n_left);
            if best.is_none_or(|(b, _, _)| proxy > b) {
                let mut t = prev / 2.0 + next / 2.0;
                if t == next || t.is_infinite() {
                    t = prev;
                }
                best = Some((proxy, f, t));
            }
        }
    }
    let (_, f, t) = best?;
    let left = rows.iter().copied().filter(|&i| data.columns[f][i as usize] as f64 <= t).collect();
    Some((f, t, left))
}

/// Fits a tree of depth at most `max_depth` (0: a single leaf).
///
/// # Panics
/// If there are no rows, the columns differ in length from the labels, or a label is `≥ n_classes`.
pub fn fit(data: &Data, max_depth: usize) -> Tree {
    let n = data.labels.len();
    assert!(n > 0, "a tree needs rows");
    assert!(data.columns.iter().all(|c| c.len() == n), "columns and labels differ in length");
    let mut tree = Tree { nodes: Vec::new(), n_classes: data.n_classes };
    let rows: Vec<u32> = (0..n as u32).collect();
    grow(data, &mut tree, rows, 0, max_depth);
    tree
}

fn grow(data: &Data, tree: &mut Tree, rows: Vec<u32>, depth: usize, max_depth: usize) -> usize {
    let mut counts = vec![0u64; data.n_classes];
    for &i in &rows {
        counts[data.labels[i as usize] as usize] += 1;
    }
    let id = tree.nodes.len();
    let pure = counts.iter().filter(|&&c| c > 0).count() <= 1;
    tree.nodes.push(Node { split: None, children: None, class: argmax(&counts), counts: counts.clone(), depth });
    if depth >= max_depth || rows.len() < 2 || pure {
        return id;
    }
    let Some((f, t, left)) = best_split(data, &rows, &counts) else { return id };
    let right: Vec<u32> = rows.into_iter().filter(|&i| data.columns[f][i as usize] as f64 > t).collect();
    let l = grow(data, tree, left, depth + 1, max_depth);
    let r = grow(data, tree, right, depth + 1, max_depth);
    tree.nodes[id].split = Some((f, t));
    tree.nodes[id].children = Some((l, r));
    id
}

impl Tree {
    /// The leaf a row reaches; `value(f)` gives the row's feature `f`.
    pub fn leaf(&self, value: impl Fn(usize) -> f64) -> usize {
        let mut id = 0;
        while let (Some((f, t)), Some((l, r))) = (self.nodes[id].split, self.nodes[id].children) {
            id = if value(f) <= t { l } else { r };
        }
        id
    }

    /// Each leaf's path from the root: (leaf, [(feature, threshold, went_left)]), leaves in depth-first order.
    pub fn paths(&self) -> Vec<(usize, Vec<Step>)> {
        let mut out = Vec::new();
        let mut stack = vec![(0usize, Vec::new())];
        while let Some((id, path)) = stack.pop() {
            match (self.nodes[id].split, self.nodes[id].children) {
                (Some((f, t)), Some((l, r))) => {
                    let mut right = path.clone();
                    right.push((f, t, false));
                    stack.push((r, right));
                    let mut left = path;
                    left.push((f, t, true));
                    stack.push((l, left));
                }
                _ => out.push((id, path)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit_rows(rows: &[&[f32]], labels: &[u32], k: usize, depth: usize) -> Tree {
        let d = rows[0].len();
        let columns: Vec<Vec<f32>> = (0..d).map(|f| rows.iter().map(|r| r[f]).collect()).collect();
        fit(&Data { columns: &columns, labels, n_classes: k }, depth)
    }

    #[test]
    fn one_clean_cut_is_found_at_the_midpoint() {
        let t = fit_rows(&[&[1.0, 5.0], &[2.0, 1.0], &[10.0, 5.0], &[11.0, 1.0]], &[0, 0, 1, 1], 2, 3);
        assert_eq!(t.nodes.len(), 3);
        assert_eq!(t.nodes[0].split, Some((0, 6.0)));
        assert_eq!((t.nodes[1].class, t.nodes[2].class), (0, 1));
        assert_eq!(t.leaf(|f| [3.0, 0.0][f]), 1);
    }

    #[test]
    fn depth_zero_is_one_leaf_predicting_the_majority() {
        let t = fit_rows(&[&[1.0], &[2.0], &[3.0]], &[1, 1, 0], 2, 0);
        assert_eq!(t.nodes.len(), 1);
        assert_eq!(t.nodes[0].class, 1);
    }

    #[test]
    fn ties_in_counts_predict_the_lowest_class_and_constant_features_do_not_split() {
        let t = fit_rows(&[&[4.0], &[4.0]], &[1, 0], 2, 3);
        assert_eq!(t.nodes.len(), 1);
        assert_eq!(t.nodes[0].class, 0);
    }

    #[test]
    fn paths_lead_to_every_leaf_once() {
        let rows: Vec<Vec<f32>> = (0..40).map(|i| vec![(i % 7) as f32, (i % 5) as f32]).collect();
        let refs: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
        let labels: Vec<u32> = (0..40).map(|i| ((i % 7 > 3) as u32) + 2 * ((i % 5 > 2) as u32)).collect();
        let t = fit_rows(&refs, &labels, 4, 3);
        let paths = t.paths();
        let leaves = t.nodes.iter().filter(|n| n.split.is_none()).count();
        assert_eq!(paths.len(), leaves);
        for (leaf, path) in paths {
            assert!(path.len() <= 3);
            // Rows that satisfy the path reach the leaf.
            for r in &rows {
                let ok = path.iter().all(|&(f, t, left)| (r[f] as f64 <= t) == left);
                if ok {
                    assert_eq!(t.leaf(|f| r[f] as f64), leaf);
                }
            }
        }
        // The labels are separable in depth 2 by these features, so the tree is exact on them.
        assert!(rows.iter().zip(&labels).all(|(r, &l)| t.nodes[t.leaf(|f| r[f] as f64)].class == l));
    }
}
