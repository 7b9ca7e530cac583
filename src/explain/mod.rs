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

    /// The names indexed by segment number (`render_rules` looks names up by a rule's segment): where numbers are
    /// positions this is [`Explanation::name_list`]; numbers kept by `segment --previous` leave gaps, filled with "".
    pub fn names_by_number(&self) -> Vec<String> {
        let top = self.names.iter().map(|n| n.segment as usize + 1).max().unwrap_or(0);
        let mut out = vec![String::new(); top];
        for n in &self.names {
            out[n.segment as usize] = n.name.clone();
        }
        out
    }

    /// Gives the segment at position `j` the number `numbers[j]` in the names and the rules (their text included);
    /// the map and the crosstab stay indexed by position.
    pub fn renumber(&mut self, numbers: &[u32]) {
        for (j, n) in self.names.iter_mut().enumerate() {
            n.segment = numbers[j];
        }
        for r in &mut self.rules.rules {
            let (old, new) = (r.segment, numbers[r.segment as usize]);
            r.text = r.text.replace(&format!("→ segment {old} ("), &format!("→ segment {new} ("));
            r.segment = new;
        }
        for u in &mut self.rules.unexplained {
            *u = numbers[*u as usize];
        }
    }

    /// Segments that kept a previous number keep the previous name too (where the previous model has names).
    pub fn keep_names(&mut self, matching: &crate::previous::Matching, prev: &Model) {
        let prev_numbers = prev.numbers();
        for (j, m) in matching.matched.iter().enumerate() {
            let Some((number, _)) = m else { continue };
            let name = prev_numbers.iter().position(|n| n == number).and_then(|pos| prev.names.get(pos));
            if let (Some(name), Some(n)) = (name, self.names.get_mut(j)) {
                n.name = name.clone();
            }
        }
    }
}

/// Names and rules of a fit: `sample` was taken before scaling, `x_scaled` is the clustered matrix, `labels`
/// every row's segment after renumbering; `rfm_file` says the input is a `custseg features` file
/// ([`use_rfm`]). `features` names the numeric columns, the first of `x_scaled`'s (one-hot categorical
/// indicators after them are clustered on but neither named nor split on).
pub fn explain(
    sample: &RawSample,
    x_scaled: &Matrix,
    scaler: &Scaler,
    features: &[String],
    labels: &[u32],
    k: usize,
    rfm_file: bool,
) -> Explanation {
    let pos = position::positions(x_scaled, features.len(), scaler, labels, k);
    let names = name_segments(features, &pos, rfm_file);
    let rules = explain_rules(sample, x_scaled, scaler, features, labels, k);
    Explanation { names, rules, settings: None, rfm_crosstab: None, map: None }
}
