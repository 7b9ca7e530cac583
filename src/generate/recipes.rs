//! The planted segments of the synthetic customers: what each means and how each of its features is drawn, and
//! their shares for a table of 5 to 8 segments.
//!
//! The segments are far enough apart that K-means with k = the number of segments, on z-scored features with
//! `log1p` on `monetary` and `avg_basket`, recovers them (adjusted Rand index about 0.999 with a few restarts;
//! `data/README.md` has the measurements).

use std::ops::RangeInclusive;

/// The smallest and largest number of planted segments.
pub(crate) const SEGMENT_COUNTS: RangeInclusive<usize> = 5..=8;

/// The largest `recency_days`.
pub const MAX_RECENCY_DAYS: i32 = 730;
/// The largest `tenure_days` (ten years).
pub const MAX_TENURE_DAYS: i32 = 3650;
/// The largest `n_categories` (the smallest is 1).
pub const MAX_CATEGORIES: i32 = 20;

/// A distribution given by its mean and standard deviation; the field using it says which family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSd {
    pub mean: f64,
    pub sd: f64,
}

/// A lognormal distribution given by its median and the standard deviation `sigma` of its logarithm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogNormal {
    pub median: f64,
    pub sigma: f64,
}

/// One planted segment: its name, its share of customers, what it means, and how each feature is drawn.
///
/// Per customer: `orders ~ frequency` and `basket ~ avg_basket` (independent lognormals), `monetary = orders ×
/// basket` rounded to cents (so `monetary` is lognormal, see [`PlantedSegment::monetary`]), `frequency =
/// max(1, round(orders))`, and the `avg_basket` column is `monetary / frequency` times a small lognormal noise.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedSegment {
    /// The value in the `planted_segment` column (snake_case).
    pub name: &'static str,
    /// Expected fraction of customers (the shares of a table sum to 1).
    pub share: f64,
    /// What the segment means, in retail terms.
    pub meaning: &'static str,
    /// Days since the last order: gamma, rounded, at most [`MAX_RECENCY_DAYS`].
    pub recency_days: MeanSd,
    /// Orders: lognormal, rounded, at least 1.
    pub frequency: LogNormal,
    /// Spend per order: lognormal.
    pub avg_basket: LogNormal,
    /// Days since the first order: gamma, rounded, at least the recency, at most [`MAX_TENURE_DAYS`].
    pub tenure_days: MeanSd,
    /// Distinct product categories bought: normal, rounded, 1 to [`MAX_CATEGORIES`].
    pub n_categories: MeanSd,
    /// Share of orders placed online: beta, in [0, 1].
    pub online_share: MeanSd,
    /// Share of spend returned: beta, in [0, 1].
    pub returns_rate: MeanSd,
}

impl PlantedSegment {
    /// The distribution of total spend: lognormal with median `frequency.median × avg_basket.median` and
    /// `sigma = hypot(frequency.sigma, avg_basket.sigma)` (before rounding the order count).
    pub fn monetary(&self) -> LogNormal {
        LogNormal {
            median: self.frequency.median * self.avg_basket.median,
            sigma: self.frequency.sigma.hypot(self.avg_basket.sigma),
        }
    }
}

const fn ms(mean: f64, sd: f64) -> MeanSd {
    MeanSd { mean, sd }
}

const fn ln(median: f64, sigma: f64) -> LogNormal {
    LogNormal { median, sigma }
}

/// The eight recipes, in the order they are taken; shares are set per table size by [`SHARES`].
const RECIPES: [PlantedSegment; 8] = [
    PlantedSegment {
        name: "loyal",
        share: 0.0,
        meaning: "long-standing regulars: order every few weeks, solid baskets across many categories",
        recency_days: ms(20.0, 10.0),
        frequency: ln(18.0, 0.18),
        avg_basket: ln(75.0, 0.2),
        tenure_days: ms(1150.0, 160.0),
        n_categories: ms(11.0, 1.3),
        online_share: ms(0.4, 0.08),
        returns_rate: ms(0.04, 0.02),
    },
    PlantedSegment {
        name: "hibernating",
        share: 0.0,
        meaning: "lapsed for well over a year: a few small orders long ago, mostly in store",
        recency_days: ms(520.0, 50.0),
        frequency: ln(2.5, 0.3),
        avg_basket: ln(40.0, 0.22),
        tenure_days: ms(800.0, 150.0),
        n_categories: ms(2.0, 0.8),
        online_share: ms(0.15, 0.05),
        returns_rate: ms(0.06, 0.025),
    },
    PlantedSegment {
        name: "new",
        share: 0.0,
        meaning: "joined about six weeks ago: one or two orders so far, mostly online",
        recency_days: ms(14.0, 8.0),
        frequency: ln(1.5, 0.3),
        avg_basket: ln(55.0, 0.22),
        tenure_days: ms(40.0, 18.0),
        n_categories: ms(2.0, 0.8),
        online_share: ms(0.6, 0.1),
        returns_rate: ms(0.03, 0.02),
    },
    PlantedSegment {
        name: "at_risk",
        share: 0.0,
        meaning: "used to buy regularly, silent for about half a year; high returns hint at dissatisfaction",
        recency_days: ms(200.0, 30.0),
        frequency: ln(8.0, 0.2),
        avg_basket: ln(90.0, 0.2),
        tenure_days: ms(1000.0, 160.0),
        n_categories: ms(5.0, 1.0),
        online_share: ms(0.25, 0.06),
        returns_rate: ms(0.18, 0.035),
    },
    PlantedSegment {
        name: "bargain_hunters",
        share: 0.0,
        meaning: "frequent small baskets in few categories, hardly ever return anything",
        recency_days: ms(25.0, 10.0),
        frequency: ln(24.0, 0.15),
        avg_basket: ln(15.0, 0.2),
        tenure_days: ms(700.0, 120.0),
        n_categories: ms(4.0, 1.0),
        online_share: ms(0.5, 0.08),
        returns_rate: ms(0.02, 0.012),
    },
    PlantedSegment {
        name: "champions",
        share: 0.0,
        meaning: "the best customers: bought days ago, very often, big baskets, widest range, longest tenure",
        recency_days: ms(5.0, 3.0),
        frequency: ln(50.0, 0.15),
        avg_basket: ln(180.0, 0.2),
        tenure_days: ms(2000.0, 220.0),
        n_categories: ms(16.0, 1.5),
        online_share: ms(0.6, 0.08),
        returns_rate: ms(0.03, 0.02),
    },
    PlantedSegment {
        name: "online_first",
        share: 0.0,
        meaning: "shop almost only online: medium frequency, younger accounts",
        recency_days: ms(18.0, 9.0),
        frequency: ln(12.0, 0.2),
        avg_basket: ln(60.0, 0.2),
        tenure_days: ms(400.0, 100.0),
        n_categories: ms(7.0, 1.2),
        online_share: ms(0.95, 0.025),
        returns_rate: ms(0.1, 0.03),
    },
    PlantedSegment {
        name: "returners",
        share: 0.0,
        meaning: "send back close to half of what they buy, mostly bought online",
        recency_days: ms(40.0, 14.0),
        frequency: ln(8.0, 0.2),
        avg_basket: ln(95.0, 0.2),
        tenure_days: ms(650.0, 150.0),
        n_categories: ms(5.0, 1.2),
        online_share: ms(0.7, 0.08),
        returns_rate: ms(0.45, 0.06),
    },
];

/// Shares per table size (5, 6, 7, 8 segments): unequal, largest first, each summing to 1.
const SHARES: [&[f64]; 4] = [
    &[0.32, 0.25, 0.20, 0.14, 0.09],
    &[0.30, 0.22, 0.18, 0.14, 0.10, 0.06],
    &[0.27, 0.20, 0.16, 0.13, 0.10, 0.08, 0.06],
    &[0.25, 0.18, 0.15, 0.12, 0.10, 0.08, 0.07, 0.05],
];

/// The planted segments for a table of `segments` (5 to 8): the first `segments` of loyal, hibernating, new,
/// at_risk, bargain_hunters, champions, online_first, returners, with unequal shares summing to 1 (for 6:
/// 0.30, 0.22, 0.18, 0.14, 0.10, 0.06).
///
/// # Panics
/// If `segments` is not 5 to 8 ([`crate::generate::GenerateOptions::validate`] reports that as an error).
pub fn segment_recipes(segments: usize) -> Vec<PlantedSegment> {
    assert!(SEGMENT_COUNTS.contains(&segments), "the number of planted segments must be 5 to 8, got {segments}");
    let shares = SHARES[segments - 5];
    RECIPES[..segments].iter().zip(shares).map(|(r, &share)| PlantedSegment { share, ..r.clone() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_size_has_unequal_shares_summing_to_one() {
        for k in 5..=8 {
            let r = segment_recipes(k);
            assert_eq!(r.len(), k);
            assert!((r.iter().map(|s| s.share).sum::<f64>() - 1.0).abs() < 1e-12, "{k} segments");
            assert!(r.windows(2).all(|w| w[0].share > w[1].share), "{k}: shares strictly decrease");
        }
    }

    #[test]
    fn recipe_names_are_unique_snake_case() {
        let r = segment_recipes(8);
        let mut names: Vec<_> = r.iter().map(|s| s.name).collect();
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 8);
    }

    #[test]
    fn recipe_parameters_are_valid_distributions() {
        for r in segment_recipes(8) {
            for m in [r.recency_days, r.tenure_days, r.n_categories] {
                assert!(m.mean > 0.0 && m.sd > 0.0, "{}", r.name);
            }
            for m in [r.online_share, r.returns_rate] {
                assert!(m.sd * m.sd < m.mean * (1.0 - m.mean), "{}: beta needs sd² < m(1-m)", r.name);
            }
            assert!(r.frequency.median > 0.0 && r.avg_basket.median > 0.0);
        }
    }

    #[test]
    #[should_panic(expected = "must be 5 to 8")]
    fn recipes_outside_five_to_eight_panic() {
        segment_recipes(4);
    }
}
