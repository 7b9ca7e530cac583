//! What the `segment` job says about its result beside the segments: the warnings on segments smaller than
//! `--min-segment-share`, the check of that flag, and the input files named in data errors of the preparation.

use tracing::warn;

use crate::error::{Error, Result};

/// The default `--min-segment-share`: 1% of the customers.
pub const DEFAULT_MIN_SEGMENT_SHARE: f64 = 0.01;

/// `--min-segment-share` must be a share in `[0, 1)`.
pub fn check_min_segment_share(share: f64) -> Result<()> {
    if (0.0..1.0).contains(&share) {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "--min-segment-share {share}: need a share of the customers from 0 to below 1, e.g. 0.01"
        )))
    }
}

/// One warning per segment holding less than `min_share` of the customers (each also logged), in segment order.
pub fn small_segments(sizes: &[u64], numbers: &[u32], min_share: f64) -> Vec<String> {
    let total: u64 = sizes.iter().sum();
    if total == 0 {
        return Vec::new();
    }
    sizes
        .iter()
        .enumerate()
        .filter(|&(_, &n)| (n as f64) < min_share * total as f64)
        .map(|(j, &n)| {
            let j = numbers[j];
            let m = format!(
                "segment {j} holds {n} of {total} customers ({}), under --min-segment-share {}: try a smaller --k, or --signed-log / --clip on heavy-tailed columns",
                crate::format::fmt_pct(Some(n as f64 / total as f64)),
                crate::format::fmt_pct(Some(min_share)),
            );
            warn!("{m}");
            m
        })
        .collect()
}

/// A data error of the preparation (a column's values) with the input files named; other errors unchanged.
pub fn in_files(e: Error, files: &[String]) -> Error {
    match e {
        Error::Data(m) => {
            let mut list = files.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
            if files.len() > 3 {
                list.push_str(&format!(" and {} more files", files.len() - 3));
            }
            Error::Data(format!("{list}: {m}"))
        }
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_segments_under_the_share_are_named() {
        let w = small_segments(&[500, 4, 496], &[0, 7, 2], 0.01);
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("segment 7 holds 4 of 1000 customers (0.4%)"), "{}", w[0]);
        assert!(small_segments(&[10, 990], &[0, 1], 0.01).is_empty(), "exactly 1% is not under 1%");
        assert!(small_segments(&[1, 999], &[0, 1], 0.0).is_empty());
    }

    #[test]
    fn the_share_is_checked() {
        for bad in [-0.1, 1.0, f64::NAN] {
            assert!(check_min_segment_share(bad).unwrap_err().is_usage());
        }
        assert!(check_min_segment_share(0.0).is_ok() && check_min_segment_share(0.05).is_ok());
    }

    #[test]
    fn data_errors_name_the_files() {
        let e = in_files(Error::Data("column 'm' has 2 values".into()), &["a.parquet".into()]);
        assert_eq!(e.to_string(), "a.parquet: column 'm' has 2 values");
        assert!(in_files(Error::Usage("x".into()), &["a".into()]).is_usage());
    }
}
