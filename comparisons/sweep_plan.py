"""The plan of a sweep: its points, groups and tasks, made one at a time from the sweep file by arithmetic.

The plan holds nothing per point (a Latin hypercube sweep excepted: its unit sample, one float64 per axis
per point) and nothing per group or per task: a point's values, its group and its place in the group come
from :mod:`comparisons.sweep_points` (index arithmetic over the axes' lengths for a grid; the sequence drawn
again for a block of points for a Sobol' sample), a task's cells are made when the task is, from the sweep
file.

Points at one ``dt`` form a group (numbered in the order of their first point, as
``pandas.DataFrame.groupby("dt", sort=False)`` numbers them), cut into tasks of at most
``simulation.chunk`` points per backend. A task is one population: one neuron per point, each with its
current and its own cell (the points may differ in every cell field; :mod:`comparisons.sweep_task` runs
them). Its cells are made once for all backends: the distinct values of the task's cell columns, each
made into a cell (:meth:`comparisons.sweep_config.Sweep.cell_at`) or, when that cell is invalid or cannot
run at the group's ``dt``, the reason. A task's rows go to ``<backend>-g<group>-c<chunk>.parquet``: which
file holds a point's row is known from the plan alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.errors import SpecificationError

from .sweep_config import CELL_AXES, Sweep
from .sweep_points import points_of
from .sweep_task import Task


@dataclass(frozen=True)
class Group:
    """Points at one ``dt``: the step, the number of steps and the size; its points and their currents
    are made when asked (:meth:`part`)."""

    index: int
    size: int
    dt: float
    n_steps: int
    plan: object = field(default=None, repr=False, compare=False)

    def part(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """The points at places ``lo`` to ``hi`` of the group and their currents."""
        ids = self.plan.layout.members(self.index, lo, min(hi, self.size))
        return ids, self.plan.column_at(ids, "current")

    @property
    def points(self) -> np.ndarray:
        return self.part(0, self.size)[0]

    @property
    def currents(self) -> np.ndarray:
        return self.part(0, self.size)[1]


class Plan:
    """The points of ``sweep`` (see the module docstring)."""

    def __init__(self, sweep: Sweep):
        self.sweep = sweep
        self.layout = points_of(sweep)
        self.columns: list[str] = list(self.layout.columns)
        self.cell_columns = [j for j, c in enumerate(self.columns) if c in CELL_AXES]
        self.n = self.layout.n
        self.n_groups = self.layout.n_groups

    def values(self, ids: np.ndarray) -> np.ndarray:
        """Every column's value at the points ``ids`` (rows), in the order of :attr:`columns`."""
        return self.layout.values(ids)

    def column_at(self, ids: np.ndarray, name: str) -> np.ndarray:
        return self.values(ids)[:, self.columns.index(name)]

    def values_at(self, point: int) -> dict:
        """Axis name -> SI value of one point (every column: the axes, ``dt`` and ``current``)."""
        return {c: float(v) for c, v in zip(self.columns, self.values(np.array([point]))[0])}

    def level_source(self, name: str):
        """The values of axis ``name`` over every point, as :class:`reports.sweep_levels.Levels` takes
        them, without a per-point array."""
        return self.layout.level_source(name)

    def group(self, g: int) -> Group:
        """Group ``g``: its step and size."""
        dt = float(self.column_at(self.layout.members(g, 0, 1), "dt")[0])
        return Group(g, self.layout.size(g), dt, int(round(self.sweep.duration / dt)), self)

    def groups(self):
        for g in range(self.n_groups):
            yield self.group(g)

    def cells(self, ids: np.ndarray, dt: float) -> tuple[tuple, np.ndarray]:
        """The distinct cells of the points ``ids`` at ``dt`` (each a :class:`~models.spec.LIFSpec`, or a
        string: why that cell is invalid) in the order of their first point, and each point's index
        into them."""
        if not self.cell_columns:
            return (self._cell({}, dt),), np.zeros(len(ids), dtype=np.int64)
        values = self.values(ids)[:, self.cell_columns]
        _, first, which = np.unique(values, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        names = [self.columns[j] for j in self.cell_columns]
        cells = tuple(self._cell({n: float(v) for n, v in zip(names, values[first[i]])}, dt) for i in order)
        return cells, rank[np.asarray(which).ravel()].astype(np.int64)

    def _cell(self, values: dict, dt: float):
        try:
            cell = self.sweep.cell_at(values)
        except SpecificationError as exc:
            return str(exc)
        return self.sweep.problem(cell, dt) or cell

    def tasks(self):
        """Every task of every group, one at a time, in a fixed order (the layout's ``group_order``: the
        longest tasks first; a task's backends together)."""
        spec = self.sweep
        for g in map(self.group, self.layout.group_order()):
            for k, start in enumerate(range(0, g.size, spec.chunk)):
                points, currents = g.part(start, start + spec.chunk)
                cells, cell_of = self.cells(points, g.dt)
                for name in spec.backends:
                    yield Task(task_key(name, g.index, k), name, spec.module_name(name), cells, cell_of,
                               spec.settings(name, g.dt, g.n_steps), spec.timeout, points, currents)

    def chunk_files(self, points: np.ndarray, backend: str) -> list[str]:
        """The names of the task chunks that hold the rows of ``backend`` at ``points``, in the order of
        the points."""
        groups, places = self.layout.group_of(points)
        within = np.asarray(places) // self.sweep.chunk
        groups = np.asarray(groups, dtype=np.int64)
        if not len(groups):
            return []
        _, first = np.unique(groups * (int(within.max()) + 1) + within, return_index=True)
        first.sort()
        return [task_key(backend, int(groups[i]), int(within[i])) + ".parquet" for i in first]


def task_key(backend: str, group: int, chunk: int) -> str:
    return f"{backend}-g{group:06d}-c{chunk:04d}"
