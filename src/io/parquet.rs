//! The Parquet helpers shared by the customer reader and the features aggregator: a file's footer
//! ([`load_metadata`]), one row group's projected columns decoded batch by batch ([`decode_row_group`], which
//! checks the column and row counts against the metadata), and decoder panics on corrupt files turned into
//! one-line errors ([`guarded`]).

use std::cell::Cell;
use std::fs::File;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;

use crate::error::{Error, Result};

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
    let meta =
        guarded(path, || ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| not_parquet(path, e)));
    match meta {
        Err(_) if super::csv::looks_like_csv(path) => Err(Error::input(
            path,
            "not a Parquet file: it looks like CSV; name it .csv (or .csv.gz if it is gzipped) and custseg reads it \
             as CSV",
        )),
        m => m,
    }
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

    use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, StringArray};
    use arrow::datatypes::Int64Type;

    use crate::test_util::{batch, write_batch, write_parquet};

    /// A file of `n` rows (`id` = 0.., `x` = id / 2, `s` a string) in row groups of at most `group` rows.
    fn grouped(dir: &Path, n: i64, group: usize) -> std::path::PathBuf {
        let path = dir.join("g.parquet");
        let b = batch(vec![
            ("id", Arc::new(Int64Array::from((0..n).collect::<Vec<_>>())) as ArrayRef),
            ("x", Arc::new(Float64Array::from((0..n).map(|i| i as f64 / 2.0).collect::<Vec<_>>()))),
            ("s", Arc::new(StringArray::from((0..n).map(|i| i.to_string()).collect::<Vec<_>>()))),
        ]);
        write_batch(&path, &b, Some(group), Some(5));
        path
    }

    #[test]
    fn a_row_group_is_decoded_in_batches_at_their_offsets_with_only_the_projected_columns() {
        let dir = tempfile::tempdir().unwrap();
        let f = grouped(dir.path(), 23, 7);
        let meta = load_metadata(&f).unwrap();
        assert_eq!(meta.metadata().num_row_groups(), 4);
        // Row group 1 holds rows 7..14; batches of 3 rows start at 0, 3 and 6 within it.
        let mut seen = Vec::new();
        decode_row_group(&f, &meta, &[0, 1], 1, 7, 3, |b, at| {
            assert_eq!(b.num_columns(), 2);
            let ids = b.column(0).as_primitive::<Int64Type>().values().to_vec();
            seen.push((at, ids));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [(0, vec![7, 8, 9]), (3, vec![10, 11, 12]), (6, vec![13])]);
    }

    #[test]
    fn rows_other_than_declared_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = grouped(dir.path(), 10, 10);
        let meta = load_metadata(&f).unwrap();
        let more = decode_row_group(&f, &meta, &[0], 0, 9, 4, |_, _| Ok(())).unwrap_err().to_string();
        assert!(more.contains("g.parquet") && more.contains("more rows than the 9 its metadata declares"), "{more}");
        let fewer = decode_row_group(&f, &meta, &[0], 0, 11, 4, |_, _| Ok(())).unwrap_err().to_string();
        assert!(fewer.contains("row group 0 declares 11 rows but 10 were decoded"), "{fewer}");
    }

    #[test]
    fn an_error_from_the_batch_callback_ends_the_decoding() {
        let dir = tempfile::tempdir().unwrap();
        let f = grouped(dir.path(), 10, 10);
        let meta = load_metadata(&f).unwrap();
        let mut calls = 0;
        let e = decode_row_group(&f, &meta, &[1], 0, 10, 2, |_, _| {
            calls += 1;
            Err(Error::Data("stop".into()))
        })
        .unwrap_err();
        assert_eq!((e.to_string(), calls), ("stop".to_string(), 1));
    }

    #[test]
    fn not_parquet_is_an_input_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("fake.parquet");
        std::fs::write(&f, b"hello world\n").unwrap();
        let e = load_metadata(&f).unwrap_err().to_string();
        assert!(e.contains(&f.display().to_string()) && e.contains("not a readable Parquet file"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn a_csv_file_named_parquet_is_told_to_be_named_csv() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("customers.parquet");
        std::fs::write(&f, b"customer_id,spend,region\n1,20.5,North\n").unwrap();
        let e = load_metadata(&f).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: not a Parquet file: it looks like CSV; name it .csv (or .csv.gz if it is gzipped) and custseg \
                 reads it as CSV",
                f.display()
            )
        );
    }

    #[test]
    fn truncated_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_parquet(
            dir.path(),
            "t.parquet",
            vec![
                ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
                ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
            ],
        );
        let bytes = std::fs::read(&f).unwrap();
        for cut in [bytes.len() - 3, bytes.len() / 2, 4] {
            std::fs::write(&f, &bytes[..cut]).unwrap();
            let e = load_metadata(&f).unwrap_err().to_string();
            assert!(e.contains("t.parquet") && e.contains("not a readable Parquet file"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn a_folder_is_not_a_parquet_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = load_metadata(dir.path()).unwrap_err().to_string();
        assert!(e.ends_with("is a folder, not a Parquet file"), "{e}");
    }

    #[test]
    fn panics_in_the_decoder_become_errors() {
        let e = guarded(Path::new("boom.parquet"), || -> Result<()> { panic!("index out of bounds") }).unwrap_err();
        assert_eq!(e.to_string(), "boom.parquet: not a readable Parquet file: the decoder failed: index out of bounds");
    }
}
