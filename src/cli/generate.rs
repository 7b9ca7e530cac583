//! `custseg generate`: synthetic retail customers with planted segments, for demos, tests and benchmarks.

use std::path::PathBuf;

use clap::Args;
use custseg::generate::{write_customers, GenerateOptions};

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of customers.
    #[arg(long)]
    pub customers: usize,
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
        return Err(custseg::Error::Usage(format!("--segments must be 5 to 8, got {}", a.segments)).into());
    }
    if a.customers == 0 {
        return Err(custseg::Error::Usage("--customers must be at least 1".into()).into());
    }
    custseg::io::atomic::check_writable(&a.output)?;
    let pb = super::spinner("generating customers");
    let opts = GenerateOptions { customers: a.customers, seed: a.seed, segments: a.segments };
    let t = std::time::Instant::now();
    let summary = write_customers(&opts, &a.output)?;
    pb.finish_and_clear();
    tracing::info!(customers = a.customers, seconds = t.elapsed().as_secs_f64(), path = %a.output.display(), "wrote customers");
    let _ = summary;
    Ok(())
}
