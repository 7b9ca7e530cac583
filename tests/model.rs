//! The saved model as the `assign` job will use it: `Model::from_json` reads what `segment` wrote, and
//! `Model::predict` on the training rows gives back `segment`'s labels and distances exactly.

use arrow::array::{Array, Float32Array, UInt32Array};
use custseg::io::{read_features, ReadOptions};
use custseg::model::Model;
use custseg::Matrix;

use crate::util::{expected_got, read_parquet, root, run_in};

#[test]
fn predict_on_the_training_rows_gives_segments_labels_and_distances() {
    let d = tempfile::tempdir().unwrap();
    let input = root().join("data/customers_sample.parquet");
    let o = run_in(
        d.path(),
        &["segment", "--device", "cpu", "--input", input.to_str().unwrap(), "--k", "5", "--log1p", "monetary"],
    );
    assert!(o.status.success(), "segment failed: {}", String::from_utf8_lossy(&o.stderr));
    let model = Model::from_json(&d.path().join("custseg-out/model.json")).expect("the model reads back");
    assert_eq!(model.k(), 5);

    let seg = read_parquet(&d.path().join("custseg-out/segments.parquet"));
    let labels = seg.column_by_name("segment").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap();
    let dist = seg.column_by_name("distance").unwrap().as_any().downcast_ref::<Float32Array>().unwrap();

    let opts = ReadOptions { features: Some(model.features.clone()), ..ReadOptions::default() };
    let table = read_features(&[input], &opts).unwrap();
    let (got_labels, got_dist) = model.predict(table.x).unwrap();
    assert_eq!(got_labels.len(), labels.len());
    let differ = (0..labels.len()).filter(|&i| labels.value(i) != got_labels[i]).count();
    assert_eq!(differ, 0, "{}", expected_got("rows whose predicted label differs", 0, differ));
    let bits = (0..dist.len()).filter(|&i| dist.value(i).to_bits() != got_dist[i].to_bits()).count();
    assert_eq!(bits, 0, "{}", expected_got("rows whose distance differs in its bits", 0, bits));
}

#[test]
fn predict_refuses_rows_of_another_width() {
    let d = tempfile::tempdir().unwrap();
    let o = run_in(d.path(), &["segment", "--device", "cpu", "--k", "3"]);
    assert!(o.status.success(), "segment failed: {}", String::from_utf8_lossy(&o.stderr));
    let model = Model::from_json(&d.path().join("custseg-out/model.json")).unwrap();
    let width = model.features.len() + 1;
    let e = model.predict(Matrix::from_vec(vec![0.0; 2 * width], 2, width)).unwrap_err();
    assert_eq!(e.to_string(), format!("data has {width} features, the model has {}", model.features.len()));
}

#[test]
fn a_file_that_is_not_a_model_is_named() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("notes.json");
    std::fs::write(&p, r#"{"hello": 1}"#).unwrap();
    let e = Model::from_json(&p).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: not a custseg model:", p.display())), "{e}");
    assert!(!e.contains('\n'), "{e}");
    let missing = d.path().join("absent.json");
    let e = Model::from_json(&missing).unwrap_err().to_string();
    assert!(e.contains("absent.json"), "{e}");
}

#[test]
fn a_model_read_back_writes_the_same_bytes() {
    let d = tempfile::tempdir().unwrap();
    let o = run_in(d.path(), &["segment", "--device", "cpu", "--k", "4", "--log1p", "monetary"]);
    assert!(o.status.success(), "segment failed: {}", String::from_utf8_lossy(&o.stderr));
    let path = d.path().join("custseg-out/model.json");
    let text = std::fs::read_to_string(&path).unwrap();
    // Every float (edges, centroids, scaler) parses back to the same bits, so the JSON is the same.
    assert!(Model::from_json(&path).unwrap().to_json() == text, "the model JSON changed on a round trip");
}
