"""Run one backend call in a forked child process with a time limit.

A simulator that hangs, crashes the interpreter or exhausts memory cannot take the suite with it: the
child is killed at the time limit and the failure reported for that backend alone. Fork (not spawn)
keeps the already imported simulator modules, so isolation costs a few milliseconds per run.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import traceback

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


def call_isolated(fn, args: tuple, timeout: float):
    """``fn(*args)`` in a child process; raises :class:`BackendFailure` on error or after ``timeout`` s."""
    name = getattr(fn, "__module__", "backend").rsplit(".", 1)[-1].rstrip("_")
    parent, child = _CONTEXT.Pipe(duplex=False)
    proc = _CONTEXT.Process(target=_child, args=(child, fn, args), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise BackendFailure(name, f"timed out after {timeout:g} s (simulation.timeout)")
        try:
            payload = pickle.loads(parent.recv_bytes())
        except EOFError:
            proc.join(5)
            raise BackendFailure(name, f"the simulator process died (exit code {proc.exitcode})") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
    if payload[0] == "ok":
        return payload[1]
    if payload[0] == "not_representable":
        raise NotRepresentable(*payload[1])
    raise BackendFailure(name, payload[1])
