//! The silhouette with the GPU's distance sums (`shaders/silhouette.wgsl`) against the CPU's `f64` silhouette on
//! the same seeded sample: k = 2..12, d = 1, 3, 16, 40, samples that are not a multiple of the tile or the
//! workgroup, clusters of one row, a sample of every row, sums split over many dispatches, a 2-D grid, and the
//! bound of docs/GPU.md: |GPU − CPU| ≤ 2 · ((d + 3)/2 + 3) · 2^-24 on the mean.

use custseg::backend::gpu::{silhouette_sums, GpuContext};
use custseg::device::silhouette_sampled_gpu;
use custseg::evaluate::{sample_rows, silhouette_sampled, silhouette_score, SilhouetteSample};
use custseg::Matrix;

use super::data::{data, Rng};
use super::harness::{own_device, with_max_binding};

/// The bound on |GPU − CPU| for the mean silhouette over rows of `d` features (docs/GPU.md).
fn bound(d: usize) -> f64 {
    2.0 * ((d as f64 + 3.0) / 2.0 + 3.0) * 2f64.powi(-24) + 1e-12
}

/// Labels of the nearest of `k` rows drawn from `x` (f64 distances), so clusters are compact but uneven.
fn nearest_labels(x: &Matrix, k: usize, seed: u64) -> Vec<u32> {
    let mut r = Rng(seed);
    let centres: Vec<usize> = (0..k).map(|_| (r.next() % x.n() as u64) as usize).collect();
    (0..x.n())
        .map(|i| {
            let d2 =
                |c: usize| x.row(i).iter().zip(x.row(c)).map(|(a, b)| (*a as f64 - *b as f64).powi(2)).sum::<f64>();
            (0..k).min_by(|&a, &b| d2(centres[a]).total_cmp(&d2(centres[b]))).unwrap() as u32
        })
        .collect()
}

fn check(ctx: &GpuContext, x: &Matrix, labels: &[u32], sample: usize, seed: u64, what: &str) -> f64 {
    let cpu = silhouette_sampled(x, labels, sample, seed);
    let gpu = silhouette_sampled_gpu(ctx, x, labels, sample, seed).unwrap_or_else(|e| panic!("{what}: {e}"));
    match (cpu, gpu) {
        (Some(c), Some(g)) => {
            let diff = (c - g).abs();
            assert!(diff <= bound(x.d()), "{what}: GPU {g} vs CPU {c} ({diff:e} > {:e})", bound(x.d()));
            diff
        }
        (c, g) => {
            assert_eq!(c, g, "{what}: both have a silhouette or neither");
            0.0
        }
    }
}

fn the_gpu_silhouette_matches_the_cpu_across_shapes(ctx: GpuContext) {
    let mut worst = (0.0f64, String::new());
    for &d in &[1usize, 3, 16, 40] {
        for &n in &[257usize, 1031] {
            for k in 2..=12usize {
                let x = data(n, d, 6, (n * 100 + d * 13 + k) as u64);
                let labels = nearest_labels(&x, k, (k * 7 + d) as u64);
                // Every row (s not a multiple of the 64-row workgroup or of the tile), then a seeded sample.
                for &sample in &[n, 600] {
                    let what = format!("n={n} d={d} k={k} sample={sample}");
                    let diff = check(&ctx, &x, &labels, sample, 11, &what);
                    if diff / bound(d) > worst.0 {
                        worst = (diff / bound(d), what);
                    }
                }
            }
        }
    }
    eprintln!("worst |GPU - CPU| as a share of the bound: {:.3} ({})", worst.0, worst.1);
}

gpu_test!(the_gpu_silhouette_matches_the_cpu_across_shapes, the_gpu_silhouette_matches_the_cpu_across_shapes_gpu);

fn clusters_of_one_row_and_duplicate_rows_match_the_cpu(ctx: GpuContext) {
    for &d in &[1usize, 3, 16, 40] {
        let mut x = data(300, d, 4, d as u64);
        // Rows 10..20 are copies of row 5: distances of exactly 0.
        let row5 = x.row(5).to_vec();
        let mut v = x.as_slice().to_vec();
        for i in 10..20 {
            v[i * d..(i + 1) * d].copy_from_slice(&row5);
        }
        x = Matrix::from_vec(v, 300, d);
        let mut labels = nearest_labels(&x, 5, 3);
        // Three singletons (silhouette 0) beside the five clusters.
        labels[0] = 5;
        labels[150] = 6;
        labels[299] = 7;
        check(&ctx, &x, &labels, 300, 1, &format!("singletons d={d}"));
    }
    // Every row identical: every distance is 0 and every silhouette 0.
    let x = Matrix::from_vec(vec![2.5; 100 * 3], 100, 3);
    let labels: Vec<u32> = (0..100).map(|i| (i % 3) as u32).collect();
    assert_eq!(silhouette_sampled_gpu(&ctx, &x, &labels, 100, 0).unwrap(), Some(0.0));
    // One cluster, or one row per cluster: no silhouette, as on the CPU.
    let x = data(50, 2, 2, 9);
    assert_eq!(silhouette_sampled_gpu(&ctx, &x, &[3; 50], 50, 0).unwrap(), None);
    let each: Vec<u32> = (0..50).collect();
    assert_eq!(silhouette_sampled_gpu(&ctx, &x, &each, 50, 0).unwrap(), None);
}

gpu_test!(
    clusters_of_one_row_and_duplicate_rows_match_the_cpu,
    clusters_of_one_row_and_duplicate_rows_match_the_cpu_gpu
);

fn the_sums_match_the_definition_row_by_row(ctx: GpuContext) {
    // Each row's per-cluster sum against f64 sums of direct distances, to the per-distance bound (d/2 + 4.5)·2^-24.
    let (n, d, k) = (333usize, 16usize, 9usize);
    let x = data(n, d, 5, 4);
    let labels = nearest_labels(&x, k, 8);
    let smp = SilhouetteSample::new(&x, &labels, &sample_rows(n, n, 0)).unwrap();
    let sums = silhouette_sums(&ctx, &smp.rows, d, &smp.start).unwrap();
    let (s, m) = (smp.s(), smp.m());
    let rel = ((d as f64 + 3.0) / 2.0 + 3.0) * 2f64.powi(-24);
    for i in 0..s {
        for c in 0..m {
            let want: f64 = (smp.start[c]..smp.start[c + 1])
                .map(|j| {
                    let (a, b) = (&smp.rows[i * d..(i + 1) * d], &smp.rows[j * d..(j + 1) * d]);
                    a.iter().zip(b).map(|(p, q)| (*p as f64 - *q as f64).powi(2)).sum::<f64>().sqrt()
                })
                .sum();
            let got = sums[i * m + c];
            assert!((got - want).abs() <= rel * want + 1e-9, "row {i} cluster {c}: {got} vs {want}");
        }
    }
}

gpu_test!(the_sums_match_the_definition_row_by_row, the_sums_match_the_definition_row_by_row_gpu);

fn sums_split_over_many_dispatches_and_a_2d_grid_match_the_cpu(_: GpuContext) {
    // A binding of 8 KiB holds the (hi, lo) pairs of 8192 / (8 · 12) = 85 rows: 300 rows take 4 dispatches.
    let ctx = with_max_binding(8192);
    let x = data(300, 3, 5, 2);
    let labels = nearest_labels(&x, 12, 5);
    check(&ctx, &x, &labels, 300, 0, "split over dispatches");
    // Two workgroups per dimension: dispatches of 4 workgroups (256 rows); the last of 900 rows has 132 rows, 3
    // workgroups in a 2 × 2 grid with one to spare.
    let limits = wgpu::Limits { max_compute_workgroups_per_dimension: 2, ..wgpu::Limits::default() };
    let (device, queue, info) = own_device(Some(limits));
    let small = GpuContext::from_device(device, queue, info, None).unwrap();
    let x = data(900, 16, 5, 3);
    let labels = nearest_labels(&x, 7, 6);
    check(&small, &x, &labels, 900, 0, "2-D grid");
    // WebGPU's default workgroup memory (16 KiB) with d = 40: tiles of 102 rows.
    let x = data(700, 40, 5, 4);
    check(&small, &x, &nearest_labels(&x, 4, 1), 700, 0, "default limits d=40");
}

gpu_test!(
    sums_split_over_many_dispatches_and_a_2d_grid_match_the_cpu,
    sums_split_over_many_dispatches_and_a_2d_grid_match_the_cpu_gpu
);

fn a_sample_larger_than_a_binding_is_a_clear_error(_: GpuContext) {
    let ctx = with_max_binding(4096);
    let x = data(300, 16, 3, 1);
    let labels = nearest_labels(&x, 3, 1);
    let e = silhouette_sampled_gpu(&ctx, &x, &labels, 300, 0).unwrap_err().to_string();
    assert!(
        e.contains("sample of 300 rows × 16 features")
            && e.contains("lower --sample to 64")
            && e.contains("--device cpu")
            && !e.contains('\n'),
        "{e}"
    );
    // Every row, on the CPU, for the same labels still has a silhouette.
    assert!(silhouette_score(&x, &labels).is_some());
}

gpu_test!(a_sample_larger_than_a_binding_is_a_clear_error, a_sample_larger_than_a_binding_is_a_clear_error_gpu);
