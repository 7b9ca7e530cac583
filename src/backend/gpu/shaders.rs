//! The WGSL sources of the kernels in `shaders/` (compiled in with `include_str!`), each K-means kernel assembled
//! with the prelude it shares with the other (the uniform blocks, the workgroup size, the dispatch grid and the
//! reduction tree). The backend builds its shader modules from [`Shader::source`], and `tests/shaders.rs` validates
//! exactly those sources with naga.

use std::borrow::Cow;

/// What the K-means kernels share (`shaders/prelude.wgsl`: the uniform blocks `Part` and `Step`, `WG`, the
/// dispatch grid and the reduction tree into `partials`), prepended to the kernels that read them.
pub const PRELUDE: &str = include_str!("../../../shaders/prelude.wgsl");
const LLOYD: &str = include_str!("../../../shaders/lloyd.wgsl");
const KMEANSPP: &str = include_str!("../../../shaders/kmeanspp.wgsl");
const PEAK: &str = include_str!("../../../shaders/peak.wgsl");
const SILHOUETTE: &str = include_str!("../../../shaders/silhouette.wgsl");

/// One kernel file of `shaders/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shader {
    /// `lloyd.wgsl`: the fused Lloyd step and the assignment.
    Lloyd,
    /// `kmeanspp.wgsl`: the k-means++ distance updates and potentials.
    KMeansPP,
    /// `peak.wgsl`: the read and FMA probes of `custseg bench`.
    Peak,
    /// `silhouette.wgsl`: each sample row's per-cluster sums of distances, for the silhouette.
    Silhouette,
}

impl Shader {
    /// Every kernel, in file-name order.
    pub const ALL: [Shader; 4] = [Shader::KMeansPP, Shader::Lloyd, Shader::Peak, Shader::Silhouette];

    /// The kernel's file name in `shaders/`.
    pub fn file(self) -> &'static str {
        match self {
            Shader::Lloyd => "lloyd.wgsl",
            Shader::KMeansPP => "kmeanspp.wgsl",
            Shader::Peak => "peak.wgsl",
            Shader::Silhouette => "silhouette.wgsl",
        }
    }

    /// The kernel's own text, as in its file (without the prelude).
    pub(crate) fn kernel(self) -> &'static str {
        match self {
            Shader::Lloyd => LLOYD,
            Shader::KMeansPP => KMEANSPP,
            Shader::Peak => PEAK,
            Shader::Silhouette => SILHOUETTE,
        }
    }

    /// Whether the kernel is assembled with the prelude (the peak probes and the silhouette have their own
    /// uniform blocks).
    pub(crate) fn uses_prelude(self) -> bool {
        !matches!(self, Shader::Peak | Shader::Silhouette)
    }

    /// The source wgpu compiles: the prelude where the kernel reads it, then the kernel.
    pub fn source(self) -> Cow<'static, str> {
        if self.uses_prelude() {
            Cow::Owned(format!("{PRELUDE}\n{}", self.kernel()))
        } else {
            Cow::Borrowed(self.kernel())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prelude_comes_first_and_the_kernel_whole_after_it() {
        for s in Shader::ALL {
            let src = s.source();
            assert!(src.ends_with(s.kernel()), "{}", s.file());
            assert_eq!(src.starts_with(PRELUDE), s.uses_prelude(), "{}", s.file());
        }
        // The uniform blocks are declared once: in the prelude, not again in a kernel.
        for s in Shader::ALL {
            assert!(!s.kernel().contains("struct Part {") && !s.kernel().contains("struct Step {"), "{}", s.file());
        }
        assert!(PRELUDE.contains("struct Part {") && PRELUDE.contains("struct Step {"));
    }
}
