//! Timing of backend steps: warm-up steps, then the median (and minimum) of the timed steps. Each step reads its
//! sums back, so the clock stops after the device has finished.

use std::time::Instant;

use crate::error::Result;
use crate::kmeans::Backend;

/// Times `lloyd_step` on `backend`: `warmup` untimed steps, then the median and minimum of `repeats` steps (ms).
pub fn time_steps(
    backend: &mut dyn Backend,
    centroids: &[f32],
    k: usize,
    warmup: usize,
    repeats: usize,
) -> Result<(f64, f64)> {
    let (ms, ms_min, _) = time_steps_probed(backend, centroids, k, warmup, repeats, |_| None)?;
    Ok((ms, ms_min))
}

/// [`time_steps`], plus the median of `probe` read after each timed step (a GPU backend's own timestamp of the
/// step's pass), where it gave a value every time.
pub fn time_steps_probed<B: Backend + ?Sized>(
    backend: &mut B,
    centroids: &[f32],
    k: usize,
    warmup: usize,
    repeats: usize,
    probe: impl Fn(&B) -> Option<f64>,
) -> Result<(f64, f64, Option<f64>)> {
    for _ in 0..warmup {
        backend.lloyd_step(centroids, k)?;
    }
    let mut ms = Vec::with_capacity(repeats.max(1));
    let mut probed = Vec::with_capacity(repeats.max(1));
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        backend.lloyd_step(centroids, k)?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        probed.extend(probe(backend));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let probed = (probed.len() == ms.len()).then(|| median(&mut probed));
    let min = ms.iter().copied().fold(f64::INFINITY, f64::min);
    Ok((median(&mut ms), min, probed))
}
