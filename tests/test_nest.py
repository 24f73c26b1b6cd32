"""The NEST backend against the closed forms, the exact grid predictions and the reference integrator."""

import numpy as np
import pytest

from comparisons.stimuli import Step
from models import nest_
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


def settings(n_steps, model="iaf_psc_delta", dt=DT, record_v=True):
    return RunSettings(dt, n_steps, record_v=record_v).with_options(model=model)


def rounding_bound(spec, dt, v_scale):
    """Two exact integrators of the same piecewise-constant input differ by rounding only.

    Each step of either one rounds a handful (<= 4) of products and sums of size <= v_scale (V; NEST works
    on y = V - E_L in mV, the reference on V in V, and the unit conversions add one rounding each);
    the propagators exp(-h/tau) differ by a few ulps for the same reason. Every such error is damped by
    a = exp(-dt/tau) per step, so the sum stays below 8 eps v_scale (1 + 1/(1 - a)).
    """
    a = np.exp(-dt / spec.tau_m)
    return 8 * EPS * v_scale * (1 + 1 / (1 - a))


def piecewise_drive(n, seed=1):
    """Subthreshold current changing on every one of the first steps, then held, then stepping again:
    checks that sample k acts on (t_k, t_k+1] from k = 0 on (I_e path and generator path)."""
    rng = np.random.default_rng(seed)
    samples = rng.uniform(0.0, 190e-12, n)
    samples[300:700] = 120e-12
    samples[700:1200] = 0.0
    return samples


@pytest.mark.parametrize("model", nest_.MODELS)
def test_subthreshold_trace_equals_the_exact_integrator_sample_by_sample(textbook, model):
    """A one-step input shift would move V by about R I (1 - a) ~ 50 uV; the bound is ~1e-14 V."""
    n = 2000
    drive = Drive.shared(piecewise_drive(n), DT, 2)
    nest_run = nest_.run(textbook, drive, settings(n, model))
    ref = reference_.run(textbook, drive, RunSettings(DT, n))
    assert nest_run.spike_time.size == 0 and ref.spike_time.size == 0
    v_scale = max(abs(textbook.E_L), abs(textbook.V_th))
    assert np.max(np.abs(nest_run.v - ref.v)) <= rounding_bound(textbook, DT, v_scale)


def test_step_onset_changes_v_at_the_same_sample_as_the_closed_form(textbook):
    """A 150 pA step on [10 ms, 30 ms): V stays exactly E_L up to sample 100 and follows the closed form
    after; the closed form is evaluated on the same samples."""
    n = 500
    stim = Step("s", amplitude=150e-12, start=10e-3, stop=30e-3)
    result = nest_.run(textbook, stim.drive(DT, n), settings(n))
    t = np.arange(n + 1) * DT
    v_on = cf.subthreshold(textbook, t - 10e-3, 150e-12, v0=textbook.E_L)
    v_off = cf.subthreshold(textbook, t - 30e-3, 0.0, v0=float(cf.subthreshold(textbook, 20e-3, 150e-12)))
    expected = np.where(t <= 10e-3 + DT / 2, textbook.E_L, np.where(t <= 30e-3 + DT / 2, v_on, v_off))
    assert np.all(result.v[:101, 0] == pytest.approx(textbook.E_L, abs=EPS * abs(textbook.E_L)))
    assert result.v[101, 0] > textbook.E_L + 1e-6
    assert np.max(np.abs(result.v[:, 0] - expected)) <= rounding_bound(textbook, DT, abs(textbook.E_L))


def test_precise_model_spikes_at_the_closed_form_times(textbook):
    """iaf_psc_delta_ps: exact integration + exact inversion, t_ref a multiple of dt: the closed-form spike
    times to relative error 1e-9 (rounding of ms arithmetic is ~1e-15)."""
    duration = 0.3
    n = int(round(duration / DT))
    result = nest_.run(textbook, Drive.constant(CURRENTS, DT, n), settings(n, "iaf_psc_delta_ps",
                                                                            record_v=False))
    assert result.v is None
    for train, current in zip(result.spike_trains(), CURRENTS):
        expected = cf.spike_times(textbook, current, duration)
        assert train.size == expected.size > 0
        assert np.max(np.abs(train - expected) / expected) <= 1e-9


def test_precise_model_equals_the_reference_exact_inversion_under_a_step(textbook):
    """Piecewise-constant input with spikes: both invert the exponential solution exactly, so they agree to
    rounding (relative 1e-9 of the spike time)."""
    n = 3000
    stim = Step("s", amplitude=400e-12, start=20.05e-3, stop=250e-3, baseline=100e-12)
    drive = stim.drive(DT, n)
    result = nest_.run(textbook, drive, settings(n, "iaf_psc_delta_ps"))
    ref = reference_.run(textbook, drive, RunSettings(DT, n).with_options(crossing="exact"))
    assert result.spike_time.size == ref.spike_time.size > 5
    assert np.max(np.abs(result.spike_time - ref.spike_time) / ref.spike_time) <= 1e-9


def test_grid_model_follows_the_ge_grid_prediction(textbook):
    """iaf_psc_delta: threshold >=, stamp at the step's end, clamp of t_ref/dt steps: the first spike is at
    dt ceil(latency/dt) and every ISI is t_ref + dt ceil(T_free/dt), exactly (times are k dt)."""
    duration = 0.5
    n = int(round(duration / DT))
    result = nest_.run(textbook, Drive.constant(CURRENTS, DT, n), settings(n, record_v=False))
    for train, current in zip(result.spike_trains(), CURRENTS):
        first = DT * np.ceil(float(cf.first_spike_latency(textbook, current)) / DT)
        assert train[0] == pytest.approx(first, abs=1e-12)
        isis = np.diff(train)
        assert np.max(np.abs(isis - float(cf.grid_isi(textbook, current, DT, rule="ge")))) <= 1e-12
        assert np.all(np.abs(isis - float(cf.isi(textbook, current))) <= DT)


def test_grid_model_equals_the_reference_with_ge_threshold_under_varying_input(textbook):
    """Spikes and trace (reset and clamp included) of iaf_psc_delta equal the reference's grid rule with
    the >= threshold under a per-neuron scaled waveform (one generator, weights = scale)."""
    n = 2000
    samples = piecewise_drive(n, seed=3) + 150e-12
    drive = Drive(DT, samples, np.array([1.0, 1.5, 2.5]))
    result = nest_.run(textbook, drive, settings(n))
    ref = reference_.run(textbook, drive, RunSettings(DT, n).with_options(threshold=">="))
    assert result.spike_time.size == ref.spike_time.size > 10
    np.testing.assert_array_equal(result.spike_neuron, ref.spike_neuron)
    assert np.max(np.abs(result.spike_time - ref.spike_time)) <= 1e-12
    v_scale = max(abs(textbook.E_L), abs(textbook.E_L + textbook.R * 2.5 * samples.max()))
    assert np.max(np.abs(result.v - ref.v)) <= rounding_bound(textbook, DT, v_scale)


def test_one_waveform_per_neuron(textbook):
    """A (n_steps, N) waveform: one generator per neuron; each neuron equals the reference."""
    n = 1000
    waveform = np.stack([piecewise_drive(n, seed=s) for s in (4, 5)], axis=1)
    drive = Drive(DT, waveform, np.ones(2))
    result = nest_.run(textbook, drive, settings(n, "iaf_psc_delta_ps"))
    ref = reference_.run(textbook, drive, RunSettings(DT, n))
    assert np.max(np.abs(result.v - ref.v)) <= rounding_bound(textbook, DT, abs(textbook.E_L))


DOCUMENTED = {
    "ps_t_ref": "iaf_psc_delta_ps needs t_ref >= dt",
    "multiple": "holds the refractory period for ceil(t_ref/dt) whole steps",
    "tic": "NEST's resolution must be a whole number of tics",
}


def test_representable_refuses_with_the_documented_reasons(textbook):
    assert nest_.representable(textbook, settings(10)) is None
    odd = textbook.replace(t_ref=0.15e-3)
    assert DOCUMENTED["multiple"] in nest_.representable(odd, settings(10))
    assert DOCUMENTED["multiple"] in nest_.representable(odd, settings(10, "iaf_psc_delta_ps"))
    zero = textbook.replace(t_ref=0.0)
    assert nest_.representable(zero, settings(10)) is None
    assert DOCUMENTED["ps_t_ref"] in nest_.representable(zero, settings(10, "iaf_psc_delta_ps"))
    assert DOCUMENTED["tic"] in nest_.representable(textbook, settings(10, dt=1.5e-7))
    with pytest.raises(NotRepresentable):
        nest_.run(zero, Drive.constant([0.0], DT, 10), settings(10, "iaf_psc_delta_ps"))


def test_nest_rounds_t_ref_up_to_whole_steps(textbook):
    """The reason for refusing t_ref that is not a multiple of dt, shown on NEST itself: with t_ref 0.15 ms
    and dt 0.1 ms the precise model's ISI is T_free + 0.2 ms (closed form, 300 pA)."""
    nest = nest_._import_nest()
    with nest_._kernel(nest, DT):
        params = dict(nest_.parameters(textbook), t_ref=0.15, I_e=300.0)
        neuron = nest.Create("iaf_psc_delta_ps", params=params)
        recorder = nest.Create("spike_recorder")
        nest.Connect(neuron, recorder)
        nest.Simulate(100.0)
        isis = np.diff(recorder.events["times"]) / 1e3
    assert np.max(np.abs(isis - (float(cf.free_time(textbook, 300e-12)) + 0.2e-3))) <= 1e-12


@pytest.mark.parametrize("model", nest_.MODELS)
@pytest.mark.parametrize("preset", plain_preset_names())
def test_every_preset_runs_or_is_refused_for_a_documented_reason(preset, model):
    """At dt = 0.1 ms: runnable presets give the closed-form first spike at 1.5 x rheobase (grid model:
    dt ceil(latency/dt) exactly; precise model: relative 1e-9)."""
    spec = load_spec(preset)
    n = 2000
    reason = nest_.representable(spec, settings(n, model))
    if reason is not None:
        assert model == "iaf_psc_delta_ps" and spec.t_ref == 0.0
        assert reason.startswith(DOCUMENTED["ps_t_ref"])
        return
    current = 1.5 * spec.rheobase
    latency = float(cf.first_spike_latency(spec, current))
    result = nest_.run(spec, Drive.constant([current], DT, n), settings(n, model))
    assert result.is_finite()
    first = result.spike_time[0]
    if model == "iaf_psc_delta":
        assert first == pytest.approx(DT * np.ceil(latency / DT), abs=1e-12)
    else:
        assert abs(first - latency) <= 1e-9 * latency


def test_kernel_is_left_clean(textbook):
    nest = nest_._import_nest()
    verbosity = nest.verbosity
    nest_.run(textbook, Drive.constant([300e-12], DT, 100), settings(100))
    assert nest.network_size == 0
    assert nest.biological_time == 0.0
    assert nest.verbosity == verbosity


def test_metadata_states_the_mapping(textbook):
    result = nest_.run(textbook, Drive.constant([0.0], DT, 10), settings(10))
    meta = result.meta
    assert meta.backend == "nest" and meta.version == nest_.version()
    assert ">=" in meta.threshold and "end of the step" in meta.spike_stamp
    assert nest_.parameters(textbook)["C_m"] == pytest.approx(200.0, rel=1e-15)
    assert nest_.parameters(textbook)["tau_m"] == pytest.approx(20.0, rel=1e-15)
    assert "NEST parameters" in meta.notes[0]
    assert any("nest#2860" in note for note in meta.notes)


@pytest.mark.parametrize("model", ["iaf_psc_delta", "iaf_psc_delta_ps"])
def test_several_cells_as_one_population_give_each_run_its_own_spikes_and_voltages_bit_for_bit(model):
    from conftest import population_runs, same_runs
    runs = population_runs()
    for record_v in (False, True):
        s = RunSettings(1e-4, 1000, "exact", record_v=record_v).with_options(model=model)
        same_runs(nest_.run_cells(runs, s), [nest_.run(spec, d, s) for spec, d in runs], record_v)
