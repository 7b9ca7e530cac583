//! `GpuBackend`: the K-means kernels of [`crate::kmeans::Backend`] on one dataset resident on the GPU. Each call
//! writes the centroids (k × d floats) and an 80-byte parameter block, runs one kernel over every part, and reads
//! back only the small per-cluster results; `assign` reads labels and distances once. This file holds the state
//! and what the passes share (the bind groups, the centroid rows, encoding a kernel over every part, the
//! read-back); building it and the upload are in `upload.rs`, the Lloyd pass in `lloyd.rs`, k-means++ in
//! `kmeanspp.rs`.

use super::context::GpuContext;
use super::kernels::Kernels;
use super::launch::{dispatch_dims, Tuning};
use super::parts::PartPlan;
use super::transfer::{Readback, Region, STAGE_BYTES};
use super::uniforms::StepParams;
use crate::error::{Error, Result};
use crate::kmeans::{Assignment, Backend, StepStats};

/// The buffers of one part of the data.
pub(crate) struct Part {
    pub(crate) plan: PartPlan,
    /// Kept alive for the bind group, which refers to it.
    pub(crate) _x: wgpu::Buffer,
    pub(crate) w: Option<wgpu::Buffer>,
    pub(crate) labels: wgpu::Buffer,
    pub(crate) closest: wgpu::Buffer,
    /// (label, dist2 bits) per row, created by the first `assign`.
    pub(crate) out: Option<wgpu::Buffer>,
    pub(crate) uniform: wgpu::Buffer,
    pub(crate) bind: wgpu::BindGroup,
}

/// A timestamp pair around the Lloyd pass: the query set and the buffer it resolves into.
pub(crate) struct Timestamps {
    pub(crate) queries: wgpu::QuerySet,
    pub(crate) resolve: wgpu::Buffer,
}

/// The GPU backend over one dataset, uploaded once.
pub struct GpuBackend<'a> {
    pub(crate) ctx: &'a GpuContext,
    pub(crate) kernels: &'a Kernels,
    /// The context's launch shape, with this backend's [`super::Launch`] overrides.
    pub(crate) tuning: Tuning,
    pub(crate) n: usize,
    pub(crate) d: usize,
    pub(crate) d4: usize,
    pub(crate) weighted: bool,
    /// Fixed-point exponent of each feature's (weighted) values, and of the weights.
    pub(crate) exps: Vec<i32>,
    pub(crate) exp_w: i32,
    pub(crate) parts: Vec<Part>,
    /// Placeholders bound where a part has no weights or no output buffer yet.
    pub(crate) dummy_ro: wgpu::Buffer,
    pub(crate) step: wgpu::Buffer,
    pub(crate) cent: wgpu::Buffer,
    pub(crate) acc: wgpu::Buffer,
    pub(crate) partials: wgpu::Buffer,
    pub(crate) shared: wgpu::BindGroup,
    pub(crate) readback: Readback,
    /// Words before the centroids in `cent`: the exponents, padded to a multiple of 4.
    pub(crate) c_off: u32,
    pub(crate) total_lloyd: u32,
    pub(crate) total_pp: u32,
    /// Scratch region of `partials`, after the k-means++ block sums.
    pub(crate) scratch_off: u32,
    /// The next Lloyd step counts every point as changed.
    pub(crate) reset: bool,
    /// (hi + lo) of every k-means++ block's Σ w·closest, in global block order, from the last reset/commit.
    pub(crate) pp_blocks: Vec<f64>,
    /// Present where the device has `TIMESTAMP_QUERY`.
    pub(crate) timestamps: Option<Timestamps>,
    /// GPU time of the last Lloyd step's pass, in milliseconds.
    pub(crate) last_step_ms: Option<f64>,
    pub(crate) setup: Setup,
}

/// What building a [`GpuBackend`] cost: the host pass for the fixed-point exponents, and the upload of X (and the
/// weights) through the staging ring, timed on the host until the last copy has finished on the device. The first
/// upload in a context also creates the ring (two MAP_WRITE buffers), inside `upload_s`.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Setup {
    pub exponents_s: f64,
    pub upload_s: f64,
    pub upload_bytes: u64,
}

impl Setup {
    /// The upload rate in GB/s (10^9 bytes per second); 0 for an empty upload.
    pub fn upload_gbs(&self) -> f64 {
        if self.upload_s > 0.0 {
            self.upload_bytes as f64 / self.upload_s / 1e9
        } else {
            0.0
        }
    }
}

pub(crate) fn bytes_of(v: &[f32]) -> &[u8] {
    bytemuck::cast_slice(v)
}

pub(crate) fn pair(words: &[u32], i: usize) -> f64 {
    f64::from(f32::from_bits(words[2 * i])) + f64::from(f32::from_bits(words[2 * i + 1]))
}

impl<'a> GpuBackend<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn part_group(
        ctx: &GpuContext,
        k: &Kernels,
        x: &wgpu::Buffer,
        w: &wgpu::Buffer,
        labels: &wgpu::Buffer,
        closest: &wgpu::Buffer,
        out: &wgpu::Buffer,
        uniform: &wgpu::Buffer,
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = [x, w, labels, closest, out, uniform]
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
            .collect();
        ctx.rt.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("part"),
            layout: &k.part_layout,
            entries: &entries,
        })
    }

    pub(crate) fn shared_group(
        ctx: &GpuContext,
        k: &Kernels,
        step: &wgpu::Buffer,
        cent: &wgpu::Buffer,
        acc: &wgpu::Buffer,
        partials: &wgpu::Buffer,
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = [step, cent, acc, partials]
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
            .collect();
        ctx.rt.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("shared"),
            layout: &k.shared_layout,
            entries: &entries,
        })
    }

    /// Grows `cent` (to hold `cent_words`) and `acc` (to hold `acc_words`) when a call needs more.
    pub(crate) fn ensure_shared(&mut self, cent_words: u64, acc_words: u64) -> Result<()> {
        use wgpu::BufferUsages as U;
        let limit = self.ctx.rt.limits.max_storage_buffer_binding_size.min(self.ctx.rt.limits.max_buffer_size);
        let mut changed = false;
        if cent_words * 4 > self.cent.size() {
            if cent_words * 4 > limit {
                return Err(Error::gpu(format!("{} bytes of centroids exceed the binding limit", cent_words * 4)));
            }
            self.cent =
                self.ctx.rt.buffer("centroids", (cent_words * 4).next_power_of_two(), U::STORAGE | U::COPY_DST)?;
            let mut exp_words: Vec<f32> = self.exps.iter().map(|&e| e as f32).collect();
            exp_words.resize(self.c_off as usize, 0.0);
            self.ctx.rt.queue.write_buffer(&self.cent, 0, bytes_of(&exp_words));
            changed = true;
        }
        if acc_words * 4 > self.acc.size() {
            if acc_words * 4 > limit.min(STAGE_BYTES) {
                return Err(Error::gpu(format!("{} bytes of cluster sums exceed the binding limit", acc_words * 4)));
            }
            self.acc = self.ctx.rt.buffer(
                "cluster sums",
                (acc_words * 4).next_power_of_two(),
                U::STORAGE | U::COPY_DST | U::COPY_SRC,
            )?;
            changed = true;
        }
        if changed {
            self.shared = Self::shared_group(self.ctx, self.kernels, &self.step, &self.cent, &self.acc, &self.partials);
        }
        Ok(())
    }

    /// Writes `rows` centre rows (padded to `d4 · 4`) at the centroid offset, followed by their squared norms
    /// (summed sequentially in f32) when `norms` is set. Returns the number of words written.
    pub(crate) fn write_rows(&mut self, c: &[f32], rows: usize, norms: bool, acc_words: u64) -> Result<u32> {
        let (d, stride) = (self.d, self.d4 * 4);
        let norm_words = if norms { (rows + 4).div_ceil(4) * 4 } else { 0 };
        let mut buf = vec![0f32; rows * stride + norm_words];
        for j in 0..rows {
            let row = &c[j * d..(j + 1) * d];
            buf[j * stride..j * stride + d].copy_from_slice(row);
            if norms {
                let mut s = 0f32;
                for &v in row {
                    s += v * v;
                }
                buf[rows * stride + j] = s;
            }
        }
        self.ensure_shared(u64::from(self.c_off) + buf.len() as u64, acc_words)?;
        self.ctx.rt.queue.write_buffer(&self.cent, u64::from(self.c_off) * 4, bytes_of(&buf));
        Ok((rows * stride) as u32)
    }

    pub(crate) fn base_step(&self) -> StepParams {
        StepParams {
            d: self.d as u32,
            d4: self.d4 as u32,
            c_off: self.c_off,
            exp_w: self.exp_w,
            scratch_off: self.scratch_off,
            ..StepParams::default()
        }
    }

    /// Encodes kernels with `encode`, then reads back `regions` (see [`Readback::run`]).
    pub(crate) fn run(
        &mut self,
        encode: impl FnOnce(&Self, &mut wgpu::CommandEncoder),
        regions: impl for<'s> FnOnce(&'s Self) -> Vec<Region<'s>>,
    ) -> Result<Vec<u32>> {
        let mut rb = std::mem::take(&mut self.readback);
        let r = rb.run(&self.ctx.rt, |enc| encode(self, enc), &regions(self));
        self.readback = rb;
        r
    }

    /// Encodes `pipeline` over every part (groups per part from `groups`), in one pass; with `timestamps`, the
    /// pass writes queries 0 (beginning) and 1 (end).
    pub(crate) fn encode(
        &self,
        enc: &mut wgpu::CommandEncoder,
        pipeline: &wgpu::ComputePipeline,
        groups: impl Fn(&PartPlan) -> u32,
        timestamps: Option<&wgpu::QuerySet>,
    ) {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("custseg"),
            timestamp_writes: timestamps.map(|q| wgpu::ComputePassTimestampWrites {
                query_set: q,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            }),
        });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(1, &self.shared, &[]);
        for p in &self.parts {
            let g = groups(&p.plan);
            if g == 0 {
                continue;
            }
            let (gx, gy) = dispatch_dims(g, self.tuning.max_groups_per_dim);
            pass.set_bind_group(0, &p.bind, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
    }

    /// What building this backend cost (the exponents pass and the upload).
    pub fn setup(&self) -> Setup {
        self.setup
    }

    /// GPU time of the last [`Backend::lloyd_step`]'s Lloyd pass (every part's dispatch), in milliseconds, from
    /// a timestamp pair around the pass; `None` where the device has no `TIMESTAMP_QUERY` or before any step.
    /// It excludes the centroid upload, the clearing of the sums and the read-back.
    pub fn last_step_gpu_ms(&self) -> Option<f64> {
        self.last_step_ms
    }
}

impl Backend for GpuBackend<'_> {
    fn name(&self) -> String {
        format!("gpu: {}", self.ctx.name())
    }
    fn n(&self) -> usize {
        self.n
    }
    fn d(&self) -> usize {
        self.d
    }

    fn reset_labels(&mut self) -> Result<()> {
        self.reset = true;
        Ok(())
    }

    fn lloyd_step(&mut self, centroids: &[f32], k: usize) -> Result<StepStats> {
        self.step(centroids, k)
    }

    fn assign(&mut self, centroids: &[f32], k: usize) -> Result<Assignment> {
        self.assignment(centroids, k)
    }

    fn pp_reset(&mut self, first: &[f32]) -> Result<f64> {
        self.pp_update(first, false)?;
        Ok(self.pp_blocks.iter().sum())
    }

    fn pp_potentials(&mut self, candidates: &[f32], m: usize) -> Result<Vec<f64>> {
        self.potentials(candidates, m)
    }

    fn pp_commit(&mut self, chosen: &[f32]) -> Result<()> {
        self.pp_update(chosen, true)
    }

    fn pp_sample(&mut self, targets: &[f64]) -> Result<Vec<usize>> {
        self.sample(targets)
    }
}
