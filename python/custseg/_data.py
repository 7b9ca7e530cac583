"""Turning X into the C-contiguous float32 matrix the native fit reads, with the CLI's one-line errors.

NumPy arrays, pandas and polars DataFrames, and any object with the Arrow PyCapsule interface
(``__arrow_c_stream__`` / ``__arrow_c_array__``: pyarrow, polars, DuckDB) are accepted. A C-contiguous float32
NumPy array goes through unchanged (no copy); other inputs are converted once.
"""

from __future__ import annotations

import numpy as np

from . import _native


def is_pandas(X) -> bool:
    return type(X).__module__.startswith("pandas") and hasattr(X, "columns")


def is_arrow_like(X) -> bool:
    """An Arrow PyCapsule object that is not a pandas DataFrame (pandas is read through scikit-learn)."""
    return (hasattr(X, "__arrow_c_stream__") or hasattr(X, "__arrow_c_array__")) and not is_pandas(X)


def check_pandas_columns(X) -> None:
    """An object (or other non-numeric) column is an error naming it."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    for name in X.columns:
        dtype = X[name].dtype
        if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype)):
            raise ValueError(
                f"column '{name}' is {dtype}, not numeric (in X); encode it as numbers or leave it out"
            )


def arrow_table(X):
    """Any Arrow PyCapsule object as a pyarrow Table (zero-copy import through the C data interface)."""
    try:
        import pyarrow as pa
    except ImportError as e:  # pragma: no cover - pyarrow is a dependency of the arrow path
        raise ValueError("reading an Arrow object needs pyarrow: pip install pyarrow") from e
    if hasattr(X, "__arrow_c_stream__"):
        return pa.table(X)
    return pa.Table.from_batches([pa.record_batch(X)])


def arrow_matrix(X, columns=None):
    """The named columns (all by default) of an Arrow object as a row-major float32 matrix, and their names.

    A non-numeric column, a missing column or a null value is a ValueError naming the column and the count.
    Each float32 column without nulls is read without a copy; the row-major matrix is the one copy.
    """
    import pyarrow as pa
    import pyarrow.types as pt

    table = arrow_table(X)
    names = list(table.column_names) if columns is None else list(columns)
    missing = [c for c in names if c not in table.column_names]
    if missing:
        raise ValueError(
            f"X has no column '{missing[0]}' ({len(missing)} of the {len(names)} feature columns are missing); "
            f"its columns: {', '.join(table.column_names)}"
        )
    out = np.empty((table.num_rows, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        col = table.column(name)
        t = col.type
        if not (pt.is_integer(t) or pt.is_floating(t) or pt.is_boolean(t) or pt.is_decimal(t)):
            raise ValueError(f"column '{name}' is {t}, not numeric (in X); encode it as numbers or leave it out")
        if col.null_count:
            raise ValueError(f"column '{name}' has {col.null_count} null values (in X); drop or impute them first")
        out[:, j] = col.cast(pa.float32()).to_numpy()
    return out, names


def check_finite(X32: np.ndarray, names) -> None:
    """A NaN or infinite value of the C-contiguous float32 matrix the fit reads is an error naming the first such
    column and its count (the CLI's words). One native pass, no temporary arrays (``_native.non_finite``)."""
    bad = _native.non_finite(X32)
    if bad is not None:
        j, count = bad
        name = names[j] if names is not None else f"x{j}"
        raise ValueError(f"column '{name}' has {count} NaN or infinite values (in X); drop or impute them first")


def as_float32(X: np.ndarray) -> np.ndarray:
    """C-contiguous float32: the same array when it already is one."""
    return np.ascontiguousarray(X, dtype=np.float32)
