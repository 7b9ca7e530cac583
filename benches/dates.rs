//! Criterion benches of the date columns of `custseg features`: `features::dates::to_days` (the days it counts
//! with) beside Arrow's cast to `Date32` and chrono's parsers, on the same values. Run with
//! `cargo bench --bench dates`; `docs/PERFORMANCE.md` has the figures.
//!
//! Sizes: `CUSTSEG_BENCH_DATES` values (default 1,000,000) spread over two years: ISO date strings, ISO timestamp
//! strings with an offset, and microsecond timestamps without a zone, with a fixed offset and in `Europe/Berlin`.
//! The library paths do not all give the same days as `to_days` (see `src/features/dates.rs`): Arrow's string
//! cast moves a timestamp string's day by its offset, so those rows time the work, not an equal result.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::DataType;
use chrono::{DateTime, NaiveDate};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use custseg::features::dates::to_days;
use custseg::features::format_date;

fn n_values() -> usize {
    std::env::var("CUSTSEG_BENCH_DATES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

/// Day `i` of the values: two years from 2025-01-01 (day 20,089), in a scattered order.
fn day(i: usize) -> i32 {
    20_089 + ((i * 7_919) % 730) as i32
}

fn strings(n: usize, time: bool) -> ArrayRef {
    Arc::new(StringArray::from_iter_values((0..n).map(|i| {
        let d = format_date(day(i));
        if time {
            format!("{d}T{:02}:{:02}:17+02:00", i % 24, i % 60)
        } else {
            d
        }
    })))
}

fn timestamps(n: usize, tz: Option<&str>) -> ArrayRef {
    let us = |i: usize| (day(i) as i64 * 86_400 + (i as i64 * 3_607) % 86_400) * 1_000_000;
    let a = TimestampMicrosecondArray::from_iter_values((0..n).map(us));
    Arc::new(a.with_timezone_opt(tz))
}

fn cast_days(a: &ArrayRef) -> usize {
    arrow::compute::cast(a, &DataType::Date32).unwrap().null_count()
}

fn our_days(a: &ArrayRef) -> usize {
    to_days(a.as_ref()).unwrap().days.len()
}

fn bench_strings(c: &mut Criterion) {
    let n = n_values();
    let mut g = c.benchmark_group("iso_strings");
    g.sample_size(20);
    g.throughput(Throughput::Elements(n as u64));
    let dates = strings(n, false);
    let stamps = strings(n, true);
    for (name, a) in [("date", &dates), ("timestamp_offset", &stamps)] {
        g.bench_with_input(BenchmarkId::new("to_days", name), a, |b, a| b.iter(|| our_days(a)));
        g.bench_with_input(BenchmarkId::new("arrow_cast", name), a, |b, a| b.iter(|| cast_days(a)));
    }
    let s = dates.as_any().downcast_ref::<StringArray>().unwrap();
    g.bench_function(BenchmarkId::new("chrono_parse_from_str", "date"), |b| {
        b.iter(|| s.iter().filter(|v| NaiveDate::parse_from_str(v.unwrap(), "%Y-%m-%d").is_ok()).count())
    });
    let s = stamps.as_any().downcast_ref::<StringArray>().unwrap();
    g.bench_function(BenchmarkId::new("chrono_parse_from_rfc3339", "timestamp_offset"), |b| {
        b.iter(|| s.iter().filter(|v| DateTime::parse_from_rfc3339(v.unwrap()).is_ok()).count())
    });
    g.finish();
}

fn bench_timestamps(c: &mut Criterion) {
    let n = n_values();
    let mut g = c.benchmark_group("timestamps");
    g.sample_size(20);
    g.throughput(Throughput::Elements(n as u64));
    for (name, tz) in [("no_zone", None), ("offset", Some("+02:00")), ("named_zone", Some("Europe/Berlin"))] {
        let a = timestamps(n, tz);
        g.bench_with_input(BenchmarkId::new("to_days", name), &a, |b, a| b.iter(|| our_days(a)));
        g.bench_with_input(BenchmarkId::new("arrow_cast", name), &a, |b, a| b.iter(|| cast_days(a)));
    }
    // What a path through the cast adds to it: reading the cast's Date32 days (with their nulls) into days.
    let days = arrow::compute::cast(&timestamps(n, None), &DataType::Date32).unwrap();
    g.bench_with_input(BenchmarkId::new("to_days", "date32"), &days, |b, a| b.iter(|| our_days(a)));
    g.finish();
}

criterion_group!(benches, bench_strings, bench_timestamps);
criterion_main!(benches);
