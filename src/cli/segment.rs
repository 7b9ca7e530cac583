//! `custseg segment`: the main job. Turns flags into a validated `SegmentConfig`, runs it, prints the table.

use std::path::PathBuf;

use crate::evaluate::choose::{check_options, parse_k_range, ChooseOptions};
use crate::jobs::segment::{run_segment, SegmentConfig};
use clap::Args;

use super::column_args::ColumnArgs;
use super::data_args::{ChooseArgs, DataArgs, FitArgs};
use super::{DeviceArgs, PseudonymArgs};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  custseg segment --report report.html
  custseg segment -i customers.parquet -k 6 --signed-log monetary --clip returns_share
  custseg segment -i 'data/*.parquet' --missing mean --profile p.json --json
  custseg segment -i customers.csv --categorical region,channel --profile-by store --keep email")]
pub struct SegmentArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub columns: ColumnArgs,
    /// Number of segments, or auto: chosen by choose-k's rule over --k-range (see `custseg choose-k --help`).
    /// Default: auto, or the --warm-start model's.
    #[arg(long, short, value_parser = parse_k)]
    pub k: Option<KFlag>,
    /// With --k auto: the values of k to choose from, a range (2..12) or a list (3,5,8).
    #[arg(long, value_name = "RANGE")]
    pub k_range: Option<String>,
    #[command(flatten)]
    pub fit: FitArgs,
    #[command(flatten)]
    pub choose: ChooseArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(flatten)]
    pub pseudonym: PseudonymArgs,
    /// Segments Parquet (id, segment, distance). Default: custseg-out/segments.parquet.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Model JSON. Default: custseg-out/model.json.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Also write per-segment profiles (size, share, revenue share, means, medians, index, description) as JSON.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Also write a self-contained HTML report of the segments (no network needed to view it).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The money column: segments are numbered by its descending mean (else by descending size), and profiles
    /// give each segment's share of it (default: `monetary` if it is a feature).
    #[arg(long)]
    pub money_column: Option<String>,
    /// Start Lloyd from this model's centroids (one run): a model `segment` wrote on the same features, e.g. the
    /// last period's, so that the new segments start where the old ones were.
    #[arg(long, value_name = "MODEL")]
    pub warm_start: Option<PathBuf>,
    /// The previous period's model: each new segment whose centroid is within the match radius of one of its
    /// segments (optimal one-to-one matching) keeps that segment's number; the others get fresh numbers, and
    /// segments that vanished are listed. Needs the same features.
    #[arg(long, value_name = "MODEL")]
    pub previous: Option<PathBuf>,
    /// With --previous: the largest centroid distance that still counts as the same segment, in units of the new
    /// fit's RMS distance from a customer to its centre (scaled units).
    #[arg(long, default_value_t = crate::previous::DEFAULT_MATCH_RADIUS, value_parser = parse_radius)]
    pub match_radius: f64,
    /// Print a machine-readable JSON summary on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `--k`: a number of segments, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KFlag {
    Auto,
    Fixed(usize),
}

fn parse_radius(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err(format!("expected a distance ≥ 0 (in RMS customer-to-centre distances), got '{s}'")),
    }
}

fn parse_k(s: &str) -> Result<KFlag, String> {
    match s {
        "auto" => Ok(KFlag::Auto),
        _ => s
            .parse::<usize>()
            .map(KFlag::Fixed)
            .map_err(|_| format!("expected a number of segments or auto, got '{s}'")),
    }
}

/// The values of k `--k auto` chooses from by default.
const DEFAULT_K_RANGE: &str = "2..12";
/// Bootstrap resamples of `--k auto` by default (choose-k's 5 would double its run time).
const AUTO_BOOTSTRAP: usize = 3;
/// Restarts per fit of `--k auto` with k-means++ when --n-init is not given.
const AUTO_N_INIT: usize = 3;

pub fn run(a: SegmentArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    super::set_threads(a.device.threads)?;
    crate::jobs::summary::check_min_segment_share(a.choose.min_segment_share)?;
    // Without --k, a warm start keeps its model's k (the job reads the model again and checks it in full).
    let k = match (a.k, &a.warm_start) {
        (Some(k), _) => k,
        (None, Some(m)) => KFlag::Fixed(crate::model::Model::load(m)?.k()),
        (None, None) => KFlag::Auto,
    };
    let (params, choose_k) = match k {
        KFlag::Fixed(k) => {
            if let Some(flag) = a.k_range.as_ref().map(|r| format!("--k-range {r}")).or(a.choose.only_for_choice()) {
                return Err(crate::Error::Usage(format!(
                    "{flag} applies only with --k auto, and this run has k = {k}: drop one of them"
                ))
                .into());
            }
            (a.fit.params(k, None)?, None)
        }
        KFlag::Auto => {
            if let Some(m) = &a.warm_start {
                return Err(crate::Error::Usage(format!(
                    "--k auto chooses k, --warm-start {} takes its model's: drop --k auto",
                    m.display()
                ))
                .into());
            }
            let ks = parse_k_range("--k-range", a.k_range.as_deref().unwrap_or(DEFAULT_K_RANGE))?;
            let params = a.fit.params(ks[0], Some(AUTO_N_INIT))?;
            let o = ChooseOptions {
                ks,
                params: params.clone(),
                sample: a.choose.sample(),
                bootstrap: a.choose.bootstrap.unwrap_or(AUTO_BOOTSTRAP),
                min_segment_share: a.choose.min_segment_share,
            };
            check_options(&o)?;
            (params, Some(o))
        }
    };
    // Every flag is checked before the bundled sample is written out or any input is read.
    let read = a.data.read_options()?;
    let columns = a.columns.options();
    columns.check(&read)?;
    let inputs = a.data.inputs()?;
    let out_dir = PathBuf::from("custseg-out");
    let cfg = SegmentConfig {
        inputs: inputs.paths.clone(),
        input_label: inputs.label.clone(),
        read,
        scale: a.data.scale_method(),
        prep: a.data.column_prep(),
        default_prep: a.data.default_prep(),
        min_segment_share: a.choose.min_segment_share,
        params,
        device: a.device.request(),
        output: a.output.unwrap_or_else(|| out_dir.join("segments.parquet")),
        model: a.model.unwrap_or_else(|| out_dir.join("model.json")),
        profile: a.profile,
        report: a.report,
        money_column: a.money_column,
        warm_start: a.warm_start,
        previous: a.previous,
        match_radius: a.match_radius,
        pseudonym: a.pseudonym.key()?,
        choose_k,
        columns,
    };
    let pb = super::spinner("segmenting");
    let outcome = run_segment(&cfg);
    pb.finish_and_clear();
    let outcome = outcome?;
    if a.json {
        super::table::write_json(out, &outcome, &cfg.output, &cfg.model)?;
    } else {
        super::table::write_table(out, &outcome.model, &cfg.output, &cfg.model)?;
        write!(out, "{}", crate::report::render_columns(&outcome.columns))?;
        if let Some(c) = &outcome.choice {
            super::choose_k::write_choice_line(out, c)?;
            if let Some(o) = &cfg.choose_k {
                writeln!(
                    out,
                    "  (k from {}; silhouette on {}{})",
                    crate::jobs::choose_k::range_text(&o.ks),
                    crate::jobs::choose_k::silhouette_rows_text(o.sample, outcome.model.input.rows_clustered),
                    crate::jobs::choose_k::silhouette_place_text(&c.silhouette_on)
                )?;
            }
        }
        let names = outcome.explanation.names_by_number();
        write!(out, "{}", crate::explain::render_rules(&outcome.explanation.rules, &names))?;
        if let (Some(m), Some(prev)) = (&outcome.matching, &cfg.previous) {
            super::table::write_matching(out, m, prev)?;
        }
        if let Some(p) = &outcome.profiles {
            write!(out, "{}", crate::report::render_table(p))?;
            for (what, path) in [("profiles", &cfg.profile), ("report", &cfg.report)] {
                if let Some(path) = path {
                    writeln!(out, "{what}: {}", path.display())?;
                }
            }
        }
    }
    Ok(())
}
