//! Shared helpers for the integration tests: paths to fixtures and the binary, and expected/got messages.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The crate root (where Cargo.toml is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/fixtures/parquet-testing` beside the checkout.
pub fn parquet_testing() -> PathBuf {
    root().join("../shared/fixtures/parquet-testing")
}

/// `tests/fixtures`.
pub fn fixtures() -> PathBuf {
    root().join("tests/fixtures")
}

/// The built `custseg` binary.
pub fn custseg() -> Command {
    Command::new(env!("CARGO_BIN_EXE_custseg"))
}

/// Runs the binary with `args` in `dir`, returning its output.
pub fn run_in(dir: &std::path::Path, args: &[&str]) -> Output {
    custseg().current_dir(dir).args(args).output().expect("spawn custseg")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Formats an expected/got block for assertion messages.
pub fn expected_got(what: &str, expected: impl std::fmt::Debug, got: impl std::fmt::Debug) -> String {
    format!("\n{what}\nexpected:\n  {expected:?}\ngot:\n  {got:?}\n")
}
