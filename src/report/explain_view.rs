//! The report's views of the explanation (`crate::explain`): segment names with the facts behind them and the
//! rules that describe them, the map of the segments on the first two principal components (inline SVG), the
//! crosstab against a features file's named RFM segments, and the run's settings.

use std::fmt::Write;

use super::html::{colour, escape};
use super::types::Profiles;
use crate::explain::{Explanation, PcaView};
use crate::format::{fmt_count, fmt_pct};

/// "Segment 3 · Recent high spenders", escaped.
/// The number of the segment at position `j` (kept across periods by `segment --previous`).
fn seg_num(p: &Profiles, j: usize) -> usize {
    p.segments.get(j).map_or(j, |s| s.segment as usize)
}

pub(crate) fn segment_label(p: &Profiles, j: usize) -> String {
    match p.explanation.as_ref().and_then(|e| e.names.get(j)) {
        Some(n) => format!("Segment {} · {}", seg_num(p, j), escape(&n.name)),
        None => format!("Segment {}", seg_num(p, j)),
    }
}

/// The segment's name, escaped, or "" without names.
fn name_of(p: &Profiles, j: usize) -> String {
    p.explanation.as_ref().and_then(|e| e.names.get(j)).map_or(String::new(), |n| escape(&n.name))
}

/// The names, why each was given, and the rules: one row per segment.
pub(crate) fn names_and_rules(h: &mut String, p: &Profiles) {
    let Some(e) = &p.explanation else { return };
    let r = &e.rules;
    h.push_str("<h2>Who is in each segment</h2>\n");
    let _ = writeln!(
        h,
        "<p class=\"note\">Names come from where each segment's median customer stands among all customers (the rule \
         table is in docs/NAMING.md). Rules come from a decision tree of depth {} fitted on {} customers: it puts \
         <b>{}</b> of all {} customers in their segment. Precision: of the customers a rule selects, the share in \
         the segment; recall: of the segment, the share the rule selects. Rules that select under 5% of \
         their segment are left out here (they are in the profiles' JSON).</p>",
        r.max_depth,
        fmt_count(r.sample_rows as u64),
        fmt_pct(Some(r.fidelity)),
        fmt_count(r.customers)
    );
    h.push_str(
        "<table class=\"names\">\n<tr><th>Segment</th><th>Name</th><th>Why this name</th><th>Rule</th>\
         <th class=\"num\">Precision</th><th class=\"num\">Recall</th></tr>\n",
    );
    for (j, n) in e.names.iter().enumerate() {
        let rules: Vec<_> = r
            .rules
            .iter()
            .filter(|x| x.segment as usize == seg_num(p, j) && x.recall >= crate::explain::rules::MIN_RECALL_SHOWN)
            .collect();
        let span = rules.len().max(1);
        let why = if n.basis.is_empty() {
            "–".into()
        } else {
            n.basis.iter().map(|b| escape(b)).collect::<Vec<_>>().join("<br>")
        };
        let _ = write!(
            h,
            "<tr><td rowspan=\"{span}\"><span class=\"swatch\" style=\"background:{}\"></span>{}</td>\
             <td rowspan=\"{span}\"><b>{}</b></td><td rowspan=\"{span}\" class=\"why\">{why}</td>",
            colour(seg_num(p, j)),
            seg_num(p, j),
            escape(&n.name)
        );
        if rules.is_empty() {
            h.push_str("<td colspan=\"3\" class=\"why\">no rule of this depth singles it out</td></tr>\n");
        }
        for (i, rule) in rules.iter().enumerate() {
            if i > 0 {
                h.push_str("<tr>");
            }
            let when = rule.text.split(" → ").next().unwrap_or("");
            let _ = writeln!(
                h,
                "<td>{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{:.2}</td></tr>",
                escape(when),
                rule.precision,
                rule.recall
            );
        }
    }
    h.push_str("</table>\n");
}

/// The two largest loadings of a component, for its axis title: "+0.61 frequency, −0.52 recency_days".
fn loadings(v: &[f64], names: &[String]) -> String {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[b].abs().total_cmp(&v[a].abs()));
    idx.iter()
        .take(3)
        .map(|&f| format!("{}{:.2} {}", if v[f] < 0.0 { "−" } else { "+" }, v[f].abs(), escape(&names[f])))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An axis range: from the 0.5th to the 99.5th percentile of `points`, widened to hold every centre.
fn frame(points: impl Iterator<Item = f64>, centres: impl Iterator<Item = f64>) -> (f64, f64) {
    let mut v: Vec<f64> = points.filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let (mut lo, mut hi) = match v.len() {
        0 => (f64::INFINITY, f64::NEG_INFINITY),
        n => (v[n * 5 / 1000], v[(n - 1) - n * 5 / 1000]),
    };
    for c in centres.filter(|x| x.is_finite()) {
        lo = lo.min(c);
        hi = hi.max(c);
    }
    if lo > hi {
        (0.0, 1.0)
    } else {
        (lo, hi)
    }
}

/// The map: sampled customers as dots coloured by segment, centroids as numbered discs.
pub(crate) fn map(h: &mut String, p: &Profiles) {
    let Some(Explanation { map: Some(m), .. }) = &p.explanation else { return };
    let PcaView { pca, points, centroids, feature_names } = m;
    let share = |i: usize| {
        pca.variance.get(i).map_or(0.0, |v| if pca.total_variance > 0.0 { v / pca.total_variance } else { 0.0 })
    };
    h.push_str("<h2>Map of the segments</h2>\n");
    let _ = writeln!(
        h,
        "<p class=\"note\">{} customers drawn at random, placed on the two directions along which the scaled \
         features vary most (principal components); they hold {} of the variance. Discs mark the segments' centres. \
         Close segments are alike; the axes are mixes of features, named below. The few customers \
         beyond the frame are drawn on its edge.</p>",
        fmt_count(points.len() as u64),
        fmt_pct(Some(share(0) + share(1)))
    );
    let (w, ht, pad) = (760.0, 520.0, 28.0);
    // The frame holds the middle 99% of the points on each axis and every centre; the few points beyond it are
    // drawn on its edge, so that outliers do not squeeze the segments into a corner.
    let (x0, x1) = frame(points.iter().map(|q| q.0 as f64), centroids.iter().map(|c| c.0));
    let (y0, y1) = frame(points.iter().map(|q| q.1 as f64), centroids.iter().map(|c| c.1));
    let (sx, sy) = ((x1 - x0).max(1e-9), (y1 - y0).max(1e-9));
    let px = |x: f64| pad + (w - 2.0 * pad) * ((x - x0) / sx).clamp(0.0, 1.0);
    let py = |y: f64| ht - pad - (ht - 2.0 * pad) * ((y - y0) / sy).clamp(0.0, 1.0);
    let _ = writeln!(
        h,
        "<svg data-chart=\"map\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\" role=\"img\" \
         aria-label=\"Map of the segments on the first two principal components\">\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{ht}\" fill=\"#fafafa\" stroke=\"#ddd\"/>",
        ht + 44.0,
        ht + 44.0
    );
    let k = centroids.len();
    for j in 0..k {
        let _ = write!(
            h,
            "<g class=\"seg\" data-seg=\"{}\" fill=\"{}\" fill-opacity=\"0.45\">",
            seg_num(p, j),
            colour(seg_num(p, j))
        );
        for q in points.iter().filter(|q| q.2 as usize == j) {
            let _ = write!(h, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.2\"/>", px(q.0 as f64), py(q.1 as f64));
        }
        h.push_str("</g>\n");
    }
    for (j, c) in centroids.iter().enumerate() {
        let _ = writeln!(
            h,
            "<g class=\"seg\" data-seg=\"{}\"><circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"11\" fill=\"{}\" stroke=\"#222\" \
             stroke-width=\"1.5\"><title>{}</title></circle><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
             style=\"fill:#fff;font-weight:700\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" \
             style=\"font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px\">{}</text></g>",
            seg_num(p, j),
            px(c.0),
            py(c.1),
            colour(seg_num(p, j)),
            segment_label(p, j),
            px(c.0),
            py(c.1) + 4.0,
            seg_num(p, j),
            px(c.0) + 14.0,
            py(c.1) + 4.0,
            name_of(p, j)
        );
    }
    let axis = |i: usize| pca.components.get(i).map_or(String::new(), |v| loadings(v, feature_names));
    let _ = writeln!(
        h,
        "<text x=\"{pad}\" y=\"{}\">→ component 1 ({} of the variance): {}</text>\
         <text x=\"{pad}\" y=\"{}\">↑ component 2 ({} of the variance): {}</text></svg>",
        ht + 18.0,
        fmt_pct(Some(share(0))),
        axis(0),
        ht + 36.0,
        fmt_pct(Some(share(1))),
        axis(1)
    );
}

/// Segments against the features file's named RFM segments: customers and the row's share in each.
pub(crate) fn rfm_crosstab(h: &mut String, p: &Profiles) {
    let Some(c) = p.explanation.as_ref().and_then(|e| e.rfm_crosstab.as_ref()) else { return };
    h.push_str("<h2>Segments against the RFM segments</h2>\n");
    let _ = writeln!(
        h,
        "<p class=\"note\">Customers of each segment by their named RFM segment (column <b>{}</b> of the input), \
         with the share of the segment's customers; darker is a larger share.{}</p>",
        escape(&c.column),
        if c.unmatched > 0 {
            format!(" {} customers have no RFM segment in the input.", fmt_count(c.unmatched))
        } else {
            String::new()
        }
    );
    h.push_str("<table class=\"crosstab\">\n<tr><th>Segment</th>");
    for l in &c.labels {
        let _ = write!(h, "<th class=\"num\">{}</th>", escape(l));
    }
    h.push_str("</tr>\n");
    for (j, row) in c.counts.iter().enumerate() {
        let total: u64 = row.iter().sum();
        let _ = write!(
            h,
            "<tr><td style=\"white-space:nowrap\"><span class=\"swatch\" style=\"background:{}\"></span>{}</td>",
            colour(seg_num(p, j)),
            segment_label(p, j)
        );
        for &v in row {
            if v == 0 {
                h.push_str("<td class=\"num\" style=\"color:#bbb\">–</td>");
                continue;
            }
            let s = if total > 0 { v as f64 / total as f64 } else { 0.0 };
            let ink = if s > 0.55 { "#fff" } else { "#222" };
            let _ = write!(
                h,
                "<td class=\"num\" style=\"background:rgba(78,121,167,{s:.3});color:{ink}\">{}<br><small>{}</small></td>",
                fmt_count(v),
                fmt_pct(Some(s))
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

/// How the segments were made.
pub(crate) fn settings(h: &mut String, p: &Profiles) {
    let Some(s) = p.explanation.as_ref().and_then(|e| e.settings.as_ref()) else { return };
    h.push_str("<h2>How these segments were made</h2>\n<table class=\"settings\">\n");
    let rows = [
        ("Segments (k)", s.k.to_string()),
        ("Features", s.features.join(", ")),
        ("Scaling", s.scaling.clone()),
        ("log1p before scaling", if s.log1p.is_empty() { "none".into() } else { s.log1p.join(", ") }),
        ("Initialisation", format!("{}, {} start{}", s.init, s.n_init, if s.n_init == 1 { "" } else { "s" })),
        ("Seed", s.seed.to_string()),
        ("Device", s.device.clone()),
        ("Iterations", format!("{}{}", s.iterations, if s.converged { ", converged" } else { ", not converged" })),
    ];
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><th>{k}</th><td>{}</td></tr>", escape(&v));
    }
    h.push_str("</table>\n");
}
