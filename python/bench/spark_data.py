"""The Spark benches' shared setup: a local[2] session bound to 127.0.0.1 (UI off) and the cached blobs DataFrame
(``k`` Gaussian centres, ``n`` × ``d`` float32, seed 0, 2 partitions) both scripts time on."""

import os
import sys

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession


def local_blobs(n, d, k):
    """(spark, X, names, df): the session, the rows as a NumPy array, the column names, the cached DataFrame."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (SparkSession.builder.master("local[2]").config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1").config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "6g").config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    rng = np.random.default_rng(0)
    X = (rng.uniform(-10, 10, (k, d))[rng.integers(0, k, n)] + rng.normal(size=(n, d))).astype(np.float32)
    names = [f"f{j}" for j in range(d)]
    df = spark.createDataFrame(pd.DataFrame(X, columns=names)).repartition(2).cache()
    df.count()
    return spark, X, names, df
