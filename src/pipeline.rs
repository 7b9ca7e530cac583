//! The `segment` job as a library call: read Parquet, prepare features, fit K-means on the chosen device, write
//! the segments Parquet and the model JSON. The CLI builds a [`SegmentConfig`] and calls [`run_segment`].

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use tracing::info;

use crate::device::{fit_on_device_early, open_early, DeviceRequest, EarlyGpu};
use crate::error::Result;
use crate::io::atomic::{check_writable, write_bytes_atomically};
use crate::io::reader::{read_features_with, FeatureTable, ReadOptions};
use crate::io::writer::write_segments;
use crate::kmeans::{FitResult, Init, ValidParams};
use crate::model::{FitParams, InputSummary, Model};
use crate::prep::{ScaleMethod, Scaler};

/// A validated `segment` job.
#[derive(Debug, Clone)]
pub struct SegmentConfig {
    pub inputs: Vec<PathBuf>,
    /// How the inputs are named in the model (the sample is embedded and has no real path).
    pub input_label: Vec<String>,
    pub read: ReadOptions,
    pub scale: ScaleMethod,
    pub log1p: Vec<String>,
    pub params: ValidParams,
    pub device: DeviceRequest,
    pub output: PathBuf,
    pub model: PathBuf,
}

/// What a finished job produced.
#[derive(Debug)]
pub struct SegmentOutcome {
    pub model: Model,
    pub table: FeatureTable,
    pub fit: FitResult,
}

fn init_name(i: &Init) -> &'static str {
    match i {
        Init::KMeansPlusPlus => "k-means++",
        Init::Random => "random",
        Init::Given(_) => "given",
    }
}

/// Runs the job. Output paths are checked before any work starts; both outputs are written atomically.
pub fn run_segment(cfg: &SegmentConfig) -> Result<SegmentOutcome> {
    check_writable(&cfg.output)?;
    check_writable(&cfg.model)?;
    let clock = Instant::now();
    // Once the files' metadata give the shape, the GPU (if one was asked for) opens on another thread while the
    // rows are decoded and scaled.
    let mut early = EarlyGpu::none();
    let weighted = cfg.read.weight.is_some();
    let mut table = read_features_with(&cfg.inputs, &cfg.read, |d, _| {
        early = open_early(&cfg.device, d, cfg.params.k(), weighted);
    })?;
    let seconds = clock.elapsed().as_secs_f64();
    info!(rows = table.x.n(), features = table.x.d(), dropped = table.report.rows_dropped, seconds, "read input");
    let clock = Instant::now();
    let scaler = Scaler::fit_transform(&mut table.x, &table.feature_names, cfg.scale, &cfg.log1p)?;
    info!(method = ?cfg.scale, seconds = clock.elapsed().as_secs_f64(), "scaled features");
    let clock = Instant::now();
    let fit = fit_on_device_early(&cfg.device, early, &cfg.params, &table.x, table.weights.as_deref())?;
    let seconds = clock.elapsed().as_secs_f64();
    info!(inertia = fit.inertia, n_iter = fit.n_iter, converged = fit.converged, backend = %fit.backend, seconds, "fitted");
    let clock = Instant::now();
    let distances: Vec<f32> = fit.dist2.par_iter().map(|v| v.sqrt()).collect();
    write_segments(&cfg.output, &table.id_name, &table.ids, &fit.labels, &distances)?;
    info!(path = %cfg.output.display(), seconds = clock.elapsed().as_secs_f64(), "wrote segments");
    let p = &cfg.params;
    let params = FitParams {
        k: p.k(),
        init: init_name(p.init()).into(),
        init_rows: match p.init() {
            Init::KMeansPlusPlus => {
                let rows = p.init_sample().rows(table.x.n(), p.k());
                if rows >= table.x.n() {
                    "all".into()
                } else {
                    rows.to_string()
                }
            }
            _ => "all".into(),
        },
        n_init: p.n_init(),
        max_iter: p.max_iter(),
        tol: p.tol(),
        seed: p.seed(),
    };
    let input = InputSummary {
        files: cfg.input_label.clone(),
        id_column: table.id_name.clone(),
        weight_column: cfg.read.weight.clone(),
        rows_read: table.report.rows_read,
        rows_dropped: table.report.rows_dropped,
        rows_clustered: table.x.n(),
    };
    let model = Model::new(&fit, scaler, table.feature_names.clone(), params, input);
    write_bytes_atomically(&cfg.model, model.to_json().as_bytes())?;
    Ok(SegmentOutcome { model, table, fit })
}
