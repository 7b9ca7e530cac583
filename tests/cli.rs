//! The binary as a user runs it: the bundled sample, generated data with planted segments, determinism across
//! thread counts, ID types, JSON output and exit codes.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, StringArray, UInt32Array};

use crate::util::{adjusted_rand_index, read_parquet, run_in, stderr, stdout, write_parquet};

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run_in(dir, args);
    assert!(o.status.success(), "custseg {args:?} failed:\n{}", stderr(&o));
    stdout(&o)
}

#[test]
fn segment_runs_on_the_bundled_sample_from_any_folder() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(d.path(), &["segment", "--device", "cpu", "--k", "4"]);
    assert!(out.contains("centroids in original units"), "{out}");
    let seg = read_parquet(&d.path().join("custseg-out/segments.parquet"));
    assert_eq!(seg.num_rows(), 20_000);
    let names: Vec<String> = seg.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, vec!["customer_id", "segment", "distance"]);
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("custseg-out/model.json")).unwrap()).unwrap();
    for key in [
        "features",
        "scaler",
        "centroids",
        "centroids_scaled",
        "sizes",
        "inertia",
        "n_iter",
        "converged",
        "engine",
        "backend",
    ] {
        assert!(model.get(key).is_some(), "model.json has {key}");
    }
    assert_eq!(model["params"]["seed"], 0);
}

#[test]
fn generated_planted_segments_are_recovered() {
    let d = tempfile::tempdir().unwrap();
    ok(d.path(), &["generate", "--customers", "20000", "--seed", "7", "--output", "c.parquet"]);
    ok(
        d.path(),
        &[
            "segment",
            "--input",
            "c.parquet",
            "--k",
            "6",
            "--log1p",
            "monetary,avg_basket",
            "--n-init",
            "3",
            "--seed",
            "1",
            "--device",
            "cpu",
            "--output",
            "s.parquet",
            "--model",
            "m.json",
        ],
    );
    let truth = read_parquet(&d.path().join("c.parquet"));
    let planted = truth.column_by_name("planted_segment").unwrap();
    let planted = arrow::compute::cast(planted, &arrow::datatypes::DataType::Utf8).unwrap();
    let planted = planted.as_any().downcast_ref::<StringArray>().unwrap();
    let mut names: Vec<&str> = planted.iter().map(|s| s.unwrap()).collect();
    names.sort();
    names.dedup();
    let truth_labels: Vec<u32> = planted.iter().map(|s| names.binary_search(&s.unwrap()).unwrap() as u32).collect();
    let seg = read_parquet(&d.path().join("s.parquet"));
    let got = seg.column_by_name("segment").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap();
    let ari = adjusted_rand_index(&truth_labels, got.values());
    assert!(ari >= 0.95, "adjusted Rand index {ari:.4} < 0.95");
}

#[test]
fn same_seed_gives_an_identical_file_with_one_or_two_threads() {
    let d = tempfile::tempdir().unwrap();
    ok(d.path(), &["generate", "--customers", "30000", "--seed", "3", "--output", "c.parquet"]);
    for t in ["1", "2"] {
        ok(
            d.path(),
            &[
                "segment",
                "--input",
                "c.parquet",
                "--k",
                "7",
                "--n-init",
                "2",
                "--seed",
                "5",
                "--device",
                "cpu",
                "--threads",
                t,
                "--output",
                &format!("s{t}.parquet"),
                "--model",
                &format!("m{t}.json"),
            ],
        );
    }
    let a = std::fs::read(d.path().join("s1.parquet")).unwrap();
    let b = std::fs::read(d.path().join("s2.parquet")).unwrap();
    assert!(a == b, "segments files differ between 1 and 2 threads");
    let m1: serde_json::Value = serde_json::from_slice(&std::fs::read(d.path().join("m1.json")).unwrap()).unwrap();
    let m2: serde_json::Value = serde_json::from_slice(&std::fs::read(d.path().join("m2.json")).unwrap()).unwrap();
    assert_eq!(m1["centroids_scaled"], m2["centroids_scaled"]);
    assert_eq!(m1["inertia"], m2["inertia"]);
}

#[test]
fn hamerly_bounds_change_nothing_in_the_output() {
    // From K = 64 the CPU backend skips rows whose label provably cannot change; the results must be the full
    // scan's to the bit. The log proves the bounds ran; CUSTSEG_NO_BOUNDS=1 is the full scan.
    let d = tempfile::tempdir().unwrap();
    ok(d.path(), &["generate", "--customers", "30000", "--seed", "4", "--output", "c.parquet"]);
    let mut logs = Vec::new();
    for (tag, off) in [("on", "0"), ("off", "1")] {
        let o = crate::util::custseg()
            .current_dir(d.path())
            .env("CUSTSEG_NO_BOUNDS", off)
            .args(["segment", "--input", "c.parquet", "--k", "64", "--max-iter", "40", "--seed", "2", "--device"])
            .args(["cpu", "-v", "--output", &format!("s_{tag}.parquet"), "--model", &format!("m_{tag}.json")])
            .output()
            .expect("spawn custseg");
        assert!(o.status.success(), "segment with bounds {tag} failed:\n{}", stderr(&o));
        logs.push(stderr(&o));
    }
    assert!(logs[0].contains("bounds=true"), "the bounds did not run at K = 64:\n{}", logs[0]);
    assert!(!logs[1].contains("bounds=true"), "CUSTSEG_NO_BOUNDS=1 did not turn the bounds off");
    let read = |f: &str| std::fs::read(d.path().join(f)).unwrap();
    assert!(read("s_on.parquet") == read("s_off.parquet"), "segment files differ with and without the bounds");
    let model = |f: &str| serde_json::from_slice::<serde_json::Value>(&read(f)).unwrap();
    let (on, off) = (model("m_on.json"), model("m_off.json"));
    assert_eq!(on["centroids_scaled"], off["centroids_scaled"]);
    assert_eq!(on["inertia"], off["inertia"]);
    assert_eq!(on["n_iter"], off["n_iter"]);
}

#[test]
fn string_ids_keep_their_type_and_order() {
    let d = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..50).map(|i| format!("cust-{i:03}")).collect();
    let spend: Vec<f64> = (0..50).map(|i| if i < 25 { i as f64 } else { 1000.0 + i as f64 }).collect();
    write_parquet(
        &d.path().join("s.parquet"),
        vec![
            ("id", Arc::new(StringArray::from(ids.clone())) as ArrayRef),
            ("spend", Arc::new(Float64Array::from(spend)) as ArrayRef),
        ],
    );
    ok(
        d.path(),
        &["segment", "--input", "s.parquet", "--id", "id", "--k", "2", "--device", "cpu", "-o", "out.parquet"],
    );
    let seg = read_parquet(&d.path().join("out.parquet"));
    let got = seg.column_by_name("id").unwrap().as_any().downcast_ref::<StringArray>().expect("id stays a string");
    assert_eq!(got.iter().map(|s| s.unwrap().to_string()).collect::<Vec<_>>(), ids);
    let labels = seg.column_by_name("segment").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap();
    assert!(labels.values()[..25].iter().all(|&l| l == labels.value(0)));
    assert!(labels.values()[25..].iter().all(|&l| l != labels.value(0)));
}

#[test]
fn json_summary_is_machine_readable() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(d.path(), &["segment", "--device", "cpu", "--k", "3", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON");
    assert_eq!(v["k"], 3);
    assert_eq!(v["segments"].as_array().unwrap().len(), 3);
    let total: u64 = v["segments"].as_array().unwrap().iter().map(|s| s["size"].as_u64().unwrap()).sum();
    assert_eq!(total, 20_000);
}

#[test]
fn usage_errors_exit_with_code_two() {
    let d = tempfile::tempdir().unwrap();
    for args in [
        &["segment", "--no-such-flag"][..],
        &["segment", "--k", "0"],
        &["segment", "--max-iter", "0"],
        &["segment", "--device", "tpu"],
    ] {
        let o = run_in(d.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn devices_lists_adapters_or_says_there_are_none() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(d.path(), &["devices"]);
    assert!(!out.trim().is_empty());
}

#[test]
fn features_turn_a_generated_transaction_log_into_customers() {
    let d = tempfile::tempdir().unwrap();
    ok(d.path(), &["generate", "--transactions", "20000", "--seed", "4", "--output", "tx.parquet"]);
    let out = ok(
        d.path(),
        &[
            "features",
            "--transactions",
            "tx.parquet",
            "--as-of",
            "2026-11-01",
            "--order",
            "order_id",
            "--category",
            "category",
            "--output",
            "cust.parquet",
        ],
    );
    assert!(out.contains("RFM segments:") && out.contains("Champions"), "{out}");
    let cust = read_parquet(&d.path().join("cust.parquet"));
    for col in ["customer_id", "recency_days", "frequency", "monetary", "rfm_segment", "value_tier"] {
        assert!(cust.column_by_name(col).is_some(), "features output has {col}");
    }
    let first = out.split_whitespace().next().unwrap().parse::<usize>().unwrap();
    assert_eq!(cust.num_rows(), first, "the printed customer count is the number of rows written");
    // A bad --as-of is a usage error.
    let o = run_in(d.path(), &["features", "--transactions", "tx.parquet", "--as-of", "soon", "-o", "x.parquet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn segment_writes_profiles_and_a_self_contained_report() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(
        d.path(),
        &[
            "segment",
            "--device",
            "cpu",
            "--k",
            "4",
            "--log1p",
            "monetary,avg_basket",
            "--profile",
            "p.json",
            "--report",
            "r.html",
        ],
    );
    assert!(out.contains("revenue") && out.contains("description"), "profile table on stdout:\n{out}");
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(d.path().join("p.json")).unwrap()).unwrap();
    let segs = p["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 4);
    let revenue: f64 = segs.iter().map(|s| s["revenue_share"].as_f64().unwrap()).sum();
    assert!((revenue - 1.0).abs() < 1e-9, "revenue shares sum to 1, got {revenue}");
    let html = std::fs::read_to_string(d.path().join("r.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("https://"), "inline SVG, no network references");
    // An unknown money column is a usage error.
    let o =
        run_in(d.path(), &["segment", "--device", "cpu", "--k", "2", "--profile", "q.json", "--money-column", "nope"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// `custseg bench` on small shapes, as JSON.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let d = tempfile::tempdir().unwrap();
    let mut all = vec!["bench", "--iters", "2", "--warmup", "1", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(d.path(), &all)).expect("bench --json prints JSON")
}

#[test]
fn bench_times_every_case_against_the_floor() {
    let v = bench_json(&["--n", "3000", "--d", "4,8", "--k", "2,16", "--backends", "cpu,cpu-sgemm"]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 8, "2 d x 2 k x 2 backends: {v}");
    assert!(v["cpu_peak"]["gbs"].as_f64().unwrap() > 0.0 && v["cpu_peak"]["gflops"].as_f64().unwrap() > 0.0);
    for r in rows {
        let (ms, min, floor) =
            (r["ms"].as_f64().unwrap(), r["ms_min"].as_f64().unwrap(), r["floor_ms"].as_f64().unwrap());
        assert!(ms > 0.0 && min > 0.0 && min <= ms && floor > 0.0, "{r}");
        assert!((r["pct_of_floor"].as_f64().unwrap() - 100.0 * floor / ms).abs() < 1e-6 * (1.0 + 100.0 * floor / ms));
        let bytes = (3000 * r["d"].as_u64().unwrap() * 4 + 3000 * 8) as f64;
        assert!((r["gbs"].as_f64().unwrap() - bytes / (ms * 1e-3) / 1e9).abs() < 1e-9 * (1.0 + bytes / ms), "{r}");
        assert!(r.get("launch").is_none(), "CPU rows have no launch shape: {r}");
    }
    // cpu-sgemm rows carry their speed-up over the cpu row of the same case.
    assert!(rows
        .iter()
        .filter(|r| r["backend"].as_str().unwrap().contains("sgemm"))
        .all(|r| r["speedup_vs_cpu"].is_f64()));
    // k over n is skipped, not an error.
    let v = bench_json(&["--n", "10", "--d", "2", "--k", "4,64", "--backends", "cpu"]);
    assert_eq!(v["rows"].as_array().unwrap().len(), 1, "{v}");
}

#[test]
fn bench_rejects_bad_values_with_usage_errors() {
    let d = tempfile::tempdir().unwrap();
    for (args, what) in [
        (&["bench", "--backends", "tpu"][..], "--backends"),
        (&["bench", "--gpu-points", "3"][..], "--gpu-points"),
        (&["bench", "--gpu-workgroup", "96"][..], "--gpu-workgroup"),
        (&["bench", "--gpu-groups", "0"][..], "--gpu-groups"),
    ] {
        let o = run_in(d.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(what) && e.trim().lines().count() == 1, "{args:?}: {e}");
    }
}

#[cfg(feature = "gpu")]
#[test]
fn bench_sweeps_gpu_launch_shapes_and_names_the_fastest() {
    let v = bench_json(&[
        "--n",
        "3000",
        "--d",
        "16",
        "--k",
        "4,64",
        "--backends",
        "gpu",
        "--gpu-points",
        "2,8",
        "--gpu-workgroup",
        "64",
        "--gpu-groups",
        "2",
    ]);
    let rows = v["rows"].as_array().unwrap();
    if rows.is_empty() || v["gpu_peak"].is_null() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI=true but bench found no GPU adapter: {v}");
        eprintln!("SKIPPED: bench's GPU sweep: no GPU adapter");
        return;
    }
    // Per k: the default shape, then P = 2 and 8 at 64 threads and 2 workgroups (3000 rows: at least 1 each).
    assert_eq!(rows.len(), 6, "{v}");
    for (i, r) in rows.iter().enumerate() {
        let l = &r["launch"];
        assert!(l["workgroups"].as_u64().unwrap() >= 1 && l["tiles"].as_u64().unwrap() >= 1, "{r}");
        match i % 3 {
            0 => assert!(r["backend"].as_str().unwrap().starts_with("gpu"), "{r}"),
            j => {
                assert_eq!(l["points_per_thread"], [2, 8][j - 1], "{r}");
                assert_eq!(l["workgroup_size"], 64, "{r}");
            }
        }
        assert!(r["ms"].as_f64().unwrap() > 0.0, "{r}");
        // Where the pass is timed on the device, the assignment pass alone is too.
        assert_eq!(r["gpu_ms"].is_f64(), r["gpu_assign_ms"].is_f64(), "{r}");
    }
    // The GPU's own peaks, measured through wgpu, and the upload of the one (n, d).
    let m = &v["gpu_peak_measured"];
    assert!(m["gbs"].as_f64().unwrap() > 0.0 && m["gflops"].as_f64().unwrap() > 0.0, "{v}");
    let up = v["uploads"].as_array().unwrap();
    assert_eq!(up.len(), 1, "{v}");
    assert_eq!(up[0]["bytes"], 3000 * 16 * 4, "{v}");
    assert!(up[0]["gbs"].as_f64().unwrap() > 0.0, "{v}");
    let fastest = v["fastest_launch"].as_array().unwrap();
    assert_eq!(fastest.len(), 2, "one line per case: {v}");
    assert!(fastest[0].as_str().unwrap().starts_with("fastest launch n=3000 d=16 k=4: P"), "{v}");
}

/// Whether this machine has a GPU adapter (lavapipe counts); under `CI=true` it must.
#[cfg(feature = "gpu")]
fn have_gpu() -> bool {
    let there = !custseg::backend::gpu::list_adapters().is_empty();
    assert!(there || std::env::var("CI").as_deref() != Ok("true"), "CI=true but no GPU adapter");
    if !there {
        eprintln!("SKIPPED: no GPU adapter");
    }
    there
}

#[cfg(feature = "gpu")]
#[test]
fn segment_on_the_gpu_matches_the_cpu_and_logs_the_upload() {
    if !have_gpu() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for dev in ["gpu", "cpu"] {
        let (seg, model) = (format!("s_{dev}.parquet"), format!("m_{dev}.json"));
        let o =
            run_in(d.path(), &["segment", "--device", dev, "--k", "5", "--n-init", "2", "-o", &seg, "--model", &model]);
        assert!(o.status.success(), "--device {dev}: {}", stderr(&o));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.path().join(&model)).unwrap()).unwrap();
        let labels = read_parquet(&d.path().join(&seg))
            .column_by_name("segment")
            .unwrap()
            .as_any()
            .downcast_ref::<UInt32Array>()
            .unwrap()
            .values()
            .to_vec();
        runs.push((m, labels, stderr(&o)));
    }
    let ((mg, lg, eg), (mc, lc, _)) = (&runs[0], &runs[1]);
    assert!(mg["backend"].as_str().unwrap().starts_with("gpu"), "{}", mg["backend"]);
    assert!(mc["backend"].as_str().unwrap().starts_with("cpu"), "{}", mc["backend"]);
    let (ig, ic) = (mg["inertia"].as_f64().unwrap(), mc["inertia"].as_f64().unwrap());
    assert!((ig - ic).abs() <= 1e-4 * ic, "inertia gpu {ig} cpu {ic}");
    assert!(adjusted_rand_index(lg, lc) > 0.99, "labels: ARI {}", adjusted_rand_index(lg, lc));
    // The upload is logged with its size: 20,000 rows of the sample's features, 4 bytes each.
    let line = eg.lines().find(|l| l.contains("uploaded the features to the GPU")).unwrap_or_else(|| panic!("{eg}"));
    let n_features = mg["features"].as_array().unwrap().len();
    assert!(line.contains(&format!("bytes={}", 20_000 * n_features * 4)), "{line}");
    assert!(line.contains("gbs="), "{line}");
    // The GPU was opened, and its Lloyd pipeline built, on another thread while the input was read, and the log
    // says how long each took and how long the fit then waited for it.
    let early =
        eg.lines().find(|l| l.contains("opened the GPU while the input was read")).unwrap_or_else(|| panic!("{eg}"));
    for field in ["open_seconds=", "prepare_seconds=", "waited_seconds="] {
        assert!(early.contains(field), "{early}");
    }
}
