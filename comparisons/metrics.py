"""Metrics that compare one backend's run with a reference: traces, spikes, rates, f-I curves, convergence.

Every function is pure: numpy arrays in SI units in, floats or tidy tables out, and every one is what the
harness (:mod:`comparisons.harness`) computes its rows with: one path. A function that gives several
metrics has a ``*_metrics`` form (:func:`trace_metrics`, :func:`spike_match_metrics`, :func:`fi_metrics`)
returning a :class:`pandas.DataFrame` with exactly the columns ``metric, value, unit`` of a metric row,
whose rows the harness writes as they are; metric names and units are fixed in :data:`METRIC_UNITS` (units are plain strings: ``"V"``, ``"s"``, ``"Hz"``, ``"A"``, ``"1"`` for
dimensionless, ``"dt"`` for offsets counted in time steps).

Conventions shared by the whole module:

- A trace is sampled on the grid of :class:`models.result.Result`, ``t_k = k dt``, shape ``(n_samples,)``
  for one neuron or ``(n_samples, N)`` for N neurons. Populations are pooled: an RMSE is taken over every
  (sample, neuron) pair, a maximum over all of them.
- A spike train is a sorted 1-D array of spike times (s). Where a function takes "trains" it accepts a
  1-D array (one neuron) or a sequence of N such arrays (``Result.spike_trains()``); the two sides must
  have the same number of neurons, paired by index.
- Arguments come in the order *test, reference* (the backend under comparison first, as in
  ``rate_errors(rate, expected)``), and every difference is *test minus reference*.
- ``NaN`` means "not applicable": there was nothing to compare (no subthreshold sample, no matched spike,
  no spike on one side, no current above rheobase). A harness should report it as such, never as a pass
  or a failure of a numeric tolerance.
- Grid comparisons (window edges, matching windows) accept a slack of :data:`EDGE_EPS` steps so that the
  float rounding of ``k dt`` never moves a sample or a spike across an edge.
"""

from __future__ import annotations

import contextlib
import functools
import keyword
import math
import threading
import warnings
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from models.errors import ContractError
from models.result import METRIC_COLUMNS

#: Slack, in time steps, for edges on the grid (float rounding of ``k dt`` is ~1e-16 relative).
EDGE_EPS = 1e-9

#: Unit of each metric a table of this module contains (the harness writes the tables' rows as they are).
METRIC_UNITS: dict[str, str] = {
    "trace_rmse": "V",
    "trace_max_abs": "V",
    "trace_rmse_subthreshold": "V",
    "trace_max_abs_subthreshold": "V",
    "spikes_matched": "1",
    "spikes_missed": "1",
    "spikes_extra": "1",
    "spike_offset_max_abs_dt": "dt",
    "spike_offset_mean_dt": "dt",
    "fi_max_abs_error": "Hz",
    "fi_mean_abs_error": "Hz",
    "fi_max_rel_error": "1",
}

#: The columns of a table of this module: the metric row's own (:data:`models.result.METRIC_COLUMNS`).
COLUMNS = METRIC_COLUMNS[3:6]

Trains = np.ndarray | Sequence[np.ndarray]


# ----------------------------------------------------------------------------------------- helpers


def _refuse(field: str, expected: str, given: object = None) -> ContractError:
    """The metric functions' arguments are the harness's, never the user's: a refusal is an internal
    error (:class:`models.errors.ContractError`)."""
    return ContractError(f"metrics.{field}", expected, given)


def metric_table(values: dict[str, float]) -> pd.DataFrame:
    """Tidy table of metrics: one row per metric, columns ``metric, value, unit``.

    Parameters
    ----------
    values
        Metric name (a key of :data:`METRIC_UNITS`) to value in that metric's unit.
    """
    return pd.DataFrame(metric_tuples(values), columns=list(COLUMNS))


def metric_tuples(values: dict[str, float]) -> list[tuple[str, float, str]]:
    """The rows of :func:`metric_table` as ``(metric, value, unit)`` tuples, without a DataFrame (the
    harness appends them to its own rows: a DataFrame per stimulus and pair cost more than the metrics)."""
    unknown = [name for name in values if name not in METRIC_UNITS]
    if unknown:
        raise _refuse("metric_table", f"metric names must be among {sorted(METRIC_UNITS)}", unknown)
    return [(name, float(value), METRIC_UNITS[name]) for name, value in values.items()]


def _train(times, field: str) -> np.ndarray:
    train = np.asarray(times, dtype=float)
    if train.ndim != 1:
        raise _refuse(field, "a spike train must be a 1-D array of times (s)", f"shape {train.shape}")
    if train.size > 1 and np.any(np.diff(train) < 0):
        raise _refuse(field, "spike times must be sorted")
    return train


def as_trains(trains: Trains, field: str = "trains") -> list[np.ndarray]:
    """Spike trains as a list of sorted 1-D arrays (s).

    Parameters
    ----------
    trains
        A 1-D array (one neuron) or a sequence of N 1-D arrays (N neurons).
    """
    if isinstance(trains, np.ndarray):
        return [_train(trains, field)]
    out = []
    for n, train in enumerate(trains):
        if np.ndim(train) != 1:
            raise _refuse(f"{field}[{n}]", "each element must be a 1-D array of spike times (s); "
                          "pass a numpy array for a single train", f"{train!r}")
        out.append(_train(train, f"{field}[{n}]"))
    return out


def _paired_trains(test: Trains, reference: Trains) -> tuple[list[np.ndarray], list[np.ndarray]]:
    tst, ref = as_trains(test, "test"), as_trains(reference, "reference")
    if len(ref) != len(tst):
        raise _refuse("trains", "test and reference must have the same number of neurons",
                      f"{len(tst)} and {len(ref)}")
    return tst, ref


def _positive(value: float, field: str, unit: str, allow_zero: bool = False) -> float:
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and not math.isnan(value)):
        bound = ">= 0" if allow_zero else "> 0"
        raise _refuse(field, f"must be {bound} {unit}", f"{value} {unit}")
    return value


# ------------------------------------------------------------------------------------------ traces


def default_exclusion_half_width(t_ref: float, dt: float) -> float:
    """Half-width (s) of the window around each spike excluded from subthreshold trace metrics.

    ``t_ref + 2 dt``. Around a spike two correct backends legitimately disagree: for the refractory
    period one trace is clamped at ``V_reset`` while the other may not have spiked yet; one more step
    because backends stamp a spike at the start (Brian2) or at the end (NEST, the reference) of the step
    in which V crosses threshold; one more because the reset shows in the sample of the stamp or in the
    next one. The window is symmetric, so the step or two before the crossing (where one trace is just
    below threshold and the other already reset) is excluded too.

    Parameters
    ----------
    t_ref
        Absolute refractory period (s), >= 0.
    dt
        Time step (s), > 0.
    """
    return _positive(t_ref, "t_ref", "s", allow_zero=True) + 2.0 * _positive(dt, "dt", "s")


def _traces(test, reference) -> tuple[np.ndarray, np.ndarray]:
    tst = np.asarray(test, dtype=float)
    ref = np.asarray(reference, dtype=float)
    if ref.shape != tst.shape or ref.ndim not in (1, 2):
        raise _refuse("traces", "test and reference must have the same shape (n_samples,) or "
                      "(n_samples, N)", f"{tst.shape} and {ref.shape}")
    if ref.ndim == 1:
        return tst[:, None], ref[:, None]
    return tst, ref


def subthreshold_mask(t: np.ndarray, test: Trains, reference: Trains, half_width: float) -> np.ndarray:
    """Samples far from every spike of either train: True where a sample is subthreshold.

    A sample ``t_k`` of neuron ``n`` is excluded when ``|t_k - s| <= half_width`` (within
    :data:`EDGE_EPS` steps) for any spike ``s`` of neuron ``n`` in the test or in the reference.

    Parameters
    ----------
    t : ndarray, shape (n_samples,)
        Sorted sample times (s).
    test, reference
        Spike trains (s) of the N neurons.
    half_width
        Half-width (s) of the excluded window; see :func:`default_exclusion_half_width`.

    Returns
    -------
    ndarray of bool, shape (n_samples, N)
    """
    t = np.asarray(t, dtype=float)
    tst, ref = _paired_trains(test, reference)
    half_width = _positive(half_width, "half_width", "s", allow_zero=True)
    step = float(np.min(np.diff(t))) if t.size > 1 else 1.0
    slack = EDGE_EPS * step
    spikes = [np.concatenate([a, b]) for a, b in zip(tst, ref)]
    neuron = np.repeat(np.arange(len(spikes)), [s.size for s in spikes])
    times = np.concatenate(spikes) if spikes else np.empty(0)
    first = np.searchsorted(t, times - half_width - slack, side="left")
    stop = np.searchsorted(t, times + half_width + slack, side="right")
    edges = np.zeros((t.size + 1, len(spikes)), dtype=np.int64)
    np.add.at(edges, (first, neuron), 1)
    np.add.at(edges, (stop, neuron), -1)
    return np.cumsum(edges, axis=0)[:-1] == 0


def trace_rmse(test: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None,
               axis: int | None = None):
    """Root-mean-square difference (V) of two traces on the same grid.

    Parameters
    ----------
    test, reference : ndarray, shape (n_samples,) or (n_samples, N)
        Membrane potentials (V).
    mask : ndarray of bool, same shape, optional
        Samples to include (e.g. :func:`subthreshold_mask`); all by default.
    axis
        ``None``: one value pooled over every sample and neuron; ``0``: one value per neuron.

    Returns
    -------
    float or ndarray, shape (N,)
        RMSE (V); NaN where the mask leaves no sample (nothing to compare).
    """
    sq, keep = _masked_square(test, reference, mask)
    count = keep.sum(axis=axis)
    total = np.where(keep, sq, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 0, np.sqrt(total / np.maximum(count, 1)), np.nan)
    return float(out) if axis is None else out


def trace_max_abs(test: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None,
                  axis: int | None = None):
    """Largest absolute difference ``max |V_test - V_ref|`` (V); arguments as :func:`trace_rmse`.

    Returns
    -------
    float or ndarray, shape (N,)
        NaN where the mask leaves no sample.
    """
    sq, keep = _masked_square(test, reference, mask)
    out = np.sqrt(np.where(keep, sq, -np.inf).max(axis=axis, initial=-np.inf).clip(min=0.0))
    out = np.where(keep.any(axis=axis), out, np.nan)
    return float(out) if axis is None else out


def _masked_square(test, reference, mask) -> tuple[np.ndarray, np.ndarray]:
    tst, ref = _traces(test, reference)
    keep = np.ones(ref.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if keep.ndim == 1:
        keep = keep[:, None]
    if keep.shape != ref.shape:
        raise _refuse("mask", "the mask must have the traces' shape", f"{keep.shape} vs {ref.shape}")
    return (tst - ref) ** 2, keep


def trace_metrics(t: np.ndarray, test_v: np.ndarray, reference_v: np.ndarray, test_trains: Trains,
                  reference_trains: Trains, half_width: float) -> pd.DataFrame:
    """``trace_rmse``, ``trace_max_abs`` and both again on subthreshold samples only (V).

    Parameters
    ----------
    t : ndarray, shape (n_samples,)
        Sample times (s).
    test_v, reference_v : ndarray, shape (n_samples,) or (n_samples, N)
        Membrane potentials (V).
    test_trains, reference_trains
        Spike trains (s) of the N neurons, used to exclude ``half_width`` (s) around every spike of
        either side (see :func:`subthreshold_mask`, :func:`default_exclusion_half_width`).

    Returns
    -------
    DataFrame
        Four rows; the subthreshold ones are NaN when the spikes leave no sample to compare.
    """
    return metric_table(trace_values(t, test_v, reference_v, test_trains, reference_trains, half_width))


def trace_values(t: np.ndarray, test_v: np.ndarray, reference_v: np.ndarray, test_trains: Trains,
                 reference_trains: Trains, half_width: float) -> dict[str, float]:
    """:func:`trace_metrics` as a dict, metric name to value."""
    tst, ref = _traces(test_v, reference_v)
    if np.asarray(t).shape != (ref.shape[0],):
        raise _refuse("t", "must have one time per sample", f"{np.shape(t)} for {ref.shape[0]} samples")
    mask = subthreshold_mask(t, test_trains, reference_trains, half_width)
    if mask.shape != ref.shape:
        raise _refuse("trains", "one spike train per traced neuron", f"{mask.shape[1]} vs {ref.shape[1]}")
    return {
        "trace_rmse": trace_rmse(tst, ref),
        "trace_max_abs": trace_max_abs(tst, ref),
        "trace_rmse_subthreshold": trace_rmse(tst, ref, mask),
        "trace_max_abs_subthreshold": trace_max_abs(tst, ref, mask),
    }


# ---------------------------------------------------------------------------------- spike matching


@dataclass(frozen=True, eq=False)
class SpikeMatch:
    """Optimal order-preserving matching of a test train against a reference train.

    Attributes
    ----------
    reference_index, test_index : ndarray of int, shape (n_matched,)
        Indices of the matched pairs, increasing in both trains.
    offsets_dt : ndarray, shape (n_matched,)
        ``(t_test - t_ref) / dt`` of each pair, in steps (not rounded: precise backends give fractions).
    n_reference, n_test : int
        Spike counts of the two trains.
    """

    reference_index: np.ndarray
    test_index: np.ndarray
    offsets_dt: np.ndarray
    n_reference: int
    n_test: int

    @property
    def n_matched(self) -> int:
        return int(self.reference_index.size)

    @property
    def n_missed(self) -> int:
        """Reference spikes with no test spike within the window."""
        return self.n_reference - self.n_matched

    @property
    def n_extra(self) -> int:
        """Test spikes with no reference spike within the window."""
        return self.n_test - self.n_matched

    @property
    def missed(self) -> np.ndarray:
        """Indices of the missed reference spikes."""
        return np.setdiff1d(np.arange(self.n_reference), self.reference_index)

    @property
    def extra(self) -> np.ndarray:
        """Indices of the extra test spikes."""
        return np.setdiff1d(np.arange(self.n_test), self.test_index)


def match_spikes(test: np.ndarray, reference: np.ndarray, window: float, dt: float) -> SpikeMatch:
    """Match two sorted spike trains one to one within ``window``, optimally and in order.

    A reference spike ``r`` and a test spike ``s`` may be paired when ``|s - r| <= window`` (plus
    :data:`EDGE_EPS` steps of slack); each spike is used at most once and pairs never cross (order
    preserving). Among such matchings the one with the most pairs is chosen, and among those the one with
    the smallest total ``sum |s - r|`` (ties: the earlier test spike). Unpaired reference spikes are
    *missed*, unpaired test spikes *extra*; counts may differ and either train may be empty.

    Method: a greedy nearest-first pairing can steal a partner and lose a pair (reference 0 and 1 ms,
    test 0.6 and 1.7 ms, window 0.75 ms: greedy pairs 1 with 0.6 and matches one pair, the optimum two).
    Instead, the merged spikes are cut into clusters wherever two consecutive times are more than the
    window apart (no admissible pair spans a cut, so clusters are independent). A cluster of one spike
    on each side is paired directly (vectorised); larger clusters are solved exactly by dynamic
    programming, the edit-distance recursion ``G[i, j] = max(G[i-1, j], G[i, j-1],
    G[i-1, j-1] + g_ij)`` with gain ``g_ij = 1 - |s_j - r_i| / (w (k + 1))`` for admissible pairs
    (``k`` the smaller spike count of the cluster): since all penalties of a matching sum to less than
    one, one more pair always wins, then the smaller total offset. Order preservation loses nothing:
    two admissible crossing pairs can always be uncrossed into two admissible pairs without increasing
    ``sum |s - r|``. The table of a cluster is restricted to the band that holds every maximum matching
    (see :func:`_match_cluster`): cost ``O(n + m)`` when the window is shorter than half the ISIs, and
    ``O((n + m) (u + 1))`` with ``u`` the unpaired spikes of the cluster otherwise (a window wider than the
    ISIs merges whole trains into one cluster); memory never beyond :data:`MATCH_DP_CELLS` cells.

    Parameters
    ----------
    test, reference : ndarray, shape (m,), (n,)
        Sorted spike times (s).
    window
        Largest admissible |offset| (s), >= 0.
    dt
        Time step (s) of the offsets' unit.
    """
    tst, ref = _train(test, "test"), _train(reference, "reference")
    dt = _positive(dt, "dt", "s")
    reach = _positive(window, "window", "s", allow_zero=True) + EDGE_EPS * dt
    clusters = _clusters(ref, tst, reach)
    pairs = [_single_pairs(*clusters)]
    for r_slice, t_slice in _large_clusters(*clusters):
        i, j = _match_cluster(ref[r_slice], tst[t_slice], reach)
        pairs.append((i + r_slice.start, j + t_slice.start))
    i = np.concatenate([p[0] for p in pairs]).astype(np.int64)
    j = np.concatenate([p[1] for p in pairs]).astype(np.int64)
    order = np.argsort(i, kind="stable")
    i, j = i[order], j[order]
    return SpikeMatch(i, j, (tst[j] - ref[i]) / dt, ref.size, tst.size)


def _clusters(ref: np.ndarray, tst: np.ndarray, reach: float):
    """Per cluster: first and stop index in ``ref`` and in ``tst`` (four int arrays)."""
    times = np.concatenate([ref, tst])
    side = np.concatenate([np.zeros(ref.size, dtype=np.int64), np.ones(tst.size, dtype=np.int64)])
    order = np.argsort(times, kind="stable")
    gaps = np.diff(times[order]) > reach
    label = np.empty(times.size, dtype=np.int64)
    label[order] = np.concatenate([[0], np.cumsum(gaps)]) if times.size else []
    n = int(label.max()) + 1 if times.size else 0
    bounds = np.arange(n + 1)
    r_edges = np.searchsorted(label[side == 0], bounds)
    t_edges = np.searchsorted(label[side == 1], bounds)
    return r_edges[:-1], r_edges[1:], t_edges[:-1], t_edges[1:]


def _single_pairs(r0, r1, t0, t1):
    """Clusters of exactly one spike on each side: always a pair (their gap is within the window)."""
    single = ((r1 - r0) == 1) & ((t1 - t0) == 1)
    return r0[single], t0[single]


def _large_clusters(r0, r1, t0, t1):
    """Slices (into ref, into tst) of the clusters with spikes on both sides and more than two."""
    n_ref, n_tst = r1 - r0, t1 - t0
    large = (n_ref >= 1) & (n_tst >= 1) & (n_ref * n_tst > 1)
    for a, b, c, d in zip(r0[large], r1[large], t0[large], t1[large]):
        yield slice(int(a), int(b)), slice(int(c), int(d))


#: Largest dynamic-programming table of one cluster (cells of 8 bytes): 2**22 cells are 32 MiB.
MATCH_DP_CELLS = 1 << 22


def _match_cluster(ref: np.ndarray, tst: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """The optimum of :func:`match_spikes` on one cluster; returns matched index arrays.

    Every maximum matching has ``K`` pairs, ``K`` found first in ``O(n + m)`` by :func:`_greedy_pairs`;
    the table is then restricted to the band ``-(n - K) <= j - i <= m - K``, which holds every cell a
    maximum matching passes through (before its pair ``(i, j)`` it has left ``i - p <= n - K`` reference
    and ``j - p <= m - K`` test spikes unpaired), so the band's optimum is the optimum. Time and memory
    ``O(n (n + m - 2K + 1))``: linear when the trains agree but for a few spikes, whatever the window.
    Beyond :data:`MATCH_DP_CELLS` cells the greedy maximum matching itself is returned: the same
    number of pairs (so ``spikes_matched``, ``spikes_missed`` and ``spikes_extra`` are exact), offsets
    of a maximum matching that may not have the smallest total."""
    greedy_i, greedy_j = _greedy_pairs(ref, tst, reach)
    k = greedy_i.size
    lo, hi = -(ref.size - k), tst.size - k
    width = hi - lo + 1
    if width == 1 or (ref.size + 1) * (width + 2) > MATCH_DP_CELLS:  # width 1: every spike paired, in order
        return greedy_i, greedy_j
    scale = reach * (min(ref.size, tst.size) + 1)
    # score[i, 1 + d - lo] = best score with the first i reference and the first i + d test spikes;
    # one column of -inf on each side of the band
    score = np.full((ref.size + 1, width + 2), -np.inf)
    d = np.arange(lo, hi + 1)
    score[0, 1:-1] = np.where(d >= 0, 0.0, -np.inf)  # no reference spike used: any number of tests
    for i in range(1, ref.size + 1):
        j = i + d                                      # test spikes used, one per band column
        valid = (j >= 0) & (j <= tst.size)
        distance = np.abs(tst[np.clip(j - 1, 0, tst.size - 1)] - ref[i - 1])
        gain = np.where((j >= 1) & valid & (distance <= reach), 1.0 - distance / scale, -np.inf)
        prev = score[i - 1]
        # skip reference i: (i-1, j) is band column d + 1; pair (i, j): (i-1, j-1) is the same column
        best = np.maximum(prev[2:], prev[1:-1] + gain)
        best = np.where(valid, best, -np.inf)
        # skip test j: (i, j-1) is column d - 1 of this row, a running maximum along the row
        row = np.maximum.accumulate(np.where(valid, best, -np.inf))
        score[i, 1:-1] = np.where(valid, row, -np.inf)
    return _backtrack_band(score, lo, ref.size, tst.size)


def _backtrack_band(score: np.ndarray, lo: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of the banded table's optimum, preferring (as the full table did) to skip a reference
    spike, then a test spike, then to pair."""
    def at(i, j):
        column = 1 + (j - i) - lo
        return score[i, column] if 0 <= column < score.shape[1] else -np.inf

    i, j = n, m
    pairs = []
    while i > 0 and j > 0:
        here = at(i, j)
        if here == at(i - 1, j):
            i -= 1
        elif here == at(i, j - 1):
            j -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    pairs = np.array(pairs[::-1], dtype=np.int64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def _greedy_pairs(ref: np.ndarray, tst: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """A maximum order-preserving matching in ``O(n + m)``: each test spike, in order, takes the earliest
    reference spike still free that lies within ``reach`` (Glover's rule for intervals that all have the
    same width: the earliest deadline first)."""
    pairs_i, pairs_j = [], []
    r, n = 0, ref.size
    for j, t in enumerate(tst.tolist()):
        while r < n and ref[r] < t - reach:
            r += 1          # too early for this and every later test spike: missed
        if r < n and ref[r] <= t + reach:
            pairs_i.append(r)
            pairs_j.append(j)
            r += 1
    return np.asarray(pairs_i, dtype=np.int64), np.asarray(pairs_j, dtype=np.int64)


def first_spike_latency_diff(test: np.ndarray, reference: np.ndarray) -> float:
    """``t_test[0] - t_ref[0]`` (s): difference of the first spike times.

    Returns NaN when either train is empty (no latency to compare; the count metrics report that).
    """
    tst, ref = _train(test, "test"), _train(reference, "reference")
    if ref.size == 0 or tst.size == 0:
        return math.nan
    return float(tst[0] - ref[0])


# ------------------------------------------------------------------------ Elephant's spike distances


# quantities and Elephant (which imports neo) are imported where used: they take about 1.5 s to import,
# which the command line should not pay for a run that computes no spike distance.


def preload() -> None:
    """Import quantities and Elephant now (for processes that fork workers afterwards)."""
    import quantities  # noqa: F401
    from elephant import spike_train_dissimilarity  # noqa: F401


# Most of what a distance of two short trains costs in Elephant is ``quantities`` looking up unit names:
# every comparison of two units' dimensions hashes them, and quantities 0.16.4's hash of a unit
# (``Dimensionality.__hash__``) and its ``simplified`` parse the string "dimensionless" again through
# ``UnitRegistry.__getitem__``: a regular expression, ``ast.parse``, a walk of the tree, ``compile`` and
# ``eval`` -- about 40 such parses per distance, 60-80 % of its time. For a label that is a plain unit
# name (a Python identifier, not a keyword, not the "in" the registry renames to "inch") that registry
# hands back the very object registered under the name: ``eval`` of a bare name looks it up in the
# registry's table. :func:`_unit_names_looked_up` makes that one case a dictionary lookup while Elephant
# computes a distance, and puts the registry's own method back afterwards; every other label still goes
# through the registry's parser. The same objects come back, so the distances are the same to the bit
# (``tests/test_metrics.py`` checks both on every registered name and on random trains).

_UNIT_LOOKUP_LOCK = threading.Lock()
_unit_lookup_depth = 0


def _unit_table() -> dict:
    """quantities' table of registered unit names (the namespace its registry evaluates labels in)."""
    from quantities import registry

    return registry.unit_registry._UnitRegistry__registry._Registry__context


def _plain_unit_name(label) -> bool:
    """Whether quantities' registry turns ``label`` into a lookup of that very name (see above)."""
    return (isinstance(label, str) and label.isidentifier() and not keyword.iskeyword(label)
            and label.lower() != "in")


@contextlib.contextmanager
def _unit_names_looked_up():
    """Within this block, quantities' registry answers a plain unit name (:func:`_plain_unit_name`) from
    its table directly (the same object its parser returns); re-entrant and thread-safe (the registry's
    method is swapped by the first block to enter and restored by the last to leave)."""
    from quantities import registry

    global _unit_lookup_depth
    with _UNIT_LOOKUP_LOCK:
        if _unit_lookup_depth == 0:
            parse, table = registry.UnitRegistry.__getitem__, _unit_table()

            def lookup(self, label):
                if _plain_unit_name(label) and label in table:
                    return table[label]
                return parse(self, label)

            lookup.parse = parse
            registry.UnitRegistry.__getitem__ = lookup
        _unit_lookup_depth += 1
    try:
        yield
    finally:
        with _UNIT_LOOKUP_LOCK:
            _unit_lookup_depth -= 1
            if _unit_lookup_depth == 0:
                registry.UnitRegistry.__getitem__ = registry.UnitRegistry.__getitem__.parse


def _time_pair(test: np.ndarray, reference: np.ndarray) -> list:
    """The two (sorted) trains as ``quantities`` arrays in seconds, which Elephant's distances take as
    they take ``neo.SpikeTrain`` (it reads only the times and their unit: the recording's limits do not
    enter either distance). The unit is the ``quantities`` object, not the string "s": a unit string is
    parsed by ``quantities``' registry (Python's ``compile`` of the expression) at every use."""
    import quantities as pq

    return [_train(test, "test") * pq.s, _train(reference, "reference") * pq.s]


@functools.lru_cache(maxsize=64)
def _vp_kernel(cost: float):
    """The kernel Elephant 1.2.1's ``victor_purpura_distance`` builds for ``cost_factor = cost`` Hz when
    given none (its source: ``TriangularKernel(sigma=2.0 / (np.sqrt(6.0) * cost_factor))``), built once
    per cost: the same object gives the same distance, without rebuilding it for every pair of trains."""
    import quantities as pq
    from elephant import kernels

    return kernels.TriangularKernel(sigma=2.0 / (np.sqrt(6.0) * (cost * pq.Hz)))


def van_rossum(test: np.ndarray, reference: np.ndarray, tau: float) -> float:
    """Van Rossum distance of two spike trains (dimensionless), from Elephant.

    Elephant 1.2.1 (``elephant.spike_train_dissimilarity.van_rossum_distance``) computes, with
    ``f(t) = sum_i exp(-(t - t_i)/tau) H(t - t_i)`` the causally filtered train,

        ``D = sqrt((2/tau) integral_{-inf}^{+inf} (f_ref - f_test)^2 dt)``

    normalised so that one spike against none gives ``D = 1``; van Rossum (2001) uses ``1/tau`` and
    gets ``1/sqrt(2)``: divide by ``sqrt(2)`` for the paper's value. The integral is not cut at the end
    of the recording. Two single spikes ``d`` apart: ``sqrt(2 (1 - exp(-|d|/tau)))``. ``tau = inf`` gives
    ``|n_ref - n_test|``.

    Rounding: ``D^2`` is a difference of sums of kernel terms, so ``D`` has an absolute floor of about
    ``sqrt(eps (S_ref + S_test))`` with ``S = n (1 + 2/(exp(ISI/tau) - 1))`` for regular trains (1e-6 for
    1000 spikes): identical trains give 0 or a number of that size. Elephant clips a negative ``D^2``
    to 0 and warns; the warning is silenced here since that clipping is exactly this floor.

    Parameters
    ----------
    test, reference : ndarray
        Sorted spike times (s) (checked; Elephant is told not to sort them again).
    tau
        Time constant (s) of the exponential filter, > 0 (``inf`` allowed).
    """
    import quantities as pq
    from elephant.spike_train_dissimilarity import van_rossum_distance as elephant_vr

    tau = _positive(tau, "tau", "s")
    trains = _time_pair(test, reference)
    with warnings.catch_warnings(), _unit_names_looked_up():
        warnings.filterwarnings("ignore", message="van_rossum_distance: very small negative",
                                category=RuntimeWarning)
        return float(elephant_vr(trains, time_constant=tau * pq.s, sort=False)[0, 1])


def victor_purpura(test: np.ndarray, reference: np.ndarray, cost: float) -> float:
    """Victor–Purpura distance of two spike trains (dimensionless), from Elephant.

    The smallest total cost of turning one train into the other with insertions and deletions (cost 1
    each) and shifts of a spike by ``dt'`` (cost ``q |dt'|``); Victor & Purpura (1996), the normalisation
    of Elephant 1.2.1 (``elephant.spike_train_dissimilarity.victor_purpura_distance``, its exact
    ``fast`` algorithm, with the kernel it builds itself for ``q``: :func:`_vp_kernel`). Unit: number of
    spike insertions/deletions ("1"). A train against itself: 0; one spike against none: 1; single spikes
    ``d`` apart: ``min(2, q d)``; ``q = 0``: ``|n_ref - n_test|``. ``q = inf`` is refused: Elephant then
    returns ``n_ref + n_test`` even for coincident spikes.

    Parameters
    ----------
    test, reference : ndarray
        Sorted spike times (s) (checked; Elephant is told not to sort them again).
    cost
        Shift cost ``q`` (1/s = Hz), finite and >= 0: shifts longer than ``2/q`` cost more than a
        deletion plus an insertion.
    """
    import quantities as pq
    from elephant.spike_train_dissimilarity import victor_purpura_distance as elephant_vp

    cost = _positive(cost, "cost", "Hz", allow_zero=True)
    if not math.isfinite(cost):
        raise _refuse("cost", "must be finite (Elephant counts coincident spikes as unmatched at "
                      "q = inf)", f"{cost} Hz")
    trains = _time_pair(test, reference)
    kernel = _vp_kernel(cost) if cost > 0 else None      # q = 0: Elephant counts spikes, no kernel
    with _unit_names_looked_up():
        return float(elephant_vp(trains, cost_factor=cost * pq.Hz, kernel=kernel, sort=False)[0, 1])


# ----------------------------------------------------------------------------------- spike tables


def spike_match_metrics(test: Trains, reference: Trains, window: float, dt: float) -> pd.DataFrame:
    """Matching rows, pooled over the N neurons (see :func:`match_spikes` for the matching itself).

    Rows: ``spikes_matched``, ``spikes_missed`` (in the reference, not in the test), ``spikes_extra``
    (in the test, not in the reference), all sums over neurons; ``spike_offset_max_abs_dt`` (largest
    |offset|, steps) and ``spike_offset_mean_dt`` (signed mean offset over all matched pairs, steps;
    positive: test late), both NaN without a matched pair.

    Parameters
    ----------
    test, reference
        Spike trains (s) of the same N neurons.
    window
        Matching window (s).
    dt
        Time step (s): unit of the offsets.
    """
    return metric_table(spike_match_values(test, reference, window, dt))


def spike_match_values(test: Trains, reference: Trains, window: float, dt: float) -> dict[str, float]:
    """:func:`spike_match_metrics` as a dict, metric name to value."""
    tst, ref = _paired_trains(test, reference)
    matches = [match_spikes(a, b, window, dt) for a, b in zip(tst, ref)]
    offsets = np.concatenate([m.offsets_dt for m in matches]) if matches else np.empty(0)
    return {
        "spikes_matched": sum(m.n_matched for m in matches),
        "spikes_missed": sum(m.n_missed for m in matches),
        "spikes_extra": sum(m.n_extra for m in matches),
        "spike_offset_max_abs_dt": float(np.max(np.abs(offsets))) if offsets.size else math.nan,
        "spike_offset_mean_dt": float(np.mean(offsets)) if offsets.size else math.nan,
    }


# ------------------------------------------------------------------------------------------- rates


def mean_rate(trains: Trains, t_start: float, t_stop: float) -> float:
    """Mean firing rate (Hz) over ``(t_start, t_stop]``, averaged over the neurons.

    Spikes are counted in the half-open window ``(t_start, t_stop]``, matching the project's
    end-of-step stamps (a spike stamped at the end of the last step counts; adjacent windows never
    count a spike twice). Population: total count / (N (t_stop - t_start)).
    """
    window = _positive(float(t_stop) - float(t_start), "t_stop - t_start", "s")
    trains = as_trains(trains)
    count = sum(int(np.sum((x > t_start) & (x <= t_stop))) for x in trains)
    return count / (len(trains) * window) if trains else math.nan


def rate_errors(rate, expected):
    """Absolute (Hz) and relative (1) error of a rate against an expected rate.

    ``abs = |rate - expected|``; ``rel = abs / expected``. The relative error is undefined at
    ``expected = 0``: it is returned as 0 when ``rate`` is 0 too (exact agreement) and ``+inf`` otherwise,
    so any finite relative tolerance fails and the absolute error carries the size of the disagreement.
    Works elementwise on arrays.
    """
    rate, expected = np.asarray(rate, dtype=float), np.asarray(expected, dtype=float)
    if np.any(expected < 0):
        raise _refuse("expected", "rates must be >= 0 Hz", expected)
    error = np.abs(rate - expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(expected > 0, error / expected, np.where(error == 0, 0.0, np.inf))
    if error.ndim == 0:
        return float(error), float(rel)
    return error, rel


def stationary_rate_isi(train: np.ndarray, duration: float) -> float:
    """Stationary rate (Hz) of a constant-input train: ``1/mean(ISI) = (n - 1)/(t_n - t_1)``.

    Ignores the first-spike latency and the unfinished last interval, so it is exact wherever every
    interval repeats the same cycle: grid-locked backends with reset to V_reset (reference ``grid``,
    Brian2, NEST ``iaf_psc_delta``; every ISI is the same whole number of steps, so it equals the grid
    prediction of ``reference.closed_forms``) and exact-time backends (reference ``exact``, NEST
    ``iaf_psc_delta_ps``: the closed-form rate up to rounding). Backends whose spikes are reported on the
    grid but whose state carries a sub-step phase (Nengo; subtractive resets) have ISIs that alternate
    between neighbouring step counts: the mean ISI is within ``dt/(n - 1)`` of the true mean interval.
    Fallback with fewer than 2 spikes: ``n / duration`` (0 Hz without spikes; 1/duration for one spike).

    Parameters
    ----------
    train : ndarray
        Sorted spike times (s).
    duration
        Length of the run (s), used by the fallback only.
    """
    train = _train(train, "train")
    if train.size < 2:
        return stationary_rate_count(train, duration)
    return (train.size - 1) / float(train[-1] - train[0])


def stationary_rate_count(train: np.ndarray, duration: float) -> float:
    """Rate (Hz) as ``count / duration``.

    Unbiased for irregular (noise-driven) trains; for constant input it carries the first-spike latency
    and the unfinished last interval: with first spike ``t_1`` and period ``ISI`` its error lies in
    ``(-t_1/(ISI T), (ISI - t_1)/(ISI T)]``, at most one spike per duration, exact only by coincidence.
    """
    train = _train(train, "train")
    return train.size / _positive(duration, "duration", "s")


def stationary_rates(trains: Trains, duration: float, estimator: str = "isi") -> np.ndarray:
    """Per-neuron stationary rates (Hz), shape (N,), with ``"isi"`` (:func:`stationary_rate_isi`) or
    ``"count"`` (:func:`stationary_rate_count`)."""
    functions = {"isi": stationary_rate_isi, "count": stationary_rate_count}
    if estimator not in functions:
        raise _refuse("estimator", f"must be one of {sorted(functions)}", estimator)
    return np.array([functions[estimator](x, duration) for x in as_trains(trains)], dtype=float)


# --------------------------------------------------------------------------------------------- f-I


class FIErrors(NamedTuple):
    """Errors of a measured f-I curve against the closed form."""

    max_abs: float  #: largest |rate - expected| (Hz) over every current
    mean_abs: float  #: mean |rate - expected| (Hz) over every current
    max_rel: float  #: largest |rate - expected|/expected (1) where expected > 0; NaN if nowhere


def _fi_arrays(currents, rates, expected=None):
    arrays = [np.asarray(x, dtype=float) for x in (currents, rates, expected) if x is not None]
    if any(a.ndim != 1 or a.shape != arrays[0].shape for a in arrays) or arrays[0].size == 0:
        raise _refuse("fi", "currents and rates must be 1-D arrays of one equal, non-zero length",
                      [a.shape for a in arrays])
    return arrays


def fi_errors(currents, rates, expected) -> FIErrors:
    """Absolute and relative errors (Hz, 1) of per-current rates against closed-form rates.

    Parameters
    ----------
    currents, rates, expected : ndarray, shape (n_currents,)
        Currents (A), measured rates (Hz), closed-form rates (Hz).
    """
    _, rates, expected = _fi_arrays(currents, rates, expected)
    error = np.abs(rates - expected)
    above = expected > 0
    max_rel = float(np.max(error[above] / expected[above])) if above.any() else math.nan
    return FIErrors(float(np.max(error)), float(np.mean(error)), max_rel)


class Rheobase(NamedTuple):
    """Rheobase found by a current sweep."""

    current: float  #: smallest swept current (A) with a non-zero rate; NaN if none fires
    step: float  #: resolution (A): gap to the next lower swept current; inf if the lowest fires

    def error(self, analytic: float) -> float:
        """``current - analytic`` (A); NaN when no current fired."""
        return self.current - float(analytic)


def sweep_rheobase(currents, rates) -> Rheobase:
    """Smallest current of a sweep with a non-zero rate, and the sweep's resolution there.

    For a correct backend with a long enough run the analytic rheobase lies in ``(I_prev, I_found]``, so
    ``|found - analytic| <= step`` with ``step = I_found - I_prev``. A finite run of duration T can only
    fire where the latency is below T, which moves the found current above the rheobase near threshold.

    Parameters
    ----------
    currents, rates : ndarray, shape (n_currents,)
        Currents (A, any order) and rates (Hz).
    """
    currents, rates = _fi_arrays(currents, rates)
    order = np.argsort(currents, kind="stable")
    currents, rates = currents[order], rates[order]
    firing = np.flatnonzero(rates > 0)
    if firing.size == 0:
        return Rheobase(math.nan, math.nan)
    k = int(firing[0])
    step = float(currents[k] - currents[k - 1]) if k > 0 else math.inf
    return Rheobase(float(currents[k]), step)


def rheobase_found(currents, rates) -> float:
    """The rheobase (A) found by a sweep: the smallest current with a non-zero rate, NaN if none fires.
    Its resolution is :func:`sweep_rheobase`'s ``step``."""
    return sweep_rheobase(currents, rates).current


def saturation_excess(rates, t_ref: float) -> float:
    """How far (Hz) the fastest rate exceeds the refractory limit: ``max(max(rate) - 1/t_ref, 0)``.

    ``t_ref = 0`` means no limit (0 returned). With the count estimator a correct backend may exceed
    the limit by up to one spike per duration (see :func:`stationary_rate_count`); with the ISI
    estimator by rounding only.
    """
    rates = np.asarray(rates, dtype=float)
    t_ref = _positive(t_ref, "t_ref", "s", allow_zero=True)
    if t_ref == 0 or rates.size == 0:
        return 0.0
    return max(float(np.max(rates)) - 1.0 / t_ref, 0.0)


def fi_metrics(currents, rates, expected) -> pd.DataFrame:
    """``fi_max_abs_error``, ``fi_mean_abs_error`` (Hz) and ``fi_max_rel_error`` (1) of :func:`fi_errors`
    (the rheobase and saturation rows, which carry tolerances, are the harness's, from
    :func:`rheobase_found` and :func:`saturation_excess`).

    Parameters
    ----------
    currents, rates, expected : ndarray, shape (n_currents,)
        Currents (A), measured rates (Hz), closed-form rates (Hz).
    """
    errors = fi_errors(currents, rates, expected)
    return metric_table({
        "fi_max_abs_error": errors.max_abs,
        "fi_mean_abs_error": errors.mean_abs,
        "fi_max_rel_error": errors.max_rel,
    })


# ------------------------------------------------------------------------------------- convergence


class ConvergenceFit(NamedTuple):
    """Least-squares fit ``log(error) = order log(dt) + log(C)``; unpacks as ``order, stderr``."""

    order: float  #: fitted slope (1)
    stderr: float  #: standard error of the slope (1)


def convergence_order(dts, errors) -> ConvergenceFit:
    """Observed order of convergence: the slope of log(error) against log(dt) (``scipy.stats.linregress``).

    Refuses (:class:`models.errors.ContractError`, a ``ValueError``) fewer than 3 points (a slope
    through 2 points has no standard error), non-positive or non-finite dts or errors (a zero error has
    no logarithm: an exact method shows no order), and a sweep of a single dt.

    Parameters
    ----------
    dts : ndarray, shape (n,)
        Time steps (s).
    errors : ndarray, shape (n,)
        Error at each dt, in any one unit.
    """
    dts, errors = np.asarray(dts, dtype=float), np.asarray(errors, dtype=float)
    if dts.ndim != 1 or dts.shape != errors.shape:
        raise _refuse("convergence", "dts and errors must be 1-D arrays of equal length",
                      f"{dts.shape} and {errors.shape}")
    if dts.size < 3:
        raise _refuse("convergence", "needs at least 3 (dt, error) points to fit an order with its "
                      "standard error", f"{dts.size} points")
    for name, values in (("dts", dts), ("errors", errors)):
        if not np.all(np.isfinite(values) & (values > 0)):
            raise _refuse(f"convergence.{name}", "must all be finite and > 0 (a log-log fit)",
                          values.tolist())
    if np.unique(dts).size < 2:
        raise _refuse("convergence.dts", "must contain at least two different time steps", dts.tolist())
    fit = stats.linregress(np.log(dts), np.log(errors))
    return ConvergenceFit(float(fit.slope), float(fit.stderr))
