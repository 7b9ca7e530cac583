//! Short generated segment descriptions ("recent, frequent, high spend") from the distinguishing features and
//! the direction of their difference, with a small word table for the known retail feature names.

/// A feature whose |z| (standardised difference of means) is below this is not worth a word.
pub const MIN_Z: f64 = 0.25;

/// Words for known retail features: (name, word when the segment is below average, word when above).
const WORDS: &[(&str, &str, &str)] = &[
    ("recency_days", "recent", "lapsed"),
    ("frequency", "infrequent", "frequent"),
    ("monetary", "low spend", "high spend"),
    ("avg_basket", "small baskets", "big baskets"),
    // Relative words: a segment below the average tenure may still be years old, so never "new".
    ("tenure_days", "shorter tenure", "longer tenure"),
    ("n_categories", "few categories", "many categories"),
    ("online_share", "in-store", "online"),
    ("returns_rate", "few returns", "returns a lot"),
];

/// The word for one feature in one direction: from the table for known names, else "high X" / "low X".
pub fn feature_word(name: &str, above: bool) -> String {
    match WORDS.iter().find(|(n, _, _)| *n == name) {
        Some((_, low, high)) => (if above { *high } else { *low }).to_string(),
        None => format!("{} {name}", if above { "high" } else { "low" }),
    }
}

/// Describes a segment from its distinguishing features `(name, z)`, most distinguishing first: one word per
/// feature with |z| ≥ [`MIN_Z`], joined by ", ". A segment with none is "close to average".
pub fn describe(features: &[(&str, f64)]) -> String {
    let words: Vec<String> =
        features.iter().filter(|(_, z)| z.abs() >= MIN_Z).map(|(name, z)| feature_word(name, *z > 0.0)).collect();
    if words.is_empty() {
        "close to average".into()
    } else {
        words.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_retail_features_get_their_words() {
        let d = describe(&[("recency_days", -1.2), ("frequency", 0.9), ("monetary", 0.8)]);
        assert_eq!(d, "recent, frequent, high spend");
        let d = describe(&[("recency_days", 2.0), ("tenure_days", -0.5), ("online_share", 0.4)]);
        assert_eq!(d, "lapsed, shorter tenure, online");
        assert_eq!(describe(&[("returns_rate", 1.0)]), "returns a lot");
    }

    #[test]
    fn other_features_get_high_or_low() {
        assert_eq!(describe(&[("visits", 1.0), ("age", -0.3)]), "high visits, low age");
    }

    #[test]
    fn small_differences_are_not_described() {
        assert_eq!(describe(&[("monetary", 0.1), ("frequency", -0.2)]), "close to average");
        assert_eq!(describe(&[("monetary", 0.1), ("frequency", -0.6)]), "infrequent");
        assert_eq!(describe(&[]), "close to average");
    }
}
