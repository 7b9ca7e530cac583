//! Command-line definition (clap derive) and dispatch. Flags stay here; each command turns them into the
//! library's validated config before any work starts. The binary runs [`run`]; the Python package runs the job
//! commands in-process through [`run_embedded`] (so its flags, checks and messages are the CLI's).

mod assign;
mod bench;
mod choose_k;
mod column_args;
mod compare;
mod csv_args;
mod data_args;
mod devices;
mod embedded;
mod features;
mod generate;
mod logging;
mod segment;
mod table;

use std::io::IsTerminal;

use clap::{Args, Parser, Subcommand};

pub use embedded::{run_embedded, EMBEDDED_COMMANDS};

/// GPU-accelerated customer segmentation: Parquet customers in, K-means segments out.
#[derive(Debug, Parser)]
#[command(name = "custseg", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Cluster customers into segments (runs on the bundled 20k-customer sample when --input is not given).
    Segment(Box<segment::SegmentArgs>),
    /// Choose the number of segments: fit each k of a range and report inertia, silhouette, Davies-Bouldin,
    /// Calinski-Harabasz, the smallest segment's share and stability, with one k recommended and why.
    ChooseK(choose_k::ChooseKArgs),
    /// Score new customers with a saved model: each one's segment and distance, the segment shares against the
    /// training's, and drift.
    Assign(assign::AssignArgs),
    /// Compare two periods' segments: the transition matrix, who entered and left, retention, and the movers.
    Compare(compare::CompareArgs),
    /// Per-customer RFM and value features from transaction logs, with RFM scores and named segments.
    Features(features::FeaturesArgs),
    /// Write synthetic retail customers with planted segments (or a synthetic transaction log).
    Generate(generate::GenerateArgs),
    /// List the GPU adapters wgpu can see, with their type and limits.
    Devices(devices::DevicesArgs),
    /// Time one Lloyd iteration per backend and shape, against the hardware floor.
    Bench(bench::BenchArgs),
}

/// `--pseudonymize` and where its key is, shared by the commands that write customer IDs.
#[derive(Debug, Args, Clone)]
pub struct PseudonymArgs {
    /// Replace every customer ID in every output by its pseudonym: the lowercase hex of the first 16 bytes of
    /// HMAC-SHA256(key, the ID as text). The key comes from CUSTSEG_ID_KEY or --id-key-file.
    #[arg(long)]
    pub pseudonymize: bool,
    /// A file holding the pseudonym key (at least 16 bytes; one trailing newline is ignored).
    #[arg(long, value_name = "FILE")]
    pub id_key_file: Option<std::path::PathBuf>,
}

impl PseudonymArgs {
    /// The key when pseudonyms are asked for, read and checked before any work.
    pub fn key(&self) -> crate::Result<Option<crate::pseudonym::IdKey>> {
        crate::pseudonym::PseudonymRequest { enabled: self.pseudonymize, key_file: self.id_key_file.clone() }.key()
    }
}

/// Options shared by commands that run K-means somewhere.
#[derive(Debug, Args, Clone)]
pub struct DeviceArgs {
    /// Where K-means runs: gpu, cpu, or auto (a hardware GPU if there is one, else the CPU).
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceFlag,
    /// Pick the GPU adapter whose name contains NAME (case-insensitive); see `custseg devices`.
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// Worker threads for the CPU (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DeviceFlag {
    Auto,
    Cpu,
    Gpu,
}

impl DeviceArgs {
    /// The library's device request for these flags.
    pub fn request(&self) -> crate::device::DeviceRequest {
        use crate::device::DeviceChoice;
        crate::device::DeviceRequest {
            choice: match self.device {
                DeviceFlag::Auto => DeviceChoice::Auto,
                DeviceFlag::Cpu => DeviceChoice::Cpu,
                DeviceFlag::Gpu => DeviceChoice::Gpu,
            },
            adapter: self.adapter.clone(),
            max_binding_bytes: None,
        }
    }
}

pub fn parse() -> Cli {
    Cli::parse()
}

pub fn init_logging(cli: &Cli) {
    logging::init(cli);
}

/// Warnings and errors on stderr for a process that runs commands with [`run_embedded`].
pub fn init_embedded_logging() {
    logging::init_embedded();
}

/// Runs a command; what it prints goes to stdout.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Generate(a) => generate::run(a),
        Command::Devices(a) => devices::run(a),
        Command::Bench(a) => bench::run(a),
        job => run_job(job, &mut std::io::stdout().lock()),
    }
}

/// Runs one of the job commands (those [`run_embedded`] runs too), printing to `out`.
fn run_job(command: Command, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    match command {
        Command::Segment(a) => segment::run(*a, out),
        Command::ChooseK(a) => choose_k::run(a, out),
        Command::Assign(a) => assign::run(a, out),
        Command::Compare(a) => compare::run(a, out),
        Command::Features(a) => features::run(a, out),
        Command::Generate(_) | Command::Devices(_) | Command::Bench(_) => {
            Err(crate::Error::Usage("generate, devices and bench print to stdout themselves".into()).into())
        }
    }
}

/// Sets the size of rayon's global pool.
pub fn set_threads(threads: Option<usize>) -> anyhow::Result<()> {
    if let Some(t) = threads {
        if t == 0 {
            return Err(crate::Error::Usage("--threads must be at least 1".into()).into());
        }
        rayon::ThreadPoolBuilder::new().num_threads(t).build_global()?;
    }
    Ok(())
}

/// A spinner on stderr, shown only when stderr is a terminal; K-means progress becomes its message.
pub fn spinner(msg: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    if let Ok(mut bar) = logging::BAR.lock() {
        *bar = Some(pb.clone());
    }
    pb
}

/// Whether the error is the user's command line (exit code 2).
pub fn is_usage(e: &anyhow::Error) -> bool {
    e.downcast_ref::<crate::Error>().is_some_and(|e| e.is_usage())
}

/// A closed stdout (e.g. `custseg ... | head`) is not an error.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
