"""What the suite asks of the operating system about its own processes: the cores it may use, and a
child that must not outlive its parent."""

from __future__ import annotations

import os
import signal


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def die_with_parent(parent: int | None = None) -> None:
    """Linux: ask for SIGKILL when the parent process dies (elsewhere: nothing). A child blocked for ever
    (writing to a pipe that nobody reads any more, in a simulator's loop) is killed with it, whatever
    killed the parent, and reaped by init. ``parent``: the pid of the process that forked this one; if it
    has already died (before the request could be made), exit at once."""
    import ctypes

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if parent is not None and os.getppid() != parent:
        os._exit(1)
