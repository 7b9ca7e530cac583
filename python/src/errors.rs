//! The library's errors as Python exceptions: bad input and bad parameters are `ValueError`, carrying the CLI's
//! one-line message; failures of the device or of a write are `RuntimeError`.

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::PyErr;

/// `ValueError` for what the caller can fix (the CLI's exit code 2, and data errors), `RuntimeError` otherwise.
pub(crate) fn to_py(e: custseg::Error) -> PyErr {
    match e {
        custseg::Error::Data(_) | custseg::Error::Usage(_) | custseg::Error::Params(_) => {
            PyValueError::new_err(e.to_string())
        }
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}
