//! The GPU tests' oracles: one Lloyd step and one assignment (`parity`) and the k-means++ primitives (`pp_parity`)
//! on the GPU against the CPU backend, with the tolerances of the module doc; and the helpers that force a launch
//! shape and compare steps bit for bit.

use custseg::backend::cpu::CpuBackend;
use custseg::backend::gpu::{GpuBackend, GpuContext};
use custseg::kmeans::{Backend, StepStats};
use custseg::Matrix;

use super::data::{close, d2_f64, Rng};
use crate::util::expected_got;

/// Labels must agree except where the two centres are at the same distance up to f32 rounding of the ranking.
/// Returns the number of such near-tie differences.
pub fn check_labels(what: &str, x: &Matrix, c: &[f32], cpu: &[u32], gpu: &[u32]) -> usize {
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
pub fn stats_from_labels(x: &Matrix, w: Option<&[f32]>, c: &[f32], k: usize, labels: &[u32]) -> StepStats {
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
pub fn check_stats(what: &str, x: &Matrix, w: Option<&[f32]>, labels: &[u32], exp: &StepStats, got: &StepStats) {
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
pub fn parity(ctx: &GpuContext, x: &Matrix, w: Option<&[f32]>, c: &[f32], k: usize, what: &str) -> usize {
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

/// k-means++ primitives against the CPU on one dataset.
pub fn pp_parity(ctx: &GpuContext, x: &Matrix, w: Option<&[f32]>, what: &str) {
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

/// `ctx` with the Lloyd kernel forced to `p` points per thread (and workgroup size `wg`, if given), with three
/// workgroups per part so that a workgroup runs several rounds and the last round and group are partial.
pub fn force_p(ctx: &mut GpuContext, p: u32, wg: Option<u32>) {
    let mut t = ctx.tuning();
    t.points_per_thread = Some(p);
    t.lloyd_workgroup_size = wg;
    t.lloyd_groups_per_part = 3;
    ctx.set_tuning(t).unwrap();
}

/// A step's results as bits: sums, weight sums, counts, changed count; and the assignment's labels and distances.
pub type StepBits = (Vec<u64>, Vec<u64>, Vec<u64>, u64, Vec<u32>, Vec<u32>);

pub fn step_bits(g: &mut GpuBackend, c: &[f32], k: usize) -> (StepBits, f64) {
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
