"""A backend's runs isolated together in one child, for callers outside a study's batch (a sweep's task on a
Dask worker, the benchmark), and the Dask worker plugin that preloads the simulators those runs fork from."""

from __future__ import annotations

import gc
import multiprocessing as mp

from distributed.diagnostics.plugin import WorkerPlugin

from .. import backends
from .isolation import call_isolated, require_finite
from .preloading import preload


def execute_cells(backend: str, runs: list, settings, timeout: float | None) -> list:
    """Run registered ``backend`` on every ``(spec, drive)`` of ``runs``, all in one child process when
    ``timeout`` is given (the limit of them all); one result per run, each required finite.

    A backend that runs neurons of different cells as one population (a module function
    ``run_cells(runs, settings)``, one result per run, each what ``run(spec, drive, settings)`` gives) runs
    them so; every other backend runs them one after the other."""
    if timeout:
        preload(backend)
        results = call_isolated(run_cells, (backend, runs, settings), timeout)
    else:
        results = run_cells(backend, runs, settings)
    return [require_finite(backend, r) for r in results]


def run_cells(backend: str, runs: list, settings) -> list:
    """The results of ``backend`` on every ``(spec, drive)`` of ``runs`` (see :func:`execute_cells`)."""
    module = backends.get(backend)
    together = getattr(module, "run_cells", None)
    if together is not None and len(runs) > 1:
        return together(runs, settings)
    return [module.run(spec, drive, settings) for spec, drive in runs]


def may_fork() -> bool:
    """Whether this process may start child processes (multiprocessing refuses children of a daemonic
    process, which is what a Dask worker is unless started with ``DASK_DISTRIBUTED__WORKER__DAEMON=False``)."""
    return not mp.current_process().daemon


class Preload(WorkerPlugin):
    """A Dask worker plugin: import the named simulators in each worker process when it starts (on the
    worker's main thread, where the simulators may install signal handlers), so that every task and every
    child it forks finds them loaded; a worker that restarts gets them again."""

    name = "lif-crosscheck-preload"

    def __init__(self, names):
        self.names = tuple(names)

    def setup(self, worker=None):
        for name in self.names:
            try:
                preload(name)  # registered names: the caller maps named configurations
            except Exception:  # noqa: BLE001 - the task reports it, isolated, with the reason
                pass
        # The simulators' objects live as long as the worker: out of the collector's passes here and in
        # every child a task forks (see isolation.frozen_heap), so a child's collections do not walk and
        # copy the inherited heap. Measured on a sweep's Brian2 task: 450 ms isolated unfrozen, 150 ms frozen.
        gc.freeze()
