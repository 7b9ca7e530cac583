//! Column conversion: which Arrow types are features, weights and IDs, and a decoded numeric column written as
//! `f32` into its column of the row-major matrix (a null becomes NaN), with its counts of nulls and NaN/infinite
//! values.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Decimal128Type, Decimal256Type, Decimal32Type, Decimal64Type, Float16Type,
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};

/// Whether `t` converts to `f32` as a feature or weight.
pub(crate) fn is_numeric(t: &DataType) -> bool {
    use DataType::*;
    match t {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float16 | Float32 | Float64 => true,
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => true,
        Dictionary(_, v) => !matches!(**v, Dictionary(..)) && is_numeric(v),
        _ => false,
    }
}

/// The type IDs of type `t` are kept as (a dictionary is decoded), or `None` if `t` cannot hold IDs.
pub(crate) fn id_value_type(t: &DataType) -> Option<DataType> {
    use DataType::*;
    match t {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Utf8 | LargeUtf8 | Utf8View => {
            Some(t.clone())
        }
        Dictionary(_, v) if !matches!(**v, Dictionary(..)) => id_value_type(v),
        _ => None,
    }
}

/// Writes column `a` into `out` (`rows × st`, row-major) at column `col`, as `f32`; a null becomes NaN.
/// Returns the number of nulls and of non-null values that are NaN or ±infinite (after conversion).
pub(crate) fn write_column(
    a: &dyn Array,
    out: &mut [f32],
    st: usize,
    col: usize,
) -> std::result::Result<(usize, usize), String> {
    use DataType::*;
    debug_assert_eq!(out.len(), a.len() * st);
    let written_non_finite = match a.data_type() {
        Int8 => fill(values::<Int8Type>(a), out, st, col, |v| v as f32),
        Int16 => fill(values::<Int16Type>(a), out, st, col, |v| v as f32),
        Int32 => fill(values::<Int32Type>(a), out, st, col, |v| v as f32),
        Int64 => fill(values::<Int64Type>(a), out, st, col, |v| v as f32),
        UInt8 => fill(values::<UInt8Type>(a), out, st, col, |v| v as f32),
        UInt16 => fill(values::<UInt16Type>(a), out, st, col, |v| v as f32),
        UInt32 => fill(values::<UInt32Type>(a), out, st, col, |v| v as f32),
        UInt64 => fill(values::<UInt64Type>(a), out, st, col, |v| v as f32),
        Float16 => fill(values::<Float16Type>(a), out, st, col, |v| v.to_f32()),
        Float32 => fill(values::<Float32Type>(a), out, st, col, |v| v),
        Float64 => fill(values::<Float64Type>(a), out, st, col, |v| v as f32),
        Decimal32(_, s) => {
            let k = scale_factor(*s);
            fill(values::<Decimal32Type>(a), out, st, col, |v| (v as f64 / k) as f32)
        }
        Decimal64(_, s) => {
            let k = scale_factor(*s);
            fill(values::<Decimal64Type>(a), out, st, col, |v| (v as f64 / k) as f32)
        }
        Decimal128(_, s) => {
            let k = scale_factor(*s);
            fill(values::<Decimal128Type>(a), out, st, col, |v| (v as f64 / k) as f32)
        }
        Decimal256(_, s) => {
            let k = scale_factor(*s);
            fill(values::<Decimal256Type>(a), out, st, col, |v| {
                let v = v.to_i128().map(|v| v as f64).unwrap_or_else(|| {
                    // Beyond i128: the high part dominates, so the sum loses nothing that f32 keeps.
                    let (lo, hi) = v.to_parts();
                    hi as f64 * 2f64.powi(128) + lo as f64
                });
                (v / k) as f32
            })
        }
        Dictionary(_, v) => {
            let decoded = arrow::compute::cast(a, v).map_err(|e| e.to_string())?;
            return write_column(decoded.as_ref(), out, st, col);
        }
        t => return Err(format!("type {t} is not numeric")),
    };
    match a.logical_nulls().filter(|n| n.null_count() > 0) {
        // No nulls: the count made while writing is the answer.
        None => Ok((0, written_non_finite)),
        // The values under nulls are unspecified: mark them NaN and count the column again.
        Some(n) => {
            for i in (0..a.len()).filter(|&i| n.is_null(i)) {
                out[i * st + col] = f32::NAN;
            }
            let non_finite = out.iter().skip(col).step_by(st).filter(|v| !v.is_finite()).count();
            Ok((n.null_count(), non_finite - n.null_count()))
        }
    }
}

/// The values of primitive array `a` of type `T` (a null's slot holds an arbitrary value).
fn values<T: ArrowPrimitiveType>(a: &dyn Array) -> &[T::Native] {
    a.as_primitive::<T>().values()
}

/// `10^scale`: a decimal's stored integer divided by this is its value.
fn scale_factor(scale: i8) -> f64 {
    10f64.powi(scale as i32)
}

/// The stride loop: `dst[i * stride + col] = f(values[i])`; returns how many written values are NaN or ±infinite.
#[inline]
fn fill<T: Copy>(values: &[T], dst: &mut [f32], stride: usize, col: usize, f: impl Fn(T) -> f32) -> usize {
    assert!(col < stride);
    let mut non_finite = 0;
    for (row, &v) in dst.chunks_exact_mut(stride).zip(values) {
        let y = f(v);
        row[col] = y;
        non_finite += usize::from(!y.is_finite());
    }
    non_finite
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, Decimal128Array, Decimal256Array, Decimal32Array, Decimal64Array, DictionaryArray, Float16Array,
        Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, Int8Array, ListArray, StringArray, UInt16Array,
        UInt32Array, UInt64Array, UInt8Array,
    };
    use arrow::datatypes::i256;

    use crate::io::parquet::{decode_row_group, load_metadata};
    use crate::test_util::write_parquet;

    fn ids3() -> ArrayRef {
        Arc::new(Int64Array::from(vec![1, 2, 3]))
    }

    #[test]
    fn every_numeric_type_converts_to_f32() {
        let dir = tempfile::tempdir().unwrap();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("id", ids3()),
            ("i8", Arc::new(Int8Array::from(vec![-1, 0, 127]))),
            ("i16", Arc::new(Int16Array::from(vec![-300, 0, 300]))),
            ("i32", Arc::new(Int32Array::from(vec![-70000, 1, 70000]))),
            ("i64", Arc::new(Int64Array::from(vec![-(1 << 40), 2, 1 << 40]))),
            ("u8", Arc::new(UInt8Array::from(vec![0, 1, 255]))),
            ("u16", Arc::new(UInt16Array::from(vec![0, 1, 65535]))),
            ("u32", Arc::new(UInt32Array::from(vec![0, 1, 4_000_000_000]))),
            ("u64", Arc::new(UInt64Array::from(vec![0, 1, 1 << 50]))),
            (
                "f16",
                Arc::new(Float16Array::from(vec![
                    half::f16::from_f32(0.5),
                    half::f16::from_f32(-2.0),
                    half::f16::from_f32(1024.0),
                ])),
            ),
            ("f32", Arc::new(Float32Array::from(vec![0.25, -1.5, 3.0e10]))),
            ("f64", Arc::new(Float64Array::from(vec![0.125, -1e-3, 1e20]))),
            ("d32", Arc::new(Decimal32Array::from(vec![12345, -5, 0]).with_precision_and_scale(9, 2).unwrap())),
            ("d64", Arc::new(Decimal64Array::from(vec![12345, -5, 0]).with_precision_and_scale(18, 3).unwrap())),
            ("d128", Arc::new(Decimal128Array::from(vec![12345, -5, 0]).with_precision_and_scale(30, 1).unwrap())),
            (
                "d256",
                Arc::new(
                    Decimal256Array::from(vec![i256::from_i128(12345), i256::from_i128(-5), i256::from_i128(0)])
                        .with_precision_and_scale(50, 4)
                        .unwrap(),
                ),
            ),
            (
                "dict",
                Arc::new(DictionaryArray::<Int32Type>::new(
                    Int32Array::from(vec![1, 0, 1]),
                    Arc::new(Float64Array::from(vec![7.5, -8.0])),
                )),
            ),
        ];
        let names: Vec<String> = cols.iter().skip(1).map(|(n, _)| n.to_string()).collect();
        let f = write_parquet(dir.path(), "types.parquet", cols);
        // Through a Parquet file, as the reader sees them: every type comes back numeric and converts.
        let meta = load_metadata(&f).unwrap();
        let roots: Vec<usize> = (0..=names.len()).collect();
        let mut x = vec![0f32; 3 * names.len()];
        decode_row_group(&f, &meta, &roots, 0, 3, 1024, |b, _| {
            assert!(id_value_type(b.column(0).data_type()).is_some());
            for j in 0..names.len() {
                let c = b.column(j + 1);
                assert!(is_numeric(c.data_type()), "{}: {}", names[j], c.data_type());
                assert_eq!(write_column(c.as_ref(), &mut x, names.len(), j), Ok((0, 0)), "{}", names[j]);
            }
            Ok(())
        })
        .unwrap();
        let expect: [[f32; 16]; 3] = [
            [
                -1.0,
                -300.0,
                -70000.0,
                -((1u64 << 40) as f32),
                0.0,
                0.0,
                0.0,
                0.0,
                0.5,
                0.25,
                0.125,
                123.45,
                12.345,
                1234.5,
                1.2345,
                -8.0,
            ],
            [0.0, 0.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0, -2.0, -1.5, -1e-3, -0.05, -0.005, -0.5, -0.0005, 7.5],
            [
                127.0,
                300.0,
                70000.0,
                (1u64 << 40) as f32,
                255.0,
                65535.0,
                4.0e9,
                (1u64 << 50) as f32,
                1024.0,
                3.0e10,
                1e20,
                0.0,
                0.0,
                0.0,
                0.0,
                -8.0,
            ],
        ];
        for (i, row) in expect.iter().enumerate() {
            for (j, &e) in row.iter().enumerate() {
                let got = x[i * 16 + j];
                assert!(
                    (got - e).abs() <= 1e-6 * e.abs().max(1.0),
                    "row {i} column {}: expected {e}, got {got}",
                    names[j]
                );
            }
        }
    }

    #[test]
    fn negative_decimal_scale_multiplies() {
        assert_eq!(scale_factor(-2), 0.01);
        let a = Decimal128Array::from(vec![7]).with_precision_and_scale(10, -2).unwrap();
        let mut dst = [0f32; 1];
        write_column(&a, &mut dst, 1, 0).unwrap();
        assert_eq!(dst[0], 700.0);
    }

    #[test]
    fn nulls_become_nan_and_are_counted_apart_from_nan_and_infinite_values() {
        let a = Float64Array::from(vec![Some(1.0), None, Some(f64::NAN), Some(f64::INFINITY), None]);
        // Column 1 of a 5 × 2 matrix; column 0 is left alone.
        let mut dst = [7f32; 10];
        assert_eq!(write_column(&a, &mut dst, 2, 1), Ok((2, 2)));
        assert_eq!(dst.iter().step_by(2).copied().collect::<Vec<_>>(), [7.0; 5]);
        let col: Vec<f32> = dst.iter().skip(1).step_by(2).copied().collect();
        assert_eq!(col[0], 1.0);
        assert!(col[1].is_nan() && col[2].is_nan() && col[3].is_infinite() && col[4].is_nan());
        // Integers cannot be NaN, but their nulls still are.
        let mut dst = [0f32; 3];
        assert_eq!(write_column(&Int32Array::from(vec![Some(4), None, Some(-1)]), &mut dst, 1, 0), Ok((1, 0)));
        assert_eq!((dst[0], dst[2]), (4.0, -1.0));
    }

    #[test]
    fn feature_and_id_types() {
        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
        for t in [DataType::Utf8, DataType::Boolean, DataType::Date32, list.data_type().clone()] {
            assert!(!is_numeric(&t), "{t}");
        }
        let dict = |v: DataType| DataType::Dictionary(Box::new(DataType::Int32), Box::new(v));
        assert!(is_numeric(&dict(DataType::Float32)) && !is_numeric(&dict(DataType::Utf8)));
        assert!(!is_numeric(&dict(dict(DataType::Float32))));
        assert_eq!(id_value_type(&dict(DataType::Utf8)), Some(DataType::Utf8));
        assert_eq!(id_value_type(&DataType::UInt32), Some(DataType::UInt32));
        assert_eq!(id_value_type(&DataType::Float64), None);
        assert_eq!(id_value_type(&dict(dict(DataType::Utf8))), None);
        let mut dst = [0f32; 1];
        assert_eq!(write_column(&StringArray::from(vec!["1"]), &mut dst, 1, 0), Err("type Utf8 is not numeric".into()));
    }
}
