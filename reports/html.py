"""The HTML report: one self-contained, reproducible page per comparison.

:func:`render_report` renders ``report.html`` from the harness's outcome and hands it to the writer,
which hashes it into ``manifest.json``. The page holds everything inline (CSS in the template, figures
as SVG data URIs), needs no script and no network, and escapes every user string (Jinja2 autoescaping is
on for every template). It contains nothing that changes between runs of the same inputs (no date, no
run time), so re-running a comparison gives the same bytes; the page shows the report digest of
:func:`reports.writers.report_digest`.

Numbers are shown in the units people write (ms, mV, MOhm, pF, nS, pA, Hz); the CSV files and the
manifest keep exact SI floats.
"""

from __future__ import annotations

import ast
import math
import os
import re
import shlex
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from pathlib import Path

import jinja2
import numpy as np

from models.result import CLOSED_FORM
from reference import closed_forms as cf
from reference.conventions import CHOICES, TITLES, explain

from . import plots
from . import writers

TEMPLATES = Path(__file__).resolve().parent / "templates"
ROOT = Path(__file__).resolve().parent.parent
CITATION = ROOT / "CITATION.cff"

#: SI unit of a metric or quantity -> (factor, unit shown).
HUMAN = {"V": (1e3, "mV"), "s": (1e3, "ms"), "A": (1e12, "pA"), "Hz": (1.0, "Hz"), "1": (1.0, ""),
         "dt": (1.0, "steps"), "ohm": (1e-6, "MOhm"), "Ohm": (1e-6, "MOhm"), "F": (1e12, "pF"),
         "S": (1e9, "nS"), "C": (1e12, "pC"), "A * s ** 0.5": (1e12, "pA s^1/2")}

#: Specification rows: field, symbol, SI unit, meaning; ``derived`` ones follow from the others.
SPEC_ROWS = (
    ("tau_m", "τ_m", "s", "membrane time constant", False),
    ("R", "R", "ohm", "membrane resistance", False),
    ("C", "C", "F", "capacitance τ_m / R", True),
    ("g_L", "g_L", "S", "leak conductance 1 / R", True),
    ("E_L", "E_L", "V", "leak reversal (rest)", False),
    ("V_th", "V_th", "V", "threshold", False),
    ("V_reset", "V_reset", "V", "reset", False),
    ("V_init", "V_init", "V", "initial potential", False),
    ("t_ref", "t_ref", "s", "absolute refractory period", False),
    ("rheobase", "I_rh", "A", "rheobase (V_th − E_L) / R", True),
)

#: Metadata fields shown per backend, in order, with their row titles.
METADATA_ROWS = (
    ("version", "version"), ("method", "numerical method"), ("dt", "dt"), ("threshold", "threshold rule"),
    ("spike_stamp", "spike time stamp"), ("sampling", "sampling of V"), ("reset", "reset"),
    ("refractory", "refractory rule"), ("initial_state", "initial state"), ("input_timing", "input timing"),
    ("notes", "notes"),
)

#: Metadata fields that are not numerical rules (never flagged as a difference between backends).
NOT_RULES = ("version", "notes")

FAMILIES = ("contract", "trace", "spikes", "rate", "f-I", "convergence")
EXIT_MEANING = {0: "every verdict passes", 1: "some verdict failed", 3: "a backend failed"}


# ----------------------------------------------------------------------------------------- entry point

def render_report(outcome, directory: Path, write_all) -> dict:
    """Write ``report.html`` and the data files into ``directory``; returns the manifest.

    Parameters
    ----------
    outcome : comparisons.harness.Outcome
        Everything the harness computed.
    directory : Path
        The (temporary) output directory.
    write_all : callable
        :func:`reports.writers.write_all`; it writes the CSV files, the HTML and the manifest.
    """
    files = writers.data_files(outcome)
    digest = writers.report_digest(outcome, files, report_dir=directory)
    html = render_html(outcome, digest, directory)
    return write_all(outcome, directory, html, digest=digest, files=files)


def environment() -> jinja2.Environment:
    """The Jinja2 environment of every report template: autoescaping on, undefined names are errors."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["human"] = human
    env.filters["cell"] = lambda v: "—" if v == "" or v is None else (repr(v) if isinstance(v, float) else str(v))
    return env


def render_html(outcome, digest: str, report_dir: Path | None = None) -> bytes:
    """The report page (UTF-8 bytes) for ``outcome``, showing ``digest``; paths are shown relative to the
    project, or to ``report_dir`` (see :func:`reports.writers.shown_path`)."""
    page = environment().get_template("report.html.j2").render(**context(outcome, digest, report_dir))
    return page.encode("utf-8")


# ----------------------------------------------------------------------------------------- formatting

def human(value, unit: str = "1", digits: int = 4) -> str:
    """A value in SI ``unit`` shown in the report's unit: ``human(-0.07, "V") == "-70 mV"``.

    ``""`` or ``None`` (no tolerance) shows as an em dash, NaN ("not applicable") as ``n/a``.
    """
    if value is None or value == "":
        return "—"
    value = float(value)
    if math.isnan(value):
        return "n/a"
    factor, shown = HUMAN.get(unit, (1.0, unit))
    number = ("∞" if value > 0 else "−∞") if math.isinf(value) else f"{value * factor:.{digits}g}"
    return f"{number} {shown}".strip()


def metric_family(metric: str) -> str:
    """The verdict family of a metric: contract (a backend against its own twin, and the closed form against
    the analytic solution), trace, spikes, rate, f-I or convergence."""
    if metric.startswith(("contract_", "closed_form_")):
        return "contract"
    if metric.startswith(("fi_", "rheobase")):
        return "f-I"
    if metric.startswith("convergence"):
        return "convergence"
    if metric.startswith("trace"):
        return "trace"
    if metric.startswith("rate"):
        return "rate"
    return "spikes"


def verdict_class(passed: str) -> str:
    """CSS class of a verdict string ("True", "False" or "" for informational rows)."""
    return {"True": "pass", "False": "fail"}.get(passed, "info")


# ----------------------------------------------------------------------------------------- context

def variant_tables(outcome) -> list[dict]:
    """The model-variant comparisons' tables (PSP, noise statistics, reset side by side) as rows of
    strings; every cell is escaped by the template."""
    out = []
    for name, frame in getattr(outcome, "variant_tables", {}).items():
        if frame is None or len(frame) == 0:
            continue
        cells = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
        out.append({"name": name, "columns": [str(c) for c in frame.columns], "rows": cells})
    return out


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


def context(outcome, digest: str, report_dir: Path | None = None) -> dict:
    """Everything the template shows, as plain values (strings, numbers, lists, dicts)."""
    c = outcome.comparison
    rows = [MetricRow.of(r.cells()) for r in outcome.metric_rows]
    figures = stimulus_figures(outcome, rows)
    attribution = attribution_sections(getattr(outcome, "attribution", None) or [])
    return {
        "variant_tables": variant_tables(outcome),
        "spec": c.spec,
        "source": writers.shown_path(c.source, report_dir),
        "reproduce": reproduce_command(c.source, report_dir, c.choices),
        "digest": digest,
        "exit_status": outcome.exit_status(),
        "exit_meaning": EXIT_MEANING.get(outcome.exit_status(), "unknown"),
        "totals": totals(rows),
        "families": FAMILIES,
        "summary": verdict_summary(rows, backend_order(outcome), substitutes(outcome)),
        "failing": sorted((r for r in rows if r.passed == "False"), key=lambda r: r.family != "contract"),
        "spec_rows": spec_rows(c.spec),
        "provenance": writers.provenance(c, report_dir).get("provenance"),
        "noise": noise_rows(c),
        "settings": settings_rows(c),
        "stimuli": [stimulus_row(s) for s in c.stimuli],
        "backend_status": backend_status(outcome),
        "variants": variant_rows(outcome),
        "metadata": metadata_table(outcome),
        "attribution": attribution,
        "attribution_overview": attribution_overview(attribution),
        "stimulus_figures": [f for f in figures if f["main"]],
        "substitute_figures": [f for f in figures if not f["main"]],
        "figures_first": FIGURES_FIRST,
        "figures_failing": FIGURES_FAILING,
        "sweep_backends": [n for n in outcome.variants[0].backends if n not in outcome.failures],
        "fi_figure": fi_figure(outcome),
        "fi_alt": fi_alt(rows),
        "convergence_figure": convergence_figure(outcome),
        "convergence_alt": convergence_alt(rows),
        "metric_groups": metric_groups(rows),
        "tolerances": tolerance_rows(outcome.tolerance_table, c.tolerances),
        "citation": citation(),
        "versions": writers.versions(),
    }


@dataclass(frozen=True)
class MetricRow:
    """One row of metrics.csv, with its values shown in human units."""

    stimulus: str
    backend: str
    reference: str
    metric: str
    value: float
    unit: str
    tolerance: float | str
    passed: str
    family: str
    shown: str
    shown_tolerance: str
    ratio: str

    @classmethod
    def of(cls, row) -> "MetricRow":
        stimulus, backend, reference, metric, value, unit, tolerance, passed = row
        return cls(str(stimulus), str(backend), str(reference), str(metric), float(value), str(unit),
                   tolerance, str(passed), metric_family(str(metric)), human(value, unit),
                   human(tolerance, unit), _ratio(float(value), tolerance))

    @property
    def css(self) -> str:
        return verdict_class(self.passed)


def _ratio(value: float, tolerance) -> str:
    """|value| / tolerance, the size of the error in units of its bound ("—" without a bound)."""
    if tolerance == "" or tolerance is None:
        return "—"
    tolerance = float(tolerance)
    if math.isnan(value):
        return "n/a"
    if tolerance == 0:
        return "0" if value == 0 else "∞"
    return f"{abs(value) / tolerance:.3g}"


def totals(rows: list[MetricRow]) -> dict:
    """Counts of passing, failing and informational rows."""
    passed = sum(r.passed == "True" for r in rows)
    failed = sum(r.passed == "False" for r in rows)
    return {"passed": passed, "failed": failed, "verdicts": passed + failed,
            "informational": len(rows) - passed - failed}


def backend_order(outcome) -> list[str]:
    """The comparison's backends in its order, then any other name the outcome mentions."""
    names = list(outcome.comparison.backends)
    for name in list(outcome.metadata) + [r.backend for r in outcome.metric_rows]:
        if name not in names:
            names.append(name)
    return names


def substitutes(outcome) -> dict[str, str]:
    """Backend -> label of the substitute specification it ran instead of the given one (``t_ref=0``)."""
    out = {}
    for name in outcome.not_representable:
        ran = [v.label for v in outcome.variants if name in v.backends and v.label]
        if ran:
            out[name] = ", ".join(ran)
    return out


def verdict_summary(rows: list[MetricRow], order: list[str], substituted: dict[str, str] | None = None) -> list[dict]:
    """Per backend and family: counts of passing and failing verdicts; the closed form (the ground truth,
    judged against the analytic solution) last, a backend that ran only a substitute marked with it."""
    substituted = substituted or {}
    order = [n for n in order if n != CLOSED_FORM] + [n for n in order if n == CLOSED_FORM]
    out = []
    for name in order:
        mine = [r for r in rows if r.backend == name and r.passed in ("True", "False")]
        cells = OrderedDict()
        for fam in FAMILIES:
            of = [r for r in mine if r.family == fam]
            failed = sum(r.passed == "False" for r in of)
            cells[fam] = {"passed": len(of) - failed, "failed": failed, "total": len(of),
                          "css": "none" if not of else ("fail" if failed else "pass")}
        failed = sum(r.passed == "False" for r in mine)
        tag = "ground truth" if name == CLOSED_FORM else (f"substitute [{substituted[name]}]"
                                                          if name in substituted else "")
        out.append({"backend": name, "cells": cells, "passed": len(mine) - failed, "failed": failed,
                    "css": "none" if not mine else ("fail" if failed else "pass"), "tag": tag})
    return out


#: Rows of the model variants' keys, shown when the specification gives them (field as in the file, symbol,
#: SI unit or ``None`` for a word or an integer, meaning).
VARIANT_SPEC_ROWS = (
    ("reset", "reset", None, "reset rule: to V_reset, or subtracting V_th − V_reset"),
    ("tau_syn", "τ_syn", "s", "synaptic current time constant"),
    ("sigma", "σ", "A * s ** 0.5", "white-noise current density (free-membrane sd R σ / √(2 τ_m))"),
    ("noise_seed", "noise seed", None, "seed of the noise"),
    ("spike_input.weight", "w", "A", "jump of the synaptic current per input spike"),
    ("spike_input.times", "t_in", "s", "input spike times (each acts at the grid point floor(t/dt + 1/2) dt; "
                                       "repeated times add)"),
    ("spike_input.rate", "ν_in", "Hz", "Poisson input rate"),
    ("spike_input.seed", "input seed", None, "seed of the Poisson input"),
)


def spec_rows(spec) -> list[dict]:
    """Every key of the specification, in human units: the plain cell's rows, then each model-variant key
    the specification gives (:data:`VARIANT_SPEC_ROWS`)."""
    si = spec.to_si_dict()
    rows = [{"field": key, "symbol": symbol, "value": human(si[key], unit), "meaning": meaning,
             "derived": derived} for key, symbol, unit, meaning, derived in SPEC_ROWS if key in si]
    if si.get("leak") is False:   # no tau_m, R, E_L: C is given, g_L and the rheobase are 0
        rows.insert(0, {"field": "leak", "symbol": "", "value": "false", "derived": False,
                        "meaning": "integrate-and-fire without leak, C dV/dt = I (C given; g_L and rheobase 0)"})
    flat = {key: value for key, value in si.items() if key != "spike_input"}
    flat.update({f"spike_input.{key}": value for key, value in (si.get("spike_input") or {}).items()})
    for key, symbol, unit, meaning in VARIANT_SPEC_ROWS:
        if key not in flat:
            continue
        value = flat[key]
        if unit is None:
            text = str(value)
        elif isinstance(value, (list, tuple)):
            text = ", ".join(human(x, unit, 9) for x in value)   # input times exactly as given
        else:
            text = human(value, unit)
        rows.append({"field": key, "symbol": symbol, "value": text, "meaning": meaning, "derived": False})
    return rows


def settings_rows(c) -> list[tuple[str, str]]:
    fi, conv = c.fi, c.convergence
    return [
        ("time step dt", human(c.dt, "s")),
        ("duration", human(c.duration, "s") + f" ({c.n_steps} steps)"),
        ("integrator asked of every backend", c.method),
        ("backends", ", ".join(c.backends)),
        ("time limit per backend run", duration_text(c.timeout)),
        ("f-I sweep", f"{fi.num} currents from {human(fi.I_min, 'A')} to {human(fi.I_max, 'A')}, "
                      f"{human(fi.duration, 's')} at dt {human(fi.dt, 's')}"),
        ("convergence sweep", f"dt = {', '.join(human(d, 's') for d in conv.dts)} at "
                              f"{human(conv.current, 'A')} for {human(conv.duration, 's')}"),
    ]


def reproduce_command(source: str, report_dir: Path | None = None, choices=()) -> str:
    """The command that makes this report again: a shipped preset by its name, a file inside the project
    from the project's directory, any other file from the report's directory; with the mapping choices
    the exchange file was read with (``choices``: (key, value) pairs), one ``--map`` each."""
    from models.files import PRESET_DIR
    from models.formats import READERS
    maps = "".join(f" --map {shlex.quote(f'{key}={value}')}" for key, value in choices)
    if source and Path(source).resolve().parent == PRESET_DIR and Path(source).suffix in (".toml", *READERS):
        return f"python -m comparisons run {Path(source).stem}{maps}"
    shown = writers.shown_path(source, report_dir)
    inside = bool(source) and Path(os.path.abspath(source)).is_relative_to(writers.PROJECT)
    where = "in the project's directory" if inside else "in this report's directory"
    return f"python -m comparisons run {shown}{maps}" + ("" if not shown else f"  ({where})")


def duration_text(seconds: float) -> str:
    """A wall-clock duration as people say it: ``600 s (10 min)``, ``45 s``, ``250 ms``."""
    if not math.isfinite(seconds):
        return human(seconds, "s")
    if seconds < 1:
        return human(seconds, "s")
    text = f"{seconds:.4g} s"
    if seconds >= 120:
        text += f" ({seconds / 60:.3g} min)" if seconds < 7200 else f" ({seconds / 3600:.3g} h)"
    return text


def noise_rows(c) -> list[tuple[str, str]]:
    """What a noise density means for this run: the input's standard deviation per sample,
    ``sigma / sqrt(dt)``, and the free membrane's (no threshold) stationary standard deviation of V,
    ``R sigma / sqrt(2 tau_m)``; empty without noise."""
    spec = c.spec
    sigma = getattr(spec, "sigma", 0.0) or 0.0
    if not sigma:
        return []
    return [
        ("noise density σ", human(sigma, "A * s ** 0.5")),
        (f"standard deviation of the input per sample (dt {human(c.dt, 's')})", human(sigma / math.sqrt(c.dt), "A")),
        ("free-membrane standard deviation of V", human(spec.R * sigma / math.sqrt(2 * spec.tau_m), "V")),
    ]


def stimulus_row(stim) -> dict:
    """A stimulus's name, kind and parameters in human units (a sum: each part's, in brackets)."""
    if stim.KIND == "sum":
        params = [f"{p.name} ({p.KIND}: {', '.join(stimulus_row(p)['params'])})" for p in stim.parts]
    else:
        params = [f"{key} = {value if kind is None else human(value, kind.si_unit)}"
                  for key, value, kind in stim.parameters()]
    return {"name": stim.name, "kind": type(stim).KIND, "params": params,
            "exact": bool(stim.piecewise_constant)}


def backend_status(outcome) -> list[dict]:
    """Every requested backend: ran, failed (with the message) or not representable (with the reason)."""
    out = []
    for name in backend_order(outcome):
        if name in outcome.failures:
            out.append({"backend": name, "css": "fail", "status": "failed", "text": outcome.failures[name]})
        elif name in outcome.not_representable:
            ran = [v.label for v in outcome.variants if name in v.backends and v.label]
            text = "not representable: " + outcome.not_representable[name]
            if ran:
                text += f" — ran the substitute [{', '.join(ran)}] instead"
            out.append({"backend": name, "css": "warn", "text": text,
                        "status": f"substitute [{', '.join(ran)}]" if ran else "not representable"})
        elif name == CLOSED_FORM:
            out.append({"backend": name, "css": "pass", "status": "ground truth",
                        "text": "the exact solution of the sampled input, checked against the analytic "
                                "solution segment by segment"})
        else:
            out.append({"backend": name, "css": "pass", "status": "ran", "text": ""})
    return out


def variant_rows(outcome) -> list[dict]:
    """Each specification actually run: its label, backends, note and how it differs from the given one."""
    given = outcome.comparison.spec.to_si_dict()
    units = {key: unit for key, _, unit, _, _ in SPEC_ROWS}
    out = []
    for v in outcome.variants:
        mine = v.spec.to_si_dict()
        changes = [f"{key}: {human(given[key], units[key])} → {human(mine[key], units[key])}"
                   for key in units if key in mine and key in given and mine[key] != given[key]]
        out.append({"label": v.label or "as specified", "backends": list(v.backends), "note": v.note,
                    "changes": changes})
    return out


def metadata_table(outcome) -> dict:
    """Backends as columns (the closed form first), metadata fields as rows; a row whose statements
    differ between backends is flagged."""
    metas = OrderedDict()
    exact = next(iter(outcome.exact.values()), None)
    if exact is not None:
        metas[CLOSED_FORM] = exact.meta.as_dict()
    for name in backend_order(outcome):
        if name in outcome.metadata:
            metas[name] = outcome.metadata[name]
    rows = []
    for key, title in METADATA_ROWS:
        cells = [_meta_text(meta, key) for meta in metas.values()]
        rule = [_meta_text(meta, key) for name, meta in metas.items() if name != CLOSED_FORM]
        differs = key not in NOT_RULES and len(set(rule)) > 1
        rows.append({"title": title, "cells": cells, "differs": differs})
    return {"columns": list(metas), "rows": rows}


def _meta_text(meta: dict, key: str) -> str:
    value = meta.get(key, "")
    if key == "dt":
        return human(value, "s")
    if isinstance(value, (list, tuple)):
        return "; ".join(tidy(str(x)) for x in value) or "—"
    return tidy(str(value)) if value != "" else "—"


_DICT = re.compile(r"\{[^{}]*\}")
_LONG_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{6,}(?:[eE][-+]?\d+)?(?![\w.])")


def tidy(text: str) -> str:
    """A backend's free-text statement for reading: a Python dict written as ``key = value, ...`` and float
    noise rounded to six significant digits (``-1.0000000000000013`` -> ``-1``); the manifest keeps the
    statement as the backend gave it."""
    def as_pairs(match):
        try:
            value = ast.literal_eval(match.group(0))
        except (ValueError, SyntaxError):
            return match.group(0)
        if not isinstance(value, dict):
            return match.group(0)
        return ", ".join(f"{k} = {v:.6g}" if isinstance(v, float) else f"{k} = {v}" for k, v in value.items())
    text = _DICT.sub(as_pairs, text)
    return _LONG_FLOAT.sub(lambda m: f"{float(m.group(0)):.6g}", text)


# ----------------------------------------------------------------------------------------- attribution

def contract_rows(test, base) -> list[dict]:
    """The two written LIF contracts side by side: one row per field (title, both meanings, differs)."""
    return [{"field": f, "title": TITLES[f], "test": explain(f, getattr(test, f)),
             "base": explain(f, getattr(base, f)), "differs": getattr(test, f) != getattr(base, f)}
            for f in CHOICES]


def attribution_sections(attributions) -> list[dict]:
    """Per pair of backends (:mod:`comparisons.attribution`): both written contracts side by side and,
    per measure, a waterfall of the Shapley shares from the base's value to the test's. Every waterfall
    of one measure shares one scale (the span of every running sum of every pair), so that equal bars
    mean equal effects across pairs."""
    scales = {}
    for a in attributions:
        for name, m in a.measures.items():
            lo, hi = scales.get(name, (0.0, 0.0))
            for x in _running_sums(m):
                if math.isfinite(x):
                    lo, hi = min(lo, x), max(hi, x)
            scales[name] = (lo, hi)
    out = []
    for i, a in enumerate(attributions):
        grouped = {f: p.label for p in a.players if len(p.fields) > 1 for f in p.fields}
        rows = contract_rows(a.test_conventions, a.base_conventions)
        for row in rows:
            row["player"] = grouped.get(row["field"], "")
            row["test"], row["base"] = tidy(str(row["test"])), tidy(str(row["base"]))
        out.append({"anchor": f"why-{i}", "test": a.test, "base": a.base, "variant": a.variant,
                    "workload": a.workload, "runs": a.runs, "notes": [tidy(n) for n in a.notes], "contract": rows,
                    "players": [p.label for p in a.players],
                    "differs": sum(bool(r["differs"]) for r in rows),
                    "measures": [waterfall(a, name, scales.get(name)) for name in a.measures]})
    return out


def attribution_overview(sections: list[dict]) -> list[dict]:
    """One row per pair: how many conventions differ and, per measure, the whole difference and its main
    shares (the table that opens the folded section)."""
    return [{"anchor": p["anchor"], "pair": f"{p['test']} vs {p['base']}", "variant": p["variant"],
             "differs": p["differs"],
             "measures": [{"title": m["title"], "total": m["total"], "summary": m["summary"]} for m in p["measures"]]}
            for p in sections]


def _running_sums(m) -> list[float]:
    running, out = 0.0, [0.0, m.total]
    for c in m.contributions:
        running += 0.0 if m.negligible(c.value) else c.value
        out.append(running)
    return out


def waterfall(a, name: str, scale: tuple[float, float] | None = None) -> dict:
    """One measure's waterfall: a bar per player from the running sum before it to the sum after it,
    then the whole difference from zero; positions in per cent of ``scale`` (low, high; default the span
    of this waterfall's running sums), whose ends and zero are labelled under the bars."""
    m = a.measures[name]
    unit = m.measure.unit
    steps, running = [], 0.0
    for c in m.contributions:
        value = 0.0 if m.negligible(c.value) else c.value
        steps.append((c.player, running, running + value, value))
        running += value
    if scale is None:
        finite = [x for x in _running_sums(m) if math.isfinite(x)]
        scale = (min(finite + [0.0]), max(finite + [0.0]))
    lo, hi = scale
    span = (hi - lo) or 1.0

    def bar(start: float, stop: float) -> dict:
        if not (math.isfinite(start) and math.isfinite(stop)):
            return {"left": "0", "width": "0"}
        left = (min(start, stop) - lo) / span * 100
        return {"left": f"{left:.2f}", "width": f"{abs(stop - start) / span * 100:.2f}"}

    rows = [{"label": label, "shown": human(value, unit, 3), "css": _sign(value), **bar(start, stop)}
            for label, start, stop, value in steps]
    return {"title": m.measure.title, "distance": m.measure.distance, "unit": unit,
            "test": human(m.test, unit), "base": human(m.base, unit), "total": human(m.total, unit, 3),
            "total_bar": bar(0.0, m.total), "total_css": "total", "zero": f"{(0.0 - lo) / span * 100:.2f}",
            "low": human(lo, unit, 3), "high": human(hi, unit, 3),
            "rows": rows, "summary": m.shares(), "residual": human(m.residual, unit, 2)}


def _sign(value: float) -> str:
    if not math.isfinite(value):
        return "nan"
    return "pos" if value > 0 else ("neg" if value < 0 else "nil")


# ----------------------------------------------------------------------------------------- figures

#: Figures drawn per specification (the given one, a substitute): the first ``FIGURES_FIRST`` stimuli
#: and then up to ``FIGURES_FAILING`` further stimuli with a failing verdict, in the file's order. A
#: figure costs about 0.1 s of drawing and 0.3 MB of page; a comparison or sweep of hundreds of stimuli
#: would spend most of its time on figures nobody scrolls through. Every other stimulus is listed with
#: its one-sentence result, and all its numbers are in the CSV files.
FIGURES_FIRST = 8
FIGURES_FAILING = 8


def stimulus_figures(outcome, rows: list[MetricRow] | None = None) -> list[dict]:
    """One entry per (variant, stimulus), with a figure for those :data:`FIGURES_FIRST` and
    :data:`FIGURES_FAILING` select: input, traces, difference to the closed form with the trace
    tolerance, raster; ``main`` for the specification as given (or its plain part), with alt text that
    states the result. An entry without a figure has ``uri`` None and keeps its caption."""
    c = outcome.comparison
    rows = rows if rows is not None else [MetricRow.of(r.cells()) for r in outcome.metric_rows]
    by_stimulus: dict[str, list[MetricRow]] = {}
    for r in rows:
        by_stimulus.setdefault(r.stimulus, []).append(r)
    out = []
    for v, variant in enumerate(outcome.variants):
        shown, failing = 0, 0
        for stim in c.stimuli:
            exact = outcome.exact.get((variant.label, stim.name))
            if exact is None:
                continue
            key = stim.name + (f" [{variant.label}]" if variant.label else "")
            mine = by_stimulus.get(key, [])
            names = [n for n in variant.backends if _has_result(outcome, variant, stim.name, n)]
            missing = [n for n in variant.backends if n not in names]
            draw = shown < FIGURES_FIRST
            if not draw and failing < FIGURES_FAILING and any(r.passed == "False" for r in mine):
                draw, failing = True, failing + 1
            shown += 1
            uri = None
            if draw:
                runs, _ = _series(outcome, variant, stim.name)
                tolerance = _first_tolerance(mine, "trace_max_abs_prespike")
                fig = plots.stimulus_figure(stim.sample(c.dt, c.n_steps), c.dt, _as_series(CLOSED_FORM, exact),
                                            runs, tolerance=tolerance)
                uri = plots.data_uri(fig)
            out.append({"anchor": f"stim-{len(out)}", "stimulus": stim.name, "main": v == 0,
                        "variant": variant.label, "uri": uri, "missing": missing, "backends": names,
                        "alt": stimulus_alt(stim.name, variant.label, mine, names, missing),
                        "result": stimulus_result(mine, names)})
    return out


def _has_result(outcome, variant, stimulus: str, name: str) -> bool:
    run = outcome.runs.get((variant.label, stimulus, name))
    return run is not None and run.result is not None


def _first_tolerance(rows: list[MetricRow], metric: str) -> float | None:
    for r in rows:
        if r.metric == metric and r.tolerance not in ("", None):
            return float(r.tolerance)
    return None


def _names(names: list[str]) -> str:
    names = [plots.label(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _worst(rows: list[MetricRow], metric: str, names: list[str]) -> MetricRow | None:
    found = [r for r in rows if r.metric == metric and r.backend in names and r.reference == CLOSED_FORM
             and math.isfinite(r.value)]
    return max(found, key=lambda r: abs(r.value)) if found else None


def stimulus_result(rows: list[MetricRow], names: list[str]) -> str:
    """The figure's result in one sentence (used in its alt text and caption)."""
    failing = sorted({r.backend for r in rows if r.passed == "False"} & set(names), key=names.index)
    passing = [n for n in names if n not in failing]
    parts = []
    if passing:
        parts.append(f"{_names(passing)} pass every verdict")
    if failing:
        bad = [r for r in rows if r.passed == "False" and r.backend in failing]
        parts.append(f"{_names(failing)} fail {len(bad)} (" + ", ".join(
            f"{r.backend} {r.metric} {r.shown} > {r.shown_tolerance}" for r in bad[:3]) + (", …" if len(bad) > 3 else "") + ")")
    text = "; ".join(parts) or "no backend result"
    pre = _worst(rows, "trace_max_abs_prespike", names)
    if pre is not None:
        text += f"; voltage before the first spike within {human(pre.value, 'V', 2)} of the closed form " \
                f"(tolerance {human(pre.tolerance, 'V', 2)})"
    latency = _worst(rows, "first_spike_latency_diff", names)
    if latency is not None:
        text += f"; first spike within {human(latency.value, 's', 2)} (tolerance {latency.shown_tolerance})"
    offset = _worst(rows, "spike_offset_max_abs_dt", names)
    counts = {r.backend: r.value for r in rows if r.metric == "spike_count" and r.backend in names
              and r.reference == CLOSED_FORM}
    if counts:
        shown = sorted({f"{v:.0f}" for v in counts.values()})
        text += f"; {' or '.join(shown)} spikes"
    if offset is not None:
        text += f", each within {offset.value:.2g} steps of the exact crossing time"
    return text + "."


def stimulus_alt(stimulus: str, variant: str, rows: list[MetricRow], names: list[str], missing: list[str]) -> str:
    """Alt text of a stimulus figure: what it shows, for which stimulus and specification, and its result."""
    which = f"the substitute specification [{variant}]" if variant == "t_ref=0" else (
        f"the {variant} part of the cell" if variant else "the specification as given")
    text = (f"Stimulus {stimulus}, {which}: input current, membrane potential of {_names(names) if names else 'no backend'} "
            f"over the closed form, their difference to it on a log scale with the trace tolerance, and the spikes. "
            + stimulus_result(rows, names))
    if missing:
        text += f" No result from {_names(missing)}."
    return text


def fi_alt(rows: list[MetricRow]) -> str:
    """Alt text of the f-I figure: per backend the largest rate error and the f-I verdicts."""
    fi = [r for r in rows if r.stimulus == "fi_curve"]
    names = list(dict.fromkeys(r.backend for r in fi if r.metric == "fi_max_abs_error"))
    if not names:
        return "Firing rate against input current for every backend over the closed form, and the difference."
    failing = [n for n in names if any(r.backend == n and r.passed == "False" and r.family == "f-I" for r in fi)]
    parts = [f"{n} within {r.shown}" for n in names for r in fi if r.backend == n and r.metric == "fi_max_abs_error"]
    verdict = (f"{_names(failing)} fail{'s' if len(failing) == 1 else ''} an f-I verdict" if failing
               else "every f-I verdict passes")
    return ("f-I curve: stationary firing rate against input current for " + _names(names)
            + " over the closed form, and below the difference to it. Largest rate error: " + ", ".join(parts)
            + f"; {verdict}.")


def convergence_alt(rows: list[MetricRow]) -> str:
    """Alt text of the convergence figure: the fitted orders and the bound verdicts."""
    conv = [r for r in rows if r.stimulus == "convergence"]
    orders = [f"{r.backend} {r.value:.2f}" for r in conv if r.metric == "convergence_isi_order" and math.isfinite(r.value)]
    failing = sorted({r.backend for r in conv if r.passed == "False"})
    verdict = f"{_names(failing)} exceed a bound" if failing else "every backend stays within its bounds"
    text = ("Convergence in dt, log-log: error of the mean inter-spike interval and of the subthreshold trace "
            "against the time step, with each backend's bound dotted")
    if orders:
        text += "; fitted order of the interval error: " + ", ".join(orders)
    return text + f"; {verdict}."


def _as_series(name: str, result) -> plots.Series:
    v = None if result.v is None else result.v[:, 0]
    return plots.Series(name, result.t, v, result.spike_trains()[0])


def _series(outcome, variant, stimulus: str) -> tuple[list, list]:
    runs, missing = [], []
    for name in variant.backends:
        run = outcome.runs.get((variant.label, stimulus, name))
        if run is not None and run.result is not None:
            runs.append(_as_series(name, run.result))
        else:
            missing.append(name)
    return runs, missing


def fi_figure(outcome) -> str | None:
    """The f-I figure's data URI, or None without f-I rows."""
    if not outcome.fi_rows:
        return None
    fi, spec = outcome.comparison.fi, outcome.variants[0].spec
    points = OrderedDict()
    for name in backend_order(outcome):
        rows = [r for r in outcome.fi_rows if r[0] == name]
        if rows:
            arr = np.array([[r[2], r[3], r[4]] for r in rows], dtype=float)
            points[name] = (arr[:, 0], arr[:, 1], arr[:, 2])
    dense = np.linspace(fi.I_min, fi.I_max, 601)
    return plots.data_uri(plots.fi_figure(dense, cf.rate(spec, dense), points))


def convergence_figure(outcome) -> str | None:
    """The convergence figure's data URI, or None without convergence rows."""
    if not outcome.convergence_rows:
        return None
    series = []
    for name in backend_order(outcome):
        rows = sorted((r for r in outcome.convergence_rows if r[0] == name), key=lambda r: r[1])
        if not rows:
            continue
        a = np.array([r[1:] for r in rows], dtype=float)
        series.append(plots.ConvergenceSeries(
            name, a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4],
            _order(outcome, name, "convergence_isi_order", "convergence_isi_order_stderr"),
            _order(outcome, name, "convergence_trace_order", "convergence_trace_order_stderr")))
    return plots.data_uri(plots.convergence_figure(series))


def _order(outcome, backend: str, metric: str, stderr_metric: str):
    """(order, stderr) from the convergence metric rows; stderr NaN when not given; None without order."""
    found = {r.metric: r.value for r in outcome.metric_rows if r.backend == backend and r.metric in (metric, stderr_metric)}
    if metric not in found:
        return None
    return found[metric], found.get(stderr_metric, math.nan)


# ----------------------------------------------------------------------------------------- tables

def metric_groups(rows: list[MetricRow]) -> list[dict]:
    """Metric rows grouped by stimulus (in order of appearance), with per-group verdict counts."""
    groups: OrderedDict[str, list] = OrderedDict()
    for r in rows:
        groups.setdefault(r.stimulus, []).append(r)
    return [{"anchor": f"metrics-{i}", "stimulus": name, "rows": items, "totals": totals(items)}
            for i, (name, items) in enumerate(groups.items())]


def tolerance_rows(table: dict, overrides: dict) -> list[dict]:
    """The tolerance table (the outcome's :data:`comparisons.tolerances.TOLERANCES`): formula and derivation
    of every default, and any override of this run."""
    return [{"metric": t.metric, "unit": HUMAN.get(t.unit, (1.0, t.unit))[1] or "1", "formula": t.formula,
             "derivation": t.derivation,
             "override": human(overrides[t.metric], t.unit, 6) if t.metric in overrides else ""}
            for t in table.values()]


# ----------------------------------------------------------------------------------------- citation

@dataclass
class Citation:
    """The fields of CITATION.cff the report shows."""

    title: str = "lif-crosscheck"
    version: str = ""
    message: str = ""
    authors: list[str] = field(default_factory=list)
    license: str = ""
    repository: str = ""


def citation(path: Path = CITATION) -> Citation:
    """Read the top-level scalars and the author names of CITATION.cff.

    Only flat ``key: value`` lines and the ``authors`` list items (``name``, ``given-names``,
    ``family-names``) are read: the file is the project's own, and nothing in it is evaluated.
    """
    out = Citation()
    if not path.is_file():
        return out
    scalars, authors, section = {}, [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace() and not line.startswith("-"):
            key, _, value = line.partition(":")
            section = key.strip()
            if value.strip():
                scalars[section] = _unquote(value)
        elif section == "authors":
            _author_line(line.strip(), authors)
    for f in fields(Citation):
        if f.name in scalars:
            setattr(out, f.name, scalars[f.name])
    out.repository = scalars.get("repository-code", "") or scalars.get("url", "")
    out.authors = [" ".join(x for x in (a.get("name"), a.get("given-names"), a.get("family-names")) if x)
                   for a in authors]
    return out


def _author_line(item: str, authors: list[dict]) -> None:
    if item.startswith("- "):
        authors.append({})
        item = item[2:]
    key, sep, value = item.partition(":")
    if sep and authors:
        authors[-1][key.strip()] = _unquote(value)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
