#!/usr/bin/env python3
"""Writes the input of the `choose-k` measurement in docs/PERFORMANCE.md: 1,000,000 rows x 16 float32 features,
Gaussian blobs around 8 centres of unequal shares (30% down to 4%) and spreads (sd 0.6 to 1.6), plus an int64
`customer_id`. Needs numpy and pyarrow.

    python3 benches/choose_k_data.py /tmp/blobs_1m_16.parquet
"""

import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

N, D = 1_000_000, 16
SHARES = np.array([0.30, 0.20, 0.14, 0.11, 0.09, 0.07, 0.05, 0.04])
SPREADS = np.array([1.0, 0.6, 1.6, 0.8, 1.2, 0.7, 1.4, 0.9])


def main(path):
    rng = np.random.default_rng(16)
    centres = rng.uniform(-10, 10, size=(len(SHARES), D))
    labels = rng.choice(len(SHARES), size=N, p=SHARES / SHARES.sum())
    x = centres[labels] + rng.normal(size=(N, D)) * SPREADS[labels, None]
    cols = {"customer_id": pa.array(np.arange(1, N + 1, dtype=np.int64))}
    for f in range(D):
        cols[f"f{f:02d}"] = pa.array(x[:, f].astype(np.float32))
    pq.write_table(pa.table(cols), path)
    print(f"wrote {path}: {N} rows x {D} features, {len(SHARES)} planted groups")


if __name__ == "__main__":
    main(sys.argv[1])
