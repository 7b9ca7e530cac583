//! The saved model (`model.json`): features, scaler, centroids in scaled and original units, sizes and fit
//! statistics. It is the one place a fit is serialised, and `predict` on it scores new customers.

use serde::{Deserialize, Serialize};

use crate::drift::DriftReference;
use crate::error::{Error, Result};
use crate::kmeans::{FitResult, RunSummary};
use crate::matrix::Matrix;
use crate::prep::{CategoricalColumn, Scaler};

/// Engine name and version, e.g. `custseg 0.1.0`.
pub fn engine_version() -> String {
    format!("custseg {}", env!("CARGO_PKG_VERSION"))
}

/// How the fit was run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitParams {
    pub k: usize,
    pub init: String,
    /// Rows k-means++ seeded from ("all" or a count).
    pub init_rows: String,
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub seed: u64,
}

/// Where the data came from and what was dropped on the way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSummary {
    pub files: Vec<String>,
    pub id_column: String,
    pub weight_column: Option<String>,
    pub rows_read: usize,
    pub rows_dropped: usize,
    pub rows_clustered: usize,
    /// With `--missing mean`: each column where values were imputed, with how many.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imputed: Vec<(String, usize)>,
}

/// A fitted segmentation model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub engine: String,
    pub backend: String,
    pub params: FitParams,
    pub input: InputSummary,
    /// Feature names, in the order of every centroid's values.
    pub features: Vec<String>,
    pub scaler: Scaler,
    /// `k` centroids in scaled units (what K-means saw).
    pub centroids_scaled: Vec<Vec<f32>>,
    /// `k` centroids mapped back to original units through the scaler (log1p columns through `expm1`).
    pub centroids: Vec<Vec<f64>>,
    /// Customers in each segment.
    pub sizes: Vec<u64>,
    pub inertia: f64,
    pub n_iter: usize,
    pub converged: bool,
    /// Every restart, in order; `best_run` is the one kept.
    pub runs: Vec<RunSummary>,
    pub best_run: usize,
    /// The training data's deciles and distance percentile, against which `assign` measures drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftReference>,
    /// Each segment's number, by position, where it is not the position itself: `segment --previous` keeps the
    /// previous model's numbers for the segments it matched. Empty means 0, 1, 2, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<u32>,
    /// What the fit should be read with, e.g. segments under `--min-segment-share`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Each segment's name, in segment order (`explain::names`); empty in models written before names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The `--categorical` columns, their levels in encoding order and block weights. Their indicator columns
    /// (`column=level`) are the last features, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categorical: Vec<CategoricalColumn>,
}

impl Model {
    pub fn new(fit: &FitResult, scaler: Scaler, features: Vec<String>, params: FitParams, input: InputSummary) -> Self {
        let k = fit.centroids.n();
        let centroids_scaled: Vec<Vec<f32>> = (0..k).map(|j| fit.centroids.row(j).to_vec()).collect();
        let centroids = centroids_scaled.iter().map(|c| scaler.inverse_row(c)).collect();
        Model {
            engine: engine_version(),
            backend: fit.backend.clone(),
            params,
            input,
            features,
            scaler,
            centroids_scaled,
            centroids,
            sizes: fit.sizes.clone(),
            inertia: fit.inertia,
            n_iter: fit.n_iter,
            converged: fit.converged,
            runs: fit.runs.clone(),
            best_run: fit.best_run,
            drift: None,
            numbers: Vec::new(),
            warnings: Vec::new(),
            names: Vec::new(),
            categorical: Vec::new(),
        }
    }

    /// How many features are numeric columns of the input: the features before the categorical indicators.
    pub fn numeric_features(&self) -> usize {
        self.features.len().saturating_sub(self.categorical.iter().map(|c| c.levels.len()).sum::<usize>())
    }

    pub fn k(&self) -> usize {
        self.centroids_scaled.len()
    }

    /// Each segment's number, by position (the position itself unless `numbers` says otherwise).
    pub fn numbers(&self) -> Vec<u32> {
        if self.numbers.is_empty() {
            (0..self.k() as u32).collect()
        } else {
            self.numbers.clone()
        }
    }

    /// Turns labels that are positions (what the kernels return) into segment numbers, in place.
    pub fn number_labels(&self, labels: &mut [u32]) {
        if !self.numbers.is_empty() {
            use rayon::prelude::*;
            labels.par_iter_mut().for_each(|l| *l = self.numbers[*l as usize]);
        }
    }

    /// Serialises to pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("model serialises")
    }

    /// Reads a model written by [`Model::to_json`].
    pub fn from_json(path: &std::path::Path) -> Result<Model> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::input(path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::input(path, format!("not a custseg model: {e}")))
    }

    /// Reads a model to score new data with: [`Model::from_json`], then checks that an engine of the same major
    /// and minor version wrote it (the scaler's and the kernels' meaning may change between them).
    pub fn load(path: &std::path::Path) -> Result<Model> {
        let m = Model::from_json(path)?;
        let ours = engine_version();
        let series =
            |e: &str| e.strip_prefix("custseg ").map(|v| v.rsplit_once('.').map_or(v, |(mm, _)| mm).to_string());
        if series(&m.engine).is_none() || series(&m.engine) != series(&ours) {
            return Err(Error::input(
                path,
                format!("the model was written by '{}', which this engine ({ours}) cannot use: refit it with `custseg segment`", m.engine),
            ));
        }
        if m.features.len() != m.scaler.columns.len()
            || m.centroids_scaled.iter().any(|c| c.len() != m.features.len())
            || !(m.numbers.is_empty() || m.numbers.len() == m.k())
        {
            return Err(Error::input(
                path,
                "not a custseg model: its features, scaler, centroids and segment numbers disagree in width",
            ));
        }
        let encoded: Vec<String> = m.categorical.iter().flat_map(|c| c.encoded_names()).collect();
        if encoded.len() > m.features.len() || !m.features.ends_with(&encoded) {
            return Err(Error::input(path, "not a custseg model: its categorical levels are not its last features"));
        }
        Ok(m)
    }

    /// The scaled centroids as one `k × d` matrix.
    pub fn centroid_matrix(&self) -> Matrix {
        let d = self.features.len();
        Matrix::from_vec(self.centroids_scaled.iter().flatten().copied().collect(), self.k(), d)
    }

    /// Scores raw rows (original units, feature order): scales them with the model's scaler and assigns each to
    /// its nearest centroid. Returns labels and Euclidean distances in scaled units.
    pub fn predict(&self, mut raw: Matrix) -> Result<(Vec<u32>, Vec<f32>)> {
        use crate::kmeans::Backend;
        if raw.d() != self.features.len() {
            return Err(Error::Data(format!("data has {} features, the model has {}", raw.d(), self.features.len())));
        }
        self.scaler.transform(&mut raw)?;
        let c = self.centroid_matrix();
        let a = crate::backend::cpu::CpuBackend::new(&raw, None).assign(c.as_slice(), self.k())?;
        Ok((a.labels, a.dist2.iter().map(|v| v.sqrt()).collect()))
    }
}
