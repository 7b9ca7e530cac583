//! The HTML report's view of single-column profiles: per categorical or text column, a 100% stacked bar of level
//! shares for all customers and for each segment (inline SVG), and a table of each level's share per segment with
//! its index, coloured like the feature heatmap; per numeric `--profile-by` column, a table of means and medians.

use std::fmt::Write;

use super::html::{escape, index_colour};
use super::levels::{top_level, ColumnProfiles, LevelProfile, NumericProfile};
use super::types::Profiles;
use crate::format::{fmt_index, fmt_level_share, fmt_num, fmt_pct};

/// Level colours (ColorBrewer Set3 and Pastel1, readable under dark text), reused in order past their count.
const LEVEL_COLOURS: &[&str] = &[
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd",
    "#ccebc5", "#ffed6f", "#fbb4ae", "#b3cde3", "#decbe4", "#fed9a6",
];

/// Appends the section (nothing when the run has no such columns).
pub(crate) fn columns_section(h: &mut String, p: &Profiles) {
    let c = &p.columns;
    if c.is_empty() {
        return;
    }
    h.push_str("<h2>Categorical and profiled columns</h2>\n");
    h.push_str(
        "<p class=\"note\">Each level's share of each segment's customers; the index is that share ÷ the level's \
         share of all customers × 100 (100 = as common as overall, red above, blue below).</p>\n",
    );
    for l in &c.levels {
        level_view(h, l, c);
    }
    for n in &c.numeric {
        numeric_view(h, n, c);
    }
}

fn level_view(h: &mut String, p: &LevelProfile, c: &ColumnProfiles) {
    let k = p.levels.first().map_or(0, |l| l.shares.len());
    let _ = writeln!(
        h,
        "<h3>{} <span class=\"note\">({})</span></h3>",
        escape(&p.column),
        if p.clustered { "clustered on" } else { "profiled, not clustered on" }
    );
    // Stacked bars: one row for all customers, then one per segment.
    let (label_w, bar_w, row_h) = (110.0, 760.0, 22.0);
    let height = row_h * (k + 1) as f64 + 8.0;
    let _ = writeln!(
        h,
        "<svg data-chart=\"levels\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"{} level shares by segment\">",
        label_w + bar_w + 10.0,
        escape(&p.column)
    );
    for row in 0..=k {
        let y = row as f64 * row_h + 4.0;
        let label = if row == 0 { "all customers".to_string() } else { format!("segment {}", c.number(row - 1)) };
        let _ = writeln!(h, "<text x=\"0\" y=\"{:.1}\">{label}</text>", y + row_h * 0.65);
        let mut x = label_w;
        for (i, l) in p.levels.iter().enumerate() {
            let share = if row == 0 { l.overall } else { l.shares[row - 1] };
            let w = share * bar_w;
            if w <= 0.0 {
                continue;
            }
            let _ = writeln!(
                h,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\" stroke=\"#fff\"><title>{}: {}</title></rect>",
                row_h - 4.0,
                LEVEL_COLOURS[i % LEVEL_COLOURS.len()],
                escape(&l.level),
                fmt_pct(Some(share))
            );
            if w > 46.0 {
                let _ = writeln!(
                    h,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
                    x + 4.0,
                    y + row_h * 0.6,
                    escape(&truncate(&l.level, (w / 7.0) as usize))
                );
            }
            x += w;
        }
    }
    h.push_str("</svg>\n");
    // The table: level, overall share, then share (index) per segment.
    h.push_str("<table class=\"levels\">\n<tr><th>Level</th><th class=\"num\">All customers</th>");
    for j in 0..k {
        let _ = write!(h, "<th class=\"num\">Segment {}</th>", c.number(j));
    }
    h.push_str("</tr>\n");
    for (i, l) in p.levels.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td class=\"num\">{}</td>",
            LEVEL_COLOURS[i % LEVEL_COLOURS.len()],
            escape(&l.level),
            fmt_pct(Some(l.overall))
        );
        for j in 0..k {
            let (bg, fg) = index_colour(l.index[j]);
            let _ = write!(
                h,
                "<td class=\"num\" style=\"background:{bg};color:{fg}\" title=\"{}\">{} · {}</td>",
                escape(&fmt_level_share(&l.level, l.shares[j], c.number(j) as usize, l.overall, l.index[j])),
                fmt_pct(Some(l.shares[j])),
                fmt_index(l.index[j])
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n<ul class=\"note\">\n");
    for j in 0..k {
        if let Some(l) = top_level(p, j) {
            let _ = writeln!(
                h,
                "<li>{}</li>",
                escape(&fmt_level_share(&l.level, l.shares[j], c.number(j) as usize, l.overall, l.index[j]))
            );
        }
    }
    h.push_str("</ul>\n");
}

fn numeric_view(h: &mut String, p: &NumericProfile, c: &ColumnProfiles) {
    let k = p.means.len();
    let _ = writeln!(h, "<h3>{} <span class=\"note\">(profiled, not clustered on)</span></h3>", escape(&p.column));
    if p.missing > 0 {
        let _ = writeln!(h, "<p class=\"note\">{} customers without a value are left out.</p>", p.missing);
    }
    let opt = |v: Option<f64>| v.map_or("–".to_string(), fmt_num);
    h.push_str("<table class=\"levels\">\n<tr><th></th><th class=\"num\">All customers</th>");
    for j in 0..k {
        let _ = write!(h, "<th class=\"num\">Segment {}</th>", c.number(j));
    }
    h.push_str("</tr>\n<tr><td>Mean (index)</td>");
    let _ = write!(h, "<td class=\"num\">{}</td>", opt(p.overall_mean));
    for j in 0..k {
        let (bg, fg) = index_colour(p.index[j]);
        let _ = write!(
            h,
            "<td class=\"num\" style=\"background:{bg};color:{fg}\">{} · {}</td>",
            opt(p.means[j]),
            fmt_index(p.index[j])
        );
    }
    h.push_str("</tr>\n<tr><td>Median</td>");
    let _ = write!(h, "<td class=\"num\">{}</td>", opt(p.overall_median));
    for j in 0..k {
        let _ = write!(h, "<td class=\"num\">{}</td>", opt(p.medians[j]));
    }
    h.push_str("</tr>\n</table>\n");
}

/// `s` cut to `max` characters with an ellipsis.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::levels::{level_profile, numeric_profile};

    fn profiles(columns: ColumnProfiles) -> Profiles {
        Profiles {
            k: 2,
            customers: 4,
            money_column: None,
            median_method: String::new(),
            overall: vec![],
            segments: vec![],
            histograms: vec![],
            warnings: vec![],
            explanation: None,
            columns,
        }
    }

    #[test]
    fn no_columns_no_section() {
        let mut h = String::new();
        columns_section(&mut h, &profiles(ColumnProfiles::default()));
        assert!(h.is_empty());
    }

    #[test]
    fn levels_are_drawn_escaped_with_shares_and_indexes() {
        let names = vec!["<North>".to_string(), "South".into()];
        let l = level_profile("region", true, &names, &[0, 1, 1, 1], &[0, 0, 1, 1], 2);
        let n = numeric_profile("age", &[Some(30.0), None, Some(50.0), Some(70.0)], &[0, 0, 1, 1], 2);
        let mut h = String::new();
        columns_section(&mut h, &profiles(ColumnProfiles { levels: vec![l], numeric: vec![n], numbers: vec![] }));
        assert!(h.contains("<svg data-chart=\"levels\""), "{h}");
        assert!(h.contains("&lt;North&gt;") && !h.contains("<North>"), "{h}");
        assert!(h.contains("&lt;North&gt;: 50% of segment 0, against 25% overall, index 200"), "{h}");
        assert!(h.contains("50.0% · 200"), "{h}");
        assert!(h.contains("age") && h.contains("1 customers without a value"), "{h}");
        assert!(h.contains("60 · 120"), "{h}");
    }
}
