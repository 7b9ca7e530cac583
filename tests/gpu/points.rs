//! The Lloyd kernel's launch shapes: every points-per-thread against the CPU, bit-identical sums, labels and
//! distances whatever the points per thread, workgroup size, workgroups per part or copies of the private sums,
//! exact ties for every points per thread, and one backend swept through shapes without a new upload.

use custseg::backend::gpu::{GpuBackend, GpuContext, GpuOptions, Launch};
use custseg::kmeans::Backend;
use custseg::Matrix;

use super::check::{force_p, parity, step_bits, StepBits};
use super::data::{centroids, close, data, weights};
use super::harness::{open, own_device, with_max_binding};

/// Parity with `p` points per thread: every D and K on one binding, some shapes split over many bindings, and a
/// device with WebGPU's default limits (16 KiB of workgroup memory: streamed centroid tiles, global sums).
fn parity_with_points_per_thread(mut ctx: GpuContext, p: u32) {
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
    let mut split = with_max_binding(4096);
    force_p(&mut split, p, None);
    for &(n, d, k) in &[(4099usize, 3usize, 7usize), (4099, 33, 64), (2500, 16, 256), (3000, 8, 2)] {
        let x = data(n, d, 8, (3 * n + d) as u64);
        let w = weights(n, 17);
        let c = centroids(&x, k, 4);
        ties += parity(&split, &x, Some(&w), &c, k, &format!("P={p} split weighted n={n} d={d} k={k}"));
    }
    let (device, queue, info) = own_device(Some(wgpu::Limits::default()));
    let mut small = GpuContext::from_device(device, queue, info, None).unwrap();
    force_p(&mut small, p, None);
    for &(d, k) in &[(16usize, 256usize), (33, 256), (8, 64)] {
        let x = data(4099, d, 8, (d * k) as u64);
        let c = centroids(&x, k, 6);
        ties += parity(&small, &x, Some(&weights(4099, 2)), &c, k, &format!("P={p} default limits d={d} k={k}"));
    }
    eprintln!("P={p}: near-tie label differences: {ties}");
}

fn one_point_per_thread_matches_the_cpu(ctx: GpuContext) {
    parity_with_points_per_thread(ctx, 1);
}

gpu_test!(one_point_per_thread_matches_the_cpu, one_point_per_thread_matches_the_cpu_gpu);

fn two_points_per_thread_match_the_cpu(ctx: GpuContext) {
    parity_with_points_per_thread(ctx, 2);
}

gpu_test!(two_points_per_thread_match_the_cpu, two_points_per_thread_match_the_cpu_gpu);

fn four_points_per_thread_match_the_cpu(ctx: GpuContext) {
    parity_with_points_per_thread(ctx, 4);
}

gpu_test!(four_points_per_thread_match_the_cpu, four_points_per_thread_match_the_cpu_gpu);

fn eight_points_per_thread_match_the_cpu(ctx: GpuContext) {
    parity_with_points_per_thread(ctx, 8);
}

gpu_test!(eight_points_per_thread_match_the_cpu, eight_points_per_thread_match_the_cpu_gpu);

fn sums_labels_and_distances_are_bit_identical_for_every_points_per_thread(mut ctx: GpuContext) {
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

gpu_test!(
    sums_labels_and_distances_are_bit_identical_for_every_points_per_thread,
    sums_labels_and_distances_are_bit_identical_for_every_points_per_thread_gpu
);

fn exact_ties_go_to_the_lowest_index_for_every_points_per_thread(mut ctx: GpuContext) {
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

gpu_test!(
    exact_ties_go_to_the_lowest_index_for_every_points_per_thread,
    exact_ties_go_to_the_lowest_index_for_every_points_per_thread_gpu
);

fn one_backend_swept_through_launch_shapes_gives_the_same_results(mut ctx: GpuContext) {
    // Three workgroups per part to start with, so that shapes with more workgroups grow the inertia partials.
    force_p(&mut ctx, 4, None);
    let mut split = with_max_binding(8192);
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
            let mut fresh_ctx =
                if first_launch.parts > 1 { with_max_binding(8192) } else { open(GpuOptions::default()) };
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

gpu_test!(
    one_backend_swept_through_launch_shapes_gives_the_same_results,
    one_backend_swept_through_launch_shapes_gives_the_same_results_gpu
);

fn copies_of_the_private_sums_give_the_same_bits(ctx: GpuContext) {
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

gpu_test!(copies_of_the_private_sums_give_the_same_bits, copies_of_the_private_sums_give_the_same_bits_gpu);
