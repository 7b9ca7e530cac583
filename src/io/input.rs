//! Input discovery: turns the user's `--input` (one Parquet or CSV file, a folder of them, or a glob) into a sorted
//! list of files of one kind.

use std::path::{Path, PathBuf};

use super::csv::is_csv_name;
use crate::error::{Error, Result};

/// Resolves `spec` to the files to read, in a stable order. A file named `*.csv` or `*.csv.gz` is read as CSV,
/// any other as Parquet.
///
/// - an existing file: just that file (its extension is not checked; the reader reports a non-Parquet file);
/// - an existing folder: every `*.parquet`, `*.csv` or `*.csv.gz` file directly in it (not in subfolders, hidden
///   files skipped), sorted by name;
/// - otherwise, a glob pattern (`data/*.parquet`, `part-[0-9]*.csv.gz`): the files it matches, sorted.
///
/// Errors name the path or pattern: it does not exist, a folder has no table file, a pattern matches no file, a
/// folder or pattern gives both CSV and Parquet files.
pub fn resolve_inputs(spec: &str) -> Result<Vec<PathBuf>> {
    if spec.is_empty() {
        return Err(Error::Usage("empty input path".into()));
    }
    let path = Path::new(spec);
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if path.is_dir() {
        return one_kind(spec, table_files_in(path)?);
    }
    if path.exists() {
        return Err(Error::input(path, "is neither a file nor a folder"));
    }
    if spec.contains(['*', '?', '[']) {
        return one_kind(spec, glob_files(spec)?);
    }
    Err(Error::input(path, "no such file or folder"))
}

/// Whether `p`'s name ends in `.parquet` (any case) and is not hidden (temporary files written beside outputs are).
fn is_parquet_name(p: &Path) -> bool {
    let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.') && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Whether `p`'s name is a Parquet or CSV file's, and not hidden.
fn is_table_name(p: &Path) -> bool {
    let hidden = p.file_name().and_then(|n| n.to_str()).is_none_or(|n| n.starts_with('.'));
    is_parquet_name(p) || (!hidden && is_csv_name(p))
}

/// `files`, unless they mix CSV and Parquet: a table is read one way.
fn one_kind(spec: &str, files: Vec<PathBuf>) -> Result<Vec<PathBuf>> {
    let csv = files.iter().filter(|p| is_csv_name(p)).count();
    if csv > 0 && csv < files.len() {
        let example = |want: bool| {
            files.iter().find(|p| is_csv_name(p) == want).map(|p| p.display().to_string()).unwrap_or_default()
        };
        return Err(Error::input(
            spec,
            format!(
                "holds {csv} CSV and {} Parquet files (e.g. {} and {}); read one kind at a time, e.g. with a glob \
                 such as '*.csv' or '*.parquet'",
                files.len() - csv,
                example(true),
                example(false)
            ),
        ));
    }
    Ok(files)
}

fn table_files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::input(dir, format!("cannot list folder: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::input(dir, format!("cannot list folder: {e}")))?;
        let p = entry.path();
        if is_table_name(&p) && p.is_file() {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(Error::input(dir, "folder has no *.parquet, *.csv or *.csv.gz files"));
    }
    files.sort();
    Ok(files)
}

fn glob_files(pattern: &str) -> Result<Vec<PathBuf>> {
    let paths = glob::glob(pattern).map_err(|e| Error::Usage(format!("invalid input pattern '{pattern}': {e}")))?;
    let mut files = Vec::new();
    for entry in paths {
        let p = entry
            .map_err(|e| Error::input(e.path(), format!("cannot read while matching '{pattern}': {}", e.error())))?;
        if p.is_file() {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(Error::input(pattern, "pattern matched no files"));
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::write(p, b"x").unwrap();
    }

    #[test]
    fn single_file_is_returned_as_is() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("customers.parquet");
        touch(&f);
        assert_eq!(resolve_inputs(f.to_str().unwrap()).unwrap(), vec![f]);
    }

    #[test]
    fn folder_lists_only_parquet_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.parquet", "a.parquet", "c.PARQUET", "notes.txt", ".hidden.parquet"] {
            touch(&dir.path().join(name));
        }
        std::fs::create_dir(dir.path().join("sub.parquet")).unwrap();
        touch(&dir.path().join("sub.parquet/d.parquet"));
        let got = resolve_inputs(dir.path().to_str().unwrap()).unwrap();
        let names: Vec<_> = got.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["a.parquet", "b.parquet", "c.PARQUET"]);
    }

    #[test]
    fn folder_lists_csv_files_too() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.csv.gz", "a.csv", "c.CSV", "notes.txt", ".hidden.csv", "x.gz"] {
            touch(&dir.path().join(name));
        }
        let got = resolve_inputs(dir.path().to_str().unwrap()).unwrap();
        let names: Vec<_> = got.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["a.csv", "b.csv.gz", "c.CSV"]);
    }

    #[test]
    fn a_folder_or_glob_of_csv_and_parquet_is_an_error_that_says_so() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.csv", "b.parquet", "c.csv.gz"] {
            touch(&dir.path().join(name));
        }
        let err = resolve_inputs(dir.path().to_str().unwrap()).unwrap_err().to_string();
        assert!(err.contains("holds 2 CSV and 1 Parquet files") && err.contains("a.csv and"), "{err}");
        let pattern = format!("{}/*", dir.path().display());
        let err = resolve_inputs(&pattern).unwrap_err().to_string();
        assert!(err.starts_with(&pattern) && err.contains("read one kind at a time"), "{err}");
        // One kind through a glob is fine.
        assert_eq!(resolve_inputs(&format!("{}/*.csv*", dir.path().display())).unwrap().len(), 2);
    }

    #[test]
    fn glob_matches_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["part-2.parquet", "part-10.parquet", "part-1.parquet", "other.parquet"] {
            touch(&dir.path().join(name));
        }
        let pattern = format!("{}/part-*.parquet", dir.path().display());
        let got = resolve_inputs(&pattern).unwrap();
        let names: Vec<_> = got.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["part-1.parquet", "part-10.parquet", "part-2.parquet"]);
    }

    #[test]
    fn missing_path_is_named() {
        let err = resolve_inputs("/nonexistent/custseg/x.parquet").unwrap_err().to_string();
        assert!(err.contains("/nonexistent/custseg/x.parquet") && err.contains("no such file"), "{err}");
    }

    #[test]
    fn empty_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("readme.txt"));
        let err = resolve_inputs(dir.path().to_str().unwrap()).unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()) && err.contains("no *.parquet, *.csv"), "{err}");
    }

    #[test]
    fn glob_matching_nothing_is_an_error_naming_the_pattern() {
        let dir = tempfile::tempdir().unwrap();
        let pattern = format!("{}/*.parquet", dir.path().display());
        let err = resolve_inputs(&pattern).unwrap_err().to_string();
        assert!(err.contains(&pattern) && err.contains("matched no files"), "{err}");
    }

    #[test]
    fn invalid_glob_is_a_usage_error() {
        let err = resolve_inputs("/nonexistent/[z-a.parquet").unwrap_err();
        assert!(err.is_usage(), "{err}");
    }
}
