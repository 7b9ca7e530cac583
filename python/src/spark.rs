//! The Spark fit's native side (`custseg/spark.py` drives it): the executor kernel of one Lloyd step over a
//! partition, returning its exact sums split into `int64` words for Arrow, and the driver's centre update from
//! the partitions' sums added as Python integers. Spark fits are unweighted: the weight sums are the counts.
//!
//! An `i128` sum `v` travels as `hi = v >> 64` (signed) and `lo` = the low 64 bits read as a signed `int64`;
//! the driver rebuilds `v = hi · 2^64 + (lo mod 2^64)` as a Python integer and adds the partitions' exactly.

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2};
use pyo3::prelude::*;

use custseg::exact::{ExactScale, ExactSums};

use crate::errors::to_py;
use crate::matrix;

/// The global scale from the whole data's per-feature `max |x_f|` (unweighted: `w·x = x`).
fn scale(x_max: &[f64]) -> ExactScale {
    ExactScale::from_maxima(x_max.to_vec(), x_max, None)
}

fn hi(v: i128) -> i64 {
    (v >> 64) as i64
}

fn lo(v: i128) -> i64 {
    v as u64 as i64
}

type Words<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray2<i64>>, Bound<'py, PyArray2<i64>>, i64, i64, i32);

/// One partition's share of a Lloyd step against `centres` (`k × d`), with the scale of the whole data
/// (`x_max`). Returns `(counts[k], sums_hi[k, d], sums_lo[k, d], inertia_hi, inertia_lo, inertia_exp)`.
#[pyfunction]
pub(crate) fn partial_step<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    centres: PyReadonlyArray2<'py, f32>,
    x_max: Vec<f64>,
) -> PyResult<Words<'py>> {
    let m = matrix(&x)?;
    let c = matrix(&centres)?;
    let (k, d) = (c.n(), c.d());
    if d != m.d() || x_max.len() != d {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "partition has {} features, the centres {d}, the scale {}",
            m.d(),
            x_max.len()
        )));
    }
    let s = scale(&x_max);
    let sums = py.detach(|| custseg::exact::partial_step(&s, &m, None, c.as_slice(), k)).map_err(to_py)?;
    let counts: Vec<i64> = sums.counts.iter().map(|&c| c as i64).collect();
    let sh = PyArray1::from_vec(py, sums.sums.iter().map(|&v| hi(v)).collect()).reshape([k, d])?;
    let sl = PyArray1::from_vec(py, sums.sums.iter().map(|&v| lo(v)).collect()).reshape([k, d])?;
    Ok((PyArray1::from_vec(py, counts), sh, sl, hi(sums.inertia), lo(sums.inertia), sums.inertia_exp))
}

/// The driver's update: from the step's total exact sums (`sums`, `k·d` Python integers; `counts`; `inertia`, an
/// integer in units of `2^−inertia_exp`) against `centres`, the new centres (as `kmeans/algorithm.rs` computes
/// them: a cluster without rows keeps its centre), the squared shift and the step's inertia.
#[pyfunction]
pub(crate) fn update_centres<'py>(
    py: Python<'py>,
    centres: PyReadonlyArray2<'py, f32>,
    sums: Vec<i128>,
    counts: Vec<u64>,
    inertia: i128,
    x_max: Vec<f64>,
) -> PyResult<(Bound<'py, PyArray2<f32>>, f64, f64)> {
    let c = matrix(&centres)?;
    let (k, d) = (c.n(), c.d());
    if sums.len() != k * d || counts.len() != k || x_max.len() != d {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{} sums and {} counts for {k} centres of {d} features",
            sums.len(),
            counts.len()
        )));
    }
    let s = scale(&x_max);
    let mut total = ExactSums::zeros(k, d, s.inertia_exp(c.as_slice()));
    total.sums = sums;
    total.weights = counts.iter().map(|&c| c as i128).collect();
    total.counts = counts;
    total.inertia = inertia;
    let stats = total.to_stats(&s, 0);
    let mut new = c.into_vec();
    let shift = custseg::exact::update_centres(&stats, &mut new, k, d);
    Ok((PyArray1::from_vec(py, new).reshape([k, d])?, shift, stats.inertia))
}
