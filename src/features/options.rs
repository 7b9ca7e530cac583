//! What `custseg features` computes: the names of the transaction columns, the options, the names of the output
//! columns, and the checks of the options that need no file.

use std::path::PathBuf;

use serde::Serialize;

use super::rfm::RfmOptions;
use crate::error::{Error, Result};

/// The names of the transaction columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxColumns {
    /// Customer ID: integers or strings. Default `customer_id`.
    pub customer: String,
    /// Transaction date. Default `date`.
    pub date: String,
    /// Amount (net: returns negative). Default `amount`.
    pub amount: String,
    /// Order ID (integers or strings): `frequency` counts distinct orders. Without it, distinct days.
    pub order: Option<String>,
    /// Product category (integers or strings): adds `n_categories`.
    pub category: Option<String>,
    /// Cost of goods per line (numbers): adds `gross_margin` = sum of (amount − cost). Not with `margin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    /// Margin per line (numbers): adds `gross_margin` = its sum. Not with `cost`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<String>,
}

impl TxColumns {
    /// The cost or margin column, whichever is set.
    pub fn profit(&self) -> Option<&str> {
        self.cost.as_deref().or(self.margin.as_deref())
    }
}

impl Default for TxColumns {
    fn default() -> Self {
        TxColumns {
            customer: "customer_id".into(),
            date: "date".into(),
            amount: "amount".into(),
            order: None,
            category: None,
            cost: None,
            margin: None,
        }
    }
}

/// What to compute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureOptions {
    pub columns: TxColumns,
    /// The as-of day, in days since 1970-01-01 (see [`parse_date`](super::parse_date)). Rows after it are
    /// excluded.
    pub as_of: i32,
    /// Rows per decoded record batch. Default 65536.
    pub batch_size: usize,
    /// RFM scores, segments, tiers and CLV: `None` leaves those columns out.
    pub rfm: Option<RfmOptions>,
    /// `--window-days N`: monetary, frequency and (with a cost or margin column) gross margin over the last N
    /// days up to as-of (days `d` with `as_of − N < d ≤ as_of`), as columns `monetary_Nd`, `frequency_Nd`,
    /// `gross_margin_Nd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_days: Option<u32>,
    /// The key that replaces every customer ID in the written file by its pseudonym, if any (never serialised).
    #[serde(skip)]
    pub pseudonym: Option<crate::pseudonym::IdKey>,
    /// `--csv-schema`: CSV columns read as these types instead of the inferred ones.
    #[serde(skip)]
    pub csv_schema: Vec<(String, arrow::datatypes::DataType)>,
}

impl FeatureOptions {
    /// The default columns, batch size and RFM scoring, as of `as_of`.
    pub fn new(as_of: i32) -> Self {
        FeatureOptions {
            columns: TxColumns::default(),
            as_of,
            batch_size: 65_536,
            rfm: Some(RfmOptions::default()),
            window_days: None,
            pseudonym: None,
            csv_schema: Vec::new(),
        }
    }
}

/// Output column names.
pub mod columns {
    pub const RECENCY_DAYS: &str = "recency_days";
    pub const FREQUENCY: &str = "frequency";
    pub const MONETARY: &str = "monetary";
    pub const AVG_ORDER_VALUE: &str = "avg_order_value";
    pub const TENURE_DAYS: &str = "tenure_days";
    pub const DAYS_BETWEEN_PURCHASES: &str = "days_between_purchases";
    pub const RETURNS_SHARE: &str = "returns_share";
    pub const N_CATEGORIES: &str = "n_categories";
    pub const BGNBD_X: &str = "bgnbd_x";
    pub const BGNBD_T_X: &str = "bgnbd_t_x";
    pub const BGNBD_T: &str = "bgnbd_T";
    pub const R_SCORE: &str = "r_score";
    pub const F_SCORE: &str = "f_score";
    pub const M_SCORE: &str = "m_score";
    pub const RFM_CODE: &str = "rfm_code";
    pub const RFM_SEGMENT: &str = "rfm_segment";
    pub const VALUE_TIER: &str = "value_tier";
    pub const CLV: &str = "clv";
    pub const GROSS_MARGIN: &str = "gross_margin";

    /// The name of a windowed figure: `monetary_365d`.
    pub fn windowed(base: &str, days: u32) -> String {
        format!("{base}_{days}d")
    }

    /// Numeric output columns that restate others (the BG/NBD inputs repeat frequency and tenure, the scores are
    /// ranks of R, F and M, CLV is spend times a constant). `custseg segment`'s default selection (no
    /// `--features`) leaves them out; see [`crate::io::select`].
    pub const NON_CLUSTERING: [&str; 7] = [BGNBD_X, BGNBD_T_X, BGNBD_T, R_SCORE, F_SCORE, M_SCORE, CLV];

    /// Numeric output columns that are null where the figure does not exist: `days_between_purchases` for a
    /// customer with one purchase day, `returns_share` for one with returns but no purchases. `custseg segment`'s
    /// default selection leaves such a column out when it has nulls and `--missing` is `fail`; see
    /// [`crate::io::select`].
    pub const NULL_BY_DESIGN: [&str; 2] = [DAYS_BETWEEN_PURCHASES, RETURNS_SHARE];

    /// Every output column name (the customer ID column is named as in the input).
    pub const ALL: [&str; 18] = [
        RECENCY_DAYS,
        FREQUENCY,
        MONETARY,
        AVG_ORDER_VALUE,
        TENURE_DAYS,
        DAYS_BETWEEN_PURCHASES,
        RETURNS_SHARE,
        N_CATEGORIES,
        BGNBD_X,
        BGNBD_T_X,
        BGNBD_T,
        R_SCORE,
        F_SCORE,
        M_SCORE,
        RFM_CODE,
        RFM_SEGMENT,
        VALUE_TIER,
        CLV,
    ];
}

/// Checks the options against each other and the input list (usage errors), before any file is read.
pub(crate) fn check_options(paths: &[PathBuf], opts: &FeatureOptions) -> Result<()> {
    if paths.is_empty() {
        return Err(Error::Usage("no input files".into()));
    }
    if opts.batch_size == 0 {
        return Err(Error::Usage("batch size must be at least 1".into()));
    }
    let c = &opts.columns;
    let roles = [
        ("customer", Some(&c.customer)),
        ("date", Some(&c.date)),
        ("amount", Some(&c.amount)),
        ("order", c.order.as_ref()),
        ("category", c.category.as_ref()),
        ("cost", c.cost.as_ref()),
        ("margin", c.margin.as_ref()),
    ];
    for (i, (role, name)) in roles.iter().enumerate() {
        let Some(name) = name else { continue };
        if name.is_empty() {
            return Err(Error::Usage(format!("the {role} column name is empty")));
        }
        if let Some((other, _)) = roles[..i].iter().find(|(_, n)| *n == Some(*name)) {
            return Err(Error::Usage(format!("column '{name}' cannot be both the {other} and the {role} column")));
        }
    }
    if c.cost.is_some() && c.margin.is_some() {
        return Err(Error::Usage("--cost and --margin cannot be used together: give one".into()));
    }
    if opts.window_days == Some(0) {
        return Err(Error::Usage("--window-days must be at least 1".into()));
    }
    if columns::ALL.contains(&c.customer.as_str()) || c.customer == columns::GROSS_MARGIN {
        return Err(Error::Usage(format!(
            "the customer column cannot be named '{}': the features file has a column of that name",
            c.customer
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> FeatureOptions {
        FeatureOptions::new(20_758)
    }

    #[test]
    fn bad_options_are_usage_errors() {
        let f = [PathBuf::from("tx.parquet")];
        let mut same = opts();
        same.columns.order = Some("customer_id".into());
        let mut named = opts();
        named.columns.customer = "monetary".into();
        let mut empty = opts();
        empty.columns.category = Some(String::new());
        let zero = FeatureOptions { batch_size: 0, ..opts() };
        for (o, want) in [
            (same, "column 'customer_id' cannot be both the customer and the order column"),
            (named, "the customer column cannot be named 'monetary'"),
            (empty, "the category column name is empty"),
            (zero, "batch size must be at least 1"),
        ] {
            let e = check_options(&f, &o).unwrap_err();
            assert!(e.is_usage(), "{e}");
            assert!(e.to_string().contains(want), "{e}");
        }
        assert!(check_options(&[], &opts()).unwrap_err().is_usage());
        assert!(check_options(&f, &opts()).is_ok());
    }

    #[test]
    fn every_output_column_is_listed_once() {
        let mut all = columns::ALL.to_vec();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), columns::ALL.len());
        for c in columns::NON_CLUSTERING.iter().chain(&columns::NULL_BY_DESIGN) {
            assert!(columns::ALL.contains(c), "{c}");
        }
    }
}
