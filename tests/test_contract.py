"""The verdict layer's rows and the contract verdicts (a backend against its own twin).

Expected answers are written out by hand from the definitions in the module docstrings; the harness
cases use real simulators, one of them wrapped so that its refractory period is one step too long.
"""

from __future__ import annotations

import importlib.machinery
import math
import sys
import tomllib
from types import ModuleType

import numpy as np

from comparisons import contract, verdicts
from comparisons.config import comparison_from_document
from comparisons.harness import run_comparison
from comparisons import backends
from models import brian2_
from models.files import resolve

from conftest import small_sections


def test_a_row_is_judged_by_its_magnitude_and_is_finite():
    assert verdicts.row("s", "b", "r", "m", -0.5, "V", 0.5).passed is True
    assert verdicts.row("s", "b", "r", "m", 0.51, "V", 0.5).passed is False
    assert verdicts.row("s", "b", "r", "m", math.nan, "V", 1.0).passed is False
    assert verdicts.row("s", "b", "r", "m", math.inf, "V", math.inf).passed is False
    info = verdicts.row("s", "b", "r", "m", 3, "1")
    assert info.passed is None and info.tolerance is None and info.cells()[6:] == ["", ""]
    assert verdicts.row("s", "b", "r", "m", 1, "1", 0).cells()[6:] == [0.0, "False"]


def test_interval_ratio_is_the_position_inside_the_interval():
    assert verdicts.interval_ratio([2.0], [1.0], [3.0]) == 0.0
    assert verdicts.interval_ratio([3.0, 1.5], [1.0, 1.0], [3.0, 3.0]) == 1.0
    assert verdicts.interval_ratio([4.0], [1.0], [3.0]) == 2.0
    assert verdicts.interval_ratio([1.0], [1.0], [1.0]) == 0.0
    assert verdicts.interval_ratio([1.5], [1.0], [1.0]) == math.inf
    assert verdicts.interval_ratio([], [], []) == 0.0


def test_differing_spikes_counts_the_multiset_difference_and_names_the_first_step():
    # neuron 0: steps {3, 7} vs {3, 8}; neuron 1: {5, 5} vs {5}: 2 + 1 differing spikes, the first at step 5
    n, neuron, step = contract.differing_spikes([0, 0, 1, 1], [3, 7, 5, 5], [0, 0, 1], [3, 8, 5], 10)
    assert (n, neuron, step) == (3, 1, 5)
    assert contract.differing_spikes([0], [4], [0], [4], 10) == (0, None, None)
    assert contract.differing_spikes([], [], [2], [9], 10) == (1, 2, 9)


def test_spike_steps_of_grid_and_crossing_stamps():
    dt = 1e-4
    assert contract.spike_steps(np.array([0.0003, 0.00030000000000000003]), dt, "end").tolist() == [3, 3]
    # a crossing at 0.25 steps belongs to step 1 (the interval (t_0, t_1]); one exactly on t_3 to step 3
    assert contract.spike_steps(np.array([0.25e-4, 3e-4]), dt, "crossing").tolist() == [1, 3]


def _comparison(preset, names):
    document = tomllib.loads(resolve(preset).read_text() + small_sections())
    return comparison_from_document(document, names)


def _long_refractory_brian2():
    """Brian2, really run, with a refractory period one step longer than the specification's."""
    def run(spec, drive, settings):
        return brian2_.run(spec.replace(t_ref=spec.t_ref + drive.dt), drive, settings)
    module = ModuleType("fake_brian2")
    module.__spec__ = importlib.machinery.ModuleSpec("fake_brian2", None)
    module.NAME, module.LIBRARY, module.run = "brian2", "brian2", run
    module.version, module.representable = brian2_.version, brian2_.representable
    module.CONTRACTS, module.contract = brian2_.CONTRACTS, brian2_.contract   # it claims Brian2's rule
    return module


def test_every_backend_meets_its_contract_on_the_textbook_cell():
    outcome = run_comparison(_comparison("textbook", ["reference", "brian2", "nengo"]))
    rows = [r for r in outcome.metric_rows if r.metric.startswith("contract_") and r.is_verdict]
    studies = {(r.stimulus, r.backend) for r in rows}
    assert studies == {(s, b) for s in ("step_supra", "step_sub", "fi_curve", "convergence")
                       for b in ("reference", "brian2", "nengo")}
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]


def test_a_refractory_period_one_step_long_fails_the_contract(monkeypatch):
    """The whole-step refractory error that every closed-form bound allowed (one step per interval)."""
    fake = _long_refractory_brian2()
    monkeypatch.setitem(sys.modules, "fake_brian2", fake)
    monkeypatch.setitem(backends.REGISTRY, "brian2", ("fake_brian2", "brian2"))
    outcome = run_comparison(_comparison("textbook", ["reference", "brian2"]))
    mine = [r for r in outcome.metric_rows if r.backend == "brian2" and r.metric == "contract_spike_steps"]
    assert {r.stimulus for r in mine if r.passed is False} == {"step_supra", "fi_curve", "convergence"}
    first = [r for r in outcome.metric_rows if r.backend == "brian2" and r.stimulus == "step_supra"
             and r.metric == "contract_first_differing_spike"]
    # the textbook cell's second spike under step_supra is the first one a longer dead time can move
    spikes = outcome.runs[("", "step_supra", "reference")].result.spike_trains()[0]
    assert len(first) == 1 and spikes[0] < first[0].value <= spikes[2]
    assert outcome.exit_status() == 1


def test_a_drive_exactly_at_the_rheobase_is_left_to_rounding():
    """euler_tutorial at its rheobase: V approaches V_th within ulps and snnTorch's frame (V - V_reset, float64
    tensors) happens to cross once at 321.3 ms where the twin never does. Rounding decides it: the twin
    with the threshold moved by the contract's own voltage tolerance disagrees with itself there, so the
    neuron is named as rounding-sensitive and left out, while its neighbours are still judged."""
    from models import snntorch_
    from models.drive import Drive
    from models.loading import load_spec
    from models.result import RunSettings
    spec = load_spec("euler_tutorial")
    currents = [0.9 * spec.rheobase, spec.rheobase, 1.5 * spec.rheobase]
    drive = Drive.constant(currents, 1e-4, 5000)
    settings = RunSettings(1e-4, 5000, record_v=False)
    result = snntorch_.run(spec, drive, settings)
    twin = contract.twin_of("snntorch", settings)
    assert contract.rounding_sensitive(spec, drive, twin).tolist() == [1]
    rows = {r.metric: r for r in contract.contract_rows("fi", "snntorch", spec, drive, settings, result)}
    assert rows["contract_rounding_sensitive_neurons"].value == 1
    assert rows["contract_spike_steps"].passed is True
    # the same run with neuron 2's spikes moved one step is still caught
    moved = result.spike_time + np.where(result.spike_neuron == 2, 1e-4, 0.0)
    from models.result import Result
    wrong = Result(result.t, None, result.spike_neuron, moved, 3, result.meta)
    rows = {r.metric: r for r in contract.contract_rows("fi", "snntorch", spec, drive, settings, wrong)}
    assert rows["contract_spike_steps"].passed is False
