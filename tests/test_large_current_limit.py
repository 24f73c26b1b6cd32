"""The LIF's large-current limit row (:mod:`comparisons.limits`): the measured relative difference of the
f-I rate from the non-leaky rate of the same C, against its closed form, within the resolution propagated
from the ISI bound.

Hand values on ``textbook`` (tau 20 ms, E_L -70, V_th -50, V_reset -65 mV, R 100 MOhm, t_ref 2 ms, so
C = 200 pF) at I = 0.6 nA, dt = 0.1 ms: V_inf = -10 mV, T_free = 20 ln(55/40) ms = 6.3690 ms, ISI 8.3690 ms;
the non-leaky ISI is 2 ms + 200 pF 15 mV/0.6 nA = 7 ms; rho = 7/8.3690 - 1 = -0.16359; with e = dt the
resolution is b = 7 x 0.1/(8.3690 x 8.2690) = 0.010115.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from comparisons import limits
from models.loading import load_spec
from reference import closed_forms as cf

DT = 1e-4


@pytest.fixture(scope="module")
def lif():
    return load_spec("textbook")


def nonleaky_of(spec):
    return load_spec("integrate_and_fire").replace(capacitance=spec.C, V_th=spec.V_th, V_reset=spec.V_reset,
                                                    V_init=spec.V_reset, t_ref=spec.t_ref)


def test_hand_values(lif):
    i = 0.6e-9
    isi = 2e-3 + 20e-3 * math.log(55 / 40)
    assert float(cf.isi(lif, i)) == pytest.approx(isi, rel=1e-12)
    assert float(limits.nonleaky_isi(lif, i)) == pytest.approx(7e-3, rel=1e-12)
    rho, _ = cf.large_current_limit(lif, np.array([i]))
    assert rho[0] == pytest.approx(7e-3 / isi - 1, rel=1e-12) and rho[0] == pytest.approx(-0.16359, abs=1e-5)
    b = limits.resolution(lif, np.array([i]), np.array([DT]))[0]
    assert b == pytest.approx(7e-3 * DT / (isi * (isi - DT)), rel=1e-12) and b == pytest.approx(0.010115, abs=1e-6)


def test_the_bound_is_reached_at_the_edge_of_the_isi_interval(lif):
    """A mean ISI exactly e shorter than the exact one puts rho_meas exactly b above rho; e longer, less."""
    i = np.array([0.6e-9])
    isi = float(cf.isi(lif, i[0]))
    rho = cf.large_current_limit(lif, i)[0][0]
    b = limits.resolution(lif, i, np.array([DT]))[0]
    short = limits.nonleaky_isi(lif, i)[0] / (isi - DT) - 1
    long = limits.nonleaky_isi(lif, i)[0] / (isi + DT) - 1
    assert short - rho == pytest.approx(b, rel=1e-12) and 0 < rho - long < b


def rows_of(spec, currents, rates, per_isi=DT):
    currents = np.asarray(currents, dtype=float)
    per = np.full(currents.shape, per_isi)
    resolved = np.asarray(cf.isi(spec, currents)) > 2 * per
    return {r.metric: r for r in limits.large_current_rows("fi_curve", "x", "closed_form", spec, currents,
                                                            rates, per, resolved)}


def test_the_row_sits_at_the_largest_informative_current(lif):
    """Up to 10 nA the leak's effect shrinks as 1/I^2 while the resolutions b and b_IF = dt/(ISI_IF - dt)
    tend to dt/ISI_IF: the row goes to the largest current with |rho| > b + b_IF, and no current above it
    is informative."""
    currents = np.linspace(0.3e-9, 10e-9, 98)
    rates = cf.rate(lif, currents)
    rows = rows_of(lif, currents, rates)
    chosen = rows["large_current_limit_current"].value
    assert chosen < currents[-1]
    rho, _ = cf.large_current_limit(lif, currents)
    isi_if = 2e-3 + lif.C * (lif.V_th - lif.V_reset) / currents
    b = limits.resolution(lif, currents, np.full(currents.size, DT)) + DT / (isi_if - DT)
    j = int(np.flatnonzero(currents == chosen)[0])
    assert abs(rho[j]) > b[j] and np.all(np.abs(rho[j + 1:]) <= b[j + 1:])
    assert rows["large_current_limit_closed_form"].value == rho[j]
    assert rows["large_current_limit_diff"].value == pytest.approx(0.0, abs=1e-12)   # exact rates


def test_grid_lif_passes_and_grid_if_fails(lif):
    """The reference's exact grid ISI of the LIF (t_ref + dt (floor(T_free/dt) + 1)) passes the row; the
    same grid rule run without leak (same C: an adapter whose leak is off) fails it."""
    currents = np.linspace(0.0, 3 * lif.rheobase, 31)
    per = np.full(currents.size, DT)
    lif_rates = np.where(currents > lif.rheobase, 1 / cf.grid_isi(lif, np.maximum(currents, 1e-30), DT), 0.0)
    row = rows_of(lif, currents, lif_rates)["large_current_limit_diff"]
    assert row.passed and row.tolerance == pytest.approx(limits.resolution(
        lif, np.array([currents[-1]]), per[:1])[0], rel=1e-12)
    if_rates = np.where(currents > 0, 1 / cf.grid_isi(nonleaky_of(lif), np.maximum(currents, 1e-30), DT), 0.0)
    wrong = rows_of(lif, currents, if_rates)["large_current_limit_diff"]
    assert not wrong.passed and abs(wrong.value) > 10 * wrong.tolerance


def test_no_row_without_leak_or_without_an_informative_current(lif):
    spec = load_spec("integrate_and_fire")
    currents = np.linspace(0.1e-9, 3e-9, 10)
    assert rows_of(spec, currents, cf.rate(spec, currents)) == {}
    # a step so coarse that no current's leak effect exceeds twice the resolution
    coarse = rows_of(lif, np.array([0.6e-9]), cf.rate(lif, np.array([0.6e-9])), per_isi=3e-3)
    assert coarse == {}


def test_the_harness_writes_the_row_once_per_backend(lif):
    from comparisons import compare

    result = compare("textbook", backends=["reference"], isolated=False)
    rows = result.metrics[result.metrics.metric == "large_current_limit_diff"]
    assert list(rows.backend) == ["reference"] and list(rows.stimulus) == ["fi_curve"]
    assert bool(rows.passed.iloc[0]) and rows.tolerance.iloc[0] > 0
