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

from .sweep_csv import write_csv
from .sweep_measures import COLUMNS, PASS_COLUMNS
from .sweep_plan import Plan

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
    return _join(sweep.points().reset_index(), [_read(p) for p in files], sweep.backends)


def _read(path: Path) -> pa.Table:
    return pq.ParquetFile(path).read(use_threads=False)


def _join(axes: pd.DataFrame, tables: list[pa.Table], backends) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The points and pairs rows of the points of ``axes`` (``point`` and the axis columns) from the chunk
    tables ``tables`` (rows in any order, other points and backends dropped).

    When ``axes`` holds the contiguous points ``p0, p0 + 1, ...`` and the tables hold exactly one row per
    point and backend (every finished sweep), the rows are put in place by index arithmetic; otherwise
    (rows missing or repeated, chunk schemas that differ) by a pandas merge. Both give the same frames."""
    same = all(t.schema.equals(tables[0].schema) for t in tables[1:])
    table = pa.concat_tables(tables) if tables and same else None
    placed = _placed(axes, table, backends) if table is not None else None
    if placed is None:
        return _merged(axes, pd.concat([t.to_pandas() for t in tables], ignore_index=True), backends)
    points, start = placed
    pair_rows = pairs(points, backends)
    where = pair_rows["point"].to_numpy() - start
    pair_rows = pd.concat([axes.iloc[where].reset_index(drop=True), pair_rows.drop(columns="point")], axis=1)
    return points, pair_rows


def _placed(axes: pd.DataFrame, table: pa.Table, backends) -> tuple[pd.DataFrame, int] | None:
    """The points rows by index arithmetic and the first point, or None when the rows do not fill the
    grid of points x backends exactly once (see :func:`_join`)."""
    ids = axes["point"].to_numpy()
    nb, m = len(backends), len(ids)
    if m == 0 or not np.array_equal(ids, np.arange(ids[0], ids[0] + m)):
        return None
    code = pc.index_in(table.column("backend"), value_set=pa.array(list(backends), pa.string()))
    code = code.to_numpy(zero_copy_only=False)
    place = table.column("point").to_numpy() - ids[0]
    keep = (place >= 0) & (place < m)
    if code.dtype.kind == "f":
        keep &= ~np.isnan(code)
    rows = np.flatnonzero(keep)
    key = place[rows] * nb + code[rows].astype(np.int64)
    order = np.argsort(key, kind="stable")
    if len(key) != m * nb or not np.array_equal(key[order], np.arange(m * nb)):
        return None
    frame = table.take(pa.array(rows[order])).combine_chunks().to_pandas(types_mapper=_NULLABLE_BOOL.get)
    repeated = np.repeat(np.arange(m), nb)
    columns = {c: axes[c].to_numpy()[repeated] for c in axes.columns}
    columns.update({c: frame[c] for c in frame.columns if c != "point"})
    return pd.DataFrame(columns), int(ids[0])


_NULLABLE_BOOL = {pa.bool_(): pd.BooleanDtype()}


def _merged(axes: pd.DataFrame, frame: pd.DataFrame, backends) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`_join` by a pandas merge, for rows that need not fill the grid of points x backends."""
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
                for file in plan.chunk_files(ids, name):
                    table = cache.get(file)
                    if table is None:
                        raise ContractError(f"sweep chunk {chunks / file}", "to exist once every task has run",
                                            "missing")
                    pts = table.column("point").to_numpy()
                    parts.append(table.filter(pa.array((pts >= lo) & (pts <= ids[-1]))))
            points, pair_rows = _join(axes, parts, sweep.backends)
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
        table = _read(path)
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
            table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
            self.writer = pq.ParquetWriter(self.tmps[0], table.schema)
            header = True
        else:
            table = pa.Table.from_pandas(frame, schema=self.writer.schema, preserve_index=False, nthreads=1)
            header = False
        self.writer.write_table(table)
        write_csv(self.csv, frame, header)

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
    docstring); ``passed`` empty where either backend's own verdict is. Sorted by point, then by the
    names of both backends and of the measure."""
    if len(backends) < 2:
        return pd.DataFrame({c: [] for c in PAIR_COLUMNS})
    point = points["point"].to_numpy()
    backend = points["backend"].to_numpy(dtype=object, na_value=None)
    rows = {name: np.flatnonzero(backend == name) for name in backends}
    columns = {c: points[c].to_numpy(float, na_value=np.nan)
               for value, tol, _ in PAIR_MEASURES.values() for c in (value, tol)}
    judged_by = {verdict: points[verdict].notna().to_numpy() for _, _, verdict in PAIR_MEASURES.values()}
    parts = []
    for a, b in combinations(backends, 2):
        common, ia, ib = np.intersect1d(point[rows[a]], point[rows[b]], assume_unique=False, return_indices=True)
        ra, rb = rows[a][ia], rows[b][ib]
        for measure, (value, tol, verdict) in PAIR_MEASURES.items():
            va, vb = columns[value][ra], columns[value][rb]
            both_none = np.isnan(va) & np.isnan(vb)
            with np.errstate(invalid="ignore"):
                diff = np.where(both_none, 0.0, np.where(np.isnan(va) | np.isnan(vb), np.inf, np.abs(va - vb)))
            tolerance = columns[tol][ra] + columns[tol][rb]
            judged = judged_by[verdict][ra] & judged_by[verdict][rb]
            with np.errstate(invalid="ignore"):
                passed = diff <= tolerance
            parts.append((common.astype(np.int64), a, b, measure, diff, np.where(judged, tolerance, np.nan),
                          passed, ~judged))
    rank = {key: i for i, key in enumerate(sorted((a, b, m) for _, a, b, m, *_ in parts))}
    key = np.concatenate([np.full(len(p[0]), rank[p[1:4]]) for p in parts])
    point_of = np.concatenate([p[0] for p in parts])
    order = np.lexsort((key, point_of))
    text = {field: np.concatenate([np.full(len(p[0]), p[j], dtype=object) for p in parts])[order]
            for j, field in ((1, "backend_a"), (2, "backend_b"), (3, "measure"))}
    return pd.DataFrame({"point": point_of[order], "backend_a": pd.Series(text["backend_a"], dtype="str"),
                         "backend_b": pd.Series(text["backend_b"], dtype="str"),
                         "measure": pd.Series(text["measure"], dtype="str"),
                         "value": np.concatenate([p[4] for p in parts])[order],
                         "tolerance": np.concatenate([p[5] for p in parts])[order],
                         "passed": pd.arrays.BooleanArray(np.concatenate([p[6] for p in parts])[order],
                                                          np.concatenate([p[7] for p in parts])[order])})


def write(out: Path, points: pd.DataFrame, pairs_: pd.DataFrame) -> None:
    """``points`` and ``pairs`` as Parquet and CSV, each written to a temporary file and renamed."""
    for name, frame in (("points", points), ("pairs", pairs_)):
        for suffix in ("parquet", "csv"):
            path = out / f"{name}.{suffix}"
            with replacing(path) as tmp:
                if suffix == "parquet":
                    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
                else:
                    with open(tmp, "w", encoding="utf-8", newline="") as fh:
                        write_csv(fh, frame)
