"""The CLI's jobs as Python functions: :func:`segment`, :func:`choose_k`, :func:`features`, :func:`compare`, and
:func:`load_model` with :meth:`Model.assign`.

Each runs the command of the same name inside this process (``custseg._native.run_command``, the library's
``cli::run_embedded``), so its options, their checks, the work and the one-line error messages are the CLI's:

- keyword arguments become flags: ``signed_log=["monetary"]`` is ``--signed-log monetary``, ``True`` a bare flag,
  ``False`` and ``None`` leave the flag out, a list or tuple is joined with commas; ``custseg segment --help`` lists
  them all;
- an input may be a path (a file, a folder or a glob, as on the command line) or a table: a pandas or polars
  DataFrame, a pyarrow Table, or any object with ``__arrow_c_stream__``; a table is written once to a temporary
  Parquet file (a copy) that the command reads;
- the outputs (segments, features, movers) come back as pyarrow Tables (``.to_pandas()`` for pandas) and the
  summary as the dict the command prints with ``--json``; outputs the caller names (``output=``, ``model=``,
  ``profile=``, ``report=``) are written there as well;
- bad input raises ``ValueError`` with the CLI's message; a failure of the device or of a write ``RuntimeError``.

The GIL is released while a command runs.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _native

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "AssignResult",
    "ChooseKResult",
    "CompareResult",
    "FeaturesResult",
    "Model",
    "SegmentResult",
    "choose_k",
    "compare",
    "features",
    "load_model",
    "segment",
]


@dataclass(frozen=True)
class SegmentResult:
    """What :func:`segment` returns: the segments (ID, segment, distance, and any ``keep`` columns), the model, and
    the summary ``custseg segment --json`` prints."""

    segments: pa.Table
    model: Model
    summary: dict = field(repr=False)


@dataclass(frozen=True)
class AssignResult:
    """What :meth:`Model.assign` returns: each customer's segment and distance, and the summary (shares against the
    fit's, drift) ``custseg assign --json`` prints."""

    segments: pa.Table
    summary: dict = field(repr=False)


@dataclass(frozen=True)
class ChooseKResult:
    """What :func:`choose_k` returns: the recommended k (``None`` if no k qualified), one row per k as a pandas
    DataFrame, and the summary ``custseg choose-k --json`` prints."""

    recommended_k: int | None
    table: pd.DataFrame
    summary: dict = field(repr=False)


@dataclass(frozen=True)
class FeaturesResult:
    """What :func:`features` returns: one row of features per customer, and the summary ``custseg features --json``
    prints."""

    customers: pa.Table
    summary: dict = field(repr=False)


@dataclass(frozen=True)
class CompareResult:
    """What :func:`compare` returns: the customers who moved (ID, from, to), and the summary (transitions, entered,
    left, retention) ``custseg compare --json`` prints."""

    movers: pa.Table
    summary: dict = field(repr=False)


def _flags(options: dict[str, Any]) -> list[str]:
    """Keyword arguments as command-line flags (see the module doc)."""
    out: list[str] = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif isinstance(value, (list, tuple)):
            out += [flag, ",".join(str(v) for v in value)]
        else:
            out += [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return out


def _is_path(obj) -> bool:
    return isinstance(obj, (str, os.PathLike))


def _table(obj):
    """A table-like object as a pyarrow Table."""
    import pyarrow as pa

    if isinstance(obj, pa.Table):
        return obj
    if type(obj).__module__.startswith("pandas") and hasattr(obj, "columns"):
        return pa.Table.from_pandas(obj)
    if hasattr(obj, "__arrow_c_stream__"):
        return pa.table(obj)
    if hasattr(obj, "to_arrow"):
        return obj.to_arrow()
    raise ValueError(
        f"an input must be a path or a table (pandas, polars, pyarrow, or an Arrow stream), got {type(obj).__name__}"
    )


def _input(obj, work: Path, name: str) -> str:
    """A path as given, or a table written to a Parquet file in ``work`` (named ``name``, which messages show)."""
    if _is_path(obj):
        return os.fspath(obj)
    import pyarrow.parquet as pq

    path = work / f"{name}.parquet"
    pq.write_table(_table(obj), path)
    return str(path)


def _run(args: list[str], work: Path | None = None) -> dict:
    """Runs a command with ``--json`` and returns its summary. In an error message, a table's temporary file in
    ``work`` is named as the argument it came from (``input table``, ``before table``, ``the model``...)."""
    try:
        return json.loads(_native.run_command(args + ["--json"]))
    except (ValueError, RuntimeError) as e:
        message = str(e)
        if work is None or str(work) not in message:
            raise
        for f in work.iterdir():
            message = message.replace(str(f), f"{f.stem} table" if f.suffix == ".parquet" else f"the {f.stem}")
        raise type(e)(message) from None


def _read(path) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(path)


class Model:
    """A model ``custseg segment`` wrote: :func:`load_model` reads one, :meth:`assign` scores customers with it."""

    def __init__(self, text: str, path: str | None = None):
        self._text = text
        self._json = json.loads(text)
        self.path = path

    @property
    def json(self) -> dict:
        """The model as a dict (features, scaler, centroids, segment numbers and names, drift reference)."""
        return self._json

    @property
    def k(self) -> int:
        """The number of segments."""
        return len(self._json["centroids_scaled"])

    @property
    def features(self) -> list[str]:
        """The feature columns, in the model's order."""
        return list(self._json["features"])

    def save(self, path) -> None:
        """Writes the model's JSON to ``path`` (what ``custseg assign --model`` reads)."""
        Path(path).write_text(self._text)

    def assign(self, input, *, output=None, **options) -> AssignResult:
        """Scores ``input`` (a path or a table): ``custseg assign --model ... --input ...``; ``options`` are its
        other flags (``device``, ``keep``, ``pseudonymize``, ...)."""
        with tempfile.TemporaryDirectory(prefix="custseg-") as tmp:
            work = Path(tmp)
            model = work / "model.json"
            self.save(model)
            out = output if output is not None else work / "assigned.parquet"
            args = ["assign", "--model", str(model), "--input", _input(input, work, "input"), "--output", str(out)]
            summary = _run(args + _flags(options), work)
            return AssignResult(_read(out), summary)

    def __repr__(self) -> str:
        return f"Model(k={self.k}, features={self.features!r})"


def load_model(path) -> Model:
    """Reads a model ``custseg segment`` wrote, checked as ``custseg assign`` checks it (a file that is not a model,
    or one from an incompatible engine version, is a ``ValueError``)."""
    return Model(_native.read_model(os.fspath(path)), os.fspath(path))


def segment(input=None, *, k=None, output=None, model=None, **options) -> SegmentResult:
    """Clusters customers into segments: ``custseg segment``. ``input`` is a path or a table (the bundled sample of
    20,000 customers when ``None``); ``k`` a number or ``"auto"``; ``options`` are the command's other flags
    (``features``, ``categorical``, ``signed_log``, ``clip``, ``device``, ``seed``, ``profile``, ``report``,
    ``previous``, ...)."""
    with tempfile.TemporaryDirectory(prefix="custseg-") as tmp:
        work = Path(tmp)
        out = output if output is not None else work / "segments.parquet"
        model_path = model if model is not None else work / "model.json"
        args = ["segment", "--output", os.fspath(out), "--model", os.fspath(model_path)]
        if input is not None:
            args += ["--input", _input(input, work, "input")]
        summary = _run(args + _flags({"k": k, **options}), work)
        m = Model(Path(model_path).read_text(), os.fspath(model) if model is not None else None)
        return SegmentResult(_read(out), m, summary)


def choose_k(input=None, *, k=None, **options) -> ChooseKResult:
    """Fits each k of a range and recommends one: ``custseg choose-k``. ``k`` is the range (``"2..12"``) or a list
    of values; ``options`` are the command's other flags (``sample``, ``bootstrap``, ``min_segment_share``,
    ``report``, ...)."""
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="custseg-") as tmp:
        work = Path(tmp)
        args = ["choose-k"]
        if input is not None:
            args += ["--input", _input(input, work, "input")]
        summary = _run(args + _flags({"k": k, **options}), work)
    return ChooseKResult(summary.get("recommended_k"), pd.DataFrame(summary.get("rows", [])), summary)


def features(transactions, *, as_of, output=None, **options) -> FeaturesResult:
    """Per-customer RFM and value features from a transaction log: ``custseg features``. ``transactions`` is a path
    (Parquet or CSV files, a folder, a glob) or a table; ``as_of`` the date (``"2026-11-01"`` or a date);
    ``options`` are the command's other flags (``customer``, ``date``, ``amount``, ``order``, ``category``, ...)."""
    with tempfile.TemporaryDirectory(prefix="custseg-") as tmp:
        work = Path(tmp)
        out = output if output is not None else work / "features.parquet"
        args = ["features", "--transactions", _input(transactions, work, "transactions"), "--output", os.fspath(out)]
        summary = _run(args + _flags({"as_of": str(as_of), **options}), work)
        return FeaturesResult(_read(out), summary)


def compare(before, after, *, output=None, **options) -> CompareResult:
    """Compares two periods' segments: ``custseg compare``. ``before`` and ``after`` are paths or tables with an ID
    and a segment column; ``options`` are the command's other flags (``column``, ``id``, ``report``,
    ``pseudonymize``, ...)."""
    with tempfile.TemporaryDirectory(prefix="custseg-") as tmp:
        work = Path(tmp)
        out = output if output is not None else work / "movers.parquet"
        args = ["compare", "--before", _input(before, work, "before"), "--after", _input(after, work, "after")]
        summary = _run(args + ["--output", os.fspath(out)] + _flags(options), work)
        return CompareResult(_read(out), summary)
