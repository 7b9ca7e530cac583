//! Feature preparation before clustering: clipping to quantiles, `log1p` or the signed log on chosen columns, then per-column scaling (z-score, min-max,
//! robust or none). The fitted [`Scaler`] is kept in the model so centroids can be reported in original units.
//! `categorical` one-hot encodes `--categorical` columns into weighted indicator blocks.

pub mod categorical;
mod scaler;
mod tails;

pub use categorical::{CategoricalColumn, LevelRules};
pub use scaler::{check_log1p_columns, ColumnScale, ScaleMethod, Scaler};
pub use tails::{
    check_prep_columns, parse_clip_quantiles, signed_log, signed_log_inverse, ColumnPrep, DefaultPrep,
    DEFAULT_CLIP_QUANTILES,
};
