//! Categorical columns (`--categorical`): their levels fitted on the training rows (rare ones merged into `other`,
//! nulls a level `missing`), each row's level code, and the one-hot blocks appended to the feature matrix with the
//! weight that makes each variable count like one standardised numeric feature.
//!
//! The weighting (derived in docs/CATEGORICAL.md): a variable whose levels have shares `p_1 … p_L` (Σ p = 1) is
//! encoded as L indicator columns. Indicator l has variance `p_l (1 − p_l)`, so the block's total variance is
//! `Σ p_l (1 − p_l) = 1 − Σ p_l²`. Multiplying every indicator by `factor = w / sqrt(1 − Σ p_l²)` makes the
//! block's total variance `w²`: with `w = 1` (`--categorical-weight`, default 1) the variable adds as much to the
//! K-means objective's total sum of squares as one z-scored numeric column (variance 1). A variable with a single
//! level has no variance; its factor is then `w` (its block is constant and cannot move any customer).
//!
//! In the model each indicator is a scaler column with centre 0 and scale `1 / factor`, so the one scaler maps
//! the raw indicator (0 or 1) to the weighted value, and a centroid in original units holds each level's share.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::scaler::ColumnScale;
use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// The level rare values (and the literal value `other`) merge into.
pub const OTHER: &str = "other";
/// The level of nulls (and of the literal value `missing`).
pub const MISSING: &str = "missing";
/// The code of a row whose value has no level of the model (no `other` level was fitted): its block is all zeros.
pub const NO_LEVEL: u32 = u32::MAX;
/// Default of `--min-level-share`.
pub const DEFAULT_MIN_LEVEL_SHARE: f64 = 0.005;
/// Default of `--max-levels`.
pub const DEFAULT_MAX_LEVELS: usize = 200;

/// How categorical columns are fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelRules {
    /// Levels with a smaller share of the rows merge into `other`.
    pub min_level_share: f64,
    /// More levels than this after merging is an error.
    pub max_levels: usize,
    /// The block weight `w`: the variable's total variance after weighting is `w²`.
    pub weight: f64,
}

impl Default for LevelRules {
    fn default() -> Self {
        LevelRules { min_level_share: DEFAULT_MIN_LEVEL_SHARE, max_levels: DEFAULT_MAX_LEVELS, weight: 1.0 }
    }
}

impl LevelRules {
    /// Checks the flags' values (usage errors naming the flag).
    pub fn check(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.min_level_share) {
            return Err(Error::Usage(format!(
                "--min-level-share must be in [0, 1), got {}: e.g. 0.005 merges levels under 0.5% of customers",
                self.min_level_share
            )));
        }
        if self.max_levels < 1 {
            return Err(Error::Usage("--max-levels must be at least 1".into()));
        }
        if !(self.weight.is_finite() && self.weight > 0.0) {
            return Err(Error::Usage(format!("--categorical-weight must be a finite number > 0, got {}", self.weight)));
        }
        Ok(())
    }
}

/// One categorical variable as fitted: what the model keeps to encode new rows the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalColumn {
    pub column: String,
    /// The levels in encoding order: by descending training count (ties by name), then `other`, then `missing`,
    /// each only where the training rows had it.
    pub levels: Vec<String>,
    /// Each level's share of the training rows.
    pub shares: Vec<f64>,
    /// The block weight `w` (`--categorical-weight`).
    pub weight: f64,
    /// What each indicator is multiplied by: `w / sqrt(1 − Σ shares²)`.
    pub factor: f64,
}

/// Whether `t` can be a categorical column: text, boolean, integer codes, or a dictionary of those.
pub fn is_categorical_type(t: &DataType) -> bool {
    use DataType::*;
    match t {
        Utf8 | LargeUtf8 | Utf8View | Boolean => true,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => true,
        Dictionary(_, v) => !matches!(**v, Dictionary(..)) && is_categorical_type(v),
        _ => false,
    }
}

/// The column's values as text (integers in decimal, booleans `true`/`false`), nulls kept.
fn as_text(column: &str, values: &ArrayRef) -> Result<ArrayRef> {
    if !is_categorical_type(values.data_type()) {
        return Err(Error::Usage(format!(
            "categorical column '{column}' has type {}; it must be text, boolean or integer codes",
            values.data_type()
        )));
    }
    arrow::compute::cast(values, &DataType::LargeUtf8)
        .map_err(|e| Error::Data(format!("categorical column '{column}': cannot read its values as text: {e}")))
}

/// The level a value names before rare values are merged: the literal `other` and `missing` join those levels.
fn is_reserved(v: &str) -> bool {
    v == OTHER || v == MISSING
}

/// The weight factor for shares `p`: `w / sqrt(1 − Σ p²)`, or `w` when the block has no variance.
pub fn block_factor(shares: &[f64], weight: f64) -> f64 {
    let var: f64 = 1.0 - shares.iter().map(|p| p * p).sum::<f64>();
    if var > 1e-12 {
        weight / var.sqrt()
    } else {
        weight
    }
}

impl CategoricalColumn {
    /// The names of the indicator columns: `column=level`.
    pub fn encoded_names(&self) -> Vec<String> {
        self.levels.iter().map(|l| format!("{}={l}", self.column)).collect()
    }

    /// The scaler columns of the indicators: centre 0, scale `1 / factor`, no log1p.
    pub fn column_scales(&self) -> Vec<ColumnScale> {
        self.encoded_names()
            .into_iter()
            .map(|name| ColumnScale {
                name,
                log1p: false,
                signed_log: false,
                clip: None,
                center: 0.0,
                scale: 1.0 / self.factor,
            })
            .collect()
    }

    /// Fits the levels of `values` (one per training row) and returns them with each row's level code. `source`
    /// names the files for messages. More than `rules.max_levels` levels after merging is a usage error with a
    /// hint.
    pub fn fit(column: &str, values: &ArrayRef, rules: &LevelRules, source: &str) -> Result<(Self, Vec<u32>)> {
        let text = as_text(column, values)?;
        let text = text.as_string::<i64>();
        let n = text.len();
        if n == 0 {
            return Err(Error::Data(format!("categorical column '{column}' has no rows (in {source})")));
        }
        let mut counts: HashMap<&str, u64> = HashMap::new();
        let mut nulls = 0u64;
        for v in text.iter() {
            match v {
                Some(v) => *counts.entry(v).or_insert(0) += 1,
                None => nulls += 1,
            }
        }
        let distinct = counts.len() + usize::from(nulls > 0);
        let min_count = rules.min_level_share * n as f64;
        let mut kept: Vec<(&str, u64)> =
            counts.iter().filter(|(v, &c)| !is_reserved(v) && c as f64 >= min_count).map(|(v, &c)| (*v, c)).collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let kept_total: u64 = kept.iter().map(|(_, c)| c).sum();
        let missing = nulls + counts.get(MISSING).copied().unwrap_or(0);
        let other = n as u64 - kept_total - missing;
        let mut levels: Vec<String> = kept.iter().map(|(v, _)| v.to_string()).collect();
        let mut level_counts: Vec<u64> = kept.iter().map(|(_, c)| *c).collect();
        if other > 0 {
            levels.push(OTHER.into());
            level_counts.push(other);
        }
        if missing > 0 {
            levels.push(MISSING.into());
            level_counts.push(missing);
        }
        if levels.len() > rules.max_levels {
            return Err(Error::Usage(format!(
                "categorical column '{column}' has {} levels after merging those under {}% of customers into \
                 '{OTHER}' ({distinct} distinct values, in {source}), more than --max-levels {}: raise \
                 --min-level-share or --max-levels, or show it with --profile-by {column} without clustering on it",
                levels.len(),
                100.0 * rules.min_level_share,
                rules.max_levels
            )));
        }
        let shares: Vec<f64> = level_counts.iter().map(|&c| c as f64 / n as f64).collect();
        let factor = block_factor(&shares, rules.weight);
        let var = CategoricalColumn { column: column.to_string(), levels, shares, weight: rules.weight, factor };
        // Rare values count as "not a level" in `codes`' second result; at fit time they belong in `other`.
        let (codes, _) = var.codes(text);
        Ok((var, codes))
    }

    /// Each row's level code under this (fitted) column: a value that is not a level goes to `other`, a null to
    /// `missing`, each falling back to `other` and then to [`NO_LEVEL`] where the model has no such level.
    /// Returns the codes and how many non-null values were not levels of the model.
    pub fn encode(&self, values: &ArrayRef) -> Result<(Vec<u32>, usize)> {
        let text = as_text(&self.column, values)?;
        Ok(self.codes(text.as_string::<i64>()))
    }

    fn codes(&self, text: &arrow::array::LargeStringArray) -> (Vec<u32>, usize) {
        let code_of: HashMap<&str, u32> = self.levels.iter().enumerate().map(|(i, l)| (l.as_str(), i as u32)).collect();
        let find = |l: &str| code_of.get(l).copied();
        let other = find(OTHER).unwrap_or(NO_LEVEL);
        let missing = find(MISSING).unwrap_or(other);
        let rows: Vec<(u32, bool)> = (0..text.len())
            .into_par_iter()
            .map(|i| {
                if text.is_null(i) {
                    return (missing, false);
                }
                let v = text.value(i);
                match find(v) {
                    Some(c) => (c, false),
                    None if v == MISSING => (missing, false),
                    None => (other, v != OTHER),
                }
            })
            .collect();
        let unmatched = rows.iter().filter(|r| r.1).count();
        (rows.into_iter().map(|r| r.0).collect(), unmatched)
    }
}

/// `x` (`n × d`) with every variable's indicator block appended, in order: in row i, the column of level
/// `codes[v][i]` of variable v holds `on[v]`, every other indicator 0 (all of them for [`NO_LEVEL`]).
///
/// `on[v]` is the indicator's value after the model's scaling where `x` is already scaled ([`scaled_one`]), or
/// 1 for raw rows the scaler will transform.
pub fn append_blocks(x: &Matrix, vars: &[CategoricalColumn], codes: &[Vec<u32>], on: &[f32]) -> Matrix {
    let (n, d) = (x.n(), x.d());
    assert!(vars.len() == codes.len() && vars.len() == on.len());
    assert!(codes.iter().all(|c| c.len() == n));
    let widths: Vec<usize> = vars.iter().map(|v| v.levels.len()).collect();
    let wide = d + widths.iter().sum::<usize>();
    let mut out = vec![0f32; n * wide];
    let xs = x.as_slice();
    out.par_chunks_mut(wide.max(1)).enumerate().for_each(|(i, dst)| {
        dst[..d].copy_from_slice(&xs[i * d..(i + 1) * d]);
        let mut at = d;
        for (v, &w) in widths.iter().enumerate() {
            let c = codes[v][i];
            if c != NO_LEVEL {
                dst[at + c as usize] = on[v];
            }
            at += w;
        }
    });
    Matrix::from_vec(out, n, wide)
}

/// The value an indicator of `var` takes after scaling, computed as the scaler computes it
/// (`(1 − centre) / scale` in `f64`, then `f32`), so that scoring raw rows later gives the same bits.
pub fn scaled_one(var: &CategoricalColumn) -> f32 {
    let c = &var.column_scales()[0];
    ((1.0f64 - c.center) / c.scale) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{BooleanArray, DictionaryArray, Float64Array, Int32Array, StringArray};
    use arrow::datatypes::Int8Type;

    use crate::test_util::assert_has;

    fn strings(v: Vec<Option<&str>>) -> ArrayRef {
        Arc::new(StringArray::from(v))
    }

    fn rules(min: f64) -> LevelRules {
        LevelRules { min_level_share: min, ..LevelRules::default() }
    }

    #[test]
    fn levels_are_ordered_by_count_then_other_then_missing() {
        let v = strings(vec![Some("b"), Some("a"), Some("b"), None, Some("c"), Some("a"), Some("b"), Some("z")]);
        // 8 rows; a level needs 2/8 = 0.25: c and z (1 each) merge into other.
        let (var, codes) = CategoricalColumn::fit("r", &v, &rules(0.25), "f.parquet").unwrap();
        assert_eq!(var.levels, ["b", "a", "other", "missing"]);
        assert_eq!(var.shares, [3.0 / 8.0, 2.0 / 8.0, 2.0 / 8.0, 1.0 / 8.0]);
        assert_eq!(codes, [0, 1, 0, 3, 2, 1, 0, 2]);
        assert_eq!(var.encoded_names(), ["r=b", "r=a", "r=other", "r=missing"]);
    }

    #[test]
    fn ties_in_count_are_ordered_by_name_and_no_other_or_missing_level_without_rows() {
        let v = strings(vec![Some("y"), Some("x")]);
        let (var, codes) = CategoricalColumn::fit("r", &v, &rules(0.0), "f").unwrap();
        assert_eq!((var.levels.as_slice(), codes.as_slice()), (&["x".to_string(), "y".into()][..], &[1, 0][..]));
    }

    #[test]
    fn literal_other_and_missing_values_join_those_levels() {
        let v = strings(vec![Some("other"), Some("a"), Some("missing"), None, Some("a")]);
        let (var, codes) = CategoricalColumn::fit("g", &v, &rules(0.0), "f").unwrap();
        assert_eq!(var.levels, ["a", "other", "missing"]);
        assert_eq!(codes, [1, 0, 2, 2, 0]);
    }

    #[test]
    fn the_factor_gives_the_block_total_variance_w_squared() {
        let v = strings(vec![Some("a"), Some("a"), Some("a"), Some("b"), Some("c"), None]);
        for w in [1.0, 0.5, 3.0] {
            let r = LevelRules { weight: w, ..rules(0.0) };
            let (var, codes) = CategoricalColumn::fit("r", &v, &r, "f").unwrap();
            let x = Matrix::zeros(6, 0);
            let wide = append_blocks(&x, std::slice::from_ref(&var), &[codes], &[var.factor as f32]);
            let total: f64 = (0..wide.d())
                .map(|j| {
                    let col: Vec<f64> = (0..6).map(|i| wide.row(i)[j] as f64).collect();
                    crate::test_util::mean_sd(&col).1.powi(2)
                })
                .sum();
            assert!((total - w * w).abs() < 1e-5, "w {w}: total variance {total}");
        }
    }

    #[test]
    fn one_level_has_no_variance_and_factor_w() {
        let v = strings(vec![Some("a"), Some("a")]);
        let (var, _) = CategoricalColumn::fit("r", &v, &rules(0.0), "f").unwrap();
        assert_eq!((var.levels.len(), var.factor), (1, 1.0));
    }

    #[test]
    fn too_many_levels_is_a_usage_error_with_the_count_and_a_hint() {
        let vals: Vec<String> = (0..50).map(|i| format!("s{i}")).collect();
        let v: ArrayRef = Arc::new(StringArray::from(vals.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
        let r = LevelRules { max_levels: 10, ..rules(0.0) };
        let e = CategoricalColumn::fit("store", &v, &r, "a.parquet").unwrap_err();
        assert!(e.is_usage());
        assert_has(&e.to_string(), &["'store'", "50 levels", "a.parquet", "--max-levels 10", "--profile-by store"]);
        // Merging rare levels brings it under the limit: each is 2% of rows.
        let r = LevelRules { max_levels: 10, ..rules(0.05) };
        let (var, _) = CategoricalColumn::fit("store", &v, &r, "a.parquet").unwrap();
        assert_eq!(var.levels, ["other"]);
    }

    #[test]
    fn integers_booleans_and_dictionaries_are_levels_floats_are_refused() {
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(3), Some(1), Some(3), None]));
        let (var, _) = CategoricalColumn::fit("c", &ints, &rules(0.0), "f").unwrap();
        assert_eq!(var.levels, ["3", "1", "missing"]);
        let bools: ArrayRef = Arc::new(BooleanArray::from(vec![true, false, true]));
        assert_eq!(CategoricalColumn::fit("b", &bools, &rules(0.0), "f").unwrap().0.levels, ["true", "false"]);
        let dict: DictionaryArray<Int8Type> = vec!["n", "s", "n"].into_iter().collect();
        let dict: ArrayRef = Arc::new(dict);
        assert_eq!(CategoricalColumn::fit("d", &dict, &rules(0.0), "f").unwrap().0.levels, ["n", "s"]);
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![1.5]));
        let e = CategoricalColumn::fit("spend", &floats, &rules(0.0), "f").unwrap_err();
        assert!(e.is_usage() && e.to_string().contains("'spend' has type Float64"), "{e}");
    }

    #[test]
    fn encoding_new_rows_sends_unseen_values_to_other_and_nulls_to_missing() {
        let v = strings(vec![Some("a"), Some("b"), Some("rare"), None, Some("a"), Some("b")]);
        let (var, _) = CategoricalColumn::fit("r", &v, &rules(0.2), "f").unwrap();
        assert_eq!(var.levels, ["a", "b", "other", "missing"]);
        let new = strings(vec![Some("b"), Some("unseen"), None, Some("rare"), Some("other")]);
        let (codes, unmatched) = var.encode(&new).unwrap();
        assert_eq!((codes, unmatched), (vec![1, 2, 3, 2, 2], 2));
        // Without other and missing levels: no level at all, an all-zero block.
        let (var, _) = CategoricalColumn::fit("r", &strings(vec![Some("a"), Some("b")]), &rules(0.0), "f").unwrap();
        let (codes, unmatched) = var.encode(&strings(vec![None, Some("c"), Some("a")])).unwrap();
        assert_eq!((codes, unmatched), (vec![NO_LEVEL, NO_LEVEL, 0], 1));
    }

    #[test]
    fn blocks_are_appended_after_the_numeric_columns() {
        let x = Matrix::from_vec(vec![1.0, 2.0, 3.0, 4.0], 2, 2);
        let v = strings(vec![Some("a"), Some("b")]);
        let (var, codes) = CategoricalColumn::fit("r", &v, &rules(0.0), "f").unwrap();
        let g = CategoricalColumn { column: "g".into(), ..var.clone() };
        let wide = append_blocks(&x, &[var, g], &[codes, vec![1, NO_LEVEL]], &[2.0, 3.0]);
        assert_eq!(wide.d(), 6);
        assert_eq!(wide.as_slice(), &[1.0, 2.0, 2.0, 0.0, 0.0, 3.0, 3.0, 4.0, 0.0, 2.0, 0.0, 0.0]);
    }

    #[test]
    fn the_scaled_one_is_what_the_scaler_makes_of_a_raw_one() {
        let v = strings(vec![Some("a"), Some("b"), Some("b")]);
        let (var, _) = CategoricalColumn::fit("r", &v, &rules(0.0), "f").unwrap();
        let scaler = crate::prep::Scaler { method: crate::prep::ScaleMethod::Zscore, columns: var.column_scales() };
        let mut raw = Matrix::from_vec(vec![1.0, 0.0], 1, 2);
        scaler.transform(&mut raw).unwrap();
        assert_eq!(raw.as_slice(), &[scaled_one(&var), 0.0]);
        assert!((scaled_one(&var) as f64 - var.factor).abs() < 1e-6);
    }
}
