"""Spark local[2] time per Lloyd step on n × d (default 1M × 16, k = 16): custseg.spark.KMeans beside Spark MLlib's
KMeans on the same cached DataFrame, in the same run. Each is fitted with 1 and with 1 + S steps (tol 0, the same
explicit init for custseg; MLlib's "random" init), and the time per step is the difference divided by S. One
untimed fit of each first (Python workers, the JVM's JIT, the native module's import), then R rounds in which the
four fits alternate; each figure is the best of the R.
Usage: python spark_vs_mllib.py [N] [D] [S] [R]
"""

import sys
import time

from pyspark.ml.clustering import KMeans as MLlibKMeans
from pyspark.ml.feature import VectorAssembler

from spark_data import local_blobs

from custseg.spark import KMeans

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
d = int(sys.argv[2]) if len(sys.argv) > 2 else 16
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
k = 16
spark, X, names, df = local_blobs(n, d, k)
vec = VectorAssembler(inputCols=names, outputCol="features").transform(df).select("features").cache()
vec.count()
init = X[:k]


def timed(fit):
    t = time.perf_counter()
    fit()
    return time.perf_counter() - t


fits = {
    "custseg": lambda it: KMeans(k, names, init=init, max_iter=it, tol=0).fit(df),
    "mllib": lambda it: MLlibKMeans(k=k, maxIter=it, tol=0, initMode="random", seed=1).fit(vec),
}
for fit in fits.values():
    fit(1)
best = {(name, it): float("inf") for name in fits for it in (1, 1 + steps)}
for _ in range(rounds):
    for (name, it) in best:
        best[name, it] = min(best[name, it], timed(lambda: fits[name](it)))
ours = {it: round(best["custseg", it], 2) for it in (1, 1 + steps)}
mllib = {it: round(best["mllib", it], 2) for it in (1, 1 + steps)}
print(f"rows {n} x {d}, k = {k}, local[2], {steps} extra steps, best of {rounds}")
print(f"custseg.spark.KMeans: {ours}  per step {(ours[1 + steps] - ours[1]) / steps:.2f} s")
print(f"Spark MLlib KMeans:   {mllib}  per step {(mllib[1 + steps] - mllib[1]) / steps:.2f} s")
spark.stop()
