//! The self-contained HTML report: inline CSS, inline SVG charts drawn here in Rust, and a little inline
//! JavaScript (segment highlighting and a render check). No network: no CDN, no external fonts, no links.
//!
//! Charts: segment sizes and revenue shares (bars), an index heatmap (segments × features), and per-feature
//! distributions by segment (small multiples of histograms). Every piece of data is escaped with [`escape`].

use std::fmt::Write;

use super::explain_view;
use super::types::{FeatureHistogram, Profiles};
use crate::format::{fmt_count, fmt_index, fmt_num, fmt_pct};

/// Segment colours (Tableau 10), reused in order when there are more segments.
const PALETTE: &[&str] =
    &["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/// Escapes text for HTML text and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn colour(j: usize) -> &'static str {
    PALETTE[j % PALETTE.len()]
}

const CSS: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #222; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 4px; }
h2 { font-size: 1.2em; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
p.meta, p.note { color: #555; margin-top: 4px; }
p.warning { background: #fff4e5; border-left: 4px solid #e8a33d; padding: 6px 10px; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px;
  vertical-align: -1px; }
svg { display: block; font-size: 12px; overflow: visible; }
svg text { fill: #333; }
.legend { margin: 6px 0 10px; font-size: 0.9em; }
.legend span.item { margin-right: 14px; cursor: pointer; user-select: none; }
.legend span.item.off { opacity: 0.35; }
.multiples { display: flex; flex-wrap: wrap; gap: 12px 18px; }
.multiples figure { margin: 0; }
.multiples figcaption { font-weight: 600; font-size: 0.9em; margin-bottom: 2px; overflow-wrap: anywhere;
  max-width: 320px; }
svg .seg { transition: opacity 0.15s; }
svg .seg.dim { opacity: 0.08; }
#report-errors { color: #b00020; white-space: pre-wrap; }
td.why { color: #555; font-size: 0.85em; }
"#;

/// Marks drawn, checked after load; `window.onerror` writes any script error into the page so that a headless
/// browser's DOM dump shows it.
const JS: &str = r#"
window.onerror = function (msg, src, line, col) {
  var e = document.getElementById('report-errors');
  if (e) { e.textContent += 'error: ' + msg + ' (line ' + line + ':' + col + ')\n'; }
  document.body.setAttribute('data-errors', 'yes');
};
document.addEventListener('DOMContentLoaded', function () {
  var charts = document.querySelectorAll('svg[data-chart]');
  var drawn = 0;
  charts.forEach(function (svg) {
    var box = svg.getBBox();
    if (svg.querySelectorAll('rect, path').length > 0 && box.width > 0 && box.height > 0) {
      svg.setAttribute('data-drawn', 'yes');
      drawn += 1;
    }
  });
  var hidden = {};
  document.querySelectorAll('.legend span.item').forEach(function (item) {
    item.addEventListener('click', function () {
      var s = item.getAttribute('data-seg');
      hidden[s] = !hidden[s];
      item.classList.toggle('off', hidden[s]);
      document.querySelectorAll('svg .seg[data-seg="' + s + '"]').forEach(function (el) {
        el.classList.toggle('dim', hidden[s]);
      });
    });
  });
  document.body.setAttribute('data-charts-drawn', String(drawn));
  document.body.setAttribute('data-charts', String(charts.length));
});
"#;

/// The start of a report page, to its `<h1>`: the inline style and script that every custseg page shares.
pub(crate) fn page_head(h: &mut String, title: &str) {
    let t = escape(title);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{t}</title>\n\
         <style>{CSS}</style>\n<script>{JS}</script>\n</head>\n<body>\n<h1>{t}</h1>\n"
    );
}

/// The report as one self-contained HTML page.
pub fn render_html(p: &Profiles, title: &str) -> String {
    let mut h = String::with_capacity(64 * 1024);
    page_head(&mut h, title);
    let money = match &p.money_column {
        Some(m) => format!("revenue shares from <b>{}</b>", escape(m)),
        None => "no money column, so no revenue shares".into(),
    };
    let _ = writeln!(
        h,
        "<p class=\"meta\">{} customers in {} segments · {} features · {money} · generated by custseg {}</p>",
        fmt_count(p.customers),
        p.k,
        p.overall.len(),
        env!("CARGO_PKG_VERSION")
    );
    h.push_str("<pre id=\"report-errors\"></pre>\n");
    for w in &p.warnings {
        let _ = writeln!(h, "<p class=\"warning\">⚠ {}</p>", escape(w));
    }

    summary_table(&mut h, p);
    explain_view::names_and_rules(&mut h, p);
    h.push_str("<h2>Segment sizes and revenue shares</h2>\n");
    sizes_chart(&mut h, p);
    h.push_str("<h2>Feature index by segment</h2>\n");
    h.push_str(
        "<p class=\"note\">Segment mean ÷ overall mean × 100, in original units: 100 is average, red above, \
         blue below.</p>\n",
    );
    heatmap(&mut h, p);
    explain_view::map(&mut h, p);
    explain_view::rfm_crosstab(&mut h, p);
    super::levels_html::columns_section(&mut h, p);
    h.push_str("<h2>Distributions by segment</h2>\n");
    h.push_str(
        "<p class=\"note\">Share of each segment's customers per bin; the triangles mark segment medians. The end \
         bins also hold the outer 0.5% of customers. Click a segment in the legend to hide it.</p>\n",
    );
    legend(&mut h, p);
    distributions(&mut h, p);
    h.push_str("<h2>Means and medians</h2>\n");
    means_table(&mut h, p);
    let _ = writeln!(
        h,
        "<p class=\"note\">Medians from {} (within 1/2048 of each feature's range).</p>",
        escape(&p.median_method)
    );
    explain_view::settings(&mut h, p);
    h.push_str("</body>\n</html>\n");
    h
}

fn summary_table(h: &mut String, p: &Profiles) {
    h.push_str("<h2>Segments</h2>\n<table class=\"summary\">\n<tr><th>Segment</th><th class=\"num\">Customers</th>");
    h.push_str("<th class=\"num\">Share</th><th class=\"num\">Revenue share</th><th>Compared with the average</th>");
    h.push_str("<th>Distinguishing features (index)</th></tr>\n");
    for s in &p.segments {
        let top: Vec<String> = s
            .distinguishing
            .iter()
            .filter_map(|nm| s.features.iter().find(|f| &f.name == nm))
            .map(|f| format!("{} {}", escape(&f.name), fmt_index(f.index)))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            colour(s.segment as usize),
            explain_view::segment_label(p, s.segment as usize),
            fmt_count(s.size),
            fmt_pct(Some(s.share)),
            match s.margin_share {
                Some(m) => format!("{} · margin {}", fmt_pct(s.revenue_share), fmt_pct(Some(m))),
                None => fmt_pct(s.revenue_share),
            },
            escape(&s.description),
            top.join(", ")
        );
    }
    h.push_str("</table>\n");
}

fn legend(h: &mut String, p: &Profiles) {
    h.push_str("<div class=\"legend\">");
    for s in &p.segments {
        let _ = write!(
            h,
            "<span class=\"item\" data-seg=\"{}\"><span class=\"swatch\" style=\"background:{}\"></span>{}</span>",
            s.segment,
            colour(s.segment as usize),
            explain_view::segment_label(p, s.segment as usize)
        );
    }
    h.push_str("</div>\n");
}

/// Horizontal bars: for each segment, its share of customers (solid) and of revenue (light, outlined).
fn sizes_chart(h: &mut String, p: &Profiles) {
    let (label_w, bar_w, row_h, bar_h) = (96.0, 520.0, 40.0, 14.0);
    let max = p
        .segments
        .iter()
        .flat_map(|s| [Some(s.share), s.revenue_share])
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let top = 26.0;
    let height = top + row_h * p.segments.len() as f64 + 8.0;
    let width = label_w + bar_w + 70.0;
    let _ = writeln!(
        h,
        "<svg data-chart=\"sizes\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-label=\"Segment sizes and revenue shares\">"
    );
    let _ = writeln!(
        h,
        "<rect x=\"{label_w}\" y=\"4\" width=\"12\" height=\"12\" fill=\"#777\"/><text x=\"{}\" y=\"14\">customers\
         </text><rect x=\"{}\" y=\"4\" width=\"12\" height=\"12\" fill=\"#777\" fill-opacity=\"0.35\" stroke=\"#777\"/>\
         <text x=\"{}\" y=\"14\">revenue{}</text>",
        label_w + 16.0,
        label_w + 100.0,
        label_w + 116.0,
        if p.money_column.is_none() { " (no money column)" } else { "" }
    );
    for (i, s) in p.segments.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let c = colour(s.segment as usize);
        let _ = writeln!(
            h,
            "<g class=\"seg\" data-seg=\"{}\"><text x=\"0\" y=\"{}\">Segment {}</text>",
            s.segment,
            y + bar_h + 2.0,
            s.segment
        );
        let w = bar_w * s.share / max;
        let _ = writeln!(
            h,
            "<rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.2}\" height=\"{bar_h}\" fill=\"{c}\"><title>Segment {}: {} \
             customers ({})</title></rect><text x=\"{:.2}\" y=\"{:.2}\">{}</text>",
            s.segment,
            fmt_count(s.size),
            fmt_pct(Some(s.share)),
            label_w + w + 4.0,
            y + bar_h - 3.0,
            fmt_pct(Some(s.share))
        );
        if let Some(r) = s.revenue_share.filter(|r| r.is_finite()) {
            let w = bar_w * r.max(0.0) / max;
            let y2 = y + bar_h + 2.0;
            let _ = writeln!(
                h,
                "<rect x=\"{label_w}\" y=\"{y2}\" width=\"{w:.2}\" height=\"{bar_h}\" fill=\"{c}\" \
                 fill-opacity=\"0.35\" stroke=\"{c}\"><title>Segment {}: {} of revenue</title></rect>\
                 <text x=\"{:.2}\" y=\"{:.2}\">{}</text>",
                s.segment,
                fmt_pct(Some(r)),
                label_w + w + 4.0,
                y2 + bar_h - 3.0,
                fmt_pct(Some(r))
            );
        }
        h.push_str("</g>\n");
    }
    h.push_str("</svg>\n");
}

/// Diverging colour for an index: white at 100, red above, blue below, saturating at ×4 and ÷4.
pub(crate) fn index_colour(index: Option<f64>) -> (String, &'static str) {
    let Some(v) = index.filter(|v| v.is_finite()) else { return ("#e6e6e6".into(), "#333") };
    let t = if v <= 0.0 { -1.0 } else { ((v / 100.0).log2() / 2.0).clamp(-1.0, 1.0) };
    let (r, g, b) = if t >= 0.0 { (214.0, 96.0, 77.0) } else { (67.0, 147.0, 195.0) };
    let a = t.abs();
    let mix = |c: f64| (255.0 + (c - 255.0) * a).round() as u8;
    (format!("#{:02x}{:02x}{:02x}", mix(r), mix(g), mix(b)), if a > 0.65 { "#fff" } else { "#222" })
}

fn heatmap(h: &mut String, p: &Profiles) {
    let names: Vec<&str> = p.overall.iter().map(|o| o.name.as_str()).collect();
    let (label_w, cell_w, cell_h) = (96.0, 78.0, 28.0);
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0).min(28) as f64;
    let head = 16.0 + longest * 5.0;
    let width = label_w + cell_w * names.len() as f64 + longest * 5.0;
    let height = head + cell_h * p.segments.len() as f64 + 4.0;
    let _ = writeln!(
        h,
        "<svg data-chart=\"heatmap\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-label=\"Feature index by segment\">"
    );
    for (f, nm) in names.iter().enumerate() {
        let x = label_w + cell_w * (f as f64 + 0.5);
        let short: String =
            if nm.chars().count() > 28 { nm.chars().take(27).chain(['…']).collect() } else { nm.to_string() };
        let _ = writeln!(
            h,
            "<text x=\"{x}\" y=\"{}\" transform=\"rotate(-30 {x} {})\"><title>{}</title>{}</text>",
            head - 6.0,
            head - 6.0,
            escape(nm),
            escape(&short)
        );
    }
    for (i, s) in p.segments.iter().enumerate() {
        let y = head + i as f64 * cell_h;
        let _ = writeln!(h, "<text x=\"0\" y=\"{}\">Segment {}</text>", y + cell_h / 2.0 + 4.0, s.segment);
        for (f, fs) in s.features.iter().enumerate() {
            let x = label_w + f as f64 * cell_w;
            let (fill, ink) = index_colour(fs.index);
            let _ = writeln!(
                h,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"#fff\">\
                 <title>Segment {}, {}: index {}, mean {}, median {}</title></rect>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" style=\"fill:{ink}\">{}</text>",
                cell_w,
                cell_h,
                s.segment,
                escape(&fs.name),
                fmt_index(fs.index),
                fmt_num(fs.mean),
                fmt_num(fs.median),
                x + cell_w / 2.0,
                y + cell_h / 2.0 + 4.0,
                fmt_index(fs.index)
            );
        }
    }
    h.push_str("</svg>\n");
}

/// Where `v` (original units) falls on a histogram's x axis, as a fraction of its width: piecewise linear
/// between the bin edges, clamped to the axis.
fn axis_position(edges: &[f64], v: f64) -> f64 {
    let nb = edges.len() - 1;
    if !v.is_finite() || nb == 0 || edges[nb] <= edges[0] {
        return 0.5;
    }
    if v <= edges[0] {
        return 0.0;
    }
    for b in 0..nb {
        if v <= edges[b + 1] {
            let w = edges[b + 1] - edges[b];
            let t = if w > 0.0 { (v - edges[b]) / w } else { 0.0 };
            return (b as f64 + t) / nb as f64;
        }
    }
    1.0
}

fn distributions(h: &mut String, p: &Profiles) {
    h.push_str("<div class=\"multiples\">\n");
    for (f, hist) in p.histograms.iter().enumerate() {
        let log = p.overall.get(f).is_some_and(|o| o.log1p);
        let _ = writeln!(
            h,
            "<figure><figcaption>{}{}</figcaption>",
            escape(&hist.name),
            if log { " <small>(log scale)</small>" } else { "" }
        );
        distribution_chart(h, p, f, hist);
        h.push_str("</figure>\n");
    }
    h.push_str("</div>\n");
}

fn distribution_chart(h: &mut String, p: &Profiles, f: usize, hist: &FeatureHistogram) {
    let (w, plot_h, pad_l, pad_b) = (320.0, 110.0, 6.0, 34.0);
    let plot_w = w - 2.0 * pad_l;
    let height = plot_h + pad_b;
    let nb = hist.edges.len() - 1;
    let fractions: Vec<Vec<f64>> = hist
        .counts
        .iter()
        .map(|c| {
            let total: u64 = c.iter().sum();
            c.iter().map(|&v| if total > 0 { v as f64 / total as f64 } else { 0.0 }).collect()
        })
        .collect();
    let ymax = fractions.iter().flatten().copied().fold(0.0f64, f64::max).max(1e-9);
    let _ = writeln!(
        h,
        "<svg data-chart=\"distribution\" data-feature=\"{f}\" width=\"{w}\" height=\"{height}\" \
         viewBox=\"0 0 {w} {height}\" role=\"img\" aria-label=\"Distribution of {} by segment\">",
        escape(&hist.name)
    );
    let _ = writeln!(
        h,
        "<rect x=\"{pad_l}\" y=\"0\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"#fafafa\" stroke=\"#ddd\"/>"
    );
    let bx = |b: f64| pad_l + plot_w * b / nb as f64;
    let by = |v: f64| plot_h - (plot_h - 6.0) * v / ymax;
    for (j, fr) in fractions.iter().enumerate() {
        // Histograms are by position; the segment's number (kept across periods) names and colours it.
        let num = p.segments.get(j).map_or(j as u32, |s| s.segment);
        let c = colour(num as usize);
        // A step outline over the bins, closed along the baseline for a light fill.
        let mut d = format!("M{:.2},{:.2}", bx(0.0), plot_h);
        for (b, &v) in fr.iter().enumerate() {
            let _ = write!(d, " L{:.2},{:.2} L{:.2},{:.2}", bx(b as f64), by(v), bx(b as f64 + 1.0), by(v));
        }
        let _ = write!(d, " L{:.2},{:.2} Z", bx(nb as f64), plot_h);
        let median = p.segments.get(j).and_then(|s| s.features.get(f)).map_or(f64::NAN, |s| s.median);
        let _ = writeln!(
            h,
            "<g class=\"seg\" data-seg=\"{num}\"><path d=\"{d}\" fill=\"{c}\" fill-opacity=\"0.12\" stroke=\"{c}\" \
             stroke-width=\"1.5\"><title>Segment {num}</title></path>"
        );
        if median.is_finite() {
            let mx = pad_l + plot_w * axis_position(&hist.edges, median);
            let _ = writeln!(
                h,
                "<path d=\"M{mx:.2},{:.2} l-5,8 h10 Z\" fill=\"{c}\"><title>Segment {num} median: {}</title></path>",
                plot_h - 8.0,
                fmt_num(median)
            );
        }
        h.push_str("</g>\n");
    }
    let (lo, hi) = (hist.edges[0], hist.edges[nb]);
    let mid_b = nb / 2;
    let _ = writeln!(
        h,
        "<text x=\"{pad_l}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        plot_h + 14.0,
        fmt_num(lo),
        bx(mid_b as f64),
        plot_h + 14.0,
        if nb >= 2 { fmt_num(hist.edges[mid_b]) } else { String::new() },
        pad_l + plot_w,
        plot_h + 14.0,
        fmt_num(hi)
    );
    h.push_str("</svg>\n");
}

fn means_table(h: &mut String, p: &Profiles) {
    h.push_str("<table class=\"means\">\n<tr><th>Feature</th><th class=\"num\">All: mean / median</th>");
    for s in &p.segments {
        let _ = write!(
            h,
            "<th class=\"num\"><span class=\"swatch\" style=\"background:{}\"></span>Segment {}</th>",
            colour(s.segment as usize),
            s.segment
        );
    }
    h.push_str("</tr>\n");
    for (f, o) in p.overall.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{} / {}</td>",
            escape(&o.name),
            fmt_num(o.mean),
            fmt_num(o.median)
        );
        for s in &p.segments {
            let fs = &s.features[f];
            let _ = write!(h, "<td class=\"num\">{} / {}</td>", fmt_num(fs.mean), fmt_num(fs.median));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Matrix;
    use crate::prep::{ScaleMethod, Scaler};
    use crate::report::build_profiles;

    fn profiles(names: &[&str]) -> Profiles {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let d = names.len();
        let n = 40;
        let raw: Vec<f32> = (0..n * d).map(|i| ((i * 37) % 101) as f32 + (i / d % 2) as f32 * 50.0).collect();
        let labels: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
        let mut x = Matrix::from_vec(raw, n, d);
        let s = Scaler::fit_transform(&mut x, &names, ScaleMethod::Zscore, &[]).unwrap();
        build_profiles(&x, &s, &names, &labels, 2, None).unwrap()
    }

    #[test]
    fn hostile_feature_names_are_escaped() {
        let hostile = "<script>alert('x')</script> & \"q\"";
        let html = render_html(&profiles(&["monetary", hostile]), "Report <b>&</b>");
        assert!(!html.contains("<script>alert"), "raw name leaked");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"));
        assert!(html.contains("<title>Report &lt;b&gt;&amp;&lt;/b&gt;</title>"));
        assert_eq!(html.matches("<script>").count(), 1, "only the report's own script");
    }

    #[test]
    fn page_is_self_contained() {
        let html = render_html(&profiles(&["recency_days", "frequency", "monetary"]), "Segments");
        let lower = html.to_lowercase();
        assert!(!lower.contains("http://") && !lower.contains("https://"), "no network references");
        assert!(!lower.contains("<link") && !lower.contains(" src=") && !lower.contains("@import"));
        assert!(!lower.contains("url("), "no external resources in CSS");
    }

    #[test]
    fn page_has_the_three_charts() {
        let html = render_html(&profiles(&["recency_days", "frequency", "monetary"]), "Segments");
        assert_eq!(html.matches("data-chart=\"sizes\"").count(), 1);
        assert_eq!(html.matches("data-chart=\"heatmap\"").count(), 1);
        assert_eq!(html.matches("data-chart=\"distribution\"").count(), 3);
        assert!(html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn index_colours_diverge_around_100() {
        assert_eq!(index_colour(Some(100.0)).0, "#ffffff");
        assert_eq!(index_colour(Some(400.0)).0, "#d6604d");
        assert_eq!(index_colour(Some(25.0)).0, "#4393c3");
        assert_eq!(index_colour(None).0, "#e6e6e6");
    }

    #[test]
    fn axis_position_interpolates_between_edges() {
        let e = [0.0, 10.0, 100.0];
        assert_eq!(axis_position(&e, 5.0), 0.25);
        assert_eq!(axis_position(&e, 55.0), 0.75);
        assert_eq!(axis_position(&e, -1.0), 0.0);
        assert_eq!(axis_position(&e, 1e9), 1.0);
    }
}
