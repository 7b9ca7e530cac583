//! `custseg compare`: who moved between segments from one period to the next, as a table, JSON, a movers file
//! and an HTML page.

use std::io::Write;
use std::path::PathBuf;

use crate::format::{fmt_count, fmt_pct};
use crate::io::resolve_inputs;
use crate::jobs::compare::{run_compare, CompareConfig, Comparison};
use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  custseg compare --before seg_2026-09.parquet --after seg_2026-12.parquet
  custseg compare --before feat_sep.parquet --after feat_dec.parquet --column rfm_segment --report flows.html
  custseg compare --before a.parquet --after b.parquet --output movers.parquet --json")]
pub struct CompareArgs {
    /// The earlier period: a segments file (or any file with an ID and a segment column), a folder or a glob.
    #[arg(long)]
    pub before: String,
    /// The later period, likewise.
    #[arg(long)]
    pub after: String,
    /// The customer ID column, in both files.
    #[arg(long, default_value = "customer_id")]
    pub id: String,
    /// The segment column to compare: `segment` in segments files, `rfm_segment` in features files.
    #[arg(long, default_value = "segment")]
    pub column: String,
    /// Write the customers who moved (ID, from, to) to this Parquet file.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Write a self-contained HTML page of the flows.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub pseudonym: super::PseudonymArgs,
    /// Print a machine-readable JSON summary on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: CompareArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    if let Some(p) = &a.report {
        crate::io::atomic::check_writable(p)?;
    }
    let cfg = CompareConfig {
        before: resolve_inputs(&a.before)?,
        after: resolve_inputs(&a.after)?,
        id_column: a.id,
        column: a.column,
        movers: a.output,
        pseudonym: a.pseudonym.key()?,
    };
    let pb = super::spinner("comparing");
    let c = run_compare(&cfg);
    pb.finish_and_clear();
    let c = c?;
    if let Some(p) = &a.report {
        crate::report::write_flows_html(&c, &a.before, &a.after, p)?;
    }
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&c.to_json())?)?;
        return Ok(());
    }
    write_table(out, &c)?;
    if let (Some(p), Some(n)) = (&cfg.movers, c.movers_written) {
        writeln!(out, "movers: {} ({} customers)", p.display(), fmt_count(n))?;
    }
    if let Some(p) = &a.report {
        writeln!(out, "report: {}", p.display())?;
    }
    Ok(())
}

fn write_table(out: &mut dyn Write, c: &Comparison) -> anyhow::Result<()> {
    writeln!(
        out,
        "{} customers in both periods, {} moved ({}); {} entered, {} left",
        fmt_count(c.in_both()),
        fmt_count(c.moved()),
        fmt_pct((c.in_both() > 0).then(|| c.moved() as f64 / c.in_both() as f64)),
        fmt_count(c.entered.iter().sum()),
        fmt_count(c.left.iter().sum())
    )?;
    for f in c.biggest_flows(5) {
        writeln!(out, "  {f}")?;
    }
    let name = |j: usize| c.segments[j].clone();
    let width = (0..c.segments.len()).map(|j| name(j).len()).max().unwrap_or(4).max(11);
    writeln!(out, "transitions (customers; rows before, columns after):")?;
    let mut header = format!("{:>width$}", "before\\after");
    for j in 0..c.segments.len() {
        header.push_str(&format!("  {:>width$}", name(j)));
    }
    header.push_str(&format!("  {:>width$}  {:>9}", "left", "retention"));
    writeln!(out, "{header}")?;
    for f in 0..c.segments.len() {
        let mut line = format!("{:>width$}", name(f));
        for t in 0..c.segments.len() {
            line.push_str(&format!("  {:>width$}", fmt_count(c.counts[f][t])));
        }
        line.push_str(&format!("  {:>width$}  {:>9}", fmt_count(c.left[f]), fmt_pct(c.retention(f))));
        writeln!(out, "{line}")?;
    }
    let mut line = format!("{:>width$}", "entered");
    for t in 0..c.segments.len() {
        line.push_str(&format!("  {:>width$}", fmt_count(c.entered[t])));
    }
    writeln!(out, "{line}")?;
    Ok(())
}
