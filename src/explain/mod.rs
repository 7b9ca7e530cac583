//! Segments in words a marketer acts on: a name for each segment from where its median customer stands in the
//! base (`names`, `position`), rules from a shallow decision tree with their fidelity (`cart`, `rules`), and the
//! report's map of the segments on the first two principal components (`pca`). Computed after the fit and the
//! renumbering, so names and rules follow the segment numbers.

pub mod cart;
pub mod crosstab;
pub mod names;
pub mod pca;
pub mod position;
pub mod rules;

use serde::{Deserialize, Serialize};

pub use crosstab::Crosstab;
pub use names::{name_segments, use_rfm, SegmentName, NAME_RULES};
pub use pca::{pca_view, PcaView};
pub use rules::{explain_rules, render_rules, RawSample, Rule, Rules};

use crate::matrix::Matrix;
use crate::model::Model;
use crate::prep::{ScaleMethod, Scaler};

/// How the segments were made, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub k: usize,
    pub features: Vec<String>,
    /// z-score, min-max, robust or none.
    pub scaling: String,
    /// Columns `log1p` was applied to before scaling.
    pub log1p: Vec<String>,
    pub init: String,
    pub n_init: usize,
    pub seed: u64,
    /// Where the fit ran (the backend's name).
    pub device: String,
    pub iterations: usize,
    pub converged: bool,
}

impl RunSettings {
    pub fn from_model(m: &Model) -> RunSettings {
        RunSettings {
            k: m.k(),
            features: m.features.clone(),
            scaling: match m.scaler.method {
                ScaleMethod::Zscore => "z-score",
                ScaleMethod::Minmax => "min-max",
                ScaleMethod::Robust => "robust (median and IQR)",
                ScaleMethod::None => "none",
            }
            .into(),
            log1p: m.scaler.columns.iter().filter(|c| c.log1p).map(|c| c.name.clone()).collect(),
            init: m.params.init.clone(),
            n_init: m.params.n_init,
            seed: m.params.seed,
            device: m.backend.clone(),
            iterations: m.n_iter,
            converged: m.converged,
        }
    }
}

/// Names, rules and, for the report, the map, the settings and the RFM crosstab of one fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// One per segment, in segment order.
    pub names: Vec<SegmentName>,
    pub rules: Rules,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<RunSettings>,
    /// Segments against the input's named RFM segments (a `custseg features` file's `rfm_segment` column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfm_crosstab: Option<Crosstab>,
    /// The report's map; not serialised (thousands of points).
    #[serde(skip)]
    pub map: Option<PcaView>,
}

impl Explanation {
    /// The names alone, in segment order.
    pub fn name_list(&self) -> Vec<String> {
        self.names.iter().map(|n| n.name.clone()).collect()
    }
}

/// Names and rules of a fit: `sample` was taken before scaling, `x_scaled` is the clustered matrix, `labels`
/// every row's segment after renumbering; `rfm_file` says the input is a `custseg features` file
/// ([`use_rfm`]).
pub fn explain(
    sample: &RawSample,
    x_scaled: &Matrix,
    scaler: &Scaler,
    features: &[String],
    labels: &[u32],
    k: usize,
    rfm_file: bool,
) -> Explanation {
    let pos = position::positions(x_scaled, scaler, labels, k);
    let names = name_segments(features, &pos, rfm_file);
    let rules = explain_rules(sample, x_scaled, scaler, features, labels, k);
    Explanation { names, rules, settings: None, rfm_crosstab: None, map: None }
}
