"""The sweep's final tables streamed from the chunk files (comparisons/sweep_tables.py ``stream``) and its plan
(comparisons/sweep_plan.py): the streamed tables equal the ones built in memory, byte for byte in CSV, and
the streaming writer's peak allocation does not grow with the number of chunks, where the in-memory
assembly's does; the maps' counts taken block by block equal the counts over the whole table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from comparisons import sweep_tables
from comparisons.sweep_config import load_sweep
from comparisons.sweep_measures import COLUMNS, FLOAT_COLUMNS, INT_COLUMNS, PASS_COLUMNS
from comparisons.sweep_plan import Plan
from comparisons.sweep_tally import Tally
from conftest import traced_peak

BACKENDS = ("reference", "nengo")

# dt last: a group (one dt) has every other point, so every block of the streamed tables reads the chunks
# of both groups, each chunk's points spread over twice its length
GRID = """
name = "synthetic"
cell = "textbook"
[simulation]
duration = "100 ms"
backends = ["reference", "nengo"]
chunk = 3
[axes.current]
values = ["150 pA", "300 pA", "700 pA", "1 nA", "2 nA"]
[axes.tau_m]
range = ["5 ms", "40 ms"]
num = {n_tau}
[axes.V_reset]
values = ["-65 mV", "-45 mV"]      # -45 mV lies above V_th: invalid points
[axes.dt]
values = ["0.1 ms", "0.05 ms"]
"""

SAMPLED = """
name = "sampled"
cell = "textbook"
[simulation]
duration = "100 ms"
backends = ["reference", "nengo"]
[sample]
method = "latin"
n = {n}
seed = 5
[axes.current]
bounds = ["150 pA", "2 nA"]
[axes.tau_m]
bounds = ["5 ms", "40 ms"]
log = true
"""


def _sweep(tmp_path, text: str, name: str):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return load_sweep(path)


def _rows(points: np.ndarray, backend: str, rng) -> dict:
    """Made-up rows of one chunk: every kind of column, verdicts True, False and empty."""
    n = len(points)
    rows = {c: rng.normal(size=n) for c in FLOAT_COLUMNS}
    rows.update({c: rng.integers(-1, 50, size=n) for c in INT_COLUMNS})
    rows.update({c: list(rng.choice(np.array([True, False, None], dtype=object), size=n)) for c in PASS_COLUMNS})
    rows.update(status=list(rng.choice(["ok", "failed", "unrepresentable"], size=n)), reason=["a, \"quoted\""] * n,
                timing_class=["grid"] * n, point=np.asarray(points, dtype=np.int64), backend=[backend] * n)
    assert set(rows) == set(COLUMNS) | {"point", "backend"}
    return rows


def _chunks(plan: Plan, directory, seed: int = 0):
    """Write the chunk files of every task of ``plan`` (made-up rows)."""
    rng = np.random.default_rng(seed)
    directory.mkdir()
    for task in plan.tasks():
        sweep_tables.write_chunk(directory / f"{task.key}.parquet", _rows(task.points, task.backend, rng))
    return directory


@pytest.mark.parametrize("text", [GRID.format(n_tau=40), SAMPLED.format(n=300),
                                  SAMPLED.format(n=300).replace("latin", "sobol")],
                         ids=["interleaved-grid", "sampled", "sobol-drawn-by-block"])
def test_streamed_tables_equal_the_tables_built_in_memory(tmp_path, monkeypatch, text):
    spec = _sweep(tmp_path, text, "s")
    plan = Plan(spec)
    chunks = _chunks(plan, tmp_path / "chunks")
    points, pairs = sweep_tables.assemble(spec, chunks)
    whole = tmp_path / "whole"
    whole.mkdir()
    sweep_tables.write(whole, points, pairs)
    monkeypatch.setattr(sweep_tables, "BLOCK", 37)            # many blocks, none aligned with a chunk
    monkeypatch.setattr(sweep_tables, "CACHE_ROWS", 50)
    streamed = tmp_path / "streamed"
    streamed.mkdir()
    blocks = []
    sweep_tables.stream(plan, chunks, streamed, lambda p, q: blocks.append(len(p)))
    assert len(blocks) == -(-plan.n // 37) and sum(blocks) == len(points) == plan.n * len(BACKENDS)
    for name in ("points.csv", "pairs.csv"):
        assert (streamed / name).read_bytes() == (whole / name).read_bytes(), name
    for name, frame in (("points", points), ("pairs", pairs)):
        pd.testing.assert_frame_equal(pd.read_parquet(streamed / f"{name}.parquet"), frame)
    assert not [p for p in streamed.iterdir() if p.name.startswith(".")]


def test_a_missing_chunk_is_an_internal_error_and_nothing_is_written(tmp_path):
    from models.errors import ContractError
    spec = _sweep(tmp_path, GRID.format(n_tau=4), "s")
    plan = Plan(spec)
    chunks = _chunks(plan, tmp_path / "chunks")
    next(chunks.glob("nengo-*.parquet")).unlink()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ContractError, match="missing"):
        sweep_tables.stream(plan, chunks, out)
    assert list(out.iterdir()) == []


def test_the_streaming_writer_peak_does_not_grow_with_the_number_of_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep_tables, "BLOCK", 64)
    monkeypatch.setattr(sweep_tables, "CACHE_ROWS", 256)
    peaks, in_memory = {}, {}
    for n_tau in (25, 100):                                   # 4x the points and the chunks
        spec = _sweep(tmp_path, GRID.format(n_tau=n_tau), f"g{n_tau}")
        plan = Plan(spec)
        chunks = _chunks(plan, tmp_path / f"chunks{n_tau}")
        out = tmp_path / f"out{n_tau}"
        out.mkdir()
        sweep_tables.stream(plan, chunks, out, Tally(spec, plan).add)   # once before: first-call allocations
        tally = Tally(spec, plan)
        peaks[n_tau] = traced_peak(lambda: sweep_tables.stream(plan, chunks, out, tally.add))
        in_memory[n_tau] = traced_peak(lambda: sweep_tables.assemble(spec, chunks))
    # the measure sees a table that grows: the in-memory assembly's peak grows with the points
    assert in_memory[100] > 2.5 * in_memory[25], in_memory
    # the streaming writer's does not: one block and a cache of fixed size, whatever the number of chunks
    assert peaks[100] < 1.25 * peaks[25], peaks
    assert peaks[100] < in_memory[100] / 2, (peaks, in_memory)


def test_the_maps_counts_block_by_block_equal_the_counts_over_the_whole_table(tmp_path, monkeypatch):
    spec = _sweep(tmp_path, GRID.format(n_tau=12), "s")
    plan = Plan(spec)
    chunks = _chunks(plan, tmp_path / "chunks")
    points, pairs = sweep_tables.assemble(spec, chunks)
    whole = Tally(spec, plan)
    whole.add(points, pairs)
    monkeypatch.setattr(sweep_tables, "BLOCK", 11)
    out = tmp_path / "out"
    out.mkdir()
    streamed = Tally(spec, plan)
    sweep_tables.stream(plan, chunks, out, streamed.add)
    assert streamed.summary == whole.summary and streamed.listed_points() == whole.listed_points()
    assert streamed.failed == int((points["status"] == "failed").sum()) > 0
    for key, counts in whole.maps.judged.items():
        assert counts.sum() > 0
        np.testing.assert_array_equal(streamed.maps.judged[key], counts)
        np.testing.assert_array_equal(streamed.maps.failing[key], whole.maps.failing[key])
    # one cell counted by hand: reference's isi verdicts at the first current and tau_m, over V_reset
    rows = points[(points["backend"] == "reference") & (points["current"] == points["current"].min())
                  & (points["tau_m"] == points["tau_m"].min())]
    k = [p["title"] for p in whole.maps.panels].index("reference: isi")
    assert whole.maps.judged["current", "tau_m"][k][0, 0] == rows["isi_pass"].notna().sum()
    assert whole.maps.failing["current", "tau_m"][k][0, 0] == (rows["isi_pass"] == False).sum()  # noqa: E712
    # the whole panel counted by pandas: cells (tau_m level, current level) of reference's isi verdicts
    ref = points[(points["backend"] == "reference") & points["isi_pass"].notna()]
    cell = [np.searchsorted(np.unique(points[c]), ref[c]) for c in ("tau_m", "current")]
    judged = np.zeros_like(whole.maps.judged["current", "tau_m"][k])
    failing = np.zeros_like(judged)
    np.add.at(judged, tuple(cell), 1)
    np.add.at(failing, tuple(cell), (ref["isi_pass"] == False).to_numpy(int))  # noqa: E712
    np.testing.assert_array_equal(whole.maps.judged["current", "tau_m"][k], judged)
    np.testing.assert_array_equal(whole.maps.failing["current", "tau_m"][k], failing)
    # the summary counted by pandas: points by backend and status, failing verdicts by backend and measure
    for entry in whole.summary:
        rows = points[points["backend"] == entry["backend"]]
        assert {s: entry[s] for s in ("ok", "invalid", "unrepresentable", "failed")} == {
            s: int((rows["status"] == s).sum()) for s in ("ok", "invalid", "unrepresentable", "failed")}
        assert all(entry[m] == int((rows[f"{m}_pass"] == False).sum()) for m in spec.measures)  # noqa: E712
    assert sum(e[m] for e in whole.summary for m in spec.measures) > 0


@pytest.mark.parametrize("text", [GRID.format(n_tau=7), SAMPLED.format(n=50)], ids=["grid", "sampled"])
def test_the_plan_groups_the_points_as_the_sweep_file_says(tmp_path, text):
    spec = _sweep(tmp_path, text, "s")
    plan = Plan(spec)
    frame = spec.points()
    expected = [group.index.to_numpy() for _, group in frame.groupby("dt", sort=False)]
    assert plan.n_groups == len(expected)
    for g, ids in enumerate(expected):
        np.testing.assert_array_equal(plan.group(g).points, ids)
        np.testing.assert_array_equal(plan.group(g).currents, frame.loc[ids, "current"].to_numpy())
    # and every point's values are the table's (tests/test_sweep_plan.py checks the arithmetic further)
    np.testing.assert_array_equal(plan.values(np.arange(plan.n)), frame[plan.columns].to_numpy())
