//! How numbers are written for people, the same on stdout, in profiles' tables and in the HTML report.

/// A number in at most ~4 significant figures, without exponent for everyday magnitudes or trailing zeros; "–"
/// when not finite.
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        "–".into()
    } else if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.3e}")
    } else if a >= 1000.0 {
        format!("{v:.0}")
    } else {
        // 1 decimal from 10, else 3, without trailing zeros: "14", "18.2", "1", "7.5", "0.043".
        let s = if a >= 10.0 { format!("{v:.1}") } else { format!("{v:.3}") };
        s.trim_end_matches('0').trim_end_matches('.').to_string()
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
            [1234.4, 12.345, 1.0, 14.0, 200.0, 7.5, 0.0431, -2.5].iter().map(|&v| fmt_num(v)).collect();
        assert_eq!(got, ["1234", "12.3", "1", "14", "200", "7.5", "0.043", "-2.5"]);
    }

    #[test]
    fn tiny_huge_and_missing_numbers() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(2.5e7), "2.500e7");
        assert_eq!(fmt_num(f64::NAN), "–");
        assert_eq!(fmt_pct(Some(0.1234)), "12.3%");
        assert_eq!(fmt_pct(None), "–");
        assert_eq!(fmt_index(Some(168.4)), "168");
        assert_eq!(
            [fmt_count(0), fmt_count(999), fmt_count(1204), fmt_count(50_000_000)],
            ["0", "999", "1,204", "50,000,000"]
        );
    }
}
