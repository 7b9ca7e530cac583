//! What `segment` prints on stdout: a segment table (size, share, centroid in original units), or JSON.

use std::io::Write;
use std::path::Path;

use custseg::format::fmt_num;
use custseg::model::Model;

pub fn write_table(out: &mut impl Write, m: &Model, seg_path: &Path, model_path: &Path) -> anyhow::Result<()> {
    let total: u64 = m.sizes.iter().sum();
    let mut header = vec!["segment".to_string(), "size".into(), "share".into()];
    header.extend(m.features.iter().cloned());
    let mut rows = vec![header];
    for (j, c) in m.centroids.iter().enumerate() {
        let mut r = vec![
            j.to_string(),
            m.sizes[j].to_string(),
            format!("{:.1}%", 100.0 * m.sizes[j] as f64 / total.max(1) as f64),
        ];
        r.extend(c.iter().map(|&v| fmt_num(v)));
        rows.push(r);
    }
    let widths: Vec<usize> = (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0)).collect();
    writeln!(
        out,
        "{} customers, {} features, k = {} ({}), inertia {:.6e}, {} iterations{}",
        total,
        m.features.len(),
        m.k(),
        m.backend,
        m.inertia,
        m.n_iter,
        if m.converged { ", converged" } else { ", not converged (raise --max-iter)" }
    )?;
    writeln!(out, "centroids in original units:")?;
    for r in &rows {
        let line: Vec<String> = r.iter().zip(&widths).map(|(s, w)| format!("{s:>w$}")).collect();
        writeln!(out, "{}", line.join("  "))?;
    }
    writeln!(out, "segments: {}", seg_path.display())?;
    writeln!(out, "model:    {}", model_path.display())?;
    Ok(())
}

pub fn write_json(
    out: &mut impl Write,
    m: &Model,
    seg_path: &Path,
    model_path: &Path,
    choice: Option<&custseg::evaluate::choose::KChoice>,
) -> anyhow::Result<()> {
    let total: u64 = m.sizes.iter().sum();
    let segments: Vec<serde_json::Value> = m
        .centroids
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let centroid: serde_json::Map<String, serde_json::Value> =
                m.features.iter().cloned().zip(c.iter().map(|&v| serde_json::json!(v))).collect();
            serde_json::json!({
                "segment": j,
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
        "segments_file": seg_path,
        "model_file": model_path,
        "input": m.input,
    });
    if let Some(c) = choice {
        // `--k auto`: which k, why, and every k's row, as `choose-k --json` prints them.
        v["k_choice"] = serde_json::to_value(c)?;
    }
    writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    Ok(())
}
