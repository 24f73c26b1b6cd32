"""Registry of backends: name -> adapter module, availability checked without importing.

Each adapter module (named with a trailing underscore so it never shadows the simulator's package)
exposes ``NAME``, ``LIBRARY`` (the import name of its simulator, or ``None``), ``version()`` and one
entry point ``run(spec, drive, settings) -> Result``.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from .errors import BackendUnavailable

#: Backend name -> (adapter module, simulator package to look for).
REGISTRY: dict[str, tuple[str, str | None]] = {
    "reference": ("models.reference_", None),
}


def names() -> list[str]:
    """Every backend the suite knows, installed or not."""
    return list(REGISTRY)


def is_available(name: str) -> bool:
    """True when the backend's simulator is installed (checked with ``find_spec``, nothing imported)."""
    library = REGISTRY[name][1]
    return library is None or importlib.util.find_spec(library) is not None


def available() -> list[str]:
    """The known backends whose simulator is installed."""
    return [name for name in REGISTRY if is_available(name)]


def get(name: str, field: str = "simulation.backends") -> ModuleType:
    """The adapter module of a backend.

    Raises
    ------
    BackendUnavailable
        For an unknown name (listing the valid ones) or a simulator that is not installed.
    """
    if name not in REGISTRY:
        raise BackendUnavailable(field, f"unknown backend (expected one of: {', '.join(REGISTRY)})", name)
    if not is_available(name):
        library = REGISTRY[name][1]
        raise BackendUnavailable(field, f"backend not installed (the Python package '{library}' is missing; "
                                        "see `make extras`)", name)
    return importlib.import_module(REGISTRY[name][0])
