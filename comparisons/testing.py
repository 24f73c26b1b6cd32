"""Assertions for your own test suite: a cell that must behave the same on several simulators.

::

    from comparisons.testing import assert_equivalent

    def test_my_cell_is_simulator_independent():
        assert_equivalent("cell.toml", backends=["reference", "brian2", "nest"])

:func:`assert_equivalent` runs the comparison exactly as ``python -m comparisons run`` does (each backend
isolated, the comparison's time limit) and raises :class:`AssertionError` when a verdict fails or a
backend fails; the message lists the failing verdict rows as a table (stimulus, backend, reference,
metric, value, tolerance, unit), worst first relative to their tolerance. It returns the
:class:`~comparisons.api.Result` when everything passes.

For pytest, enable the fixture in your ``conftest.py`` with ``pytest_plugins = ["comparisons.pytest_plugin"]``:
the ``lif_equivalent`` fixture is :func:`assert_equivalent` that, on failure, also writes the full report
into the test's temporary directory and names it in the message.
"""

from __future__ import annotations

import math

from . import verdicts
from .api import Result, compare

#: Failing rows shown in the message at most (the count of the others follows).
SHOWN = 25


def assert_equivalent(source, backends=None, stimuli=None, *, report_dir=None, **kwargs) -> Result:
    """Run ``source`` (a preset name, a comparison or specification file, a :class:`~models.spec.LIFSpec`
    or a :class:`~comparisons.config.Comparison`) on ``backends`` and assert that every verdict passes
    and no backend failed. ``stimuli`` and ``kwargs`` (``isolated``, ``timeout``, ``workers``) as in
    :func:`comparisons.compare`; ``report_dir``: on failure, write the report there (a new or empty
    directory) and name it in the message."""
    result = compare(source, stimuli=stimuli, backends=backends, **kwargs)
    if result.exit_status == 0:
        return result
    message = failure_message(result)
    if report_dir is not None:
        result.write(report_dir)
        message += f"\nfull report: {report_dir}/report.html"
    raise AssertionError(message)


def failure_message(result: Result) -> str:
    """The failing verdict rows and failed backends of ``result`` as a readable table."""
    rows = result.outcome.metric_rows
    judged = [r for r in rows if r.is_verdict]
    failed = sorted(verdicts.failed(rows), key=_badness, reverse=True)
    lines = [f"{result.outcome.comparison.spec.name}: {len(failed)} of {len(judged)} verdicts fail"
             + (f", {len(result.outcome.failures)} backend(s) failed" if result.outcome.failures else "")]
    for name, why in result.outcome.failures.items():
        lines.append(f"  backend failed: {name}: {why}")
    if failed:
        table = [("stimulus", "backend", "reference", "metric", "value", "tolerance", "unit")]
        table += [(r.stimulus, r.backend, r.reference, r.metric, f"{r.value:.6g}", f"{r.tolerance:.6g}", r.unit)
                  for r in failed[:SHOWN]]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for i, row in enumerate(table):
            lines.append("  " + "  ".join(cell.rjust(w) if 4 <= j <= 5 and i else cell.ljust(w)
                                          for j, (cell, w) in enumerate(zip(row, widths))).rstrip())
        if len(failed) > SHOWN:
            lines.append(f"  ... {len(failed) - SHOWN} more failing rows (result.failed has them all)")
    return "\n".join(lines)


def _badness(row) -> float:
    if not math.isfinite(row.value):
        return math.inf
    return abs(row.value) / row.tolerance if row.tolerance else math.inf
