//! `custseg._native`: the private native module of the Python package. The pure-Python layer (`custseg/`) checks
//! its inputs, then calls these functions with C-contiguous `float32` arrays; the GIL is released during the work.
//!
//! - `fit`: a K-means fit (the CPU with the CLI's sums or exact ones, or the GPU) → centres, labels, squared
//!   distances, inertia, steps;
//! - `assign`: nearest centres and squared distances on the CPU (predict, score); `non_finite`: the check of X;
//! - `partial_step`, `update_centres`: the Spark fit's executor kernel and driver update (`spark.rs`);
//! - `run_command`, `read_model`: the CLI's job commands run in-process for `custseg.segment` and the others
//!   (`jobs.rs`).

mod errors;
mod jobs;
mod spark;

use std::sync::Arc;

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use custseg::backend::cpu::CpuBackend;
use custseg::device::{fit_on_device, fit_on_device_or, DeviceChoice, DeviceRequest};
use custseg::exact::fit_exact;
use custseg::kmeans::{Backend, Init, InitSample, KMeansParams};
use custseg::{Matrix, SharedRows};

use errors::to_py;

/// A NumPy array's rows, read in place by the library ([`Matrix::shared`]).
#[derive(Debug)]
struct NumpyRows {
    ptr: *const f32,
    len: usize,
    _owner: Py<PyAny>,
}

// SAFETY: the rows are only ever read. `_owner` keeps the array alive, and each `NumpyRows` lives within one call
// to this module, for which the caller holds a read-only borrow of the array (the numpy crate's borrow checking
// refuses a writable borrow from Rust meanwhile). As for every extension that releases the GIL over a NumPy
// buffer, Python code that writes into the array from another thread during the call would race with the fit.
unsafe impl Send for NumpyRows {}
unsafe impl Sync for NumpyRows {}

impl SharedRows for NumpyRows {
    fn values(&self) -> &[f32] {
        // SAFETY: `ptr` and `len` come from the array's contiguous slice, alive and unchanged (see above).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// The library's matrix over a C-contiguous 2-D `float32` array, without a copy. It must not outlive `x`'s borrow:
/// every caller drops it before returning.
pub(crate) fn matrix(x: &PyReadonlyArray2<'_, f32>) -> PyResult<Matrix> {
    let (n, d) = (x.shape()[0], x.shape()[1]);
    // `as_slice` also accepts a Fortran-ordered array, whose memory is column-major: refuse it (read as rows, it
    // would be another matrix).
    let not_rows = || pyo3::exceptions::PyValueError::new_err("X must be a C-contiguous float32 array");
    if !x.is_c_contiguous() {
        return Err(not_rows());
    }
    let s = x.as_slice().map_err(|_| not_rows())?;
    let rows = NumpyRows { ptr: s.as_ptr(), len: s.len(), _owner: (**x).clone().into_any().unbind() };
    Ok(Matrix::shared(Arc::new(rows), n, d))
}

/// The device request of `device="cpu"|"gpu"|"auto"`.
fn device(name: &str) -> PyResult<DeviceRequest> {
    let choice = match name {
        "cpu" => DeviceChoice::Cpu,
        "gpu" => DeviceChoice::Gpu,
        "auto" => DeviceChoice::Auto,
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "device must be 'auto', 'cpu' or 'gpu', got '{other}'"
            )))
        }
    };
    Ok(DeviceRequest { choice, ..Default::default() })
}

type FitOut<'py> =
    (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray1<i32>>, Bound<'py, PyArray1<f32>>, f64, usize, String);

/// Fits K-means. `init` is `"k-means++"`, `"random"` or `"given"` (then `centres` holds the `k × d` start). On the
/// CPU, `exact` chooses the exact sums (`exact::fit_exact`: the Spark fit's bits) over the CLI's `f64` block sums
/// (the CLI's bits). Returns `(centres, labels, dist2, inertia, n_iter, backend)`.
#[pyfunction]
#[pyo3(signature = (x, sample_weight, n_clusters, init, centres, n_init, max_iter, tol, seed, device_name, exact))]
#[allow(clippy::too_many_arguments)]
fn fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    sample_weight: Option<PyReadonlyArray1<'py, f32>>,
    n_clusters: usize,
    init: &str,
    centres: Option<PyReadonlyArray2<'py, f32>>,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    device_name: &str,
    exact: bool,
) -> PyResult<FitOut<'py>> {
    let req = device(device_name)?;
    let m = matrix(&x)?;
    let w: Option<Vec<f32>> = match &sample_weight {
        Some(w) => {
            Some(w.as_slice().map_err(|_| pyo3::exceptions::PyValueError::new_err("weights not contiguous"))?.to_vec())
        }
        None => None,
    };
    let init = match (init, centres) {
        ("k-means++", _) => Init::KMeansPlusPlus,
        ("random", _) => Init::Random,
        ("given", Some(c)) => Init::Given(matrix(&c)?),
        (other, _) => return Err(pyo3::exceptions::PyValueError::new_err(format!("unknown init '{other}'"))),
    };
    let params = KMeansParams::new(n_clusters)
        .init(init)
        .n_init(n_init)
        .max_iter(max_iter)
        .tol(tol)
        .seed(seed)
        .init_sample(InitSample::Auto)
        .check()
        .map_err(|e| to_py(custseg::Error::Params(e)))?;
    let d = m.d();
    let r = py
        .detach(|| {
            let w = w.as_deref();
            if exact {
                fit_on_device_or(&req, &params, &m, w, || fit_exact(&params, &m, w))
            } else {
                fit_on_device(&req, &params, &m, w)
            }
        })
        .map_err(to_py)?;
    let k = r.centroids.n();
    let centres = PyArray1::from_vec(py, r.centroids.into_vec()).reshape([k, d])?;
    let labels = PyArray1::from_vec(py, r.labels.into_iter().map(|l| l as i32).collect());
    Ok((centres, labels, PyArray1::from_vec(py, r.dist2), r.inertia, r.n_iter, r.backend))
}

/// Labels and squared distances, as NumPy arrays.
type Labels<'py> = (Bound<'py, PyArray1<i32>>, Bound<'py, PyArray1<f32>>);

/// Rows per parallel piece of [`non_finite`].
const FINITE_BLOCK_ROWS: usize = 16_384;

/// The first column holding NaN or infinite values, and how many it holds; `None` when every value is finite. One
/// parallel pass over the matrix (the common all-finite case is a branch-free OR of the exponent test), no
/// temporaries; the per-column count runs only when a piece has a non-finite value.
#[pyfunction]
fn non_finite(py: Python<'_>, x: PyReadonlyArray2<'_, f32>) -> PyResult<Option<(usize, usize)>> {
    use rayon::prelude::*;
    let m = matrix(&x)?;
    let d = m.d().max(1);
    let bad = |v: f32| v.to_bits() & 0x7f80_0000 == 0x7f80_0000;
    let counts = py.detach(|| {
        m.as_slice()
            .par_chunks(FINITE_BLOCK_ROWS * d)
            .map(|piece| {
                if !piece.iter().fold(false, |acc, &v| acc | bad(v)) {
                    return None;
                }
                let mut c = vec![0usize; d];
                for row in piece.chunks_exact(d) {
                    for (n, &v) in c.iter_mut().zip(row) {
                        *n += usize::from(bad(v));
                    }
                }
                Some(c)
            })
            .reduce(
                || None,
                |a, b| match (a, b) {
                    (Some(mut a), Some(b)) => {
                        a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                        Some(a)
                    }
                    (a, b) => a.or(b),
                },
            )
    });
    Ok(counts.and_then(|c| c.iter().position(|&n| n > 0).map(|j| (j, c[j]))))
}

/// Each row's nearest centre (lowest index on ties) and squared distance to it, on the CPU.
#[pyfunction]
fn assign<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    centres: PyReadonlyArray2<'py, f32>,
) -> PyResult<Labels<'py>> {
    let m = matrix(&x)?;
    let c = matrix(&centres)?;
    if c.d() != m.d() {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "X has {} features, the centres have {}",
            m.d(),
            c.d()
        )));
    }
    let a = py.detach(|| CpuBackend::new(&m, None).assign(c.as_slice(), c.n())).map_err(to_py)?;
    Ok((PyArray1::from_vec(py, a.labels.into_iter().map(|l| l as i32).collect()), PyArray1::from_vec(py, a.dist2)))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(assign, m)?)?;
    m.add_function(wrap_pyfunction!(non_finite, m)?)?;
    m.add_function(wrap_pyfunction!(spark::partial_step, m)?)?;
    m.add_function(wrap_pyfunction!(spark::update_centres, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::run_command, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::read_model, m)?)?;
    // As in the binary (main.rs): lavapipe links libwayland-client, which prints "error: XDG_RUNTIME_DIR is invalid
    // or not set" on stderr when probed on a headless machine; a private runtime folder keeps stderr to our own
    // messages. Set once, while the module is imported.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    // Warnings of in-process commands (a GPU fall-back, a drift warning) reach stderr as the CLI writes them.
    custseg::cli::init_embedded_logging();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
