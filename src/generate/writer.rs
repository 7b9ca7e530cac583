//! The chunked output of the customer and transaction generators: rows made in fixed chunks (one random stream
//! and one record batch each) and written as zstd Parquet, encoded in order while the next chunks are made.

use std::path::Path;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::error::Result;

/// Rows generated per chunk (one random stream and one record batch each). Part of the output's definition:
/// changing it changes the data a seed gives.
pub const CHUNK_ROWS: usize = 65_536;

/// Rows per Parquet row group of a written file (16 chunks).
pub const ROW_GROUP_ROWS: usize = 16 * CHUNK_ROWS;

/// The number of chunks of `rows` rows.
pub(crate) fn chunk_count(rows: usize) -> usize {
    rows.div_ceil(CHUNK_ROWS)
}

/// The first row and the row count of chunk `c` of `rows` rows.
pub(crate) fn chunk_span(c: usize, rows: usize) -> (usize, usize) {
    let start = c * CHUNK_ROWS;
    (start, CHUNK_ROWS.min(rows - start))
}

/// Writes the `rows` rows made by `make(c)` for each chunk `c` to `path` (see [`write_properties`]), atomically:
/// chunks are made in parallel on the current rayon pool while a second thread encodes and writes them in order.
/// `on_chunk` receives each chunk's extra output, in chunk order.
pub(crate) fn write_chunks<T: Send>(
    path: &Path,
    schema: SchemaRef,
    props: WriterProperties,
    rows: usize,
    make: impl Fn(usize) -> Result<(RecordBatch, T)> + Sync,
    on_chunk: impl FnMut(T),
) -> Result<()> {
    crate::io::writer::write_chunks_in_parallel(path, schema, props, chunk_count(rows), make, on_chunk)
}

/// Parquet settings of a generated file: zstd, row groups of [`ROW_GROUP_ROWS`], delta encoding for the
/// sequential IDs in `delta`, and dictionaries only for the columns in `dictionary`, where values repeat.
pub(crate) fn write_properties(delta: &[&str], dictionary: &[&str]) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_dictionary_enabled(false);
    for &c in delta {
        b = b.set_column_encoding(ColumnPath::from(c), Encoding::DELTA_BINARY_PACKED);
    }
    for &c in dictionary {
        b = b.set_column_dictionary_enabled(ColumnPath::from(c), true);
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_rows_once() {
        assert_eq!(chunk_count(0), 0);
        assert_eq!(chunk_count(CHUNK_ROWS), 1);
        assert_eq!(chunk_count(CHUNK_ROWS + 1), 2);
        assert_eq!(chunk_span(0, CHUNK_ROWS + 7), (0, CHUNK_ROWS));
        assert_eq!(chunk_span(1, CHUNK_ROWS + 7), (CHUNK_ROWS, 7));
    }

    #[test]
    fn properties_name_their_columns() {
        let p = write_properties(&["id"], &["cat"]);
        let col = |c: &str| ColumnPath::from(c);
        assert_eq!(p.max_row_group_row_count(), Some(ROW_GROUP_ROWS));
        assert_eq!(p.encoding(&col("id")), Some(Encoding::DELTA_BINARY_PACKED));
        assert!(p.dictionary_enabled(&col("cat")));
        assert!(!p.dictionary_enabled(&col("id")));
        assert_eq!(p.compression(&col("x")), Compression::ZSTD(ZstdLevel::default()));
    }
}
