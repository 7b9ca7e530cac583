//! `custseg choose-k`: turns flags into a `ChooseKConfig`, runs it, prints the table of every k (or JSON) with the
//! recommendation.

use std::io::Write;
use std::path::PathBuf;

use crate::evaluate::choose::{parse_k_range, ChooseOptions, KChoice, DEFAULT_BOOTSTRAP};
use crate::format::{fmt_num, fmt_pct};
use crate::jobs::choose_k::{run_choose_k, ChooseKConfig};
use clap::Args;

use super::column_args::CategoricalArgs;
use super::data_args::{ChooseArgs, DataArgs, FitArgs};
use super::DeviceArgs;

/// Restarts per fit with k-means++ when --n-init is not given.
const CHOOSE_N_INIT: usize = 3;

#[derive(Debug, Args)]
#[command(after_help = "The rule: the k with the best silhouette among those whose smallest segment holds at least \
--min-segment-share of customers and whose stability is at least 0.8 (ties to the smaller k). When no k qualifies, \
the best silhouette of every k tried, and the reason says so.")]
pub struct ChooseKArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub categorical: CategoricalArgs,
    /// The values of k to try: a range (2..12, both ends included) or a list (3,5,8).
    #[arg(long, short, default_value = "2..12", value_name = "RANGE")]
    pub k: String,
    #[command(flatten)]
    pub fit: FitArgs,
    #[command(flatten)]
    pub choose: ChooseArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Also write a self-contained HTML page with the elbow and the indices against k, the k chosen marked.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print {"recommended_k", "reason", "rows": [...]} as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: ChooseKArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    super::set_threads(a.device.threads)?;
    let ks = parse_k_range("--k", &a.k)?;
    let params = a.fit.params(ks[0], Some(CHOOSE_N_INIT))?;
    let options = ChooseOptions {
        ks,
        params,
        sample: a.choose.sample(),
        bootstrap: a.choose.bootstrap.unwrap_or(DEFAULT_BOOTSTRAP),
        min_segment_share: a.choose.min_segment_share,
    };
    crate::evaluate::choose::check_options(&options)?;
    // Every flag is checked before the bundled sample is written out or any input is read.
    let read = a.data.read_options()?;
    let columns = a.categorical.options();
    columns.check(&read)?;
    let inputs = a.data.inputs()?;
    let cfg = ChooseKConfig {
        inputs: inputs.paths.clone(),
        input_label: inputs.label.clone(),
        read,
        scale: a.data.scale_method(),
        prep: a.data.column_prep(),
        default_prep: a.data.default_prep(),
        options,
        device: a.device.request(),
        report: a.report.clone(),
        columns,
    };
    let pb = super::spinner("choosing k");
    let outcome = run_choose_k(&cfg);
    pb.finish_and_clear();
    let outcome = outcome?;
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&outcome.choice)?)?;
    } else {
        writeln!(
            out,
            "{} customers, {}, k = {}, silhouette on {}{}",
            crate::format::fmt_count(outcome.rows as u64),
            outcome.feature_count(),
            crate::jobs::choose_k::range_text(&cfg.options.ks),
            crate::jobs::choose_k::silhouette_rows_text(cfg.options.sample, outcome.rows),
            crate::jobs::choose_k::silhouette_place_text(&outcome.choice.silhouette_on),
        )?;
        write_rows(out, &outcome.choice)?;
        write_choice_line(out, &outcome.choice)?;
        if let Some(p) = &cfg.report {
            writeln!(out, "report: {}", p.display())?;
        }
    }
    if outcome.choice.recommended_k.is_none() {
        return Err(crate::Error::Data(outcome.choice.reason.clone()).into());
    }
    Ok(())
}

/// The table of every k's figures; a failed k's row says why.
fn write_rows(out: &mut dyn Write, c: &KChoice) -> anyhow::Result<()> {
    let num = |v: Option<f64>| v.map_or("–".to_string(), fmt_num);
    let mut rows =
        vec![["k", "inertia", "silhouette", "davies_bouldin", "calinski_harabasz", "min_share", "stability"]
            .map(String::from)
            .to_vec()];
    let mut notes = vec![String::new()];
    for r in &c.rows {
        rows.push(vec![
            r.k.to_string(),
            num(r.inertia),
            num(r.silhouette),
            num(r.davies_bouldin),
            num(r.calinski_harabasz),
            fmt_pct(r.min_share),
            num(r.stability),
        ]);
        notes.push(match (&r.error, Some(r.k) == c.recommended_k) {
            (Some(e), _) => format!("failed: {e}"),
            (None, true) => "<- recommended".into(),
            _ => String::new(),
        });
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for (r, note) in rows.iter().zip(&notes) {
        let line: Vec<String> = r.iter().zip(&widths).map(|(s, w)| format!("{s:>w$}")).collect();
        writeln!(out, "{}", format!("{}  {note}", line.join("  ")).trim_end())?;
    }
    Ok(())
}

/// The recommendation in one line: which k and why.
pub fn write_choice_line(out: &mut dyn Write, c: &KChoice) -> anyhow::Result<()> {
    match c.recommended_k {
        Some(k) => writeln!(out, "chosen k = {k}: {}", c.reason)?,
        None => writeln!(out, "no k chosen: {}", c.reason)?,
    }
    Ok(())
}
