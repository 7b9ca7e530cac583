//! The flags of columns read beside the features: `--categorical` with its level rules ([`CategoricalArgs`],
//! `segment` and `choose-k`), `--profile-by` and `--keep` (`segment`), turned into the job's [`ColumnOptions`].

use crate::jobs::columns::ColumnOptions;
use crate::prep::categorical::{DEFAULT_MAX_LEVELS, DEFAULT_MIN_LEVEL_SHARE};
use crate::prep::LevelRules;
use clap::Args;

#[derive(Debug, Args)]
pub struct CategoricalArgs {
    /// Categorical columns to cluster on as well, comma-separated: text, boolean or integer codes, one-hot
    /// encoded, each weighted to count like one standardised numeric feature (docs/CATEGORICAL.md).
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    pub categorical: Vec<String>,
    /// Levels of a categorical column held by fewer than this share of customers merge into `other`.
    #[arg(long, default_value_t = DEFAULT_MIN_LEVEL_SHARE, value_name = "SHARE")]
    pub min_level_share: f64,
    /// The most levels a categorical column may have after merging (more is an error).
    #[arg(long, default_value_t = DEFAULT_MAX_LEVELS, value_name = "N")]
    pub max_levels: usize,
    /// Each categorical column's total weight: its one-hot block's total variance is this squared (1 = like one
    /// standardised numeric feature).
    #[arg(long, default_value_t = 1.0, value_name = "W")]
    pub categorical_weight: f64,
}

impl CategoricalArgs {
    /// The options with only the categorical columns (no profiled or kept ones).
    pub fn options(&self) -> ColumnOptions {
        ColumnOptions {
            categorical: self.categorical.clone(),
            rules: LevelRules {
                min_level_share: self.min_level_share,
                max_levels: self.max_levels,
                weight: self.categorical_weight,
            },
            ..ColumnOptions::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct ColumnArgs {
    #[command(flatten)]
    pub categorical: CategoricalArgs,
    /// Columns shown per segment without clustering on them, comma-separated: level shares for text, mean and
    /// median for numbers.
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    pub profile_by: Vec<String>,
    /// Columns copied into the segments file beside the ID, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    pub keep: Vec<String>,
}

impl ColumnArgs {
    pub fn options(&self) -> ColumnOptions {
        ColumnOptions { profile_by: self.profile_by.clone(), keep: self.keep.clone(), ..self.categorical.options() }
    }
}
