"""custseg: customer segmentation with K-means on the GPU or the CPU.

- :class:`custseg.KMeans`, a scikit-learn estimator over the native fit;
- :mod:`custseg.spark`, K-means across a Spark cluster whose per-cluster sums are exact integers, so the centres are
  the same bits whatever the partitioning (import it explicitly: it needs pyspark).
"""

from ._kmeans import KMeans
from ._native import __version__

__all__ = ["KMeans", "__version__"]
