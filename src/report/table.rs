//! The terminal view of the profiles: one line per segment with size, shares, description and the distinguishing
//! features with their index.

use super::types::Profiles;
use crate::format::{fmt_index, fmt_pct};

/// The profiles as a compact text table, ending with a newline.
pub fn render_table(p: &Profiles) -> String {
    let mut rows = vec![vec![
        "segment".to_string(),
        "size".into(),
        "share".into(),
        "revenue".into(),
        "description".into(),
        "top features (index, 100 = average)".into(),
    ]];
    for s in &p.segments {
        let top: Vec<String> = s
            .distinguishing
            .iter()
            .filter_map(|nm| s.features.iter().find(|f| &f.name == nm))
            .map(|f| format!("{} {}", f.name, fmt_index(f.index)))
            .collect();
        rows.push(vec![
            s.segment.to_string(),
            s.size.to_string(),
            fmt_pct(Some(s.share)),
            match s.margin_share {
                Some(m) => format!("{}, margin {}", fmt_pct(s.revenue_share), fmt_pct(Some(m))),
                None => fmt_pct(s.revenue_share),
            },
            s.description.clone(),
            top.join(", "),
        ]);
    }
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = format!(
        "{} customers in {} segments{}\n",
        p.customers,
        p.k,
        match &p.money_column {
            Some(m) => format!(", revenue from '{m}'"),
            None => ", no money column (revenue share not computed)".into(),
        }
    );
    for r in &rows {
        let mut line = String::new();
        for (c, (cell, &w)) in r.iter().zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
            if c > 0 {
                line.push_str("  ");
            }
            // Numbers right-aligned, text left-aligned; the last column is not padded.
            if (1..=3).contains(&c) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else if c + 1 == cols {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::types::{FeatureStats, SegmentProfile};

    fn profiles() -> Profiles {
        let f =
            |name: &str, index: Option<f64>| FeatureStats { name: name.into(), mean: 1.0, median: 1.0, index, z: 1.0 };
        Profiles {
            k: 2,
            customers: 10,
            money_column: Some("monetary".into()),
            median_method: "histogram-2048".into(),
            overall: vec![],
            segments: vec![
                SegmentProfile {
                    segment: 0,
                    size: 7,
                    share: 0.7,
                    revenue_share: Some(0.25),
                    margin_share: None,
                    features: vec![f("monetary", Some(35.7)), f("recency_days", None)],
                    distinguishing: vec!["monetary".into(), "recency_days".into()],
                    description: "low spend".into(),
                },
                SegmentProfile {
                    segment: 1,
                    size: 3,
                    share: 0.3,
                    revenue_share: None,
                    margin_share: None,
                    features: vec![f("monetary", Some(250.0))],
                    distinguishing: vec!["monetary".into()],
                    description: "high spend".into(),
                },
            ],
            histograms: vec![],
            warnings: vec![],
            explanation: None,
            columns: Default::default(),
        }
    }

    #[test]
    fn table_has_a_line_per_segment_with_shares_and_indexes() {
        let t = render_table(&profiles());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(lines[0].starts_with("10 customers in 2 segments, revenue from 'monetary'"));
        assert!(lines[1].starts_with("segment  size  share  revenue  description"), "{t}");
        assert!(lines[2].contains("70.0%") && lines[2].contains("25.0%") && lines[2].contains("monetary 36"), "{t}");
        assert!(lines[2].contains("recency_days –"), "{t}");
        assert!(lines[3].contains("30.0%") && lines[3].contains("–") && lines[3].contains("monetary 250"), "{t}");
    }
}
