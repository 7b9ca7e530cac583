//! Writes the segments Parquet file (`<id>`, `segment`, `distance`), atomically, and reads it back for tests.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float32Array, UInt32Array};
use arrow::datatypes::{DataType, Field, Float32Type, Schema, UInt32Type};
use arrow::record_batch::{RecordBatch, RecordBatchReader};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};
use crate::io::atomic;

/// Rows per row group (and per written batch) of the segments file.
pub const ROW_GROUP_ROWS: usize = 1 << 20;

/// Name of the segment column.
pub const SEGMENT_COLUMN: &str = "segment";
/// Name of the distance column: each customer's distance to its segment's centroid.
pub const DISTANCE_COLUMN: &str = "distance";

/// Writes `path` (zstd Parquet, row groups of [`ROW_GROUP_ROWS`]) with the columns `<id_name>` (the type of
/// `ids`), `segment` (UInt32) and `distance` (Float32), one row per customer, atomically: a failure leaves no
/// file behind. `segment` and `distance` are non-nullable, and so is the ID column when `ids` has no nulls.
pub fn write_segments(path: &Path, id_name: &str, ids: &ArrayRef, labels: &[u32], distances: &[f32]) -> Result<()> {
    if ids.len() != labels.len() || labels.len() != distances.len() {
        return Err(Error::output(
            path,
            format!(
                "{} ids, {} segments and {} distances: the lengths differ",
                ids.len(),
                labels.len(),
                distances.len()
            ),
        ));
    }
    if id_name == SEGMENT_COLUMN || id_name == DISTANCE_COLUMN {
        return Err(Error::Usage(format!(
            "the id column cannot be named '{id_name}': the segments file has a column of that name"
        )));
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new(id_name, ids.data_type().clone(), ids.null_count() > 0),
        Field::new(SEGMENT_COLUMN, DataType::UInt32, false),
        Field::new(DISTANCE_COLUMN, DataType::Float32, false),
    ]));
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let labels = UInt32Array::from(labels.to_vec());
    let distances = Float32Array::from(distances.to_vec());
    let n = ids.len();

    atomic::write_atomically(path, |w| {
        let mut writer = ArrowWriter::try_new(w, schema.clone(), Some(props)).map_err(|e| Error::output(path, e))?;
        let mut start = 0;
        while start < n {
            let len = ROW_GROUP_ROWS.min(n - start);
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![ids.slice(start, len), Arc::new(labels.slice(start, len)), Arc::new(distances.slice(start, len))],
            )
            .map_err(|e| Error::output(path, e))?;
            writer.write(&batch).map_err(|e| Error::output(path, e))?;
            start += len;
        }
        writer.close().map_err(|e| Error::output(path, e))?;
        Ok(())
    })
}

/// Reads a file written by [`write_segments`]: the IDs (first column, original type), segments and distances.
pub fn read_segments(path: &Path) -> Result<(ArrayRef, Vec<u32>, Vec<f32>)> {
    let file = File::open(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| Error::input(path, format!("not a readable Parquet file: {e}")))?;
    let schema = reader.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if names.len() != 3 || names[1] != SEGMENT_COLUMN || names[2] != DISTANCE_COLUMN {
        return Err(Error::input(path, format!("not a segments file: columns are {}", names.join(", "))));
    }
    let (seg_type, dist_type) = (schema.field(1).data_type(), schema.field(2).data_type());
    if *seg_type != DataType::UInt32 || *dist_type != DataType::Float32 {
        return Err(Error::input(path, format!("not a segments file: segment is {seg_type}, distance is {dist_type}")));
    }
    let mut ids: Vec<ArrayRef> = Vec::new();
    let mut labels = Vec::new();
    let mut distances = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| Error::input(path, e))?;
        ids.push(batch.column(0).clone());
        labels.extend_from_slice(batch.column(1).as_primitive::<UInt32Type>().values());
        distances.extend_from_slice(batch.column(2).as_primitive::<Float32Type>().values());
    }
    let ids = match ids.len() {
        0 => arrow::array::new_empty_array(schema.field(0).data_type()),
        1 => ids.pop().expect("one part"),
        _ => {
            let refs: Vec<&dyn Array> = ids.iter().map(|a| a.as_ref()).collect();
            arrow::compute::concat(&refs).map_err(|e| Error::input(path, e))?
        }
    };
    Ok((ids, labels, distances))
}

/// Writes `chunks` record batches to `path` as Parquet, atomically and in chunk order, while they are made in
/// parallel: `make(c)` runs on the current rayon pool a group of chunks at a time (enough to keep every worker
/// busy, few enough to bound memory), and a second thread encodes and writes. `on_chunk` receives each chunk's
/// extra output, in chunk order. Used by the generators of customers and of transactions.
pub fn write_chunks_in_parallel<T, M, O>(
    path: &Path,
    schema: arrow::datatypes::SchemaRef,
    props: WriterProperties,
    chunks: usize,
    make: M,
    mut on_chunk: O,
) -> Result<()>
where
    T: Send,
    M: Fn(usize) -> Result<(RecordBatch, T)> + Sync,
    O: FnMut(T),
{
    use rayon::prelude::*;
    atomic::check_writable(path)?;
    atomic::write_atomically(path, |w| {
        let writer = ArrowWriter::try_new(w, schema, Some(props)).map_err(|e| Error::output(path, e))?;
        let group = (2 * rayon::current_num_threads()).max(2);
        let (tx, rx) = std::sync::mpsc::sync_channel::<RecordBatch>(group);
        std::thread::scope(|s| {
            let writing = s.spawn(move || -> Result<()> {
                let mut writer = writer;
                for batch in rx {
                    writer.write(&batch).map_err(|e| Error::output(path, e))?;
                }
                writer.close().map_err(|e| Error::output(path, e))?;
                Ok(())
            });
            let generated = (|| -> Result<()> {
                for start in (0..chunks).step_by(group) {
                    let end = (start + group).min(chunks);
                    let made: Vec<(RecordBatch, T)> = (start..end).into_par_iter().map(&make).collect::<Result<_>>()?;
                    for (batch, extra) in made {
                        on_chunk(extra);
                        if tx.send(batch).is_err() {
                            return Ok(()); // the writer stopped; its error is reported below
                        }
                    }
                }
                Ok(())
            })();
            drop(tx);
            let written = writing.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            generated.and(written)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    #[test]
    fn string_ids_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("segments.parquet");
        let ids: ArrayRef = Arc::new(StringArray::from(vec!["c1", "c2", "c3"]));
        write_segments(&p, "customer_id", &ids, &[2, 0, 1], &[0.5, 1.5, 0.0]).unwrap();
        let (got_ids, labels, dist) = read_segments(&p).unwrap();
        assert_eq!(&got_ids, &ids);
        assert_eq!(labels, [2, 0, 1]);
        assert_eq!(dist, [0.5, 1.5, 0.0]);
    }

    #[test]
    fn integer_ids_round_trip_with_schema() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("segments.parquet");
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![10, -20]));
        write_segments(&p, "cid", &ids, &[1, 1], &[0.25, 2.0]).unwrap();
        let (got_ids, _, _) = read_segments(&p).unwrap();
        assert_eq!(&got_ids, &ids);
        let b = ParquetRecordBatchReaderBuilder::try_new(File::open(&p).unwrap()).unwrap();
        let s = b.schema();
        let fields: Vec<_> =
            s.fields().iter().map(|f| (f.name().as_str(), f.data_type().clone(), f.is_nullable())).collect();
        assert_eq!(
            fields,
            [
                ("cid", DataType::Int64, false),
                ("segment", DataType::UInt32, false),
                ("distance", DataType::Float32, false)
            ]
        );
    }

    #[test]
    fn large_output_is_split_into_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.parquet");
        let n = ROW_GROUP_ROWS + 10;
        let ids: ArrayRef = Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>()));
        let labels: Vec<u32> = (0..n as u32).map(|i| i % 7).collect();
        let dist: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
        write_segments(&p, "id", &ids, &labels, &dist).unwrap();
        let r = SerializedFileReader::new(File::open(&p).unwrap()).unwrap();
        let groups: Vec<i64> = r.metadata().row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, [ROW_GROUP_ROWS as i64, 10]);
        let (got_ids, got_labels, got_dist) = read_segments(&p).unwrap();
        assert_eq!(&got_ids, &ids);
        assert_eq!(got_labels, labels);
        assert_eq!(got_dist, dist);
    }

    #[test]
    fn length_mismatch_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("segments.parquet");
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let e = write_segments(&p, "id", &ids, &[0], &[0.0, 1.0]).unwrap_err().to_string();
        assert!(e.contains("2 ids, 1 segments and 2 distances"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn id_named_like_an_output_column_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        let e = write_segments(&dir.path().join("s.parquet"), "segment", &ids, &[0], &[0.0]).unwrap_err();
        assert!(e.is_usage(), "{e}");
    }

    #[test]
    fn existing_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("segments.parquet");
        std::fs::write(&p, b"old").unwrap();
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![7]));
        write_segments(&p, "id", &ids, &[3], &[1.0]).unwrap();
        assert_eq!(read_segments(&p).unwrap().1, [3]);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");
    }
}
