//! Writes the segments Parquet file (`<id>`, `segment`, `distance`), atomically, and other Parquet files in
//! parallel chunks (`write_chunks_in_parallel`); its tests read the segments back.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float32Array, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::io::atomic;

/// Rows per row group (and per written batch) of the segments file.
const ROW_GROUP_ROWS: usize = 1 << 20;

/// Name of the segment column.
const SEGMENT_COLUMN: &str = "segment";
/// Name of the distance column: each customer's distance to its segment's centroid.
const DISTANCE_COLUMN: &str = "distance";

/// Writes `path` (zstd Parquet, row groups of [`ROW_GROUP_ROWS`]) with the columns `<id_name>` (the type of
/// `ids`), the `kept` columns (`--keep`, one value per customer, in order), `segment` (UInt32) and `distance`
/// (Float32), one row per customer, atomically: a failure leaves no file behind. `segment` and `distance` are
/// non-nullable, and so is the ID column when `ids` has no nulls.
pub(crate) fn write_segments(
    path: &Path,
    id_name: &str,
    ids: &ArrayRef,
    kept: &[(String, ArrayRef)],
    labels: &[u32],
    distances: &[f32],
) -> Result<()> {
    write_grouped(path, id_name, ids, kept, labels, distances, ROW_GROUP_ROWS)
}

/// [`write_segments`] with row groups of `group_rows` rows.
fn write_grouped(
    path: &Path,
    id_name: &str,
    ids: &ArrayRef,
    kept: &[(String, ArrayRef)],
    labels: &[u32],
    distances: &[f32],
    group_rows: usize,
) -> Result<()> {
    if ids.len() != labels.len() || labels.len() != distances.len() || kept.iter().any(|(_, a)| a.len() != ids.len()) {
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
    let mut fields = vec![Field::new(id_name, ids.data_type().clone(), ids.null_count() > 0)];
    fields.extend(kept.iter().map(|(name, a)| Field::new(name, a.data_type().clone(), a.null_count() > 0)));
    fields.push(Field::new(SEGMENT_COLUMN, DataType::UInt32, false));
    fields.push(Field::new(DISTANCE_COLUMN, DataType::Float32, false));
    let schema = Arc::new(Schema::new(fields));
    let ncols = schema.fields().len();
    // A dictionary only for `segment`: IDs are unique and distances nearly so, and trying one costs a hash of
    // every value before the writer falls back to plain encoding.
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(group_rows))
        .set_dictionary_enabled(false)
        .set_column_dictionary_enabled(ColumnPath::from(SEGMENT_COLUMN), true)
        .build();
    let n = ids.len();
    // The (row group, column) chunks of a window of row groups are encoded and compressed in parallel into memory,
    // then appended to the file in order; a window is as many row groups as there are threads, so memory stays at
    // a few compressed row groups and a row group's copy of its labels and distances.
    let groups: Vec<(usize, usize)> =
        (0..n.div_ceil(group_rows)).map(|g| (g * group_rows, group_rows.min(n - g * group_rows))).collect();
    let window = rayon::current_num_threads().max(1);
    let column = |c: usize, start: usize, len: usize| -> ArrayRef {
        match c {
            0 => ids.slice(start, len),
            c if c <= kept.len() => kept[c - 1].1.slice(start, len),
            c if c == kept.len() + 1 => Arc::new(UInt32Array::from(labels[start..start + len].to_vec())),
            _ => Arc::new(Float32Array::from(distances[start..start + len].to_vec())),
        }
    };
    atomic::write_atomically(path, |w| {
        let writer = ArrowWriter::try_new(w, schema.clone(), Some(props)).map_err(|e| Error::output(path, e))?;
        let (mut writer, factory) = writer.into_serialized_writer().map_err(|e| Error::output(path, e))?;
        for first in (0..groups.len()).step_by(window) {
            let last = (first + window).min(groups.len());
            // One writer per (row group, column), in order.
            let mut tasks = Vec::with_capacity((last - first) * ncols);
            for g in first..last {
                let writers = factory.create_column_writers(g).map_err(|e| Error::output(path, e))?;
                tasks.extend(writers.into_iter().enumerate().map(|(c, col)| (g, c, col)));
            }
            let chunks: Vec<ArrowColumnChunk> = tasks
                .into_par_iter()
                .map(|(g, c, mut col)| -> parquet::errors::Result<ArrowColumnChunk> {
                    let (start, len) = groups[g];
                    for leaf in compute_leaves(schema.field(c), &column(c, start, len))? {
                        col.write(&leaf)?;
                    }
                    col.close()
                })
                .collect::<parquet::errors::Result<_>>()
                .map_err(|e| Error::output(path, e))?;
            let mut chunks = chunks.into_iter();
            for _ in first..last {
                let mut group = writer.next_row_group().map_err(|e| Error::output(path, e))?;
                for chunk in chunks.by_ref().take(ncols) {
                    chunk.append_to_row_group(&mut group).map_err(|e| Error::output(path, e))?;
                }
                group.close().map_err(|e| Error::output(path, e))?;
            }
        }
        writer.close().map_err(|e| Error::output(path, e))?;
        Ok(())
    })
}

/// Writes `chunks` record batches to `path` as Parquet, atomically and in chunk order, while they are made in
/// parallel: `make(c)` runs on the current rayon pool a group of chunks at a time (enough to keep every worker
/// busy, few enough to bound memory), and a second thread encodes and writes. `on_chunk` receives each chunk's
/// extra output, in chunk order. Used by the generators of customers and of transactions.
pub(crate) fn write_chunks_in_parallel<T, M, O>(
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
    use std::fs::File;

    use arrow::array::{AsArray, Int64Array, StringArray};
    use arrow::datatypes::{Float32Type, UInt32Type};
    use arrow::record_batch::RecordBatchReader;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    /// Reads a file written by [`write_segments`]: the IDs (first column, original type), segments and distances.
    fn read_segments(path: &Path) -> Result<(ArrayRef, Vec<u32>, Vec<f32>)> {
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
            return Err(Error::input(
                path,
                format!("not a segments file: segment is {seg_type}, distance is {dist_type}"),
            ));
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

    #[test]
    fn string_ids_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("segments.parquet");
        let ids: ArrayRef = Arc::new(StringArray::from(vec!["c1", "c2", "c3"]));
        write_segments(&p, "customer_id", &ids, &[], &[2, 0, 1], &[0.5, 1.5, 0.0]).unwrap();
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
        write_segments(&p, "cid", &ids, &[], &[1, 1], &[0.25, 2.0]).unwrap();
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
        write_segments(&p, "id", &ids, &[], &labels, &dist).unwrap();
        let r = SerializedFileReader::new(File::open(&p).unwrap()).unwrap();
        let groups: Vec<i64> = r.metadata().row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, [ROW_GROUP_ROWS as i64, 10]);
        let (got_ids, got_labels, got_dist) = read_segments(&p).unwrap();
        assert_eq!(&got_ids, &ids);
        assert_eq!(got_labels, labels);
        assert_eq!(got_dist, dist);
    }

    #[test]
    fn the_parallel_writer_gives_the_same_bytes_on_any_thread_count() {
        // 8 row groups of 7 rows (the last of 1): windows of 1 and of 3 row groups, string IDs with a null.
        let dir = tempfile::tempdir().unwrap();
        let n = 50;
        let ids: ArrayRef =
            Arc::new(StringArray::from((0..n).map(|i| (i != 13).then(|| format!("c{i}"))).collect::<Vec<_>>()));
        let labels: Vec<u32> = (0..n as u32).map(|i| i % 5).collect();
        let dist: Vec<f32> = (0..n).map(|i| i as f32 * 0.25).collect();
        let bytes = |threads: usize| {
            let p = dir.path().join(format!("t{threads}.parquet"));
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| write_grouped(&p, "id", &ids, &[], &labels, &dist, 7)).unwrap();
            let r = SerializedFileReader::new(File::open(&p).unwrap()).unwrap();
            let groups: Vec<i64> = r.metadata().row_groups().iter().map(|g| g.num_rows()).collect();
            assert_eq!(groups, [7, 7, 7, 7, 7, 7, 7, 1]);
            let (got_ids, got_labels, got_dist) = read_segments(&p).unwrap();
            assert_eq!((&got_ids, &got_labels, &got_dist), (&ids, &labels, &dist));
            std::fs::read(&p).unwrap()
        };
        assert_eq!(bytes(1), bytes(3));
    }

    #[test]
    fn length_mismatch_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("segments.parquet");
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let e = write_segments(&p, "id", &ids, &[], &[0], &[0.0, 1.0]).unwrap_err().to_string();
        assert!(e.contains("2 ids, 1 segments and 2 distances"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn id_named_like_an_output_column_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        let e = write_segments(&dir.path().join("s.parquet"), "segment", &ids, &[], &[0], &[0.0]).unwrap_err();
        assert!(e.is_usage(), "{e}");
    }

    #[test]
    fn existing_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("segments.parquet");
        std::fs::write(&p, b"old").unwrap();
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![7]));
        write_segments(&p, "id", &ids, &[], &[3], &[1.0]).unwrap();
        assert_eq!(read_segments(&p).unwrap().1, [3]);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");
    }
}
