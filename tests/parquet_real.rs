//! The reader against real-world Parquet files from apache/parquet-testing: every `data/` file reads or fails
//! with a clear one-line error, and every `bad_data/` file fails without a panic.

use std::path::{Path, PathBuf};

use custseg::io::{read_features, Missing, ReadOptions};

use crate::util::{expected_got, parquet_testing};

/// What reading one `data/` file must give.
enum Expect {
    /// Reads, with this many rows and features.
    Reads { n: usize, d: usize },
    /// Fails with a message containing all of these.
    Fails(&'static [&'static str]),
}

/// Each `data/` file with the ID column to use (`None`: the file has no usable ID, keep the default
/// `customer_id`), the missing-value policy and what must come out.
const DATA: &[(&str, Option<&str>, Missing, Expect)] = &[
    ("alltypes_dictionary.parquet", Some("id"), Missing::Fail, Expect::Reads { n: 2, d: 6 }),
    ("alltypes_plain.parquet", Some("id"), Missing::Fail, Expect::Reads { n: 8, d: 6 }),
    ("alltypes_plain.snappy.parquet", Some("id"), Missing::Fail, Expect::Reads { n: 2, d: 6 }),
    ("byte_stream_split.zstd.parquet", None, Missing::Fail, Expect::Fails(&["no column 'customer_id'", "f32, f64"])),
    // float16, float, double, int32 and decimal(7,3) features, plain and byte-stream-split encoded; the other int64
    // column has a different value on every row, so the default selection leaves it out as an identifier.
    ("byte_stream_split_extended.gzip.parquet", Some("int64_plain"), Missing::Fail, Expect::Reads { n: 200, d: 10 }),
    // Checksums are not verified (the parquet crate's `crc` feature is off), so the data decodes; but column
    // `a` repeats values, so it is no ID.
    (
        "datapage_v1-corrupt-checksum.parquet",
        Some("a"),
        Missing::Fail,
        Expect::Fails(&["id column 'a'", "duplicated rows"]),
    ),
    ("datapage_v2.snappy.parquet", Some("b"), Missing::Fail, Expect::Reads { n: 5, d: 1 }),
    // 65 integer columns, 52 of them with a different value on every row: the default selection leaves those out as
    // identifiers (the log names each one).
    ("delta_binary_packed.parquet", Some("int_value"), Missing::Fail, Expect::Reads { n: 200, d: 13 }),
    // Valid (pyarrow reads it), but the parquet 60.1 crate rejects its footer; with a readable footer this
    // would be "no numeric feature columns", `l_partkey` being its only column.
    (
        "dict-page-offset-zero.parquet",
        Some("l_partkey"),
        Missing::Fail,
        Expect::Fails(&["not a readable Parquet file"]),
    ),
    ("fixed_length_decimal.parquet", None, Missing::Fail, Expect::Fails(&["no column 'customer_id'", "value"])),
    ("float16_nonzeros_and_nans.parquet", None, Missing::Fail, Expect::Fails(&["no column 'customer_id'", "x"])),
    ("int32_decimal.parquet", None, Missing::Fail, Expect::Fails(&["no column 'customer_id'", "value"])),
    ("int64_decimal.parquet", None, Missing::Fail, Expect::Fails(&["no column 'customer_id'", "value"])),
    ("nan_in_stats.parquet", None, Missing::Fail, Expect::Fails(&["no column 'customer_id'", "x"])),
    ("nulls.snappy.parquet", None, Missing::Fail, Expect::Fails(&["no column 'customer_id'", "b_struct"])),
    ("single_nan.parquet", None, Missing::Fail, Expect::Fails(&["no column 'customer_id'", "mycol"])),
];

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    files
}

fn name(p: &Path) -> &str {
    p.file_name().unwrap().to_str().unwrap()
}

/// Reads `path` with `opts`, turning a panic into a test failure that names the file.
fn read(path: &Path, opts: &ReadOptions) -> custseg::Result<custseg::io::FeatureTable> {
    std::panic::catch_unwind(|| read_features(&[path.to_path_buf()], opts))
        .unwrap_or_else(|_| panic!("reading {} panicked instead of returning an error", path.display()))
}

fn assert_clear_error(path: &Path, msg: &str) {
    assert!(!msg.contains('\n'), "{}: the message is not one line: {msg:?}", name(path));
    assert!(msg.contains(name(path)), "{}", expected_got("the message names the file", name(path), msg));
}

#[test]
fn every_data_file_reads_or_fails_clearly() {
    let files = parquet_files(&parquet_testing().join("data"));
    assert!(!files.is_empty(), "no parquet-testing data files");
    for path in &files {
        let entry = DATA.iter().find(|(f, ..)| *f == name(path));
        let (id, missing) = entry.map_or((None, Missing::Fail), |(_, id, m, _)| (*id, *m));
        let opts = ReadOptions {
            id_column: id.unwrap_or("customer_id").to_string(),
            missing,
            batch_size: 7, // several batches even for the small files
            ..ReadOptions::default()
        };
        let result = read(path, &opts);
        match &result {
            Ok(t) => {
                eprintln!("{}: reads {} x {}", name(path), t.x.n(), t.x.d());
                assert!(t.x.n() > 0 && t.x.d() > 0, "{}: empty table", name(path));
                assert!(t.x.as_slice().iter().all(|v| v.is_finite()), "{}: non-finite values", name(path));
                assert_eq!(t.ids.len(), t.x.n(), "{}: one id per row", name(path));
            }
            Err(e) => {
                eprintln!("{}: {e}", name(path));
                assert_clear_error(path, &e.to_string());
            }
        }
        match (entry.map(|(.., e)| e), &result) {
            (None, _) => {}
            (Some(Expect::Reads { n, d }), Ok(t)) => {
                assert_eq!((t.x.n(), t.x.d()), (*n, *d), "{}: rows x features", name(path));
            }
            (Some(Expect::Fails(parts)), Err(e)) => {
                let msg = e.to_string();
                for p in *parts {
                    assert!(msg.contains(p), "{}", expected_got(name(path), p, &msg));
                }
            }
            (Some(Expect::Reads { .. }), Err(e)) => {
                panic!("{}: expected to read, got: {e}", name(path))
            }
            (Some(Expect::Fails(parts)), Ok(_)) => {
                panic!("{}: expected an error with {parts:?}, but it read", name(path))
            }
        }
    }
}

#[test]
fn every_bad_data_file_is_an_error_naming_it() {
    let files = parquet_files(&parquet_testing().join("bad_data"));
    assert!(!files.is_empty(), "no parquet-testing bad_data files");
    for path in &files {
        // Read every column that could be a feature, whatever its name: the default id is unlikely to exist,
        // so also try each column of the file as the id.
        let mut outcomes = vec![read(path, &ReadOptions::default())];
        if let Ok(names) = column_names(path) {
            for id in names {
                outcomes
                    .push(read(path, &ReadOptions { id_column: id, missing: Missing::Mean, ..ReadOptions::default() }));
            }
        }
        for r in outcomes {
            match r {
                Ok(t) => panic!("{}: a corrupt file read as {} x {}", name(path), t.x.n(), t.x.d()),
                Err(e) => {
                    eprintln!("{}: {e}", name(path));
                    assert_clear_error(path, &e.to_string());
                }
            }
        }
    }
}

/// The top-level column names, where the file's metadata can be read.
fn column_names(path: &Path) -> Result<Vec<String>, ()> {
    let file = std::fs::File::open(path).map_err(|_| ())?;
    let b = std::panic::catch_unwind(|| parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file))
        .map_err(|_| ())?
        .map_err(|_| ())?;
    Ok(b.schema().fields().iter().map(|f| f.name().clone()).collect())
}
