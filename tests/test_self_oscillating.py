"""Self-oscillating cells (E_L above V_th: the rheobase (V_th - E_L)/R is negative) and refractory periods
shorter than one step.

Hand derivations used below (closed forms of docs/lif-semantics.md, V_inf = E_L + R I):

- The cell of the issue: tau 8 ms, E_L -45 mV, V_th -50 mV, V_reset = V_init = -70 mV, R 80 MOhm,
  t_ref 1 ms. Rheobase (V_th - E_L)/R = -5 mV / 80 MOhm = -62.5 pA. At I = 0 it fires: V_inf = -45 mV,
  T_free = 8 ms ln(25/5) = 12.875 ms.
- Effective rheobase with V_init = V_reset and two spikes: latency = T_free, so
  latency + ISI = 2 T_free + t_ref = T gives T_free = (T - t_ref)/2, q = exp(T_free/tau) =
  (V_inf - V_reset)/(V_inf - V_th), hence V_inf = (q V_th - V_reset)/(q - 1) and I = (V_inf - E_L)/R.
  Choosing V_inf picks q and T: V_inf = -46 mV gives q = 24/4 = 6, I = -1 mV/80 MOhm = -12.5 pA (negative
  like the rheobase); V_inf = -30 mV gives q = 40/20 = 2, I = 15 mV/80 MOhm = +187.5 pA (the bracket
  crosses zero).
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from comparisons import tolerances as T
from comparisons.config import comparison_from_document, load_comparison
from models.spec import LIFSpec

ROOT = Path(__file__).resolve().parents[1]

CELL = textwrap.dedent('''\
    name = "self_osc"
    [neuron]
    tau_m = "8 ms"
    E_L = "-45 mV"
    V_th = "-50 mV"
    V_reset = "-70 mV"
    V_init = "-70 mV"
    R = "80 Mohm"
    t_ref = "1 ms"
    ''')
FI = textwrap.dedent('''\
    [fi_curve]
    I_min = "-100 pA"
    I_max = "100 pA"
    num = 5
    duration = "0.1 s"
    ''')
SHORT = '[simulation]\nduration = "100 ms"\n'

#: Runs the harness on a comparison file in a child, which the test kills after its time limit (the defect
#: was a search that never ended).
RUNNER = textwrap.dedent('''\
    import sys
    from comparisons.config import load_comparison
    from comparisons.harness import run_comparison
    outcome = run_comparison(load_comparison(sys.argv[1]), timeout=120)
    df = outcome.metrics
    verdicts = df[df.passed.notna()]
    print("ROWS", len(verdicts), "FAILED", int(verdicts.passed.eq(False).sum()),
          "BACKENDS", ",".join(sorted(set(verdicts.backend))), "EXIT", outcome.exit_status())
    print("METRICS", ",".join(sorted(set(verdicts.metric))))
    ''')


def cell(E_L=-45e-3, V_th=-50e-3, tau_m=8e-3, R=80e6, t_ref=1e-3) -> LIFSpec:
    return LIFSpec("c", tau_m=tau_m, E_L=E_L, V_th=V_th, V_reset=-70e-3, R=R, t_ref=t_ref, V_init=-70e-3)


def run_in_child(tmp_path, text: str, limit: float = 240.0) -> dict:
    path = tmp_path / "cell.toml"
    path.write_text(text)
    done = subprocess.run([sys.executable, "-c", RUNNER, str(path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=limit)
    assert done.returncode == 0, done.stderr[-3000:]
    words = done.stdout.split()
    return {"rows": int(words[words.index("ROWS") + 1]), "failed": int(words[words.index("FAILED") + 1]),
            "backends": words[words.index("BACKENDS") + 1].split(","),
            "exit": int(words[words.index("EXIT") + 1]), "metrics": words[words.index("METRICS") + 1].split(",")}


def test_issue_cell_with_its_f_i_range_finishes_with_verdicts(tmp_path):
    """The f-I range -100..100 pA contains the rheobase -62.5 pA: the rheobase row's effective rheobase
    search used to double a negative bound forever."""
    text = CELL + FI + SHORT + 'backends = ["reference", "brian2", "nengo"]\n'
    out = run_in_child(tmp_path, text)
    assert out["backends"] == ["brian2", "closed_form", "nengo", "reference"]
    assert "rheobase_error" in out["metrics"] and "fi_worst_bound_ratio" in out["metrics"]
    assert out["rows"] > 20 and out["failed"] == 0 and out["exit"] == 0


def test_issue_cell_without_f_i_section_is_accepted_and_runs(tmp_path):
    """Default f-I range, stimuli and convergence study for a negative rheobase: accepted (the default
    I_max = 3 x rheobase was below I_min = 0, and t_ref = 1 ms is not a whole number of the default 0.4 ms
    convergence step) and every verdict passes."""
    text = CELL + SHORT + 'backends = ["reference", "brian2", "nengo"]\n'
    c = load_comparison_text(tmp_path, text)
    rh, scale = -62.5e-12, 20e-3 / 80e6           # rheobase and (V_th - V_reset)/R = 250 pA
    assert c.fi.I_min == pytest.approx(rh - scale) and c.fi.I_max == pytest.approx(rh + 2 * scale)
    assert c.fi.I_min < rh < c.fi.I_max
    supra, sub = (s.amplitude for s in c.stimuli)
    assert supra == pytest.approx(rh + 0.5 * scale) and sub == pytest.approx(rh - 0.25 * scale)
    assert c.convergence.current == pytest.approx(rh + 0.5 * scale)
    # the largest 0.4 ms / k with t_ref = 1 ms a whole number of steps: k = 2
    assert c.convergence.dts == pytest.approx((2e-4, 1e-4, 5e-5, 2.5e-5, 1.25e-5), rel=1e-12)
    out = run_in_child(tmp_path, text)
    assert out["backends"] == ["brian2", "closed_form", "nengo", "reference"]
    assert {"convergence_isi_bound_ratio", "rheobase_error", "first_spike_latency_diff"} <= set(out["metrics"])
    assert out["failed"] == 0 and out["exit"] == 0


def load_comparison_text(tmp_path, text):
    path = tmp_path / "parsed.toml"
    path.write_text(text)
    return load_comparison(path)


def test_default_supra_and_sub_steps_fire_and_do_not():
    """V_inf of the default steps: -45 + 80e6 (62.5 pA) = -40 mV (fires), -45 + 80e6 (-125 pA) = -55 mV
    (does not)."""
    import tomllib
    c = comparison_from_document(tomllib.loads(CELL), ["reference"])
    supra, sub = (c.spec.E_L + c.spec.R * s.amplitude for s in c.stimuli)
    assert supra == pytest.approx(-40e-3) and sub == pytest.approx(-55e-3)


def test_default_initial_voltage_of_a_self_oscillating_cell_is_the_reset():
    """Without V_init the default E_L = -45 mV lies above V_th: the default is V_reset, not an error
    naming a field the user never wrote."""
    import tomllib
    doc = tomllib.loads(CELL.replace('V_init = "-70 mV"\n', ""))
    assert "V_init" not in doc["neuron"]
    c = comparison_from_document(doc, ["reference"])
    assert c.spec.V_init == c.spec.V_reset == -70e-3
    assert LIFSpec("n", 0.02, -0.07, -0.05, -0.065, 1e8).V_init == -0.07     # E_L below V_th: E_L


@pytest.mark.parametrize("given, expected", [
    ('I_min = "500 pA"', (500e-12, 500e-12 + 3 * 250e-12)),   # default I_max (437.5 pA) below it
    ('I_max = "-400 pA"', (-400e-12 - 3 * 250e-12, -400e-12)),  # default I_min (-312.5 pA) above it
])
def test_one_given_end_moves_the_other_default(given, expected):
    import tomllib
    c = comparison_from_document(tomllib.loads(CELL + f"[fi_curve]\n{given}\n"), ["reference"])
    assert (c.fi.I_min, c.fi.I_max) == pytest.approx(expected)


# ---- effective_rheobase against hand-derived values ------------------------------------------------------

def two_spike_duration(spec: LIFSpec, v_inf: float) -> float:
    """T with latency + ISI = T at V_inf, V_init = V_reset: t_ref + 2 tau ln q, q from the module docstring."""
    q = (v_inf - spec.V_reset) / (v_inf - spec.V_th)
    return spec.t_ref + 2 * spec.tau_m * math.log(q)


@pytest.mark.parametrize("E_L, V_th, tau_m, R, t_ref, v_inf, current", [
    (-45e-3, -50e-3, 8e-3, 80e6, 1e-3, -46e-3, -12.5e-12),    # negative rheobase, negative answer
    (-45e-3, -50e-3, 8e-3, 80e6, 1e-3, -30e-3, 187.5e-12),    # negative rheobase, positive answer
    (-50e-3, -50e-3, 8e-3, 80e6, 1e-3, -46e-3, 50e-12),       # zero rheobase: 4 mV / 80 MOhm
    (-70e-3, -50e-3, 20e-3, 100e6, 2e-3, -45e-3, 250e-12),    # positive (textbook-like): 25 mV / 100 MOhm
])
def test_effective_rheobase_matches_the_hand_derived_current(E_L, V_th, tau_m, R, t_ref, v_inf, current):
    spec = cell(E_L=E_L, V_th=V_th, tau_m=tau_m, R=R, t_ref=t_ref)
    duration = two_spike_duration(spec, v_inf)
    assert T.effective_rheobase(spec, duration) == pytest.approx(current, rel=1e-9)


def test_effective_rheobase_of_one_spike():
    """n = 1: latency from V_init = V_reset equals T: q = exp(T/tau). T = 8 ms ln 6 gives V_inf = -46 mV,
    I = -12.5 pA."""
    spec = cell()
    assert T.effective_rheobase(spec, 8e-3 * math.log(6.0), n_spikes=1) == pytest.approx(-12.5e-12, rel=1e-9)


def test_effective_rheobase_tends_to_the_negative_rheobase():
    """Longer sweeps resolve currents nearer the rheobase; the search stops 1e-12 current scales
    ((V_th - V_reset)/R = 250 pA) above it, where latency + ISI is already about 2 tau ln(1e12) = 0.44 s."""
    spec = cell()
    values = [T.effective_rheobase(spec, d) for d in (0.05, 0.1, 0.2)]
    assert all(v > -62.5e-12 for v in values) and np.all(np.diff(values) < 0)
    assert T.effective_rheobase(spec, 10.0) == pytest.approx(-62.5e-12 + 1e-12 * 250e-12, abs=1e-25)


def test_effective_rheobase_is_infinite_when_no_current_fires_twice_in_time():
    """Two spikes need at least one refractory period: (n - 1) t_ref >= T leaves no current."""
    spec = cell()
    assert T.effective_rheobase(spec, 1e-3) == math.inf
    assert T.effective_rheobase(spec, 0.5e-3) == math.inf


# ---- closed forms for negative currents above V_th ---------------------------------------------------------

def test_closed_forms_for_a_negative_current_that_still_fires():
    """I = -12.5 pA: V_inf = -46 mV > V_th. T_free = 8 ms ln(24/4), ISI = 1 ms + T_free, rate 1/ISI; below
    the rheobase (-100 pA: V_inf = -53 mV) nothing fires."""
    from reference import closed_forms as cf
    spec = cell()
    t_free = 8e-3 * math.log(6.0)
    assert float(cf.free_time(spec, -12.5e-12)) == pytest.approx(t_free, rel=1e-12)
    assert float(cf.first_spike_latency(spec, -12.5e-12)) == pytest.approx(t_free, rel=1e-12)
    assert float(cf.isi(spec, -12.5e-12)) == pytest.approx(1e-3 + t_free, rel=1e-12)
    assert float(cf.rate(spec, -12.5e-12)) == pytest.approx(1 / (1e-3 + t_free), rel=1e-12)
    assert float(cf.rate(spec, -100e-12)) == 0.0 and float(cf.free_time(spec, -100e-12)) == math.inf


# ---- refractory periods shorter than one step --------------------------------------------------------------

TEXTBOOK_SHORT_REF = textwrap.dedent('''\
    name = "short_ref"
    [neuron]
    tau_m = "20 ms"
    E_L = "-70 mV"
    V_th = "-50 mV"
    V_reset = "-65 mV"
    R = "100 Mohm"
    t_ref = "{t_ref}"
    [simulation]
    dt = "0.1 ms"
    duration = "100 ms"
    backends = {backends}
    [fi_curve]
    num = 7
    duration = "200 ms"
    [convergence]
    dt = ["0.4 ms", "0.2 ms", "0.1 ms"]
    ''')


def test_refractory_rounding_enters_the_grid_isi_bound():
    """0 < t_ref < dt: the reference holds round(t_ref/dt) steps; 0.07 ms at 0.1 ms is one whole step,
    0.03 ms more than t_ref; 0.05 ms rounds to 0 steps (0.05 ms less). A first spike has no refractory
    period before it."""
    spec = cell(t_ref=7e-5)
    assert T.isi_bound("grid", "exact", 1e-4, spec, 0.01) == pytest.approx(1e-4 + 3e-5, rel=1e-9)
    assert T.first_spike_bound("grid", "exact", 1e-4, spec, 0.01, 0.1) == 1e-4
    assert T.isi_bound("grid", "exact", 1e-4, cell(t_ref=5e-5), 0.01) == pytest.approx(1.5e-4, rel=1e-9)
    assert T.isi_bound("grid", "exact", 1e-4, cell(t_ref=2e-4), 0.01) == 1e-4


@pytest.mark.parametrize("t_ref", ["0.05 ms", "0.07 ms"])
def test_refractory_period_below_dt_lists_nengo_and_runs_the_substitute(tmp_path, t_ref):
    """README: Nengo refuses t_ref < dt (nengo#1427) and is listed with its reason; snnTorch (no
    refractory period) makes the harness add the [t_ref=0] substitute; the file is not refused and every
    verdict passes (the reference's round(t_ref/dt) steps within their derived bound)."""
    from comparisons.harness import run_comparison
    from models.nengo_ import REASON_SHORT_REF
    text = TEXTBOOK_SHORT_REF.format(t_ref=t_ref, backends='["reference", "brian2", "nengo", "snntorch"]')
    c = load_comparison_text(tmp_path, text)
    assert c.spec.t_ref < c.dt
    outcome = run_comparison(c, timeout=120)
    assert REASON_SHORT_REF in outcome.not_representable["nengo"]
    assert outcome.not_representable["snntorch"].startswith("snnTorch has no refractory period")
    labels = {v.label: v.backends for v in outcome.variants}
    assert labels[""] == ("reference", "brian2")
    assert set(labels["t_ref=0"]) == {"reference", "brian2", "snntorch"}
    df = outcome.metrics
    verdicts = df[df.passed.notna()]
    assert set(verdicts.backend) == {"reference", "brian2", "snntorch", "closed_form"}
    assert verdicts.passed.eq(True).all(), verdicts[verdicts.passed.ne(True)]
    assert outcome.exit_status() == 0


def test_default_time_step_fits_a_refractory_period_that_is_not_whole_tenths_of_a_ms():
    """t_ref = 0.15 ms is 1.5 steps of the default 0.1 ms: the default becomes 0.1 ms / 2 = 0.05 ms (3 steps;
    100 ms is 2000 of them) instead of an error naming simulation.dt, which the file never wrote. The
    default convergence steps 0.4 ms / k, halved four times, need every step either longer than t_ref or
    dividing it: k = 1, 2 fail at 0.1 ms, k = 3 .. 7 at their first or second step (0.15 / (0.4 / k) =
    1.125, 1.5, 1.875, 2.25, 2.625 for k = 3 .. 7), k = 8 gives 0.05 ms .. 3.125 us."""
    import tomllib
    text = TEXTBOOK_SHORT_REF.format(t_ref="0.15 ms", backends='["reference"]')
    text = text.replace('dt = "0.1 ms"\n', "", 1).split("[convergence]")[0]
    doc = tomllib.loads(text)
    assert "dt" not in doc["simulation"] and "convergence" not in doc
    c = comparison_from_document(doc)
    assert c.dt == pytest.approx(5e-5, rel=1e-12)
    assert c.convergence.dts == pytest.approx(tuple(5e-5 / 2 ** j for j in range(5)), rel=1e-12)
