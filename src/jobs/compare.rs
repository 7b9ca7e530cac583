//! The `compare` job: who moved between segments from one period to the next. Joins two files on the customer
//! ID in time linear in the rows (a hash map of the first file, streamed batch by batch, probed by the second, also
//! streamed) and counts the transitions, the customers who entered or left, and each segment's retention.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, StringArray};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::format::fmt_count;
use crate::io::atomic::{check_writable, write_atomically};
use crate::io::TableFile;
use crate::pseudonym::IdKey;

/// A validated `compare` job.
#[derive(Debug, Clone)]
pub struct CompareConfig {
    pub before: Vec<PathBuf>,
    pub after: Vec<PathBuf>,
    /// The customer ID column, in both.
    pub id_column: String,
    /// The segment column, in both: integers (a segments file's `segment`) or text (a features file's
    /// `rfm_segment`).
    pub column: String,
    /// Where to write the customers who moved (ID, from, to), if anywhere.
    pub movers: Option<PathBuf>,
    /// The key that replaces every customer ID in the movers file by its pseudonym, if any.
    pub pseudonym: Option<IdKey>,
}

/// A customer ID, as integers or text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Id {
    Int(i64),
    Text(Box<str>),
}

/// Segment values are integers or text; both files must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    Integer,
    Text,
}

/// One cell of the transition matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub customers: u64,
}

/// The comparison of two periods.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub column: String,
    pub kind: ValueKind,
    /// Every segment seen in either file: numerically for integers, else alphabetically.
    pub segments: Vec<String>,
    /// `counts[from][to]`: customers in both files, by their segment before and after.
    pub counts: Vec<Vec<u64>>,
    /// Customers only in the first file, by their segment before.
    pub left: Vec<u64>,
    /// Customers only in the second file, by their segment after.
    pub entered: Vec<u64>,
    /// Customers who moved, where a movers file was asked for.
    pub movers_written: Option<u64>,
}

impl Comparison {
    /// Customers in segment `j` before, including those who left.
    pub fn before_total(&self, j: usize) -> u64 {
        self.counts[j].iter().sum::<u64>() + self.left[j]
    }

    /// The share of segment `j`'s customers before who are in `j` after (those who left count as not retained);
    /// `None` for a segment nobody was in before.
    pub fn retention(&self, j: usize) -> Option<f64> {
        let t = self.before_total(j);
        (t > 0).then(|| self.counts[j][j] as f64 / t as f64)
    }

    /// Every non-empty transition, the largest first (ties in segment order).
    pub fn transitions(&self) -> Vec<Transition> {
        let mut v: Vec<(usize, usize, u64)> = Vec::new();
        for (f, row) in self.counts.iter().enumerate() {
            for (t, &c) in row.iter().enumerate() {
                if c > 0 {
                    v.push((f, t, c));
                }
            }
        }
        v.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
        v.into_iter()
            .map(|(f, t, c)| Transition { from: self.segments[f].clone(), to: self.segments[t].clone(), customers: c })
            .collect()
    }

    /// The `n` biggest moves between different segments, in words: "1,204 customers went from Loyal to At risk".
    pub fn biggest_flows(&self, n: usize) -> Vec<String> {
        self.transitions()
            .into_iter()
            .filter(|t| t.from != t.to)
            .take(n)
            .map(|t| {
                let (n, who) = (fmt_count(t.customers), if t.customers == 1 { "customer" } else { "customers" });
                match self.kind {
                    ValueKind::Text => format!("{n} {who} went from {} to {}", t.from, t.to),
                    ValueKind::Integer => format!("{n} {who} moved from segment {} to segment {}", t.from, t.to),
                }
            })
            .collect()
    }

    /// Customers in both files.
    pub fn in_both(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Customers in both files whose segment changed.
    pub fn moved(&self) -> u64 {
        self.in_both() - (0..self.segments.len()).map(|j| self.counts[j][j]).sum::<u64>()
    }

    /// The summary as `--json` prints it: transitions, entered, left and retention by segment (segment values as
    /// JSON numbers for an integer column).
    pub fn to_json(&self) -> serde_json::Value {
        let value = |s: &str| match self.kind {
            ValueKind::Integer => s.parse::<i64>().map(serde_json::Value::from).unwrap_or_else(|_| s.into()),
            ValueKind::Text => s.into(),
        };
        let transitions: Vec<serde_json::Value> = self
            .transitions()
            .iter()
            .map(|t| serde_json::json!({"from": value(&t.from), "to": value(&t.to), "customers": t.customers}))
            .collect();
        let retention: serde_json::Map<String, serde_json::Value> = (0..self.segments.len())
            .map(|j| (self.segments[j].clone(), serde_json::json!(self.retention(j))))
            .collect();
        serde_json::json!({
            "column": self.column,
            "transitions": transitions,
            "entered": self.entered.iter().sum::<u64>(),
            "left": self.left.iter().sum::<u64>(),
            "in_both": self.in_both(),
            "moved": self.moved(),
            "retention": retention,
            "biggest_flows": self.biggest_flows(5),
        })
    }
}

/// The rows of one file as they are streamed: each (ID, segment) with the segment as text.
struct Reader {
    label: String,
    kind: Option<ValueKind>,
    id_is_text: Option<bool>,
}

/// Runs the job: checks the movers path, then streams both files.
pub fn run_compare(cfg: &CompareConfig) -> Result<Comparison> {
    if let Some(p) = &cfg.movers {
        check_writable(p)?;
    }
    let mut segs = Interner::default();
    // Pass 1: the first period into a map ID -> (segment code, seen again).
    let mut before: HashMap<Id, (u32, bool)> = HashMap::new();
    let mut rb = Reader { label: label(&cfg.before), kind: None, id_is_text: None };
    let mut duplicates = 0u64;
    for path in &cfg.before {
        stream(path, cfg, &mut rb, |ids, values| {
            for (i, id) in ids.into_iter().enumerate() {
                if before.insert(id, (segs.code(values.value(i)), false)).is_some() {
                    duplicates += 1;
                }
            }
            Ok(())
        })?;
    }
    if duplicates > 0 {
        return Err(duplicate_error(&rb.label, &cfg.id_column, duplicates));
    }
    // Pass 2: the second period, probing the map.
    let mut ra = Reader { label: label(&cfg.after), kind: None, id_is_text: None };
    // Transition counts by first-seen code, grown as codes appear; put in display order at the end.
    let mut by_code: Vec<Vec<u64>> = Vec::new();
    let mut entered_ids: HashMap<Id, u32> = HashMap::new();
    let mut movers: Vec<(Id, u32, u32)> = Vec::new();
    let want_movers = cfg.movers.is_some();
    for path in &cfg.after {
        stream(path, cfg, &mut ra, |ids, values| {
            for (i, id) in ids.into_iter().enumerate() {
                let to = segs.code(values.value(i));
                match before.get_mut(&id) {
                    Some((from, seen)) => {
                        if *seen {
                            duplicates += 1;
                        }
                        *seen = true;
                        let (f, t) = (*from as usize, to as usize);
                        if by_code.len() <= f.max(t) {
                            by_code.resize(f.max(t) + 1, Vec::new());
                        }
                        if by_code[f].len() <= t {
                            by_code[f].resize(t + 1, 0);
                        }
                        by_code[f][t] += 1;
                        if want_movers && *from != to {
                            movers.push((id, *from, to));
                        }
                    }
                    None => {
                        if entered_ids.insert(id, to).is_some() {
                            duplicates += 1;
                        }
                    }
                }
            }
            Ok(())
        })?;
        same_types(&rb, &ra, cfg)?;
    }
    if duplicates > 0 {
        return Err(duplicate_error(&ra.label, &cfg.id_column, duplicates));
    }
    let kind = rb.kind.or(ra.kind).unwrap_or(ValueKind::Integer);
    let (segments, remap) = segs.sorted(kind);
    let k = segments.len();
    let mut counts = vec![vec![0u64; k]; k];
    for (f, row) in by_code.iter().enumerate() {
        for (t, &n) in row.iter().enumerate() {
            counts[remap[f]][remap[t]] += n;
        }
    }
    let mut left = vec![0u64; k];
    for (code, seen) in before.values() {
        if !seen {
            left[remap[*code as usize]] += 1;
        }
    }
    let mut entered = vec![0u64; k];
    for code in entered_ids.values() {
        entered[remap[*code as usize]] += 1;
    }
    let mut cmp =
        Comparison { column: cfg.column.clone(), kind, segments, counts, left, entered, movers_written: None };
    if let Some(path) = &cfg.movers {
        let n = movers.len() as u64;
        write_movers(path, cfg, &cmp, ra.id_is_text.unwrap_or(false), movers, &remap)?;
        cmp.movers_written = Some(n);
    }
    Ok(cmp)
}

/// Both files must have IDs of one type (integers or text) and segment values of one kind.
fn same_types(rb: &Reader, ra: &Reader, cfg: &CompareConfig) -> Result<()> {
    let word = |text: bool| if text { "text" } else { "integers" };
    if let (Some(a), Some(b)) = (rb.id_is_text, ra.id_is_text) {
        if a != b {
            return Err(Error::Data(format!(
                "{}: the ID column '{}' holds {} here but {} in {}; compare files with the same ID type",
                ra.label,
                cfg.id_column,
                word(b),
                word(a),
                rb.label
            )));
        }
    }
    if let (Some(a), Some(b)) = (rb.kind, ra.kind) {
        if a != b {
            return Err(Error::Data(format!(
                "{}: the column '{}' holds {} here but {} in {}; compare like with like",
                ra.label,
                cfg.column,
                word(b == ValueKind::Text),
                word(a == ValueKind::Text),
                rb.label
            )));
        }
    }
    Ok(())
}

fn duplicate_error(label: &str, id: &str, n: u64) -> Error {
    Error::Data(format!(
        "{label}: {} duplicate values in the ID column '{id}'; each customer must appear once per period",
        fmt_count(n)
    ))
}

fn label(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Streams the ID and segment columns of `path` in batches, converted, to `each`.
fn stream(
    path: &Path,
    cfg: &CompareConfig,
    r: &mut Reader,
    mut each: impl FnMut(Vec<Id>, &StringArray) -> Result<()>,
) -> Result<()> {
    // Parquet or CSV, by the file's name.
    let table = TableFile::open(path, &[])?;
    let schema = table.schema().clone();
    let mut cols = Vec::new();
    for name in [&cfg.id_column, &cfg.column] {
        match schema.fields().iter().position(|f| f.name() == name) {
            Some(i) => cols.push(i),
            None => {
                let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                return Err(Error::input(
                    path,
                    format!("no column '{name}' (columns: {}); name it with --id or --column", have.join(", ")),
                ));
            }
        }
    }
    cols.sort_unstable();
    cols.dedup();
    table.stream(&cols, |batch| {
        let ids = id_values(path, &cfg.id_column, batch.column_by_name(&cfg.id_column).expect("projected"), r)?;
        let values = segment_values(path, &cfg.column, batch.column_by_name(&cfg.column).expect("projected"), r)?;
        each(ids, &values)
    })
}

fn nulls_error(path: &Path, column: &str, n: usize) -> Error {
    Error::input(path, format!("{n} null values in the column '{column}'; every customer needs an ID and a segment"))
}

fn id_values(path: &Path, column: &str, a: &ArrayRef, r: &mut Reader) -> Result<Vec<Id>> {
    if a.null_count() > 0 {
        return Err(nulls_error(path, column, a.null_count()));
    }
    let text = !a.data_type().is_integer();
    r.id_is_text.get_or_insert(text);
    if text {
        let s = as_text(path, column, a)?;
        Ok((0..s.len()).map(|i| Id::Text(s.value(i).into())).collect())
    } else {
        let v = arrow::compute::cast(a, &DataType::Int64).map_err(|e| Error::input(path, e))?;
        let v = v.as_any().downcast_ref::<Int64Array>().expect("cast to Int64");
        Ok(v.values().iter().map(|&x| Id::Int(x)).collect())
    }
}

fn segment_values(path: &Path, column: &str, a: &ArrayRef, r: &mut Reader) -> Result<StringArray> {
    if a.null_count() > 0 {
        return Err(nulls_error(path, column, a.null_count()));
    }
    r.kind.get_or_insert(if a.data_type().is_integer() { ValueKind::Integer } else { ValueKind::Text });
    as_text(path, column, a)
}

fn as_text(path: &Path, column: &str, a: &ArrayRef) -> Result<StringArray> {
    let s = arrow::compute::cast(a, &DataType::Utf8)
        .map_err(|e| Error::input(path, format!("column '{column}' of type {} cannot be read: {e}", a.data_type())))?;
    Ok(s.as_any().downcast_ref::<StringArray>().expect("cast to Utf8").clone())
}

/// Segment values to dense codes, in the order first seen.
#[derive(Default)]
struct Interner {
    codes: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn code(&mut self, s: &str) -> u32 {
        if let Some(&c) = self.codes.get(s) {
            return c;
        }
        let c = self.names.len() as u32;
        self.codes.insert(s.to_string(), c);
        self.names.push(s.to_string());
        c
    }

    /// The names in display order, and each first-seen code's position in it.
    fn sorted(&self, kind: ValueKind) -> (Vec<String>, Vec<usize>) {
        let mut order: Vec<usize> = (0..self.names.len()).collect();
        match kind {
            ValueKind::Integer => order.sort_by_key(|&i| self.names[i].parse::<i64>().unwrap_or(i64::MAX)),
            ValueKind::Text => order.sort_by(|&a, &b| self.names[a].cmp(&self.names[b])),
        }
        let mut remap = vec![0; order.len()];
        for (pos, &code) in order.iter().enumerate() {
            remap[code] = pos;
        }
        (order.iter().map(|&i| self.names[i].clone()).collect(), remap)
    }
}

/// Writes the movers (ID, from, to) atomically, the ID in its type and the segments as integers or text.
fn write_movers(
    path: &Path,
    cfg: &CompareConfig,
    cmp: &Comparison,
    id_text: bool,
    movers: Vec<(Id, u32, u32)>,
    remap: &[usize],
) -> Result<()> {
    let ids: ArrayRef = if id_text {
        Arc::new(StringArray::from_iter_values(movers.iter().map(|(id, ..)| match id {
            Id::Text(s) => s.as_ref(),
            Id::Int(_) => unreachable!("one ID type per comparison"),
        })))
    } else {
        Arc::new(Int64Array::from_iter_values(movers.iter().map(|(id, ..)| match id {
            Id::Int(v) => *v,
            Id::Text(_) => unreachable!("one ID type per comparison"),
        })))
    };
    let ids = match &cfg.pseudonym {
        Some(key) => key.pseudonymize(&ids)?,
        None => ids,
    };
    let seg = |code: u32| cmp.segments[remap[code as usize]].as_str();
    let column = |pick: fn(&(Id, u32, u32)) -> u32| -> ArrayRef {
        match cmp.kind {
            ValueKind::Integer => {
                Arc::new(Int64Array::from_iter_values(movers.iter().map(|m| seg(pick(m)).parse::<i64>().unwrap_or(-1))))
            }
            ValueKind::Text => Arc::new(StringArray::from_iter_values(movers.iter().map(|m| seg(pick(m))))),
        }
    };
    let batch =
        RecordBatch::try_from_iter([(cfg.id_column.as_str(), ids), ("from", column(|m| m.1)), ("to", column(|m| m.2))])
            .map_err(|e| Error::output(path, e))?;
    write_atomically(path, |w| {
        let mut writer = ArrowWriter::try_new(w, batch.schema(), None).map_err(|e| Error::output(path, e))?;
        writer.write(&batch).map_err(|e| Error::output(path, e))?;
        writer.close().map_err(|e| Error::output(path, e))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(kind: ValueKind, segments: &[&str], counts: Vec<Vec<u64>>) -> Comparison {
        let k = segments.len();
        Comparison {
            column: "segment".into(),
            kind,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            counts,
            left: vec![1; k],
            entered: vec![0; k],
            movers_written: None,
        }
    }

    #[test]
    fn retention_counts_the_leavers_as_lost() {
        let c = cmp(ValueKind::Integer, &["0", "1"], vec![vec![6, 3], vec![0, 0]]);
        assert_eq!(c.retention(0), Some(0.6));
        assert_eq!(c.retention(1), Some(0.0));
        assert_eq!((c.in_both(), c.moved()), (9, 3));
    }

    #[test]
    fn the_biggest_flows_are_said_in_words() {
        let c = cmp(ValueKind::Text, &["At risk", "Loyal"], vec![vec![5, 0], vec![1204, 9000]]);
        assert_eq!(c.biggest_flows(3), ["1,204 customers went from Loyal to At risk"]);
        let n = cmp(ValueKind::Integer, &["0", "3"], vec![vec![1, 1204], vec![0, 2]]);
        assert_eq!(n.biggest_flows(1), ["1,204 customers moved from segment 0 to segment 3"]);
        assert_eq!(n.to_json()["transitions"][0], serde_json::json!({"from": 0, "to": 3, "customers": 1204}));
    }

    #[test]
    fn integer_segments_sort_numerically() {
        let mut s = Interner::default();
        for v in ["10", "2", "1"] {
            s.code(v);
        }
        assert_eq!(s.sorted(ValueKind::Integer), (vec!["1".into(), "2".into(), "10".into()], vec![2, 1, 0]));
    }
}
