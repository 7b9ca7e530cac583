//! The WGSL kernels as pipelines: the two bind-group layouts every kernel shares (group 0 per part of the data,
//! group 1 shared by the parts), the k-means++ pipelines, and the Lloyd pipelines, one per launch shape, built on
//! first use and cached.

use std::collections::HashMap;
use std::sync::Mutex;

use super::launch::{LloydShape, Tuning};
use super::runtime::Runtime;
use super::shaders::Shader;
use crate::error::{Error, Result};

/// The compiled pipelines and their shared layouts. Lloyd pipelines are built on first use, one per
/// [`LloydShape`], and kept.
pub(crate) struct Kernels {
    pub(crate) part_layout: wgpu::BindGroupLayout,
    pub(crate) shared_layout: wgpu::BindGroupLayout,
    layout: wgpu::PipelineLayout,
    lloyd_module: wgpu::ShaderModule,
    lloyd: Mutex<HashMap<LloydShape, wgpu::ComputePipeline>>,
    pub(crate) pp_update: wgpu::ComputePipeline,
    pub(crate) pp_potentials: wgpu::ComputePipeline,
    /// Bytes of workgroup memory a workgroup may use.
    pub(crate) storage_bytes: u32,
    pub(crate) tuning: Tuning,
}

pub(crate) fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
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

pub(crate) fn uniform(binding: u32) -> wgpu::BindGroupLayoutEntry {
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

pub(crate) fn compute_pipeline(
    dev: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    m: &wgpu::ShaderModule,
    entry: &str,
    constants: &[(&str, f64)],
) -> wgpu::ComputePipeline {
    dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: Some(layout),
        module: m,
        entry_point: Some(entry),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants,
            // Every kernel initialises the workgroup memory it reads.
            zero_initialize_workgroup_memory: false,
        },
        cache: None,
    })
}

impl Kernels {
    /// Builds the layouts, the shader modules and the k-means++ pipelines for the launch shape `tuning`.
    pub(crate) fn new(rt: &Runtime, tuning: Tuning) -> Result<Kernels> {
        let dev = &rt.device;
        let wg = tuning.workgroup_size;
        if rt.limits.max_storage_buffers_per_shader_stage < 8 {
            return Err(Error::gpu(format!(
                "the adapter allows {} storage buffers per shader stage; the kernels need 8",
                rt.limits.max_storage_buffers_per_shader_stage
            )));
        }
        rt.scoped("building the GPU kernels", || {
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
                entries: &[uniform(0), storage(1, true), storage(2, false), storage(3, false)],
            });
            let layout = dev.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("custseg kernels"),
                bind_group_layouts: &[Some(&part_layout), Some(&shared_layout)],
                immediate_size: 0,
            });
            let module = |s: Shader| {
                dev.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(s.file()),
                    source: wgpu::ShaderSource::Wgsl(s.source()),
                })
            };
            let lloyd_module = module(Shader::Lloyd);
            let pp_mod = module(Shader::KMeansPP);
            let pp_consts = [("WG", f64::from(wg))];
            Kernels {
                pp_update: compute_pipeline(dev, &layout, &pp_mod, "pp_update", &pp_consts),
                pp_potentials: compute_pipeline(dev, &layout, &pp_mod, "pp_potentials", &pp_consts),
                lloyd_module,
                lloyd: Mutex::new(HashMap::new()),
                layout,
                part_layout,
                shared_layout,
                storage_bytes: rt.limits.max_compute_workgroup_storage_size,
                tuning,
            }
        })
    }

    /// How many Lloyd pipelines have been built.
    pub(crate) fn lloyd_built(&self) -> usize {
        self.lloyd.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The Lloyd pipeline of `shape`, built on first use.
    pub(crate) fn lloyd(&self, rt: &Runtime, shape: &LloydShape) -> Result<wgpu::ComputePipeline> {
        let mut cache = self.lloyd.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cache.get(shape) {
            return Ok(p.clone());
        }
        let consts = [
            ("WG", f64::from(shape.wg)),
            ("CENT_VEC4", f64::from(shape.capacity.cent_vec4)),
            ("ACC_CAP", f64::from(shape.capacity.acc_words)),
            ("P", f64::from(shape.p)),
            ("CACHED", f64::from(u8::from(shape.cached))),
            ("D", f64::from(shape.d)),
        ];
        let built = rt.scoped(&format!("building the Lloyd kernel for {shape:?}"), || {
            compute_pipeline(&rt.device, &self.layout, &self.lloyd_module, "lloyd", &consts)
        })?;
        cache.insert(*shape, built.clone());
        Ok(built)
    }
}
