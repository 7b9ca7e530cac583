//! Reads customers from Parquet or CSV into one contiguous row-major `f32` feature matrix, plus their IDs and
//! weights: the entry points [`read_features`] and [`read_features_with`].
//!
//! Only the needed columns are decoded (a projection). The files' metadata are read first (`plan`), so the matrix
//! is allocated once at its final size; then every row group of every file is decoded in parallel, batch by batch,
//! straight into its own rows of that buffer (`decode`): no per-row allocation and no second copy of the matrix.
//! IDs, weights and missing values are checked last (`checks`), and the default selection's second rule applies
//! then (`select`). Every problem with the files or the data is a one-line [`Error`] naming the file, the column
//! and the count; a panic inside the Parquet decoder (corrupt files) is caught and reported the same way.

use std::path::PathBuf;

use arrow::array::{ArrayRef, BooleanArray};
use arrow::datatypes::DataType;
use rayon::prelude::*;

use super::checks::{check_ids, check_no_missing, check_weights, file_list, files_where, impute_means, FileCounts};
use super::columns::{account_message, all_distinct, is_integer, warns, DISTINCT_MIN_ROWS};
use super::decode::decode_files;
use super::options::{check_options, Missing, ReadOptions};
use super::plan::{any_csv, load_csv, plan_files};
use super::select::{derived_message, missing_message, missing_skips, SkipReason};
use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// The customers read from one or more Parquet or CSV files.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    pub sources: Vec<PathBuf>,
    pub id_name: String,
    /// The ID column concatenated over the files, in its original Arrow type (a dictionary is decoded to its
    /// value type; strings are `Utf8`, whatever their flavour in the files), with dropped rows removed. Never
    /// null, never duplicated.
    pub ids: ArrayRef,
    pub feature_names: Vec<String>,
    /// `n × d`, row-major, every value finite.
    pub x: Matrix,
    pub weights: Option<Vec<f32>>,
    pub report: ReadReport,
    /// Under `Missing::Drop`, when rows were dropped: one flag per row read, `true` where the row was kept (so
    /// columns read beside the matrix, `io::named`, can drop the same rows).
    pub kept_rows: Option<Vec<bool>>,
}

/// What reading did to the data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadReport {
    /// Rows in the files.
    pub rows_read: usize,
    /// Rows dropped for missing feature values (`Missing::Drop`).
    pub rows_dropped: usize,
    /// For `Missing::Mean`: each column where values were imputed, with how many.
    pub imputed: Vec<(String, usize)>,
    /// Without named features: each numeric column the default selection left out, and why.
    pub skipped: Vec<(String, SkipReason)>,
}

/// Reads `paths` (in order) into one [`FeatureTable`]. All files must have the ID column with the same type and
/// the same feature columns (any numeric type each).
pub fn read_features(paths: &[PathBuf], opts: &ReadOptions) -> Result<FeatureTable> {
    read_features_with(paths, opts, |_, _| Ok(()))
}

/// [`read_features`], calling `planned(feature_names, rows)` once every file's metadata (for CSV, its schema) has
/// been read and before any data is decoded, so that work which needs only the shape (opening the GPU) can start
/// beside the decoding, and flags that name features can be checked first; an error from `planned` ends the read
/// and is returned. `rows` is the row count from the Parquet metadata, `None` when a CSV file is read (its rows
/// are known only once decoded). The features are those selected from the schema; the default selection may
/// still leave out columns after decoding.
pub fn read_features_with(
    paths: &[PathBuf],
    opts: &ReadOptions,
    planned: impl FnOnce(&[String], Option<usize>) -> Result<()>,
) -> Result<FeatureTable> {
    check_options(paths, opts)?;

    // Pass 1: metadata and schema of every file, so the matrix can be allocated once at its final size.
    let mut plans = plan_files(paths, opts)?;
    let csv = any_csv(&plans);
    let known_rows: usize = plans.iter().map(|p| p.rows).sum();
    if !csv && known_rows == 0 {
        return Err(Error::Data(format!("no rows in {}", file_list(paths))));
    }
    planned(&plans[0].feature_names, (!csv).then_some(known_rows))?;
    // CSV has no metadata: its projected columns are decoded now, and its rows counted.
    if csv {
        load_csv(&mut plans, opts)?;
    }
    let first = &plans[0];
    let mut feature_names = first.feature_names.clone();
    let feature_types = first.feature_types.clone();
    let (derived, account, text_checks) = (first.derived.clone(), first.account.clone(), first.text_checks.clone());
    let d = feature_names.len();
    let total_rows: usize = plans.iter().map(|p| p.rows).sum();
    if total_rows == 0 {
        return Err(Error::Data(format!("no rows in {}", file_list(paths))));
    }
    let cells = total_rows.checked_mul(d).ok_or_else(|| {
        Error::Data(format!("{total_rows} rows x {d} features is too large (in {})", file_list(paths)))
    })?;
    let mut data: Vec<f32> = Vec::new();
    data.try_reserve_exact(cells).map_err(|_| {
        Error::Data(format!("cannot allocate a {total_rows} x {d} feature matrix (in {})", file_list(paths)))
    })?;
    // Zeroed in parallel, so the first touch of its pages is spread over the threads as well.
    data.par_extend(rayon::iter::repeat_n(0.0f32, cells));
    let mut weights: Option<Vec<f32>> = opts.weight.as_ref().map(|_| vec![0.0; total_rows]);

    // Pass 2: every row group of every file is decoded in parallel, straight into its own rows of the matrix.
    let (mut counts, ids) = decode_files(&plans, opts, d, &mut data, weights.as_deref_mut())?;
    let ids = plain_strings(ids);
    let mut x = Matrix::from_vec(data, total_rows, d);

    check_ids(&ids, &opts.id_column, paths, &counts)?;
    if let (Some(w), Some(name)) = (&weights, &opts.weight) {
        check_weights(w, name, paths, &counts)?;
    }

    let mut report = ReadReport { rows_read: total_rows, ..ReadReport::default() };
    if opts.features.is_none() {
        // The default selection's account: what was used, and each column left out with its reason.
        let mut lines: Vec<(bool, String)> = Vec::new();
        if !derived.is_empty() {
            lines.push((false, derived_message(&derived, &opts.default_selection)));
            report.skipped.extend(derived.into_iter().map(|c| (c, SkipReason::Derived)));
        }
        for (name, reason, t) in &account {
            let numbers = |c: &FileCounts| {
                let k = text_checks.iter().position(|n| n == name)?;
                Some((c.text_values[k], c.text_numeric[k]))
            };
            let values: usize = counts.iter().filter_map(numbers).map(|(v, _)| v).sum();
            let all_numbers = counts.iter().filter_map(numbers).all(|(_, n)| n);
            let reason = match reason {
                SkipReason::Text if values > 0 && all_numbers => SkipReason::NumericText,
                r => *r,
            };
            lines.push((warns(reason), account_message(name, reason, t, total_rows)));
            report.skipped.push((name.clone(), reason));
        }
        // The rules that need the decoded values: missing values in null-by-design columns (select's rule 2), and
        // integers with a different value on every row.
        let nulls: Vec<usize> = (0..d).map(|j| counts.iter().map(|c| c.nulls[j]).sum()).collect();
        let non_finite: Vec<usize> = (0..d).map(|j| counts.iter().map(|c| c.non_finite[j]).sum()).collect();
        let mut skips = missing_skips(&feature_names, &nulls, &non_finite, opts.missing, &opts.default_selection);
        if total_rows >= DISTINCT_MIN_ROWS {
            let distinct: Vec<bool> = (0..d)
                .into_par_iter()
                .map(|j| skips[j].is_none() && is_integer(&feature_types[j]) && all_distinct(&x, j))
                .collect();
            if (0..d).all(|j| skips[j].is_some() || distinct[j]) {
                let list: Vec<&str> = (0..d).filter(|&j| distinct[j]).map(|j| feature_names[j].as_str()).collect();
                if !list.is_empty() {
                    lines.push((
                        true,
                        format!(
                            "default features: clustering on {} although every row has a different value, like an \
                             ID: no other numeric column; name the features with --features",
                            list.join(", ")
                        ),
                    ));
                }
            } else {
                for j in (0..d).filter(|&j| distinct[j]) {
                    skips[j] = Some(SkipReason::AllDistinct);
                }
            }
        }
        for (j, reason) in skips.iter().enumerate() {
            match *reason {
                Some(reason @ SkipReason::Missing { .. }) => {
                    let files = files_where(paths, &counts, |c| c.nulls[j] + c.non_finite[j]);
                    lines.push((false, missing_message(&feature_names[j], reason, &files, &opts.default_selection)));
                }
                Some(reason) => {
                    lines.push((true, account_message(&feature_names[j], reason, &feature_types[j], total_rows)))
                }
                None => continue,
            }
            report.skipped.push((feature_names[j].clone(), reason.expect("a reason")));
        }
        if skips.iter().any(Option::is_some) {
            let keep: Vec<bool> = skips.iter().map(Option::is_none).collect();
            x.retain_columns(&keep);
            retain(&mut feature_names, &keep);
            for c in &mut counts {
                retain(&mut c.nulls, &keep);
                retain(&mut c.non_finite, &keep);
            }
        }
        let weight = opts.weight.as_ref().map(|w| format!(", the weight {w} (--weight)")).unwrap_or_default();
        tracing::info!(
            "default features: clustering on {} ({} columns); the ID is {} (--id){weight}",
            feature_names.join(", "),
            feature_names.len(),
            opts.id_column
        );
        for (warn, line) in lines {
            if warn {
                tracing::warn!("{line}");
            } else {
                tracing::info!("{line}");
            }
        }
    }
    let d = x.d();
    let mut ids = ids;
    let mut kept_rows = None;
    match opts.missing {
        Missing::Fail => check_no_missing(&feature_names, paths, &counts)?,
        Missing::Mean => report.imputed = impute_means(&mut x, &feature_names, paths)?,
        Missing::Drop => {
            let keep: Vec<bool> = x.as_slice().chunks_exact(d).map(|row| row.iter().all(|v| v.is_finite())).collect();
            let kept = keep.iter().filter(|&&k| k).count();
            report.rows_dropped = total_rows - kept;
            if kept == 0 {
                return Err(Error::Data(format!(
                    "no rows left: all {total_rows} rows have a missing (null/NaN/infinite) feature value and were dropped (in {})",
                    file_list(paths)
                )));
            }
            if kept < total_rows {
                x.retain_rows(&keep);
                if let Some(w) = weights.as_mut() {
                    retain(w, &keep);
                }
                let mask = BooleanArray::from(keep.clone());
                ids = arrow::compute::filter(&ids, &mask)
                    .map_err(|e| Error::Data(format!("cannot filter id column '{}': {e}", opts.id_column)))?;
                kept_rows = Some(keep);
            }
        }
    }
    if let (Some(w), Some(name)) = (&weights, &opts.weight) {
        if w.iter().all(|&v| v == 0.0) {
            return Err(Error::Data(format!(
                "weight column '{name}' is zero for all {} rows (in {})",
                w.len(),
                file_list(paths)
            )));
        }
    }

    Ok(FeatureTable {
        sources: paths.to_vec(),
        id_name: opts.id_column.clone(),
        ids,
        feature_names,
        x,
        weights,
        report,
        kept_rows,
    })
}

/// String IDs as `Utf8`, whatever their flavour in the input (pandas writes `large_string`, a CSV file reads as
/// `Utf8`), so that the same table gives the same segments file from either; other IDs, and strings too long for
/// `Utf8`'s 32-bit offsets, as they are.
fn plain_strings(ids: ArrayRef) -> ArrayRef {
    match ids.data_type() {
        DataType::LargeUtf8 | DataType::Utf8View => arrow::compute::cast(&ids, &DataType::Utf8).unwrap_or(ids),
        _ => ids,
    }
}

fn retain<T>(v: &mut Vec<T>, keep: &[bool]) {
    let mut it = keep.iter();
    v.retain(|_| *it.next().expect("one flag per value"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    use arrow::array::{AsArray, Float32Array, UInt8Array};
    use arrow::datatypes::{Int32Type, Int64Type};

    use crate::io::options::DefaultSelection;
    use crate::test_util::{assert_has, batch, err_line, f64s, i32s, i64s, ids3, strs, write_batch, write_parquet};

    /// ID column `id`, nothing left out by name.
    fn opts() -> ReadOptions {
        ReadOptions { id_column: "id".into(), ..ReadOptions::with_selection(DefaultSelection::default()) }
    }

    /// The defaults with a selection shaped like a features file's (the real lists are `features::columns`').
    fn features_file() -> ReadOptions {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        ReadOptions::with_selection(DefaultSelection {
            derived: names(&["bgnbd_x", "bgnbd_T", "r_score", "clv"]),
            derived_why: "scores restate the behavioural columns".into(),
            null_by_design: vec![("days_between_purchases".into(), "one purchase day has no gap".into())],
        })
    }

    fn read_err(paths: &[PathBuf], o: &ReadOptions) -> String {
        err_line(read_features(paths, o))
    }

    #[test]
    fn bad_options_are_usage_errors_before_any_file_is_opened() {
        let nowhere = vec![PathBuf::from("/nonexistent/a.parquet")];
        assert!(read_features(&nowhere, &ReadOptions { batch_size: 0, ..opts() }).unwrap_err().is_usage());
        assert!(read_features(&[], &opts()).unwrap_err().is_usage());
    }

    #[test]
    fn the_planned_callback_gets_the_shape_from_the_metadata_before_the_second_rule() {
        let dir = tempfile::tempdir().unwrap();
        let f = features_like(dir.path());
        let mut seen = Vec::new();
        let t = read_features_with(&[f], &features_file(), |names, rows| {
            seen.push((names.to_vec(), rows));
            Ok(())
        })
        .unwrap();
        // The null-by-design column is still a feature at that point; it is left out after decoding.
        let planned = vec!["recency_days".to_string(), "frequency".into(), "days_between_purchases".into()];
        assert_eq!(seen, [(planned, Some(3))]);
        assert_eq!(t.feature_names, ["recency_days", "frequency"]);
    }

    #[test]
    fn an_error_from_the_planned_callback_ends_the_read_and_is_returned() {
        let dir = tempfile::tempdir().unwrap();
        // Data that decoding and the checks would refuse (a null feature, a duplicated ID) ...
        let f = write_parquet(
            dir.path(),
            "a.parquet",
            vec![("id", i64s(vec![1, 1, 2]) as ArrayRef), ("x", f64s(vec![Some(1.0), None, Some(3.0)]))],
        );
        let mut calls = 0;
        let e = read_features_with(std::slice::from_ref(&f), &opts(), |names, rows| {
            calls += 1;
            assert_eq!((names, rows), (&["x".to_string()][..], Some(3)));
            // ... and a file that is gone: a read that went on would fail to open it.
            std::fs::remove_file(&f).unwrap();
            Err(Error::Usage("--log1p names 'spend', which is not a feature".into()))
        })
        .unwrap_err();
        assert_eq!(calls, 1);
        assert!(e.is_usage(), "{e}");
        assert_eq!(e.to_string(), "--log1p names 'spend', which is not a feature");
    }

    fn with_gaps(dir: &Path) -> PathBuf {
        write_parquet(
            dir,
            "gaps.parquet",
            vec![
                ("id", i64s(vec![1, 2, 3, 4])),
                ("a", f64s(vec![1.0, 2.0, 3.0, 6.0])),
                ("b", f64s(vec![Some(1.0), None, Some(f64::NAN), Some(5.0)])),
                ("c", Arc::new(Float32Array::from(vec![Some(f32::INFINITY), None, None, Some(2.0)]))),
            ],
        )
    }

    #[test]
    fn files_concatenate_in_order_with_small_batches() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_parquet(
            dir.path(),
            "a.parquet",
            vec![("id", i64s(vec![1, 2, 3])), ("x", f64s(vec![1.0, 2.0, 3.0])), ("y", i32s(vec![10, 20, 30]))],
        );
        // Other column order and other numeric types in the second file: matched by name.
        let b = write_parquet(
            dir.path(),
            "b.parquet",
            vec![
                ("y", i64s(vec![40, 50])),
                ("id", i64s(vec![4, 5])),
                ("x", Arc::new(Float32Array::from(vec![4.0, 5.0]))),
            ],
        );
        let o = ReadOptions { batch_size: 2, ..opts() };
        let t = read_features(&[a.clone(), b.clone()], &o).unwrap();
        assert_eq!(t.sources, vec![a, b]);
        assert_eq!(t.feature_names, ["x", "y"]);
        assert_eq!(t.x.as_slice(), &[1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0, 5.0, 50.0]);
        assert_eq!(t.ids.as_primitive::<Int64Type>().values().to_vec(), vec![1, 2, 3, 4, 5]);
        assert_eq!(t.report, ReadReport { rows_read: 5, rows_dropped: 0, imputed: vec![], skipped: vec![] });
    }

    #[test]
    fn zero_rows_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "empty.parquet",
            vec![("id", i64s(Vec::<i64>::new())), ("x", f64s(Vec::<f64>::new()))],
        );
        let e = read_err(&[f], &opts());
        assert_has(&e, &["no rows", "empty.parquet"]);
    }

    #[test]
    fn a_missing_value_in_a_later_row_group_names_its_file_and_count() {
        let dir = tempfile::tempdir().unwrap();
        let (ok, bad) = (dir.path().join("ok.parquet"), dir.path().join("late.parquet"));
        let a: ArrayRef = f64s(vec![1.0, 2.0, 3.0]);
        write_batch(&ok, &batch(vec![("id", ids3()), ("a", a)]), Some(2), Some(5));
        let a: ArrayRef = f64s(vec![Some(1.0), Some(2.0), Some(3.0), None, Some(f64::NAN)]);
        write_batch(&bad, &batch(vec![("id", i64s(vec![4, 5, 6, 7, 8])), ("a", a)]), Some(2), Some(5));
        let o = ReadOptions { features: Some(vec!["a".into()]), ..opts() };
        let e = read_err(&[ok, bad], &o);
        assert_has(&e, &["column 'a' has 1 null values and 1 NaN/infinite values", "late.parquet"]);
        assert!(!e.contains("ok.parquet"), "{e}");
    }

    #[test]
    fn missing_fail_names_the_first_column_and_its_count() {
        let dir = tempfile::tempdir().unwrap();
        let f = with_gaps(dir.path());
        let e = read_err(&[f], &opts());
        assert_has(
            &e,
            &["column 'b' has 1 null values and 1 NaN/infinite values", "gaps.parquet", "--missing drop|mean"],
        );
    }

    #[test]
    fn missing_fail_counts_over_all_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_parquet(
            dir.path(),
            "a.parquet",
            vec![("id", i64s(vec![1, 2])), ("x", f64s(vec![Some(1.0), Some(f64::NAN)]))],
        );
        let b = write_parquet(dir.path(), "b.parquet", vec![("id", i64s(vec![3, 4])), ("x", f64s(vec![1.0, 2.0]))]);
        let c = write_parquet(
            dir.path(),
            "c.parquet",
            vec![("id", i64s(vec![5, 6])), ("x", f64s(vec![f64::NEG_INFINITY, f64::NAN]))],
        );
        let e = read_err(&[a, b, c], &opts());
        assert_has(&e, &["column 'x' has 3 NaN/infinite values", "a.parquet", "c.parquet"]);
        assert!(!e.contains("b.parquet"), "{e}");
    }

    #[test]
    fn missing_nulls_only_message() {
        let dir = tempfile::tempdir().unwrap();
        let f =
            write_parquet(dir.path(), "n.parquet", vec![("id", ids3()), ("spend", i32s(vec![Some(1), None, None]))]);
        let e = read_err(&[f], &opts());
        assert_has(&e, &["column 'spend' has 2 null values (in ", "n.parquet); use --missing drop|mean"]);
    }

    #[test]
    fn missing_drop_removes_rows_ids_and_weights() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "gaps.parquet",
            vec![
                ("id", strs(vec!["a", "b", "c", "d"])),
                ("x", f64s(vec![Some(1.0), None, Some(3.0), Some(f64::NAN)])),
                ("w", Arc::new(Float32Array::from(vec![0.5, 1.0, 2.0, 3.0]))),
            ],
        );
        let o = ReadOptions { missing: Missing::Drop, weight: Some("w".into()), ..opts() };
        let t = read_features(&[f], &o).unwrap();
        assert_eq!(t.x.as_slice(), &[1.0, 3.0]);
        assert_eq!(t.ids.as_string::<i32>().iter().flatten().collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(t.weights, Some(vec![0.5, 2.0]));
        assert_eq!((t.report.rows_read, t.report.rows_dropped), (4, 2));
    }

    #[test]
    fn missing_drop_of_every_row_is_the_no_rows_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "all.parquet",
            vec![("id", ids3()), ("x", f64s(vec![None, Some(f64::NAN), None]))],
        );
        let e = read_err(&[f], &ReadOptions { missing: Missing::Drop, ..opts() });
        assert_has(&e, &["no rows left", "all 3 rows", "all.parquet"]);
    }

    #[test]
    fn missing_mean_imputes_column_means() {
        let dir = tempfile::tempdir().unwrap();
        let f = with_gaps(dir.path());
        let t = read_features(&[f], &ReadOptions { missing: Missing::Mean, ..opts() }).unwrap();
        // b: valid 1 and 5 → 3; c: valid 2 only → 2.
        assert_eq!(t.x.as_slice(), &[1.0, 1.0, 2.0, 2.0, 3.0, 2.0, 3.0, 3.0, 2.0, 6.0, 5.0, 2.0]);
        assert_eq!(t.report.imputed, vec![("b".to_string(), 2), ("c".to_string(), 3)]);
        assert_eq!(t.report.rows_dropped, 0);
    }

    #[test]
    fn missing_mean_of_an_all_missing_column_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "a.parquet",
            vec![("id", ids3()), ("x", f64s(vec![1.0, 2.0, 3.0])), ("y", f64s(vec![None, None, Some(f64::NAN)]))],
        );
        let e = read_err(&[f], &ReadOptions { missing: Missing::Mean, ..opts() });
        assert_has(&e, &["column 'y'", "no valid values", "3 rows"]);
    }

    fn with_weights(dir: &Path, w: Vec<Option<f64>>) -> PathBuf {
        let n = w.len() as i64;
        write_parquet(
            dir,
            "w.parquet",
            vec![("id", i64s((0..n).collect::<Vec<_>>())), ("x", f64s(vec![1.0; n as usize])), ("w", f64s(w))],
        )
    }

    #[test]
    fn weights_are_checked_after_decoding_and_must_not_all_be_zero() {
        let dir = tempfile::tempdir().unwrap();
        let o = ReadOptions { weight: Some("w".into()), ..opts() };
        let f = with_weights(dir.path(), vec![Some(1.0), None, None]);
        assert_has(&read_err(&[f], &o), &["weight column 'w' has 2 null values", "w.parquet"]);
        let f = with_weights(dir.path(), vec![Some(0.0), Some(0.0)]);
        assert_has(&read_err(&[f], &o), &["weight column 'w' is zero for all 2 rows"]);
        let f = with_weights(dir.path(), vec![Some(0.0), Some(2.0)]);
        assert_eq!(read_features(&[f], &o).unwrap().weights, Some(vec![0.0, 2.0]));
    }

    /// A small file shaped like `custseg features`' output: behavioural columns, a derived score and CLV, a
    /// string code, and `days_between_purchases` null for the customer with one purchase day.
    fn features_like(dir: &Path) -> PathBuf {
        write_parquet(
            dir,
            "cust.parquet",
            vec![
                ("customer_id", ids3()),
                ("recency_days", i32s(vec![5, 40, 300])),
                ("frequency", i64s(vec![7, 3, 1])),
                ("days_between_purchases", f64s(vec![Some(10.0), Some(30.0), None])),
                ("r_score", Arc::new(UInt8Array::from(vec![5, 3, 1]))),
                ("rfm_code", strs(vec!["555", "333", "111"])),
                ("clv", f64s(vec![900.0, 200.0, 10.0])),
            ],
        )
    }

    #[test]
    fn default_selection_leaves_out_derived_and_null_by_design_columns_of_a_features_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = features_like(dir.path());
        let t = read_features(&[f], &features_file()).unwrap();
        assert_eq!(t.feature_names, ["recency_days", "frequency"]);
        assert_eq!(t.x.as_slice(), &[5.0, 7.0, 40.0, 3.0, 300.0, 1.0]);
        assert_eq!(
            t.report.skipped,
            [
                ("r_score".to_string(), SkipReason::Derived),
                ("clv".to_string(), SkipReason::Derived),
                ("rfm_code".to_string(), SkipReason::Text),
                ("days_between_purchases".to_string(), SkipReason::Missing { nulls: 1, non_finite: 0 }),
            ]
        );
    }

    #[test]
    fn default_selection_keeps_a_null_by_design_column_under_missing_mean() {
        let dir = tempfile::tempdir().unwrap();
        let f = features_like(dir.path());
        let t = read_features(&[f], &ReadOptions { missing: Missing::Mean, ..features_file() }).unwrap();
        assert_eq!(t.feature_names, ["recency_days", "frequency", "days_between_purchases"]);
        assert_eq!(t.x.row(2), &[300.0, 1.0, 20.0]);
        assert_eq!(t.report.imputed, [("days_between_purchases".to_string(), 1)]);
        assert_eq!(t.report.skipped.len(), 3);
    }

    #[test]
    fn named_features_are_taken_as_given_even_derived_ones() {
        let dir = tempfile::tempdir().unwrap();
        let f = features_like(dir.path());
        let o = ReadOptions { features: Some(vec!["clv".into(), "r_score".into()]), ..features_file() };
        let t = read_features(std::slice::from_ref(&f), &o).unwrap();
        assert_eq!(t.feature_names, ["clv", "r_score"]);
        assert!(t.report.skipped.is_empty());
    }

    #[test]
    fn a_named_null_by_design_column_with_nulls_still_fails() {
        let dir = tempfile::tempdir().unwrap();
        let f = features_like(dir.path());
        let o = ReadOptions {
            features: Some(vec!["frequency".into(), "days_between_purchases".into()]),
            ..features_file()
        };
        let e = read_err(&[f], &o);
        assert_has(&e, &["column 'days_between_purchases' has 1 null values (in ", "cust.parquet); use --missing"]);
    }

    #[test]
    fn only_projected_columns_are_decoded() {
        // A column of a type the converter does not know (a list) is never touched unless asked for.
        let dir = tempfile::tempdir().unwrap();
        let list = arrow::array::ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1)]),
            None,
            Some(vec![]),
        ]);
        let f = write_parquet(
            dir.path(),
            "a.parquet",
            vec![("id", ids3()), ("tags", Arc::new(list)), ("x", f64s(vec![1.0, 2.0, 3.0]))],
        );
        let t = read_features(&[f], &opts()).unwrap();
        assert_eq!(t.feature_names, ["x"]);
        assert_eq!(t.x.as_slice(), &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        // Every single-byte corruption of a small file either still reads or is a one-line error naming it.
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "c.parquet",
            vec![
                ("id", strs(vec!["a", "b", "c"])),
                ("x", f64s(vec![Some(1.0), None, Some(3.0)])),
                ("y", i32s(vec![4, 5, 6])),
            ],
        );
        let good = std::fs::read(&f).unwrap();
        let o = ReadOptions { missing: Missing::Mean, ..opts() };
        let mut errors = 0;
        for at in 0..good.len() {
            for flip in [0xFFu8, 0x80] {
                let mut bad = good.clone();
                bad[at] ^= flip;
                std::fs::write(&f, &bad).unwrap();
                match std::panic::catch_unwind(|| read_features(std::slice::from_ref(&f), &o)) {
                    Err(_) => panic!("panic with byte {at} ^ {flip:#x}"),
                    Ok(Ok(t)) => assert!(t.x.d() >= 1),
                    Ok(Err(e)) => {
                        let m = e.to_string();
                        assert!(!m.contains('\n') && m.contains("c.parquet"), "byte {at}: {m}");
                        errors += 1;
                    }
                }
            }
        }
        assert!(errors > 0);
    }
}
