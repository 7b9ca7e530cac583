//! RFM scoring on per-customer figures: R, F and M scores 1–5, the RFM code, the named segments, value tiers by
//! spend, the Pareto figure and a simple lifetime value. Pure functions of slices; no I/O.
//!
//! **Scores.** By default each score is a tie-safe quintile of its figure: with `n` customers and `rank_min(v)`
//! = 1 + the number of customers whose figure is strictly below `v`,
//! `score = 1 + floor(5 × (rank_min − 1) / n)`. Equal figures always share a score (pandas'
//! `qcut(rank(method='first'))` does not: it splits ties by row order), and a figure that is strictly greater
//! never gets a lower score. Ties go to the lower score, so when many customers share the lowest frequency (one
//! order) they all get F = 1 and the next score used may be 2 or more. R is computed on `−recency_days`, so 5 is
//! the most recent. With explicit bins ([`RfmBins`], thresholds `t1 < t2 < t3 < t4`): F and M score
//! `1 + (number of thresholds ≤ value)`; R scores 5 for `recency ≤ t1`, 4 for `≤ t2`, 3 for `≤ t3`, 2 for
//! `≤ t4`, else 1.
//!
//! **Segments.** `FM = ⌊(F + M + 1) / 2⌋` (the mean of F and M, halves rounded up); the segment is the row of
//! [`SEGMENTS`] whose R range and FM range contain the customer's R and FM. The ranges tile the 5 × 5 grid, so
//! every customer gets exactly one segment.
//!
//! **Value tiers** by net spend (`monetary`): with `above` = the number of customers who spent strictly more,
//! `top 1%` if `above < 1% of n`, else `top 1–10%` if `above < 10% of n`, else `top 10–20%` if
//! `above < 20% of n`, else `bottom 80%`; each label says which band of spenders it holds. Ties share a tier, and the biggest spender is always `top 1%`.
//!
//! **Pareto figure:** the smallest share of customers, biggest spenders first, whose net spend reaches 80% of the
//! revenue, where revenue is the sum of the positive net spends (a customer with net returns adds nothing).
//!
//! **Lifetime value:** `clv = annual_spend × expected_lifetime_years`, where
//! `annual_spend = monetary / max(tenure_days / 365, 1)` (no extrapolation for customers younger than a year), and
//! `expected_lifetime_years = min(1 / (1 − retention), 10)` with `retention` = the share of customers whose
//! first purchase was at least 365 days before as-of that bought again in the last 365 days
//! (`recency_days < 365`), i.e. a one-year retention rate under a constant churn `1 − retention` per year. With no
//! such customers the retention is unknown and the lifetime is taken as 1 year; a retention of 1 gives the cap of
//! 10 years. No discounting.

use std::str::FromStr;

use rayon::prelude::*;
use serde::Serialize;

/// One named segment: the R range and the FM range it covers (both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SegmentRule {
    pub name: &'static str,
    pub r: (u8, u8),
    pub fm: (u8, u8),
}

const fn rule(name: &'static str, r: (u8, u8), fm: (u8, u8)) -> SegmentRule {
    SegmentRule { name, r, fm }
}

/// The segment rules, on R and `FM = ⌊(F + M + 1) / 2⌋`. Together they cover each (R, FM) cell exactly once.
///
/// | segment            | R   | FM  |
/// |--------------------|-----|-----|
/// | Champions          | 5   | 4–5 |
/// | Loyal Customers    | 3–4 | 4–5 |
/// | Potential Loyalist | 4–5 | 2–3 |
/// | New Customers      | 5   | 1   |
/// | Promising          | 4   | 1   |
/// | Need Attention     | 3   | 3   |
/// | About To Sleep     | 3   | 1–2 |
/// | At Risk            | 1–2 | 3–4 |
/// | Can't Lose Them    | 1–2 | 5   |
/// | Hibernating        | 2   | 1–2 |
/// | Lost               | 1   | 1–2 |
pub const SEGMENTS: [SegmentRule; 11] = [
    rule("Champions", (5, 5), (4, 5)),
    rule("Loyal Customers", (3, 4), (4, 5)),
    rule("Potential Loyalist", (4, 5), (2, 3)),
    rule("New Customers", (5, 5), (1, 1)),
    rule("Promising", (4, 4), (1, 1)),
    rule("Need Attention", (3, 3), (3, 3)),
    rule("About To Sleep", (3, 3), (1, 2)),
    rule("At Risk", (1, 2), (3, 4)),
    rule("Can't Lose Them", (1, 2), (5, 5)),
    rule("Hibernating", (2, 2), (1, 2)),
    rule("Lost", (1, 1), (1, 2)),
];

/// The value tiers, best first.
pub const TIERS: [&str; 4] = ["top 1%", "top 1–10%", "top 10–20%", "bottom 80%"];

/// The cap on the expected lifetime, in years.
pub const MAX_LIFETIME_YEARS: f64 = 10.0;

/// The combined F and M score: their mean, halves rounded up.
pub fn fm_score(f: u8, m: u8) -> u8 {
    (f + m).div_ceil(2)
}

/// The segment of scores `r`, `f`, `m` (each 1–5).
///
/// # Panics
/// If a score is outside 1–5.
pub fn segment(r: u8, f: u8, m: u8) -> &'static str {
    let fm = fm_score(f, m);
    let inside = |v: u8, (lo, hi): (u8, u8)| lo <= v && v <= hi;
    SEGMENTS
        .iter()
        .find(|s| inside(r, s.r) && inside(fm, s.fm))
        .map(|s| s.name)
        .unwrap_or_else(|| panic!("scores must be 1 to 5, got R={r} F={f} M={m}"))
}

/// The RFM code, e.g. `"543"`.
pub fn rfm_code(r: u8, f: u8, m: u8) -> String {
    format!("{r}{f}{m}")
}

/// The order of `values` ascending (`total_cmp`), and for each value the number of values strictly below it.
fn below_counts(values: &[f64]) -> Vec<usize> {
    let mut idx: Vec<u32> = (0..values.len() as u32).collect();
    idx.par_sort_unstable_by(|&a, &b| values[a as usize].total_cmp(&values[b as usize]));
    let mut below = vec![0usize; values.len()];
    let mut group_start = 0;
    for (pos, &i) in idx.iter().enumerate() {
        if pos > 0 && values[idx[pos - 1] as usize] != values[i as usize] {
            group_start = pos;
        }
        below[i as usize] = group_start;
    }
    below
}

/// Tie-safe quintile scores 1–5, higher values scoring higher: `1 + floor(5 × (rank_min − 1) / n)`.
pub fn quintile_scores(values: &[f64]) -> Vec<u8> {
    let n = values.len() as u64;
    below_counts(values).into_iter().map(|b| (1 + 5 * b as u64 / n) as u8).collect()
}

/// Scores 1–5 from four ascending thresholds: `1 + (number of thresholds ≤ v)`.
pub fn binned_scores(values: &[f64], t: &[f64; 4]) -> Vec<u8> {
    values.iter().map(|&v| 1 + t.iter().filter(|&&x| x <= v).count() as u8).collect()
}

/// Explicit score thresholds, per figure (a figure without thresholds is scored by quintiles).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RfmBins {
    /// Recency in days: `≤ t1` → 5, `≤ t2` → 4, `≤ t3` → 3, `≤ t4` → 2, else 1.
    pub recency: Option<[f64; 4]>,
    /// Frequency and monetary: `1 + (number of thresholds ≤ value)`.
    pub frequency: Option<[f64; 4]>,
    pub monetary: Option<[f64; 4]>,
}

impl FromStr for RfmBins {
    type Err = String;

    /// Parses `r=30,90,180,365;f=2,3,5,10;m=100,250,500,1000`: any of the three parts, each four strictly
    /// increasing finite numbers.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut bins = RfmBins::default();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, list) = part
                .split_once('=')
                .ok_or_else(|| format!("RFM bins '{part}': expected r=, f= or m= followed by four thresholds"))?;
            let slot = match name.trim() {
                "r" | "R" => &mut bins.recency,
                "f" | "F" => &mut bins.frequency,
                "m" | "M" => &mut bins.monetary,
                other => return Err(format!("RFM bins: unknown figure '{other}' (use r, f or m)")),
            };
            if slot.is_some() {
                return Err(format!("RFM bins: '{}' is given twice", name.trim()));
            }
            let t: Vec<f64> = list
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("RFM bins '{part}': {e}"))?;
            let t: [f64; 4] = t
                .try_into()
                .map_err(|t: Vec<f64>| format!("RFM bins '{part}': need 4 thresholds (5 scores), got {}", t.len()))?;
            if t.iter().any(|x| !x.is_finite()) || t.windows(2).any(|w| w[0] >= w[1]) {
                return Err(format!("RFM bins '{part}': thresholds must be finite and strictly increasing"));
            }
            *slot = Some(t);
        }
        if bins == RfmBins::default() {
            return Err("RFM bins: nothing given (e.g. r=30,90,180,365;f=2,3,5,10)".into());
        }
        Ok(bins)
    }
}

/// R scores, 5 = most recent: quintiles of `−recency`, or the recency bins.
pub fn recency_scores(recency_days: &[i32], bins: Option<&[f64; 4]>) -> Vec<u8> {
    match bins {
        Some(t) => recency_days.iter().map(|&r| 5 - t.iter().filter(|&&x| (r as f64) > x).count() as u8).collect(),
        None => quintile_scores(&recency_days.iter().map(|&r| -(r as f64)).collect::<Vec<_>>()),
    }
}

/// Scores of a figure where higher is better: the bins if given, else quintiles.
pub fn scores(values: &[f64], bins: Option<&[f64; 4]>) -> Vec<u8> {
    match bins {
        Some(t) => binned_scores(values, t),
        None => quintile_scores(values),
    }
}

/// The value tier (an entry of [`TIERS`]) of each customer by net spend.
pub fn value_tiers(monetary: &[f64]) -> Vec<&'static str> {
    let n = monetary.len();
    let neg: Vec<f64> = monetary.iter().map(|&m| -m).collect();
    below_counts(&neg)
        .into_iter()
        .map(|above| {
            if above * 100 < n {
                TIERS[0]
            } else if above * 10 < n {
                TIERS[1]
            } else if above * 5 < n {
                TIERS[2]
            } else {
                TIERS[3]
            }
        })
        .collect()
}

/// The share of customers, biggest net spenders first, needed to reach 80% of the revenue (the sum of positive net
/// spends); `None` when there is no revenue.
pub fn pareto_share(monetary: &[f64]) -> Option<f64> {
    let mut pos: Vec<f64> = monetary.iter().copied().filter(|&m| m > 0.0).collect();
    pos.sort_unstable_by(|a, b| b.total_cmp(a));
    let total: f64 = pos.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let target = 0.8 * total;
    let mut cum = 0.0;
    for (i, m) in pos.iter().enumerate() {
        cum += m;
        if cum >= target {
            return Some((i + 1) as f64 / monetary.len() as f64);
        }
    }
    // Rounding kept the running sum a hair below the target: every positive spender is needed.
    Some(pos.len() as f64 / monetary.len() as f64)
}

/// The observed one-year retention and the expected lifetime it implies (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lifetime {
    /// Customers whose first purchase was at least 365 days before as-of.
    pub cohort: u64,
    /// Of those, the share that bought in the last 365 days; `None` for an empty cohort.
    pub retention: Option<f64>,
    /// `min(1 / (1 − retention), 10)`, or 1 when the retention is unknown.
    pub expected_years: f64,
}

pub fn lifetime(recency_days: &[i32], tenure_days: &[i32]) -> Lifetime {
    let mut cohort = 0u64;
    let mut retained = 0u64;
    for (&r, &t) in recency_days.iter().zip(tenure_days) {
        if t >= 365 {
            cohort += 1;
            retained += u64::from(r < 365);
        }
    }
    let retention = (cohort > 0).then(|| retained as f64 / cohort as f64);
    let expected_years = match retention {
        None => 1.0,
        Some(r) if r >= 1.0 => MAX_LIFETIME_YEARS,
        Some(r) => (1.0 / (1.0 - r)).min(MAX_LIFETIME_YEARS),
    };
    Lifetime { cohort, retention, expected_years }
}

/// `monetary / max(tenure_days / 365, 1) × expected_years` per customer.
pub fn clv(monetary: &[f64], tenure_days: &[i32], life: &Lifetime) -> Vec<f64> {
    monetary.iter().zip(tenure_days).map(|(&m, &t)| m / (t as f64 / 365.0).max(1.0) * life.expected_years).collect()
}

/// How to score.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RfmOptions {
    /// Explicit thresholds instead of quintiles (per figure).
    pub bins: RfmBins,
}

/// Customers per segment or tier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedCount {
    pub name: &'static str,
    pub customers: u64,
}

/// What scoring found, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfmSummary {
    /// Every segment of [`SEGMENTS`], in table order, with its customers (possibly 0).
    pub segments: Vec<NamedCount>,
    /// Every tier of [`TIERS`], best first.
    pub tiers: Vec<NamedCount>,
    /// See [`pareto_share`].
    pub pareto_share: Option<f64>,
    pub lifetime: Lifetime,
    /// The figure the value tiers, the Pareto share and CLV are computed on: `monetary`, or `gross_margin` with
    /// a cost or margin column.
    pub value_basis: &'static str,
}

/// The RFM columns, one value per customer.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmColumns {
    pub r: Vec<u8>,
    pub f: Vec<u8>,
    pub m: Vec<u8>,
    pub code: Vec<String>,
    pub segment: Vec<&'static str>,
    pub tier: Vec<&'static str>,
    pub clv: Vec<f64>,
    pub summary: RfmSummary,
}

/// Scores every customer. The slices have one entry per customer. R, F and M score recency, frequency and
/// `monetary`; the value tiers, the Pareto share and CLV are computed on `value`, which is named `value_basis`
/// (net spend, or gross margin).
pub fn score(
    recency_days: &[i32],
    frequency: &[i64],
    monetary: &[f64],
    tenure_days: &[i32],
    value: (&[f64], &'static str),
    opts: &RfmOptions,
) -> RfmColumns {
    let (value, value_basis) = value;
    let freq: Vec<f64> = frequency.iter().map(|&f| f as f64).collect();
    let ((r, f), (m, tier)) = rayon::join(
        || {
            rayon::join(
                || recency_scores(recency_days, opts.bins.recency.as_ref()),
                || scores(&freq, opts.bins.frequency.as_ref()),
            )
        },
        || rayon::join(|| scores(monetary, opts.bins.monetary.as_ref()), || value_tiers(value)),
    );
    let code = (0..r.len()).into_par_iter().map(|i| rfm_code(r[i], f[i], m[i])).collect();
    let segment: Vec<&'static str> = (0..r.len()).into_par_iter().map(|i| segment(r[i], f[i], m[i])).collect();
    let life = lifetime(recency_days, tenure_days);
    let clv = clv(value, tenure_days, &life);
    let count = |names: &[&'static str], of: &[&'static str]| -> Vec<NamedCount> {
        names
            .iter()
            .map(|&name| NamedCount { name, customers: of.iter().filter(|&&s| s == name).count() as u64 })
            .collect()
    };
    let seg_names: Vec<&'static str> = SEGMENTS.iter().map(|s| s.name).collect();
    let summary = RfmSummary {
        segments: count(&seg_names, &segment),
        tiers: count(&TIERS, &tier),
        pareto_share: pareto_share(value),
        lifetime: life,
        value_basis,
    };
    RfmColumns { r, f, m, code, segment, tier, clv, summary }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_tile_the_grid_exactly_once() {
        for r in 1..=5u8 {
            for fm in 1..=5u8 {
                let hits: Vec<&str> = SEGMENTS
                    .iter()
                    .filter(|s| s.r.0 <= r && r <= s.r.1 && s.fm.0 <= fm && fm <= s.fm.1)
                    .map(|s| s.name)
                    .collect();
                assert_eq!(hits.len(), 1, "R={r} FM={fm}: {hits:?}");
            }
        }
    }

    /// The segment of R and FM, with F = M = FM (so FM is exactly that).
    fn seg(r: u8, fm: u8) -> &'static str {
        segment(r, fm, fm)
    }

    #[test]
    fn champions_are_recent_and_strong() {
        assert_eq!(seg(5, 5), "Champions");
        assert_eq!(seg(5, 4), "Champions");
        assert_ne!(seg(4, 5), "Champions");
        assert_ne!(seg(5, 3), "Champions");
    }

    #[test]
    fn loyal_customers_are_fairly_recent_and_strong() {
        for (r, fm) in [(3, 4), (3, 5), (4, 4), (4, 5)] {
            assert_eq!(seg(r, fm), "Loyal Customers", "R={r} FM={fm}");
        }
        assert_ne!(seg(2, 5), "Loyal Customers");
    }

    #[test]
    fn potential_loyalists_are_recent_and_middling() {
        for (r, fm) in [(4, 2), (4, 3), (5, 2), (5, 3)] {
            assert_eq!(seg(r, fm), "Potential Loyalist", "R={r} FM={fm}");
        }
    }

    #[test]
    fn new_customers_and_promising_are_recent_and_weak() {
        assert_eq!(seg(5, 1), "New Customers");
        assert_eq!(seg(4, 1), "Promising");
    }

    #[test]
    fn need_attention_is_the_middle_cell() {
        assert_eq!(seg(3, 3), "Need Attention");
    }

    #[test]
    fn about_to_sleep_is_middling_recency_and_weak() {
        assert_eq!(seg(3, 1), "About To Sleep");
        assert_eq!(seg(3, 2), "About To Sleep");
    }

    #[test]
    fn at_risk_and_cant_lose_them_are_lapsed_good_customers() {
        for (r, fm) in [(1, 3), (1, 4), (2, 3), (2, 4)] {
            assert_eq!(seg(r, fm), "At Risk", "R={r} FM={fm}");
        }
        assert_eq!(seg(1, 5), "Can't Lose Them");
        assert_eq!(seg(2, 5), "Can't Lose Them");
    }

    #[test]
    fn hibernating_and_lost_are_lapsed_weak_customers() {
        assert_eq!(seg(2, 1), "Hibernating");
        assert_eq!(seg(2, 2), "Hibernating");
        assert_eq!(seg(1, 1), "Lost");
        assert_eq!(seg(1, 2), "Lost");
    }

    #[test]
    fn fm_rounds_halves_up() {
        assert_eq!(fm_score(1, 2), 2);
        assert_eq!(fm_score(4, 5), 5);
        assert_eq!(fm_score(3, 3), 3);
        assert_eq!(fm_score(1, 1), 1);
        // R=5, F=5, M=2: FM = 4 → Champions; F=4, M=2: FM = 3 → Potential Loyalist.
        assert_eq!(segment(5, 5, 2), "Champions");
        assert_eq!(segment(5, 4, 2), "Potential Loyalist");
        assert_eq!(rfm_code(5, 4, 3), "543");
    }

    #[test]
    fn quintiles_of_distinct_values_are_even() {
        let v: Vec<f64> = (0..10).map(|i| i as f64).collect();
        assert_eq!(quintile_scores(&v), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        // Order does not matter.
        let rev: Vec<f64> = v.iter().rev().copied().collect();
        assert_eq!(quintile_scores(&rev), [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
    }

    #[test]
    fn equal_values_share_a_score() {
        // Six customers with one order and four with more: rank_min of the ones is 1 → score 1 for all six.
        let v = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 7.0];
        assert_eq!(quintile_scores(&v), [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]);
        let all_same = [4.0; 7];
        assert_eq!(quintile_scores(&all_same), [1; 7]);
        assert_eq!(quintile_scores(&[3.0]), [1]);
        assert!(quintile_scores(&[]).is_empty());
        // -0.0 and 0.0 are equal figures.
        assert_eq!(quintile_scores(&[0.0, -0.0, 1.0]), [1, 1, 4]);
    }

    #[test]
    fn a_strictly_greater_value_never_scores_lower() {
        let v: Vec<f64> = (0..97).map(|i| ((i * 37) % 23) as f64).collect();
        let s = quintile_scores(&v);
        for i in 0..v.len() {
            for j in 0..v.len() {
                if v[i] > v[j] {
                    assert!(s[i] >= s[j]);
                }
                if v[i] == v[j] {
                    assert_eq!(s[i], s[j]);
                }
            }
        }
        assert!(s.contains(&1) && s.contains(&5));
    }

    #[test]
    fn recency_scores_are_reversed() {
        let r = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90];
        assert_eq!(recency_scores(&r, None), [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
        let bins = [30.0, 90.0, 180.0, 365.0];
        assert_eq!(recency_scores(&[0, 30, 31, 90, 180, 200, 365, 366], Some(&bins)), [5, 5, 4, 4, 3, 2, 2, 1]);
    }

    #[test]
    fn bins_count_thresholds_reached() {
        let t = [2.0, 3.0, 5.0, 10.0];
        assert_eq!(binned_scores(&[1.0, 2.0, 3.0, 4.0, 5.0, 9.0, 10.0, 100.0], &t), [1, 2, 3, 3, 4, 4, 5, 5]);
    }

    #[test]
    fn bins_parse_and_refuse_bad_lists() {
        let b: RfmBins = "r=30,90,180,365; f=2,3,5,10".parse().unwrap();
        assert_eq!(b.recency, Some([30.0, 90.0, 180.0, 365.0]));
        assert_eq!(b.frequency, Some([2.0, 3.0, 5.0, 10.0]));
        assert_eq!(b.monetary, None);
        for bad in [
            "",
            "r=1,2,3",
            "r=1,2,3,4,5",
            "r=4,3,2,1",
            "r=1,1,2,3",
            "x=1,2,3,4",
            "r=1,2,3,4;r=5,6,7,8",
            "m=1,2,three,4",
            "m 1,2,3,4",
            "m=1,2,3,inf",
        ] {
            let e = bad.parse::<RfmBins>().unwrap_err();
            assert!(e.starts_with("RFM bins"), "{bad}: {e}");
        }
    }

    #[test]
    fn value_tiers_by_spend_with_ties() {
        let m: Vec<f64> = (1..=100).map(|i| i as f64).collect();
        let t = value_tiers(&m);
        let count = |name| t.iter().filter(|&&x| x == name).count();
        assert_eq!((count("top 1%"), count("top 1–10%"), count("top 10–20%"), count("bottom 80%")), (1, 9, 10, 80));
        assert_eq!(t[99], "top 1%");
        assert_eq!(t[90], "top 1–10%");
        assert_eq!(t[80], "top 10–20%");
        assert_eq!(t[79], "bottom 80%");
        // Ties share the better tier.
        let t = value_tiers(&[5.0, 5.0, 1.0, 1.0, 1.0]);
        assert_eq!(t, ["top 1%", "top 1%", "bottom 80%", "bottom 80%", "bottom 80%"]);
    }

    #[test]
    fn pareto_on_a_hand_made_list() {
        // Revenue 100: the top two reach 80 → 2 of 5 customers.
        assert_eq!(pareto_share(&[10.0, 50.0, 5.0, 30.0, 5.0]), Some(0.4));
        // Net returners count as customers but not as revenue: 60 + 20 = 80 of 100 → 2 of 4.
        assert_eq!(pareto_share(&[60.0, 20.0, 20.0, -15.0]), Some(0.5));
        // Even spread: 8 of 10.
        assert_eq!(pareto_share(&[1.0; 10]), Some(0.8));
        // One customer makes everything.
        assert_eq!(pareto_share(&[100.0, 0.0, 0.0, 0.0]), Some(0.25));
        assert_eq!(pareto_share(&[0.0, -3.0]), None);
        assert_eq!(pareto_share(&[]), None);
    }

    #[test]
    fn lifetime_from_one_year_retention() {
        // Cohort: tenure ≥ 365 → customers 0, 1, 2, 3; retained (recency < 365): 0 and 1 → 0.5 → 2 years.
        let recency = [10, 364, 365, 500, 5];
        let tenure = [400, 365, 700, 900, 100];
        let l = lifetime(&recency, &tenure);
        assert_eq!(l, Lifetime { cohort: 4, retention: Some(0.5), expected_years: 2.0 });
        // annual spend: 730 over 730 days → 365/yr; 100 over 100 days → 100 (no extrapolation).
        assert_eq!(clv(&[730.0, 100.0], &[730, 100], &l), [730.0, 200.0]);
        let none = lifetime(&[1, 2], &[10, 20]);
        assert_eq!((none.retention, none.expected_years), (None, 1.0));
        let all = lifetime(&[1], &[400]);
        assert_eq!((all.retention, all.expected_years), (Some(1.0), 10.0));
        let most = lifetime(&[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 999], &[400; 13]);
        assert_eq!(most.expected_years, 10.0, "1/(1-12/13) = 13 is capped");
    }

    #[test]
    fn score_puts_it_together() {
        let c = score(
            &[0, 400, 30, 200, 5],
            &[10, 1, 3, 2, 6],
            &[900.0, 20.0, 150.0, 80.0, 400.0],
            &[800, 400, 300, 500, 700],
            (&[900.0, 20.0, 150.0, 80.0, 400.0], "monetary"),
            &RfmOptions::default(),
        );
        assert_eq!(c.r, [5, 1, 3, 2, 4]);
        assert_eq!(c.f, [5, 1, 3, 2, 4]);
        assert_eq!(c.m, [5, 1, 3, 2, 4]);
        assert_eq!(c.code[0], "555");
        assert_eq!(c.segment, ["Champions", "Lost", "Need Attention", "Hibernating", "Loyal Customers"]);
        let total: u64 = c.summary.segments.iter().map(|s| s.customers).sum();
        assert_eq!(total, 5);
        assert_eq!(c.summary.segments.len(), SEGMENTS.len());
        assert_eq!(c.tier[0], "top 1%");
        assert_eq!(c.summary.value_basis, "monetary");
    }

    #[test]
    fn tiers_pareto_and_clv_follow_the_value_not_monetary() {
        let monetary = [900.0, 20.0, 150.0, 80.0, 400.0];
        let margin = [10.0, 15.0, 100.0, 20.0, 5.0];
        let c =
            score(&[0, 1, 2, 3, 4], &[1; 5], &monetary, &[400; 5], (&margin, "gross_margin"), &RfmOptions::default());
        assert_eq!(c.m, [5, 1, 3, 2, 4], "M still scores spend");
        assert_eq!(c.tier[2], "top 1%", "the biggest margin, not the biggest spend");
        assert_eq!(c.summary.value_basis, "gross_margin");
        assert_eq!(c.summary.pareto_share, pareto_share(&margin));
        assert_eq!(c.clv, clv(&margin, &[400; 5], &c.summary.lifetime));
    }
}
