"""The CLI's jobs as Python functions (custseg.segment, choose_k, features, compare, load_model().assign), checked
against independent implementations: the pandas reference of the features fixture, pandas crosstabs, scikit-learn's
adjusted Rand index, and Python's hmac."""

import hashlib
import hmac
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import adjusted_rand_score

import custseg

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"


def planted(n=3000, k=4, d=3, seed=0, ids_from=0):
    """Well-separated blobs with customer IDs, and the planted labels."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [40, 0, 10], [0, 40, 20], [40, 40, 30]], dtype=np.float64)[:k, :d]
    labels = rng.integers(0, k, n)
    x = centres[labels] + rng.normal(size=(n, d))
    df = pd.DataFrame({"customer_id": np.arange(ids_from, ids_from + n, dtype=np.int64)})
    for j in range(d):
        df[f"f{j}"] = x[:, j]
    return df, labels


def test_segment_finds_planted_segments_and_assign_reproduces_them():
    df, truth = planted()
    r = custseg.segment(df, k=4, device="cpu", seed=3)
    seg = r.segments.to_pandas()
    assert list(seg.columns[:3]) == ["customer_id", "segment", "distance"]
    assert (seg["customer_id"].to_numpy() == df["customer_id"].to_numpy()).all()
    assert adjusted_rand_score(truth, seg["segment"]) == 1.0
    assert r.summary["k"] == 4 and r.summary["customers"] == len(df)
    sizes = {s["segment"]: s["size"] for s in r.summary["segments"]}
    assert sizes == seg["segment"].value_counts().to_dict()
    assert r.model.k == 4 and r.model.features == ["f0", "f1", "f2"]
    # The model scores the training data to the same labels and distances, from a table or from a file.
    a = r.model.assign(df, device="cpu")
    assert a.segments.equals(r.segments)
    assert a.summary["drift"]["far_share"] <= 0.02 and a.summary["drift_warnings"] == []


def test_a_saved_model_loads_and_assigns_a_pyarrow_table(tmp_path):
    df, _ = planted(seed=1)
    r = custseg.segment(pa.Table.from_pandas(df), k=4, device="cpu", model=tmp_path / "m.json")
    m = custseg.load_model(tmp_path / "m.json")
    assert m.json == r.model.json
    assert m.assign(pa.Table.from_pandas(df), device="cpu").segments.equals(r.segments)


def test_choose_k_recommends_the_planted_k():
    df, _ = planted(n=2000, seed=2)
    r = custseg.choose_k(df, k="2..6", device="cpu", bootstrap=2)
    assert r.recommended_k == 4
    assert list(r.table["k"]) == [2, 3, 4, 5, 6]
    assert r.summary["recommended_k"] == 4 and r.summary["reason"]


def test_features_equal_the_pandas_reference():
    expected = json.loads((FIXTURES / "transactions" / "generated_expected.json").read_text())
    o = expected["options"]
    flags = dict(date=o["date"], order=o["order"], category=o["category"])
    by_path = custseg.features(str(FIXTURES / "transactions" / "generated_*.parquet"), as_of=o["as_of"], **flags)
    # The same log as one pyarrow table (written once to a temporary Parquet file by the function).
    log = pa.concat_tables([pq.read_table(FIXTURES / "transactions" / f) for f in expected["files"]])
    by_table = custseg.features(log, as_of=o["as_of"], **flags)
    assert by_table.customers.equals(by_path.customers)
    got = by_path.customers.to_pandas().set_index("customer_id")
    want = pd.DataFrame(expected["customers"]).set_index("customer_id")
    assert list(got.index) == list(want.index)
    for col in ["monetary", "frequency", "recency_days", "tenure_days", "avg_order_value", "clv"]:
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-9, err_msg=col)
    for col in ["r_score", "f_score", "m_score", "rfm_segment"]:
        assert list(got[col]) == list(want[col]), col
    # The summary is `custseg features --json`'s report: the row counts of the reference, and its RFM figures.
    for key, value in expected["report"].items():
        assert by_path.summary[key] == value, key
    assert by_path.summary["rfm"]["pareto_share"] == pytest.approx(expected["rfm"]["pareto_share"], rel=1e-12)
    assert by_path.summary["rfm"]["lifetime"]["cohort"] == expected["rfm"]["retention_cohort"]


def test_compare_equals_a_pandas_crosstab():
    # Period B: customers 0..2999 again (some moved between blobs), 500 new ones; 300 of period A's left.
    a_df, _ = planted(n=3000, seed=4)
    b_df, _ = planted(n=3200, seed=5, ids_from=300)
    a = custseg.segment(a_df, k=4, device="cpu")
    b = a.model.assign(b_df, device="cpu")
    r = custseg.compare(a.segments, b.segments)
    before = a.segments.to_pandas().set_index("customer_id")["segment"]
    after = b.segments.to_pandas().set_index("customer_id")["segment"]
    both = before.to_frame("from").join(after.rename("to"), how="inner")
    crosstab = pd.crosstab(both["from"], both["to"])
    got = {(t["from"], t["to"]): t["customers"] for t in r.summary["transitions"]}
    want = {(i, j): int(crosstab.loc[i, j]) for i in crosstab.index for j in crosstab.columns if crosstab.loc[i, j]}
    assert got == want
    assert r.summary["entered"] == len(set(after.index) - set(before.index)) == 500
    assert r.summary["left"] == len(set(before.index) - set(after.index)) == 300
    movers = r.movers.to_pandas()
    assert len(movers) == int((both["from"] != both["to"]).sum())


def test_pseudonyms_are_pythons_hmac_sha256(monkeypatch):
    key = b"a key of at least sixteen bytes!"
    monkeypatch.setenv("CUSTSEG_ID_KEY", key.decode())
    df, _ = planted(n=500, seed=6)
    r = custseg.segment(df, k=4, device="cpu", pseudonymize=True)
    want = [hmac.new(key, str(i).encode(), hashlib.sha256).hexdigest()[:32] for i in df["customer_id"]]
    assert r.segments.column("customer_id").to_pylist() == want


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda df, tmp: custseg.segment(df, k=4, bogus_flag=3), "unexpected argument '--bogus-flag' found"),
        (lambda df, tmp: custseg.segment(tmp / "nope.parquet", k=4), "nope.parquet: no such file or folder"),
        (lambda df, tmp: custseg.segment(df.head(3), k=5, device="cpu"), "k = 5"),
        (lambda df, tmp: custseg.segment(df, k=4, threads=2), "--threads cannot be set in a running process"),
        (lambda df, tmp: custseg.segment(df, k="seven"), "'seven'"),
        (lambda df, tmp: custseg.features(df, as_of="2026-13-01"), "--as-of '2026-13-01' is not a date"),
        (
            lambda df, tmp: custseg.segment(df.assign(f1=df["f1"].astype(str)), k=2, features=["f0", "f1"]),
            "input table: feature column 'f1' has type",
        ),
        (
            lambda df, tmp: custseg.segment(df.assign(f1=np.where(df.index < 7, np.nan, df["f1"])), missing="fail"),
            "column 'f1' has 7 null values (in input table)",
        ),
    ],
)
def test_bad_input_is_a_value_error_with_the_clis_message(tmp_path, call, message):
    df, _ = planted(n=300)
    with pytest.raises(ValueError) as e:
        call(df, tmp_path)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_a_table_without_a_model_feature_is_a_value_error_naming_it():
    df, _ = planted(n=400)
    m = custseg.segment(df, k=4, device="cpu").model
    with pytest.raises(ValueError, match="input table.*'f2'") as e:
        m.assign(df.drop(columns=["f2"]))
    assert "custseg-" not in str(e.value)


def test_a_file_that_is_not_a_model_is_a_value_error(tmp_path):
    (tmp_path / "m.json").write_text('{"hello": 1}')
    with pytest.raises(ValueError, match=r"m\.json: not a custseg model"):
        custseg.load_model(tmp_path / "m.json")
    with pytest.raises(ValueError, match=r"absent\.json: No such file"):
        custseg.load_model(tmp_path / "absent.json")


def test_the_estimators_cpu_fit_is_the_clis_to_the_bit(tmp_path):
    # The same matrix (scale none), initial centres and steps through `custseg segment --warm-start` (run
    # in-process) and through custseg.KMeans' native fit: the same centres to the bit, the same partition (segment
    # renumbers the clusters), the same inertia.
    from custseg import _native

    df, _ = planted(n=4000, seed=8)
    X = np.ascontiguousarray(df[["f0", "f1", "f2"]].to_numpy(np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        _native.fit(np.asfortranarray(X), None, 4, "random", None, 1, 1, 0.0, 0, "cpu", False)
    start = custseg.segment(df, k=4, scale="none", max_iter=1, device="cpu", model=tmp_path / "start.json")
    init = np.array(start.model.json["centroids_scaled"], dtype=np.float32)
    r = custseg.segment(df, scale="none", warm_start=tmp_path / "start.json", max_iter=30, tol=0, device="cpu")
    centres, labels, _, inertia, _, backend = _native.fit(X, None, 4, "given", init, 1, 30, 0.0, 0, "cpu", False)
    assert "exact" not in backend
    cli_centres = np.array(r.model.json["centroids_scaled"], dtype=np.float32)
    assert sorted(map(tuple, cli_centres.tolist())) == sorted(map(tuple, centres.tolist()))
    assert adjusted_rand_score(r.segments.column("segment").to_numpy(), labels) == 1.0
    assert r.summary["inertia"] == inertia
    exact = custseg.KMeans(n_clusters=4, init=init, n_init=1, tol=0, max_iter=30, device="cpu", exact_sums=True)
    exact.fit(X)
    assert exact.backend_.endswith("exact sums")
    assert (exact.labels_ == labels).all()
    np.testing.assert_allclose(exact.cluster_centers_, centres, rtol=1e-6)


def test_a_polars_frame_and_a_path_give_the_pandas_frames_segments(tmp_path):
    import polars as pl

    df, _ = planted(n=1500, seed=9)
    want = custseg.segment(df, k=4, device="cpu", seed=5).segments
    assert custseg.segment(pl.from_pandas(df), k=4, device="cpu", seed=5).segments.equals(want)
    df.to_parquet(tmp_path / "c.parquet", index=False)
    assert custseg.segment(tmp_path / "c.parquet", k=4, device="cpu", seed=5).segments.equals(want)
