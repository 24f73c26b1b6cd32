"""The ground truth checked in every run, exact grid intervals for f-I curves, and intervals a dt cannot
resolve, which are failures and never passes.

Expected values come from the semantics notes' worked example (tau 20 ms, E_L -70, V_th -50, V_reset -65 mV,
100 MOhm, t_ref 2 ms, 250 pA: first spike 32.188758 ms, ISI 29.725887 ms) and from formulas written out
here.
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest

from comparisons import harness
from comparisons import metrics as M
from comparisons import tolerances as T
from comparisons.config import comparison_from_document
from comparisons.harness import run_comparison
from models.files import resolve
from reference import closed_forms as cf

from conftest import small_sections


def test_piecewise_solution_gives_the_worked_example(textbook):
    times = cf.piecewise_spike_times(textbook, np.full(2000, 250e-12), 1e-4)
    assert times[0] == pytest.approx(32.188758e-3, abs=1e-9)
    assert np.diff(times) == pytest.approx(np.full(times.size - 1, 29.725887e-3), abs=1e-9)
    assert times.size == 1 + math.floor((0.2 - 32.188758e-3) / 29.725887e-3)


def test_piecewise_solution_across_segments(textbook):
    """250 pA for 10 ms, then 0, then 250 pA again from 30 ms: the membrane relaxes from
    V(10 ms) = V_inf + (V_init - V_inf) e^(-1/2) towards E_L for 20 ms, then rises again."""
    dt = 1e-4
    samples = np.r_[np.full(100, 250e-12), np.zeros(200), np.full(700, 250e-12)]
    v_inf = -70e-3 + 25e-3
    v10 = v_inf + (-70e-3 - v_inf) * math.exp(-0.5)
    v30 = -70e-3 + (v10 + 70e-3) * math.exp(-1.0)
    first = 30e-3 + 20e-3 * math.log((v_inf - v30) / (v_inf + 50e-3))
    times = cf.piecewise_spike_times(textbook, samples, dt)
    assert times[0] == pytest.approx(first, abs=1e-12)
    assert times[1] - times[0] == pytest.approx(29.725887e-3, abs=1e-9)


def test_grid_isi_interval_contains_each_rules_prediction(textbook):
    """The README's exact grid predictions lie inside the interval, for every hold rule."""
    dt, current = 1e-4, np.array([250e-12, 400e-12])
    t_free = cf.free_time(textbook, current)
    for rule, hold in (("reference", 20), ("ge", 20), ("timestep", 19)):
        lo, hi = T.grid_isi_interval(textbook, t_free, dt, hold, "exact")
        predicted = cf.grid_isi(textbook, current, dt, rule)
        assert np.all((lo <= predicted) & (predicted <= hi)), rule
        # one step more or less of hold lands outside
        assert np.all((predicted + dt > hi) & (predicted - dt < lo)), rule


def _comparison(preset, extra="", names=("reference",), **changes):
    document = tomllib.loads(resolve(preset).read_text() + small_sections() + extra)
    document["neuron"].update(changes)
    return comparison_from_document(document, list(names))


def _rows(outcome, metric):
    return [r for r in outcome.metric_rows if r.metric == metric]


def test_ground_truth_rows_pass_on_the_presets():
    outcome = run_comparison(_comparison("textbook"))
    counts = _rows(outcome, "closed_form_spike_count_diff")
    ratios = _rows(outcome, "closed_form_spike_time_bound_ratio")
    assert {r.stimulus for r in counts} == {"step_supra", "step_sub"} and all(r.passed for r in counts)
    assert ratios and all(r.passed for r in ratios)


def test_a_wrong_closed_form_fails_its_ground_truth(monkeypatch):
    """The closed form's refractory period one step too long: the reference's bounds alone passed it."""
    real = harness.closed_form

    def wrong(spec, drive):
        return real(spec.replace(t_ref=spec.t_ref + drive.dt), drive)

    monkeypatch.setattr(harness, "closed_form", wrong)
    outcome = run_comparison(_comparison("textbook"))
    failed = {r.metric for r in outcome.metric_rows if r.passed is False and r.backend == "closed_form"}
    assert failed & {"closed_form_spike_count_diff", "closed_form_spike_time_bound_ratio"}


def test_a_rate_estimator_that_counts_spikes_over_the_span_fails_the_grid_interval(monkeypatch):
    """n/span instead of (n - 1)/span: the interval check of a grid rule sees it."""
    def wrong(trains, duration, estimator="isi"):
        out = []
        for x in M.as_trains(trains):
            out.append(x.size / (x[-1] - x[0]) if x.size >= 2 else 0.0)
        return np.array(out)

    monkeypatch.setattr(M, "stationary_rates", wrong)
    outcome = run_comparison(_comparison("textbook"))
    row, = _rows(outcome, "fi_isi_grid_interval_ratio")
    assert row.passed is False


SHORT = '''
[[stimulus]]
name = "strong"
kind = "step"
amplitude = "30 nA"
start = "0 ms"
stop = "400 ms"
'''


def test_an_interval_shorter_than_a_step_is_never_a_pass():
    """t_ref 0, dt 0.25 ms, 30 nA: the exact ISI is about 0.1 ms (3993 spikes in 400 ms), a grid rule fires
    once per step (1600). The count bound grew without limit and passed; now it is a failure."""
    extra = SHORT + '[fi_curve]\nI_min = "0 nA"\nI_max = "32 nA"\nnum = 5\nduration = "100 ms"\n'
    document = tomllib.loads(resolve("textbook").read_text() + extra)
    document["neuron"]["t_ref"] = "0 ms"
    document["simulation"] = {"dt": "0.25 ms", "duration": "400 ms", "backends": ["reference"]}
    document["convergence"] = {"dt": ["1 ms", "0.5 ms", "0.25 ms"], "duration": "100 ms"}
    outcome = run_comparison(comparison_from_document(document))
    spec = outcome.comparison.spec
    exact_isi = float(cf.isi(spec, 30e-9))
    assert 0.09e-3 < exact_isi < 0.11e-3
    beyond, = [r for r in _rows(outcome, "isi_beyond_resolution") if r.stimulus == "strong"]
    assert beyond.passed is False and beyond.value >= 3900
    count, = [r for r in _rows(outcome, "spike_count_diff") if r.stimulus == "strong"
              and r.reference == "closed_form"]
    assert count.passed is None and count.value > 2000      # no bound can be given: not a verdict
    fi, = _rows(outcome, "fi_currents_beyond_resolution")
    assert fi.passed is False and fi.value >= 1
    assert outcome.exit_status() == 1


def test_a_wrong_closed_form_rate_fails_the_f_i_ground_truth(monkeypatch):
    """The analytic f-I rate with a refractory period one step too long (1/(t_ref + dt + T_free)): the
    bound e/(ISI (ISI - e)) of a grid rule is as wide as that error, so only the ground truth sees it."""
    real = cf.rate

    def wrong(spec, current):
        return real(spec.replace(t_ref=spec.t_ref + 1e-4), current)

    monkeypatch.setattr(cf, "rate", wrong)
    outcome = run_comparison(_comparison("textbook"))
    row, = _rows(outcome, "closed_form_fi_isi_max_abs")
    assert row.passed is False and row.value == pytest.approx(1e-4, rel=1e-6)


def test_the_f_i_ground_truth_passes_on_every_preset():
    for preset in ("textbook", "euler_tutorial", "neuromatch", "nengo_default", "snntorch_lapicque"):
        outcome = run_comparison(_comparison(preset))
        row, = _rows(outcome, "closed_form_fi_isi_max_abs")
        assert row.passed is True, (preset, row)


def test_an_unknown_grid_rule_is_an_error_not_the_default(textbook):
    """A misspelt or renamed rule must not silently give the reference's prediction."""
    with pytest.raises(ValueError, match="timestep"):
        cf.grid_isi(textbook, 250e-12, 1e-4, "brian2")
