//! k-means++ on [`GpuBackend`] over the GPU-resident `closest` array (`kmeanspp.wgsl`): resetting or committing
//! it against one centre with every block's Σ w·closest read back, the candidates' potentials, and the sampling of
//! rows by target, which scans only the blocks near a target row by row in f64, as the CPU does.

use super::backend::{pair, GpuBackend};
use super::transfer::{Region, STAGE_BYTES};
use super::uniforms::{StepParams, MAXC, PP_COMMIT};
use crate::error::Result;

impl GpuBackend<'_> {
    /// Runs `pp_update` (reset or commit) with centre `c` and reads every block's Σ w·closest.
    pub(crate) fn pp_update(&mut self, c: &[f32], commit: bool) -> Result<()> {
        assert_eq!(c.len(), self.d, "a centre has d values");
        if self.parts.is_empty() {
            return Ok(());
        }
        self.write_rows(c, 1, false, 0)?;
        let sp = StepParams { k: 1, m: 1, mode: if commit { PP_COMMIT } else { 0 }, ..self.base_step() };
        self.ctx.rt.queue.write_buffer(&self.step, 0, bytemuck::bytes_of(&sp));
        let words = self.run(
            |s, enc| s.encode(enc, &s.kernels.pp_update, |p| p.pp_groups, None),
            |s| vec![Region { buffer: &s.partials, offset: 0, size: u64::from(s.total_pp) * 8 }],
        )?;
        self.pp_blocks = (0..self.total_pp as usize).map(|b| pair(&words, b)).collect();
        Ok(())
    }

    /// The potentials of `m` candidates ([`crate::kmeans::Backend::pp_potentials`]), `MAXC` per dispatch.
    pub(crate) fn potentials(&mut self, candidates: &[f32], m: usize) -> Result<Vec<f64>> {
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
            self.ctx.rt.queue.write_buffer(&self.step, 0, bytemuck::bytes_of(&sp));
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

    /// The row each target of the running Σ w·closest falls in ([`crate::kmeans::Backend::pp_sample`]).
    pub(crate) fn sample(&mut self, targets: &[f64]) -> Result<Vec<usize>> {
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
            let words = rb.run(&self.ctx.rt, |_| {}, &regions);
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
