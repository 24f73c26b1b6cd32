"""The one verdict layer: every metric row of a comparison, typed, built and judged here.

A row is *informational* (``tolerance`` and ``passed`` are ``None``) or a *verdict*: it passes when its
value is finite and ``|value| <= tolerance``. Every study of the harness and of the model-variant
comparisons builds its rows with :func:`row`; the CSV writer, the report, the command line's summary and
the exit status all read the same :class:`Row` objects.

Interval checks (a one-sided bound, an exact grid prediction ``[lo, hi]``) are written as the position of
the value inside its interval, :func:`interval_ratio`: 0 in the middle, 1 at either edge, judged against a
tolerance of 1 like any other ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.result import METRIC_COLUMNS

#: The columns of metrics.csv (public contract), in order (:data:`models.result.METRIC_COLUMNS`).
COLUMNS = list(METRIC_COLUMNS)


@dataclass(frozen=True)
class Row:
    """One metric row.

    Attributes
    ----------
    stimulus, backend, reference, metric, unit : str
        What was measured, on which backend, against what (``closed_form``, ``reference``, ``twin:<name>``,
        ``analytic``), and the unit of ``value``.
    value : float
    tolerance : float or None
        The bound of a verdict; ``None`` for an informational row.
    passed : bool or None
        The verdict; ``None`` for an informational row.
    """

    stimulus: str
    backend: str
    reference: str
    metric: str
    value: float
    unit: str
    tolerance: float | None = None
    passed: bool | None = None

    def cells(self) -> list:
        """The row as metrics.csv writes it: an empty cell for a missing tolerance or verdict, the verdict
        as ``True``/``False``."""
        return [self.stimulus, self.backend, self.reference, self.metric, self.value, self.unit,
                "" if self.tolerance is None else self.tolerance,
                "" if self.passed is None else str(self.passed)]

    @property
    def is_verdict(self) -> bool:
        return self.passed is not None


def row(stimulus: str, backend: str, reference: str, metric: str, value, unit: str,
        tolerance: float | None = None) -> Row:
    """A row; with a ``tolerance`` it is a verdict, passed when ``value`` is finite and ``|value| <=
    tolerance``."""
    value = float(value)
    if tolerance is None:
        return Row(str(stimulus), str(backend), str(reference), str(metric), value, str(unit))
    tolerance = float(tolerance)
    return Row(str(stimulus), str(backend), str(reference), str(metric), value, str(unit), tolerance,
               bool(math.isfinite(value) and abs(value) <= tolerance))


def interval_ratio(values, lo, hi) -> float:
    """The largest position of ``values`` inside their intervals ``[lo, hi]``: ``|v - mid| / half``, at
    most 1 when every value lies in its interval (0 for none). A zero-width interval counts any
    difference as infinitely far."""
    values, lo, hi = (np.asarray(x, dtype=float) for x in (values, lo, hi))
    if values.size == 0:
        return 0.0
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(half > 0, np.abs(values - mid) / np.where(half > 0, half, 1.0),
                         np.where(values == mid, 0.0, np.inf))
    return float(np.max(ratio))


def failed(rows) -> list[Row]:
    """The verdicts that failed."""
    return [r for r in rows if r.passed is False]


def all_pass(rows) -> bool:
    """True when no verdict failed."""
    return not failed(rows)


def frame(rows) -> pd.DataFrame:
    """The rows as a DataFrame with :data:`COLUMNS` (``passed`` a boolean or None)."""
    return pd.DataFrame([[r.stimulus, r.backend, r.reference, r.metric, r.value, r.unit, r.tolerance, r.passed]
                         for r in rows], columns=COLUMNS)
