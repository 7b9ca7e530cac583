//! Helpers shared by the unit tests inside `src/` (compiled only for tests): writing small Parquet files.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::ArrayRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

/// A record batch of named columns, in order.
pub(crate) fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns.into_iter().map(|(n, a)| (n.to_string(), a))).expect("record batch")
}

/// Writes `batch` to `path` as Parquet. `group` caps the rows per row group; `chunk` cuts the batch into writes of
/// that many rows (row groups then end on chunk boundaries too).
pub(crate) fn write_batch(path: &Path, batch: &RecordBatch, group: Option<usize>, chunk: Option<usize>) {
    let props = group.map(|g| WriterProperties::builder().set_max_row_group_row_count(Some(g)).build());
    let mut w = ArrowWriter::try_new(File::create(path).expect("create parquet"), batch.schema(), props)
        .expect("parquet writer");
    let step = chunk.unwrap_or(batch.num_rows().max(1));
    for start in (0..batch.num_rows()).step_by(step) {
        w.write(&batch.slice(start, step.min(batch.num_rows() - start))).expect("write batch");
    }
    w.close().expect("close parquet");
}

/// Writes `columns` as the Parquet file `name` in `dir`, in one row group, and returns its path.
pub(crate) fn write_parquet(dir: &Path, name: &str, columns: Vec<(&str, ArrayRef)>) -> PathBuf {
    let path = dir.join(name);
    write_batch(&path, &batch(columns), None, None);
    path
}
