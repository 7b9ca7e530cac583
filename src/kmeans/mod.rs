//! K-means: parameters, initialisation, the Lloyd loop, and the backend trait the CPU and GPU implement.

mod algorithm;
mod backend;
mod hyperparams;
mod init;
#[cfg(test)]
mod naive;

pub(crate) use algorithm::count_distinct_rows;
pub use algorithm::{fit, FitResult, RunSummary, PROGRESS_TARGET};
pub use backend::{Assignment, Backend, SampleBackend, StepStats};
pub use hyperparams::{Init, InitSample, KMeansParams, ParamsError, ValidParams};
