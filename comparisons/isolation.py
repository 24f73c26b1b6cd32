"""Run backend calls in forked child processes with a time limit, several at once.

A simulator that hangs, crashes the interpreter or exhausts memory cannot take the suite with it: the
child is killed at the time limit and the failure reported for that backend alone. Fork (not spawn)
keeps the already imported simulator modules, so isolation costs a few milliseconds per run.

:func:`call_all` runs independent calls ``workers`` at a time (one per core by default): the simulations
of a comparison do not depend on each other, and most simulators use one core.
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

from models import backends
from models.errors import BackendFailure, NotRepresentable

_CONTEXT = mp.get_context("fork")


def _child(conn, fn, args):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt does
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        payload = ("ok", fn(*args))
    except NotRepresentable as exc:
        payload = ("not_representable", (exc.backend, exc.reason))
    except BaseException as exc:  # report anything, including SystemExit from a simulator
        payload = ("error", f"{type(exc).__name__}: {exc}".strip(), traceback.format_exc())
    try:
        conn.send_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
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
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


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
    def __init__(self, fn, args: tuple, timeout: float):
        self.name = getattr(fn, "__module__", "backend").rsplit(".", 1)[-1].rstrip("_")
        self.timeout = timeout
        self.conn, child = _CONTEXT.Pipe(duplex=False)
        self.proc = _CONTEXT.Process(target=_child, args=(child, fn, args), daemon=True)
        self.start = time.perf_counter()
        self.proc.start()
        child.close()

    @property
    def deadline(self) -> float:
        return self.start + self.timeout

    def finish(self, timed_out: bool) -> Outcome:
        """Collect the child's payload (or the reason there is none) and reap the child."""
        try:
            if timed_out:
                raise BackendFailure(self.name, f"timed out after {self.timeout:g} s (simulation.timeout)")
            try:
                payload = pickle.loads(self.conn.recv_bytes())
            except EOFError:
                self.proc.join(5)
                raise BackendFailure(self.name, f"the simulator process died (exit code "
                                                f"{self.proc.exitcode})") from None
        except BackendFailure as exc:
            return Outcome(error=exc, seconds=time.perf_counter() - self.start)
        finally:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(5)
            self.conn.close()
        seconds = time.perf_counter() - self.start
        if payload[0] == "ok":
            return Outcome(value=payload[1], seconds=seconds)
        if payload[0] == "not_representable":
            return Outcome(error=NotRepresentable(*payload[1]), seconds=seconds)
        return Outcome(error=BackendFailure(self.name, payload[1]), seconds=seconds)

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def call_all(calls: list, timeout: float, workers: int | None = None, done=None) -> list[Outcome]:
    """``[fn(*args) for fn, args in calls]``, each in its own child with its own ``timeout`` (s), at
    most ``workers`` (default :func:`default_workers`) at a time, started in the order given; the
    outcomes in the same order. ``done(index)`` is called as each call finishes. An interrupt kills
    every running child before it propagates."""
    workers = max(1, workers or default_workers())
    outcomes: list = [None] * len(calls)
    queue = list(enumerate(calls))
    running: dict = {}                                # connection -> (index, _Running)
    try:
        while queue or running:
            while queue and len(running) < workers:
                index, (fn, args) = queue.pop(0)
                job = _Running(fn, args, timeout)
                running[job.conn] = (index, job)
            now = time.perf_counter()
            ready = wait(list(running), timeout=max(0.0, min(j.deadline for _, j in running.values()) - now))
            now = time.perf_counter()
            for conn in list(running):
                index, job = running[conn]
                if conn in ready or now >= job.deadline:
                    del running[conn]
                    outcomes[index] = job.finish(timed_out=conn not in ready)
                    if done is not None:
                        done(index)
    finally:
        for _, job in running.values():
            job.kill()
    return outcomes


def call_isolated(fn, args: tuple, timeout: float):
    """``fn(*args)`` in a child process; raises :class:`BackendFailure` on error or after ``timeout`` s."""
    return call_all([(fn, args)], timeout, workers=1)[0].get()


def require_finite(backend: str, result):
    """``result``, unless it holds NaN or inf (then a :class:`BackendFailure` of ``backend``)."""
    if not result.is_finite():
        raise BackendFailure(backend, "returned non-finite values (NaN or inf)")
    return result


def execute(backend: str, spec, drive, settings, timeout: float | None):
    """Run one backend, isolated in a child process when ``timeout`` is given; non-finite output fails."""
    module = backends.get(backend)
    if timeout:
        backends.preload(backend)  # once, in the parent: forked children inherit the import
    result = call_isolated(module.run, (spec, drive, settings), timeout) if timeout else \
        module.run(spec, drive, settings)
    return require_finite(backend, result)
