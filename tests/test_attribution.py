"""Attribution of backend differences to conventions (comparisons.attribution), checked against answers
derived by hand: the grid predictions of reference.closed_forms, Shapley values recomputed as the mean
marginal contribution over every order of switching, the grouping rules of reference.conventions.

Rounding bound of the efficiency check: each Shapley value is a weighted sum of 2^(n-1) differences of
characteristic values v(S) (weights summing to 1), so each carries at most ~2^n eps max|v| of rounding and
their sum n 2^n eps max|v|. Spike-time measures of grid-locked trains: spike times k dt carry half an ulp
of the run's length T each, so a mean ISI (t_last - t_first)/(n - 1) or a latency is within 2 ulp(T) of
its grid value, and a difference of two within 4 ulp(T).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from comparisons import attribution as A
from comparisons.config import comparison_from_document
from comparisons.harness import Outcome, plan_variants
from models.drive import Drive
from models.loading import load_spec
from reference import closed_forms as cf
from comparisons.contract import twin_named
from reference.conventions import Conventions
from reports.html import waterfall

DT = 1e-4
N_STEPS = 5000
EPS = np.finfo(float).eps


def efficiency_bound(m: A.MeasureAttribution, n: int) -> float:
    """``n 2^n eps max|v(S)|`` (module docstring)."""
    return n * 2 ** n * EPS * max(abs(v) for v in m.values.values())


def shapley_by_orders(values: dict, n: int) -> list[float]:
    """Shapley values as the mean marginal contribution over all n! orders of switching (the definition,
    independent of the subset-weight formula the module uses)."""
    total = [0.0] * n
    orders = list(itertools.permutations(range(n)))
    for order in orders:
        switched = frozenset()
        for i in order:
            total[i] += values[switched | {i}] - values[switched]
            switched = switched | {i}
    return [t / len(orders) for t in total]


PAIRS = [("textbook", t, "reference") for t in ("reference-euler", "tutorial", "brian2-exact", "brian2-euler",
                                                "nengo", "nest-delta", "nest-delta-ps")] + \
        [("euler_tutorial", t, "reference") for t in ("snntorch-lapicque", "rockpool", "brian2-euler")] + \
        [("textbook", "brian2-exact", "nest-delta"), ("textbook", "brian2-euler", "nengo"),
         ("textbook", "nest-delta-ps", "brian2-euler"), ("euler_tutorial", "snntorch-lapicque", "rockpool")]


@pytest.mark.parametrize("preset, test, base", PAIRS, ids=[f"{p}-{t}-vs-{b}" for p, t, b in PAIRS])
def test_shapley_values_sum_to_the_whole_difference(preset, test, base):
    """Efficiency (sum = v(all) = m(test) - m(base)) to rounding, for every measure, and the values equal
    the mean over every order of switching."""
    spec = load_spec(preset)
    result = A.attribute(spec, twin_named(test), twin_named(base), dt=DT, n_steps=N_STEPS)
    n = len(result.players)
    assert result.runs == 2 ** n
    for name, m in result.measures.items():
        if not math.isfinite(m.total):
            continue
        shares = [c.value for c in m.contributions]
        assert abs(sum(shares) - m.total) <= efficiency_bound(m, n), (name, sum(shares), m.total)
        if not m.measure.distance:
            assert m.total == pytest.approx(m.test - m.base, abs=4 * np.spacing(max(abs(m.test), 1.0)))
        by_orders = shapley_by_orders(m.values, n)
        assert np.allclose(shares, by_orders, rtol=0, atol=efficiency_bound(m, n)), name


def single_field_variants() -> list[Conventions]:
    """The reference's conventions with one convention changed (crossing changes bring the timer along:
    one player of two dependent fields)."""
    base = Conventions()
    return [base.replace(integrator="euler"), base.replace(threshold=">="), base.replace(spike_stamp="start"),
            base.replace(refractory="ceil"), base.replace(refractory="timestep"),
            base.replace(refractory="dead-step"), base.replace(input_timing="delayed"),
            base.replace(record="before-reset"), base.replace(reset="subtract"),
            base.replace(reset="subtract-once"), base.replace(lower_clamp="v_reset"),
            base.replace(crossing="linear", refractory="timer"),
            base.replace(crossing="exact", refractory="timer")]


@pytest.mark.parametrize("variant", single_field_variants(), ids=str)
def test_a_single_convention_explains_everything(variant, textbook):
    """Twins that differ in exactly one convention (one player): it gets 100 % of every measure."""
    result = A.attribute_conventions(textbook, variant, Conventions(), A.default_drive(textbook, DT, N_STEPS))
    assert len(result.players) == 1
    assert result.players[0].fields == tuple(Conventions().differences(variant))
    for m in result.measures.values():
        assert len(m.contributions) == 1
        assert m.contributions[0].value == m.total or not math.isfinite(m.total)


def test_conventions_that_change_nothing_get_nothing(textbook):
    """Null player: without ties at threshold, ">" and ">=" give identical runs, so the threshold test gets
    0 of the latency difference and the start-of-step stamp all of it (-dt)."""
    test = Conventions(threshold=">=", spike_stamp="start")
    result = A.attribute_conventions(textbook, test, Conventions(), A.default_drive(textbook, DT, N_STEPS))
    latency = {c.player: c.value for c in result.measures["latency"].contributions}
    assert latency["threshold test"] == 0.0
    assert latency["spike time reported"] == pytest.approx(-DT, abs=4 * np.spacing(N_STEPS * DT))


#: Currents (x rheobase) at which neither the free time nor the latency of the textbook cell is a whole
#: number of steps (checked in the test): floor(x) + 1 = ceil(x) there.
FACTORS = (1.25, 1.5, 2.0, 5.0)


@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize("dt", [1e-4, 2.5e-4])
def test_brian2_vs_nest_is_one_step_of_refractory_counting(factor, dt, textbook):
    """Constant input, hand-derived from the grid predictions: Brian2's ISI is
    dt (n_b - 1) + dt (floor(T_free/dt) + 1), NEST's n_ref dt + dt ceil(T_free/dt), so with n_b = n_ref
    and T_free/dt not whole the difference is exactly -dt, all of it from the refractory counting (a
    uniform shift of the stamps leaves intervals alone, ">=" only matters at ties). The first spike:
    NEST at dt ceil(T_lat/dt), Brian2 at the start of that step, dt floor(T_lat/dt): -dt, all of it from
    the spike stamp."""
    current = factor * textbook.rheobase
    t_free, t_lat = float(cf.free_time(textbook, current)), float(cf.first_spike_latency(textbook, current))
    for x in (t_free / dt, t_lat / dt):
        assert abs(x - round(x)) > 1e-6
    n_steps = int(round(0.5 / dt))
    drive = Drive.constant([current], dt, n_steps)
    result = A.attribute(textbook, twin_named("brian2-exact"), twin_named("nest-delta"), drive)
    tol = 4 * np.spacing(n_steps * dt)
    isi, latency = result.measures["isi"], result.measures["latency"]
    assert isi.test == pytest.approx(float(cf.grid_isi(textbook, current, dt, "timestep")), abs=tol)
    assert isi.base == pytest.approx(float(cf.grid_isi(textbook, current, dt, "ge")), abs=tol)
    assert isi.total == pytest.approx(-dt, abs=tol)
    assert latency.base == pytest.approx(dt * math.ceil(t_lat / dt), abs=tol)
    assert latency.total == pytest.approx(-dt, abs=tol)
    shares = {m: {c.player: c.value for c in result.measures[m].contributions} for m in ("isi", "latency")}
    assert shares["isi"] == pytest.approx({"threshold test": 0.0, "spike time reported": 0.0,
                                           "refractory counting": -dt}, abs=tol)
    assert shares["latency"] == pytest.approx({"threshold test": 0.0, "spike time reported": -dt,
                                               "refractory counting": 0.0}, abs=tol)
    assert result.summary("isi") == ("brian2-exact vs nest-delta, mean ISI: refractory counting "
                                     f"{-dt * 1e3:+.4g} ms, everything else 0")


@pytest.mark.parametrize("test, base, expected", [
    ("brian2-exact", "nest-delta", [("threshold",), ("spike_stamp",), ("refractory",)]),
    ("nengo", "brian2-exact", [("crossing", "refractory"), ("spike_stamp",)]),
    ("brian2-euler", "nengo", [("integrator", "crossing", "refractory"), ("spike_stamp",)]),
    ("nest-delta-ps", "nest-delta", [("crossing", "spike_stamp", "refractory")]),
    ("snntorch-lapicque", "reference", [("integrator",), ("refractory",), ("record",)]),
    ("rockpool", "reference", [("threshold",), ("reset",)]),
])
def test_dependent_conventions_are_switched_together(test, base, expected):
    """The groups follow from the constraints by hand: an exact crossing needs the exact integrator
    (Euler vs exact crossing: integrator joins), a timer goes with a crossing time and a step count with
    grid spikes (crossing + refractory), a 'crossing' stamp needs a crossing time (ps: the stamp joins);
    grid-only differences stay single. Every coalition of the groups is a valid record."""
    a, b = twin_named(test).conventions, twin_named(base).conventions
    group = A.players(b, a)
    assert [p.fields for p in group] == expected
    for s in A.coalitions(len(group)):
        Conventions(**A.mixed(b, a, [f for i in s for f in group[i].fields]))


def test_switching_one_dependent_field_alone_is_refused():
    """The grouping is needed: switching only Nengo's crossing onto Brian2-Euler's rule, only its timer, or
    both without the exact integrator, is refused by the record itself; the three together are a rule."""
    a, b = twin_named("nengo").conventions, twin_named("brian2-euler").conventions
    for fields in (["crossing"], ["refractory"], ["crossing", "refractory"]):
        with pytest.raises(ValueError):
            Conventions(**A.mixed(b, a, fields))
    Conventions(**A.mixed(b, a, ["integrator", "crossing", "refractory"]))


def test_for_outcome_pairs_and_variants():
    """A comparison of reference, Brian2, NEST, Nengo and snnTorch on the textbook cell: each backend vs
    the reference (snnTorch on the t_ref = 0 substitute it runs), then Brian2 vs NEST, Brian2 vs Nengo and
    NEST vs Nengo; Brian2 vs NEST says -dt of ISI from the refractory counting."""
    doc = {"name": "textbook", "neuron": {"tau_m": "20 ms", "E_L": "-70 mV", "V_th": "-50 mV",
                                          "V_reset": "-65 mV", "R": "100 Mohm", "t_ref": "2 ms"},
           "simulation": {"dt": "0.1 ms", "duration": "300 ms",
                          "backends": ["reference", "brian2", "nest", "nengo", "snntorch"]}}
    comparison = comparison_from_document(doc)
    outcome = Outcome(comparison, [])
    outcome.variants = plan_variants(comparison, outcome)
    found = A.for_outcome(comparison, outcome)
    assert [(a.test, a.base, a.variant) for a in found] == [
        ("brian2", "reference", ""), ("nest", "reference", ""), ("nengo", "reference", ""),
        ("snntorch", "reference", "t_ref=0"), ("brian2", "nest", ""), ("brian2", "nengo", ""),
        ("nest", "nengo", "")]
    brian2_nest = found[4]
    assert brian2_nest.summary("isi") == "brian2 vs nest, mean ISI: refractory counting -0.1 ms, everything else 0"
    assert [a.runs for a in found] == [4, 4, 2, 1, 8, 4, 4]


def test_waterfall_geometry():
    """Shares +2 and -1 (total 1): running sums 0 -> 2 -> 1 span [0, 2]; bars at [0, 100] %, [50, 100] %,
    the whole difference at [0, 50] %, zero at the left edge."""
    m = A.MeasureAttribution(A.MEASURES["isi"], 3.0, 2.0, 1.0,
                             (A.Contribution("a", 2.0), A.Contribution("b", -1.0)), 0.0)

    class Pair:
        measures = {"isi": m}

    shown = waterfall(Pair, "isi")
    assert [(r["left"], r["width"], r["css"]) for r in shown["rows"]] == [("0.00", "100.00", "pos"),
                                                                          ("50.00", "50.00", "neg")]
    assert shown["total_bar"] == {"left": "0.00", "width": "50.00"} and shown["zero"] == "0.00"
    assert shown["summary"] == "a +2000 ms, b -1000 ms"
