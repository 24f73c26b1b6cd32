"""Variant cells run as written: the issue's cell (a synaptic current driven by given spike times, one of
them twice, one off the grid) on every backend that represents it, its exact solution, its report, two
deliberately wrong backends, and the seed variant presets end to end through the command line."""

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from comparisons.config import comparison_from_document
from comparisons.harness import closed_form, run_comparison
from conftest import TEXTBOOK_NEURON, small_sections
from comparisons import backends
from models.drive import Drive
from models.spec import LIFSpec, SpikeInput
from reference import closed_forms as cf
from reference.synaptic import exact_solution, p21

ROOT = Path(__file__).resolve().parent.parent
DT = 1e-4
W = 100e-12
#: The issue's cell: 10 ms twice (a double spike), 25.06 ms off the grid (acts at
#: floor(250.6 + 1/2) = 251, i.e. 25.1 ms), and a late pair inside the suprathreshold step.
TIMES = ["10 ms", "10 ms", "25.06 ms", "150 ms", "150.03 ms"]
CELL = f'''
name = "issue_cell"
description = "a synaptic cell driven by given spike times: a double spike and an off-grid spike"
{TEXTBOOK_NEURON}tau_syn = "5 ms"
[spike_input]
weight = "100 pA"
times = {TIMES!r}
'''.replace("'", '"')
ALL = ["reference", "brian2", "nengo", "nest", "snntorch", "rockpool"]


def comparison(names):
    doc = tomllib.loads(CELL + small_sections(duration="300 ms", fi_num=13, fi_duration="600 ms"))
    return comparison_from_document(doc, names)


def textbook(**changes):
    values = dict(name="syn", tau_m=0.02, E_L=-0.07, V_th=-0.05, V_reset=-0.065, R=1e8, t_ref=0.002,
                  tau_syn=0.005)
    values.update(changes)
    return LIFSpec(**values)


# ---- the exact synaptic solution ---------------------------------------------------------------------

@pytest.mark.parametrize("tau_s", [0.005, 0.02, 0.04])
def test_exact_solution_of_one_spike_from_rest_is_the_psp(tau_s):
    """No threshold reached: V - E_L is the PSP closed form at every grid point (off-grid arrival rounded
    to the nearest grid point, 1.04 ms -> 1.0 ms)."""
    spec = textbook(tau_syn=tau_s, spike_input=SpikeInput(W, (0.00104,)))
    v, neuron, times, _ = exact_solution(spec, Drive.constant([0.0], DT, 2000))
    t = np.arange(2001) * DT
    assert times.size == 0
    np.testing.assert_allclose(v[:, 0] - spec.E_L, cf.psp(spec, W, t - 0.001), rtol=0, atol=1e-15)


def test_two_spikes_superpose_and_a_double_spike_doubles():
    """Superposition, written out by hand: two arrivals at 2 ms and 5 ms (the second given twice) give
    R w tau_s/(tau - tau_s) (e^(-s/tau) - e^(-s/tau_s)) from each, the second with weight 2 w."""
    spec = textbook(spike_input=SpikeInput(W, (0.002, 0.005, 0.005)))
    v, _, times, _ = exact_solution(spec, Drive.constant([0.0], DT, 1500))
    t = np.arange(1501) * DT

    def one(t_a, w):
        s = np.maximum(t - t_a, 0.0)
        return 1e8 * w * 0.005 / (0.02 - 0.005) * (np.exp(-s / 0.02) - np.exp(-s / 0.005))
    assert times.size == 0
    np.testing.assert_allclose(v[:, 0] - spec.E_L, one(0.002, W) + one(0.005, 2 * W), rtol=0, atol=1e-15)


def test_without_input_spikes_it_is_the_plain_closed_form():
    """A constant (piecewise) current, no input spikes: the spike times of the analytic segment-by-segment
    solution and the plain closed form's trace, to rounding."""
    spec = textbook()
    rng = np.random.default_rng(1)
    samples = np.repeat(rng.uniform(100e-12, 400e-12, 40), 100)
    drive = Drive(DT, samples, np.ones(1))
    v, _, times, _ = exact_solution(spec, drive)
    truth = cf.piecewise_spike_times(spec, samples, DT)
    plain = closed_form(spec.replace(tau_syn=None), drive)
    assert times.size == truth.size > 10
    np.testing.assert_allclose(times, truth, rtol=0, atol=1e-14)
    np.testing.assert_allclose(times, plain.spike_time, rtol=0, atol=1e-14)
    np.testing.assert_allclose(v, plain.v, rtol=0, atol=1e-14)


def test_a_crossing_that_rises_and_falls_within_one_step_is_found():
    """At dt = 1 ms a fast membrane and synapse (tau_m = 2 ms, tau_s = 0.2 ms) lift V through V_th and back
    below it within the step: the exact solution spikes there (at V = V_th, on the rising flank), though
    the grid point after it is below threshold, so a grid rule does not see it."""
    dt, w = 1e-3, 1e-9
    spec = textbook(tau_m=0.002, tau_syn=0.0002, t_ref=0.0, spike_input=SpikeInput(w, (0.0,)))
    s_peak, peak = cf.psp_peak(spec, w)
    end = float(cf.psp(spec, w, dt))
    assert 0 < s_peak < dt and end < peak
    spec = spec.replace(V_init=spec.V_th - (peak + end) / 2)          # between the step's end and its peak
    drive = Drive.constant([(spec.V_init - spec.E_L) / spec.R], dt, 3)   # holds V at V_init without input
    v, _, times, _ = exact_solution(spec, drive)
    assert times.size == 1 and 0 < times[0] < s_peak
    assert spec.V_init + float(cf.psp(spec, w, times[0])) == pytest.approx(spec.V_th, abs=1e-15)
    assert spec.V_init + end < spec.V_th                     # the grid point after it is below threshold


# ---- the cell through the harness --------------------------------------------------------------

@pytest.fixture(scope="module")
def outcome():
    return run_comparison(comparison(ALL))


def test_the_cell_runs_as_written_on_every_backend_that_represents_it(outcome):
    written = [v for v in outcome.variants if v.label == ""][0]
    assert written.spec == outcome.comparison.spec and written.stimuli and not written.sweeps
    assert {"reference", "brian2", "nengo", "nest"} <= set(written.backends)
    substitute = [v for v in outcome.variants if v.label == "t_ref=0"][0]
    assert substitute.spec.tau_syn == 0.005 and substitute.spec.spike_input == outcome.comparison.spec.spike_input
    assert {"snntorch", "rockpool"} <= set(substitute.backends)
    assert "refractory" in outcome.not_representable["snntorch"]
    sweeps = outcome.variants[0]
    assert sweeps.label == "plain" and sweeps.spec.is_plain and sweeps.sweeps and not sweeps.stimuli
    assert not outcome.failures
    assert outcome.exit_status() == 0, outcome.metrics[outcome.metrics.passed.eq(False)]


def test_every_trace_moves_at_the_input_spikes_by_the_closed_form(outcome):
    """At each arrival's grid point (10 ms with twice the weight; 25.06 ms -> 25.1 ms) the sub-threshold
    stimulus's trace rises on the next step by the closed form's amount: P21 times the jump plus the
    exact drift; the PSP is there in every backend (Nengo within its step-average ratio)."""
    c = outcome.comparison
    spec = c.spec
    stim = c.stimuli[[s.name for s in c.stimuli].index("step_sub")]
    for label, names in ((v.label, v.backends) for v in outcome.variants if v.stimuli):
        exact = outcome.exact[(label, stim.name)]
        for k, count in ((100, 2), (251, 1)):
            jump = p21(spec, DT) * W * count              # 0.05 mV per spike on the first step
            closed_rise = exact.v[k + 1, 0] - exact.v[k, 0]
            drift = closed_rise - jump                    # the leak of what came before (exact, no input)
            assert closed_rise > 0.5 * jump > 2e-5
            for name in names:
                v = outcome.runs[(label, stim.name, name)].result.v[:, 0]
                rise = v[k + 1] - v[k]
                tol = abs(cf.held_psp_ratio(spec, DT) - 1) * jump if name == "nengo" else 1e-12
                assert abs(rise - drift - jump) <= tol + 1e-12, (label, name, k, rise, closed_rise)
                assert abs(v[k] - v[k - 1] - (exact.v[k, 0] - exact.v[k - 1, 0])) <= 1e-12 + tol, \
                    f"{name}: the trace moves before the arrival"


def test_the_closed_form_is_the_exact_synaptic_solution(outcome):
    c = outcome.comparison
    drive = Drive(c.dt, np.stack([s.sample(c.dt, c.n_steps) for s in c.stimuli], axis=1), np.ones(len(c.stimuli)))
    v, neuron, times, _ = exact_solution(c.spec, drive)
    for j, stim in enumerate(c.stimuli):
        exact = outcome.exact[("", stim.name)]
        np.testing.assert_array_equal(exact.v[:, 0], v[:, j])
        np.testing.assert_array_equal(exact.spike_trains()[0], times[neuron == j])
    rows = outcome.metrics
    truth = rows[(rows.metric == "closed_form_prespike_max_abs") & rows.passed.notna()]
    assert len(truth) == 2 * len(c.stimuli) and truth.passed.all()


def test_no_contract_rows_for_the_synaptic_cell_and_verdicts_on_the_traces(outcome):
    rows = outcome.metrics
    written = rows[~rows.stimulus.str.contains(r"\[") & rows.stimulus.str.startswith("step")]
    assert not written.metric.str.startswith("contract_").any()
    prespike = written[written.metric == "trace_max_abs_prespike"]
    assert prespike.passed.notna().all() and prespike.passed.all()


def test_the_report_lists_tau_syn_and_the_spike_times(tmp_path):
    from reports.html import spec_rows
    rows = {r["field"]: r["value"] for r in spec_rows(comparison(["reference"]).spec)}
    assert rows["tau_syn"] == "5 ms" and rows["spike_input.weight"] == "100 pA"
    assert rows["spike_input.times"] == "10 ms, 10 ms, 25.06 ms, 150 ms, 150.03 ms"
    cell = tmp_path / "issue_cell.toml"
    cell.write_text(CELL + small_sections(duration="100 ms", fi_num=5, fi_duration="200 ms"))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "comparisons", "run", str(cell), "--out", str(out), "--backends",
                           "reference,brian2", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    page = (out / "report.html").read_text()
    assert "tau_syn" in page and "10 ms, 10 ms, 25.06 ms, 150 ms, 150.03 ms" in page


# ---- wrong backends fail -------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong", ["dropped_synapse", "late_input"])
def test_a_wrong_synapse_fails_a_verdict(monkeypatch, wrong):
    monkeypatch.setitem(backends.REGISTRY, wrong, (f"{wrong}_backend", None))
    outcome = run_comparison(comparison(["reference", wrong]))
    rows = outcome.metrics
    mine = rows[(rows.backend == wrong) & rows.passed.eq(False)]
    assert "trace_max_abs_prespike" in set(mine.metric), rows[rows.backend == wrong]
    assert not rows[(rows.backend != wrong) & rows.passed.eq(False)].size
    assert outcome.exit_status() == 1


# ---- the seed variant presets end to end ---------------------------------------------------------------

@pytest.mark.parametrize("preset", ["rockpool_synaptic", "neuromatch_noise"])
def test_seed_variant_presets_run_through_the_command_line(tmp_path, preset):
    out = tmp_path / preset
    done = subprocess.run([sys.executable, "-m", "comparisons", "run", preset, "--out", str(out),
                           "--backends", "reference,brian2", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    import pandas as pd
    metrics = pd.read_csv(out / "metrics.csv")
    assert len(metrics) and (metrics.passed.dropna().astype(str) == "True").all()
    page = (out / "report.html").read_text()
    assert ("tau_syn" in page) == (preset == "rockpool_synaptic") and ("sigma" in page) == (preset == "neuromatch_noise")
