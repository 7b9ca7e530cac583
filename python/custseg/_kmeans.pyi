"""Type stubs of ``custseg.KMeans``."""

from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin

class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    n_clusters: int
    init: Literal["k-means++", "random"] | npt.ArrayLike
    n_init: Literal["auto"] | int
    max_iter: int
    tol: float
    random_state: int | np.random.RandomState | None
    device: Literal["auto", "cpu", "gpu"]
    exact_sums: bool
    cluster_centers_: npt.NDArray[np.floating]
    labels_: npt.NDArray[np.int32]
    inertia_: float
    n_iter_: int
    n_features_in_: int
    feature_names_in_: npt.NDArray[np.object_]
    backend_: str
    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Literal["k-means++", "random"] | npt.ArrayLike = "k-means++",
        n_init: Literal["auto"] | int = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: int | np.random.RandomState | None = None,
        device: Literal["auto", "cpu", "gpu"] = "auto",
        exact_sums: bool = False,
    ) -> None: ...
    def fit(self, X: Any, y: None = None, sample_weight: npt.ArrayLike | None = None) -> Self: ...
    def fit_predict(self, X: Any, y: None = None, sample_weight: npt.ArrayLike | None = None) -> npt.NDArray[np.int32]: ...
    def predict(self, X: Any) -> npt.NDArray[np.int32]: ...
    def transform(self, X: Any) -> npt.NDArray[np.floating]: ...
    def score(self, X: Any, y: None = None, sample_weight: npt.ArrayLike | None = None) -> float: ...
