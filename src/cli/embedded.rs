//! The job commands run inside a running process (the Python package): the same parsing, checks, jobs and
//! messages as the binary, with what the command prints going to a buffer.

use clap::Parser;

use super::{Cli, Command};

/// The commands [`run_embedded`] runs.
pub const EMBEDDED_COMMANDS: [&str; 5] = ["segment", "choose-k", "assign", "compare", "features"];

/// Runs one of the job commands ([`EMBEDDED_COMMANDS`]) inside a running process (the Python package):
/// `args` is the command line after `custseg` (e.g. `["segment", "--input", "c.parquet", "--json"]`), and what the
/// command prints goes to `out`. Errors are the CLI's: a command line clap refuses becomes a usage error carrying
/// clap's first line; `--threads` is refused (the process's thread pool exists already: set `RAYON_NUM_THREADS`
/// before the first call instead).
pub fn run_embedded(args: &[String], out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let name = args.first().map_or("", |s| s.as_str());
    if !EMBEDDED_COMMANDS.contains(&name) {
        return Err(
            crate::Error::Usage(format!("only {} run in-process, not '{name}'", EMBEDDED_COMMANDS.join(", "))).into()
        );
    }
    let cli = Cli::try_parse_from(std::iter::once("custseg".to_string()).chain(args.iter().cloned()))
        .map_err(|e| crate::Error::Usage(clap_line(&e)))?;
    let threads = match &cli.command {
        Command::Segment(a) => a.device.threads,
        Command::ChooseK(a) => a.device.threads,
        Command::Assign(a) => a.device.threads,
        Command::Features(a) => a.threads,
        _ => None,
    };
    if threads.is_some() {
        return Err(crate::Error::Usage(
            "--threads cannot be set in a running process: set RAYON_NUM_THREADS before the first call".into(),
        )
        .into());
    }
    super::run_job(cli.command, out)
}

/// clap's message on one line: its lines up to the usage block, joined, without the `error: ` prefix (e.g.
/// "the following required arguments were not provided: --transactions <TRANSACTIONS> ...").
fn clap_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let lines: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines.join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> (anyhow::Result<()>, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut out = Vec::new();
        let r = run_embedded(&args, &mut out);
        (r, String::from_utf8(out).unwrap())
    }

    fn usage_message(r: anyhow::Result<()>) -> String {
        let e = r.expect_err("an error");
        assert!(super::super::is_usage(&e), "not a usage error: {e:#}");
        format!("{e:#}")
    }

    #[test]
    fn an_unknown_flag_is_claps_first_line_as_a_usage_error() {
        let (r, out) = run(&["segment", "--no-such-flag"]);
        assert_eq!(usage_message(r), "unexpected argument '--no-such-flag' found");
        assert!(out.is_empty());
        let (r, _) = run(&["segment", "--k", "seven"]);
        assert_eq!(
            usage_message(r),
            "invalid value 'seven' for '--k <K>': expected a number of segments or auto, got 'seven'"
        );
        let (r, _) = run(&["features"]);
        assert_eq!(
            usage_message(r),
            "the following required arguments were not provided: --transactions <TRANSACTIONS> --as-of <AS_OF> --output <OUTPUT>"
        );
    }

    #[test]
    fn only_the_job_commands_run_and_threads_are_refused() {
        let (r, _) = run(&["generate", "-o", "x.parquet"]);
        assert_eq!(
            usage_message(r),
            "only segment, choose-k, assign, compare, features run in-process, not 'generate'"
        );
        let (r, _) = run(&["segment", "--threads", "2"]);
        assert!(usage_message(r).starts_with("--threads cannot be set in a running process"));
    }

    #[test]
    fn a_segment_run_prints_its_json_summary_into_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let col = |f: usize| {
            crate::test_util::f64s((0..600).map(|i| ((i % 3) * 10 + (i * 7 + f) % 5) as f64).collect::<Vec<_>>())
        };
        let ids = crate::test_util::i64s((0..600).collect::<Vec<i64>>());
        crate::test_util::write_parquet(
            dir.path(),
            "in.parquet",
            vec![("customer_id", ids), ("a", col(0)), ("b", col(1)), ("c", col(2))],
        );
        let (r, out) = run(&[
            "segment",
            "--input",
            &p("in.parquet"),
            "--k",
            "3",
            "--device",
            "cpu",
            "-o",
            &p("s.parquet"),
            "--model",
            &p("m.json"),
            "--json",
        ]);
        r.unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).expect("JSON on the buffer");
        assert_eq!(v["k"], 3);
        assert_eq!(v["customers"], 600);
        assert!(dir.path().join("s.parquet").exists() && dir.path().join("m.json").exists());
    }
}
