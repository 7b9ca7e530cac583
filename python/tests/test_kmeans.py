"""custseg.KMeans: scikit-learn's numbers with the same explicit init, its estimator checks, the input types, the
errors (the CLI's one-line messages) and the GIL released during the fit."""

import threading
import time

import numpy as np
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.cluster import kmeans_plusplus
from sklearn.utils.estimator_checks import parametrize_with_checks

import custseg
from custseg._data import as_float32
from conftest import blobs


def data_sets():
    """Three data sets: round blobs, blobs of very different spreads and sizes, skewed retail-like features."""
    rng = np.random.default_rng(42)
    round_blobs = blobs(3000, 5, 4, seed=1)
    uneven = np.vstack(
        [rng.normal(0, 0.3, (2000, 3)), rng.normal(4, 2.0, (500, 3)), rng.normal([8, -3, 1], 0.8, (800, 3))]
    ).astype(np.float32)
    spend = rng.lognormal(3, 1, 4000)
    retail = np.column_stack(
        [np.log1p(spend), rng.poisson(5, 4000), rng.exponential(30, 4000) / 30, rng.normal(0, 1, (4000, 5))]
    )
    retail = ((retail - retail.mean(0)) / retail.std(0)).astype(np.float32)
    return [("round", round_blobs, 4), ("uneven", uneven, 6), ("retail", retail, 5)]


@pytest.mark.parametrize("name,X,k", data_sets(), ids=[d[0] for d in data_sets()])
def test_same_labels_and_inertia_as_scikit_learn_with_the_same_init(name, X, k):
    X64 = X.astype(np.float64)  # the same values: float32 is exact in float64
    init, _ = kmeans_plusplus(X64, k, random_state=7)
    init = init.astype(np.float32).astype(np.float64)
    sk = SkKMeans(n_clusters=k, init=init, n_init=1, algorithm="lloyd", max_iter=300, tol=1e-4).fit(X64)
    ours = custseg.KMeans(n_clusters=k, init=init, n_init=1, max_iter=300, tol=1e-4, device="cpu").fit(X)
    np.testing.assert_array_equal(ours.labels_, sk.labels_)
    assert abs(ours.inertia_ - sk.inertia_) <= 1e-6 * sk.inertia_, (ours.inertia_, sk.inertia_)
    np.testing.assert_allclose(ours.cluster_centers_, sk.cluster_centers_, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X64))


@parametrize_with_checks(
    [custseg.KMeans(n_clusters=3, random_state=0, device="cpu")],
    expected_failed_checks=lambda est: {
        "check_sample_weight_equivalence_on_dense_data": "as scikit-learn's own KMeans: a repeated row and a weight "
        "of 2 draw different k-means++ seeds",
    },
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_float32_c_contiguous_input_is_passed_on_without_a_copy():
    X = blobs(100, 3, 2, seed=3)
    assert as_float32(X) is X
    assert as_float32(X.astype(np.float64)) is not X


def test_dataframes_and_arrow_objects_give_the_numpy_fit():
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    pl = pytest.importorskip("polars")
    X = blobs(2000, 4, 3, seed=5)
    names = ["recency", "frequency", "monetary", "tenure"]
    ref = custseg.KMeans(n_clusters=3, random_state=1, device="cpu").fit(X)
    inputs = {
        "pandas": pd.DataFrame(X, columns=names),
        "pyarrow": pa.table({n: X[:, j] for j, n in enumerate(names)}),
        "polars": pl.DataFrame({n: X[:, j] for j, n in enumerate(names)}),
        "record batch": pa.record_batch([pa.array(X[:, j]) for j in range(4)], names=names),
    }
    for kind, df in inputs.items():
        m = custseg.KMeans(n_clusters=3, random_state=1, device="cpu").fit(df)
        np.testing.assert_array_equal(m.labels_, ref.labels_, err_msg=kind)
        assert list(m.feature_names_in_) == names, kind
        assert m.n_features_in_ == 4
        np.testing.assert_array_equal(m.predict(df), ref.labels_, err_msg=kind)


def test_sample_weights_of_one_give_the_unweighted_fit():
    X = blobs(1500, 3, 4, seed=9)
    a = custseg.KMeans(n_clusters=4, random_state=2, device="cpu").fit(X)
    b = custseg.KMeans(n_clusters=4, random_state=2, device="cpu").fit(X, sample_weight=np.ones(len(X)))
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == b.inertia_


def test_transform_and_score():
    X = blobs(500, 3, 3, seed=4)
    m = custseg.KMeans(n_clusters=3, random_state=0, device="cpu").fit(X)
    dist = m.transform(X)
    assert dist.shape == (500, 3)
    np.testing.assert_array_equal(dist.argmin(axis=1), m.labels_)
    assert m.score(X) == pytest.approx(-m.inertia_, rel=1e-6)


def test_nan_is_a_value_error_naming_the_column_and_count():
    X = blobs(50, 3, 2, seed=1)
    X[[3, 7], 1] = np.nan
    with pytest.raises(ValueError, match=r"^column 'x1' has 2 NaN or infinite values \(in X\); drop or impute"):
        custseg.KMeans(n_clusters=2, device="cpu").fit(X)


def test_object_column_is_a_value_error_naming_it():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"spend": [1.0, 2.0, 3.0], "city": pd.Series(["a", "b", "c"], dtype=object)})
    with pytest.raises(ValueError, match=r"^column 'city' is object, not numeric \(in X\)"):
        custseg.KMeans(n_clusters=2, device="cpu").fit(df)


def test_missing_feature_name_at_predict_is_a_value_error_naming_it():
    pd = pytest.importorskip("pandas")
    X = blobs(60, 3, 2, seed=2)
    m = custseg.KMeans(n_clusters=2, random_state=0, device="cpu").fit(pd.DataFrame(X, columns=["a", "b", "c"]))
    with pytest.raises(ValueError, match=r"^X has no column 'b' \(1 of the model's 3 features are missing\)"):
        m.predict(pd.DataFrame(X, columns=["a", "z", "c"]))


def test_more_clusters_than_rows_is_a_value_error():
    X = blobs(3, 2, 1, seed=0)
    with pytest.raises(ValueError, match=r"k = 5 is larger than the number of rows \(3\)"):
        custseg.KMeans(n_clusters=5, device="cpu").fit(X)


def test_fewer_distinct_rows_than_clusters_is_the_libraries_message():
    X = np.ones((10, 2), dtype=np.float32)
    with pytest.raises(ValueError, match=r"k = 3 is larger than the number of distinct rows \(1\)"):
        custseg.KMeans(n_clusters=3, device="cpu").fit(X)


def test_the_gil_is_released_during_the_fit():
    X = blobs(400_000, 8, 16, seed=11)
    done = threading.Event()

    def work():
        custseg.KMeans(n_clusters=16, init="random", n_init=8, max_iter=30, tol=0, random_state=0,
                       device="cpu").fit(X)
        done.set()

    t = threading.Thread(target=work)
    start = time.perf_counter()
    t.start()
    ticks = 0
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - start
    # With the GIL held by the fit, this thread could not wake up at all until it ended (a tick or two, before and
    # after). The fit is sized to last well over 50 ms (about 0.5 s here), so 50 ticks mean the GIL was free.
    assert ticks > 50, (elapsed, ticks)
