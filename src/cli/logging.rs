//! The log on stderr and the progress of long runs. At the default level the log is for people: the time of day
//! to the second, floats in about four significant figures, seconds to two decimals; `-v` and `-vv` keep
//! tracing's full format (microsecond timestamps, every digit). The progress of K-means (the library's events on
//! the target [`crate::kmeans::PROGRESS_TARGET`]: each run's start, each Lloyd iteration) drives the message of
//! the terminal's spinner, or, when stderr is not a terminal, one progress line at most every 10 seconds.

use std::fmt;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

use super::Cli;

/// How often a progress line is written when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(10);

/// The spinner the command shows while it works (see [`super::spinner`]); K-means progress becomes its message.
pub static BAR: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Installs the log and the progress layer, at the level the flags ask for (`RUST_LOG` overrides).
pub fn init(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("warn,custseg={level}")));
    let ansi = std::io::stderr().is_terminal();
    let base = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false).with_ansi(ansi);
    // The progress layer's type depends on the layers under it, so it is built in each branch.
    macro_rules! progress {
        () => {
            (!cli.quiet).then(|| Progress::new(ansi).with_filter(tracing_subscriber::filter::filter_fn(is_progress)))
        };
    }
    if cli.verbose > 0 {
        tracing_subscriber::registry().with(base.with_filter(filter)).with(progress!()).init();
    } else {
        let people = base.with_timer(TimeOfDay).fmt_fields(PeopleFields);
        tracing_subscriber::registry().with(people.with_filter(filter)).with(progress!()).init();
    }
}

/// Installs the log at the warning level (`RUST_LOG` overrides) for a process that runs commands in-process (the
/// Python package): warnings and errors reach stderr in the CLI's format, progress does not. Does nothing if the
/// process has a subscriber already.
pub fn init_embedded() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let people = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .with_timer(TimeOfDay)
        .fmt_fields(PeopleFields);
    let _ = tracing_subscriber::registry().with(people.with_filter(filter)).try_init();
}

/// Whether an event is one of the library's progress events.
fn is_progress(m: &tracing::Metadata<'_>) -> bool {
    m.target() == crate::kmeans::PROGRESS_TARGET
}

/// The UTC time of day, `HH:MM:SS`.
struct TimeOfDay;

impl FormatTime for TimeOfDay {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
        write!(w, "{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// Fields for people: `seconds` and `*_seconds` to two decimals, other floats as [`crate::format::fmt_num`].
struct PeopleFields;

impl<'w> FormatFields<'w> for PeopleFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut v = PeopleVisitor { w: writer, first: true, result: Ok(()) };
        fields.record(&mut v);
        v.result
    }
}

struct PeopleVisitor<'w> {
    w: Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl PeopleVisitor<'_> {
    fn put(&mut self, name: &str, value: fmt::Arguments<'_>) {
        let sep = if self.first { "" } else { " " };
        self.first = false;
        self.result = self.result.and_then(|_| {
            if name == "message" {
                write!(self.w, "{sep}{value}")
            } else {
                write!(self.w, "{sep}{name}={value}")
            }
        });
    }
}

/// A float for people: seconds to two decimals, anything else in about four significant figures.
pub fn people_f64(name: &str, v: f64) -> String {
    if name == "seconds" || name.ends_with("_seconds") {
        format!("{v:.2}")
    } else {
        crate::format::fmt_num(v)
    }
}

impl Visit for PeopleVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let s = people_f64(field.name(), value);
        self.put(field.name(), format_args!("{s}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field.name(), format_args!("{value}"));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field.name(), format_args!("{value:?}"));
    }
}

/// What the progress layer knows of the K-means run in progress.
struct ProgressState {
    start: Instant,
    last_line: Instant,
    run: u64,
    runs: u64,
    max_iter: u64,
    iter: u64,
}

/// Turns the library's progress events into the spinner's message or a line every [`LINE_EVERY`].
struct Progress {
    terminal: bool,
    /// When the command started: the elapsed time counts from here.
    created: Instant,
    state: Mutex<Option<ProgressState>>,
}

impl Progress {
    fn new(terminal: bool) -> Self {
        Progress { terminal, created: Instant::now(), state: Mutex::new(None) }
    }
}

/// The `u64` fields of a progress event.
#[derive(Default)]
struct Numbers {
    run: Option<u64>,
    runs: Option<u64>,
    max_iter: Option<u64>,
    iter: Option<u64>,
}

impl Visit for Numbers {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "run" => self.run = Some(value),
            "runs" => self.runs = Some(value),
            "max_iter" => self.max_iter = Some(value),
            "iter" => self.iter = Some(value),
            _ => {}
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_u64(field, value.max(0) as u64);
    }
    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

/// The progress of a run, e.g. `k-means: run 2 of 10, iteration 37 (at most 300), 12.40 s`.
pub fn progress_text(run: u64, runs: u64, iter: u64, max_iter: u64, seconds: f64) -> String {
    format!("k-means: run {run} of {runs}, iteration {iter} (at most {max_iter}), {seconds:.2} s")
}

impl<S: Subscriber> Layer<S> for Progress {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut n = Numbers::default();
        event.record(&mut n);
        let Ok(mut guard) = self.state.lock() else { return };
        let now = Instant::now();
        let st = guard.get_or_insert_with(|| ProgressState {
            start: self.created,
            last_line: self.created,
            run: 1,
            runs: 1,
            max_iter: 0,
            iter: 0,
        });
        if let Some(run) = n.run {
            st.run = run;
            st.iter = 0;
        }
        st.runs = n.runs.unwrap_or(st.runs);
        st.max_iter = n.max_iter.unwrap_or(st.max_iter);
        st.iter = n.iter.unwrap_or(st.iter);
        let text = progress_text(st.run, st.runs, st.iter, st.max_iter, (now - st.start).as_secs_f64());
        if self.terminal {
            if let Ok(bar) = BAR.lock() {
                if let Some(bar) = bar.as_ref() {
                    bar.set_message(text);
                }
            }
        } else if now - st.last_line >= LINE_EVERY {
            st.last_line = now;
            let mut line = text;
            line.push('\n');
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_have_two_decimals_and_other_floats_four_figures() {
        assert_eq!(people_f64("seconds", 0.123456789), "0.12");
        assert_eq!(people_f64("init_seconds", 12.0), "12.00");
        assert_eq!(people_f64("inertia", 12345.678901234), "12,346");
        assert_eq!(people_f64("shift", 0.0123456), "0.012");
    }

    #[test]
    fn progress_says_run_iteration_and_time() {
        assert_eq!(progress_text(2, 10, 37, 300, 12.4), "k-means: run 2 of 10, iteration 37 (at most 300), 12.40 s");
    }
}
