//! Feature preparation before clustering: `log1p` on chosen columns, then per-column scaling (z-score, min-max,
//! robust or none). The fitted [`Scaler`] is kept in the model so centroids can be reported in original units.

mod scaler;

pub use scaler::{check_log1p_columns, ColumnScale, ScaleMethod, Scaler};
