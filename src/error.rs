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
    /// The GPU backend failed (no adapter, lost device, out of memory, ...); its kind says which.
    #[error("GPU: {0}")]
    Gpu(GpuError),
}

/// What kind of GPU failure an [`Error::Gpu`] is. `--device auto` falls back to the CPU quietly when no device was
/// ever opened (the first three kinds) and with a warning when an opened one failed ([`GpuErrorKind::Device`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuErrorKind {
    /// wgpu sees no adapter at all (no Vulkan, Metal or DX12 driver).
    NoAdapter,
    /// Adapters exist, but none is the one asked for (by `--adapter` name, or a hardware one for `--device auto`).
    NoMatchingAdapter,
    /// custseg was built without the `gpu` feature.
    NotBuilt,
    /// Opening or using a device failed: the device request, its limits, validation, out of memory, a lost device.
    Device,
}

/// A GPU failure: its kind, and the one-line message the user sees (after `GPU: `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct GpuError {
    kind: GpuErrorKind,
    message: String,
}

impl GpuError {
    pub fn new(kind: GpuErrorKind, message: impl Into<String>) -> Self {
        GpuError { kind, message: message.into() }
    }

    pub fn kind(&self) -> GpuErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether a device had been opened when this happened (so a fall-back to the CPU is worth a warning).
    pub fn device_was_opened(&self) -> bool {
        self.kind == GpuErrorKind::Device
    }
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

    /// A failure of an opened GPU device ([`GpuErrorKind::Device`]).
    pub fn gpu(message: impl Into<String>) -> Self {
        Error::Gpu(GpuError::new(GpuErrorKind::Device, message))
    }

    /// The kind of a GPU failure; `None` for every other error.
    pub fn gpu_error_kind(&self) -> Option<GpuErrorKind> {
        match self {
            Error::Gpu(g) => Some(g.kind()),
            _ => None,
        }
    }
}

/// Folds a possibly multi-line message (e.g. from a dependency) into one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gpu_error_prints_its_message_after_gpu_whatever_its_kind() {
        let kinds =
            [GpuErrorKind::NoAdapter, GpuErrorKind::NoMatchingAdapter, GpuErrorKind::NotBuilt, GpuErrorKind::Device];
        for kind in kinds {
            let e = Error::Gpu(GpuError::new(kind, "no GPU adapter found"));
            assert_eq!(e.to_string(), "GPU: no GPU adapter found");
            assert_eq!(format!("{e:#}"), "GPU: no GPU adapter found");
            assert_eq!(e.gpu_error_kind(), Some(kind));
            assert!(!e.is_usage());
        }
        assert_eq!(Error::gpu("lost").gpu_error_kind(), Some(GpuErrorKind::Device));
        assert_eq!(Error::Data("x".into()).gpu_error_kind(), None);
    }

    #[test]
    fn only_a_device_error_says_a_device_was_opened() {
        assert!(GpuError::new(GpuErrorKind::Device, "cannot open a device").device_was_opened());
        for kind in [GpuErrorKind::NoAdapter, GpuErrorKind::NoMatchingAdapter, GpuErrorKind::NotBuilt] {
            assert!(!GpuError::new(kind, "no").device_was_opened(), "{kind:?}");
        }
    }
}
