"""What the suite asks of the operating system about its own processes: the cores it may use, a child
that must not outlive its parent, and the warm-up run an adapter's ``preload()`` makes so that the
processes forked from this one inherit its simulator's caches."""

from __future__ import annotations

import os
import signal

from .drive import Drive
from .result import RunSettings
from .spec import LIFSpec

#: The cell of the adapters' warm-up runs, written here (an adapter does not read presets): a cortical
#: LIF cell, tau_m 20 ms, E_L -70 mV, V_th -50 mV, V_reset -65 mV, R 100 MOhm, t_ref 2 ms, driven at
#: 300 pA for ten steps of 0.1 ms.
WARM_UP = LIFSpec(name="warm-up", tau_m=20e-3, E_L=-70e-3, V_th=-50e-3, V_reset=-65e-3, R=100e6, t_ref=2e-3)


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


def warm_up(run, methods=("exact",)) -> None:
    """Run an adapter's ``run(spec, drive, settings)`` on :data:`WARM_UP` for ten steps with each method."""
    drive = Drive.constant([3e-10], 1e-4, 10)
    for method in methods:
        run(WARM_UP, drive, RunSettings(dt=1e-4, n_steps=10, method=method, record_v=True))
