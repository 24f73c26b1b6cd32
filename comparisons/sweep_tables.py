"""The tables of a sweep: one Parquet file per task as it arrives, then ``points`` and ``pairs``.

``points.parquet`` / ``points.csv`` (tidy: one row per point and backend, sorted by both): ``point``, every
axis (SI, with ``dt`` and ``current`` always), ``backend``, then :data:`comparisons.sweep_measures.COLUMNS`.
``pairs.parquet`` / ``pairs.csv``: one row per point, backend pair and measure, with the axes (``isi_diff``: the two mean
ISIs, tolerance the sum of both ISI bounds; ``latency_diff``: the two first spikes, tolerance the sum of
both latency bounds; judged where both backends' own verdicts are). Floats by ``repr``; the same chunks give
byte-identical files, however many runs wrote them.
"""

from __future__ import annotations

import os
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .sweep_measures import COLUMNS, PASS_COLUMNS

PAIR_MEASURES = {"isi_diff": ("mean_isi_s", "isi_tol_s", "isi_pass"),
                 "latency_diff": ("first_spike_s", "latency_tol_s", "latency_pass")}
PAIR_COLUMNS = ("point", "backend_a", "backend_b", "measure", "value", "tolerance", "passed")


def _table(rows: dict) -> pa.Table:
    columns = {"point": pa.array(np.asarray(rows["point"], dtype=np.int64)),
               "backend": pa.array(list(rows["backend"]), pa.string())}
    for c in COLUMNS:
        value = rows[c]
        if c in PASS_COLUMNS:
            columns[c] = pa.array([None if v is None else bool(v) for v in value], pa.bool_())
        elif c in ("status", "reason", "timing_class"):
            columns[c] = pa.array([str(v) for v in value], pa.string())
        else:
            columns[c] = pa.array(np.asarray(value))
    return pa.table(columns)


def write_chunk(path: Path, rows: dict) -> None:
    """One task's rows as a Parquet file, written beside ``path`` and renamed into place (a sweep killed
    mid-write leaves no partial chunk); the task's wall time ``_seconds``, when given, goes into the file's
    metadata."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    table = _table(rows)
    if "_seconds" in rows:
        table = table.replace_schema_metadata({b"seconds": repr(float(rows["_seconds"])).encode()})
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def chunk_seconds(path: Path) -> float | None:
    """The wall time (s) of the task that wrote a chunk file (None for rows written without a run)."""
    meta = pq.read_schema(path).metadata or {}
    return float(meta[b"seconds"]) if b"seconds" in meta else None


def assemble(sweep, chunks: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The points and pairs tables from every chunk file, in a fixed order."""
    files = sorted(p for p in chunks.glob("*.parquet") if not p.name.startswith("."))
    frame = pd.concat([pq.read_table(p).to_pandas() for p in files], ignore_index=True)
    for c in PASS_COLUMNS:
        frame[c] = frame[c].astype("boolean")
    axes = sweep.points().reset_index()
    order = {name: i for i, name in enumerate(sweep.backends)}
    frame = frame[frame["backend"].isin(order)]
    frame = frame.assign(_order=frame["backend"].map(order)).sort_values(["point", "_order"])
    points = axes.merge(frame.drop(columns="_order"), on="point", how="left", validate="one_to_many")
    points = points.reset_index(drop=True)
    pair_rows = axes.merge(pairs(points, sweep.backends), on="point", how="inner", validate="one_to_many")
    return points, pair_rows


def pairs(points: pd.DataFrame, backends) -> pd.DataFrame:
    """Per point, backend pair and measure: ``|a - b|`` and the sum of both bounds (see the module
    docstring); ``passed`` empty where either backend's own verdict is."""
    by = {name: points[points["backend"] == name].set_index("point") for name in backends}
    parts = []
    for a, b in combinations(backends, 2):
        pa_, pb = by[a], by[b]
        common = pa_.index.intersection(pb.index)
        for measure, (value, tol, verdict) in PAIR_MEASURES.items():
            va, vb = pa_.loc[common, value].to_numpy(float), pb.loc[common, value].to_numpy(float)
            both_none = np.isnan(va) & np.isnan(vb)
            with np.errstate(invalid="ignore"):
                diff = np.where(both_none, 0.0, np.where(np.isnan(va) | np.isnan(vb), np.inf, np.abs(va - vb)))
            tolerance = pa_.loc[common, tol].to_numpy(float) + pb.loc[common, tol].to_numpy(float)
            judged = pa_.loc[common, verdict].notna().to_numpy() & pb.loc[common, verdict].notna().to_numpy()
            passed = pd.array([bool(d <= t) if j else pd.NA for d, t, j in zip(diff, tolerance, judged)],
                              dtype="boolean")
            parts.append(pd.DataFrame({"point": common.to_numpy(np.int64), "backend_a": a, "backend_b": b,
                                       "measure": measure, "value": diff,
                                       "tolerance": np.where(judged, tolerance, np.nan), "passed": passed}))
    if not parts:
        return pd.DataFrame({c: [] for c in PAIR_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["point", "backend_a", "backend_b", "measure"], kind="stable").reset_index(drop=True)


def write(out: Path, points: pd.DataFrame, pairs_: pd.DataFrame) -> None:
    """``points`` and ``pairs`` as Parquet and CSV, each written to a temporary file and renamed."""
    for name, frame in (("points", points), ("pairs", pairs_)):
        for suffix in ("parquet", "csv"):
            path = out / f"{name}.{suffix}"
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            if suffix == "parquet":
                pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
            else:
                frame.to_csv(tmp, index=False, float_format=None, lineterminator="\n")
            os.replace(tmp, path)
