//! Synthetic retail customers with planted segments (being written).
