"""The compiled loop (reference.fast) against the numpy update functions of reference.engine.

The numpy loop is the definition of the reference; the compiled loop must give the same numbers BIT FOR
BIT (np.array_equal, no tolerance): it performs the same IEEE-754 operations in the same order and takes
every exp/log value from numpy. A kernel that evaluated exp/log with the C library instead fails about a
fifth of these cases (every exact-integrator timer case with a refractory period or several spikes in
a step), so the comparison does discriminate.
"""

import itertools

import numpy as np
import pytest

from comparisons.stimuli import Sine, Step, WhiteNoise
from models.drive import Drive
from models.files import preset_names
from models.loading import load_spec
from reference import engine, fast
from reference.conventions import CHOICES, Conventions


def every_conventions() -> list[Conventions]:
    """Every valid combination of the Conventions fields (14)."""
    out = []
    for values in itertools.product(*CHOICES.values()):
        try:
            out.append(Conventions(**dict(zip(CHOICES, values))))
        except ValueError:
            continue
    return out


CONVENTIONS = every_conventions()

#: Per-neuron drive in units of the rheobase: silent, at and just above rheobase, the usual range, and
#: strong enough that t_ref = 0 cells fire several times in one 1 ms step (checked below).
SCALES = np.array([0.0, 0.5, 1.0, 1.001, 1.5, 2.5, 5.0, 20.0, 200.0])


def drives(spec, dt: float, n_steps: int) -> dict[str, Drive]:
    """A constant f-I sweep and time-varying drives (shared waveform x scale, and one noise per neuron)."""
    rb, t_end = spec.rheobase, n_steps * dt
    step = Step("step", amplitude=rb, start=t_end / 4, stop=3 * t_end / 4).sample(dt, n_steps)
    sine = Sine("sine", amplitude=rb, frequency=40.0, offset=rb).sample(dt, n_steps)
    noise = np.stack([WhiteNoise("noise", mean=2 * rb, sigma=rb * 1e-2 * (j + 1), seed=j).sample(dt, n_steps)
                      for j in range(SCALES.size)], axis=1)
    return {
        "constant sweep": Drive.constant(SCALES * rb, dt, n_steps),
        "step x scale": Drive(dt, step, SCALES),
        "sine x scale": Drive(dt, sine, SCALES),
        "noise per neuron": Drive(dt, noise, np.ones(SCALES.size)),
    }


def assert_identical(expected, got, what: str) -> None:
    """Equal arrays, bit for bit; the message says how far apart they are when not."""
    (v_ref, n_ref, t_ref), (v, n, t) = expected, got
    assert np.array_equal(n_ref, n), f"{what}: spike neurons differ ({n_ref.size} vs {n.size} spikes)"
    if not np.array_equal(t_ref, t):
        raise AssertionError(f"{what}: spike times differ, max |dt| = {np.max(np.abs(t_ref - t)):.3e} s")
    if v_ref is None or v is None:
        assert v_ref is None and v is None, f"{what}: one trace is missing"
    elif not np.array_equal(v_ref, v):
        raise AssertionError(f"{what}: traces differ at {np.count_nonzero(v_ref != v)} samples, "
                             f"max |dV| = {np.nanmax(np.abs(v_ref - v)):.3e} V")


@pytest.mark.parametrize("preset", preset_names())
@pytest.mark.parametrize("dt", [1e-4, 1e-3], ids=["dt=0.1ms", "dt=1ms"])
def test_compiled_loop_equals_numpy_update_bit_for_bit(preset, dt):
    """Every preset x every conventions x constant and time-varying drives, trace and spikes.

    The compiled loop runs with and without the trace; its spikes must not depend on recording."""
    spec = load_spec(preset)
    for (name, drive), conventions in itertools.product(drives(spec, dt, 300).items(), CONVENTIONS):
        what = f"{preset}, {name}, {conventions}"
        expected = engine.simulate(spec, drive, conventions, record_v=True, fast=False)
        assert_identical(expected, fast.simulate_fast(spec, drive, conventions, record_v=True), what)
        assert_identical((None,) + expected[1:],
                         fast.simulate_fast(spec, drive, conventions, record_v=False), what + ", no trace")


def test_several_spikes_in_one_step_are_covered():
    """The drives above do reach the timer loop's several-spikes-per-step path (t_ref = 0 < dt)."""
    spec = load_spec("euler_tutorial")
    drive = drives(spec, 1e-3, 300)["constant sweep"]
    conventions = Conventions(crossing="exact", refractory="timer")
    _, neuron, time = fast.simulate_fast(spec, drive, conventions, record_v=False)
    steps = np.ceil(time / 1e-3 - 1e-9).astype(int)       # the step (k-1, k] holding each spike
    assert np.max(np.unique(np.stack([neuron, steps]), axis=1, return_counts=True)[1]) > 1


@pytest.mark.parametrize("conventions", CONVENTIONS, ids=str)
def test_threads_and_growing_spike_buffers_change_nothing(conventions, monkeypatch):
    """600 neurons in 3 chunks (several grid blocks and timer queue blocks per thread), with spike
    buffers starting at their minimum (room for two steps' worst case: 2 x 256 grid spikes, 2 x
    (MAX_SPIKES_PER_STEP + 1) timer spikes) so that they must grow during the run, in every chunk."""
    monkeypatch.setattr(fast, "INITIAL_CAPACITY", 1)
    spec = load_spec("euler_tutorial")
    currents = np.linspace(0.0, 100.0, 600) * spec.rheobase
    drive = Drive(1e-4, Sine("s", amplitude=0.5, frequency=25.0, offset=1.0).sample(1e-4, 600), currents)
    expected = engine.simulate(spec, drive, conventions, record_v=True, fast=False)
    assert expected[1].size > 3 * 2 * (fast.MAX_SPIKES_PER_STEP + 1)
    for chunks in (1, 3):
        got = fast.simulate_fast(spec, drive, conventions, record_v=True, chunks=chunks)
        assert_identical(expected, got, f"{conventions}, {chunks} chunks")


@pytest.mark.parametrize("crossing", ["linear", "exact"])
def test_too_many_spikes_in_one_step_fail_alike(crossing):
    """A 0.1 mA drive on a t_ref = 0 cell: T_free ~ tau (V_th - V_reset)/(R I) = 1.5e-8 s, so a 1 ms
    step would hold ~7e4 spikes, beyond MAX_SPIKES_PER_STEP: both loops refuse in the same words."""
    spec = load_spec("euler_tutorial")
    drive = Drive.constant([1e-4], 1e-3, 1)
    conventions = Conventions(crossing=crossing, refractory="timer")
    for use_fast in (False, True):
        with pytest.raises(RuntimeError, match="MAX_SPIKES_PER_STEP"):
            engine.simulate(spec, drive, conventions, fast=use_fast)


def test_simulate_runs_the_compiled_loop_unless_told_not_to(monkeypatch):
    """simulate() dispatches to reference.fast by default and to the numpy loop with fast=False, and
    fast.path() says which one ran."""
    calls = []
    original = fast.simulate_fast
    monkeypatch.setattr(fast, "simulate_fast", lambda *a, **k: calls.append(a) or original(*a, **k))
    spec, drive = load_spec("textbook"), Drive.constant([300e-12], 1e-4, 50)
    for conventions in CONVENTIONS:
        assert fast.supports(conventions) is None
        engine.simulate(spec, drive, conventions)
        engine.simulate(spec, drive, conventions, fast=False)
    assert len(calls) == len(CONVENTIONS)
    assert fast.path(Conventions()).startswith("compiled loop (numba ")
    assert fast.path(Conventions(), fast=False).startswith("numpy loop")
