//! `custseg generate`: synthetic retail customers with planted segments, for demos, tests and benchmarks.

use std::path::PathBuf;

use crate::generate::{write_customers, GenerateOptions};
use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  custseg generate --customers 200000 -o customers.parquet
  custseg generate --customers 50000 --segments 8 --seed 7 -o demo.parquet
  custseg generate --transactions 2000000 --as-of 2026-11-01 -o tx.parquet")]
pub struct GenerateArgs {
    /// Number of customers (a customers table with planted segments).
    #[arg(long, required_unless_present = "transactions", conflicts_with = "transactions")]
    pub customers: Option<usize>,
    /// Number of transactions (a transaction log for `custseg features`) instead of customers.
    #[arg(long)]
    pub transactions: Option<usize>,
    /// With --transactions: the as-of date the log ends at (YYYY-MM-DD).
    #[arg(long, default_value = "2026-11-01")]
    pub as_of: String,
    /// Random seed; the same seed gives the same file.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of planted segments (5 to 8).
    #[arg(long, default_value_t = 6)]
    pub segments: usize,
    /// Output Parquet file.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(a: GenerateArgs) -> anyhow::Result<()> {
    super::set_threads(a.threads)?;
    if !(5..=8).contains(&a.segments) {
        return Err(crate::Error::Usage(format!("--segments must be 5 to 8, got {}", a.segments)).into());
    }
    crate::io::atomic::check_writable(&a.output)?;
    if let Some(n_tx) = a.transactions {
        let as_of = crate::features::parse_date(&a.as_of)
            .ok_or_else(|| crate::Error::Usage(format!("--as-of '{}' is not a date (YYYY-MM-DD)", a.as_of)))?;
        let pb = super::spinner("generating transactions");
        let r = crate::features::write_transactions(n_tx, a.seed, as_of, &a.output);
        pb.finish_and_clear();
        r?;
        tracing::info!(transactions = n_tx, path = %a.output.display(), "wrote transactions");
        return Ok(());
    }
    let customers = a.customers.unwrap_or(0);
    if customers == 0 {
        return Err(crate::Error::Usage("--customers must be at least 1".into()).into());
    }
    let pb = super::spinner("generating customers");
    let opts = GenerateOptions { customers, seed: a.seed, segments: a.segments };
    let t = std::time::Instant::now();
    let summary = write_customers(&opts, &a.output)?;
    pb.finish_and_clear();
    tracing::info!(customers, seconds = t.elapsed().as_secs_f64(), path = %a.output.display(), "wrote customers");
    let _ = summary;
    Ok(())
}
