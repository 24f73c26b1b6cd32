"""Shared stimuli: sampling convention, edges on the grid, seeded noise, file tables."""

import numpy as np
import pytest

from comparisons.stimuli import DC, KINDS, Pulses, Ramp, Sine, Step, WhiteNoise, stimulus_from_table
from models.errors import UserInputError


def test_step_edges_land_on_the_grid_despite_float_rounding():
    stim = Step("s", amplitude=3e-10, start=0.1, stop=0.4)
    for dt in (1e-4, 5e-5, 2.5e-5, 4e-4, 3e-4):
        x = stim.sample(dt, int(round(0.5 / dt)))
        on = np.flatnonzero(x)
        first, stop = (round(0.1 / dt), round(0.4 / dt)) if dt != 3e-4 else (334, 1334)  # 333.33 -> 334
        assert on[0] == first and on[-1] == stop - 1


def test_sample_k_is_value_at_t_k():
    stim = Sine("s", amplitude=1e-10, frequency=10.0, offset=5e-11)
    dt = 1e-3
    t = np.arange(100) * dt
    np.testing.assert_allclose(stim.sample(dt, 100), 5e-11 + 1e-10 * np.sin(2 * np.pi * 10 * t), rtol=0,
                               atol=1e-24)
    ramp = Ramp("r", amplitude_start=0.0, amplitude_stop=1e-9, start=0.0, stop=0.1)
    assert ramp.sample(dt, 200)[50] == pytest.approx(5e-10, rel=1e-12)
    assert ramp.sample(dt, 200)[150] == 0.0


def test_pulses():
    x = Pulses("p", amplitude=1e-10, width=0.002, period=0.01, start=0.005, count=3).sample(1e-3, 60)
    assert list(np.flatnonzero(x)) == [5, 6, 15, 16, 25, 26]


def test_noise_is_seeded_and_has_the_right_variance():
    stim = WhiteNoise("n", mean=1e-10, sigma=2e-12, seed=7)
    a, b = stim.sample(1e-4, 200_000), stim.sample(1e-4, 200_000)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, WhiteNoise("n", mean=1e-10, sigma=2e-12, seed=8).sample(1e-4, 200_000))
    # charge per step has variance sigma^2 dt: sample variance sigma^2/dt within 5 standard errors
    var = np.var(a)
    expected = (2e-12) ** 2 / 1e-4
    assert abs(var / expected - 1) < 5 * np.sqrt(2 / a.size)


@pytest.mark.parametrize("cls", list(KINDS.values()))
def test_table_round_trip(cls):
    examples = {
        "dc": dict(amplitude="250 pA"),
        "step": dict(amplitude="300 pA", start="100 ms", stop="400 ms"),
        "pulses": dict(amplitude="1 nA", width="2 ms", period="10 ms", count=4),
        "ramp": dict(amplitude_start="0 pA", amplitude_stop="500 pA", start="0 ms", stop="1 s"),
        "sine": dict(amplitude="100 pA", frequency="5 Hz", offset="200 pA"),
        "noise": dict(mean="200 pA", sigma="10 pA*s**0.5", seed=3),
    }
    table = {"name": "x", "kind": cls.KIND, **examples[cls.KIND]}
    stim = stimulus_from_table(table, "stimulus[0]")
    assert stimulus_from_table(stim.to_table(), "stimulus[0]") == stim


@pytest.mark.parametrize("table, field, fragment", [
    ({"name": "x", "kind": "square"}, "stimulus[0].kind", "expected one of: dc, step"),
    ({"name": "x", "kind": "dc"}, "stimulus[0].amplitude", "is required"),
    ({"name": "x", "kind": "dc", "amplitude": "3 mV"}, "stimulus[0].amplitude", "expected a current"),
    ({"name": "x", "kind": "dc", "amplitude": "2 kA"}, "stimulus[0].amplitude", "at most"),
    ({"name": "x", "kind": "dc", "amplitude": "1 nA", "amplitde": 1}, "stimulus[0].amplitde", "did you mean"),
    ({"name": "x", "kind": "step", "amplitude": "1 nA", "start": "5 ms", "stop": "1 ms"}, "stimulus[0].stop",
     "after start"),
    ({"name": "x", "kind": "noise", "sigma": "1 pA", "seed": 1}, "stimulus[0].sigma",
     "current noise density"),
    ({"name": "x", "kind": "noise", "sigma": "1 pA*s**0.5", "seed": 1.5}, "stimulus[0].seed", "integer"),
])
def test_bad_tables(table, field, fragment):
    with pytest.raises(UserInputError) as info:
        stimulus_from_table(table, "stimulus[0]")
    assert info.value.field == field and fragment in str(info.value)


def test_dc_drive_shape():
    d = DC("d", amplitude=1e-10).drive(1e-4, 10, n_neurons=3)
    assert d.matrix().shape == (10, 3) and np.all(d.matrix() == 1e-10)
