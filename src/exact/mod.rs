//! Exact per-cluster sums on the CPU: fixed-point values with one global scale, added as `i128`, so the sums of a
//! Lloyd step are the same bits however the rows are split into partitions, blocks or threads.
//!
//! This is what makes the distributed fit of the Python package (`custseg.spark.KMeans`) give the same centres
//! whatever the partitioning: every partition quantises with the same [`ExactScale`] (computed once from the whole
//! data's per-feature maxima), returns its [`ExactSums`], and the driver adds them as integers. The single-machine
//! fit of the Python package with `exact_sums=True` (`custseg.KMeans`, `device="cpu"`) runs the same step
//! ([`exact_backend`]: the CPU backend with exact sums), so it gives the same bits as the Spark fit. The CLI's CPU
//! fit (and the Python package's by default) keeps `f64` block sums (the same bits whatever the thread count, not
//! whatever the partitioning); both choose the same labels.

mod backend;
mod fixed;

pub use backend::{exact_backend, fit_exact, partial_step, update_centres};
pub use fixed::{exponent_for, ExactScale, ExactSums, StepQuant, BLOCK_LIMIT, SUM_BITS, VALUE_BITS};
