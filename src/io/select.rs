//! The default feature selection (`ReadOptions::features` is `None`, no `--features`): which numeric columns
//! become features, and which are left out and why.
//!
//! The candidates are the numeric columns other than the ID, the weight and `extra_columns`, in file order. Two
//! rules then leave some out, so that a file written by `custseg features` clusters as it is:
//!
//! 1. **Derived columns** ([`NON_CLUSTERING`]: the BG/NBD inputs, the R/F/M scores and CLV) are left out: they
//!    restate the behavioural columns (ranks of recency, frequency and spend; spend times a constant; copies of
//!    frequency and tenure), so keeping them would weigh those behaviours several times over.
//! 2. **Null-by-design columns** ([`NULL_BY_DESIGN`]: `days_between_purchases`, `returns_share`) are left out
//!    when they have missing values and `missing` is [`Missing::Fail`]: such a value means the figure does not
//!    exist for that customer (one purchase day), so failing would stop every features file, dropping the rows
//!    would drop the one-time buyers, and a mean would invent a gap. With `Missing::Drop` or `Missing::Mean` the
//!    caller has said what to do, and the column is kept.
//!
//! Neither rule ever leaves no feature: if it would, it leaves nothing out. Named features (`--features`) are
//! taken as given, so a named column with missing values is still an error without `--missing`.

use std::fmt;

use super::reader::Missing;
use crate::features::columns::{DAYS_BETWEEN_PURCHASES, NON_CLUSTERING, NULL_BY_DESIGN, RETURNS_SHARE};

/// Why the default selection left a numeric column out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Rule 1: a derived column of a features file ([`NON_CLUSTERING`]).
    Derived,
    /// Rule 2: a null-by-design column ([`NULL_BY_DESIGN`]) with this many nulls and NaN/infinite values, read
    /// with `Missing::Fail`.
    Missing { nulls: usize, non_finite: usize },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SkipReason::Derived => f.write_str("derived from the other columns"),
            SkipReason::Missing { nulls, non_finite } => f.write_str(&missing_counts(nulls, non_finite)),
        }
    }
}

/// `3 null values`, `2 NaN/infinite values` or both: the wording of the missing-value error.
pub(crate) fn missing_counts(nulls: usize, non_finite: usize) -> String {
    match (nulls, non_finite) {
        (n, 0) => format!("{n} null values"),
        (0, b) => format!("{b} NaN/infinite values"),
        (n, b) => format!("{n} null values and {b} NaN/infinite values"),
    }
}

/// Rule 1: whether a default candidate is a derived column of a features file.
pub fn is_derived(name: &str) -> bool {
    NON_CLUSTERING.contains(&name)
}

/// Rule 1 over the candidates (names in file order): the positions kept and those left out as derived. If every
/// candidate is derived, all are kept.
pub fn split_derived<S: AsRef<str>>(candidates: &[S]) -> (Vec<usize>, Vec<usize>) {
    let (derived, kept): (Vec<usize>, Vec<usize>) =
        (0..candidates.len()).partition(|&i| is_derived(candidates[i].as_ref()));
    if kept.is_empty() {
        return ((0..candidates.len()).collect(), Vec::new());
    }
    (kept, derived)
}

/// Rule 2 over the default features after decoding: for each feature, its reason to be left out, from its
/// counts of nulls and NaN/infinite values over all files. If every feature would go, none does.
pub fn missing_skips(
    names: &[String],
    nulls: &[usize],
    non_finite: &[usize],
    missing: Missing,
) -> Vec<Option<SkipReason>> {
    let skips: Vec<Option<SkipReason>> = (0..names.len())
        .map(|j| {
            let gaps = nulls[j] + non_finite[j] > 0;
            (missing == Missing::Fail && gaps && NULL_BY_DESIGN.contains(&names[j].as_str()))
                .then_some(SkipReason::Missing { nulls: nulls[j], non_finite: non_finite[j] })
        })
        .collect();
    if skips.iter().all(Option::is_some) {
        return vec![None; names.len()];
    }
    skips
}

/// The log line for the derived columns left out (rule 1).
pub fn derived_message<S: AsRef<str>>(columns: &[S]) -> String {
    let list = columns.iter().map(|c| c.as_ref()).collect::<Vec<_>>().join(", ");
    format!(
        "default features: left out {list}: BG/NBD inputs, R/F/M scores and CLV of a features file restate the \
         behavioural columns; name them in --features to cluster on them"
    )
}

/// The log line for a null-by-design column left out (rule 2); `files` names where the values are missing.
pub fn missing_message(column: &str, reason: SkipReason, files: &str) -> String {
    let why = match column {
        DAYS_BETWEEN_PURCHASES => ": a customer with one purchase day has no gap between purchases",
        RETURNS_SHARE => ": a customer with returns but no purchases has no returns share",
        _ => "",
    };
    format!(
        "default features: left out '{column}', which has {reason} (in {files}){why}; to cluster on it, name it \
         in --features and add --missing mean or --missing drop"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn derived_columns_of_a_features_file_are_left_out() {
        let c = ["recency_days", "bgnbd_x", "frequency", "r_score", "monetary", "clv", "bgnbd_T"];
        assert_eq!(split_derived(&c), (vec![0, 2, 4], vec![1, 3, 5, 6]));
    }

    #[test]
    fn every_non_clustering_column_is_derived_and_no_behavioural_one_is() {
        for c in NON_CLUSTERING {
            assert!(is_derived(c), "{c}");
        }
        for c in ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "n_categories"] {
            assert!(!is_derived(c), "{c}");
        }
        // Names match exactly: `bgnbd_T` is not `bgnbd_t`.
        assert!(!is_derived("bgnbd_t") && !is_derived("CLV"));
    }

    #[test]
    fn a_file_of_only_derived_columns_keeps_them_all() {
        assert_eq!(split_derived(&["r_score", "f_score", "m_score"]), (vec![0, 1, 2], vec![]));
    }

    #[test]
    fn a_null_by_design_column_with_missing_values_is_left_out_under_fail() {
        let n = names(&["frequency", "days_between_purchases", "returns_share"]);
        let s = missing_skips(&n, &[0, 5, 1], &[0, 0, 2], Missing::Fail);
        assert_eq!(
            s,
            [
                None,
                Some(SkipReason::Missing { nulls: 5, non_finite: 0 }),
                Some(SkipReason::Missing { nulls: 1, non_finite: 2 })
            ]
        );
    }

    #[test]
    fn a_null_by_design_column_without_missing_values_is_kept() {
        let n = names(&["frequency", "days_between_purchases"]);
        assert_eq!(missing_skips(&n, &[0, 0], &[0, 0], Missing::Fail), [None, None]);
    }

    #[test]
    fn null_by_design_columns_are_kept_when_missing_is_drop_or_mean() {
        let n = names(&["frequency", "days_between_purchases"]);
        for m in [Missing::Drop, Missing::Mean] {
            assert_eq!(missing_skips(&n, &[0, 5], &[0, 0], m), [None, None], "{m:?}");
        }
    }

    #[test]
    fn other_columns_with_missing_values_are_kept_for_the_missing_check() {
        let n = names(&["frequency", "spend"]);
        assert_eq!(missing_skips(&n, &[0, 3], &[0, 1], Missing::Fail), [None, None]);
    }

    #[test]
    fn missing_values_never_leave_no_feature() {
        let n = names(&["days_between_purchases"]);
        assert_eq!(missing_skips(&n, &[4], &[0], Missing::Fail), [None]);
    }

    #[test]
    fn messages_say_what_was_left_out_why_and_how_to_use_it() {
        let m = derived_message(&["r_score", "clv"]);
        assert!(m.contains("left out r_score, clv") && m.contains("--features"), "{m}");
        let m =
            missing_message("days_between_purchases", SkipReason::Missing { nulls: 12, non_finite: 0 }, "cust.parquet");
        assert_eq!(
            m,
            "default features: left out 'days_between_purchases', which has 12 null values (in cust.parquet): a \
             customer with one purchase day has no gap between purchases; to cluster on it, name it in --features \
             and add --missing mean or --missing drop"
        );
        assert!(!m.contains('\n'));
    }
}
