"""Execution: the one place that forks, freezes the heap and preloads simulators.

=================  ===================================================================================
module             what it owns
=================  ===================================================================================
``isolation``      backend calls in forked child processes with a time limit, several at once
                   (:func:`call_all`), the capability checks of each backend in its own child
                   (:func:`vet_backends`), independent jobs forked side by side (:func:`forked_map`), the
                   heap kept out of the cyclic collector's passes (:func:`frozen_heap`)
``forkserver``     a process that imports the torch-based simulators in parallel with the rest and forks
                   their runs
``preloading``     each simulator imported once in the process the runs are forked from
``jobs``           the jobs of every study and the :class:`Executor` that runs a batch of them
``runs``           one backend run isolated on its own (a sweep's task, the benchmark) and the Dask worker
                   plugin that preloads the simulators such runs fork from
=================  ===================================================================================

The harness, the variant studies, the sweeps, ``make report`` (:mod:`comparisons.batch`), the command line and the
Python API use what this package exports; no other module forks, calls ``gc.freeze`` or preloads.
"""

from __future__ import annotations

from .. import backends, metrics
from . import forkserver
from .isolation import (Outcome, call_all, call_isolated, default_workers, forked_map, frozen_heap,
                        require_finite, vet_backends)
from .jobs import Executor, Job
from .preloading import preload

__all__ = ["Executor", "Job", "Outcome", "call_all", "call_isolated", "default_workers", "forked_map",
           "frozen_heap", "preload", "preload_all", "require_finite", "stop_server", "vet_backends"]


def preload_all() -> None:
    """Import every installed simulator and the libraries of the metrics once, so that the processes forked
    from this one inherit them instead of each paying the imports (several seconds each for Brian2 and
    torch). The torch-based simulators are imported by a fork server (:mod:`.forkserver`), started first,
    on the other core while this process imports the rest; their runs are forked from it. A simulator that
    fails to import is left to its run to report."""
    served = [name for name in forkserver.SERVED if backends.is_available(name)]
    if served and forkserver.SERVER is None:
        forkserver.SERVER = forkserver.ForkServer(served)
    metrics.preload()
    for name in backends.available():
        if name in served:
            continue
        try:
            preload(name)
        except Exception:  # noqa: BLE001 - reported by the run that needs it
            pass
    if forkserver.SERVER is not None and not forkserver.SERVER.wait():
        forkserver.stop()  # it could not load them: the runs fork here and import them themselves


def stop_server() -> None:
    """Stop the fork server :func:`preload_all` started, if any."""
    forkserver.stop()
