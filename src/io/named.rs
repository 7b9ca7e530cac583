//! Named columns read whole, as Arrow arrays, beside the feature matrix: the `--categorical`, `--profile-by` and
//! `--keep` columns. Their types come from the files' metadata first ([`column_types`]: a Parquet footer, or a
//! CSV file's inferred schema with the `--csv-schema` overrides, as the feature reader sees it), so flags are
//! checked before any row is decoded; then the rows are decoded (a Parquet file's row groups in parallel, a CSV
//! file in parallel pieces) and concatenated in file order, the order of the reader's rows, so that row i here is
//! row i of the matrix before `--missing drop` (the caller applies the reader's `kept_rows`).

use std::path::{Path, PathBuf};

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::datatypes::{DataType, SchemaRef};
use rayon::prelude::*;

use super::csv::{infer_schema, is_csv_name};
use super::csv_read::read_csv;
use super::parquet::{decode_row_group, load_metadata};
use crate::error::{Error, Result};

/// A file's schema: a CSV file's inferred with `csv_schema`'s overrides, a Parquet file's from its footer.
fn file_schema(path: &Path, csv_schema: &[(String, DataType)]) -> Result<SchemaRef> {
    if is_csv_name(path) {
        infer_schema(path, csv_schema)
    } else {
        Ok(load_metadata(path)?.schema().clone())
    }
}

/// The type a column is read as: a dictionary's value type.
fn value_type(t: &DataType) -> DataType {
    match t {
        DataType::Dictionary(_, v) => (**v).clone(),
        _ => t.clone(),
    }
}

/// Each named column's type as the files declare it (the first file's; a dictionary stays a dictionary). Every
/// file must have every column, with the same value type. Reads only the files' footers.
pub fn column_types(paths: &[PathBuf], names: &[String], csv_schema: &[(String, DataType)]) -> Result<Vec<DataType>> {
    let mut first: Vec<DataType> = Vec::new();
    for (f, path) in paths.iter().enumerate() {
        let schema = file_schema(path, csv_schema)?;
        for (c, name) in names.iter().enumerate() {
            let field = schema.fields().iter().find(|fl| fl.name() == name).ok_or_else(|| {
                let cols: Vec<&str> = schema.fields().iter().map(|fl| fl.name().as_str()).take(30).collect();
                Error::Data(format!("{}: no column '{name}'; columns are: {}", path.display(), cols.join(", ")))
            })?;
            let t = field.data_type().clone();
            if f == 0 {
                first.push(t);
            } else if value_type(&t) != value_type(&first[c]) {
                return Err(Error::Data(format!(
                    "{}: column '{name}' has type {t}, but {} in {}; all files must agree",
                    path.display(),
                    first[c],
                    paths[0].display()
                )));
            }
        }
    }
    Ok(first)
}

/// Reads the columns `names` of every row of `paths` (in order), each as one array (dictionaries decoded).
pub fn read_columns(
    paths: &[PathBuf],
    names: &[String],
    batch_size: usize,
    csv_schema: &[(String, DataType)],
) -> Result<Vec<ArrayRef>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut columns: Vec<Vec<ArrayRef>> = vec![Vec::new(); names.len()];
    for path in paths {
        for (c, arrays) in read_file(path, names, batch_size, csv_schema)?.into_iter().enumerate() {
            columns[c].extend(arrays);
        }
    }
    columns
        .into_iter()
        .zip(names)
        .map(|(arrays, name)| {
            if arrays.len() == 1 {
                return Ok(arrays.into_iter().next().expect("one part"));
            }
            let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
            arrow::compute::concat(&refs).map_err(|e| Error::Data(format!("cannot concatenate column '{name}': {e}")))
        })
        .collect()
}

/// One file's columns `names`, each as its decoded pieces in row order.
fn read_file(
    path: &Path,
    names: &[String],
    batch_size: usize,
    csv_schema: &[(String, DataType)],
) -> Result<Vec<Vec<ArrayRef>>> {
    let csv = is_csv_name(path);
    let meta = if csv { None } else { Some(load_metadata(path)?) };
    let schema = match &meta {
        Some(m) => m.schema().clone(),
        None => infer_schema(path, csv_schema)?,
    };
    let idx: Vec<usize> = names
        .iter()
        .map(|n| {
            schema
                .fields()
                .iter()
                .position(|fl| fl.name() == n)
                .ok_or_else(|| Error::Data(format!("{}: no column '{n}'", path.display())))
        })
        .collect::<Result<_>>()?;
    // The projection is ascending and without repeats; `pos` finds each name's column in it.
    let mut roots = idx.clone();
    roots.sort_unstable();
    roots.dedup();
    let pos: Vec<usize> = idx.iter().map(|i| roots.binary_search(i).expect("in the projection")).collect();
    let mut out: Vec<Vec<ArrayRef>> = vec![Vec::new(); names.len()];
    let Some(meta) = meta else {
        for batch in read_csv(path, &schema, &roots, batch_size)? {
            for (c, &p) in pos.iter().enumerate() {
                out[c].push(decoded(path, &names[c], batch.column(p))?);
            }
        }
        return Ok(out);
    };
    let groups: Vec<(usize, usize)> =
        meta.metadata().row_groups().iter().enumerate().map(|(g, rg)| (g, rg.num_rows().max(0) as usize)).collect();
    let parts: Vec<Result<Vec<Vec<ArrayRef>>>> = groups
        .par_iter()
        .map(|&(g, rows)| {
            let mut part: Vec<Vec<ArrayRef>> = vec![Vec::new(); names.len()];
            decode_row_group(path, &meta, &roots, g, rows, batch_size, |batch, _| {
                for (c, &p) in pos.iter().enumerate() {
                    part[c].push(decoded(path, &names[c], batch.column(p))?);
                }
                Ok(())
            })?;
            Ok(part)
        })
        .collect();
    for part in parts {
        for (c, arrays) in part?.into_iter().enumerate() {
            out[c].extend(arrays);
        }
    }
    Ok(out)
}

/// A decoded batch's column, a dictionary cast to its value type.
fn decoded(path: &Path, name: &str, a: &ArrayRef) -> Result<ArrayRef> {
    match a.data_type() {
        DataType::Dictionary(_, v) => arrow::compute::cast(a, v).map_err(|e| {
            Error::Data(format!("{}: column '{name}': cannot decode its dictionary: {e}", path.display()))
        }),
        _ => Ok(a.clone()),
    }
}

/// `a` without the rows whose `kept` flag is false (`kept: None` keeps every row).
pub fn keep_rows(a: &ArrayRef, kept: Option<&[bool]>) -> Result<ArrayRef> {
    match kept {
        None => Ok(a.clone()),
        Some(k) => arrow::compute::filter(a, &BooleanArray::from(k.to_vec()))
            .map_err(|e| Error::Data(format!("cannot filter a column: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{AsArray, DictionaryArray};
    use arrow::datatypes::{Int32Type, Int8Type};

    use crate::test_util::{assert_has, batch, err_line, f64s, i64s, strs, write_batch, write_parquet};

    #[test]
    fn columns_are_read_in_file_and_row_group_order_with_dictionaries_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.parquet");
        let region: DictionaryArray<Int8Type> = vec!["n", "s", "n", "e", "w"].into_iter().collect();
        let b = batch(vec![
            ("id", i64s(vec![1, 2, 3, 4, 5])),
            ("region", Arc::new(region) as ArrayRef),
            ("age", Arc::new(arrow::array::Int32Array::from(vec![Some(30), None, Some(50), Some(60), Some(70)]))),
        ]);
        write_batch(&a, &b, Some(2), Some(2));
        let c = write_parquet(
            dir.path(),
            "b.parquet",
            vec![
                ("id", i64s(vec![6])),
                ("age", Arc::new(arrow::array::Int32Array::from(vec![80]))),
                ("region", strs(vec!["x"])),
            ],
        );
        let names = vec!["age".to_string(), "region".into()];
        let types = column_types(&[a.clone(), c.clone()], &names, &[]).unwrap();
        assert!(matches!(types[1], DataType::Dictionary(..)), "{types:?}");
        let cols = read_columns(&[a, c], &names, 1, &[]).unwrap();
        let age: Vec<Option<i32>> = cols[0].as_primitive::<Int32Type>().iter().collect();
        assert_eq!(age, [Some(30), None, Some(50), Some(60), Some(70), Some(80)]);
        let region: Vec<&str> = cols[1].as_string::<i32>().iter().map(|v| v.unwrap()).collect();
        assert_eq!(region, ["n", "s", "n", "e", "w", "x"]);
        let kept = keep_rows(&cols[0], Some(&[true, false, true, false, false, true])).unwrap();
        assert_eq!(kept.as_primitive::<Int32Type>().values().to_vec(), vec![30, 50, 80]);
    }

    #[test]
    fn a_missing_column_or_a_disagreeing_type_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_parquet(dir.path(), "a.parquet", vec![("id", i64s(vec![1])), ("g", strs(vec!["f"]))]);
        let b = write_parquet(dir.path(), "b.parquet", vec![("id", i64s(vec![2])), ("g", f64s(vec![1.0]))]);
        let e = err_line(column_types(std::slice::from_ref(&a), &["region".into()], &[]));
        assert_has(&e, &["a.parquet", "no column 'region'", "id, g"]);
        let e = err_line(column_types(&[a, b], &["g".into()], &[]));
        assert_has(&e, &["b.parquet", "'g'", "Float64", "Utf8", "a.parquet"]);
    }
}
