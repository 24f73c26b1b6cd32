"""comparisons.distances: Elephant's van Rossum arithmetic on plain arrays gives Elephant's own bits.

The expected values come from Elephant itself (``elephant.spike_train_dissimilarity.van_rossum_distance``
on ``neo.SpikeTrain`` objects), never from the code under test; equality is exact (``==``), not
approximate.
"""

from __future__ import annotations

import math
import warnings

import neo
import numpy as np
import pytest
import quantities as pq
from elephant.spike_train_dissimilarity import van_rossum_distance as elephant_vr

from comparisons import distances, metrics


def elephant(a: np.ndarray, b: np.ndarray, tau: float) -> float:
    stop = max([1.0] + [float(x.max()) for x in (a, b) if x.size])
    trains = [neo.SpikeTrain(x, units="s", t_start=0.0, t_stop=stop) for x in (a, b)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(elephant_vr(trains, time_constant=tau * pq.s)[0, 1])


def random_pairs(n_pairs: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    for _ in range(n_pairs):
        a = np.sort(rng.uniform(0.0, 1.0, rng.integers(0, 40)))
        kind = rng.integers(0, 3)
        if kind == 0:                      # jittered copy: the case of two backends' trains
            b = np.sort(a + rng.normal(0.0, 1e-4, a.size))
        elif kind == 1:                    # a grid-stamped copy with a spike missing or extra
            b = np.round(a / 1e-4) * 1e-4
            b = b[1:] if b.size and rng.random() < 0.5 else np.sort(np.append(b, rng.uniform(0, 1)))
        else:
            b = np.sort(rng.uniform(0.0, 1.0, rng.integers(0, 40)))
        yield a, b, float(rng.choice([1e-3, 2e-2, 0.1, 3.0]))


def test_random_trains_give_elephants_bits():
    for a, b, tau in random_pairs(300):
        assert distances.van_rossum_distance(a, b, tau) == elephant(a, b, tau), (a, b, tau)


@pytest.mark.parametrize("a, b", [
    (np.array([]), np.array([])),
    (np.array([0.01]), np.array([])),
    (np.array([]), np.array([0.2, 0.3])),
    (np.array([0.01, 0.02, 0.5]), np.array([0.01, 0.02, 0.5])),       # identical: the rounding floor
    (np.array([0.1, 0.1, 0.2]), np.array([0.1])),                      # coincident spikes
    (np.arange(1, 1001) * 1e-3, np.arange(1, 1001) * 1e-3 + 1e-4),     # 1000 regular spikes
])
@pytest.mark.parametrize("tau", [1e-3, 0.02, math.inf])
def test_edge_cases_give_elephants_bits(a, b, tau):
    assert distances.van_rossum_distance(a, b, tau) == elephant(a, b, tau)


def test_metrics_van_rossum_is_elephants_value():
    a, b = np.array([0.010, 0.030, 0.052]), np.array([0.0101, 0.0302, 0.0519, 0.07])
    assert metrics.van_rossum(a, b, 0.02, 0.1) == elephant(a, b, 0.02)


def elephant_vp(a: np.ndarray, b: np.ndarray, cost: float) -> float:
    from elephant.spike_train_dissimilarity import victor_purpura_distance as elephant_vp_distance
    stop = max([1.0] + [float(x.max()) for x in (a, b) if x.size])
    trains = [neo.SpikeTrain(x, units="s", t_start=0.0, t_stop=stop) for x in (a, b)]
    return float(elephant_vp_distance(trains, cost_factor=cost * pq.Hz)[0, 1])


def test_victor_purpura_of_random_trains_gives_elephants_bits():
    for a, b, tau in random_pairs(300, seed=2):
        cost = 1.0 / tau * 10.0                     # 3.3 Hz to 10 kHz (1/dt at 0.1 ms)
        assert distances.victor_purpura_distance(a, b, cost) == elephant_vp(a, b, cost), (a, b, cost)


@pytest.mark.parametrize("a, b", [
    (np.array([]), np.array([])),
    (np.array([0.01]), np.array([])),
    (np.array([0.01, 0.02, 0.5]), np.array([0.01, 0.02, 0.5])),
    (np.array([0.1, 0.1, 0.2]), np.array([0.1])),
    (np.array([0.0100]), np.array([0.0100 + 2e-4])),                   # exactly 2/q apart at q = 10 kHz
    (np.arange(1, 301) * 1e-3, np.arange(1, 301) * 1e-3 + 1e-4),
])
@pytest.mark.parametrize("cost", [0.0, 1.0, 1e4])
def test_victor_purpura_edge_cases_give_elephants_bits(a, b, cost):
    assert distances.victor_purpura_distance(a, b, cost) == elephant_vp(a, b, cost)
