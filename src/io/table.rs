//! One Parquet or CSV file read as a stream of record batches of some of its columns, for the jobs that read a
//! table whole rather than into a feature matrix (`compare`). The format follows the name, as everywhere: `*.csv`
//! and `*.csv.gz` are CSV (schema inferred from a sample, `csv`), anything else Parquet.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::csv::{infer_schema, is_csv_name};
use super::csv_read::read_csv;
use super::parquet::{guarded, load_metadata, not_parquet};
use crate::error::{Error, Result};

/// Rows per batch.
const BATCH: usize = 65536;

/// An opened table file: its path and its schema.
pub struct TableFile {
    path: PathBuf,
    schema: SchemaRef,
    csv: bool,
}

impl TableFile {
    /// Opens `path` and reads its schema (a Parquet footer, or a CSV file's inferred schema with `csv_schema`'s
    /// overrides).
    pub fn open(path: &Path, csv_schema: &[(String, DataType)]) -> Result<TableFile> {
        let (schema, csv) = if is_csv_name(path) {
            (infer_schema(path, csv_schema)?, true)
        } else {
            (load_metadata(path)?.schema().clone(), false)
        };
        Ok(TableFile { path: path.to_path_buf(), schema, csv })
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Gives `each` every batch of the columns `columns` (indices into the schema, ascending), in file order.
    pub fn stream(&self, columns: &[usize], mut each: impl FnMut(&RecordBatch) -> Result<()>) -> Result<()> {
        let path = self.path.as_path();
        if self.csv {
            for batch in read_csv(path, &self.schema, columns, BATCH)? {
                each(&batch)?;
            }
            return Ok(());
        }
        let file = File::open(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
        guarded(path, || {
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| not_parquet(path, e))?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
            let reader =
                builder.with_projection(mask).with_batch_size(BATCH).build().map_err(|e| not_parquet(path, e))?;
            for batch in reader {
                each(&batch.map_err(|e| not_parquet(path, e))?)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Int64Array};
    use arrow::datatypes::Int64Type;
    use std::sync::Arc;

    use crate::test_util::{strs, write_parquet};

    fn collect(t: &TableFile, cols: &[usize]) -> Vec<i64> {
        let mut out = Vec::new();
        t.stream(cols, |b| {
            out.extend(b.column_by_name("segment").unwrap().as_primitive::<Int64Type>().values().iter());
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn csv_and_parquet_stream_the_same_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_parquet(
            dir.path(),
            "s.parquet",
            vec![("customer_id", strs(vec!["a", "b"])), ("segment", Arc::new(Int64Array::from(vec![3, 1])))],
        );
        let c = dir.path().join("s.csv");
        std::fs::write(&c, "customer_id,segment\na,3\nb,1\n").unwrap();
        for path in [p, c] {
            let t = TableFile::open(&path, &[]).unwrap();
            assert_eq!(t.schema().field(1).name(), "segment");
            assert_eq!(collect(&t, &[0, 1]), [3, 1], "{}", path.display());
        }
    }
}
