"""The Brian2 backend against closed forms, exact grid predictions and the reference, on identical samples.

Rounding bounds used below (u = 2**-53, the unit roundoff):

- Voltages: each step of Brian2's update and of the reference's (or of a closed form) rounds at most
  :data:`ROUNDINGS_PER_STEP` operations between them, each off by at most ``u M`` with ``M`` the largest
  magnitude involved (|V|, |E_L + R I|); an error made in one step is multiplied by ``a = exp(-dt/tau)``
  or ``1 - dt/tau``, both < 1, in every later step, so after ``n`` steps the two traces differ by at most
  ``n ROUNDINGS_PER_STEP u M`` (about 2e-13 V for 3000 steps at 70 mV).
- Spike times: both sides stamp ``k dt`` with one float multiplication (error <= u T for a run of
  length T); an ISI is a difference of two stamps and the prediction ``t_ref - dt + dt m`` takes three
  roundings of numbers <= T, so an ISI is off by at most ``6 u T``.
"""

from pathlib import Path

import brian2
import numpy as np
import pytest

from comparisons.stimuli import Step
from models import brian2_
from models.drive import Drive
from models.errors import BackendFailure, NotRepresentable
from models.loading import plain_preset_names
from models.loading import load_spec
from models.result import RunSettings
from reference import closed_forms as cf, reference_conventions, simulate

ROOT = Path(__file__).resolve().parent.parent
DT = 1e-4
U = np.finfo(float).eps / 2
ROUNDINGS_PER_STEP = 8
PREFS = ("codegen.target", "codegen.runtime.cython.cache_dir")


def voltage_rounding_bound(n_steps: int, magnitude: float) -> float:
    """Largest difference (V) rounding alone can make between two exact-arithmetic-equal traces."""
    return n_steps * ROUNDINGS_PER_STEP * U * magnitude


def isi_rounding_bound(duration: float) -> float:
    """Largest difference (s) rounding alone can make between an ISI and its grid prediction."""
    return 6 * U * duration


@pytest.fixture(autouse=True)
def restore_brian2_prefs():
    """Whatever a test does, Brian2's preferences are as before afterwards."""
    saved = dict(brian2.prefs)
    yield
    for name, value in saved.items():
        if brian2.prefs[name] != value:
            brian2.prefs[name] = value


def settings(n_steps, method="exact", record_v=True, **options):
    return RunSettings(DT, n_steps, method, record_v).with_options(**options)


def off_grid_by(x, margin=1e-6):
    """True when ``x`` (a time in steps) is farther than ``margin`` from an integer, so that the
    strict threshold on the grid cannot be decided by rounding."""
    x = np.asarray(x, dtype=float)
    return bool(np.all(np.abs(x - np.round(x)) > margin))


# ---- spikes: exact grid predictions -------------------------------------------------------------

CURRENTS = np.array([210e-12, 250e-12, 300e-12, 500e-12, 1e-9, 5e-9])


def test_constant_input_isis_are_the_exact_brian2_grid_prediction(textbook):
    """ISI = t_ref - dt + dt (floor(T_free/dt) + 1) (spike stamped at the step's start, dead time
    t_ref - dt) for every current; first stamp dt floor(latency/dt): the crossing is seen after
    floor(latency/dt) + 1 updates and stamped at the start of the last one."""
    n = 5000
    assert off_grid_by(cf.free_time(textbook, CURRENTS) / DT)
    assert off_grid_by(cf.first_spike_latency(textbook, CURRENTS) / DT)
    result = brian2_.run(textbook, Drive.constant(CURRENTS, DT, n), settings(n, record_v=False))
    tol = isi_rounding_bound(n * DT)
    for train, current in zip(result.spike_trains(), CURRENTS):
        predicted = float(cf.grid_isi(textbook, current, DT, rule="timestep"))
        assert train.size >= 8
        assert np.max(np.abs(np.diff(train) - predicted)) <= tol
        latency = float(cf.first_spike_latency(textbook, current))
        assert abs(train[0] - DT * np.floor(latency / DT)) <= tol
    assert "START" in result.meta.spike_stamp


def test_fi_sweep_is_one_population_without_a_trace(textbook, monkeypatch):
    """21 currents are one NeuronGroup of 21 neurons, no StateMonitor; each neuron on its prediction."""
    built = {"groups": [], "monitors": 0}

    class CountingGroup(brian2.NeuronGroup):
        def __init__(self, n, *args, **kwargs):
            built["groups"].append(n)
            super().__init__(n, *args, **kwargs)

    class CountingMonitor(brian2.StateMonitor):
        def __init__(self, *args, **kwargs):
            built["monitors"] += 1
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(brian2_, "NeuronGroup", CountingGroup)
    monkeypatch.setattr(brian2_, "StateMonitor", CountingMonitor)
    currents = np.linspace(210e-12, 1010e-12, 21)
    assert off_grid_by(cf.free_time(textbook, currents) / DT)
    n = 3000
    result = brian2_.run(textbook, Drive.constant(currents, DT, n), settings(n, record_v=False))
    assert built == {"groups": [21], "monitors": 0}
    assert result.v is None and result.n_neurons == 21
    predicted = cf.grid_isi(textbook, currents, DT, rule="timestep")
    for train, isi in zip(result.spike_trains(), predicted):
        assert train.size >= 2
        assert np.max(np.abs(np.diff(train) - isi)) <= isi_rounding_bound(n * DT)


# ---- voltage traces against the closed form and the reference ------------------------------------

def step_trace_expected(spec, t, amplitude, start, stop):
    """Closed-form response (V) at times t to ``amplitude`` on [start, stop) from rest."""
    v_on = cf.subthreshold(spec, t - start, amplitude, v0=spec.E_L)
    v_off = cf.subthreshold(spec, t - stop, 0.0, v0=float(cf.subthreshold(spec, stop - start, amplitude,
                                                                           v0=spec.E_L)))
    return np.where(t <= start, spec.E_L, np.where(t <= stop, v_on, v_off))


def test_exact_subthreshold_step_matches_closed_form_and_reference(textbook):
    """Exact method, 150 pA on [100, 200) ms: the closed form sampled and the reference, to rounding.
    The first sample that moves is the reference's (TimedArray value k drives (t_k, t_k+1])."""
    n, start, stop = 3000, 0.1, 0.2
    drive = Step("s", amplitude=150e-12, start=start, stop=stop).drive(DT, n)
    result = brian2_.run(textbook, drive, settings(n))
    v_ref, _, _ = simulate(textbook, drive, reference_conventions("exact"))
    t = np.arange(n + 1) * DT
    bound = voltage_rounding_bound(n, abs(textbook.E_L))
    assert result.spike_time.size == 0 and result.v.shape == (n + 1, 1)
    np.testing.assert_array_equal(result.t, t)
    assert np.max(np.abs(result.v[:, 0] - step_trace_expected(textbook, t, 150e-12, start, stop))) <= bound
    assert np.max(np.abs(result.v - v_ref)) <= bound
    first_move = np.flatnonzero(result.v[:, 0] != textbook.E_L)[0]
    assert first_move == np.flatnonzero(v_ref[:, 0] != textbook.E_L)[0] == round(start / DT) + 1


def test_per_neuron_waveforms_use_a_2d_timed_array_aligned_like_the_reference(textbook):
    """Three neurons, three different subthreshold waveforms (V_inf <= -55 mV): identical samples."""
    n = 800
    waveform = np.random.default_rng(1).uniform(0.0, 150e-12, (n, 3))
    drive = Drive(DT, waveform, np.ones(3))
    result = brian2_.run(textbook, drive, settings(n))
    v_ref, _, _ = simulate(textbook, drive, reference_conventions("exact"))
    assert np.max(np.abs(result.v - v_ref)) <= voltage_rounding_bound(n, abs(textbook.E_L))


def test_euler_is_first_order_against_the_closed_form(textbook):
    """Euler's error t dt/(2 tau^2) |V0 - V_inf| exp(-t/tau) at 150 pA: halves with dt (slope ~1)."""
    dts = np.array([4e-4, 2e-4, 1e-4, 5e-5, 2.5e-5])
    errors = []
    for dt in dts:
        n = int(round(0.05 / dt))
        run_settings = RunSettings(dt, n, "euler")
        result = brian2_.run(textbook, Drive.constant([150e-12], dt, n), run_settings)
        errors.append(np.max(np.abs(result.v[:, 0] - cf.subthreshold(textbook, result.t, 150e-12))))
    slope, _ = np.polyfit(np.log(dts), np.log(errors), 1)
    assert 0.9 <= slope <= 1.1


def test_euler_matches_reference_euler_on_identical_samples(textbook):
    """Same forward-Euler rule, same samples: only rounding separates the traces."""
    n = 3000
    drive = Step("s", amplitude=150e-12, start=0.1, stop=0.2).drive(DT, n)
    result = brian2_.run(textbook, drive, settings(n, method="euler"))
    v_ref, _, _ = simulate(textbook, drive, reference_conventions("euler"))
    assert np.max(np.abs(result.v - v_ref)) <= voltage_rounding_bound(n, abs(textbook.E_L))
    assert "euler" in result.meta.method


# ---- mapping, presets, representability ----------------------------------------------------------

@pytest.mark.parametrize("preset", plain_preset_names())
def test_mapping_round_trips_with_units(preset):
    spec = load_spec(preset)
    namespace = brian2_.to_native(spec)
    assert brian2_.from_native(namespace, spec.name, spec.description) == spec
    assert namespace["tau_m"] == spec.tau_m * brian2.second
    assert namespace["R"] == spec.R * brian2.ohm
    for key in ("E_L", "V_th", "V_reset", "V_init"):
        assert namespace[key] == getattr(spec, key) * brian2.volt
    assert all(isinstance(value, brian2.Quantity) for value in namespace.values())


@pytest.mark.parametrize("preset", plain_preset_names())
def test_every_preset_runs_on_the_shared_grid_with_predicted_spikes(preset):
    """1.5 x rheobase for 100 ms, two neurons. Shape (n_steps + 1, N), v[0] = V_init, the sample after
    each stamp is V_reset, and spikes on the hand-derived Brian2 grid: first stamp dt floor(latency/dt),
    ISI dt (max(n_ref, 1) - 1) + dt (floor(T_free/dt) + 1) (no dead time at all for n_ref <= 1)."""
    spec = load_spec(preset)
    n, current = 1000, 1.5 * spec.rheobase
    latency, t_free = cf.first_spike_latency(spec, current), cf.free_time(spec, current)
    assert off_grid_by([latency / DT, t_free / DT])
    result = brian2_.run(spec, Drive.constant([current, current], DT, n), settings(n))
    assert result.v.shape == (n + 1, 2) and result.is_finite()
    assert np.all(result.v[0] == spec.V_init)
    steps = np.round(result.spike_time / DT).astype(int)
    assert np.all(result.v[steps + 1, result.spike_neuron] == spec.V_reset)
    k_first = int(np.floor(latency / DT))
    k_isi = max(round(spec.t_ref / DT), 1) - 1 + int(np.floor(t_free / DT)) + 1
    expected = DT * np.arange(k_first, n, k_isi)  # Brian2 stamps t_0 .. t_(n-1)
    for train in result.spike_trains():
        assert train.size == expected.size >= 2
        assert np.max(np.abs(train - expected)) <= isi_rounding_bound(n * DT)


def test_representable_names_what_brian2_cannot_do(textbook):
    assert brian2_.representable(textbook, settings(10)) is None
    assert brian2_.representable(textbook, settings(10, target="cython")) is None
    assert "method" in brian2_.representable(textbook, settings(10, method="rk4"))
    assert brian2_.representable(textbook, settings(10, target="cpp_standalone")) is None
    assert "target" in brian2_.representable(textbook, settings(10, target="gpu"))
    with pytest.raises(NotRepresentable, match="rk4"):
        brian2_.run(textbook, Drive.constant([0.0], DT, 10), settings(10, method="rk4"))


# ---- isolation: preferences, namespace, Cython cache --------------------------------------------

def test_prefs_restored_after_a_run_and_after_a_run_that_raises(textbook, monkeypatch, tmp_path):
    """A failing run (threshold naming an identifier that exists only as a global of the adapter
    module, where Brian2's implicit namespace would find it) raises and still restores the prefs."""
    brian2.prefs["codegen.target"] = "cython"
    brian2.prefs["codegen.runtime.cython.cache_dir"] = str(tmp_path)
    before = {name: brian2.prefs[name] for name in PREFS}
    brian2_.run(textbook, Drive.constant([0.0], DT, 20), settings(20, target="numpy"))
    assert {name: brian2.prefs[name] for name in PREFS} == before
    monkeypatch.setattr(brian2_, "V_stray", -0.06 * brian2.volt, raising=False)
    monkeypatch.setattr(brian2_, "THRESHOLD", "v > V_stray")
    with pytest.raises(BackendFailure, match="V_stray"):
        brian2_.run(textbook, Drive.constant([0.0], DT, 20), settings(20, target="numpy"))
    assert {name: brian2.prefs[name] for name in PREFS} == before


def test_cython_uses_the_project_cache_and_matches_numpy(textbook, monkeypatch):
    """One small Cython run (compiles once, cached in <project>/.cache/brian2-cython afterwards)."""
    seen = {}
    original = brian2_._simulate

    def recording(*args, **kwargs):
        seen.update({name: brian2.prefs[name] for name in PREFS})
        return original(*args, **kwargs)

    monkeypatch.setattr(brian2_, "_simulate", recording)
    n = 2000
    drive = Drive.constant([150e-12, 300e-12], DT, n)
    cython = brian2_.run(textbook, drive, settings(n, target="cython"))
    cache = Path(seen["codegen.runtime.cython.cache_dir"])
    assert seen["codegen.target"] == "cython"
    assert cache == ROOT / ".cache" / "brian2-cython" and cache.is_dir()
    assert any(cache.iterdir())
    assert brian2.prefs["codegen.runtime.cython.cache_dir"] is None  # restored (the default)
    numpy_ = brian2_.run(textbook, drive, settings(n, target="numpy"))
    np.testing.assert_array_equal(cython.spike_neuron, numpy_.spike_neuron)
    np.testing.assert_array_equal(cython.spike_time, numpy_.spike_time)
    assert np.max(np.abs(cython.v - numpy_.v)) <= voltage_rounding_bound(n, abs(textbook.E_L))


# ---- input as a parameter, code-generation target chosen per workload ---------------------------

def test_a_constant_drive_is_a_parameter_and_gives_the_timed_array_numbers_bit_for_bit(textbook):
    """f-I and convergence drives reach Brian2 as the parameter ``I`` (no TimedArray, so no code that
    depends on dt or the duration); the same currents given as one waveform per neuron (a 2-D TimedArray)
    give the identical trace and spikes."""
    n, currents = 3000, np.array([150e-12, 250e-12, 400e-12])
    constant = Drive.constant(currents, DT, n)
    per_neuron = Drive(DT, np.ones((n, currents.size)) * currents, np.ones(currents.size))
    assert brian2_.input_kind(constant) == "constant" and brian2_.input_kind(per_neuron) == "per_neuron"
    assert brian2_.input_kind(Drive.shared(np.r_[np.zeros(10), np.ones(10)], DT, 2)) == "shared"
    a = brian2_.run(textbook, constant, settings(n, target="numpy"))
    b = brian2_.run(textbook, per_neuron, settings(n, target="numpy"))
    assert a.spike_time.size > 10
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_array_equal(a.spike_neuron, b.spike_neuron)
    np.testing.assert_array_equal(a.spike_time, b.spike_time)


def test_auto_target_is_cython_for_every_workload_of_a_report():
    """Warm, Cython beats numpy at every size (measured: 15 against 61 us per step, 4.9 against 17 ns per
    neuron-step); without a compiler ``auto`` can only be numpy."""
    for n, steps in [(1, 10), (2, 5000), (31, 20000), (10_000, 10_000)]:
        assert brian2_.choose_target(n, steps, cython=False) == "numpy"
        assert brian2_.choose_target(n, steps, cython=True) == "cython"


def test_auto_target_compiles_the_whole_network_only_when_it_pays():
    """cpp_standalone compiles the network again for every new workload (N and the duration are in
    its C++ code) but then runs faster than Cython: ``auto`` leaves it out of the report's workloads and
    of a 10^4-neuron 1 s sweep, and takes it for the 10^4-current 10 s sweep (10^9 neuron-steps, about
    4.9 s standalone against 6.6 s with Cython, measured by the benchmark's brian2_cost_point rows) and for
    the largest workload the suite accepts (2e10 neuron-steps, comparisons.config.MAX_NEURON_STEPS)."""
    expected = {(2, 5000): "cython", (31, 20000): "cython", (1, 20000): "cython", (10_000, 10_000): "cython",
                (10_000, 100_000): "cpp_standalone", (20_000, 1_000_000): "cpp_standalone"}
    assert {w: brian2_.choose_target(*w, cython=True) for w in expected} == expected
    assert {w: brian2_.choose_target(*w, cython=False) for w in expected} == {w: "numpy" for w in expected}


def test_cpp_standalone_gives_numpys_spikes_and_leaves_the_runtime_device(textbook):
    """A cpp_standalone run (built in the project's .cache, in a child process), called as the harness
    calls a backend (inside an isolated, daemonic child): numpy's spikes, the trace within rounding, and
    this process still on Brian2's runtime device afterwards."""
    from comparisons.execution.isolation import call_isolated
    n = 2000
    drive = Drive.constant([150e-12, 300e-12], DT, n)
    standalone = call_isolated(brian2_.run, (textbook, drive, settings(n, target="cpp_standalone")), 300)
    assert standalone.meta.notes[0].startswith("code-generation target 'cpp_standalone'")
    assert type(brian2.get_device()).__name__ == "RuntimeDevice"
    numpy_ = brian2_.run(textbook, drive, settings(n, target="numpy"))
    assert standalone.spike_time.size > 5
    np.testing.assert_array_equal(standalone.spike_neuron, numpy_.spike_neuron)
    np.testing.assert_array_equal(standalone.spike_time, numpy_.spike_time)
    assert np.max(np.abs(standalone.v - numpy_.v)) <= voltage_rounding_bound(n, abs(textbook.E_L))
    assert any((ROOT / ".cache" / "brian2-standalone").iterdir())


def test_auto_target_runs_cython_here_and_says_so(textbook):
    """This machine has a compiler (the test suite installs Cython with Brian2): the default target
    resolves to Cython, the metadata names it and the choice, and the spikes are numpy's."""
    assert brian2_.cython_available()
    n = 2000
    drive = Drive.constant([150e-12, 300e-12], DT, n)
    auto = brian2_.run(textbook, drive, settings(n))
    assert auto.meta.notes[0].startswith("code-generation target 'cython' (chosen by 'auto'")
    numpy_ = brian2_.run(textbook, drive, settings(n, target="numpy"))
    assert numpy_.meta.notes[0] == "code-generation target 'numpy'"
    np.testing.assert_array_equal(auto.spike_time, numpy_.spike_time)
    assert np.max(np.abs(auto.v - numpy_.v)) <= voltage_rounding_bound(n, abs(textbook.E_L))


def test_without_a_compiler_auto_falls_back_to_numpy(textbook, monkeypatch):
    monkeypatch.setattr(brian2_, "cython_available", lambda: False)
    result = brian2_.run(textbook, Drive.constant([300e-12], DT, 100), settings(100))
    assert result.meta.notes[0].startswith("code-generation target 'numpy' (chosen by 'auto'")


def test_the_shared_step_count_is_brian2s_own_timestep():
    """models.propagators.whole_timesteps (used by the adapter, the twin's refractory rule and the grid
    predictions) against Brian2's own timestep() on durations at, just below and just above whole steps."""
    from brian2.core.functions import timestep
    from models.propagators import whole_timesteps
    for dt in (1e-4, 2.5e-4, 4e-4, 1e-3):
        for k in range(0, 40):
            for t in (k * dt, k * dt * (1 - 1e-12), k * dt + 0.4e-3 * dt, (k + 0.5) * dt, (k + 1) * dt - 2e-3 * dt):
                assert whole_timesteps(t, dt) == int(timestep(t, dt)), (t, dt)


@pytest.mark.parametrize("target", ["numpy", "cython"])
def test_several_cells_as_one_neurongroup_give_each_run_its_own_spikes_bit_for_bit(target):
    # Spikes bit for bit; voltages within the contract's rounding bound, 1e-12 (V_th - V_reset): Brian2
    # hoists loop-invariant subexpressions of namespace constants (evaluated once, in another order), which
    # per-neuron parameters are not (measured with the numpy target: 1.2e-16 V at most, a few ulps)
    from comparisons.contract import VOLTAGE_RTOL
    from conftest import population_runs, same_runs
    runs = population_runs()
    scale = min(s.V_th - s.V_reset for s, _ in runs)
    settings = RunSettings(1e-4, 1000, "exact", record_v=True, options=(("target", target),))
    same_runs(brian2_.run_cells(runs, settings), [brian2_.run(s, d, settings) for s, d in runs], True,
              VOLTAGE_RTOL * scale)


def test_cells_that_are_not_one_population_run_one_after_the_other():
    from conftest import population_runs, same_runs
    runs = population_runs()[:3]
    noisy = (runs[0][0].replace(sigma=2e-12, noise_seed=3), runs[0][1])
    settings = RunSettings(1e-4, 1000, "exact", record_v=False, options=(("target", "numpy"),))
    same_runs(brian2_.run_cells(runs + [noisy], settings), [brian2_.run(s, d, settings) for s, d in runs + [noisy]])
