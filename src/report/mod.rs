//! Segment profiles and reports: who is in each segment, in original units, as JSON, a terminal table and a
//! self-contained HTML page. Computed after a fit from the scaled matrix, the scaler and the labels.

mod choosek;
mod describe;
mod explain_view;
mod flows;
mod html;
mod levels;
mod levels_html;
mod profile;
mod table;
mod types;

use std::path::Path;

pub use choosek::{insert_choice_section, render_choice_page};
pub use describe::{describe, feature_word, MIN_Z};
pub use flows::render_flows_html;
pub use html::{escape, render_html};
pub use levels::{
    level_profile, numeric_profile, render_columns, top_level, ColumnProfiles, LevelProfile, LevelShare, NumericProfile,
};
pub use profile::{build_profiles, money_feature, DEFAULT_MONEY_COLUMN, DISPLAY_BINS, MEDIAN_BINS, TOP_FEATURES};
pub use table::render_table;
pub use types::{FeatureHistogram, FeatureStats, OverallStats, Profiles, SegmentProfile};

use crate::error::Result;
use crate::io::atomic::write_bytes_atomically;

/// Writes the profiles as pretty JSON, atomically.
pub fn write_profile_json(p: &Profiles, path: &Path) -> Result<()> {
    write_bytes_atomically(path, p.to_json().as_bytes())
}

/// Writes the HTML report, atomically, titled "Customer segments".
pub fn write_html(p: &Profiles, path: &Path) -> Result<()> {
    write_html_titled(p, "Customer segments", path)
}

/// Writes the HTML report with the section on how K was chosen (`segment --k auto`), atomically.
pub fn write_html_with_choice(
    p: &Profiles,
    choice: &crate::evaluate::choose::KChoice,
    min_share: f64,
    path: &Path,
) -> Result<()> {
    let page = insert_choice_section(&render_html(p, "Customer segments"), choice, min_share);
    write_bytes_atomically(path, page.as_bytes())
}

/// Writes the HTML report with a title, atomically.
pub fn write_html_titled(p: &Profiles, title: &str, path: &Path) -> Result<()> {
    write_bytes_atomically(path, render_html(p, title).as_bytes())
}

/// Writes the HTML page of a comparison between two periods, atomically.
pub fn write_flows_html(c: &crate::jobs::compare::Comparison, before: &str, after: &str, path: &Path) -> Result<()> {
    write_bytes_atomically(path, render_flows_html(c, before, after).as_bytes())
}
