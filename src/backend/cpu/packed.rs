//! Which nearest-centroid kernel this CPU runs ([`Kernel`], chosen at run time from the CPU's features), and the
//! centroids laid out for it ([`Packed`]): a row-major copy, their squared norms, and for the AVX2 kernel the
//! transposed panels of `−2c`.

/// Centroids per panel of the AVX2 kernel (one `ymm` register of `f32`), and the lane count of the portable loops.
pub(crate) const LANES: usize = 8;

/// Which nearest-centroid kernel a [`super::CpuBackend`] runs.
///
/// Both rank centroids by the same score `‖c‖² − 2x·c` and break exact ties towards the lowest index; they round
/// differently, so on two CPUs a label may differ where two centroids are within `f32` rounding of each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Register-blocked AVX2 + FMA kernel over transposed centroid panels (x86-64 with AVX2 and FMA only).
    Avx2,
    /// Tiled SGEMM (`matrixmultiply`) plus an 8-lane arg-min: any CPU.
    Sgemm,
}

impl Kernel {
    /// The fastest kernel this CPU can run (checked at run time; the result is cached by `std`).
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return Kernel::Avx2;
        }
        Kernel::Sgemm
    }

    /// Whether this CPU can run the kernel.
    pub fn available(self) -> bool {
        match self {
            Kernel::Sgemm => true,
            Kernel::Avx2 => Kernel::detect() == Kernel::Avx2,
        }
    }
}

/// Centroids prepared for the kernels: a row-major copy, their squared norms, and the transposed panels.
#[derive(Debug, Clone)]
pub(crate) struct Packed {
    pub(crate) k: usize,
    pub(crate) d: usize,
    pub(crate) kernel: Kernel,
    /// Row-major `k × d` copy.
    pub(crate) c: Vec<f32>,
    /// `k` squared norms.
    pub(crate) norms: Vec<f32>,
    /// `ceil(k / 8)` panels of `d × 8`: `panels[(g·d + f)·8 + l] = −2·c[(8g + l)·d + f]`, zero past `k`.
    pub(crate) panels: Vec<f32>,
    /// `ceil(k / 8) · 8` norms, +∞ past `k`.
    pub(crate) panel_norms: Vec<f32>,
}

impl Default for Packed {
    fn default() -> Self {
        Packed::with_kernel(Kernel::detect())
    }
}

impl Packed {
    /// Empty centroids for a given kernel (tests force one; `default` detects the CPU's best). Panics if this CPU
    /// cannot run it: every `unsafe` AVX2 call relies on a `Packed` (or a kernel taken from one) that says `Avx2`
    /// only where the CPU has AVX2 and FMA.
    pub(crate) fn with_kernel(kernel: Kernel) -> Self {
        assert!(kernel.available(), "kernel {kernel:?} is not available on this CPU");
        Packed { k: 0, d: 0, kernel, c: Vec::new(), norms: Vec::new(), panels: Vec::new(), panel_norms: Vec::new() }
    }

    /// Lays out the `k × d` centroids `c` (row-major) for this kernel.
    pub(crate) fn set(&mut self, c: &[f32], k: usize, d: usize) {
        self.k = k;
        self.d = d;
        self.c.clear();
        self.c.extend_from_slice(&c[..k * d]);
        self.norms.clear();
        self.norms.extend((0..k).map(|j| c[j * d..(j + 1) * d].iter().map(|v| v * v).sum::<f32>()));
        if self.kernel == Kernel::Avx2 {
            let groups = k.div_ceil(LANES);
            self.panels.clear();
            self.panels.resize(groups * d * LANES, 0.0);
            // The panels hold −2·c (exact in binary floating point), so a score is one chain of FMAs from ‖c‖².
            for j in 0..k {
                let (g, l) = (j / LANES, j % LANES);
                for f in 0..d {
                    self.panels[(g * d + f) * LANES + l] = -2.0 * c[j * d + f];
                }
            }
            self.panel_norms.clear();
            self.panel_norms.extend_from_slice(&self.norms);
            self.panel_norms.resize(groups * LANES, f32::INFINITY);
        }
    }

    /// The number of 8-centroid panels.
    pub(crate) fn groups(&self) -> usize {
        self.k.div_ceil(LANES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_x86_64_machine_runs_the_avx2_kernel() {
        // The AVX2 kernel is what CI and the developer machines are measured with; make its absence visible.
        if cfg!(target_arch = "x86_64") && std::arch::is_x86_feature_detected!("avx2") {
            assert_eq!(Kernel::detect(), Kernel::Avx2);
            assert_eq!(Packed::default().kernel, Kernel::Avx2);
        }
    }
}
