"""The command line.

``python -m comparisons run FILE_OR_PRESET [--out DIR] [--backends a,b] [--force] [--quiet]``
    writes report.html, metrics.csv, fi_curve.csv, traces.csv, spikes.csv, convergence.csv and
    manifest.json into DIR (default ``reports/out/<name>``); an exchange file holding several distinct
    cells, none chosen, gets one such report per cell in DIR/<cell>/ and DIR/index.html
    (:mod:`comparisons.cells`).
``python -m comparisons presets``
    lists the shipped presets.
``python -m comparisons report [--out DIR]``
    runs every shipped preset into DIR/<preset>/ and writes DIR/index.html (the dashboard).
``python -m comparisons export FILE_OR_PRESET --to nir|neuroml FILE [--drop t_ref,...] [--map KEY=VALUE]``
    writes the cell in an exchange format (:mod:`models.formats`); ``run`` reads such a file (``--map``
    gives its mapping choices, :mod:`comparisons.exchange`).
``python -m comparisons diff OLD NEW [--out DIR]``, ``run/report --junit FILE``, ``run --baseline DIR``
    validation that lasts (:mod:`comparisons.diff`, :mod:`reports.junit`): diff exits 0 no drift, 1 drift,
    2 bad input; with --baseline, run exits with the diff's status.

Exit status: 0 every verdict passes; 1 the run completed and some verdict failed; 2 bad input (one line on
stderr naming file, field, expectation and value; nothing written), also for an output place that must
not or cannot be written (see :mod:`reports.destination`) and for a report that could not be written (a
full disk: the earlier report stays); 3 a backend failed (the report is written and says which and why);
130/143 interrupted by SIGINT/SIGTERM (the one line says whether the earlier report is untouched or the
new one is in place).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

# The suite draws its figures off screen: a backend chosen for a notebook or a desktop in the environment
# (MPLBACKEND) cannot be loaded here and must not be tried.
os.environ["MPLBACKEND"] = "agg"

from models.errors import ContractError, UserInputError
from models.files import example_names, preset_names, resolve
from reports import destination
from reports.destination import Destination
from models.loading import load_spec

from . import verdicts

EXIT_OK, EXIT_FAILED_VERDICT, EXIT_BAD_INPUT, EXIT_BACKEND_FAILED, EXIT_INTERNAL = 0, 1, 2, 3, 4
DEFAULT_OUT = Path("reports") / "out"


class Interrupted(BaseException):
    """Raised from the SIGTERM handler so that cleanup runs exactly as for Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"error: command line: {message} (see --help)\n")


def safe_name(text: str) -> str:
    """A file-name-safe version of a user string (letters, digits, ``._-``; at most 64 characters)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "comparison"
    return name[:64]


def _progress(quiet: bool, comparison=None):
    """A tqdm bar on stderr (off when quiet or stderr is not a terminal): runs done of the expected total,
    elapsed and time left; it stays on screen at the end. The total is an estimate (per backend one run of
    the stimuli, one f-I sweep, one run per convergence dt); a substitute variant adds runs, and the
    total grows with them."""
    if quiet or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm
    total = None
    if comparison is not None:
        total = len(comparison.backends) * (2 + len(comparison.convergence.dts))
    bar = tqdm(file=sys.stderr, unit=" run", total=total, leave=True, dynamic_ncols=True,
               bar_format="{desc:<44.44} {bar} {n_fmt}/{total_fmt} runs [{elapsed}<{remaining}]")

    def tick(label):
        if bar.total is not None and bar.n >= bar.total:
            bar.total = bar.n + 1
        bar.set_description_str(label[:44], refresh=False)
        bar.update(1)

    def close():
        if bar.total is not None and bar.n != bar.total:
            bar.total = bar.n  # a failed backend skips its later runs: the bar ends full
            bar.refresh()
        bar.close()
    return tick, close


def run_one(source, out, backends: list[str] | None, force: bool, quiet: bool,
            timeout: float | None = None, choices: dict | None = None):
    """Run one comparison into ``out`` (a path; None: the default place); returns (exit status,
    manifest). The output place is checked and locked before any simulation (:mod:`reports.destination`)."""
    from comparisons.config import load_comparison
    from reports.writers import write_all

    from comparisons.config import MAX_TIMEOUT
    if timeout is not None and not 0 < timeout <= MAX_TIMEOUT:
        raise UserInputError("--timeout", f"must be a positive number of seconds, at most {MAX_TIMEOUT:g}",
                             timeout)
    comparison = load_comparison(source, backends, choices)
    out = out if out is not None else DEFAULT_OUT / safe_name(comparison.spec.name)
    log = None if quiet else lambda note: print(f"note: --out: {note}", file=sys.stderr)
    with Destination(out, force, [comparison.source], log=log) as place:
        from comparisons.harness import run_comparison
        from comparisons.execution import frozen_heap
        from reports.html import render_report
        tick, close = _progress(quiet, comparison)
        with frozen_heap():  # the report's figures too: see frozen_heap
            try:
                outcome = run_comparison(comparison, progress=tick, timeout=timeout or comparison.timeout)
            finally:
                close()
            with place.staging() as tmp:
                manifest = render_report(outcome, tmp, write_all)
    if not quiet:
        _summary(outcome, out)
    return outcome.exit_status(), manifest


def _summary(outcome, out: Path) -> None:
    rows = outcome.metric_rows
    failed = verdicts.failed(rows)
    judged = [r for r in rows if r.is_verdict]
    print(f"{outcome.comparison.spec.name}: {len(judged) - len(failed)} of {len(judged)} verdicts pass "
          f"-> {out}/report.html", file=sys.stderr)
    for r in failed[:10]:
        print(f"  FAIL {r.stimulus} {r.backend} vs {r.reference}: {r.metric} = {r.value:.6g} {r.unit} > "
              f"tolerance {r.tolerance:.6g}",
              file=sys.stderr)
    for name, why in outcome.failures.items():
        print(f"  BACKEND FAILED {name}: {why}", file=sys.stderr)


def _cmd_run(args) -> int:
    backends = [b.strip() for b in args.backends.split(",")] if args.backends is not None else None
    if backends is not None and not all(backends):
        raise UserInputError("--backends", "expected a comma-separated list of backend names", args.backends)
    from .exchange import several_cells
    cells = several_cells(resolve(args.source), _choices(args.map))
    if cells:  # an exchange file of several distinct cells, none chosen: a report each and a dashboard
        from .cells import run_cells
        args.several_cells = True  # an interruption is reported as report's (_interrupt_note)
        return run_cells(resolve(args.source), cells, args, backends, _choices(args.map), run_one, safe_name)
    if args.junit or args.baseline:
        return _run_guarded(args, backends)
    status, _ = run_one(args.source, args.out, backends, args.force, args.quiet, args.timeout,
                        _choices(args.map))
    return status


def _choices(pairs) -> dict:
    """``--map KEY=VALUE`` pairs as an exchange file's choices (:mod:`comparisons.exchange`)."""
    out = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserInputError("--map", "expected KEY=VALUE (e.g. time_unit=\"1 ms\")", pair)
        out[key.strip()] = value.strip()
    return out


def _cmd_export(args) -> int:
    """Write the cell of FILE_OR_PRESET in an exchange format; refused fields are one line, exit 2."""
    from models.formats import READERS, format_module
    from comparisons.config import load_comparison
    target = Path(args.file)
    formats = {module.rsplit(".", 1)[1].rstrip("_"): module for module in READERS.values()}  # nir, neuroml
    if formats.get(args.to) is None or READERS.get(target.suffix.lower()) != formats[args.to]:
        raise UserInputError("--to", f"expected a format ({', '.join(formats)}) and a FILE with its ending "
                             f"({', '.join(READERS)})", f"{args.to} {args.file}", source="command line")
    if target.exists() and not args.force:
        raise UserInputError("FILE", "exists (--force replaces it)", args.file, source="command line")
    spec = load_comparison(args.source).spec
    choices = _choices(args.map)
    if args.drop:
        choices["drop"] = tuple(d.strip() for d in args.drop.split(","))
    try:
        warnings = format_module(target).write(spec, target, choices)
    except UserInputError as exc:
        raise exc.with_source(str(resolve(args.source))) from None
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    return EXIT_OK


def _cmd_presets(args) -> int:
    from comparisons.config import load_comparison
    for name in preset_names() + example_names():
        spec = load_spec(name) if name in preset_names() else load_comparison(name).spec
        print(f"{name:20s} {spec.description.split('. ')[0][:100]}")
    return EXIT_OK


def _cmd_report(args) -> int:
    """Every check before the first simulation: the presets exist, the dashboard's directory can be
    written and no run holds it, and each preset's directory is empty or an earlier report."""
    from comparisons.batch import run_dashboard
    presets = args.presets or preset_names() + example_names()
    with Destination(args.out, True, into=True) as place:
        for preset in presets:
            Destination(place.path / preset, True, [resolve(preset)]).check()
        junit = _junit_path(args.junit, [place.path / p for p in presets])
        status = run_dashboard(place.path, presets, args.quiet, run_one)
    _write_junit(junit, [(p, place.path / p) for p in presets], prefix_names=True)
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m comparisons",
                           description="Validate one LIF specification across simulators.")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    run = sub.add_parser("run", help="run one comparison file or preset and write its report")
    run.add_argument("source", metavar="FILE_OR_PRESET")
    run.add_argument("--out", help="output directory (default reports/out/<name>)")
    run.add_argument("--backends", help="comma-separated backends (default: the file's, or all installed)")
    run.add_argument("--force", action="store_true",
                     help="replace an earlier report of this suite (nothing else) at --out")
    run.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    run.add_argument("--timeout", type=float, help="time limit of each backend run in seconds (overrides the file)")
    run.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                     help="show a traceback on errors")
    run.add_argument("--map", action="append", metavar="KEY=VALUE",
                     help="a mapping choice of an exchange file (time_unit=\"1 ms\", cell=0); repeatable")
    run.set_defaults(func=_cmd_run)
    export = sub.add_parser("export", help="write a cell as an exchange file (NIR, NeuroML2)")
    export.add_argument("source", metavar="FILE_OR_PRESET")
    export.add_argument("--to", required=True, help="the format: nir or neuroml")
    export.add_argument("file", metavar="FILE")
    export.add_argument("--drop", help="fields the format cannot hold, written without (NIR: t_ref,V_init,spike_input; NeuroML: V_init)")
    export.add_argument("--map", action="append", metavar="KEY=VALUE", help="a mapping choice (NIR: time_unit=\"1 ms\")")
    export.add_argument("--force", action="store_true", help="replace FILE")
    export.set_defaults(func=_cmd_export)
    sub.add_parser("presets", help="list the shipped presets").set_defaults(func=_cmd_presets)
    report = sub.add_parser("report", help="run every shipped preset and write the dashboard")
    report.add_argument("presets", nargs="*", help="preset names (default: all)")
    report.add_argument("--out", default="reports/latest", help="output directory")
    report.add_argument("--quiet", action="store_true")
    report.set_defaults(func=_cmd_report)
    _add_drift_arguments(sub, run, report)
    sweep = sub.add_parser("sweep", help="map where backends disagree over a parameter space (on Dask)")
    sweep.add_argument("source", metavar="SWEEP.toml")
    sweep.add_argument("--out", required=True, help="output directory (re-run into it to resume)")
    sweep.add_argument("--scheduler", help="address of a Dask scheduler (default DASK_SCHEDULER_ADDRESS, "
                                           "else a LocalCluster with one worker process per core)")
    sweep.add_argument("--backends", help="comma-separated backends (default: the file's)")
    sweep.add_argument("--force", action="store_true", help="replace another sweep's directory at --out")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(func=_cmd_sweep)
    return parser


def _cmd_sweep(args) -> int:
    from .sweep_run import sweep
    names = [b.strip() for b in args.backends.split(",")] if args.backends else None
    outcome = sweep(args.source, args.out, args.scheduler, args.force, args.quiet, names)
    if not args.quiet:
        print(f"{outcome.n_points} points, {outcome.failed} failed rows; {outcome.out / 'maps.html'}",
              file=sys.stderr)
    return outcome.exit_status


# ---- validation that lasts: diff, --junit, --baseline (comparisons/diff.py, reports/junit.py) ----------

def _add_drift_arguments(sub, run, report) -> None:
    for p in (run, report):
        p.add_argument("--junit", metavar="FILE", help="also write JUnit XML: a test case per verdict row")
    run.add_argument("--baseline", metavar="DIR", help="diff the new report with this stored one; exit 1 on drift")
    diff = sub.add_parser("diff", help="what changed between two reports (exit 0 none, 1 changed, 2 bad input)")
    diff.add_argument("old", metavar="OLD")
    diff.add_argument("new", metavar="NEW")
    diff.add_argument("--out", help="write diff.html, changes.csv and manifest.json here")
    diff.add_argument("--force", action="store_true", help="replace an earlier diff or report at --out")
    diff.add_argument("--quiet", action="store_true")
    diff.set_defaults(func=_cmd_diff)


def _junit_path(given, report_dirs):
    from reports.junit import check_junit_path
    return check_junit_path(given, report_dirs) if given else None


def _write_junit(path, reports, prefix_names=False) -> None:
    if path is not None:
        from reports.junit import junit_xml, write_junit
        write_junit(path, junit_xml(reports, prefix_names))


def _cmd_diff(args) -> int:
    from .diff import diff_reports, summary_lines, write_diff
    result = diff_reports(args.old, args.new)
    if args.out is not None:
        write_diff(result, args.out, args.force)
    if not args.quiet:
        print("\n".join(summary_lines(result)), file=sys.stderr)
    return result.status


def _run_guarded(args, backends) -> int:
    """run with --junit and/or --baseline: both checked before the simulation; with --baseline the exit
    status is the diff's (0 the same as the baseline, 1 drift)."""
    from comparisons.config import load_comparison
    from .diff import diff_reports, load_report, summary_lines
    name = load_comparison(args.source, backends, _choices(args.map)).spec.name
    out = Path(args.out) if args.out is not None else DEFAULT_OUT / safe_name(name)
    baseline = load_report(args.baseline) if args.baseline else None
    if baseline is not None and destination.resolve_out(out) == destination.resolve_out(baseline.path):
        raise UserInputError("--baseline", "must not be the --out directory the run replaces", args.baseline)
    junit = _junit_path(args.junit, [out])
    status, _ = run_one(args.source, out, backends, args.force, args.quiet, args.timeout, _choices(args.map))
    _write_junit(junit, [(name, out)])
    if baseline is None:
        return status
    result = diff_reports(baseline, out)
    if not args.quiet or result.status:
        print("\n".join(summary_lines(result)), file=sys.stderr)
    return result.status


TMP_PREFIX = "lif-crosscheck-tmp-"


@contextmanager
def private_tmpdir():
    """A temporary directory of this run (``$TMPDIR/lif-crosscheck-tmp-<pid>-*``) for every temporary file
    of the run and of the simulators (Brian2's ``brian_debug_*.log`` and ``brian_script_*.py``, which it
    keeps after an error or a kill), removed at the end whatever happened; those of runs that were
    killed (their process is gone) are removed by the next run."""
    parent = tempfile.gettempdir()
    _remove_stale(parent)
    directory = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=parent)
    saved_dir, saved_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir, os.environ["TMPDIR"] = directory, directory
    try:
        yield directory
    finally:
        tempfile.tempdir = saved_dir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        logger = sys.modules.get("brian2.utils.logger")
        if logger is not None:  # its clean-up at exit would warn about the files removed here
            for name in ("tmp_log", "tmp_script"):
                if str(getattr(logger.BrianLogger, name, None) or "").startswith(directory):
                    setattr(logger.BrianLogger, name, None)
        shutil.rmtree(directory, ignore_errors=True)


def _remove_stale(parent: str) -> None:
    try:
        entries = os.listdir(parent)
    except OSError:
        return
    for entry in entries:
        if not entry.startswith(TMP_PREFIX):
            continue
        pid = entry[len(TMP_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)


def _on_signal(signum, frame):
    if destination.defer(signum):  # the output is being swapped: delivered again when that is done
        return
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Interrupted(signum)


def _interrupt_note(args) -> str:
    if args.command == "sweep":
        return "the finished tasks are in --out/chunks; the same command resumes the sweep"
    if args.command == "report" or getattr(args, "several_cells", False):
        what = "preset's" if args.command == "report" else "cell's"
        return (f"dashboard index not written; each {what} directory holds its earlier report or its new "
                "one, complete")
    return destination.interrupt_note()


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = {signum: signal.signal(signum, _on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with private_tmpdir():
            return args.func(args)
    except UserInputError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ContractError as exc:  # a bug of the suite, not the user's input
        if getattr(args, "debug", False):
            raise
        print(f"internal error (a bug of lif-crosscheck, not your input; --debug shows where): {exc}",
              file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print(f"interrupted: {_interrupt_note(args)}", file=sys.stderr)
        return 128 + signal.SIGINT
    except Interrupted as exc:
        print(f"terminated: {_interrupt_note(args)}", file=sys.stderr)
        return 128 + exc.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
