//! The library's errors as Python exceptions: bad input and bad parameters are `ValueError`, carrying the CLI's
//! one-line message; failures of the device or of a write are `RuntimeError`.

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::PyErr;

/// Whether the caller can fix it: the CLI's usage errors (exit code 2), unusable data, an unreadable or missing
/// input file.
fn callers(e: &custseg::Error) -> bool {
    matches!(
        e,
        custseg::Error::Data(_) | custseg::Error::Usage(_) | custseg::Error::Params(_) | custseg::Error::Input { .. }
    )
}

/// `ValueError` for what the caller can fix, `RuntimeError` otherwise.
pub(crate) fn to_py(e: custseg::Error) -> PyErr {
    if callers(&e) {
        PyValueError::new_err(e.to_string())
    } else {
        PyRuntimeError::new_err(e.to_string())
    }
}

/// A command's error (`cli::run_embedded`) as a Python exception: the class from the library error in its chain,
/// the message the CLI prints after `error: `.
pub(crate) fn command_to_py(e: anyhow::Error) -> PyErr {
    let message = format!("{e:#}");
    if e.chain().any(|c| c.downcast_ref::<custseg::Error>().is_some_and(callers)) {
        PyValueError::new_err(message)
    } else {
        PyRuntimeError::new_err(message)
    }
}
