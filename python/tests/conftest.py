"""Shared fixtures of the Python package's tests: seeded data sets."""

import numpy as np
import pytest


def blobs(n, d, k, seed, spread=1.0):
    """`n × d` float32 rows around `k` random centres (Gaussian), the row-major matrix a user would pass."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(k, d))
    labels = rng.integers(0, k, size=n)
    return (centres[labels] + rng.normal(scale=spread, size=(n, d))).astype(np.float32)


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(0)
