//! Per-segment profiles of single columns: each level's share in each segment with its index against the whole
//! base, for categorical and text columns ("North: 42% of segment 3, against 25% overall, index 168"), and the
//! mean and median per segment of numeric `--profile-by` columns; their JSON types and their terminal view.

use serde::{Deserialize, Serialize};

use crate::format::{fmt_index, fmt_level_share, fmt_num, fmt_pct};

/// One level of a column across the segments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelShare {
    pub level: String,
    /// Customers with this level.
    pub customers: u64,
    /// Its share of all customers.
    pub overall: f64,
    /// Its share of each segment's customers (0 for an empty segment).
    pub shares: Vec<f64>,
    /// share in the segment / overall share × 100 (`None` for an empty segment).
    pub index: Vec<Option<f64>>,
}

/// A text or categorical column's level shares per segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelProfile {
    pub column: String,
    /// Whether the segments were clustered on it (`--categorical`) or only profiled (`--profile-by`).
    pub clustered: bool,
    pub levels: Vec<LevelShare>,
}

/// A numeric `--profile-by` column's mean and median per segment (nulls and NaN left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    pub column: String,
    pub overall_mean: Option<f64>,
    pub overall_median: Option<f64>,
    /// Rows without a value (null or NaN), left out of the means and medians.
    pub missing: u64,
    pub means: Vec<Option<f64>>,
    pub medians: Vec<Option<f64>>,
    /// Segment mean / overall mean × 100.
    pub index: Vec<Option<f64>>,
}

/// Every single-column profile of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfiles {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<LevelProfile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numeric: Vec<NumericProfile>,
    /// Each position's segment number where it is not the position (`segment --previous`); the per-segment
    /// vectors above are in position order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<u32>,
}

impl ColumnProfiles {
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty() && self.numeric.is_empty()
    }

    /// The number of the segment at position `j`.
    pub fn number(&self, j: usize) -> u32 {
        self.numbers.get(j).copied().unwrap_or(j as u32)
    }
}

/// Level shares of `levels` (row codes `codes`, a code ≥ `levels.len()` counted in no level) in each of `k`
/// segments (`labels`). Every customer counts once.
pub fn level_profile(
    column: &str,
    clustered: bool,
    levels: &[String],
    codes: &[u32],
    labels: &[u32],
    k: usize,
) -> LevelProfile {
    let l = levels.len();
    let mut counts = vec![0u64; k * l];
    let mut sizes = vec![0u64; k];
    for (&c, &j) in codes.iter().zip(labels) {
        sizes[j as usize] += 1;
        if (c as usize) < l {
            counts[j as usize * l + c as usize] += 1;
        }
    }
    let n: u64 = sizes.iter().sum();
    let levels = levels
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let customers: u64 = (0..k).map(|j| counts[j * l + i]).sum();
            let overall = customers as f64 / n.max(1) as f64;
            let shares: Vec<f64> =
                (0..k).map(|j| if sizes[j] == 0 { 0.0 } else { counts[j * l + i] as f64 / sizes[j] as f64 }).collect();
            let index = (0..k).map(|j| (sizes[j] > 0 && overall > 0.0).then(|| shares[j] / overall * 100.0)).collect();
            LevelShare { level: name.clone(), customers, overall, shares, index }
        })
        .collect();
    LevelProfile { column: column.to_string(), clustered, levels }
}

/// The median of sorted values (mean of the two middle ones for an even count).
fn median_sorted(v: &[f64]) -> Option<f64> {
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2]),
        n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// Mean and median (exact) of `values` (`None` or NaN: missing) in each of `k` segments.
pub fn numeric_profile(column: &str, values: &[Option<f64>], labels: &[u32], k: usize) -> NumericProfile {
    let mut groups: Vec<Vec<f64>> = vec![Vec::new(); k];
    let mut missing = 0u64;
    for (v, &j) in values.iter().zip(labels) {
        match v {
            Some(v) if !v.is_nan() => groups[j as usize].push(*v),
            _ => missing += 1,
        }
    }
    let mean = |g: &[f64]| (!g.is_empty()).then(|| g.iter().sum::<f64>() / g.len() as f64);
    let mut all: Vec<f64> = groups.iter().flatten().copied().collect();
    let overall_mean = mean(&all);
    all.sort_by(f64::total_cmp);
    let overall_median = median_sorted(&all);
    let means: Vec<Option<f64>> = groups.iter().map(|g| mean(g)).collect();
    let medians = groups
        .iter_mut()
        .map(|g| {
            g.sort_by(f64::total_cmp);
            median_sorted(g)
        })
        .collect();
    let index = means
        .iter()
        .map(|m| match (m, overall_mean) {
            (Some(m), Some(o)) if o != 0.0 => Some(m / o * 100.0),
            _ => None,
        })
        .collect();
    NumericProfile { column: column.to_string(), overall_mean, overall_median, missing, means, medians, index }
}

/// The level of `p` most over-represented in segment `j` (highest index among levels holding at least 1% of the
/// segment), if any.
pub fn top_level(p: &LevelProfile, j: usize) -> Option<&LevelShare> {
    p.levels
        .iter()
        .filter(|l| l.shares[j] >= 0.01 && l.index[j].is_some())
        .max_by(|a, b| a.index[j].unwrap_or(0.0).total_cmp(&b.index[j].unwrap_or(0.0)))
}

/// The terminal view: per column a table of level shares (each segment's share, and its index in brackets) and,
/// per segment, its most over-represented level in words; per numeric column its means and medians.
pub fn render_columns(c: &ColumnProfiles) -> String {
    let mut out = String::new();
    for p in &c.levels {
        let k = p.levels.first().map_or(0, |l| l.shares.len());
        let how = if p.clustered { "clustered on" } else { "profiled" };
        out.push_str(&format!(
            "{} ({how}): share of each segment's customers (index against all customers, 100 = average)\n",
            p.column
        ));
        let mut rows = vec![std::iter::once("level".to_string())
            .chain(std::iter::once("all".to_string()))
            .chain((0..k).map(|j| format!("segment {}", c.number(j))))
            .collect::<Vec<_>>()];
        for l in &p.levels {
            let mut r = vec![l.level.clone(), fmt_pct(Some(l.overall))];
            r.extend((0..k).map(|j| format!("{} ({})", fmt_pct(Some(l.shares[j])), fmt_index(l.index[j]))));
            rows.push(r);
        }
        push_rows(&mut out, &rows);
        for j in 0..k {
            if let Some(l) = top_level(p, j) {
                out.push_str(&format!(
                    "  {}\n",
                    fmt_level_share(&l.level, l.shares[j], c.number(j) as usize, l.overall, l.index[j])
                ));
            }
        }
    }
    for p in &c.numeric {
        let k = p.means.len();
        out.push_str(&format!(
            "{} (profiled): mean and median per segment{}\n",
            p.column,
            if p.missing > 0 { format!(", {} customers without a value left out", p.missing) } else { String::new() }
        ));
        let opt = |v: Option<f64>| v.map_or("–".to_string(), fmt_num);
        let mut rows = vec![std::iter::once(String::new())
            .chain(std::iter::once("all".to_string()))
            .chain((0..k).map(|j| format!("segment {}", c.number(j))))
            .collect::<Vec<_>>()];
        let mut mean = vec!["mean".to_string(), opt(p.overall_mean)];
        mean.extend(p.means.iter().zip(&p.index).map(|(&m, &i)| format!("{} ({})", opt(m), fmt_index(i))));
        let mut median = vec!["median".to_string(), opt(p.overall_median)];
        median.extend(p.medians.iter().map(|&m| opt(m)));
        rows.push(mean);
        rows.push(median);
        push_rows(&mut out, &rows);
    }
    out
}

/// Appends `rows` indented by two spaces, the first column left-aligned, the others right-aligned.
fn push_rows(out: &mut String, rows: &[Vec<String>]) {
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (s, &w))| if c == 0 { format!("{s:<w$}") } else { format!("{s:>w$}") })
            .collect();
        out.push_str("  ");
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn shares_and_indexes_per_segment() {
        // Segment 0: a a b; segment 1: b (and a row with no level); overall a 2/5, b 2/5.
        let p = level_profile("r", true, &names(&["a", "b"]), &[0, 0, 1, 1, 7], &[0, 0, 0, 1, 1], 3);
        let a = &p.levels[0];
        assert_eq!((a.customers, a.overall), (2, 0.4));
        assert_eq!(a.shares, [2.0 / 3.0, 0.0, 0.0]);
        assert_eq!(a.index[0].map(|v| v.round()), Some(167.0));
        assert_eq!(a.index[1], Some(0.0));
        assert_eq!(a.index[2], None, "an empty segment has no index");
        assert_eq!(p.levels[1].shares[1], 0.5);
        assert_eq!(top_level(&p, 0).unwrap().level, "a");
        assert_eq!(top_level(&p, 1).unwrap().level, "b");
    }

    #[test]
    fn numeric_means_and_exact_medians_leave_out_missing_values() {
        let v = [Some(1.0), Some(3.0), None, Some(f64::NAN), Some(10.0), Some(2.0)];
        let p = numeric_profile("age", &v, &[0, 0, 0, 1, 1, 1], 2);
        assert_eq!(p.missing, 2);
        assert_eq!((p.means[0], p.medians[0]), (Some(2.0), Some(2.0)));
        assert_eq!((p.means[1], p.medians[1]), (Some(6.0), Some(6.0)));
        assert_eq!((p.overall_mean, p.overall_median), (Some(4.0), Some(2.5)));
        assert_eq!(p.index[1], Some(150.0));
    }

    #[test]
    fn the_terminal_view_says_each_segments_top_level_in_words() {
        let levels = level_profile(
            "region",
            true,
            &names(&["North", "South"]),
            &[0, 0, 1, 1, 1, 1, 1, 1],
            &[1, 1, 0, 0, 0, 0, 0, 1],
            2,
        );
        let numeric = numeric_profile("age", &[Some(20.0), Some(40.0)], &[0, 1], 2);
        let t = render_columns(&ColumnProfiles { levels: vec![levels], numeric: vec![numeric], numbers: vec![] });
        assert!(t.contains("region (clustered on): share of each segment"), "{t}");
        assert!(t.contains("North: 67% of segment 1, against 25% overall, index 267"), "{t}");
        assert!(t.contains("South: 100% of segment 0, against 75% overall, index 133"), "{t}");
        assert!(t.contains("age (profiled): mean and median per segment"), "{t}");
        assert!(t.lines().any(|l| l.trim_start().starts_with("mean") && l.contains("20 (67)")), "{t}");
    }
}
