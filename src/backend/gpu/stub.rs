//! Stand-in for the GPU backend when custseg is built without the `gpu` feature: the same names, and opening a
//! GPU is an `Error::Gpu` of kind [`GpuErrorKind::NotBuilt`] rather than a missing symbol or a panic.

use crate::error::{Error, GpuError, GpuErrorKind, Result};
use crate::kmeans::{Assignment, Backend, StepStats};
use crate::matrix::Matrix;

const WITHOUT: &str = "no GPU backend: custseg was built without the gpu feature";

/// An adapter summary; none exist in this build.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub is_hardware: bool,
}

/// No adapters in a build without the gpu feature.
pub fn list_adapters() -> Vec<AdapterSummary> {
    Vec::new()
}

/// The GPU choice, accepted and ignored.
#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    pub adapter: Option<String>,
    pub require_hardware: bool,
    pub max_binding_bytes: Option<u64>,
}

/// Cannot be constructed in this build.
#[derive(Debug)]
pub struct GpuContext {
    never: std::convert::Infallible,
}

impl GpuContext {
    pub fn new(_: &GpuOptions) -> Result<GpuContext> {
        Err(Error::Gpu(GpuError::new(GpuErrorKind::NotBuilt, WITHOUT)))
    }
    pub fn name(&self) -> String {
        match self.never {}
    }
    pub fn is_hardware(&self) -> bool {
        match self.never {}
    }
    pub fn has_timestamps(&self) -> bool {
        match self.never {}
    }
    pub fn prepare(&self, _: usize, _: usize, _: bool) -> Result<()> {
        match self.never {}
    }
}

/// The silhouette's sums on the GPU; never reached in this build (no context exists).
pub fn silhouette_sums(ctx: &GpuContext, _: &[f32], _: usize, _: &[usize]) -> Result<Vec<f64>> {
    match ctx.never {}
}

/// Cannot be constructed in this build.
pub struct GpuBackend<'a> {
    ctx: &'a GpuContext,
}

impl<'a> GpuBackend<'a> {
    pub fn new(ctx: &'a GpuContext, _: &Matrix, _: Option<&[f32]>) -> Result<GpuBackend<'a>> {
        match ctx.never {}
    }
    pub fn last_step_gpu_ms(&self) -> Option<f64> {
        match self.ctx.never {}
    }
}

impl Backend for GpuBackend<'_> {
    fn name(&self) -> String {
        match self.ctx.never {}
    }
    fn n(&self) -> usize {
        match self.ctx.never {}
    }
    fn d(&self) -> usize {
        match self.ctx.never {}
    }
    fn reset_labels(&mut self) -> Result<()> {
        match self.ctx.never {}
    }
    fn lloyd_step(&mut self, _: &[f32], _: usize) -> Result<StepStats> {
        match self.ctx.never {}
    }
    fn assign(&mut self, _: &[f32], _: usize) -> Result<Assignment> {
        match self.ctx.never {}
    }
    fn pp_reset(&mut self, _: &[f32]) -> Result<f64> {
        match self.ctx.never {}
    }
    fn pp_potentials(&mut self, _: &[f32], _: usize) -> Result<Vec<f64>> {
        match self.ctx.never {}
    }
    fn pp_commit(&mut self, _: &[f32]) -> Result<()> {
        match self.ctx.never {}
    }
    fn pp_sample(&mut self, _: &[f64]) -> Result<Vec<usize>> {
        match self.ctx.never {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_for_a_gpu_is_an_error_not_a_panic() {
        let e = GpuContext::new(&GpuOptions::default()).unwrap_err();
        assert_eq!(e.gpu_error_kind(), Some(GpuErrorKind::NotBuilt), "{e}");
        assert_eq!(e.to_string(), format!("GPU: {WITHOUT}"));
        assert!(list_adapters().is_empty());
    }
}
