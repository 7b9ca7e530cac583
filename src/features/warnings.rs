//! The warnings of `custseg features` on input that is usable but suspicious: more than 1% of the dates
//! unparsable, or an as-of date more than a year after the last transaction. Each is logged and kept in the
//! report, one line naming the column and the counts.

use super::dates::format_date;
use super::options::TxColumns;
use super::report::FeatureReport;

/// Share of the dated rows whose date may fail to parse before the warning.
pub const MAX_UNPARSABLE_SHARE: f64 = 0.01;

/// Days between the last transaction and as-of before the warning.
pub const MAX_AS_OF_GAP_DAYS: i32 = 365;

/// Share of the lines whose cost may exceed the amount before the warning.
pub const MAX_COST_ABOVE_SHARE: f64 = 0.01;

/// The warnings for `report`, given the transaction columns, the as-of day and the last transaction's day (if
/// any).
pub(crate) fn warnings(report: &FeatureReport, cols: &TxColumns, as_of: i32, last_day: Option<i32>) -> Vec<String> {
    let date_column = &cols.date;
    let mut out = Vec::new();
    if let Some(cost) = &cols.cost {
        let n = report.cost_above_amount_rows;
        if n as f64 > MAX_COST_ABOVE_SHARE * report.rows_used as f64 {
            out.push(format!(
                "cost column '{cost}': {n} of {} lines ({:.1}%) cost more than their amount '{}'; check that --cost is the cost of the line, not of one unit, and in the same currency",
                report.rows_used,
                100.0 * n as f64 / report.rows_used.max(1) as f64,
                cols.amount
            ));
        }
    }
    let dated = report.rows_read - report.null_customer_rows - report.null_amount_rows - report.null_date_rows;
    if dated > 0 && report.unparsable_dates as f64 > MAX_UNPARSABLE_SHARE * dated as f64 {
        out.push(format!(
            "date column '{date_column}': {} of {dated} dates ({:.1}%) are unparsable and their rows dropped, e.g. {}; check the date format",
            report.unparsable_dates,
            100.0 * report.unparsable_dates as f64 / dated as f64,
            report.first_unparsable_date.as_deref().unwrap_or("?"),
        ));
    }
    if let Some(last) = last_day {
        if as_of - last > MAX_AS_OF_GAP_DAYS {
            out.push(format!(
                "--as-of {} is {} days after the last transaction ({}): every customer looks lapsed; pass --as-of {}",
                format_date(as_of),
                as_of - last,
                format_date(last),
                format_date(last + 1)
            ));
        }
    }
    for w in &out {
        tracing::warn!("{w}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::parse_date;

    fn cols() -> TxColumns {
        TxColumns::default()
    }

    fn report(read: u64, bad: u64) -> FeatureReport {
        FeatureReport {
            rows_read: read,
            unparsable_dates: bad,
            first_unparsable_date: Some("'13/45/2026' (in tx.parquet)".into()),
            ..FeatureReport::default()
        }
    }

    #[test]
    fn more_than_one_percent_unparsable_dates_is_a_warning() {
        let d = parse_date("2026-11-01").unwrap();
        assert!(warnings(&report(1000, 10), &cols(), d, Some(d)).is_empty(), "exactly 1%");
        let w = warnings(&report(1000, 11), &cols(), d, Some(d));
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("date column 'date': 11 of 1000 dates (1.1%) are unparsable"), "{}", w[0]);
    }

    #[test]
    fn an_as_of_more_than_a_year_late_is_a_warning() {
        let last = parse_date("2025-06-30").unwrap();
        assert!(warnings(&report(10, 0), &cols(), last + 365, Some(last)).is_empty());
        let w = warnings(&report(10, 0), &cols(), last + 400, Some(last));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("is 400 days after the last transaction (2025-06-30)"), "{}", w[0]);
        assert!(w[0].ends_with("pass --as-of 2025-07-01"), "{}", w[0]);
    }

    #[test]
    fn costs_above_the_amount_on_more_than_one_percent_of_lines_is_a_warning() {
        let c = TxColumns { cost: Some("cogs".into()), ..cols() };
        let r = |above| FeatureReport { rows_used: 1000, cost_above_amount_rows: above, ..FeatureReport::default() };
        assert!(warnings(&r(10), &c, 0, Some(0)).is_empty());
        let w = warnings(&r(25), &c, 0, Some(0));
        assert!(
            w[0].starts_with("cost column 'cogs': 25 of 1000 lines (2.5%) cost more than their amount 'amount'"),
            "{}",
            w[0]
        );
        assert!(warnings(&r(25), &cols(), 0, Some(0)).is_empty(), "no cost column, no warning");
    }
}
