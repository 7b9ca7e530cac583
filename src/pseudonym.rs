//! Pseudonymised customer IDs for outputs that leave the analytics team: the lowercase hex of the first 16 bytes
//! of HMAC-SHA256(key, the ID as UTF-8 text, integers in decimal). The data owner, who holds the key, can recompute
//! a pseudonym to join back; nobody without it can recover an ID. The key is never logged or written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::datatypes::DataType;
use hmac::{Hmac, KeyInit, Mac};
use rayon::prelude::*;
use sha2::Sha256;

use crate::error::{Error, Result};

/// The environment variable that holds the key when no key file is given.
pub const KEY_ENV: &str = "CUSTSEG_ID_KEY";
/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;
/// Bytes of the HMAC kept (32 hex digits).
const KEEP_BYTES: usize = 16;

/// The secret key. Its `Debug` shows no byte of it.
#[derive(Clone, PartialEq, Eq)]
pub struct IdKey(Vec<u8>);

impl std::fmt::Debug for IdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdKey(<{} bytes, redacted>)", self.0.len())
    }
}

impl IdKey {
    /// A key of at least [`MIN_KEY_BYTES`] bytes.
    pub fn new(bytes: Vec<u8>, origin: &str) -> Result<IdKey> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(Error::Usage(format!(
                "the ID key from {origin} has {} bytes; pseudonyms need a key of at least {MIN_KEY_BYTES} bytes \
                 (for example: head -c 32 /dev/urandom | base64 > id.key)",
                bytes.len()
            )));
        }
        Ok(IdKey(bytes))
    }

    /// The key from `file` (its bytes, less one trailing newline) or else from [`KEY_ENV`].
    pub fn load(file: Option<&Path>) -> Result<IdKey> {
        match file {
            Some(p) => {
                let mut bytes =
                    std::fs::read(p).map_err(|e| Error::input(p, format!("cannot read the ID key: {e}")))?;
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                IdKey::new(bytes, &p.display().to_string())
            }
            None => match std::env::var_os(KEY_ENV) {
                Some(v) => IdKey::new(v.into_encoded_bytes(), KEY_ENV),
                None => Err(Error::Usage(format!(
                    "--pseudonymize needs a key: set {KEY_ENV} or pass --id-key-file (at least {MIN_KEY_BYTES} bytes)"
                ))),
            },
        }
    }

    /// The pseudonym of one ID given as text.
    pub fn pseudonym(&self, id: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(2 * KEEP_BYTES);
        for b in &digest[..KEEP_BYTES] {
            out.push(char::from_digit(u32::from(b >> 4), 16).expect("a hex digit"));
            out.push(char::from_digit(u32::from(b & 15), 16).expect("a hex digit"));
        }
        out
    }

    /// The pseudonyms of an ID column (integers in decimal, text as it is), in parallel; nulls stay null.
    pub fn pseudonymize(&self, ids: &ArrayRef) -> Result<ArrayRef> {
        let text = arrow::compute::cast(ids, &DataType::Utf8)
            .map_err(|e| Error::Data(format!("IDs of type {} cannot be pseudonymised: {e}", ids.data_type())))?;
        let text = text.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
        let out: Vec<Option<String>> =
            (0..text.len()).into_par_iter().map(|i| text.is_valid(i).then(|| self.pseudonym(text.value(i)))).collect();
        Ok(Arc::new(StringArray::from(out)))
    }
}

/// What the command line asked for: `--pseudonymize`, and where the key is.
#[derive(Debug, Clone, Default)]
pub struct PseudonymRequest {
    pub enabled: bool,
    pub key_file: Option<PathBuf>,
}

impl PseudonymRequest {
    /// The key, when pseudonyms are asked for: read and checked before any work starts.
    pub fn key(&self) -> Result<Option<IdKey>> {
        if !self.enabled {
            if self.key_file.is_some() {
                return Err(Error::Usage("--id-key-file is given without --pseudonymize".into()));
            }
            return Ok(None);
        }
        IdKey::load(self.key_file.as_deref()).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;

    fn key() -> IdKey {
        IdKey::new(b"0123456789abcdef".to_vec(), "test").unwrap()
    }

    #[test]
    fn integers_are_pseudonymised_as_their_decimal_text() {
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![Some(42), None, Some(-7)]));
        let p = key().pseudonymize(&ints).unwrap();
        let p = p.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(p.value(0), key().pseudonym("42"));
        assert!(p.is_null(1));
        assert_eq!(p.value(2), key().pseudonym("-7"));
        assert_eq!(p.value(0).len(), 32);
        assert!(p.value(0).chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    }

    #[test]
    fn a_short_key_is_refused_and_no_key_is_shown() {
        let e = IdKey::new(b"short".to_vec(), "CUSTSEG_ID_KEY").unwrap_err().to_string();
        assert!(e.contains("has 5 bytes") && e.contains("at least 16"), "{e}");
        assert!(!e.contains("short"), "the message shows the key: {e}");
        assert_eq!(format!("{:?}", key()), "IdKey(<16 bytes, redacted>)");
    }

    #[test]
    fn rfc_4231_test_case_2() {
        // HMAC-SHA256(key = "Jefe", "what do ya want for nothing?"), first 16 bytes; the 16-byte minimum is the
        // CLI's rule, not HMAC's, so the key is built directly here.
        let k = IdKey(b"Jefe".to_vec());
        assert_eq!(k.pseudonym("what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c7");
    }
}
