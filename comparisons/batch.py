"""``make report``: every preset run side by side into its own report, then the dashboard.

The presets are independent: one forked process per core (:func:`comparisons.execution.forked_map`), every
simulator and library imported once before (:func:`comparisons.execution.preload_all`); the dashboard's
page is written by :mod:`reports.dashboard` from what the runs returned.
"""

from __future__ import annotations

from pathlib import Path

from models.processes import available_cores
from reports import plots  # noqa: F401 - matplotlib, imported once for every report's figures
from reports.dashboard import summarise, worst, write_index

from .execution import forked_map, frozen_heap, preload_all, stop_server


def run_dashboard(out: Path, presets: list[str], quiet: bool, run_one, lede: str | None = None) -> int:
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
    lede : str, optional
        What the page says above its table (default: the shipped presets' sentence).

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
            stop_server()
    else:
        results = [run_one(preset, out / preset, None, True, quiet) for preset in presets]
    rows = [summarise(preset, status, manifest, out / preset)
            for preset, (status, manifest) in zip(presets, results)]
    write_index(out, rows, lede)
    return worst([r.status for r in rows])
