//! The feature matrix: one contiguous row-major `f32` buffer, `n` rows (customers) by `d` columns (features).

use std::sync::Arc;

use ndarray::{ArrayView2, ArrayViewMut2};

/// Rows owned by someone else (a NumPy array of the Python package), read in place: [`Matrix::shared`].
pub trait SharedRows: Send + Sync + std::fmt::Debug {
    /// The row-major values; the same slice on every call.
    fn values(&self) -> &[f32];
}

/// Row-major `n × d` matrix of `f32`. The one representation of data that every backend consumes.
#[derive(Debug, Clone, Default)]
pub struct Matrix {
    data: Vec<f32>,
    /// Borrowed rows, read in place instead of `data` until the matrix is first changed (then copied into `data`).
    shared: Option<Arc<dyn SharedRows>>,
    n: usize,
    d: usize,
}

impl PartialEq for Matrix {
    fn eq(&self, o: &Self) -> bool {
        (self.n, self.d) == (o.n, o.d) && self.as_slice() == o.as_slice()
    }
}

impl Matrix {
    /// Wraps `data` (length `n * d`, row-major). Panics if the length does not match: a programming error.
    pub fn from_vec(data: Vec<f32>, n: usize, d: usize) -> Self {
        assert_eq!(data.len(), n * d, "matrix data length {} != {} x {}", data.len(), n, d);
        Matrix { data, shared: None, n, d }
    }

    /// Wraps rows owned elsewhere without copying them (`values()` of length `n * d`, row-major). Reads use them in
    /// place; the first change copies them. Panics if the length does not match: a programming error.
    pub fn shared(rows: Arc<dyn SharedRows>, n: usize, d: usize) -> Self {
        assert_eq!(rows.values().len(), n * d, "shared matrix length {} != {} x {}", rows.values().len(), n, d);
        Matrix { data: Vec::new(), shared: Some(rows), n, d }
    }

    pub fn zeros(n: usize, d: usize) -> Self {
        Matrix { data: vec![0.0; n * d], shared: None, n, d }
    }

    /// Copies shared rows into `data` before a change.
    fn own(&mut self) {
        if let Some(s) = self.shared.take() {
            self.data = s.values().to_vec();
        }
    }

    pub fn n(&self) -> usize {
        self.n
    }
    pub fn d(&self) -> usize {
        self.d
    }
    pub fn as_slice(&self) -> &[f32] {
        match &self.shared {
            Some(s) => s.values(),
            None => &self.data,
        }
    }
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        self.own();
        &mut self.data
    }
    pub fn into_vec(mut self) -> Vec<f32> {
        self.own();
        self.data
    }
    pub fn row(&self, i: usize) -> &[f32] {
        &self.as_slice()[i * self.d..(i + 1) * self.d]
    }
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        self.own();
        &mut self.data[i * self.d..(i + 1) * self.d]
    }
    /// Keeps only the rows where `keep[i]` is true, compacting in place (no second copy).
    pub fn retain_rows(&mut self, keep: &[bool]) {
        assert_eq!(keep.len(), self.n);
        self.own();
        let d = self.d;
        let mut w = 0;
        for (r, &k) in keep.iter().enumerate() {
            if k {
                if w != r {
                    self.data.copy_within(r * d..(r + 1) * d, w * d);
                }
                w += 1;
            }
        }
        self.data.truncate(w * d);
        self.n = w;
    }
    /// Keeps only the columns where `keep[j]` is true, in order, compacting in place (no second copy).
    pub fn retain_columns(&mut self, keep: &[bool]) {
        assert_eq!(keep.len(), self.d);
        self.own();
        let cols: Vec<usize> = (0..self.d).filter(|&j| keep[j]).collect();
        let (d, e) = (self.d, cols.len());
        if e == d {
            return;
        }
        // Row r's kept values go to r * e.. <= r * d.., so every read is at or after every earlier write.
        for r in 0..self.n {
            for (k, &j) in cols.iter().enumerate() {
                self.data[r * e + k] = self.data[r * d + j];
            }
        }
        self.data.truncate(self.n * e);
        self.d = e;
    }
    /// An ndarray view, for interop with the ndarray ecosystem.
    pub fn view(&self) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((self.n, self.d), self.as_slice()).expect("shape matches by construction")
    }
    pub fn view_mut(&mut self) -> ArrayViewMut2<'_, f32> {
        self.own();
        ArrayViewMut2::from_shape((self.n, self.d), &mut self.data).expect("shape matches by construction")
    }
    /// Size of the matrix in bytes.
    pub fn bytes(&self) -> usize {
        std::mem::size_of_val(self.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_rows_compacts_in_order() {
        let mut m = Matrix::from_vec((0..12).map(|v| v as f32).collect(), 4, 3);
        m.retain_rows(&[false, true, false, true]);
        assert_eq!(m.n(), 2);
        assert_eq!(m.as_slice(), &[3.0, 4.0, 5.0, 9.0, 10.0, 11.0]);
    }

    #[test]
    fn retain_columns_compacts_in_order() {
        let mut m = Matrix::from_vec((0..12).map(|v| v as f32).collect(), 3, 4);
        m.retain_columns(&[true, false, true, true]);
        assert_eq!((m.n(), m.d()), (3, 3));
        assert_eq!(m.as_slice(), &[0.0, 2.0, 3.0, 4.0, 6.0, 7.0, 8.0, 10.0, 11.0]);
        m.retain_columns(&[true, true, true]);
        assert_eq!(m.d(), 3);
    }

    #[derive(Debug)]
    struct Rows(Vec<f32>);
    impl SharedRows for Rows {
        fn values(&self) -> &[f32] {
            &self.0
        }
    }

    #[test]
    fn shared_rows_are_read_in_place_and_copied_on_the_first_change() {
        let rows = Arc::new(Rows((0..6).map(|v| v as f32).collect()));
        let mut m = Matrix::shared(rows.clone(), 3, 2);
        assert_eq!(m.as_slice().as_ptr(), rows.0.as_ptr());
        assert_eq!(m.row(2), &[4.0, 5.0]);
        assert_eq!(m, Matrix::from_vec((0..6).map(|v| v as f32).collect(), 3, 2));
        m.row_mut(0)[0] = 9.0;
        assert_ne!(m.as_slice().as_ptr(), rows.0.as_ptr());
        assert_eq!(m.as_slice(), &[9.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(rows.0[0], 0.0);
    }

    #[test]
    fn view_has_matrix_shape() {
        let m = Matrix::zeros(5, 2);
        assert_eq!(m.view().shape(), &[5, 2]);
    }
}
