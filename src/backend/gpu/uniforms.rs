//! The Rust mirrors of the WGSL uniform blocks (`#[repr(C)]`, written to uniform buffers with bytemuck): `Part` and
//! `Step` of `shaders/prelude.wgsl` and `Probe` of `shaders/peak.wgsl`, and the constants the host shares with
//! the kernels. `tests/shaders.rs` checks the mirrors' sizes and field offsets against the shaders' own structs.

use bytemuck::{Pod, Zeroable};

/// `Step::mode` bits (the same constants are in the shaders).
pub(crate) const MODE_STEP: u32 = 1;
pub(crate) const MODE_RESET: u32 = 2;
pub(crate) const MODE_ASSIGN: u32 = 4;
pub(crate) const PP_COMMIT: u32 = 8;
/// Candidates per `pp_potentials` dispatch (`MAXC` in kmeanspp.wgsl).
pub(crate) const MAXC: usize = 16;

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
    /// Words of one copy of the private sums (odd; see `launch::PrivateLayout`).
    pub priv_stride: u32,
    pub wsum_off: u32,
    pub count_off: u32,
    pub changed_off: u32,
    pub exp_w: i32,
    pub m: u32,
    pub scratch_off: u32,
    /// Copies of the private sums in workgroup memory (lane `l` adds into copy `l % copies`).
    pub copies: u32,
    /// Offsets, within a copy, of the private weight-sum pairs and counts.
    pub priv_wsum: u32,
    pub priv_count: u32,
    pub pad: u32,
}

/// The peak probes' parameters (`Probe` in peak.wgsl).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Pod, Zeroable)]
pub struct ProbeParams {
    /// vec4 in the source buffer.
    pub n_vec4: u32,
    /// Iterations of the FMA loop.
    pub iters: u32,
    /// A value no sum reaches (the write that keeps the work).
    pub never: f32,
    pub pad: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::gpu::fixed::BIAS;
    use crate::backend::gpu::shaders::Shader;

    #[test]
    fn shader_constants_match_the_host() {
        let (lloyd, pp) = (Shader::Lloyd.kernel(), Shader::KMeansPP.kernel());
        assert!(lloyd.contains("const MODE_STEP: u32 = 1u;"));
        assert!(lloyd.contains("const MODE_RESET: u32 = 2u;"));
        assert!(lloyd.contains("const MODE_ASSIGN: u32 = 4u;"));
        assert!(pp.contains("const PP_COMMIT: u32 = 8u;"));
        assert!(pp.contains(&format!("const MAXC: u32 = {MAXC}u;")));
        assert!(lloyd.contains(&format!("const BIAS: i32 = 0x{BIAS:08x};")));
    }
}
