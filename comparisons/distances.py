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
