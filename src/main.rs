//! The `custseg` binary: parse the command line, run the command, print the error chain, choose the exit code.

use std::process::ExitCode;

use custseg::cli;

fn main() -> ExitCode {
    // lavapipe links libwayland-client, which prints "error: XDG_RUNTIME_DIR is invalid or not set" on stderr
    // when probed on a headless machine. A private runtime folder keeps stderr to our own messages.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    let args = cli::parse();
    cli::init_logging(&args);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if cli::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(if cli::is_usage(&e) { 2 } else { 1 })
        }
    }
}
