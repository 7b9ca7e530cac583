//! K-means parameters: a builder (`KMeansParams`) checked once into a validated type (`ValidParams`).

use crate::matrix::Matrix;

/// How the first centroids of each run are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    /// Greedy k-means++ as scikit-learn does it: `2 + ln k` candidates a step, weighted by sample weight.
    KMeansPlusPlus,
    /// `k` distinct rows drawn at random (weighted by sample weight).
    Random,
    /// Explicit initial centroids, `k × d` row-major. Every run starts from them.
    Given(Matrix),
}

/// Each invalid setting has its own variant.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamsError {
    #[error("k (n_clusters) cannot be 0")]
    KZero,
    #[error("max_iter cannot be 0")]
    MaxIterZero,
    #[error("tol must be finite and >= 0, got {0}")]
    BadTol(f64),
    #[error("n_init cannot be 0")]
    NInitZero,
    #[error("given initial centroids have {got_k} rows of {got_d} columns, expected k = {k} rows")]
    InitShape { k: usize, got_k: usize, got_d: usize },
}

/// Unchecked K-means parameters (a builder). `check()` turns them into [`ValidParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    k: usize,
    max_iter: usize,
    tol: f64,
    n_init: Option<usize>,
    init: Init,
    seed: u64,
    init_sample: InitSample,
}

/// Which rows k-means++ seeds from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitSample {
    /// All rows up to [`InitSample::AUTO_MIN`] or `256·k` rows (whichever is larger); a uniform sample of that
    /// size above it.
    #[default]
    Auto,
    /// Always all rows (exact greedy k-means++ as scikit-learn).
    Full,
    /// A uniform sample of this many rows (all rows if there are fewer).
    Rows(usize),
}

impl InitSample {
    /// The smallest sample `Auto` draws.
    pub const AUTO_MIN: usize = 100_000;

    /// How many rows k-means++ seeds from, for `n` rows and `k` clusters.
    pub fn rows(self, n: usize, k: usize) -> usize {
        match self {
            InitSample::Full => n,
            InitSample::Rows(r) => r.clamp(k, n.max(k)).min(n),
            InitSample::Auto => n.min(Self::AUTO_MIN.max(256 * k)),
        }
    }
}

impl KMeansParams {
    /// Defaults follow scikit-learn: max_iter 300, tol 1e-4, k-means++, n_init 1 for k-means++ and 10 for random.
    pub fn new(k: usize) -> Self {
        KMeansParams {
            k,
            max_iter: 300,
            tol: 1e-4,
            n_init: None,
            init: Init::KMeansPlusPlus,
            seed: 0,
            init_sample: InitSample::Auto,
        }
    }
    pub fn max_iter(mut self, v: usize) -> Self {
        self.max_iter = v;
        self
    }
    /// Relative tolerance: the run converges when the squared centre shift is at most `tol × mean feature variance`.
    pub fn tol(mut self, v: f64) -> Self {
        self.tol = v;
        self
    }
    pub fn n_init(mut self, v: usize) -> Self {
        self.n_init = Some(v);
        self
    }
    pub fn init(mut self, v: Init) -> Self {
        self.init = v;
        self
    }
    pub fn seed(mut self, v: u64) -> Self {
        self.seed = v;
        self
    }
    /// Which rows k-means++ seeds from (default [`InitSample::Auto`]).
    pub fn init_sample(mut self, v: InitSample) -> Self {
        self.init_sample = v;
        self
    }

    /// Validates every setting once.
    pub fn check(self) -> Result<ValidParams, ParamsError> {
        if self.k == 0 {
            return Err(ParamsError::KZero);
        }
        if self.max_iter == 0 {
            return Err(ParamsError::MaxIterZero);
        }
        if !self.tol.is_finite() || self.tol < 0.0 {
            return Err(ParamsError::BadTol(self.tol));
        }
        if self.n_init == Some(0) {
            return Err(ParamsError::NInitZero);
        }
        if let Init::Given(m) = &self.init {
            if m.n() != self.k {
                return Err(ParamsError::InitShape { k: self.k, got_k: m.n(), got_d: m.d() });
            }
        }
        let n_init = match (&self.init, self.n_init) {
            (_, Some(v)) => v,
            (Init::Random, None) => 10,
            _ => 1,
        };
        Ok(ValidParams {
            k: self.k,
            max_iter: self.max_iter,
            tol: self.tol,
            n_init,
            init: self.init,
            seed: self.seed,
            init_sample: self.init_sample,
        })
    }
}

/// Checked parameters: every field is valid. Built only by [`KMeansParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidParams {
    pub(crate) k: usize,
    pub(crate) max_iter: usize,
    pub(crate) tol: f64,
    pub(crate) n_init: usize,
    pub(crate) init: Init,
    pub(crate) seed: u64,
    pub(crate) init_sample: InitSample,
}

impl ValidParams {
    pub fn k(&self) -> usize {
        self.k
    }
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
    pub fn tol(&self) -> f64 {
        self.tol
    }
    pub fn n_init(&self) -> usize {
        self.n_init
    }
    pub fn init(&self) -> &Init {
        &self.init
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn init_sample(&self) -> InitSample {
        self.init_sample
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_cannot_be_zero() {
        assert_eq!(KMeansParams::new(0).check(), Err(ParamsError::KZero));
    }
    #[test]
    fn max_iter_cannot_be_zero() {
        assert_eq!(KMeansParams::new(2).max_iter(0).check(), Err(ParamsError::MaxIterZero));
    }
    #[test]
    fn tol_cannot_be_negative_or_nan() {
        assert!(matches!(KMeansParams::new(2).tol(-1.0).check(), Err(ParamsError::BadTol(_))));
        assert!(matches!(KMeansParams::new(2).tol(f64::NAN).check(), Err(ParamsError::BadTol(_))));
    }
    #[test]
    fn n_init_cannot_be_zero() {
        assert_eq!(KMeansParams::new(2).n_init(0).check(), Err(ParamsError::NInitZero));
    }
    #[test]
    fn n_init_defaults_like_scikit_learn() {
        assert_eq!(KMeansParams::new(3).check().unwrap().n_init(), 1);
        assert_eq!(KMeansParams::new(3).init(Init::Random).check().unwrap().n_init(), 10);
    }
    #[test]
    fn auto_init_sample_uses_all_rows_of_small_data() {
        assert_eq!(InitSample::Auto.rows(20_000, 8), 20_000);
        assert_eq!(InitSample::Auto.rows(10_000_000, 8), 100_000);
        assert_eq!(InitSample::Auto.rows(10_000_000, 1024), 262_144);
        assert_eq!(InitSample::Full.rows(10_000_000, 8), 10_000_000);
        assert_eq!(InitSample::Rows(5).rows(1000, 8), 8, "never fewer rows than k");
        assert_eq!(InitSample::Rows(5000).rows(1000, 8), 1000);
    }

    #[test]
    fn given_init_must_have_k_rows() {
        let r = KMeansParams::new(3).init(Init::Given(Matrix::zeros(2, 4))).check();
        assert!(matches!(r, Err(ParamsError::InitShape { .. })));
    }
}
