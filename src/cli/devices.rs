//! `custseg devices`: the GPU adapters wgpu can see, with their type and limits.

use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  custseg devices
  custseg devices --json
  custseg segment --device gpu --adapter nvidia    (an adapter by a part of its name)")]
pub struct DevicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[cfg(feature = "gpu")]
pub fn run(a: DevicesArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let adapters = crate::backend::gpu::list_adapters();
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&adapters)?)?;
        return Ok(());
    }
    if adapters.is_empty() {
        writeln!(
            out,
            "no GPU adapters found (install mesa-vulkan-drivers for a CPU Vulkan driver); --device auto uses the CPU"
        )?;
        return Ok(());
    }
    for (i, ad) in adapters.iter().enumerate() {
        writeln!(
            out,
            "[{i}] {} ({:?}, {:?}{})",
            ad.name,
            ad.backend,
            ad.device_type,
            if ad.is_hardware { "" } else { ", software" }
        )?;
        writeln!(out, "    driver: {}", ad.driver)?;
        writeln!(
            out,
            "    max storage binding: {} bytes, max buffer: {} bytes",
            ad.max_storage_buffer_binding_size, ad.max_buffer_size
        )?;
        writeln!(
            out,
            "    workgroup storage: {} bytes, invocations/workgroup: {}, workgroups/dimension: {}",
            ad.max_compute_workgroup_storage_size,
            ad.max_compute_invocations_per_workgroup,
            ad.max_compute_workgroups_per_dimension
        )?;
    }
    Ok(())
}

#[cfg(not(feature = "gpu"))]
pub fn run(_: DevicesArgs) -> anyhow::Result<()> {
    println!("custseg was built without the gpu feature: no GPU adapters");
    Ok(())
}
