//! One Lloyd step and one assignment on the GPU against the CPU across shapes: every D and K, weights, rows wider
//! than the register cache, data split over many bindings or uploaded in many chunks, 2-D dispatches, WebGPU's
//! default limits, features of very different scales; exact ties; and bit-identical sums run to run and across
//! launch shapes.

use custseg::backend::gpu::{GpuBackend, GpuContext};
use custseg::kmeans::{Backend, StepStats};
use custseg::Matrix;

use super::check::{parity, pp_parity};
use super::data::{centroids, data, weights, Rng};
use super::harness::{own_device, with_max_binding, TestDevice};

fn step_and_assign_match_the_cpu_across_shapes(ctx: GpuContext) {
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

gpu_test!(step_and_assign_match_the_cpu_across_shapes, step_and_assign_match_the_cpu_across_shapes_gpu);

fn rows_wider_than_the_register_cache_match_the_cpu(ctx: GpuContext) {
    for &k in &[1usize, 7, 64] {
        let x = data(1000, 70, 6, k as u64);
        let c = centroids(&x, k, 2);
        parity(&ctx, &x, Some(&weights(1000, 1)), &c, k, &format!("d=70 k={k}"));
    }
}

gpu_test!(rows_wider_than_the_register_cache_match_the_cpu, rows_wider_than_the_register_cache_match_the_cpu_gpu);

fn weighted_step_matches_the_cpu(ctx: GpuContext) {
    for &(n, d, k) in &[(1000usize, 3usize, 7usize), (4099, 16, 64), (777, 33, 2), (1000, 1, 256)] {
        let x = data(n, d, 9, (n + d + k) as u64);
        let w = weights(n, 5);
        let c = centroids(&x, k, 3);
        parity(&ctx, &x, Some(&w), &c, k, &format!("weighted n={n} d={d} k={k}"));
    }
}

gpu_test!(weighted_step_matches_the_cpu, weighted_step_matches_the_cpu_gpu);

fn data_split_over_many_bindings_matches_the_cpu(_: GpuContext) {
    let ctx = with_max_binding(4096);
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

gpu_test!(data_split_over_many_bindings_matches_the_cpu, data_split_over_many_bindings_matches_the_cpu_gpu);

fn data_uploaded_in_many_chunks_through_the_staging_ring_matches_the_cpu(mut ctx: GpuContext) {
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

gpu_test!(
    data_uploaded_in_many_chunks_through_the_staging_ring_matches_the_cpu,
    data_uploaded_in_many_chunks_through_the_staging_ring_matches_the_cpu_gpu
);

fn two_dimensional_dispatch_matches_the_cpu(mut ctx: GpuContext) {
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

gpu_test!(two_dimensional_dispatch_matches_the_cpu, two_dimensional_dispatch_matches_the_cpu_gpu);

fn exact_ties_go_to_the_lowest_index(dev: &TestDevice) {
    // 0 is exactly between -1 and 1; the duplicated centre 2.5 can only ever give label 2, never 3.
    let x = Matrix::from_vec(vec![0.0, 0.0, -1.0, 1.0, 2.5, 2.4], 6, 1);
    let c = [-1.0f32, 1.0, 2.5, 2.5];
    let mut g = dev.backend(&x, None);
    let a = g.assign(&c, 4).unwrap();
    assert_eq!(a.labels, vec![0, 0, 0, 1, 2, 2]);
    let s = g.lloyd_step(&c, 4).unwrap();
    assert_eq!(s.counts, vec![3, 1, 2, 0]);
    assert_eq!(s.weights, vec![3.0, 1.0, 2.0, 0.0]);
}

device_test!(
    exact_ties_go_to_the_lowest_index,
    exact_ties_go_to_the_lowest_index_cpu,
    exact_ties_go_to_the_lowest_index_gpu
);

/// A step's sums, weight sums and inertia as bits.
fn sum_bits(s: &StepStats) -> (Vec<u64>, Vec<u64>, u64) {
    (s.sums.iter().map(|v| v.to_bits()).collect(), s.weights.iter().map(|v| v.to_bits()).collect(), s.inertia.to_bits())
}

fn a_step_is_bit_identical_run_to_run(dev: &TestDevice) {
    let x = data(4099, 16, 10, 3);
    let w = weights(4099, 4);
    let c = centroids(&x, 64, 5);
    let mut g = dev.backend(&x, Some(&w));
    let a = sum_bits(&g.lloyd_step(&c, 64).unwrap());
    let b = sum_bits(&g.lloyd_step(&c, 64).unwrap());
    assert_eq!(a, b, "the same step twice on one backend");
    let again = sum_bits(&dev.backend(&x, Some(&w)).lloyd_step(&c, 64).unwrap());
    assert_eq!(a, again, "the same step on a fresh backend");
}

device_test!(
    a_step_is_bit_identical_run_to_run,
    a_step_is_bit_identical_run_to_run_cpu,
    a_step_is_bit_identical_run_to_run_gpu
);

fn sums_are_bit_identical_across_launch_shapes_and_parts(mut ctx: GpuContext) {
    let x = data(4099, 16, 10, 3);
    let w = weights(4099, 4);
    let c = centroids(&x, 64, 5);
    let first = sum_bits(&GpuBackend::new(&ctx, &x, Some(&w)).unwrap().lloyd_step(&c, 64).unwrap());
    // Sums are integer sums: another workgroup size and partition give the same bits (inertia may round apart).
    let mut t = ctx.tuning();
    t.workgroup_size = 64;
    t.lloyd_groups_per_part = 3;
    ctx.set_tuning(t).unwrap();
    let other = sum_bits(&GpuBackend::new(&ctx, &x, Some(&w)).unwrap().lloyd_step(&c, 64).unwrap());
    assert_eq!((&first.0, &first.1), (&other.0, &other.1), "sums across launch shapes");
    let split = with_max_binding(4096);
    let s = sum_bits(&GpuBackend::new(&split, &x, Some(&w)).unwrap().lloyd_step(&c, 64).unwrap());
    assert_eq!((&first.0, &first.1), (&s.0, &s.1), "sums across a split into parts");
}

gpu_test!(
    sums_are_bit_identical_across_launch_shapes_and_parts,
    sums_are_bit_identical_across_launch_shapes_and_parts_gpu
);

fn features_of_very_different_scales_keep_their_precision(ctx: GpuContext) {
    let mut r = Rng(5);
    let n = 2000;
    let v: Vec<f32> = (0..n).flat_map(|_| [r.range(-1e-6, 1e-6), r.range(1e6, 2e6), r.range(-3.0, 3.0)]).collect();
    let x = Matrix::from_vec(v, n, 3);
    let c = centroids(&x, 5, 2);
    parity(&ctx, &x, None, &c, 5, "scales");
}

gpu_test!(
    features_of_very_different_scales_keep_their_precision,
    features_of_very_different_scales_keep_their_precision_gpu
);

fn a_device_with_webgpu_default_limits_matches_the_cpu(_: GpuContext) {
    let (device, queue, info) = own_device(Some(wgpu::Limits::default()));
    let ctx = GpuContext::from_device(device, queue, info, None).unwrap();
    for &(d, k) in &[(3usize, 7usize), (16, 64), (33, 256)] {
        let x = data(2000, d, 8, (d * k) as u64);
        let c = centroids(&x, k, 6);
        parity(&ctx, &x, None, &c, k, &format!("default limits d={d} k={k}"));
    }
    pp_parity(&ctx, &data(2000, 5, 4, 2), None, "default limits");
}

gpu_test!(a_device_with_webgpu_default_limits_matches_the_cpu, a_device_with_webgpu_default_limits_matches_the_cpu_gpu);
