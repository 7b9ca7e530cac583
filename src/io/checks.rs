//! The checks of the data after decoding: IDs never null and never duplicated, weights finite and `>= 0`, and
//! missing feature values refused (`Missing::Fail`) or imputed (`Missing::Mean`), each error naming the column, the
//! count and the files; and the per-file counts that decoding gathers for them.

use std::collections::HashSet;
use std::hash::Hash;
use std::path::PathBuf;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rayon::prelude::*;

use super::select::missing_counts;
use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// Per-file counts gathered while decoding.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileCounts {
    pub(crate) id_nulls: usize,
    /// Per feature: nulls, and non-null NaN/±inf values.
    pub(crate) nulls: Vec<usize>,
    pub(crate) non_finite: Vec<usize>,
    pub(crate) weight_nulls: usize,
    pub(crate) weight_non_finite: usize,
    /// Per checked text column (`FilePlan::text_checks`): its non-null values, and whether all are numbers.
    pub(crate) text_values: Vec<usize>,
    pub(crate) text_numeric: Vec<bool>,
}

impl FileCounts {
    /// Zero counts for `d` features and `texts` checked text columns.
    pub(crate) fn zero(d: usize, texts: usize) -> Self {
        FileCounts {
            nulls: vec![0; d],
            non_finite: vec![0; d],
            text_values: vec![0; texts],
            text_numeric: vec![true; texts],
            ..FileCounts::default()
        }
    }

    pub(crate) fn add(&mut self, o: &FileCounts) {
        self.id_nulls += o.id_nulls;
        for (a, b) in self.nulls.iter_mut().zip(&o.nulls) {
            *a += b;
        }
        for (a, b) in self.non_finite.iter_mut().zip(&o.non_finite) {
            *a += b;
        }
        self.weight_nulls += o.weight_nulls;
        self.weight_non_finite += o.weight_non_finite;
        for (a, b) in self.text_values.iter_mut().zip(&o.text_values) {
            *a += b;
        }
        for (a, b) in self.text_numeric.iter_mut().zip(&o.text_numeric) {
            *a &= b;
        }
    }
}

/// Null and duplicated IDs are errors: the output could not say which customer a segment belongs to.
pub(crate) fn check_ids(ids: &ArrayRef, name: &str, paths: &[PathBuf], counts: &[FileCounts]) -> Result<()> {
    let nulls: usize = counts.iter().map(|c| c.id_nulls).sum();
    if nulls > 0 {
        return Err(Error::Data(format!(
            "id column '{name}' has {nulls} null values (in {})",
            files_where(paths, counts, |c| c.id_nulls)
        )));
    }
    let (dups, example) = duplicates(ids.as_ref());
    if dups > 0 {
        let example = example
            .and_then(|i| {
                ArrayFormatter::try_new(ids.as_ref(), &FormatOptions::default()).ok().map(|f| f.value(i).to_string())
            })
            .unwrap_or_default();
        return Err(Error::Data(format!(
            "id column '{name}' has {dups} duplicated rows, e.g. '{example}' appears more than once (in {})",
            file_list(paths)
        )));
    }
    Ok(())
}

/// Number of rows whose ID already appeared on an earlier row, and the first such row.
fn duplicates(ids: &dyn Array) -> (usize, Option<usize>) {
    use DataType::*;
    match ids.data_type() {
        Int8 => dup_count(ids.as_primitive::<Int8Type>().values().iter()),
        Int16 => dup_count(ids.as_primitive::<Int16Type>().values().iter()),
        Int32 => dup_count(ids.as_primitive::<Int32Type>().values().iter()),
        Int64 => dup_count(ids.as_primitive::<Int64Type>().values().iter()),
        UInt8 => dup_count(ids.as_primitive::<UInt8Type>().values().iter()),
        UInt16 => dup_count(ids.as_primitive::<UInt16Type>().values().iter()),
        UInt32 => dup_count(ids.as_primitive::<UInt32Type>().values().iter()),
        UInt64 => dup_count(ids.as_primitive::<UInt64Type>().values().iter()),
        Utf8 => dup_count(ids.as_string::<i32>().iter()),
        LargeUtf8 => dup_count(ids.as_string::<i64>().iter()),
        Utf8View => dup_count(ids.as_string_view().iter()),
        _ => (0, None),
    }
}

/// Number of rows whose ID already appeared on an earlier row, and the first such row. Two fast proofs that
/// there is none come first: IDs in strictly increasing order (one pass; the usual export), else a parallel sort of
/// a copy with no two neighbours equal. Only when a duplicate exists are the rows walked with a hash set, to
/// count them and find the first (an error path).
fn dup_count<T: Hash + Ord + Copy + Send + Sync>(
    values: impl ExactSizeIterator<Item = T> + Clone,
) -> (usize, Option<usize>) {
    let mut it = values.clone();
    if let Some(mut prev) = it.next() {
        if it.all(|v| std::mem::replace(&mut prev, v) < v) {
            return (0, None);
        }
    }
    let mut sorted: Vec<T> = values.clone().collect();
    sorted.par_sort_unstable();
    if !sorted.par_windows(2).any(|p| p[0] == p[1]) {
        return (0, None);
    }
    drop(sorted);
    let mut seen = HashSet::with_capacity(values.len());
    let mut dups = 0;
    let mut first = None;
    for (i, v) in values.enumerate() {
        if !seen.insert(v) {
            dups += 1;
            first.get_or_insert(i);
        }
    }
    (dups, first)
}

pub(crate) fn check_weights(w: &[f32], name: &str, paths: &[PathBuf], counts: &[FileCounts]) -> Result<()> {
    let nulls: usize = counts.iter().map(|c| c.weight_nulls).sum();
    if nulls > 0 {
        return Err(Error::Data(format!(
            "weight column '{name}' has {nulls} null values (in {})",
            files_where(paths, counts, |c| c.weight_nulls)
        )));
    }
    let bad: usize = counts.iter().map(|c| c.weight_non_finite).sum();
    if bad > 0 {
        return Err(Error::Data(format!(
            "weight column '{name}' has {bad} NaN/infinite values (in {})",
            files_where(paths, counts, |c| c.weight_non_finite)
        )));
    }
    let negative = w.iter().filter(|&&v| v < 0.0).count();
    if negative > 0 {
        let example = w.iter().find(|&&v| v < 0.0).copied().unwrap_or_default();
        return Err(Error::Data(format!(
            "weight column '{name}' has {negative} negative values, e.g. {example} (in {}); weights must be >= 0",
            file_list(paths)
        )));
    }
    Ok(())
}

/// `Missing::Fail`: the first feature column (in feature order) with a null, NaN or infinite value is an error.
pub(crate) fn check_no_missing(names: &[String], paths: &[PathBuf], counts: &[FileCounts]) -> Result<()> {
    for (j, name) in names.iter().enumerate() {
        let nulls: usize = counts.iter().map(|c| c.nulls[j]).sum();
        let bad: usize = counts.iter().map(|c| c.non_finite[j]).sum();
        if nulls + bad == 0 {
            continue;
        }
        let what = missing_counts(nulls, bad);
        let files = files_where(paths, counts, |c| c.nulls[j] + c.non_finite[j]);
        return Err(Error::Data(format!("column '{name}' has {what} (in {files}); use --missing drop|mean")));
    }
    Ok(())
}

/// `Missing::Mean`: replaces each non-finite value by its column's mean of the finite values.
pub(crate) fn impute_means(x: &mut Matrix, names: &[String], paths: &[PathBuf]) -> Result<Vec<(String, usize)>> {
    let d = x.d();
    let mut sums = vec![0f64; d];
    let mut valid = vec![0usize; d];
    for row in x.as_slice().chunks_exact(d) {
        for (j, &v) in row.iter().enumerate() {
            if v.is_finite() {
                sums[j] += v as f64;
                valid[j] += 1;
            }
        }
    }
    let n = x.n();
    let mut imputed = Vec::new();
    let mut means = vec![0f32; d];
    for j in 0..d {
        if valid[j] < n {
            if valid[j] == 0 {
                return Err(Error::Data(format!(
                    "column '{}' has no valid values in its {n} rows, so it has no mean to impute (in {})",
                    names[j],
                    file_list(paths)
                )));
            }
            means[j] = (sums[j] / valid[j] as f64) as f32;
            imputed.push((names[j].clone(), n - valid[j]));
        }
    }
    if imputed.is_empty() {
        return Ok(imputed);
    }
    for row in x.as_mut_slice().chunks_exact_mut(d) {
        for (v, &m) in row.iter_mut().zip(&means) {
            if !v.is_finite() {
                *v = m;
            }
        }
    }
    Ok(imputed)
}

/// `a.parquet, b.parquet` (at most five named, then how many more).
pub(crate) fn file_list(paths: &[PathBuf]) -> String {
    const MAX: usize = 5;
    let mut s = paths.iter().take(MAX).map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    if paths.len() > MAX {
        s.push_str(&format!(" and {} more files", paths.len() - MAX));
    }
    s
}

/// The files where `count` is non-zero, as for [`file_list`].
pub(crate) fn files_where(paths: &[PathBuf], counts: &[FileCounts], count: impl Fn(&FileCounts) -> usize) -> String {
    let hit: Vec<PathBuf> = paths.iter().zip(counts).filter(|(_, c)| count(c) > 0).map(|(p, _)| p.clone()).collect();
    file_list(&hit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::StringArray;

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(PathBuf::from).collect()
    }

    /// Counts for `files` files and `d` features, all zero.
    fn zero(files: usize, d: usize) -> Vec<FileCounts> {
        vec![FileCounts { nulls: vec![0; d], non_finite: vec![0; d], ..FileCounts::default() }; files]
    }

    #[test]
    fn duplicate_search_proves_sorted_and_unsorted_unique_ids_and_counts_repeats() {
        assert_eq!(dup_count([1i64, 2, 3, 10].into_iter()), (0, None));
        assert_eq!(dup_count([7i64, 3, 9, 1, 4].into_iter()), (0, None));
        assert_eq!(dup_count([1i64, 2, 2, 3].into_iter()), (1, Some(2)));
        assert_eq!(dup_count([5i64, 1, 5, 1, 5].into_iter()), (3, Some(2)));
        assert_eq!(dup_count(std::iter::empty::<i64>()), (0, None));
        assert_eq!(dup_count([Some("b"), Some("a"), Some("c")].into_iter()), (0, None));
        assert_eq!(dup_count([Some("b"), Some("a"), Some("b")].into_iter()), (1, Some(2)));
        // Large and unsorted, with one repeat at the end.
        // 7919 is invertible modulo the prime 100,003, so the values are distinct.
        let mut v: Vec<u64> = (0..100_000u64).map(|i| i * 7919 % 100_003).collect();
        assert!(v.windows(2).any(|p| p[0] > p[1]), "not sorted");
        assert_eq!(dup_count(v.iter().copied()), (0, None));
        v.push(v[500]);
        assert_eq!(dup_count(v.iter().copied()), (1, Some(100_000)));
    }

    #[test]
    fn duplicate_ids_are_counted_with_an_example() {
        let ids: ArrayRef = Arc::new(StringArray::from(vec!["u1", "u2", "u1", "u2", "u3"]));
        let e = check_ids(&ids, "id", &paths(&["a.parquet", "b.parquet"]), &zero(2, 1)).unwrap_err().to_string();
        assert_eq!(
            e,
            "id column 'id' has 2 duplicated rows, e.g. 'u1' appears more than once (in a.parquet, b.parquet)"
        );
    }

    #[test]
    fn null_ids_are_counted_and_their_files_named() {
        let ids: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, None, Some("b")]));
        let mut counts = zero(3, 1);
        counts[1].id_nulls = 2;
        let e = check_ids(&ids, "id", &paths(&["a.parquet", "b.parquet", "c.parquet"]), &counts).unwrap_err();
        assert_eq!(e.to_string(), "id column 'id' has 2 null values (in b.parquet)");
    }

    #[test]
    fn weight_errors_are_counted() {
        let p = paths(&["w.parquet"]);
        let mut counts = zero(1, 1);
        counts[0].weight_nulls = 2;
        let e = check_weights(&[1.0, f32::NAN, f32::NAN], "w", &p, &counts).unwrap_err().to_string();
        assert_eq!(e, "weight column 'w' has 2 null values (in w.parquet)");
        counts[0].weight_nulls = 0;
        counts[0].weight_non_finite = 2;
        let e = check_weights(&[f32::NAN, 1.0, f32::INFINITY], "w", &p, &counts).unwrap_err().to_string();
        assert_eq!(e, "weight column 'w' has 2 NaN/infinite values (in w.parquet)");
        let e = check_weights(&[-1.0, 1.0, -2.0], "w", &p, &zero(1, 1)).unwrap_err().to_string();
        assert_eq!(e, "weight column 'w' has 2 negative values, e.g. -1 (in w.parquet); weights must be >= 0");
        assert!(check_weights(&[0.0, 2.0], "w", &p, &zero(1, 1)).is_ok());
    }

    #[test]
    fn the_first_column_with_missing_values_is_named_with_its_counts_and_files() {
        let mut counts = zero(3, 3);
        counts[0].nulls[1] = 1;
        counts[2].non_finite[1] = 2;
        counts[1].nulls[2] = 5;
        let names = ["a".to_string(), "b".to_string(), "c".to_string()];
        let e = check_no_missing(&names, &paths(&["a.parquet", "b.parquet", "c.parquet"]), &counts).unwrap_err();
        assert_eq!(
            e.to_string(),
            "column 'b' has 1 null values and 2 NaN/infinite values (in a.parquet, c.parquet); use --missing drop|mean"
        );
        assert!(check_no_missing(&names, &paths(&["a.parquet", "b.parquet", "c.parquet"]), &zero(3, 3)).is_ok());
    }

    #[test]
    fn file_lists_name_five_files_then_count_the_rest() {
        let p: Vec<PathBuf> = (0..7).map(|i| PathBuf::from(format!("{i}.parquet"))).collect();
        assert_eq!(file_list(&p), "0.parquet, 1.parquet, 2.parquet, 3.parquet, 4.parquet and 2 more files");
        let mut counts = zero(7, 1);
        counts[3].id_nulls = 1;
        counts[6].id_nulls = 4;
        assert_eq!(files_where(&p, &counts, |c| c.id_nulls), "3.parquet, 6.parquet");
    }
}
