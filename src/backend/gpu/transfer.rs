//! Moving bytes between the host and the device: the upload through a reused ring of two MAP_WRITE staging
//! buffers, and the read-back of small results through a reused MAP_READ buffer.

use std::sync::Mutex;

use super::runtime::Runtime;
use crate::error::{Error, Result};

/// Largest staging chunk for uploads and read-backs.
pub(crate) const STAGE_BYTES: u64 = 64 << 20;

/// Staging buffers in the upload ring.
const RING: usize = 2;

/// Bytes of one host copy task when filling a staging buffer.
const PIECE: usize = 1 << 20;

/// The ring of MAP_WRITE staging buffers for uploads (two, so the host fills one while the GPU copies out of the
/// other), created by the first upload and kept for the next one.
pub(crate) struct StagingRing {
    buffers: Mutex<Vec<wgpu::Buffer>>,
    /// Bytes per upload chunk (`STAGE_BYTES` unless a test makes it small to drive many chunks through the ring).
    chunk: u64,
}

impl StagingRing {
    pub(crate) fn new() -> StagingRing {
        StagingRing { buffers: Mutex::new(Vec::new()), chunk: STAGE_BYTES }
    }

    /// Sets the chunk size (at most `STAGE_BYTES`) and frees the buffers, so the next upload makes them anew.
    pub(crate) fn set_chunk(&mut self, bytes: u64) {
        self.chunk = bytes.min(STAGE_BYTES);
        self.buffers.get_mut().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Frees the buffers; the next upload makes them again.
    pub(crate) fn release(&self) {
        self.buffers.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Bytes the buffers hold.
    pub(crate) fn bytes(&self) -> u64 {
        self.buffers.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|b| b.size()).sum()
    }

    /// Copies `data` into `dst` at `offset` through the ring, in chunks of at most `STAGE_BYTES` (the ring's
    /// `chunk`). Chunk `c` goes through buffer `c % 2`: while the GPU copies chunk `c` out of one buffer, the host
    /// fills the other with chunk `c + 1` (rayon threads, in 1 MiB pieces), so the host copy and the bus transfer
    /// overlap; mapping a buffer waits only for the copy that last used it.
    pub(crate) fn upload(&self, rt: &Runtime, dst: &wgpu::Buffer, offset: u64, data: &[u8]) -> Result<()> {
        use rayon::prelude::*;
        if data.is_empty() {
            return Ok(());
        }
        debug_assert_eq!(data.len() % 4, 0);
        let mut ring = self.buffers.lock().unwrap_or_else(|p| p.into_inner());
        let want = (data.len() as u64).min(self.chunk);
        if ring.len() < RING || ring[0].size() < want {
            ring.clear();
            for _ in 0..RING {
                let usage = wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC;
                ring.push(rt.buffer("upload staging", want, usage)?);
            }
        }
        let chunk = ring[0].size() as usize;
        let mut last_use: [Option<wgpu::SubmissionIndex>; RING] = Default::default();
        let mut newest = None;
        for (c, bytes) in data.chunks(chunk).enumerate() {
            let (staging, len) = (&ring[c % RING], bytes.len() as u64);
            rt.map_after(staging, len, wgpu::MapMode::Write, last_use[c % RING].take())?;
            {
                // One view per disjoint 1 MiB piece, filled in parallel.
                let mut views = Vec::with_capacity(bytes.len().div_ceil(PIECE));
                for (p, piece) in bytes.chunks(PIECE).enumerate() {
                    let at = (p * PIECE) as u64;
                    let view = staging
                        .slice(at..at + piece.len() as u64)
                        .get_mapped_range_mut()
                        .map_err(|e| Error::gpu(format!("cannot write the upload staging buffer: {e}")))?;
                    views.push((view, piece));
                }
                views.par_iter_mut().for_each(|(v, piece)| v.copy_from_slice(piece));
            }
            staging.unmap();
            let mut enc = rt.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("upload") });
            enc.copy_buffer_to_buffer(staging, 0, dst, offset + (c * chunk) as u64, len);
            let idx = rt.submit(enc.finish());
            last_use[c % RING] = Some(idx.clone());
            newest = Some(idx);
        }
        rt.wait(newest.expect("at least one chunk"))
    }
}

/// A region to read back: `size` bytes of `buffer` from `offset` (both multiples of 4).
pub(crate) struct Region<'b> {
    pub(crate) buffer: &'b wgpu::Buffer,
    pub(crate) offset: u64,
    pub(crate) size: u64,
}

/// A MAP_READ buffer kept between calls and grown when a read needs more.
#[derive(Default)]
pub(crate) struct Readback {
    buf: Option<wgpu::Buffer>,
}

impl Readback {
    /// Encodes `encode` (the kernels), then copies every region into the read-back buffer, submits, waits, and
    /// returns the regions' words concatenated in order. The regions must total at most `STAGE_BYTES`.
    pub(crate) fn run(
        &mut self,
        rt: &Runtime,
        encode: impl FnOnce(&mut wgpu::CommandEncoder),
        regions: &[Region<'_>],
    ) -> Result<Vec<u32>> {
        let total: u64 = regions.iter().map(|r| r.size).sum();
        debug_assert!(total <= STAGE_BYTES);
        if self.buf.as_ref().is_none_or(|b| b.size() < total) {
            self.buf = None;
            let size = total.next_power_of_two().max(4096);
            self.buf =
                Some(rt.buffer("read-back", size, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST)?);
        }
        let buf = self.buf.as_ref().expect("just created");
        let mut enc = rt.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("custseg") });
        encode(&mut enc);
        let mut at = 0;
        for r in regions {
            if r.size > 0 {
                enc.copy_buffer_to_buffer(r.buffer, r.offset, buf, at, r.size);
            }
            at += r.size;
        }
        rt.submit_wait(enc.finish())?;
        if total == 0 {
            return Ok(Vec::new());
        }
        rt.map(buf, total, wgpu::MapMode::Read)?;
        let words = {
            let view = buf
                .slice(0..total)
                .get_mapped_range()
                .map_err(|e| Error::gpu(format!("cannot read the read-back buffer: {e}")))?;
            bytemuck::cast_slice::<u8, u32>(&view).to_vec()
        };
        buf.unmap();
        Ok(words)
    }
}
