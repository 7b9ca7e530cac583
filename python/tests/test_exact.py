"""The exact sums through the native module: any partitioning of the rows adds to the same integers, and a driver
loop over partitions (as the Spark fit runs it) reaches custseg.KMeans's centres to the bit."""

import numpy as np
import pytest

import custseg
from custseg import _native
from custseg.spark import _word
from conftest import blobs


def total(X, centres, parts):
    """The step's exact sums over `parts` uneven contiguous partitions, added in reverse order."""
    x_max = np.abs(X).max(axis=0).astype(np.float64).tolist()
    cuts = np.linspace(0, len(X), parts + 1).astype(int)
    cuts[1:-1] += np.arange(1, parts) * 37
    k, d = centres.shape
    sums, counts, inertia = [0] * (k * d), [0] * k, 0
    for a, b in reversed(list(zip(cuts[:-1], cuts[1:]))):
        c, sh, sl, ih, il, _ = _native.partial_step(np.ascontiguousarray(X[a:b]), centres, x_max)
        for j in range(k):
            counts[j] += int(c[j])
            for f in range(d):
                sums[j * d + f] += _word(sh[j, f], sl[j, f])
        inertia += _word(ih, il)
    return sums, counts, inertia, x_max


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_sums_over_partitions_are_the_same_integers_as_over_one(parts):
    X = blobs(30_000, 6, 4, seed=8, spread=3.0)
    centres = np.ascontiguousarray(X[[0, 1, 2, 3]])
    one = total(X, centres, 1)
    assert total(X, centres, parts) == one
    new1, shift1, in1 = _native.update_centres(centres, *one[:3], one[3])
    newp, shiftp, inp = _native.update_centres(centres, *total(X, centres, parts)[:3], one[3])
    np.testing.assert_array_equal(new1.view(np.uint32), newp.view(np.uint32))
    assert (shift1, in1) == (shiftp, inp)


def test_a_partitioned_driver_loop_gives_custseg_kmeans_bits():
    X = blobs(20_000, 4, 5, seed=13, spread=2.0)
    init = np.ascontiguousarray(X[:5])
    fitted = custseg.KMeans(n_clusters=5, init=init, n_init=1, tol=0, max_iter=100, device="cpu", exact_sums=True).fit(X)
    for parts in (2, 3, 7):
        c, it = init, 0
        for it in range(1, 101):
            sums, counts, inertia, x_max = total(X, c, parts)
            c, shift, _ = _native.update_centres(c, sums, counts, inertia, x_max)
            if shift == 0.0:
                break
        assert it == fitted.n_iter_
        np.testing.assert_array_equal(c.view(np.uint32), fitted.cluster_centers_.view(np.uint32))
