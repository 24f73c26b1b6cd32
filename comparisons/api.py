"""The Python API: a comparison from a notebook or a script, run and judged exactly as the command line does.

::

    from comparisons import compare, load

    result = compare("textbook")                                  # a shipped preset
    result = compare("cell.toml", backends=["reference", "brian2"])
    result = compare(spec, stimuli=[Step("s", amplitude=3e-10, start=0.02, stop=0.08)])
    result.verdict          # "pass", "fail" or "backend failed"
    result.metrics          # pandas: one row per metric, `passed` True/False/None, `tolerance` a float
    result.write("out")     # the report directory `run` writes (report.html, the CSVs, manifest.json)

:func:`compare` runs every backend in its own child process with the comparison's time limit, as the
command line does (``isolated=False`` runs them in this process, one after the other: for a debugger).
Nothing is written until :meth:`Comparison.write` is called.
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

import pandas as pd

from models.errors import ComparisonError
from models.loading import spec_to_document
from models.spec import LIFSpec

from . import verdicts
from .config import RESERVED_STIMULUS_NAMES, Comparison, comparison_from_document, load_comparison
from .harness import Outcome, run_comparison
from .execution import frozen_heap
from .stimuli import Stimulus

#: What :attr:`Result.verdict` says for each exit status.
VERDICTS = {0: "pass", 1: "fail", 3: "backend failed"}


def load(source, backends: list[str] | None = None, choices: dict | None = None) -> Comparison:
    """A comparison from a preset name, a file path (a comparison file, a plain specification or an
    exchange file such as ``cell.nir``), a :class:`~models.spec.LIFSpec` (with every default of a
    comparison file) or a :class:`~comparisons.config.Comparison`; ``backends`` replaces its backend list;
    ``choices`` are an exchange file's mapping choices (``{"time_unit": "1 ms", "cell": 0}``,
    :mod:`comparisons.exchange`)."""
    if choices is not None and isinstance(source, (Comparison, LIFSpec)):
        raise ComparisonError("choices", "apply to an exchange file (cell.nir) or a comparison file naming one, "
                                         "not to a specification or Comparison object")
    if isinstance(source, Comparison):
        if backends is not None:
            raise ComparisonError("backends", "give backends with a preset, file or specification, not with "
                                              "a Comparison object (build it with load(..., backends=...))")
        return source
    if isinstance(source, LIFSpec):
        return comparison_from_document(spec_to_document(source), backends)
    return load_comparison(source, backends, choices)


def compare(source, stimuli: list[Stimulus] | None = None, backends: list[str] | None = None, *,
            isolated: bool = True, timeout: float | None = None, workers: int | None = None,
            choices: dict | None = None) -> "Result":
    """Run a comparison (see :func:`load` for ``source``); ``stimuli`` replaces the comparison's stimuli.

    Parameters
    ----------
    isolated : bool
        Each backend in a child process with a time limit (default, like the command line).
    timeout : float, optional
        Time limit of each backend run (s); default the comparison's ``simulation.timeout``.
    workers : int, optional
        Child processes at a time; default one per core.
    """
    comparison = load(source, backends, choices)
    if stimuli is not None:
        comparison = dataclasses.replace(comparison, stimuli=_checked(stimuli))
    if timeout is not None and not timeout > 0:
        raise ComparisonError("timeout", "must be a positive number of seconds", timeout)
    with frozen_heap():
        outcome = run_comparison(comparison, timeout=(timeout or comparison.timeout) if isolated else None,
                                 workers=workers)
    return Result(outcome)


def _checked(stimuli) -> tuple:
    stimuli = tuple(stimuli)
    if not stimuli or not all(isinstance(s, Stimulus) for s in stimuli):
        raise ComparisonError("stimuli", "expected a non-empty list of comparisons.stimuli objects",
                              type(stimuli[0]).__name__ if stimuli else "[]")
    names = [s.name for s in stimuli]
    for name in names:
        if names.count(name) > 1 or name in RESERVED_STIMULUS_NAMES:
            raise ComparisonError("stimuli", "names must be unique and not one of "
                                             f"{', '.join(RESERVED_STIMULUS_NAMES)}", name)
    return stimuli


class Result:
    """What a comparison found: the verdict, every metric row, the traces, spikes, f-I curve and
    convergence study, as pandas tables; :meth:`write` makes the report directory."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome

    @property
    def exit_status(self) -> int:
        """The command line's exit status for this outcome: 0 pass, 1 a verdict failed, 3 a backend failed."""
        return self.outcome.exit_status()

    @property
    def verdict(self) -> str:
        return VERDICTS[self.exit_status]

    @property
    def passed(self) -> bool:
        return self.exit_status == 0

    @property
    def metrics(self) -> pd.DataFrame:
        return verdicts.frame(self.outcome.metric_rows)

    @property
    def failed(self) -> pd.DataFrame:
        """The failing verdict rows."""
        return verdicts.frame(verdicts.failed(self.outcome.metric_rows))

    @property
    def traces(self) -> pd.DataFrame:
        """Every recorded trace: ``stimulus, backend, t_s, v_V`` (the closed form as backend ``closed_form``)."""
        from reports.writers import labelled_results
        frames = [pd.DataFrame({"stimulus": label, "backend": name, "t_s": r.t, "v_V": r.v[:, 0]})
                  for label, name, r in labelled_results(self.outcome) if r is not None and r.v is not None]
        return pd.concat(frames, ignore_index=True) if frames else \
            pd.DataFrame(columns=["stimulus", "backend", "t_s", "v_V"])

    @property
    def spikes(self) -> pd.DataFrame:
        """Every spike of every stimulus run: ``stimulus, backend, spike_time_s``."""
        from reports.writers import spike_rows
        return pd.DataFrame(list(spike_rows(self.outcome)), columns=["stimulus", "backend", "spike_time_s"])

    @property
    def fi_curve(self) -> pd.DataFrame:
        return self.outcome.fi

    @property
    def convergence(self) -> pd.DataFrame:
        return self.outcome.convergence

    def write(self, directory, force: bool = False) -> dict:
        """Write the report directory, with the command line's rules for the output place (refused if it
        is not empty, or with ``force`` not a report of this suite); returns the manifest."""
        from reports.destination import Destination
        from reports.html import render_report
        from reports.writers import write_all
        with Destination(Path(directory), force, [self.outcome.comparison.source]) as place:
            with place.staging() as tmp:
                return render_report(self.outcome, tmp, write_all)

    def __repr__(self) -> str:
        rows = self.outcome.metric_rows
        judged = [r for r in rows if r.is_verdict]
        return (f"<comparison {self.outcome.comparison.spec.name!r}: {self.verdict}, "
                f"{len(judged) - len(verdicts.failed(rows))} of {len(judged)} verdicts pass>")

    def _repr_html_(self) -> str:
        """A summary for Jupyter: the verdict, verdict counts per backend, the first failing rows."""
        rows = self.outcome.metric_rows
        esc = html.escape
        counts: dict = {}
        for r in rows:
            if r.is_verdict:
                passed, failed = counts.get(r.backend, (0, 0))
                counts[r.backend] = (passed + bool(r.passed), failed + (not r.passed))
        lines = [f"<p><b>{esc(self.outcome.comparison.spec.name)}</b>: <b>{esc(self.verdict)}</b></p>",
                 "<table><tr><th>backend</th><th>pass</th><th>fail</th></tr>"]
        lines += [f"<tr><td>{esc(name)}</td><td>{p}</td><td>{f}</td></tr>" for name, (p, f) in counts.items()]
        lines.append("</table>")
        for name, why in self.outcome.failures.items():
            lines.append(f"<p>backend failed: {esc(name)}: {esc(why)}</p>")
        failed = verdicts.failed(rows)
        if failed:
            lines.append("<table><tr><th>stimulus</th><th>backend</th><th>metric</th><th>value</th>"
                         "<th>tolerance</th></tr>")
            lines += [f"<tr><td>{esc(r.stimulus)}</td><td>{esc(r.backend)}</td><td>{esc(r.metric)}</td>"
                      f"<td>{r.value:.6g} {esc(r.unit)}</td><td>{r.tolerance:.6g}</td></tr>" for r in failed[:10]]
            lines.append("</table>")
        return "\n".join(lines)
