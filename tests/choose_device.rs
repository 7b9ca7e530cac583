//! Where choosing K runs: `choose-k --device gpu` gives the same recommendation and silhouettes as `--device cpu`
//! on planted customers (the silhouette's sums made on the GPU, within docs/GPU.md's bound), and says where the
//! silhouette ran; and `segment` with a fixed k refuses the flags that only `--k auto` reads.

use std::path::Path;

use crate::util::{run_in, stderr, stdout};

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run_in(dir, args);
    assert!(o.status.success(), "custseg {args:?} failed:\n{}", stderr(&o));
    stdout(&o)
}

fn choose(dir: &Path, device: &str, json: bool) -> String {
    let mut args = vec![
        "choose-k",
        "--input",
        "c.parquet",
        "--log1p",
        "monetary,avg_basket",
        "--k",
        "2..7",
        "--sample",
        "1500",
        "--bootstrap",
        "0",
        "--device",
        device,
    ];
    if json {
        args.push("--json");
    }
    ok(dir, &args)
}

#[test]
fn choose_k_on_the_gpu_recommends_and_scores_as_on_the_cpu() {
    if !crate::util::gpu_available() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    ok(d.path(), &["generate", "--customers", "2000", "--segments", "5", "--seed", "3", "--output", "c.parquet"]);
    let cpu: serde_json::Value = serde_json::from_str(&choose(d.path(), "cpu", true)).unwrap();
    let gpu: serde_json::Value = serde_json::from_str(&choose(d.path(), "gpu", true)).unwrap();
    assert_eq!(cpu["recommended_k"], 5, "{cpu}");
    assert_eq!(gpu["recommended_k"], cpu["recommended_k"], "GPU {gpu}\nCPU {cpu}");
    let (rc, rg) = (cpu["rows"].as_array().unwrap(), gpu["rows"].as_array().unwrap());
    assert_eq!(rc.len(), 6);
    for (c, g) in rc.iter().zip(rg) {
        let (sc, sg) = (c["silhouette"].as_f64().unwrap(), g["silhouette"].as_f64().unwrap());
        // The fits give the same labels on planted segments (same sizes, inertia to f32); the silhouettes then differ by the
        // GPU's f32 distances only: at most 2 · ((d + 3)/2 + 3) · 2^-24 for d = 8 features, about 1.0e-6.
        let (ic, ig) = (c["inertia"].as_f64().unwrap(), g["inertia"].as_f64().unwrap());
        assert!((ic - ig).abs() <= 1e-5 * ic && c["min_share"] == g["min_share"], "k = {}: {c} vs {g}", c["k"]);
        let bound = 2.0 * ((8.0 + 3.0) / 2.0 + 3.0) * 2f64.powi(-24);
        assert!((sc - sg).abs() <= bound, "k = {}: GPU {sg} vs CPU {sc}", c["k"]);
    }
    let table = choose(d.path(), "gpu", false);
    assert!(table.lines().next().unwrap().ends_with("silhouette on 1,500 rows on the GPU"), "{table}");
    let table = choose(d.path(), "cpu", false);
    assert!(table.lines().next().unwrap().ends_with("silhouette on 1,500 rows on the CPU"), "{table}");
}

#[test]
fn segment_with_a_fixed_k_refuses_the_flags_of_k_auto() {
    let d = tempfile::tempdir().unwrap();
    for (flag, value) in [("--k-range", "3..9"), ("--sample", "2000"), ("--bootstrap", "4")] {
        let o = run_in(d.path(), &["segment", "--k", "5", flag, value, "--device", "cpu"]);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", stderr(&o));
        let err = stderr(&o);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(
            lines,
            [format!("error: {flag} {value} applies only with --k auto, and this run has k = 5: drop one of them")],
            "{flag}: {err}"
        );
        // Refused before any work: nothing written.
        assert!(!d.path().join("custseg-out").exists(), "{flag}");
    }
    // --min-segment-share is not one of them: segment warns about small segments with it.
    let o = run_in(d.path(), &["segment", "--k", "3", "--min-segment-share", "0.05", "--device", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
