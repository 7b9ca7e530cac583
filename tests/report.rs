//! Segment profiles and the HTML report through the library: a fit of generated customers is profiled, written as
//! JSON and HTML, and the page is loaded in headless Chromium to check it renders its charts without errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use custseg::device::{fit_on_device, DeviceChoice, DeviceRequest};
use custseg::generate::{write_customers, GenerateOptions};
use custseg::io::{read_features, ReadOptions};
use custseg::kmeans::KMeansParams;
use custseg::prep::{ScaleMethod, Scaler};
use custseg::report::{build_profiles, render_table, write_html, write_profile_json, Profiles};

use crate::util::expected_got;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Generates 3,000 customers with 5 planted segments, fits k = 5 on the CPU (monetary through log1p) and builds
/// the profiles, as `segment --profile` will.
fn generated_profiles(dir: &Path) -> Profiles {
    let data = dir.join("customers.parquet");
    write_customers(&GenerateOptions { customers: 3_000, seed: 11, segments: 5 }, &data).unwrap();
    let mut table = read_features(&[data], &ReadOptions::default()).unwrap();
    let scaler =
        Scaler::fit_transform(&mut table.x, &table.feature_names, ScaleMethod::Zscore, &["monetary".into()]).unwrap();
    let params = KMeansParams::new(5).seed(5).check().unwrap();
    let cpu = DeviceRequest { choice: DeviceChoice::Cpu, ..Default::default() };
    let fit = fit_on_device(&cpu, &params, &table.x, None).unwrap();
    build_profiles(&table.x, &scaler, &table.feature_names, &fit.labels, 5, None).unwrap()
}

#[test]
fn profiles_of_a_fit_are_consistent_and_written() {
    let dir = tempfile::tempdir().unwrap();
    let p = generated_profiles(dir.path());
    assert_eq!(p.customers, 3_000);
    assert_eq!(p.money_column.as_deref(), Some("monetary"), "monetary is the default money column");
    let sizes: u64 = p.segments.iter().map(|s| s.size).sum();
    assert_eq!(sizes, 3_000, "{}", expected_got("sizes add up", 3_000, sizes));
    let revenue: f64 = p.segments.iter().map(|s| s.revenue_share.unwrap()).sum();
    assert!((revenue - 1.0).abs() < 1e-6, "revenue shares sum to {revenue}");
    // The size-weighted segment means give back the overall mean, in original units.
    for (f, o) in p.overall.iter().enumerate() {
        let back: f64 = p.segments.iter().map(|s| s.features[f].mean * s.size as f64).sum::<f64>() / 3_000.0;
        assert!((back - o.mean).abs() <= 1e-6 * o.mean.abs().max(1.0), "{}", expected_got(&o.name, o.mean, back));
        for s in &p.segments {
            let fs = &s.features[f];
            assert!(fs.median >= o.min - 1e-3 && fs.median <= o.max + 1e-3, "{} median in range", o.name);
        }
    }
    for s in &p.segments {
        assert_eq!(s.distinguishing.len(), 3);
        assert!(!s.description.is_empty());
    }
    let table = render_table(&p);
    assert_eq!(table.lines().count(), 2 + 5, "{table}");

    let json_path = dir.path().join("out/profile.json");
    std::fs::create_dir_all(json_path.parent().unwrap()).unwrap();
    write_profile_json(&p, &json_path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(v["segments"].as_array().unwrap().len(), 5);
    assert_eq!(v["segments"][0]["features"].as_array().unwrap().len(), p.overall.len());
    let html_path = dir.path().join("out/report.html");
    write_html(&p, &html_path).unwrap();
    assert!(std::fs::read_to_string(&html_path).unwrap().contains("data-chart=\"heatmap\""));
    assert_eq!(crate::util::files_in(&dir.path().join("out")), ["profile.json", "report.html"], "no temporaries");
}

/// Chromium, or `None` when it is missing outside CI (the test then skips). In CI (`CI=true`) it must exist.
pub fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from(CHROMIUM);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{CHROMIUM} is missing but CI=true: install it (apt-get install -y chromium)");
    }
    eprintln!("SKIPPED: report renders in Chromium: {CHROMIUM} not found (apt-get install -y chromium; CI=true makes this a failure)");
    None
}

/// Runs headless Chromium on `page` with `extra` arguments; returns (stdout, stderr).
pub fn run_chromium(chromium: &Path, profile_dir: &Path, page: &Path, extra: &[String]) -> (String, String) {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("spawn chromium");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "chromium failed ({}):\n{stderr}", out.status);
    (stdout, stderr)
}

/// The value of attribute `name` on the `<body>` tag of a DOM dump.
pub fn body_attribute(dom: &str, name: &str) -> Option<String> {
    let start = dom.find("<body")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!("{name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

#[test]
fn report_renders_in_headless_chromium_without_errors() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = generated_profiles(dir.path());
    let page = dir.path().join("report.html");
    write_html(&p, &page).unwrap();

    let (dom, stderr) = run_chromium(&chromium, &dir.path().join("chromium-dom"), &page, &["--dump-dom".into()]);
    // Chromium prints every console message (log, warning, error, uncaught exception) as `INFO:CONSOLE...`
    // on stderr with --enable-logging=stderr; the report logs nothing, so any such line is a failure.
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).collect();
    assert!(console.is_empty(), "console messages:\n{}", console.join("\n"));
    assert_eq!(body_attribute(&dom, "data-errors"), None, "window.onerror fired:\n{dom}");
    let charts = 2 + p.overall.len();
    assert_eq!(
        body_attribute(&dom, "data-charts").as_deref(),
        Some(charts.to_string().as_str()),
        "the page script ran and found every chart"
    );
    assert_eq!(
        body_attribute(&dom, "data-charts-drawn").as_deref(),
        Some(charts.to_string().as_str()),
        "every chart has marks and a non-empty box"
    );
    assert_eq!(dom.matches("data-drawn=\"yes\"").count(), charts);
    assert!(dom.contains("<pre id=\"report-errors\"></pre>"), "no error text in the page");

    let png = dir.path().join("report.png");
    run_chromium(
        &chromium,
        &dir.path().join("chromium-shot"),
        &page,
        &[format!("--screenshot={}", png.display()), "--window-size=1200,2400".into(), "--hide-scrollbars".into()],
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let (w, h) =
        (u32::from_be_bytes(bytes[16..20].try_into().unwrap()), u32::from_be_bytes(bytes[20..24].try_into().unwrap()));
    assert_eq!((w, h), (1200, 2400), "{}", expected_got("screenshot size", (1200, 2400), (w, h)));
    // A blank page compresses to a few kilobytes; charts, text and colours make it much larger.
    assert!(bytes.len() > 40_000, "screenshot is only {} bytes: is the page blank?", bytes.len());
    if let Ok(keep) = std::env::var("CUSTSEG_REPORT_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}

#[test]
fn the_migration_page_renders_in_headless_chromium_without_errors() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, ids: Vec<i64>, segs: Vec<u32>| {
        crate::util::write_parquet(
            &dir.path().join(name),
            vec![
                ("customer_id", std::sync::Arc::new(arrow::array::Int64Array::from(ids)) as arrow::array::ArrayRef),
                ("segment", std::sync::Arc::new(arrow::array::UInt32Array::from(segs))),
            ],
        )
    };
    write("a.parquet", (0..600).collect(), (0..600).map(|i| (i % 3) as u32).collect());
    write("b.parquet", (100..700).collect(), (100..700).map(|i| ((i / 7) % 4) as u32).collect());
    let o = crate::util::run_in(
        dir.path(),
        &["compare", "--before", "a.parquet", "--after", "b.parquet", "--report", "flows.html"],
    );
    assert!(o.status.success(), "{}", crate::util::stderr(&o));
    let page = dir.path().join("flows.html");
    let (dom, stderr) = run_chromium(&chromium, &dir.path().join("chromium-dom"), &page, &["--dump-dom".into()]);
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).collect();
    assert!(console.is_empty(), "console messages:\n{}", console.join("\n"));
    assert_eq!(body_attribute(&dom, "data-errors"), None, "window.onerror fired:\n{dom}");
    assert_eq!(body_attribute(&dom, "data-charts-drawn").as_deref(), Some("1"), "the heatmap has marks");
    assert!(dom.contains("customers moved from segment"), "the biggest flows are listed");
}
