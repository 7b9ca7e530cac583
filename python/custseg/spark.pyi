"""Type stubs of ``custseg.spark``."""

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

class KMeansModel:
    features: list[str]
    cluster_centers_: npt.NDArray[np.float32]
    inertia_: float
    n_iter_: int
    n_rows_: int
    def transform(self, df: Any) -> Any: ...

class KMeans:
    def __init__(
        self,
        n_clusters: int,
        features: list[str],
        init: Literal["k-means||"] | npt.ArrayLike = "k-means||",
        max_iter: int = 300,
        tol: float = 1e-4,
        seed: int = 0,
        device: Literal["auto", "cpu", "gpu"] = "auto",
        init_steps: int = 2,
    ) -> None: ...
    def fit(self, df: Any) -> KMeansModel: ...
