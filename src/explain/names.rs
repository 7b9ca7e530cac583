//! Segment names for people, absolute rather than relative: each is read from where the segment's median
//! customer stands in the whole base ([`super::position`]), through one rule table, [`NAME_RULES`] (copied in
//! `docs/NAMING.md`). On a `custseg features` file the names are the RFM vocabulary instead ([`RFM_FEATURES`]):
//! the median customer's R, F and M scores, by the same quintile rule as the file's own scores, through
//! `features::rfm::segment`.

use serde::{Deserialize, Serialize};

use super::position::Position;
use crate::features::rfm;
use crate::format::fmt_num;

/// A test on one feature of a segment's median customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Test {
    /// The median is above at least this share of all customers (0.8: above the base's 80th percentile).
    Above(f64),
    /// The median is below at least this share of all customers (0.8: below the base's 20th percentile).
    Below(f64),
    /// The median is at most this value, in the feature's units.
    AtMost(f64),
}

/// Which part of a name a rule fills: a name is `[when] [habit] who`, e.g. "Recent" "frequent" "high spenders".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    When,
    Habit,
    Who,
}

/// One row of the table: `word` fills `slot` when every test holds (a rule naming a feature that is not in the
/// data does not apply). Within a slot the first rule that applies wins.
#[derive(Debug, Clone, Copy)]
pub struct NameRule {
    pub slot: Slot,
    pub word: &'static str,
    pub tests: &'static [(&'static str, Test)],
}

const fn r(slot: Slot, word: &'static str, tests: &'static [(&'static str, Test)]) -> NameRule {
    NameRule { slot, word, tests }
}

use Slot::{Habit, When, Who};
use Test::{Above, AtMost, Below};

/// The naming rules, in order. `Above(0.8)` reads "the segment's median is higher than 80% of all customers'
/// values"; `Below(0.8)` "lower than 80% of them"; `AtMost(v)` compares the median with `v` in the feature's units.
///
/// | slot  | word              | when (every test holds)                                              |
/// |-------|-------------------|----------------------------------------------------------------------|
/// | when  | New               | tenure_days below 80% and at most 365 days                           |
/// | when  | Lapsed            | recency_days above 80%                                               |
/// | when  | Lapsing           | recency_days above 60%                                               |
/// | when  | Recent            | recency_days below 60%                                               |
/// | habit | one-time          | frequency at most 1                                                  |
/// | habit | frequent          | frequency above 80%                                                  |
/// | habit | occasional        | frequency below 80%                                                  |
/// | habit | online            | online_share above 80%                                               |
/// | habit | in-store          | online_share below 80%                                               |
/// | who   | bargain hunters   | frequency above 60% and avg_basket (or avg_order_value) below 80%    |
/// | who   | high spenders     | monetary above 80%                                                   |
/// | who   | big-basket buyers | avg_basket (or avg_order_value) above 80%                            |
/// | who   | returners         | returns_rate (or returns_share) above 80%                            |
/// | who   | low spenders      | monetary below 80%                                                   |
/// | who   | loyal regulars    | frequency above 50% and tenure_days above 50%                        |
/// | who   | customers         | always                                                               |
pub const NAME_RULES: &[NameRule] = &[
    r(When, "New", &[("tenure_days", Below(0.8)), ("tenure_days", AtMost(365.0))]),
    r(When, "Lapsed", &[("recency_days", Above(0.8))]),
    r(When, "Lapsing", &[("recency_days", Above(0.6))]),
    r(When, "Recent", &[("recency_days", Below(0.6))]),
    r(Habit, "one-time", &[("frequency", AtMost(1.0))]),
    r(Habit, "frequent", &[("frequency", Above(0.8))]),
    r(Habit, "occasional", &[("frequency", Below(0.8))]),
    r(Habit, "online", &[("online_share", Above(0.8))]),
    r(Habit, "in-store", &[("online_share", Below(0.8))]),
    r(Who, "bargain hunters", &[("frequency", Above(0.6)), ("avg_basket", Below(0.8))]),
    r(Who, "bargain hunters", &[("frequency", Above(0.6)), ("avg_order_value", Below(0.8))]),
    r(Who, "high spenders", &[("monetary", Above(0.8))]),
    r(Who, "big-basket buyers", &[("avg_basket", Above(0.8))]),
    r(Who, "big-basket buyers", &[("avg_order_value", Above(0.8))]),
    r(Who, "returners", &[("returns_rate", Above(0.8))]),
    r(Who, "returners", &[("returns_share", Above(0.8))]),
    r(Who, "low spenders", &[("monetary", Below(0.8))]),
    r(Who, "loyal regulars", &[("frequency", Above(0.5)), ("tenure_days", Above(0.5))]),
    r(Who, "customers", &[]),
];

/// The features that make a `custseg features` file's RFM vocabulary apply: recency, frequency and monetary,
/// and either the file's `rfm_segment` column or its `avg_order_value` feature.
pub const RFM_FEATURES: [&str; 3] = ["recency_days", "frequency", "monetary"];

/// A segment's name and the facts it was read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentName {
    pub segment: u32,
    pub name: String,
    /// The facts behind the name, e.g. "recency_days median 12: lower than 83% of customers".
    pub basis: Vec<String>,
}

fn holds(test: Test, p: &Position) -> bool {
    match test {
        Above(s) => p.below >= s,
        Below(s) => p.above >= s,
        AtMost(v) => p.median <= v,
    }
}

/// A fact for people about one feature of a median customer.
fn fact(feature: &str, p: &Position) -> String {
    let (word, share) = if p.below >= p.above { ("higher", p.below) } else { ("lower", p.above) };
    // Rounded down: a median above 99.6% of customers is "higher than 99%", never "than 100%".
    format!("{feature} median {}: {word} than {:.0}% of customers", fmt_num(p.median), (share * 100.0).floor())
}

/// Names every segment. `positions[j][f]` is segment `j`'s median customer on feature `f` (named `features[f]`);
/// `rfm_file` says that the input is a `custseg features` file (see [`use_rfm`]). Empty segments are "Empty".
/// Names are unique: where several segments get the same name, each of them gets " (1)", " (2)", … in segment
/// order.
pub fn name_segments(features: &[String], positions: &[Vec<Position>], rfm_file: bool) -> Vec<SegmentName> {
    let at = |nm: &str| features.iter().position(|f| f == nm);
    let rfm = rfm_file && use_rfm(features, true);
    let mut out: Vec<SegmentName> = positions
        .iter()
        .enumerate()
        .map(|(j, pos)| {
            if pos.iter().any(|p| p.median.is_nan()) {
                return SegmentName { segment: j as u32, name: "Empty".into(), basis: vec![] };
            }
            if rfm {
                return rfm_name(j, features, pos);
            }
            let mut words: [Option<&str>; 3] = [None; 3];
            let mut basis = Vec::new();
            for rule in NAME_RULES {
                let slot = rule.slot as usize;
                if words[slot].is_some() {
                    continue;
                }
                let found: Option<Vec<usize>> = rule.tests.iter().map(|(nm, _)| at(nm)).collect();
                let Some(idx) = found else { continue };
                if rule.tests.iter().zip(&idx).all(|((_, t), &f)| holds(*t, &pos[f])) {
                    words[slot] = Some(rule.word);
                    for &f in &idx {
                        let b = fact(&features[f], &pos[f]);
                        if !basis.contains(&b) {
                            basis.push(b);
                        }
                    }
                }
            }
            let name = words.iter().flatten().copied().collect::<Vec<_>>().join(" ");
            SegmentName { segment: j as u32, name: capitalise(&name), basis }
        })
        .collect();
    make_unique(&mut out);
    out
}

/// Whether the RFM vocabulary applies: the features hold recency_days, frequency and monetary, and the input is a
/// features file (`has_rfm_segment`: it has an `rfm_segment` column) or has its `avg_order_value` feature.
pub fn use_rfm(features: &[String], has_rfm_segment: bool) -> bool {
    let has = |nm: &str| features.iter().any(|f| f == nm);
    RFM_FEATURES.iter().all(|f| has(f)) && (has_rfm_segment || has("avg_order_value"))
}

/// The RFM name of a median customer: its scores by the features file's quintile rule
/// (`1 + ⌊5 × share of customers strictly below⌋`, on −recency for R), then `features::rfm::segment`.
fn rfm_name(j: usize, features: &[String], pos: &[Position]) -> SegmentName {
    let get = |nm: &str| &pos[features.iter().position(|f| f == nm).expect("checked by use_rfm")];
    let score = |share: f64| (1.0 + (5.0 * share).floor()).min(5.0) as u8;
    let (rp, fp, mp) = (get("recency_days"), get("frequency"), get("monetary"));
    let (r, f, m) = (score(rp.above), score(fp.below), score(mp.below));
    let basis = vec![
        format!("R {r}, F {f}, M {m} (the segment's median customer scored as in the features file)"),
        fact("recency_days", rp),
        fact("frequency", fp),
        fact("monetary", mp),
    ];
    SegmentName { segment: j as u32, name: rfm::segment(r, f, m).to_string(), basis }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Suffixes " (1)", " (2)", … to every name that several segments share, in segment order.
fn make_unique(names: &mut [SegmentName]) {
    let all: Vec<String> = names.iter().map(|n| n.name.clone()).collect();
    for n in names.iter_mut() {
        let same: Vec<usize> = all.iter().enumerate().filter(|(_, m)| **m == n.name).map(|(i, _)| i).collect();
        if same.len() > 1 {
            let rank = same.iter().position(|&i| i == n.segment as usize).expect("itself") + 1;
            n.name = format!("{} ({rank})", n.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feats(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// A median customer from (median, share below, share above) per feature.
    fn at(v: &[(f64, f64, f64)]) -> Vec<Position> {
        v.iter().map(|&(median, below, above)| Position { median, below, above }).collect()
    }

    const RETAIL: [&str; 5] = ["recency_days", "frequency", "monetary", "avg_basket", "tenure_days"];

    #[test]
    fn the_issues_examples() {
        let f = feats(&RETAIL);
        let champions = at(&[
            (4.0, 0.02, 0.95),
            (50.0, 0.95, 0.03),
            (9000.0, 0.97, 0.02),
            (180.0, 0.96, 0.03),
            (2000.0, 0.97, 0.02),
        ]);
        let lapsed = at(&[(520.0, 0.9, 0.08), (1.0, 0.0, 0.7), (60.0, 0.05, 0.9), (40.0, 0.2, 0.7), (800.0, 0.4, 0.5)]);
        let bargain =
            at(&[(25.0, 0.45, 0.5), (24.0, 0.85, 0.1), (360.0, 0.45, 0.5), (15.0, 0.0, 0.95), (700.0, 0.2, 0.75)]);
        let n = name_segments(&f, &[champions, lapsed, bargain], false);
        let names: Vec<&str> = n.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["Recent frequent high spenders", "Lapsed one-time low spenders", "Frequent bargain hunters"]
        );
        assert!(n[0].basis[0].starts_with("recency_days median 4: lower than 95% of customers"), "{:?}", n[0].basis);
    }

    #[test]
    fn a_tenure_of_518_days_is_never_new_and_at_risk_mentions_recency() {
        let f = feats(&RETAIL);
        // The issue's case: the youngest fifth of the base, but 518 days old.
        let old =
            at(&[(200.0, 0.7, 0.25), (8.0, 0.5, 0.45), (700.0, 0.6, 0.35), (90.0, 0.7, 0.25), (518.0, 0.1, 0.85)]);
        let young = at(&[(14.0, 0.1, 0.85), (1.0, 0.0, 0.6), (80.0, 0.1, 0.85), (55.0, 0.3, 0.6), (40.0, 0.0, 0.95)]);
        let n = name_segments(&f, &[old, young], false);
        assert_eq!(n[0].name, "Lapsing customers");
        assert_eq!(n[1].name, "New one-time low spenders");
    }

    #[test]
    fn unknown_features_get_customers_and_duplicates_get_numbers() {
        let f = feats(&["x", "y"]);
        let p = at(&[(1.0, 0.5, 0.5), (1.0, 0.5, 0.5)]);
        let n = name_segments(&f, &[p.clone(), p.clone(), at(&[(f64::NAN, 0.0, 0.0), (1.0, 0.5, 0.5)])], false);
        let names: Vec<&str> = n.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Customers (1)", "Customers (2)", "Empty"]);
    }

    #[test]
    fn a_features_file_gets_the_rfm_vocabulary() {
        let f = feats(&["recency_days", "frequency", "monetary", "avg_order_value"]);
        assert!(use_rfm(&f, false) && use_rfm(&f[..3], true) && !use_rfm(&f[..3], false));
        // R from the share above (more recent than 85%: R 5), F and M from the share below.
        let champion = at(&[(3.0, 0.05, 0.85), (20.0, 0.9, 0.05), (900.0, 0.82, 0.1), (50.0, 0.5, 0.5)]);
        let at_risk = at(&[(300.0, 0.7, 0.25), (6.0, 0.6, 0.3), (400.0, 0.62, 0.3), (50.0, 0.5, 0.5)]);
        let n = name_segments(&f, &[champion, at_risk], true);
        assert_eq!((n[0].name.as_str(), n[1].name.as_str()), ("Champions", "At Risk"));
        assert!(n[1].basis[0].starts_with("R 2, F 4, M 4"), "{:?}", n[1].basis);
    }
}
