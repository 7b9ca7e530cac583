//! `custseg segment`: the main job. Turns flags into a validated `SegmentConfig`, runs it, prints the table.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use custseg::io::{resolve_inputs, Missing, ReadOptions};
use custseg::jobs::segment::{run_segment, SegmentConfig};
use custseg::kmeans::{Init, InitSample, KMeansParams};
use custseg::prep::{ColumnPrep, ScaleMethod};

use super::{DeviceArgs, PseudonymArgs};

/// The bundled 20k-customer sample (`data/customers_sample.parquet`), embedded so `segment` works from any folder.
const SAMPLE: &[u8] = include_bytes!("../../data/customers_sample.parquet");
const SAMPLE_NAME: &str = "<bundled sample: data/customers_sample.parquet>";

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  custseg segment --report report.html
  custseg segment -i customers.parquet -k 6 --signed-log monetary --clip returns_share
  custseg segment -i 'data/*.parquet' --missing mean --profile p.json --json")]
pub struct SegmentArgs {
    /// Input: a Parquet file, a folder of Parquet files, or a glob. Default: the bundled sample.
    #[arg(long, short)]
    pub input: Option<String>,
    /// The customer ID column (string or integer; the output keeps its type).
    #[arg(long, default_value = "customer_id")]
    pub id: String,
    /// Feature columns, comma-separated. Default: every numeric column except the ID and the weight, less a
    /// features file's derived columns (BG/NBD inputs, R/F/M scores, CLV) and, with --missing fail, its
    /// null-by-design columns (days_between_purchases, returns_share) where they have nulls; the log says which.
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Number of segments. Default: 8, or the --warm-start model's.
    #[arg(long, short)]
    pub k: Option<usize>,
    /// Column scaling: zscore, minmax, robust (median and IQR) or none.
    #[arg(long, value_enum, default_value = "zscore")]
    pub scale: ScaleFlag,
    /// Columns to log1p before scaling (heavy-tailed money columns), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub log1p: Vec<String>,
    /// Columns to map through sign(x)·ln(1+|x|) before scaling: a log for columns with returns (net spend can be
    /// negative); centroids are mapped back.
    #[arg(long, value_delimiter = ',')]
    pub signed_log: Vec<String>,
    /// Columns to winsorise before scaling: values beyond the --clip-quantiles are set to them. The limits are
    /// kept in the model and applied again by `assign`.
    #[arg(long, value_delimiter = ',')]
    pub clip: Vec<String>,
    /// The lower and upper percentile of --clip (exact, NumPy's linear interpolation).
    #[arg(long, default_value = "0.5,99.5", value_name = "LO,HI", value_parser = custseg::prep::parse_clip_quantiles)]
    pub clip_quantiles: (f64, f64),
    /// On a `custseg features` file, leave the money and count columns raw instead of the default
    /// preparation (--signed-log on monetary and avg_order_value, --log1p on frequency, see docs/RFM.md).
    #[arg(long)]
    pub no_auto_prep: bool,
    /// Warn about every segment holding less than this share of the customers.
    #[arg(long, default_value_t = custseg::jobs::summary::DEFAULT_MIN_SEGMENT_SHARE, value_name = "SHARE")]
    pub min_segment_share: f64,
    /// A column of sample weights.
    #[arg(long)]
    pub weight: Option<String>,
    /// What to do with null, NaN or infinite feature values: fail, drop the row, or use the column mean.
    #[arg(long, value_enum, default_value = "fail")]
    pub missing: MissingFlag,
    /// Initialisation: k-means++ (greedy, as scikit-learn) or random rows.
    #[arg(long, value_enum, default_value = "kmeans++")]
    pub init: InitFlag,
    /// Rows k-means++ seeds from: auto (all rows up to max(100000, 256·k), a uniform sample of that size
    /// above), full (every row, as scikit-learn), or a number of rows.
    #[arg(long, default_value = "auto", value_parser = parse_init_sample)]
    pub init_sample: InitSample,
    /// Restarts; the run with the lowest inertia is kept. Default: 1 for k-means++, 10 for random.
    #[arg(long)]
    pub n_init: Option<usize>,
    /// Maximum Lloyd iterations per run.
    #[arg(long, default_value_t = 300)]
    pub max_iter: usize,
    /// Convergence tolerance, relative to the mean feature variance (as scikit-learn).
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f64,
    /// Random seed: the same seed gives the same segments, whatever the thread count.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
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
    #[arg(long, default_value_t = custseg::previous::DEFAULT_MATCH_RADIUS, value_parser = parse_radius)]
    pub match_radius: f64,
    /// Print a machine-readable JSON summary on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ScaleFlag {
    Zscore,
    Minmax,
    Robust,
    None,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MissingFlag {
    Fail,
    Drop,
    Mean,
}

impl From<MissingFlag> for Missing {
    fn from(m: MissingFlag) -> Missing {
        match m {
            MissingFlag::Fail => Missing::Fail,
            MissingFlag::Drop => Missing::Drop,
            MissingFlag::Mean => Missing::Mean,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum InitFlag {
    #[value(name = "kmeans++", alias = "k-means++")]
    KMeansPlusPlus,
    Random,
}

fn parse_radius(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err(format!("expected a distance ≥ 0 (in RMS customer-to-centre distances), got '{s}'")),
    }
}

fn parse_init_sample(s: &str) -> Result<InitSample, String> {
    match s {
        "auto" => Ok(InitSample::Auto),
        "full" => Ok(InitSample::Full),
        _ => match s.parse::<usize>() {
            Ok(0) | Err(_) => Err(format!("expected auto, full or a number of rows > 0, got '{s}'")),
            Ok(r) => Ok(InitSample::Rows(r)),
        },
    }
}

/// Removes the temporary copy of the embedded sample when dropped.
struct TempSample(PathBuf);
impl Drop for TempSample {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn run(a: SegmentArgs) -> anyhow::Result<()> {
    super::set_threads(a.device.threads)?;
    custseg::jobs::summary::check_min_segment_share(a.min_segment_share)?;
    let init = match a.init {
        InitFlag::KMeansPlusPlus => Init::KMeansPlusPlus,
        InitFlag::Random => Init::Random,
    };
    // Without --k, a warm start keeps its model's k (the job reads the model again and checks it in full).
    let k = match (a.k, &a.warm_start) {
        (Some(k), _) => k,
        (None, Some(m)) => custseg::model::Model::load(m)?.k(),
        (None, None) => 8,
    };
    let mut params =
        KMeansParams::new(k).max_iter(a.max_iter).tol(a.tol).init(init).seed(a.seed).init_sample(a.init_sample);
    if let Some(n) = a.n_init {
        params = params.n_init(n);
    }
    let params = params.check().map_err(custseg::Error::from)?;

    let mut _sample = None;
    let (inputs, input_label) = match &a.input {
        Some(spec) => {
            let inputs = resolve_inputs(spec)?;
            let label = inputs.iter().map(|p| p.display().to_string()).collect();
            (inputs, label)
        }
        None => {
            let p = std::env::temp_dir().join(format!("custseg-sample-{}.parquet", std::process::id()));
            std::fs::write(&p, SAMPLE).with_context(|| format!("cannot write {}", p.display()))?;
            tracing::info!("no --input: segmenting the bundled 20k-customer sample");
            _sample = Some(TempSample(p.clone()));
            (vec![p], vec![SAMPLE_NAME.to_string()])
        }
    };
    let out_dir = PathBuf::from("custseg-out");
    let cfg = SegmentConfig {
        inputs,
        input_label,
        read: ReadOptions {
            id_column: a.id,
            features: a.features,
            weight: a.weight,
            missing: a.missing.into(),
            ..ReadOptions::default()
        },
        scale: match a.scale {
            ScaleFlag::Zscore => ScaleMethod::Zscore,
            ScaleFlag::Minmax => ScaleMethod::Minmax,
            ScaleFlag::Robust => ScaleMethod::Robust,
            ScaleFlag::None => ScaleMethod::None,
        },
        prep: ColumnPrep { log1p: a.log1p, signed_log: a.signed_log, clip: a.clip, clip_quantiles: a.clip_quantiles },
        default_prep: (!a.no_auto_prep).then(custseg::features::default_prep),
        min_segment_share: a.min_segment_share,
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
    };
    let pb = super::spinner("segmenting");
    let outcome = run_segment(&cfg);
    pb.finish_and_clear();
    let outcome = outcome?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if a.json {
        super::table::write_json(
            &mut out,
            &outcome.model,
            outcome.matching.as_ref(),
            Some(&outcome.explanation.rules),
            &cfg.output,
            &cfg.model,
        )?;
    } else {
        use std::io::Write;
        super::table::write_table(&mut out, &outcome.model, &cfg.output, &cfg.model)?;
        let names = outcome.explanation.names_by_number();
        write!(out, "{}", custseg::explain::render_rules(&outcome.explanation.rules, &names))?;
        if let (Some(m), Some(prev)) = (&outcome.matching, &cfg.previous) {
            super::table::write_matching(&mut out, m, prev)?;
        }
        if let Some(p) = &outcome.profiles {
            write!(out, "{}", custseg::report::render_table(p))?;
            for (what, path) in [("profiles", &cfg.profile), ("report", &cfg.report)] {
                if let Some(path) = path {
                    writeln!(out, "{what}: {}", path.display())?;
                }
            }
        }
    }
    Ok(())
}
