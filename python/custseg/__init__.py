"""custseg: customer segmentation with K-means on the GPU or the CPU.

- :class:`custseg.KMeans`, a scikit-learn estimator over the native fit;
- :mod:`custseg.spark`, K-means across a Spark cluster whose per-cluster sums are exact integers, so the centres are
  the same bits whatever the partitioning (import it explicitly: it needs pyspark);
- the CLI's jobs as functions: :func:`segment`, :func:`choose_k`, :func:`features`, :func:`compare`, and
  :func:`load_model` with :meth:`Model.assign`; tables in and out (pyarrow), the summary as a dict.
"""

from ._jobs import (
    AssignResult,
    ChooseKResult,
    CompareResult,
    FeaturesResult,
    Model,
    SegmentResult,
    choose_k,
    compare,
    features,
    load_model,
    segment,
)
from ._kmeans import KMeans
from ._native import __version__

__all__ = [
    "AssignResult",
    "ChooseKResult",
    "CompareResult",
    "FeaturesResult",
    "KMeans",
    "Model",
    "SegmentResult",
    "__version__",
    "choose_k",
    "compare",
    "features",
    "load_model",
    "segment",
]
