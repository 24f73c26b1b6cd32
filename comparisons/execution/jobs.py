"""The jobs of every study and the one executor that runs them.

A :class:`Job` is one simulation: a backend on one workload (specification, sampled drive, settings). Each
study -- the stimuli, the f-I curve, the convergence runs (:mod:`comparisons.harness`), the PSP, the noise
statistics and the reset comparison (:mod:`comparisons.variants`) -- plans its jobs and hands them to an
:class:`Executor`, which runs them side by side in isolated child processes (:mod:`.isolation`)
and returns one outcome per job, in the order given; the study then turns the outcomes into rows through
:mod:`comparisons.verdicts`.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass

import numpy as np

from models.drive import Drive
from models.result import RunSettings
from models.spec import LIFSpec

from .. import backends
from . import forkserver
from .isolation import Outcome as CallOutcome
from .isolation import call_all
from .preloading import preload


@dataclass(frozen=True)
class Job:
    """One simulation to run: a backend on one workload."""

    backend: str
    label: str
    spec: LIFSpec
    drive: Drive
    settings: RunSettings
    progress: str
    module: str = ""   # the registered backend it runs, when ``backend`` is a named configuration

    @property
    def adapter(self) -> str:
        return self.module or self.backend


class Executor:
    """Runs a batch of independent jobs: every study's simulations go through it.

    With a ``timeout`` the calls run in forked children (:func:`.isolation.call_all`), those of
    one backend one after the other in the same child, each with its own time limit, ``workers``
    children at a time (default: one per core), the simulators imported once in this process first so
    that the children inherit them (those a fork server has imported, :mod:`.forkserver`, are
    forked by it instead); without one, in this process one after the other.

    ``together=True`` gives the jobs of a backend with ``run_population`` (see :mod:`comparisons.backends`)
    to it in one call, as one population: for a simulator whose cost is per call and nearly independent
    of the number of neurons (snnTorch), an f-I sweep and a whole convergence study then cost about as
    much as their longest run alone. The outcome of that call is split back into one per job.
    """

    def __init__(self, timeout: float | None, tick=None, workers: int | None = None):
        self.timeout, self.tick, self.workers = timeout, tick or (lambda label: None), workers

    def run(self, jobs: list[Job], together: bool = False) -> list[CallOutcome]:
        if not jobs:
            return []
        groups = self._groups(jobs) if together else [[i] for i in range(len(jobs))]
        # longest first (steps are what every simulator loops over), so that the last call to finish
        # is a short one and the workers end together
        groups.sort(key=lambda group: -sum(jobs[i].drive.n_steps for i in group))
        calls = [self._call([jobs[i] for i in group]) for group in groups]
        if not self.timeout:
            done = []
            for group, (fn, args) in zip(groups, calls):
                for i in group:
                    self.tick(jobs[i].progress)
                done.append(_timed(fn, args))
        else:
            server = forkserver.SERVER
            served = server.names if server is not None and server.wait() else frozenset()
            for name in dict.fromkeys(job.adapter for job in jobs):
                if name not in served:  # those the fork server has loaded are never imported here
                    preload(name)
            gc.freeze()  # the simulators just imported too (see frozen_heap; run_comparison gives them back)
            sequences = self._sequences(jobs, groups)
            done = call_all(calls, self.timeout, self.workers,
                            done=lambda g: [self.tick(jobs[i].progress) for i in groups[g]],
                            sequences=sequences, server=server if served else None,
                            remote=[jobs[groups[seq[0]][0]].adapter in served for seq in sequences])
        outcomes: list = [None] * len(jobs)
        for group, result in zip(groups, done):
            for i, one in zip(group, _split(result, [jobs[i] for i in group])):
                outcomes[i] = one
        return outcomes

    @staticmethod
    def _groups(jobs: list[Job]) -> list[list[int]]:
        """Job indices per call: the jobs of a backend with ``run_population`` on the same specification
        together (in the order given), every other job alone."""
        groups: dict = {}
        for i, job in enumerate(jobs):
            key = (job.backend, id(job.spec)) if hasattr(backends.get(job.adapter), "run_population") else i
            groups.setdefault(key, []).append(i)
        return list(groups.values())

    @staticmethod
    def _sequences(jobs: list[Job], groups: list[list[int]]) -> list[list[int]]:
        """The calls of each backend in one child process, one after the other (a fork costs about
        20 ms of CPU with every simulator loaded, and a batch has up to five calls per backend); the
        backends with the most steps first."""
        by_backend: dict = {}
        for c, group in enumerate(groups):
            by_backend.setdefault(jobs[group[0]].backend, []).append(c)
        return sorted(by_backend.values(), key=lambda seq: -sum(jobs[i].drive.n_steps
                                                                 for c in seq for i in groups[c]))

    @staticmethod
    def _call(group: list[Job]) -> tuple:
        module = backends.get(group[0].adapter)
        if len(group) == 1:
            return module.run, (group[0].spec, group[0].drive, group[0].settings)
        return module.run_population, (group[0].spec, [(job.drive, job.settings) for job in group])

def _timed(fn, args) -> CallOutcome:
    """``fn(*args)`` in this process, its value or exception and its wall seconds."""
    start = time.perf_counter()
    try:
        value = fn(*args)
    except Exception as exc:  # noqa: BLE001 - the job's failure, for its study to record
        return CallOutcome(error=exc, seconds=time.perf_counter() - start)
    return CallOutcome(value=value, seconds=time.perf_counter() - start)


def _split(done: CallOutcome, group: list[Job]) -> list[CallOutcome]:
    """One outcome per job of a call: a population call's list of results (its seconds shared in
    proportion to each job's neuron-steps, so that they add up), or its error for every job."""
    if len(group) == 1:
        return [done]
    if done.error is not None:
        return [CallOutcome(error=done.error, seconds=done.seconds / len(group)) for _ in group]
    sizes = np.array([job.drive.n_steps * job.drive.n_neurons for job in group], dtype=float)
    shares = sizes / sizes.sum() if sizes.sum() > 0 else np.full(len(group), 1.0 / len(group))
    return [CallOutcome(value=value, seconds=done.seconds * float(share))
            for value, share in zip(done.value, shares)]
