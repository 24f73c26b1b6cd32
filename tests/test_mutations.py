"""The mutation suite: every deliberately wrong backend and harness of :mod:`mutants` must fail a verdict.

A verdict is evidence only if it fails a wrong simulator. Each case runs a short comparison of a
shipped preset (``SECTIONS``) in this process with one backend replaced by its mutant under its real
name, and asserts

- at least one verdict fails that passes on the unmutated run of the same comparison (the control, run
  once per preset and backend set and cached): the failure comes from the mutation,
- one of those is of the family that should catch this mutation (``CAUGHT_BY``),
- only rows of the mutated backend fail (the reference beside it still passes everything).

Every (backend, mutation, preset) of the matrix that is not run is listed in ``NOT_RUN`` with its
reason, and a test checks each reason holds. The harness mutations (wrong rate estimator, wrong closed
form, wrong analytic f-I rate) run on the reference alone.
"""

from __future__ import annotations

import itertools
import tomllib

import numpy as np
import pytest

import mutants as X
from comparisons import verdicts
from comparisons.config import comparison_from_document
from comparisons.harness import run_comparison
from comparisons import backends
from models.drive import Drive
from models.errors import SpecificationError
from models.files import resolve
from models.loading import load_spec
from models.result import RunSettings

from conftest import small_sections

PRESETS = ("textbook", "euler_tutorial", "neuromatch", "nengo_default", "snntorch_lapicque")
#: Short sections: 200 ms stimuli, three dts, and the f-I sweep over the shipped presets' own 31 currents
#: (the default num) for 500 ms. A threshold error smaller than one step's voltage increment moves a
#: grid-locked spike only at currents where a sample lands within it of the threshold: the sweep's
#: currents are the chances to see it (with 11 currents the reference's +0.5 mV on nengo_default
#: escapes every verdict; with the shipped 31 it does not).
SECTIONS = small_sections(fi_num=31)

#: The mutations of each backend. Brian2 and the reference offer Euler (``settings.method``); the
#: others integrate exactly only, and get Euler's decay through the warped time constant.
MATRIX = {
    "reference": (X.REFRACTORY_PLUS, X.REFRACTORY_MINUS, X.THRESHOLD_UP, X.THRESHOLD_DOWN, X.RESET_OFF,
                  X.STAMP_LATE, X.EULER, X.INPUT_LATE, X.LEAK_HALVED),
    "brian2": (X.REFRACTORY_PLUS, X.REFRACTORY_MINUS, X.THRESHOLD_UP, X.THRESHOLD_DOWN, X.RESET_OFF,
               X.STAMP_LATE, X.EULER, X.INPUT_LATE, X.LEAK_HALVED),
    "nest": (X.REFRACTORY_PLUS, X.REFRACTORY_MINUS, X.THRESHOLD_UP, X.THRESHOLD_DOWN, X.RESET_OFF,
             X.STAMP_LATE, X.EULER_DECAY, X.INPUT_LATE, X.LEAK_HALVED),
    "nengo": (X.REFRACTORY_HALF, X.REFRACTORY_PLUS, X.REFRACTORY_MINUS, X.THRESHOLD_UP, X.THRESHOLD_DOWN,
              X.RESET_OFF, X.STAMP_LATE, X.EULER_DECAY, X.INPUT_LATE, X.LEAK_HALVED),
    "snntorch": (X.THRESHOLD_UP, X.THRESHOLD_DOWN, X.RESET_OFF, X.STAMP_LATE, X.EULER_DECAY, X.INPUT_LATE,
                 X.LEAK_HALVED),
    "rockpool": (X.THRESHOLD_UP, X.THRESHOLD_DOWN, X.RESET_OFF, X.STAMP_LATE, X.EULER_DECAY, X.INPUT_LATE,
                 X.LEAK_HALVED),
}

#: The contract verdicts that must catch each mutation (at least one of them fails on the mutant).
#: A refractory or stamp error moves spike steps; a reset, an integrator or an input timing error shows
#: in the voltage; a threshold error in either (a spike moves, or only the overshoot above the old
#: threshold is kept, as with Rockpool's subtractive reset).
CAUGHT_BY = {
    "refractory+1": {"contract_spike_steps"},
    "refractory-1": {"contract_spike_steps"},
    "refractory+0.5": {"contract_spike_steps", "contract_voltage_max_abs"},
    "threshold+0.5mV": {"contract_spike_steps", "contract_voltage_max_abs"},
    "threshold-0.5mV": {"contract_spike_steps", "contract_voltage_max_abs"},
    "reset+0.1mV": {"contract_voltage_max_abs"},
    "stamp-late": {"contract_spike_steps"},
    "euler": {"contract_voltage_max_abs"},
    "input-late": {"contract_voltage_max_abs"},
    # the leak halved keeps C, hence the f-I curve's non-leaky limit: the large-current row must see the
    # approach to it change (textbook: rho_meas - rho = 0.085, b = 0.010). No other mutation is a leak
    # error: Euler's decay changes the leak by dt/(2 tau), below the row's resolution (it passes there);
    # refractory+1 and the threshold shifts fail the row too (textbook: -0.013, -0.032, +0.017), as they
    # fail the f-I verdicts
    "leak/2": {"large_current_limit_diff"},
}

REASON_NENGO = ("Nengo refuses t_ref < dt (nengo#1427) and the preset has t_ref = 0, so no substitute "
                "exists: the harness runs Nengo on nothing here")
REASON_BRIAN2_EQUIVALENT = ("equivalent mutant: Brian2's dead time is dt (max(floor(t_ref/dt), 1) - 1), "
                            "zero for t_ref = 0 and for t_ref = dt alike, so the mutant's output is the real "
                            "one bit for bit (test_the_equivalent_mutant_is_the_real_simulator)")


def _preset_spec(preset):
    return load_spec(preset)


def why_not(backend: str, mutation: X.Mutation, preset: str) -> str | None:
    """Why (backend, mutation, preset) is not a case, or ``None``."""
    spec = _preset_spec(preset)
    reason = mutation.not_for(spec)
    if reason:
        return reason
    if backend == "nengo" and spec.t_ref == 0:
        return REASON_NENGO
    if backend == "brian2" and mutation is X.REFRACTORY_PLUS and spec.t_ref == 0:
        return REASON_BRIAN2_EQUIVALENT
    return None


def plan():
    cases, not_run = [], {}
    for backend, mutations in MATRIX.items():
        for mutation, preset in itertools.product(mutations, PRESETS):
            reason = why_not(backend, mutation, preset)
            if reason is None:
                cases.append((backend, mutation, preset))
            else:
                not_run[(backend, mutation.name, preset)] = reason
    return cases, not_run


CASES, NOT_RUN = plan()


def names_for(backend: str) -> tuple[str, ...]:
    return ("reference",) if backend == "reference" else ("reference", backend)


def comparison(preset: str, names):
    document = tomllib.loads(resolve(preset).read_text() + SECTIONS)
    return comparison_from_document(document, list(names))


_CONTROLS: dict = {}


def control(preset: str, names) -> dict:
    """The unmutated comparison's verdicts, ``{(stimulus, backend, reference, metric): Row}`` (cached)."""
    key = (preset, tuple(names))
    if key not in _CONTROLS:
        outcome = run_comparison(comparison(preset, names))
        assert not outcome.failures, outcome.failures
        _CONTROLS[key] = {(r.stimulus, r.backend, r.reference, r.metric): r
                          for r in outcome.metric_rows if r.is_verdict}
    return _CONTROLS[key]


def _key(r):
    return (r.stimulus, r.backend, r.reference, r.metric)


def _show(rows):
    return [(r.stimulus, r.backend, r.reference, r.metric, r.value, r.tolerance) for r in rows]


# -------------------------------------------------------------------------------------------- controls

@pytest.mark.parametrize("backend", list(MATRIX))
@pytest.mark.parametrize("preset", PRESETS)
def test_the_unmutated_comparison_passes_every_verdict(preset, backend):
    rows = control(preset, names_for(backend))
    assert rows, "no verdict at all"
    assert all(r.passed for r in rows.values()), _show(r for r in rows.values() if not r.passed)
    if backend == "nengo" and _preset_spec(preset).t_ref == 0:
        assert not any(r.backend == "nengo" for r in rows.values())  # REASON_NENGO
    else:
        assert any(r.backend == backend and r.metric.startswith("contract_") for r in rows.values())


# ---------------------------------------------------------------------------------- backend mutations

@pytest.mark.parametrize("backend, mutation, preset", CASES,
                         ids=[f"{b}-{m.name}-{p}" for b, m, p in CASES])
def test_a_wrong_backend_fails_a_verdict(backend, mutation, preset, monkeypatch):
    names = names_for(backend)
    reference_rows = control(preset, names)
    X.register(monkeypatch, backend, mutation)
    outcome = run_comparison(comparison(preset, names))
    assert not outcome.failures, outcome.failures
    failed = verdicts.failed(outcome.metric_rows)
    # the evidence: verdicts that fail with the mutation and pass on the same comparison without it
    caught = [r for r in failed if _key(r) in reference_rows and reference_rows[_key(r)].passed]
    assert caught, f"{backend} with {mutation.summary} passes every verdict on {preset}"
    # the mechanism: the contract family that should see this error does
    assert {r.metric for r in caught} & CAUGHT_BY[mutation.name], _show(caught)
    if mutation is X.STAMP_LATE:  # a late stamp leaves every voltage sample alone
        assert not any(r.metric == "contract_voltage_max_abs" for r in failed), _show(failed)
    # only the mutant fails (the reference beside it passes everything)
    assert {r.backend for r in failed} == {backend}, _show(failed)


# ------------------------------------------------------------------------------- what is not run, why

def test_every_combination_is_run_or_has_a_reason():
    combos = {(b, m.name, p) for b, ms in MATRIX.items() for m in ms for p in PRESETS}
    run = {(b, m.name, p) for b, m, p in CASES}
    assert run | set(NOT_RUN) == combos and not run & set(NOT_RUN)
    no_refractory = [p for p in PRESETS if _preset_spec(p).t_ref == 0]
    assert no_refractory == ["euler_tutorial", "snntorch_lapicque"]
    assert set(NOT_RUN) == (
        {(b, "refractory-1", p) for b in ("reference", "brian2", "nest", "nengo") for p in no_refractory}
        | {("nengo", m.name, p) for m in MATRIX["nengo"] for p in no_refractory}
        | {("brian2", "refractory+1", p) for p in no_refractory})


@pytest.mark.parametrize("preset", ["euler_tutorial", "snntorch_lapicque"])
def test_one_step_less_refractoriness_is_no_cell_without_refractory_period(preset):
    spec = _preset_spec(preset)
    assert spec.t_ref == 0 and X.REFRACTORY_MINUS.not_for(spec)
    with pytest.raises(SpecificationError):
        spec.replace(t_ref=spec.t_ref - 1e-4)


@pytest.mark.parametrize("preset", ["euler_tutorial", "snntorch_lapicque"])
def test_nengo_runs_nothing_on_a_preset_without_refractory_period(preset):
    from comparisons.harness import Outcome, plan_variants
    c = comparison(preset, ["reference", "nengo"])
    outcome = Outcome(c, [])
    variants = plan_variants(c, outcome)
    assert "nengo" in outcome.not_representable
    assert all("nengo" not in v.backends for v in variants)


@pytest.mark.parametrize("preset", ["euler_tutorial", "snntorch_lapicque"])
def test_the_equivalent_mutant_is_the_real_simulator(preset):
    """Brian2 with one more refractory step on a cell without one: identical output, so no verdict can
    (or should) fail it."""
    spec = _preset_spec(preset)
    real = backends.get("brian2")
    mutant = X.wrapped_backend("brian2", X.REFRACTORY_PLUS)
    for dt in (1e-4, 4e-4):
        n = int(round(0.1 / dt))
        drive = Drive.constant(np.linspace(0, 3 * spec.rheobase, 7), dt, n)
        settings = RunSettings(dt, n, "exact", True)
        a, b = real.run(spec, drive, settings), mutant.run(spec, drive, settings)
        assert a.spike_time.size > 0
        assert np.array_equal(a.v, b.v) and np.array_equal(a.spike_time, b.spike_time)
        assert np.array_equal(a.spike_neuron, b.spike_neuron)


# ---------------------------------------------------------------------------------- harness mutations

#: The verdicts that must catch each harness mutation: the f-I check of the rate, and the ground-truth
#: rows ``closed_form_*`` that check the closed form against the analytic formulas.
HARNESS_CAUGHT_BY = {
    "rate-n/span": lambda r: r.stimulus == "fi_curve" and r.metric == "fi_worst_bound_ratio",
    "closed-form-t_ref+dt": lambda r: r.metric.startswith("closed_form_"),
    "fi-rate-t_ref+dt": lambda r: r.stimulus == "fi_curve",
}


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("mutation", X.HARNESS_MUTATIONS, ids=[m.name for m in X.HARNESS_MUTATIONS])
def test_a_wrong_harness_fails_a_verdict(mutation, preset, monkeypatch):
    reference_rows = control(preset, ("reference",))
    c = comparison(preset, ["reference"])
    mutation.install(monkeypatch, c)
    outcome = run_comparison(c)
    failed = verdicts.failed(outcome.metric_rows)
    # rows the real harness does not write (ground-truth rows) count; rows it writes must have passed there
    caught = [r for r in failed if _key(r) not in reference_rows or reference_rows[_key(r)].passed]
    assert caught, f"the harness with {mutation.summary} passes every verdict on {preset}"
    assert any(HARNESS_CAUGHT_BY[mutation.name](r) for r in caught), _show(caught)


def test_the_wrong_rate_estimator_is_the_real_one_plus_one_interval():
    """The mutant is what its name says: n/(t_n - t_1) where the real estimator has (n - 1)/(t_n - t_1)."""
    from comparisons import metrics as M
    trains = [np.array([0.01, 0.03, 0.05, 0.07]), np.array([0.2]), np.array([])]
    real, wrong = M.stationary_rates(trains, 1.0), X.wrong_stationary_rates(trains, 1.0)
    assert real.tolist() == pytest.approx([3 / 0.06, 1.0, 0.0])
    assert wrong.tolist() == pytest.approx([4 / 0.06, 1.0, 0.0])
