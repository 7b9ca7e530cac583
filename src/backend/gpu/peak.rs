//! The GPU's own memory-read and FP32 FMA rates, measured through wgpu with `shaders/peak.wgsl`, so that
//! `custseg bench` can say how far a kernel is from what this adapter does through the same API (beside the vendor
//! figures of known GPUs, which give the hardware floor).

use super::context::GpuContext;
use super::kernels::{compute_pipeline, storage, uniform};
use super::runtime::Runtime;
use super::shaders::Shader;
use super::uniforms::ProbeParams;
use crate::error::{Error, Result};

/// Threads per workgroup of both probes.
const WG: u32 = 256;
/// FMAs per thread per iteration of `fma_rate` (8 vec4 chains).
const FMA_PER_ITER: f64 = 32.0;

/// The probes' sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeakSize {
    /// Bytes of the buffer `read_rate` streams through (a multiple of 16, within one binding).
    pub read_bytes: u64,
    /// Workgroups of `read_rate` (each thread then reads `read_bytes / 16 / (256 · groups)` vec4).
    pub read_groups: u32,
    /// Workgroups and iterations of `fma_rate`.
    pub fma_groups: u32,
    pub fma_iters: u32,
    /// Timed runs of each probe after one untimed run; the fastest is kept.
    pub repeats: usize,
}

impl PeakSize {
    /// For a real GPU: 1 GiB (or one binding, if less) read by 16,384 workgroups, and 8,192 workgroups of
    /// 1,024 iterations (137 GFLOP, a couple of milliseconds on an H100). For a CPU driver (lavapipe), which is
    /// only checked, never timed: 8 MiB and 16 workgroups of 64 iterations.
    pub fn for_context(ctx: &GpuContext) -> PeakSize {
        if ctx.is_hardware() {
            let read_bytes = (1u64 << 30).min(ctx.max_binding_bytes()) / 16 * 16;
            PeakSize { read_bytes, read_groups: 16_384, fma_groups: 8_192, fma_iters: 1_024, repeats: 5 }
        } else {
            PeakSize { read_bytes: 8 << 20, read_groups: 64, fma_groups: 16, fma_iters: 64, repeats: 2 }
        }
    }
}

/// What the probes measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MeasuredPeak {
    /// Streaming read rate, GB/s (10^9 bytes per second).
    pub gbs: f64,
    /// FP32 rate, GFLOP/s (an FMA counted as 2 FLOP).
    pub gflops: f64,
    pub read_bytes: u64,
    pub fma_flop: f64,
    /// How the probes were timed: "GPU timestamps" or "wall clock" (submit to finish).
    pub clock: String,
}

/// Runs both probes on `ctx` and returns the fastest run of each as a rate.
pub fn measure_peak(ctx: &GpuContext, size: PeakSize) -> Result<MeasuredPeak> {
    if size.read_bytes < 16 || !size.read_bytes.is_multiple_of(16) || size.read_bytes > ctx.max_binding_bytes() {
        return Err(Error::gpu(format!(
            "peak probe: {} bytes is not a multiple of 16 within one binding ({} bytes)",
            size.read_bytes,
            ctx.max_binding_bytes()
        )));
    }
    let rt = &ctx.rt;
    let max_groups = rt.limits.max_compute_workgroups_per_dimension;
    if [size.read_groups, size.fma_groups].iter().any(|&g| g == 0 || g > max_groups) {
        return Err(Error::gpu(format!("peak probe: workgroups must be within 1..={max_groups}")));
    }
    let dev = &rt.device;
    use wgpu::BufferUsages as U;
    let src = rt.buffer("peak probe source", size.read_bytes, U::STORAGE | U::COPY_DST)?;
    // Varied values, not the zeros a new buffer holds: hardware that compresses constant data would read zeros
    // faster than data.
    let pattern: Vec<f32> = (0..(4usize << 20)).map(|i| (i % 1021) as f32 * 0.25 - 100.0).collect();
    let pattern: &[u8] = bytemuck::cast_slice(&pattern);
    let mut at = 0u64;
    while at < size.read_bytes {
        let n = (size.read_bytes - at).min(pattern.len() as u64);
        rt.queue.write_buffer(&src, at, &pattern[..n as usize]);
        at += n;
    }
    let sink = rt.buffer("peak probe sink", 4096, U::STORAGE)?;
    let params =
        rt.buffer("peak probe parameters", std::mem::size_of::<ProbeParams>() as u64, U::UNIFORM | U::COPY_DST)?;
    let probe = ProbeParams { n_vec4: (size.read_bytes / 16) as u32, iters: size.fma_iters, never: -1.0e38, pad: 0 };
    rt.queue.write_buffer(&params, 0, bytemuck::bytes_of(&probe));
    let (layout, read, fma) = rt.scoped("building the peak probes", || {
        let bgl = dev.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("peak probe"),
            entries: &[storage(0, true), storage(1, false), uniform(2)],
        });
        let pl = dev.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("peak probe"),
            bind_group_layouts: &[Some(&bgl)],
            immediate_size: 0,
        });
        let module = dev.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(Shader::Peak.file()),
            source: wgpu::ShaderSource::Wgsl(Shader::Peak.source()),
        });
        let consts = [("WG", f64::from(WG))];
        let read = compute_pipeline(dev, &pl, &module, "read_rate", &consts);
        let fma = compute_pipeline(dev, &pl, &module, "fma_rate", &consts);
        (bgl, read, fma)
    })?;
    let bind = dev.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("peak probe"),
        layout: &layout,
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: src.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: sink.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 2, resource: params.as_entire_binding() },
        ],
    });
    let timer = Timer::new(rt)?;
    let read_s = timer.best(rt, &read, &bind, size.read_groups, size.repeats)?;
    let fma_s = timer.best(rt, &fma, &bind, size.fma_groups, size.repeats)?;
    let fma_flop = 2.0 * FMA_PER_ITER * f64::from(size.fma_iters) * f64::from(size.fma_groups) * f64::from(WG);
    Ok(MeasuredPeak {
        gbs: size.read_bytes as f64 / read_s / 1e9,
        gflops: fma_flop / fma_s / 1e9,
        read_bytes: size.read_bytes,
        fma_flop,
        clock: if timer.queries.is_some() { "GPU timestamps" } else { "wall clock" }.into(),
    })
}

/// Times one dispatch: with a timestamp pair around the pass where the device has them, else on the host from
/// submit to finish.
struct Timer {
    queries: Option<(wgpu::QuerySet, wgpu::Buffer, wgpu::Buffer)>,
}

impl Timer {
    fn new(rt: &Runtime) -> Result<Timer> {
        let Some((set, resolve)) = rt.timestamp_pair("peak probe")? else {
            return Ok(Timer { queries: None });
        };
        let usage = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST;
        let read = rt.buffer("peak probe timestamps (read)", 16, usage)?;
        Ok(Timer { queries: Some((set, resolve, read)) })
    }

    /// The fastest of `repeats` timed runs (after one untimed run), in seconds.
    fn best(
        &self,
        rt: &Runtime,
        pipeline: &wgpu::ComputePipeline,
        bind: &wgpu::BindGroup,
        groups: u32,
        repeats: usize,
    ) -> Result<f64> {
        let mut best = f64::INFINITY;
        for run in 0..=repeats.max(1) {
            let mut enc = rt.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("peak") });
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("peak probe"),
                    timestamp_writes: self.queries.as_ref().map(|(q, _, _)| wgpu::ComputePassTimestampWrites {
                        query_set: q,
                        beginning_of_pass_write_index: Some(0),
                        end_of_pass_write_index: Some(1),
                    }),
                });
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, bind, &[]);
                pass.dispatch_workgroups(groups, 1, 1);
            }
            if let Some((q, resolve, read)) = &self.queries {
                enc.resolve_query_set(q, 0..2, resolve, 0);
                enc.copy_buffer_to_buffer(resolve, 0, read, 0, 16);
            }
            let t0 = std::time::Instant::now();
            rt.submit_wait(enc.finish())?;
            let mut secs = t0.elapsed().as_secs_f64();
            if let Some((_, _, read)) = &self.queries {
                rt.map(read, 16, wgpu::MapMode::Read)?;
                let ms = {
                    let v = read.slice(0..16).get_mapped_range().map_err(|e| Error::gpu(format!("peak probe: {e}")))?;
                    let t: &[u64] = bytemuck::cast_slice(&v);
                    rt.timestamp_ms(t[0], t[1])
                };
                read.unmap();
                // A pair out of order (a counter reset), or equal, leaves the host's time.
                if let Some(ms) = ms.filter(|&ms| ms > 0.0) {
                    secs = ms * 1e-3;
                }
            }
            if run > 0 {
                best = best.min(secs);
            }
        }
        Ok(best)
    }
}
