//! Rules that explain the segments: a depth-3 CART ([`super::cart`]) fitted to the segment labels on a seeded
//! sample of customers in original units, read out as one rule per leaf ("recency_days ≤ 30 and monetary > 850
//! → segment 2 (precision 0.94, recall 0.88)"), with its fidelity: how often the tree agrees with K-means.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::cart::{self, Data, Tree};
use crate::format::{fmt_count, fmt_num, fmt_pct};
use crate::matrix::Matrix;
use crate::prep::Scaler;

/// Customers the tree is fitted on (at most).
pub const SAMPLE_ROWS: usize = 20_000;
/// The tree's depth: a rule has at most this many conditions.
pub const MAX_DEPTH: usize = 3;
/// The sample's stream of the run's seed (the fit's k-means++ uses stream 0).
const SAMPLE_STREAM: u64 = 16;

/// A seeded uniform sample of the rows, copied in original units before they are scaled.
#[derive(Debug, Clone)]
pub struct RawSample {
    /// Row indexes, ascending.
    pub rows: Vec<u32>,
    /// `columns[f][i]`: feature `f` of sampled row `rows[i]`, as read.
    pub columns: Vec<Vec<f32>>,
}

impl RawSample {
    /// Samples `min(n, SAMPLE_ROWS)` rows of `x` (unscaled) without replacement, from ChaCha8 seeded with `seed`.
    pub fn take(x: &Matrix, seed: u64) -> RawSample {
        let n = x.n();
        let rows: Vec<u32> = if n <= SAMPLE_ROWS {
            (0..n as u32).collect()
        } else {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(SAMPLE_STREAM);
            let mut r: Vec<u32> =
                rand::seq::index::sample(&mut rng, n, SAMPLE_ROWS).into_iter().map(|i| i as u32).collect();
            r.sort_unstable();
            r
        };
        let columns = (0..x.d()).map(|f| rows.iter().map(|&i| x.row(i as usize)[f]).collect()).collect();
        RawSample { rows, columns }
    }
}

/// One condition of a rule, in original units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub feature: String,
    /// `"<="` or `">"`.
    pub op: String,
    pub threshold: f64,
}

/// One leaf of the tree: the customers that meet every condition are predicted to be in `segment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub segment: u32,
    pub conditions: Vec<Condition>,
    /// The rule for people: "recency_days ≤ 30 and monetary > 850 → segment 2 (precision 0.94, recall 0.88)".
    pub text: String,
    /// Of all customers meeting the conditions, the share in `segment`.
    pub precision: f64,
    /// Of all customers in `segment`, the share meeting the conditions.
    pub recall: f64,
    /// Customers meeting the conditions (all rows).
    pub customers: u64,
}

/// The rules of a fit and how far to trust them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    pub max_depth: usize,
    /// Customers the tree was fitted on (a seeded uniform sample, or every customer when there are fewer).
    pub sample_rows: usize,
    /// Share of the sampled customers whose tree leaf predicts their K-means segment.
    pub fidelity_sample: f64,
    /// The same over every customer.
    pub fidelity: f64,
    pub customers: u64,
    /// One rule per leaf, by segment, then by recall (highest first).
    pub rules: Vec<Rule>,
    /// Segments that no leaf predicts (a tree of this depth does not single them out).
    pub unexplained: Vec<u32>,
}

/// A threshold for people: an integer feature's cut `t` is written `⌊t⌋` (`x ≤ 30.5` is `x ≤ 30` on integers,
/// `x > 30.5` is `x > 30`); others through [`fmt_num`].
fn threshold_text(t: f64, integer: bool) -> String {
    if integer {
        fmt_num(t.floor())
    } else {
        fmt_num(t)
    }
}

/// The conditions of a leaf's path, one lower and one upper bound per feature at most, in order of first use.
fn simplify(path: &[(usize, f64, bool)]) -> Vec<(usize, Option<f64>, Option<f64>)> {
    let mut out: Vec<(usize, Option<f64>, Option<f64>)> = Vec::new();
    for &(f, t, left) in path {
        let i = match out.iter().position(|c| c.0 == f) {
            Some(i) => i,
            None => {
                out.push((f, None, None));
                out.len() - 1
            }
        };
        let c = &mut out[i];
        if left {
            c.2 = Some(c.2.map_or(t, |u| u.min(t)));
        } else {
            c.1 = Some(c.1.map_or(t, |l| l.max(t)));
        }
    }
    out
}

/// Fits the tree to `labels` (every row's segment, `< k`) on `sample` and reads out its rules. `x_scaled` and
/// `scaler` give every row in original units for the fidelity and the rules' precision and recall over all rows.
pub fn explain_rules(
    sample: &RawSample,
    x_scaled: &Matrix,
    scaler: &Scaler,
    names: &[String],
    labels: &[u32],
    k: usize,
) -> Rules {
    let sample_labels: Vec<u32> = sample.rows.iter().map(|&i| labels[i as usize]).collect();
    let tree = cart::fit(&Data { columns: &sample.columns, labels: &sample_labels, n_classes: k }, MAX_DEPTH);
    let integer: Vec<bool> = sample.columns.iter().map(|c| c.iter().all(|v| v.fract() == 0.0)).collect();

    let agree_sample = sample
        .rows
        .iter()
        .enumerate()
        .filter(|&(i, _)| tree.nodes[tree.leaf(|f| sample.columns[f][i] as f64)].class == sample_labels[i])
        .count();
    // Every row's leaf, counted per (leaf, segment).
    let (d, nn) = (x_scaled.d(), tree.nodes.len());
    let counts = x_scaled
        .as_slice()
        .par_chunks(8192 * d)
        .zip(labels.par_chunks(8192))
        .map(|(rows, labels)| {
            let mut c = vec![0u64; nn * k];
            for (row, &l) in rows.chunks_exact(d).zip(labels) {
                let leaf = tree.leaf(|f| scaler.inverse_value(f, row[f] as f64));
                c[leaf * k + l as usize] += 1;
            }
            c
        })
        .reduce(|| vec![0u64; nn * k], |a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect());
    let mut sizes = vec![0u64; k];
    for (i, &c) in counts.iter().enumerate() {
        sizes[i % k] += c;
    }
    let n = labels.len() as u64;
    let agree: u64 = tree.nodes.iter().enumerate().map(|(id, node)| counts[id * k + node.class as usize]).sum();

    let mut rules = leaf_rules(&tree, names, &integer, &counts, &sizes, k);
    rules.sort_by(|a, b| a.segment.cmp(&b.segment).then(b.recall.total_cmp(&a.recall)));
    let unexplained = (0..k as u32).filter(|j| !rules.iter().any(|r| r.segment == *j)).collect();
    Rules {
        max_depth: MAX_DEPTH,
        sample_rows: sample.rows.len(),
        fidelity_sample: agree_sample as f64 / sample.rows.len().max(1) as f64,
        fidelity: agree as f64 / n.max(1) as f64,
        customers: n,
        rules,
        unexplained,
    }
}

fn leaf_rules(tree: &Tree, names: &[String], integer: &[bool], counts: &[u64], sizes: &[u64], k: usize) -> Vec<Rule> {
    tree.paths()
        .into_iter()
        .map(|(leaf, path)| {
            let seg = tree.nodes[leaf].class;
            let mut conditions = Vec::new();
            let mut words = Vec::new();
            for (f, lower, upper) in simplify(&path) {
                let nm = &names[f];
                let text = |t: f64| threshold_text(t, integer[f]);
                match (lower, upper) {
                    (Some(l), Some(u)) => words.push(format!("{} < {nm} ≤ {}", text(l), text(u))),
                    (Some(l), None) => words.push(format!("{nm} > {}", text(l))),
                    (None, Some(u)) => words.push(format!("{nm} ≤ {}", text(u))),
                    (None, None) => {}
                }
                if let Some(l) = lower {
                    conditions.push(Condition { feature: nm.clone(), op: ">".into(), threshold: l });
                }
                if let Some(u) = upper {
                    conditions.push(Condition { feature: nm.clone(), op: "<=".into(), threshold: u });
                }
            }
            let in_leaf: u64 = counts[leaf * k..(leaf + 1) * k].iter().sum();
            let hit = counts[leaf * k + seg as usize];
            let precision = if in_leaf > 0 { hit as f64 / in_leaf as f64 } else { 0.0 };
            let recall = if sizes[seg as usize] > 0 { hit as f64 / sizes[seg as usize] as f64 } else { 0.0 };
            let when = if words.is_empty() { "every customer".to_string() } else { words.join(" and ") };
            let text = format!("{when} → segment {seg} (precision {precision:.2}, recall {recall:.2})");
            Rule { segment: seg, conditions, text, precision, recall, customers: in_leaf }
        })
        .collect()
}

/// Rules that select less than this share of their segment are left out of the terminal and the report (they
/// stay in `--json` and the profiles): a depth-3 tree spends leaves on a handful of customers, which reads as
/// noise.
pub const MIN_RECALL_SHOWN: f64 = 0.05;

/// The rules as text for the terminal: a heading with the fidelity, then one line per rule with recall at least
/// [`MIN_RECALL_SHOWN`], with segment names.
pub fn render_rules(r: &Rules, names: &[String]) -> String {
    let mut out = format!(
        "rules (a depth-{} decision tree fitted on {} customers; it puts {} of all {} customers in their segment):\n",
        r.max_depth,
        fmt_count(r.sample_rows as u64),
        fmt_pct(Some(r.fidelity)),
        fmt_count(r.customers),
    );
    for rule in r.rules.iter().filter(|x| x.recall >= MIN_RECALL_SHOWN) {
        let name = names.get(rule.segment as usize).map(|n| format!(" [{n}]")).unwrap_or_default();
        out.push_str(&format!("  {}{name}\n", rule.text));
    }
    for j in &r.unexplained {
        let name = names.get(*j as usize).map(|n| format!(" [{n}]")).unwrap_or_default();
        out.push_str(&format!("  segment {j}{name}: no rule of depth {} singles it out\n", r.max_depth));
    }
    let small: Vec<&Rule> = r.rules.iter().filter(|x| x.recall < MIN_RECALL_SHOWN).collect();
    if !small.is_empty() {
        let customers: u64 = small.iter().map(|x| x.customers).sum();
        out.push_str(&format!(
            "  ({} more rule{} for {} customers, each under {:.0}% of its segment: in --json)\n",
            small.len(),
            if small.len() == 1 { "" } else { "s" },
            fmt_count(customers),
            MIN_RECALL_SHOWN * 100.0
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prep::ScaleMethod;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// 200 customers: recency 0–99 days, spend 0–995; segment 1 is "recency ≤ 30 and spend > 500".
    fn data() -> (Matrix, Vec<u32>) {
        let mut raw = Vec::new();
        let mut labels = Vec::new();
        for i in 0..200u32 {
            let (rec, spend) = ((i * 37 % 100) as f32, (i * 53 % 200) as f32 * 5.0);
            raw.extend([rec, spend]);
            labels.push(u32::from(rec <= 30.0 && spend > 500.0));
        }
        (Matrix::from_vec(raw, 200, 2), labels)
    }

    #[test]
    fn a_planted_rule_is_read_back_in_original_units() {
        let (mut x, labels) = data();
        let sample = RawSample::take(&x, 0);
        assert_eq!(sample.rows.len(), 200);
        let nm = names(&["recency_days", "monetary"]);
        let s = Scaler::fit_transform(&mut x, &nm, ScaleMethod::Zscore, &["monetary".into()]).unwrap();
        let r = explain_rules(&sample, &x, &s, &nm, &labels, 2);
        assert_eq!((r.fidelity, r.fidelity_sample), (1.0, 1.0));
        let one: Vec<&Rule> = r.rules.iter().filter(|r| r.segment == 1).collect();
        assert_eq!(one.len(), 1, "{:?}", r.rules);
        assert_eq!(one[0].text, "recency_days ≤ 30 and monetary > 502 → segment 1 (precision 1.00, recall 1.00)");
        assert_eq!(one[0].conditions[1], Condition { feature: "monetary".into(), op: ">".into(), threshold: 502.5 });
        assert!(r.unexplained.is_empty());
        let text = render_rules(&r, &names(&["Rest", "Recent high spenders"]));
        assert!(text.contains("[Recent high spenders]") && text.contains("100.0% of all 200 customers"), "{text}");
    }

    #[test]
    fn a_sample_is_seeded_sorted_and_without_repeats() {
        let x = Matrix::from_vec((0..50_000).map(|i| i as f32).collect(), 50_000, 1);
        let a = RawSample::take(&x, 7);
        assert_eq!(a.rows.len(), SAMPLE_ROWS);
        assert!(a.rows.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(a.rows, RawSample::take(&x, 7).rows);
        assert_ne!(a.rows, RawSample::take(&x, 8).rows);
        assert!(a.rows.iter().zip(&a.columns[0]).all(|(&i, &v)| v == i as f32));
    }

    #[test]
    fn bounds_on_one_feature_merge() {
        let s = simplify(&[(0, 10.0, false), (1, 5.0, true), (0, 90.0, true), (0, 50.0, true)]);
        assert_eq!(s, vec![(0, Some(10.0), Some(50.0)), (1, None, Some(5.0))]);
        assert_eq!(threshold_text(30.5, true), "30");
        assert_eq!(threshold_text(1850.25, false), "1,850");
    }
}
