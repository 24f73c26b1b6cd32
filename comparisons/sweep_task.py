"""One task of a sweep, as a Dask worker runs it: one backend, one population of constant-current points.

The points of a task share their cell and ``dt`` and differ in the current, so the backend runs them as one
population (``Drive.constant``, one neuron per current, spikes only), as a comparison's f-I curve does.
The run is isolated in a child process with the sweep's time limit (:func:`comparisons.execution.runs.execute`):
a backend that raises, crashes its process, hangs or returns NaN fails that attempt alone. A failed
attempt is retried once, in a new child; a second failure is recorded in the task's rows (status
``failed``, the reason, ``attempts`` 2) and the sweep goes on. The worker process imports each simulator
once (:class:`comparisons.execution.runs.Preload`), so Brian2 loads its compiled code once per worker and every
child inherits it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from models.drive import Drive
from models.errors import BackendFailure, NotRepresentable
from models.result import RunSettings
from models.spec import LIFSpec

from . import backends
from .execution.runs import execute, may_fork
from .sweep_measures import empty_rows, measure

#: Attempts of one task's run: the first and one retry.
ATTEMPTS = 2


@dataclass(frozen=True)
class Task:
    """What one task runs: ``backend`` (a registered ``module``, or a named configuration of it) on ``spec``
    with ``settings``, one neuron per point."""

    key: str
    backend: str
    module: str
    spec: LIFSpec
    settings: RunSettings
    timeout: float
    points: np.ndarray
    currents: np.ndarray


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
    n = len(task.points)
    settings = task.settings
    if not may_fork():
        return empty_rows(n, "failed", "the Dask worker is a daemonic process and cannot isolate runs: start "
                                       "workers with DASK_DISTRIBUTED__WORKER__DAEMON=False")
    try:
        module = backends.get(task.module)
        reason = module.representable(task.spec, settings)
    except Exception as exc:  # noqa: BLE001 - a backend that cannot even answer has failed this task
        return empty_rows(n, "failed", f"{type(exc).__name__}: {exc}", 1)
    if reason:
        return empty_rows(n, "unrepresentable", reason)
    drive = Drive.constant(task.currents, settings.dt, settings.n_steps)
    error = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            result = execute(task.module, task.spec, drive, settings, task.timeout)
        except NotRepresentable as exc:
            return empty_rows(n, "unrepresentable", exc.reason, attempt)
        except BackendFailure as exc:
            error = exc.reason
            continue
        return measure(task.spec, task.module, drive, settings, result, attempt)
    return empty_rows(n, "failed", error, ATTEMPTS)
