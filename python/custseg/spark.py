"""K-means across a Spark cluster, with per-cluster sums that are exact integers.

``custseg.spark.KMeans(n_clusters, features=[...]).fit(df)`` runs Lloyd's algorithm with one ``mapInArrow`` pass
over the cached features per step (packed once into one binary column of 4·d bytes per row, :func:`_packer`). Each task calls the native kernel on its partition (the nearest centre
of every row, then the per-cluster sums quantised with one global fixed-point scale and added as 128-bit
integers) and returns K rows of exact partial sums, each 128-bit integer split into two ``int64`` columns
(``hi`` = v >> 64, ``lo`` = the low 64 bits). The driver adds them as Python integers, so the centres are the same
bits whatever the number of partitions or machines, and equal to ``custseg.KMeans(device="cpu", exact_sums=True)``
on the same rows.

The features are not rescaled (as ``custseg.KMeans``): scale them first if they need it. The Spark aggregates of the
fit compute what the exact sums and the tolerance need: the per-feature largest ``|x|`` (the fixed-point scale),
the per-feature population variance (the tolerance, ``tol`` times their mean), the row count, and the count of
null, NaN and infinite values (an error).
"""

from __future__ import annotations

import numpy as np

from . import _native

_MASK64 = (1 << 64) - 1


def _word(hi: int, lo: int) -> int:
    """The 128-bit integer of a (hi, lo) pair of int64 words."""
    return (int(hi) << 64) + (int(lo) & _MASK64)


def _check_features(df, features):
    """Every named column exists and is numeric; raised before any Spark job."""
    from pyspark.sql.types import BooleanType, NumericType

    if not features:
        raise ValueError("features must name at least one column")
    types = {f.name: f.dataType for f in df.schema.fields}
    for name in features:
        if name not in types:
            raise ValueError(
                f"DataFrame has no column '{name}' (its columns: {', '.join(types)}); "
                "name the feature columns with features=[...]"
            )
        t = types[name]
        if not isinstance(t, (NumericType, BooleanType)):
            raise ValueError(
                f"column '{name}' is {t.simpleString()}, not numeric; encode it as numbers or leave it out"
            )


def _batch_matrix(batch, names):
    """A record batch's feature columns as a C-contiguous float32 matrix."""
    if batch.num_rows == 0:
        return np.empty((0, len(names)), dtype=np.float32)
    cols = [batch.column(batch.schema.get_field_index(n)).to_numpy(zero_copy_only=False) for n in names]
    return np.ascontiguousarray(np.column_stack(cols), dtype=np.float32)


def _partition_matrix(batches, names):
    mats = [_batch_matrix(b, names) for b in batches]
    if not mats:
        return np.empty((0, len(names)), dtype=np.float32)
    return mats[0] if len(mats) == 1 else np.ascontiguousarray(np.vstack(mats))


def _packer(names):
    """A ``mapInArrow`` function that packs each row's float32 features into one binary value of 4·d bytes (the
    row of the C-contiguous matrix). The fit caches this one column: Spark hands one binary column to Python about
    1.5 times faster than d float columns (python/bench/spark_pass_cost.py), and the matrix is read back without a
    copy per value (:func:`_packed_matrix`)."""

    def pack(batches):
        import pyarrow as pa

        width = 4 * len(names)
        # Arrow's binary offsets are int32: a batch holds fewer than 2^31 bytes.
        most = max(1, (2**31 - 1) // width - 1)
        for b in batches:
            whole = _batch_matrix(b, names)
            for start in range(0, whole.shape[0], most):
                x = np.ascontiguousarray(whole[start:start + most])
                offsets = np.arange(0, (x.shape[0] + 1) * width, width, dtype=np.int32)
                values = pa.BinaryArray.from_buffers(
                    pa.binary(), x.shape[0], [None, pa.py_buffer(offsets), pa.py_buffer(x)]
                )
                yield pa.RecordBatch.from_arrays([values], names=["x"])

    return pack


def _packed_matrix(batches, d):
    """The C-contiguous float32 matrix of a partition's packed rows (:func:`_packer`): the binary values' bytes."""
    parts = []
    for b in batches:
        col = b.column(0)
        if len(col) == 0:
            continue
        offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)
        start, end = int(offsets[col.offset]), int(offsets[col.offset + len(col)])
        if end - start != 4 * d * len(col):
            raise ValueError(f"packed rows of {end - start} bytes for {len(col)} rows of {d} features")
        data = np.frombuffer(col.buffers()[2], dtype=np.uint8)[start:end]
        parts.append(data.view(np.float32).reshape(len(col), d))
    if not parts:
        return np.empty((0, d), dtype=np.float32)
    return np.ascontiguousarray(parts[0] if len(parts) == 1 else np.vstack(parts))


class KMeans:
    """K-means on a Spark DataFrame with exact per-cluster sums.

    Parameters
    ----------
    n_clusters : int
    features : list of str
        The numeric feature columns.
    init : "k-means||" or array of shape (n_clusters, len(features)), default "k-means||"
        k-means|| (Bahmani et al., as Spark MLlib): ``init_steps`` rounds that sample about ``2·n_clusters`` rows
        each with probability proportional to their squared distance, then a weighted k-means++ (and Lloyd) on the
        candidates on the driver.
    max_iter : int, default 300
    tol : float, default 1e-4
        Converged when the squared centre shift is at most ``tol`` times the mean feature variance.
    seed : int, default 0
    device : {"auto", "cpu", "gpu"}, default "auto"
        Where the driver's k-means++ on the candidates runs; the executors' step runs the CPU kernel (see
        docs/PYTHON.md).
    init_steps : int, default 2
    """

    def __init__(self, n_clusters, features, init="k-means||", max_iter=300, tol=1e-4, seed=0, device="auto",
                 init_steps=2):
        if int(n_clusters) < 1:
            raise ValueError(f"n_clusters must be >= 1, got {n_clusters}")
        if int(max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}")
        if not (float(tol) >= 0):
            raise ValueError(f"tol must be >= 0, got {tol}")
        if device not in ("auto", "cpu", "gpu"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'gpu', got '{device}'")
        self.n_clusters = int(n_clusters)
        self.features = list(features)
        self.init = init
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.seed = int(seed)
        self.device = device
        self.init_steps = int(init_steps)

    # -- passes ------------------------------------------------------------------------------------------------

    def _stats(self, feats):
        """One aggregate job: rows, per-feature max |x|, population variance, and bad values."""
        from pyspark.sql import functions as F

        aggs = [F.count(F.lit(1)).alias("n")]
        for i, c in enumerate(self.features):
            col = F.col(c)
            bad = col.isNull() | F.isnan(col) | (F.abs(col) == float("inf"))
            aggs += [
                F.max(F.abs(col)).alias(f"m{i}"),
                F.var_pop(col).alias(f"v{i}"),
                F.sum(F.when(bad, 1).otherwise(0)).alias(f"b{i}"),
            ]
        r = feats.agg(*aggs).collect()[0]
        n = int(r["n"])
        for i, c in enumerate(self.features):
            if r[f"b{i}"]:
                raise ValueError(
                    f"column '{c}' has {r[f'b{i}']} null, NaN or infinite values; drop or impute them first"
                )
        if n < self.n_clusters:
            raise ValueError(f"k = {self.n_clusters} is larger than the number of rows ({n})")
        x_max = [float(r[f"m{i}"]) for i in range(len(self.features))]
        mean_var = float(np.mean([float(r[f"v{i}"]) for i in range(len(self.features))]))
        return n, x_max, mean_var

    def _step(self, feats, centres, x_max):
        """One Lloyd step: one mapInArrow pass, the partitions' exact sums added on the driver."""
        import pyarrow as pa

        names, k, d = self.features, centres.shape[0], centres.shape[1]
        c32 = np.ascontiguousarray(centres, dtype=np.float32)
        fields = [("cluster", "int"), ("n", "bigint")]
        fields += [(f"s{f}_{w}", "bigint") for f in range(d) for w in ("hi", "lo")]
        fields += [("inertia_hi", "bigint"), ("inertia_lo", "bigint"), ("inertia_exp", "int")]
        schema = ", ".join(f"{a} {t}" for a, t in fields)

        def kernel(batches):
            x = _packed_matrix(batches, d)
            if x.shape[0] == 0:
                return
            counts, sh, sl, ih, il, ie = _native.partial_step(x, c32, x_max)
            cols = [pa.array(np.arange(k, dtype=np.int32)), pa.array(counts)]
            for f in range(d):
                cols += [pa.array(np.ascontiguousarray(sh[:, f])), pa.array(np.ascontiguousarray(sl[:, f]))]
            # The partition's inertia travels once, on cluster 0's row.
            first = np.arange(k) == 0
            cols += [pa.array(np.where(first, ih, 0).astype(np.int64)),
                     pa.array(np.where(first, il, 0).astype(np.int64)), pa.array(np.full(k, ie, np.int32))]
            yield pa.RecordBatch.from_arrays(cols, names=[a for a, _ in fields])

        rows = feats.mapInArrow(kernel, schema).collect()
        sums = [0] * (k * d)
        counts = [0] * k
        inertia = 0
        for r in rows:
            j = r["cluster"]
            counts[j] += r["n"]
            for f in range(d):
                sums[j * d + f] += _word(r[f"s{f}_hi"], r[f"s{f}_lo"])
            inertia += _word(r["inertia_hi"], r["inertia_lo"])
        return _native.update_centres(c32, sums, counts, inertia, x_max)

    def _costs(self, feats, centres):
        """Per partition Σ min distance² to `centres`, summed on the driver (k-means|| only)."""
        import pyarrow as pa

        d, c32 = len(self.features), np.ascontiguousarray(centres, dtype=np.float32)

        def kernel(batches):
            x = _packed_matrix(batches, d)
            s = 0.0
            if x.shape[0]:
                s = float(_native.assign(x, c32)[1].astype(np.float64).sum())
            yield pa.RecordBatch.from_arrays([pa.array([s])], names=["cost"])

        return float(sum(r["cost"] for r in feats.mapInArrow(kernel, "cost double").collect()))

    def _kmeans_parallel(self, feats):
        """k-means|| (Bahmani et al. 2012) as Spark MLlib runs it, then weighted k-means++ on the driver."""
        import pyarrow as pa
        from pyspark import TaskContext

        from ._kmeans import KMeans as LocalKMeans

        names, k, seed = self.features, self.n_clusters, self.seed
        d = len(names)
        from pyspark.sql import functions as F

        first = feats.orderBy(F.rand(seed)).limit(1).collect()
        centres = np.frombuffer(bytes(first[0]["x"]), dtype=np.float32).reshape(1, d).copy()
        ell = 2.0 * k
        for step in range(self.init_steps):
            cost = self._costs(feats, centres)
            if cost == 0.0:
                break
            c32 = centres

            def sample(batches, c32=c32, cost=cost, step=step):
                x = _packed_matrix(batches, d)
                if x.shape[0] == 0:
                    return
                part = TaskContext.get().partitionId()
                rng = np.random.default_rng([seed, step, part])
                d2 = _native.assign(x, c32)[1].astype(np.float64)
                keep = rng.random(x.shape[0]) < np.minimum(1.0, ell * d2 / cost)
                chosen = x[keep]
                yield pa.RecordBatch.from_arrays(
                    [pa.array(np.ascontiguousarray(chosen[:, j])) for j in range(len(names))], names=list(names)
                )

            schema = ", ".join(f"`{n}` float" for n in names)
            got = feats.mapInArrow(sample, schema).collect()
            if got:
                new = np.array([[r[n] for n in names] for r in got], dtype=np.float32)
                centres = np.vstack([centres, new])
        centres = np.unique(centres, axis=0)
        # Each candidate's weight: the rows nearest to it.
        cands = np.ascontiguousarray(centres, dtype=np.float32)
        m = cands.shape[0]

        def weigh(batches):
            x = _packed_matrix(batches, d)
            counts = np.zeros(m, dtype=np.int64)
            if x.shape[0]:
                counts = np.bincount(_native.assign(x, cands)[0], minlength=m).astype(np.int64)
            yield pa.RecordBatch.from_arrays([pa.array(np.arange(m, dtype=np.int32)), pa.array(counts)],
                                             names=["c", "w"])

        weights = np.zeros(m)
        for r in feats.mapInArrow(weigh, "c int, w bigint").collect():
            weights[r["c"]] += r["w"]
        if m < k:
            raise ValueError(f"k-means|| found only {m} distinct candidates for k = {k}; the data has too few distinct rows")
        local = LocalKMeans(n_clusters=k, init="k-means++", n_init=1, random_state=seed,
                            device="cpu" if self.device == "auto" else self.device)
        local.fit(cands, sample_weight=weights)
        return np.ascontiguousarray(local.cluster_centers_, dtype=np.float32)

    # -- the fit -----------------------------------------------------------------------------------------------

    def fit(self, df):
        """Fits on the DataFrame's feature columns; returns a :class:`KMeansModel`."""
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        _check_features(df, self.features)
        k, d = self.n_clusters, len(self.features)
        explicit = not (isinstance(self.init, str) and self.init == "k-means||")
        if explicit:
            init = np.asarray(self.init, dtype=np.float32)
            if init.shape != (k, d):
                raise ValueError(f"init has shape {init.shape}, expected (n_clusters, len(features)) = ({k}, {d})")
        elif isinstance(self.init, str) and self.init != "k-means||":
            raise ValueError(f"init must be 'k-means||' or an array, got '{self.init}'")
        cols = df.select([F.col(f"`{c}`").cast("float").alias(c) for c in self.features])
        # The source is read once: the aggregates fill the columns' cache, the packing reads it, then it is dropped.
        cols = cols.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            n, x_max, mean_var = self._stats(cols)
            # The passes read the rows packed into one cached binary column (`_packer`): the same float32 values.
            feats = cols.mapInArrow(_packer(self.features), "x binary").persist(StorageLevel.MEMORY_AND_DISK)
            feats.count()
        finally:
            cols.unpersist()
        try:
            centres = init if explicit else self._kmeans_parallel(feats)
            # The inertia's bound covers the initial centres too (see custseg::exact::ExactScale).
            tol = self.tol * mean_var
            n_iter, shift, inertia = 0, None, None
            for it in range(self.max_iter):
                new, shift, inertia = self._step(feats, centres, x_max)
                centres, n_iter = new, it + 1
                if shift <= tol:
                    break
            if shift != 0.0:
                # The inertia against the final centres: one more pass (as custseg.KMeans does).
                inertia = self._step(feats, centres, x_max)[2]
        finally:
            feats.unpersist()
        return KMeansModel(self.features, centres, float(inertia), n_iter, n)


class KMeansModel:
    """A fitted Spark K-means: ``cluster_centers_``, ``inertia_``, ``n_iter_``; ``transform`` adds ``segment`` (the
    nearest centre's index) and ``distance`` (the Euclidean distance to it)."""

    def __init__(self, features, centres, inertia, n_iter, n_rows):
        self.features = list(features)
        self.cluster_centers_ = np.asarray(centres, dtype=np.float32)
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self.n_rows_ = n_rows

    def transform(self, df):
        """The DataFrame with two more columns: ``segment`` (int) and ``distance`` (double)."""
        import pyarrow as pa
        from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

        _check_features(df, self.features)
        names, c32 = self.features, np.ascontiguousarray(self.cluster_centers_)
        schema = StructType(
            df.schema.fields + [StructField("segment", IntegerType(), False), StructField("distance", DoubleType(), False)]
        )

        def kernel(batches):
            for b in batches:
                x = _batch_matrix(b, names)
                if x.shape[0] == 0:
                    continue
                if not np.isfinite(x).all():
                    raise ValueError("a feature column has null, NaN or infinite values; drop or impute them first")
                labels, d2 = _native.assign(x, c32)
                cols = list(b.columns) + [pa.array(labels), pa.array(np.sqrt(d2.astype(np.float64)))]
                yield pa.RecordBatch.from_arrays(cols, names=list(b.schema.names) + ["segment", "distance"])

        return df.mapInArrow(kernel, schema)
