"""Where a custseg.spark step's time goes, on the data of spark_vs_mllib.py (default 1M × 16, k = 16, local[2]).

Times, each the best of R after one untimed run: (a) a ``mapInArrow`` pass over the cached features that only turns
each partition into the float32 matrix and returns one row (what every step pays to reach the kernel); (b) the same
pass calling the native kernel, as one step of ``custseg.spark.KMeans`` does (without the driver's addition);
(c) the native kernel alone on the whole matrix in this process; (d) pass (b) over the rows packed into one binary
column, as the fit caches them (``custseg.spark._packer``).
Usage: python spark_pass_cost.py [N] [D] [R]
"""

import sys
import time

import numpy as np

from spark_data import local_blobs

from custseg import _native
from custseg.spark import _packed_matrix, _packer, _partition_matrix

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
d = int(sys.argv[2]) if len(sys.argv) > 2 else 16
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
k = 16
spark, X, names, df = local_blobs(n, d, k)
centres = np.ascontiguousarray(X[:k])
x_max = [float(v) for v in np.abs(X).max(axis=0)]


def convert_only(batches):
    import pyarrow as pa
    x = _partition_matrix(batches, names)
    yield pa.RecordBatch.from_arrays([pa.array([x.shape[0]], pa.int64())], names=["rows"])


def with_kernel(batches):
    import pyarrow as pa
    x = _partition_matrix(batches, names)
    if x.shape[0]:
        _native.partial_step(x, centres, x_max)
    yield pa.RecordBatch.from_arrays([pa.array([x.shape[0]], pa.int64())], names=["rows"])


packed = df.mapInArrow(_packer(names), "x binary").cache()
packed.count()


def packed_kernel(batches):
    import pyarrow as pa
    x = _packed_matrix(batches, d)
    if x.shape[0]:
        _native.partial_step(x, centres, x_max)
    yield pa.RecordBatch.from_arrays([pa.array([x.shape[0]], pa.int64())], names=["rows"])


def best(run):
    run()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return min(times)


a = best(lambda: df.mapInArrow(convert_only, "rows bigint").collect())
b = best(lambda: df.mapInArrow(with_kernel, "rows bigint").collect())
c = best(lambda: _native.partial_step(X, centres, x_max))
p = best(lambda: packed.mapInArrow(packed_kernel, "rows bigint").collect())
print(f"rows {n} x {d}, k = {k}, local[2], best of {rounds}")
print(f"(a) mapInArrow pass, rows to a float32 matrix only: {a:.3f} s")
print(f"(b) the same pass with the native kernel:           {b:.3f} s")
print(f"(c) the native kernel alone, whole matrix, here:    {c:.3f} s")
print(f"(d) pass (b) over the packed binary column:         {p:.3f} s")
spark.stop()
