//! The silhouette's distance sums on the GPU (`shaders/silhouette.wgsl`): for s sample rows ordered by cluster,
//! each row's sum of Euclidean distances to the rows of each cluster (`s × m`), from which `evaluate` computes
//! a(i), b(i) and the mean in `f64` exactly as on the CPU.
//!
//! One thread per row i, 64 per workgroup, a 2-D grid past the device's workgroups per dimension; rows j come
//! through workgroup memory in tiles. Each f32 distance is scaled by 2^e and added as a 64-bit integer, e chosen so
//! that no sum can pass 2^62: the sums carry no rounding beyond the distances' own (relative error at most
//! ((d + 3) / 2 + 3) · 2^-24 each) plus half a unit 2^-e per distance. The bounds are in `docs/GPU.md`.

use super::context::GpuContext;
use super::kernels::{compute_pipeline, storage, uniform};
use super::launch::dispatch_dims;
use super::shaders::Shader;
use crate::error::{Error, Result};
use bytemuck::{Pod, Zeroable};

/// Threads (rows i) per workgroup.
const WG: u32 = 64;
/// The largest tile of rows j, in vec4 of workgroup memory (16 KiB).
const MAX_TILE_VEC4: u32 = 1024;
/// The largest sum, 2^62: a quarter of the u64 range, so rounding each term up by half a unit cannot overflow.
const SUM_LIMIT: f64 = 4_611_686_018_427_387_904.0;

/// `Sil` in silhouette.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Pod, Zeroable)]
pub struct SilParams {
    pub s: u32,
    pub m: u32,
    pub row0: u32,
    pub rows: u32,
    pub groups_x: u32,
    pub tj: u32,
    pub scale: f32,
    pub pad: u32,
}

/// The power of two e such that `s` distances of at most `diameter` each, times 2^e, stay below 2^62; 0 when
/// every distance is 0. Clamped to ±100 so that 2^e is a normal f32.
pub(crate) fn scale_exponent(s: usize, diameter: f64) -> i32 {
    if diameter.is_nan() || diameter <= 0.0 {
        return 0;
    }
    // The f32 distance may exceed the f64 diameter by its rounding: leave a margin of 1e-4.
    let e = (SUM_LIMIT / (s as f64 * diameter * (1.0 + 1e-4))).log2().floor();
    e.clamp(-100.0, 100.0) as i32
}

/// The length of the diagonal of the rows' bounding box: no distance between two of them is longer.
fn diameter(rows: &[f32], d: usize) -> f64 {
    let mut lo = vec![f64::INFINITY; d];
    let mut hi = vec![f64::NEG_INFINITY; d];
    for r in rows.chunks_exact(d) {
        for (f, &v) in r.iter().enumerate() {
            lo[f] = lo[f].min(f64::from(v));
            hi[f] = hi[f].max(f64::from(v));
        }
    }
    lo.iter().zip(&hi).map(|(a, b)| (b - a) * (b - a)).sum::<f64>().sqrt()
}

/// The vec4 of workgroup memory for the tile of rows j: a power of two within the device's workgroup storage,
/// at most [`MAX_TILE_VEC4`].
fn tile_vec4(storage_bytes: u32) -> u32 {
    let fit = (storage_bytes / 16).clamp(1, MAX_TILE_VEC4);
    1 << fit.ilog2()
}

/// Each sample row's per-cluster sum of distances to the other sample rows, `s × m` row-major. `rows` is `s × d`
/// (row-major) ordered by cluster, cluster c being rows `starts[c]..starts[c + 1]`, `starts[m] = s`.
pub fn silhouette_sums(ctx: &GpuContext, rows: &[f32], d: usize, starts: &[usize]) -> Result<Vec<f64>> {
    let m = starts.len().checked_sub(1).filter(|&m| m >= 1).expect("at least one cluster");
    let s = starts[m];
    assert!(d >= 1 && rows.len() == s * d && starts[0] == 0, "s × d rows, runs from 0 to s");
    let rt = &ctx.rt;
    let d4 = d.div_ceil(4);
    let tv = tile_vec4(rt.limits.max_compute_workgroup_storage_size);
    let x_bytes = (s * d4 * 16) as u64;
    if d4 > tv as usize {
        return Err(Error::gpu(format!(
            "the silhouette on the GPU takes at most {} features (a row must fit in {} bytes of workgroup memory); \
             these rows have {d}: use --device cpu",
            4 * tv,
            16 * tv
        )));
    }
    if x_bytes > ctx.max_binding_bytes() || s > u32::MAX as usize / 2 {
        return Err(Error::gpu(format!(
            "the silhouette's sample of {s} rows × {d} features takes {x_bytes} bytes on the GPU, more than one \
             storage binding holds ({} bytes): lower --sample to {} or use --device cpu",
            ctx.max_binding_bytes(),
            ctx.max_binding_bytes() / (d4 as u64 * 16)
        )));
    }
    // Rows per dispatch: their (hi, lo) pairs must fit in one binding, their workgroups in a 2-D grid.
    let max_dim = u64::from(rt.limits.max_compute_workgroups_per_dimension.max(1));
    let chunk =
        (ctx.max_binding_bytes() / (8 * m as u64)).min(max_dim * max_dim * u64::from(WG)).min(s as u64) as usize;
    if chunk == 0 {
        return Err(Error::gpu(format!(
            "the silhouette's sums for {m} clusters do not fit in one GPU storage binding: use --device cpu"
        )));
    }
    let e = scale_exponent(s, diameter(rows, d));
    let mut padded = vec![0f32; s * d4 * 4];
    for (dst, src) in padded.chunks_exact_mut(d4 * 4).zip(rows.chunks_exact(d)) {
        dst[..d].copy_from_slice(src);
    }
    let starts32: Vec<u32> = starts.iter().map(|&v| v as u32).collect();

    use wgpu::BufferUsages as U;
    let x = rt.buffer("silhouette rows", x_bytes, U::STORAGE | U::COPY_DST)?;
    rt.queue.write_buffer(&x, 0, bytemuck::cast_slice(&padded));
    drop(padded);
    let runs = rt.buffer("silhouette runs", 4 * starts32.len() as u64, U::STORAGE | U::COPY_DST)?;
    rt.queue.write_buffer(&runs, 0, bytemuck::cast_slice(&starts32));
    let out_bytes = (chunk * m * 8) as u64;
    let out = rt.buffer("silhouette sums", out_bytes, U::STORAGE | U::COPY_SRC)?;
    let read = rt.buffer("silhouette sums (read)", out_bytes, U::MAP_READ | U::COPY_DST)?;
    let params =
        rt.buffer("silhouette parameters", std::mem::size_of::<SilParams>() as u64, U::UNIFORM | U::COPY_DST)?;

    let dev = &rt.device;
    let (layout, pipeline) = rt.scoped("building the silhouette kernel", || {
        let bgl = dev.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("silhouette"),
            entries: &[storage(0, true), storage(1, true), storage(2, false), uniform(3)],
        });
        let pl = dev.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("silhouette"),
            bind_group_layouts: &[Some(&bgl)],
            immediate_size: 0,
        });
        let module = dev.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(Shader::Silhouette.file()),
            source: wgpu::ShaderSource::Wgsl(Shader::Silhouette.source()),
        });
        let consts = [("WG", f64::from(WG)), ("D4", d4 as f64), ("TILE_VEC4", f64::from(tv))];
        (bgl, compute_pipeline(dev, &pl, &module, "silhouette_sums", &consts))
    })?;
    let bind = rt.scoped("binding the silhouette buffers", || {
        dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("silhouette"),
            layout: &layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: x.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: runs.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: out.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 3, resource: params.as_entire_binding() },
            ],
        })
    })?;

    let unit = 2f64.powi(-e);
    let mut sums = Vec::with_capacity(s * m);
    for row0 in (0..s).step_by(chunk) {
        let rows_here = chunk.min(s - row0);
        let groups = (rows_here as u32).div_ceil(WG);
        let (gx, gy) = dispatch_dims(groups, max_dim as u32);
        let p = SilParams {
            s: s as u32,
            m: m as u32,
            row0: row0 as u32,
            rows: rows_here as u32,
            groups_x: gx,
            tj: tv / d4 as u32,
            scale: 2f32.powi(e),
            pad: 0,
        };
        rt.queue.write_buffer(&params, 0, bytemuck::bytes_of(&p));
        let mut enc = dev.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("silhouette") });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("silhouette sums"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        let bytes = (rows_here * m * 8) as u64;
        enc.copy_buffer_to_buffer(&out, 0, &read, 0, bytes);
        rt.submit_wait(enc.finish())?;
        rt.map(&read, bytes, wgpu::MapMode::Read)?;
        {
            let view = read
                .slice(0..bytes)
                .get_mapped_range()
                .map_err(|e| Error::gpu(format!("reading the silhouette sums: {e}")))?;
            let words: &[u32] = bytemuck::cast_slice(&view);
            sums.extend(words.chunks_exact(2).map(|w| (((w[0] as u64) << 32) | w[1] as u64) as f64 * unit));
        }
        read.unmap();
    }
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_keeps_every_sum_below_two_to_the_62() {
        for &(s, diam) in &[(2usize, 1e-30), (50_000, 1.0), (50_000, 3.7e5), (7, 1e30), (1_000_000, 12.0)] {
            let e = scale_exponent(s, diam);
            let top = s as f64 * diam * (1.0 + 1e-4) * 2f64.powi(e);
            assert!(top <= SUM_LIMIT, "s={s} diam={diam}: {top}");
            // The largest such power of two, unless clamped.
            if e.abs() < 100 {
                assert!(top * 2.0 > SUM_LIMIT, "s={s} diam={diam}: e={e} is not the largest");
            }
        }
        assert_eq!(scale_exponent(10, 0.0), 0);
    }

    #[test]
    fn the_tile_is_a_power_of_two_within_workgroup_memory() {
        assert_eq!(tile_vec4(16_384), 1024);
        assert_eq!(tile_vec4(49_152), 1024);
        assert_eq!(tile_vec4(12_000), 512);
        assert_eq!(tile_vec4(8), 1);
    }

    #[test]
    fn the_diameter_is_the_bounding_box_diagonal() {
        let rows = [0.0f32, 0.0, 3.0, -1.0, 1.0, 3.0];
        assert!((diameter(&rows, 2) - (9.0f64 + 16.0).sqrt()).abs() < 1e-12);
    }
}
