//! The profiles' types, as they are serialised to JSON and drawn in the terminal table and the HTML report.

use serde::{Deserialize, Serialize};

use super::levels::ColumnProfiles;

/// `f64` that is written as JSON `null` when it is not finite (an empty segment's mean, an index against 0).
mod nullable {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// One feature in one segment, in original units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureStats {
    pub name: String,
    /// Mean in original units (`null` for an empty segment).
    #[serde(with = "nullable")]
    pub mean: f64,
    /// Median in original units (`null` for an empty segment); see [`build_profiles`] for its accuracy.
    #[serde(with = "nullable")]
    pub median: f64,
    /// Segment mean / overall mean × 100, both in original units; `None` when the overall mean is 0.
    pub index: Option<f64>,
    /// Standardised difference in scaled units: (segment mean − overall mean) / overall standard deviation.
    /// Its magnitude ranks the distinguishing features and its sign gives their direction. 0 for a constant
    /// feature.
    #[serde(with = "nullable")]
    pub z: f64,
}

/// One feature over all customers, in original units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverallStats {
    pub name: String,
    pub mean: f64,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// `log1p` was applied before scaling (the distribution charts are then on a log scale).
    pub log1p: bool,
}

/// One segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentProfile {
    pub segment: u32,
    pub size: u64,
    /// size / customers.
    pub share: f64,
    /// The segment's sum of the money column / the total, in original units; `None` without a money column or
    /// when the total is 0.
    pub revenue_share: Option<f64>,
    /// The segment's share of the total gross margin, where `gross_margin` (from `custseg features --cost`) is
    /// a feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_share: Option<f64>,
    /// Every feature, in feature order.
    pub features: Vec<FeatureStats>,
    /// The most distinguishing features (largest |z|), most distinguishing first.
    pub distinguishing: Vec<String>,
    /// Words for the distinguishing features, e.g. "recent, frequent, high spend".
    pub description: String,
}

/// One feature's binned distribution in every segment, for charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureHistogram {
    pub name: String,
    /// Bin edges in original units (`bins + 1` values). Bins are equally wide in scaled units, so a `log1p`
    /// feature's bins are equally wide on a log scale. Values outside the charted range (the outer 0.5% of
    /// customers at each end) are counted in the end bins.
    pub edges: Vec<f64>,
    /// `counts[segment][bin]`.
    pub counts: Vec<Vec<u64>>,
}

/// Profiles of every segment of a fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profiles {
    pub k: usize,
    pub customers: u64,
    /// The column revenue shares are computed from, if any.
    pub money_column: Option<String>,
    /// How medians were computed, e.g. `histogram-2048`.
    pub median_method: String,
    /// Every feature over all customers, in feature order.
    pub overall: Vec<OverallStats>,
    pub segments: Vec<SegmentProfile>,
    /// Per feature, in feature order.
    pub histograms: Vec<FeatureHistogram>,
    /// Warnings on the fit, e.g. segments under `--min-segment-share` (shown at the top of the report).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Names, rules, settings and the RFM crosstab (`explain`), where the job computed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<crate::explain::Explanation>,
    /// Level shares of categorical and `--profile-by` columns, and numeric `--profile-by` columns.
    #[serde(default, skip_serializing_if = "ColumnProfiles::is_empty")]
    pub columns: ColumnProfiles,
}

impl Profiles {
    /// Serialises to pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("profiles serialise")
    }
}
