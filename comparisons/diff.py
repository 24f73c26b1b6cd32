"""What changed between two reports: verdicts, metric values, spike steps, f-I points and environment.

``python -m comparisons diff OLD NEW [--out DIR]`` and :func:`diff_reports` read two report directories
(or their ``manifest.json``), refuse either one unless every file its manifest lists is present with the
sha256 the manifest states (a tampered or truncated report is refused, never compared), and return the
changes as typed :class:`Change` rows, ordered by kind and then as the reports order their rows.

Kinds of change (the ``kind`` column of ``changes.csv``):

``verdict``
    A verdict row (key ``stimulus, backend, reference, metric``) whose ``passed`` flipped, either way;
    ``old``/``new`` are ``True``/``False``, ``delta`` is the value's change, ``tolerance`` the row's.
``metric``
    A metric value that moved by more than rounding. The rule, by row:

    * a verdict row moved when ``|new - old| > tolerance`` (the new report's tolerance of the row, the old
      one's when the new row has none);
    * an informational row whose value is exact (a whole number in both reports: a spike count, spikes
      matched; or not finite) moved when its floats differ after the ``repr`` round trip the CSV files
      are written with (NaN equals NaN);
    * any other informational row (a measured value without a tolerance of its own: a trace RMSE, a
      spike distance) borrows the smallest positive tolerance of the verdict rows with its stimulus,
      backend, reference and unit (the bound the suite puts on that quantity there); with none, it moved
      when ``|new - old| > 1e-9 max(|old|, |new|)`` (floating-point rounding).

    The ``tolerance`` column states the bound used (empty: exact). A value that moved by no more than its
    bound is rounding: counted (:attr:`Diff.within_tolerance`), not listed.
``row``
    A metric row present in one report only (``old`` or ``new`` empty).
``spikes``
    Per stimulus and backend (the closed form included), spikes compared by index on the step grid
    ``round(t / dt)`` with ``dt`` from the manifest: metric ``moved_spikes`` (``old``/``new`` the spike
    counts, ``delta`` the spikes whose step changed plus those present in one train only) and metric
    ``first_moved_spike`` (``old``/``new`` its times in s, ``delta`` the steps it moved; empty when it
    exists in one train only).
``fi``
    An f-I point (backend, ``dt``, current) whose rate differs after the ``repr`` round trip (a rate is a
    spike count over a duration: exact), or that exists in one report only; ``metric`` is
    ``rate_hz at I=<current_A> A, dt=<dt_s> s``.
``setup``
    A manifest field that defines what was compared: the specification, simulation settings (method,
    dt, duration, backends, options), stimuli, seeds, f-I and convergence settings, tolerances (overrides
    and formulas), each backend's stated numerical rules, failures, unrepresentable backends, the overall
    verdict.
``environment``
    Where and with what it ran: library versions, each backend's version and notes, platform, CPU, the
    git commit and the input file's path.

:attr:`Diff.status` (the command line's exit status): 0 when nothing but ``environment`` rows changed
(the same results on another installation are not drift), 1 when anything else changed. Bad input
raises :class:`~models.errors.UserInputError` (exit status 2). ``created``, ``files`` and
``report_digest`` are never compared: they differ between any two runs or follow from the rest.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from models.errors import UserInputError
from models.result import METRIC_COLUMNS

#: The columns of changes.csv (public contract), in order.
COLUMNS = ["kind", "stimulus", "backend", "metric", "old", "new", "delta", "tolerance"]

#: Kinds in the order the diff lists them; every kind but ``environment`` is drift.
KINDS = ("verdict", "metric", "row", "spikes", "fi", "setup", "environment")

#: The files a report must hold (and its manifest list) to be compared.
NEEDED = ("metrics.csv", "spikes.csv", "fi_curve.csv")

#: The rounding bound of a measured informational value with no tolerance to borrow (relative).
RELATIVE_ROUNDING = 1e-9

#: Manifest fields never compared.
IGNORED = ("created", "files", "report_digest", "specification_toml", "suite")

#: Manifest paths (prefixes) that are environment, not setup.
ENVIRONMENT = ("versions", "platform", "git_commit", "source")
BACKEND_ENVIRONMENT = ("version", "notes")


@dataclass(frozen=True)
class Change:
    """One row of changes.csv; ``reference`` keys metric rows (shown in ``metric`` as ``m vs ref``)."""

    kind: str
    stimulus: str
    backend: str
    metric: str
    old: object = ""
    new: object = ""
    delta: object = ""
    tolerance: object = ""
    reference: str = ""

    @property
    def label(self) -> str:
        return f"{self.metric} vs {self.reference}" if self.reference else self.metric

    def cells(self) -> list:
        return [self.kind, self.stimulus, self.backend, self.label, self.old, self.new, self.delta,
                self.tolerance]


@dataclass
class Report:
    """A verified report: its directory, manifest, metric rows, spikes and f-I points."""

    path: Path
    manifest: dict
    metrics: list[dict]
    spikes: dict          # (stimulus, backend) -> [times]
    fi: dict              # (backend, dt_s, current_A) -> rate_hz (strings as written)
    order: list = field(default_factory=list)

    @property
    def dt(self) -> float:
        return float(self.manifest["simulation"]["dt_s"])

    @property
    def name(self) -> str:
        return str(self.manifest.get("specification", {}).get("name", self.path.name))


@dataclass
class Diff:
    """Every change from ``old`` to ``new``."""

    old: Report
    new: Report
    changes: list[Change]
    within_tolerance: int = 0     # metric rows that moved by no more than their tolerance
    compared: dict = field(default_factory=dict)   # what was compared: counts per kind

    @property
    def drift(self) -> list[Change]:
        return [c for c in self.changes if c.kind != "environment"]

    @property
    def status(self) -> int:
        return 1 if self.drift else 0

    def counts(self) -> dict[str, int]:
        return {kind: sum(c.kind == kind for c in self.changes) for kind in KINDS}

    def csv_text(self) -> str:
        from reports.writers import csv_text
        return csv_text(COLUMNS, (c.cells() for c in self.changes))


# ----------------------------------------------------------------------------------------- reading

def _bad(path, expected: str, given) -> UserInputError:
    return UserInputError(str(path), expected, given)


def load_report(given) -> Report:
    """A report directory (or its manifest.json), verified against its manifest; refused (UserInputError,
    naming the file and what is wrong) when it is not a report of this suite, is a diff, misses a file, or
    a file's sha256 differs from the manifest's."""
    path = Path(given)
    if path.is_file() and path.name == "manifest.json":
        path = path.parent
    manifest_path = path / "manifest.json"
    if not path.is_dir():
        raise _bad(given, "expected a report directory or its manifest.json", "no such directory" if not
                   path.exists() else "a file")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _bad(manifest_path, "expected the manifest.json of a report of this suite", "no such file") from None
    except (OSError, ValueError) as exc:
        raise _bad(manifest_path, "expected a JSON manifest of this suite", type(exc).__name__) from None
    if not isinstance(manifest, dict) or manifest.get("suite") != "lif-crosscheck":
        raise _bad(f"{manifest_path}: suite", 'expected "lif-crosscheck"',
                   manifest.get("suite") if isinstance(manifest, dict) else type(manifest).__name__)
    files = manifest.get("files")
    if manifest.get("kind") == "diff":
        raise _bad(manifest_path, "expected a report, not the output of `diff`", "a diff")
    if not isinstance(files, dict):
        raise _bad(f"{manifest_path}: files", "expected a table of file names and sha256", files)
    for name in NEEDED:
        if name not in files:
            raise _bad(f"{manifest_path}: files", f"expected {name} among the files", ", ".join(sorted(files)))
    if not isinstance(manifest.get("simulation"), dict) or "dt_s" not in manifest["simulation"]:
        raise _bad(f"{manifest_path}: simulation.dt_s", "expected the time step", None)
    data = {}
    for name, digest in sorted(files.items()):
        file = path / name
        if "/" in name or name.startswith("."):
            raise _bad(f"{manifest_path}: files", "expected plain file names", name)
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise _bad(file, "expected the file the manifest lists", exc.strerror) from None
        actual = hashlib.sha256(raw).hexdigest()
        if actual != digest:
            raise _bad(file, f"sha256 must be {digest} as manifest.json states (tampered or truncated: "
                             "refused, not compared)", actual)
        data[name] = raw
    try:
        metrics = _rows(data["metrics.csv"], list(METRIC_COLUMNS))
        spikes: dict = {}
        for r in _rows(data["spikes.csv"], ["stimulus", "backend", "spike_time_s"]):
            spikes.setdefault((r["stimulus"], r["backend"]), []).append(float(r["spike_time_s"]))
        fi = {(r["backend"], r["dt_s"], r["current_A"]): r["rate_hz"]
              for r in _rows(data["fi_curve.csv"], ["backend", "dt_s", "current_A", "rate_hz",
                                                    "analytic_rate_hz"])}
    except (ValueError, KeyError) as exc:
        raise _bad(path, "expected the CSV files of a report of this suite", str(exc)) from None
    return Report(path, manifest, metrics, spikes, fi)


def _rows(raw: bytes, columns: list[str]) -> list[dict]:
    reader = csv.reader(raw.decode("utf-8").splitlines())
    header = next(reader, None)
    if header != columns:
        raise ValueError(f"header {header}")
    return [dict(zip(columns, row)) for row in reader]


# ----------------------------------------------------------------------------------------- comparing

def diff_reports(old, new) -> Diff:
    """Every change from report ``old`` to report ``new`` (paths or :class:`Report` objects)."""
    old = old if isinstance(old, Report) else load_report(old)
    new = new if isinstance(new, Report) else load_report(new)
    result = Diff(old, new, [])
    result.within_tolerance = _metrics(old, new, result.changes)
    _spikes(old, new, result.changes)
    _fi(old, new, result.changes)
    _manifest(old.manifest, new.manifest, result.changes)
    order = {kind: i for i, kind in enumerate(KINDS)}
    result.changes.sort(key=lambda c: order[c.kind])  # stable: each kind in its reports' row order
    result.compared = {"metric rows": len(new.metrics), "spike trains": len(new.spikes),
                       "f-I points": len(new.fi)}
    return result


def _float(text: str) -> float | None:
    return None if text == "" else float(text)


def _cell(text: str):
    return "" if text == "" else float(text)


def same_float(a: float, b: float) -> bool:
    """Equal after the repr round trip (NaN equals NaN)."""
    return repr(float(a)) == repr(float(b))


def _metrics(old: Report, new: Report, out: list) -> int:
    key = lambda r: (r["stimulus"], r["backend"], r["reference"], r["metric"])  # noqa: E731
    before = {key(r): r for r in old.metrics}
    after = {key(r): r for r in new.metrics}
    within = 0
    borrowed: dict = {}
    for r in new.metrics:
        t = _float(r["tolerance"])
        if t is not None and t > 0:
            where = (r["stimulus"], r["backend"], r["reference"], r["unit"])
            borrowed[where] = min(t, borrowed.get(where, math.inf))
    for k, r in after.items():
        stim, backend, ref, metric = k
        if k not in before:
            out.append(Change("row", stim, backend, metric, "", float(r["value"]), "", _cell(r["tolerance"]),
                              ref))
            continue
        o = before[k]
        a, b = float(o["value"]), float(r["value"])
        tol = _float(r["tolerance"])
        tol = _float(o["tolerance"]) if tol is None else tol
        if tol is None and not all(math.isfinite(x) and x == int(x) for x in (a, b)):   # measured, not exact
            tol = borrowed.get((stim, backend, ref, r["unit"]))
            if tol is None and math.isfinite(a) and math.isfinite(b):
                tol = RELATIVE_ROUNDING * max(abs(a), abs(b))
        delta = b - a if math.isfinite(a) and math.isfinite(b) else ("" if same_float(a, b) else math.nan)
        if o["passed"] != r["passed"]:
            out.append(Change("verdict", stim, backend, metric, o["passed"], r["passed"], delta,
                              "" if tol is None else tol, ref))
        if same_float(a, b):
            continue
        if tol is not None and isinstance(delta, float) and math.isfinite(delta) and abs(delta) <= tol:
            within += 1
            continue
        out.append(Change("metric", stim, backend, metric, a, b, delta, "" if tol is None else tol, ref))
    for k, o in before.items():
        if k not in after:
            out.append(Change("row", k[0], k[1], k[3], float(o["value"]), "", "", _cell(o["tolerance"]),
                              k[2]))
    return within


def spike_change(old: list[float], new: list[float], dt_old: float, dt_new: float):
    """(moved, first index, old time, new time, steps) of two spike trains on their step grids, or None
    when every spike is on the same step. ``moved``: spikes whose step differs (by index) plus those in
    one train only; ``steps`` is None when the first moved spike is in one train only."""
    a = [round(t / dt_old) for t in old]
    b = [round(t / dt_new) for t in new]
    common = min(len(a), len(b))
    differ = [i for i in range(common) if a[i] != b[i]]
    moved = len(differ) + abs(len(a) - len(b))
    if moved == 0:
        return None
    first = differ[0] if differ else common
    t_old = old[first] if first < len(old) else None
    t_new = new[first] if first < len(new) else None
    steps = b[first] - a[first] if t_old is not None and t_new is not None else None
    return moved, first, t_old, t_new, steps


def _spikes(old: Report, new: Report, out: list) -> None:
    keys = list(new.spikes) + [k for k in old.spikes if k not in new.spikes]
    for k in keys:
        a, b = old.spikes.get(k, []), new.spikes.get(k, [])
        found = spike_change(a, b, old.dt, new.dt)
        if found is None:
            continue
        moved, first, t_old, t_new, steps = found
        out.append(Change("spikes", k[0], k[1], "moved_spikes", len(a), len(b), moved, 0))
        out.append(Change("spikes", k[0], k[1], "first_moved_spike", "" if t_old is None else t_old,
                          "" if t_new is None else t_new, "" if steps is None else steps, 0))


def _fi(old: Report, new: Report, out: list) -> None:
    keys = list(new.fi) + [k for k in old.fi if k not in new.fi]
    for k in keys:
        a, b = old.fi.get(k), new.fi.get(k)
        if a is not None and b is not None and same_float(float(a), float(b)):
            continue
        backend, dt, current = k
        fa = "" if a is None else float(a)
        fb = "" if b is None else float(b)
        delta = fb - fa if a is not None and b is not None else ""
        out.append(Change("fi", "fi_curve", backend, f"rate_hz at I={current} A, dt={dt} s", fa, fb, delta, ""))


def flatten(value, prefix: str = "") -> dict[str, object]:
    """A JSON document as ``{dotted.path: leaf}`` (lists by index)."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {prefix: value}
    out = {}
    for k, v in items:
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    if not out and prefix:
        out[prefix] = value   # an empty table or list is a leaf
    return out


def _kind(path: str) -> tuple[str, str]:
    """(kind, backend) of a manifest path."""
    parts = path.split(".")
    if parts[0] in ENVIRONMENT:
        return "environment", ""
    if parts[0] == "backends" and len(parts) > 1:
        return ("environment" if len(parts) > 2 and parts[2] in BACKEND_ENVIRONMENT else "setup"), parts[1]
    if parts[0] in ("failures", "not_representable") and len(parts) > 1:
        return "setup", parts[1]
    return "setup", ""


def _manifest(old: dict, new: dict, out: list) -> None:
    a = flatten({k: v for k, v in old.items() if k not in IGNORED})
    b = flatten({k: v for k, v in new.items() if k not in IGNORED})
    def filled_elsewhere(path, other):  # an empty table on one side, its entries on the other
        return any(p.startswith(path + ".") for p in other)
    for path in list(b) + [p for p in a if p not in b]:
        if (path in a and filled_elsewhere(path, b)) or (path in b and filled_elsewhere(path, a)):
            continue
        va, vb = a.get(path, ""), b.get(path, "")
        if path in a and path in b and _same_leaf(va, vb):
            continue
        kind, backend = _kind(path)
        delta = vb - va if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (va, vb)) \
            and path in a and path in b else ""
        out.append(Change(kind, "", backend, path, _leaf(va), _leaf(vb), delta, ""))


def _same_leaf(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return same_float(a, b)
        except (TypeError, ValueError):
            return False
    return a == b


def _leaf(value):
    return json.dumps(value) if isinstance(value, (dict, list, bool)) or value is None else value


# ----------------------------------------------------------------------------------------- writing

def page_data(result: Diff, shown=str) -> dict:
    """Plain data for :func:`reports.diff_html.render_diff` (reports never import comparisons); ``shown``
    states a report's path (the written page: relative to the project or to the diff's directory)."""
    def side(r: Report) -> dict:
        m = r.manifest
        return {"path": shown(r.path), "name": r.name, "created": m.get("created", ""),
                "digest": m.get("report_digest", ""), "exit_status": m.get("verdict", {}).get("exit_status"),
                "git_commit": m.get("git_commit") or ""}
    return {"old": side(result.old), "new": side(result.new), "status": result.status,
            "counts": result.counts(), "within_tolerance": result.within_tolerance,
            "compared": result.compared, "kinds": list(KINDS), "columns": COLUMNS,
            "rows": [dict(zip(COLUMNS, c.cells())) for c in result.changes]}


def write_diff(result: Diff, out, force: bool = False) -> dict:
    """Write diff.html, changes.csv and a manifest (``"kind": "diff"``) into the directory ``out`` by the
    output place's rules (:mod:`reports.destination`); returns the manifest."""
    from reports.destination import Destination
    from reports.diff_html import render_diff
    from reports.writers import shown_path
    inputs = [result.old.path / "manifest.json", result.new.path / "manifest.json"]
    with Destination(Path(out), force, inputs) as place:
        with place.staging() as tmp:
            shown = lambda path: shown_path(path, tmp)  # noqa: E731  (tmp lies beside the output)
            files = {"changes.csv": result.csv_text().encode("utf-8"),
                     "diff.html": render_diff(page_data(result, shown))}
            for name, data in files.items():
                (tmp / name).write_bytes(data)
            doc = {"suite": "lif-crosscheck", "kind": "diff", "status": result.status,
                   "old": {"path": shown(result.old.path), "report_digest": result.old.manifest.get("report_digest")},
                   "new": {"path": shown(result.new.path), "report_digest": result.new.manifest.get("report_digest")},
                   "counts": result.counts(), "within_tolerance": result.within_tolerance,
                   "files": {n: hashlib.sha256(d).hexdigest() for n, d in sorted(files.items())}}
            (tmp / "manifest.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return doc


def summary_lines(result: Diff, limit: int = 20) -> list[str]:
    """A few lines for stderr: the counts and the first changes."""
    counts = ", ".join(f"{n} {k}" for k, n in result.counts().items() if n) or "nothing"
    lines = [f"diff {result.old.path} -> {result.new.path}: {counts} changed"
             f" ({result.within_tolerance} metric rows moved within tolerance)"]
    for c in result.changes[:limit]:
        where = " ".join(x for x in (c.stimulus, c.backend) if x)
        lines.append(f"  {c.kind:11s} {where} {c.label}: {c.old!s} -> {c.new!s}"
                     + (f" (delta {c.delta}" + (f", tolerance {c.tolerance})" if c.tolerance != "" else ")")
                        if c.delta != "" else ""))
    if len(result.changes) > limit:
        lines.append(f"  ... {len(result.changes) - limit} more")
    return lines
