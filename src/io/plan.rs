//! The read plan, from the files' metadata before any row is decoded: for each file, its rows and row groups
//! (so every row group's offset in the matrix is known), the columns to decode and their positions, and the
//! feature columns, named or chosen by the default selection's first rule; every file is checked against the
//! first (same ID type, same features). A CSV file has no metadata: its schema is inferred from a sample
//! (`csv`), and its rows are known once [`load_csv`] has decoded its projected columns into batches, which then
//! stand for its row groups.

use std::path::{Path, PathBuf};

use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use rayon::prelude::*;

use super::columns::{is_code_name, is_integer, is_text, non_numeric_reason};
use super::convert::{id_value_type, is_numeric};
use super::csv::{infer_schema, is_csv_name};
use super::csv_read::read_csv;
use super::options::ReadOptions;
use super::parquet::{load_metadata, not_parquet};
use super::select::{split_derived, SkipReason};
use crate::error::{Error, Result};

/// Where a file's rows come from.
pub(crate) enum Source {
    /// A Parquet file, through its footer.
    Parquet(ArrowReaderMetadata),
    /// A CSV file: its schema (inferred, with the `--csv-schema` overrides) and, once [`load_csv`] has run, its
    /// projected columns decoded into batches, each one of the plan's row groups.
    Csv { schema: SchemaRef, batches: Vec<RecordBatch> },
}

/// One input file after its metadata was read and its schema checked.
pub(crate) struct FilePlan {
    pub(crate) path: PathBuf,
    pub(crate) source: Source,
    /// Rows declared by the row groups' metadata (for CSV, decoded), in all and per row group.
    pub(crate) rows: usize,
    pub(crate) row_groups: Vec<usize>,
    /// Root column indices to decode, ascending (this is also their order in each record batch).
    pub(crate) roots: Vec<usize>,
    /// Position in the record batch of the ID column, each feature (in `feature_names` order) and the weight.
    pub(crate) id_pos: usize,
    pub(crate) feature_pos: Vec<usize>,
    pub(crate) weight_pos: Option<usize>,
    pub(crate) feature_names: Vec<String>,
    /// Without named features: the numeric columns left out as derived (select's rule 1), in file order.
    pub(crate) derived: Vec<String>,
    /// Without named features: the other columns left out from the schema alone (not numeric, or an integer
    /// code by name), with their types, in file order (`columns`).
    pub(crate) account: Vec<(String, SkipReason, DataType)>,
    /// Without named features: the first file's text columns (not codes by name) whose values are checked for
    /// numbers, and where each is in this file's batches (if it is text here).
    pub(crate) text_checks: Vec<String>,
    pub(crate) text_pos: Vec<Option<usize>>,
    /// Each feature's type in this file.
    pub(crate) feature_types: Vec<DataType>,
    /// The ID type after decoding a dictionary.
    pub(crate) id_type: DataType,
}

/// Reads the metadata of every file, in order, and plans it against the first.
pub(crate) fn plan_files(paths: &[PathBuf], opts: &ReadOptions) -> Result<Vec<FilePlan>> {
    let mut plans: Vec<FilePlan> = Vec::with_capacity(paths.len());
    for path in paths {
        let source = if is_csv_name(path) {
            Source::Csv { schema: infer_schema(path, &opts.csv_schema)?, batches: Vec::new() }
        } else {
            Source::Parquet(load_metadata(path)?)
        };
        let plan = plan_file(path, source, opts, plans.first())?;
        plans.push(plan);
    }
    Ok(plans)
}

/// Whether any plan reads a CSV file (its rows are known only after [`load_csv`]).
pub(crate) fn any_csv(plans: &[FilePlan]) -> bool {
    plans.iter().any(|p| matches!(p.source, Source::Csv { .. }))
}

/// Decodes the projected columns of every CSV file (files in parallel, and each file in parallel pieces), so that
/// its batches become its row groups. The first error in file order is returned.
pub(crate) fn load_csv(plans: &mut [FilePlan], opts: &ReadOptions) -> Result<()> {
    let outs: Vec<Result<()>> = plans
        .par_iter_mut()
        .map(|plan| {
            let Source::Csv { schema, batches } = &mut plan.source else {
                return Ok(());
            };
            *batches = read_csv(&plan.path, schema, &plan.roots, opts.batch_size)?;
            plan.row_groups = batches.iter().map(|b| b.num_rows()).collect();
            plan.rows = plan.row_groups.iter().sum();
            Ok(())
        })
        .collect();
    outs.into_iter().collect()
}

/// Rows in all and per row group, from a Parquet footer.
fn parquet_rows(path: &Path, meta: &ArrowReaderMetadata) -> Result<(usize, Vec<usize>)> {
    let mut rows: usize = 0;
    let mut row_groups = Vec::with_capacity(meta.metadata().num_row_groups());
    for rg in meta.metadata().row_groups() {
        let n = usize::try_from(rg.num_rows())
            .map_err(|_| not_parquet(path, format!("a row group declares {} rows", rg.num_rows())))?;
        rows = rows.checked_add(n).ok_or_else(|| not_parquet(path, "row counts overflow"))?;
        row_groups.push(n);
    }
    Ok((rows, row_groups))
}

/// Finds the columns of `opts` in this file and checks their types (and, after the first file, that they agree
/// with `first`).
fn plan_file(path: &Path, source: Source, opts: &ReadOptions, first: Option<&FilePlan>) -> Result<FilePlan> {
    let (rows, row_groups, schema) = match &source {
        Source::Parquet(meta) => {
            let (rows, groups) = parquet_rows(path, meta)?;
            (rows, groups, meta.schema().clone())
        }
        Source::Csv { schema, .. } => (0, Vec::new(), schema.clone()),
    };
    let find = |name: &str| -> Result<usize> {
        schema.fields().iter().position(|f| f.name() == name).ok_or_else(|| {
            Error::Data(format!("{}: no column '{name}'; columns are: {}", path.display(), column_list(&schema)))
        })
    };

    let id_idx = find(&opts.id_column)?;
    let id_type = id_value_type(schema.field(id_idx).data_type()).ok_or_else(|| {
        Error::Data(format!(
            "{}: id column '{}' has type {}; ids must be integers or strings",
            path.display(),
            opts.id_column,
            schema.field(id_idx).data_type()
        ))
    })?;
    if let Some(f) = first {
        if f.id_type != id_type {
            return Err(Error::Data(format!(
                "{}: id column '{}' has type {id_type}, but {} in {}; all files must agree",
                path.display(),
                opts.id_column,
                f.id_type,
                f.path.display()
            )));
        }
    }

    let weight_idx = match &opts.weight {
        None => None,
        Some(w) => {
            let i = find(w)?;
            let t = schema.field(i).data_type();
            if !is_numeric(t) {
                return Err(Error::Data(format!(
                    "{}: weight column '{w}' has type {t}, which is not numeric",
                    path.display()
                )));
            }
            Some(i)
        }
    };

    let mut derived: Vec<String> = Vec::new();
    let mut account: Vec<(String, SkipReason, DataType)> = Vec::new();
    let feature_idx: Vec<usize> = match &opts.features {
        Some(names) => {
            let mut idx = Vec::with_capacity(names.len());
            for name in names {
                let i = find(name)?;
                let t = schema.field(i).data_type();
                if !is_numeric(t) {
                    return Err(Error::Data(format!(
                        "{}: feature column '{name}' has type {t}, which is not numeric",
                        path.display()
                    )));
                }
                idx.push(i);
            }
            idx
        }
        None => {
            let mut candidates: Vec<usize> = Vec::new();
            let mut codes: Vec<usize> = Vec::new();
            for (i, f) in schema.fields().iter().enumerate() {
                let t = f.data_type();
                if i == id_idx || Some(i) == weight_idx || opts.extra_columns.iter().any(|e| e == f.name()) {
                    continue;
                }
                if !is_numeric(t) {
                    account.push((f.name().clone(), non_numeric_reason(t), t.clone()));
                } else if is_integer(t) && is_code_name(f.name()) {
                    codes.push(i);
                } else {
                    candidates.push(i);
                }
            }
            if candidates.is_empty() && !codes.is_empty() {
                // Never no feature: the codes stay, said once.
                if first.is_none() {
                    let list = codes.iter().map(|&i| schema.field(i).name().as_str()).collect::<Vec<_>>().join(", ");
                    tracing::warn!(
                        "default features: clustering on {list} although the name says it is a code: no other \
                         numeric column; name the features with --features"
                    );
                }
                candidates = std::mem::take(&mut codes);
                candidates.sort_unstable();
            }
            for &i in &codes {
                let f = schema.field(i);
                account.push((f.name().clone(), SkipReason::CodeName, f.data_type().clone()));
            }
            account.sort_by_key(|(name, _, _)| schema.index_of(name).unwrap_or(usize::MAX));
            let names: Vec<&str> = candidates.iter().map(|&i| schema.field(i).name().as_str()).collect();
            let (kept, left_out) = split_derived(&names, &opts.default_selection);
            let auto: Vec<usize> = kept.iter().map(|&k| candidates[k]).collect();
            derived = left_out.iter().map(|&k| names[k].to_string()).collect();
            match first {
                None => {
                    if auto.is_empty() {
                        return Err(Error::Data(format!(
                            "{}: no numeric feature columns besides the id{}; columns are: {}",
                            path.display(),
                            if weight_idx.is_some() { " and weight columns" } else { " column" },
                            column_list_typed(&schema)
                        )));
                    }
                    auto
                }
                Some(f) => {
                    // Same feature set as the first file, in the first file's order.
                    let mut idx = Vec::with_capacity(f.feature_names.len());
                    for name in &f.feature_names {
                        let i = find(name)?;
                        let t = schema.field(i).data_type();
                        if !is_numeric(t) {
                            return Err(Error::Data(format!(
                                "{}: feature column '{name}' has type {t}, which is not numeric (it is numeric in {})",
                                path.display(),
                                f.path.display()
                            )));
                        }
                        idx.push(i);
                    }
                    if let Some(&extra) =
                        auto.iter().find(|&&i| !f.feature_names.iter().any(|n| n == schema.field(i).name()))
                    {
                        return Err(Error::Data(format!(
                            "{}: numeric column '{}' is not in {}; all files must have the same feature columns (or name the features)",
                            path.display(),
                            schema.field(extra).name(),
                            f.path.display()
                        )));
                    }
                    idx
                }
            }
        }
    };
    let feature_names: Vec<String> = feature_idx.iter().map(|&i| schema.field(i).name().clone()).collect();
    let feature_types: Vec<DataType> = feature_idx.iter().map(|&i| schema.field(i).data_type().clone()).collect();
    // The text columns whose values are checked for numbers: the first file's, found in this one.
    let text_checks: Vec<String> = match first {
        _ if opts.features.is_some() => Vec::new(),
        Some(f) => f.text_checks.clone(),
        None => account
            .iter()
            .filter(|(name, reason, _)| *reason == SkipReason::Text && !is_code_name(name))
            .map(|(name, _, _)| name.clone())
            .collect(),
    };
    let text_idx: Vec<Option<usize>> = text_checks
        .iter()
        .map(|name| schema.index_of(name).ok().filter(|&i| is_text(schema.field(i).data_type())))
        .collect();

    let mut roots: Vec<usize> = feature_idx
        .iter()
        .copied()
        .chain([id_idx])
        .chain(weight_idx)
        .chain(text_idx.iter().flatten().copied())
        .collect();
    roots.sort_unstable();
    roots.dedup();
    let pos = |i: usize| roots.binary_search(&i).expect("column is in the projection");
    let id_pos = pos(id_idx);
    let feature_pos = feature_idx.iter().map(|&i| pos(i)).collect();
    let weight_pos = weight_idx.map(pos);
    let text_pos = text_idx.iter().map(|i| i.map(pos)).collect();
    Ok(FilePlan {
        path: path.to_path_buf(),
        source,
        rows,
        row_groups,
        roots,
        id_pos,
        feature_pos,
        weight_pos,
        feature_names,
        derived,
        account,
        text_checks,
        text_pos,
        feature_types,
        id_type,
    })
}

/// `a, b, c` (at most 30 named).
fn column_list(schema: &Schema) -> String {
    list_capped(schema.fields().iter().map(|f| f.name().clone()).collect())
}

/// `a (Int64), b (Utf8)` (at most 30 named).
fn column_list_typed(schema: &Schema) -> String {
    list_capped(schema.fields().iter().map(|f| format!("{} ({})", f.name(), f.data_type())).collect())
}

fn list_capped(items: Vec<String>) -> String {
    const MAX: usize = 30;
    if items.is_empty() {
        return "(none)".into();
    }
    let n = items.len();
    let mut s = items.into_iter().take(MAX).collect::<Vec<_>>().join(", ");
    if n > MAX {
        s.push_str(&format!(", ... ({n} in all)"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{ArrayRef, UInt8Array};

    use crate::io::options::DefaultSelection;
    use crate::test_util::{assert_has, batch, err_line, f64s, i32s, i64s, ids3, strs, write_batch, write_parquet};

    fn defaults() -> ReadOptions {
        ReadOptions::with_selection(DefaultSelection::default())
    }

    fn opts() -> ReadOptions {
        ReadOptions { id_column: "id".into(), ..defaults() }
    }

    fn plan_err(paths: &[PathBuf], o: &ReadOptions) -> String {
        err_line(plan_files(paths, o))
    }

    /// The file `name` in `dir` with the IDs 1, 2, 3 and one other column.
    fn ids_and(dir: &Path, name: &str, column: (&str, ArrayRef)) -> PathBuf {
        write_parquet(dir, name, vec![("id", ids3()), column])
    }

    /// The file `name` in `dir` with the columns `id` and `x`.
    fn id_x(dir: &Path, name: &str, id: ArrayRef, x: ArrayRef) -> PathBuf {
        write_parquet(dir, name, vec![("id", id), ("x", x)])
    }

    #[test]
    fn rows_and_row_groups_come_from_the_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |name: &str, n: i64, group: usize| {
            let path = dir.path().join(name);
            let b = batch(vec![("id", i64s((0..n).collect::<Vec<_>>())), ("x", f64s(vec![1.0; n as usize]))]);
            write_batch(&path, &b, Some(group), None);
            path
        };
        let paths = vec![mk("a.parquet", 10, 4), mk("b.parquet", 3, 4)];
        let plans = plan_files(&paths, &opts()).unwrap();
        assert_eq!((plans[0].rows, &plans[0].row_groups[..]), (10, &[4, 4, 2][..]));
        assert_eq!((plans[1].rows, &plans[1].row_groups[..]), (3, &[3][..]));
        assert_eq!(plans[1].path, paths[1]);
    }

    #[test]
    fn the_default_selection_leaves_out_the_derived_columns_it_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "cust.parquet",
            vec![
                ("customer_id", ids3()),
                ("recency_days", i32s(vec![5, 40, 300])),
                ("r_score", Arc::new(UInt8Array::from(vec![5, 3, 1]))),
                ("frequency", i64s(vec![7, 3, 1])),
                ("clv", f64s(vec![900.0, 200.0, 10.0])),
            ],
        );
        let sel = DefaultSelection { derived: vec!["clv".into(), "r_score".into()], ..DefaultSelection::default() };
        let p = &plan_files(std::slice::from_ref(&f), &ReadOptions::with_selection(sel.clone())).unwrap()[0];
        assert_eq!(p.feature_names, ["recency_days", "frequency"]);
        assert_eq!(p.derived, ["r_score", "clv"]);
        // Without lists, or with named features, nothing is left out.
        let p = &plan_files(std::slice::from_ref(&f), &defaults()).unwrap()[0];
        assert_eq!((p.feature_names.len(), p.derived.len()), (4, 0));
        let named = ReadOptions { features: Some(vec!["clv".into()]), ..ReadOptions::with_selection(sel) };
        let p = &plan_files(&[f], &named).unwrap()[0];
        assert_eq!(p.feature_names, ["clv"]);
        assert!(p.derived.is_empty());
    }

    /// IDs, the floats `a` and `w`, the strings `s` and the integers `age` and `zip`.
    fn mixed(dir: &Path) -> PathBuf {
        write_parquet(
            dir,
            "a.parquet",
            vec![
                ("id", ids3()),
                ("a", f64s(vec![1.0, 2.0, 3.0])),
                ("w", f64s(vec![1.0, 1.0, 2.0])),
                ("s", strs(vec!["p", "q", "r"])),
                ("age", i32s(vec![30, 40, 50])),
                ("zip", i32s(vec![1, 2, 3])),
            ],
        )
    }

    #[test]
    fn explicit_features_pick_columns_in_the_given_order() {
        let dir = tempfile::tempdir().unwrap();
        let o = ReadOptions { features: Some(vec!["w".into(), "a".into()]), ..opts() };
        let p = &plan_files(&[mixed(dir.path())], &o).unwrap()[0];
        assert_eq!(p.feature_names, ["w", "a"]);
        // Decoded in file order (id, a, w), each feature found at its place in the batch.
        assert_eq!((&p.roots[..], p.id_pos, &p.feature_pos[..], p.weight_pos), (&[0, 1, 2][..], 0, &[2, 1][..], None));
    }

    #[test]
    fn auto_features_skip_id_weight_extra_and_non_numeric_columns() {
        let dir = tempfile::tempdir().unwrap();
        let o =
            ReadOptions { weight: Some("w".into()), extra_columns: vec!["zip".into(), "not-there".into()], ..opts() };
        let p = &plan_files(&[mixed(dir.path())], &o).unwrap()[0];
        assert_eq!(p.feature_names, ["a", "age"]);
        // The text column `s` is decoded too, to check whether its values are all numbers.
        assert_eq!((&p.roots[..], &p.feature_pos[..], p.weight_pos), (&[0, 1, 2, 3, 4][..], &[1, 4][..], Some(2)));
        assert_eq!((&p.text_checks[..], &p.text_pos[..]), (&["s".to_string()][..], &[Some(3)][..]));
        assert!(p.derived.is_empty());
    }

    #[test]
    fn missing_column_lists_the_columns() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(dir.path(), "a.parquet", vec![("cid", ids3()), ("x", f64s(vec![1.0, 2.0, 3.0]))]);
        let e = plan_err(&[f], &defaults());
        assert_has(&e, &["a.parquet: no column 'customer_id'; columns are: cid, x"]);
    }

    #[test]
    fn missing_feature_column_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = ids_and(dir.path(), "a.parquet", ("x", f64s(vec![1.0, 2.0, 3.0])));
        let e = plan_err(&[f], &ReadOptions { features: Some(vec!["x".into(), "spend".into()]), ..opts() });
        assert_has(&e, &["a.parquet", "no column 'spend'"]);
    }

    #[test]
    fn non_numeric_feature_names_column_and_type() {
        let dir = tempfile::tempdir().unwrap();
        let f = ids_and(dir.path(), "a.parquet", ("city", strs(vec!["a", "b", "c"])));
        let e = plan_err(&[f], &ReadOptions { features: Some(vec!["city".into()]), ..opts() });
        assert_has(&e, &["a.parquet", "'city'", "Utf8", "not numeric"]);
    }

    #[test]
    fn no_feature_columns_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = ids_and(dir.path(), "a.parquet", ("city", strs(vec!["a", "b", "c"])));
        let e = plan_err(&[f], &opts());
        assert_has(&e, &["a.parquet", "no numeric feature columns", "city (Utf8)"]);
    }

    #[test]
    fn bad_id_type_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = id_x(dir.path(), "a.parquet", f64s(vec![1.0, 2.0, 3.0]), f64s(vec![1.0, 2.0, 3.0]));
        let e = plan_err(&[f], &opts());
        assert_has(&e, &["a.parquet", "id column 'id'", "Float64"]);
    }

    #[test]
    fn files_must_agree_on_id_type() {
        let dir = tempfile::tempdir().unwrap();
        let a = ids_and(dir.path(), "a.parquet", ("x", f64s(vec![1.0, 2.0, 3.0])));
        let b = id_x(dir.path(), "b.parquet", strs(vec!["4"]), f64s(vec![1.0]));
        let e = plan_err(&[a, b], &opts());
        assert_has(&e, &["b.parquet", "id column 'id'", "Utf8", "Int64", "a.parquet"]);
    }

    #[test]
    fn files_must_agree_on_feature_columns() {
        let dir = tempfile::tempdir().unwrap();
        let a = ids_and(dir.path(), "a.parquet", ("x", f64s(vec![1.0, 2.0, 3.0])));
        let b = write_parquet(
            dir.path(),
            "b.parquet",
            vec![("id", i64s(vec![4])), ("x", f64s(vec![1.0])), ("y", f64s(vec![1.0]))],
        );
        let c = write_parquet(dir.path(), "c.parquet", vec![("id", i64s(vec![5])), ("z", f64s(vec![1.0]))]);
        let d = id_x(dir.path(), "d.parquet", i64s(vec![6]), strs(vec!["1"]));
        assert_has(&plan_err(&[a.clone(), b], &opts()), &["b.parquet", "'y'", "a.parquet"]);
        assert_has(&plan_err(&[a.clone(), c], &opts()), &["c.parquet", "no column 'x'"]);
        assert_has(&plan_err(&[a, d], &opts()), &["d.parquet", "'x'", "Utf8"]);
    }

    #[test]
    fn non_numeric_weight_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "a.parquet",
            vec![("id", ids3()), ("x", f64s(vec![1.0, 2.0, 3.0])), ("w", strs(vec!["1", "2", "3"]))],
        );
        let e = plan_err(&[f], &ReadOptions { weight: Some("w".into()), ..opts() });
        assert_has(&e, &["a.parquet", "weight column 'w'", "Utf8"]);
    }
}
