//! `GpuBackend`: the K-means kernels of [`crate::kmeans::Backend`] on one dataset resident on the GPU. Each call
//! writes the centroids (k × d floats) and an 80-byte parameter block, runs one kernel over every part, and reads
//! back only the small per-cluster results; `assign` reads labels and distances once.

use rayon::prelude::*;

use super::buffers::{plan_parts, upload, PartPlan, Readback, Region, STAGE_BYTES};
use super::context::GpuContext;
use super::fixed;
use super::kernels::{
    dispatch_dims, Kernels, Launch, LaunchInfo, LloydShape, PartParams, PrivateLayout, StepParams, Tuning, MAXC,
    MODE_ASSIGN, MODE_RESET, MODE_STEP, PP_COMMIT,
};
use crate::error::{Error, Result};
use crate::kmeans::{Assignment, Backend, StepStats};
use crate::matrix::Matrix;

/// The buffers of one part of the data.
struct Part {
    plan: PartPlan,
    /// Kept alive for the bind group, which refers to it.
    _x: wgpu::Buffer,
    w: Option<wgpu::Buffer>,
    labels: wgpu::Buffer,
    closest: wgpu::Buffer,
    /// (label, dist2 bits) per row, created by the first `assign`.
    out: Option<wgpu::Buffer>,
    uniform: wgpu::Buffer,
    bind: wgpu::BindGroup,
}

/// Where things live in the shared buffers for one call with `k` centroids.
#[derive(Debug, Clone, Copy)]
struct Layout {
    tile_k: u32,
    n_tiles: u32,
    private_acc: bool,
    /// Copies of the private sums (1 where the sums are global), and where a copy keeps what.
    copies: u32,
    private: PrivateLayout,
    wsum_off: u32,
    count_off: u32,
    changed_off: u32,
}

/// A timestamp pair around the Lloyd pass: the query set and the buffer it resolves into.
struct Timestamps {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
}

/// The GPU backend over one dataset, uploaded once.
pub struct GpuBackend<'a> {
    ctx: &'a GpuContext,
    kernels: &'a Kernels,
    /// The context's launch shape, with this backend's [`Launch`] overrides.
    tuning: Tuning,
    n: usize,
    d: usize,
    d4: usize,
    weighted: bool,
    /// Fixed-point exponent of each feature's (weighted) values, and of the weights.
    exps: Vec<i32>,
    exp_w: i32,
    parts: Vec<Part>,
    /// Placeholders bound where a part has no weights or no output buffer yet.
    dummy_ro: wgpu::Buffer,
    step: wgpu::Buffer,
    cent: wgpu::Buffer,
    acc: wgpu::Buffer,
    partials: wgpu::Buffer,
    shared: wgpu::BindGroup,
    readback: Readback,
    /// Words before the centroids in `cent`: the exponents, padded to a multiple of 4.
    c_off: u32,
    total_lloyd: u32,
    total_pp: u32,
    /// Scratch region of `partials`, after the k-means++ block sums.
    scratch_off: u32,
    /// The next Lloyd step counts every point as changed.
    reset: bool,
    /// (hi + lo) of every k-means++ block's Σ w·closest, in global block order, from the last reset/commit.
    pp_blocks: Vec<f64>,
    /// Present where the device has `TIMESTAMP_QUERY`.
    timestamps: Option<Timestamps>,
    /// GPU time of the last Lloyd step's pass, in milliseconds.
    last_step_ms: Option<f64>,
    setup: Setup,
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

fn bytes_of(v: &[f32]) -> &[u8] {
    bytemuck::cast_slice(v)
}

fn pair(words: &[u32], i: usize) -> f64 {
    f64::from(f32::from_bits(words[2 * i])) + f64::from(f32::from_bits(words[2 * i + 1]))
}

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
            return Err(Error::Gpu(format!("{n} rows: the GPU kernels count rows in 32 bits (at most 4294967295)")));
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
        let dummy_ro = ctx.buffer("placeholder (read)", 16, U::STORAGE)?;
        let dummy_rw = ctx.buffer("placeholder (write)", 16, U::STORAGE)?;
        let step = ctx.buffer("step parameters", std::mem::size_of::<StepParams>() as u64, U::UNIFORM | U::COPY_DST)?;
        let c_off = (d4 * 4) as u32;
        let cent = ctx.buffer("centroids", 4 * (u64::from(c_off) + 64), U::STORAGE | U::COPY_DST)?;
        let acc = ctx.buffer("cluster sums", 4096, U::STORAGE | U::COPY_DST | U::COPY_SRC)?;
        let partials = ctx.buffer("partial sums", 4 * partial_words, U::STORAGE | U::COPY_SRC)?;
        let shared = Self::shared_group(ctx, kernels, &step, &cent, &acc, &partials);
        let mut parts = Vec::with_capacity(plans.len());
        let data = x.as_slice();
        for plan in plans {
            let rows = plan.rows as u64;
            let xb = ctx.buffer("features", rows * d as u64 * 4, U::STORAGE | U::COPY_DST)?;
            let t0 = std::time::Instant::now();
            let bytes = bytes_of(&data[plan.first_row * d..(plan.first_row + plan.rows) * d]);
            upload(ctx, &xb, 0, bytes)?;
            setup.upload_bytes += bytes.len() as u64;
            let w = match weights {
                Some(w) => {
                    let b = ctx.buffer("weights", rows * 4, U::STORAGE | U::COPY_DST | U::COPY_SRC)?;
                    let bytes = bytes_of(&w[plan.first_row..plan.first_row + plan.rows]);
                    upload(ctx, &b, 0, bytes)?;
                    setup.upload_bytes += bytes.len() as u64;
                    Some(b)
                }
                None => None,
            };
            setup.upload_s += t0.elapsed().as_secs_f64();
            let labels = ctx.buffer("labels", rows * 4, U::STORAGE)?;
            let closest = ctx.buffer("closest distances", rows * 4, U::STORAGE | U::COPY_SRC)?;
            let uniform =
                ctx.buffer("part parameters", std::mem::size_of::<PartParams>() as u64, U::UNIFORM | U::COPY_DST)?;
            let params = part_params(&plan, weights.is_some(), &kernels.tuning);
            ctx.queue.write_buffer(&uniform, 0, bytemuck::bytes_of(&params));
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
        ctx.queue.write_buffer(&cent, 0, bytes_of(&exp_words));
        let timestamps = ctx.timestamp_pair("lloyd")?.map(|(queries, resolve)| Timestamps { queries, resolve });
        ctx.check()?;
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

    #[allow(clippy::too_many_arguments)]
    fn part_group(
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
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("part"),
            layout: &k.part_layout,
            entries: &entries,
        })
    }

    fn shared_group(
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
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("shared"),
            layout: &k.shared_layout,
            entries: &entries,
        })
    }

    /// Grows `cent` (to hold `cent_words`) and `acc` (to hold `acc_words`) when a call needs more.
    fn ensure_shared(&mut self, cent_words: u64, acc_words: u64) -> Result<()> {
        use wgpu::BufferUsages as U;
        let limit = self.ctx.limits.max_storage_buffer_binding_size.min(self.ctx.limits.max_buffer_size);
        let mut changed = false;
        if cent_words * 4 > self.cent.size() {
            if cent_words * 4 > limit {
                return Err(Error::Gpu(format!("{} bytes of centroids exceed the binding limit", cent_words * 4)));
            }
            self.cent = self.ctx.buffer("centroids", (cent_words * 4).next_power_of_two(), U::STORAGE | U::COPY_DST)?;
            let mut exp_words: Vec<f32> = self.exps.iter().map(|&e| e as f32).collect();
            exp_words.resize(self.c_off as usize, 0.0);
            self.ctx.queue.write_buffer(&self.cent, 0, bytes_of(&exp_words));
            changed = true;
        }
        if acc_words * 4 > self.acc.size() {
            if acc_words * 4 > limit.min(STAGE_BYTES) {
                return Err(Error::Gpu(format!("{} bytes of cluster sums exceed the binding limit", acc_words * 4)));
            }
            self.acc = self.ctx.buffer(
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

    /// The Lloyd pipeline shape for `k` centroids and where things live in the shared buffers.
    fn layout(&self, k: usize) -> Result<(LloydShape, Layout)> {
        let (d, d4) = (self.d as u64, self.d4 as u32);
        let k64 = k as u64;
        let wsum_off = k64 * d * 2;
        let count_off = wsum_off + if self.weighted { 2 * k64 } else { 0 };
        let changed_off = count_off + k64;
        if changed_off + 1 >= u64::from(u32::MAX) / 4 {
            return Err(Error::Gpu(format!("k = {k} clusters of {d} features are too many for the GPU kernels")));
        }
        let shape = self.tuning.lloyd_shape(self.d as u32, k as u32, self.weighted, self.kernels.storage_bytes);
        let tile = shape.capacity.tile_k(d4);
        if tile == 0 {
            return Err(Error::Gpu(format!(
                "{d} features do not fit in the GPU's workgroup memory (at most {})",
                (shape.capacity.cent_vec4.max(2) - 1) * 4
            )));
        }
        let tile_k = tile.min(k as u32);
        let private = PrivateLayout::new(self.d as u32, k as u32, self.weighted);
        let cap = u64::from(shape.capacity.acc_words);
        Ok((
            shape,
            Layout {
                tile_k,
                n_tiles: (k as u32).div_ceil(tile_k),
                private_acc: private.stride <= cap,
                copies: if u64::from(shape.copies) * private.stride <= cap { shape.copies } else { 1 },
                private,
                wsum_off: wsum_off as u32,
                count_off: count_off as u32,
                changed_off: changed_off as u32,
            },
        ))
    }

    /// Writes `rows` centre rows (padded to `d4 · 4`) at the centroid offset, followed by their squared norms
    /// (summed sequentially in f32) when `norms` is set. Returns the number of words written.
    fn write_rows(&mut self, c: &[f32], rows: usize, norms: bool, acc_words: u64) -> Result<u32> {
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
        self.ctx.queue.write_buffer(&self.cent, u64::from(self.c_off) * 4, bytes_of(&buf));
        Ok((rows * stride) as u32)
    }

    fn base_step(&self) -> StepParams {
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
    fn run(
        &mut self,
        encode: impl FnOnce(&Self, &mut wgpu::CommandEncoder),
        regions: impl for<'s> FnOnce(&'s Self) -> Vec<Region<'s>>,
    ) -> Result<Vec<u32>> {
        let mut rb = std::mem::take(&mut self.readback);
        let r = rb.run(self.ctx, |enc| encode(self, enc), &regions(self));
        self.readback = rb;
        r
    }

    /// Encodes `pipeline` over every part (groups per part from `groups`), in one pass; with `timestamps`, the
    /// pass writes queries 0 (beginning) and 1 (end).
    fn encode(
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

    /// Runs the Lloyd kernel with `mode` for `k` centroids; for a step, returns the acc and inertia words; with
    /// `time_pass` (on a device with timestamps), also the pass's GPU time in milliseconds.
    fn run_lloyd(
        &mut self,
        centroids: &[f32],
        k: usize,
        mode: u32,
        time_pass: bool,
    ) -> Result<(Layout, Vec<u32>, Option<f64>)> {
        let (shape, lay) = self.layout(k)?;
        let pipeline = self.kernels.lloyd(self.ctx, &shape)?;
        let acc_words = u64::from(lay.changed_off) + 1;
        let rows_words = self.write_rows(centroids, k, true, acc_words)?;
        let sp = StepParams {
            k: k as u32,
            mode,
            norm_off: self.c_off + rows_words,
            tile_k: lay.tile_k,
            n_tiles: lay.n_tiles,
            private_acc: u32::from(lay.private_acc),
            copies: lay.copies,
            priv_stride: lay.private.stride as u32,
            priv_wsum: lay.private.wsum as u32,
            priv_count: lay.private.count as u32,
            wsum_off: lay.wsum_off,
            count_off: lay.count_off,
            changed_off: lay.changed_off,
            ..self.base_step()
        };
        self.ctx.queue.write_buffer(&self.step, 0, bytemuck::bytes_of(&sp));
        let is_step = mode & MODE_STEP != 0;
        let timed = time_pass && self.timestamps.is_some();
        let mut words = self.run(
            |s, enc| {
                if is_step {
                    enc.clear_buffer(&s.acc, 0, Some(acc_words * 4));
                }
                let ts = s.timestamps.as_ref().filter(|_| timed);
                s.encode(enc, &pipeline, |p| p.lloyd_groups, ts.map(|t| &t.queries));
                if let Some(t) = ts {
                    enc.resolve_query_set(&t.queries, 0..2, &t.resolve, 0);
                }
            },
            |s| {
                let mut r = Vec::new();
                if is_step {
                    r.push(Region { buffer: &s.acc, offset: 0, size: acc_words * 4 });
                    r.push(Region {
                        buffer: &s.partials,
                        offset: u64::from(s.scratch_off) * 4,
                        size: u64::from(s.total_lloyd) * 8,
                    });
                }
                if let Some(t) = s.timestamps.as_ref().filter(|_| timed) {
                    r.push(Region { buffer: &t.resolve, offset: 0, size: 16 });
                }
                r
            },
        )?;
        let mut pass_ms = None;
        if timed {
            let t = words.split_off(words.len() - 4);
            let begin = u64::from(t[0]) | u64::from(t[1]) << 32;
            let end = u64::from(t[2]) | u64::from(t[3]) << 32;
            pass_ms = self.ctx.timestamp_ms(begin, end);
        }
        Ok((lay, words, pass_ms))
    }

    /// Gives every part its assignment output buffer (label, distance per row), on first use.
    fn ensure_out(&mut self) -> Result<()> {
        for i in 0..self.parts.len() {
            if self.parts[i].out.is_none() {
                let rows = self.parts[i].plan.rows as u64;
                let buf = self.ctx.buffer(
                    "assignment",
                    rows * 8,
                    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                )?;
                let p = &self.parts[i];
                let bind = Self::part_group(
                    self.ctx,
                    self.kernels,
                    &p._x,
                    p.w.as_ref().unwrap_or(&self.dummy_ro),
                    &p.labels,
                    &p.closest,
                    &buf,
                    &p.uniform,
                );
                let p = &mut self.parts[i];
                p.bind = bind;
                p.out = Some(buf);
            }
        }
        Ok(())
    }

    /// Runs the assignment pass alone (nearest centre and exact distance per row, written on the device, nothing
    /// read back) and returns its GPU time in milliseconds, where the device has timestamps: against a step's time
    /// ([`GpuBackend::last_step_gpu_ms`]) it shows what the label bookkeeping and the sums cost.
    pub fn time_assign_pass(&mut self, centroids: &[f32], k: usize) -> Result<Option<f64>> {
        assert_eq!(centroids.len(), k * self.d, "centroids must be k x d");
        if self.parts.is_empty() || k == 0 || self.timestamps.is_none() {
            return Ok(None);
        }
        self.ensure_out()?;
        Ok(self.run_lloyd(centroids, k, MODE_ASSIGN, true)?.2)
    }

    /// What building this backend cost (the exponents pass and the upload).
    pub fn setup(&self) -> Setup {
        self.setup
    }

    /// Overrides the Lloyd kernel's launch shape for this backend (on top of the context's [`Tuning`];
    /// `Launch::default()` restores it), without uploading the data again: `custseg bench`'s sweep of shapes uses
    /// it. Labels, distances, sums and counts do not depend on the shape; the inertia's float grouping does (equal
    /// up to rounding). New workgroup ranges are written to the parts' constants; a larger number of workgroups
    /// grows the inertia partials.
    pub fn set_launch(&mut self, launch: Launch) -> Result<()> {
        let base = self.kernels.tuning;
        let t = Tuning {
            points_per_thread: launch.points_per_thread.or(base.points_per_thread),
            lloyd_workgroup_size: launch.workgroup_size.or(base.lloyd_workgroup_size),
            lloyd_groups_per_part: launch.groups_per_part.unwrap_or(base.lloyd_groups_per_part),
            sum_copies: launch.sum_copies.or(base.sum_copies),
            ..base
        }
        .checked(&self.ctx.limits)?;
        if self.parts.is_empty() {
            self.tuning = t;
            return Ok(());
        }
        let plans = plan_parts(self.n, self.d, self.ctx.max_binding, &t)?;
        debug_assert!(plans
            .iter()
            .zip(&self.parts)
            .all(|(a, b)| (a.first_row, a.rows) == (b.plan.first_row, b.plan.rows)));
        let total_lloyd: u32 = plans.iter().map(|p| p.lloyd_groups).sum();
        let words = partial_words(self.ctx, self.n, total_lloyd, self.total_pp)?;
        if words * 4 > self.partials.size() {
            use wgpu::BufferUsages as U;
            self.partials = self.ctx.buffer("partial sums", 4 * words, U::STORAGE | U::COPY_SRC)?;
            self.shared = Self::shared_group(self.ctx, self.kernels, &self.step, &self.cent, &self.acc, &self.partials);
        }
        for (part, plan) in self.parts.iter_mut().zip(plans) {
            part.plan = plan;
            let params = part_params(&plan, self.weighted, &t);
            self.ctx.queue.write_buffer(&part.uniform, 0, bytemuck::bytes_of(&params));
        }
        self.total_lloyd = total_lloyd;
        self.tuning = t;
        self.ctx.check()
    }

    /// The launch shape a Lloyd step with `k` centroids takes now.
    pub fn launch_info(&self, k: usize) -> Result<LaunchInfo> {
        let (shape, lay) = self.layout(k)?;
        Ok(LaunchInfo {
            points_per_thread: shape.p,
            rows_cached: shape.cached,
            workgroup_size: shape.wg,
            workgroups: self.total_lloyd,
            rows_per_workgroup: self.parts.iter().map(|p| p.plan.lloyd_rows).max().unwrap_or(0),
            parts: self.parts.len(),
            tile_k: lay.tile_k,
            tiles: lay.n_tiles,
            private_sums: lay.private_acc,
            sum_copies: if lay.private_acc { lay.copies } else { 0 },
            workgroup_bytes: shape.capacity.cent_vec4 * 16 + shape.capacity.acc_words * 4,
        })
    }

    /// GPU time of the last [`Backend::lloyd_step`]'s Lloyd pass (every part's dispatch), in milliseconds, from
    /// a timestamp pair around the pass; `None` where the device has no `TIMESTAMP_QUERY` or before any step.
    /// It excludes the centroid upload, the clearing of the sums and the read-back.
    pub fn last_step_gpu_ms(&self) -> Option<f64> {
        self.last_step_ms
    }

    /// Runs `pp_update` (reset or commit) with centre `c` and reads every block's Σ w·closest.
    fn pp_update(&mut self, c: &[f32], commit: bool) -> Result<()> {
        assert_eq!(c.len(), self.d, "a centre has d values");
        if self.parts.is_empty() {
            return Ok(());
        }
        self.write_rows(c, 1, false, 0)?;
        let sp = StepParams { k: 1, m: 1, mode: if commit { PP_COMMIT } else { 0 }, ..self.base_step() };
        self.ctx.queue.write_buffer(&self.step, 0, bytemuck::bytes_of(&sp));
        let words = self.run(
            |s, enc| s.encode(enc, &s.kernels.pp_update, |p| p.pp_groups, None),
            |s| vec![Region { buffer: &s.partials, offset: 0, size: u64::from(s.total_pp) * 8 }],
        )?;
        self.pp_blocks = (0..self.total_pp as usize).map(|b| pair(&words, b)).collect();
        Ok(())
    }

    /// Rows of global block `b`: (part index, first row in the part, rows).
    fn block(&self, b: usize) -> (usize, usize, usize) {
        let rows_per = self.tuning.pp_block_rows as usize;
        let pi = self.parts.partition_point(|p| (p.plan.pp_base as usize) <= b) - 1;
        let p = &self.parts[pi].plan;
        let first = (b - p.pp_base as usize) * rows_per;
        (pi, first, rows_per.min(p.rows - first))
    }

    /// Reads the closest distances and weights of the given blocks: per block, Σ-ready `(w, closest)` pairs.
    fn read_blocks(&mut self, blocks: &[usize]) -> Result<Vec<Vec<(f64, f64)>>> {
        let mut out = Vec::with_capacity(blocks.len());
        let rows_per = self.tuning.pp_block_rows as u64;
        let per_read = (STAGE_BYTES / (rows_per * 8)).max(1) as usize;
        for chunk in blocks.chunks(per_read) {
            let spans: Vec<(usize, usize, usize)> = chunk.iter().map(|&b| self.block(b)).collect();
            let mut regions = Vec::new();
            for &(pi, first, rows) in &spans {
                let p = &self.parts[pi];
                regions.push(Region { buffer: &p.closest, offset: first as u64 * 4, size: rows as u64 * 4 });
                if let Some(w) = &p.w {
                    regions.push(Region { buffer: w, offset: first as u64 * 4, size: rows as u64 * 4 });
                }
            }
            let mut rb = std::mem::take(&mut self.readback);
            let words = rb.run(self.ctx, |_| {}, &regions);
            self.readback = rb;
            let words = words?;
            let mut at = 0;
            for &(_, _, rows) in &spans {
                let c = &words[at..at + rows];
                at += rows;
                let w = if self.weighted {
                    at += rows;
                    Some(&words[at - rows..at])
                } else {
                    None
                };
                out.push(
                    (0..rows)
                        .map(|r| (w.map_or(1.0, |w| f64::from(f32::from_bits(w[r]))), f64::from(f32::from_bits(c[r]))))
                        .collect(),
                );
            }
        }
        Ok(out)
    }
}

/// Words of the partial-sums buffer: the k-means++ block sums, then the larger of the Lloyd workgroups' inertia
/// pairs and the potentials' (hi, lo) per candidate per block; an error past one binding.
fn partial_words(ctx: &GpuContext, n: usize, total_lloyd: u32, total_pp: u32) -> Result<u64> {
    let words = 2 * u64::from(total_pp) + 2 * u64::from(total_lloyd).max(MAXC as u64 * u64::from(total_pp));
    let limit = ctx.limits.max_storage_buffer_binding_size.min(ctx.limits.max_buffer_size);
    if words * 4 > limit {
        return Err(Error::Gpu(format!("{n} rows need {} bytes of partial sums, over the binding limit", words * 4)));
    }
    Ok(words)
}

/// The constants of one part (`Part` in the shaders).
fn part_params(plan: &PartPlan, weighted: bool, t: &Tuning) -> PartParams {
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
        let d = self.d;
        assert_eq!(centroids.len(), k * d, "centroids must be k x d");
        self.last_step_ms = None;
        if self.parts.is_empty() || k == 0 {
            return Ok(StepStats::zeros(k, d));
        }
        let mode = MODE_STEP | if self.reset { MODE_RESET } else { 0 };
        let timed = self.timestamps.is_some();
        let (lay, words, pass_ms) = self.run_lloyd(centroids, k, mode, timed)?;
        self.last_step_ms = pass_ms;
        self.reset = false;
        let (count_off, wsum_off) = (lay.count_off as usize, lay.wsum_off as usize);
        let counts: Vec<u64> = words[count_off..count_off + k].iter().map(|&c| u64::from(c)).collect();
        let mut sums = vec![0f64; k * d];
        for j in 0..k {
            for f in 0..d {
                let p = 2 * (j * d + f);
                sums[j * d + f] = fixed::decode_sum(words[p], words[p + 1], counts[j], self.exps[f]);
            }
        }
        let weights = if self.weighted {
            (0..k)
                .map(|j| fixed::decode_unsigned(words[wsum_off + 2 * j], words[wsum_off + 2 * j + 1], self.exp_w))
                .collect()
        } else {
            counts.iter().map(|&c| c as f64).collect()
        };
        let inertia_words = &words[lay.changed_off as usize + 1..];
        let inertia = (0..self.total_lloyd as usize).map(|g| pair(inertia_words, g)).sum();
        Ok(StepStats { sums, weights, counts, inertia, n_changed: u64::from(words[lay.changed_off as usize]) })
    }

    fn assign(&mut self, centroids: &[f32], k: usize) -> Result<Assignment> {
        assert_eq!(centroids.len(), k * self.d, "centroids must be k x d");
        let mut out = Assignment { labels: vec![0; self.n], dist2: vec![0.0; self.n] };
        if self.parts.is_empty() || k == 0 {
            return Ok(out);
        }
        self.ensure_out()?;
        self.run_lloyd(centroids, k, MODE_ASSIGN, false)?;
        let rows_per_read = (STAGE_BYTES / 8) as usize;
        for pi in 0..self.parts.len() {
            let plan = self.parts[pi].plan;
            let mut r0 = 0;
            while r0 < plan.rows {
                let rows = rows_per_read.min(plan.rows - r0);
                let words = self.run(
                    |_, _| {},
                    |s| {
                        vec![Region {
                            buffer: s.parts[pi].out.as_ref().expect("created above"),
                            offset: r0 as u64 * 8,
                            size: rows as u64 * 8,
                        }]
                    },
                )?;
                let g = plan.first_row + r0;
                for (r, lw) in words.chunks_exact(2).enumerate() {
                    out.labels[g + r] = lw[0];
                    out.dist2[g + r] = f32::from_bits(lw[1]);
                }
                r0 += rows;
            }
        }
        Ok(out)
    }

    fn pp_reset(&mut self, first: &[f32]) -> Result<f64> {
        self.pp_update(first, false)?;
        Ok(self.pp_blocks.iter().sum())
    }

    fn pp_potentials(&mut self, candidates: &[f32], m: usize) -> Result<Vec<f64>> {
        let d = self.d;
        assert_eq!(candidates.len(), m * d, "candidates must be m x d");
        let mut out = vec![0f64; m];
        if self.parts.is_empty() {
            return Ok(out);
        }
        for (batch, chunk) in candidates.chunks(MAXC * d.max(1)).enumerate() {
            let mc = chunk.len() / d.max(1);
            self.write_rows(chunk, mc, false, 0)?;
            let sp = StepParams { k: mc as u32, m: mc as u32, ..self.base_step() };
            self.ctx.queue.write_buffer(&self.step, 0, bytemuck::bytes_of(&sp));
            let words = self.run(
                |s, enc| s.encode(enc, &s.kernels.pp_potentials, |p| p.pp_groups, None),
                |s| {
                    vec![Region {
                        buffer: &s.partials,
                        offset: u64::from(s.scratch_off) * 4,
                        size: u64::from(s.total_pp) * MAXC as u64 * 8,
                    }]
                },
            )?;
            for j in 0..mc {
                out[batch * MAXC + j] = (0..self.total_pp as usize).map(|b| pair(&words, b * MAXC + j)).sum();
            }
        }
        Ok(out)
    }

    fn pp_commit(&mut self, chosen: &[f32]) -> Result<()> {
        self.pp_update(chosen, true)
    }

    fn pp_sample(&mut self, targets: &[f64]) -> Result<Vec<usize>> {
        let n = self.n;
        let mut order: Vec<usize> = (0..targets.len()).collect();
        order.sort_by(|&a, &b| targets[a].total_cmp(&targets[b]));
        let mut out = vec![n.saturating_sub(1); targets.len()];
        if targets.is_empty() || self.pp_blocks.is_empty() {
            return Ok(out);
        }
        let blocks = self.pp_blocks.clone();
        let nb = blocks.len();
        // A block is skipped on the GPU's sum only when the next target is clearly past it; blocks near a
        // target are scanned row by row in f64, exactly as the CPU does.
        let skip = |acc: f64, s: f64, t: f64| (acc + s) * (1.0 + 1e-9) + f64::MIN_POSITIVE < t;
        // Predict the blocks to scan and read them in one go.
        let mut want = Vec::new();
        {
            let (mut acc, mut t) = (0f64, 0usize);
            for (b, &s) in blocks.iter().enumerate() {
                while t < order.len() && !skip(acc, s, targets[order[t]]) {
                    if want.last() != Some(&b) {
                        want.push(b);
                    }
                    t += 1;
                }
                acc += s;
            }
        }
        let mut cache: std::collections::HashMap<usize, Vec<(f64, f64)>> =
            want.iter().copied().zip(self.read_blocks(&want)?).collect();
        let (mut acc, mut t) = (0f64, 0usize);
        for (b, &s) in blocks.iter().enumerate() {
            if t == order.len() {
                break;
            }
            if b + 1 < nb && skip(acc, s, targets[order[t]]) {
                acc += s;
                continue;
            }
            let rows = match cache.remove(&b) {
                Some(rows) => rows,
                None => self.read_blocks(&[b])?.pop().expect("one block"),
            };
            let (pi, first, _) = self.block(b);
            let base = self.parts[pi].plan.first_row + first;
            for (r, &(w, c)) in rows.iter().enumerate() {
                acc += w * c;
                while t < order.len() && acc >= targets[order[t]] {
                    out[order[t]] = base + r;
                    t += 1;
                }
                if t == order.len() {
                    break;
                }
            }
        }
        Ok(out)
    }
}
