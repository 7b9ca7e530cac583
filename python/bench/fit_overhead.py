"""The Python fit's overhead against the CLI's on n × d Gaussian blobs (default 1M × 16, k = 16, 20 Lloyd steps).

Writes the data once as Parquet, runs `custseg segment` (its `fitted` log line gives the fit's seconds), then
times `custseg.KMeans.fit` (the CLI's CPU fit), the native call inside it, and `KMeans(exact_sums=True)` (the Spark
fit's exact sums) on the same rows with the same settings.
Usage: python fit_overhead.py CUSTSEG_BINARY [WORKDIR] [N] [D]
"""

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import custseg
from custseg import _native

binary = sys.argv[1]
work = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/custseg-overhead")
n = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
d = int(sys.argv[4]) if len(sys.argv) > 4 else 16
k, iters, seed = 16, 20, 1
work.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
X = (rng.uniform(-10, 10, (k, d))[rng.integers(0, k, n)] + rng.normal(size=(n, d))).astype(np.float32)
path = work / "blobs.parquet"
if not path.exists():
    cols = {"id": np.arange(n, dtype=np.int64)} | {f"f{j}": X[:, j] for j in range(d)}
    pq.write_table(pa.table(cols), path)
# The same explicit initial centres for both: the first k rows, written as a model-free CSV is not a CLI input, so
# both use init "random" with max_iter fixed and tol 0: the timed work is `iters` full Lloyd steps either way.
rounds = 5
cli, py, native, exact = [], [], [], []
# The three alternate, round after round, so that a change of load hits each alike.
for _ in range(rounds):
    # -v: the log's full format, whose `seconds` has every digit (the default rounds it to two decimals).
    r = subprocess.run(
        [binary, "segment", "--input", str(path), "--id", "id", "--scale", "none", "--device", "cpu", "-k", str(k),
         "--init", "random", "--n-init", "1", "--max-iter", str(iters), "--tol", "0", "--seed", str(seed),
         "--output", str(work / "out.parquet"), "-v"],
        capture_output=True, text=True, check=True,
        env={"RUST_LOG": "warn,custseg=info", "PATH": "/usr/bin:/bin"},
    )
    line = next(l for l in r.stderr.splitlines() if "fitted" in l)
    steps = int(re.search(r"n_iter=(\d+)", line).group(1))
    cli.append((float(re.search(r"seconds=([0-9.e-]+)", line).group(1)), steps))
    m = custseg.KMeans(n_clusters=k, init="random", n_init=1, max_iter=iters, tol=0, random_state=seed, device="cpu")
    t = time.perf_counter()
    m.fit(X)
    py.append((time.perf_counter() - t, m.n_iter_))
    t = time.perf_counter()
    out = _native.fit(X, None, k, "random", None, 1, iters, 0.0, seed, "cpu", False)
    native.append((time.perf_counter() - t, out[4]))
    m = custseg.KMeans(n_clusters=k, init="random", n_init=1, max_iter=iters, tol=0, random_state=seed, device="cpu",
                       exact_sums=True)
    t = time.perf_counter()
    m.fit(X)
    exact.append((time.perf_counter() - t, m.n_iter_))
best = lambda runs: min(s / it for s, it in runs)  # noqa: E731
print(f"rows {n} x {d}, k = {k}, {iters} steps, init random, tol 0, best of {rounds}")
print(f"CLI fit (custseg segment, 'fitted' seconds): {cli}  per step {best(cli) * 1e3:.1f} ms")
print(f"custseg.KMeans.fit wall:                     {py}  per step {best(py) * 1e3:.1f} ms")
print(f"_native.fit wall (no Python layer):          {native}  per step {best(native) * 1e3:.1f} ms")
print(f"KMeans(exact_sums=True).fit wall:        {exact}  per step {best(exact) * 1e3:.1f} ms")
print(f"Python layer overhead vs the native call: {100 * (best(py) / best(native) - 1):+.1f}%")
print(f"custseg.KMeans vs the CLI's fit:          {100 * (best(py) / best(cli) - 1):+.1f}%")
print(f"KMeans(exact_sums=True) vs the CLI's fit: {100 * (best(exact) / best(cli) - 1):+.1f}%")
