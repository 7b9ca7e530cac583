//! What building the features did with the rows: the counts of the rows read, dropped (by reason) and used, and
//! the errors that need the whole input's counts (no date parsed at all, no row left).

use std::path::PathBuf;

use serde::Serialize;

use super::dates::format_date;
use super::options::FeatureOptions;
use super::rfm::RfmSummary;
use crate::error::{Error, Result};

/// What building the features did with the rows (the order of the checks is in the docs of `features::stream`).
/// `rows_read` = the drop counts + `rows_used`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FeatureReport {
    pub rows_read: u64,
    pub null_customer_rows: u64,
    pub null_amount_rows: u64,
    pub null_date_rows: u64,
    pub unparsable_dates: u64,
    pub rows_after_as_of: u64,
    pub null_order_rows: u64,
    /// With a cost or margin column: rows whose cost or margin is null or not finite (dropped).
    #[serde(skip_serializing_if = "is_zero")]
    pub null_profit_rows: u64,
    pub rows_used: u64,
    /// Of the rows used: amount exactly 0, and amount < 0 (returns).
    pub zero_amount_rows: u64,
    pub negative_amount_rows: u64,
    /// Of the rows used, with a category column: null category.
    pub null_category_rows: u64,
    /// Of the rows used, with a cost column: lines whose cost exceeds the amount in size (|cost| > |amount|).
    #[serde(skip_serializing_if = "is_zero")]
    pub cost_above_amount_rows: u64,
    pub customers: u64,
    /// The first date that did not parse, with its file.
    pub first_unparsable_date: Option<String>,
    /// With RFM on: segment and tier counts, the Pareto share and the lifetime used for CLV.
    pub rfm: Option<RfmSummary>,
    /// Usable but suspicious input (see `features::warnings`), one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl FeatureReport {
    /// Adds another part's row counts (the first unparsable date is the earliest part's).
    pub(crate) fn add(&mut self, o: &FeatureReport) {
        self.rows_read += o.rows_read;
        self.null_customer_rows += o.null_customer_rows;
        self.null_amount_rows += o.null_amount_rows;
        self.null_date_rows += o.null_date_rows;
        self.unparsable_dates += o.unparsable_dates;
        self.rows_after_as_of += o.rows_after_as_of;
        self.null_order_rows += o.null_order_rows;
        self.null_profit_rows += o.null_profit_rows;
        self.cost_above_amount_rows += o.cost_above_amount_rows;
        self.rows_used += o.rows_used;
        self.zero_amount_rows += o.zero_amount_rows;
        self.negative_amount_rows += o.negative_amount_rows;
        self.null_category_rows += o.null_category_rows;
        if self.first_unparsable_date.is_none() {
            self.first_unparsable_date = o.first_unparsable_date.clone();
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn file_list(paths: &[PathBuf]) -> String {
    const MAX: usize = 5;
    let mut s = paths.iter().take(MAX).map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    if paths.len() > MAX {
        s.push_str(&format!(" and {} more files", paths.len() - MAX));
    }
    s
}

/// Errors that need the whole input: no date parsed at all, or no row left.
pub(crate) fn check_counts(r: &FeatureReport, paths: &[PathBuf], opts: &FeatureOptions) -> Result<()> {
    let dated = r.rows_read - r.null_customer_rows - r.null_amount_rows - r.null_date_rows;
    if r.unparsable_dates > 0 && r.unparsable_dates == dated {
        return Err(Error::Data(format!(
            "date column '{}': none of its {dated} values is a date (YYYY-MM-DD, YYYYMMDD or an ISO timestamp), e.g. {} (in {})",
            opts.columns.date,
            r.first_unparsable_date.as_deref().unwrap_or("?"),
            file_list(paths)
        )));
    }
    if r.rows_used == 0 {
        return Err(Error::Data(format!(
            "no transactions left of {} rows: {} with a null customer, {} with a null or non-finite amount, {} with a null date, {} unparsable dates, {} after as-of {}, {} with a null order, {} with a null cost or margin (in {})",
            r.rows_read,
            r.null_customer_rows,
            r.null_amount_rows,
            r.null_date_rows,
            r.unparsable_dates,
            r.rows_after_as_of,
            format_date(opts.as_of),
            r.null_order_rows,
            r.null_profit_rows,
            file_list(paths)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(n: usize) -> Vec<PathBuf> {
        (0..n).map(|i| PathBuf::from(format!("tx{i}.parquet"))).collect()
    }

    #[test]
    fn reports_add_their_counts_and_keep_the_first_unparsable_date() {
        let a = FeatureReport {
            rows_read: 3,
            unparsable_dates: 1,
            first_unparsable_date: Some("'x'".into()),
            ..Default::default()
        };
        let b = FeatureReport {
            rows_read: 2,
            rows_used: 2,
            unparsable_dates: 1,
            first_unparsable_date: Some("'y'".into()),
            ..Default::default()
        };
        let mut sum = FeatureReport::default();
        sum.add(&a);
        sum.add(&b);
        assert_eq!((sum.rows_read, sum.rows_used, sum.unparsable_dates), (5, 2, 2));
        assert_eq!(sum.first_unparsable_date.as_deref(), Some("'x'"));
    }

    #[test]
    fn no_date_parsed_is_an_error_naming_the_column_an_example_and_the_files() {
        let r = FeatureReport {
            rows_read: 4,
            null_date_rows: 1,
            unparsable_dates: 3,
            first_unparsable_date: Some("'10/01/2026' in us.parquet".into()),
            ..Default::default()
        };
        let e = check_counts(&r, &paths(7), &FeatureOptions::new(20_758)).unwrap_err().to_string();
        for part in [
            "date column 'date': none of its 3 values is a date",
            "e.g. '10/01/2026' in us.parquet",
            "(in tx0.parquet, tx1.parquet, tx2.parquet, tx3.parquet, tx4.parquet and 2 more files)",
        ] {
            assert!(e.contains(part), "expected {part:?} in: {e}");
        }
        // One date parsed is enough.
        let some = FeatureReport { rows_used: 1, rows_read: 4, unparsable_dates: 2, ..r };
        assert!(check_counts(&some, &paths(1), &FeatureOptions::new(20_758)).is_ok());
    }

    #[test]
    fn no_row_left_is_an_error_with_every_count() {
        let r = FeatureReport { rows_read: 8, rows_after_as_of: 7, null_customer_rows: 1, ..Default::default() };
        let e = check_counts(&r, &paths(1), &FeatureOptions::new(20_758)).unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
        for part in
            ["no transactions left of 8 rows", "1 with a null customer", "7 after as-of 2026-11-01", "(in tx0.parquet)"]
        {
            assert!(e.contains(part), "expected {part:?} in: {e}");
        }
    }
}
