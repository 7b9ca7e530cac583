//! The Lloyd pass of [`GpuBackend`]: the pipeline shape and buffer layout of a call with `k` centroids, one run of
//! `lloyd.wgsl` over every part (a step, or the assignment), the decoding of a step's exact fixed-point sums, the
//! assignment's read-back, and the per-backend launch overrides `custseg bench` sweeps.

use super::backend::{pair, GpuBackend};
use super::fixed;
use super::launch::{Launch, LaunchInfo, LloydShape, PrivateLayout, Tuning};
use super::parts::plan_parts;
use super::transfer::{Region, STAGE_BYTES};
use super::uniforms::{StepParams, MODE_ASSIGN, MODE_RESET, MODE_STEP};
use super::upload::{part_params, partial_words};
use crate::error::{Error, Result};
use crate::kmeans::{Assignment, StepStats};

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

impl GpuBackend<'_> {
    /// One Lloyd step ([`crate::kmeans::Backend::lloyd_step`]): nearest centres, label changes, and the
    /// per-cluster sums, weight sums, counts and inertia, decoded from the fixed-point words.
    pub(crate) fn step(&mut self, centroids: &[f32], k: usize) -> Result<StepStats> {
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

    /// The final assignment ([`crate::kmeans::Backend::assign`]): every row's label and squared distance, read back
    /// in chunks of at most `STAGE_BYTES`.
    pub(crate) fn assignment(&mut self, centroids: &[f32], k: usize) -> Result<Assignment> {
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

    /// The Lloyd pipeline shape for `k` centroids and where things live in the shared buffers.
    fn layout(&self, k: usize) -> Result<(LloydShape, Layout)> {
        let (d, d4) = (self.d as u64, self.d4 as u32);
        let k64 = k as u64;
        let wsum_off = k64 * d * 2;
        let count_off = wsum_off + if self.weighted { 2 * k64 } else { 0 };
        let changed_off = count_off + k64;
        if changed_off + 1 >= u64::from(u32::MAX) / 4 {
            return Err(Error::gpu(format!("k = {k} clusters of {d} features are too many for the GPU kernels")));
        }
        let shape = self.tuning.lloyd_shape(self.d as u32, k as u32, self.weighted, self.kernels.storage_bytes);
        let tile = shape.capacity.tile_k(d4);
        if tile == 0 {
            return Err(Error::gpu(format!(
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
        let pipeline = self.kernels.lloyd(&self.ctx.rt, &shape)?;
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
        self.ctx.rt.queue.write_buffer(&self.step, 0, bytemuck::bytes_of(&sp));
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
            pass_ms = self.ctx.rt.timestamp_ms(begin, end);
        }
        Ok((lay, words, pass_ms))
    }

    /// Gives every part its assignment output buffer (label, distance per row), on first use.
    fn ensure_out(&mut self) -> Result<()> {
        for i in 0..self.parts.len() {
            if self.parts[i].out.is_none() {
                let rows = self.parts[i].plan.rows as u64;
                let buf = self.ctx.rt.buffer(
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
        .checked(&self.ctx.rt.limits)?;
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
            self.partials = self.ctx.rt.buffer("partial sums", 4 * words, U::STORAGE | U::COPY_SRC)?;
            self.shared = Self::shared_group(self.ctx, self.kernels, &self.step, &self.cent, &self.acc, &self.partials);
        }
        for (part, plan) in self.parts.iter_mut().zip(plans) {
            part.plan = plan;
            let params = part_params(&plan, self.weighted, &t);
            self.ctx.rt.queue.write_buffer(&part.uniform, 0, bytemuck::bytes_of(&params));
        }
        self.total_lloyd = total_lloyd;
        self.tuning = t;
        self.ctx.rt.check()
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
}
