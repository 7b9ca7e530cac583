//! Transaction files: finding and checking the columns of each file, and turning a decoded record batch's
//! amount, order and category columns into plain vectors.
//!
//! Column types: the customer ID is any integer or string type; the date any type of [`dates`](super::dates);
//! the amount any integer, float or decimal type; the order ID and the category any integer or string type.
//! A dictionary counts as its value type. Across files the customer, date, order and category columns must
//! have the same (value) type; amounts may differ.

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    DataType, Decimal128Type, Decimal256Type, Decimal32Type, Decimal64Type, Float16Type, Float32Type, Float64Type,
    Int16Type, Int32Type, Int64Type, Int8Type, Schema, SchemaRef, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use parquet::arrow::arrow_reader::ArrowReaderMetadata;

use super::dates::is_date_type;
use super::options::TxColumns;
use super::state::value_hash;
use crate::error::{Error, Result};
use crate::io::csv::{infer_schema, is_csv_name};

/// The roles of the columns, in the order of [`TxFile::pos`].
pub const CUSTOMER: usize = 0;
pub const DATE: usize = 1;
pub const AMOUNT: usize = 2;
pub const ORDER: usize = 3;
pub const CATEGORY: usize = 4;
/// The cost or the margin column (`TxColumns::profit`).
pub const PROFIT: usize = 5;
/// The number of roles.
const ROLES: usize = 6;

/// One transaction file after its metadata was read and its columns checked.
pub struct TxFile {
    pub path: PathBuf,
    /// A Parquet file's metadata; `None` for a CSV file.
    pub meta: Option<ArrowReaderMetadata>,
    /// The file's schema (a CSV file's inferred from its first rows, with the `--csv-schema` overrides).
    pub schema: SchemaRef,
    /// Rows of each row group, from the metadata; a CSV file is one unit of unknown rows (`[0]`).
    pub row_groups: Vec<usize>,
    /// Root columns to decode, ascending (their order in each record batch).
    pub roots: Vec<usize>,
    /// For each role (customer, date, amount, order, category): its position in the record batch.
    pub pos: [Option<usize>; ROLES],
    /// For each role: the column's type, a dictionary replaced by its value type.
    pub types: [Option<DataType>; ROLES],
}

pub(crate) use crate::io::parquet::not_parquet;

/// The value type of a dictionary type, or the type itself.
pub fn value_type(t: &DataType) -> &DataType {
    match t {
        DataType::Dictionary(_, v) => value_type(v),
        t => t,
    }
}

fn is_int(t: &DataType) -> bool {
    use DataType::*;
    matches!(t, Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64)
}

fn is_str(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Integer or string, possibly in a dictionary: the types of IDs and categories.
pub fn is_key_type(t: &DataType) -> bool {
    let v = value_type(t);
    is_int(v) || is_str(v)
}

fn is_amount_type(t: &DataType) -> bool {
    use DataType::*;
    matches!(
        value_type(t),
        Int8 | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float16
            | Float32
            | Float64
            | Decimal32(..)
            | Decimal64(..)
            | Decimal128(..)
            | Decimal256(..)
    )
}

/// `a, b, c` (at most 30 named).
fn column_list(schema: &Schema) -> String {
    const MAX: usize = 30;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if names.is_empty() {
        return "(none)".into();
    }
    let mut s = names[..names.len().min(MAX)].join(", ");
    if names.len() > MAX {
        s.push_str(&format!(", ... ({} in all)", names.len()));
    }
    s
}

/// Reads the metadata of every file and checks its columns against `cols` and against the first file.
pub fn plan_files(paths: &[PathBuf], cols: &TxColumns, csv_schema: &[(String, DataType)]) -> Result<Vec<TxFile>> {
    let mut files: Vec<TxFile> = Vec::with_capacity(paths.len());
    for path in paths {
        let file = plan_file(path, cols, csv_schema)?;
        if let Some(first) = files.first() {
            check_same_types(first, &file, cols)?;
        }
        files.push(file);
    }
    Ok(files)
}

fn role_names(cols: &TxColumns) -> [Option<&str>; ROLES] {
    [
        Some(cols.customer.as_str()),
        Some(cols.date.as_str()),
        Some(cols.amount.as_str()),
        cols.order.as_deref(),
        cols.category.as_deref(),
        cols.profit(),
    ]
}

const ROLE_LABELS: [&str; ROLES] = ["customer", "date", "amount", "order", "category", "cost or margin"];

fn plan_file(path: &Path, cols: &TxColumns, csv_schema: &[(String, DataType)]) -> Result<TxFile> {
    let (meta, schema, row_groups) = if is_csv_name(path) {
        // A CSV date is read as text unless `--csv-schema` says otherwise, so that it counts on the day as written:
        // inference would turn "2025-06-17 18:50:44-0500" into a UTC instant, a day later in the evening.
        let mut overrides = csv_schema.to_vec();
        if !overrides.iter().any(|(c, _)| *c == cols.date) {
            overrides.push((cols.date.clone(), DataType::Utf8));
        }
        (None, infer_schema(path, &overrides)?, vec![0])
    } else {
        let meta = crate::io::parquet::load_metadata(path)?;
        let mut row_groups = Vec::new();
        for rg in meta.metadata().row_groups() {
            row_groups.push(
                usize::try_from(rg.num_rows())
                    .map_err(|_| not_parquet(path, format!("a row group declares {} rows", rg.num_rows())))?,
            );
        }
        let schema = meta.schema().clone();
        (Some(meta), schema, row_groups)
    };
    let names = role_names(cols);
    let mut idx: [Option<usize>; ROLES] = [None; ROLES];
    let mut missing = Vec::new();
    for (role, name) in names.iter().enumerate() {
        if let Some(name) = name {
            match schema.fields().iter().position(|f| f.name() == name) {
                Some(i) => idx[role] = Some(i),
                None => missing.push(format!("'{name}'")),
            }
        }
    }
    if !missing.is_empty() {
        return Err(Error::Data(format!(
            "{}: no column{} {}; columns are: {}",
            path.display(),
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            column_list(&schema)
        )));
    }
    let mut types: [Option<DataType>; ROLES] = Default::default();
    for role in 0..ROLES {
        let Some(i) = idx[role] else { continue };
        let t = schema.field(i).data_type();
        let ok = match role {
            CUSTOMER | ORDER | CATEGORY => is_key_type(t),
            DATE => is_date_type(t),
            _ => is_amount_type(t),
        };
        if !ok {
            let want = match role {
                CUSTOMER | ORDER => "integers or strings",
                CATEGORY => "integers or strings",
                DATE => "a date, a timestamp, ISO date strings or YYYYMMDD integers",
                _ => "numbers",
            };
            return Err(Error::Data(format!(
                "{}: {} column '{}' has type {t}; it must hold {want}",
                path.display(),
                ROLE_LABELS[role],
                names[role].unwrap_or_default()
            )));
        }
        types[role] = Some(value_type(t).clone());
    }
    let mut roots: Vec<usize> = idx.iter().flatten().copied().collect();
    roots.sort_unstable();
    roots.dedup();
    let pos = idx.map(|i| i.map(|i| roots.binary_search(&i).expect("column is projected")));
    Ok(TxFile { path: path.to_path_buf(), meta, schema, row_groups, roots, pos, types })
}

/// The customer, date, order and category columns must have the same type in every file.
fn check_same_types(first: &TxFile, f: &TxFile, cols: &TxColumns) -> Result<()> {
    let names = role_names(cols);
    for role in [CUSTOMER, DATE, ORDER, CATEGORY] {
        if let (Some(a), Some(b)) = (&first.types[role], &f.types[role]) {
            if a != b {
                return Err(Error::Data(format!(
                    "{} column '{}' has type {b} in {} but {a} in {}; all files must agree",
                    ROLE_LABELS[role],
                    names[role].unwrap_or_default(),
                    f.path.display(),
                    first.path.display()
                )));
            }
        }
    }
    Ok(())
}

/// An amount column as `f64`, and which values are usable (not null, finite).
pub fn amounts(a: &dyn Array) -> std::result::Result<(Vec<f64>, Vec<bool>), String> {
    use DataType::*;
    fn conv<T: arrow::datatypes::ArrowPrimitiveType>(a: &dyn Array, f: impl Fn(T::Native) -> f64) -> Vec<f64> {
        a.as_primitive::<T>().values().iter().map(|&v| f(v)).collect()
    }
    let scale = |s: i8| 10f64.powi(s as i32);
    let v: Vec<f64> = match a.data_type() {
        Int8 => conv::<Int8Type>(a, |v| v as f64),
        Int16 => conv::<Int16Type>(a, |v| v as f64),
        Int32 => conv::<Int32Type>(a, |v| v as f64),
        Int64 => conv::<Int64Type>(a, |v| v as f64),
        UInt8 => conv::<UInt8Type>(a, |v| v as f64),
        UInt16 => conv::<UInt16Type>(a, |v| v as f64),
        UInt32 => conv::<UInt32Type>(a, |v| v as f64),
        UInt64 => conv::<UInt64Type>(a, |v| v as f64),
        Float16 => conv::<Float16Type>(a, |v| v.to_f64()),
        Float32 => conv::<Float32Type>(a, |v| v as f64),
        Float64 => a.as_primitive::<Float64Type>().values().to_vec(),
        Decimal32(_, s) => {
            let k = scale(*s);
            conv::<Decimal32Type>(a, |v| v as f64 / k)
        }
        Decimal64(_, s) => {
            let k = scale(*s);
            conv::<Decimal64Type>(a, |v| v as f64 / k)
        }
        Decimal128(_, s) => {
            let k = scale(*s);
            conv::<Decimal128Type>(a, |v| v as f64 / k)
        }
        Decimal256(_, s) => {
            let k = scale(*s);
            conv::<Decimal256Type>(a, |v| v.to_i128().map(|v| v as f64).unwrap_or(f64::NAN) / k)
        }
        Dictionary(_, v) => {
            let decoded = arrow::compute::cast(a, v).map_err(|e| e.to_string())?;
            return amounts(decoded.as_ref());
        }
        t => return Err(format!("type {t} is not numeric")),
    };
    let nulls = a.logical_nulls();
    let ok =
        v.iter().enumerate().map(|(i, x)| x.is_finite() && !nulls.as_ref().is_some_and(|n| n.is_null(i))).collect();
    Ok((v, ok))
}

/// An order or category column as 64-bit values: integers as themselves (sign-extended), strings as
/// [`value_hash`]; with the column's nulls.
pub fn key_values(a: &dyn Array) -> std::result::Result<(Vec<u64>, Option<NullBuffer>), String> {
    use DataType::*;
    fn ints<T: arrow::datatypes::ArrowPrimitiveType>(a: &dyn Array, f: impl Fn(T::Native) -> u64) -> Vec<u64> {
        a.as_primitive::<T>().values().iter().map(|&v| f(v)).collect()
    }
    let v: Vec<u64> = match a.data_type() {
        Int8 => ints::<Int8Type>(a, |v| v as i64 as u64),
        Int16 => ints::<Int16Type>(a, |v| v as i64 as u64),
        Int32 => ints::<Int32Type>(a, |v| v as i64 as u64),
        Int64 => ints::<Int64Type>(a, |v| v as u64),
        UInt8 => ints::<UInt8Type>(a, |v| v as u64),
        UInt16 => ints::<UInt16Type>(a, |v| v as u64),
        UInt32 => ints::<UInt32Type>(a, |v| v as u64),
        UInt64 => ints::<UInt64Type>(a, |v| v),
        Utf8 => a.as_string::<i32>().iter().map(|s| s.map_or(0, |s| value_hash(s.as_bytes()))).collect(),
        LargeUtf8 => a.as_string::<i64>().iter().map(|s| s.map_or(0, |s| value_hash(s.as_bytes()))).collect(),
        Utf8View => a.as_string_view().iter().map(|s| s.map_or(0, |s| value_hash(s.as_bytes()))).collect(),
        Dictionary(_, _) => {
            // Each distinct value once, then the rows by key.
            let dict = a.as_any_dictionary();
            let (values, _) = key_values(dict.values().as_ref())?;
            if values.is_empty() {
                vec![0; a.len()]
            } else {
                dict.normalized_keys().into_iter().map(|k| values[k]).collect()
            }
        }
        t => return Err(format!("type {t} is not an integer or string type")),
    };
    Ok((v, a.logical_nulls()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{
        Decimal128Array, DictionaryArray, Float32Array, Float64Array, Int16Array, Int64Array, StringArray, UInt64Array,
    };

    use super::super::testing::{assert_has, f64s, small};
    use crate::test_util::write_parquet;

    /// The error of planning `paths` with `cols`, checked to be one line.
    fn plan_err(paths: &[PathBuf], cols: &TxColumns) -> String {
        let e = plan_files(paths, cols, &[]).err().expect("an error").to_string();
        assert!(!e.contains('\n'), "one line: {e}");
        e
    }

    #[test]
    fn missing_columns_are_listed_with_the_columns_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "m.parquet",
            vec![("cust", Arc::new(Int64Array::from(vec![1]))), ("amount", f64s(vec![1.0]))],
        );
        let cols = TxColumns { order: Some("order_id".into()), ..TxColumns::default() };
        let e = plan_err(&[f], &cols);
        assert_has(&e, &["m.parquet: no columns 'customer_id', 'date', 'order_id'; columns are: cust, amount"]);
    }

    #[test]
    fn date_types_differing_between_files_name_both() {
        let dir = tempfile::tempdir().unwrap();
        let a = small(dir.path());
        let b = write_parquet(
            dir.path(),
            "strings.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![9]))),
                ("date", Arc::new(StringArray::from(vec!["2026-10-01"]))),
                ("amount", f64s(vec![1.0])),
            ],
        );
        let e = plan_err(&[a, b], &TxColumns::default());
        assert_has(&e, &["date column 'date' has type Utf8 in ", "strings.parquet but Date32 in ", "tx.parquet"]);
    }

    #[test]
    fn wrong_column_types_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "t.parquet",
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![1]))),
                ("date", Arc::new(Float64Array::from(vec![1.0]))),
                ("amount", Arc::new(StringArray::from(vec!["1"]))),
            ],
        );
        let e = plan_err(&[f], &TxColumns::default());
        assert_has(&e, &["t.parquet: date column 'date' has type Float64"]);
    }

    #[test]
    fn corrupt_or_missing_files_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let f = small(dir.path());
        let mut bytes = std::fs::read(&f).unwrap();
        let n = bytes.len();
        bytes.truncate(n - 10);
        let bad = dir.path().join("cut.parquet");
        std::fs::write(&bad, bytes).unwrap();
        assert_has(&plan_err(&[bad], &TxColumns::default()), &["cut.parquet", "not a readable Parquet file"]);
        let e = plan_err(&[dir.path().join("nope.parquet")], &TxColumns::default());
        assert_has(&e, &["nope.parquet", "cannot open"]);
    }

    #[test]
    fn amounts_of_every_numeric_type() {
        let (v, ok) = amounts(&Int16Array::from(vec![Some(-3), None])).unwrap();
        assert_eq!((v[0], ok), (-3.0, vec![true, false]));
        let (v, ok) = amounts(&Float32Array::from(vec![1.5, f32::NAN, f32::INFINITY])).unwrap();
        assert_eq!((v[0], ok), (1.5, vec![true, false, false]));
        let d = Decimal128Array::from(vec![1999, -250]).with_precision_and_scale(10, 2).unwrap();
        assert_eq!(amounts(&d).unwrap().0, [19.99, -2.5]);
        assert!(amounts(&StringArray::from(vec!["1"])).is_err());
    }

    #[test]
    fn key_values_are_exact_for_integers_and_hashed_for_strings() {
        let (v, nulls) = key_values(&UInt64Array::from(vec![Some(u64::MAX), None])).unwrap();
        assert_eq!(v[0], u64::MAX);
        assert!(nulls.unwrap().is_null(1));
        let (s, _) = key_values(&StringArray::from(vec!["A-1", "A-2", "A-1"])).unwrap();
        assert_eq!(s[0], s[2]);
        assert_ne!(s[0], s[1]);
        let dict: DictionaryArray<Int32Type> = vec![Some("A-2"), None, Some("A-1")].into_iter().collect();
        let (d, nulls) = key_values(&dict).unwrap();
        assert_eq!((d[0], d[2]), (s[1], s[0]));
        assert!(nulls.unwrap().is_null(1));
    }
}
