//! Per-column scalers fitted on the data and applied in place: `x' = (t(x) − center) / scale`, where `t` is
//! `log1p` for the columns that ask for it and the identity otherwise. Statistics are unweighted.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tracing::warn;

use super::tails::{
    apply_clip, apply_signed_log, check_prep_columns, fit_clip_limits, log1p_error, quantile_sorted,
    signed_log_inverse, ColumnPrep,
};
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
    /// `sign(x)·ln(1+|x|)` is applied before centring and scaling (`--signed-log`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub signed_log: bool,
    /// The clipping limits in raw units (`--clip`), applied before any other step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<[f64; 2]>,
    pub center: f64,
    pub scale: f64,
}

/// The fitted transform of every feature column, in feature order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub method: ScaleMethod,
    pub columns: Vec<ColumnScale>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Checks that every `--log1p` column is one of the features `names` (a usage error naming the column otherwise).
pub fn check_log1p_columns(names: &[String], log1p: &[String]) -> Result<()> {
    match log1p.iter().find(|l| !names.contains(l)) {
        Some(l) => {
            Err(Error::Usage(format!("--log1p column '{l}' is not a feature; features are: {}", names.join(", "))))
        }
        None => Ok(()),
    }
}

impl Scaler {
    /// Fits the scaler on `x` (columns named by `names`) and transforms `x` in place.
    /// `log1p` names the columns to log-transform; each must be a feature and have no value ≤ −1.
    pub fn fit_transform(x: &mut Matrix, names: &[String], method: ScaleMethod, log1p: &[String]) -> Result<Scaler> {
        Scaler::fit_transform_prep(x, names, method, &ColumnPrep::log1p(log1p))
    }

    /// [`Scaler::fit_transform`] with every per-column step of `prep`: clipping to fitted quantiles, then `log1p`
    /// or the signed log, then scaling (see [`super::tails`]).
    pub fn fit_transform_prep(
        x: &mut Matrix,
        names: &[String],
        method: ScaleMethod,
        prep: &ColumnPrep,
    ) -> Result<Scaler> {
        let (n, d) = (x.n(), x.d());
        assert_eq!(names.len(), d);
        check_prep_columns(names, prep)?;
        let logs: Vec<bool> = names.iter().map(|nm| prep.log1p.contains(nm)).collect();
        let signed: Vec<bool> = names.iter().map(|nm| prep.signed_log.contains(nm)).collect();
        let clips: Vec<Option<[f64; 2]>> =
            (0..d).map(|f| prep.clip.contains(&names[f]).then(|| fit_clip_limits(x, f, prep.clip_quantiles))).collect();
        apply_clip(x, &clips);
        check_log1p(x, &logs, names)?;
        apply_log1p(x, &logs);
        apply_signed_log(x, &signed);
        // Column statistics in parallel passes over the rows (fixed blocks, merged in block order, so the same bits
        // on any thread count): one for min-max, two for z-score (mean, then squared deviations); robust scaling
        // sorts a copy of each column.
        let stats: Vec<(f64, f64)> = match method {
            ScaleMethod::None => vec![(0.0, 1.0); d],
            ScaleMethod::Zscore => {
                let sums = column_fold(x, 0.0, |a, v, _| a + v, |a, b| a + b);
                let means: Vec<f64> = sums.iter().map(|s| s / n as f64).collect();
                let dev = column_fold(x, 0.0, |a, v, f| a + (v - means[f]).powi(2), |a, b| a + b);
                means.iter().zip(&dev).map(|(&m, &v)| (m, (v / n as f64).sqrt())).collect()
            }
            ScaleMethod::Minmax => {
                let range = |(lo, hi): (f64, f64), v: f64| (lo.min(v), hi.max(v));
                column_fold(
                    x,
                    (f64::INFINITY, f64::NEG_INFINITY),
                    |a, v, _| range(a, v),
                    |a, (lo, hi)| range(range(a, lo), hi),
                )
                .into_iter()
                .map(|(lo, hi)| (lo, hi - lo))
                .collect()
            }
            ScaleMethod::Robust => {
                let mut column = vec![0f32; n];
                (0..d)
                    .map(|f| {
                        let xs = x.as_slice();
                        column.par_iter_mut().enumerate().for_each(|(i, c)| *c = xs[i * d + f]);
                        column.par_sort_unstable_by(|a, b| a.total_cmp(b));
                        let q1 = quantile_sorted(&column, 0.25);
                        let q3 = quantile_sorted(&column, 0.75);
                        (quantile_sorted(&column, 0.5), q3 - q1)
                    })
                    .collect()
            }
        };
        let mut columns = Vec::with_capacity(d);
        for ((f, nm), &(center, spread)) in names.iter().enumerate().zip(&stats) {
            let scale = if spread > 0.0 && spread.is_finite() {
                spread
            } else {
                if method != ScaleMethod::None {
                    warn!(column = %nm, "column has no spread (constant, or IQR 0 for robust scaling): scale set to 1");
                }
                1.0
            };
            columns.push(ColumnScale {
                name: nm.clone(),
                log1p: logs[f],
                signed_log: signed[f],
                clip: clips[f],
                center,
                scale,
            });
        }
        let scaler = Scaler { method, columns };
        scaler.apply_affine(x);
        Ok(scaler)
    }

    /// Applies centring and scaling (not log1p) in place.
    fn apply_affine(&self, x: &mut Matrix) {
        let cs: Vec<(f64, f64)> = self.columns.iter().map(|c| (c.center, c.scale)).collect();
        let d = cs.len().max(1);
        x.as_mut_slice().par_chunks_mut(STAT_ROWS * d).for_each(|block| {
            for row in block.chunks_exact_mut(d) {
                for (v, &(c, s)) in row.iter_mut().zip(&cs) {
                    *v = ((*v as f64 - c) / s) as f32;
                }
            }
        });
    }

    /// Transforms raw rows (in feature order) the way the fitted data was transformed: for scoring new data.
    pub fn transform(&self, x: &mut Matrix) -> Result<()> {
        let names: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        let logs: Vec<bool> = self.columns.iter().map(|c| c.log1p).collect();
        let signed: Vec<bool> = self.columns.iter().map(|c| c.signed_log).collect();
        let clips: Vec<Option<[f64; 2]>> = self.columns.iter().map(|c| c.clip).collect();
        apply_clip(x, &clips);
        check_log1p(x, &logs, &names)?;
        apply_log1p(x, &logs);
        apply_signed_log(x, &signed);
        self.apply_affine(x);
        Ok(())
    }

    /// Maps one scaled value of column `f` back to original units.
    pub fn inverse_value(&self, f: usize, v: f64) -> f64 {
        let c = &self.columns[f];
        let t = v * c.scale + c.center;
        if c.log1p {
            t.exp_m1()
        } else if c.signed_log {
            signed_log_inverse(t)
        } else {
            t
        }
    }

    /// Maps one scaled row back to original units.
    pub fn inverse_row(&self, row: &[f32]) -> Vec<f64> {
        row.iter().enumerate().map(|(f, &v)| self.inverse_value(f, v as f64)).collect()
    }
}

/// Rows per block of the parallel column statistics.
const STAT_ROWS: usize = 8192;

/// Per column, `fold` over the rows (each value as `f64`, with its column index) within fixed blocks of rows, in
/// parallel, then `merge` of the blocks in block order: the same bits whatever the thread count.
fn column_fold<A: Copy + Send + Sync>(
    x: &Matrix,
    init: A,
    fold: impl Fn(A, f64, usize) -> A + Sync,
    merge: impl Fn(A, A) -> A,
) -> Vec<A> {
    let d = x.d();
    if d == 0 {
        return Vec::new();
    }
    let blocks: Vec<Vec<A>> = x
        .as_slice()
        .par_chunks(STAT_ROWS * d)
        .map(|block| {
            let mut acc = vec![init; d];
            for row in block.chunks_exact(d) {
                for (f, (a, &v)) in acc.iter_mut().zip(row).enumerate() {
                    *a = fold(*a, v as f64, f);
                }
            }
            acc
        })
        .collect();
    let mut out = vec![init; d];
    for b in &blocks {
        for (o, &v) in out.iter_mut().zip(b) {
            *o = merge(*o, v);
        }
    }
    out
}

/// `x = log1p(x)` in place in the columns where `logs` is set, in parallel over blocks of rows.
fn apply_log1p(x: &mut Matrix, logs: &[bool]) {
    let cols: Vec<usize> = (0..logs.len()).filter(|&f| logs[f]).collect();
    if cols.is_empty() {
        return;
    }
    let d = x.d();
    x.as_mut_slice().par_chunks_mut(STAT_ROWS * d).for_each(|block| {
        for row in block.chunks_exact_mut(d) {
            for &f in &cols {
                row[f] = row[f].ln_1p();
            }
        }
    });
}

/// The columns to log-transform must have no value ≤ −1 (counted in parallel; the first such column is named).
fn check_log1p(x: &Matrix, logs: &[bool], names: &[String]) -> Result<()> {
    if !logs.iter().any(|&l| l) {
        return Ok(());
    }
    let bad = column_fold(x, 0usize, |a, v, f| a + usize::from(logs[f] && v <= -1.0), |a, b| a + b);
    match bad.iter().position(|&b| b > 0) {
        Some(f) => Err(log1p_error(&names[f], bad[f])),
        None => Ok(()),
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
    fn block_statistics_match_a_sequential_pass_and_ignore_the_thread_count() {
        // Several blocks of STAT_ROWS rows and a partial one, two columns of different magnitude.
        let n = 3 * STAT_ROWS + 123;
        let raw: Vec<f32> = (0..n).flat_map(|i| [((i * 7919) % 1000) as f32 * 0.01, 1e4 + (i % 17) as f32]).collect();
        let fit = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut x = Matrix::from_vec(raw.clone(), n, 2);
                let s = Scaler::fit_transform(&mut x, &names(2), ScaleMethod::Zscore, &[]).unwrap();
                (s, x)
            })
        };
        let (one, x1) = fit(1);
        let (three, x3) = fit(3);
        assert_eq!(one, three);
        assert_eq!(x1, x3);
        for f in 0..2 {
            let col: Vec<f64> = (0..n).map(|i| raw[i * 2 + f] as f64).collect();
            let mean = col.iter().sum::<f64>() / n as f64;
            let std = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
            assert!((one.columns[f].center - mean).abs() <= 1e-12 * mean.abs().max(1.0), "column {f}");
            assert!((one.columns[f].scale - std).abs() <= 1e-12 * std, "column {f}");
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
        let e = e.to_string();
        assert!(e.starts_with("--log1p: column 'c0' has 2 values <= -1"), "{e}");
        assert!(e.contains("use --signed-log c0"), "{e}");
    }

    #[test]
    fn log1p_of_unknown_column_is_a_usage_error() {
        let mut x = Matrix::from_vec(vec![1.0], 1, 1);
        let e = Scaler::fit_transform(&mut x, &names(1), ScaleMethod::Zscore, &["nope".into()]).unwrap_err();
        assert!(e.is_usage());
    }
}
