"""The tables of a sweep: one Parquet file per task as it arrives, then ``points`` and ``pairs``.

``points.parquet`` / ``points.csv`` (tidy: one row per point and backend, sorted by both): ``point``, every
axis (SI, with ``dt`` and ``current`` always), ``backend``, then :data:`comparisons.sweep_measures.COLUMNS`.
``pairs.parquet`` / ``pairs.csv``: one row per point, backend pair and measure, with the axes (``isi_diff``: the two mean
ISIs, tolerance the sum of both ISI bounds; ``latency_diff``: the two first spikes, tolerance the sum of
both latency bounds; judged where both backends' own verdicts are). Floats by ``repr``; the same chunks give
byte-identical files, however many runs wrote them.

:func:`stream` writes the four files without holding either table: it walks the points in blocks of
:data:`BLOCK` points, reads the rows of a block from the chunk files that the plan names
(:mod:`comparisons.sweep_plan`), and appends them as one Parquet row group and as CSV lines; the caller
sees each block (the maps page counts its verdicts block by block). A block's axis values come from the
plan by arithmetic. Its memory is one block of each table and a bounded cache of chunk tables
(:data:`CACHE_ROWS` rows, :data:`CACHE_FILES` files), whatever the number of points. :func:`assemble` builds the same tables in memory (for small sweeps and as the check of
the streamed ones).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from models.errors import ContractError
from models.files import replacing

from .sweep_measures import COLUMNS, PASS_COLUMNS
from .sweep_plan import Plan, invalid_name

PAIR_MEASURES = {"isi_diff": ("mean_isi_s", "isi_tol_s", "isi_pass"),
                 "latency_diff": ("first_spike_s", "latency_tol_s", "latency_pass")}
PAIR_COLUMNS = ("point", "backend_a", "backend_b", "measure", "value", "tolerance", "passed")
#: Points per block of the streamed tables (one Parquet row group per block).
BLOCK = 1024
#: Bounds of the cache of chunk tables read while streaming (a chunk straddling two blocks is read once).
CACHE_ROWS = 8 * BLOCK
CACHE_FILES = 256


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
    table = _table(rows)
    if "_seconds" in rows:
        table = table.replace_schema_metadata({b"seconds": repr(float(rows["_seconds"])).encode()})
    with replacing(path) as tmp:
        pq.write_table(table, tmp)


def chunk_seconds(path: Path) -> float | None:
    """The wall time (s) of the task that wrote a chunk file (None for rows written without a run)."""
    meta = pq.read_schema(path).metadata or {}
    return float(meta[b"seconds"]) if b"seconds" in meta else None


def assemble(sweep, chunks: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The points and pairs tables from every chunk file, in a fixed order, in memory."""
    files = sorted(p for p in chunks.glob("*.parquet") if not p.name.startswith("."))
    frame = pd.concat([pq.read_table(p).to_pandas() for p in files], ignore_index=True)
    return _join(sweep.points().reset_index(), frame, sweep.backends)


def _join(axes: pd.DataFrame, frame: pd.DataFrame, backends) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The points and pairs rows of the points of ``axes`` (``point`` and the axis columns) from the chunk
    rows ``frame`` (any order, other points and backends dropped)."""
    for c in PASS_COLUMNS:
        frame[c] = frame[c].astype("boolean")
    order = {name: i for i, name in enumerate(backends)}
    frame = frame[frame["backend"].isin(order)]
    frame = frame.assign(_order=frame["backend"].map(order)).sort_values(["point", "_order"])
    points = axes.merge(frame.drop(columns="_order"), on="point", how="left", validate="one_to_many")
    points = points.reset_index(drop=True)
    pair_rows = axes.merge(pairs(points, backends), on="point", how="inner", validate="one_to_many")
    return points, pair_rows


def stream(plan: Plan, chunks: Path, out: Path, on_block=None) -> None:
    """Write ``points`` and ``pairs`` (Parquet and CSV, see the module docstring) block by block from the
    chunk files; ``on_block(points, pairs)`` sees every block. Each file is written beside its place and
    renamed into it at the end.

    Raises
    ------
    ContractError
        When a chunk file that the plan names is missing (every task has written its chunk by then).
    """
    sweep = plan.sweep
    cache = _ChunkCache(chunks)
    sinks = {name: _TableSink(out, name) for name in ("points", "pairs")}
    try:
        for lo in range(0, plan.n, BLOCK):
            ids = np.arange(lo, min(plan.n, lo + BLOCK), dtype=np.int64)
            values = plan.values(ids)
            axes = pd.DataFrame({"point": ids, **{c: values[:, j] for j, c in enumerate(plan.columns)}})
            parts = []
            for name in sweep.backends:
                for file, group in plan.chunk_files(ids, name).items():
                    table = cache.get(file)
                    if table is None and (table := cache.get(invalid_name(group))) is not None:
                        table = table.filter(pc.equal(table.column("backend"), name))
                    if table is None:
                        raise ContractError(f"sweep chunk {chunks / file}", "to exist once every task has run",
                                            "missing")
                    pts = table.column("point").to_numpy()
                    parts.append(table.filter(pa.array((pts >= lo) & (pts <= ids[-1]))))
            frame = pa.concat_tables(parts).to_pandas()
            points, pair_rows = _join(axes, frame, sweep.backends)
            sinks["points"].add(points)
            sinks["pairs"].add(pair_rows)
            if on_block is not None:
                on_block(points, pair_rows)
        for sink in sinks.values():
            sink.close()
    finally:
        for sink in sinks.values():
            sink.discard()


class _ChunkCache:
    """Chunk tables by file name, the least recently used dropped beyond :data:`CACHE_ROWS` rows or
    :data:`CACHE_FILES` files; ``None`` for a file that does not exist."""

    def __init__(self, chunks: Path):
        self.chunks = chunks
        self.tables: OrderedDict[str, pa.Table] = OrderedDict()
        self.rows = 0

    def get(self, name: str) -> pa.Table | None:
        if name in self.tables:
            self.tables.move_to_end(name)
            return self.tables[name]
        path = self.chunks / name
        if not path.is_file():
            return None
        table = pq.read_table(path)
        self.tables[name] = table
        self.rows += table.num_rows
        while len(self.tables) > 1 and (self.rows > CACHE_ROWS or len(self.tables) > CACHE_FILES):
            _, dropped = self.tables.popitem(last=False)
            self.rows -= dropped.num_rows
        return table


class _TableSink:
    """One table appended block by block to ``<name>.parquet`` (a row group per block, the schema and
    pandas metadata of the first) and ``<name>.csv`` (its header once), both temporary until ``close``."""

    def __init__(self, out: Path, name: str):
        self.paths = [out / f"{name}.parquet", out / f"{name}.csv"]
        self.tmps = [p.with_name(f".{p.name}.tmp-{os.getpid()}") for p in self.paths]
        self.writer = None
        self.csv = open(self.tmps[1], "w", encoding="utf-8", newline="")

    def add(self, frame: pd.DataFrame) -> None:
        if self.writer is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            self.writer = pq.ParquetWriter(self.tmps[0], table.schema)
            header = True
        else:
            table = pa.Table.from_pandas(frame, schema=self.writer.schema, preserve_index=False)
            header = False
        self.writer.write_table(table)
        frame.to_csv(self.csv, index=False, header=header, float_format=None, lineterminator="\n")

    def close(self) -> None:
        if self.writer is None:
            raise ContractError("sweep table", "at least one row", "none")
        self.writer.close()
        self.csv.close()
        for tmp, path in zip(self.tmps, self.paths):
            os.replace(tmp, path)

    def discard(self) -> None:
        if not self.csv.closed:
            self.csv.close()
        if self.writer is not None and self.writer.is_open:
            self.writer.close()
        for tmp in self.tmps:
            tmp.unlink(missing_ok=True)


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
            with replacing(path) as tmp:
                if suffix == "parquet":
                    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
                else:
                    frame.to_csv(tmp, index=False, float_format=None, lineterminator="\n")
