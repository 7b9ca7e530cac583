//! Calendar days: ISO date strings, `YYYYMMDD` integers, Arrow dates and timestamps, all as days since 1970-01-01.
//!
//! Which calendar day a value is:
//! - `Date32`, `Date64`: the stored day (`Date64` milliseconds rounded down to the day).
//! - `Timestamp` without a time zone: the day of the wall-clock time as stored (Arrow's "local, zone unknown"),
//!   which for the usual UTC data is the UTC day.
//! - `Timestamp` with a zone: the day in that zone (its local day), not the UTC day: for a fixed offset (`+02:00`,
//!   `-0530`, `+02`), `UTC`/`Z`/`GMT`/`Etc/UTC`, or a named zone of the tz database (`Europe/Berlin`, with its
//!   daylight saving time). A zone that is none of these is an error naming it.
//! - Strings: `YYYY-MM-DD`, `YYYYMMDD`, or `YYYY-MM-DD` followed by `T` or a space and a time `HH:MM[:SS[.f]]` and
//!   an optional `Z` or `±HH[:MM]` offset. The day is the date as written: a time or an offset is checked but
//!   never moves the day (the writer's local day, which is what an offset-qualified timestamp's zone day is).
//! - Integers (`Int32`, `Int64`, `UInt32`): `YYYYMMDD`, e.g. `20261101`.
//!
//! Anything else (an impossible date such as `2026-02-30`, a year outside 1 to 9999, trailing text) does not
//! parse: the aggregation counts such rows and drops them.
//!
//! chrono does the calendar (whether a date exists, its day number, its `YYYY-MM-DD` text), and Arrow's cast to
//! `Date32` gives the days of timestamps without a zone and, with its tz database (`chrono-tz`), the local days of
//! a named zone. Two paths stay hand-written, because the libraries give other days or accept other forms, or
//! `cargo bench --bench dates` measured the hand-written path faster (`docs/PERFORMANCE.md`, "Date columns"):
//! the ISO string reader (Arrow's string cast also takes `2026-1-5` and `+2026-11-01` and moves a timestamp's day
//! by its offset; chrono's `parse_from_str` takes one-digit months and days; both measured slower), and the day of
//! a timestamp with a fixed offset (a shift and a floor division, measured about three times faster than the
//! cast, which converts every value through chrono). `Date64` is floored by hand too: Arrow's cast to `Date32`
//! truncates toward zero, a day later before 1970.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt32Type,
};
use chrono::{Datelike, NaiveDate};

/// chrono's day number (days from 0001-01-01, which is day 1) of 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// The day of a valid date with year 1 to 9999, or `None`.
fn checked_days(y: i32, m: u32, d: u32) -> Option<i32> {
    if !(1..=9999).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d).map(|date| date.num_days_from_ce() - EPOCH_DAYS_FROM_CE)
}

/// `days` as `YYYY-MM-DD` (the year at least four digits, and signed before year 0). A day beyond chrono's
/// calendar (about 262,000 years either side) is written as its number.
pub fn format_date(days: i32) -> String {
    match days.checked_add(EPOCH_DAYS_FROM_CE).and_then(NaiveDate::from_num_days_from_ce_opt) {
        Some(d) => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        None => format!("day {days} from 1970-01-01"),
    }
}

/// The day of an integer `YYYYMMDD` (e.g. `20261101`), or `None` if it is not a valid date.
fn yyyymmdd(v: i64) -> Option<i32> {
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

/// A timestamp column's zone as a fixed offset in seconds east of UTC, or `None` for a named zone (Arrow's cast
/// resolves those).
fn fixed_offset_seconds(tz: &str) -> Option<i32> {
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
pub(crate) fn is_date_type(t: &DataType) -> bool {
    use DataType::*;
    match t {
        Date32 | Date64 | Timestamp(..) | Utf8 | LargeUtf8 | Utf8View | Int32 | Int64 | UInt32 => true,
        Dictionary(_, v) => !matches!(**v, Dictionary(..)) && is_date_type(v),
        _ => false,
    }
}

/// Converts a date column (any type `is_date_type` accepts) to days. `Err` is a message for a column
/// that cannot be converted at all (e.g. a time zone that is neither an offset nor in the tz database).
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
                None => return cast_days(a, None),
                Some(z) => match fixed_offset_seconds(z) {
                    Some(o) => o,
                    None => return cast_days(a, Some(z)),
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

/// A timestamp column without a zone (`zone` is `None`) or in a named zone: Arrow's cast gives each value's day,
/// in a named zone its local day from the tz database. A name the database does not know is an error.
fn cast_days(a: &dyn Array, zone: Option<&str>) -> Result<Days, String> {
    let cast = arrow::compute::cast(a, &DataType::Date32).map_err(|e| {
        let e = crate::error::one_line(&e.to_string());
        match zone {
            Some(zone) => format!(
                "time zone '{zone}' is not supported ({e}); store the timestamps in UTC or with a fixed offset such as +01:00"
            ),
            None => format!("the timestamps cannot be read as days ({e})"),
        }
    })?;
    let mut days = to_days(cast.as_ref())?;
    // A value the cast could not place in the `Date32` range (or the zone) became null; a null input stays null.
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
        ArrayRef, Date32Array, Date64Array, DictionaryArray, Int32Array, Int64Array, LargeStringArray, StringArray,
        StringViewArray, TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
        TimestampSecondArray, UInt32Array,
    };

    fn d(s: &str) -> i32 {
        parse_date(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn days_count_from_1970() {
        assert_eq!(checked_days(1970, 1, 1), Some(0));
        assert_eq!(checked_days(2000, 3, 1), Some(11_017));
        assert_eq!(checked_days(1969, 12, 31), Some(-1));
        assert_eq!(checked_days(1, 1, 1), Some(-719_162));
        assert_eq!(checked_days(9999, 12, 31), Some(2_932_896));
        assert_eq!(format_date(d("2026-11-01")), "2026-11-01");
        assert_eq!(format_date(-719_162), "0001-01-01");
    }

    #[test]
    fn format_and_parse_round_trip_over_ten_thousand_years() {
        for days in (-719_162..=2_932_896).step_by(17) {
            assert_eq!(parse_date(&format_date(days)), Some(days), "{days}");
        }
    }

    #[test]
    fn days_outside_the_calendar_are_written_as_numbers() {
        assert_eq!(format_date(i32::MAX), format!("day {} from 1970-01-01", i32::MAX));
        assert_eq!(format_date(-719_163), "0000-12-31");
    }

    #[test]
    fn iso_dates_and_timestamps_give_the_written_day() {
        let day = d("2026-11-01");
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
    fn an_offset_never_moves_the_written_day() {
        // 23:30 at −05:00 is 04:30 UTC the next day; 00:30 at +02:00 is 22:30 UTC the day before.
        assert_eq!(parse_date("2026-10-31T23:30:00-05:00"), parse_date("2026-10-31"));
        assert_eq!(parse_date("2026-11-01T00:30:00+02:00"), parse_date("2026-11-01"));
        let a = StringArray::from(vec!["2026-10-31T23:30:00-05:00", "2026-11-01T00:30:00+0200"]);
        assert_eq!(to_days(&a).unwrap().days, [d("2026-10-31"), d("2026-11-01")]);
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
        assert_eq!(d("2024-02-29"), checked_days(2024, 2, 29).unwrap());
        assert_eq!(d("2000-02-29"), checked_days(2000, 2, 29).unwrap());
        assert_eq!(parse_date("1900-02-29"), None);
    }

    #[test]
    fn yyyymmdd_integers() {
        assert_eq!(yyyymmdd(20261101), Some(d("2026-11-01")));
        assert_eq!(yyyymmdd(19700101), Some(0));
        assert_eq!(yyyymmdd(10101), checked_days(1, 1, 1));
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
    fn timestamps_and_date64_before_the_epoch_round_down() {
        let a: ArrayRef = Arc::new(TimestampSecondArray::from(vec![-1, 0, 86_399, 86_400]));
        assert_eq!(days_of(a), vec![Some(-1), Some(0), Some(0), Some(1)]);
        let a: ArrayRef = Arc::new(Date64Array::from(vec![-1, -86_400_000, -86_400_001]));
        assert_eq!(days_of(a), vec![Some(-1), Some(-1), Some(-2)]);
    }

    #[test]
    fn timestamps_beyond_the_day_range_do_not_parse() {
        let big = vec![Some(i64::MAX), Some(i64::MIN), Some(0), None];
        use DayStatus::*;
        for tz in [None, Some("+01:00"), Some("Europe/Berlin")] {
            let a = TimestampSecondArray::from(big.clone()).with_timezone_opt(tz);
            let r = to_days(&a).unwrap();
            assert_eq!(r.status, [Unparsable, Unparsable, Ok, Null], "{tz:?}");
        }
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
    fn a_named_zone_gives_its_local_day_with_daylight_saving() {
        // Berlin is UTC+2 in summer (CEST) and UTC+1 in winter (CET).
        let (july, jan) = (d("2026-07-01"), d("2026-01-15"));
        let ms = |day: i32, h: i64, m: i64| (day as i64 * 86_400 + h * 3600 + m * 60) * 1000;
        let a: ArrayRef = Arc::new(
            TimestampMillisecondArray::from(vec![
                Some(ms(july, 21, 59)), // 23:59 CEST: still July 1st
                Some(ms(july, 22, 0)),  // 00:00 CEST: July 2nd, while UTC is still July 1st
                Some(ms(jan, 22, 30)),  // 23:30 CET: still January 15th
                Some(ms(jan, 23, 0)),   // 00:00 CET: January 16th
                None,
            ])
            .with_timezone("Europe/Berlin"),
        );
        assert_eq!(days_of(a), vec![Some(july), Some(july + 1), Some(jan), Some(jan + 1), None]);
    }

    #[test]
    fn an_unknown_zone_is_a_one_line_error_naming_it() {
        let a = TimestampMillisecondArray::from(vec![0]).with_timezone("Mars/Olympus_Mons");
        let m = to_days(&a).unwrap_err();
        assert!(m.contains("time zone 'Mars/Olympus_Mons' is not supported"), "{m}");
        assert!(!m.contains('\n'), "{m}");
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
