"""The validation dashboard: every preset run into ``out/<preset>/``, and ``out/index.html`` linking them.

The index shows, per preset, its verdict counts (read back from the preset's ``metrics.csv``, the file
the report itself was built from), exit status, backends (those that failed or could not represent the
specification marked), the report digest, and a link to its ``report.html``. It is written atomically
(temporary file in ``out`` and :func:`os.replace`), so a reader never sees a half-written index.

A preset that cannot be run is a bug in the suite: nothing is caught here, the error propagates.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import pickle
import re
import tempfile
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from urllib.parse import quote

from models.processes import available_cores

from . import html

#: Exit statuses ordered from best to worst (see :mod:`comparisons.cli`).
SEVERITY = (0, 1, 3)


@dataclass
class PresetSummary:
    """One row of the dashboard."""

    preset: str
    status: int
    href: str
    name: str = ""
    description: str = ""
    digest: str = ""
    created: str = ""
    passed: int = 0
    failed: int = 0
    informational: int = 0
    backends: list[dict] = field(default_factory=list)

    @property
    def meaning(self) -> str:
        return html.EXIT_MEANING.get(self.status, "unknown")

    @property
    def css(self) -> str:
        return "pass" if self.status == 0 else "fail"


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
        from comparisons import forkserver
        from comparisons.isolation import frozen_heap
        try:
            preload()
            with frozen_heap():  # the preset processes inherit these objects: out of every cyclic GC pass
                results = _forked_map(lambda preset: run_one(preset, out / preset, None, True, quiet), presets,
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


def preload() -> None:
    """Import every installed simulator and the libraries of the metrics and plots once, so that the
    forked preset processes inherit them instead of each paying the imports (several seconds each for
    Brian2 and torch). The torch-based simulators are imported by a fork server
    (:mod:`comparisons.forkserver`), started first, on the other core while this process imports the
    rest; their runs are forked from it. A simulator that fails to import is left to its run to report."""
    from comparisons import backends
    from comparisons import forkserver, metrics
    from . import plots  # noqa: F401 - matplotlib
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


def worst(statuses: list[int]) -> int:
    """The most severe exit status (3 > 1 > 0; any other status ranks above them all)."""
    return max(statuses, key=lambda s: SEVERITY.index(s) if s in SEVERITY else len(SEVERITY) + s, default=0)


def _forked_map(fn, items, workers: int) -> list:
    """``[fn(x) for x in items]``, ``workers`` at a time in forked processes, the next one started as soon
    as one finishes (fork copies ``fn``, so it need not be picklable; each result comes back pickled
    through a pipe). A failure in a child is re-raised here with the child's traceback: a preset that
    cannot run is a bug, not a report."""
    context = multiprocessing.get_context("fork")
    results: list = [None] * len(items)
    pending = list(enumerate(items))
    running: dict = {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                index, item = pending.pop(0)
                receive, send = context.Pipe(duplex=False)
                proc = context.Process(target=_child, args=(send, fn, item))
                proc.start()
                send.close()
                running[receive] = (index, proc)
            for receive in wait(list(running)):
                index, proc = running.pop(receive)
                try:
                    ok, value = pickle.loads(receive.recv_bytes())
                except EOFError:
                    ok, value = False, f"the process for {items[index]!r} died"
                receive.close()
                proc.join()
                if not ok:
                    raise RuntimeError(f"dashboard: {items[index]!r} failed:\n{value}")
                results[index] = value
    finally:
        for receive, (_, proc) in running.items():
            if proc.is_alive():
                proc.terminate()
            proc.join()
    return results


def _child(send, fn, item) -> None:
    try:
        payload = (True, fn(item))
    except BaseException:
        payload = (False, traceback.format_exc())
    send.send_bytes(pickle.dumps(payload))
    send.close()
    os._exit(0)


def summarise(preset: str, status: int, manifest: dict, directory: Path) -> PresetSummary:
    """A dashboard row from a preset's manifest and its ``metrics.csv``."""
    spec = manifest.get("specification", {})
    row = PresetSummary(preset, status, quote(preset) + "/report.html", str(spec.get("name", preset)),
                        _first_sentence(str(spec.get("description", ""))), str(manifest.get("report_digest", "")),
                        str(manifest.get("created", "")))
    row.passed, row.failed, row.informational = verdict_counts(directory / "metrics.csv")
    row.backends = backend_states(manifest)
    return row


def verdict_counts(metrics_csv: Path) -> tuple[int, int, int]:
    """(passing, failing, informational) rows of a ``metrics.csv``."""
    with open(metrics_csv, newline="", encoding="utf-8") as handle:
        verdicts = [r["passed"] for r in csv.DictReader(handle)]
    passed, failed = verdicts.count("True"), verdicts.count("False")
    return passed, failed, len(verdicts) - passed - failed


def backend_states(manifest: dict) -> list[dict]:
    """Each requested backend with its state: ran, failed or not representable."""
    failures = manifest.get("failures", {})
    refused = manifest.get("not_representable", {})
    out = []
    for name in manifest.get("simulation", {}).get("backends", []):
        if name in failures:
            out.append({"name": name, "css": "fail", "state": "failed", "why": failures[name]})
        elif name in refused:
            ran = [v["label"] for v in manifest.get("variants", [])
                   if name in v.get("backends", []) and v.get("label") not in ("", "as specified")]
            state = "substitute" if ran else "not representable"
            why = f"ran the substitute [{', '.join(ran)}] instead: {refused[name]}" if ran else refused[name]
            out.append({"name": name, "css": "warn", "state": state, "why": why})
        else:
            out.append({"name": name, "css": "pass", "state": "ran", "why": ""})
    return out


def _first_sentence(text: str) -> str:
    """The text up to its first sentence end (a full stop followed by a capital letter)."""
    text = " ".join(text.split())
    return _SENTENCE_END.split(text, maxsplit=1)[0]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def render_index(rows: list[PresetSummary]) -> bytes:
    """The dashboard page (UTF-8 bytes)."""
    template = html.environment().get_template("index.html.j2")
    totals = {"passed": sum(r.passed for r in rows), "failed": sum(r.failed for r in rows),
              "status": worst([r.status for r in rows])}
    return template.render(rows=rows, totals=totals, citation=html.citation(),
                           meaning=html.EXIT_MEANING.get(totals["status"], "unknown")).encode("utf-8")


def write_index(out: Path, rows: list[PresetSummary]) -> Path:
    """Write ``out/index.html`` atomically; returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / "index.html"
    fd, tmp = tempfile.mkstemp(prefix=".index.", suffix=".partial", dir=out)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(render_index(rows))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
