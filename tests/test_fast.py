"""The compiled loop (reference.fast) against the numpy update functions of reference.engine.

The numpy loop is the definition of the reference; the compiled loop must give the same numbers BIT FOR
BIT (np.array_equal, no tolerance): it performs the same IEEE-754 operations in the same order and takes
every exp/log value from numpy. The comparison discriminates: a kernel taking exp/log from the C library
instead (as compiled code does) failed 122 of the 560 (preset, dt, drive, conventions) cases of the first
test on the development machine, all of them exact-integrator cases with interpolated or exact spike
times (numpy's AVX-512 exp differs from the C library's in the last bit for ~7 % of arguments).
"""

import itertools

import numpy as np
import pytest

from comparisons.stimuli import Sine, Step, WhiteNoise
from models.drive import Drive
from models.loading import plain_preset_names
from models.loading import load_spec
from reference import engine, fast
from reference.conventions import CHOICES, Conventions

#: The fields that decide when a spike happens and when integration restarts, and the others.
RULE_FIELDS = ("integrator", "threshold", "crossing", "spike_stamp", "refractory")
OTHER_FIELDS = ("input_timing", "record", "reset", "lower_clamp")


def valid_products(names, **restrict) -> list[Conventions]:
    """Every valid record over the product of the ``names`` fields' values (``restrict`` narrows a
    field's values); the other fields keep their defaults."""
    values = [restrict.get(name, CHOICES[name]) for name in names]
    out = []
    for combo in itertools.product(*values):
        try:
            out.append(Conventions(**dict(zip(names, combo))))
        except ValueError:
            continue
    return out


def plain_conventions() -> list[Conventions]:
    """The plain reference's rules (14): integrator x threshold x crossing, grid spikes stamped at the
    start or end with round(t_ref/dt) held steps, interpolated/exact spikes at the crossing with the timer."""
    return [c for c in valid_products(RULE_FIELDS, refractory=("steps", "timer"))
            if c.crossing == "grid" or c.spike_stamp == "crossing"]


def every_field_value() -> list[Conventions]:
    """Every valid spike rule (50: every refractory rule, every stamp), each with one combination of the
    other fields: the 32 grid rules take the 24 combinations in turn, the 18 timer rules the 12 valid
    with a crossing time (no "before-reset"), so every value of every field meets grid and timer rules."""
    others = [dict(zip(OTHER_FIELDS, combo)) for combo in itertools.product(*(CHOICES[f] for f in OTHER_FIELDS))]
    out = []
    for grid in (True, False):
        rules = [c for c in valid_products(RULE_FIELDS) if (c.crossing == "grid") == grid]
        mine = [o for o in others if grid or o["record"] == "after-reset"]
        out += [rule.replace(**mine[i % len(mine)]) for i, rule in enumerate(rules)]
    return out


CONVENTIONS = plain_conventions()
EVERY_FIELD_VALUE = every_field_value()

#: Per-neuron drive in units of the rheobase: silent, at and just above rheobase, the usual range, and
#: strong enough that t_ref = 0 cells fire several times in one 1 ms step (checked below).
SCALES = np.array([0.0, 0.5, 1.0, 1.001, 1.5, 2.5, 5.0, 20.0, 200.0])


def drives(spec, dt: float, n_steps: int, scales: np.ndarray = SCALES) -> dict[str, Drive]:
    """A constant f-I sweep and time-varying drives (shared waveform x scale, and one noise per neuron)."""
    rb, t_end = spec.rheobase, n_steps * dt
    step = Step("step", amplitude=rb, start=t_end / 4, stop=3 * t_end / 4).sample(dt, n_steps)
    sine = Sine("sine", amplitude=rb, frequency=40.0, offset=rb).sample(dt, n_steps)
    noise = np.stack([WhiteNoise("noise", mean=2 * rb, sigma=rb * 1e-2 * (j + 1), seed=j).sample(dt, n_steps)
                      for j in range(scales.size)], axis=1)
    return {
        "constant sweep": Drive.constant(scales * rb, dt, n_steps),
        "step x scale": Drive(dt, step, scales),
        "sine x scale": Drive(dt, sine, scales),
        "noise per neuron": Drive(dt, noise, np.ones(scales.size)),
    }


def test_the_conventions_lists_cover_what_they_claim():
    """14 plain rules; 50 spike rules covering every value of every field, every value of the other
    fields met with grid and with timer rules (but "before-reset", which needs grid spikes)."""
    assert len(CONVENTIONS) == 14 and len(EVERY_FIELD_VALUE) == 50
    for name in RULE_FIELDS:
        assert {getattr(c, name) for c in EVERY_FIELD_VALUE} == set(CHOICES[name])
    for name in OTHER_FIELDS:
        for value in CHOICES[name]:
            seen = {c.crossing == "grid" for c in EVERY_FIELD_VALUE if getattr(c, name) == value}
            assert seen == ({True} if value == "before-reset" else {True, False}), (name, value)


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


@pytest.mark.parametrize("preset", plain_preset_names())
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


@pytest.mark.parametrize("preset, dt", [("textbook", 1e-4), ("euler_tutorial", 1e-3)],
                         ids=["textbook-dt=0.1ms", "euler_tutorial-dt=1ms"])
def test_every_value_of_every_field_bit_for_bit(preset, dt):
    """Every refractory rule, stamp, input timing, recorded sample, reset and clamp (EVERY_FIELD_VALUE) on
    a cell with a refractory period and on one without (t_ref = 0 < dt: up to two spikes per step at
    20 x rheobase, where one 1 ms step raises V by about (1 - e^-0.1) 200 mV = 19 mV > V_th - V_reset =
    15 mV), trace and spikes, with and without recording. The 200 x rheobase neuron is left out: its
    dozen spikes per step cost the timer loop a numpy round each, and the tests above cover it."""
    spec = load_spec(preset)
    for (name, drive), conventions in itertools.product(drives(spec, dt, 300, SCALES[:-1]).items(),
                                                        EVERY_FIELD_VALUE):
        what = f"{preset}, {name}, {conventions}"
        expected = engine.simulate(spec, drive, conventions, record_v=True, fast=False)
        assert_identical(expected, fast.simulate_fast(spec, drive, conventions, record_v=True), what)
        assert_identical((None,) + expected[1:],
                         fast.simulate_fast(spec, drive, conventions, record_v=False), what + ", no trace")


def test_subtractive_reset_emits_several_spikes_in_one_step():
    """The constant sweep reaches the grid loop's several-spikes-per-step path of reset "subtract": at
    200 x rheobase on the t_ref = 0 cell one 1 ms step raises V by about (1 - e^-0.1) 200 x 10 mV = 190 mV,
    i.e. about 12 subtractions of V_th - V_reset = 15 mV."""
    spec = load_spec("euler_tutorial")
    drive = drives(spec, 1e-3, 300)["constant sweep"]
    _, neuron, time = fast.simulate_fast(spec, drive, Conventions(reset="subtract", threshold=">="),
                                         record_v=False)
    pairs, counts = np.unique(np.stack([neuron, np.rint(time / 1e-3)]), axis=1, return_counts=True)
    assert np.max(counts) >= 10


def test_several_spikes_in_one_step_are_covered():
    """The drives above do reach the timer loop's several-spikes-per-step path (t_ref = 0 < dt)."""
    spec = load_spec("euler_tutorial")
    drive = drives(spec, 1e-3, 300)["constant sweep"]
    conventions = Conventions(crossing="exact", refractory="timer")
    _, neuron, time = fast.simulate_fast(spec, drive, conventions, record_v=False)
    steps = np.ceil(time / 1e-3 - 1e-9).astype(int)       # the step (k-1, k] holding each spike
    assert np.max(np.unique(np.stack([neuron, steps]), axis=1, return_counts=True)[1]) > 1


@pytest.mark.parametrize("conventions", CONVENTIONS + [
    Conventions(threshold=">=", reset="subtract", record="before-reset"),
    Conventions(crossing="exact", refractory="timer", spike_stamp="end", lower_clamp="v_reset",
                input_timing="delayed")], ids=str)
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
