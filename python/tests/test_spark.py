"""custseg.spark.KMeans in Spark local[2]: bit-identical centres over 2, 3 and 7 partitions, equal to custseg.KMeans
with the same labels, k-means|| near the single-machine k-means++ on generated retail data, and the errors."""

import os
import pathlib
import sys

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")

import custseg  # noqa: E402
from custseg.spark import KMeans as SparkKMeans  # noqa: E402
from conftest import blobs  # noqa: E402

SAMPLE = pathlib.Path(__file__).resolve().parents[2] / "data" / "customers_sample.parquet"
FEATURES = [f"f{j}" for j in range(8)]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # The executors' Python must be the one that has custseg.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    s = (
        SparkSession.builder.master("local[2]")
        .appName("custseg-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def frame():
    X = blobs(200_000, 8, 5, seed=21, spread=2.5)
    df = pd.DataFrame(X, columns=FEATURES)
    df.insert(0, "id", np.arange(len(X), dtype=np.int64))
    return X, df


def test_partitionings_give_bit_identical_centres_equal_to_custseg_kmeans(spark, frame):
    X, pdf = frame
    init = X[[0, 1, 2, 3, 4]].copy()
    base = spark.createDataFrame(pdf)
    fits = {}
    for parts in (2, 3, 7):
        df = base.repartition(parts)
        assert df.rdd.getNumPartitions() == parts
        fits[parts] = SparkKMeans(5, features=FEATURES, init=init, tol=1e-4).fit(df)
    for parts in (3, 7):
        assert fits[parts].n_iter_ == fits[2].n_iter_
        np.testing.assert_array_equal(
            fits[parts].cluster_centers_.view(np.uint32), fits[2].cluster_centers_.view(np.uint32)
        )
        assert fits[parts].inertia_ == fits[2].inertia_
    local = custseg.KMeans(n_clusters=5, init=init, n_init=1, tol=1e-4, device="cpu", exact_sums=True).fit(X)
    np.testing.assert_allclose(fits[2].cluster_centers_, local.cluster_centers_, rtol=1e-9, atol=0)
    assert fits[2].n_iter_ == local.n_iter_
    assert abs(fits[2].inertia_ - local.inertia_) <= 1e-9 * local.inertia_
    out = fits[7].transform(base.repartition(7)).select("id", "segment", "distance").toPandas().sort_values("id")
    np.testing.assert_array_equal(out["segment"].to_numpy(), local.labels_)
    d2 = ((X - local.cluster_centers_[local.labels_]) ** 2).sum(axis=1)
    np.testing.assert_allclose(out["distance"].to_numpy(), np.sqrt(d2), rtol=1e-5)


def test_kmeans_parallel_is_within_2_percent_of_single_machine_kmeans_plus_plus(spark):
    from pyspark.sql import functions as F

    raw = spark.read.parquet(str(SAMPLE))
    cols = ["recency_days", "frequency", "monetary", "avg_basket", "tenure_days", "n_categories", "online_share",
            "returns_rate"]
    logged = raw.select([(F.log1p(c) if c in ("monetary", "avg_basket") else F.col(c)).cast("double").alias(c)
                         for c in cols])
    stats = logged.agg(*[F.mean(c).alias(f"m_{c}") for c in cols], *[F.stddev_pop(c).alias(f"s_{c}") for c in cols]
                       ).collect()[0]
    scaled = logged.select([((F.col(c) - stats[f"m_{c}"]) / stats[f"s_{c}"]).cast("float").alias(c) for c in cols])
    scaled = scaled.repartition(3).cache()
    model = SparkKMeans(6, features=cols, seed=3).fit(scaled)
    X = scaled.toPandas()[cols].to_numpy(dtype=np.float32)
    local = custseg.KMeans(n_clusters=6, init="k-means++", n_init=1, random_state=3, device="cpu").fit(X)
    assert model.inertia_ <= 1.02 * local.inertia_, (model.inertia_, local.inertia_)


def test_a_missing_feature_column_raises_before_any_job(spark, frame):
    _, pdf = frame
    df = spark.createDataFrame(pdf.head(100))
    tracker = spark.sparkContext.statusTracker()
    before = len(tracker.getJobIdsForGroup())
    with pytest.raises(ValueError, match=r"^DataFrame has no column 'f9' \(its columns: id, f0"):
        SparkKMeans(2, features=["f0", "f9"]).fit(df)
    assert len(tracker.getJobIdsForGroup()) == before


def test_a_string_feature_column_is_a_value_error(spark):
    df = spark.createDataFrame(pd.DataFrame({"a": [1.0, 2.0], "city": ["x", "y"]}))
    with pytest.raises(ValueError, match=r"^column 'city' is string, not numeric"):
        SparkKMeans(2, features=["a", "city"]).fit(df)
