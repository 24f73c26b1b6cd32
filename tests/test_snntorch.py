"""The snnTorch backend (t_ref = 0) against the closed forms, exact grid predictions and the reference."""

import math

import numpy as np
import pytest

from comparisons.stimuli import Step
from models import snntorch_
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
    """The textbook cell without refractory period (snnTorch has none)."""
    return textbook.replace(t_ref=0.0)


def settings(n_steps, model="leaky", dt=DT, record_v=True, method=None):
    """Lapicque is forward Euler and refuses method = "exact"; Leaky is exact."""
    method = method or ("euler" if model == "lapicque" else "exact")
    return RunSettings(dt, n_steps, method=method, record_v=record_v).with_options(model=model)


def rounding_bound(spec, dt, v_scale):
    """Two integrators of the same rule on the same samples differ by rounding only: each step rounds a
    handful (<= 4) of terms of size <= v_scale (V) in either code (snnTorch works on V - V_reset, the
    reference on V), and the propagators differ by a few ulps; every error is damped by at least
    a = exp(-dt/tau) per step (Euler: 1 - dt/tau < a), so the sum stays below 8 eps v_scale (1 + 1/(1 - a))."""
    a = math.exp(-dt / spec.tau_m)
    return 8 * EPS * v_scale * (1 + 1 / (1 - a))


def euler_first_step(spec, current, dt):
    """Forward Euler's grid latency (steps) from V_init under a constant current, strict threshold:
    V_k = V_inf + (V0 - V_inf)(1 - dt/tau)^k, first k with V_k > V_th."""
    v_inf = float(cf.v_inf(spec, current))
    ratio = (v_inf - spec.V_th) / (v_inf - spec.V_init)
    return math.floor(math.log(ratio) / math.log1p(-dt / spec.tau_m)) + 1


def test_leaky_follows_the_exact_grid_prediction(cell):
    """Leaky is exact exponential integration with a strict threshold tested on the grid and the reset in
    the same call: first spike at dt (floor(latency/dt) + 1), every ISI dt (floor(T_free/dt) + 1), a whole
    number of steps within one step of T_free."""
    duration = 0.3
    n = int(round(duration / DT))
    result = snntorch_.run(cell, Drive.constant(CURRENTS, DT, n), settings(n, record_v=False))
    assert result.v is None
    for train, current in zip(result.spike_trains(), CURRENTS):
        latency = float(cf.first_spike_latency(cell, current))
        assert train[0] == pytest.approx(DT * (math.floor(latency / DT) + 1), abs=1e-12)
        isis = np.diff(train)
        assert np.max(np.abs(isis - float(cf.grid_isi(cell, current, DT)))) <= 1e-12
        assert np.all(np.abs(isis - float(cf.isi(cell, current))) <= DT)


def test_leaky_reset_shows_in_the_spike_sample(cell):
    """reset_delay=False: the sample at the spike time t_k+1 is V_reset (not the supra-threshold value),
    as in the reference's grid rule; the whole trace equals the reference's to rounding."""
    n = 2000
    rng = np.random.default_rng(7)
    drive = Drive(DT, rng.uniform(0.0, 600e-12, n), np.array([0.8, 1.0]))
    result = snntorch_.run(cell, drive, settings(n))
    ref = reference_.run(cell, drive, RunSettings(DT, n))
    assert result.spike_time.size == ref.spike_time.size > 5
    np.testing.assert_array_equal(result.spike_neuron, ref.spike_neuron)
    assert np.max(np.abs(result.spike_time - ref.spike_time)) <= 1e-12
    k = np.rint(result.spike_time / DT).astype(int)
    assert np.all(result.v[k, result.spike_neuron] == cell.V_reset)
    v_scale = max(abs(cell.E_L), abs(cell.V_reset), abs(cell.E_L + cell.R * 600e-12))
    assert np.max(np.abs(result.v - ref.v)) <= rounding_bound(cell, DT, v_scale)


def test_leaky_subthreshold_step_is_the_closed_form(cell):
    """150 pA on [10 ms, 30 ms): the closed form on the same samples, to rounding."""
    n = 500
    stim = Step("s", amplitude=150e-12, start=10e-3, stop=30e-3)
    result = snntorch_.run(cell, stim.drive(DT, n), settings(n))
    t = np.arange(n + 1) * DT
    v_on = cf.subthreshold(cell, t - 10e-3, 150e-12, v0=cell.E_L)
    v_off = cf.subthreshold(cell, t - 30e-3, 0.0, v0=float(cf.subthreshold(cell, 20e-3, 150e-12)))
    expected = np.where(t <= 10e-3 + DT / 2, cell.E_L, np.where(t <= 30e-3 + DT / 2, v_on, v_off))
    assert np.max(np.abs(result.v[:, 0] - expected)) <= rounding_bound(cell, DT, abs(cell.E_L))


def test_lapicque_is_forward_euler(cell):
    """Lapicque's subthreshold trace is the reference's forward-Euler trace to rounding, and differs from
    the exact closed form by Euler's first-order error: max_k |(1 - x)^k - exp(-k x)| |V0 - V_inf| with
    x = dt/tau is x/(2e) |V0 - V_inf| (1 + O(x)); the O(x) term is 0.42 x, bounded here by x."""
    n = 2000
    current = 150e-12
    drive = Drive.constant([current], DT, n)
    lapicque = snntorch_.run(cell, drive, settings(n, "lapicque"))
    euler = reference_.run(cell, drive, RunSettings(DT, n, method="euler"))
    v_scale = max(abs(cell.E_L), abs(cell.V_reset))
    assert np.max(np.abs(lapicque.v - euler.v)) <= rounding_bound(cell, DT, v_scale)
    t = np.arange(n + 1) * DT
    error = np.max(np.abs(lapicque.v[:, 0] - cf.subthreshold(cell, t, current)))
    x = DT / cell.tau_m
    leading = x / (2 * math.e) * abs(cell.R * current)
    assert abs(error / leading - 1) <= x


def test_lapicque_converges_at_first_order(cell):
    """Max subthreshold error against the closed form halves with dt (observed order within 0.9..1.1)."""
    dts = np.array([4e-4, 2e-4, 1e-4])
    errors = []
    for dt in dts:
        n = int(round(0.04 / dt))
        result = snntorch_.run(cell, Drive.constant([150e-12], dt, n), settings(n, "lapicque", dt=dt))
        t = np.arange(n + 1) * dt
        errors.append(np.max(np.abs(result.v[:, 0] - cf.subthreshold(cell, t, 150e-12))))
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert 0.9 <= slope <= 1.1


def test_lapicque_reset_is_one_step_late(cell):
    """Lapicque resets from the previous membrane: its spikes are exactly those of the reference's Euler
    grid rule with a one-step dead time (t_ref = dt), and its trace equals that one except at the spike
    samples, which keep the supra-threshold value (the reset shows in the next sample)."""
    n = 2000
    drive = Drive.constant([300e-12, 1e-9], DT, n)
    result = snntorch_.run(cell, drive, settings(n, "lapicque"))
    ref = reference_.run(cell.replace(t_ref=DT), drive, RunSettings(DT, n, method="euler"))
    assert result.spike_time.size == ref.spike_time.size > 10
    assert np.max(np.abs(result.spike_time - ref.spike_time)) <= 1e-12
    k = np.rint(result.spike_time / DT).astype(int)
    assert np.all(result.v[k, result.spike_neuron] > cell.V_th)
    assert np.all(result.v[k + 1, result.spike_neuron] == cell.V_reset)
    other = np.ones(result.v.shape, dtype=bool)
    other[k, result.spike_neuron] = False
    v_scale = abs(cell.E_L) + cell.R * 1e-9
    assert np.max(np.abs(result.v - ref.v)[other]) <= rounding_bound(cell, DT, v_scale)


def test_refractory_period_is_refused(textbook):
    reason = snntorch_.representable(textbook, settings(10))
    assert reason.startswith(snntorch_.REASON_REFRACTORY)
    assert snntorch_.representable(textbook, settings(10, "lapicque")).startswith(snntorch_.REASON_REFRACTORY)
    with pytest.raises(NotRepresentable, match="no refractory period"):
        snntorch_.run(textbook, Drive.constant([0.0], DT, 10), settings(10))


@pytest.mark.parametrize("model", snntorch_.MODELS)
@pytest.mark.parametrize("preset", plain_preset_names())
def test_every_preset_runs_or_is_refused_for_a_documented_reason(preset, model):
    """At dt = 0.1 ms and 1.5 x rheobase: the first spike is the grid closed form (Leaky: exact latency
    rounded to the next step; Lapicque: Euler's closed-form latency)."""
    spec = load_spec(preset)
    n = 1500
    reason = snntorch_.representable(spec, settings(n, model))
    if spec.t_ref > 0:
        assert reason.startswith(snntorch_.REASON_REFRACTORY)
        return
    assert reason is None
    current = 1.5 * spec.rheobase
    result = snntorch_.run(spec, Drive.constant([current], DT, n), settings(n, model, record_v=False))
    if model == "leaky":
        expected = DT * (math.floor(float(cf.first_spike_latency(spec, current)) / DT) + 1)
    else:
        expected = DT * euler_first_step(spec, current, DT)
    assert result.spike_time[0] == pytest.approx(expected, abs=1e-12)


def test_snntorch_global_state_is_left_alone(cell):
    from snntorch import SpikingNeuron
    before = list(SpikingNeuron.instances)
    snntorch_.run(cell, Drive.constant([300e-12], DT, 20), settings(20, "lapicque"))
    assert SpikingNeuron.instances == before


def test_metadata_shows_lapicque_stores_exp_but_steps_euler(cell):
    meta = snntorch_.run(cell, Drive.constant([0.0], DT, 5), settings(5, "lapicque")).meta
    assert meta.backend == "snntorch" and meta.version == snntorch_.version()
    assert f"1 - dt/RC = {1 - DT / cell.tau_m!r}" in meta.method
    assert "beta = exp(-dt/RC) = 0.99501246" in meta.method
    assert "one step late" in meta.reset


@pytest.mark.parametrize("model", ["leaky", "lapicque"])
def test_recording_in_chunks_changes_nothing(cell, model, monkeypatch):
    """The recorder converts the per-step tensors a chunk at a time: chunks of 2 steps (many chunks and a
    partial last one) and one chunk for the whole run give the same trace and spikes."""
    n, currents = 1001, CURRENTS
    drive = Drive.constant(currents, DT, n)
    whole = snntorch_.run(cell, drive, settings(n, model))
    monkeypatch.setattr(snntorch_._Recorder, "CHUNK_VALUES", 2 * currents.size)
    chunked = snntorch_.run(cell, drive, settings(n, model))
    assert whole.spike_time.size > 20
    np.testing.assert_array_equal(whole.v, chunked.v)
    np.testing.assert_array_equal(whole.spike_neuron, chunked.spike_neuron)
    np.testing.assert_array_equal(whole.spike_time, chunked.spike_time)


def test_a_population_of_workloads_is_each_workload_alone_bit_for_bit(cell):
    """run_population (one Leaky with a per-neuron beta, one call per step of the longest workload) gives
    each workload exactly what its own run gives: an f-I sweep without trace, a convergence ladder of
    different dt and lengths with traces, and a time-varying two-neuron drive that ends early."""
    rng = np.random.default_rng(7)
    workloads = [(Drive.constant(CURRENTS, DT, 1200), settings(1200, record_v=False))]
    for dt in (4e-4, 2e-4, 1e-4, 5e-5):
        n = int(round(0.06 / dt))
        workloads.append((Drive.constant([300e-12], dt, n), settings(n, dt=dt)))
    waveform = rng.normal(260e-12, 80e-12, (700, 2))
    workloads.append((Drive(DT, waveform, np.ones(2)), settings(700)))
    together = snntorch_.run_population(cell, workloads)
    assert len(together) == len(workloads)
    spikes = 0
    for (drive, s), pooled in zip(workloads, together):
        alone = snntorch_.run(cell, drive, s)
        assert (pooled.v is None) == (alone.v is None) == (not s.record_v)
        if alone.v is not None:
            np.testing.assert_array_equal(pooled.v, alone.v)
        np.testing.assert_array_equal(pooled.t, alone.t)
        np.testing.assert_array_equal(pooled.spike_neuron, alone.spike_neuron)
        np.testing.assert_array_equal(pooled.spike_time, alone.spike_time)
        assert pooled.meta == alone.meta
        spikes += alone.spike_time.size
    assert spikes > 50  # the comparison covers resets, not only subthreshold traces


def test_a_population_call_costs_one_call_per_step_of_the_longest_workload(cell, monkeypatch):
    """What makes it worth having: the neuron is called max(n_steps) times, not sum(n_steps)."""
    import snntorch as snn
    calls = []
    original = snn.Leaky.forward

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(snn.Leaky, "forward", counted)
    lengths = (40, 90, 25)
    snntorch_.run_population(cell, [(Drive.constant([300e-12], DT, n), settings(n)) for n in lengths])
    assert len(calls) == max(lengths)


def test_a_population_refuses_what_a_run_refuses(textbook):
    with pytest.raises(NotRepresentable):
        snntorch_.run_population(textbook, [(Drive.constant([300e-12], DT, 10), settings(10))] * 2)


def test_several_cells_as_one_leaky_tensor_give_each_run_its_own_spikes_and_voltages_bit_for_bit():
    from conftest import population_runs, same_runs
    runs = [(spec.replace(t_ref=0.0), drive) for spec, drive in population_runs()]   # snnTorch: no t_ref
    for record_v in (False, True):
        s = RunSettings(1e-4, 1000, "exact", record_v=record_v)
        same_runs(snntorch_.run_cells(runs, s), [snntorch_.run(spec, d, s) for spec, d in runs], record_v)
