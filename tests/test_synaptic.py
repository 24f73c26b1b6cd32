"""The exponential synaptic current: the exact propagator and the PSP closed form, the reference against
them, and every backend's PSP against the closed form with the tolerance of its numerics (or its refusal)."""

import math

import numpy as np
import pytest

from comparisons import tolerances as T
from comparisons import variants
from comparisons.stimuli import Step
from models import brian2_, nengo_, nest_, rockpool_, snntorch_
from reference import backend as reference_
from models.drive import Drive
from models.result import RunSettings
from models.spec import LIFSpec, SpikeInput
from reference import closed_forms as cf
from reference.synaptic import p21

DT = 1e-4
TAU, R, W = 0.02, 1e8, 50e-12
ALL = ["reference", "brian2", "nengo", "nest", "snntorch", "rockpool"]


def cell(tau_syn=0.005, t_ref=0.002, times=(0.001,), weight=W, **changes):
    return LIFSpec(name="syn", tau_m=TAU, E_L=-0.07, V_th=-0.05, V_reset=-0.065, R=R, t_ref=t_ref,
                   tau_syn=tau_syn, spike_input=SpikeInput(weight, times) if times else None, **changes)


def textbook_psp(t, t_a, tau_s, weight=W):
    """The semantics notes' closed form, written out here: R w tau_s/(tau - tau_s) (e^(-s/tau) - e^(-s/tau_s)),
    and R w (s/tau) e^(-s/tau) for tau = tau_s."""
    s = np.maximum(np.asarray(t) - t_a, 0.0)
    if tau_s == TAU:
        return R * weight * (s / TAU) * np.exp(-s / TAU)
    return R * weight * tau_s / (TAU - tau_s) * (np.exp(-s / TAU) - np.exp(-s / tau_s))


def run_reference(spec, n, method="exact", drive=None):
    drive = Drive.constant([0.0], DT, n) if drive is None else drive
    return reference_.run(spec, drive, RunSettings(DT, n, method))


# ---- propagator and closed forms -------------------------------------------------------------------

@pytest.mark.parametrize("tau_s", [0.005, 0.04, TAU])
def test_propagator_is_the_textbook_coefficient(tau_s):
    """P21 is V(dt) - E_L per ampere of synaptic current at t_k: the PSP one step after the jump."""
    spec = cell(tau_s)
    expected = float(textbook_psp(DT, 0.0, tau_s, 1.0))
    assert p21(spec, DT) == pytest.approx(expected, rel=1e-12)
    if tau_s == TAU:
        assert p21(spec, DT) == R * (DT / TAU) * math.exp(-DT / TAU)  # the limit, exactly


@pytest.mark.parametrize("tau_s", [0.005, 0.04, TAU])
def test_closed_form_psp_and_its_peak(tau_s):
    spec = cell(tau_s)
    t = np.linspace(0, 0.2, 20001)
    np.testing.assert_allclose(cf.psp(spec, W, t - 0.001), textbook_psp(t, 0.001, tau_s), rtol=1e-12, atol=1e-20)
    s_star, peak = cf.psp_peak(spec, W)
    sampled = cf.psp(spec, W, t)
    assert abs(s_star - t[np.argmax(sampled)]) <= t[1]  # the argmax of a fine sampling, within one sample
    assert peak >= sampled.max() * (1 - 1e-12)


def test_near_equal_time_constants_lose_no_precision():
    """tau_s = tau (1 + 1e-9): the closed form and the propagator stay within 1e-8 of the tau_s = tau limit
    (the PSP moves by ~1e-9 relative), where the textbook difference formula would cancel to ~1e-7."""
    near, equal = cell(TAU * (1 + 1e-9)), cell(TAU)
    t = np.arange(1, 2000) * DT
    assert np.max(np.abs(cf.psp(near, W, t) / cf.psp(equal, W, t) - 1)) < 1e-8
    assert abs(p21(near, DT) / p21(equal, DT) - 1) < 1e-8


# ---- the reference -------------------------------------------------------------------------------

@pytest.mark.parametrize("tau_s", [0.005, TAU, TAU * (1 + 1e-9), 0.04])
def test_reference_psp_is_the_closed_form(tau_s):
    """Exact propagator, spike arriving on the grid: the closed form at every grid point within 1e-9 of the
    peak (measured ~1e-13: rounding of V - E_L over 1500 steps)."""
    spec = cell(tau_s)
    result = run_reference(spec, 1500)
    closed = cf.psp(spec, W, result.t - 0.001)
    error = np.max(np.abs(result.v[:, 0] - spec.E_L - closed))
    assert error <= 1e-9 * np.max(closed)
    np.testing.assert_allclose(result.extra["i_syn"][11:], W * np.exp(-(result.t[11:] - 0.001) / tau_s),
                               rtol=1e-12)
    assert result.spike_time.size == 0 and result.extra["variant"]["synapse"] == "exact"


@pytest.mark.parametrize("tau_s", [0.005, TAU])
def test_reference_euler_psp_is_the_euler_closed_form(tau_s):
    """Forward Euler of both equations equals the closed form of its recurrence within rounding; that
    truncation error is first order: halving dt halves it, up to a factor 1 + O(dt/tau_s) (dt/tau_s = 0.02
    here, so the ratio lies within 2 +- 0.1)."""
    spec = cell(tau_s)
    result = run_reference(spec, 1500, "euler")
    k = np.maximum(np.arange(1501) - 10, 0)
    euler = cf.psp_euler(spec, W, DT, k)
    assert np.max(np.abs(result.v[:, 0] - spec.E_L - euler)) <= T.rounding(1500, 0.07)

    def truncation(h):
        steps = np.arange(int(round(0.15 / h)))
        return np.max(np.abs(cf.psp_euler(spec, W, h, steps) - cf.psp(spec, W, steps * h)))
    assert 1.9 < truncation(DT) / truncation(DT / 2) < 2.1


def test_spikes_superpose_and_repeats_add():
    """Two spikes at 1 ms and two more at 5 ms: the sum of shifted closed forms (linearity)."""
    spec = cell(times=(0.001, 0.005, 0.005))
    result = run_reference(spec, 1500)
    closed = cf.psp(spec, W, result.t - 0.001) + 2 * cf.psp(spec, W, result.t - 0.005)
    assert np.max(np.abs(result.v[:, 0] - spec.E_L - closed)) <= 1e-9 * np.max(closed)


def test_refractory_holds_v_while_the_synaptic_current_runs_on():
    """A spike strong enough to fire at step k_s: V is held at V_reset for n_ref steps while I_syn decays;
    afterwards, up to the next spike, V relaxes from V_reset under the remaining current
    w e^(-(t_r - t_a)/tau_s) (closed forms)."""
    weight, t_a = 3e-9, 0.001
    spec = cell(weight=weight, times=(t_a,))
    result = run_reference(spec, 600)
    assert result.spike_time.size >= 1
    k_s = int(round(result.spike_time[0] / DT))
    n_ref = round(spec.t_ref / DT)
    assert np.all(result.v[k_s:k_s + n_ref + 1, 0] == spec.V_reset)
    k_r = k_s + n_ref
    stop = int(round(result.spike_time[1] / DT)) if result.spike_time.size > 1 else 601
    after = result.t[k_r:stop] - k_r * DT
    remaining = weight * math.exp(-(k_r * DT - t_a) / spec.tau_syn)
    closed = spec.E_L + (spec.V_reset - spec.E_L) * np.exp(-after / TAU) + cf.psp(spec, remaining, after)
    assert stop - k_r > 10
    assert np.max(np.abs(result.v[k_r:stop, 0] - closed)) <= 1e-9 * abs(spec.V_reset)


def test_variant_path_without_input_is_the_plain_grid_rule(textbook):
    """A synapse that never receives a spike leaves the plain reference's grid rule (engine) unchanged."""
    drive = Step("s", amplitude=300e-12, start=0.01, stop=0.15).drive(DT, 2000)
    plain = reference_.run(textbook, drive, RunSettings(DT, 2000))
    silent = reference_.run(textbook.replace(tau_syn=0.005), drive, RunSettings(DT, 2000))
    np.testing.assert_array_equal(plain.spike_time, silent.spike_time)
    assert np.max(np.abs(plain.v - silent.v)) <= T.rounding(2000, 0.07)
    assert plain.spike_time.size >= 3


# ---- backends: the same cell on every simulator -----------------------------------------------

@pytest.fixture(scope="module")
def psp_exact():
    return variants.psp_comparison(cell(0.005), ALL, DT, "exact")


def verdict(result, backend, metric="psp_max_abs_error"):
    df = result.metrics
    return df[(df.backend == backend) & (df.metric == metric)].iloc[0]


def test_every_backend_psp_matches_the_closed_form_within_its_numerics(psp_exact):
    df = psp_exact.metrics
    judged = df[df.passed.notna()]
    assert set(judged.backend) == set(ALL), psp_exact.refused
    assert (judged.passed.eq(True)).all(), judged[judged.passed.ne(True)].to_string()
    # exact propagators: rounding only (64 eps (n + 1) max|V| + cancellation: ~1e-12 V, 1e-9 of the peak)
    peak = abs(cf.psp_peak(cell(0.005), verdict(psp_exact, "reference", "psp_weight").value)[1])
    for name in ("reference", "brian2", "nest", "snntorch", "rockpool"):
        assert verdict(psp_exact, name).tolerance < 1e-8 * peak
    # snnTorch and Rockpool have no refractory period: they ran the same cell with t_ref = 0 (the PSP from
    # rest never reaches threshold), labelled as such
    assert set(df[df.stimulus == "psp [t_ref=0]"].backend) == {"snntorch", "rockpool"}


def test_nengo_is_a_different_model_within_the_step(psp_exact):
    """Nengo holds the step average of the synaptic current: its PSP is the exact one times
    P21'/P21 = 1 + dt^2/(12 tau_m tau_s) + O(dt^3), far above rounding but within that bound."""
    row = verdict(psp_exact, "nengo")
    relative = verdict(psp_exact, "nengo", "psp_rel_error").value
    expected = DT ** 2 / (12 * TAU * 0.005)
    assert relative == pytest.approx(expected, rel=1e-3)
    assert row.value > 1e3 * verdict(psp_exact, "nest").tolerance
    assert row.passed is True


def test_euler_backends_carry_eulers_truncation_error():
    result = variants.psp_comparison(cell(0.005), ["reference", "brian2", "snntorch", "nengo"], DT, "euler")
    df = result.metrics
    judged = df[df.passed.notna()]
    assert set(judged.backend) == {"reference", "brian2", "snntorch"}
    assert (judged.passed.eq(True)).all()
    errors = [verdict(result, name).value for name in ("reference", "brian2", "snntorch")]
    assert np.ptp(errors) <= T.rounding(1500, 0.07)  # the same recurrence everywhere
    assert "no forward-Euler mode" in result.refused["psp: nengo"]


# ---- backends: refusals and timing of the arrival ------------------------------------------------

def test_refusals_name_the_simulators_limits():
    settings = RunSettings(DT, 1000)
    assert brian2_.representable(cell(TAU), settings) == brian2_.REASON_EQUAL_TAUS
    assert brian2_.representable(cell(TAU, t_ref=0.0), settings) is None  # flag dropped, tau_m in the equation
    assert nest_.representable(cell(times=(0.0001,)), settings) == nest_.REASON_EARLY_SPIKE
    assert nest_.representable(cell(times=(0.0002,)), settings) is None
    assert nengo_.representable(cell(times=(0.0,)), settings) == nengo_.REASON_FIRST_STEP
    assert snntorch_.representable(cell(), settings).startswith(snntorch_.REASON_REFRACTORY)
    assert "synapse" in nest_.representable(cell(), settings.with_options(model="iaf_psc_delta_ps"))


@pytest.mark.parametrize("backend", ["brian2", "nest", "snntorch", "rockpool"])
def test_arrival_timing_matches_the_reference_under_drive_and_refractoriness(backend):
    """Spikes at 0.3 ms (NEST: the earliest it takes), twice at 1 ms, at 1.5 ms and during a refractory
    period, on top of a step current that fires the cell: the same trace as the reference within rounding.
    Rockpool and snnTorch (no refractory period) run t_ref = 0; Rockpool thresholds with >= and resets by
    subtraction, so its reference is configured alike."""
    module = {"brian2": brian2_, "nest": nest_, "snntorch": snntorch_, "rockpool": rockpool_}[backend]
    no_ref = backend in ("snntorch", "rockpool")
    spec = cell(t_ref=0.0 if no_ref else 0.002, times=(0.0003, 0.001, 0.001, 0.0015, 0.03, 0.031),
                reset="subtract" if backend == "rockpool" else "value")
    drive = Step("s", amplitude=220e-12, start=0.01, stop=0.08).drive(DT, 1000)
    drive = Drive(DT, drive.waveform, np.array([1.0, 0.5]))
    settings = RunSettings(DT, 1000)
    expected = reference_.run(spec, drive, settings.with_options(threshold=">=") if backend == "rockpool"
                              else settings)
    result = module.run(spec, drive, settings)
    assert expected.spike_time.size >= 1 and result.spike_counts().tolist() == expected.spike_counts().tolist()
    shift = DT if backend == "brian2" else 0.0  # Brian2 stamps a spike at the start of its step
    np.testing.assert_allclose(result.spike_time + shift, expected.spike_time, atol=1e-12)
    if backend == "brian2":  # Brian2's dead time is t_ref - dt: compare up to its first spike only
        stop = int(round(result.spike_time[result.spike_neuron == 0][0] / DT)) + 1
        assert np.max(np.abs(result.v[:stop] - expected.v[:stop])) <= T.rounding(1000, 0.07)
    else:
        assert np.max(np.abs(result.v - expected.v)) <= T.rounding(1000, 0.07)
    assert result.extra["variant"]["synapse"] == "exact"
