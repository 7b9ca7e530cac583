//! The generator through the library: a written customers file reads back with the documented schema and rows.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use arrow::record_batch::RecordBatchReader;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use custseg::generate::{customer_schema, segment_recipes, write_customers, GenerateOptions, PLANTED_SEGMENT_COLUMN};

use crate::util::expected_got;

#[test]
fn written_customers_read_back_with_schema_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/customers.parquet");
    let opts = GenerateOptions { customers: 5_000, seed: 42, segments: 6 };
    let summary = write_customers(&opts, &path).unwrap();
    assert_eq!(summary.rows, 5_000);

    let reader =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap().build().unwrap();
    let schema = reader.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let expected = [
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        "avg_basket",
        "tenure_days",
        "n_categories",
        "online_share",
        "returns_rate",
        "planted_segment",
    ];
    assert_eq!(names, expected, "{}", expected_got("columns", expected, &names));
    for (got, want) in schema.fields().iter().zip(customer_schema().fields()) {
        assert_eq!(
            got.data_type(),
            want.data_type(),
            "{}",
            expected_got(got.name(), want.data_type(), got.data_type())
        );
    }
    assert_eq!(schema.field_with_name(PLANTED_SEGMENT_COLUMN).unwrap().data_type(), &DataType::Utf8);

    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 5_000);
    let ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.column_by_name("customer_id").unwrap().as_primitive::<Int64Type>().values().to_vec())
        .collect();
    assert_eq!(ids, (1..=5_000).collect::<Vec<i64>>(), "ids are 1..=N in order");

    // Every planted segment shows up, and the counts agree with the summary.
    let recipes = segment_recipes(6);
    for (r, s) in recipes.iter().zip(&summary.per_segment) {
        assert_eq!(r.name, s.name);
        let rows: usize = batches
            .iter()
            .map(|b| {
                let col = b.column_by_name(PLANTED_SEGMENT_COLUMN).unwrap().as_string::<i32>();
                assert_eq!(col.null_count(), 0);
                col.iter().filter(|v| *v == Some(r.name)).count()
            })
            .sum();
        assert_eq!(rows, s.rows, "{}", expected_got(r.name, s.rows, rows));
        assert!(rows > 0, "{} is present", r.name);
    }
}

#[test]
fn same_options_write_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let opts = GenerateOptions { customers: 5_000, seed: 7, segments: 8 };
    write_customers(&opts, &dir.path().join("a.parquet")).unwrap();
    write_customers(&opts, &dir.path().join("b.parquet")).unwrap();
    let a = std::fs::read(dir.path().join("a.parquet")).unwrap();
    let b = std::fs::read(dir.path().join("b.parquet")).unwrap();
    assert!(a == b, "two runs with the same options differ");
    let names = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect::<Vec<_>>();
    assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");
}
