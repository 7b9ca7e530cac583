//! The GPU as a device: choosing adapters by name and listing them, errors that are errors and not panics (wrong
//! weights, a lost device), GPU timestamps of a step, the peak probes, and the upload staging ring's release.

use custseg::backend::gpu::{GpuBackend, GpuContext, GpuOptions};
use custseg::error::GpuErrorKind;
use custseg::kmeans::Backend;

use super::data::{centroids, data};
use super::harness::own_device;

fn a_named_adapter_that_does_not_exist_lists_the_ones_there_are(ctx: GpuContext) {
    let e =
        GpuContext::new(&GpuOptions { adapter: Some("no-such-adapter-xyz".into()), ..Default::default() }).unwrap_err();
    assert_eq!(e.gpu_error_kind(), Some(GpuErrorKind::NoMatchingAdapter), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("no GPU adapter matches \"no-such-adapter-xyz\""), "{msg}");
    let name = ctx.adapter_info().name.clone();
    assert!(msg.contains(&name), "{msg} does not list {name}");
    // The adapter we have can be chosen by a case-insensitive part of its name.
    let part = name.chars().take(4).collect::<String>().to_uppercase();
    let again = GpuContext::new(&GpuOptions { adapter: Some(part), ..Default::default() }).unwrap();
    assert_eq!(again.name(), ctx.name());
}

gpu_test!(
    a_named_adapter_that_does_not_exist_lists_the_ones_there_are,
    a_named_adapter_that_does_not_exist_lists_the_ones_there_are_gpu
);

fn list_adapters_reports_limits(ctx: GpuContext) {
    let all = custseg::backend::gpu::list_adapters();
    let me = all.iter().find(|a| a.name == ctx.adapter_info().name).expect("the open adapter is listed");
    assert!(me.max_storage_buffer_binding_size >= 1 << 20);
    assert!(me.max_compute_workgroups_per_dimension >= 65535);
    assert_eq!(me.is_hardware, ctx.is_hardware());
    eprintln!("{}", serde_json::to_string(me).unwrap());
}

gpu_test!(list_adapters_reports_limits, list_adapters_reports_limits_gpu);

fn weights_of_the_wrong_length_are_an_error(ctx: GpuContext) {
    let x = data(10, 2, 2, 1);
    let e = GpuBackend::new(&ctx, &x, Some(&[1.0; 9])).err().expect("error").to_string();
    assert!(e.contains("9 weights for 10 rows"), "{e}");
}

gpu_test!(weights_of_the_wrong_length_are_an_error, weights_of_the_wrong_length_are_an_error_gpu);

fn a_lost_device_is_an_error_not_a_panic(_: GpuContext) {
    let (device, queue, info) = own_device(None);
    let keep = device.clone();
    let ctx = GpuContext::from_device(device, queue, info, None).unwrap();
    let x = data(1000, 3, 4, 1);
    let c = centroids(&x, 4, 1);
    let mut g = GpuBackend::new(&ctx, &x, None).unwrap();
    g.lloyd_step(&c, 4).unwrap();
    keep.destroy();
    let e = g.lloyd_step(&c, 4).unwrap_err();
    assert_eq!(e.gpu_error_kind(), Some(GpuErrorKind::Device), "{e}");
    assert!(!e.to_string().contains('\n'), "one line: {e}");
    assert!(matches!(g.assign(&c, 4), Err(custseg::Error::Gpu(_))));
    assert!(matches!(g.pp_reset(x.row(0)), Err(custseg::Error::Gpu(_))));
    assert!(matches!(GpuBackend::new(&ctx, &x, None), Err(custseg::Error::Gpu(_))));
    eprintln!("after destroy: {e}");
}

gpu_test!(a_lost_device_is_an_error_not_a_panic, a_lost_device_is_an_error_not_a_panic_gpu);

fn lloyd_steps_are_timed_on_the_gpu_where_timestamps_exist(ctx: GpuContext) {
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

gpu_test!(
    lloyd_steps_are_timed_on_the_gpu_where_timestamps_exist,
    lloyd_steps_are_timed_on_the_gpu_where_timestamps_exist_gpu
);

fn the_peak_probes_measure_positive_finite_rates(ctx: GpuContext) {
    use custseg::backend::gpu::{measure_peak, PeakSize};
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

gpu_test!(the_peak_probes_measure_positive_finite_rates, the_peak_probes_measure_positive_finite_rates_gpu);

fn the_staging_ring_is_released_and_made_again_on_the_next_upload(ctx: GpuContext) {
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

gpu_test!(
    the_staging_ring_is_released_and_made_again_on_the_next_upload,
    the_staging_ring_is_released_and_made_again_on_the_next_upload_gpu
);
