"""The sweep's plan as arithmetic (comparisons/sweep_plan.py, comparisons/sweep_points.py) and the maps' levels
from a source of the values (reports/sweep_levels.py): every point's values, group, place, tasks, cells and
chunk files equal what the table of all points, ``groupby("dt", sort=False).ngroup()`` and each point's
cell made on its own give; a Sobol' sample drawn block by block equals the whole draw; the
levels equal ``numpy.quantile`` / ``numpy.median`` on every value; and walking the plan of a grid of 10^7
points allocates a bounded amount, not a per-point array."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from comparisons.sweep_config import Axis, load_sweep
from comparisons.sweep_plan import Plan, task_key
from reports.sweep_levels import BINS, GridSource, Levels, StreamSource
from conftest import traced_peak

HEAD = 'name = "p"\ncell = "textbook"\n[simulation]\nduration = "100 ms"\nbackends = ["reference", "nengo"]\nchunk = 3\n'
TAU = '[axes.tau_m]\nvalues = ["5 ms", "10 ms", "40 ms"]\n'
RESET = '[axes.V_reset]\nvalues = ["-65 mV", "-45 mV"]\n'          # -45 mV above V_th: invalid points
CURRENT = '[axes.current]\nrange = ["150 pA", "2 nA"]\nnum = 7\n'
DT = '[axes.dt]\nvalues = ["0.1 ms", "0.05 ms"]\n'
GRIDS = {
    "current-last": HEAD + TAU + RESET + CURRENT,
    "current-first": HEAD + CURRENT + TAU + RESET,
    "current-middle": HEAD + TAU + CURRENT + DT + RESET,
    "current-only": HEAD + CURRENT,
    "current-fixed": HEAD.replace('chunk = 3', 'chunk = 3\ncurrent = "500 pA"') + TAU + DT + RESET,
    "dt-and-current-fixed": HEAD.replace('chunk = 3', 'chunk = 3\ncurrent = "500 pA"\ndt = "0.05 ms"') + RESET + TAU,
}
SAMPLE = '[sample]\nmethod = "{method}"\nn = {n}\nseed = 4\n'
BOUNDS = {"current": '[axes.current]\nbounds = ["150 pA", "2 nA"]\n',
          "tau_m": '[axes.tau_m]\nbounds = ["5 ms", "40 ms"]\nlog = true\n',
          "dt": '[axes.dt]\nbounds = ["0.05 ms", "0.1 ms"]\n'}     # a sampled dt: one group per point
SAMPLED = {f"{method}-{'-'.join(axes)}-{n}": HEAD.replace('chunk = 3', 'chunk = 3\ncurrent = "500 pA"')
           + "".join(BOUNDS[a] for a in axes) + SAMPLE.format(method=method, n=n)
           for method in ("sobol", "latin") for axes in (("current",), ("tau_m", "current"), ("tau_m",), ("dt", "tau_m"))
           for n in (13, 64)}


def _load(tmp_path, text):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return load_sweep(path)


def _table_plan(sweep):
    """The plan from the table of all points, grouped by pandas: one group per dt."""
    frame = sweep.points()
    group_of = frame.groupby("dt", sort=False).ngroup().to_numpy(np.int64)
    order = np.argsort(group_of, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(group_of))]).astype(np.int64)
    rank = np.empty(len(frame), dtype=np.int64)
    rank[order] = np.arange(len(frame), dtype=np.int64)
    place = rank - starts[group_of]
    return frame, group_of, order, starts, place


@pytest.mark.parametrize("text", list(GRIDS.values()) + list(SAMPLED.values()), ids=list(GRIDS) + list(SAMPLED))
def test_the_plan_is_the_table_of_all_points_grouped_by_pandas(tmp_path, text):
    sweep = _load(tmp_path, text)
    plan = Plan(sweep)
    frame, group_of, order, starts, place = _table_plan(sweep)
    ids = np.arange(len(frame))
    assert plan.n == len(frame) and plan.columns == list(frame.columns)
    np.testing.assert_array_equal(plan.values(ids), frame.to_numpy(np.float64))     # bit for bit
    for lo in range(0, len(frame), 5):                                              # and block by block
        np.testing.assert_array_equal(plan.values(ids[lo:lo + 5]), frame.to_numpy(np.float64)[lo:lo + 5])
    got_group, got_place = plan.layout.group_of(ids)
    np.testing.assert_array_equal(got_group, group_of)
    np.testing.assert_array_equal(got_place, place)
    assert plan.n_groups == len(starts) - 1
    groups = list(plan.groups())
    for g in groups:
        members = order[starts[g.index]:starts[g.index + 1]]
        np.testing.assert_array_equal(g.points, members)
        np.testing.assert_array_equal(g.currents, frame["current"].to_numpy()[members])
        assert g.dt == frame["dt"].to_numpy()[members[0]]
    # tasks: the groups with the most steps (smallest dt) first, in their own order among equals
    by_steps = sorted(groups, key=lambda g: -g.n_steps) if "dt" in sweep.axis_names and not sweep.sampler else groups
    expected = [(task_key(b, g.index, k), b, order[starts[g.index]:starts[g.index + 1]][k * 3:k * 3 + 3])
                for g in by_steps for k in range(-(-(starts[g.index + 1] - starts[g.index]) // 3))
                for b in sweep.backends]
    tasks = list(plan.tasks())
    assert [(t.key, t.backend) for t in tasks] == [(k, b) for k, b, _ in expected]
    invalid = 0
    for task, (_, _, members) in zip(tasks, expected):
        np.testing.assert_array_equal(task.points, members)
        np.testing.assert_array_equal(task.currents, frame["current"].to_numpy()[members])
        assert len(set(task.cell_of.tolist())) == len(task.cells)           # distinct cells, each used
        for j, p in enumerate(members):                                      # each point's own cell
            assert task.cells[task.cell_of[j]] == _own_cell(sweep, frame.iloc[p].to_dict())
        invalid += sum(isinstance(task.cells[c], str) for c in task.cell_of)
    # V_reset = -45 mV is above V_th; a sampled dt leaves the duration off its grid
    assert (invalid > 0) == ("V_reset" in text or "axes.dt]\nbounds" in text)
    for lo in range(0, len(frame), 4):
        block = ids[lo:lo + 4]
        old = list(dict.fromkeys(task_key("nengo", int(group_of[p]), int(place[p] // 3)) + ".parquet"
                                 for p in block))
        assert plan.chunk_files(block, "nengo") == old
    assert plan.values_at(len(frame) - 1) == {c: float(v) for c, v in frame.iloc[-1].items()}


def _own_cell(sweep, values: dict):
    """A point's cell made on its own from its row of the table (or why it is invalid)."""
    from models.errors import SpecificationError
    try:
        cell = sweep.cell_at(values)
    except SpecificationError as exc:
        return str(exc)
    return sweep.problem(cell, values["dt"]) or cell


def test_a_sobol_sample_drawn_block_by_block_is_the_slice_of_the_whole_draw():
    from scipy.stats import qmc
    with pytest.warns(UserWarning):                       # 1000 is no power of 2: scipy says so, as for a file
        whole = qmc.Sobol(3, scramble=True, seed=11).random(1000)
    for lo, hi in ((0, 1), (0, 37), (1, 2), (37, 300), (511, 512), (512, 1000), (999, 1000)):
        part = qmc.Sobol(3, scramble=True, seed=11)
        if lo:
            part.fast_forward(lo)
        with pytest.warns(UserWarning) if lo == 0 and hi & (hi - 1) else _nothing():
            np.testing.assert_array_equal(part.random(hi - lo), whole[lo:hi])
    engine = qmc.Sobol(3, scramble=True, seed=11)         # one engine drawn on in parts, as the plan does
    parts = [engine.random(k) for k in (64, 100, 300, 536)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _quantile_levels(values):
    """The levels as they were computed from every point's value."""
    values = np.asarray(values, dtype=float)
    unique = np.unique(values)
    if unique.size <= 30:
        return [float(v) for v in unique], None
    edges = np.quantile(values, np.linspace(0, 1, BINS + 1))
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, BINS - 1)
    return [float(np.median(values[index == i])) if np.any(index == i) else float("nan") for i in range(BINS)], edges


def _same(a, b) -> bool:
    return np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)


def test_levels_from_a_grid_or_a_stream_equal_the_quantiles_of_every_value():
    rng = np.random.default_rng(3)
    cases = []
    for _ in range(40):                                   # grid axes: distinct values, each repeated
        values = np.geomspace(1e-3, 5e-2, rng.integers(2, 90))
        repeat = int(rng.integers(1, 60))
        cases.append((np.repeat(values, repeat), GridSource(rng.permutation(values), repeat)))
    for _ in range(60):                                   # streams: continuous, signed, with ties, tiny
        n = int(rng.integers(1, 4000))
        kind = rng.integers(4)
        full = (rng.uniform(1e-3, 4e-2, n), -rng.exponential(size=n), rng.choice(rng.normal(size=50), n),
                rng.uniform(-1, 1, n) * 1e-300)[kind]
        cases.append((full, StreamSource(lambda full=full: (full[i:i + 97] for i in range(0, full.size, 97)), n)))
    binned = 0
    for full, source in cases:
        expected, edges = _quantile_levels(full)
        levels = Levels(source)
        assert _same(levels.values, expected)
        assert (levels.edges is None) == (edges is None) and (edges is None or _same(levels.edges, edges))
        binned += edges is not None
        np.testing.assert_array_equal(levels.index(full), Levels(full).index(full))
    assert binned > 50                                    # the quantile path is the one mostly checked


@pytest.mark.parametrize("method", ["sobol", "latin"])
def test_the_levels_of_a_sampled_sweep_are_the_levels_of_its_table(tmp_path, method):
    sweep = _load(tmp_path, HEAD + BOUNDS["tau_m"] + BOUNDS["current"] + SAMPLE.format(method=method, n=3000))
    plan = Plan(sweep)
    frame = sweep.points()
    for name in ("tau_m", "current"):
        expected, edges = _quantile_levels(frame[name])
        levels = Levels(plan.level_source(name))
        assert _same(levels.values, expected) and _same(levels.edges, edges)


def test_walking_the_plan_of_ten_million_points_allocates_no_per_point_array(tmp_path):
    small = _load(tmp_path, HEAD + TAU + RESET + CURRENT)
    # 100 x 100 x 10 x 100 = 10^7 points (the file's limit is 10^6: built here, never run)
    axes = (Axis("tau_m", tuple(np.linspace(5e-3, 40e-3, 100))), Axis("V_reset", tuple(np.linspace(-0.07, -0.045, 100))),
            Axis("t_ref", tuple(np.linspace(1e-3, 2e-3, 10))), Axis("current", tuple(np.linspace(1.5e-10, 2e-9, 100))))
    sweep = dataclasses.replace(small, axes=axes, chunk=64)

    def walk():
        plan = Plan(sweep)
        assert plan.n == 10**7 and plan.n_groups == 1
        tasks = plan.tasks()
        for _ in range(50):                               # the first tasks, as a sweep submits them
            task = next(tasks)
            assert task.points.size <= 64
        last = np.arange(plan.n - 1024, plan.n)          # a block of the final tables, at the end
        plan.values(last)
        plan.chunk_files(last, "reference")
        for name in sweep.axis_names:
            Levels(plan.level_source(name))
    walk()                                                # once before: first-call allocations
    # One int64 per point would be 80 MB. What the walk makes is a block of 1 024 points' values and chunk
    # names (about 0.2 MB), a few tasks' cells and tasks of at most 64 points, and the levels of four axes
    # of 100 values: 2 MB bounds all of it and does not depend on the number of points.
    assert traced_peak(walk) < 2 * 2**20                       # measured: about 0.1 MB
