"""``make report``: every preset run side by side into its own report, then the dashboard.

The presets are independent: one forked process per core (:func:`comparisons.isolation.forked_map`), every
simulator and library imported once before (:func:`preload_all`); the dashboard's
page is written by :mod:`reports.dashboard` from what the runs returned.
"""

from __future__ import annotations

from pathlib import Path

from models.processes import available_cores
from reports import plots  # noqa: F401 - matplotlib, imported once for every report's figures
from reports.dashboard import summarise, worst, write_index

from . import backends, forkserver, metrics
from .isolation import forked_map, frozen_heap


def run_dashboard(out: Path, presets: list[str], quiet: bool, run_one) -> int:
    """Run every preset into ``out / preset`` and write ``out / "index.html"``.

    Parameters
    ----------
    out : Path
        Output directory of the dashboard.
    presets : list of str
        Preset names (or comparison files) to run, in the order shown.
    quiet : bool
        No progress or summary on stderr.
    run_one : callable
        :func:`comparisons.cli.run_one`: ``run_one(source, out, backends, force, quiet)`` returns
        ``(exit status, manifest)``.

    Returns
    -------
    int
        The worst exit status of the presets (3 > 1 > 0); 0 for no preset.
    """
    out = Path(out)
    workers = min(len(presets), available_cores())
    if workers > 1:  # presets are independent: one forked process per core
        try:
            preload_all()
            with frozen_heap():  # the preset processes inherit these objects: out of every cyclic GC pass
                results = forked_map(lambda preset: run_one(preset, out / preset, None, True, quiet), presets,
                                      workers)
        finally:
            if forkserver.SERVER is not None:
                forkserver.SERVER.close()
                forkserver.SERVER = None
    else:
        results = [run_one(preset, out / preset, None, True, quiet) for preset in presets]
    rows = [summarise(preset, status, manifest, out / preset)
            for preset, (status, manifest) in zip(presets, results)]
    write_index(out, rows)
    return worst([r.status for r in rows])


def preload_all() -> None:
    """Import every installed simulator and the libraries of the metrics and plots once, so that the
    forked preset processes inherit them instead of each paying the imports (several seconds each for
    Brian2 and torch). The torch-based simulators are imported by a fork server
    (:mod:`comparisons.forkserver`), started first, on the other core while this process imports the
    rest; their runs are forked from it. A simulator that fails to import is left to its run to report."""
    served = [name for name in forkserver.SERVED if backends.is_available(name)]
    if served and forkserver.SERVER is None:
        forkserver.SERVER = forkserver.ForkServer(served)
    metrics.preload()
    for name in backends.available():
        if name in served:
            continue
        try:
            backends.preload(name)
        except Exception:  # noqa: BLE001 - reported by the run that needs it
            pass
    if forkserver.SERVER is not None and not forkserver.SERVER.wait():
        forkserver.SERVER.close()  # it could not load them: the runs fork here and import them themselves
        forkserver.SERVER = None
