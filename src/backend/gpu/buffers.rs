//! GPU memory for one dataset: how the rows are cut into parts that each fit one storage binding, the upload
//! through a reused ring of two MAP_WRITE staging buffers, and the read-back through a reused MAP_READ buffer.

use super::context::GpuContext;
use super::kernels::{Tuning, MAXC};
use crate::error::{Error, Result};

/// Largest staging chunk for uploads and read-backs.
pub const STAGE_BYTES: u64 = 64 << 20;

/// One part of the data: a whole number of rows, with the workgroups that cover it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    pub first_row: usize,
    pub rows: usize,
    /// Lloyd workgroups over this part and the rows each covers (a multiple of `Tuning::lloyd_rows_unit`).
    pub lloyd_groups: u32,
    pub lloyd_rows: u32,
    /// Index of this part's first Lloyd workgroup among all parts' (its inertia partial's slot).
    pub lloyd_base: u32,
    /// k-means++ blocks of `Tuning::pp_block_rows` rows in this part, and the index of its first block.
    pub pp_groups: u32,
    pub pp_base: u32,
}

/// Bytes a row needs in the largest per-row buffer: X (4·d) or the assignment output (label + distance, 8).
pub fn row_bytes(d: usize) -> u64 {
    (4 * d as u64).max(8)
}

/// Cuts `n` rows of `d` features into parts whose every per-row buffer fits in `max_binding` bytes.
pub fn plan_parts(n: usize, d: usize, max_binding: u64, t: &Tuning) -> Result<Vec<PartPlan>> {
    let per_part = (max_binding / row_bytes(d)) as usize;
    if per_part == 0 {
        return Err(Error::Gpu(format!(
            "one row of {d} features ({} bytes) does not fit in a storage binding of {max_binding} bytes",
            row_bytes(d)
        )));
    }
    // A Lloyd workgroup's rows are whole rounds of the largest Lloyd workgroup at its points per thread.
    let unit = t.lloyd_rows_unit(d as u32) as usize;
    let mut parts = Vec::with_capacity(n.div_ceil(per_part));
    let (mut first_row, mut lloyd_base, mut pp_base) = (0usize, 0u64, 0u64);
    while first_row < n {
        let rows = per_part.min(n - first_row);
        let lloyd_rows = rows.div_ceil(t.lloyd_groups_per_part as usize).div_ceil(unit) * unit;
        let lloyd_groups = rows.div_ceil(lloyd_rows);
        let pp_groups = rows.div_ceil(t.pp_block_rows as usize);
        parts.push(PartPlan {
            first_row,
            rows,
            lloyd_groups: lloyd_groups as u32,
            lloyd_rows: lloyd_rows as u32,
            lloyd_base: lloyd_base as u32,
            pp_groups: pp_groups as u32,
            pp_base: pp_base as u32,
        });
        lloyd_base += lloyd_groups as u64;
        pp_base += pp_groups as u64;
        first_row += rows;
    }
    // Partial slots are indexed with u32 words in the shaders.
    if lloyd_base * 2 + pp_base * 2 * (MAXC as u64 + 1) >= u64::from(u32::MAX) {
        return Err(Error::Gpu(format!("{n} rows need more workgroups than the kernels can index")));
    }
    Ok(parts)
}

/// Staging buffers in the upload ring.
const RING: usize = 2;

/// Bytes of one host copy task when filling a staging buffer.
const PIECE: usize = 1 << 20;

/// Copies `data` into `dst` at `offset` through the context's ring of MAP_WRITE staging buffers (created once,
/// reused), in chunks of at most `STAGE_BYTES` (the context's `upload_chunk`). Chunk `c` goes through buffer `c % 2`: while the GPU copies chunk
/// `c` out of one buffer, the host fills the other with chunk `c + 1` (rayon threads, in 1 MiB pieces), so the
/// host copy and the bus transfer overlap; mapping a buffer waits only for the copy that last used it.
pub fn upload(ctx: &GpuContext, dst: &wgpu::Buffer, offset: u64, data: &[u8]) -> Result<()> {
    use rayon::prelude::*;
    if data.is_empty() {
        return Ok(());
    }
    debug_assert_eq!(data.len() % 4, 0);
    let mut ring = ctx.upload_staging.lock().unwrap_or_else(|p| p.into_inner());
    let want = (data.len() as u64).min(ctx.upload_chunk);
    if ring.len() < RING || ring[0].size() < want {
        ring.clear();
        for _ in 0..RING {
            let usage = wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC;
            ring.push(ctx.buffer("upload staging", want, usage)?);
        }
    }
    let chunk = ring[0].size() as usize;
    let mut last_use: [Option<wgpu::SubmissionIndex>; RING] = Default::default();
    let mut newest = None;
    for (c, bytes) in data.chunks(chunk).enumerate() {
        let (staging, len) = (&ring[c % RING], bytes.len() as u64);
        ctx.map_after(staging, len, wgpu::MapMode::Write, last_use[c % RING].take())?;
        {
            // One view per disjoint 1 MiB piece, filled in parallel.
            let mut views = Vec::with_capacity(bytes.len().div_ceil(PIECE));
            for (p, piece) in bytes.chunks(PIECE).enumerate() {
                let at = (p * PIECE) as u64;
                let view = staging
                    .slice(at..at + piece.len() as u64)
                    .get_mapped_range_mut()
                    .map_err(|e| Error::Gpu(format!("cannot write the upload staging buffer: {e}")))?;
                views.push((view, piece));
            }
            views.par_iter_mut().for_each(|(v, piece)| v.copy_from_slice(piece));
        }
        staging.unmap();
        let mut enc = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("upload") });
        enc.copy_buffer_to_buffer(staging, 0, dst, offset + (c * chunk) as u64, len);
        let idx = ctx.submit(enc.finish());
        last_use[c % RING] = Some(idx.clone());
        newest = Some(idx);
    }
    ctx.wait(newest.expect("at least one chunk"))
}

/// A region to read back: `size` bytes of `buffer` from `offset` (both multiples of 4).
pub struct Region<'b> {
    pub buffer: &'b wgpu::Buffer,
    pub offset: u64,
    pub size: u64,
}

/// A MAP_READ buffer kept between calls and grown when a read needs more.
#[derive(Default)]
pub struct Readback {
    buf: Option<wgpu::Buffer>,
}

impl Readback {
    /// Encodes `encode` (the kernels), then copies every region into the read-back buffer, submits, waits, and
    /// returns the regions' words concatenated in order. The regions must total at most `STAGE_BYTES`.
    pub fn run(
        &mut self,
        ctx: &GpuContext,
        encode: impl FnOnce(&mut wgpu::CommandEncoder),
        regions: &[Region<'_>],
    ) -> Result<Vec<u32>> {
        let total: u64 = regions.iter().map(|r| r.size).sum();
        debug_assert!(total <= STAGE_BYTES);
        if self.buf.as_ref().is_none_or(|b| b.size() < total) {
            self.buf = None;
            let size = total.next_power_of_two().max(4096);
            self.buf =
                Some(ctx.buffer("read-back", size, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST)?);
        }
        let buf = self.buf.as_ref().expect("just created");
        let mut enc = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("custseg") });
        encode(&mut enc);
        let mut at = 0;
        for r in regions {
            if r.size > 0 {
                enc.copy_buffer_to_buffer(r.buffer, r.offset, buf, at, r.size);
            }
            at += r.size;
        }
        ctx.submit_wait(enc.finish())?;
        if total == 0 {
            return Ok(Vec::new());
        }
        ctx.map(buf, total, wgpu::MapMode::Read)?;
        let words = {
            let view = buf
                .slice(0..total)
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("cannot read the read-back buffer: {e}")))?;
            bytemuck::cast_slice::<u8, u32>(&view).to_vec()
        };
        buf.unmap();
        Ok(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuning() -> Tuning {
        Tuning {
            workgroup_size: 256,
            lloyd_workgroup_size: None,
            points_per_thread: None,
            sum_copies: None,
            subgroup_size: 32,
            register_floats: 64,
            lloyd_groups_per_part: 1024,
            pp_block_rows: 8192,
            max_groups_per_dim: 65535,
        }
    }

    #[test]
    fn parts_hold_whole_rows_that_fit_and_cover_everything_once() {
        for (n, d, max) in [(1usize, 1usize, 4096u64), (4099, 3, 4096), (1000, 33, 1 << 27), (100, 1, 16), (50, 16, 64)]
        {
            let parts = plan_parts(n, d, max, &tuning()).unwrap();
            let mut next = 0;
            let (mut lb, mut pb) = (0, 0);
            for p in &parts {
                assert_eq!(p.first_row, next);
                assert!(p.rows > 0 && p.rows as u64 * row_bytes(d) <= max, "{p:?}");
                assert!(p.lloyd_groups as usize * p.lloyd_rows as usize >= p.rows);
                assert!((p.lloyd_groups as usize - 1) * (p.lloyd_rows as usize) < p.rows);
                assert_eq!(p.lloyd_rows % (256 * tuning().points_per_thread(d as u32)), 0);
                assert_eq!(p.pp_groups as usize, p.rows.div_ceil(8192));
                assert_eq!((p.lloyd_base, p.pp_base), (lb, pb));
                lb += p.lloyd_groups;
                pb += p.pp_groups;
                next += p.rows;
            }
            assert_eq!(next, n);
        }
    }

    #[test]
    fn fifty_million_rows_of_16_split_on_a_2_gib_binding() {
        let parts = plan_parts(50_000_000, 16, 2_147_483_644, &tuning()).unwrap();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.lloyd_groups <= 1024));
    }

    #[test]
    fn a_row_wider_than_a_binding_is_an_error() {
        let e = plan_parts(10, 100, 256, &tuning()).unwrap_err().to_string();
        assert!(e.contains("does not fit"), "{e}");
    }
}
