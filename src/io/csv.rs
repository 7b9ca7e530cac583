//! CSV input: which files are CSV (`.csv`, `.csv.gz`), the `--csv-schema` overrides, the schema inferred from a
//! sample of each file's rows, and the sniffing that tells a user their `.parquet` file is really CSV. The rows are
//! decoded by `csv_read`.
//!
//! Parsing is arrow's own CSV reader (`arrow-csv`, arrow's `csv` feature, the version of `arrow`), gzip is `flate2`;
//! nothing here parses a cell by hand. The schema is inferred by arrow from the first [`SAMPLE_ROWS`] rows of each
//! file: integers become `Int64`, other numbers `Float64`, `true`/`false` `Boolean`, ISO dates `Date32`, ISO
//! date-times a `Timestamp`, anything else (and a column empty in the whole sample) `Utf8`. These are the types a
//! Parquet file written by pandas or pyarrow from the same table holds, so the same table read from CSV and from
//! Parquet gives the same matrix and IDs. A value past the sample that does not fit the inferred type is an error
//! naming its file, line and column, with the `--csv-schema` that reads it.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use arrow::csv::reader::Format;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::error::{Error, Result};

/// Rows of each file that arrow reads to infer its column types.
pub const SAMPLE_ROWS: usize = 10_000;

/// Whether `p` names a CSV file: `*.csv` or `*.csv.gz`, in any case.
pub(crate) fn is_csv_name(p: &Path) -> bool {
    let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".csv") || lower.ends_with(".csv.gz")
}

/// Whether `p` names a gzip-compressed CSV file (`*.csv.gz`).
fn is_gzip_name(p: &Path) -> bool {
    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.to_ascii_lowercase().ends_with(".gz"))
}

/// The `--csv-schema` type names and the Arrow type each reads a column as.
const TYPE_NAMES: &[(&str, &str)] = &[
    ("int64", "64-bit integers"),
    ("int32", "32-bit integers"),
    ("float64", "64-bit floats"),
    ("float32", "32-bit floats"),
    ("utf8", "text (also: string, text)"),
    ("bool", "true/false (also: boolean)"),
    ("date", "ISO dates, 2024-03-31 (also: date32)"),
    ("timestamp", "ISO date-times (also: datetime)"),
];

fn type_of(name: &str) -> Option<DataType> {
    Some(match name.to_ascii_lowercase().as_str() {
        "int64" | "i64" | "integer" | "int" => DataType::Int64,
        "int32" | "i32" => DataType::Int32,
        "float64" | "f64" | "double" | "float" => DataType::Float64,
        "float32" | "f32" => DataType::Float32,
        "utf8" | "string" | "text" | "str" => DataType::Utf8,
        "bool" | "boolean" => DataType::Boolean,
        "date" | "date32" => DataType::Date32,
        "timestamp" | "datetime" => DataType::Timestamp(TimeUnit::Microsecond, None),
        _ => return None,
    })
}

/// The `--csv-schema` name of an Arrow type, for messages (`Int64` → `int64`).
pub(crate) fn type_name(t: &DataType) -> String {
    match t {
        DataType::Int64 => "int64".into(),
        DataType::Int32 => "int32".into(),
        DataType::Float64 => "float64".into(),
        DataType::Float32 => "float32".into(),
        DataType::Utf8 => "utf8".into(),
        DataType::Boolean => "bool".into(),
        DataType::Date32 => "date".into(),
        DataType::Timestamp(..) => "timestamp".into(),
        t => t.to_string(),
    }
}

/// Parses `--csv-schema col:type,col:type` into the columns and their types. Each column at most once; the types
/// are those of [`TYPE_NAMES`].
pub fn parse_csv_schema(spec: &str) -> Result<Vec<(String, DataType)>> {
    let mut out: Vec<(String, DataType)> = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((col, ty)) = item.rsplit_once(':') else {
            return Err(Error::Usage(format!("--csv-schema: '{item}' is not column:type, e.g. spend:float64")));
        };
        let col = col.trim();
        if col.is_empty() {
            return Err(Error::Usage(format!("--csv-schema: '{item}' has no column name")));
        }
        let Some(t) = type_of(ty.trim()) else {
            let known = TYPE_NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
            return Err(Error::Usage(format!(
                "--csv-schema: unknown type '{}' for column '{col}'; types are: {known}",
                ty.trim()
            )));
        };
        if out.iter().any(|(c, _)| c == col) {
            return Err(Error::Usage(format!("--csv-schema: column '{col}' is given twice")));
        }
        out.push((col.to_string(), t));
    }
    if out.is_empty() {
        return Err(Error::Usage("--csv-schema is empty; give column:type pairs, e.g. spend:float64,zip:utf8".into()));
    }
    Ok(out)
}

/// Opens a CSV file for reading, through gzip for `*.gz`.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    if path.is_dir() {
        return Err(Error::input(path, "is a folder, not a CSV file"));
    }
    let file = File::open(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
    let file = BufReader::with_capacity(1 << 20, file);
    Ok(if is_gzip_name(path) { Box::new(flate2::read::MultiGzDecoder::new(file)) } else { Box::new(file) })
}

/// The one-line error for a file that cannot be read as CSV (bad gzip, bad UTF-8, no header...).
pub(crate) fn not_csv(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::input(path, format!("not a readable CSV file: {reason}"))
}

/// The schema of a CSV file: arrow's inference over its first [`SAMPLE_ROWS`] rows, a column empty in the whole
/// sample read as text, then the `overrides` (each must name a column of the file).
pub(crate) fn infer_schema(path: &Path, overrides: &[(String, DataType)]) -> Result<SchemaRef> {
    let reader = open(path)?;
    let (schema, _) = Format::default()
        .with_header(true)
        .infer_schema(reader, Some(SAMPLE_ROWS))
        .map_err(|e| inference_error(path, &e.to_string()))?;
    if schema.fields().is_empty() || (schema.fields().len() == 1 && schema.field(0).name().is_empty()) {
        return Err(not_csv(path, "no header line"));
    }
    let mut fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let t = if f.data_type() == &DataType::Null { DataType::Utf8 } else { f.data_type().clone() };
            // A byte-order mark (files saved as "UTF-8 with BOM") is not part of the first column's name.
            let name = if i == 0 { f.name().trim_start_matches('\u{feff}') } else { f.name().as_str() };
            Field::new(name, t, true)
        })
        .collect();
    for (col, t) in overrides {
        let Some(f) = fields.iter_mut().find(|f| f.name() == col) else {
            let names = fields.iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ");
            return Err(Error::Usage(format!(
                "--csv-schema names '{col}', which is not a column of {}; columns are: {names}",
                path.display()
            )));
        };
        *f = Field::new(col, t.clone(), true);
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// An error of arrow's schema inference (the `csv` crate reads the sample) as one line: a line with the wrong
/// number of fields and a line that is not UTF-8 are named (the crate counts lines from 1, the header's), anything
/// else is "not a readable CSV file".
fn inference_error(path: &Path, msg: &str) -> Error {
    let after = |pat: &str| -> Option<usize> {
        let rest = &msg[msg.find(pat)? + pat.len()..];
        rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len())].parse().ok()
    };
    let line = after("at line ");
    if let (Some(expected), Some(got), Some(line)) = (after("Expected "), after("found "), line) {
        return Error::Usage(format!(
            "{}: line {line} has {got} fields, but the header has {expected}; every line needs one value per column",
            path.display()
        ));
    }
    if let (true, Some(line)) = (msg.contains("UTF-8"), line) {
        return Error::Usage(format!("{}: line {line} is not valid UTF-8; save the file as UTF-8", path.display()));
    }
    not_csv(path, msg)
}

/// Whether the start of a file that failed to open as Parquet looks like CSV text: no Parquet magic, no NUL byte,
/// valid UTF-8 (up to a cut character), and a first line with a comma, semicolon or tab.
pub(crate) fn looks_like_csv(path: &Path) -> bool {
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let mut head = vec![0u8; 4096];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return false,
        }
    }
    let head = &head[..n];
    if head.is_empty() || head.starts_with(b"PAR1") || head.contains(&0) {
        return false;
    }
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
        Err(_) => return false,
    };
    let first = text.lines().next().unwrap_or("");
    first.contains([',', ';', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        if is_gzip_name(&p) {
            let f = File::create(&p).unwrap();
            let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
            gz.write_all(text.as_bytes()).unwrap();
            gz.finish().unwrap();
        } else {
            std::fs::write(&p, text).unwrap();
        }
        p
    }

    #[test]
    fn csv_names_in_any_case() {
        for n in ["a.csv", "b.CSV", "c.csv.gz", "d.Csv.GZ"] {
            assert!(is_csv_name(Path::new(n)), "{n}");
        }
        for n in ["a.parquet", "b.gz", "csv", "c.csvx", "d.tsv"] {
            assert!(!is_csv_name(Path::new(n)), "{n}");
        }
    }

    #[test]
    fn schema_spec_parses_types_and_aliases() {
        let s = parse_csv_schema("spend:float64, zip:utf8,opt_in:boolean,since:date,n:int32").unwrap();
        let got: Vec<(&str, DataType)> = s.iter().map(|(c, t)| (c.as_str(), t.clone())).collect();
        assert_eq!(
            got,
            [
                ("spend", DataType::Float64),
                ("zip", DataType::Utf8),
                ("opt_in", DataType::Boolean),
                ("since", DataType::Date32),
                ("n", DataType::Int32)
            ]
        );
        // A column name may contain a colon: the type is after the last one.
        assert_eq!(parse_csv_schema("a:b:text").unwrap(), [("a:b".to_string(), DataType::Utf8)]);
    }

    #[test]
    fn bad_schema_specs_are_usage_errors_that_say_what_is_wrong() {
        for (spec, needle) in [
            ("spend", "not column:type"),
            (":int64", "no column name"),
            ("spend:money", "unknown type 'money' for column 'spend'; types are: int64,"),
            ("a:int64,a:utf8", "'a' is given twice"),
            (" , ", "is empty"),
        ] {
            let e = parse_csv_schema(spec).unwrap_err();
            assert!(e.is_usage() && e.to_string().contains(needle), "{spec}: {e}");
        }
    }

    #[test]
    fn inferred_types_are_those_a_parquet_file_of_the_same_table_holds() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "a.csv.gz",
            "id,n,x,flag,day,name,empty\n1,2,0.5,true,2024-01-31,ann,\n2,-3,1e3,false,2024-02-01,bob,\n",
        );
        let s = infer_schema(&f, &[]).unwrap();
        let types: Vec<DataType> = s.fields().iter().map(|f| f.data_type().clone()).collect();
        use DataType::*;
        assert_eq!(types, [Int64, Int64, Float64, Boolean, Date32, Utf8, Utf8]);
    }

    #[test]
    fn overrides_replace_inferred_types_and_must_name_a_column() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "a.csv", "id,zip,x\n1,01234,2\n");
        let s = infer_schema(&f, &[("zip".into(), DataType::Utf8), ("x".into(), DataType::Float64)]).unwrap();
        assert_eq!((s.field(1).data_type(), s.field(2).data_type()), (&DataType::Utf8, &DataType::Float64));
        let e = infer_schema(&f, &[("spend".into(), DataType::Float64)]).unwrap_err().to_string();
        assert!(e.contains("--csv-schema names 'spend'") && e.contains("a.csv; columns are: id, zip, x"), "{e}");
    }

    #[test]
    fn only_the_sample_decides_the_type() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("id,x\n");
        for i in 0..SAMPLE_ROWS {
            text.push_str(&format!("{i},{i}\n"));
        }
        text.push_str("99999999,2.5\n");
        let f = write(dir.path(), "late.csv", &text);
        assert_eq!(infer_schema(&f, &[]).unwrap().field(1).data_type(), &DataType::Int64);
    }

    #[test]
    fn a_short_line_in_the_sample_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "short.csv", "id,x,y\n1,2,3\n2,3\n");
        let e = infer_schema(&f, &[]).unwrap_err();
        assert!(e.is_usage(), "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "{}: line 3 has 2 fields, but the header has 3; every line needs one value per column",
                f.display()
            )
        );
    }

    #[test]
    fn a_broken_gzip_file_is_a_one_line_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "bad.csv.gz", "");
        std::fs::write(&f, b"id,x\n1,2\n").unwrap();
        let e = infer_schema(&f, &[]).unwrap_err().to_string();
        assert!(e.contains("bad.csv.gz: not a readable CSV file") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn csv_text_is_recognised_and_parquet_is_not() {
        let dir = tempfile::tempdir().unwrap();
        assert!(looks_like_csv(&write(dir.path(), "a.parquet", "customer_id,spend\n1,2\n")));
        assert!(looks_like_csv(&write(dir.path(), "b.parquet", "id;spend\n1;2\n")));
        assert!(!looks_like_csv(&write(dir.path(), "c.parquet", "PAR1\0\0garbage")));
        assert!(!looks_like_csv(&write(dir.path(), "d.parquet", "just some words\n")));
        assert!(!looks_like_csv(&write(dir.path(), "e.parquet", "")));
    }
}
