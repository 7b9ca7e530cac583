//! Atomic output: write to a temporary file beside the target, then rename, so a failed run leaves no partial file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The temporary path used while `path` is being written: same folder (so the rename is atomic), hidden name.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.custseg-tmp-{}", std::process::id()))
}

/// Checks, before any work starts, that `path` can be created: it is not a folder, and its folder is writable or,
/// if missing, can be made inside the nearest existing ancestor, which must be a writable folder. Creates nothing
/// (missing folders are made by [`write_atomically`] when the output is written), so a run that fails later
/// leaves nothing behind, not even an empty folder.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(Error::output(path, "empty output path"));
    }
    if path.is_dir() {
        return Err(Error::output(path, "is a directory"));
    }
    let parent = parent_of(path);
    // `ancestors` ends, even when nothing exists (a deleted working folder): then "." fails the folder test below.
    let existing = parent.ancestors().find(|a| !a.as_os_str().is_empty() && a.exists()).unwrap_or(Path::new("."));
    if !existing.is_dir() {
        return Err(Error::output(
            path,
            format!("cannot create folder {}: {} is not a folder", parent.display(), existing.display()),
        ));
    }
    let probe = existing.join(format!(".custseg-probe-{}", std::process::id()));
    match File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if existing == parent => Err(Error::output(path, e)),
        Err(e) => Err(Error::output(path, format!("cannot create folder {}: {e}", parent.display()))),
    }
}

/// The folder `path` goes in (`.` for a bare file name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `path` atomically: `write` fills a buffered temporary file, which is flushed, synced and renamed over
/// `path` only if `write` succeeds. On any error the temporary file is removed and `path` is untouched.
pub(crate) fn write_atomically<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<()>,
{
    let tmp = temp_path(path);
    let parent = parent_of(path);
    if !parent.exists() {
        std::fs::create_dir_all(&parent)
            .map_err(|e| Error::output(path, format!("cannot create folder {}: {e}", parent.display())))?;
    }
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| Error::output(path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        w.flush().map_err(|e| Error::output(path, e))?;
        let file = w.into_inner().map_err(|e| Error::output(path, e.error()))?;
        file.sync_all().map_err(|e| Error::output(path, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::output(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes bytes atomically.
pub(crate) fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, |w| w.write_all(bytes).map_err(|e| Error::output(path, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.bin");
        let r = write_atomically(&p, |_| Err(Error::Data("boom".into())));
        assert!(r.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no file, temporary or final, is left");
    }

    #[test]
    fn successful_write_replaces_target() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        std::fs::write(&p, b"old").unwrap();
        write_bytes_atomically(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_check_creates_no_folder_and_the_write_makes_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/out.txt");
        check_writable(&p).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the check left something behind");
        write_bytes_atomically(&p, b"x").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"x");
        // A file where a folder should be is an error before any work.
        let f = dir.path().join("file");
        std::fs::write(&f, b"").unwrap();
        assert!(matches!(check_writable(&f.join("out.txt")), Err(Error::Output { .. })));
    }

    #[test]
    fn unwritable_folder_is_reported_before_work() {
        let r = check_writable(Path::new("/proc/custseg-cannot-write/x.parquet"));
        assert!(matches!(r, Err(Error::Output { .. })));
    }
}
