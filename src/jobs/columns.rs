//! The columns a job reads beside the feature matrix: `--categorical` columns (fitted and one-hot encoded into
//! the matrix by `segment`, encoded with the model's levels by `assign`), `--profile-by` columns (level shares or
//! mean and median per segment, not clustered on) and `--keep` columns (copied into the segments file). Their
//! flags are checked first, their types from the files' metadata before any row is decoded, and their rows are
//! aligned with the matrix's (rows dropped by `--missing drop` are dropped here too).

use std::path::PathBuf;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use tracing::{info, warn};

use crate::error::{Error, Result};
use crate::explain::SegmentName;
use crate::format::fmt_level_share;
use crate::io::named::{column_types, keep_rows, read_columns};
use crate::io::{FeatureTable, ReadOptions};
use crate::matrix::Matrix;
use crate::prep::categorical::{append_blocks, is_categorical_type, scaled_one, OTHER};
use crate::prep::{CategoricalColumn, LevelRules, Scaler};
use crate::report::{
    describe, level_profile, numeric_profile, top_level, ColumnProfiles, LevelProfile, LevelShare, Profiles,
    TOP_FEATURES,
};

/// The flags that name columns read beside the features.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnOptions {
    /// `--categorical`: clustered on, one-hot encoded.
    pub categorical: Vec<String>,
    /// `--min-level-share`, `--max-levels`, `--categorical-weight` (also the level rules of text `--profile-by`
    /// columns, which keep their `max_levels` most common levels rather than fail).
    pub rules: LevelRules,
    /// `--profile-by`: profiled per segment, not clustered on.
    pub profile_by: Vec<String>,
    /// `--keep`: copied into the segments file beside the ID.
    pub keep: Vec<String>,
}

impl ColumnOptions {
    /// Checks the flags against each other and the read options (usage errors), before any file is opened.
    pub fn check(&self, read: &ReadOptions) -> Result<()> {
        self.rules.check()?;
        for (flag, list) in
            [("--categorical", &self.categorical), ("--profile-by", &self.profile_by), ("--keep", &self.keep)]
        {
            let mut seen = std::collections::HashSet::new();
            for c in list.iter() {
                if c.is_empty() {
                    return Err(Error::Usage(format!("{flag} names an empty column")));
                }
                if !seen.insert(c) {
                    return Err(Error::Usage(format!("{flag} lists column '{c}' twice")));
                }
                if *c == read.id_column && flag != "--keep" {
                    return Err(Error::Usage(format!("{flag} names the id column '{c}'")));
                }
                if *c == read.id_column {
                    return Err(Error::Usage(format!(
                        "--keep names the id column '{c}', which the segments file has already"
                    )));
                }
                if flag != "--keep" && read.weight.as_deref() == Some(c.as_str()) {
                    return Err(Error::Usage(format!("{flag} names the weight column '{c}'")));
                }
                if matches!(c.as_str(), "segment" | "distance") && flag == "--keep" {
                    return Err(Error::Usage(format!("--keep names '{c}', a column the segments file writes itself")));
                }
            }
        }
        for c in &self.categorical {
            if read.features.as_ref().is_some_and(|f| f.contains(c)) {
                return Err(Error::Usage(format!(
                    "column '{c}' is named by both --features and --categorical: a column is clustered on one way"
                )));
            }
            if self.profile_by.contains(c) {
                return Err(Error::Usage(format!(
                    "column '{c}' is named by both --categorical and --profile-by: a categorical column is profiled \
                     already"
                )));
            }
        }
        Ok(())
    }

    /// Columns the default feature selection must not take (they are categorical or only profiled).
    pub fn not_features(&self) -> Vec<String> {
        self.categorical.iter().chain(&self.profile_by).cloned().collect()
    }

    fn all_columns(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for c in self.categorical.iter().chain(&self.profile_by).chain(&self.keep) {
            if !v.contains(c) {
                v.push(c.clone());
            }
        }
        v
    }
}

/// What the files' metadata say about the columns.
#[derive(Debug)]
pub(crate) struct Planned {
    names: Vec<String>,
    /// Per `--profile-by` column: numeric (mean and median) rather than text (level shares).
    profile_numeric: Vec<bool>,
}

/// `paths`' labels for messages: the first file, and how many more.
fn source(paths: &[PathBuf]) -> String {
    match paths.len() {
        1 => paths[0].display().to_string(),
        n => format!("{} and {} more files", paths[0].display(), n - 1),
    }
}

/// Checks the columns' types from the files' footers: a categorical column must be text, boolean or integer
/// codes (a float is a usage error), a `--profile-by` column text, boolean or numeric.
pub(crate) fn plan(paths: &[PathBuf], opts: &ColumnOptions, read: &ReadOptions) -> Result<Planned> {
    let names = opts.all_columns();
    if names.is_empty() {
        return Ok(Planned { names, profile_numeric: Vec::new() });
    }
    let types = column_types(paths, &names, &read.csv_schema)?;
    let type_of = |c: &str| &types[names.iter().position(|n| n == c).expect("planned")];
    for c in &opts.categorical {
        let t = type_of(c);
        if !is_categorical_type(t) {
            return Err(Error::Usage(format!(
                "{}: --categorical column '{c}' has type {t}, which is not text, boolean or integer codes: cluster on \
                 it with --features {c}, or bin it into a text column first",
                source(paths)
            )));
        }
    }
    for c in &opts.keep {
        let t = type_of(c);
        if value_type(t).is_nested() {
            return Err(Error::Usage(format!(
                "{}: --keep column '{c}' has type {t}; only flat columns (numbers, text, dates...) can be kept",
                source(paths)
            )));
        }
    }
    let mut profile_numeric = Vec::new();
    for c in &opts.profile_by {
        let t = type_of(c);
        let text =
            matches!(value_type(t), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean);
        let numeric = value_type(t).is_numeric();
        if !text && !numeric {
            return Err(Error::Usage(format!(
                "{}: --profile-by column '{c}' has type {t}; it must be text, boolean or numeric",
                source(paths)
            )));
        }
        profile_numeric.push(numeric);
    }
    Ok(Planned { names, profile_numeric })
}

fn value_type(t: &DataType) -> &DataType {
    match t {
        DataType::Dictionary(_, v) => v,
        _ => t,
    }
}

/// The columns of a `segment` run, read and aligned with the matrix's rows.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    /// The fitted categorical variables and each row's level code, in `--categorical` order.
    pub(crate) vars: Vec<CategoricalColumn>,
    pub(crate) codes: Vec<Vec<u32>>,
    /// Text `--profile-by` columns: the levels and each row's code.
    profile_levels: Vec<(String, Vec<String>, Vec<u32>)>,
    /// Numeric `--profile-by` columns: each row's value.
    profile_values: Vec<(String, Vec<Option<f64>>)>,
    /// `--keep` columns.
    pub(crate) keep: Vec<(String, ArrayRef)>,
}

/// Reads the planned columns for the rows of `table` and fits the categorical levels.
pub(crate) fn read_extra(
    paths: &[PathBuf],
    opts: &ColumnOptions,
    planned: &Planned,
    table: &FeatureTable,
    read: &ReadOptions,
) -> Result<Extra> {
    if planned.names.is_empty() {
        return Ok(Extra::default());
    }
    let arrays = read_columns(paths, &planned.names, read.batch_size, &read.csv_schema)?;
    let column = |c: &str| -> Result<ArrayRef> {
        let a = &arrays[planned.names.iter().position(|n| n == c).expect("planned")];
        if a.len() != table.report.rows_read {
            return Err(Error::Data(format!(
                "column '{c}' has {} rows, the features {} (in {})",
                a.len(),
                table.report.rows_read,
                source(paths)
            )));
        }
        keep_rows(a, table.kept_rows.as_deref())
    };
    let mut extra = Extra::default();
    for c in &opts.categorical {
        let (var, codes) = CategoricalColumn::fit(c, &column(c)?, &opts.rules, &source(paths))?;
        info!(column = %c, levels = var.levels.len(), factor = var.factor, "one-hot encoded: {}", var.levels.join(", "));
        extra.vars.push(var);
        extra.codes.push(codes);
    }
    for (c, &numeric) in opts.profile_by.iter().zip(&planned.profile_numeric) {
        let a = column(c)?;
        if numeric {
            let f = arrow::compute::cast(&a, &DataType::Float64)
                .map_err(|e| Error::Data(format!("--profile-by column '{c}': cannot read it as numbers: {e}")))?;
            extra.profile_values.push((c.clone(), f.as_primitive::<Float64Type>().iter().collect()));
        } else {
            let rules = LevelRules { max_levels: usize::MAX, ..opts.rules.clone() };
            let (var, codes) = CategoricalColumn::fit(c, &a, &rules, &source(paths))?;
            let (levels, codes) = cap_levels(c, var.levels, codes, opts.rules.max_levels);
            extra.profile_levels.push((c.clone(), levels, codes));
        }
    }
    for c in &opts.keep {
        extra.keep.push((c.clone(), column(c)?));
    }
    Ok(extra)
}

/// At most `max` levels: past that, the least common named levels join `other` (a profile shows the rest).
fn cap_levels(column: &str, levels: Vec<String>, mut codes: Vec<u32>, max: usize) -> (Vec<String>, Vec<u32>) {
    if levels.len() <= max {
        return (levels, codes);
    }
    let named: Vec<usize> = (0..levels.len()).filter(|&i| levels[i] != OTHER && levels[i] != "missing").collect();
    let has_missing = levels.iter().any(|l| l == "missing");
    let keep = max.saturating_sub(1 + usize::from(has_missing)).min(named.len());
    let mut new_levels: Vec<String> = named[..keep].iter().map(|&i| levels[i].clone()).collect();
    let other = new_levels.len() as u32;
    new_levels.push(OTHER.into());
    let missing = has_missing.then(|| {
        new_levels.push("missing".into());
        other + 1
    });
    let map: Vec<u32> = (0..levels.len())
        .map(|i| match named.iter().position(|&n| n == i) {
            Some(p) if p < keep => p as u32,
            _ if levels[i] == "missing" => missing.expect("has missing"),
            _ => other,
        })
        .collect();
    codes.iter_mut().for_each(|c| *c = map[*c as usize]);
    warn!(
        column,
        levels = levels.len(),
        kept = keep,
        "--profile-by: showing the {keep} most common levels, the rest as '{OTHER}'"
    );
    (new_levels, codes)
}

/// `x` (scaled numeric features) with the categorical blocks appended, and the scaler and names extended with
/// the indicator columns.
pub(crate) fn append_categorical(x: &Matrix, scaler: &mut Scaler, names: &mut Vec<String>, extra: &Extra) -> Matrix {
    if extra.vars.is_empty() {
        return x.clone();
    }
    for v in &extra.vars {
        scaler.columns.extend(v.column_scales());
        names.extend(v.encoded_names());
    }
    let on: Vec<f32> = extra.vars.iter().map(scaled_one).collect();
    append_blocks(x, &extra.vars, &extra.codes, &on)
}

/// The single-column profiles of a fit.
pub(crate) fn column_profiles(extra: &Extra, labels: &[u32], k: usize, numbers: &[u32]) -> ColumnProfiles {
    let mut levels: Vec<LevelProfile> = extra
        .vars
        .iter()
        .zip(&extra.codes)
        .map(|(v, codes)| level_profile(&v.column, true, &v.levels, codes, labels, k))
        .collect();
    levels.extend(extra.profile_levels.iter().map(|(c, l, codes)| level_profile(c, false, l, codes, labels, k)));
    let numeric = extra.profile_values.iter().map(|(c, v)| numeric_profile(c, v, labels, k)).collect();
    ColumnProfiles { levels, numeric, numbers: numbers.to_vec() }
}

/// Segments whose names the numeric features could not tell apart ("Recent customers (1)", "Recent customers
/// (2)") are named by their most over-represented level instead, from the first clustered categorical column that
/// gives each of them a different one: "Recent customers · gender F". Where no column does, the numbers stay.
pub(crate) fn name_by_levels(names: &mut [SegmentName], columns: &ColumnProfiles) {
    let base = |n: &str| -> Option<String> {
        let (b, tail) = n.rsplit_once(" (")?;
        tail.strip_suffix(')')?.parse::<u32>().ok()?;
        Some(b.to_string())
    };
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (j, n) in names.iter().enumerate() {
        if let Some(b) = base(&n.name) {
            match groups.iter_mut().find(|(g, _)| *g == b) {
                Some((_, v)) => v.push(j),
                None => groups.push((b, vec![j])),
            }
        }
    }
    for (b, group) in groups.into_iter().filter(|(_, g)| g.len() > 1) {
        for p in columns.levels.iter().filter(|p| p.clustered) {
            let top: Option<Vec<&LevelShare>> = group.iter().map(|&j| top_level(p, j)).collect();
            let Some(top) = top else { continue };
            let distinct = top.iter().enumerate().all(|(a, x)| top[..a].iter().all(|y| y.level != x.level));
            if !distinct {
                continue;
            }
            for (&j, l) in group.iter().zip(&top) {
                names[j].name = format!("{b} · {} {}", p.column, l.level);
                names[j].basis.push(fmt_level_share(
                    &l.level,
                    l.shares[j],
                    columns.number(j) as usize,
                    l.overall,
                    l.index[j],
                ));
            }
            break;
        }
    }
}

/// Leaves only the first `numeric` features (the input's numeric columns) in `p`: the categorical indicators are
/// shown as level shares instead. The distinguishing features and the description are ranked again among them.
pub(crate) fn numeric_only(p: &mut Profiles, numeric: usize) {
    if p.overall.len() <= numeric {
        return;
    }
    p.overall.truncate(numeric);
    p.histograms.truncate(numeric);
    for s in &mut p.segments {
        s.features.truncate(numeric);
        let mut order: Vec<usize> = (0..numeric).filter(|&f| s.features[f].z.is_finite()).collect();
        order.sort_by(|&a, &b| s.features[b].z.abs().total_cmp(&s.features[a].z.abs()).then(a.cmp(&b)));
        order.truncate(TOP_FEATURES);
        s.distinguishing = order.iter().map(|&f| s.features[f].name.clone()).collect();
        if s.size > 0 {
            s.description =
                describe(&order.iter().map(|&f| (s.features[f].name.as_str(), s.features[f].z)).collect::<Vec<_>>());
        }
    }
}

/// `assign`: checks from the files' footers that they have the model's categorical columns, of a type that can
/// hold levels.
pub(crate) fn check_model_columns(paths: &[PathBuf], vars: &[CategoricalColumn], read: &ReadOptions) -> Result<()> {
    if vars.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = vars.iter().map(|v| v.column.clone()).collect();
    for (c, t) in names.iter().zip(column_types(paths, &names, &read.csv_schema)?) {
        if !is_categorical_type(&t) {
            return Err(Error::Data(format!(
                "{}: categorical column '{c}' has type {t}, but the model encodes it as text, boolean or integer codes",
                source(paths)
            )));
        }
    }
    Ok(())
}

/// `assign`: the model's categorical columns read for the rows of `table` and encoded with the model's levels;
/// the raw indicator blocks (1 for a row's level) appended to `table.x`, ready for the model's scaler.
pub(crate) fn encode_for_model(
    paths: &[PathBuf],
    vars: &[CategoricalColumn],
    table: &mut FeatureTable,
    read: &ReadOptions,
) -> Result<()> {
    if vars.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = vars.iter().map(|v| v.column.clone()).collect();
    let arrays = read_columns(paths, &names, read.batch_size, &read.csv_schema)?;
    let mut codes = Vec::with_capacity(vars.len());
    for (v, a) in vars.iter().zip(&arrays) {
        let a = keep_rows(a, table.kept_rows.as_deref())?;
        let (c, unmatched) = v.encode(&a)?;
        if unmatched > 0 {
            warn!(
                column = %v.column,
                customers = unmatched,
                "'{}': {unmatched} customers with a value that is not a level of the model, scored as '{OTHER}'{}",
                v.column,
                if v.levels.iter().any(|l| l == OTHER) { "" } else { " (the model has no such level: its block is zero)" }
            );
        }
        codes.push(c);
    }
    let ones = vec![1.0f32; vars.len()];
    table.x = append_blocks(&table.x, vars, &codes, &ones);
    for v in vars {
        table.feature_names.extend(v.encoded_names());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read() -> ReadOptions {
        ReadOptions { id_column: "id".into(), weight: Some("w".into()), ..ReadOptions::default() }
    }

    #[test]
    fn conflicting_flags_are_usage_errors() {
        let bad = [
            ColumnOptions { categorical: vec!["region".into(), "region".into()], ..Default::default() },
            ColumnOptions { categorical: vec!["id".into()], ..Default::default() },
            ColumnOptions { keep: vec!["id".into()], ..Default::default() },
            ColumnOptions { keep: vec!["segment".into()], ..Default::default() },
            ColumnOptions { profile_by: vec!["w".into()], ..Default::default() },
            ColumnOptions { categorical: vec!["g".into()], profile_by: vec!["g".into()], ..Default::default() },
            ColumnOptions { rules: LevelRules { min_level_share: 1.0, ..Default::default() }, ..Default::default() },
            ColumnOptions { rules: LevelRules { weight: 0.0, ..Default::default() }, ..Default::default() },
        ];
        for o in bad {
            let e = o.check(&read()).unwrap_err();
            assert!(e.is_usage(), "{o:?}: {e}");
        }
        let named = ReadOptions { features: Some(vec!["region".into()]), ..read() };
        let o = ColumnOptions { categorical: vec!["region".into()], ..Default::default() };
        assert!(o.check(&named).unwrap_err().to_string().contains("both --features and --categorical"));
        let ok =
            ColumnOptions { categorical: vec!["region".into()], keep: vec!["region".into()], ..Default::default() };
        ok.check(&read()).unwrap();
        assert_eq!(ok.all_columns(), ["region"]);
    }

    #[test]
    fn names_the_numeric_features_share_are_told_apart_by_their_top_level() {
        let name = |j: u32, n: &str| SegmentName { segment: j, name: n.into(), basis: vec![] };
        let mut names =
            vec![name(0, "Lapsed customers"), name(1, "Recent customers (1)"), name(2, "Recent customers (2)")];
        let levels = vec!["F".to_string(), "M".into()];
        // Segment 1 is all F, segment 2 all M; segment 0 half and half.
        let (codes, labels) = (vec![0, 1, 0, 0, 1, 1], vec![0, 0, 1, 1, 2, 2]);
        let profile = |clustered| level_profile("gender", clustered, &levels, &codes, &labels, 3);
        let only_profiled = ColumnProfiles { levels: vec![profile(false)], ..Default::default() };
        name_by_levels(&mut names, &only_profiled);
        assert_eq!(names[1].name, "Recent customers (1)", "a column not clustered on does not name");
        name_by_levels(&mut names, &ColumnProfiles { levels: vec![profile(true)], ..Default::default() });
        let got: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(got, ["Lapsed customers", "Recent customers · gender F", "Recent customers · gender M"]);
        assert!(names[1].basis[0].starts_with("F: 100% of segment 1, against 50% overall"), "{:?}", names[1].basis);
        // The same top level for both: the numbers stay.
        let mut names = vec![name(0, "A (1)"), name(1, "A (2)"), name(2, "B")];
        let same = level_profile("gender", true, &levels, &[0, 0, 0, 0, 1, 1], &[0, 0, 1, 1, 2, 2], 3);
        name_by_levels(&mut names, &ColumnProfiles { levels: vec![same], ..Default::default() });
        assert_eq!(names[0].name, "A (1)");
    }

    #[test]
    fn capping_profile_levels_keeps_the_most_common_and_missing() {
        let levels: Vec<String> = ["a", "b", "c", "other", "missing"].iter().map(|s| s.to_string()).collect();
        let (l, codes) = cap_levels("s", levels, vec![0, 1, 2, 3, 4, 0], 4);
        assert_eq!(l, ["a", "b", "other", "missing"]);
        assert_eq!(codes, [0, 1, 2, 2, 3, 0]);
    }
}
