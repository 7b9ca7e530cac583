//! The read options: which columns to read and how ([`ReadOptions`], [`Missing`], the lists of the default
//! selection in [`DefaultSelection`]), and the checks of the options that need no file.

use std::collections::HashSet;
use std::path::PathBuf;

use arrow::datatypes::DataType;

use super::csv::is_csv_name;
use crate::error::{Error, Result};

/// What to do with a missing feature value: null, NaN or ±infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Missing {
    /// Refuse the data, naming the first column with missing values and how many (the default).
    #[default]
    Fail,
    /// Drop every row that has a missing value in any feature column.
    Drop,
    /// Replace a missing value with the mean of that column's valid values.
    Mean,
}

/// The columns the default selection (no named features) leaves out by name, with the words of its log lines.
/// They are the conventions of the files `custseg features` writes, so the reader takes them as data: this
/// type's `Default` leaves nothing out by name, and `ReadOptions::default()` (written in `features::selection`)
/// fills them in from `features::columns`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DefaultSelection {
    /// Rule 1: columns always left out, because they restate other columns.
    pub derived: Vec<String>,
    /// What the derived columns are and why they restate others, for the log line.
    pub derived_why: String,
    /// Rule 2: columns left out when they have missing values and `missing` is [`Missing::Fail`], each with why
    /// such a value is missing, for the log line (may be empty).
    pub null_by_design: Vec<(String, String)>,
}

/// Which columns to read and how. `ReadOptions::default()`, written in `features::selection` beside the lists it
/// takes from `features::columns`, is [`ReadOptions::with_selection`] of a features file's lists.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// The customer ID column: any integer or string type. Default `customer_id`.
    pub id_column: String,
    /// The feature columns, in this order. `None`: every numeric column except the ID column, the weight
    /// column and `extra_columns`, in file order, less the columns of `default_selection` that its rules leave
    /// out.
    pub features: Option<Vec<String>>,
    /// Columns never taken as features when `features` is `None` (for instance columns the caller reads for
    /// something else). They need not exist.
    pub extra_columns: Vec<String>,
    /// A sample-weight column: numeric, finite, `>= 0`, not all zero.
    pub weight: Option<String>,
    pub missing: Missing,
    /// Rows per decoded record batch. Default 65536.
    pub batch_size: usize,
    /// The columns the default selection leaves out by name (used only when `features` is `None`).
    pub default_selection: DefaultSelection,
    /// For CSV files: columns read as this type instead of the type inferred from a sample of rows
    /// (`--csv-schema`, parsed by [`parse_csv_schema`](super::parse_csv_schema)).
    pub csv_schema: Vec<(String, DataType)>,
}

impl ReadOptions {
    /// The default options with these lists for the default selection: ID column `customer_id`, every numeric
    /// column a feature, no weight, [`Missing::Fail`], batches of 65536 rows.
    pub fn with_selection(default_selection: DefaultSelection) -> Self {
        ReadOptions {
            id_column: "customer_id".into(),
            features: None,
            extra_columns: Vec::new(),
            weight: None,
            missing: Missing::Fail,
            batch_size: 65536,
            default_selection,
            csv_schema: Vec::new(),
        }
    }
}

/// Checks the options that do not depend on the files.
pub(crate) fn check_options(paths: &[PathBuf], opts: &ReadOptions) -> Result<()> {
    if paths.is_empty() {
        return Err(Error::Usage("no input files".into()));
    }
    if opts.batch_size == 0 {
        return Err(Error::Usage("batch size must be at least 1".into()));
    }
    if !opts.csv_schema.is_empty() && !paths.iter().any(|p| is_csv_name(p)) {
        return Err(Error::Usage(format!(
            "--csv-schema applies to CSV files (*.csv, *.csv.gz), and the input is {}; drop it",
            paths.first().map(|p| p.display().to_string()).unwrap_or_default()
        )));
    }
    if opts.id_column.is_empty() {
        return Err(Error::Usage("the id column name is empty".into()));
    }
    if opts.weight.as_deref() == Some(opts.id_column.as_str()) {
        return Err(Error::Usage(format!("column '{}' cannot be both the id and the weight column", opts.id_column)));
    }
    if let Some(features) = &opts.features {
        if features.is_empty() {
            return Err(Error::Usage("the feature column list is empty".into()));
        }
        let mut seen = HashSet::new();
        for f in features {
            if !seen.insert(f.as_str()) {
                return Err(Error::Usage(format!("feature column '{f}' is listed twice")));
            }
            if *f == opts.id_column {
                return Err(Error::Usage(format!("column '{f}' cannot be both the id column and a feature")));
            }
            if opts.weight.as_deref() == Some(f.as_str()) {
                return Err(Error::Usage(format!("column '{f}' cannot be both the weight column and a feature")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ReadOptions {
        ReadOptions { id_column: "id".into(), ..ReadOptions::with_selection(DefaultSelection::default()) }
    }

    #[test]
    fn bad_options_are_usage_errors() {
        let f = vec![PathBuf::from("a.parquet")];
        for o in [
            ReadOptions { batch_size: 0, ..opts() },
            ReadOptions { id_column: String::new(), ..opts() },
            ReadOptions { weight: Some("id".into()), ..opts() },
            ReadOptions { features: Some(vec![]), ..opts() },
            ReadOptions { features: Some(vec!["x".into(), "x".into()]), ..opts() },
            ReadOptions { features: Some(vec!["id".into()]), ..opts() },
            ReadOptions { weight: Some("x".into()), features: Some(vec!["x".into()]), ..opts() },
        ] {
            let e = check_options(&f, &o).unwrap_err();
            assert!(e.is_usage(), "{o:?}: {e}");
        }
        assert!(check_options(&[], &opts()).unwrap_err().is_usage());
        assert!(check_options(&f, &opts()).is_ok());
        let typed = ReadOptions { csv_schema: vec![("x".into(), DataType::Utf8)], ..opts() };
        let e = check_options(&f, &typed).unwrap_err();
        assert!(e.is_usage() && e.to_string().contains("--csv-schema applies to CSV files"), "{e}");
        assert!(check_options(&[PathBuf::from("a.csv.gz")], &typed).is_ok());
    }

    #[test]
    fn the_defaults_read_customer_id_with_every_numeric_column() {
        let o = ReadOptions::with_selection(DefaultSelection::default());
        assert_eq!(o.id_column, "customer_id");
        assert_eq!((o.features, o.weight, o.missing, o.batch_size), (None, None, Missing::Fail, 65536));
        assert!(o.extra_columns.is_empty() && o.default_selection.derived.is_empty());
    }
}
