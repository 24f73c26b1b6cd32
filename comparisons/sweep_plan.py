"""The plan of a sweep: its points as arrays, its groups and tasks generated one at a time.

A sweep's process keeps of its points only what must be O(points) and only as fixed-size numbers: the axis
values (one float64 per column: every axis, ``dt`` and ``current``) and three int64 per point (its group,
the points in group order, each point's place in that order) -- ``8 * (columns + 3)`` bytes per point, 64
bytes for a sweep over ``dt`` and ``current`` and two cell fields. Nothing per group or per task is held:
a group's cell (or why it is invalid) and its tasks are made when they are needed, from the sweep file.

Points sharing everything but the current form a group (numbered in the order of their first point, as
``pandas.DataFrame.groupby(sort=False)`` numbers them): one cell at one ``dt``, whose points (one per
current) run as one population, cut into tasks of at most ``simulation.chunk`` points per backend. A
task's rows go to ``<backend>-g<group>-c<chunk>.parquet``, an invalid group's to
``invalid-g<group>.parquet``: which file holds a point's row is known from the plan alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import SpecificationError

from .sweep_config import Sweep
from .sweep_task import Task


@dataclass(frozen=True)
class Group:
    """Points sharing everything but the current: their cell (or why it is invalid), dt and steps."""

    index: int
    points: np.ndarray
    currents: np.ndarray
    spec: object
    dt: float
    n_steps: int
    invalid: str = ""


class Plan:
    """The points of ``sweep`` (see the module docstring)."""

    def __init__(self, sweep: Sweep):
        frame = sweep.points()
        self.sweep = sweep
        self.columns: list[str] = list(frame.columns)
        self.values = frame.to_numpy(dtype=np.float64)
        self.n = len(frame)
        keys = [c for c in self.columns if c != "current"]
        group_of = frame.groupby(keys, sort=False).ngroup().to_numpy(np.int64)
        del frame
        self.group_of = group_of
        self.order = np.argsort(group_of, kind="stable")      # points of group g: order[starts[g]:starts[g+1]]
        self.starts = np.concatenate([[0], np.cumsum(np.bincount(group_of))]).astype(np.int64)
        self.rank = np.empty(self.n, dtype=np.int64)          # place of each point in ``order``
        self.rank[self.order] = np.arange(self.n, dtype=np.int64)

    @property
    def n_groups(self) -> int:
        return len(self.starts) - 1

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.columns.index(name)]

    def values_at(self, point: int) -> dict:
        """Axis name -> SI value of one point (every column: the axes, ``dt`` and ``current``)."""
        return {c: float(v) for c, v in zip(self.columns, self.values[point])}

    def group(self, g: int) -> Group:
        """Group ``g`` with its cell (or why it is invalid), made from the sweep file."""
        ids = self.order[self.starts[g]:self.starts[g + 1]]
        values = self.values_at(int(ids[0]))
        currents = self.values[ids, self.columns.index("current")]
        dt = float(values["dt"])
        n_steps = int(round(self.sweep.duration / dt))
        try:
            cell = self.sweep.cell_at(values)
        except SpecificationError as exc:
            return Group(g, ids, currents, None, dt, n_steps, str(exc))
        problem = self.sweep.problem(cell, dt)
        return Group(g, ids, currents, cell, dt, n_steps, problem or "")

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
                for k, start in enumerate(range(0, len(g.points), spec.chunk)):
                    part = slice(start, start + spec.chunk)
                    yield Task(task_key(name, g.index, k), name, spec.module_name(name), g.spec,
                               spec.settings(name, g.dt, g.n_steps), spec.timeout, g.points[part],
                               g.currents[part])

    def chunk_files(self, points: np.ndarray, backend: str) -> dict[str, int]:
        """The names of the task chunks that hold the rows of ``backend`` at ``points`` (in the order of the
        points), each with its group: an invalid group's points are in its ``invalid-g`` chunk instead, which
        the caller looks for when the task's chunk does not exist."""
        groups = self.group_of[points]
        within = (self.rank[points] - self.starts[groups]) // self.sweep.chunk
        return {task_key(backend, int(g), int(k)) + ".parquet": int(g) for g, k in zip(groups, within)}


def task_key(backend: str, group: int, chunk: int) -> str:
    return f"{backend}-g{group:06d}-c{chunk:04d}"


def invalid_name(group: int) -> str:
    return f"invalid-g{group:06d}.parquet"
