//! Decoding (the read's second pass): every row group of every file decoded in parallel, each straight into its
//! own rows of the one pre-sized matrix (their offsets are known from the plan), its features and weight
//! converted to `f32` and its IDs kept in their Arrow type; counts and IDs are merged in file and row-group
//! order, so the result and the first error reported do not depend on the thread count.

use std::path::Path;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use super::checks::FileCounts;
use super::columns::text_numbers;
use super::convert::write_column;
use super::options::ReadOptions;
use super::parquet::decode_row_group;
use super::plan::{FilePlan, Source};
use crate::error::{Error, Result};

/// Decodes every row group of `plans` into `data` (`rows × d`, row-major, the files' rows in order) and `weights`
/// (one per row, when a weight column is read). Returns each file's counts and the ID column over all files.
pub(crate) fn decode_files(
    plans: &[FilePlan],
    opts: &ReadOptions,
    d: usize,
    data: &mut [f32],
    weights: Option<&mut [f32]>,
) -> Result<(Vec<FileCounts>, ArrayRef)> {
    let units: Vec<(usize, usize, usize)> = plans
        .iter()
        .enumerate()
        .flat_map(|(f, plan)| plan.row_groups.iter().enumerate().map(move |(g, &rows)| (f, g, rows)))
        .collect();
    let mut slices: Vec<(&mut [f32], Option<&mut [f32]>)> = Vec::with_capacity(units.len());
    {
        let (mut rest, mut wrest) = (data, weights);
        for &(_, _, rows) in &units {
            let (x, tail) = rest.split_at_mut(rows * d);
            rest = tail;
            let w = wrest.take().map(|w| {
                let (a, b) = w.split_at_mut(rows);
                wrest = Some(b);
                a
            });
            slices.push((x, w));
        }
    }
    let outs: Vec<Result<(FileCounts, Vec<ArrayRef>)>> =
        units.par_iter().zip(slices).map(|(&(f, g, _), (x, w))| read_row_group(&plans[f], g, opts, d, x, w)).collect();
    let mut counts: Vec<FileCounts> = plans.iter().map(|p| FileCounts::zero(d, p.text_checks.len())).collect();
    let mut id_parts: Vec<ArrayRef> = Vec::new();
    for (&(f, _, _), out) in units.iter().zip(outs) {
        let (c, ids) = out?;
        counts[f].add(&c);
        id_parts.extend(ids);
    }

    let ids: ArrayRef = if id_parts.len() == 1 {
        id_parts.pop().expect("one part")
    } else {
        let refs: Vec<&dyn Array> = id_parts.iter().map(|a| a.as_ref()).collect();
        arrow::compute::concat(&refs)
            .map_err(|e| Error::Data(format!("cannot concatenate id column '{}': {e}", opts.id_column)))?
    };
    Ok((counts, ids))
}

/// Decodes row group `g` of a file into `x` (its `rows × d` rows of the matrix) and `w` (its weights), and returns
/// its counts and ID arrays.
fn read_row_group(
    plan: &FilePlan,
    g: usize,
    opts: &ReadOptions,
    d: usize,
    x: &mut [f32],
    mut w: Option<&mut [f32]>,
) -> Result<(FileCounts, Vec<ArrayRef>)> {
    let path = plan.path.as_path();
    let want = plan.row_groups[g];
    let mut counts = FileCounts::zero(d, plan.text_checks.len());
    let mut ids = Vec::new();
    let each = |batch: &RecordBatch, at: usize| -> Result<()> {
        let rows = batch.num_rows();
        let dst = &mut x[at * d..(at + rows) * d];
        for (j, &p) in plan.feature_pos.iter().enumerate() {
            let (nulls, bad) =
                write_column(batch.column(p), dst, d, j).map_err(|m| column_error(path, &plan.feature_names[j], m))?;
            counts.nulls[j] += nulls;
            counts.non_finite[j] += bad;
        }
        if let (Some(w), Some(p)) = (w.as_deref_mut(), plan.weight_pos) {
            let (nulls, bad) = write_column(batch.column(p), &mut w[at..at + rows], 1, 0)
                .map_err(|m| column_error(path, opts.weight.as_deref().unwrap_or_default(), m))?;
            counts.weight_nulls += nulls;
            counts.weight_non_finite += bad;
        }
        let id = batch.column(plan.id_pos);
        let id = match id.data_type() {
            DataType::Dictionary(_, v) => {
                arrow::compute::cast(id, v).map_err(|e| column_error(path, &opts.id_column, e))?
            }
            _ => id.clone(),
        };
        counts.id_nulls += id.null_count();
        ids.push(id);
        for (t, p) in plan.text_pos.iter().enumerate() {
            if let Some(p) = *p {
                let (values, numeric) = if counts.text_numeric[t] {
                    text_numbers(batch.column(p).as_ref())
                } else {
                    (batch.column(p).len() - batch.column(p).logical_null_count(), false)
                };
                counts.text_values[t] += values;
                counts.text_numeric[t] &= numeric;
            }
        }
        Ok(())
    };
    match &plan.source {
        Source::Parquet(meta) => decode_row_group(path, meta, &plan.roots, g, want, opts.batch_size, each)?,
        // A CSV file's row group is one batch its decoding made.
        Source::Csv { batches, .. } => {
            let mut each = each;
            each(&batches[g], 0)?;
        }
    }
    Ok((counts, ids))
}

fn column_error(path: &Path, column: &str, m: impl std::fmt::Display) -> Error {
    Error::Data(format!("{}: column '{column}': {m}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::Arc;

    use arrow::array::{
        AsArray, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array, LargeStringArray, StringArray,
        StringViewArray, UInt32Array,
    };
    use arrow::datatypes::{Int32Type, Int64Type};

    use crate::io::options::DefaultSelection;
    use crate::io::parquet::load_metadata;
    use crate::io::plan::plan_files;
    use crate::test_util::{batch, write_batch, write_parquet};

    fn opts() -> ReadOptions {
        ReadOptions { id_column: "id".into(), ..ReadOptions::with_selection(DefaultSelection::default()) }
    }

    /// Plans and decodes `paths`: the matrix, the weights, each file's counts and the IDs.
    fn decode(paths: &[PathBuf], o: &ReadOptions) -> (Vec<f32>, Option<Vec<f32>>, Vec<FileCounts>, ArrayRef) {
        let plans = plan_files(paths, o).unwrap();
        let (n, d) = (plans.iter().map(|p| p.rows).sum::<usize>(), plans[0].feature_names.len());
        let mut x = vec![0f32; n * d];
        let mut w = o.weight.as_ref().map(|_| vec![0f32; n]);
        let (counts, ids) = decode_files(&plans, o, d, &mut x, w.as_deref_mut()).unwrap();
        (x, w, counts, ids)
    }

    fn x3() -> ArrayRef {
        Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))
    }

    #[test]
    fn string_ids_keep_their_type() {
        let dir = tempfile::tempdir().unwrap();
        for (name, ids) in [
            ("utf8", Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef),
            ("large", Arc::new(LargeStringArray::from(vec!["a", "b", "c"])) as ArrayRef),
            ("view", Arc::new(StringViewArray::from(vec!["a", "b", "c"])) as ArrayRef),
        ] {
            let f = write_parquet(dir.path(), &format!("{name}.parquet"), vec![("id", ids.clone()), ("x", x3())]);
            let (_, _, _, got) = decode(&[f], &opts());
            assert_eq!(got.data_type(), ids.data_type(), "{name}");
            assert_eq!(&got, &ids, "{name}");
        }
    }

    #[test]
    fn dictionary_string_ids_are_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let ids = DictionaryArray::<Int32Type>::new(
            Int32Array::from(vec![2, 0, 1]),
            Arc::new(StringArray::from(vec!["x", "y", "z"])),
        );
        let f = write_parquet(
            dir.path(),
            "d.parquet",
            vec![("id", Arc::new(ids)), ("v", Arc::new(Float32Array::from(vec![1.0, 2.0, 3.0])))],
        );
        let (_, _, _, got) = decode(&[f], &opts());
        assert_eq!(got.as_string::<i32>().iter().flatten().collect::<Vec<_>>(), ["z", "x", "y"]);
    }

    #[test]
    fn integer_ids_keep_their_type() {
        let dir = tempfile::tempdir().unwrap();
        let ids: ArrayRef = Arc::new(UInt32Array::from(vec![10, 20, 30]));
        let f = write_parquet(dir.path(), "u.parquet", vec![("id", ids.clone()), ("x", x3())]);
        let (_, _, _, got) = decode(&[f], &opts());
        assert_eq!(&got, &ids);
    }

    #[test]
    fn row_groups_decoded_in_parallel_land_in_file_and_row_order() {
        let dir = tempfile::tempdir().unwrap();
        // Two files of 23 and 9 rows in row groups of 4 and 7 rows (uneven last groups), read in batches of 3.
        let mk = |name: &str, from: i64, n: usize, group: usize| {
            let ids: Vec<i64> = (0..n as i64).map(|i| from + i).collect();
            let a: Vec<f64> = ids.iter().map(|&i| i as f64 * 0.5).collect();
            let b: Vec<i32> = ids.iter().map(|&i| -(i as i32)).collect();
            let w: Vec<f32> = ids.iter().map(|&i| 1.0 + i as f32).collect();
            let path = dir.path().join(name);
            let columns = batch(vec![
                ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
                ("a", Arc::new(Float64Array::from(a))),
                ("b", Arc::new(Int32Array::from(b))),
                ("w", Arc::new(Float32Array::from(w))),
            ]);
            write_batch(&path, &columns, Some(group), Some(5));
            path
        };
        let paths = vec![mk("p1.parquet", 100, 23, 4), mk("p2.parquet", 500, 9, 7)];
        let meta = load_metadata(&paths[0]).unwrap();
        assert_eq!(meta.metadata().num_row_groups(), 6, "the fixture has several row groups");
        let o = ReadOptions {
            features: Some(vec!["b".into(), "a".into()]),
            weight: Some("w".into()),
            batch_size: 3,
            ..opts()
        };
        let (x, w, counts, ids) = decode(&paths, &o);
        let want: Vec<i64> = (100..123).chain(500..509).collect();
        assert_eq!(ids.as_primitive::<Int64Type>().values().to_vec(), want);
        for (r, &id) in want.iter().enumerate() {
            assert_eq!(&x[r * 2..r * 2 + 2], &[-(id as f32), id as f32 * 0.5], "row {r}");
            assert_eq!(w.as_ref().unwrap()[r], 1.0 + id as f32);
        }
        assert_eq!(counts.len(), 2);
    }

    #[test]
    fn missing_values_are_counted_per_file_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_parquet(
            dir.path(),
            "a.parquet",
            vec![
                ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
                ("x", Arc::new(Float64Array::from(vec![Some(1.0), None, Some(f64::NAN)]))),
                ("y", Arc::new(Int32Array::from(vec![Some(1), Some(2), None]))),
                ("w", Arc::new(Float64Array::from(vec![Some(1.0), None, Some(f64::INFINITY)]))),
            ],
        );
        let b = write_parquet(
            dir.path(),
            "b.parquet",
            vec![
                ("id", Arc::new(Int64Array::from(vec![Some(4), None])) as ArrayRef),
                ("x", Arc::new(Float64Array::from(vec![f64::NEG_INFINITY, 2.0]))),
                ("y", Arc::new(Int32Array::from(vec![None, None]))),
                ("w", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
            ],
        );
        let (x, _, counts, ids) = decode(&[a, b], &ReadOptions { weight: Some("w".into()), ..opts() });
        let got =
            |c: &FileCounts| (c.id_nulls, c.nulls.clone(), c.non_finite.clone(), c.weight_nulls, c.weight_non_finite);
        assert_eq!(got(&counts[0]), (0, vec![1, 1], vec![1, 0], 1, 1));
        assert_eq!(got(&counts[1]), (1, vec![0, 2], vec![1, 0], 0, 0));
        assert_eq!(ids.null_count(), 1);
        // Nulls are NaN in the matrix.
        assert!(x[2].is_nan() && x[5].is_nan() && x[7].is_nan() && x[9].is_nan());
    }
}
