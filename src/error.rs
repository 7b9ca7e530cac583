//! The library's error type: one line per error, naming the file, the column and the count.

use std::path::PathBuf;

/// Everything that can go wrong in the library. Messages are single lines meant for the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A K-means parameter is invalid (a usage error).
    /// (Not a `#[source]`: the message already contains it, and `{:#}` would print it twice.)
    #[error("invalid parameter: {0}")]
    Params(crate::kmeans::ParamsError),
    /// A command-line value is invalid (a usage error), e.g. an unknown column list syntax.
    #[error("{0}")]
    Usage(String),
    /// The input data is unusable: names the file, the column and the count where they apply.
    #[error("{0}")]
    Data(String),
    /// A file could not be read, listed, or is not Parquet.
    #[error("{}: {message}", path.display())]
    Input { path: PathBuf, message: String },
    /// An output could not be written.
    #[error("cannot write {}: {message}", path.display())]
    Output { path: PathBuf, message: String },
    /// The GPU backend failed (no adapter, lost device, out of memory, ...).
    #[error("GPU: {0}")]
    Gpu(String),
}

impl From<crate::kmeans::ParamsError> for Error {
    fn from(e: crate::kmeans::ParamsError) -> Self {
        Error::Params(e)
    }
}

impl Error {
    /// Whether this error is the user's command line (exit code 2) rather than a runtime failure (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Params(_) | Error::Usage(_))
    }

    pub fn input(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Error::Input { path: path.into(), message: one_line(&message.to_string()) }
    }

    pub fn output(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Error::Output { path: path.into(), message: one_line(&message.to_string()) }
    }
}

/// Folds a possibly multi-line message (e.g. from a dependency) into one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
