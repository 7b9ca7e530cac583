//! Calendar days: ISO date strings, `YYYYMMDD` integers, Arrow dates and timestamps, all as days since 1970-01-01.
//!
//! Which calendar day a value is:
//! - `Date32`, `Date64`: the stored day (`Date64` milliseconds rounded down to the day).
//! - `Timestamp` without a time zone: the day of the wall-clock time as stored (Arrow's "local, zone unknown"),
//!   which for the usual UTC data is the UTC day.
//! - `Timestamp` with a zone: the day in that zone (its local day), not the UTC day. Fixed offsets (`+02:00`,
//!   `-0530`, `+02`) and `UTC`/`Z`/`GMT`/`Etc/UTC` are handled here; a named zone (`Europe/Berlin`) goes through
//!   Arrow's cast, which knows named zones only when arrow is built with its `chrono-tz` feature (otherwise the
//!   file is refused with an error naming the zone).
//! - Strings: `YYYY-MM-DD`, `YYYYMMDD`, or `YYYY-MM-DD` followed by `T` or a space and a time `HH:MM[:SS[.f]]` and
//!   an optional `Z` or `±HH[:MM]` offset. The day is the date as written: a time or an offset is checked but
//!   never moves the day (the writer's local day, which is what an offset-qualified timestamp's zone day is).
//! - Integers (`Int32`, `Int64`, `UInt32`): `YYYYMMDD`, e.g. `20261101`.
//!
//! Anything else (an impossible date such as `2026-02-30`, a year outside 1 to 9999, trailing text) does not
//! parse: the aggregation counts such rows and drops them.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt32Type,
};

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d` (any `m` 1–12 and `d` 1–31; not checked).
/// Howard Hinnant's `days_from_civil`.
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400) as u32; // [0, 399]
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe as i32 - 719_468
}

/// The date `(year, month, day)` of `days` since 1970-01-01 (the inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe as i64 + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

/// `days` as `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// The day of a valid date with year 1 to 9999, or `None`.
pub fn checked_days(y: i32, m: u32, d: u32) -> Option<i32> {
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// The day of an integer `YYYYMMDD` (e.g. `20261101`), or `None` if it is not a valid date.
pub fn yyyymmdd(v: i64) -> Option<i32> {
    if !(10_101..=99_991_231).contains(&v) {
        return None;
    }
    checked_days((v / 10_000) as i32, ((v / 100) % 100) as u32, (v % 100) as u32)
}

/// Parses `n` ASCII digits at the start of `b`.
fn digits(b: &[u8], n: usize) -> Option<u32> {
    if b.len() < n {
        return None;
    }
    b[..n].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

/// Parses an ISO date (see the module docs for the accepted forms) into days since 1970-01-01. Surrounding
/// ASCII whitespace is ignored. The day is the date as written; a time and an offset are checked, never applied.
///
/// ```
/// use custseg::features::parse_date;
/// assert_eq!(parse_date("1970-01-02"), Some(1));
/// assert_eq!(parse_date("2026-11-01T23:30:00-05:00"), parse_date("2026-11-01"));
/// assert_eq!(parse_date("2026-02-29"), None);
/// ```
pub fn parse_date(s: &str) -> Option<i32> {
    let b = s.trim_matches(|c: char| c.is_ascii_whitespace()).as_bytes();
    if b.len() == 8 {
        return checked_days(digits(b, 4)? as i32, digits(&b[4..], 2)?, digits(&b[6..], 2)?);
    }
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let day = checked_days(digits(b, 4)? as i32, digits(&b[5..], 2)?, digits(&b[8..], 2)?)?;
    let rest = &b[10..];
    if rest.is_empty() {
        return Some(day);
    }
    if rest[0] != b'T' && rest[0] != b't' && rest[0] != b' ' {
        return None;
    }
    valid_time(&rest[1..]).then_some(day)
}

/// `HH:MM[:SS[.fraction]]` followed by nothing, `Z`, or an offset `±HH`, `±HHMM`, `±HH:MM`.
fn valid_time(b: &[u8]) -> bool {
    let (Some(h), Some(m)) = (digits(b, 2), digits(b.get(3..).unwrap_or(&[]), 2)) else {
        return false;
    };
    if b[2] != b':' || h > 23 || m > 59 {
        return false;
    }
    let mut rest = &b[5..];
    if rest.first() == Some(&b':') {
        match digits(&rest[1..], 2) {
            Some(s) if s <= 60 => rest = &rest[3..],
            _ => return false,
        }
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return false;
            }
            rest = &rest[1 + n..];
        }
    }
    match rest {
        [] | [b'Z'] | [b'z'] => true,
        [b'+' | b'-', tail @ ..] => parse_offset_digits(tail).is_some(),
        _ => false,
    }
}

/// `HH`, `HHMM` or `HH:MM` (hours ≤ 23, minutes ≤ 59) as seconds.
fn parse_offset_digits(b: &[u8]) -> Option<i32> {
    let (h, m) = match b.len() {
        2 => (digits(b, 2)?, 0),
        4 => (digits(b, 2)?, digits(&b[2..], 2)?),
        5 if b[2] == b':' => (digits(b, 2)?, digits(&b[3..], 2)?),
        _ => return None,
    };
    (h <= 23 && m <= 59).then_some((h * 3600 + m * 60) as i32)
}

/// A timestamp column's zone as a fixed offset in seconds east of UTC, or `None` for a named zone that only
/// Arrow's cast can resolve.
pub fn fixed_offset_seconds(tz: &str) -> Option<i32> {
    match tz {
        "UTC" | "utc" | "Z" | "z" | "GMT" | "Etc/UTC" | "Etc/GMT" | "+00:00" | "-00:00" => Some(0),
        _ => {
            let b = tz.as_bytes();
            let sign = match b.first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            parse_offset_digits(&b[1..]).map(|s| sign * s)
        }
    }
}

/// Timestamp units per day.
fn units_per_day(unit: TimeUnit) -> i64 {
    86_400
        * match unit {
            TimeUnit::Second => 1,
            TimeUnit::Millisecond => 1_000,
            TimeUnit::Microsecond => 1_000_000,
            TimeUnit::Nanosecond => 1_000_000_000,
        }
}

/// The day of timestamp `v` (in `unit`) shifted by `offset` seconds, or `None` outside the `i32` day range.
fn timestamp_day(v: i64, unit: TimeUnit, offset: i32) -> Option<i32> {
    let per_day = units_per_day(unit);
    let shifted = v as i128 + offset as i128 * (per_day / 86_400) as i128;
    i32::try_from(shifted.div_euclid(per_day as i128)).ok()
}

/// What one value of a date column turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayStatus {
    Ok,
    Null,
    Unparsable,
}

/// One batch of a date column converted to days: `days[i]` is valid where `status[i]` is `Ok`.
#[derive(Debug, Default)]
pub struct Days {
    pub days: Vec<i32>,
    pub status: Vec<DayStatus>,
}

/// Whether values of type `t` can be read as days (a dictionary counts as its value type).
pub fn is_date_type(t: &DataType) -> bool {
    use DataType::*;
    match t {
        Date32 | Date64 | Timestamp(..) | Utf8 | LargeUtf8 | Utf8View | Int32 | Int64 | UInt32 => true,
        Dictionary(_, v) => !matches!(**v, Dictionary(..)) && is_date_type(v),
        _ => false,
    }
}

/// Converts a date column (any type accepted by [`is_date_type`]) to days. `Err` is a message for a column
/// that cannot be converted at all (e.g. a named time zone without zone support).
pub fn to_days(a: &dyn Array) -> Result<Days, String> {
    use DataType::*;
    let n = a.len();
    let nulls = a.logical_nulls();
    let is_null = |i: usize| nulls.as_ref().is_some_and(|nb| nb.is_null(i));
    let mut out = Days { days: vec![0; n], status: vec![DayStatus::Ok; n] };
    // Fills `out` from a per-row conversion that sees only non-null rows.
    let mut fill = |f: &mut dyn FnMut(usize) -> Option<i32>| {
        for i in 0..n {
            if is_null(i) {
                out.status[i] = DayStatus::Null;
            } else if let Some(d) = f(i) {
                out.days[i] = d;
            } else {
                out.status[i] = DayStatus::Unparsable;
            }
        }
    };
    match a.data_type() {
        Date32 => {
            let v = a.as_primitive::<Date32Type>().values();
            fill(&mut |i| Some(v[i]));
        }
        Date64 => {
            let v = a.as_primitive::<Date64Type>().values();
            fill(&mut |i| i32::try_from(v[i].div_euclid(86_400_000)).ok());
        }
        Timestamp(unit, tz) => {
            let offset = match tz.as_deref() {
                None => 0,
                Some(z) => match fixed_offset_seconds(z) {
                    Some(o) => o,
                    None => return named_zone_days(a, z),
                },
            };
            let v: &[i64] = match unit {
                TimeUnit::Second => a.as_primitive::<TimestampSecondType>().values(),
                TimeUnit::Millisecond => a.as_primitive::<TimestampMillisecondType>().values(),
                TimeUnit::Microsecond => a.as_primitive::<TimestampMicrosecondType>().values(),
                TimeUnit::Nanosecond => a.as_primitive::<TimestampNanosecondType>().values(),
            };
            let unit = *unit;
            fill(&mut |i| timestamp_day(v[i], unit, offset));
        }
        Utf8 => {
            let s = a.as_string::<i32>();
            fill(&mut |i| parse_date(s.value(i)));
        }
        LargeUtf8 => {
            let s = a.as_string::<i64>();
            fill(&mut |i| parse_date(s.value(i)));
        }
        Utf8View => {
            let s = a.as_string_view();
            fill(&mut |i| parse_date(s.value(i)));
        }
        Int32 => {
            let v = a.as_primitive::<Int32Type>().values();
            fill(&mut |i| yyyymmdd(v[i] as i64));
        }
        Int64 => {
            let v = a.as_primitive::<Int64Type>().values();
            fill(&mut |i| yyyymmdd(v[i]));
        }
        UInt32 => {
            let v = a.as_primitive::<UInt32Type>().values();
            fill(&mut |i| yyyymmdd(v[i] as i64));
        }
        Dictionary(_, _) => {
            // Convert each distinct value once, then look the rows up.
            let dict = a.as_any_dictionary();
            let values = to_days(dict.values().as_ref())?;
            let keys = if dict.values().is_empty() { vec![0; n] } else { dict.normalized_keys() };
            for (i, &k) in keys.iter().enumerate() {
                if is_null(i) {
                    out.status[i] = DayStatus::Null;
                } else {
                    out.days[i] = values.days[k];
                    out.status[i] = values.status[k];
                }
            }
        }
        t => return Err(format!("type {t} is not a date type")),
    }
    Ok(out)
}

/// A timestamp column with a named zone: Arrow's cast gives each value's local day (it needs arrow's
/// `chrono-tz` feature for names).
fn named_zone_days(a: &dyn Array, zone: &str) -> Result<Days, String> {
    let cast = arrow::compute::cast(a, &DataType::Date32).map_err(|e| {
        format!(
            "time zone '{zone}' is not supported ({}); store the timestamps in UTC or with a fixed offset such as +01:00",
            crate::error::one_line(&e.to_string())
        )
    })?;
    let cast: ArrayRef = cast;
    let mut days = to_days(cast.as_ref())?;
    // A value the cast could not place in the zone became null; a null input stays null.
    let nulls = a.logical_nulls();
    for i in 0..a.len() {
        if days.status[i] == DayStatus::Null && !nulls.as_ref().is_some_and(|nb| nb.is_null(i)) {
            days.status[i] = DayStatus::Unparsable;
        }
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{
        Date32Array, Date64Array, DictionaryArray, Int32Array, Int64Array, LargeStringArray, StringArray,
        StringViewArray, TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
        TimestampSecondArray, UInt32Array,
    };

    fn d(s: &str) -> i32 {
        parse_date(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn civil_round_trips_over_ten_thousand_years() {
        for days in (days_from_civil(1, 1, 1)..=days_from_civil(9999, 12, 31)).step_by(17) {
            let (y, m, dd) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, dd), days);
            assert_eq!(checked_days(y, m, dd), Some(days));
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(format_date(days_from_civil(2026, 11, 1)), "2026-11-01");
    }

    #[test]
    fn iso_dates_and_timestamps_give_the_written_day() {
        let day = days_from_civil(2026, 11, 1);
        for s in [
            "2026-11-01",
            "  2026-11-01 ",
            "20261101",
            "2026-11-01T10:00",
            "2026-11-01T10:00:00",
            "2026-11-01 23:59:59.999999",
            "2026-11-01T10:00:00Z",
            "2026-11-01T23:30:00+05:30",
            "2026-11-01T00:10:00-08:00",
            "2026-11-01T00:10:00-0800",
            "2026-11-01T00:10:00+01",
            "2026-11-01t10:00:60z",
        ] {
            assert_eq!(parse_date(s), Some(day), "{s}");
        }
    }

    #[test]
    fn impossible_or_malformed_dates_do_not_parse() {
        for s in [
            "",
            "2026-11",
            "2026-13-01",
            "2026-11-31",
            "2026-02-29",
            "0000-01-01",
            "01/11/2026",
            "2026/11/01",
            "2026-11-01x",
            "2026-11-01T",
            "2026-11-01T24:00",
            "2026-11-01T10:61",
            "2026-11-01T10:00:00.",
            "2026-11-01T10:00:00+24:00",
            "2026-11-01T10:00:00+5",
            "2026-1-01",
            "+2026-11-01",
            "20261131",
        ] {
            assert_eq!(parse_date(s), None, "{s:?}");
        }
        assert_eq!(d("2024-02-29"), days_from_civil(2024, 2, 29));
        assert_eq!(d("2000-02-29"), days_from_civil(2000, 2, 29));
        assert_eq!(parse_date("1900-02-29"), None);
    }

    #[test]
    fn yyyymmdd_integers() {
        assert_eq!(yyyymmdd(20261101), Some(d("2026-11-01")));
        assert_eq!(yyyymmdd(19700101), Some(0));
        assert_eq!(yyyymmdd(10101), Some(days_from_civil(1, 1, 1)));
        for bad in [0, -20261101, 20261301, 20260230, 2026110, 202611011, 45_000] {
            assert_eq!(yyyymmdd(bad), None, "{bad}");
        }
    }

    fn days_of(a: ArrayRef) -> Vec<Option<i32>> {
        let r = to_days(a.as_ref()).unwrap();
        r.days.iter().zip(&r.status).map(|(&d, &s)| (s == DayStatus::Ok).then_some(d)).collect()
    }

    #[test]
    fn every_date_column_type_converts() {
        let day = d("2026-11-01");
        let ms = day as i64 * 86_400_000 + 3_600_000; // 01:00 UTC
        let want = vec![Some(day), None];
        let cases: Vec<ArrayRef> = vec![
            Arc::new(Date32Array::from(vec![Some(day), None])),
            Arc::new(Date64Array::from(vec![Some(ms), None])),
            Arc::new(TimestampSecondArray::from(vec![Some(ms / 1000), None])),
            Arc::new(TimestampMillisecondArray::from(vec![Some(ms), None])),
            Arc::new(TimestampMicrosecondArray::from(vec![Some(ms * 1000), None])),
            Arc::new(TimestampNanosecondArray::from(vec![Some(ms * 1_000_000), None])),
            Arc::new(StringArray::from(vec![Some("2026-11-01"), None])),
            Arc::new(LargeStringArray::from(vec![Some("2026-11-01T01:00:00Z"), None])),
            Arc::new(StringViewArray::from(vec![Some("20261101"), None])),
            Arc::new(Int32Array::from(vec![Some(20261101), None])),
            Arc::new(Int64Array::from(vec![Some(20261101), None])),
            Arc::new(UInt32Array::from(vec![Some(20261101), None])),
            Arc::new(vec![Some("2026-11-01"), None].into_iter().collect::<DictionaryArray<Int32Type>>()),
        ];
        for a in cases {
            let t = a.data_type().clone();
            assert!(is_date_type(&t), "{t}");
            assert_eq!(days_of(a.clone()), want, "{t}");
            let r = to_days(a.as_ref()).unwrap();
            assert_eq!(r.status[1], DayStatus::Null, "{t}");
        }
    }

    #[test]
    fn timestamps_before_the_epoch_round_down() {
        let a: ArrayRef = Arc::new(TimestampSecondArray::from(vec![-1, 0, 86_399, 86_400]));
        assert_eq!(days_of(a), vec![Some(-1), Some(0), Some(0), Some(1)]);
    }

    #[test]
    fn zoned_timestamps_give_the_local_day() {
        // 2026-11-01 23:30 UTC is 2026-11-02 in +05:30 and still 2026-11-01 in -08:00.
        let day = d("2026-11-01");
        let t = (day as i64 * 86_400 + 23 * 3600 + 1800) * 1_000_000;
        let zoned = |tz: &str| -> ArrayRef { Arc::new(TimestampMicrosecondArray::from(vec![t]).with_timezone(tz)) };
        assert_eq!(days_of(zoned("UTC")), vec![Some(day)]);
        assert_eq!(days_of(zoned("+00:00")), vec![Some(day)]);
        assert_eq!(days_of(zoned("+05:30")), vec![Some(day + 1)]);
        assert_eq!(days_of(zoned("+0530")), vec![Some(day + 1)]);
        assert_eq!(days_of(zoned("-08:00")), vec![Some(day)]);
        // 00:30 UTC is the previous day in -01.
        let early: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![(day as i64 * 86_400 + 1800) * 1_000_000]).with_timezone("-01"),
        );
        assert_eq!(days_of(early), vec![Some(day - 1)]);
    }

    #[test]
    fn a_named_zone_is_the_local_day_or_a_clear_error() {
        let day = d("2026-07-01");
        let t = (day as i64 * 86_400 + 23 * 3600) * 1000; // 23:00 UTC = 01:00 next day in Berlin (CEST)
        let a = TimestampMillisecondArray::from(vec![t]).with_timezone("Europe/Berlin");
        match to_days(&a) {
            Ok(r) => assert_eq!((r.days[0], r.status[0]), (day + 1, DayStatus::Ok)),
            Err(m) => {
                assert!(m.contains("time zone 'Europe/Berlin' is not supported"), "{m}");
                assert!(!m.contains('\n'), "{m}");
            }
        }
    }

    #[test]
    fn unparsable_values_are_flagged() {
        let a = StringArray::from(vec![Some("2026-11-01"), Some("11/01/2026"), None, Some("x")]);
        let r = to_days(&a).unwrap();
        use DayStatus::*;
        assert_eq!(r.status, vec![Ok, Unparsable, Null, Unparsable]);
        let dict: DictionaryArray<Int32Type> = vec![Some("bad"), Some("2026-11-01"), Some("bad")].into_iter().collect();
        let r = to_days(&dict).unwrap();
        assert_eq!(r.status, vec![Unparsable, Ok, Unparsable]);
    }

    #[test]
    fn fixed_offsets() {
        assert_eq!(fixed_offset_seconds("+02:00"), Some(7200));
        assert_eq!(fixed_offset_seconds("-0330"), Some(-12_600));
        assert_eq!(fixed_offset_seconds("+05"), Some(18_000));
        assert_eq!(fixed_offset_seconds("UTC"), Some(0));
        assert_eq!(fixed_offset_seconds("Europe/Paris"), None);
        assert_eq!(fixed_offset_seconds("+25:00"), None);
    }
}
