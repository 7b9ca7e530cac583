//! Choosing K: for each K of a range, fit with restarts and judge the fit (inertia, silhouette, Davies-Bouldin,
//! Calinski-Harabasz, smallest segment's share, stability over bootstrap resamples), then recommend one K by the
//! rule of [`recommend`]. `custseg choose-k` prints the rows; `segment --k auto` fits the K recommended.
//!
//! Fits go through `device::fit_on_device`, so they run on the GPU where there is one, with the usual fall-back.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tracing::info;

use super::{adjusted_rand_index, cluster_indices, min_share};
use crate::device::{assign_on_device, fit_on_device, silhouette_on_device, DeviceChoice, DeviceRequest};
use crate::error::{Error, Result};
use crate::kmeans::{count_distinct_rows, ValidParams};
use crate::matrix::Matrix;

/// The stability a K needs to be recommended: the mean ARI between bootstrap fits.
pub const MIN_STABILITY: f64 = 0.8;
/// The default `--min-segment-share`.
pub const DEFAULT_MIN_SEGMENT_SHARE: f64 = 0.01;
/// The default `--sample` (rows of the silhouette).
pub const DEFAULT_SAMPLE: usize = 50_000;
/// The default `--bootstrap` of `choose-k`.
pub const DEFAULT_BOOTSTRAP: usize = 5;

/// What to try and how to judge it.
#[derive(Debug, Clone)]
pub struct ChooseOptions {
    /// The values of K, ascending, each at least 2.
    pub ks: Vec<usize>,
    /// The fit's parameters; `k` is replaced by each K.
    pub params: ValidParams,
    /// Rows of the silhouette's seeded uniform sample (every row when there are fewer).
    pub sample: usize,
    /// Bootstrap resamples for the stability; 0 skips it.
    pub bootstrap: usize,
    /// The smallest segment's share of customers a recommended K must reach.
    pub min_segment_share: f64,
}

/// One K's figures. A K whose work failed has `error` and no figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KRow {
    pub k: usize,
    pub inertia: Option<f64>,
    pub silhouette: Option<f64>,
    pub davies_bouldin: Option<f64>,
    pub calinski_harabasz: Option<f64>,
    pub min_share: Option<f64>,
    /// Mean ARI between the bootstrap fits' labelings of the full data; `None` without `--bootstrap`.
    pub stability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The rows and the recommendation, serialised as `choose-k --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KChoice {
    pub recommended_k: Option<usize>,
    pub reason: String,
    pub rows: Vec<KRow>,
    /// Where the silhouettes were computed: "CPU", "GPU", or "GPU and CPU" (an `auto` run that fell back); empty
    /// when none was. Not in `--json`, whose keys are documented.
    #[serde(skip)]
    pub silhouette_on: String,
}

/// Parses `--k`: a range `2..12` (both ends included) or a list `3,5,8` (sorted, duplicates dropped; one value is
/// a list of one). Every value must be at least 2. Errors are usage errors naming `flag`.
pub fn parse_k_range(flag: &str, s: &str) -> Result<Vec<usize>> {
    let bad = |why: &str| Error::Usage(format!("{flag} {s}: {why}"));
    let num = |t: &str| {
        t.trim().parse::<usize>().map_err(|_| {
            bad(&format!("'{}' is not a whole number; give a range like 2..12 or a list like 3,5,8", t.trim()))
        })
    };
    let mut ks: Vec<usize> = if let Some((a, b)) = s.split_once("..") {
        let b = b.strip_prefix('=').unwrap_or(b);
        let (a, b) = (num(a)?, num(b)?);
        if b < a {
            return Err(bad(&format!("the range is empty ({b} < {a}); give a range like 2..12")));
        }
        (a..=b).collect()
    } else {
        s.split(',').map(num).collect::<Result<_>>()?
    };
    ks.sort_unstable();
    ks.dedup();
    if ks.is_empty() {
        return Err(bad("no value of k; give a range like 2..12 or a list like 3,5,8"));
    }
    if ks[0] < 2 {
        return Err(bad(&format!("k = {} is below 2: segments are compared from k = 2; start at 2", ks[0])));
    }
    Ok(ks)
}

/// Checks the options that do not need the data.
pub fn check_options(o: &ChooseOptions) -> Result<()> {
    if o.ks.is_empty() || o.ks[0] < 2 {
        return Err(Error::Usage("the values of k must start at 2 or above".into()));
    }
    if o.sample == 0 {
        return Err(Error::Usage(
            "--sample 0: the silhouette needs rows; give at least 2 (default 50000, every row when there are fewer)"
                .into(),
        ));
    }
    if o.bootstrap == 1 {
        return Err(Error::Usage(
            "--bootstrap 1: stability compares resamples in pairs; give 0 (no stability) or at least 2".into(),
        ));
    }
    if !(0.0..1.0).contains(&o.min_segment_share) {
        return Err(Error::Usage(format!(
            "--min-segment-share {}: give a share of customers from 0 to below 1, e.g. 0.01",
            o.min_segment_share
        )));
    }
    Ok(())
}

/// Checks that the largest K has as many distinct rows (with weight > 0) as it needs: a usage error naming the
/// input and the count otherwise.
pub fn check_k_against_rows(x: &Matrix, w: Option<&[f32]>, ks: &[usize], flag: &str, input: &str) -> Result<()> {
    let top = *ks.last().expect("at least one k");
    let distinct = count_distinct_rows(x, w, top);
    if distinct < top {
        return Err(Error::Usage(format!(
            "{flag} goes up to k = {top} but {input} has only {distinct} distinct rows{} after preparation: \
             lower the largest k to {distinct} or below",
            if w.is_some() { " with weight > 0" } else { "" }
        )));
    }
    Ok(())
}

/// Fits every K and judges it. A K whose work fails gets a row that says why; the others still run.
pub fn sweep(device: &DeviceRequest, x: &Matrix, w: Option<&[f32]>, o: &ChooseOptions) -> KChoice {
    let mut device = device.clone();
    let resamples: Vec<Vec<usize>> = (0..o.bootstrap).map(|b| resample(x.n(), o.params.seed(), b)).collect();
    let mut rows = Vec::with_capacity(o.ks.len());
    let mut places: Vec<&'static str> = Vec::new();
    for &k in &o.ks {
        let clock = std::time::Instant::now();
        let judged = judge(&mut device, x, w, o, k, &resamples).map(|(row, place)| {
            if !places.contains(&place) {
                places.push(place);
            }
            row
        });
        let row = judged.unwrap_or_else(|e| KRow {
            k,
            inertia: None,
            silhouette: None,
            davies_bouldin: None,
            calinski_harabasz: None,
            min_share: None,
            stability: None,
            error: Some(e.to_string()),
        });
        info!(
            k,
            silhouette = row.silhouette,
            stability = row.stability,
            error = row.error.as_deref(),
            seconds = clock.elapsed().as_secs_f64(),
            "judged k"
        );
        rows.push(row);
    }
    let (recommended_k, reason) = recommend(&rows, o.min_segment_share, o.bootstrap > 0);
    places.sort_unstable_by(|a, b| b.cmp(a));
    KChoice { recommended_k, reason, rows, silhouette_on: places.join(" and ") }
}

/// `n` row indices drawn uniformly with replacement, from a ChaCha8 stream of its own per resample (the same
/// resamples for every K).
fn resample(n: usize, seed: u64, b: usize) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1 + b as u64);
    (0..n).map(|_| rng.random_range(0..n)).collect()
}

fn judge(
    device: &mut DeviceRequest,
    x: &Matrix,
    w: Option<&[f32]>,
    o: &ChooseOptions,
    k: usize,
    resamples: &[Vec<usize>],
) -> Result<(KRow, &'static str)> {
    let mut params = o.params.clone();
    params.k = k;
    let fit = fit_on_device(device, &params, x, w)?;
    // `auto` that found no GPU will find none for the next fits either: ask for the CPU straight away.
    if device.choice == DeviceChoice::Auto && fit.backend.starts_with("cpu") {
        device.choice = DeviceChoice::Cpu;
    }
    let indices = cluster_indices(x, &fit.labels, k);
    let (silhouette, place) = silhouette_on_device(device, x, &fit.labels, o.sample, o.params.seed())?;
    let mut labelings = Vec::with_capacity(resamples.len());
    for (b, idx) in resamples.iter().enumerate() {
        let d = x.d();
        let mut data = Vec::with_capacity(idx.len() * d);
        idx.iter().for_each(|&i| data.extend_from_slice(x.row(i)));
        let xb = Matrix::from_vec(data, idx.len(), d);
        let wb: Option<Vec<f32>> = w.map(|w| idx.iter().map(|&i| w[i]).collect());
        let fb = fit_on_device(device, &params, &xb, wb.as_deref())
            .map_err(|e| Error::Data(format!("bootstrap resample {}: {e}", b + 1)))?;
        drop(xb);
        let (a, _) = assign_on_device(device, x, fb.centroids.as_slice(), k)?;
        labelings.push(a.labels);
    }
    let stability = (labelings.len() >= 2).then(|| {
        let mut sum = 0.0;
        let mut pairs = 0usize;
        for i in 0..labelings.len() {
            for j in i + 1..labelings.len() {
                sum += adjusted_rand_index(&labelings[i], &labelings[j]);
                pairs += 1;
            }
        }
        sum / pairs as f64
    });
    let row = KRow {
        k,
        inertia: Some(fit.inertia),
        silhouette,
        davies_bouldin: indices.map(|i| i.davies_bouldin),
        calinski_harabasz: indices.map(|i| i.calinski_harabasz),
        min_share: Some(min_share(&fit.sizes)),
        stability,
        error: None,
    };
    Ok((row, place.short()))
}

/// The rule: the K with the best silhouette among those whose smallest segment holds at least `min_share` of the
/// customers and, when stability was measured, whose stability is at least [`MIN_STABILITY`]; ties go to the
/// smaller K. When no K qualifies, the best silhouette of every K that has one, and the reason says that no K met
/// the thresholds. No recommendation when no K has a silhouette (every fit failed).
pub fn recommend(rows: &[KRow], min_share: f64, stability_measured: bool) -> (Option<usize>, String) {
    let scored: Vec<(&KRow, f64)> = rows.iter().filter_map(|r| r.silhouette.map(|s| (r, s))).collect();
    let qualifies = |r: &KRow| {
        r.min_share.is_some_and(|m| m >= min_share)
            && (!stability_measured || r.stability.is_some_and(|s| s >= MIN_STABILITY))
    };
    let thresholds = if stability_measured {
        format!(
            "whose smallest segment holds at least {} of customers and whose stability is at least {MIN_STABILITY:.2}",
            pct(min_share)
        )
    } else {
        format!("whose smallest segment holds at least {} of customers", pct(min_share))
    };
    let qualified: Vec<(&KRow, f64)> = scored.iter().copied().filter(|(r, _)| qualifies(r)).collect();
    if let Some((r, s)) = best(&qualified) {
        let runner_up = best(&qualified.iter().copied().filter(|(o, _)| o.k != r.k).collect::<Vec<_>>());
        let next = match runner_up {
            Some((o, os)) => format!(" (next: k = {} at {os:.3})", o.k),
            None => String::new(),
        };
        let of = if qualified.len() == 1 {
            "the only k".to_string()
        } else {
            format!("the {} values of k", qualified.len())
        };
        return (Some(r.k), format!("k = {} has the best silhouette ({s:.3}) of {of} {thresholds}{next}.", r.k));
    }
    if let Some((r, s)) = best(&scored) {
        return (
            Some(r.k),
            format!(
                "No k qualified (none {thresholds}), so k = {} is the best silhouette ({s:.3}) of every k tried; \
                 read its row before acting on it.",
                r.k
            ),
        );
    }
    let why = rows.iter().find_map(|r| r.error.as_deref()).unwrap_or("no k could be judged");
    (None, format!("No k could be recommended: no fit has a silhouette ({why})."))
}

/// The row with the highest silhouette; the first (smaller K) on ties.
fn best<'a>(set: &[(&'a KRow, f64)]) -> Option<(&'a KRow, f64)> {
    set.iter().copied().fold(None, |b, (r, s)| match b {
        Some((_, bs)) if bs >= s => b,
        _ => Some((r, s)),
    })
}

fn pct(v: f64) -> String {
    crate::format::fmt_pct(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kmeans::KMeansParams;

    fn row(k: usize, silhouette: f64, min_share: f64, stability: f64) -> KRow {
        KRow {
            k,
            inertia: Some(1.0),
            silhouette: Some(silhouette),
            davies_bouldin: Some(1.0),
            calinski_harabasz: Some(1.0),
            min_share: Some(min_share),
            stability: Some(stability),
            error: None,
        }
    }

    #[test]
    fn ranges_and_lists_parse() {
        assert_eq!(parse_k_range("--k", "2..5").unwrap(), vec![2, 3, 4, 5]);
        assert_eq!(parse_k_range("--k", "2..=3").unwrap(), vec![2, 3]);
        assert_eq!(parse_k_range("--k", "8,3,5,3").unwrap(), vec![3, 5, 8]);
        assert_eq!(parse_k_range("--k", "4").unwrap(), vec![4]);
    }

    #[test]
    fn bad_ranges_are_one_line_usage_errors() {
        for (s, want) in [("5..3", "is empty"), ("1..12", "below 2"), ("0,3", "below 2"), ("a..4", "'a' is not")] {
            let e = parse_k_range("--k", s).unwrap_err();
            assert!(e.is_usage() && e.to_string().contains(want), "{s}: {e}");
            assert!(e.to_string().starts_with(&format!("--k {s}: ")), "{e}");
        }
    }

    #[test]
    fn the_best_silhouette_among_qualifying_ks_wins() {
        let rows = [row(2, 0.9, 0.4, 0.99), row(3, 0.95, 0.001, 0.99), row(4, 0.7, 0.2, 0.95), row(5, 0.8, 0.1, 0.5)];
        let (k, why) = recommend(&rows, 0.01, true);
        assert_eq!(k, Some(2));
        assert!(why.contains("k = 2 has the best silhouette (0.900)") && why.contains("next: k = 4"), "{why}");
    }

    #[test]
    fn without_a_qualifying_k_the_best_silhouette_is_named_with_a_warning() {
        let rows = [row(2, 0.5, 0.001, 0.99), row(3, 0.6, 0.002, 0.99)];
        let (k, why) = recommend(&rows, 0.01, true);
        assert_eq!(k, Some(3));
        assert!(why.starts_with("No k qualified"), "{why}");
    }

    #[test]
    fn stability_is_ignored_when_not_measured_and_ties_go_to_the_smaller_k() {
        let mut rows = [row(3, 0.5, 0.2, 0.0), row(4, 0.5, 0.2, 0.0)];
        rows.iter_mut().for_each(|r| r.stability = None);
        assert_eq!(recommend(&rows, 0.01, false).0, Some(3));
    }

    #[test]
    fn failed_rows_are_skipped_and_all_failed_gives_no_k() {
        let failed = KRow { error: Some("boom".into()), silhouette: None, ..row(2, 0.0, 0.0, 0.0) };
        assert_eq!(recommend(&[failed.clone(), row(3, 0.4, 0.3, 0.9)], 0.01, true).0, Some(3));
        let (k, why) = recommend(&[failed], 0.01, true);
        assert_eq!(k, None);
        assert!(why.contains("boom"), "{why}");
    }

    #[test]
    fn three_separated_groups_choose_three_and_a_failing_k_keeps_its_row() {
        // Three tight groups of 40, 25 and 10 rows, on a 3-value grid each so that k = 10 has too few distinct rows
        // in some bootstrap resample.
        let mut v = Vec::new();
        for (c, n) in [(0.0f32, 40), (20.0, 25), (-20.0, 10)] {
            for i in 0..n {
                v.extend([c + (i % 3) as f32 * 0.5, c - (i % 3) as f32 * 0.5]);
            }
        }
        let x = Matrix::from_vec(v, 75, 2);
        let params = KMeansParams::new(2).n_init(2).seed(3).check().unwrap();
        let o = ChooseOptions { ks: vec![2, 3, 4, 9], params, sample: 1000, bootstrap: 3, min_segment_share: 0.01 };
        let dev = DeviceRequest { choice: DeviceChoice::Cpu, ..Default::default() };
        let c = sweep(&dev, &x, None, &o);
        assert_eq!(c.recommended_k, Some(3), "{c:?}");
        assert_eq!(c.rows[1].stability, Some(1.0));
        let nine = &c.rows[3];
        assert!(nine.error.as_deref().is_some_and(|e| e.contains("distinct rows")), "{nine:?}");
        assert!(c.rows[..3].iter().all(|r| r.error.is_none()));
    }
}
