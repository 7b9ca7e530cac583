"""``custseg.KMeans``: a scikit-learn estimator over the native K-means of custseg.

On the CPU (``device="cpu"``, and ``"auto"`` without a hardware GPU) each Lloyd step's per-cluster sums are exact
integers with one global fixed-point scale, so the fit gives the same bits as ``custseg.spark.KMeans`` on the same
rows, however they are partitioned. On the GPU the sums are exact integers too, with the GPU's own scale.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, _fit_context
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _native
from ._data import arrow_matrix, as_float32, check_finite, check_pandas_columns, is_arrow_like, is_pandas


class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """K-means clustering (Lloyd's algorithm) on the CPU or the GPU, with scikit-learn's API.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.
    init : {"k-means++", "random"} or array-like of shape (n_clusters, n_features), default="k-means++"
        "k-means++": greedy k-means++ as scikit-learn (on a uniform sample of max(100 000, 256·k) rows when there
        are more); "random": k distinct rows drawn at random; an array: the initial centres of every run.
    n_init : "auto" or int, default="auto"
        Runs from different seeds; the one with the lowest inertia is kept. "auto": 1 for k-means++ and an array,
        10 for "random".
    max_iter : int, default=300
        The most Lloyd steps per run.
    tol : float, default=1e-4
        A run converges when the squared centre shift is at most ``tol`` times the mean feature variance (or when
        no label changes).
    random_state : int, RandomState instance or None, default=None
        The seed of the initialisation.
    device : {"auto", "cpu", "gpu"}, default="auto"
        "cpu": the CPU; "gpu": the GPU (an error if there is none); "auto": a hardware GPU if there is one, else
        the CPU.
    exact_sums : bool, default=False
        On the CPU, add each step's per-cluster sums as exact integers (a fixed-point scale of the whole data), so
        the fit gives the same bits as ``custseg.spark.KMeans`` on any partitioning, at about 1.15 times the time
        per step. Without it, the CPU fit is the CLI's (``custseg segment --device cpu`` gives the same bits on the
        same matrix); the labels are the same either way, the centres agree to float32 rounding.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,), int32
    inertia_ : float
        Sum of (weighted) squared distances of the rows to their centre.
    n_iter_ : int
        Lloyd steps of the run kept.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string column names (a DataFrame or an Arrow table).
    backend_ : str
        Where the fit ran, e.g. "cpu avx2 (2 threads)" (with ", exact sums" when ``exact_sums``).
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "device": [StrOptions({"auto", "cpu", "gpu"})],
        "exact_sums": ["boolean"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        random_state=None,
        device="auto",
        exact_sums=False,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.exact_sums = exact_sums

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # -- input -------------------------------------------------------------------------------------------------

    def _check_X(self, X, reset):
        """X as validated (float32 or float64) and as a C-contiguous float32 matrix (the same array when X already
        is one)."""
        if is_arrow_like(X):
            columns = None if reset else getattr(self, "feature_names_in_", None)
            X32, names = arrow_matrix(X, None if columns is None else list(columns))
            if reset:
                validate_data(self, X32, reset=True, ensure_all_finite=False)
                self.feature_names_in_ = np.asarray(names, dtype=object)
            elif X32.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X32.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input"
                )
            check_finite(X32, names)
            return X32, X32
        if is_pandas(X):
            check_pandas_columns(X)
            fitted = getattr(self, "feature_names_in_", None)
            if not reset and fitted is not None:
                missing = [str(n) for n in fitted if n not in set(map(str, X.columns))]
                if missing:
                    try:
                        validate_data(self, X, reset=False, ensure_all_finite=False)
                    except ValueError as e:
                        raise ValueError(
                            f"X has no column '{missing[0]}' ({len(missing)} of the model's {len(fitted)} features "
                            f"are missing); pass the columns the model was fitted on\n{e}"
                        ) from None
        X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32], ensure_all_finite=False)
        X32 = as_float32(X)
        # On the float32 matrix the fit reads (a float64 value beyond float32's range is an infinity there too).
        check_finite(X32, getattr(self, "feature_names_in_", None))
        return X, X32

    def _init_args(self, n_features):
        if isinstance(self.init, str):
            return self.init, None
        centres = np.asarray(self.init, dtype=np.float64)
        if centres.shape != (self.n_clusters, n_features):
            raise ValueError(
                f"init has shape {centres.shape}, expected (n_clusters, n_features) = "
                f"({self.n_clusters}, {n_features})"
            )
        if not np.isfinite(centres).all():
            raise ValueError("init has NaN or infinite values")
        return "given", as_float32(centres)

    # -- fitting -----------------------------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fits the clustering to X (array-like, DataFrame or Arrow object), with optional sample weights."""
        Xv, X32 = self._check_X(X, reset=True)
        n, d = X32.shape
        if n < self.n_clusters:
            raise ValueError(
                f"n_samples={n} should be >= n_clusters={self.n_clusters}: "
                f"k = {self.n_clusters} is larger than the number of rows ({n})"
            )
        w = None
        if sample_weight is not None:
            w = as_float32(_check_sample_weight(sample_weight, X32, dtype=np.float32, ensure_non_negative=True))
        init, centres = self._init_args(d)
        if self.n_init == "auto":
            n_init = 10 if init == "random" else 1
        else:
            n_init = int(self.n_init)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        c, labels, _, inertia, n_iter, backend = _native.fit(
            X32, w, int(self.n_clusters), init, centres, n_init, int(self.max_iter), float(self.tol), seed,
            self.device, bool(self.exact_sums),
        )
        self.cluster_centers_ = c.astype(Xv.dtype, copy=False)
        self.labels_ = labels
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        self.backend_ = backend
        self._n_features_out = self.cluster_centers_.shape[0]
        return self

    # -- using a fit -------------------------------------------------------------------------------------------

    def _assign(self, X):
        check_is_fitted(self)
        X32 = self._check_X(X, reset=False)[1]
        labels, dist2 = _native.assign(X32, as_float32(self.cluster_centers_))
        return X32, labels, dist2

    def predict(self, X):
        """The nearest centre of each row (the lowest index on exact ties)."""
        return self._assign(X)[1]

    def transform(self, X):
        """Euclidean distances of each row to every centre, shape (n_samples, n_clusters)."""
        check_is_fitted(self)
        Xv = self._check_X(X, reset=False)[0]
        return euclidean_distances(Xv, self.cluster_centers_.astype(Xv.dtype, copy=False))

    def score(self, X, y=None, sample_weight=None):
        """Minus the (weighted) sum of squared distances of the rows of X to their nearest centre."""
        X32, _, dist2 = self._assign(X)
        w = _check_sample_weight(sample_weight, X32, dtype=np.float64)
        return -float(np.dot(w, dist2.astype(np.float64)))
