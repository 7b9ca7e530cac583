//! The `choose-k` job: read and prepare the customers as `segment` does, fit and judge every K of a range
//! (`evaluate::choose`), recommend one, and write the HTML page of the choice if asked. Also the step of
//! `segment --k auto` that chooses K before its fit ([`choose_for_segment`]).

use std::path::PathBuf;
use std::time::Instant;

use tracing::info;

use crate::device::DeviceRequest;
use crate::error::{Error, Result};
use crate::evaluate::choose::{check_k_against_rows, check_options, sweep, ChooseOptions, KChoice};
use crate::io::atomic::{check_writable, write_bytes_atomically};
use crate::io::{read_features_with, ReadOptions};
use crate::matrix::Matrix;
use crate::prep::{check_prep_columns, ColumnPrep, DefaultPrep, ScaleMethod, Scaler};

use super::columns::ColumnOptions;

/// A validated `choose-k` job.
#[derive(Debug, Clone)]
pub struct ChooseKConfig {
    pub inputs: Vec<PathBuf>,
    /// How the inputs are named in messages (the bundled sample has no real path).
    pub input_label: Vec<String>,
    pub read: ReadOptions,
    pub scale: ScaleMethod,
    /// Clipping, `log1p` and the signed log by column, as `segment` takes them.
    pub prep: ColumnPrep,
    /// A features file's default preparation, as `segment` applies it; `None` turns it off.
    pub default_prep: Option<DefaultPrep>,
    pub options: ChooseOptions,
    pub device: DeviceRequest,
    /// Where to write the HTML page of the choice, if anywhere.
    pub report: Option<PathBuf>,
    /// `--categorical` columns and their level rules, as `segment` takes them (no profiled or kept columns).
    pub columns: ColumnOptions,
}

/// What `choose-k` found, with the data's shape.
#[derive(Debug, Clone)]
pub struct ChooseKOutcome {
    pub choice: KChoice,
    pub rows: usize,
    /// The clustered features: the numeric ones, then the categorical indicators (`column=level`).
    pub features: Vec<String>,
    /// The categorical columns and their levels' count, in `--categorical` order.
    pub categorical: Vec<(String, usize)>,
}

impl ChooseKOutcome {
    /// "3 features", or with categorical columns "3 features and 2 categorical columns (11 levels)".
    pub fn feature_count(&self) -> String {
        let levels: usize = self.categorical.iter().map(|(_, l)| l).sum();
        let numeric = self.features.len() - levels;
        match self.categorical.len() {
            0 => format!("{numeric} features"),
            1 => format!("{numeric} features and 1 categorical column ({levels} levels)"),
            c => format!("{numeric} features and {c} categorical columns ({levels} levels)"),
        }
    }
}

/// Runs the job: flags and the report's path are checked before any row is read; a K whose fit fails keeps its
/// row; the page is written atomically at the end.
pub fn run_choose_k(cfg: &ChooseKConfig) -> Result<ChooseKOutcome> {
    check_options(&cfg.options)?;
    if let Some(p) = &cfg.report {
        check_writable(p)?;
    }
    cfg.columns.check(&cfg.read)?;
    let planned = super::columns::plan(&cfg.inputs, &cfg.columns, &cfg.read)?;
    let mut read = cfg.read.clone();
    read.extra_columns.extend(cfg.columns.not_features());
    let clock = Instant::now();
    let mut table = read_features_with(&cfg.inputs, &read, |names, _| check_prep_columns(names, &cfg.prep))?;
    info!(rows = table.x.n(), features = table.x.d(), seconds = clock.elapsed().as_secs_f64(), "read input");
    let prep = match &cfg.default_prep {
        Some(d) => d.apply(&table.feature_names, &cfg.prep),
        None => cfg.prep.clone(),
    };
    let mut scaler = Scaler::fit_transform_prep(&mut table.x, &table.feature_names, cfg.scale, &prep)?;
    // The categorical indicators after the numeric features, weighted as `segment` weights them.
    let extra = super::columns::read_extra(&cfg.inputs, &cfg.columns, &planned, &table, &cfg.read)?;
    if !extra.vars.is_empty() {
        table.x = super::columns::append_categorical(&table.x, &mut scaler, &mut table.feature_names, &extra);
    }
    let categorical = extra.vars.iter().map(|v| (v.column.clone(), v.levels.len())).collect();
    let choice = choose(&cfg.device, &table.x, table.weights.as_deref(), &cfg.options, "--k", &cfg.input_label)?;
    if let Some(p) = &cfg.report {
        let page = crate::report::render_choice_page(
            &choice,
            &settings_line(cfg, table.x.n(), &choice),
            cfg.options.min_segment_share,
        );
        write_bytes_atomically(p, page.as_bytes())?;
    }
    Ok(ChooseKOutcome { choice, rows: table.x.n(), features: table.feature_names, categorical })
}

/// Chooses K for `segment --k auto` on its prepared matrix: the recommended K, or an error when every K failed.
pub(crate) fn choose_for_segment(
    device: &DeviceRequest,
    x: &Matrix,
    w: Option<&[f32]>,
    options: &ChooseOptions,
    input_label: &[String],
) -> Result<(KChoice, usize)> {
    let choice = choose(device, x, w, options, "--k-range", input_label)?;
    match choice.recommended_k {
        Some(k) => Ok((choice.clone(), k)),
        None => Err(Error::Data(format!("--k auto: {}", choice.reason))),
    }
}

/// Checks the range against the data's distinct rows, then sweeps it.
fn choose(
    device: &DeviceRequest,
    x: &Matrix,
    w: Option<&[f32]>,
    options: &ChooseOptions,
    flag: &str,
    input_label: &[String],
) -> Result<KChoice> {
    check_options(options)?;
    let input = match input_label {
        [one] => one.clone(),
        many => format!("the {} input files", many.len()),
    };
    check_k_against_rows(x, w, &options.ks, &format!("{flag} {}", range_text(&options.ks)), &input)?;
    let clock = Instant::now();
    let choice = sweep(device, x, w, options);
    info!(recommended_k = choice.recommended_k, seconds = clock.elapsed().as_secs_f64(), "chose k");
    Ok(choice)
}

/// `2..12` for a run of consecutive values, else `3,5,8`.
pub fn range_text(ks: &[usize]) -> String {
    match (ks.first(), ks.last()) {
        (Some(a), Some(b)) if ks.len() > 2 && b - a + 1 == ks.len() => format!("{a}..{b}"),
        _ => ks.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(","),
    }
}

/// "50,000 rows": the rows the silhouette is computed on.
pub fn silhouette_rows_text(sample: usize, rows: usize) -> String {
    format!("{} rows", crate::format::fmt_count(sample.min(rows) as u64))
}

/// " on the GPU" (or CPU, or "GPU and CPU" after a fall-back): where the silhouettes ran; empty when none did.
pub fn silhouette_place_text(place: &str) -> String {
    if place.is_empty() {
        String::new()
    } else {
        format!(" on the {place}")
    }
}

/// The run's settings in one line, for the page.
fn settings_line(cfg: &ChooseKConfig, rows: usize, choice: &KChoice) -> String {
    let p = &cfg.options.params;
    format!(
        "{} customers from {} · k = {} · scaling {:?}{} · {} restarts per fit, seed {} · silhouette on {}{} · \
         {} bootstrap resamples · smallest segment at least {}",
        crate::format::fmt_count(rows as u64),
        cfg.input_label.join(", "),
        range_text(&cfg.options.ks),
        cfg.scale,
        if cfg.prep.log1p.is_empty() { String::new() } else { format!(", log1p on {}", cfg.prep.log1p.join(", ")) },
        p.n_init(),
        p.seed(),
        silhouette_rows_text(cfg.options.sample, rows),
        silhouette_place_text(&choice.silhouette_on),
        cfg.options.bootstrap,
        crate::format::fmt_pct(Some(cfg.options.min_segment_share)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_written_back_as_given() {
        assert_eq!(range_text(&[2, 3, 4, 5]), "2..5");
        assert_eq!(range_text(&[3, 5, 8]), "3,5,8");
        assert_eq!(range_text(&[4]), "4");
    }
}
