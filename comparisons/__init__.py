"""Stimuli, the harness, the metrics and verdicts, the command line and the Python API.

``from comparisons import compare, load`` (:mod:`comparisons.api`), ``sweep`` (:mod:`comparisons.sweep_run`); imported on first use, so that the
command line's light commands do not import the simulators.
"""

__all__ = ["compare", "load", "sweep"]


def __getattr__(name):
    if name == "sweep":
        from .sweep_run import sweep
        return sweep
    if name in __all__:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'comparisons' has no attribute {name!r}")
