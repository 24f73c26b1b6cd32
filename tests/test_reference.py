"""The reference implementation against the closed forms, with tolerances from the numerics."""

import numpy as np
import pytest

from comparisons.stimuli import Step
from models.drive import Drive
from reference import TUTORIAL, closed_forms as cf, reference_conventions, simulate

DT = 1e-4


def trains(neuron, time, n):
    return [time[neuron == j] for j in range(n)]


def test_worked_example_of_the_semantics_notes(textbook):
    """250 pA: exact first spike 32.188758 ms, exact ISI 29.725887 ms (closed forms)."""
    assert float(cf.first_spike_latency(textbook, 250e-12)) == pytest.approx(32.188758e-3, abs=1e-9)
    assert float(cf.isi(textbook, 250e-12)) == pytest.approx(29.725887e-3, abs=1e-9)
    assert cf.rheobase(textbook) == pytest.approx(200e-12, rel=1e-12)


def test_exact_integrator_matches_closed_subthreshold_response(textbook):
    """Piecewise-constant subthreshold input: the exact integrator is the closed form sampled.
    Rounding only: each step adds a few ulps of |V| ~ 0.07 V, 5000 steps stay far below 1e-12 V."""
    n = 5000
    stim = Step("s", amplitude=150e-12, start=0.1, stop=0.3)
    v, neuron, _ = simulate(textbook, stim.drive(DT, n), reference_conventions("exact"))
    assert neuron.size == 0
    t = np.arange(n + 1) * DT
    v_on = cf.subthreshold(textbook, t - 0.1, 150e-12, v0=textbook.E_L)
    v_off = cf.subthreshold(textbook, t - 0.3, 0.0, v0=float(cf.subthreshold(textbook, 0.2, 150e-12)))
    expected = np.where(t <= 0.1, textbook.E_L, np.where(t <= 0.3, v_on, v_off))
    assert np.max(np.abs(v[:, 0] - expected)) <= 1e-12


def observed_order(dts, errors):
    slope, _ = np.polyfit(np.log(dts), np.log(errors), 1)
    return slope


def test_forward_euler_is_first_order(textbook):
    """Euler's local error t dt/(2 tau^2) |V0 - V_inf| exp(-t/tau): the max error halves with dt."""
    dts = np.array([4e-4, 2e-4, 1e-4, 5e-5, 2.5e-5])
    errors = []
    for dt in dts:
        n = int(round(0.05 / dt))
        v, _, _ = simulate(textbook, Drive.constant([150e-12], dt, n), reference_conventions("euler"))
        t = np.arange(n + 1) * dt
        errors.append(np.max(np.abs(v[:, 0] - cf.subthreshold(textbook, t, 150e-12))))
    assert 0.9 <= observed_order(dts, errors) <= 1.1


CURRENTS = np.array([210e-12, 250e-12, 300e-12, 500e-12, 1e-9, 5e-9])


def measured_isi(spec, crossing, method="exact", dt=DT, duration=1.0, currents=CURRENTS):
    n = int(round(duration / dt))
    _, neuron, time = simulate(spec, Drive.constant(currents, dt, n), reference_conventions(method, crossing))
    return trains(neuron, time, currents.size)


def test_fi_with_interpolated_spikes_matches_closed_form(textbook):
    """Exact integration + linear interpolation of the crossing is O(dt^2) (Rotter & Diesmann 1999):
    relative rate error well below 1e-3."""
    for train, current in zip(measured_isi(textbook, "linear"), CURRENTS):
        rate = 1.0 / np.mean(np.diff(train))
        assert rate == pytest.approx(float(cf.rate(textbook, current)), rel=1e-3)


def test_fi_with_exact_inversion_is_exact(textbook):
    """Exact integration + exact inversion: spike times are the closed form up to rounding."""
    for train, current in zip(measured_isi(textbook, "exact"), CURRENTS):
        expected = cf.spike_times(textbook, current, 1.0)
        assert train.size == expected.size
        assert np.max(np.abs(train - expected)) <= 1e-9 * 1.0


def test_grid_locked_spikes_follow_the_exact_grid_prediction(textbook):
    """Strict threshold, stamp at the step's end: ISI = n_ref dt + dt (floor(T_free/dt) + 1) exactly,
    hence within one step of the exact ISI."""
    for train, current in zip(measured_isi(textbook, "grid"), CURRENTS):
        isis = np.diff(train)
        predicted = float(cf.grid_isi(textbook, current, DT))
        assert np.max(np.abs(isis - predicted)) <= 1e-12
        assert np.all(np.abs(isis - float(cf.isi(textbook, current))) <= DT)


def test_no_refractory_and_large_steps_resolve_several_spikes_per_step():
    """t_ref = 0 and dt longer than the ISI: exact inversion still gives every exact spike."""
    from models.loading import load_spec
    spec = load_spec("euler_tutorial")
    current = np.array([5e-9])  # V_inf = 435 mV: T_free ~ 0.35 ms, dt = 1 ms
    trains_ = measured_isi(spec, "exact", dt=1e-3, duration=0.05, currents=current)
    expected = cf.spike_times(spec, 5e-9, 0.05)
    assert trains_[0].size == expected.size > 100
    assert np.max(np.abs(trains_[0] - expected)) <= 1e-12


def test_tutorial_rule_is_the_seed_loop():
    """The seed's LifNeuron.step: u += (-(u - rest) + R I) dt/tau; if u >= th: spike, u = reset."""
    from models.loading import load_spec
    spec = load_spec("euler_tutorial")
    dt, n, current = 1e-4, 2000, 500e-12
    v, neuron, time = simulate(spec, Drive.constant([current], dt, n), TUTORIAL)
    u, spikes, seed_trace = spec.E_L, [], [spec.E_L]
    for k in range(n):
        u += (-(u - spec.E_L) + spec.R * current) * dt / spec.tau_m
        if u >= spec.V_th:
            spikes.append((k + 1) * dt)
            u = spec.V_reset
        seed_trace.append(u)
    np.testing.assert_array_equal(v[:, 0], np.array(seed_trace))
    np.testing.assert_array_equal(time, np.array(spikes))


def test_refractory_clamp_holds_v_reset_for_t_ref(textbook):
    n = 2000
    v, neuron, time = simulate(textbook, Drive.constant([1e-9], DT, n), reference_conventions("exact"))
    k = int(round(time[0] / DT))
    n_ref = int(round(textbook.t_ref / DT))
    assert np.all(v[k:k + n_ref + 1, 0] == textbook.V_reset)
    assert v[k + n_ref + 1, 0] > textbook.V_reset


def test_the_compiled_ground_truth_is_the_python_definition_bit_for_bit():
    """``piecewise_spike_times`` runs its segment loop compiled; the Python loop is the definition. Random
    sampled currents (noise, sines, steps, runs of equal samples) on cells with and without a refractory
    period and a self-oscillating one: the same spike times, bit for bit."""
    from models.loading import load_spec
    assert cf._piecewise_compiled is not None
    rng = np.random.default_rng(12)
    base = load_spec("textbook")
    cells = [base, base.replace(t_ref=0.0), base.replace(tau_m=5e-3, t_ref=0.3e-3),
             base.replace(E_L=-0.045, V_init=None)]
    dt, n = 1e-4, 5000
    t = np.arange(n) * dt
    spikes = 0
    for k in range(40):
        kind = k % 4
        samples = (rng.normal(3e-10, 2e-10, n), 2.5e-10 + 1e-10 * np.sin(2 * np.pi * rng.uniform(2, 40) * t),
                   np.repeat(rng.uniform(0, 8e-10, 10), n // 10), np.round(rng.normal(3e-10, 3e-10, n), 10))[kind]
        for spec in cells:
            edges = np.concatenate(([0], np.flatnonzero(np.diff(samples) != 0) + 1, [n])).astype(np.int64)
            v_inf = spec.E_L + spec.R * samples[edges[:-1]]
            want = cf._piecewise_compiled.py_func(edges, v_inf, dt, spec.tau_m, spec.V_th, spec.V_reset,
                                                  spec.t_ref, spec.V_init)     # the definition, in Python
            got = cf.piecewise_spike_times(spec, samples, dt)
            np.testing.assert_array_equal(got, want)
            spikes += got.size
    assert spikes > 1000
