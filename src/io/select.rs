//! The default feature selection (`ReadOptions::features` is `None`, no `--features`): which numeric columns
//! become features, and which are left out and why.
//!
//! The candidates are the numeric columns other than the ID, the weight and `extra_columns`, in file order. Two
//! rules then leave some out, by the names in [`DefaultSelection`] (which the caller supplies: for the files
//! `custseg features` writes, their derived and null-by-design columns), so that such a file clusters as it is:
//!
//! 1. **Derived columns** (`DefaultSelection::derived`: for a features file the BG/NBD inputs, the R/F/M scores
//!    and CLV) are left out: they restate other columns (ranks of recency, frequency and spend; spend times a
//!    constant; copies of frequency and tenure), so keeping them would weigh those behaviours several times over.
//! 2. **Null-by-design columns** (`DefaultSelection::null_by_design`: `days_between_purchases`, `returns_share`)
//!    are left out when they have missing values and `missing` is [`Missing::Fail`]: such a value means the figure
//!    does not exist for that customer (one purchase day), so failing would stop every features file, dropping
//!    the rows would drop the one-time buyers, and a mean would invent a gap. With `Missing::Drop` or
//!    `Missing::Mean` the caller has said what to do, and the column is kept.
//!
//! Neither rule ever leaves no feature: if it would, it leaves nothing out. Named features (`--features`) are
//! taken as given, so a named column with missing values is still an error without `--missing`.
//!
//! Every other column is accounted for too (`columns`): text, true/false, dates and other types are left out with
//! the flag that would use them, and two more rules leave out integers that are identifiers rather than amounts
//! (a code by name, or a different value on every row), with a warning.

use std::fmt;

use super::options::{DefaultSelection, Missing};

/// Why the default selection left a column out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Rule 1: a derived column (`DefaultSelection::derived`).
    Derived,
    /// Rule 2: a null-by-design column (`DefaultSelection::null_by_design`) with this many nulls and
    /// NaN/infinite values, read with `Missing::Fail`.
    Missing { nulls: usize, non_finite: usize },
    /// A text column (string, large string, string view, or a dictionary of them).
    Text,
    /// A text column whose every value is a number (and whose name does not say it is a code).
    NumericText,
    /// A true/false column.
    Boolean,
    /// A date, time or timestamp column.
    Date,
    /// A column of a type no flag reads (lists, structs, binary...).
    Unsupported,
    /// An integer column whose name says it is a code (`*_id`, `*code`, `zip`, `postcode`).
    CodeName,
    /// An integer column with a different value on every row (of at least `columns::DISTINCT_MIN_ROWS`).
    AllDistinct,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SkipReason::Derived => f.write_str("derived from the other columns"),
            SkipReason::Missing { nulls, non_finite } => f.write_str(&missing_counts(nulls, non_finite)),
            SkipReason::Text => f.write_str("text"),
            SkipReason::NumericText => f.write_str("text whose values are all numbers"),
            SkipReason::Boolean => f.write_str("true/false"),
            SkipReason::Date => f.write_str("a date or time"),
            SkipReason::Unsupported => f.write_str("of a type custseg does not read"),
            SkipReason::CodeName => f.write_str("an integer whose name says it is a code"),
            SkipReason::AllDistinct => f.write_str("an integer with a different value on every row"),
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

/// Rule 1 over the candidates (names in file order): the positions kept and those left out as derived. If every
/// candidate is derived, all are kept.
pub(crate) fn split_derived<S: AsRef<str>>(candidates: &[S], sel: &DefaultSelection) -> (Vec<usize>, Vec<usize>) {
    let (derived, kept): (Vec<usize>, Vec<usize>) =
        (0..candidates.len()).partition(|&i| sel.derived.iter().any(|d| d == candidates[i].as_ref()));
    if kept.is_empty() {
        return ((0..candidates.len()).collect(), Vec::new());
    }
    (kept, derived)
}

/// Rule 2 over the default features after decoding: for each feature, its reason to be left out, from its
/// counts of nulls and NaN/infinite values over all files. If every feature would go, none does.
pub(crate) fn missing_skips(
    names: &[String],
    nulls: &[usize],
    non_finite: &[usize],
    missing: Missing,
    sel: &DefaultSelection,
) -> Vec<Option<SkipReason>> {
    let skips: Vec<Option<SkipReason>> = (0..names.len())
        .map(|j| {
            let gaps = nulls[j] + non_finite[j] > 0;
            (missing == Missing::Fail && gaps && null_by_design_why(sel, &names[j]).is_some())
                .then_some(SkipReason::Missing { nulls: nulls[j], non_finite: non_finite[j] })
        })
        .collect();
    if skips.iter().all(Option::is_some) {
        return vec![None; names.len()];
    }
    skips
}

/// The reason a null-by-design column's values are missing, or `None` if `column` is not one.
fn null_by_design_why<'a>(sel: &'a DefaultSelection, column: &str) -> Option<&'a str> {
    sel.null_by_design.iter().find(|(c, _)| c == column).map(|(_, why)| why.as_str())
}

/// The log line for the derived columns left out (rule 1).
pub(crate) fn derived_message<S: AsRef<str>>(columns: &[S], sel: &DefaultSelection) -> String {
    let list = columns.iter().map(|c| c.as_ref()).collect::<Vec<_>>().join(", ");
    format!("default features: left out {list}: {}; name them in --features to cluster on them", sel.derived_why)
}

/// The log line for a null-by-design column left out (rule 2); `files` names where the values are missing.
pub(crate) fn missing_message(column: &str, reason: SkipReason, files: &str, sel: &DefaultSelection) -> String {
    let why = match null_by_design_why(sel, column) {
        Some(why) if !why.is_empty() => format!(": {why}"),
        _ => String::new(),
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

    /// A selection shaped like a features file's (the real lists are `features::columns`').
    fn sel() -> DefaultSelection {
        DefaultSelection {
            derived: names(&["bgnbd_x", "bgnbd_T", "r_score", "clv"]),
            derived_why: "scores restate the behavioural columns".into(),
            null_by_design: vec![
                ("days_between_purchases".into(), "one purchase day has no gap".into()),
                ("returns_share".into(), String::new()),
            ],
        }
    }

    #[test]
    fn derived_columns_are_left_out() {
        let c = ["recency_days", "bgnbd_x", "frequency", "r_score", "monetary", "clv", "bgnbd_T"];
        assert_eq!(split_derived(&c, &sel()), (vec![0, 2, 4], vec![1, 3, 5, 6]));
    }

    #[test]
    fn derived_names_match_exactly() {
        // `bgnbd_T` is not `bgnbd_t`, `clv` is not `CLV`.
        assert_eq!(split_derived(&["bgnbd_t", "CLV", "clv"], &sel()), (vec![0, 1], vec![2]));
    }

    #[test]
    fn without_lists_nothing_is_left_out() {
        let none = DefaultSelection::default();
        assert_eq!(split_derived(&["r_score", "clv", "x"], &none), (vec![0, 1, 2], vec![]));
        let n = names(&["frequency", "days_between_purchases"]);
        assert_eq!(missing_skips(&n, &[0, 5], &[0, 0], Missing::Fail, &none), [None, None]);
    }

    #[test]
    fn a_file_of_only_derived_columns_keeps_them_all() {
        assert_eq!(split_derived(&["r_score", "bgnbd_x", "clv"], &sel()), (vec![0, 1, 2], vec![]));
    }

    #[test]
    fn a_null_by_design_column_with_missing_values_is_left_out_under_fail() {
        let n = names(&["frequency", "days_between_purchases", "returns_share"]);
        let s = missing_skips(&n, &[0, 5, 1], &[0, 0, 2], Missing::Fail, &sel());
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
        assert_eq!(missing_skips(&n, &[0, 0], &[0, 0], Missing::Fail, &sel()), [None, None]);
    }

    #[test]
    fn null_by_design_columns_are_kept_when_missing_is_drop_or_mean() {
        let n = names(&["frequency", "days_between_purchases"]);
        for m in [Missing::Drop, Missing::Mean] {
            assert_eq!(missing_skips(&n, &[0, 5], &[0, 0], m, &sel()), [None, None], "{m:?}");
        }
    }

    #[test]
    fn other_columns_with_missing_values_are_kept_for_the_missing_check() {
        let n = names(&["frequency", "spend"]);
        assert_eq!(missing_skips(&n, &[0, 3], &[0, 1], Missing::Fail, &sel()), [None, None]);
    }

    #[test]
    fn missing_values_never_leave_no_feature() {
        let n = names(&["days_between_purchases"]);
        assert_eq!(missing_skips(&n, &[4], &[0], Missing::Fail, &sel()), [None]);
    }

    #[test]
    fn messages_say_what_was_left_out_why_and_how_to_use_it() {
        let m = derived_message(&["r_score", "clv"], &sel());
        assert_eq!(
            m,
            "default features: left out r_score, clv: scores restate the behavioural columns; name them in \
             --features to cluster on them"
        );
        let reason = SkipReason::Missing { nulls: 12, non_finite: 0 };
        let m = missing_message("days_between_purchases", reason, "cust.parquet", &sel());
        assert_eq!(
            m,
            "default features: left out 'days_between_purchases', which has 12 null values (in cust.parquet): one \
             purchase day has no gap; to cluster on it, name it in --features and add --missing mean or --missing \
             drop"
        );
        // A column without a reason gets none, and no stray colon.
        let reason = SkipReason::Missing { nulls: 0, non_finite: 3 };
        let m = missing_message("returns_share", reason, "a.parquet, b.parquet", &sel());
        assert_eq!(
            m,
            "default features: left out 'returns_share', which has 3 NaN/infinite values (in a.parquet, \
             b.parquet); to cluster on it, name it in --features and add --missing mean or --missing drop"
        );
        assert!(!m.contains('\n'));
    }

    #[test]
    fn skip_reasons_read_as_the_missing_value_wording() {
        assert_eq!(SkipReason::Derived.to_string(), "derived from the other columns");
        assert_eq!(SkipReason::Missing { nulls: 2, non_finite: 0 }.to_string(), "2 null values");
        assert_eq!(SkipReason::Missing { nulls: 0, non_finite: 1 }.to_string(), "1 NaN/infinite values");
        assert_eq!(
            SkipReason::Missing { nulls: 2, non_finite: 1 }.to_string(),
            "2 null values and 1 NaN/infinite values"
        );
    }
}
