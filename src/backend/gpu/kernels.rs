//! The WGSL kernels as pipelines: the shader sources (`include_str!` from `shaders/`), the two bind-group
//! layouts every kernel shares, the uniform blocks they read, the launch shape ([`Tuning`]), and how a number of
//! workgroups becomes a dispatch (2-D past `max_compute_workgroups_per_dimension`).

use bytemuck::{Pod, Zeroable};

use super::context::GpuContext;
use crate::error::{Error, Result};

pub const LLOYD_WGSL: &str = include_str!("../../../shaders/lloyd.wgsl");
pub const KMEANSPP_WGSL: &str = include_str!("../../../shaders/kmeanspp.wgsl");

/// `Step::mode` bits (the same constants are in the shaders).
pub const MODE_STEP: u32 = 1;
pub const MODE_RESET: u32 = 2;
pub const MODE_ASSIGN: u32 = 4;
pub const PP_COMMIT: u32 = 8;
/// Candidates per `pp_potentials` dispatch (`MAXC` in kmeanspp.wgsl).
pub const MAXC: usize = 16;

/// Per-part constants (`Part` in the shaders): written once when the backend is built.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct PartParams {
    pub rows: u32,
    pub weighted: u32,
    pub lloyd_groups: u32,
    pub lloyd_rows: u32,
    pub lloyd_base: u32,
    pub pp_groups: u32,
    pub pp_rows: u32,
    pub pp_base: u32,
}

/// Per-call parameters (`Step` in the shaders). Offsets are in 4-byte words.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct StepParams {
    pub k: u32,
    pub d: u32,
    /// vec4 per centroid row: `ceil(d / 4)`.
    pub d4: u32,
    pub mode: u32,
    pub c_off: u32,
    pub norm_off: u32,
    pub tile_k: u32,
    pub n_tiles: u32,
    pub private_acc: u32,
    pub acc_words: u32,
    pub wsum_off: u32,
    pub count_off: u32,
    pub changed_off: u32,
    pub exp_w: i32,
    pub m: u32,
    pub scratch_off: u32,
}

/// The launch shape. Defaults come from the device limits; tests may shrink them to exercise edge paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Threads per workgroup (a power of two, at most 256).
    pub workgroup_size: u32,
    /// Target number of workgroups of the Lloyd kernel per part; each takes a contiguous range of rows, a multiple
    /// of `workgroup_size`, so that its private sums are flushed once.
    pub lloyd_groups_per_part: u32,
    /// Rows per k-means++ block (one workgroup each): the unit of the potentials and of `pp_sample`'s read-back.
    pub pp_block_rows: u32,
    /// Workgroups per dispatch dimension; more become a 2-D dispatch.
    pub max_groups_per_dim: u32,
}

impl Tuning {
    pub fn for_limits(l: &wgpu::Limits) -> Tuning {
        let cap = 256
            .min(l.max_compute_invocations_per_workgroup)
            .min(l.max_compute_workgroup_size_x)
            .max(1);
        Tuning {
            workgroup_size: 1 << (31 - cap.leading_zeros()),
            lloyd_groups_per_part: 1024,
            pp_block_rows: 8192,
            max_groups_per_dim: l.max_compute_workgroups_per_dimension.max(1),
        }
    }

    pub fn checked(self, l: &wgpu::Limits) -> Result<Tuning> {
        let wg = self.workgroup_size;
        if !wg.is_power_of_two()
            || wg > l.max_compute_invocations_per_workgroup
            || wg > l.max_compute_workgroup_size_x
        {
            return Err(Error::Gpu(format!(
                "workgroup size {wg} is not a power of two within the device limits"
            )));
        }
        if self.lloyd_groups_per_part == 0 || self.pp_block_rows == 0 {
            return Err(Error::Gpu(
                "lloyd_groups_per_part and pp_block_rows must be at least 1".into(),
            ));
        }
        if self.max_groups_per_dim == 0
            || self.max_groups_per_dim > l.max_compute_workgroups_per_dimension
        {
            return Err(Error::Gpu(format!(
                "max_groups_per_dim {} is outside 1..={}",
                self.max_groups_per_dim, l.max_compute_workgroups_per_dimension
            )));
        }
        Ok(self)
    }
}

/// The dispatch for `groups` workgroups with at most `max` per dimension: `(x, y)` with `x · y ≥ groups`; the
/// shaders compute the linear id `wid.x + wid.y · x` and skip ids `≥ groups`.
pub fn dispatch_dims(groups: u32, max: u32) -> (u32, u32) {
    if groups <= max {
        (groups, 1)
    } else {
        (max, groups.div_ceil(max))
    }
}

/// Workgroup-memory capacities of the Lloyd kernel, from the device's `max_compute_workgroup_storage_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// vec4 slots for a centroid tile (rows of `d4` vec4, then the norms).
    pub cent_vec4: u32,
    /// u32 words of the privatised accumulator.
    pub acc_words: u32,
}

impl Capacity {
    pub fn new(storage_bytes: u32, wg: u32) -> Capacity {
        // The reduction scratch (a vec2 per thread) and the changed counter come first.
        let avail = storage_bytes.saturating_sub(8 * wg + 16);
        let cent_vec4 = (avail / 2 / 16).max(1);
        let acc_words = ((avail - (cent_vec4 * 16).min(avail)) / 4).max(1);
        Capacity {
            cent_vec4,
            acc_words,
        }
    }

    /// Centroids per tile for rows of `d4` vec4: the most `t` with `t·d4 + ceil(t/4) ≤ cent_vec4`.
    pub fn tile_k(&self, d4: u32) -> u32 {
        let c = u64::from(self.cent_vec4);
        let d4 = u64::from(d4);
        let mut t = (4 * c) / (4 * d4 + 1);
        while t > 0 && t * d4 + t.div_ceil(4) > c {
            t -= 1;
        }
        t as u32
    }
}

/// The compiled pipelines and their shared layouts.
pub struct Kernels {
    pub part_layout: wgpu::BindGroupLayout,
    pub shared_layout: wgpu::BindGroupLayout,
    pub lloyd: wgpu::ComputePipeline,
    pub pp_update: wgpu::ComputePipeline,
    pub pp_potentials: wgpu::ComputePipeline,
    pub capacity: Capacity,
    pub tuning: Tuning,
}

fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl Kernels {
    pub fn new(ctx: &GpuContext) -> Result<Kernels> {
        let dev = &ctx.device;
        let tuning = ctx.tuning;
        let wg = tuning.workgroup_size;
        let capacity = Capacity::new(ctx.limits.max_compute_workgroup_storage_size, wg);
        if ctx.limits.max_storage_buffers_per_shader_stage < 8 {
            return Err(Error::Gpu(format!(
                "the adapter allows {} storage buffers per shader stage; the kernels need 8",
                ctx.limits.max_storage_buffers_per_shader_stage
            )));
        }
        ctx.scoped("building the GPU kernels", || {
            // Group 0, one bind group per part of the data: x, w, labels, closest, out (label, dist2), Part.
            let part_layout = dev.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("custseg part"),
                entries: &[
                    storage(0, true),
                    storage(1, true),
                    storage(2, false),
                    storage(3, false),
                    storage(4, false),
                    uniform(5),
                ],
            });
            // Group 1, shared: Step, cent, acc, partials.
            let shared_layout = dev.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("custseg shared"),
                entries: &[
                    uniform(0),
                    storage(1, true),
                    storage(2, false),
                    storage(3, false),
                ],
            });
            let layout = dev.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("custseg kernels"),
                bind_group_layouts: &[Some(&part_layout), Some(&shared_layout)],
                immediate_size: 0,
            });
            let module = |label: &str, src: &'static str| {
                dev.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(label),
                    source: wgpu::ShaderSource::Wgsl(src.into()),
                })
            };
            let lloyd_mod = module("lloyd.wgsl", LLOYD_WGSL);
            let pp_mod = module("kmeanspp.wgsl", KMEANSPP_WGSL);
            let pipeline = |m: &wgpu::ShaderModule, entry: &str, constants: &[(&str, f64)]| {
                dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: Some(&layout),
                    module: m,
                    entry_point: Some(entry),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants,
                        // Every kernel initialises the workgroup memory it reads.
                        zero_initialize_workgroup_memory: false,
                    },
                    cache: None,
                })
            };
            let lloyd_consts = [
                ("WG", f64::from(wg)),
                ("CENT_VEC4", f64::from(capacity.cent_vec4)),
                ("ACC_CAP", f64::from(capacity.acc_words)),
            ];
            let pp_consts = [("WG", f64::from(wg))];
            Kernels {
                lloyd: pipeline(&lloyd_mod, "lloyd", &lloyd_consts),
                pp_update: pipeline(&pp_mod, "pp_update", &pp_consts),
                pp_potentials: pipeline(&pp_mod, "pp_potentials", &pp_consts),
                part_layout,
                shared_layout,
                capacity,
                tuning,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_goes_2d_past_the_limit_and_covers_every_group() {
        assert_eq!(dispatch_dims(0, 65535), (0, 1));
        assert_eq!(dispatch_dims(65535, 65535), (65535, 1));
        assert_eq!(dispatch_dims(65536, 65535), (65535, 2));
        for g in 1..200u32 {
            for max in 1..20u32 {
                let (x, y) = dispatch_dims(g, max);
                assert!(
                    x <= max && y <= max.max(g) && x * y >= g && x * (y - 1) < g,
                    "g {g} max {max}: {x} x {y}"
                );
            }
        }
    }

    #[test]
    fn uniform_blocks_have_the_shader_sizes() {
        assert_eq!(std::mem::size_of::<PartParams>(), 32);
        assert_eq!(std::mem::size_of::<StepParams>(), 64);
    }

    #[test]
    fn capacity_fits_the_workgroup_storage_limit() {
        for (limit, wg) in [(16384u32, 256u32), (32768, 256), (49152, 256), (16384, 64)] {
            let c = Capacity::new(limit, wg);
            assert!(
                c.cent_vec4 * 16 + c.acc_words * 4 + 8 * wg + 16 <= limit,
                "{c:?}"
            );
        }
    }

    #[test]
    fn a_tile_holds_whole_rows_and_their_norms() {
        let c = Capacity {
            cent_vec4: 100,
            acc_words: 1,
        };
        for d4 in 1..120u32 {
            let t = c.tile_k(d4);
            assert!(t * d4 + t.div_ceil(4) <= 100, "d4 {d4}: {t}");
            let t1 = t + 1;
            assert!(
                t1 * d4 + t1.div_ceil(4) > 100,
                "d4 {d4}: {t} is not the most"
            );
        }
        assert_eq!(c.tile_k(100), 0);
    }

    #[test]
    fn shader_constants_match_the_host() {
        assert!(LLOYD_WGSL.contains("const MODE_STEP: u32 = 1u;"));
        assert!(LLOYD_WGSL.contains("const MODE_RESET: u32 = 2u;"));
        assert!(LLOYD_WGSL.contains("const MODE_ASSIGN: u32 = 4u;"));
        assert!(KMEANSPP_WGSL.contains("const PP_COMMIT: u32 = 8u;"));
        assert!(KMEANSPP_WGSL.contains(&format!("const MAXC: u32 = {MAXC}u;")));
        assert!(LLOYD_WGSL.contains(&format!(
            "const BIAS: i32 = 0x{:08x};",
            super::super::fixed::BIAS
        )));
    }
}
