//! Per-column scalers fitted on the data and applied in place: `x' = (t(x) − center) / scale`, where `t` is
//! `log1p` for the columns that ask for it and the identity otherwise. Statistics are unweighted.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// How each column is centred and scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScaleMethod {
    /// Mean 0, standard deviation 1.
    #[default]
    Zscore,
    /// Range mapped onto [0, 1].
    Minmax,
    /// Median 0, inter-quartile range 1 (robust to outliers).
    Robust,
    /// Unchanged.
    None,
}

/// One column's transform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnScale {
    pub name: String,
    /// `log1p` is applied before centring and scaling.
    pub log1p: bool,
    pub center: f64,
    pub scale: f64,
}

/// The fitted transform of every feature column, in feature order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub method: ScaleMethod,
    pub columns: Vec<ColumnScale>,
}

/// Linear-interpolated quantile of sorted data (NumPy's default), `q` in [0, 1].
fn quantile_sorted(sorted: &[f32], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] as f64 + (sorted[hi] as f64 - sorted[lo] as f64) * frac
}

impl Scaler {
    /// Fits the scaler on `x` (columns named by `names`) and transforms `x` in place.
    /// `log1p` names the columns to log-transform; each must be a feature and have no value ≤ −1.
    pub fn fit_transform(x: &mut Matrix, names: &[String], method: ScaleMethod, log1p: &[String]) -> Result<Scaler> {
        let (n, d) = (x.n(), x.d());
        assert_eq!(names.len(), d);
        for l in log1p {
            if !names.contains(l) {
                return Err(Error::Usage(format!(
                    "--log1p column '{l}' is not a feature; features are: {}",
                    names.join(", ")
                )));
            }
        }
        let logs: Vec<bool> = names.iter().map(|nm| log1p.contains(nm)).collect();
        for (f, nm) in names.iter().enumerate() {
            if logs[f] {
                let bad = (0..n).filter(|&i| x.row(i)[f] <= -1.0).count();
                if bad > 0 {
                    return Err(Error::Data(format!("column '{nm}' has {bad} values <= -1, where log1p is undefined")));
                }
            }
        }
        if logs.iter().any(|&l| l) {
            x.as_mut_slice().par_chunks_mut(d).for_each(|row| {
                for (v, &l) in row.iter_mut().zip(&logs) {
                    if l {
                        *v = v.ln_1p();
                    }
                }
            });
        }
        let mut columns = Vec::with_capacity(d);
        let mut column = vec![0f32; if method == ScaleMethod::Robust { n } else { 0 }];
        for (f, nm) in names.iter().enumerate() {
            let (center, spread) = match method {
                ScaleMethod::None => (0.0, 1.0),
                ScaleMethod::Zscore => {
                    let mean = (0..n).map(|i| x.row(i)[f] as f64).sum::<f64>() / n as f64;
                    let var = (0..n).map(|i| (x.row(i)[f] as f64 - mean).powi(2)).sum::<f64>() / n as f64;
                    (mean, var.sqrt())
                }
                ScaleMethod::Minmax => {
                    let (lo, hi) = (0..n).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), i| {
                        let v = x.row(i)[f] as f64;
                        (lo.min(v), hi.max(v))
                    });
                    (lo, hi - lo)
                }
                ScaleMethod::Robust => {
                    for (i, c) in column.iter_mut().enumerate() {
                        *c = x.row(i)[f];
                    }
                    column.par_sort_unstable_by(|a, b| a.total_cmp(b));
                    let q1 = quantile_sorted(&column, 0.25);
                    let q3 = quantile_sorted(&column, 0.75);
                    (quantile_sorted(&column, 0.5), q3 - q1)
                }
            };
            let scale = if spread > 0.0 && spread.is_finite() {
                spread
            } else {
                if method != ScaleMethod::None {
                    warn!(column = %nm, "column has no spread (constant, or IQR 0 for robust scaling): scale set to 1");
                }
                1.0
            };
            columns.push(ColumnScale { name: nm.clone(), log1p: logs[f], center, scale });
        }
        let scaler = Scaler { method, columns };
        scaler.apply_affine(x);
        Ok(scaler)
    }

    /// Applies centring and scaling (not log1p) in place.
    fn apply_affine(&self, x: &mut Matrix) {
        let cs: Vec<(f64, f64)> = self.columns.iter().map(|c| (c.center, c.scale)).collect();
        x.as_mut_slice().par_chunks_mut(cs.len().max(1)).for_each(|row| {
            for (v, &(c, s)) in row.iter_mut().zip(&cs) {
                *v = ((*v as f64 - c) / s) as f32;
            }
        });
    }

    /// Transforms raw rows (in feature order) the way the fitted data was transformed: for scoring new data.
    pub fn transform(&self, x: &mut Matrix) -> Result<()> {
        for (f, c) in self.columns.iter().enumerate() {
            if c.log1p {
                let bad = (0..x.n()).filter(|&i| x.row(i)[f] <= -1.0).count();
                if bad > 0 {
                    return Err(Error::Data(format!(
                        "column '{}' has {bad} values <= -1, where log1p is undefined",
                        c.name
                    )));
                }
            }
        }
        let logs: Vec<bool> = self.columns.iter().map(|c| c.log1p).collect();
        x.as_mut_slice().par_chunks_mut(logs.len().max(1)).for_each(|row| {
            for (v, &l) in row.iter_mut().zip(&logs) {
                if l {
                    *v = v.ln_1p();
                }
            }
        });
        self.apply_affine(x);
        Ok(())
    }

    /// Maps one scaled value of column `f` back to original units.
    pub fn inverse_value(&self, f: usize, v: f64) -> f64 {
        let c = &self.columns[f];
        let t = v * c.scale + c.center;
        if c.log1p {
            t.exp_m1()
        } else {
            t
        }
    }

    /// Maps one scaled row back to original units.
    pub fn inverse_row(&self, row: &[f32]) -> Vec<f64> {
        row.iter().enumerate().map(|(f, &v)| self.inverse_value(f, v as f64)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(d: usize) -> Vec<String> {
        (0..d).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn zscore_gives_mean_zero_and_unit_std() {
        let mut x = Matrix::from_vec(vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0], 4, 2);
        Scaler::fit_transform(&mut x, &names(2), ScaleMethod::Zscore, &[]).unwrap();
        for f in 0..2 {
            let col: Vec<f64> = (0..4).map(|i| x.row(i)[f] as f64).collect();
            let mean = col.iter().sum::<f64>() / 4.0;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
            assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn minmax_maps_onto_unit_interval() {
        let mut x = Matrix::from_vec(vec![-2.0, 0.0, 6.0], 3, 1);
        Scaler::fit_transform(&mut x, &names(1), ScaleMethod::Minmax, &[]).unwrap();
        assert_eq!(x.as_slice(), &[0.0, 0.25, 1.0]);
    }

    #[test]
    fn robust_uses_median_and_iqr() {
        // quartiles of 1..=5 (linear): q1 = 2, median = 3, q3 = 4
        let mut x = Matrix::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0], 5, 1);
        let s = Scaler::fit_transform(&mut x, &names(1), ScaleMethod::Robust, &[]).unwrap();
        assert_eq!((s.columns[0].center, s.columns[0].scale), (3.0, 2.0));
        assert_eq!(x.as_slice(), &[-1.0, -0.5, 0.0, 0.5, 1.0]);
    }

    #[test]
    fn constant_column_gets_scale_one() {
        let mut x = Matrix::from_vec(vec![7.0, 7.0, 7.0], 3, 1);
        let s = Scaler::fit_transform(&mut x, &names(1), ScaleMethod::Zscore, &[]).unwrap();
        assert_eq!(s.columns[0].scale, 1.0);
        assert_eq!(x.as_slice(), &[0.0, 0.0, 0.0]);
    }

    #[test]
    fn inverse_undoes_log1p_and_scaling() {
        let raw = vec![0.0f32, 9.0, 99.0, 999.0, 5.0, 6.0, 7.0, 8.0];
        let mut x = Matrix::from_vec(raw.clone(), 4, 2);
        let s = Scaler::fit_transform(&mut x, &names(2), ScaleMethod::Zscore, &["c0".into()]).unwrap();
        for i in 0..4 {
            let back = s.inverse_row(x.row(i));
            for f in 0..2 {
                let want = raw[i * 2 + f] as f64;
                assert!((back[f] - want).abs() <= 1e-4 * want.abs().max(1.0), "{back:?} vs {want}");
            }
        }
        let mut again = Matrix::from_vec(raw, 4, 2);
        s.transform(&mut again).unwrap();
        assert_eq!(again, x, "transform of new data matches the fitted transform");
    }

    #[test]
    fn log1p_rejects_values_at_or_below_minus_one() {
        let mut x = Matrix::from_vec(vec![-1.0, 2.0, -3.0], 3, 1);
        let e = Scaler::fit_transform(&mut x, &names(1), ScaleMethod::Zscore, &["c0".into()]).unwrap_err();
        assert_eq!(e.to_string(), "column 'c0' has 2 values <= -1, where log1p is undefined");
    }

    #[test]
    fn log1p_of_unknown_column_is_a_usage_error() {
        let mut x = Matrix::from_vec(vec![1.0], 1, 1);
        let e = Scaler::fit_transform(&mut x, &names(1), ScaleMethod::Zscore, &["nope".into()]).unwrap_err();
        assert!(e.is_usage());
    }
}
