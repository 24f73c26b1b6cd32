"""The Nengo backend against closed forms, exact grid predictions and the reference integrator.

Nengo integrates exactly and inverts the crossing exactly (its refractory timer starts at the exact
crossing time), but reports a spike at the end of its step. So for constant input each spike falls in
step ``ceil(t_exact/dt)`` of the closed-form spike times, with no error accumulating over the run.
"""

import math

import nengo
import numpy as np
import pytest
from nengo.cache import NoDecoderCache
from nengo.rc import rc

from comparisons.stimuli import Step, edge_index
from models import nengo_
from models.drive import Drive
from models.errors import NotRepresentable
from models.loading import plain_preset_names
from models.loading import load_spec
from models.result import RunSettings
from reference import closed_forms as cf
from reference import reference_conventions, simulate

DT = 1e-4
EPS = np.finfo(float).eps


def spec_variants():
    """V_reset above E_L (textbook, V_init = E_L below V_reset), equal to it (neuromatch) and below it
    (the Euler tutorial's cell, given a 2 ms refractory period so that Nengo can represent it)."""
    return {"textbook": load_spec("textbook"), "neuromatch": load_spec("neuromatch"),
            "reset_below_rest": load_spec("euler_tutorial").replace(t_ref=2e-3)}


def normalised_drive(spec, current):
    """Nengo's J for a constant current (dimensionless), by hand: (E_L - V_reset + R I)/(V_th - V_reset)."""
    return (spec.E_L - spec.V_reset + spec.R * np.asarray(current)) / (spec.V_th - spec.V_reset)


def crossing_shift_bound(spec, current, n_steps):
    """Largest shift (s) of a simulated crossing time that float64 rounding can cause.

    Each update ``u -= (J - u) expm1(-d/tau)`` rounds u by at most ~3 ulps of max(1, |J|); summed over
    every step of the run (contraction ignored, so an upper bound) that is ``3 n eps max(1, |J|)``. Near
    threshold u rises at ``(J - 1)/tau``, turning a u error into a time error; the refractory timer
    carries each crossing's error into the next ISI, at most doubling the total.
    """
    j = float(normalised_drive(spec, current))
    if j <= 1.0:
        return 0.0  # never reaches threshold: no spike time to move
    return 2 * 3 * n_steps * EPS * max(1.0, abs(j)) * spec.tau_m / (j - 1.0)


def assert_no_ties(spec, currents, duration):
    """No exact spike time may lie closer to a grid point than rounding could move it (nor 1e-9 dt)."""
    n_steps = round(duration / DT)
    for current in currents:
        x = cf.spike_times(spec, current, duration) / DT
        margin = max(1e-9, crossing_shift_bound(spec, current, n_steps) / DT)
        assert np.all(np.abs(x - np.round(x)) > margin), f"{spec.name}: tie at {current} A"


def run(spec, drive, **settings):
    return nengo_.run(spec, drive, RunSettings(drive.dt, drive.n_steps, **settings))


@pytest.mark.parametrize("name", ["textbook", "neuromatch", "reset_below_rest"])
def test_spike_steps_are_the_ceiling_of_the_exact_spike_times(name):
    """Constant input: spike n of Nengo is stamped at ceil(t_n/dt) dt, t_n = latency + (n - 1) ISI from
    the closed forms, over the whole run (no accumulated error), and V is V_reset right after it."""
    spec = spec_variants()[name]
    duration = 0.5
    currents = spec.rheobase * np.array([1.1, 1.25, 1.6, 2.5, 6.0])
    assert_no_ties(spec, currents, duration)
    result = run(spec, Drive.constant(currents, DT, round(duration / DT)))
    for n, (train, current) in enumerate(zip(result.spike_trains(), currents)):
        expected = np.ceil(cf.spike_times(spec, current, duration) / DT) * DT
        assert expected.size >= 2
        np.testing.assert_array_equal(train, expected)
        assert np.all(result.v[np.round(train / DT).astype(int), n] == spec.V_reset)


def test_refractory_period_of_exactly_one_step_is_still_exact(textbook):
    """t_ref = dt is the shortest refractory period Nengo honours: the free part of the step after it is
    dt + s - t_ref = s <= dt (s = time from crossing to the step's end), never clipped."""
    spec = textbook.replace(t_ref=DT)
    currents = spec.rheobase * np.array([1.3, 3.0, 10.0])
    assert_no_ties(spec, currents, 0.3)
    result = run(spec, Drive.constant(currents, DT, 3000), record_v=False)
    for train, current in zip(result.spike_trains(), currents):
        np.testing.assert_array_equal(train, np.ceil(cf.spike_times(spec, current, 0.3) / DT) * DT)


def test_long_run_count_is_the_exact_rate_within_one_spike(textbook):
    """Every exact spike time t <= T is reported (ceil(t/dt) <= n_steps) and no other, so the count is
    floor((T - t1)/ISI) + 1 with t1 the first-spike latency; hence
        -t1/ISI < count - T/ISI <= 1 - t1/ISI <= 1,
    i.e. within one spike of rate*T plus at most one more for the phase of the first spike."""
    duration = 1.0
    currents = textbook.rheobase * np.array([1.05, 1.3, 2.0, 5.0, 25.0])
    result = run(textbook, Drive.constant(currents, DT, round(duration / DT)), record_v=False)
    excess = result.spike_counts() - cf.rate(textbook, currents) * duration
    phase = cf.first_spike_latency(textbook, currents) / cf.isi(textbook, currents)
    assert np.all(excess <= 1.0) and np.all(excess > -phase), excess


@pytest.mark.parametrize("v_init", [None, -0.06])
def test_subthreshold_step_response_is_the_closed_form_to_rounding(textbook, v_init):
    """150 pA (below the 200 pA rheobase) from 100 to 300 ms. Bound: Nengo rounds u by ~3 ulps of
    max(1, |J|) per step (|J| < 1 here), summed over n steps and scaled by dV = V_th - V_reset; the
    conversion back to volts and the closed form / reference each add a few ulps of |V| per step at
    most (the reference integrates in volts). So |error| <= 4 n eps (dV + max|V|)."""
    spec = textbook if v_init is None else textbook.replace(V_init=v_init)
    n = 4000
    stim = Step("s", amplitude=150e-12, start=0.1, stop=0.3)
    result = run(spec, stim.drive(DT, n))
    v = result.v[:, 0]
    bound = 4 * n * EPS * ((spec.V_th - spec.V_reset) + np.max(np.abs(v)))
    t = result.t
    on, off = edge_index(0.1, DT), edge_index(0.3, DT)
    v_on = cf.subthreshold(spec, t - t[on], 150e-12, v0=float(cf.subthreshold(spec, t[on], 0.0)))
    v_off = cf.subthreshold(spec, t - t[off], 0.0, v0=float(v_on[off]))
    closed = np.where(t <= t[on], cf.subthreshold(spec, t, 0.0), np.where(t <= t[off], v_on, v_off))
    ref, _, _ = simulate(spec, stim.drive(DT, n), reference_conventions("exact"))
    assert result.spike_time.size == 0
    assert np.max(np.abs(v - closed)) <= bound
    assert np.max(np.abs(v - ref[:, 0])) <= bound


def test_step_onset_changes_the_membrane_where_the_reference_does(textbook):
    """Input sample k drives (t_k, t_k+1]: from rest, the first sample off E_L is k_on + 1 for both the
    reference's exact integrator and Nengo (a synapse or an off-by-one Node would move it)."""
    n = 2000
    drive = Step("s", amplitude=150e-12, start=0.1).drive(DT, n)
    v = run(textbook, drive).v[:, 0]
    ref, _, _ = simulate(textbook, drive, reference_conventions("exact"))
    bound = 4 * n * EPS * ((textbook.V_th - textbook.V_reset) + abs(textbook.E_L))
    # One step of 150 pA moves V by R I (1 - exp(-dt/tau)) = 75 uV, far above the rounding bound.
    first = [int(np.argmax(np.abs(x - textbook.E_L) > bound)) for x in (v, ref[:, 0])]
    assert first == [edge_index(0.1, DT) + 1] * 2


def test_mapping_numbers_by_hand(textbook):
    """Textbook: dV = 15 mV, bias = (-70 + 65)/15 = -1/3, u0 = -1/3, R/dV = 1e8/0.015 per ampere."""
    native = nengo_.to_native(textbook)
    assert (native.tau_rc, native.tau_ref, native.gain) == (0.02, 0.002, 1.0)
    assert native.bias == pytest.approx(-1 / 3, rel=4 * EPS)
    assert native.voltage0 == pytest.approx(-1 / 3, rel=4 * EPS)
    assert native.input_scale == pytest.approx(1e8 / 0.015, rel=4 * EPS)
    assert native.min_voltage == -math.inf
    identity = nengo_.to_native(load_spec("nengo_default"))
    assert (identity.bias, identity.voltage0, identity.input_scale) == (0.0, 0.0, 1.0)


@pytest.mark.parametrize("name", sorted(spec_variants()) + ["nengo_default", "snntorch_lapicque"])
def test_mapping_round_trip_is_the_identity(name):
    """spec -> native -> spec. Each voltage comes back as V_reset + ((X - V_reset)/dV) dV: two roundings
    of |X - V_reset| and one of |X|, so within 4 eps max|V|; R = (R/dV) dV within 2 eps R; times exact."""
    spec = spec_variants().get(name) or load_spec(name)
    back = nengo_.from_native(nengo_.to_native(spec), spec.V_reset, spec.V_th, spec.name)
    scale = max(abs(spec.E_L), abs(spec.V_reset), abs(spec.V_th), abs(spec.V_init))
    assert (back.tau_m, back.t_ref, back.V_reset, back.V_th) == (spec.tau_m, spec.t_ref, spec.V_reset,
                                                                 spec.V_th)
    assert abs(back.E_L - spec.E_L) <= 4 * EPS * scale
    assert abs(back.V_init - spec.V_init) <= 4 * EPS * scale
    assert abs(back.R - spec.R) <= 2 * EPS * spec.R


def test_normalised_form_cannot_hold_the_voltage_offset_and_scale(textbook):
    """Shifting every voltage by c and scaling voltages and R by a gives the same Nengo neuron: the
    native form loses V_reset and V_th, which from_native must be given."""
    a, c = 2.0, 0.01
    moved = textbook.replace(E_L=a * textbook.E_L + c, V_th=a * textbook.V_th + c,
                             V_reset=a * textbook.V_reset + c, V_init=a * textbook.V_init + c,
                             R=a * textbook.R)
    one, two = nengo_.to_native(textbook), nengo_.to_native(moved)
    for key, value in one.as_dict().items():
        assert two.as_dict()[key] == pytest.approx(value, rel=16 * EPS)
    with pytest.raises(ValueError):
        nengo_.from_native(nengo_.NengoNative(0.02, 0.002, 2.0, 0.0, 0.0, 1.0), 0.0, 1.0)


@pytest.mark.parametrize("t_ref", [0.0, 0.5 * DT])
def test_refractory_shorter_than_dt_is_refused(textbook, t_ref):
    spec = textbook.replace(t_ref=t_ref)
    settings = RunSettings(DT, 100)
    reason = nengo_.representable(spec, settings)
    assert reason is not None and "nengo#1427" in reason
    with pytest.raises(NotRepresentable, match="nengo#1427"):
        nengo_.run(spec, Drive.constant([300e-12], DT, 100), settings)
    assert nengo_.representable(textbook.replace(t_ref=DT), settings) is None


def test_euler_is_refused(textbook):
    settings = RunSettings(DT, 100, method="euler")
    assert nengo_.representable(textbook, settings) == nengo_.REASON_EULER
    with pytest.raises(NotRepresentable, match="exactly"):
        nengo_.run(textbook, Drive.constant([300e-12], DT, 100), settings)


@pytest.fixture
def built(monkeypatch):
    """Every Simulator the backend builds: its network and keyword arguments (the real Simulator runs)."""
    calls = []
    real = nengo.Simulator

    def spy(network, **kwargs):
        calls.append((network, kwargs))
        return real(network, **kwargs)

    monkeypatch.setattr(nengo, "Simulator", spy)
    return calls


def test_fi_sweep_is_one_ensemble_and_matches_every_prediction(textbook, built):
    """21 currents from 0.5 to 5.5 x rheobase (some silent): one Simulator, one Ensemble of 21 neurons,
    no voltage probe, v None, every neuron on its exact grid prediction."""
    duration = 0.3
    currents = textbook.rheobase * np.linspace(0.5, 5.5, 21)
    assert_no_ties(textbook, currents, duration)
    result = run(textbook, Drive.constant(currents, DT, round(duration / DT)), record_v=False)
    assert len(built) == 1
    network, kwargs = built[0]
    assert [e.n_neurons for e in network.all_ensembles] == [21]
    assert network.all_probes == []
    assert isinstance(kwargs["model"].decoder_cache, NoDecoderCache)
    assert kwargs["progress_bar"] is False
    assert result.v is None and result.n_neurons == 21
    for train, current in zip(result.spike_trains(), currents):
        np.testing.assert_array_equal(train, np.ceil(cf.spike_times(textbook, current, duration) / DT) * DT)


def test_float64_whatever_the_nengorc_says_and_rc_restored(textbook):
    """With nengorc asking for float32 the run still agrees with the closed form to float64 rounding
    (float32 would miss it by ~1e-8 V), and the user's setting is back afterwards."""
    saved = rc.get("precision", "bits")
    rc.set("precision", "bits", "32")
    try:
        result = run(textbook, Drive.constant([150e-12], DT, 1000))
        assert rc.get("precision", "bits") == "32"
    finally:
        rc.set("precision", "bits", saved)
    error = np.max(np.abs(result.v[:, 0] - cf.subthreshold(textbook, result.t, 150e-12)))
    assert error <= 4 * 1000 * EPS * (textbook.V_th - textbook.V_reset + abs(textbook.E_L))


@pytest.mark.parametrize("name", plain_preset_names())
def test_every_preset_runs_or_is_refused_for_the_documented_reason(name):
    """100 ms at 0.1 ms, currents 0.8 and 2 x rheobase: finite (n_steps + 1, 2) traces starting at
    V_init and one spike per exact spike time; presets without a refractory period are refused."""
    spec = load_spec(name)
    settings = RunSettings(DT, 1000)
    drive = Drive.constant(spec.rheobase * np.array([0.8, 2.0]), DT, 1000)
    reason = nengo_.representable(spec, settings)
    if reason is not None:
        assert spec.t_ref < DT and nengo_.REASON_SHORT_REF in reason
        with pytest.raises(NotRepresentable):
            nengo_.run(spec, drive, settings)
        return
    result = nengo_.run(spec, drive, settings)
    assert result.v.shape == (1001, 2) and result.is_finite()
    assert np.all(result.v[0] == spec.V_init)
    expected = [cf.spike_times(spec, i, 0.1).size for i in drive.scale]
    assert result.spike_counts().tolist() == expected
    assert result.meta.backend == "nengo" and result.meta.dt == DT


def test_constant_drive_is_folded_into_the_bias_bit_for_bit(textbook, built):
    """A constant drive builds no drive Node (its per-step Python call is most of Nengo's cost on one
    neuron): the input sits in the bias, and the trace and spikes equal those of the same currents given
    as one waveform per neuron through the Node, bit for bit."""
    n, currents = 3000, textbook.rheobase * np.array([0.8, 1.3, 2.1])
    constant = run(textbook, Drive.constant(currents, DT, n), record_v=True)
    per_neuron = run(textbook, Drive(DT, np.ones((n, currents.size)) * currents, np.ones(currents.size)),
                     record_v=True)
    labels = [[node.label for node in network.all_nodes] for network, _ in built]
    assert labels == [["spikes"], ["drive", "spikes"]]
    assert constant.spike_time.size > 10
    np.testing.assert_array_equal(constant.v, per_neuron.v)
    np.testing.assert_array_equal(constant.spike_neuron, per_neuron.spike_neuron)
    np.testing.assert_array_equal(constant.spike_time, per_neuron.spike_time)


def test_several_cells_as_one_network_give_each_run_its_own_spikes_and_voltages_bit_for_bit():
    from conftest import population_runs, same_runs
    runs = population_runs()
    for record_v in (False, True):
        settings = RunSettings(1e-4, 1000, "exact", record_v=record_v)
        same_runs(nengo_.run_cells(runs, settings), [nengo_.run(s, d, settings) for s, d in runs], record_v)
