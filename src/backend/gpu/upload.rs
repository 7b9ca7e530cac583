//! Building a [`GpuBackend`]: the fixed-point exponents of the features and weights (a host pass), the cut of the
//! rows into parts, the one upload of X and the weights through the staging ring, and each part's buffers, constant
//! block and bind group.

use rayon::prelude::*;

use super::backend::{bytes_of, GpuBackend, Part, Setup, Timestamps};
use super::context::GpuContext;
use super::fixed;
use super::launch::Tuning;
use super::parts::{plan_parts, PartPlan};
use super::transfer::Readback;
use super::uniforms::{PartParams, StepParams, MAXC};
use crate::error::{Error, Result};
use crate::matrix::Matrix;

impl<'a> GpuBackend<'a> {
    /// Uploads `x` (and the weights, if any) once and prepares the kernels.
    pub fn new(ctx: &'a GpuContext, x: &Matrix, weights: Option<&[f32]>) -> Result<GpuBackend<'a>> {
        let (n, d) = (x.n(), x.d());
        if let Some(w) = weights {
            if w.len() != n {
                return Err(Error::Data(format!("{} weights for {} rows", w.len(), n)));
            }
        }
        if n as u64 >= 1 << 32 {
            return Err(Error::gpu(format!("{n} rows: the GPU kernels count rows in 32 bits (at most 4294967295)")));
        }
        let kernels = ctx.kernels()?;
        let d4 = d.div_ceil(4);
        let t0 = std::time::Instant::now();
        let (exps, exp_w) = exponents(x, weights);
        let mut setup = Setup { exponents_s: t0.elapsed().as_secs_f64(), ..Setup::default() };
        let plans = if n == 0 || d == 0 { Vec::new() } else { plan_parts(n, d, ctx.max_binding, &kernels.tuning)? };
        let total_lloyd: u32 = plans.iter().map(|p| p.lloyd_groups).sum();
        let total_pp: u32 = plans.iter().map(|p| p.pp_groups).sum();
        let scratch_off = 2 * total_pp;
        let partial_words = partial_words(ctx, n, total_lloyd, total_pp)?;
        use wgpu::BufferUsages as U;
        let dummy_ro = ctx.rt.buffer("placeholder (read)", 16, U::STORAGE)?;
        let dummy_rw = ctx.rt.buffer("placeholder (write)", 16, U::STORAGE)?;
        let step =
            ctx.rt.buffer("step parameters", std::mem::size_of::<StepParams>() as u64, U::UNIFORM | U::COPY_DST)?;
        let c_off = (d4 * 4) as u32;
        let cent = ctx.rt.buffer("centroids", 4 * (u64::from(c_off) + 64), U::STORAGE | U::COPY_DST)?;
        let acc = ctx.rt.buffer("cluster sums", 4096, U::STORAGE | U::COPY_DST | U::COPY_SRC)?;
        let partials = ctx.rt.buffer("partial sums", 4 * partial_words, U::STORAGE | U::COPY_SRC)?;
        let shared = Self::shared_group(ctx, kernels, &step, &cent, &acc, &partials);
        let mut parts = Vec::with_capacity(plans.len());
        let data = x.as_slice();
        for plan in plans {
            let rows = plan.rows as u64;
            let xb = ctx.rt.buffer("features", rows * d as u64 * 4, U::STORAGE | U::COPY_DST)?;
            let t0 = std::time::Instant::now();
            let bytes = bytes_of(&data[plan.first_row * d..(plan.first_row + plan.rows) * d]);
            ctx.staging.upload(&ctx.rt, &xb, 0, bytes)?;
            setup.upload_bytes += bytes.len() as u64;
            let w = match weights {
                Some(w) => {
                    let b = ctx.rt.buffer("weights", rows * 4, U::STORAGE | U::COPY_DST | U::COPY_SRC)?;
                    let bytes = bytes_of(&w[plan.first_row..plan.first_row + plan.rows]);
                    ctx.staging.upload(&ctx.rt, &b, 0, bytes)?;
                    setup.upload_bytes += bytes.len() as u64;
                    Some(b)
                }
                None => None,
            };
            setup.upload_s += t0.elapsed().as_secs_f64();
            let labels = ctx.rt.buffer("labels", rows * 4, U::STORAGE)?;
            let closest = ctx.rt.buffer("closest distances", rows * 4, U::STORAGE | U::COPY_SRC)?;
            let uniform =
                ctx.rt.buffer("part parameters", std::mem::size_of::<PartParams>() as u64, U::UNIFORM | U::COPY_DST)?;
            let params = part_params(&plan, weights.is_some(), &kernels.tuning);
            ctx.rt.queue.write_buffer(&uniform, 0, bytemuck::bytes_of(&params));
            let bind = Self::part_group(
                ctx,
                kernels,
                &xb,
                w.as_ref().unwrap_or(&dummy_ro),
                &labels,
                &closest,
                &dummy_rw,
                &uniform,
            );
            parts.push(Part { plan, _x: xb, w, labels, closest, out: None, uniform, bind });
        }
        let mut exp_words: Vec<f32> = exps.iter().map(|&e| e as f32).collect();
        exp_words.resize(c_off as usize, 0.0);
        ctx.rt.queue.write_buffer(&cent, 0, bytes_of(&exp_words));
        let timestamps = ctx.rt.timestamp_pair("lloyd")?.map(|(queries, resolve)| Timestamps { queries, resolve });
        ctx.rt.check()?;
        Ok(GpuBackend {
            ctx,
            kernels,
            tuning: kernels.tuning,
            n,
            d,
            d4,
            weighted: weights.is_some(),
            exps,
            exp_w,
            parts,
            dummy_ro,
            step,
            cent,
            acc,
            partials,
            shared,
            readback: Readback::default(),
            c_off,
            total_lloyd,
            total_pp,
            scratch_off,
            reset: true,
            pp_blocks: Vec::new(),
            timestamps,
            last_step_ms: None,
            setup,
        })
    }
}

/// Words of the partial-sums buffer: the k-means++ block sums, then the larger of the Lloyd workgroups' inertia
/// pairs and the potentials' (hi, lo) per candidate per block; an error past one binding.
pub(crate) fn partial_words(ctx: &GpuContext, n: usize, total_lloyd: u32, total_pp: u32) -> Result<u64> {
    let words = 2 * u64::from(total_pp) + 2 * u64::from(total_lloyd).max(MAXC as u64 * u64::from(total_pp));
    let limit = ctx.rt.limits.max_storage_buffer_binding_size.min(ctx.rt.limits.max_buffer_size);
    if words * 4 > limit {
        return Err(Error::gpu(format!("{n} rows need {} bytes of partial sums, over the binding limit", words * 4)));
    }
    Ok(words)
}

/// The constants of one part (`Part` in the shaders).
pub(crate) fn part_params(plan: &PartPlan, weighted: bool, t: &Tuning) -> PartParams {
    PartParams {
        rows: plan.rows as u32,
        weighted: u32::from(weighted),
        lloyd_groups: plan.lloyd_groups,
        lloyd_rows: plan.lloyd_rows,
        lloyd_base: plan.lloyd_base,
        pp_groups: plan.pp_groups,
        pp_rows: t.pp_block_rows,
        pp_base: plan.pp_base,
    }
}

/// Per-feature fixed-point exponents from `max |w·x_f|` (the product in f32, as the shader computes it), and the
/// weights' exponent from `max w`.
fn exponents(x: &Matrix, w: Option<&[f32]>) -> (Vec<i32>, i32) {
    let d = x.d();
    if x.n() == 0 || d == 0 {
        return (vec![0; d], 0);
    }
    const CHUNK: usize = 8192;
    let maxes = x
        .as_slice()
        .par_chunks(CHUNK * d)
        .enumerate()
        .map(|(c, rows)| {
            let mut m = vec![0f32; d];
            for (r, row) in rows.chunks_exact(d).enumerate() {
                let wi = w.map_or(1.0, |w| w[c * CHUNK + r]);
                for (m, &v) in m.iter_mut().zip(row) {
                    *m = m.max((wi * v).abs());
                }
            }
            m
        })
        .reduce(|| vec![0f32; d], |a, b| a.iter().zip(&b).map(|(a, b)| a.max(*b)).collect());
    let exp_w = w.map_or(0, |w| fixed::scale_exponent(w.iter().fold(0f32, |m, &v| m.max(v))));
    (maxes.into_iter().map(fixed::scale_exponent).collect(), exp_w)
}
