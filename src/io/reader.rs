//! Reads customers from Parquet into one contiguous row-major `f32` feature matrix, plus their IDs and weights.
//!
//! Only the needed columns are decoded (a [`ProjectionMask`]). Every row group of every file is decoded in
//! parallel, batch by batch, straight into its own rows of one buffer pre-sized from the files' metadata (a row
//! group's offset is known before decoding): no per-row allocation and no second copy of the matrix; counts and
//! IDs are merged in file and row-group order, so the result and the first error reported do not depend on the
//! thread count. Every problem with the files or the data is a one-line [`Error`] naming the file, the column and
//! the count; a panic inside the Parquet decoder (corrupt files) is caught and reported the same way.

use std::cell::Cell;
use std::collections::HashSet;
use std::fs::File;
use std::hash::Hash;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Decimal128Type, Decimal256Type, Decimal32Type, Decimal64Type, Float16Type,
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, Schema, UInt16Type, UInt32Type, UInt64Type,
    UInt8Type,
};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

use super::select::{self, SkipReason};
use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// What to do with a missing feature value: null, NaN or ±infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Missing {
    /// Refuse the data, naming the first column with missing values and how many (the default).
    #[default]
    Fail,
    /// Drop every row that has a missing value in any feature column.
    Drop,
    /// Replace a missing value with the mean of that column's valid values.
    Mean,
}

/// Which columns to read and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// The customer ID column: any integer or string type. Default `customer_id`.
    pub id_column: String,
    /// The feature columns, in this order. `None`: every numeric column except the ID column, the weight
    /// column and `extra_columns`, in file order, less the derived and null-by-design columns of a features
    /// file that [`select`] leaves out.
    pub features: Option<Vec<String>>,
    /// Columns never taken as features when `features` is `None` (for instance columns the caller reads for
    /// something else). They need not exist.
    pub extra_columns: Vec<String>,
    /// A sample-weight column: numeric, finite, `>= 0`, not all zero.
    pub weight: Option<String>,
    pub missing: Missing,
    /// Rows per decoded record batch. Default 65536.
    pub batch_size: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            id_column: "customer_id".into(),
            features: None,
            extra_columns: Vec::new(),
            weight: None,
            missing: Missing::Fail,
            batch_size: 65536,
        }
    }
}

/// The customers read from one or more Parquet files.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    pub sources: Vec<PathBuf>,
    pub id_name: String,
    /// The ID column concatenated over the files, in its original Arrow type (a dictionary is decoded to its
    /// value type), with dropped rows removed. Never null, never duplicated.
    pub ids: ArrayRef,
    pub feature_names: Vec<String>,
    /// `n × d`, row-major, every value finite.
    pub x: Matrix,
    pub weights: Option<Vec<f32>>,
    pub report: ReadReport,
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

/// [`read_features`], calling `planned(feature_names, rows)` once every file's metadata has been read and before
/// any data is decoded, so that work which needs only the shape (opening the GPU) can start beside the decoding,
/// and flags that name features can be checked first; an error from `planned` ends the read and is returned. The
/// features are those selected from the schema; the default selection may still leave out columns with missing
/// values after decoding.
pub fn read_features_with(
    paths: &[PathBuf],
    opts: &ReadOptions,
    planned: impl FnOnce(&[String], usize) -> Result<()>,
) -> Result<FeatureTable> {
    check_options(paths, opts)?;

    // Pass 1: metadata and schema of every file, so the matrix can be allocated once at its final size.
    let mut plans: Vec<FilePlan> = Vec::with_capacity(paths.len());
    for path in paths {
        let meta = load_metadata(path)?;
        let plan = plan_file(path, meta, opts, plans.first())?;
        plans.push(plan);
    }
    let first = &plans[0];
    let mut feature_names = first.feature_names.clone();
    let derived = first.derived.clone();
    let d = feature_names.len();
    let total_rows: usize = plans.iter().map(|p| p.rows).sum();
    if total_rows == 0 {
        return Err(Error::Data(format!("no rows in {}", file_list(paths))));
    }
    planned(&feature_names, total_rows)?;
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

    // Pass 2: every row group of every file is decoded in parallel, straight into its own rows of the matrix
    // (their offsets are known from the metadata); results are merged in file and row-group order.
    let units: Vec<(usize, usize, usize)> = plans
        .iter()
        .enumerate()
        .flat_map(|(f, plan)| plan.row_groups.iter().enumerate().map(move |(g, &rows)| (f, g, rows)))
        .collect();
    let mut slices: Vec<(&mut [f32], Option<&mut [f32]>)> = Vec::with_capacity(units.len());
    {
        let (mut rest, mut wrest) = (&mut data[..], weights.as_deref_mut());
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
    let mut counts: Vec<FileCounts> = plans
        .iter()
        .map(|_| FileCounts { nulls: vec![0; d], non_finite: vec![0; d], ..FileCounts::default() })
        .collect();
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
    drop(id_parts);
    let mut x = Matrix::from_vec(data, total_rows, d);

    check_ids(&ids, &opts.id_column, paths, &counts)?;
    if let (Some(w), Some(name)) = (&weights, &opts.weight) {
        check_weights(w, name, paths, &counts)?;
    }

    let mut report = ReadReport { rows_read: total_rows, ..ReadReport::default() };
    if !derived.is_empty() {
        tracing::info!("{}", select::derived_message(&derived));
        report.skipped.extend(derived.into_iter().map(|c| (c, SkipReason::Derived)));
    }
    // The default selection's second rule needs the counts of missing values, so it applies after decoding.
    if opts.features.is_none() {
        let nulls: Vec<usize> = (0..d).map(|j| counts.iter().map(|c| c.nulls[j]).sum()).collect();
        let non_finite: Vec<usize> = (0..d).map(|j| counts.iter().map(|c| c.non_finite[j]).sum()).collect();
        let skips = select::missing_skips(&feature_names, &nulls, &non_finite, opts.missing);
        if skips.iter().any(Option::is_some) {
            for (j, reason) in skips.iter().enumerate() {
                if let Some(reason) = *reason {
                    let files = files_where(paths, &counts, |c| c.nulls[j] + c.non_finite[j]);
                    tracing::info!("{}", select::missing_message(&feature_names[j], reason, &files));
                    report.skipped.push((feature_names[j].clone(), reason));
                }
            }
            let keep: Vec<bool> = skips.iter().map(Option::is_none).collect();
            x.retain_columns(&keep);
            retain(&mut feature_names, &keep);
            for c in &mut counts {
                retain(&mut c.nulls, &keep);
                retain(&mut c.non_finite, &keep);
            }
        }
    }
    let d = x.d();
    let mut ids = ids;
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
                let mask = BooleanArray::from(keep);
                ids = arrow::compute::filter(&ids, &mask)
                    .map_err(|e| Error::Data(format!("cannot filter id column '{}': {e}", opts.id_column)))?;
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
    })
}

/// Checks the options that do not depend on the files.
fn check_options(paths: &[PathBuf], opts: &ReadOptions) -> Result<()> {
    if paths.is_empty() {
        return Err(Error::Usage("no input files".into()));
    }
    if opts.batch_size == 0 {
        return Err(Error::Usage("batch size must be at least 1".into()));
    }
    if opts.id_column.is_empty() {
        return Err(Error::Usage("the id column name is empty".into()));
    }
    if opts.weight.as_deref() == Some(opts.id_column.as_str()) {
        return Err(Error::Usage(format!("column '{}' cannot be both the id and the weight column", opts.id_column)));
    }
    if let Some(features) = &opts.features {
        if features.is_empty() {
            return Err(Error::Usage("the feature column list is empty".into()));
        }
        let mut seen = HashSet::new();
        for f in features {
            if !seen.insert(f.as_str()) {
                return Err(Error::Usage(format!("feature column '{f}' is listed twice")));
            }
            if *f == opts.id_column {
                return Err(Error::Usage(format!("column '{f}' cannot be both the id column and a feature")));
            }
            if opts.weight.as_deref() == Some(f.as_str()) {
                return Err(Error::Usage(format!("column '{f}' cannot be both the weight column and a feature")));
            }
        }
    }
    Ok(())
}

/// One input file after its metadata was read and its schema checked.
struct FilePlan {
    path: PathBuf,
    meta: ArrowReaderMetadata,
    /// Rows declared by the row groups' metadata, in all and per row group.
    rows: usize,
    row_groups: Vec<usize>,
    /// Root column indices to decode, ascending (this is also their order in each record batch).
    roots: Vec<usize>,
    /// Position in the record batch of the ID column, each feature (in `feature_names` order) and the weight.
    id_pos: usize,
    feature_pos: Vec<usize>,
    weight_pos: Option<usize>,
    feature_names: Vec<String>,
    /// Without named features: the numeric columns left out as derived (select's rule 1), in file order.
    derived: Vec<String>,
    /// The ID type after decoding a dictionary.
    id_type: DataType,
}

/// Per-file counts gathered while decoding.
#[derive(Debug, Clone, Default)]
struct FileCounts {
    id_nulls: usize,
    /// Per feature: nulls, and non-null NaN/±inf values.
    nulls: Vec<usize>,
    non_finite: Vec<usize>,
    weight_nulls: usize,
    weight_non_finite: usize,
}

impl FileCounts {
    fn add(&mut self, o: &FileCounts) {
        self.id_nulls += o.id_nulls;
        for (a, b) in self.nulls.iter_mut().zip(&o.nulls) {
            *a += b;
        }
        for (a, b) in self.non_finite.iter_mut().zip(&o.non_finite) {
            *a += b;
        }
        self.weight_nulls += o.weight_nulls;
        self.weight_non_finite += o.weight_non_finite;
    }
}

/// The one-line error for a file that is not (readable) Parquet.
pub(crate) fn not_parquet(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::input(path, format!("not a readable Parquet file: {reason}"))
}

/// Reads a Parquet footer, with decoder panics turned into errors and folders refused.
pub(crate) fn load_metadata(path: &Path) -> Result<ArrowReaderMetadata> {
    if path.is_dir() {
        return Err(Error::input(path, "is a folder, not a Parquet file"));
    }
    let file = File::open(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
    let meta = guarded(path, || {
        ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| not_parquet(path, e))
    })?;
    Ok(meta)
}

/// Finds the columns of `opts` in this file and checks their types (and, after the first file, that they agree
/// with `first`).
fn plan_file(path: &Path, meta: ArrowReaderMetadata, opts: &ReadOptions, first: Option<&FilePlan>) -> Result<FilePlan> {
    let mut rows: usize = 0;
    let mut row_groups = Vec::with_capacity(meta.metadata().num_row_groups());
    for rg in meta.metadata().row_groups() {
        let n = usize::try_from(rg.num_rows())
            .map_err(|_| not_parquet(path, format!("a row group declares {} rows", rg.num_rows())))?;
        rows = rows.checked_add(n).ok_or_else(|| not_parquet(path, "row counts overflow"))?;
        row_groups.push(n);
    }
    let schema = meta.schema().clone();
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
            let candidates: Vec<usize> = (0..schema.fields().len())
                .filter(|&i| {
                    let f = schema.field(i);
                    i != id_idx
                        && Some(i) != weight_idx
                        && !opts.extra_columns.iter().any(|e| e == f.name())
                        && is_numeric(f.data_type())
                })
                .collect();
            let names: Vec<&str> = candidates.iter().map(|&i| schema.field(i).name().as_str()).collect();
            let (kept, left_out) = select::split_derived(&names);
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

    let mut roots: Vec<usize> = feature_idx.iter().copied().chain([id_idx]).chain(weight_idx).collect();
    roots.sort_unstable();
    roots.dedup();
    let pos = |i: usize| roots.binary_search(&i).expect("column is in the projection");
    let id_pos = pos(id_idx);
    let feature_pos = feature_idx.iter().map(|&i| pos(i)).collect();
    let weight_pos = weight_idx.map(pos);
    Ok(FilePlan {
        path: path.to_path_buf(),
        meta,
        rows,
        row_groups,
        roots,
        id_pos,
        feature_pos,
        weight_pos,
        feature_names,
        derived,
        id_type,
    })
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
    let mut counts = FileCounts { nulls: vec![0; d], non_finite: vec![0; d], ..FileCounts::default() };
    let mut ids = Vec::new();
    decode_row_group(path, &plan.meta, &plan.roots, g, want, opts.batch_size, |batch, at| {
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
        Ok(())
    })?;
    Ok((counts, ids))
}

/// Decodes row group `g` of the file at `path` (metadata `meta`, `want` rows declared), the root columns `roots`, in
/// batches of `batch_size` rows, and gives `each` every batch with the index of its first row in the row group. A
/// decoder panic, a batch with the wrong number of columns, and more or fewer rows than declared are "not a
/// readable Parquet file" errors naming the file.
pub(crate) fn decode_row_group(
    path: &Path,
    meta: &ArrowReaderMetadata,
    roots: &[usize],
    g: usize,
    want: usize,
    batch_size: usize,
    mut each: impl FnMut(&RecordBatch, usize) -> Result<()>,
) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
    guarded(path, || {
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone());
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
        let reader = builder
            .with_projection(mask)
            .with_row_groups(vec![g])
            .with_batch_size(batch_size)
            .build()
            .map_err(|e| not_parquet(path, e))?;
        let mut read = 0usize;
        for batch in reader {
            let batch = batch.map_err(|e| not_parquet(path, e))?;
            if batch.num_columns() != roots.len() {
                return Err(not_parquet(
                    path,
                    format!("expected {} decoded columns, got {}", roots.len(), batch.num_columns()),
                ));
            }
            if read + batch.num_rows() > want {
                return Err(not_parquet(
                    path,
                    format!("row group {g} has more rows than the {want} its metadata declares"),
                ));
            }
            each(&batch, read)?;
            read += batch.num_rows();
        }
        if read != want {
            return Err(not_parquet(path, format!("row group {g} declares {want} rows but {read} were decoded")));
        }
        Ok(())
    })
}

fn column_error(path: &Path, column: &str, m: impl std::fmt::Display) -> Error {
    Error::Data(format!("{}: column '{column}': {m}", path.display()))
}

/// Whether `t` converts to `f32` as a feature or weight.
fn is_numeric(t: &DataType) -> bool {
    use DataType::*;
    match t {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float16 | Float32 | Float64 => true,
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => true,
        Dictionary(_, v) => !matches!(**v, Dictionary(..)) && is_numeric(v),
        _ => false,
    }
}

/// The type IDs of type `t` are kept as (a dictionary is decoded), or `None` if `t` cannot hold IDs.
fn id_value_type(t: &DataType) -> Option<DataType> {
    use DataType::*;
    match t {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Utf8 | LargeUtf8 | Utf8View => {
            Some(t.clone())
        }
        Dictionary(_, v) if !matches!(**v, Dictionary(..)) => id_value_type(v),
        _ => None,
    }
}

/// Writes column `a` into `out` (`rows × st`, row-major) at column `col`, as `f32`; a null becomes NaN.
/// Returns the number of nulls and of non-null values that are NaN or ±infinite (after conversion).
fn write_column(a: &dyn Array, out: &mut [f32], st: usize, col: usize) -> std::result::Result<(usize, usize), String> {
    use DataType::*;
    debug_assert_eq!(out.len(), a.len() * st);
    let written_non_finite = match a.data_type() {
        Int8 => fill(values::<Int8Type>(a), out, st, col, |v| v as f32),
        Int16 => fill(values::<Int16Type>(a), out, st, col, |v| v as f32),
        Int32 => fill(values::<Int32Type>(a), out, st, col, |v| v as f32),
        Int64 => fill(values::<Int64Type>(a), out, st, col, |v| v as f32),
        UInt8 => fill(values::<UInt8Type>(a), out, st, col, |v| v as f32),
        UInt16 => fill(values::<UInt16Type>(a), out, st, col, |v| v as f32),
        UInt32 => fill(values::<UInt32Type>(a), out, st, col, |v| v as f32),
        UInt64 => fill(values::<UInt64Type>(a), out, st, col, |v| v as f32),
        Float16 => fill(values::<Float16Type>(a), out, st, col, |v| v.to_f32()),
        Float32 => fill(values::<Float32Type>(a), out, st, col, |v| v),
        Float64 => fill(values::<Float64Type>(a), out, st, col, |v| v as f32),
        Decimal32(_, s) => {
            let k = scale_factor(*s);
            fill(values::<Decimal32Type>(a), out, st, col, |v| (v as f64 / k) as f32)
        }
        Decimal64(_, s) => {
            let k = scale_factor(*s);
            fill(values::<Decimal64Type>(a), out, st, col, |v| (v as f64 / k) as f32)
        }
        Decimal128(_, s) => {
            let k = scale_factor(*s);
            fill(values::<Decimal128Type>(a), out, st, col, |v| (v as f64 / k) as f32)
        }
        Decimal256(_, s) => {
            let k = scale_factor(*s);
            fill(values::<Decimal256Type>(a), out, st, col, |v| {
                let v = v.to_i128().map(|v| v as f64).unwrap_or_else(|| {
                    // Beyond i128: the high part dominates, so the sum loses nothing that f32 keeps.
                    let (lo, hi) = v.to_parts();
                    hi as f64 * 2f64.powi(128) + lo as f64
                });
                (v / k) as f32
            })
        }
        Dictionary(_, v) => {
            let decoded = arrow::compute::cast(a, v).map_err(|e| e.to_string())?;
            return write_column(decoded.as_ref(), out, st, col);
        }
        t => return Err(format!("type {t} is not numeric")),
    };
    match a.logical_nulls().filter(|n| n.null_count() > 0) {
        // No nulls: the count made while writing is the answer.
        None => Ok((0, written_non_finite)),
        // The values under nulls are unspecified: mark them NaN and count the column again.
        Some(n) => {
            for i in (0..a.len()).filter(|&i| n.is_null(i)) {
                out[i * st + col] = f32::NAN;
            }
            let non_finite = out.iter().skip(col).step_by(st).filter(|v| !v.is_finite()).count();
            Ok((n.null_count(), non_finite - n.null_count()))
        }
    }
}

/// The values of primitive array `a` of type `T` (a null's slot holds an arbitrary value).
fn values<T: ArrowPrimitiveType>(a: &dyn Array) -> &[T::Native] {
    a.as_primitive::<T>().values()
}

/// `10^scale`: a decimal's stored integer divided by this is its value.
fn scale_factor(scale: i8) -> f64 {
    10f64.powi(scale as i32)
}

/// The stride loop: `dst[i * stride + col] = f(values[i])`; returns how many written values are NaN or ±infinite.
#[inline]
fn fill<T: Copy>(values: &[T], dst: &mut [f32], stride: usize, col: usize, f: impl Fn(T) -> f32) -> usize {
    assert!(col < stride);
    let mut non_finite = 0;
    for (row, &v) in dst.chunks_exact_mut(stride).zip(values) {
        let y = f(v);
        row[col] = y;
        non_finite += usize::from(!y.is_finite());
    }
    non_finite
}

fn retain<T>(v: &mut Vec<T>, keep: &[bool]) {
    let mut it = keep.iter();
    v.retain(|_| *it.next().expect("one flag per value"));
}

/// Null and duplicated IDs are errors: the output could not say which customer a segment belongs to.
fn check_ids(ids: &ArrayRef, name: &str, paths: &[PathBuf], counts: &[FileCounts]) -> Result<()> {
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

fn check_weights(w: &[f32], name: &str, paths: &[PathBuf], counts: &[FileCounts]) -> Result<()> {
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
fn check_no_missing(names: &[String], paths: &[PathBuf], counts: &[FileCounts]) -> Result<()> {
    for (j, name) in names.iter().enumerate() {
        let nulls: usize = counts.iter().map(|c| c.nulls[j]).sum();
        let bad: usize = counts.iter().map(|c| c.non_finite[j]).sum();
        if nulls + bad == 0 {
            continue;
        }
        let what = select::missing_counts(nulls, bad);
        let files = files_where(paths, counts, |c| c.nulls[j] + c.non_finite[j]);
        return Err(Error::Data(format!("column '{name}' has {what} (in {files}); use --missing drop|mean")));
    }
    Ok(())
}

/// `Missing::Mean`: replaces each non-finite value by its column's mean of the finite values.
fn impute_means(x: &mut Matrix, names: &[String], paths: &[PathBuf]) -> Result<Vec<(String, usize)>> {
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
fn file_list(paths: &[PathBuf]) -> String {
    const MAX: usize = 5;
    let mut s = paths.iter().take(MAX).map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    if paths.len() > MAX {
        s.push_str(&format!(" and {} more files", paths.len() - MAX));
    }
    s
}

/// The files where `count` is non-zero, as for [`file_list`].
fn files_where(paths: &[PathBuf], counts: &[FileCounts], count: impl Fn(&FileCounts) -> usize) -> String {
    let hit: Vec<PathBuf> = paths.iter().zip(counts).filter(|(_, c)| count(c) > 0).map(|(p, _)| p.clone()).collect();
    file_list(&hit)
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

thread_local! {
    /// Set while this thread runs the Parquet decoder under [`guarded`]: its panics are reported as errors, not printed.
    static QUIET_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic inside the Parquet decoder (some corrupt files trigger one) into a
/// "not a readable Parquet file" error for `path`. The panic message is not printed: a hook installed once
/// stays silent on the threads inside `guarded` and defers to the previous hook everywhere else.
pub(crate) fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    let was = QUIET_PANICS.with(|q| q.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET_PANICS.with(|q| q.set(was));
    match result {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(not_parquet(path, format!("the decoder failed: {msg}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{
        Decimal128Array, Decimal256Array, Decimal32Array, Decimal64Array, DictionaryArray, Float16Array, Float32Array,
        Float64Array, Int16Array, Int32Array, Int64Array, Int8Array, LargeStringArray, StringArray, StringViewArray,
        UInt16Array, UInt32Array, UInt64Array, UInt8Array,
    };
    use arrow::datatypes::i256;
    use arrow::record_batch::RecordBatch;
    use parquet::arrow::ArrowWriter;

    /// Writes `columns` (name, array) as one Parquet file `name` in `dir`.
    fn write(dir: &Path, name: &str, columns: Vec<(&str, ArrayRef)>) -> PathBuf {
        let path = dir.join(name);
        let batch = RecordBatch::try_from_iter(columns.into_iter().map(|(n, a)| (n.to_string(), a))).unwrap();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        path
    }

    /// [`write`] with row groups of at most `group` rows, written in batches of 5 rows.
    fn write_groups(dir: &Path, name: &str, group: usize, columns: Vec<(&str, ArrayRef)>) -> PathBuf {
        let path = dir.join(name);
        let batch = RecordBatch::try_from_iter(columns.into_iter().map(|(n, a)| (n.to_string(), a))).unwrap();
        let props =
            parquet::file::properties::WriterProperties::builder().set_max_row_group_row_count(Some(group)).build();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), Some(props)).unwrap();
        for start in (0..batch.num_rows()).step_by(5) {
            w.write(&batch.slice(start, 5.min(batch.num_rows() - start))).unwrap();
        }
        w.close().unwrap();
        path
    }

    fn ids3() -> ArrayRef {
        Arc::new(Int64Array::from(vec![1, 2, 3]))
    }

    fn opts() -> ReadOptions {
        ReadOptions { id_column: "id".into(), ..ReadOptions::default() }
    }

    fn read_err(paths: &[PathBuf], o: &ReadOptions) -> String {
        let e = read_features(paths, o).expect_err("should fail").to_string();
        assert!(!e.contains('\n'), "message is one line: {e}");
        e
    }

    fn assert_has(msg: &str, parts: &[&str]) {
        for p in parts {
            assert!(msg.contains(p), "expected {p:?} in: {msg}");
        }
    }

    #[test]
    fn every_numeric_type_converts_to_f32() {
        let dir = tempfile::tempdir().unwrap();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("id", ids3()),
            ("i8", Arc::new(Int8Array::from(vec![-1, 0, 127]))),
            ("i16", Arc::new(Int16Array::from(vec![-300, 0, 300]))),
            ("i32", Arc::new(Int32Array::from(vec![-70000, 1, 70000]))),
            ("i64", Arc::new(Int64Array::from(vec![-(1 << 40), 2, 1 << 40]))),
            ("u8", Arc::new(UInt8Array::from(vec![0, 1, 255]))),
            ("u16", Arc::new(UInt16Array::from(vec![0, 1, 65535]))),
            ("u32", Arc::new(UInt32Array::from(vec![0, 1, 4_000_000_000]))),
            ("u64", Arc::new(UInt64Array::from(vec![0, 1, 1 << 50]))),
            (
                "f16",
                Arc::new(Float16Array::from(vec![
                    half::f16::from_f32(0.5),
                    half::f16::from_f32(-2.0),
                    half::f16::from_f32(1024.0),
                ])),
            ),
            ("f32", Arc::new(Float32Array::from(vec![0.25, -1.5, 3.0e10]))),
            ("f64", Arc::new(Float64Array::from(vec![0.125, -1e-3, 1e20]))),
            ("d32", Arc::new(Decimal32Array::from(vec![12345, -5, 0]).with_precision_and_scale(9, 2).unwrap())),
            ("d64", Arc::new(Decimal64Array::from(vec![12345, -5, 0]).with_precision_and_scale(18, 3).unwrap())),
            ("d128", Arc::new(Decimal128Array::from(vec![12345, -5, 0]).with_precision_and_scale(30, 1).unwrap())),
            (
                "d256",
                Arc::new(
                    Decimal256Array::from(vec![i256::from_i128(12345), i256::from_i128(-5), i256::from_i128(0)])
                        .with_precision_and_scale(50, 4)
                        .unwrap(),
                ),
            ),
            (
                "dict",
                Arc::new(DictionaryArray::<Int32Type>::new(
                    Int32Array::from(vec![1, 0, 1]),
                    Arc::new(Float64Array::from(vec![7.5, -8.0])),
                )),
            ),
        ];
        let f = write(dir.path(), "types.parquet", cols);
        let t = read_features(&[f], &opts()).unwrap();
        assert_eq!(
            t.feature_names,
            [
                "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f16", "f32", "f64", "d32", "d64", "d128",
                "d256", "dict"
            ]
        );
        assert_eq!((t.x.n(), t.x.d()), (3, 16));
        let expect: [[f32; 16]; 3] = [
            [
                -1.0,
                -300.0,
                -70000.0,
                -((1u64 << 40) as f32),
                0.0,
                0.0,
                0.0,
                0.0,
                0.5,
                0.25,
                0.125,
                123.45,
                12.345,
                1234.5,
                1.2345,
                -8.0,
            ],
            [0.0, 0.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0, -2.0, -1.5, -1e-3, -0.05, -0.005, -0.5, -0.0005, 7.5],
            [
                127.0,
                300.0,
                70000.0,
                (1u64 << 40) as f32,
                255.0,
                65535.0,
                4.0e9,
                (1u64 << 50) as f32,
                1024.0,
                3.0e10,
                1e20,
                0.0,
                0.0,
                0.0,
                0.0,
                -8.0,
            ],
        ];
        for (i, row) in expect.iter().enumerate() {
            for (j, &e) in row.iter().enumerate() {
                let got = t.x.row(i)[j];
                assert!(
                    (got - e).abs() <= 1e-6 * e.abs().max(1.0),
                    "row {i} column {}: expected {e}, got {got}",
                    t.feature_names[j]
                );
            }
        }
    }

    #[test]
    fn negative_decimal_scale_multiplies() {
        assert_eq!(scale_factor(-2), 0.01);
        let a = Decimal128Array::from(vec![7]).with_precision_and_scale(10, -2).unwrap();
        let mut dst = [0f32; 1];
        write_column(&a, &mut dst, 1, 0).unwrap();
        assert_eq!(dst[0], 700.0);
    }

    #[test]
    fn string_ids_keep_their_type() {
        let dir = tempfile::tempdir().unwrap();
        for (name, ids) in [
            ("utf8", Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef),
            ("large", Arc::new(LargeStringArray::from(vec!["a", "b", "c"])) as ArrayRef),
            ("view", Arc::new(StringViewArray::from(vec!["a", "b", "c"])) as ArrayRef),
        ] {
            let f = write(
                dir.path(),
                &format!("{name}.parquet"),
                vec![("id", ids.clone()), ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])))],
            );
            let t = read_features(&[f], &opts()).unwrap();
            assert_eq!(t.ids.data_type(), ids.data_type(), "{name}");
            assert_eq!(&t.ids, &ids, "{name}");
            assert_eq!(t.id_name, "id");
        }
    }

    #[test]
    fn dictionary_string_ids_are_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let ids = DictionaryArray::<Int32Type>::new(
            Int32Array::from(vec![2, 0, 1]),
            Arc::new(StringArray::from(vec!["x", "y", "z"])),
        );
        let f = write(
            dir.path(),
            "d.parquet",
            vec![("id", Arc::new(ids)), ("v", Arc::new(Float32Array::from(vec![1.0, 2.0, 3.0])))],
        );
        let t = read_features(&[f], &opts()).unwrap();
        assert_eq!(t.ids.as_string::<i32>().iter().flatten().collect::<Vec<_>>(), ["z", "x", "y"]);
    }

    #[test]
    fn integer_ids_keep_their_type() {
        let dir = tempfile::tempdir().unwrap();
        let ids: ArrayRef = Arc::new(UInt32Array::from(vec![10, 20, 30]));
        let f = write(
            dir.path(),
            "u.parquet",
            vec![("id", ids.clone()), ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])))],
        );
        let t = read_features(&[f], &opts()).unwrap();
        assert_eq!(&t.ids, &ids);
    }

    #[test]
    fn files_concatenate_in_order_with_small_batches() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.parquet",
            vec![
                ("id", Arc::new(Int64Array::from(vec![1, 2, 3]))),
                ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
                ("y", Arc::new(Int32Array::from(vec![10, 20, 30]))),
            ],
        );
        // Other column order and other numeric types in the second file: matched by name.
        let b = write(
            dir.path(),
            "b.parquet",
            vec![
                ("y", Arc::new(Int64Array::from(vec![40, 50]))),
                ("id", Arc::new(Int64Array::from(vec![4, 5]))),
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
    fn explicit_features_pick_columns_in_the_given_order() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "a.parquet",
            vec![
                ("id", ids3()),
                ("a", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
                ("b", Arc::new(Float64Array::from(vec![4.0, 5.0, 6.0]))),
                ("s", Arc::new(StringArray::from(vec!["p", "q", "r"]))),
            ],
        );
        let o = ReadOptions { features: Some(vec!["b".into(), "a".into()]), ..opts() };
        let t = read_features(&[f], &o).unwrap();
        assert_eq!(t.feature_names, ["b", "a"]);
        assert_eq!(t.x.row(0), &[4.0, 1.0]);
    }

    #[test]
    fn auto_features_skip_id_weight_extra_and_non_numeric_columns() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "a.parquet",
            vec![
                ("id", ids3()),
                ("a", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
                ("w", Arc::new(Float64Array::from(vec![1.0, 1.0, 2.0]))),
                ("s", Arc::new(StringArray::from(vec!["p", "q", "r"]))),
                ("age", Arc::new(Int32Array::from(vec![30, 40, 50]))),
                ("zip", Arc::new(Int32Array::from(vec![1, 2, 3]))),
            ],
        );
        let o =
            ReadOptions { weight: Some("w".into()), extra_columns: vec!["zip".into(), "not-there".into()], ..opts() };
        let t = read_features(&[f], &o).unwrap();
        assert_eq!(t.feature_names, ["a", "age"]);
        assert_eq!(t.weights, Some(vec![1.0, 1.0, 2.0]));
    }

    #[test]
    fn not_parquet_is_an_input_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("fake.parquet");
        std::fs::write(&f, b"id,x\n1,2\n").unwrap();
        let e = read_err(std::slice::from_ref(&f), &opts());
        assert_has(&e, &[&f.display().to_string(), "not a readable Parquet file"]);
    }

    #[test]
    fn truncated_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "t.parquet",
            vec![("id", ids3()), ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])))],
        );
        let bytes = std::fs::read(&f).unwrap();
        for cut in [bytes.len() - 3, bytes.len() / 2, 4] {
            std::fs::write(&f, &bytes[..cut]).unwrap();
            let e = read_err(std::slice::from_ref(&f), &opts());
            assert_has(&e, &["t.parquet", "not a readable Parquet file"]);
        }
    }

    #[test]
    fn missing_column_lists_the_columns() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "a.parquet",
            vec![("cid", ids3()), ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])))],
        );
        let e = read_err(&[f], &ReadOptions::default());
        assert_has(&e, &["a.parquet: no column 'customer_id'; columns are: cid, x"]);
    }

    #[test]
    fn missing_feature_column_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "a.parquet",
            vec![("id", ids3()), ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])))],
        );
        let e = read_err(&[f], &ReadOptions { features: Some(vec!["x".into(), "spend".into()]), ..opts() });
        assert_has(&e, &["a.parquet", "no column 'spend'"]);
    }

    #[test]
    fn non_numeric_feature_names_column_and_type() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "a.parquet",
            vec![("id", ids3()), ("city", Arc::new(StringArray::from(vec!["a", "b", "c"])))],
        );
        let e = read_err(&[f], &ReadOptions { features: Some(vec!["city".into()]), ..opts() });
        assert_has(&e, &["a.parquet", "'city'", "Utf8", "not numeric"]);
    }

    #[test]
    fn no_feature_columns_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "a.parquet",
            vec![("id", ids3()), ("city", Arc::new(StringArray::from(vec!["a", "b", "c"])))],
        );
        let e = read_err(&[f], &opts());
        assert_has(&e, &["a.parquet", "no numeric feature columns", "city (Utf8)"]);
    }

    #[test]
    fn zero_rows_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "empty.parquet",
            vec![
                ("id", Arc::new(Int64Array::from(Vec::<i64>::new()))),
                ("x", Arc::new(Float64Array::from(Vec::<f64>::new()))),
            ],
        );
        let e = read_err(&[f], &opts());
        assert_has(&e, &["no rows", "empty.parquet"]);
    }

    #[test]
    fn bad_id_type_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "a.parquet",
            vec![
                ("id", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
                ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
            ],
        );
        let e = read_err(&[f], &opts());
        assert_has(&e, &["a.parquet", "id column 'id'", "Float64"]);
    }

    #[test]
    fn null_ids_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "a.parquet",
            vec![
                ("id", Arc::new(StringArray::from(vec![Some("a"), None, None]))),
                ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
            ],
        );
        let e = read_err(&[f], &opts());
        assert_has(&e, &["id column 'id' has 2 null values", "a.parquet"]);
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
            write_groups(
                dir.path(),
                name,
                group,
                vec![
                    ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
                    ("a", Arc::new(Float64Array::from(a))),
                    ("b", Arc::new(Int32Array::from(b))),
                    ("w", Arc::new(Float32Array::from(w))),
                ],
            )
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
        let t = read_features(&paths, &o).unwrap();
        let want: Vec<i64> = (100..123).chain(500..509).collect();
        assert_eq!(t.ids.as_primitive::<Int64Type>().values().to_vec(), want);
        for (r, &id) in want.iter().enumerate() {
            assert_eq!(t.x.row(r), &[-(id as f32), id as f32 * 0.5], "row {r}");
            assert_eq!(t.weights.as_ref().unwrap()[r], 1.0 + id as f32);
        }
    }

    #[test]
    fn a_missing_value_in_a_later_row_group_names_its_file_and_count() {
        let dir = tempfile::tempdir().unwrap();
        let ok = write_groups(
            dir.path(),
            "ok.parquet",
            2,
            vec![("id", ids3()), ("a", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])) as ArrayRef)],
        );
        let bad = write_groups(
            dir.path(),
            "late.parquet",
            2,
            vec![
                ("id", Arc::new(Int64Array::from(vec![4, 5, 6, 7, 8])) as ArrayRef),
                ("a", Arc::new(Float64Array::from(vec![Some(1.0), Some(2.0), Some(3.0), None, Some(f64::NAN)]))),
            ],
        );
        let o = ReadOptions { features: Some(vec!["a".into()]), ..opts() };
        let e = read_err(&[ok, bad], &o);
        assert_has(&e, &["column 'a' has 1 null values and 1 NaN/infinite values", "late.parquet"]);
        assert!(!e.contains("ok.parquet"), "{e}");
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
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.parquet",
            vec![
                ("id", Arc::new(StringArray::from(vec!["u1", "u2", "u1"]))),
                ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
            ],
        );
        let b = write(
            dir.path(),
            "b.parquet",
            vec![
                ("id", Arc::new(StringArray::from(vec!["u2", "u3"]))),
                ("x", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
            ],
        );
        let e = read_err(&[a, b], &opts());
        assert_has(&e, &["id column 'id' has 2 duplicated rows", "'u1'", "a.parquet", "b.parquet"]);
    }

    #[test]
    fn files_must_agree_on_id_type() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.parquet",
            vec![("id", ids3()), ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])))],
        );
        let b = write(
            dir.path(),
            "b.parquet",
            vec![("id", Arc::new(StringArray::from(vec!["4"]))), ("x", Arc::new(Float64Array::from(vec![1.0])))],
        );
        let e = read_err(&[a, b], &opts());
        assert_has(&e, &["b.parquet", "id column 'id'", "Utf8", "Int64", "a.parquet"]);
    }

    #[test]
    fn files_must_agree_on_feature_columns() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.parquet",
            vec![("id", ids3()), ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])))],
        );
        let b = write(
            dir.path(),
            "b.parquet",
            vec![
                ("id", Arc::new(Int64Array::from(vec![4]))),
                ("x", Arc::new(Float64Array::from(vec![1.0]))),
                ("y", Arc::new(Float64Array::from(vec![1.0]))),
            ],
        );
        let c = write(
            dir.path(),
            "c.parquet",
            vec![("id", Arc::new(Int64Array::from(vec![5]))), ("z", Arc::new(Float64Array::from(vec![1.0])))],
        );
        let d = write(
            dir.path(),
            "d.parquet",
            vec![("id", Arc::new(Int64Array::from(vec![6]))), ("x", Arc::new(StringArray::from(vec!["1"])))],
        );
        assert_has(&read_err(&[a.clone(), b], &opts()), &["b.parquet", "'y'", "a.parquet"]);
        assert_has(&read_err(&[a.clone(), c], &opts()), &["c.parquet", "no column 'x'"]);
        assert_has(&read_err(&[a, d], &opts()), &["d.parquet", "'x'", "Utf8"]);
    }

    fn with_gaps(dir: &Path) -> PathBuf {
        write(
            dir,
            "gaps.parquet",
            vec![
                ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4]))),
                ("a", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 6.0]))),
                ("b", Arc::new(Float64Array::from(vec![Some(1.0), None, Some(f64::NAN), Some(5.0)]))),
                ("c", Arc::new(Float32Array::from(vec![Some(f32::INFINITY), None, None, Some(2.0)]))),
            ],
        )
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
        let a = write(
            dir.path(),
            "a.parquet",
            vec![
                ("id", Arc::new(Int64Array::from(vec![1, 2]))),
                ("x", Arc::new(Float64Array::from(vec![Some(1.0), Some(f64::NAN)]))),
            ],
        );
        let b = write(
            dir.path(),
            "b.parquet",
            vec![("id", Arc::new(Int64Array::from(vec![3, 4]))), ("x", Arc::new(Float64Array::from(vec![1.0, 2.0])))],
        );
        let c = write(
            dir.path(),
            "c.parquet",
            vec![
                ("id", Arc::new(Int64Array::from(vec![5, 6]))),
                ("x", Arc::new(Float64Array::from(vec![f64::NEG_INFINITY, f64::NAN]))),
            ],
        );
        let e = read_err(&[a, b, c], &opts());
        assert_has(&e, &["column 'x' has 3 NaN/infinite values", "a.parquet", "c.parquet"]);
        assert!(!e.contains("b.parquet"), "{e}");
    }

    #[test]
    fn missing_nulls_only_message() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "n.parquet",
            vec![("id", ids3()), ("spend", Arc::new(Int32Array::from(vec![Some(1), None, None])))],
        );
        let e = read_err(&[f], &opts());
        assert_has(&e, &["column 'spend' has 2 null values (in ", "n.parquet); use --missing drop|mean"]);
    }

    #[test]
    fn missing_drop_removes_rows_ids_and_weights() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "gaps.parquet",
            vec![
                ("id", Arc::new(StringArray::from(vec!["a", "b", "c", "d"]))),
                ("x", Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0), Some(f64::NAN)]))),
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
        let f = write(
            dir.path(),
            "all.parquet",
            vec![("id", ids3()), ("x", Arc::new(Float64Array::from(vec![None, Some(f64::NAN), None])))],
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
        let f = write(
            dir.path(),
            "a.parquet",
            vec![
                ("id", ids3()),
                ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
                ("y", Arc::new(Float64Array::from(vec![None, None, Some(f64::NAN)]))),
            ],
        );
        let e = read_err(&[f], &ReadOptions { missing: Missing::Mean, ..opts() });
        assert_has(&e, &["column 'y'", "no valid values", "3 rows"]);
    }

    fn with_weights(dir: &Path, w: Vec<Option<f64>>) -> PathBuf {
        let n = w.len() as i64;
        write(
            dir,
            "w.parquet",
            vec![
                ("id", Arc::new(Int64Array::from((0..n).collect::<Vec<_>>()))),
                ("x", Arc::new(Float64Array::from(vec![1.0; n as usize]))),
                ("w", Arc::new(Float64Array::from(w))),
            ],
        )
    }

    #[test]
    fn weight_errors_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let o = ReadOptions { weight: Some("w".into()), ..opts() };
        let f = with_weights(dir.path(), vec![Some(1.0), None, None]);
        assert_has(&read_err(&[f], &o), &["weight column 'w' has 2 null values", "w.parquet"]);
        let f = with_weights(dir.path(), vec![Some(f64::NAN), Some(1.0), Some(f64::INFINITY)]);
        assert_has(&read_err(&[f], &o), &["weight column 'w' has 2 NaN/infinite values"]);
        let f = with_weights(dir.path(), vec![Some(-1.0), Some(1.0), Some(-2.0)]);
        assert_has(&read_err(&[f], &o), &["weight column 'w' has 2 negative values"]);
        let f = with_weights(dir.path(), vec![Some(0.0), Some(0.0)]);
        assert_has(&read_err(&[f], &o), &["weight column 'w' is zero for all 2 rows"]);
        let f = with_weights(dir.path(), vec![Some(0.0), Some(2.0)]);
        assert_eq!(read_features(&[f], &o).unwrap().weights, Some(vec![0.0, 2.0]));
    }

    /// A small file shaped like `custseg features`' output: behavioural columns, a derived score and CLV, a
    /// string code, and `days_between_purchases` null for the customer with one purchase day.
    fn features_like(dir: &Path) -> PathBuf {
        write(
            dir,
            "cust.parquet",
            vec![
                ("customer_id", ids3()),
                ("recency_days", Arc::new(Int32Array::from(vec![5, 40, 300]))),
                ("frequency", Arc::new(Int64Array::from(vec![7, 3, 1]))),
                ("days_between_purchases", Arc::new(Float64Array::from(vec![Some(10.0), Some(30.0), None]))),
                ("r_score", Arc::new(UInt8Array::from(vec![5, 3, 1]))),
                ("rfm_code", Arc::new(StringArray::from(vec!["555", "333", "111"]))),
                ("clv", Arc::new(Float64Array::from(vec![900.0, 200.0, 10.0]))),
            ],
        )
    }

    #[test]
    fn default_selection_leaves_out_derived_and_null_by_design_columns_of_a_features_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = features_like(dir.path());
        let t = read_features(&[f], &ReadOptions::default()).unwrap();
        assert_eq!(t.feature_names, ["recency_days", "frequency"]);
        assert_eq!(t.x.as_slice(), &[5.0, 7.0, 40.0, 3.0, 300.0, 1.0]);
        assert_eq!(
            t.report.skipped,
            [
                ("r_score".to_string(), SkipReason::Derived),
                ("clv".to_string(), SkipReason::Derived),
                ("days_between_purchases".to_string(), SkipReason::Missing { nulls: 1, non_finite: 0 }),
            ]
        );
    }

    #[test]
    fn default_selection_keeps_a_null_by_design_column_under_missing_mean() {
        let dir = tempfile::tempdir().unwrap();
        let f = features_like(dir.path());
        let t = read_features(&[f], &ReadOptions { missing: Missing::Mean, ..ReadOptions::default() }).unwrap();
        assert_eq!(t.feature_names, ["recency_days", "frequency", "days_between_purchases"]);
        assert_eq!(t.x.row(2), &[300.0, 1.0, 20.0]);
        assert_eq!(t.report.imputed, [("days_between_purchases".to_string(), 1)]);
        assert_eq!(t.report.skipped.len(), 2);
    }

    #[test]
    fn named_features_are_taken_as_given_even_derived_ones() {
        let dir = tempfile::tempdir().unwrap();
        let f = features_like(dir.path());
        let o = ReadOptions { features: Some(vec!["clv".into(), "r_score".into()]), ..ReadOptions::default() };
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
            ..ReadOptions::default()
        };
        let e = read_err(&[f], &o);
        assert_has(&e, &["column 'days_between_purchases' has 1 null values (in ", "cust.parquet); use --missing"]);
    }

    #[test]
    fn non_numeric_weight_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "a.parquet",
            vec![
                ("id", ids3()),
                ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
                ("w", Arc::new(StringArray::from(vec!["1", "2", "3"]))),
            ],
        );
        let e = read_err(&[f], &ReadOptions { weight: Some("w".into()), ..opts() });
        assert_has(&e, &["a.parquet", "weight column 'w'", "Utf8"]);
    }

    #[test]
    fn bad_options_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "a.parquet",
            vec![("id", ids3()), ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])))],
        );
        for o in [
            ReadOptions { batch_size: 0, ..opts() },
            ReadOptions { features: Some(vec![]), ..opts() },
            ReadOptions { features: Some(vec!["x".into(), "x".into()]), ..opts() },
            ReadOptions { features: Some(vec!["id".into()]), ..opts() },
            ReadOptions { weight: Some("x".into()), features: Some(vec!["x".into()]), ..opts() },
        ] {
            let e = read_features(std::slice::from_ref(&f), &o).unwrap_err();
            assert!(e.is_usage(), "{o:?}: {e}");
        }
        assert!(read_features(&[], &opts()).unwrap_err().is_usage());
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
        let f = write(
            dir.path(),
            "a.parquet",
            vec![("id", ids3()), ("tags", Arc::new(list)), ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])))],
        );
        let t = read_features(&[f], &opts()).unwrap();
        assert_eq!(t.feature_names, ["x"]);
        assert_eq!(t.x.as_slice(), &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn panics_in_the_decoder_become_errors() {
        let e = guarded(Path::new("boom.parquet"), || -> Result<()> { panic!("index out of bounds") }).unwrap_err();
        assert_eq!(e.to_string(), "boom.parquet: not a readable Parquet file: the decoder failed: index out of bounds");
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        // Every single-byte corruption of a small file either still reads or is a one-line error naming it.
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "c.parquet",
            vec![
                ("id", Arc::new(StringArray::from(vec!["a", "b", "c"]))),
                ("x", Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)]))),
                ("y", Arc::new(Int32Array::from(vec![4, 5, 6]))),
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
