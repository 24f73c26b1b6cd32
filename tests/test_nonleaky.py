"""The integrate-and-fire without leak (``leak = false``: ``C dV/dt = I``), the seed tutorial's first model.

Hand-derived values use the shipped preset ``integrate_and_fire`` (C = 100 pF, V_th = 20 mV, V_reset = 0,
t_ref = 2 ms): at I = 0.5 nA the membrane rises by I/C = 5 V/s, so it takes C V_th/I = 4 ms from the reset
to the threshold, the ISI is 6 ms and the rate 1/6 ms = 166.67 Hz; the seed's f(I) = I/(C V_th + t_ref I).
NIR's ``IF`` node read into this cell is tested in tests/test_nir.py and tests/test_nir_end_to_end.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from comparisons import backends
from models.drive import Drive
from models import nest_nonleaky
from models.errors import NotRepresentable, UserInputError
from models.loading import load_spec, nonleaky_preset_names, spec_from_document, spec_to_document
from models.result import RunSettings
from reference import closed_forms as cf
from comparisons.contract import twin_of
from reference.conventions import Conventions
from reference.engine import simulate

PRESET = "integrate_and_fire"
DT = 1e-4


@pytest.fixture(scope="module")
def spec():
    return load_spec(PRESET)


def doc(**neuron):
    return {"name": "cell", "neuron": {"V_th": "20 mV", "V_reset": "0 mV", "t_ref": "2 ms", **neuron}}


# ---------------------------------------------------------------------------------------- specification

def test_preset_is_the_seed_cell(spec):
    assert PRESET in nonleaky_preset_names()
    assert not spec.leak and spec.C == pytest.approx(100e-12) and spec.rheobase == 0.0
    assert spec.tau_m == math.inf and spec.R == math.inf and spec.g_L == 0.0
    assert spec.V_init == 0.0 and spec.V_reset == 0.0 and spec.t_ref == pytest.approx(2e-3)
    si = spec.to_si_dict()
    assert si["leak"] is False and "tau_m" not in si and "E_L" not in si


def test_round_trip(spec):
    assert spec_from_document(spec_to_document(spec)) == spec


@pytest.mark.parametrize("neuron, words", [
    ({"g_L": "0 nS", "C": "100 pF", "E_L": "0 mV"}, "leak = false with C"),         # g_L = 0: ambiguous, refused
    ({"C": "100 pF", "E_L": "0 mV"}, "add leak = false"),             # C alone on a leaky cell
    ({"leak": False, "C": "100 pF", "E_L": "0 mV"}, "must not be given with leak = false"),
    ({"leak": False, "C": "100 pF", "R": "100 Mohm"}, "must not be given with leak = false"),
    ({"leak": False, "C": "100 pF", "tau_m": "20 ms"}, "must not be given with leak = false"),
    ({"leak": False, "C": "100 pF", "g_L": "0 nS"}, "must not be given with leak = false"),
    ({"leak": False}, "C"),                                          # C is required
    ({"leak": "no", "C": "100 pF"}, "true or false"),
    ({"leak": False, "C": "100 F"}, "unit slip"),
    ({"leak": False, "C": "100 pF", "tau_syn": "5 ms"}, "not supported with leak = false"),
    ({"leak": False, "C": "100 pF", "reset": "subtract"}, "with leak = false"),
])
def test_refusals_name_the_reason(neuron, words):
    with pytest.raises(UserInputError) as info:
        spec_from_document(doc(**neuron))
    assert words in str(info.value)


# ------------------------------------------------------------------------------------------ closed forms

def test_closed_forms_by_hand(spec):
    i = 0.5e-9
    assert float(cf.free_time(spec, i)) == pytest.approx(4e-3, rel=1e-12)
    assert float(cf.isi(spec, i)) == pytest.approx(6e-3, rel=1e-12)
    assert float(cf.rate(spec, i)) == pytest.approx(1 / 6e-3, rel=1e-12)
    # the seed's formula (reset 0): f(I) = I / (C V_th + t_ref I)
    currents = np.array([1e-11, 1e-10, 1e-9, 1e-8])
    assert np.allclose(cf.rate(spec, currents), currents / (spec.C * spec.V_th + spec.t_ref * currents),
                       rtol=1e-12)
    # rheobase 0: nothing at or below 0, something for any positive current; saturation 1/t_ref
    assert np.all(cf.rate(spec, [-1e-9, 0.0]) == 0.0) and cf.rate(spec, 1e-15) > 0
    assert float(cf.rate(spec, 1.0)) < 1 / spec.t_ref and float(cf.rate(spec, 1.0)) == pytest.approx(500, rel=1e-6)
    # latency from V_init, subthreshold ramp V0 + I t/C
    assert float(cf.first_spike_latency(spec, i, v0=0.01)) == pytest.approx(2e-3, rel=1e-12)
    assert float(cf.subthreshold(spec, 1e-3, i)) == pytest.approx(5e-3, rel=1e-12)
    with pytest.raises(ValueError, match="no steady state"):
        cf.v_inf(spec, i)


def test_reset_not_zero_generalises_the_seed():
    """V_reset = -10 mV, V_th = 20 mV: f(I) = I/(C (V_th - V_reset) + t_ref I); 1 nA: 3 ms free, 5 ms ISI."""
    s = spec_from_document(doc(leak=False, C="100 pF", V_reset="-10 mV"))
    assert float(cf.isi(s, 1e-9)) == pytest.approx(5e-3, rel=1e-12)
    assert float(cf.rate(s, 1e-9)) == pytest.approx(1e-9 / (100e-12 * 0.03 + 2e-3 * 1e-9), rel=1e-12)


def test_piecewise_spike_times_agree_with_constant(spec):
    i = 0.37e-9
    samples = np.full(3000, i)
    assert np.allclose(cf.piecewise_spike_times(spec, samples, DT), cf.spike_times(spec, i, 0.3), rtol=0,
                       atol=1e-15)


def test_default_currents_avoid_whole_step_free_times(spec):
    """sqrt(2) in the current scale: the default currents' free times are never whole numbers of steps."""
    for factor in (1.5, 3.0):
        steps = float(cf.free_time(spec, cf.relative_current(spec, factor))) / DT
        assert abs(steps - round(steps)) > 0.01
    assert float(cf.relative_current(spec, 0.75)) == 0.0   # "below": the rheobase 0 itself


def test_large_current_limit_of_the_lif():
    """The textbook LIF's rate tends to the non-leaky rate of the same C; the relative difference follows
    its leading-order closed form -(a - 1/2) tau/(x (x t_ref + tau)) to O(1/x) of itself."""
    lif = load_spec("textbook")
    currents = np.array([1e-8, 1e-7, 1e-6])
    diff, leading = cf.large_current_limit(lif, currents)
    assert np.all(np.abs(diff[1:]) < np.abs(diff[:-1]))          # it tends to the limit
    x = lif.R * currents / (lif.V_th - lif.V_reset)
    assert np.all(np.abs(diff / leading - 1) < 3 / x)


# ------------------------------------------------------------------------------------------ the reference

def test_exact_and_euler_coincide_bit_for_bit(spec):
    rng = np.random.default_rng(1)
    drive = Drive(DT, rng.uniform(-0.2e-9, 1.5e-9, (2000, 1)).repeat(4, axis=0), np.ones(1))
    a = simulate(spec, drive, Conventions(integrator="exact"))
    b = simulate(spec, drive, Conventions(integrator="euler"))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_exact_crossing_matches_the_closed_form(spec):
    i = 0.37e-9
    drive = Drive.constant([i], DT, 3000)
    _, _, t = simulate(spec, drive, Conventions(crossing="exact", refractory="timer"))
    want = cf.spike_times(spec, i, 0.3)
    assert t.size == want.size and np.max(np.abs(t - want)) < 1e-12


# ----------------------------------------------------------------------------------------------- backends

#: Constant current of every grid check: free time 5.405... ms, not a whole number of steps.
CURRENT = 0.37e-9


def constant_isi(spec, name, settings):
    module = backends.get(name)
    reason = module.representable(spec, settings)
    assert reason is None, reason
    result = module.run(spec, Drive.constant([CURRENT], DT, settings.n_steps), settings)
    return result, np.diff(result.spike_trains()[0])


@pytest.mark.parametrize("name, rule", [("reference", "reference"), ("brian2", "timestep")])
def test_backend_isi_is_its_exact_grid_prediction(spec, name, rule):
    settings = RunSettings(DT, 3000)
    _, isi = constant_isi(spec, name, settings)
    assert isi.size > 10 and np.allclose(isi, cf.grid_isi(spec, CURRENT, DT, rule), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["snntorch", "rockpool"])
def test_no_refractory_backends_run_the_t_ref_0_cell(spec, name):
    """snnTorch (Leaky, beta = 1) and Rockpool (tau_mem = inf) have no refractory period: they refuse the
    preset and run its t_ref = 0 substitute, whose grid ISI is dt (floor(T_free/dt) + 1) (strict >; Rockpool's
    >= is the same off the grid points) -- constant for snnTorch's reset to zero, and on average for Rockpool's
    subtraction, which carries the overshoot."""
    module = backends.get(name)
    assert "refractory" in module.representable(spec, RunSettings(DT, 3000))
    sub = spec.replace(t_ref=0.0)
    result, isi = constant_isi(sub, name, RunSettings(DT, 3000))
    grid = float(cf.grid_isi(sub, CURRENT, DT))
    if name == "snntorch":
        assert np.allclose(isi, grid, rtol=0, atol=1e-12)
    else:   # subtraction: mean ISI T_free within a step
        assert abs(np.mean(isi) - float(cf.free_time(sub, CURRENT))) <= DT
    twin = twin_of(name, RunSettings(DT, 3000))
    v, _, t = twin.simulate(sub, Drive.constant([CURRENT], DT, 3000))
    assert np.max(np.abs(result.v - v)) <= 1e-12 * sub.V_th and np.array_equal(np.rint(t / DT),
                                                                                np.rint(result.spike_time / DT))


def test_refusing_backends_say_why(spec):
    assert "SpikingRectifiedLinear" in backends.get("nengo").representable(spec, RunSettings(DT, 100))


# ---------------------------------------------------------------------------------------------- end to end

def test_preset_end_to_end():
    from comparisons import compare

    result = compare(PRESET, backends=["reference", "brian2", "nest", "nengo"], isolated=False)
    assert result.verdict == "pass", result.failed
    assert set(result.outcome.not_representable) >= {"nest", "nengo"}   # NEST: 500 ms > its 2245 steps
    assert "2245 steps" in result.outcome.not_representable["nest"]
    rows = result.metrics
    assert (rows[(rows.backend == "brian2") & rows.metric.str.startswith("contract")].passed == True).all()  # noqa: E712


# ------------------------------------------------------------------------ NEST: iaf_psc_delta, tau_m = 2^53 h

@pytest.mark.parametrize("c_pf", [100.0, 1.0, 281.0, 3e12, 0.001])
@pytest.mark.parametrize("dt", [1e-4, 2.5e-5, 1e-3, 3e-6])
def test_nest_propagators_are_the_nonleaky_increment(c_pf, dt):
    """NEST's pre_run_hook arithmetic (P33 = exp(-h/tau_m), P30 = 1/C_m (1 - P33) tau_m) at tau_m = 2^53 h:
    P33 = 1 - 2^-53 and P30 = fl(fl(1/C) h), within 2 roundings of h/C; at 2^54 h P33 rounds to 1 and
    P30 is exactly 0 (1 - P33 is a cancellation, not expm1): no larger tau_m integrates at all."""
    from fractions import Fraction

    h = nest_nonleaky.resolution_ms(dt)
    p33, p30 = nest_nonleaky.propagators(c_pf, h)
    assert p33 == 1.0 - 2.0 ** -53 and 1.0 - p33 == 2.0 ** -53
    exact = Fraction(h) / Fraction(c_pf)
    assert abs(Fraction(p30) - exact) <= 2 * 2.0 ** -53 * exact
    tau = 2.0 * nest_nonleaky.tau_m(h)
    assert math.exp(-h / tau) == 1.0 and 1 / c_pf * (1 - math.exp(-h / tau)) * tau == 0.0


def test_nest_float_leak_is_at_most_one_ulp_per_step():
    """fl(P33 y) = y - ulp(y) off powers of two (y - ulp/2 on them): |fl(P33 y) - y| <= 2^-52 |y|, 0 stays 0."""
    p33 = 1.0 - 2.0 ** -53
    y = np.random.default_rng(3).uniform(1e-6, 1e3, 10_000)
    assert np.array_equal(p33 * y, y - np.spacing(y))
    powers = 2.0 ** np.arange(-20, 10)
    assert np.array_equal(p33 * powers, powers - np.spacing(powers) / 2)
    assert p33 * 0.0 == 0.0


def test_nest_bound_constant_is_the_contracts():
    from comparisons.contract import VOLTAGE_RTOL

    assert nest_nonleaky.CONTRACT_RTOL == VOLTAGE_RTOL


def test_nest_max_steps_by_hand(spec):
    """The preset: Y = M = S = V_th - V_reset = G, B(m) = u G (4 m + 27) <= 1e-12 G => m <= 2245."""
    g = spec.V_th - spec.V_reset
    assert nest_nonleaky.voltage_bound(spec, 10, 0.0) == pytest.approx(2.0 ** -53 * g * 67, rel=1e-12)
    assert nest_nonleaky.max_steps(spec) == math.floor((1e-12 * 2.0 ** 53 - 27) / 4) == 2245


def test_nest_runs_the_nonleaky_cell_on_its_grid_prediction_and_twin(spec):
    """Constant currents for the longest run NEST represents: the >= grid ISI t_ref + dt ceil(T_free/dt)
    exactly, identical spike steps to the twin nest-delta (which integrates V + dt I/C), voltages within
    the rounding bound B(n) and the contract's 1e-12 (V_th - V_reset). The slowest current climbs for
    the whole run without a spike: the bound's worst case, a free stretch of n steps."""
    n = nest_nonleaky.max_steps(spec)
    g = spec.V_th - spec.V_reset
    slow = 0.99 * spec.C * g / (n * DT)
    currents = [CURRENT, 1.5e-9, 3e-11, slow, 0.0]
    settings = RunSettings(DT, n)
    drive = Drive.constant(currents, DT, n)
    result = backends.get("nest").run(spec, drive, settings)
    for j, current in enumerate(currents[:3]):
        isi = np.diff(result.spike_time[result.spike_neuron == j])
        assert isi.size >= 1 and np.allclose(isi, cf.grid_isi(spec, current, DT, "ge"), rtol=0, atol=1e-12)
    assert not np.any(result.spike_neuron >= 3)
    v, neuron, time = twin_of("nest", settings).simulate(spec, drive)
    assert np.array_equal(result.spike_neuron, neuron) and np.array_equal(np.rint(result.spike_time / DT),
                                                                          np.rint(time / DT))
    err = np.abs(result.v - v)
    assert err.max() <= nest_nonleaky.voltage_bound(spec, n) <= 1e-12 * g
    assert err[:, 3].max() > 0 and np.all(err[:, 4] == 0.0)   # the slow climb leaks; y = 0 stays exact


def test_nest_nonleaky_under_varying_input_follows_its_twin(spec):
    """A drive that rises, falls below zero and rises again through the step-current generator: the
    same spike steps as the twin and voltages within the bound with the drive's downward excursion.
    At scale 0.5 the first climb is 0.4 mV a step, V_th reached exactly after 50 steps: NEST's leak
    (an ulp) keeps it a hair below, the twin fires -- a rounding-decided spike, which the contract's
    rounding-sensitive rule names and leaves out (its verdicts pass)."""
    from comparisons import contract

    n = 1500
    k = np.arange(n)
    wave = np.where(k < 300, 0.8e-9, np.where(k < 340, -0.2e-9, 0.5e-9 * (1 + np.sin(k / 50.0))))
    drive = Drive(DT, wave[:, None], np.array([0.93, 0.37, 0.5]))
    settings = RunSettings(DT, n)
    result = backends.get("nest").run(spec, drive, settings)
    v, neuron, time = twin_of("nest", settings).simulate(spec, drive)
    mine, theirs = result.spike_neuron < 2, neuron < 2
    assert np.count_nonzero(mine) > 10
    assert np.array_equal(result.spike_neuron[mine], neuron[theirs])
    assert np.array_equal(np.rint(result.spike_time[mine] / DT), np.rint(time[theirs] / DT))
    excursion = nest_nonleaky.negative_excursion(spec, drive)
    assert excursion == pytest.approx(40 * DT * 0.93 * 0.2e-9 / spec.C, rel=1e-12)
    assert np.max(np.abs(result.v[:, :2] - v[:, :2])) <= nest_nonleaky.voltage_bound(spec, n, excursion)
    rows = {r.metric: r for r in contract.contract_rows("varying", "nest", spec, drive, settings, result)}
    assert rows["contract_rounding_sensitive_neurons"].value == 1
    assert rows["contract_spike_steps"].passed and rows["contract_voltage_max_abs"].passed


def test_nest_refuses_what_the_bound_does_not_cover(spec):
    nest = backends.get("nest")
    n = nest_nonleaky.max_steps(spec)
    assert nest.representable(spec, RunSettings(DT, n)) is None
    reason = nest.representable(spec, RunSettings(DT, n + 1))
    assert "one ulp" in reason and f"{n} steps" in reason and "1e-12" in reason
    assert "no digit" in nest.representable(spec, RunSettings(DT, 100, options=(("model", "iaf_psc_delta_ps"),)))
    # a deep negative excursion widens every term of the bound: refused by run(), which sees the drive
    drive = Drive(DT, np.r_[np.full(1000, -50e-9), np.full(1000, 1e-9)][:, None], np.ones(1))
    with pytest.raises(NotRepresentable, match="one ulp"):
        nest.run(spec, drive, RunSettings(DT, 2000))


def test_nest_nonleaky_comparison_passes(tmp_path, spec):
    """A comparison short enough for NEST (200 ms runs): every verdict of NEST passes, contract included."""
    from comparisons import compare

    cell = tmp_path / "if_short.toml"
    cell.write_text(
        '[neuron]\nleak = false\nC = "100 pF"\nV_th = "20 mV"\nV_reset = "0 mV"\nt_ref = "2 ms"\n'
        '[simulation]\nduration = "200 ms"\nbackends = ["reference", "nest"]\n[fi_curve]\nduration = "200 ms"\n')
    result = compare(str(cell), isolated=False)
    assert result.verdict == "pass", result.failed
    assert "nest" not in result.outcome.not_representable
    rows = result.metrics[result.metrics.backend == "nest"]
    contract = rows[rows.metric.isin(["contract_spike_steps", "contract_voltage_max_abs"])]
    assert len(contract) and (contract.passed == True).all()  # noqa: E712
    assert set(rows.stimulus) >= {"fi_curve", "convergence"}
