//! The `assign` job as a library call: score new customers with a saved model. Reads the model's features by
//! name, applies its scaler, assigns each row to the nearest centre on the chosen device, writes the segments
//! Parquet (the same columns as `segment`'s), and measures drift against the training data.

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use tracing::info;

use crate::device::{assign_on_device, DeviceRequest};
use crate::drift::{self, Drift};
use crate::error::{Error, Result};
use crate::io::atomic::check_writable;
use crate::io::writer::write_segments;
use crate::io::{read_features_with, Missing, ReadOptions};
use crate::model::Model;
use crate::pseudonym::IdKey;

/// A validated `assign` job.
#[derive(Debug, Clone)]
pub struct AssignConfig {
    pub model: PathBuf,
    pub inputs: Vec<PathBuf>,
    /// The ID column; `None` takes the model's.
    pub id_column: Option<String>,
    pub missing: Missing,
    /// For CSV input: columns read as these types instead of the inferred ones (`--csv-schema`).
    pub csv_schema: Vec<(String, arrow::datatypes::DataType)>,
    pub device: DeviceRequest,
    pub output: PathBuf,
    /// The key that replaces every customer ID in the output by its pseudonym, if any.
    pub pseudonym: Option<IdKey>,
    /// Columns copied into the segments file beside the ID (`--keep`), as `segment` copies them.
    pub keep: Vec<String>,
}

/// What an `assign` run produced.
#[derive(Debug)]
pub struct AssignOutcome {
    pub model: Model,
    /// Customers scored (after `--missing drop`).
    pub customers: usize,
    pub rows_read: usize,
    pub rows_dropped: usize,
    /// Customers per segment in this data.
    pub sizes: Vec<u64>,
    /// The backend that assigned them.
    pub backend: String,
    /// Drift against the training data, where the model keeps its reference.
    pub drift: Option<Drift>,
}

/// Runs the job. The output path is checked and the model read before any row is; nothing is written unless the
/// whole assignment succeeded, and then atomically.
pub fn run_assign(cfg: &AssignConfig) -> Result<AssignOutcome> {
    check_writable(&cfg.output)?;
    let model = Model::load(&cfg.model)?;
    let read = ReadOptions {
        id_column: cfg.id_column.clone().unwrap_or_else(|| model.input.id_column.clone()),
        features: Some(model.features[..model.numeric_features()].to_vec()),
        missing: cfg.missing,
        csv_schema: cfg.csv_schema.clone(),
        ..ReadOptions::default()
    };
    super::columns::check_model_columns(&cfg.inputs, &model.categorical, &read)?;
    let kept = super::columns::ColumnOptions { keep: cfg.keep.clone(), ..Default::default() };
    kept.check(&read)?;
    let planned = super::columns::plan(&cfg.inputs, &kept, &read)?;
    let clock = Instant::now();
    let mut table = read_features_with(&cfg.inputs, &read, |_, _| Ok(()))?;
    let extra = super::columns::read_extra(&cfg.inputs, &kept, &planned, &table, &read)?;
    super::columns::encode_for_model(&cfg.inputs, &model.categorical, &mut table, &read)?;
    info!(rows = table.x.n(), seconds = clock.elapsed().as_secs_f64(), "read input");
    if table.x.n() == 0 {
        return Err(Error::Data(format!("no customers left to assign in {}", label(&cfg.inputs))));
    }
    let clock = Instant::now();
    model.scaler.transform(&mut table.x)?;
    info!(seconds = clock.elapsed().as_secs_f64(), "scaled features");
    let clock = Instant::now();
    let centroids = model.centroid_matrix();
    let (a, backend) = assign_on_device(&cfg.device, &table.x, centroids.as_slice(), model.k())?;
    info!(backend = %backend, seconds = clock.elapsed().as_secs_f64(), "assigned");
    let clock = Instant::now();
    let drift = model.drift.as_ref().map(|r| drift::measure(r, &table.x, &a.dist2));
    info!(seconds = clock.elapsed().as_secs_f64(), "measured drift");
    let mut sizes = vec![0u64; model.k()];
    for &l in &a.labels {
        sizes[l as usize] += 1;
    }
    let clock = Instant::now();
    // In place: the squared distances are not needed after the drift, and fresh pages would cost faults.
    let mut distances = a.dist2;
    distances.par_iter_mut().for_each(|v| *v = v.sqrt());
    let ids = match &cfg.pseudonym {
        Some(key) => key.pseudonymize(&table.ids)?,
        None => table.ids.clone(),
    };
    let mut labels = a.labels;
    model.number_labels(&mut labels);
    write_segments(&cfg.output, &table.id_name, &ids, &extra.keep, &labels, &distances)?;
    info!(path = %cfg.output.display(), seconds = clock.elapsed().as_secs_f64(), "wrote segments");
    Ok(AssignOutcome {
        customers: table.x.n(),
        rows_read: table.report.rows_read,
        rows_dropped: table.report.rows_dropped,
        model,
        sizes,
        backend,
        drift,
    })
}

fn label(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}
