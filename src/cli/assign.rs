//! `custseg assign`: scores new customers with a saved model; prints each segment's share against its share at
//! fit time, and the drift of the new data against the training data.

use std::io::Write;
use std::path::PathBuf;

use crate::io::resolve_inputs;
use crate::jobs::assign::{run_assign, AssignConfig, AssignOutcome};
use clap::Args;

use super::csv_args::CsvArgs;
use super::data_args::MissingFlag;
use super::{DeviceArgs, PseudonymArgs};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  custseg segment --input customers_2026-09.parquet --model model.json
  custseg assign --model model.json --input customers_2026-12.parquet -o seg_2026-12.parquet
  custseg assign --model model.json --input 'new/*.parquet' --device cpu --json")]
pub struct AssignArgs {
    /// The model `custseg segment` wrote (model.json).
    #[arg(long)]
    pub model: PathBuf,
    /// Customers to score: a Parquet or CSV (.csv, .csv.gz) file, a folder of them, or a glob. Columns are matched
    /// to the model's features by name.
    #[arg(long, short)]
    pub input: String,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// The customer ID column. Default: the model's.
    #[arg(long)]
    pub id: Option<String>,
    /// What to do with null, NaN or infinite feature values: fail, drop the row, or use the column mean.
    #[arg(long, value_enum, default_value = "fail")]
    pub missing: MissingFlag,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Segments Parquet (id, segment, distance). Default: custseg-out/assigned.parquet.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub pseudonym: PseudonymArgs,
    /// Columns copied into the segments file beside the ID, comma-separated (as `segment --keep`).
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    pub keep: Vec<String>,
    /// Print a machine-readable JSON summary on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: AssignArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    super::set_threads(a.device.threads)?;
    let cfg = AssignConfig {
        model: a.model,
        inputs: resolve_inputs(&a.input)?,
        id_column: a.id,
        missing: a.missing.into(),
        csv_schema: a.csv.overrides()?,
        device: a.device.request(),
        output: a.output.unwrap_or_else(|| PathBuf::from("custseg-out").join("assigned.parquet")),
        pseudonym: a.pseudonym.key()?,
        keep: a.keep,
    };
    let pb = super::spinner("assigning");
    let outcome = run_assign(&cfg);
    pb.finish_and_clear();
    let outcome = outcome?;
    if let Some(d) = &outcome.drift {
        for w in d.warnings() {
            tracing::warn!("{w}");
        }
    }
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&summary_json(&outcome, &cfg))?)?;
    } else {
        write_table(out, &outcome, &cfg)?;
    }
    Ok(())
}

/// Each segment's share now and at fit time.
fn shares(o: &AssignOutcome) -> Vec<(f64, f64)> {
    let now: u64 = o.sizes.iter().sum();
    let then: u64 = o.model.sizes.iter().sum();
    o.sizes
        .iter()
        .zip(&o.model.sizes)
        .map(|(&s, &t)| (s as f64 / now.max(1) as f64, t as f64 / then.max(1) as f64))
        .collect()
}

fn write_table(out: &mut dyn Write, o: &AssignOutcome, cfg: &AssignConfig) -> anyhow::Result<()> {
    writeln!(
        out,
        "{} customers assigned to {} segments ({}){}",
        o.customers,
        o.model.k(),
        o.backend,
        if o.rows_dropped > 0 {
            format!(", {} rows with missing values dropped", o.rows_dropped)
        } else {
            String::new()
        }
    )?;
    writeln!(out, "{:>7}  {:>10}  {:>7}  {:>10}  {:>7}", "segment", "customers", "share", "fit share", "change")?;
    let numbers = o.model.numbers();
    for (j, (now, then)) in shares(o).iter().enumerate() {
        writeln!(
            out,
            "{:>7}  {:>10}  {:>6.1}%  {:>9.1}%  {:>+6.1}pp",
            numbers[j],
            o.sizes[j],
            100.0 * now,
            100.0 * then,
            100.0 * (now - then)
        )?;
    }
    if let Some(d) = &o.drift {
        writeln!(
            out,
            "drift: {:.1}% of customers beyond the training's 99th-percentile distance (1% expected); \
             population stability index per feature:",
            100.0 * d.far_share
        )?;
        for f in &d.features {
            writeln!(out, "  {:<24} {:>6.3}  {}", f.name, f.psi, f.level)?;
        }
    }
    writeln!(out, "segments: {}", cfg.output.display())?;
    Ok(())
}

fn summary_json(o: &AssignOutcome, cfg: &AssignConfig) -> serde_json::Value {
    let numbers = o.model.numbers();
    let segments: Vec<serde_json::Value> = shares(o)
        .iter()
        .enumerate()
        .map(|(j, (now, then))| serde_json::json!({"segment": numbers[j], "customers": o.sizes[j], "share": now, "fit_share": then}))
        .collect();
    serde_json::json!({
        "customers": o.customers,
        "rows_read": o.rows_read,
        "rows_dropped": o.rows_dropped,
        "k": o.model.k(),
        "backend": o.backend,
        "segments": segments,
        "drift": o.drift,
        "drift_warnings": o.drift.as_ref().map(|d| d.warnings()).unwrap_or_default(),
        "segments_file": cfg.output,
        "model_file": cfg.model,
    })
}
