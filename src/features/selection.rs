//! The default feature selection's lists for the files `custseg features` writes, given to the reader as data:
//! `ReadOptions::default()` leaves out their derived columns always, and their null-by-design columns when they
//! have missing values under `--missing fail` (the rules are `io::select`'s; the names are [`columns`](super::columns)').

use super::columns::{
    AVG_ORDER_VALUE, DAYS_BETWEEN_PURCHASES, FREQUENCY, GROSS_MARGIN, MONETARY, NON_CLUSTERING, NULL_BY_DESIGN,
    N_CATEGORIES, RECENCY_DAYS, RETURNS_SHARE, TENURE_DAYS,
};
use crate::io::{DefaultSelection, ReadOptions};
use crate::prep::DefaultPrep;

/// `custseg segment`'s default preparation of a features file (one whose features include `recency_days`,
/// `frequency`, `monetary`, `avg_order_value` and `tenure_days`, as the default selection of such a file does): the money columns through the signed log (net spend is negative for customers who returned more
/// than they bought, so `log1p` is undefined there), the counts through `log1p`. Chosen so that the default run
/// leaves no segment under 1% of the customers on generated logs and on the CDNOW log; the measurements are in
/// docs/RFM.md ("Default preparation").
pub fn default_prep() -> DefaultPrep {
    let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    DefaultPrep {
        requires: s(&[RECENCY_DAYS, FREQUENCY, MONETARY, AVG_ORDER_VALUE, TENURE_DAYS]),
        log1p: s(&[FREQUENCY, N_CATEGORIES, "frequency_*d"]),
        signed_log: s(&[MONETARY, AVG_ORDER_VALUE, GROSS_MARGIN, "monetary_*d", "gross_margin_*d"]),
        clip: s(&[RETURNS_SHARE]),
    }
}

/// `custseg segment`'s reading: ID column `customer_id`, every numeric column a feature less a features file's
/// derived and null-by-design columns (`features_file_selection`), no weight, `Missing::Fail`, batches of
/// 65536 rows.
impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions::with_selection(features_file_selection())
    }
}

/// What the default selection leaves out of a features file: [`NON_CLUSTERING`] always, and
/// [`NULL_BY_DESIGN`] when they have missing values, with the words of the log lines.
fn features_file_selection() -> DefaultSelection {
    DefaultSelection {
        derived: NON_CLUSTERING.iter().map(|c| c.to_string()).collect(),
        derived_why: "BG/NBD inputs, R/F/M scores and CLV of a features file restate the behavioural columns".into(),
        null_by_design: NULL_BY_DESIGN.iter().map(|&c| (c.to_string(), why_missing(c).to_string())).collect(),
    }
}

/// Why a null-by-design column has no value for some customers.
fn why_missing(column: &str) -> &'static str {
    match column {
        DAYS_BETWEEN_PURCHASES => "a customer with one purchase day has no gap between purchases",
        RETURNS_SHARE => "a customer with returns but no purchases has no returns share",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::columns;
    use crate::io::select::{derived_message, missing_message, split_derived, SkipReason};

    #[test]
    fn the_default_options_carry_the_features_file_lists() {
        let o = ReadOptions::default();
        assert_eq!(o, ReadOptions::with_selection(features_file_selection()));
        assert_eq!(o.default_selection.derived, NON_CLUSTERING);
        let nbd: Vec<&str> = o.default_selection.null_by_design.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(nbd, NULL_BY_DESIGN);
        assert!(o.default_selection.null_by_design.iter().all(|(_, why)| !why.is_empty()));
    }

    #[test]
    fn every_non_clustering_column_is_derived_and_no_behavioural_one_is() {
        let sel = features_file_selection();
        let behavioural = [
            columns::RECENCY_DAYS,
            columns::FREQUENCY,
            columns::MONETARY,
            columns::AVG_ORDER_VALUE,
            columns::TENURE_DAYS,
            columns::N_CATEGORIES,
        ];
        let mut all: Vec<&str> = behavioural.to_vec();
        all.extend(NON_CLUSTERING);
        assert_eq!(split_derived(&all, &sel), ((0..6).collect(), (6..13).collect()));
        // Names match exactly: `bgnbd_T` is not `bgnbd_t`.
        assert_eq!(split_derived(&["bgnbd_t", "CLV", "frequency"], &sel), (vec![0, 1, 2], vec![]));
    }

    #[test]
    fn the_log_lines_say_what_was_left_out_why_and_how_to_use_it() {
        let sel = features_file_selection();
        let m = derived_message(&["r_score", "clv"], &sel);
        assert_eq!(
            m,
            "default features: left out r_score, clv: BG/NBD inputs, R/F/M scores and CLV of a features file restate \
             the behavioural columns; name them in --features to cluster on them"
        );
        let reason = SkipReason::Missing { nulls: 12, non_finite: 0 };
        let m = missing_message("days_between_purchases", reason, "cust.parquet", &sel);
        assert_eq!(
            m,
            "default features: left out 'days_between_purchases', which has 12 null values (in cust.parquet): a \
             customer with one purchase day has no gap between purchases; to cluster on it, name it in --features \
             and add --missing mean or --missing drop"
        );
        let m = missing_message("returns_share", reason, "cust.parquet", &sel);
        assert!(m.contains("(in cust.parquet): a customer with returns but no purchases has no returns share;"), "{m}");
    }
}
