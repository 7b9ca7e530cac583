//! What `segment` prints on stdout: a segment table (size, share, centroid in original units), or JSON.

use std::io::Write;
use std::path::Path;

use crate::format::fmt_num;
use crate::model::Model;
use crate::previous::Matching;

pub fn write_table(out: &mut dyn Write, m: &Model, seg_path: &Path, model_path: &Path) -> anyhow::Result<()> {
    let total: u64 = m.sizes.iter().sum();
    let mut header = vec!["segment".to_string(), "name".into(), "size".into(), "share".into()];
    // The categorical indicators are shown as level shares (report::render_columns), not as centroid columns.
    let numeric = m.numeric_features();
    header.extend(m.features[..numeric].iter().cloned());
    let mut rows = vec![header];
    let numbers = m.numbers();
    for (j, c) in m.centroids.iter().enumerate() {
        let mut r = vec![
            numbers[j].to_string(),
            m.names.get(j).cloned().unwrap_or_default(),
            m.sizes[j].to_string(),
            format!("{:.1}%", 100.0 * m.sizes[j] as f64 / total.max(1) as f64),
        ];
        r.extend(c[..numeric].iter().map(|&v| fmt_num(v)));
        rows.push(r);
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    writeln!(
        out,
        "{} customers, {}, k = {} ({}), inertia {:.6e}, {} iterations{}",
        total,
        feature_count(m),
        m.k(),
        m.backend,
        m.inertia,
        m.n_iter,
        if m.converged { ", converged" } else { ", not converged (raise --max-iter)" }
    )?;
    for line in missing_lines(m) {
        writeln!(out, "{line}")?;
    }
    for w in &m.warnings {
        writeln!(out, "warning: {w}")?;
    }
    writeln!(out, "centroids in original units:")?;
    for r in &rows {
        // The name is text: left-aligned; numbers right-aligned.
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (s, w))| if c == 1 { format!("{s:<w$}") } else { format!("{s:>w$}") })
            .collect();
        writeln!(out, "{}", line.join("  "))?;
    }
    writeln!(out, "segments: {}", seg_path.display())?;
    writeln!(out, "model:    {}", model_path.display())?;
    Ok(())
}

/// "3 features", or with categorical columns "3 features and 2 categorical columns (11 levels)".
fn feature_count(m: &Model) -> String {
    let numeric = m.numeric_features();
    if m.categorical.is_empty() {
        return format!("{numeric} features");
    }
    let levels: usize = m.categorical.iter().map(|c| c.levels.len()).sum();
    let cols = m.categorical.len();
    format!("{numeric} features and {cols} categorical column{} ({levels} levels)", if cols == 1 { "" } else { "s" })
}

/// How the segments matched the previous model's (`segment --previous`).
pub fn write_matching(out: &mut dyn Write, m: &Matching, prev: &Path) -> anyhow::Result<()> {
    let kept: Vec<String> = m.matched.iter().flatten().map(|(n, d)| format!("{n} (moved {d:.3})")).collect();
    let new: Vec<String> =
        m.matched.iter().zip(&m.numbers).filter(|(x, _)| x.is_none()).map(|(_, n)| n.to_string()).collect();
    let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    let vanished: Vec<String> = m.vanished.iter().map(u32::to_string).collect();
    writeln!(out, "against the previous model {} (match radius {}):", prev.display(), fmt_num(m.max_distance))?;
    writeln!(out, "  kept their numbers: {}", list(&kept))?;
    writeln!(out, "  new segments:       {}", list(&new))?;
    writeln!(out, "  vanished:           {}", list(&vanished))?;
    Ok(())
}

/// What `--missing` did, for people: the rows dropped, the values imputed per column.
fn missing_lines(m: &Model) -> Vec<String> {
    let i = &m.input;
    let mut lines = Vec::new();
    if i.rows_dropped > 0 {
        lines.push(format!(
            "{} of {} rows dropped for missing feature values (--missing drop): {} clustered",
            i.rows_dropped, i.rows_read, i.rows_clustered
        ));
    }
    if !i.imputed.is_empty() {
        let cols: Vec<String> = i.imputed.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let total: usize = i.imputed.iter().map(|(_, n)| n).sum();
        lines.push(format!("{total} missing values replaced by the column mean (--missing mean): {}", cols.join(", ")));
    }
    lines
}

pub fn write_json(
    out: &mut dyn Write,
    o: &crate::jobs::segment::SegmentOutcome,
    seg_path: &Path,
    model_path: &Path,
) -> anyhow::Result<()> {
    let (m, matching, rules, choice) = (&o.model, o.matching.as_ref(), Some(&o.explanation.rules), o.choice.as_ref());
    let columns = &o.columns;
    let total: u64 = m.sizes.iter().sum();
    let numbers = m.numbers();
    let segments: Vec<serde_json::Value> = m
        .centroids
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let centroid: serde_json::Map<String, serde_json::Value> =
                m.features.iter().cloned().zip(c.iter().map(|&v| serde_json::json!(v))).collect();
            serde_json::json!({
                "segment": numbers[j],
                "name": m.names.get(j),
                "size": m.sizes[j],
                "share": m.sizes[j] as f64 / total.max(1) as f64,
                "centroid": centroid,
            })
        })
        .collect();
    let mut v = serde_json::json!({
        "customers": total,
        "k": m.k(),
        "features": m.features,
        "backend": m.backend,
        "inertia": m.inertia,
        "n_iter": m.n_iter,
        "converged": m.converged,
        "segments": segments,
        "rules": rules,
        "segments_file": seg_path,
        "model_file": model_path,
        "input": m.input,
        "rows_dropped": m.input.rows_dropped,
        "values_imputed": m.input.imputed.iter().map(|(c, n)| (c.clone(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
        "warnings": m.warnings,
    });
    if let Some(x) = matching {
        v["previous"] = serde_json::json!({
            "kept": x.matched.iter().flatten().map(|(n, d)| serde_json::json!({"segment": n, "distance": d})).collect::<Vec<_>>(),
            "new": x.matched.iter().zip(&x.numbers).filter(|(y, _)| y.is_none()).map(|(_, n)| *n).collect::<Vec<_>>(),
            "vanished": x.vanished,
            "max_distance": x.max_distance,
        });
    }
    if !columns.is_empty() {
        v["columns"] = serde_json::to_value(columns)?;
    }
    if let Some(c) = choice {
        // `--k auto`: which k, why, and every k's row, as `choose-k --json` prints them.
        v["k_choice"] = serde_json::to_value(c)?;
    }
    writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    Ok(())
}
