"""One task of a sweep, as a Dask worker runs it: one backend, one population of constant-current points.

The points of a task share their ``dt`` and may differ in the current and in every cell field: the task
holds the distinct cells of its points (:meth:`comparisons.sweep_plan.Plan.cells`) and each point's index
into them. Points whose cell is invalid get rows ``invalid`` with the reason, those whose cell the backend
cannot represent rows ``unrepresentable``; the others run as one population per cell (``Drive.constant``,
one neuron per current, spikes only), as a comparison's f-I curve does, all of them in one child process
(:func:`comparisons.execution.runs.execute_cells`; a backend that takes per-neuron cells runs them as one
population). The child has the sweep's time limit: a backend that raises, crashes its process, hangs or
returns NaN fails that attempt alone. A failed attempt is retried once, in a new child; a second failure is
recorded in the task's rows (status ``failed``, the reason, ``attempts`` 2) and the sweep goes on. The
worker process imports each simulator once (:class:`comparisons.execution.runs.Preload`), so Brian2 loads
its compiled code once per worker and every child inherits it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from models.drive import Drive
from models.errors import BackendFailure, NotRepresentable
from models.result import RunSettings

from . import backends
from .execution.runs import execute_cells, may_fork
from .sweep_measures import COLUMNS, empty_rows, measure

#: Attempts of one task's run: the first and one retry.
ATTEMPTS = 2


@dataclass(frozen=True)
class Task:
    """What one task runs: ``backend`` (a registered ``module``, or a named configuration of it) with
    ``settings``, one neuron per point: point ``j`` has the current ``currents[j]`` and the cell
    ``cells[cell_of[j]]`` (a :class:`~models.spec.LIFSpec`, or a string: why the point is invalid)."""

    key: str
    backend: str
    module: str
    cells: tuple
    cell_of: np.ndarray
    settings: RunSettings
    timeout: float
    points: np.ndarray
    currents: np.ndarray

    @property
    def runs_nothing(self) -> bool:
        """True when every point is invalid: the rows need no backend (nor a worker)."""
        return all(isinstance(c, str) for c in self.cells)


def run_task(task: Task) -> dict:
    """The rows of one task (``point``, ``backend`` and :data:`comparisons.sweep_measures.COLUMNS`), and
    ``_seconds``, the task's wall time (kept in its chunk file's metadata for the benchmark, never in the
    tables)."""
    start = time.perf_counter()
    rows = _rows(task)
    rows["_seconds"] = time.perf_counter() - start
    rows["point"] = np.asarray(task.points, dtype=np.int64)
    rows["backend"] = [task.backend] * len(task.points)
    return rows


def _rows(task: Task) -> dict:
    members = [np.flatnonzero(task.cell_of == i) for i in range(len(task.cells))]
    parts = [(members[i], empty_rows(members[i].size, "invalid", c))
             for i, c in enumerate(task.cells) if isinstance(c, str)]
    runnable = [i for i, c in enumerate(task.cells) if not isinstance(c, str)]
    if runnable:
        parts += _run(task, runnable, members)
    return _assemble(len(task.points), parts)


def _run(task: Task, runnable: list, members: list) -> list:
    """``(places, rows)`` of the points of the cells ``runnable``."""
    settings = task.settings
    points_of = [members[i] for i in runnable]
    if not may_fork():
        reason = ("the Dask worker is a daemonic process and cannot isolate runs: start workers with "
                  "DASK_DISTRIBUTED__WORKER__DAEMON=False")
        return [(m, empty_rows(m.size, "failed", reason)) for m in points_of]
    parts, runs = [], []
    try:
        module = backends.get(task.module)
        for i, places in zip(runnable, points_of):
            reason = module.representable(task.cells[i], settings)
            if reason:
                parts.append((places, empty_rows(places.size, "unrepresentable", reason)))
            else:
                runs.append((i, places))
    except Exception as exc:  # noqa: BLE001 - a backend that cannot even answer has failed this task
        return [(m, empty_rows(m.size, "failed", f"{type(exc).__name__}: {exc}", 1)) for m in points_of]
    if not runs:
        return parts
    drives = [Drive.constant(task.currents[places], settings.dt, settings.n_steps) for _, places in runs]
    cells = [task.cells[i] for i, _ in runs]
    error = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            results = execute_cells(task.module, list(zip(cells, drives)), settings, task.timeout)
        except NotRepresentable as exc:
            return parts + [(p, empty_rows(p.size, "unrepresentable", exc.reason, attempt)) for _, p in runs]
        except BackendFailure as exc:
            error = exc.reason
            continue
        return parts + [(places, measure(cell, task.module, drive, settings, result, attempt))
                        for (_, places), cell, drive, result in zip(runs, cells, drives, results)]
    return parts + [(p, empty_rows(p.size, "failed", error, ATTEMPTS)) for _, p in runs]


def _assemble(n: int, parts: list) -> dict:
    """The columns of ``n`` rows from ``(places, rows)`` parts that cover them once."""
    if len(parts) == 1 and np.array_equal(parts[0][0], np.arange(n)):
        return parts[0][1]
    out = {}
    for c in COLUMNS:
        listed = isinstance(parts[0][1][c], list)
        values = [np.asarray(rows[c], dtype=object if listed else None) for _, rows in parts]
        column = np.empty(n, dtype=object if listed else np.result_type(*values))
        for (places, _), v in zip(parts, values):
            column[places] = v
        out[c] = list(column) if listed else column
    return out
