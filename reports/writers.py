"""Output files: CSV tables, the JSON manifest, and the atomic output directory.

Reproducibility: floats are written with ``repr`` (shortest string that reads back to the same float,
independent of locale and library versions), rows in a fixed order, so the same inputs give
byte-identical CSV files. Only the manifest's ``created`` field (and the hashes of files that embed it)
changes between runs.

Atomicity: everything is written into a hidden temporary directory next to the destination and exchanged
with it when complete (:mod:`reports.destination`): the destination always holds either the earlier
report or the new one, and leftovers of an interrupted run are removed by the next run into it.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

from models.loading import spec_to_document
from models.result import CLOSED_FORM, METRIC_COLUMNS

from .destination import Destination

#: The columns of each CSV file (public contract).
COLUMNS = {
    "metrics.csv": list(METRIC_COLUMNS),
    "fi_curve.csv": ["backend", "dt_s", "current_A", "rate_hz", "analytic_rate_hz"],
    "traces.csv": ["stimulus", "backend", "t_s", "v_V"],
    "spikes.csv": ["stimulus", "backend", "spike_time_s"],
    "convergence.csv": ["backend", "dt_s", "isi_error_s", "isi_bound_s", "trace_error_V", "trace_bound_V"],
}

LIBRARIES = ("numpy", "scipy", "pandas", "matplotlib", "Brian2", "nengo", "nest-simulator", "snntorch",
             "torch", "rockpool", "elephant", "neo", "Pint", "Jinja2", "numba")


def fmt(value) -> str:
    """One cell: floats by ``repr`` (exact round trip), everything else by ``str``."""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def csv_text(columns, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([fmt(x) for x in row])
    return buffer.getvalue()


def labelled_results(outcome):
    """(stimulus label, backend, one-neuron Result) for every stimulus run, the closed form first, in
    variant and stimulus order: the fixed row order of traces.csv and spikes.csv."""
    for variant in outcome.variants:
        if not getattr(variant, "stimuli", True):   # a variant run for the f-I curve and convergence only
            continue
        for stim in outcome.comparison.stimuli:
            label = _label(stim.name, variant.label)
            yield label, CLOSED_FORM, outcome.exact.get((variant.label, stim.name))
            for name in variant.backends:
                run = outcome.runs.get((variant.label, stim.name, name))
                if run is not None:
                    yield label, name, run.result


def trace_text(outcome) -> str:
    """traces.csv: every recorded trace, a row per sample. The same cells as :func:`csv_text` would
    write (``repr`` of each float), built a trace at a time: traces are most of a report's bytes."""
    lines = [",".join(COLUMNS["traces.csv"])]
    for label, name, result in labelled_results(outcome):
        if result is not None and result.v is not None:
            prefix = csv_text([label, name], []).rstrip("\n")
            lines.extend(f"{prefix},{t!r},{v!r}" for t, v in zip(result.t.tolist(), result.v[:, 0].tolist()))
    return "\n".join(lines) + "\n"


def spike_rows(outcome):
    """Rows of spikes.csv: every spike of every stimulus run."""
    for label, name, result in labelled_results(outcome):
        if result is not None:
            for t in result.spike_trains()[0]:
                yield label, name, t


def _label(stimulus: str, variant: str) -> str:
    return f"{stimulus} [{variant}]" if variant else stimulus


def tables(outcome) -> dict[str, str]:
    """Every CSV file's text."""
    return {
        "metrics.csv": csv_text(COLUMNS["metrics.csv"], (r.cells() for r in outcome.metric_rows)),
        "fi_curve.csv": csv_text(COLUMNS["fi_curve.csv"], outcome.fi_rows),
        "traces.csv": trace_text(outcome),
        "spikes.csv": csv_text(COLUMNS["spikes.csv"], spike_rows(outcome)),
        "convergence.csv": csv_text(COLUMNS["convergence.csv"], outcome.convergence_rows),
    }


def versions() -> dict[str, str]:
    """The versions of Python, the libraries and the suite (package metadata, read once per process)."""
    return dict(_versions())


@functools.cache
def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    from models import __version__
    out["lif-crosscheck"] = __version__
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


PROJECT = Path(__file__).resolve().parent.parent


def shown_path(path, report_dir=None) -> str:
    """A path as a report states it, never as an absolute path of the machine: relative to the project
    when it lies inside it (``models/presets/textbook.toml``), else relative to the report's directory
    ``report_dir`` (``../cell.toml``), else its file name alone. The output is written into a staging
    directory beside its final place, so a path relative to that directory is relative to the report."""
    if not path:
        return ""
    path = Path(os.path.abspath(path))
    try:
        return path.relative_to(PROJECT).as_posix()
    except ValueError:
        pass
    if report_dir is not None:
        return Path(os.path.relpath(path, os.path.abspath(report_dir))).as_posix()
    return path.name


def manifest(outcome, files: dict[str, bytes], report_dir=None) -> dict:
    """The manifest: everything needed to reproduce and cite the report, and the sha256 of every file.
    ``source`` is the input file relative to the project or to ``report_dir`` (:func:`shown_path`)."""
    c = outcome.comparison
    return {
        "suite": "lif-crosscheck",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": shown_path(c.source, report_dir),
        "specification": {**c.spec.to_si_dict(), "units": "SI (s, V, Ohm, F, S, A)"},
        "specification_toml": spec_to_document(c.spec),
        "variants": [{"label": v.label or "as specified", "backends": list(v.backends), "note": v.note,
                      "specification": v.spec.to_si_dict()} for v in outcome.variants],
        "simulation": {"dt_s": c.dt, "duration_s": c.duration, "n_steps": c.n_steps, "method": c.method,
                       "backends": list(c.backends), "timeout_s": c.timeout,
                       "options": {name: dict(pairs) for name, pairs in sorted(getattr(c, "options", {}).items())},
                       "named_configurations": dict(sorted(getattr(c, "aliases", {}).items()))},
        "stimuli": [s.to_table() for s in c.stimuli],
        "seeds": {s.name: s.seed for s in c.stimuli if hasattr(s, "seed")},
        "fi_curve": {"I_min_A": c.fi.I_min, "I_max_A": c.fi.I_max, "num": c.fi.num,
                     "duration_s": c.fi.duration, "dt_s": c.fi.dt},
        "convergence": {"dt_s": list(c.convergence.dts), "current_A": c.convergence.current,
                        "duration_s": c.convergence.duration},
        "tolerances": {"overrides": c.tolerances,
                       "formulas": {k: {"unit": t.unit, "formula": t.formula, "derivation": t.derivation}
                                    for k, t in outcome.tolerance_table.items()}},
        "backends": outcome.metadata,
        "failures": outcome.failures,
        "not_representable": outcome.not_representable,
        "verdict": {"exit_status": outcome.exit_status(), "all_verdicts_pass": outcome.verdicts_pass()},
        "versions": versions(),
        "platform": {"system": platform.platform(), "machine": platform.machine(), "cpu": cpu_model(),
                     "cores": os.cpu_count()},
        "git_commit": git_commit(),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        **provenance(c, report_dir),
    }


def provenance(c, report_dir=None) -> dict:
    """``{"provenance": ...}`` for a cell read from an exchange file (its file shown as ``source`` is),
    nothing for a cell written in TOML, whose manifest stays as it was."""
    p = getattr(c, "provenance", None)
    if p is None:
        return {}
    return {"provenance": {**p.to_dict(), "file": shown_path(p.file, report_dir)}}


def prepare_destination(out, force: bool, inputs=()) -> None:
    """Refuse an output place the suite must not write (see :mod:`reports.destination`); writes nothing."""
    Destination(out, force, inputs).check()


@contextmanager
def atomic_directory(out, force: bool, inputs=()):
    """Yield a temporary directory; on success it replaces ``out`` in one exchange, else it vanishes.
    The output place is checked, locked and cleaned of leftovers first (:mod:`reports.destination`)."""
    with Destination(out, force, inputs) as destination, destination.staging() as tmp:
        yield tmp


def data_files(outcome) -> dict[str, bytes]:
    """The CSV files' bytes (reproducible to the byte)."""
    return {name: text.encode("utf-8") for name, text in tables(outcome).items()}


def report_digest(outcome, files: dict[str, bytes], report_dir=None) -> str:
    """sha256 of the manifest's reproducible part: everything but the creation time and the HTML's own
    hash (the HTML shows this digest, so it cannot be hashed into it). Identical on every re-run of the
    same inputs on the same installation; cite it with the report."""
    doc = manifest(outcome, files, report_dir)
    doc.pop("created")
    doc["files"].pop("report.html", None)
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=_json)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def write_all(outcome, directory: Path, html: bytes | None, extra: dict[str, bytes] | None = None,
              digest: str | None = None, files: dict[str, bytes] | None = None) -> dict:
    """Write every file into ``directory``; the manifest hashes all the others. Returns the manifest.
    ``files``: the outcome's :func:`data_files` when the caller has them already (they are most of a
    report's bytes)."""
    files = dict(files) if files is not None else data_files(outcome)
    if html is not None:
        files["report.html"] = html
    files.update(extra or {})
    for name, data in files.items():
        (directory / name).write_bytes(data)
    doc = manifest(outcome, files, directory)
    doc["report_digest"] = digest or report_digest(outcome, {k: v for k, v in files.items()
                                                             if k != "report.html"}, directory)
    (directory / "manifest.json").write_text(json.dumps(doc, indent=2, sort_keys=True, default=_json) + "\n",
                                             encoding="utf-8")
    return doc


def _json(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
