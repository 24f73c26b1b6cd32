"""The Rockpool backend (t_ref = 0, subtractive reset) against closed forms and exact grid predictions."""

import math

import numpy as np
import pytest

from comparisons.stimuli import Step
from models import rockpool_
from reference import backend as reference_
from models.drive import Drive
from models.errors import NotRepresentable
from models.loading import plain_preset_names
from models.loading import load_spec
from models.result import RunSettings
from reference import closed_forms as cf

DT = 1e-4
EPS = np.finfo(float).eps
CURRENTS = np.array([210e-12, 250e-12, 300e-12, 500e-12, 1e-9])


@pytest.fixture
def cell(textbook):
    """The textbook cell without refractory period (Rockpool has none)."""
    return textbook.replace(t_ref=0.0)


def rounding_bound(spec, dt, v_scale):
    """Two exact integrators of the same piecewise-constant input differ by rounding only: each step
    rounds a handful (<= 4) of terms of size <= v_scale (V) in either code (Rockpool on V - V_reset, the
    reference on V), the propagators differ by a few ulps, and every error is damped by
    a = exp(-dt/tau) per step: the sum stays below 8 eps v_scale (1 + 1/(1 - a))."""
    a = math.exp(-dt / spec.tau_m)
    return 8 * EPS * v_scale * (1 + 1 / (1 - a))


def free_time_from(spec, current, u):
    """Time (s) for the free membrane to go from V_reset + u to V_th (closed form)."""
    return float(cf.time_to_threshold(spec, current, spec.V_reset + u))


def subtractive_spike_steps(spec, current, dt, n_steps):
    """Exact grid prediction for exact exponential steps, a >= threshold and reset by subtraction, in
    the one-spike-per-step regime. From V_reset + u the next spike is m = ceil(T(u)/dt) steps later
    (closed-form latency T), and the membrane then lands at the closed-form value after m steps minus
    the threshold (V_th - V_reset)."""
    v_inf = float(cf.v_inf(spec, current))
    theta = spec.V_th - spec.V_reset
    u, k, steps = spec.V_init - spec.V_reset, 0, []
    while True:
        m = max(1, math.ceil(free_time_from(spec, current, u) / dt))
        if k + m > n_steps:
            return np.array(steps)
        k += m
        u_end = v_inf - spec.V_reset + (spec.V_reset + u - v_inf) * math.exp(-m * dt / spec.tau_m)
        u = u_end - theta
        assert 0 <= u < theta  # one spike per step: the prediction's own domain
        steps.append(k)


def test_spikes_follow_the_subtractive_grid_prediction(cell):
    """Spike steps equal the closed-form recurrence exactly; every ISI is a whole number of steps in
    [ceil(T(Delta)/dt), ceil(T_free/dt)], Delta = (1 - a)(V_inf - V_th) the largest overshoot, hence within
    one step of T_free (T_free - T(Delta) = tau ln(u_inf/(u_inf - Delta)) < dt)."""
    duration = 0.3
    n = int(round(duration / DT))
    result = rockpool_.run(cell, Drive.constant(CURRENTS, DT, n), RunSettings(DT, n, record_v=False))
    assert result.v is None
    a = math.exp(-DT / cell.tau_m)
    for train, current in zip(result.spike_trains(), CURRENTS):
        steps = np.rint(train / DT).astype(int)
        np.testing.assert_array_equal(steps, subtractive_spike_steps(cell, current, DT, n))
        delta = (1 - a) * (float(cf.v_inf(cell, current)) - cell.V_th)
        shortest = math.ceil(free_time_from(cell, current, delta) / DT)
        longest = math.ceil(float(cf.free_time(cell, current)) / DT)
        assert np.all((np.diff(steps) >= shortest) & (np.diff(steps) <= longest))
        assert np.all(np.abs(np.diff(train) - float(cf.isi(cell, current))) < DT)


def test_reset_lands_at_v_reset_plus_the_overshoot(cell):
    """The documented reset difference: after a spike V is in [V_reset, V_reset + Delta), not V_reset."""
    n = 3000
    current = 1e-9
    result = rockpool_.run(cell, Drive.constant([current], DT, n), RunSettings(DT, n))
    k = np.rint(result.spike_time / DT).astype(int)
    delta = -math.expm1(-DT / cell.tau_m) * (float(cf.v_inf(cell, current)) - cell.V_th)
    after = result.v[k, 0] - cell.V_reset
    assert np.all((after >= -EPS) & (after < delta))
    assert np.any(after > 1e-6)  # it really differs from the reset to V_reset


def test_several_spikes_per_step_obey_the_count_identity():
    """euler_tutorial, 5 nA, dt = 1 ms (T_free ~ 0.3 ms): several spikes per step. With u = V - V_reset,
    c = (1 - a)(V_inf - V_reset) and u_k in [0, theta) after every step, summing
    u_k+1 = a u_k + c - theta n_k+1 over K steps gives
    theta S = K c - (1 - a) sum_{k<K} u_k + u_0 - u_K, so S lies in
    ((K c - (1 - a)(u_0 + (K - 1) theta) + u_0 - theta)/theta, (K c - (1 - a) u_0 + u_0)/theta]."""
    spec = load_spec("euler_tutorial")
    dt, K, current = 1e-3, 50, 5e-9
    result = rockpool_.run(spec, Drive.constant([current], dt, K), RunSettings(dt, K, record_v=False))
    a, theta = math.exp(-dt / spec.tau_m), spec.V_th - spec.V_reset
    c = (1 - a) * (float(cf.v_inf(spec, current)) - spec.V_reset)
    u0 = spec.V_init - spec.V_reset
    low = (K * c - (1 - a) * (u0 + (K - 1) * theta) + u0 - theta) / theta
    high = (K * c - (1 - a) * u0 + u0) / theta
    count = result.spike_time.size
    assert low < count <= high
    assert np.max(np.unique(result.spike_time, return_counts=True)[1]) >= 2


def test_subthreshold_step_is_the_closed_form(cell):
    n = 500
    stim = Step("s", amplitude=150e-12, start=10e-3, stop=30e-3)
    result = rockpool_.run(cell, stim.drive(DT, n), RunSettings(DT, n))
    t = np.arange(n + 1) * DT
    v_on = cf.subthreshold(cell, t - 10e-3, 150e-12, v0=cell.E_L)
    v_off = cf.subthreshold(cell, t - 30e-3, 0.0, v0=float(cf.subthreshold(cell, 20e-3, 150e-12)))
    expected = np.where(t <= 10e-3 + DT / 2, cell.E_L, np.where(t <= 30e-3 + DT / 2, v_on, v_off))
    assert np.max(np.abs(result.v[:, 0] - expected)) <= rounding_bound(cell, DT, abs(cell.E_L))


def test_subthreshold_varying_input_equals_the_exact_integrator(cell):
    """Every sample a different current (one evolve per step) and per-neuron scales: sample by sample the
    reference's exact trace to rounding; a one-step input shift would move V by ~R I (1 - a) ~ 50 uV."""
    n = 600
    samples = np.random.default_rng(11).uniform(0.0, 180e-12, n)
    samples[200:400] = 90e-12
    drive = Drive(DT, samples, np.array([0.5, 1.0]))
    result = rockpool_.run(cell, drive, RunSettings(DT, n))
    ref = reference_.run(cell, drive, RunSettings(DT, n))
    assert result.spike_time.size == 0 and ref.spike_time.size == 0
    assert np.max(np.abs(result.v - ref.v)) <= rounding_bound(cell, DT, abs(cell.E_L))


def test_segments_cut_the_drive_into_runs_of_equal_samples():
    drive = Step("s", amplitude=1e-12, start=3e-4, stop=9e-4).drive(DT, 20, 2)
    assert rockpool_.segments(drive) == [(0, 3), (3, 9), (9, 20)]
    assert rockpool_.segments(drive, chunk=4) == [(0, 3), (3, 7), (7, 9), (9, 13), (13, 17), (17, 20)]


def test_numpy_global_generator_is_untouched(cell):
    np.random.seed(123)
    expected = np.random.rand(3)
    np.random.seed(123)
    rockpool_.run(cell, Drive.constant([300e-12], DT, 50), RunSettings(DT, 50))
    np.testing.assert_array_equal(np.random.rand(3), expected)


def test_refractory_period_is_refused(textbook):
    assert rockpool_.representable(textbook, RunSettings(DT, 10)).startswith(rockpool_.REASON_REFRACTORY)
    with pytest.raises(NotRepresentable, match="no refractory period"):
        rockpool_.run(textbook, Drive.constant([0.0], DT, 10), RunSettings(DT, 10))


@pytest.mark.parametrize("preset", plain_preset_names())
def test_every_preset_runs_or_is_refused_for_a_documented_reason(preset):
    """At dt = 0.1 ms and 1.5 x rheobase the first spike (before any reset) is dt ceil(latency/dt)."""
    spec = load_spec(preset)
    n = 1500
    reason = rockpool_.representable(spec, RunSettings(DT, n))
    if spec.t_ref > 0:
        assert reason.startswith(rockpool_.REASON_REFRACTORY)
        return
    assert reason is None
    current = 1.5 * spec.rheobase
    result = rockpool_.run(spec, Drive.constant([current], DT, n), RunSettings(DT, n, record_v=False))
    latency = float(cf.first_spike_latency(spec, current))
    assert result.spike_time[0] == pytest.approx(DT * math.ceil(latency / DT), abs=1e-12)


def test_metadata_documents_the_reset_difference(cell):
    meta = rockpool_.run(cell, Drive.constant([0.0], DT, 5), RunSettings(DT, 5)).meta
    assert meta.backend == "rockpool" and meta.version == rockpool_.version()
    assert meta.reset.endswith(rockpool_.RESET) and "subtraction" in meta.reset
    assert ">=" in meta.threshold


def test_several_cells_as_one_module_give_each_run_its_own_spikes_and_voltages_bit_for_bit():
    from conftest import population_runs, same_runs
    runs = [(spec.replace(t_ref=0.0), drive) for spec, drive in population_runs()]   # Rockpool: no t_ref
    for record_v in (False, True):
        s = RunSettings(1e-4, 1000, "exact", record_v=record_v)
        same_runs(rockpool_.run_cells(runs, s), [rockpool_.run(spec, d, s) for spec, d in runs], record_v)
