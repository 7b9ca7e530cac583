//! `--pseudonymize` against an independent implementation: Python's hmac made `tests/fixtures/pseudonyms/`
//! (`make_fixture.py`), and every output ID must equal its pseudonym there. The key never shows.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, StringArray};

use crate::util::{fixtures, read_parquet, stderr, stdout, write_parquet};

fn fixture() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixtures().join("pseudonyms/pseudonyms.json")).unwrap()).unwrap()
}

/// A small customers file with `ids` and two features that put them in two clear groups.
fn customers(path: &Path, ids: ArrayRef) {
    let n = ids.len();
    let f = |scale: f64| {
        Arc::new(Float64Array::from_iter_values((0..n).map(|i| (i % 2) as f64 * scale + i as f64 * 0.01))) as ArrayRef
    };
    write_parquet(path, vec![("customer_id", ids), ("spend", f(100.0)), ("visits", f(10.0))]);
}

fn output_ids(path: &Path) -> Vec<String> {
    let b = read_parquet(path);
    let a = b.column_by_name("customer_id").unwrap().as_any().downcast_ref::<StringArray>().unwrap().clone();
    a.iter().map(|v| v.unwrap().to_string()).collect()
}

fn segment_with_key(dir: &Path, input: &str, key_env: Option<&str>, extra: &[&str]) -> std::process::Output {
    let mut cmd = crate::util::custseg();
    cmd.current_dir(dir).env_remove("CUSTSEG_ID_KEY");
    if let Some(k) = key_env {
        cmd.env("CUSTSEG_ID_KEY", k);
    }
    cmd.args(["segment", "--device", "cpu", "--k", "2", "--input", input, "--pseudonymize"]).args(extra);
    cmd.output().unwrap()
}

#[test]
fn integer_and_text_ids_become_pythons_hmac_pseudonyms() {
    let fx = fixture();
    let key = fx["key"].as_str().unwrap();
    let d = tempfile::tempdir().unwrap();
    let ints: Vec<i64> = fx["int_ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    customers(&d.path().join("ints.parquet"), Arc::new(Int64Array::from(ints)));
    let texts: Vec<&str> = fx["text_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    customers(&d.path().join("texts.parquet"), Arc::new(StringArray::from(texts)));
    for (input, want) in [("ints.parquet", "int_pseudonyms"), ("texts.parquet", "text_pseudonyms")] {
        let o = segment_with_key(d.path(), input, Some(key), &["-o", "out.parquet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let want: Vec<&str> = fx[want].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(output_ids(&d.path().join("out.parquet")), want, "{input}");
        assert!(!stderr(&o).contains(key) && !stdout(&o).contains(key), "the key was printed");
        let model = std::fs::read_to_string(d.path().join("custseg-out/model.json")).unwrap();
        assert!(!model.contains(key), "the key is in the model");
    }
    // The same key from a file (with a trailing newline) gives the same pseudonyms.
    std::fs::write(d.path().join("id.key"), format!("{key}\n")).unwrap();
    let o = segment_with_key(d.path(), "ints.parquet", None, &["-o", "file.parquet", "--id-key-file", "id.key"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want: Vec<&str> = fx["int_pseudonyms"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(output_ids(&d.path().join("file.parquet")), want);
}

#[test]
fn assign_gives_the_same_pseudonyms_as_segment() {
    let fx = fixture();
    let key = fx["key"].as_str().unwrap();
    let d = tempfile::tempdir().unwrap();
    let ints: Vec<i64> = fx["int_ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    customers(&d.path().join("ints.parquet"), Arc::new(Int64Array::from(ints)));
    let o = segment_with_key(d.path(), "ints.parquet", Some(key), &["-o", "seg.parquet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = crate::util::custseg()
        .current_dir(d.path())
        .env("CUSTSEG_ID_KEY", key)
        .args(["assign", "--device", "cpu", "--model", "custseg-out/model.json", "--input", "ints.parquet"])
        .args(["-o", "again.parquet", "--pseudonymize"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(output_ids(&d.path().join("again.parquet")), output_ids(&d.path().join("seg.parquet")));
}

#[test]
fn a_missing_or_short_key_is_a_usage_error_before_any_output() {
    let d = tempfile::tempdir().unwrap();
    customers(&d.path().join("c.parquet"), Arc::new(Int64Array::from(vec![1, 2, 3, 4])));
    let o = segment_with_key(d.path(), "c.parquet", None, &["-o", "out/s.parquet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--pseudonymize needs a key: set CUSTSEG_ID_KEY or pass --id-key-file"),
        "{}",
        stderr(&o)
    );
    let o = segment_with_key(d.path(), "c.parquet", Some("tooshort"), &["-o", "out/s.parquet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("the ID key from CUSTSEG_ID_KEY has 8 bytes"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("tooshort"), "the key was printed: {}", stderr(&o));
    assert!(!d.path().join("out").exists(), "no output");
}

#[test]
fn features_writes_pseudonymised_customers() {
    let fx = fixture();
    let key = fx["key"].as_str().unwrap();
    let d = tempfile::tempdir().unwrap();
    let run = |extra: &[&str], env: Option<&str>| {
        let mut cmd = crate::util::custseg();
        cmd.current_dir(d.path()).env_remove("CUSTSEG_ID_KEY");
        if let Some(k) = env {
            cmd.env("CUSTSEG_ID_KEY", k);
        }
        cmd.args(["generate", "--transactions", "3000", "--seed", "2", "--output", "tx.parquet"]);
        assert!(cmd.output().unwrap().status.success());
        let mut cmd = crate::util::custseg();
        cmd.current_dir(d.path()).env_remove("CUSTSEG_ID_KEY");
        if let Some(k) = env {
            cmd.env("CUSTSEG_ID_KEY", k);
        }
        cmd.args(["features", "--transactions", "tx.parquet", "--as-of", "2026-11-01"]).args(extra);
        cmd.output().unwrap()
    };
    let o = run(&["--output", "plain.parquet"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["--output", "pseudo.parquet", "--pseudonymize"], Some(key));
    assert!(o.status.success(), "{}", stderr(&o));
    let plain = read_parquet(&d.path().join("plain.parquet"));
    let ids =
        arrow::compute::cast(plain.column_by_name("customer_id").unwrap(), &arrow::datatypes::DataType::Utf8).unwrap();
    let ids = ids.as_any().downcast_ref::<StringArray>().unwrap();
    let got = output_ids(&d.path().join("pseudo.parquet"));
    assert_eq!(got.len(), ids.len());
    // The pseudonyms are those of the plain IDs, by Python's rule: HMAC-SHA256 of the decimal text, first 16 bytes.
    let key = custseg::pseudonym::IdKey::new(key.as_bytes().to_vec(), "test").unwrap();
    assert!((0..ids.len()).all(|i| got[i] == key.pseudonym(ids.value(i))));
}
