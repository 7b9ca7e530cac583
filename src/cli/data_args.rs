//! Flags shared by the commands that read customers and fit K-means on them (`segment`, `choose-k`): the input and
//! its preparation ([`DataArgs`]), the K-means settings ([`FitArgs`]) and the choice of K ([`ChooseArgs`]).

use std::path::PathBuf;

use crate::evaluate::choose::{DEFAULT_MIN_SEGMENT_SHARE, DEFAULT_SAMPLE};
use crate::io::{resolve_inputs, Missing, ReadOptions};
use crate::kmeans::{Init, InitSample, KMeansParams, ValidParams};
use crate::prep::{ColumnPrep, ScaleMethod};
use anyhow::Context;
use clap::Args;

use super::csv_args::CsvArgs;

/// The bundled 20k-customer sample (`data/customers_sample.parquet`), embedded so `segment` works from any folder.
const SAMPLE: &[u8] = include_bytes!("../../data/customers_sample.parquet");
const SAMPLE_NAME: &str = "<bundled sample: data/customers_sample.parquet>";

/// The input and how its features are prepared.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// Input: a Parquet or CSV (.csv, .csv.gz) file, a folder of them, or a glob. Default: the bundled sample.
    #[arg(long, short)]
    pub input: Option<String>,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// The customer ID column (string or integer; the output keeps its type).
    #[arg(long, default_value = "customer_id")]
    pub id: String,
    /// Feature columns, comma-separated. Default: every numeric column except the ID and the weight, less a
    /// features file's derived columns (BG/NBD inputs, R/F/M scores, CLV) and, with --missing fail, its
    /// null-by-design columns (days_between_purchases, returns_share) where they have nulls; the log says which.
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
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
    #[arg(long, default_value = "0.5,99.5", value_name = "LO,HI", value_parser = crate::prep::parse_clip_quantiles)]
    pub clip_quantiles: (f64, f64),
    /// On a `custseg features` file, leave the money and count columns raw instead of the default
    /// preparation (--signed-log on monetary and avg_order_value, --log1p on frequency, see docs/RFM.md).
    #[arg(long)]
    pub no_auto_prep: bool,
    /// A column of sample weights.
    #[arg(long)]
    pub weight: Option<String>,
    /// What to do with null, NaN or infinite feature values: fail, drop the row, or use the column mean.
    #[arg(long, value_enum, default_value = "fail")]
    pub missing: MissingFlag,
}

/// The K-means settings other than K.
#[derive(Debug, Args, Clone)]
pub struct FitArgs {
    /// Initialisation: k-means++ (greedy, as scikit-learn) or random rows.
    #[arg(long, value_enum, default_value = "kmeans++")]
    pub init: InitFlag,
    /// Rows k-means++ seeds from: auto (all rows up to max(100000, 256·k), a uniform sample of that size
    /// above), full (every row, as scikit-learn), or a number of rows.
    #[arg(long, default_value = "auto", value_parser = parse_init_sample)]
    pub init_sample: InitSample,
    /// Restarts; the run with the lowest inertia is kept. Default: 1 for k-means++, 10 for random (3 for
    /// k-means++ when K is chosen: choose-k, segment --k auto).
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
}

/// How K is chosen (`choose-k`, and `segment --k auto`).
#[derive(Debug, Args, Clone)]
pub struct ChooseArgs {
    /// Rows of the seeded uniform sample the silhouette is computed on exactly (every row when there are fewer).
    /// [default: 50000]
    #[arg(long)]
    pub sample: Option<usize>,
    /// Bootstrap resamples for each K's stability (the mean adjusted Rand index between the resamples' fits,
    /// compared on the full data); 0 skips it. Default: 5 for choose-k, 3 for segment --k auto.
    #[arg(long)]
    pub bootstrap: Option<usize>,
    /// The smallest segment's share of customers a recommended K must reach.
    #[arg(long, default_value_t = DEFAULT_MIN_SEGMENT_SHARE)]
    pub min_segment_share: f64,
}

impl ChooseArgs {
    /// `--sample`, or its default.
    pub fn sample(&self) -> usize {
        self.sample.unwrap_or(DEFAULT_SAMPLE)
    }

    /// The first flag given that only the choice of K reads (`--sample`, `--bootstrap`), as the user wrote it:
    /// `segment` with a fixed K refuses it rather than ignoring it. `--min-segment-share` is not one: `segment`
    /// also warns about segments below it.
    pub fn only_for_choice(&self) -> Option<String> {
        match (self.sample, self.bootstrap) {
            (Some(s), _) => Some(format!("--sample {s}")),
            (None, Some(b)) => Some(format!("--bootstrap {b}")),
            (None, None) => None,
        }
    }
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
pub struct TempSample(PathBuf);
impl Drop for TempSample {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The input files, how the model names them, and the temporary copy of the bundled sample to keep alive.
pub struct Inputs {
    pub paths: Vec<PathBuf>,
    pub label: Vec<String>,
    pub _sample: Option<TempSample>,
}

impl DataArgs {
    /// The input files: `--input` resolved, or a temporary copy of the bundled sample.
    pub fn inputs(&self) -> anyhow::Result<Inputs> {
        match &self.input {
            Some(spec) => {
                let paths = resolve_inputs(spec)?;
                let label = paths.iter().map(|p| p.display().to_string()).collect();
                Ok(Inputs { paths, label, _sample: None })
            }
            None => {
                let p = std::env::temp_dir().join(format!("custseg-sample-{}.parquet", std::process::id()));
                std::fs::write(&p, SAMPLE).with_context(|| format!("cannot write {}", p.display()))?;
                tracing::info!("no --input: using the bundled 20k-customer sample");
                Ok(Inputs {
                    paths: vec![p.clone()],
                    label: vec![SAMPLE_NAME.to_string()],
                    _sample: Some(TempSample(p)),
                })
            }
        }
    }

    /// How to read the input; a bad `--csv-schema` is an error here, before any row is read.
    pub fn read_options(&self) -> crate::Result<ReadOptions> {
        Ok(ReadOptions {
            id_column: self.id.clone(),
            features: self.features.clone(),
            weight: self.weight.clone(),
            missing: self.missing.into(),
            csv_schema: self.csv.overrides()?,
            ..ReadOptions::default()
        })
    }

    /// A features file's default preparation, unless `--no-auto-prep`.
    pub fn default_prep(&self) -> Option<crate::prep::DefaultPrep> {
        (!self.no_auto_prep).then(crate::features::default_prep)
    }

    /// Clipping, `log1p` and the signed log by column.
    pub fn column_prep(&self) -> ColumnPrep {
        ColumnPrep {
            log1p: self.log1p.clone(),
            signed_log: self.signed_log.clone(),
            clip: self.clip.clone(),
            clip_quantiles: self.clip_quantiles,
        }
    }

    pub fn scale_method(&self) -> ScaleMethod {
        match self.scale {
            ScaleFlag::Zscore => ScaleMethod::Zscore,
            ScaleFlag::Minmax => ScaleMethod::Minmax,
            ScaleFlag::Robust => ScaleMethod::Robust,
            ScaleFlag::None => ScaleMethod::None,
        }
    }
}

impl FitArgs {
    /// The checked parameters for `k`; `default_n_init` replaces the usual default restarts of k-means++ when
    /// `--n-init` is not given.
    pub fn params(&self, k: usize, default_n_init: Option<usize>) -> anyhow::Result<ValidParams> {
        let init = match self.init {
            InitFlag::KMeansPlusPlus => Init::KMeansPlusPlus,
            InitFlag::Random => Init::Random,
        };
        let mut params = KMeansParams::new(k)
            .max_iter(self.max_iter)
            .tol(self.tol)
            .init(init)
            .seed(self.seed)
            .init_sample(self.init_sample);
        match (self.n_init, default_n_init, self.init) {
            (Some(n), _, _) => params = params.n_init(n),
            (None, Some(n), InitFlag::KMeansPlusPlus) => params = params.n_init(n),
            _ => {}
        }
        Ok(params.check().map_err(crate::Error::from)?)
    }
}
