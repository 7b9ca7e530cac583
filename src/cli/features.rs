//! `custseg features`: per-customer RFM, value and BG/NBD features from transaction logs, with RFM scores and
//! named segments; prints what happened to every row.

use std::path::PathBuf;

use crate::features::{parse_date, write_features, FeatureOptions, RfmBins, RfmOptions, TxColumns};
use crate::io::resolve_inputs;
use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  custseg features --transactions tx.parquet --as-of 2026-11-01 -o customers.parquet
      RFM features as of a date; then: custseg segment -i customers.parquet
  custseg features --transactions 'logs/*.parquet' --as-of 2026-11-01 --order order_id \\
      --cost cogs --window-days 365 -o customers.parquet
      gross_margin (value tiers, Pareto, CLV on margin) and last-year figures
  custseg features --transactions tx.parquet --as-of 2026-11-01 --no-rfm --json -o f.parquet
  custseg features --transactions 'exports/*.csv.gz' --as-of 2026-11-01 --csv-schema customer_id:utf8 -o f.parquet")]
pub struct FeaturesArgs {
    #[command(flatten)]
    pub pseudonym: super::PseudonymArgs,
    /// Transactions: a Parquet or CSV file (*.csv, *.csv.gz), a folder of them, or a glob.
    #[arg(long)]
    pub transactions: String,
    #[command(flatten)]
    pub csv: super::csv_args::CsvArgs,
    /// The as-of date (YYYY-MM-DD): recency and tenure are counted to it; later rows are excluded and counted.
    #[arg(long)]
    pub as_of: String,
    /// Output Parquet file of per-customer features.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Customer ID column (integers or strings).
    #[arg(long, default_value = "customer_id")]
    pub customer: String,
    /// Date column: Date32/Date64, Timestamp, ISO strings, or YYYYMMDD integers.
    #[arg(long, default_value = "date")]
    pub date: String,
    /// Amount column (net; returns negative).
    #[arg(long, default_value = "amount")]
    pub amount: String,
    /// Order ID column: frequency counts distinct orders (distinct purchase days without it).
    #[arg(long)]
    pub order: Option<String>,
    /// Category column: adds n_categories.
    #[arg(long)]
    pub category: Option<String>,
    /// Cost of goods per line (same currency as the amount): adds gross_margin = sum of (amount − cost); value
    /// tiers, the Pareto share and CLV are then computed on margin.
    #[arg(long, conflicts_with = "margin")]
    pub cost: Option<String>,
    /// Margin per line: adds gross_margin = its sum (instead of --cost).
    #[arg(long)]
    pub margin: Option<String>,
    /// Also compute monetary, frequency and gross margin over the last N days up to --as-of, as columns
    /// monetary_Nd, frequency_Nd and gross_margin_Nd.
    #[arg(long, value_name = "N")]
    pub window_days: Option<u32>,
    /// Explicit RFM score thresholds instead of quintiles, e.g. "r=30,90,180,365;f=2,3,5,10;m=100,250,500,1000".
    #[arg(long)]
    pub rfm_bins: Option<String>,
    /// Leave out the RFM scores, segments, value tiers and CLV columns.
    #[arg(long)]
    pub no_rfm: bool,
    /// Print the row report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(a: FeaturesArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    super::set_threads(a.threads)?;
    let as_of = parse_date(&a.as_of)
        .ok_or_else(|| crate::Error::Usage(format!("--as-of '{}' is not a date (YYYY-MM-DD)", a.as_of)))?;
    let rfm = if a.no_rfm {
        None
    } else {
        let bins = match &a.rfm_bins {
            Some(s) => s.parse::<RfmBins>().map_err(crate::Error::Usage)?,
            None => RfmBins::default(),
        };
        Some(RfmOptions { bins })
    };
    let inputs = resolve_inputs(&a.transactions)?;
    let mut opts = FeatureOptions::new(as_of);
    opts.columns = TxColumns {
        customer: a.customer,
        date: a.date,
        amount: a.amount,
        order: a.order,
        category: a.category,
        cost: a.cost,
        margin: a.margin,
    };
    opts.window_days = a.window_days;
    opts.rfm = rfm;
    opts.pseudonym = a.pseudonym.key()?;
    opts.csv_schema = a.csv.overrides()?;
    let pb = super::spinner("aggregating transactions");
    let t = std::time::Instant::now();
    let report = write_features(&inputs, &opts, &a.output);
    pb.finish_and_clear();
    let report = report?;
    tracing::info!(seconds = t.elapsed().as_secs_f64(), customers = report.customers, "wrote features");
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        let r = &report;
        writeln!(out, "{} customers from {} transaction rows ({} used)", r.customers, r.rows_read, r.rows_used)?;
        for (what, n) in [
            ("after --as-of (excluded)", r.rows_after_as_of),
            ("null customer id (dropped)", r.null_customer_rows),
            ("null amount (dropped)", r.null_amount_rows),
            ("null date (dropped)", r.null_date_rows),
            ("unparsable date (dropped)", r.unparsable_dates),
            ("null order id (dropped)", r.null_order_rows),
            ("null cost or margin (dropped)", r.null_profit_rows),
            ("cost above the amount (kept)", r.cost_above_amount_rows),
            ("null category (kept, not counted as a category)", r.null_category_rows),
            ("zero amount (kept)", r.zero_amount_rows),
            ("negative amount = returns (kept)", r.negative_amount_rows),
        ] {
            if n > 0 {
                writeln!(out, "  {n:>12}  {what}")?;
            }
        }
        if let Some(first) = &r.first_unparsable_date {
            writeln!(out, "  first unparsable date: {first:?}")?;
        }
        if let Some(rfm) = &r.rfm {
            let total = r.customers.max(1) as f64;
            writeln!(out, "RFM segments:")?;
            for s in &rfm.segments {
                writeln!(out, "  {:<20} {:>10}  {:>5.1}%", s.name, s.customers, 100.0 * s.customers as f64 / total)?;
            }
            let basis = if rfm.value_basis == "monetary" { "net spend, monetary" } else { "gross margin" };
            writeln!(out, "value tiers (by {basis}):")?;
            for s in &rfm.tiers {
                writeln!(out, "  {:<20} {:>10}  {:>5.1}%", s.name, s.customers, 100.0 * s.customers as f64 / total)?;
            }
            if let Some(p) = rfm.pareto_share {
                let of = if rfm.value_basis == "monetary" { "revenue" } else { "gross margin" };
                writeln!(out, "{:.1}% of customers make 80% of {of}", 100.0 * p)?;
            }
            if rfm.value_basis != "monetary" {
                writeln!(out, "value tiers, the Pareto share and clv are computed on {}", rfm.value_basis)?;
            }
        }
        for w in &report.warnings {
            writeln!(out, "warning: {w}")?;
        }
        writeln!(out, "features: {}", a.output.display())?;
    }
    Ok(())
}
