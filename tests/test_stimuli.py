"""Shared stimuli: sampling convention, edges on the grid, seeded noise, file tables."""

import numpy as np
import pytest

from comparisons.stimuli import DC, KINDS, Pulses, Ramp, Sine, Step, Sum, WhiteNoise, stimulus_from_table
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


def test_a_sine_without_a_window_is_the_plain_sine_bit_for_bit_and_its_table_reads_as_before():
    """The window keys added later change nothing where they are not used: the samples are the formula's
    own float operations, and the table (a report's manifest) has no start or stop."""
    stim = Sine("s", amplitude=1e-10, frequency=7.3, offset=5e-11, phase=0.3)
    t = np.arange(777) * 1e-4
    assert np.array_equal(stim.sample(1e-4, 777), 5e-11 + 1e-10 * np.sin(2 * np.pi * 7.3 * t + 0.3))
    assert set(stim.to_table()) == {"name", "kind", "amplitude", "frequency", "offset", "phase"}
    ramp = Ramp("r", amplitude_start=0.0, amplitude_stop=1e-9, start=0.0, stop=0.1)
    assert "baseline" not in ramp.to_table()


def test_a_windowed_sine_starts_its_phase_at_start_and_is_zero_outside_on_the_grid_edges():
    dt, n = 1e-4, 3000
    stim = Sine("s", amplitude=2e-10, frequency=25.0, offset=1e-11, phase=0.5, start=0.05, stop=0.25)
    x = stim.sample(dt, n)
    k = np.arange(n)
    on = (k >= 500) & (k < 2500)                         # 50 ms and 250 ms lie on the 0.1 ms grid
    expected = 1e-11 + 2e-10 * np.sin(2 * np.pi * 25.0 * (k * dt - 0.05) + 0.5)
    assert np.array_equal(x[~on], np.zeros((~on).sum()))
    assert np.array_equal(x[on], expected[on])
    assert x[500] == 1e-11 + 2e-10 * np.sin(0.5)         # the phase is the phase at start
    assert stimulus_from_table(stim.to_table(), "stimulus[0]") == stim
    bad = {"name": "x", "kind": "sine", "amplitude": "1 pA", "frequency": "5 Hz", "start": "5 ms", "stop": "5 ms"}
    with pytest.raises(UserInputError) as info:
        stimulus_from_table(bad, "stimulus[0]")
    assert info.value.field == "stimulus[0].stop" and "after start" in str(info.value)


def test_a_ramp_holds_its_baseline_outside_its_window():
    dt = 1e-3
    ramp = Ramp("r", amplitude_start=1e-10, amplitude_stop=5e-10, start=0.02, stop=0.12, baseline=3e-11)
    x = ramp.sample(dt, 200)
    assert np.all(x[:20] == 3e-11) and np.all(x[120:] == 3e-11)
    assert x[20] == 1e-10 and x[70] == pytest.approx(3e-10, rel=1e-12)
    assert stimulus_from_table(ramp.to_table(), "stimulus[0]") == ramp


def test_a_sum_is_its_parts_added_sample_by_sample_and_reads_back_from_its_table():
    dt, n = 1e-4, 4000
    parts = (Step("bias", amplitude=1e-10, start=0.0), Sine("wave", amplitude=5e-11, frequency=20.0, start=0.1,
                                                           stop=0.3),
             Ramp("up", amplitude_start=0.0, amplitude_stop=2e-10, start=0.05, stop=0.35, baseline=1e-12))
    total = Sum("all", parts=parts)
    expected = (parts[0].sample(dt, n) + parts[1].sample(dt, n)) + parts[2].sample(dt, n)
    assert np.array_equal(total.sample(dt, n), expected)
    assert not total.piecewise_constant and Sum("steps", parts=parts[:1]).piecewise_constant
    table = total.to_table()
    assert [p["kind"] for p in table["parts"]] == ["step", "sine", "ramp"]
    assert stimulus_from_table(table, "stimulus[0]") == total
    unnamed = {"name": "s", "kind": "sum", "parts": [{"kind": "dc", "amplitude": "1 pA"}]}
    assert stimulus_from_table(unnamed, "stimulus[0]").parts[0].name == "part0"


@pytest.mark.parametrize("table, field, fragment", [
    ({"name": "s", "kind": "sum", "parts": []}, "stimulus[0].parts", "one or more"),
    ({"name": "s", "kind": "sum"}, "stimulus[0].parts", "is required"),
    ({"name": "s", "kind": "sum", "parts": [{"kind": "dc", "amplitude": "1 mV"}]}, "stimulus[0].parts[0].amplitude",
     "expected a current"),
    ({"name": "s", "kind": "sum", "parts": [{"kind": "sum", "parts": []}]}, "stimulus[0].parts[0].kind",
     "not itself a sum"),
])
def test_bad_sums_name_the_part(table, field, fragment):
    with pytest.raises(UserInputError) as info:
        stimulus_from_table(table, "stimulus[0]")
    assert info.value.field == field and fragment in str(info.value)


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
        "sum": dict(parts=[{"name": "a", "kind": "dc", "amplitude": "100 pA"},
                           {"name": "b", "kind": "noise", "mean": "0 pA", "sigma": "1 pA*s**0.5", "seed": 1}]),
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


def test_the_page_lists_a_sums_parts_and_no_window_a_sine_does_not_use():
    from reports.html import stimulus_row
    plain = stimulus_row(Sine("s", amplitude=1e-10, frequency=5.0))
    assert [p.split(" = ")[0] for p in plain["params"]] == ["amplitude", "frequency", "offset", "phase"]
    row = stimulus_row(Sum("both", parts=(DC("bias", amplitude=1e-10),
                                          Sine("w", amplitude=5e-11, frequency=20.0, start=0.1, stop=0.3))))
    assert row["kind"] == "sum" and not row["exact"] and len(row["params"]) == 2
    assert row["params"][0].startswith("bias (dc: amplitude = ") and "start = " in row["params"][1]
