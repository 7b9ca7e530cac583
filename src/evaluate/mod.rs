//! Judging a clustering: cluster-validity indices (silhouette, Davies-Bouldin, Calinski-Harabasz), the adjusted
//! Rand index between two labelings, and the smallest segment's share. Each equals scikit-learn's function of the
//! same name on the same labels (`tests/choosek.rs`, fixtures by `tests/fixtures/choosek/make_fixtures.py`).

mod ari;
pub mod choose;
mod indices;
mod silhouette;

pub use ari::adjusted_rand_index;
pub use indices::{cluster_indices, min_share, ClusterIndices};
pub use silhouette::{sample_rows, silhouette_sampled, silhouette_score, SilhouetteSample};
