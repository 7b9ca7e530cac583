//! The job commands (`segment`, `choose-k`, `assign`, `compare`, `features`) run in-process for the Python
//! functions of `custseg/_jobs.py`: the library's `cli::run_embedded`, so the flags, their checks, the jobs and the
//! one-line messages are the CLI's. The GIL is released while a command runs.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::errors::{command_to_py, to_py};

/// Runs `custseg ARGS...` in-process and returns what it printed (the caller passes `--json`).
#[pyfunction]
pub(crate) fn run_command(py: Python<'_>, args: Vec<String>) -> PyResult<String> {
    let out = py
        .detach(|| {
            let mut out = Vec::new();
            custseg::cli::run_embedded(&args, &mut out).map(|()| out)
        })
        .map_err(command_to_py)?;
    String::from_utf8(out).map_err(|e| PyRuntimeError::new_err(format!("the command printed invalid UTF-8: {e}")))
}

/// Checks that `path` is a model this engine can use (as `assign` checks it) and returns its JSON text.
#[pyfunction]
pub(crate) fn read_model(py: Python<'_>, path: std::path::PathBuf) -> PyResult<String> {
    py.detach(|| {
        custseg::model::Model::load(&path)?;
        std::fs::read_to_string(&path).map_err(|e| custseg::Error::input(&path, e))
    })
    .map_err(to_py)
}
