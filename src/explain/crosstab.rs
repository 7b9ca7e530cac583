//! On a `custseg features` file, the segments against the file's own named RFM segments (`rfm_segment`): the
//! rows of that column are matched to the clustered customers by their ID, so rows dropped on reading do not
//! shift them.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, SortField};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::columns::RFM_SEGMENT;
use crate::features::rfm::SEGMENTS;

/// Customers per (segment, named RFM segment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Crosstab {
    /// The column the names come from.
    pub column: String,
    /// The RFM segment names present, in the order of the RFM rule table (unknown names after, sorted).
    pub labels: Vec<String>,
    /// `counts[segment][label]`.
    pub counts: Vec<Vec<u64>>,
    /// Clustered customers whose ID has no row, or a null name, in the column.
    pub unmatched: u64,
}

/// Whether every input file has an `rfm_segment` column (read from the files' footers only).
pub fn inputs_have_rfm_segment(inputs: &[PathBuf]) -> Result<bool> {
    for p in inputs {
        // The crosstab reads the column from Parquet footers and row groups; a CSV input has no crosstab.
        if crate::io::csv::is_csv_name(p) {
            return Ok(false);
        }
        let meta = crate::io::parquet::load_metadata(p)?;
        if meta.schema().field_with_name(RFM_SEGMENT).is_err() {
            return Ok(false);
        }
    }
    Ok(!inputs.is_empty())
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::input(path, format!("cannot read column '{RFM_SEGMENT}' for the report's crosstab: {e}"))
}

/// Counts the clustered customers (`ids`, each with its segment in `labels`, `< k`) per named RFM segment of the
/// inputs' `rfm_segment` column, matched on the ID column `id_name`.
pub fn rfm_crosstab(inputs: &[PathBuf], id_name: &str, ids: &ArrayRef, labels: &[u32], k: usize) -> Result<Crosstab> {
    let conv = RowConverter::new(vec![SortField::new(ids.data_type().clone())])
        .map_err(|e| Error::Data(format!("crosstab: {e}")))?;
    let mut label_of: HashMap<String, u16> = HashMap::new();
    let mut label_names: Vec<String> = Vec::new();
    let mut by_id: HashMap<Vec<u8>, u16> = HashMap::new();
    for path in inputs {
        let file = File::open(path).map_err(|e| read_err(path, e))?;
        let rows = crate::io::parquet::guarded(path, || {
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_err(path, e))?;
            let schema = builder.schema().clone();
            let idx = |name: &str| schema.index_of(name).map_err(|e| read_err(path, e));
            let (i_id, i_rfm) = (idx(id_name)?, idx(RFM_SEGMENT)?);
            let mask = ProjectionMask::roots(builder.parquet_schema(), [i_id, i_rfm]);
            let reader = builder.with_projection(mask).build().map_err(|e| read_err(path, e))?;
            let mut out = Vec::new();
            for batch in reader {
                let batch = batch.map_err(|e| read_err(path, e))?;
                let (id_pos, rfm_pos) = if i_id < i_rfm { (0, 1) } else { (1, 0) };
                let id_col =
                    arrow::compute::cast(batch.column(id_pos), ids.data_type()).map_err(|e| read_err(path, e))?;
                let names =
                    arrow::compute::cast(batch.column(rfm_pos), &DataType::Utf8).map_err(|e| read_err(path, e))?;
                out.push((id_col, names));
            }
            Ok(out)
        })?;
        for (id_col, names) in rows {
            let keys = conv.convert_columns(&[id_col]).map_err(|e| read_err(path, e))?;
            let names = names.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
            for (i, key) in keys.iter().enumerate() {
                if names.is_null(i) {
                    continue;
                }
                let nm = names.value(i);
                let next = label_names.len() as u16;
                let l = *label_of.entry(nm.to_string()).or_insert_with(|| {
                    label_names.push(nm.to_string());
                    next
                });
                by_id.insert(key.as_ref().to_vec(), l);
            }
        }
    }
    // Columns in the RFM table's order, then any other name sorted.
    let rank = |nm: &str| SEGMENTS.iter().position(|s| s.name == nm).unwrap_or(SEGMENTS.len());
    let mut order: Vec<usize> = (0..label_names.len()).collect();
    order.sort_by(|&a, &b| rank(&label_names[a]).cmp(&rank(&label_names[b])).then(label_names[a].cmp(&label_names[b])));
    let mut col_of = vec![0usize; label_names.len()];
    for (c, &l) in order.iter().enumerate() {
        col_of[l] = c;
    }
    let mut counts = vec![vec![0u64; label_names.len()]; k];
    let mut unmatched = 0;
    let keys = conv.convert_columns(std::slice::from_ref(ids)).map_err(|e| Error::Data(format!("crosstab: {e}")))?;
    for (key, &seg) in keys.iter().zip(labels) {
        match by_id.get(key.as_ref()) {
            Some(&l) => counts[seg as usize][col_of[l as usize]] += 1,
            None => unmatched += 1,
        }
    }
    Ok(Crosstab {
        column: RFM_SEGMENT.into(),
        labels: order.iter().map(|&l| label_names[l].clone()).collect(),
        counts,
        unmatched,
    })
}
