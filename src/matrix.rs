//! The feature matrix: one contiguous row-major `f32` buffer, `n` rows (customers) by `d` columns (features).

use ndarray::{ArrayView2, ArrayViewMut2};

/// Row-major `n × d` matrix of `f32`. The one representation of data that every backend consumes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matrix {
    data: Vec<f32>,
    n: usize,
    d: usize,
}

impl Matrix {
    /// Wraps `data` (length `n * d`, row-major). Panics if the length does not match: a programming error.
    pub fn from_vec(data: Vec<f32>, n: usize, d: usize) -> Self {
        assert_eq!(data.len(), n * d, "matrix data length {} != {} x {}", data.len(), n, d);
        Matrix { data, n, d }
    }

    pub fn zeros(n: usize, d: usize) -> Self {
        Matrix { data: vec![0.0; n * d], n, d }
    }

    pub fn n(&self) -> usize {
        self.n
    }
    pub fn d(&self) -> usize {
        self.d
    }
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.d..(i + 1) * self.d]
    }
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.data[i * self.d..(i + 1) * self.d]
    }
    /// Keeps only the rows where `keep[i]` is true, compacting in place (no second copy).
    pub fn retain_rows(&mut self, keep: &[bool]) {
        assert_eq!(keep.len(), self.n);
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
        ArrayView2::from_shape((self.n, self.d), &self.data).expect("shape matches by construction")
    }
    pub fn view_mut(&mut self) -> ArrayViewMut2<'_, f32> {
        ArrayViewMut2::from_shape((self.n, self.d), &mut self.data).expect("shape matches by construction")
    }
    /// Size of the matrix in bytes.
    pub fn bytes(&self) -> usize {
        self.data.len() * std::mem::size_of::<f32>()
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

    #[test]
    fn view_has_matrix_shape() {
        let m = Matrix::zeros(5, 2);
        assert_eq!(m.view().shape(), &[5, 2]);
    }
}
