//! Stable segment numbers: seeds that find the same partition number it the same way, biggest spenders first.

use arrow::array::{Array, Float64Array, UInt32Array};

use crate::util::{read_parquet, run_in, stderr};

fn labels(path: &std::path::Path) -> Vec<u32> {
    let b = read_parquet(path);
    b.column_by_name("segment").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap().values().to_vec()
}

#[test]
fn three_seeds_on_well_separated_data_give_identical_segment_numbers() {
    let d = tempfile::tempdir().unwrap();
    let o = run_in(d.path(), &["generate", "--customers", "20000", "--seed", "7", "--output", "c.parquet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut runs = Vec::new();
    for seed in ["1", "2", "3"] {
        let out = format!("s{seed}.parquet");
        let model = format!("m{seed}.json");
        let args = [
            "segment",
            "--input",
            "c.parquet",
            "--k",
            "6",
            "--log1p",
            "monetary,avg_basket",
            "--n-init",
            "3",
            "--seed",
            seed,
            "--device",
            "cpu",
            "--output",
            &out,
            "--model",
            &model,
        ];
        let o = run_in(d.path(), &args);
        assert!(o.status.success(), "{}", stderr(&o));
        runs.push(labels(&d.path().join(&out)));
    }
    for (i, r) in runs.iter().enumerate().skip(1) {
        let differ = r.iter().zip(&runs[0]).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "seed {} numbers {differ} customers differently from seed 1", i + 1);
    }
}

#[test]
fn segments_are_numbered_by_descending_mean_spend() {
    let d = tempfile::tempdir().unwrap();
    let o = run_in(d.path(), &["segment", "--device", "cpu", "--k", "5", "--seed", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let seg = labels(&d.path().join("custseg-out/segments.parquet"));
    let raw = read_parquet(&crate::util::root().join("data/customers_sample.parquet"));
    let m =
        arrow::compute::cast(raw.column_by_name("monetary").unwrap(), &arrow::datatypes::DataType::Float64).unwrap();
    let m = m.as_any().downcast_ref::<Float64Array>().unwrap();
    let (mut sum, mut n) = (vec![0f64; 5], vec![0f64; 5]);
    for (i, &l) in seg.iter().enumerate() {
        sum[l as usize] += m.value(i);
        n[l as usize] += 1.0;
    }
    let means: Vec<f64> = sum.iter().zip(&n).map(|(s, c)| s / c).collect();
    assert!(means.windows(2).all(|w| w[0] >= w[1]), "mean spend by segment number: {means:?}");
}
