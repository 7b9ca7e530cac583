//! How numbers are written for people, the same on stdout, in profiles' tables and in the HTML report.

/// A number for people, never with an exponent: from 1,000 a whole number with thousands separators
/// ("25,000,000"), from 10 one decimal, below that three, without trailing zeros ("18.2", "7.5", "0.043"); a value
/// that rounds to zero is "0" (so float noise such as `-7.062e-9` reads "0"); "–" when not finite.
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        "–".into()
    } else if a >= 999.5 {
        let whole = fmt_count(a.round() as u64);
        if v < 0.0 {
            format!("-{whole}")
        } else {
            whole
        }
    } else {
        let s = if a >= 9.95 { format!("{v:.1}") } else { format!("{v:.3}") };
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.to_string()
        }
    }
}

/// A share as a percentage with one decimal, or "–".
pub fn fmt_pct(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{:.1}%", v * 100.0),
        _ => "–".into(),
    }
}

/// An index (100 = average), or "–".
pub fn fmt_index(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.0}"),
        _ => "–".into(),
    }
}

/// One level's share of a segment against the whole base, in words:
/// "North: 42% of segment 3, against 25% overall, index 168".
pub fn fmt_level_share(level: &str, share: f64, segment: usize, overall: f64, index: Option<f64>) -> String {
    format!(
        "{level}: {:.0}% of segment {segment}, against {:.0}% overall, index {}",
        share * 100.0,
        overall * 100.0,
        fmt_index(index)
    )
}

/// A count with thousands separators: `1,204`.
pub fn fmt_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyday_numbers_have_no_exponent_and_no_trailing_zeros() {
        let got: Vec<String> =
            [1234.4, 12.345, 1.0, 14.0, 200.0, 7.5, 0.0431, -2.5, 9.99, 999.7].iter().map(|&v| fmt_num(v)).collect();
        assert_eq!(got, ["1,234", "12.3", "1", "14", "200", "7.5", "0.043", "-2.5", "10", "1,000"]);
    }

    #[test]
    fn tiny_huge_and_missing_numbers() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(2.5e7), "25,000,000");
        assert_eq!(fmt_num(-1234567.8), "-1,234,568");
        assert_eq!(fmt_num(-7.062e-9), "0");
        assert_eq!(fmt_num(0.0004), "0");
        assert_eq!(fmt_num(f64::NAN), "–");
        assert_eq!(fmt_pct(Some(0.1234)), "12.3%");
        assert_eq!(fmt_pct(None), "–");
        assert_eq!(fmt_index(Some(168.4)), "168");
        assert_eq!(
            fmt_level_share("North", 0.42, 3, 0.25, Some(168.0)),
            "North: 42% of segment 3, against 25% overall, index 168"
        );
        assert_eq!(
            [fmt_count(0), fmt_count(999), fmt_count(1204), fmt_count(50_000_000)],
            ["0", "999", "1,204", "50,000,000"]
        );
    }
}
