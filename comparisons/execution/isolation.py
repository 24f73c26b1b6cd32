"""Run backend calls in forked child processes with a time limit, several at once.

A simulator that hangs, crashes the interpreter or exhausts memory cannot take the suite with it: the
child is killed at the time limit and the failure reported for that call alone. Fork (not spawn) keeps
the already imported simulator modules, so a child costs about 20 ms of CPU with every simulator loaded.

:func:`call_all` runs independent calls in ``workers`` children at a time (one per core by default):
the simulations of a comparison do not depend on each other, and most simulators use one core. Calls may
share a child, one after the other (``sequences``), each keeping its own time limit.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import pickle
import signal
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import wait

from models.errors import BackendFailure, NotRepresentable
from models.processes import available_cores, die_with_parent

from .. import backends

_CONTEXT = mp.get_context("fork")


def _child(conn, calls, indices, parent: int | None = None):
    """Run ``calls[i]`` for each i of ``indices`` in order, sending each outcome as soon as it is known.
    The child dies with ``parent`` (the process that forked it), whatever kills that."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt does
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        for index in indices:
            fn, args = calls[index]
            try:
                payload = ("ok", fn(*args))
            except NotRepresentable as exc:
                payload = ("not_representable", (exc.backend, exc.reason))
            except BaseException as exc:  # report anything, including SystemExit from a simulator
                payload = ("error", f"{type(exc).__name__}: {exc}".strip(), traceback.format_exc())
            try:
                data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - an unpicklable result is that call's failure
                data = pickle.dumps(("error", f"result cannot be sent back: {type(exc).__name__}: {exc}", ""))
            conn.send_bytes(data)
    finally:
        conn.close()
        os._exit(0)


@contextmanager
def frozen_heap():
    """Leave every object alive now out of the cyclic garbage collector's passes for the block, here and
    in the processes forked in it (``gc.freeze``); give them back afterwards unless an enclosing block
    froze them. With torch or NEST loaded, collector passes over their objects made every Brian2 run
    about twice as slow and the harness's own work four times slower (measured, see the README)."""
    outermost = gc.get_freeze_count() == 0
    gc.freeze()
    try:
        yield
    finally:
        if outermost:
            gc.unfreeze()


def default_workers() -> int:
    """The cores this process may run on."""
    return available_cores()


@dataclass
class Outcome:
    """What one isolated call gave: its value, or the exception to raise for it; its wall seconds."""

    value: object = None
    error: BaseException | None = None
    seconds: float = 0.0

    def get(self):
        if self.error is not None:
            raise self.error
        return self.value


class _Running:
    """A child running a sequence of calls one after the other; each call has its own time limit,
    counted from the end of the previous one."""

    def __init__(self, calls: list, indices: list[int], timeout: float, server=None):
        fn = calls[indices[0]][0]
        self.name = getattr(fn, "__module__", "backend").rsplit(".", 1)[-1].rstrip("_")
        self.timeout, self.pending = timeout, list(indices)
        self.start = time.perf_counter()
        if server is not None:  # forked by a fork server (comparisons.execution.forkserver)
            try:
                self.conn, self.proc = server.process({i: calls[i] for i in indices}, list(indices))
                return
            except (OSError, EOFError):  # the server is gone: fork here (the child imports what it needs)
                pass
        self.conn, child = _CONTEXT.Pipe(duplex=False)
        self.proc = _CONTEXT.Process(target=_child, args=(child, calls, list(indices), os.getpid()), daemon=True)
        self.proc.start()
        child.close()

    @property
    def deadline(self) -> float:
        return self.start + self.timeout

    def receive(self) -> tuple[int, Outcome, list[int]]:
        """The outcome of the current call, sent by the child or lost with it; the calls left to start
        again in a new child (non-empty only when this one died with calls pending)."""
        index = self.pending.pop(0)
        try:
            payload = pickle.loads(self.conn.recv_bytes())
        except (EOFError, ConnectionError):
            self.proc.join(5)
            code = "" if self.proc.exitcode is None else f" (exit code {self.proc.exitcode})"
            failure = BackendFailure(self.name, f"the simulator process died{code}")
            return index, self._end(error=failure), self._abandon()
        if payload[0] == "ok":
            outcome = Outcome(value=payload[1])
        elif payload[0] == "not_representable":
            outcome = Outcome(error=NotRepresentable(*payload[1]))
        else:
            outcome = Outcome(error=BackendFailure(self.name, payload[1]))
        outcome = self._end(outcome.value, outcome.error)
        if not self.pending:
            self.kill()
        return index, outcome, []

    def expire(self) -> tuple[int, Outcome, list[int]]:
        """The current call has run out of time: kill the child; the calls after it start again."""
        index = self.pending.pop(0)
        failure = BackendFailure(self.name, f"timed out after {self.timeout:g} s (simulation.timeout)")
        return index, self._end(error=failure), self._abandon()

    def _end(self, value=None, error=None) -> Outcome:
        now = time.perf_counter()
        outcome = Outcome(value=value, error=error, seconds=now - self.start)
        self.start = now
        return outcome

    def _abandon(self) -> list[int]:
        rest, self.pending = self.pending, []
        self.kill()
        return rest

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def call_all(calls: list, timeout: float, workers: int | None = None, done=None,
             sequences: list[list[int]] | None = None, server=None,
             remote: list[bool] | None = None) -> list[Outcome]:
    """``[fn(*args) for fn, args in calls]`` in child processes, at most ``workers`` (default
    :func:`default_workers`) at a time, each call with its own ``timeout`` (s); the outcomes in the order
    of ``calls``. ``sequences`` (default: every call alone) lists the calls that share one child, run
    in the order given, and the order in which the children start: a fork costs about 20 ms of CPU
    with the simulators loaded, so the calls of one backend can share it. A call that crashes its child
    or runs out of time fails alone; the calls after it in its sequence start again in a new child.
    ``done(index)`` is called as each call finishes. The sequences flagged in ``remote`` are forked by
    ``server`` (a :class:`comparisons.execution.forkserver.ForkServer`) instead of this process. An interrupt kills
    every running child before it propagates."""
    workers = max(1, workers or default_workers())
    outcomes: list = [None] * len(calls)
    sequences = sequences if sequences is not None else [[i] for i in range(len(calls))]
    remote = remote if remote is not None and server is not None else [False] * len(sequences)
    queue = [(list(seq), far) for seq, far in zip(sequences, remote)]
    if sorted(i for seq, _ in queue for i in seq) != list(range(len(calls))):
        raise ValueError("call_all: sequences must name every call exactly once")
    running: dict = {}                                # connection -> (_Running, remote)
    try:
        while queue or running:
            while queue and len(running) < workers:
                seq, far = queue.pop(0)
                job = _Running(calls, seq, timeout, server if far else None)
                running[job.conn] = (job, far)
            now = time.perf_counter()
            ready = wait(list(running), timeout=max(0.0, min(j.deadline for j, _ in running.values()) - now))
            now = time.perf_counter()
            for conn in list(running):
                job, far = running[conn]
                if conn in ready:
                    index, outcome, rest = job.receive()
                elif now >= job.deadline:
                    index, outcome, rest = job.expire()
                else:
                    continue
                outcomes[index] = outcome
                if not job.pending:
                    del running[conn]
                if rest:
                    queue.insert(0, (rest, far))
                if done is not None:
                    done(index)
    finally:
        for job, _ in running.values():
            job.kill()
    return outcomes


def _vet(name: str, probes: list) -> list:
    """Import a backend and its simulator and ask its ``representable()`` about each (spec, settings).
    (Only the import: the warm-up runs of an adapter's ``preload()`` are left to the process that runs.)"""
    import importlib

    module = backends.get(name)
    if module.LIBRARY:
        importlib.import_module(module.LIBRARY)
    return [module.representable(spec, settings) for spec, settings in probes]


def vet_backends(checks: dict, timeout: float | None, workers: int | None = None) -> dict[str, str]:
    """Import each backend and run its capability checks in its own child process, with the time limit of
    a run: a simulator whose import hangs or raises, or whose ``representable()`` raises, fails alone and
    is never imported by this process. ``checks``: backend name -> (the registered adapter it runs, the
    (spec, settings) pairs to ask ``representable()`` about). Returns the reason of each backend that
    failed. Without ``timeout``, in this process (exceptions only). The child inherits what this process
    has already imported, so a backend already loaded costs a fork."""
    failures = {}
    names = list(checks)
    if not timeout:
        for name in names:
            try:
                _vet(*checks[name])
            except Exception as exc:  # noqa: BLE001 - that backend's failure
                failures[name] = f"{type(exc).__name__}: {exc}"
        return failures
    outcomes = call_all([(_vet, checks[name]) for name in names], timeout, workers)
    for name, outcome in zip(names, outcomes):
        try:
            outcome.get()
        except BackendFailure as exc:
            failures[name] = exc.reason.replace("(simulation.timeout)", "(simulation.timeout, importing it)")
        except NotRepresentable as exc:
            failures[name] = exc.reason
    return failures


def call_isolated(fn, args: tuple, timeout: float):
    """``fn(*args)`` in a child process; raises :class:`BackendFailure` on error or after ``timeout`` s."""
    return call_all([(fn, args)], timeout, workers=1)[0].get()


def require_finite(backend: str, result):
    """``result``, unless it holds NaN or inf (then a :class:`BackendFailure` of ``backend``)."""
    if not result.is_finite():
        raise BackendFailure(backend, "returned non-finite values (NaN or inf)")
    return result


# --------------------------------------------------------------------------- several independent jobs

def forked_map(fn, items, workers: int) -> list:
    """``[fn(x) for x in items]``, ``workers`` at a time in forked processes, the next one started as soon
    as one finishes (fork copies ``fn``, so it need not be picklable; each result comes back pickled
    through a pipe). A failure in a child is re-raised here with the child's traceback: a preset that
    cannot run is a bug, not a report."""
    context = _CONTEXT
    results: list = [None] * len(items)
    pending = list(enumerate(items))
    running: dict = {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                index, item = pending.pop(0)
                receive, send = context.Pipe(duplex=False)
                proc = context.Process(target=_map_child, args=(send, fn, item))
                proc.start()
                send.close()
                running[receive] = (index, proc)
            for receive in wait(list(running)):
                index, proc = running.pop(receive)
                try:
                    ok, value = pickle.loads(receive.recv_bytes())
                except EOFError:
                    ok, value = False, f"the process for {items[index]!r} died"
                receive.close()
                proc.join()
                if not ok:
                    raise RuntimeError(f"{items[index]!r} failed:\n{value}")
                results[index] = value
    finally:
        for receive, (_, proc) in running.items():
            if proc.is_alive():
                proc.terminate()
            proc.join()
    return results


def _map_child(send, fn, item) -> None:
    try:
        payload = (True, fn(item))
    except BaseException:
        payload = (False, traceback.format_exc())
    send.send_bytes(pickle.dumps(payload))
    send.close()
    os._exit(0)
