//! Input discovery: turns the user's `--input` (one Parquet file, a folder of them, or a glob) into a sorted list of files.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Resolves `spec` to the Parquet files to read, in a stable order.
///
/// - an existing file: just that file (its extension is not checked; the reader reports a non-Parquet file);
/// - an existing folder: every `*.parquet` file directly in it (not in subfolders, hidden files skipped), sorted
///   by name;
/// - otherwise, a glob pattern (`data/*.parquet`, `part-[0-9]*.parquet`): the files it matches, sorted.
///
/// Errors name the path or pattern: it does not exist, a folder has no `*.parquet` file, a pattern matches no file.
pub fn resolve_inputs(spec: &str) -> Result<Vec<PathBuf>> {
    if spec.is_empty() {
        return Err(Error::Usage("empty input path".into()));
    }
    let path = Path::new(spec);
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if path.is_dir() {
        return parquet_files_in(path);
    }
    if path.exists() {
        return Err(Error::input(path, "is neither a file nor a folder"));
    }
    if spec.contains(['*', '?', '[']) {
        return glob_files(spec);
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

fn parquet_files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::input(dir, format!("cannot list folder: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::input(dir, format!("cannot list folder: {e}")))?;
        let p = entry.path();
        if is_parquet_name(&p) && p.is_file() {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(Error::input(dir, "folder has no *.parquet files"));
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
        assert!(err.contains(&dir.path().display().to_string()) && err.contains("no *.parquet files"), "{err}");
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
