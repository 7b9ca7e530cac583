"""Type stubs of the private native module ``custseg._native`` (pyo3). Arrays are C-contiguous float32."""

import numpy as np
import numpy.typing as npt

__version__: str

def fit(
    x: npt.NDArray[np.float32],
    sample_weight: npt.NDArray[np.float32] | None,
    n_clusters: int,
    init: str,
    centres: npt.NDArray[np.float32] | None,
    n_init: int,
    max_iter: int,
    tol: float,
    seed: int,
    device_name: str,
    exact: bool,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32], npt.NDArray[np.float32], float, int, str]:
    """K-means fit: (centres, labels, squared distances, inertia, n_iter, backend name); `exact`: exact sums on the
    CPU (the Spark fit's bits) rather than the CLI's. Releases the GIL."""

def assign(
    x: npt.NDArray[np.float32], centres: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Nearest centre and squared distance of every row, on the CPU."""

def partial_step(
    x: npt.NDArray[np.float32], centres: npt.NDArray[np.float32], x_max: list[float]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], int, int, int]:
    """One partition's exact share of a Lloyd step: (counts, sums_hi, sums_lo, inertia_hi, inertia_lo, inertia_exp)."""

def update_centres(
    centres: npt.NDArray[np.float32], sums: list[int], counts: list[int], inertia: int, x_max: list[float]
) -> tuple[npt.NDArray[np.float32], float, float]:
    """The driver's update from the total exact sums: (new centres, squared shift, inertia)."""

def run_command(args: list[str]) -> str:
    """Runs one of the CLI's job commands (segment, choose-k, assign, compare, features) in-process and returns what
    it printed. Bad input raises ValueError with the CLI's message. Releases the GIL."""

def read_model(path: str) -> str:
    """The JSON text of a model `custseg segment` wrote, checked as `custseg assign` checks it (ValueError if not)."""

def non_finite(x: npt.NDArray[np.float32]) -> tuple[int, int] | None:
    """The first column with NaN or infinite values and their count, or None when all are finite."""
