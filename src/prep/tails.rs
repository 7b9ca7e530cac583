//! Heavy tails and returns before scaling: which columns get `log1p`, the signed log `sign(x)·ln(1+|x|)` (defined
//! for returns, where net spend is negative) and quantile clipping (winsorising), with the checks of those flags
//! and the exact quantiles that fit the clipping limits.
//!
//! Order of the steps, per column: clip to the fitted limits (raw units), then `log1p` or the signed log, then
//! centre and scale ([`Scaler`](super::Scaler)). The limits are fitted on the raw values, kept in the model and
//! applied again when the model scores new rows; the logs are inverted when centroids are reported, the clipping
//! cannot be (a centroid lies within the limits anyway).

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// The default `--clip-quantiles`, in percent.
pub const DEFAULT_CLIP_QUANTILES: (f64, f64) = (0.5, 99.5);

/// Per-column transforms asked for by name.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPrep {
    /// Columns to `log1p` (values must be > −1).
    pub log1p: Vec<String>,
    /// Columns to map through `sign(x)·ln(1+|x|)`, defined for every value.
    pub signed_log: Vec<String>,
    /// Columns to clip to their `clip_quantiles` before any other step.
    pub clip: Vec<String>,
    /// Lower and upper quantile of the clipping, in percent, `0 <= lo < hi <= 100`.
    pub clip_quantiles: (f64, f64),
}

impl Default for ColumnPrep {
    fn default() -> Self {
        ColumnPrep {
            log1p: Vec::new(),
            signed_log: Vec::new(),
            clip: Vec::new(),
            clip_quantiles: DEFAULT_CLIP_QUANTILES,
        }
    }
}

impl ColumnPrep {
    /// Only `log1p` on these columns.
    pub fn log1p(cols: &[String]) -> Self {
        ColumnPrep { log1p: cols.to_vec(), ..ColumnPrep::default() }
    }

    /// Whether a column is named by any of the three flags.
    pub fn names(&self, column: &str) -> bool {
        [&self.log1p, &self.signed_log, &self.clip].iter().any(|l| l.iter().any(|c| c == column))
    }
}

/// A default preparation by column name, for files whose columns are known (those `custseg features` writes:
/// the lists are in `features::selection`). It applies only when every `requires` column is a feature, and
/// only to the columns that the flags name in none of `--log1p`, `--signed-log` and `--clip`. A name with one
/// `*` matches every column with that prefix and suffix (`monetary_*d`: `monetary_365d`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DefaultPrep {
    /// The columns that mark such a file.
    pub requires: Vec<String>,
    pub log1p: Vec<String>,
    pub signed_log: Vec<String>,
    pub clip: Vec<String>,
}

impl DefaultPrep {
    /// `given` with this default added for the features `names` (see the type's rule); logs what it added.
    pub fn apply(&self, names: &[String], given: &ColumnPrep) -> ColumnPrep {
        let mut out = given.clone();
        if !self.requires.iter().all(|r| names.contains(r)) {
            return out;
        }
        let pick = |list: &[String]| -> Vec<String> {
            names.iter().filter(|n| list.iter().any(|p| name_matches(p, n)) && !given.names(n)).cloned().collect()
        };
        let (log1p, signed, clip) = (pick(&self.log1p), pick(&self.signed_log), pick(&self.clip));
        if log1p.is_empty() && signed.is_empty() && clip.is_empty() {
            return out;
        }
        let mut said = Vec::new();
        for (flag, l) in [("--clip", &clip), ("--signed-log", &signed), ("--log1p", &log1p)] {
            if !l.is_empty() {
                said.push(format!("{flag} {}", l.join(",")));
            }
        }
        if !clip.is_empty() {
            said.push(format!("(--clip-quantiles {},{})", out.clip_quantiles.0, out.clip_quantiles.1));
        }
        tracing::info!(
            "a features file: heavy-tailed columns prepared by default with {}; --no-auto-prep turns this off",
            said.join(" ")
        );
        out.log1p.extend(log1p);
        out.signed_log.extend(signed);
        out.clip.extend(clip);
        out
    }
}

/// Whether `name` matches `pattern`: equal, or with one `*` in the pattern standing for any non-empty text.
fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((pre, post)) => name.len() > pre.len() + post.len() && name.starts_with(pre) && name.ends_with(post),
    }
}

/// Parses `--clip-quantiles LO,HI` (percent): two numbers with `0 <= LO < HI <= 100`.
pub fn parse_clip_quantiles(s: &str) -> std::result::Result<(f64, f64), String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let nums: Vec<f64> = parts.iter().filter_map(|p| p.parse::<f64>().ok()).filter(|v| v.is_finite()).collect();
    if parts.len() != 2 || nums.len() != 2 {
        return Err(format!("expected two percentages LO,HI such as 0.5,99.5, got '{s}'"));
    }
    let (lo, hi) = (nums[0], nums[1]);
    if !(0.0..=100.0).contains(&lo) || !(0.0..=100.0).contains(&hi) {
        return Err(format!("percentages must lie in 0..100, got '{s}'"));
    }
    if lo >= hi {
        return Err(format!("the lower quantile must be below the upper one, got '{s}': use {hi},{lo}"));
    }
    Ok((lo, hi))
}

/// Checks the flags against the features `names` (usage errors): every named column is a feature, and none is
/// both `--log1p` and `--signed-log`.
pub fn check_prep_columns(names: &[String], prep: &ColumnPrep) -> Result<()> {
    for (flag, list) in [("--log1p", &prep.log1p), ("--signed-log", &prep.signed_log), ("--clip", &prep.clip)] {
        if let Some(l) = list.iter().find(|l| !names.contains(l)) {
            return Err(Error::Usage(format!(
                "{flag} column '{l}' is not a feature; features are: {}",
                names.join(", ")
            )));
        }
    }
    if let Some(c) = prep.log1p.iter().find(|c| prep.signed_log.contains(c)) {
        return Err(Error::Usage(format!("column '{c}' is in both --log1p and --signed-log: keep one")));
    }
    let (lo, hi) = prep.clip_quantiles;
    if !(0.0..=100.0).contains(&lo) || !(0.0..=100.0).contains(&hi) || lo >= hi {
        return Err(Error::Usage(format!("--clip-quantiles {lo},{hi}: need 0 <= LO < HI <= 100")));
    }
    Ok(())
}

/// `sign(x)·ln(1+|x|)`.
#[inline]
pub fn signed_log(x: f32) -> f32 {
    x.signum() * x.abs().ln_1p()
}

/// The inverse of [`signed_log`]: `sign(t)·(e^|t| − 1)`.
#[inline]
pub fn signed_log_inverse(t: f64) -> f64 {
    t.signum() * t.abs().exp_m1()
}

/// Linear-interpolated quantile of sorted data (NumPy's default, "linear"), `q` in [0, 1].
pub fn quantile_sorted(sorted: &[f32], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] as f64 + (sorted[hi] as f64 - sorted[lo] as f64) * frac
}

/// The exact clipping limits of column `f`: its `lo` and `hi` percent quantiles (NumPy's linear interpolation),
/// from a sorted copy of the column.
pub fn fit_clip_limits(x: &Matrix, f: usize, (lo, hi): (f64, f64)) -> [f64; 2] {
    let d = x.d();
    let mut column: Vec<f32> = x.as_slice().par_chunks(d).map(|row| row[f]).collect();
    column.par_sort_unstable_by(|a, b| a.total_cmp(b));
    if column.is_empty() {
        return [f64::NEG_INFINITY, f64::INFINITY];
    }
    [quantile_sorted(&column, lo / 100.0), quantile_sorted(&column, hi / 100.0)]
}

/// Rows per block of the parallel passes.
const ROWS: usize = 8192;

/// One column step, in place, in parallel over blocks of rows.
fn per_value(x: &mut Matrix, cols: &[usize], step: impl Fn(usize, f32) -> f32 + Sync) {
    if cols.is_empty() || x.d() == 0 {
        return;
    }
    let d = x.d();
    x.as_mut_slice().par_chunks_mut(ROWS * d).for_each(|block| {
        for row in block.chunks_exact_mut(d) {
            for &f in cols {
                row[f] = step(f, row[f]);
            }
        }
    });
}

/// Clips each column `f` with limits `limits[f]` (none: unchanged).
pub fn apply_clip(x: &mut Matrix, limits: &[Option<[f64; 2]>]) {
    let cols: Vec<usize> = (0..limits.len()).filter(|&f| limits[f].is_some()).collect();
    let lim: Vec<[f32; 2]> =
        limits.iter().map(|l| l.map_or([f32::MIN, f32::MAX], |[a, b]| [a as f32, b as f32])).collect();
    per_value(x, &cols, |f, v| v.clamp(lim[f][0], lim[f][1]));
}

/// Maps the columns where `signed[f]` is set through [`signed_log`].
pub fn apply_signed_log(x: &mut Matrix, signed: &[bool]) {
    let cols: Vec<usize> = (0..signed.len()).filter(|&f| signed[f]).collect();
    per_value(x, &cols, |_, v| signed_log(v));
}

/// The `log1p` error: the column, the count, and the way out for returns.
pub fn log1p_error(column: &str, count: usize) -> Error {
    Error::Data(format!(
        "--log1p: column '{column}' has {count} values <= -1 (returns or refunds?), where log1p is undefined: use --signed-log {column} (sign(x)·ln(1+|x|)) instead"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_prep_fills_in_only_unnamed_columns_of_a_marked_file() {
        let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let d = DefaultPrep {
            requires: s(&["monetary", "frequency"]),
            log1p: s(&["frequency"]),
            signed_log: s(&["monetary", "avg_order_value"]),
            clip: s(&["returns_share"]),
        };
        let names = s(&["recency_days", "frequency", "monetary", "returns_share"]);
        let given = ColumnPrep { clip: s(&["monetary"]), ..ColumnPrep::default() };
        let p = d.apply(&names, &given);
        assert_eq!((p.log1p, p.signed_log, p.clip), (s(&["frequency"]), s(&[]), s(&["monetary", "returns_share"])));
        assert!(name_matches("monetary_*d", "monetary_365d") && !name_matches("monetary_*d", "monetary_d"));
        assert!(!name_matches("monetary_*d", "monetary") && name_matches("clv", "clv"));
        let other = s(&["spend", "frequency"]);
        assert_eq!(d.apply(&other, &ColumnPrep::default()), ColumnPrep::default(), "not a features file");
    }

    #[test]
    fn signed_log_is_odd_and_inverts() {
        for v in [-1e6f32, -250.5, -1.0, -0.25, 0.0, 0.25, 1.0, 99.0, 1e6] {
            assert_eq!(signed_log(-v), -signed_log(v));
            let back = signed_log_inverse(signed_log(v) as f64);
            assert!((back - v as f64).abs() <= 1e-5 * (v.abs() as f64).max(1.0), "{v} -> {back}");
        }
        assert_eq!(signed_log(9.0), 10f32.ln());
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        // numpy.percentile(range(1, 11), [0.5, 99.5]) == [1.045, 9.955]
        let x = Matrix::from_vec((1..=10).map(|v| v as f32).collect(), 10, 1);
        let [lo, hi] = fit_clip_limits(&x, 0, (0.5, 99.5));
        assert!((lo - 1.045).abs() < 1e-12 && (hi - 9.955).abs() < 1e-12, "{lo} {hi}");
    }

    #[test]
    fn clip_limits_a_column_and_leaves_others() {
        let mut x = Matrix::from_vec(vec![-5.0, 1.0, 0.5, 2.0, 100.0, 3.0], 3, 2);
        apply_clip(&mut x, &[Some([0.0, 10.0]), None]);
        assert_eq!(x.as_slice(), &[0.0, 1.0, 0.5, 2.0, 10.0, 3.0]);
    }

    #[test]
    fn clip_quantiles_parse_and_refuse_bad_pairs() {
        assert_eq!(parse_clip_quantiles("0.5,99.5"), Ok((0.5, 99.5)));
        assert_eq!(parse_clip_quantiles(" 1 , 99 "), Ok((1.0, 99.0)));
        let e = parse_clip_quantiles("99.5,0.5").unwrap_err();
        assert!(e.contains("lower quantile must be below the upper one") && e.contains("use 0.5,99.5"), "{e}");
        for bad in ["1", "a,b", "1,2,3", "-1,50", "5,101", "5,5", "nan,5"] {
            assert!(parse_clip_quantiles(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prep_columns_must_be_features_and_not_both_logs() {
        let names: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let both = ColumnPrep { log1p: vec!["a".into()], signed_log: vec!["a".into()], ..ColumnPrep::default() };
        assert!(check_prep_columns(&names, &both).unwrap_err().to_string().contains("both --log1p and --signed-log"));
        let unknown = ColumnPrep { clip: vec!["z".into()], ..ColumnPrep::default() };
        let e = check_prep_columns(&names, &unknown).unwrap_err();
        assert!(e.is_usage() && e.to_string().starts_with("--clip column 'z' is not a feature"), "{e}");
        assert!(check_prep_columns(&names, &ColumnPrep::log1p(&names)).is_ok());
    }
}
