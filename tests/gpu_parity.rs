//! The GPU backend against the CPU reference: same data, same centroids, same answers (labels except exact-tie
//! rounding, counts and changed counts exactly, sums, weights, inertia and potentials within 1e-5), on data split
//! over many bindings and with 2-D dispatches, and bit-identical from run to run. Skips without an adapter,
//! except under `CI=true`.
#![cfg(feature = "gpu")]

use custseg::backend::cpu::{sample_backend, CpuBackend};
use custseg::backend::gpu::{select_adapter, GpuBackend, GpuContext, GpuOptions};
use custseg::kmeans::{Backend, Init, KMeansParams, StepStats};
use custseg::Matrix;

use crate::util::expected_got;

/// A context on the default adapter, or `None` (with a note) where the machine has none.
fn gpu_with(opts: GpuOptions) -> Option<GpuContext> {
    match GpuContext::new(&opts) {
        Ok(c) => Some(c),
        Err(e) if e.to_string().contains("no GPU adapter found") => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but no GPU adapter: install mesa-vulkan-drivers");
            }
            // Written to the stderr handle, which libtest does not capture, so `cargo test` shows it; once.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: GPU tests: no GPU adapter (install mesa-vulkan-drivers to run them on lavapipe)"
                );
            });
            None
        }
        Err(e) => panic!("opening the GPU failed: {e}"),
    }
}

fn gpu() -> Option<GpuContext> {
    gpu_with(GpuOptions::default())
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit() as f32
    }
}

/// `n` points around `blobs` random centres (feature scales differ per feature), plus `k` centroids drawn from the
/// points and nudged, so that clusters are neither empty nor trivially separated.
fn data(n: usize, d: usize, blobs: usize, seed: u64) -> Matrix {
    let mut r = Rng(seed);
    let scale: Vec<f32> = (0..d).map(|f| [1.0, 10.0, 0.01, 250.0][f % 4]).collect();
    let centres: Vec<f32> = (0..blobs * d).map(|i| r.range(-5.0, 5.0) * scale[i % d]).collect();
    let mut v = Vec::with_capacity(n * d);
    for _ in 0..n {
        let b = (r.next() % blobs as u64) as usize;
        for f in 0..d {
            v.push(centres[b * d + f] + r.range(-1.5, 1.5) * scale[f]);
        }
    }
    Matrix::from_vec(v, n, d)
}

fn centroids(x: &Matrix, k: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng(seed);
    let mut c = Vec::with_capacity(k * x.d());
    for _ in 0..k {
        let i = (r.next() % x.n() as u64) as usize;
        c.extend(x.row(i).iter().map(|&v| v + r.range(-0.01, 0.01) * v.abs().max(1e-3)));
    }
    c
}

fn weights(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng(seed);
    (0..n).map(|i| if i % 17 == 0 { 0.0 } else { r.range(0.1, 3.0) }).collect()
}

fn d2_f64(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum()
}

fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) + abs
}

/// Labels must agree except where the two centres are at the same distance up to f32 rounding of the ranking.
/// Returns the number of such near-tie differences.
fn check_labels(what: &str, x: &Matrix, c: &[f32], cpu: &[u32], gpu: &[u32]) -> usize {
    let d = x.d();
    let mut ties = 0;
    for i in 0..x.n() {
        if cpu[i] != gpu[i] {
            let (a, b) = (cpu[i] as usize, gpu[i] as usize);
            let da = d2_f64(x.row(i), &c[a * d..(a + 1) * d]);
            let db = d2_f64(x.row(i), &c[b * d..(b + 1) * d]);
            let norm: f64 = x.row(i).iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() + da;
            assert!(
                (da - db).abs() <= 1e-5 * norm,
                "{what}: row {i} labelled {b} on the GPU, {a} on the CPU, and it is not a tie ({da} vs {db})"
            );
            ties += 1;
        }
    }
    ties
}

/// Stats recomputed in f64 on the host from given labels (the oracle when near-ties made labels differ).
fn stats_from_labels(x: &Matrix, w: Option<&[f32]>, c: &[f32], k: usize, labels: &[u32]) -> StepStats {
    let d = x.d();
    let mut s = StepStats::zeros(k, d);
    for i in 0..x.n() {
        let j = labels[i] as usize;
        let wi = w.map_or(1.0, |w| f64::from(w[i]));
        s.counts[j] += 1;
        s.weights[j] += wi;
        s.inertia += wi * d2_f64(x.row(i), &c[j * d..(j + 1) * d]);
        for f in 0..d {
            s.sums[j * d + f] += wi * f64::from(x.row(i)[f]);
        }
    }
    s
}

/// Compares GPU stats with expected ones: counts and n_changed exactly; sums and weights within 1e-5 relative
/// plus the fixed-point quantum; inertia within 1e-5 relative.
fn check_stats(what: &str, x: &Matrix, w: Option<&[f32]>, labels: &[u32], exp: &StepStats, got: &StepStats) {
    let (k, d) = (exp.counts.len(), x.d());
    assert_eq!(got.counts, exp.counts, "{}", expected_got(&format!("{what}: counts"), &exp.counts, &got.counts));
    assert_eq!(got.n_changed, exp.n_changed, "{what}: n_changed");
    // Per cluster and feature: Σ|w·x| and max|w·x| bound the quantisation error.
    let mut abs_sum = vec![0f64; k * d];
    let mut max_f = vec![0f64; d];
    for i in 0..x.n() {
        let j = labels[i] as usize;
        let wi = w.map_or(1.0, |w| f64::from(w[i]));
        for f in 0..d {
            let v = (wi * f64::from(x.row(i)[f])).abs();
            abs_sum[j * d + f] += v;
            max_f[f] = max_f[f].max(v);
        }
    }
    for j in 0..k {
        for f in 0..d {
            let q = exp.counts[j] as f64 * max_f[f] * 2f64.powi(-29);
            let (e, g) = (exp.sums[j * d + f], got.sums[j * d + f]);
            assert!(close(e, g, 1e-5, 1e-6 * abs_sum[j * d + f] + q), "{what}: sum[{j}][{f}] expected {e}, got {g}");
        }
        assert!(
            close(exp.weights[j], got.weights[j], 1e-5, 1e-9),
            "{what}: weight[{j}] {} vs {}",
            exp.weights[j],
            got.weights[j]
        );
    }
    assert!(
        close(exp.inertia, got.inertia, 1e-5, 1e-12),
        "{what}: inertia expected {}, got {}",
        exp.inertia,
        got.inertia
    );
}

/// One Lloyd step and one assignment on both backends, from the same centroids.
fn parity(ctx: &GpuContext, x: &Matrix, w: Option<&[f32]>, c: &[f32], k: usize, what: &str) -> usize {
    let mut cpu = CpuBackend::new(x, w);
    let mut gpu = GpuBackend::new(ctx, x, w).unwrap_or_else(|e| panic!("{what}: {e}"));
    let a_cpu = cpu.assign(c, k).unwrap();
    let a_gpu = gpu.assign(c, k).unwrap_or_else(|e| panic!("{what}: assign: {e}"));
    let ties = check_labels(what, x, c, &a_cpu.labels, &a_gpu.labels);
    for i in 0..x.n() {
        let j = a_gpu.labels[i] as usize;
        let exact = d2_f64(x.row(i), &c[j * x.d()..(j + 1) * x.d()]);
        assert!(
            close(exact, f64::from(a_gpu.dist2[i]), 1e-5, 1e-30),
            "{what}: dist2[{i}] {} vs {exact}",
            a_gpu.dist2[i]
        );
    }
    let s_cpu = cpu.lloyd_step(c, k).unwrap();
    let s_gpu = gpu.lloyd_step(c, k).unwrap_or_else(|e| panic!("{what}: lloyd_step: {e}"));
    if ties == 0 {
        check_stats(what, x, w, &a_cpu.labels, &s_cpu, &s_gpu);
    } else {
        let mut exp = stats_from_labels(x, w, c, k, &a_gpu.labels);
        exp.n_changed = x.n() as u64;
        check_stats(what, x, w, &a_gpu.labels, &exp, &s_gpu);
    }
    // A second step from the same centres changes nothing, on both.
    assert_eq!(gpu.lloyd_step(c, k).unwrap().n_changed, 0, "{what}: second step");
    assert_eq!(cpu.lloyd_step(c, k).unwrap().n_changed, 0);
    // After reset_labels every point counts as changed again.
    gpu.reset_labels().unwrap();
    assert_eq!(gpu.lloyd_step(c, k).unwrap().n_changed, x.n() as u64, "{what}: after reset_labels");
    ties
}

#[test]
fn step_and_assign_match_the_cpu_across_shapes() {
    let Some(ctx) = gpu() else { return };
    let mut ties = 0;
    for &n in &[1000usize, 4099] {
        for &d in &[1usize, 3, 16, 33] {
            for &k in &[1usize, 2, 7, 64, 256] {
                let x = data(n, d, 12, (n * 100 + d * 10 + k) as u64);
                let c = centroids(&x, k, k as u64);
                ties += parity(&ctx, &x, None, &c, k, &format!("n={n} d={d} k={k}"));
            }
        }
    }
    eprintln!("near-tie label differences: {ties}");
}

#[test]
fn rows_wider_than_the_register_cache_match_the_cpu() {
    let Some(ctx) = gpu() else { return };
    for &k in &[1usize, 7, 64] {
        let x = data(1000, 70, 6, k as u64);
        let c = centroids(&x, k, 2);
        parity(&ctx, &x, Some(&weights(1000, 1)), &c, k, &format!("d=70 k={k}"));
    }
}

#[test]
fn weighted_step_matches_the_cpu() {
    let Some(ctx) = gpu() else { return };
    for &(n, d, k) in &[(1000usize, 3usize, 7usize), (4099, 16, 64), (777, 33, 2), (1000, 1, 256)] {
        let x = data(n, d, 9, (n + d + k) as u64);
        let w = weights(n, 5);
        let c = centroids(&x, k, 3);
        parity(&ctx, &x, Some(&w), &c, k, &format!("weighted n={n} d={d} k={k}"));
    }
}

#[test]
fn data_split_over_many_bindings_matches_the_cpu() {
    let Some(ctx) = gpu_with(GpuOptions { max_binding_bytes: Some(4096), ..Default::default() }) else {
        return;
    };
    assert_eq!(ctx.max_binding_bytes(), 4096);
    for &(n, d, k) in &[(4099usize, 3usize, 7usize), (4099, 33, 64), (3000, 1, 2), (2500, 16, 256)] {
        assert!(n * d * 4 > 4096);
        let x = data(n, d, 8, (7 * n + d) as u64);
        let w = weights(n, 11);
        let c = centroids(&x, k, 1);
        parity(&ctx, &x, None, &c, k, &format!("split n={n} d={d} k={k}"));
        parity(&ctx, &x, Some(&w), &c, k, &format!("split weighted n={n} d={d} k={k}"));
    }
}

#[test]
fn data_uploaded_in_many_chunks_through_the_staging_ring_matches_the_cpu() {
    let Some(mut ctx) = gpu() else { return };
    // 4 KiB chunks: the 4099 x 16 rows (262 KB) and their weights go through the two staging buffers 65 times.
    ctx.set_upload_chunk(4096);
    let x = data(4099, 16, 8, 41);
    let w = weights(4099, 5);
    let c = centroids(&x, 7, 3);
    parity(&ctx, &x, Some(&w), &c, 7, "4 KiB upload chunks");
    // A chunk that does not divide the data: the last chunk is short.
    ctx.set_upload_chunk(4100);
    parity(&ctx, &x, None, &c, 7, "4100-byte upload chunks");
}

#[test]
fn two_dimensional_dispatch_matches_the_cpu() {
    let Some(mut ctx) = gpu() else { return };
    let mut t = ctx.tuning();
    t.max_groups_per_dim = 2;
    t.lloyd_groups_per_part = 64;
    t.pp_block_rows = 100;
    t.workgroup_size = 64;
    ctx.set_tuning(t).unwrap();
    let x = data(4099, 5, 6, 42);
    let w = weights(4099, 2);
    let c = centroids(&x, 7, 9);
    parity(&ctx, &x, Some(&w), &c, 7, "2-D dispatch");
    pp_parity(&ctx, &x, Some(&w), "2-D dispatch");
}

#[test]
fn exact_ties_go_to_the_lowest_index() {
    let Some(ctx) = gpu() else { return };
    // 0 is exactly between -1 and 1; the duplicated centre 2.5 can only ever give label 2, never 3.
    let x = Matrix::from_vec(vec![0.0, 0.0, -1.0, 1.0, 2.5, 2.4], 6, 1);
    let c = [-1.0f32, 1.0, 2.5, 2.5];
    let mut g = GpuBackend::new(&ctx, &x, None).unwrap();
    let a = g.assign(&c, 4).unwrap();
    assert_eq!(a.labels, vec![0, 0, 0, 1, 2, 2]);
    let s = g.lloyd_step(&c, 4).unwrap();
    assert_eq!(s.counts, vec![3, 1, 2, 0]);
    assert_eq!(s.weights, vec![3.0, 1.0, 2.0, 0.0]);
}

#[test]
fn sums_are_bit_identical_run_to_run_and_across_launch_shapes() {
    let Some(mut ctx) = gpu() else { return };
    let x = data(4099, 16, 10, 3);
    let w = weights(4099, 4);
    let c = centroids(&x, 64, 5);
    let bits = |s: &StepStats| -> (Vec<u64>, Vec<u64>, u64) {
        (
            s.sums.iter().map(|v| v.to_bits()).collect(),
            s.weights.iter().map(|v| v.to_bits()).collect(),
            s.inertia.to_bits(),
        )
    };
    let first = {
        let mut g = GpuBackend::new(&ctx, &x, Some(&w)).unwrap();
        let a = bits(&g.lloyd_step(&c, 64).unwrap());
        let b = bits(&g.lloyd_step(&c, 64).unwrap());
        assert_eq!(a, b, "the same step twice on one backend");
        let again = bits(&GpuBackend::new(&ctx, &x, Some(&w)).unwrap().lloyd_step(&c, 64).unwrap());
        assert_eq!(a, again, "the same step on a fresh backend");
        a
    };
    // Sums are integer sums: another workgroup size and partition give the same bits (inertia may round apart).
    let mut t = ctx.tuning();
    t.workgroup_size = 64;
    t.lloyd_groups_per_part = 3;
    ctx.set_tuning(t).unwrap();
    let other = bits(&GpuBackend::new(&ctx, &x, Some(&w)).unwrap().lloyd_step(&c, 64).unwrap());
    assert_eq!((&first.0, &first.1), (&other.0, &other.1), "sums across launch shapes");
    let split = gpu_with(GpuOptions { max_binding_bytes: Some(4096), ..Default::default() }).unwrap();
    let s = bits(&GpuBackend::new(&split, &x, Some(&w)).unwrap().lloyd_step(&c, 64).unwrap());
    assert_eq!((&first.0, &first.1), (&s.0, &s.1), "sums across a split into parts");
}

#[test]
fn fit_matches_the_cpu_from_given_centroids() {
    let Some(ctx) = gpu() else { return };
    for &(n, d, k, weighted) in &[(3000usize, 5usize, 6usize, false), (2000, 3, 4, true), (1500, 33, 9, false)] {
        let x = data(n, d, k, (n + d) as u64);
        let w = weighted.then(|| weights(n, 8));
        let init = Matrix::from_vec(centroids(&x, k, 77), k, d);
        let p = KMeansParams::new(k).init(Init::Given(init)).max_iter(100).check().unwrap();
        let cpu = custseg::kmeans::fit(&p, &x, w.as_deref(), &mut CpuBackend::new(&x, w.as_deref()), &sample_backend)
            .unwrap();
        let mut g = GpuBackend::new(&ctx, &x, w.as_deref()).unwrap();
        let gpu = custseg::kmeans::fit(&p, &x, w.as_deref(), &mut g, &sample_backend).unwrap();
        let what = format!("fit n={n} d={d} k={k} weighted={weighted}");
        assert_eq!(gpu.n_iter, cpu.n_iter, "{what}: n_iter");
        assert_eq!(gpu.converged, cpu.converged, "{what}: converged");
        assert_eq!(gpu.labels, cpu.labels, "{what}: labels");
        assert_eq!(gpu.sizes, cpu.sizes, "{what}: sizes");
        assert!(close(gpu.inertia, cpu.inertia, 1e-5, 0.0), "{what}: inertia {} vs {}", gpu.inertia, cpu.inertia);
        for (a, b) in gpu.centroids.as_slice().iter().zip(cpu.centroids.as_slice()) {
            assert!(close(f64::from(*a), f64::from(*b), 1e-5, 1e-6), "{what}: centroid {a} vs {b}");
        }
        assert!(gpu.backend.starts_with("gpu: "), "{}", gpu.backend);
    }
}

#[test]
fn fit_with_kmeans_plus_plus_runs_on_the_gpu() {
    let Some(ctx) = gpu() else { return };
    let x = data(3000, 4, 5, 12);
    let p = KMeansParams::new(5).seed(3).check().unwrap();
    let cpu = custseg::kmeans::fit(&p, &x, None, &mut CpuBackend::new(&x, None), &sample_backend).unwrap();
    let gpu =
        custseg::kmeans::fit(&p, &x, None, &mut GpuBackend::new(&ctx, &x, None).unwrap(), &sample_backend).unwrap();
    // Same seed, same candidates, potentials within rounding: the same run unless a choice was a near-tie.
    assert!(close(gpu.inertia, cpu.inertia, 1e-4, 0.0), "inertia {} vs {}", gpu.inertia, cpu.inertia);
}

#[test]
fn a_prepared_context_fits_with_the_pipeline_it_built_ahead() {
    // What `segment` does on another thread while it reads: the fit then builds no Lloyd pipeline of its own.
    let Some(ctx) = gpu() else { return };
    let (x, k) = (data(2000, 6, 4, 21), 4);
    assert_eq!(ctx.lloyd_pipelines_built(), 0);
    ctx.prepare(x.d(), k, false).unwrap();
    assert_eq!(ctx.lloyd_pipelines_built(), 1);
    let p = KMeansParams::new(k).seed(5).check().unwrap();
    let gpu =
        custseg::kmeans::fit(&p, &x, None, &mut GpuBackend::new(&ctx, &x, None).unwrap(), &sample_backend).unwrap();
    assert_eq!(ctx.lloyd_pipelines_built(), 1, "the fit built a pipeline the preparation did not");
    let cpu = custseg::kmeans::fit(&p, &x, None, &mut CpuBackend::new(&x, None), &sample_backend).unwrap();
    assert!(close(gpu.inertia, cpu.inertia, 1e-4, 0.0), "inertia {} vs {}", gpu.inertia, cpu.inertia);
    // A weighted fit's shape is prepared with `weighted` (it may or may not be a new shape), and is then all the
    // fit needs; a different K at this D needs a pipeline of its own unless its shape is the same.
    let w = weights(x.n(), 3);
    for (k, weighted) in [(k, true), (40, false)] {
        ctx.prepare(x.d(), k, weighted).unwrap();
        let before = ctx.lloyd_pipelines_built();
        let p = KMeansParams::new(k).seed(5).max_iter(3).check().unwrap();
        let w = weighted.then_some(&w[..]);
        let _ = custseg::kmeans::fit(&p, &x, w, &mut GpuBackend::new(&ctx, &x, w).unwrap(), &sample_backend).unwrap();
        assert_eq!(ctx.lloyd_pipelines_built(), before, "k={k} weighted={weighted}: the fit built a pipeline");
    }
}

/// k-means++ primitives against the CPU on one dataset.
fn pp_parity(ctx: &GpuContext, x: &Matrix, w: Option<&[f32]>, what: &str) {
    let d = x.d();
    let mut cpu = CpuBackend::new(x, w);
    let mut gpu = GpuBackend::new(ctx, x, w).unwrap();
    let first = x.row(x.n() / 3).to_vec();
    let (pc, pg) = (cpu.pp_reset(&first).unwrap(), gpu.pp_reset(&first).unwrap());
    assert!(close(pc, pg, 1e-5, 0.0), "{what}: pp_reset {pc} vs {pg}");
    let mut r = Rng(99);
    for round in 0..4 {
        let m = [3usize, 7, 20, 1][round];
        let cands: Vec<f32> = (0..m).flat_map(|_| x.row((r.next() % x.n() as u64) as usize).to_vec()).collect();
        let (vc, vg) = (cpu.pp_potentials(&cands, m).unwrap(), gpu.pp_potentials(&cands, m).unwrap());
        assert_eq!(vg.len(), m);
        for (a, b) in vc.iter().zip(&vg) {
            assert!(close(*a, *b, 1e-5, 0.0), "{what}: round {round}: potentials {vc:?} vs {vg:?}");
        }
        let pot = vc[0];
        let mut targets: Vec<f64> = (0..9).map(|_| r.unit() * pot).collect();
        targets.push(0.0);
        targets.push(pot * (1.0 - 1e-15));
        let (sc, sg) = (cpu.pp_sample(&targets).unwrap(), gpu.pp_sample(&targets).unwrap());
        assert_eq!(sc, sg, "{}", expected_got(&format!("{what}: round {round}: pp_sample of {targets:?}"), &sc, &sg));
        cpu.pp_commit(&cands[..d]).unwrap();
        gpu.pp_commit(&cands[..d]).unwrap();
    }
}

#[test]
fn kmeans_plus_plus_primitives_match_the_cpu() {
    let Some(ctx) = gpu() else { return };
    for &(n, d) in &[(1000usize, 1usize), (4099, 3), (3000, 16), (2000, 33)] {
        let x = data(n, d, 7, (n * d) as u64);
        let w = weights(n, 13);
        pp_parity(&ctx, &x, None, &format!("pp n={n} d={d}"));
        pp_parity(&ctx, &x, Some(&w), &format!("pp weighted n={n} d={d}"));
    }
    // Many small blocks: the search walks and skips blocks.
    let Some(mut ctx) = gpu() else { return };
    let mut t = ctx.tuning();
    t.pp_block_rows = 64;
    ctx.set_tuning(t).unwrap();
    let x = data(4099, 3, 5, 1);
    pp_parity(&ctx, &x, Some(&weights(4099, 3)), "pp small blocks");
    let split = gpu_with(GpuOptions { max_binding_bytes: Some(4096), ..Default::default() }).unwrap();
    pp_parity(&split, &x, None, "pp split");
}

#[test]
fn features_of_very_different_scales_keep_their_precision() {
    let Some(ctx) = gpu() else { return };
    let mut r = Rng(5);
    let n = 2000;
    let v: Vec<f32> = (0..n).flat_map(|_| [r.range(-1e-6, 1e-6), r.range(1e6, 2e6), r.range(-3.0, 3.0)]).collect();
    let x = Matrix::from_vec(v, n, 3);
    let c = centroids(&x, 5, 2);
    parity(&ctx, &x, None, &c, 5, "scales");
}

#[test]
fn a_named_adapter_that_does_not_exist_lists_the_ones_there_are() {
    let Some(ctx) = gpu() else { return };
    let e =
        GpuContext::new(&GpuOptions { adapter: Some("no-such-adapter-xyz".into()), ..Default::default() }).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("no GPU adapter matches \"no-such-adapter-xyz\""), "{msg}");
    let name = ctx.adapter_info().name.clone();
    assert!(msg.contains(&name), "{msg} does not list {name}");
    // The adapter we have can be chosen by a case-insensitive part of its name.
    let part = name.chars().take(4).collect::<String>().to_uppercase();
    let again = GpuContext::new(&GpuOptions { adapter: Some(part), ..Default::default() }).unwrap();
    assert_eq!(again.name(), ctx.name());
}

#[test]
fn list_adapters_reports_limits() {
    let Some(ctx) = gpu() else { return };
    let all = custseg::backend::gpu::list_adapters();
    let me = all.iter().find(|a| a.name == ctx.adapter_info().name).expect("the open adapter is listed");
    assert!(me.max_storage_buffer_binding_size >= 1 << 20);
    assert!(me.max_compute_workgroups_per_dimension >= 65535);
    assert_eq!(me.is_hardware, ctx.is_hardware());
    eprintln!("{}", serde_json::to_string(me).unwrap());
}

#[test]
fn weights_of_the_wrong_length_are_an_error() {
    let Some(ctx) = gpu() else { return };
    let x = data(10, 2, 2, 1);
    let e = GpuBackend::new(&ctx, &x, Some(&[1.0; 9])).err().expect("error").to_string();
    assert!(e.contains("9 weights for 10 rows"), "{e}");
}

/// A device opened by the test itself (the seam between obtaining an adapter and using a device).
fn own_device(limits: Option<wgpu::Limits>) -> Option<(wgpu::Device, wgpu::Queue, wgpu::AdapterInfo)> {
    gpu()?;
    let adapter = select_adapter(&GpuOptions::default()).unwrap();
    let desc =
        wgpu::DeviceDescriptor { required_limits: limits.unwrap_or_else(|| adapter.limits()), ..Default::default() };
    let (device, queue) = pollster::block_on(adapter.request_device(&desc)).unwrap();
    Some((device, queue, adapter.get_info()))
}

#[test]
fn a_device_with_webgpu_default_limits_matches_the_cpu() {
    let Some((device, queue, info)) = own_device(Some(wgpu::Limits::default())) else {
        return;
    };
    let ctx = GpuContext::from_device(device, queue, info, None).unwrap();
    for &(d, k) in &[(3usize, 7usize), (16, 64), (33, 256)] {
        let x = data(2000, d, 8, (d * k) as u64);
        let c = centroids(&x, k, 6);
        parity(&ctx, &x, None, &c, k, &format!("default limits d={d} k={k}"));
    }
    pp_parity(&ctx, &data(2000, 5, 4, 2), None, "default limits");
}

#[test]
fn a_lost_device_is_an_error_not_a_panic() {
    let Some((device, queue, info)) = own_device(None) else {
        return;
    };
    let keep = device.clone();
    let ctx = GpuContext::from_device(device, queue, info, None).unwrap();
    let x = data(1000, 3, 4, 1);
    let c = centroids(&x, 4, 1);
    let mut g = GpuBackend::new(&ctx, &x, None).unwrap();
    g.lloyd_step(&c, 4).unwrap();
    keep.destroy();
    let e = g.lloyd_step(&c, 4).unwrap_err();
    assert!(matches!(e, custseg::Error::Gpu(_)), "{e}");
    assert!(!e.to_string().contains('\n'), "one line: {e}");
    assert!(matches!(g.assign(&c, 4), Err(custseg::Error::Gpu(_))));
    assert!(matches!(g.pp_reset(x.row(0)), Err(custseg::Error::Gpu(_))));
    assert!(matches!(GpuBackend::new(&ctx, &x, None), Err(custseg::Error::Gpu(_))));
    eprintln!("after destroy: {e}");
}

/// `ctx` with the Lloyd kernel forced to `p` points per thread (and workgroup size `wg`, if given), with three
/// workgroups per part so that a workgroup runs several rounds and the last round and group are partial.
fn force_p(ctx: &mut GpuContext, p: u32, wg: Option<u32>) {
    let mut t = ctx.tuning();
    t.points_per_thread = Some(p);
    t.lloyd_workgroup_size = wg;
    t.lloyd_groups_per_part = 3;
    ctx.set_tuning(t).unwrap();
}

/// Parity with `p` points per thread: every D and K on one binding, some shapes split over many bindings, and a
/// device with WebGPU's default limits (16 KiB of workgroup memory: streamed centroid tiles, global sums).
fn parity_with_points_per_thread(p: u32) {
    let Some(mut ctx) = gpu() else { return };
    force_p(&mut ctx, p, None);
    let mut ties = 0;
    for &n in &[1000usize, 4099] {
        for &d in &[1usize, 3, 8, 16, 33] {
            for &k in &[1usize, 2, 7, 64, 256] {
                let x = data(n, d, 12, (n * 100 + d * 10 + k) as u64 + 7);
                let c = centroids(&x, k, k as u64 + 1);
                ties += parity(&ctx, &x, None, &c, k, &format!("P={p} n={n} d={d} k={k}"));
            }
        }
    }
    let mut split = gpu_with(GpuOptions { max_binding_bytes: Some(4096), ..Default::default() }).unwrap();
    force_p(&mut split, p, None);
    for &(n, d, k) in &[(4099usize, 3usize, 7usize), (4099, 33, 64), (2500, 16, 256), (3000, 8, 2)] {
        let x = data(n, d, 8, (3 * n + d) as u64);
        let w = weights(n, 17);
        let c = centroids(&x, k, 4);
        ties += parity(&split, &x, Some(&w), &c, k, &format!("P={p} split weighted n={n} d={d} k={k}"));
    }
    let Some((device, queue, info)) = own_device(Some(wgpu::Limits::default())) else { return };
    let mut small = GpuContext::from_device(device, queue, info, None).unwrap();
    force_p(&mut small, p, None);
    for &(d, k) in &[(16usize, 256usize), (33, 256), (8, 64)] {
        let x = data(4099, d, 8, (d * k) as u64);
        let c = centroids(&x, k, 6);
        ties += parity(&small, &x, Some(&weights(4099, 2)), &c, k, &format!("P={p} default limits d={d} k={k}"));
    }
    eprintln!("P={p}: near-tie label differences: {ties}");
}

#[test]
fn one_point_per_thread_matches_the_cpu() {
    parity_with_points_per_thread(1);
}

#[test]
fn two_points_per_thread_match_the_cpu() {
    parity_with_points_per_thread(2);
}

#[test]
fn four_points_per_thread_match_the_cpu() {
    parity_with_points_per_thread(4);
}

#[test]
fn eight_points_per_thread_match_the_cpu() {
    parity_with_points_per_thread(8);
}

#[test]
fn sums_labels_and_distances_are_bit_identical_for_every_points_per_thread() {
    let Some(mut ctx) = gpu() else { return };
    for &(n, d, k) in &[(4099usize, 3usize, 7usize), (4099, 16, 64), (1000, 33, 256), (4099, 8, 256), (1000, 1, 2)] {
        let x = data(n, d, 10, (n + 10 * d + k) as u64);
        let w = weights(n, 4);
        let c = centroids(&x, k, 5);
        let mut first: Option<(u32, Option<u32>, _, f64)> = None;
        for (p, wg) in [(1u32, None), (2, Some(64)), (4, None), (8, Some(256)), (8, None), (2, Some(128))] {
            force_p(&mut ctx, p, wg);
            let mut g = GpuBackend::new(&ctx, &x, Some(&w)).unwrap();
            let s = g.lloyd_step(&c, k).unwrap();
            let a = g.assign(&c, k).unwrap();
            let key = (
                s.sums.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                s.weights.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                s.counts.clone(),
                s.n_changed,
                a.labels,
                a.dist2.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            );
            match &first {
                None => first = Some((p, wg, key, s.inertia)),
                Some((p0, wg0, k0, inertia0)) => {
                    let what = format!("n={n} d={d} k={k}: P={p} WG={wg:?} against P={p0} WG={wg0:?}");
                    assert_eq!(k0.0, key.0, "{what}: sums");
                    assert_eq!(k0.1, key.1, "{what}: weight sums");
                    assert_eq!((&k0.2, k0.3), (&key.2, key.3), "{what}: counts, n_changed");
                    assert!(k0.4 == key.4, "{what}: labels");
                    assert!(k0.5 == key.5, "{what}: dist2");
                    // Inertia is a float sum whose grouping follows the rows per thread: equal up to rounding.
                    assert!(close(*inertia0, s.inertia, 1e-6, 0.0), "{what}: inertia {inertia0} vs {}", s.inertia);
                }
            }
        }
    }
}

#[test]
fn exact_ties_go_to_the_lowest_index_for_every_points_per_thread() {
    let Some(mut ctx) = gpu() else { return };
    // Centres -1, 1, 2.5, 2.5, -1 (duplicates at 2/3 and 0/4). 0 is exactly between -1 and 1, 1.75 exactly
    // between 1 and 2.5 (every score is exact in f32), -1 and 2.5 sit on duplicated centres.
    let pattern = [(0.0f32, 0u32), (-1.0, 0), (1.0, 1), (2.5, 2), (1.75, 1)];
    let centres = [-1.0f32, 1.0, 2.5, 2.5, -1.0];
    let n = 1003;
    for d in [1usize, 3] {
        let x = Matrix::from_vec((0..n).flat_map(|i| vec![pattern[i % 5].0; d]).collect(), n, d);
        let c: Vec<f32> = centres.iter().flat_map(|&v| vec![v; d]).collect();
        let want: Vec<u32> = (0..n).map(|i| pattern[i % 5].1).collect();
        let mut counts = vec![0u64; 5];
        want.iter().for_each(|&j| counts[j as usize] += 1);
        for p in [1u32, 2, 4, 8] {
            force_p(&mut ctx, p, None);
            let mut g = GpuBackend::new(&ctx, &x, None).unwrap();
            assert!(g.assign(&c, 5).unwrap().labels == want, "d={d} P={p}: assign");
            assert_eq!(g.lloyd_step(&c, 5).unwrap().counts, counts, "d={d} P={p}: counts");
        }
    }
}

#[test]
fn lloyd_steps_are_timed_on_the_gpu_where_timestamps_exist() {
    let Some(ctx) = gpu() else { return };
    let x = data(4099, 16, 8, 1);
    let c = centroids(&x, 16, 1);
    let mut g = GpuBackend::new(&ctx, &x, None).unwrap();
    assert_eq!(g.last_step_gpu_ms(), None, "before any step");
    g.lloyd_step(&c, 16).unwrap();
    let ms = g.last_step_gpu_ms();
    eprintln!("{}: timestamps {}, last step {ms:?} ms", ctx.name(), ctx.has_timestamps());
    if ctx.has_timestamps() {
        let ms = ms.expect("a step on a device with timestamps is timed");
        assert!(ms.is_finite() && (0.0..60_000.0).contains(&ms), "{ms} ms");
    } else {
        assert_eq!(ms, None);
    }
    // An empty step does not keep the previous time.
    g.lloyd_step(&[], 0).unwrap();
    assert_eq!(g.last_step_gpu_ms(), None, "after a step with k = 0");
    // The assignment pass alone is timed the same way, and leaves the assignment and the steps as they were.
    let before = g.assign(&c, 16).unwrap();
    let step = g.lloyd_step(&c, 16).unwrap();
    let t = g.time_assign_pass(&c, 16).unwrap();
    assert_eq!(t.is_some(), ctx.has_timestamps(), "{t:?}");
    assert!(t.is_none_or(|t| t.is_finite() && t > 0.0), "{t:?}");
    assert_eq!(g.time_assign_pass(&[], 0).unwrap(), None);
    let after = g.assign(&c, 16).unwrap();
    assert!(before.labels == after.labels && before.dist2 == after.dist2);
    let again = g.lloyd_step(&c, 16).unwrap();
    assert_eq!((again.counts, again.sums, again.n_changed), (step.counts, step.sums, 0));
}

/// A step's results as bits: sums, weight sums, counts, changed count; and the assignment's labels and distances.
type StepBits = (Vec<u64>, Vec<u64>, Vec<u64>, u64, Vec<u32>, Vec<u32>);

fn step_bits(g: &mut GpuBackend, c: &[f32], k: usize) -> (StepBits, f64) {
    let s = g.lloyd_step(c, k).unwrap();
    let a = g.assign(c, k).unwrap();
    let bits = (
        s.sums.iter().map(|v| v.to_bits()).collect(),
        s.weights.iter().map(|v| v.to_bits()).collect(),
        s.counts.clone(),
        s.n_changed,
        a.labels,
        a.dist2.iter().map(|v| v.to_bits()).collect(),
    );
    (bits, s.inertia)
}

#[test]
fn one_backend_swept_through_launch_shapes_gives_the_same_results() {
    use custseg::backend::gpu::Launch;
    let Some(mut ctx) = gpu() else { return };
    // Three workgroups per part to start with, so that shapes with more workgroups grow the inertia partials.
    force_p(&mut ctx, 4, None);
    let mut split = gpu_with(GpuOptions { max_binding_bytes: Some(8192), ..Default::default() }).unwrap();
    force_p(&mut split, 4, None);
    let shapes = [
        Launch {
            points_per_thread: Some(1),
            workgroup_size: Some(64),
            groups_per_part: Some(1024),
            sum_copies: Some(8),
        },
        Launch { points_per_thread: Some(8), workgroup_size: None, groups_per_part: Some(2), sum_copies: Some(1) },
        Launch { points_per_thread: Some(2), workgroup_size: Some(256), groups_per_part: None, sum_copies: Some(32) },
        Launch::default(),
    ];
    for (ctx, n, d, k) in [(&ctx, 4099usize, 16usize, 64usize), (&ctx, 3001, 3, 7), (&split, 4099, 5, 16)] {
        let x = data(n, d, 10, (n + d + k) as u64);
        let w = weights(n, 3);
        let c = centroids(&x, k, 2);
        let mut g = GpuBackend::new(ctx, &x, Some(&w)).unwrap();
        let first_launch = g.launch_info(k).unwrap();
        let (want, inertia) = step_bits(&mut g, &c, k);
        for l in shapes {
            let what = format!("n={n} d={d} k={k} parts={}: {l:?}", first_launch.parts);
            g.set_launch(l).unwrap_or_else(|e| panic!("{what}: {e}"));
            let info = g.launch_info(k).unwrap();
            if let Some(p) = l.points_per_thread {
                assert_eq!(info.points_per_thread, p, "{what}");
            }
            if let Some(wg) = l.workgroup_size {
                assert_eq!(info.workgroup_size, wg, "{what}");
            }
            if l == Launch::default() {
                assert_eq!(info, first_launch, "{what}: the default restored");
            }
            g.reset_labels().unwrap();
            let (got, i) = step_bits(&mut g, &c, k);
            assert!(got == want, "{what}: sums, counts, labels or distances differ");
            assert!(close(inertia, i, 1e-6, 0.0), "{what}: inertia {inertia} vs {i}");
            // The same shape on a fresh backend gives the same inertia bits: nothing stale in the re-plan.
            let mut t = ctx.tuning();
            t.points_per_thread = l.points_per_thread.or(t.points_per_thread);
            t.lloyd_workgroup_size = l.workgroup_size.or(t.lloyd_workgroup_size);
            t.lloyd_groups_per_part = l.groups_per_part.unwrap_or(t.lloyd_groups_per_part);
            t.sum_copies = l.sum_copies.or(t.sum_copies);
            let mut fresh_ctx = if first_launch.parts > 1 {
                gpu_with(GpuOptions { max_binding_bytes: Some(8192), ..Default::default() }).unwrap()
            } else {
                gpu().unwrap()
            };
            fresh_ctx.set_tuning(t).unwrap();
            let mut fresh = GpuBackend::new(&fresh_ctx, &x, Some(&w)).unwrap();
            assert_eq!(fresh.launch_info(k).unwrap(), info, "{what}: a fresh backend's shape");
            let (fresh_bits, fresh_inertia) = step_bits(&mut fresh, &c, k);
            assert!(fresh_bits == want, "{what}: fresh backend");
            assert_eq!(fresh_inertia.to_bits(), i.to_bits(), "{what}: inertia against a fresh backend");
        }
    }
    let x = data(100, 4, 2, 1);
    let mut g = GpuBackend::new(&ctx, &x, None).unwrap();
    let bad = Launch { points_per_thread: Some(3), ..Launch::default() };
    assert!(matches!(g.set_launch(bad), Err(custseg::Error::Gpu(_))));
    let bad = Launch { workgroup_size: Some(96), ..Launch::default() };
    assert!(matches!(g.set_launch(bad), Err(custseg::Error::Gpu(_))));
}

#[test]
fn the_peak_probes_measure_positive_finite_rates() {
    use custseg::backend::gpu::{measure_peak, PeakSize};
    let Some(ctx) = gpu() else { return };
    let size = PeakSize { read_bytes: 1 << 20, read_groups: 8, fma_groups: 4, fma_iters: 16, repeats: 1 };
    let m = measure_peak(&ctx, size).unwrap();
    eprintln!("{}: {m:?}", ctx.name());
    assert!(m.gbs.is_finite() && m.gbs > 0.0 && m.gflops.is_finite() && m.gflops > 0.0, "{m:?}");
    assert_eq!(m.read_bytes, 1 << 20);
    assert_eq!(m.fma_flop, 2.0 * 32.0 * 16.0 * 4.0 * 256.0);
    assert_eq!(m.clock, if ctx.has_timestamps() { "GPU timestamps" } else { "wall clock" });
    // A read larger than one binding, a size that is not whole vec4, and zero workgroups are errors.
    for bad in [
        PeakSize { read_bytes: ctx.max_binding_bytes() + 16, ..size },
        PeakSize { read_bytes: 1000, ..size },
        PeakSize { read_groups: 0, ..size },
        PeakSize { fma_groups: 70_000, ..size },
    ] {
        assert!(matches!(measure_peak(&ctx, bad), Err(custseg::Error::Gpu(_))), "{bad:?}");
    }
}

#[test]
fn copies_of_the_private_sums_give_the_same_bits() {
    use custseg::backend::gpu::Launch;
    let Some(ctx) = gpu() else { return };
    for (n, d, k, weighted) in
        [(4099usize, 16usize, 2usize, false), (4099, 3, 7, true), (3001, 16, 16, true), (1000, 1, 1, false)]
    {
        let x = data(n, d, 6, (n * d + k) as u64);
        let w = weighted.then(|| weights(n, 9));
        let c = centroids(&x, k, 3);
        let mut g = GpuBackend::new(&ctx, &x, w.as_deref()).unwrap();
        let mut first: Option<(u32, StepBits)> = None;
        let mut seen = Vec::new();
        for copies in [1u32, 2, 4, 8, 32] {
            g.set_launch(Launch { sum_copies: Some(copies), ..Launch::default() }).unwrap();
            let info = g.launch_info(k).unwrap();
            assert!(info.private_sums && info.sum_copies >= 1 && info.sum_copies <= copies, "{info:?}");
            seen.push(info.sum_copies);
            g.reset_labels().unwrap();
            let (bits, _) = step_bits(&mut g, &c, k);
            match &first {
                None => first = Some((info.sum_copies, bits)),
                Some((c0, b0)) => {
                    assert!(*b0 == bits, "n={n} d={d} k={k}: {} copies against {c0}", info.sum_copies)
                }
            }
        }
        assert!(seen.iter().any(|&c| c >= 8), "n={n} d={d} k={k}: copies used {seen:?}");
    }
}

#[test]
fn the_staging_ring_is_released_and_made_again_on_the_next_upload() {
    let Some(ctx) = gpu() else { return };
    let x = data(3000, 4, 3, 5);
    let c = centroids(&x, 3, 1);
    let mut g = GpuBackend::new(&ctx, &x, None).unwrap();
    assert!(ctx.staging_bytes() >= 3000 * 4 * 4, "{} bytes staged", ctx.staging_bytes());
    let before = g.lloyd_step(&c, 3).unwrap();
    ctx.release_staging();
    assert_eq!(ctx.staging_bytes(), 0);
    // The backend keeps working without it, and a new upload makes it again.
    g.reset_labels().unwrap();
    let after = g.lloyd_step(&c, 3).unwrap();
    assert_eq!((&before.counts, &before.sums), (&after.counts, &after.sums));
    let mut h = GpuBackend::new(&ctx, &x, None).unwrap();
    assert!(ctx.staging_bytes() > 0);
    assert_eq!(h.lloyd_step(&c, 3).unwrap().counts, after.counts);
}
