"""``run FILE`` for an exchange file holding several distinct cells: one report per cell and a dashboard.

A NIR node with vectors of parameters (or a file with several nodes or NeuroML cells) holds several
distinct cells (:func:`comparisons.exchange.import_cells`). Without a ``cell`` choice, ``run FILE --out DIR``
validates each of them: cell ``K`` is run exactly as ``run FILE --map cell=K --out DIR/<name>`` would run
it (the same report, its provenance naming the node and the neurons it stands for), ``<name>`` being the
cell's name made file-safe (and unique by its index where two names would meet), and ``DIR/index.html`` is
the dashboard of :mod:`reports.dashboard` over them (written by :func:`comparisons.batch.run_dashboard`, as
``report`` writes it for the presets). The exit status is the worst of the cells' (0 < 1 < 3).

The output place (:mod:`reports.destination`): ``DIR`` is locked for the whole run; without ``--force`` it
must be absent or empty; with ``--force`` it may hold only an earlier run of this kind (``index.html``
and reports of this suite, hidden lock and staging entries aside), and each cell's directory is replaced
by the usual rules. Every check -- the cells, the settings and every output place -- is made before the
first simulation, so bad input writes nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from models.errors import UserInputError
from reports.destination import Destination, not_a_report

#: What the dashboard's page says above the cells' table.
LEDE = ("Each distinct cell of {file} run on every requested simulator and compared with the closed form and "
        "the reference. Follow a name for its full report (its provenance names the node and the neurons it "
        "stands for); cite a report with its digest (its manifest.json holds the sha256 of every file).")


def cell_directories(cells, safe_name) -> list[str]:
    """One directory name per cell: its name made file-safe, with ``_<index>`` where two would meet."""
    names = [safe_name(c.document.get("name", "cell")) for c in cells]
    return [n if names.count(n) == 1 and n != "index.html" else safe_name(f"{n}_{k}") for k, n in enumerate(names)]


def check_dashboard_place(place: Destination) -> None:
    """``DIR`` (locked) holds nothing but what an earlier run of several cells wrote, and without --force
    nothing at all; refused naming one entry otherwise."""
    if not place.path.is_dir():
        return
    entries = sorted(e for e in os.listdir(place.path) if not e.startswith("."))
    if entries and not place.force:
        raise UserInputError("--out", "exists and is not empty (use --force to replace an earlier run of this "
                             "suite)", place.given)
    for entry in entries:
        path = place.path / entry
        if entry == "index.html" and path.is_file() and not path.is_symlink():
            continue
        if path.is_dir() and not path.is_symlink() and (not any(os.scandir(path)) or not_a_report(path) is None):
            continue
        raise UserInputError("--out", f"is not a run of this suite: it holds {entry!r}, neither index.html nor a "
                             "report; --force replaces only an earlier run of this suite", place.given)


def run_cells(path: Path, cells, args, backends, choices: dict, run_one, safe_name) -> int:
    """Validate every cell of ``path`` into ``args.out`` (see the module docstring) and write ``args.junit``
    (when given: a test case per verdict row of every cell, prefixed with the cell's directory name);
    returns the worst exit status."""
    from comparisons.batch import run_dashboard
    from comparisons.config import load_comparison
    from reports.junit import check_junit_path, junit_xml, write_junit

    if getattr(args, "baseline", None):
        raise UserInputError("--baseline", "compares one report with one stored report: choose one cell with "
                             "--map cell=K", args.baseline, source="command line")

    names = cell_directories(cells, safe_name)
    index = {name: k for k, name in enumerate(names)}
    for k in range(len(cells)):  # every cell's settings checked before any simulation
        load_comparison(path, backends, {**choices, "cell": k})
    out = Path(args.out) if args.out is not None else Path("reports") / "out" / safe_name(path.stem)
    with Destination(out, args.force, [path], into=True) as place:
        check_dashboard_place(place)
        for name in names:
            Destination(place.path / name, args.force, [path]).check()
        junit = check_junit_path(args.junit, [place.path / n for n in names]) if args.junit else None

        def one(name, directory, _backends, _force, quiet):
            return run_one(path, directory, backends, True, quiet, args.timeout, {**choices, "cell": index[name]})

        status = run_dashboard(place.path, names, args.quiet, one, lede=LEDE.format(file=path.name))
    if junit is not None:
        write_junit(junit, junit_xml([(name, place.path / name) for name in names], True))
    if not args.quiet:
        print(f"{path.name}: {len(cells)} distinct cells -> {place.path}/index.html", file=sys.stderr)
    return status
