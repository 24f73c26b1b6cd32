"""The plan of a sweep: its points, groups and tasks, made one at a time from the sweep file by arithmetic.

The plan holds nothing per point (a Latin hypercube sweep excepted: its unit sample, one float64 per axis
per point) and nothing per group or per task: a point's values, its group and its place in the group come
from :mod:`comparisons.sweep_points` (index arithmetic over the axes' lengths for a grid; the sequence drawn
again for a block of points for a Sobol' sample), a group's cell (or why it is invalid) and its tasks are
made when they are needed, from the sweep file.

Points sharing everything but the current form a group (numbered in the order of their first point, as
``pandas.DataFrame.groupby(sort=False)`` numbers them): one cell at one ``dt``, whose points (one per
current) run as one population, cut into tasks of at most ``simulation.chunk`` points per backend. A
task's rows go to ``<backend>-g<group>-c<chunk>.parquet``, an invalid group's to
``invalid-g<group>.parquet``: which file holds a point's row is known from the plan alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.errors import SpecificationError

from .sweep_config import Sweep
from .sweep_points import points_of
from .sweep_task import Task


@dataclass(frozen=True)
class Group:
    """Points sharing everything but the current: their cell (or why it is invalid), dt and steps; its
    points and their currents are made when asked (:meth:`part`)."""

    index: int
    size: int
    spec: object
    dt: float
    n_steps: int
    invalid: str = ""
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
        """Group ``g`` with its cell (or why it is invalid), made from the sweep file."""
        size = self.layout.size(g)
        values = self.values_at(int(self.layout.members(g, 0, 1)[0]))
        dt = float(values["dt"])
        n_steps = int(round(self.sweep.duration / dt))
        try:
            cell = self.sweep.cell_at(values)
        except SpecificationError as exc:
            return Group(g, size, None, dt, n_steps, str(exc), self)
        problem = self.sweep.problem(cell, dt)
        return Group(g, size, cell, dt, n_steps, problem or "", self)

    def groups(self):
        for g in range(self.n_groups):
            yield self.group(g)

    def tasks(self):
        """Every task of every valid group, one at a time, in a fixed order."""
        spec = self.sweep
        for g in self.groups():
            if g.invalid:
                continue
            for name in spec.backends:
                for k, start in enumerate(range(0, g.size, spec.chunk)):
                    points, currents = g.part(start, start + spec.chunk)
                    yield Task(task_key(name, g.index, k), name, spec.module_name(name), g.spec,
                               spec.settings(name, g.dt, g.n_steps), spec.timeout, points, currents)

    def chunk_files(self, points: np.ndarray, backend: str) -> dict[str, int]:
        """The names of the task chunks that hold the rows of ``backend`` at ``points`` (in the order of the
        points), each with its group: an invalid group's points are in its ``invalid-g`` chunk instead, which
        the caller looks for when the task's chunk does not exist."""
        groups, places = self.layout.group_of(points)
        within = np.asarray(places) // self.sweep.chunk
        groups = np.asarray(groups, dtype=np.int64)
        if not len(groups):
            return {}
        _, first = np.unique(groups * (int(within.max()) + 1) + within, return_index=True)
        first.sort()
        return {task_key(backend, int(groups[i]), int(within[i])) + ".parquet": int(groups[i]) for i in first}


def task_key(backend: str, group: int, chunk: int) -> str:
    return f"{backend}-g{group:06d}-c{chunk:04d}"


def invalid_name(group: int) -> str:
    return f"invalid-g{group:06d}.parquet"
