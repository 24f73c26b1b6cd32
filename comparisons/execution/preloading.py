"""Simulators imported once in this process, so that the processes forked from it inherit them."""

from __future__ import annotations

import importlib

from .. import backends

#: Backends already preloaded in this process (and so in every process forked from it).
_PRELOADED: set[str] = set()


def preload(name: str) -> None:
    """Import a backend's simulator in this process (its adapter's ``preload()`` or ``LIBRARY``), once:
    the executor asks before every batch, and an adapter's ``preload()`` may run warm-up simulations."""
    if name in _PRELOADED:
        return
    module = backends.get(name)
    if hasattr(module, "preload"):
        module.preload()
    elif module.LIBRARY:
        importlib.import_module(module.LIBRARY)
    _PRELOADED.add(name)
