"""Reset by subtraction: the reference's rule against hand-derived grid predictions, the backends that
have it against the reference, and the side-by-side comparison with reset to a value (an O(dt) difference)."""

import math
import tomllib

import numpy as np
import pytest

from comparisons import tolerances as T
from comparisons import variants
from comparisons.config import comparison_from_document
from models import brian2_, nengo_, nest_, rockpool_, snntorch_
from reference import backend as reference_
from models.drive import Drive
from models.files import resolve
from models.result import RunSettings
from models.spec import LIFSpec
from reference import closed_forms as cf

DT = 1e-4


def cell(t_ref=0.0, reset="subtract"):
    return LIFSpec(name="sub", tau_m=0.02, E_L=-0.07, V_th=-0.05, V_reset=-0.065, R=1e8, t_ref=t_ref, reset=reset)


def run(spec, current, n, threshold=">"):
    settings = RunSettings(DT, n).with_options(threshold=threshold)
    return reference_.run(spec, Drive.constant(np.atleast_1d(current), DT, n), settings)


# ---- the reference's rule ----------------------------------------------------------------------------

def test_subtraction_keeps_the_overshoot():
    """Every sample is the exact step from the previous one, V_pre = V_inf + (v_k - V_inf) a, minus
    V_th - V_reset exactly where V_pre > V_th, where one spike is stamped at t_k+1."""
    spec, current, n = cell(), 300e-12, 2000
    result = run(spec, current, n)
    v, v_inf, a = result.v[:, 0], spec.E_L + spec.R * current, math.exp(-DT / spec.tau_m)
    v_pre = v_inf + (v[:-1] - v_inf) * a
    fired = v_pre > spec.V_th
    expected = np.where(fired, v_pre - (spec.V_th - spec.V_reset), v_pre)
    assert np.max(np.abs(v[1:] - expected)) <= T.rounding(1, 0.07)
    np.testing.assert_allclose(result.spike_time, (np.flatnonzero(fired) + 1) * DT, atol=1e-15)
    assert fired.sum() >= 10 and np.all(v[1:][fired] > spec.V_reset)  # it lands above V_reset
    assert result.extra["variant"]["reset"] == "subtract" and "subtraction" in result.meta.reset


@pytest.mark.parametrize("threshold", [">", ">="])
def test_several_spikes_in_one_step(threshold):
    """A drive that jumps V from V_init far above threshold in one step: n = ceil((V1 - V_th)/dV) spikes
    (floor(...) + 1 with >=), all at t_1, leaving V1 - n dV at or below threshold (as Rockpool)."""
    spec, current = cell(), 200e-9  # R I = 20 V: V_1 = E_L + (1 - a) R I = +30 mV
    result = run(spec, current, 1, threshold)
    v1 = spec.E_L + spec.R * current + (spec.V_init - spec.E_L - spec.R * current) * math.exp(-DT / spec.tau_m)
    excess = (v1 - spec.V_th) / (spec.V_th - spec.V_reset)
    n = math.ceil(excess) if threshold == ">" else math.floor(excess) + 1
    assert n > 1 and result.spike_time.size == n and np.all(result.spike_time == DT)
    assert result.v[1, 0] == pytest.approx(v1 - n * (spec.V_th - spec.V_reset), abs=1e-12)
    assert result.v[1, 0] <= spec.V_th


def test_refractory_holds_the_subtracted_value():
    spec = cell(t_ref=0.002)
    result = run(spec, 300e-12, 1000)
    k = int(round(result.spike_time[0] / DT))
    held = result.v[k:k + 21, 0]
    assert np.all(held == held[0]) and spec.V_reset < held[0] < spec.V_th
    assert result.v[k + 21, 0] != held[0]


# ---- backends with a subtractive reset against the reference -------------------------------------

@pytest.mark.parametrize("backend", ["brian2", "snntorch", "rockpool"])
def test_backends_subtract_like_the_reference(backend):
    """t_ref = 0, two currents: the same trace within rounding and the same spike steps (Brian2 stamps the
    start of the step: dt earlier; Rockpool thresholds with >=, matched by the reference's option)."""
    module = {"brian2": brian2_, "snntorch": snntorch_, "rockpool": rockpool_}[backend]
    spec, n = cell(), 3000
    drive = Drive.constant([300e-12, 700e-12], DT, n)
    expected = reference_.run(spec, drive, RunSettings(DT, n).with_options(
        threshold=">=" if backend == "rockpool" else ">"))
    result = module.run(spec, drive, RunSettings(DT, n))
    assert np.max(np.abs(result.v - expected.v)) <= T.rounding(n, 0.07)
    shift = DT if backend == "brian2" else 0.0
    np.testing.assert_allclose(result.spike_time + shift, expected.spike_time, atol=1e-12)
    assert result.extra["variant"]["reset"] == "subtract"


def test_backends_without_subtraction_refuse_it():
    settings = RunSettings(DT, 100)
    assert nest_.representable(cell(t_ref=0.002), settings) == nest_.REASON_SUBTRACT
    assert nengo_.representable(cell(t_ref=0.002), settings) == nengo_.REASON_SUBTRACT
    assert snntorch_.representable(cell(), settings.with_options(model="lapicque")).startswith("the Lapicque")


# ---- side by side with reset to a value -------------------------------------------------------------

def test_reference_difference_shrinks_first_order():
    """21 currents (1.2 .. 2 x rheobase), five dts: every |rate difference| within 2 dt/L^2; the mean
    difference falls with dt (16 times smaller dt: more than 8 times smaller), its fitted order is reported."""
    dts = [4e-4, 2e-4, 1e-4, 5e-5, 2.5e-5]
    result = variants.reset_comparison(cell(t_ref=0.002), ["reference"], dts, duration=1.0)
    df = result.metrics
    judged = df[df.passed.notna()]
    assert (judged.passed.eq(True)).all(), judged.to_string()
    assert set(judged.metric) == {"reset_rate_difference_bound_ratio"} and len(judged) == len(dts)
    assert len(df[df.metric == "reset_difference_order"]) == 1
    mean = df[df.metric == "reset_rate_difference_mean"].value.to_numpy()
    assert mean[-1] < mean[0] / 8  # 16 times smaller dt
    table = result.tables["reset"]
    assert len(table) == 21 * len(dts)
    # the value reset is the grid rule: its rate is 1/(t_ref + dt (floor(T_free/dt) + 1)) exactly
    first = table[table.dt_s == 4e-4]
    grid = 1 / cf.grid_isi(cell(t_ref=0.002, reset="value"), first.current_A.to_numpy(), 4e-4)
    np.testing.assert_allclose(first.rate_value_hz, grid, rtol=1e-9)


def test_backends_side_by_side():
    """Brian2 and snnTorch (t_ref = 0 substitute) run both rules; NEST and Nengo have no subtraction, and
    Rockpool no reset to a value: refused with their reasons."""
    names = ["reference", "brian2", "snntorch", "rockpool", "nest", "nengo"]
    result = variants.reset_comparison(cell(t_ref=0.002), names, [4e-4, 2e-4, 1e-4], duration=0.5,
                                       currents=cell().rheobase * np.linspace(1.2, 2.0, 11))
    df = result.metrics
    judged = df[df.passed.notna()]
    assert (judged.passed.eq(True)).all(), judged.to_string()
    assert set(judged.backend) == {"reference", "brian2", "snntorch"}
    assert set(df[df.backend == "snntorch"].stimulus) >= {"reset dt=0.1 ms [t_ref=0]"}
    assert "resets by subtraction" in result.refused["reset: rockpool"]
    assert nest_.REASON_SUBTRACT in result.refused["reset: nest"]
    assert nengo_.REASON_SUBTRACT in result.refused["reset: nengo"]


def test_metric_rows_for_the_harness():
    """A comparison file with reset = "subtract": rows in the harness's eight columns; a plain cell adds none."""
    extra = ('\n[simulation]\nbackends = ["reference"]\n[convergence]\ndt = ["0.4 ms", "0.2 ms", "0.1 ms"]\n'
             'duration = "300 ms"\n')
    text = resolve("textbook").read_text()
    plain = comparison_from_document(tomllib.loads(text + extra))
    assert variants.metric_rows(plain) == []
    document = tomllib.loads(text + extra)
    document["neuron"]["reset"] = "subtract"
    rows = variants.metric_rows(comparison_from_document(document))
    assert rows and all(len(r.cells()) == 8 for r in rows)
    for r in rows:
        assert isinstance(r.value, float) and r.unit
        assert (r.tolerance is None and r.passed is None) or (isinstance(r.tolerance, float)
                                                               and isinstance(r.passed, bool))
    assert all(r.passed is not False for r in rows)
