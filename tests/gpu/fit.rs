//! Whole fits on the GPU against the CPU (from given centroids, and with k-means++), a context prepared ahead of
//! the fit, and the k-means++ primitives (reset, potentials, sampling, commit) on one dataset.

use custseg::backend::cpu::{sample_backend, CpuBackend};
use custseg::backend::gpu::{GpuBackend, GpuContext, GpuOptions};
use custseg::kmeans::{Init, KMeansParams};
use custseg::Matrix;

use super::check::pp_parity;
use super::data::{centroids, close, data, weights};
use super::harness::{open, with_max_binding};

fn fit_matches_the_cpu_from_given_centroids(ctx: GpuContext) {
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

gpu_test!(fit_matches_the_cpu_from_given_centroids, fit_matches_the_cpu_from_given_centroids_gpu);

fn fit_with_kmeans_plus_plus_runs_on_the_gpu(ctx: GpuContext) {
    let x = data(3000, 4, 5, 12);
    let p = KMeansParams::new(5).seed(3).check().unwrap();
    let cpu = custseg::kmeans::fit(&p, &x, None, &mut CpuBackend::new(&x, None), &sample_backend).unwrap();
    let gpu =
        custseg::kmeans::fit(&p, &x, None, &mut GpuBackend::new(&ctx, &x, None).unwrap(), &sample_backend).unwrap();
    // Same seed, same candidates, potentials within rounding: the same run unless a choice was a near-tie.
    assert!(close(gpu.inertia, cpu.inertia, 1e-4, 0.0), "inertia {} vs {}", gpu.inertia, cpu.inertia);
}

gpu_test!(fit_with_kmeans_plus_plus_runs_on_the_gpu, fit_with_kmeans_plus_plus_runs_on_the_gpu_gpu);

fn a_prepared_context_fits_with_the_pipeline_it_built_ahead(ctx: GpuContext) {
    // What `segment` does on another thread while it reads: the fit then builds no Lloyd pipeline of its own.
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

gpu_test!(
    a_prepared_context_fits_with_the_pipeline_it_built_ahead,
    a_prepared_context_fits_with_the_pipeline_it_built_ahead_gpu
);

fn kmeans_plus_plus_primitives_match_the_cpu(ctx: GpuContext) {
    for &(n, d) in &[(1000usize, 1usize), (4099, 3), (3000, 16), (2000, 33)] {
        let x = data(n, d, 7, (n * d) as u64);
        let w = weights(n, 13);
        pp_parity(&ctx, &x, None, &format!("pp n={n} d={d}"));
        pp_parity(&ctx, &x, Some(&w), &format!("pp weighted n={n} d={d}"));
    }
    // Many small blocks: the search walks and skips blocks.
    let mut ctx = open(GpuOptions::default());
    let mut t = ctx.tuning();
    t.pp_block_rows = 64;
    ctx.set_tuning(t).unwrap();
    let x = data(4099, 3, 5, 1);
    pp_parity(&ctx, &x, Some(&weights(4099, 3)), "pp small blocks");
    let split = with_max_binding(4096);
    pp_parity(&split, &x, None, "pp split");
}

gpu_test!(kmeans_plus_plus_primitives_match_the_cpu, kmeans_plus_plus_primitives_match_the_cpu_gpu);
