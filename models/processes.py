"""What the suite asks of the operating system about its own processes: the cores it may use, and a
child that must not outlive its parent."""

from __future__ import annotations

import os
import signal


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def die_with_parent() -> None:
    """Linux: ask for SIGKILL when the parent process dies (elsewhere: nothing)."""
    import ctypes

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
