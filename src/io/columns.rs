//! What the run used: the default selection's account of every column of the table (no `--features`). Each
//! column is the ID, the weight, a feature, or left out with its reason and the flag that would use it; the log
//! says so at the default level, one line per column left out.
//!
//! Beyond the numeric rules of `select`, two rules leave out integers that identify rather than measure, with a
//! warning, because clustering on them makes segments such as "high postcode":
//! - a name that says it is a code: `*_id`, `*code` (`postcode`, `zip_code`), `zip`, `zipcode`, any case;
//! - a different value on every row, like a row number or an ID, checked after decoding when the table has at
//!   least [`DISTINCT_MIN_ROWS`] rows (below that, distinct values say nothing).
//!
//! Neither leaves no feature: if they would, the columns stay, with a warning. A text column whose every value is
//! a number (a spend column stored as text) gets a warning that says so.

use std::collections::HashSet;

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;

use super::select::SkipReason;
use crate::matrix::Matrix;

/// Rows below which the distinct-integer rule does not apply.
pub(crate) const DISTINCT_MIN_ROWS: usize = 100;

/// Whether `t` is text: string, large string, string view, or a dictionary of them.
pub(crate) fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => matches!(**v, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View),
        _ => false,
    }
}

/// Whether `t` holds integers (or a dictionary of them).
pub(crate) fn is_integer(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, v) => is_integer(v),
        t => t.is_integer(),
    }
}

/// Why a column that is not numeric is left out.
pub(crate) fn non_numeric_reason(t: &DataType) -> SkipReason {
    use DataType::*;
    match t {
        t if is_text(t) => SkipReason::Text,
        Boolean => SkipReason::Boolean,
        Date32 | Date64 | Timestamp(..) | Time32(_) | Time64(_) => SkipReason::Date,
        _ => SkipReason::Unsupported,
    }
}

/// Whether a column's name says it holds a code, not an amount: `*_id`, `*code`, `zip`, `zipcode`.
pub(crate) fn is_code_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with("_id") || n.ends_with("code") || n == "zip" || n == "zipcode"
}

/// Counts a text column's non-null values, and whether every one of them parses as a number (for a dictionary,
/// every value of the dictionary). Stops parsing at the first that does not.
pub(crate) fn text_numbers(a: &dyn Array) -> (usize, bool) {
    let values = a.len() - a.logical_null_count();
    let numeric = match a.data_type() {
        DataType::Utf8 => all_numbers(a.as_string::<i32>().iter()),
        DataType::LargeUtf8 => all_numbers(a.as_string::<i64>().iter()),
        DataType::Utf8View => all_numbers(a.as_string_view().iter()),
        DataType::Dictionary(..) => match a.as_any_dictionary_opt() {
            Some(d) => text_numbers(d.values().as_ref()).1,
            None => false,
        },
        _ => false,
    };
    (values, numeric)
}

fn all_numbers<'a>(mut it: impl Iterator<Item = Option<&'a str>>) -> bool {
    it.all(|v| v.is_none_or(|s| s.parse::<f64>().is_ok()))
}

/// Whether column `j` of `x` has a different value on every row where it has one (NaN, a null, is skipped). The
/// values are compared as `f32`, so integers beyond 2^24 that round alike count as equal (the rule then keeps the
/// column). Stops at the first repeat.
pub(crate) fn all_distinct(x: &Matrix, j: usize) -> bool {
    let d = x.d();
    let mut seen: HashSet<u32> = HashSet::with_capacity(x.n().min(1 << 20));
    x.as_slice().iter().skip(j).step_by(d).filter(|v| !v.is_nan()).all(|v| seen.insert((v + 0.0).to_bits()))
}

/// The log line for column `name` (of type `t`) left out for `reason` (not the two numeric rules of `select`,
/// which have their own), with the flag that would use it; `rows` is the table's.
pub(crate) fn account_message(name: &str, reason: SkipReason, t: &DataType, rows: usize) -> String {
    let why = match reason {
        SkipReason::Text => format!("text; use --categorical {name}"),
        SkipReason::NumericText => format!(
            "text, but every value is a number; store it as numbers to cluster on it (for CSV: --csv-schema \
             {name}:float64)"
        ),
        SkipReason::Boolean => format!("true/false; use --categorical {name}"),
        SkipReason::Date => format!(
            "a date or time ({t}); dates are not clustered on: turn it into a number of days (custseg features \
             does, for transaction dates)"
        ),
        SkipReason::Unsupported => format!("type {t}, which custseg does not read"),
        SkipReason::CodeName => format!(
            "an integer whose name says it is a code or ID, not an amount; name it in --features to cluster on it \
             anyway, or use --categorical {name}"
        ),
        SkipReason::AllDistinct => format!(
            "an integer with a different value on each of the {rows} rows, like an ID; name it in --features to \
             cluster on it anyway"
        ),
        SkipReason::Derived | SkipReason::Missing { .. } => reason.to_string(),
    };
    format!("default features: left out {name}: {why}")
}

/// Whether leaving a column out for `reason` deserves a warning rather than an info line: the column looks like
/// a feature but is not used as one.
pub(crate) fn warns(reason: SkipReason) -> bool {
    matches!(reason, SkipReason::NumericText | SkipReason::CodeName | SkipReason::AllDistinct)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{DictionaryArray, Int32Array, LargeStringArray, StringArray};
    use arrow::datatypes::{Int32Type, TimeUnit};

    use crate::io::{read_features, DefaultSelection, ReadOptions};
    use crate::test_util::{f64s, i64s, strs, write_parquet};
    use arrow::array::{ArrayRef, BooleanArray, Date32Array};

    /// 150 customers with one column of each kind the account names.
    fn retail(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
        let region: Vec<&str> = (0..n).map(|i| ["North", "South", "East"][i % 3]).collect();
        let spend_text: Vec<String> = (0..n).map(|i| format!("{}.5", i % 40)).collect();
        write_parquet(
            dir,
            "retail.parquet",
            vec![
                ("customer_id", strs((0..n).map(|i| if i % 2 == 0 { "a" } else { "b" }).collect::<Vec<_>>())),
                ("region", strs(region)),
                ("opt_in", Arc::new(BooleanArray::from((0..n).map(|i| i % 2 == 0).collect::<Vec<_>>())) as ArrayRef),
                ("signup", Arc::new(Date32Array::from((0..n as i32).collect::<Vec<_>>()))),
                ("postcode", i64s((0..n as i64).map(|i| 10000 + i % 7).collect::<Vec<_>>())),
                ("row_no", i64s((0..n as i64).collect::<Vec<_>>())),
                ("spend_text", strs(spend_text.iter().map(String::as_str).collect())),
                ("spend", f64s((0..n).map(|i| i as f64 * 1.5).collect::<Vec<_>>())),
                ("visits", i64s((0..n as i64).map(|i| i % 9).collect::<Vec<_>>())),
            ],
        )
    }

    #[test]
    fn every_column_left_out_has_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let f = retail(dir.path(), DISTINCT_MIN_ROWS + 50);
        // The ID here is `row_no`, so `customer_id` (text, repeated) is accounted for like any other column.
        let o = ReadOptions { id_column: "row_no".into(), ..ReadOptions::with_selection(DefaultSelection::default()) };
        let t = read_features(&[f], &o).unwrap();
        assert_eq!(t.feature_names, ["spend", "visits"]);
        let skipped: Vec<(&str, SkipReason)> = t.report.skipped.iter().map(|(c, r)| (c.as_str(), *r)).collect();
        assert_eq!(
            skipped,
            [
                ("customer_id", SkipReason::Text),
                ("region", SkipReason::Text),
                ("opt_in", SkipReason::Boolean),
                ("signup", SkipReason::Date),
                ("postcode", SkipReason::CodeName),
                ("spend_text", SkipReason::NumericText),
            ]
        );
    }

    #[test]
    fn a_distinct_integer_is_left_out_only_from_enough_rows() {
        let dir = tempfile::tempdir().unwrap();
        let ids = |n: usize| strs((0..n).map(|i| Box::leak(format!("c{i}").into_boxed_str()) as &str).collect());
        for (n, left_out) in [(DISTINCT_MIN_ROWS, true), (DISTINCT_MIN_ROWS - 1, false)] {
            let f = write_parquet(
                dir.path(),
                "d.parquet",
                vec![
                    ("customer_id", ids(n)),
                    ("row_no", i64s((0..n as i64).collect::<Vec<_>>())),
                    ("spend", f64s((0..n).map(|i| (i % 5) as f64).collect::<Vec<_>>())),
                ],
            );
            let t = read_features(&[f], &ReadOptions::with_selection(DefaultSelection::default())).unwrap();
            let want: &[&str] = if left_out { &["spend"] } else { &["row_no", "spend"] };
            assert_eq!(t.feature_names, want, "{n} rows");
            assert_eq!(t.report.skipped.iter().any(|(_, r)| *r == SkipReason::AllDistinct), left_out);
        }
    }

    #[test]
    fn identifier_rules_never_leave_no_feature() {
        let dir = tempfile::tempdir().unwrap();
        let n = DISTINCT_MIN_ROWS;
        let ids = strs((0..n).map(|i| Box::leak(format!("c{i}").into_boxed_str()) as &str).collect());
        let f = write_parquet(
            dir.path(),
            "only.parquet",
            vec![("customer_id", ids), ("zip", i64s((0..n as i64).map(|i| i % 3).collect::<Vec<_>>()))],
        );
        let t = read_features(&[f], &ReadOptions::with_selection(DefaultSelection::default())).unwrap();
        assert_eq!(t.feature_names, ["zip"]);
        let f = write_parquet(
            dir.path(),
            "only2.parquet",
            vec![
                ("customer_id", i64s((0..n as i64).collect::<Vec<_>>())),
                ("n", i64s((0..n as i64).collect::<Vec<_>>())),
            ],
        );
        let t = read_features(&[f], &ReadOptions::with_selection(DefaultSelection::default())).unwrap();
        assert_eq!(t.feature_names, ["n"]);
    }

    #[test]
    fn named_features_are_not_accounted_for() {
        let dir = tempfile::tempdir().unwrap();
        let f = retail(dir.path(), 150);
        let o = ReadOptions {
            id_column: "row_no".into(),
            features: Some(vec!["postcode".into(), "spend".into()]),
            ..ReadOptions::with_selection(DefaultSelection::default())
        };
        let t = read_features(&[f], &o).unwrap();
        assert_eq!(t.feature_names, ["postcode", "spend"]);
        assert!(t.report.skipped.is_empty());
    }

    #[test]
    fn code_names() {
        for n in ["store_id", "Region_ID", "postcode", "zip", "ZIP", "zip_code", "zipcode", "rfm_code", "PostCode"] {
            assert!(is_code_name(n), "{n}");
        }
        for n in ["monetary", "zip_count", "idle_days", "id_score", "codes", "frequency", "paid"] {
            assert!(!is_code_name(n), "{n}");
        }
    }

    #[test]
    fn reasons_by_type() {
        use DataType::*;
        let dict = |v: DataType| Dictionary(Box::new(Int32), Box::new(v));
        for t in [Utf8, LargeUtf8, Utf8View, dict(Utf8)] {
            assert_eq!(non_numeric_reason(&t), SkipReason::Text, "{t}");
        }
        assert_eq!(non_numeric_reason(&Boolean), SkipReason::Boolean);
        for t in [Date32, Date64, Timestamp(TimeUnit::Second, Some("UTC".into()))] {
            assert_eq!(non_numeric_reason(&t), SkipReason::Date, "{t}");
        }
        assert_eq!(non_numeric_reason(&Binary), SkipReason::Unsupported);
        assert!(is_integer(&Int8) && is_integer(&UInt64) && is_integer(&dict(Int16)));
        assert!(!is_integer(&Float64) && !is_integer(&dict(Float32)));
    }

    #[test]
    fn text_of_numbers_is_recognised_nulls_aside() {
        let a = StringArray::from(vec![Some("12.5"), None, Some("-3"), Some("1e3")]);
        assert_eq!(text_numbers(&a), (3, true));
        let a = LargeStringArray::from(vec![Some("12.5"), Some("North")]);
        assert_eq!(text_numbers(&a), (2, false));
        let d = DictionaryArray::<Int32Type>::new(
            Int32Array::from(vec![0, 1, 0]),
            Arc::new(StringArray::from(vec!["1", "2"])),
        );
        assert_eq!(text_numbers(&d), (3, true));
        let empty = StringArray::from(vec![None::<&str>, None]);
        assert_eq!(text_numbers(&empty), (0, true));
    }

    #[test]
    fn distinct_columns_skip_nulls_and_stop_at_a_repeat() {
        let x = Matrix::from_vec(vec![1.0, 5.0, 2.0, 5.0, f32::NAN, 6.0, 3.0, 7.0, f32::NAN, 8.0], 5, 2);
        assert!(all_distinct(&x, 0));
        assert!(!all_distinct(&x, 1));
        // 0.0 and -0.0 are the same value.
        assert!(!all_distinct(&Matrix::from_vec(vec![0.0, -0.0], 2, 1), 0));
    }

    #[test]
    fn messages_name_the_column_the_reason_and_the_flag() {
        let m = account_message("region", SkipReason::Text, &DataType::Utf8, 10);
        assert_eq!(m, "default features: left out region: text; use --categorical region");
        let m = account_message("opt_in", SkipReason::Boolean, &DataType::Boolean, 10);
        assert_eq!(m, "default features: left out opt_in: true/false; use --categorical opt_in");
        let m = account_message("spend", SkipReason::NumericText, &DataType::Utf8, 10);
        assert!(m.contains("spend: text, but every value is a number") && m.contains("--csv-schema spend:float64"));
        let m = account_message("postcode", SkipReason::CodeName, &DataType::Int64, 10);
        assert!(m.contains("postcode: an integer whose name says it is a code") && m.contains("--features"));
        let m = account_message("row", SkipReason::AllDistinct, &DataType::Int64, 250);
        assert!(m.contains("row: an integer with a different value on each of the 250 rows, like an ID"));
        assert!(account_message("tags", SkipReason::Unsupported, &DataType::Binary, 1).contains("type Binary"));
        assert!(warns(SkipReason::CodeName) && warns(SkipReason::AllDistinct) && warns(SkipReason::NumericText));
        assert!(!warns(SkipReason::Text) && !warns(SkipReason::Date));
    }
}
