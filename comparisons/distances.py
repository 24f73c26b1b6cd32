"""The van Rossum distance with Elephant's arithmetic on plain numpy arrays.

:func:`comparisons.metrics.van_rossum` is defined as Elephant 1.2.1's
``elephant.spike_train_dissimilarity.van_rossum_distance``. Called through ``neo.SpikeTrain`` and
``quantities`` it costs about 3 ms a pair, nearly all of it in the unit bookkeeping (``quantities``
parses and compiles a unit string at every comparison of dimensionalities), and a comparison computes it
for every stimulus and pair of backends. :func:`van_rossum_distance` below runs the same numpy operations
in the same order on the same float64 numbers (Elephant's ``(t / tau * dimensionless).simplified`` is
``t / tau``: both units are seconds and the conversion factor is 1), so it returns the same bits;
``tests/test_distances.py`` checks that against Elephant itself on random and edge-case trains.
"""

from __future__ import annotations

import math

import numpy as np


def summed_dist_matrix(trains: list[np.ndarray], tau: float) -> np.ndarray:
    """Elephant's ``_summed_dist_matrix(spiketrains, tau, presorted=False)`` (Houghton & Kreuz 2012) for
    spike times ``trains`` (s) and ``tau`` (s), statement for statement."""
    if len(trains) <= 0:
        return np.zeros((0, 0))
    trains = [np.sort(np.asarray(v, dtype=float)) for v in trains]
    sizes = np.asarray([v.size for v in trains])
    values = np.empty((len(trains), max(1, sizes.max())))
    values.fill(np.nan)
    for i, v in enumerate(trains):
        if v.size > 0:
            values[i, :v.size] = v / tau
    exp_diffs = np.exp(values[:, :-1] - values[:, 1:])
    markage = np.zeros(values.shape)
    for u in range(len(trains)):
        markage[u, 0] = 0
        for i in range(sizes[u] - 1):
            markage[u, i + 1] = (markage[u, i] + 1.0) * exp_diffs[u, i]
    d = np.empty((len(trains), len(trains)))
    d[np.diag_indices_from(d)] = sizes + 2.0 * np.sum(markage, axis=1)
    for u in range(d.shape[0]):
        all_ks = np.searchsorted(values[u], values, "left") - 1
        for v in range(u):
            js = np.searchsorted(values[v], values[u], "right") - 1
            ks = all_ks[v]
            slice_j = np.s_[np.searchsorted(js, 0):sizes[u]]
            slice_k = np.s_[np.searchsorted(ks, 0):sizes[v]]
            d[u, v] = np.sum(np.exp(values[v][js[slice_j]] - values[u][slice_j]) * (1.0 + markage[v][js[slice_j]]))
            d[u, v] += np.sum(np.exp(values[u][ks[slice_k]] - values[v][slice_k]) * (1.0 + markage[u][ks[slice_k]]))
            d[v, u] = d[u, v]
    return d


def van_rossum_distance(test: np.ndarray, reference: np.ndarray, tau: float) -> float:
    """Elephant's ``van_rossum_distance([test, reference], tau)[0, 1]`` for sorted spike times (s) and
    ``tau`` (s) > 0, ``inf`` included (then ``|n_test - n_reference|``); a negative square from rounding
    is clipped to 0 as Elephant does."""
    if math.isinf(tau):
        return float(abs(np.asarray(test).size - np.asarray(reference).size))
    k = summed_dist_matrix([test, reference], tau)
    square = k[0, 0] + k[1, 1] - k[0, 1] - k[1, 0]
    return float(np.sqrt(max(square, 0.0)))


def triangular_kernel(times: np.ndarray, cost: float) -> np.ndarray:
    """Elephant's ``TriangularKernel(sigma=2/(sqrt(6) q))`` at ``times`` (s) times ``sqrt(6) sigma``, as its
    Victor--Purpura distance uses it: ``scipy.stats.triang.pdf(times, c=0.5, loc=-tau, scale=2 tau)`` with
    ``tau = sqrt(6) sigma = 2/q``, written with SciPy's operations (the open support ``0 < x < 1`` of
    ``(times - loc)/scale``; ``2x/c`` below ``c = 1/2``, ``2(1 - x)/(1 - c)`` from it; divided by the scale),
    then multiplied by ``sqrt(6) sigma``."""
    sigma = 2.0 / (np.sqrt(6.0) * cost)
    tau = math.sqrt(6) * sigma
    loc, scale = -tau, 2 * tau
    x = np.asarray((times - loc) / scale, dtype=np.float64)
    cond = (0 < x) & (x < 1)
    out = np.zeros(np.shape(cond), np.float64)
    good = x[cond]
    pdf = np.where(good < 0.5, 2 * good / 0.5, 2 * (1 - good) / (1 - 0.5))
    np.place(out, cond, pdf / scale)
    return (np.sqrt(6.0) * sigma) * out


def victor_purpura_distance(test: np.ndarray, reference: np.ndarray, cost: float) -> float:
    """Elephant's ``victor_purpura_distance([test, reference], q)[0, 1]`` (its ``fast`` algorithm) for
    sorted spike times (s) and a finite cost ``q`` (Hz) >= 0, statement for statement."""
    a, b = np.sort(np.asarray(test, dtype=float)), np.sort(np.asarray(reference, dtype=float))
    if cost == 0.0:
        return float(abs(a.size - b.size))
    if a.size <= 0 or b.size <= 0:
        return float(max(a.size, b.size))
    if a.size < b.size:
        a, b = b, a
    min_dim, max_dim = b.size, a.size + 1
    cost_rows = np.asfortranarray(np.tile(np.arange(float(max_dim)), (2, 1)))
    decreasing_sequence = np.asfortranarray(cost_rows[:, ::-1])
    k = 1 - 2 * np.asfortranarray(triangular_kernel(np.atleast_2d(a).T - b, cost))
    for i in range(min_dim):
        accumulated_min = cost_rows[:, :-i - 1] + k[i:, i]
        accumulated_min[1, :b.size - i] = cost_rows[1, :b.size - i] + k[i, i:]
        accumulated_min = np.minimum(accumulated_min, cost_rows[:, 1:max_dim - i])
        acc_dim = accumulated_min.shape[1]
        accumulated_min[:, 0] = min(cost_rows[1, 1], accumulated_min[0, 0])
        accumulated_min += decreasing_sequence[:, -acc_dim - 1:-1]
        accumulated_min = np.minimum.accumulate(accumulated_min, axis=1)
        cost_rows[:, :acc_dim] = accumulated_min - decreasing_sequence[:, -acc_dim:]
    return float(cost_rows[0, -min_dim - 1])
