"""Registry of backends: name -> adapter module, availability checked without importing.

Each adapter module (named with a trailing underscore so it never shadows the simulator's package)
exposes:

``NAME``
    The backend's name in reports.
``LIBRARY``
    The import name of its simulator (``None`` for pure numpy).
``version() -> str``
    The simulator's version.
``representable(spec, settings) -> str | None``
    ``None`` when the backend can simulate the specification with these settings exactly as specified,
    else the reason it cannot (e.g. "no refractory period"); the harness then reports it and runs a
    clearly labelled substitute instead of a silent mismatch.
``preload()`` (optional)
    Import the simulator in the calling process, so that runs isolated in forked children inherit it
    instead of paying the import each time; without it, :func:`comparisons.execution.preload` imports
    ``LIBRARY``.
``run(spec, drive, settings) -> Result``
    The one entry point: the specification, the sampled input for N neurons (:class:`models.drive.Drive`)
    and the :class:`models.result.RunSettings`; returns a :class:`models.result.Result` on the shared
    sample grid. Global state of the simulator (preferences, kernels) is restored before returning.
``run_population(spec, workloads) -> list[Result]`` (optional)
    Several workloads ``[(drive, settings), ...]`` of one specification, each with its own ``dt`` and
    length, in one call; each result identical bit for bit to ``run(spec, drive, settings)``. For a
    simulator without a global time step whose cost is per call rather than per neuron (snnTorch): the
    harness then gives it an f-I sweep and a whole convergence study at once.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from models.errors import BackendUnavailable

#: Backend name -> (adapter module, simulator package to look for).
REGISTRY: dict[str, tuple[str, str | None]] = {
    "reference": ("reference.backend", None),
    "brian2": ("models.brian2_", "brian2"),
    "nengo": ("models.nengo_", "nengo"),
    "nest": ("models.nest_", "nest"),
    "snntorch": ("models.snntorch_", "snntorch"),
    "rockpool": ("models.rockpool_", "rockpool"),
}

# A test hook: LIFX_TEST_BACKENDS="name:module,..." adds backends (the misbehaving ones of tests/), so that
# the tests can run the real command line (``python -m comparisons``) against them.
import os as _os  # noqa: E402

for _entry in filter(None, _os.environ.get("LIFX_TEST_BACKENDS", "").split(",")):
    _name, _, _module = _entry.partition(":")
    REGISTRY.setdefault(_name, (_module, None))

#: Backends every installation has (requirements.txt); the others are optional extras.
CORE = ("reference", "brian2", "nengo")


def names() -> list[str]:
    """Every backend the suite knows, installed or not."""
    return list(REGISTRY)


def is_available(name: str) -> bool:
    """True when the backend's simulator is installed and its adapter exists (``find_spec`` only,
    nothing imported)."""
    module, library = REGISTRY[name]
    if importlib.util.find_spec(module) is None:
        return False
    return library is None or importlib.util.find_spec(library) is not None


def available() -> list[str]:
    """The known backends whose simulator is installed."""
    return [name for name in REGISTRY if is_available(name)]


def check(name: str, field: str = "simulation.backends") -> None:
    """Refuse an unknown backend or one whose simulator is not installed, without importing anything (its
    import and its ``representable()`` run isolated, in the comparison: they may hang or raise).

    Raises
    ------
    BackendUnavailable
        As :func:`get`.
    """
    if name not in REGISTRY:
        raise BackendUnavailable(field, f"unknown backend (expected one of: {', '.join(REGISTRY)})", name)
    if not is_available(name):
        library = REGISTRY[name][1]
        raise BackendUnavailable(field, f"backend not installed (the Python package '{library}' is missing; "
                                        "see `make extras`)", name)


def get(name: str, field: str = "simulation.backends") -> ModuleType:
    """The adapter module of a backend.

    Raises
    ------
    BackendUnavailable
        For an unknown name (listing the valid ones) or a simulator that is not installed.
    """
    check(name, field)
    return importlib.import_module(REGISTRY[name][0])
