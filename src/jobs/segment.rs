//! The `segment` job as a library call: read Parquet, prepare features, fit K-means on the chosen device, write
//! the segments Parquet, the model JSON and, when asked for, the profiles and the HTML report. The CLI builds a
//! [`SegmentConfig`] and calls [`run_segment`]; every output path and every flag is checked before any row is read.

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use tracing::info;

use crate::device::{fit_on_device_early, open_early, DeviceRequest, EarlyGpu};
use crate::drift;
use crate::error::{Error, Result};
use crate::explain::{self, Explanation, RawSample};
use crate::io::atomic::{check_writable, write_bytes_atomically};
use crate::io::writer::write_segments;
use crate::io::{read_features_with, FeatureTable, ReadOptions};
use crate::kmeans::{FitResult, Init, ValidParams};
use crate::matrix::Matrix;
use crate::model::{FitParams, InputSummary, Model};
use crate::numbering;
use crate::prep::{check_prep_columns, ColumnPrep, DefaultPrep, ScaleMethod, Scaler};
use crate::previous::{match_previous, rms_radius, Matching};
use crate::pseudonym::IdKey;
use crate::report::{build_profiles, money_feature, write_html, write_profile_json, ColumnProfiles, Profiles};

use super::columns::{self, ColumnOptions};

/// A validated `segment` job.
#[derive(Debug, Clone)]
pub struct SegmentConfig {
    pub inputs: Vec<PathBuf>,
    /// How the inputs are named in the model (the sample is embedded and has no real path).
    pub input_label: Vec<String>,
    pub read: ReadOptions,
    pub scale: ScaleMethod,
    /// Clipping, `log1p` and the signed log by column (`--clip`, `--log1p`, `--signed-log`).
    pub prep: ColumnPrep,
    /// The preparation of a features file's money and count columns that applies where `prep` names none of
    /// them (see [`DefaultPrep`]); `None` turns it off.
    pub default_prep: Option<DefaultPrep>,
    /// Segments under this share of the customers get a warning (`--min-segment-share`).
    pub min_segment_share: f64,
    pub params: ValidParams,
    pub device: DeviceRequest,
    pub output: PathBuf,
    pub model: PathBuf,
    /// Where to write the per-segment profiles (JSON), if anywhere.
    pub profile: Option<PathBuf>,
    /// Where to write the HTML report, if anywhere.
    pub report: Option<PathBuf>,
    /// The key that replaces every customer ID in the outputs by its pseudonym, if any.
    pub pseudonym: Option<IdKey>,
    /// A model whose centroids start Lloyd (one run), fitted on the same features with the same `k`.
    pub warm_start: Option<PathBuf>,
    /// The money column that orders the segments and gives the profiles' revenue shares (default: `monetary` where
    /// it is a feature).
    pub money_column: Option<String>,
    /// The previous period's model: new segments that match its segments keep their numbers.
    pub previous: Option<PathBuf>,
    /// A new segment matches a previous one only within this many RMS customer-to-centre distances.
    pub match_radius: f64,
    /// `--k auto`: K is chosen by `choose-k`'s rule over these options' values of k (their `params` are this
    /// run's) before the fit, and `params.k` is replaced by the K chosen.
    pub choose_k: Option<crate::evaluate::choose::ChooseOptions>,
    /// `--categorical`, `--profile-by` and `--keep` columns, and the level rules.
    pub columns: ColumnOptions,
}

/// What a finished job produced.
#[derive(Debug)]
pub struct SegmentOutcome {
    pub model: Model,
    pub table: FeatureTable,
    pub fit: FitResult,
    /// The profiles, when `profile` or `report` asked for them.
    pub profiles: Option<Profiles>,
    /// How the segments matched the `previous` model's, when there was one.
    pub matching: Option<Matching>,
    /// The segments' names and rules (with the report's views when `report` asked for them).
    pub explanation: Explanation,
    /// How K was chosen, with `--k auto`.
    pub choice: Option<crate::evaluate::choose::KChoice>,
    /// Level shares of the categorical and `--profile-by` columns, and means and medians of numeric
    /// `--profile-by` columns, per segment (empty without such columns).
    pub columns: ColumnProfiles,
}

fn init_name(i: &Init) -> &'static str {
    match i {
        Init::KMeansPlusPlus => "k-means++",
        Init::Random => "random",
        Init::Given(_) => "given",
    }
}

/// Runs the job. Output paths are checked before any work starts, and the flags that name features (`log1p`, the
/// money column) as soon as the files' metadata give the features, before any row is decoded. Nothing is written
/// until the fit and the profiles have succeeded; every output is written atomically.
pub fn run_segment(cfg: &SegmentConfig) -> Result<SegmentOutcome> {
    super::summary::check_min_segment_share(cfg.min_segment_share)?;
    for path in [Some(&cfg.output), Some(&cfg.model), cfg.profile.as_ref(), cfg.report.as_ref()].into_iter().flatten() {
        check_writable(path)?;
    }
    cfg.columns.check(&cfg.read)?;
    let profiling = cfg.profile.is_some() || cfg.report.is_some();
    let warm = cfg.warm_start.as_deref().map(Model::load).transpose()?;
    if let Some(w) = &warm {
        if w.k() != cfg.params.k() {
            return Err(Error::Usage(format!(
                "--warm-start {} has k = {}, this run asks for k = {}: drop --k or pass --k {}",
                cfg.warm_start.as_ref().expect("warm").display(),
                w.k(),
                cfg.params.k(),
                w.k()
            )));
        }
    }
    let previous = cfg.previous.as_deref().map(Model::load).transpose()?;
    let clock = Instant::now();
    // Once the files' metadata give the shape, the GPU (if one was asked for) opens on another thread while the
    // rows are decoded and scaled.
    let mut early = EarlyGpu::none();
    let weighted = cfg.read.weight.is_some();
    // The categorical, profiled and kept columns' types are checked from the metadata before any row is read.
    let planned = columns::plan(&cfg.inputs, &cfg.columns, &cfg.read)?;
    let mut read = cfg.read.clone();
    read.extra_columns.extend(cfg.columns.not_features());
    let mut table = read_features_with(&cfg.inputs, &read, |names, _| {
        check_prep_columns(names, &cfg.prep)?;
        money_feature(names, cfg.money_column.as_deref())?;
        if let Some(w) = &warm {
            if names != &w.features[..w.numeric_features()] {
                return Err(Error::Usage(format!(
                    "--warm-start {} was fitted on the features {}, this run has {}: pass --features {}",
                    cfg.warm_start.as_ref().expect("warm").display(),
                    w.features.join(","),
                    names.join(","),
                    w.features[..w.numeric_features()].join(",")
                )));
            }
        }
        if let Some(p) = &previous {
            if names != &p.features[..p.numeric_features()] {
                return Err(Error::Usage(format!(
                    "--previous {} was fitted on the features {}, this run has {}: segments can only be matched on \
                     the same features; pass --features {} or drop --previous",
                    cfg.previous.as_ref().expect("previous").display(),
                    p.features.join(","),
                    names.join(","),
                    p.features[..p.numeric_features()].join(",")
                )));
            }
        }
        // With categorical columns the width is known only once their levels are fitted: the fit opens the GPU.
        if cfg.columns.categorical.is_empty() {
            early = open_early(&cfg.device, names.len(), cfg.params.k(), weighted);
        }
        Ok(())
    })?;
    let seconds = clock.elapsed().as_secs_f64();
    info!(rows = table.x.n(), features = table.x.d(), dropped = table.report.rows_dropped, seconds, "read input");
    let raw_sample = RawSample::take(&table.x, cfg.params.seed());
    let clock = Instant::now();
    let prep = match &cfg.default_prep {
        Some(d) => d.apply(&table.feature_names, &cfg.prep),
        None => cfg.prep.clone(),
    };
    let mut scaler = Scaler::fit_transform_prep(&mut table.x, &table.feature_names, cfg.scale, &prep)
        .map_err(|e| super::summary::in_files(e, &cfg.input_label))?;
    info!(method = ?cfg.scale, seconds = clock.elapsed().as_secs_f64(), "scaled features");
    // The numeric features come first; one-hot categorical indicators, scaled by their block weights, after them.
    let extra = columns::read_extra(&cfg.inputs, &cfg.columns, &planned, &table, &cfg.read)?;
    let numeric = table.feature_names.len();
    if !extra.vars.is_empty() {
        table.x = columns::append_categorical(&table.x, &mut scaler, &mut table.feature_names, &extra);
    }
    for (flag, m, path) in [("--warm-start", &warm, &cfg.warm_start), ("--previous", &previous, &cfg.previous)] {
        if let (Some(m), Some(path)) = (m, path) {
            if table.feature_names != m.features {
                return Err(Error::Usage(format!(
                    "{flag} {} was fitted on the features {}, this run has {}: use the same --categorical columns and \
                     levels (--min-level-share, --max-levels)",
                    path.display(),
                    m.features.join(","),
                    table.feature_names.join(",")
                )));
            }
        }
    }
    let (warm_params, chosen_params);
    let mut choice = None;
    let params = match (&warm, &cfg.choose_k) {
        (Some(w), _) => {
            warm_params = warm_start_params(&cfg.params, w, &scaler)?;
            &warm_params
        }
        (None, Some(o)) => {
            let (c, k) = crate::jobs::choose_k::choose_for_segment(
                &cfg.device,
                &table.x,
                table.weights.as_deref(),
                o,
                &cfg.input_label,
            )?;
            info!(k, reason = %c.reason, "chose k");
            choice = Some(c);
            chosen_params = ValidParams { k, ..cfg.params.clone() };
            &chosen_params
        }
        (None, None) => &cfg.params,
    };
    let clock = Instant::now();
    let mut fit = fit_on_device_early(&cfg.device, early, params, &table.x, table.weights.as_deref())?;
    let money = money_feature(&table.feature_names, cfg.money_column.as_deref())?;
    let order = numbering::canonical_order(&fit, &table.x, &scaler, money);
    numbering::renumber(&mut fit, &order);
    let matching = match &previous {
        Some(prev) => {
            let m = match_previous(prev, &fit.centroids, &scaler, cfg.match_radius * rms_radius(&fit.dist2))?;
            // Positions follow the numbers, so the model and the tables read in number order.
            let mut by_number: Vec<usize> = (0..m.numbers.len()).collect();
            by_number.sort_by_key(|&j| m.numbers[j]);
            numbering::renumber(&mut fit, &by_number);
            Some(Matching {
                numbers: by_number.iter().map(|&j| m.numbers[j]).collect(),
                matched: by_number.iter().map(|&j| m.matched[j]).collect(),
                ..m
            })
        }
        None => None,
    };
    let numbers: Vec<u32> = match &matching {
        Some(m) if m.numbers.iter().enumerate().any(|(j, &n)| n != j as u32) => m.numbers.clone(),
        _ => Vec::new(),
    };
    let seconds = clock.elapsed().as_secs_f64();
    info!(inertia = fit.inertia, n_iter = fit.n_iter, converged = fit.converged, backend = %fit.backend, seconds, "fitted");
    let clock = Instant::now();
    let numeric_names = &table.feature_names[..numeric];
    let rfm_file = explain::use_rfm(numeric_names, explain::crosstab::inputs_have_rfm_segment(&cfg.inputs)?);
    let mut explanation =
        explain::explain(&raw_sample, &table.x, &scaler, numeric_names, &fit.labels, fit.sizes.len(), rfm_file);
    let column_profiles = columns::column_profiles(&extra, &fit.labels, fit.sizes.len(), &numbers);
    columns::name_by_levels(&mut explanation.names, &column_profiles);
    if cfg.report.is_some() {
        explanation.map =
            Some(explain::pca_view(&table.x, &fit.labels, &fit.centroids, &table.feature_names, cfg.params.seed()));
        if rfm_file && explain::crosstab::inputs_have_rfm_segment(&cfg.inputs)? {
            let (ids, k) = (&table.ids, fit.sizes.len());
            // The crosstab is a view of the report: a column it cannot read is a warning, not a failed run.
            match explain::crosstab::rfm_crosstab(&cfg.inputs, &table.id_name, ids, &fit.labels, k) {
                Ok(c) => explanation.rfm_crosstab = Some(c),
                Err(e) => tracing::warn!("{e}; the report has no crosstab"),
            }
        }
    }
    if !numbers.is_empty() {
        explanation.renumber(&numbers);
    }
    if let (Some(m), Some(prev)) = (&matching, &previous) {
        explanation.keep_names(m, prev);
    }
    info!(fidelity = explanation.rules.fidelity, seconds = clock.elapsed().as_secs_f64(), "named and explained");
    let mut profiles = if profiling {
        let clock = Instant::now();
        let mut p = build_profiles(
            &table.x,
            &scaler,
            &table.feature_names,
            &fit.labels,
            params.k(),
            cfg.money_column.as_deref(),
        )?;
        columns::numeric_only(&mut p, numeric);
        p.columns = column_profiles.clone();
        info!(seconds = clock.elapsed().as_secs_f64(), "built profiles");
        if !numbers.is_empty() {
            for s in &mut p.segments {
                s.segment = numbers[s.segment as usize];
            }
        }
        Some(p)
    } else {
        None
    };
    let clock = Instant::now();
    let distances: Vec<f32> = fit.dist2.par_iter().map(|v| v.sqrt()).collect();
    let ids = match &cfg.pseudonym {
        Some(key) => key.pseudonymize(&table.ids)?,
        None => table.ids.clone(),
    };
    if numbers.is_empty() {
        write_segments(&cfg.output, &table.id_name, &ids, &extra.keep, &fit.labels, &distances)?;
    } else {
        let labels: Vec<u32> = fit.labels.par_iter().map(|&l| numbers[l as usize]).collect();
        write_segments(&cfg.output, &table.id_name, &ids, &extra.keep, &labels, &distances)?;
    }
    info!(path = %cfg.output.display(), seconds = clock.elapsed().as_secs_f64(), "wrote segments");
    let p = params;
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
        imputed: table.report.imputed.clone(),
    };
    let mut model = Model::new(&fit, scaler, table.feature_names.clone(), params, input);
    model.numbers = numbers;
    model.warnings = super::summary::small_segments(&model.sizes, &model.numbers(), cfg.min_segment_share);
    model.drift = Some(drift::reference(&table.x, &table.feature_names, &fit.dist2));
    model.names = explanation.name_list();
    model.categorical = extra.vars;
    explanation.settings = Some(explain::RunSettings::from_model(&model));
    if let Some(p) = &mut profiles {
        p.explanation = Some(explanation.clone());
    }
    write_bytes_atomically(&cfg.model, model.to_json().as_bytes())?;
    if let Some(p) = &mut profiles {
        p.warnings = model.warnings.clone();
    }
    if let (Some(path), Some(p)) = (&cfg.profile, &profiles) {
        write_profile_json(p, path)?;
    }
    if let (Some(path), Some(p)) = (&cfg.report, &profiles) {
        match (&choice, &cfg.choose_k) {
            (Some(c), Some(o)) => crate::report::write_html_with_choice(p, c, o.min_segment_share, path)?,
            _ => write_html(p, path)?,
        }
    }
    Ok(SegmentOutcome { model, table, fit, profiles, matching, explanation, choice, columns: column_profiles })
}

/// `params` with the warm-start model's centroids, mapped into this run's scaled units, as the one initial
/// solution.
fn warm_start_params(params: &ValidParams, warm: &Model, scaler: &Scaler) -> Result<ValidParams> {
    let d = warm.features.len();
    let mut c = Matrix::from_vec(warm.centroids.iter().flatten().map(|&v| v as f32).collect(), warm.k(), d);
    scaler.transform(&mut c)?;
    let mut p = params.clone();
    p.init = Init::Given(c);
    p.n_init = 1;
    Ok(p)
}
