"""Backend options in the comparison file (``[simulation.options.<backend>]``), validated like every other
key, recorded in the manifest, reaching the simulator, its twin and its timing class; two configurations
of one simulator side by side as two named backends."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from comparisons.config import comparison_from_document
from comparisons.harness import run_comparison
from models import snntorch_
from models.files import resolve
from models.result import RunSettings

from conftest import ROOT, small_sections

SIDE_BY_SIDE = '''
[simulation.options.nest_ps]
backend = "nest"
model = "iaf_psc_delta_ps"
'''


def comparison(extra: str, names):
    text = resolve("textbook").read_text() + small_sections(backends=names) + extra
    return comparison_from_document(tomllib.loads(text))


def test_options_reach_the_settings_and_a_named_configuration_its_simulator():
    c = comparison(SIDE_BY_SIDE + '[simulation.options.brian2]\ntarget = "numpy"\n',
                   ["reference", "brian2", "nest", "nest_ps"])
    assert c.options == {"nest_ps": (("model", "iaf_psc_delta_ps"),), "brian2": (("target", "numpy"),)}
    assert c.aliases == {"nest_ps": "nest"} and c.module_name("nest_ps") == "nest"
    assert c.settings("nest_ps", 1e-4, 10, True).option("model") == "iaf_psc_delta_ps"
    assert c.settings("nest", 1e-4, 10, True).options == ()


def test_two_configurations_of_nest_side_by_side():
    """iaf_psc_delta and iaf_psc_delta_ps in one comparison: each meets its own contract, the precise one
    is judged in the exact timing class (no spike may be off), the grid one within a step."""
    outcome = run_comparison(comparison(SIDE_BY_SIDE, ["reference", "nest", "nest_ps"]))
    rows = {(r.stimulus, r.backend, r.reference, r.metric): r for r in outcome.metric_rows}
    assert rows[("step_supra", "nest", "twin:nest-delta", "contract_spike_steps")].passed
    assert rows[("step_supra", "nest_ps", "twin:nest-delta-ps", "contract_spike_steps")].passed
    assert rows[("step_supra", "nest_ps", "closed_form", "spike_count_diff")].tolerance == 0
    assert rows[("step_supra", "nest", "closed_form", "spike_count_diff")].tolerance >= 1
    latency = rows[("step_supra", "nest_ps", "closed_form", "first_spike_latency_diff")]
    assert latency.tolerance < 1e-9 and latency.passed        # exact inversion: rounding, not a step
    assert "precise" in outcome.metadata["nest_ps"]["spike_stamp"]
    assert outcome.exit_status() == 0


def test_options_are_recorded_in_the_manifest(tmp_path):
    path = tmp_path / "cell.toml"
    path.write_text(resolve("textbook").read_text() + small_sections(backends=["reference", "snntorch"],
                                                                    method="euler")
                    + '[simulation.options.snntorch]\nmodel = "lapicque"\n')
    done = subprocess.run([sys.executable, "-m", "comparisons", "run", str(path), "--out", str(tmp_path / "o"),
                           "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["simulation"]["options"] == {"snntorch": {"model": "lapicque"}}
    assert manifest["simulation"]["named_configurations"] == {}
    assert "Lapicque" in json.dumps(manifest["backends"]["snntorch"])


def test_lapicque_is_euler_and_refuses_exact():
    from models.loading import load_spec
    cell = load_spec("euler_tutorial")
    exact = RunSettings(1e-4, 10).with_options(model="lapicque")
    euler = RunSettings(1e-4, 10, "euler").with_options(model="lapicque")
    assert snntorch_.representable(cell, exact) == snntorch_.REASON_LAPICQUE_EXACT
    assert snntorch_.representable(cell, euler) is None


@pytest.mark.parametrize("extra, words", [
    ('[simulation.options.nest]\nmodle = "iaf_psc_delta"\n', 'simulation.options.nest.modle: unknown key (did you mean "model"?)'),
    ('[simulation.options.nest]\nmodel = "iaf_psc_exp"\n', 'simulation.options.nest.model: expected one of: iaf_psc_delta, iaf_psc_delta_ps, got "iaf_psc_exp"'),
    ('[simulation.options.nest_ps]\nmodel = "iaf_psc_delta_ps"\n', "simulation.options.nest_ps: expected a backend name"),
    ('[simulation.options.fast]\nbackend = "nset"\n', 'simulation.options.fast.backend: expected a backend name'),
    ('[simulation.options.nengo]\nmodel = "lif"\n', "simulation.options.nengo.model: nengo has no options"),
    ('[simulation.options.nest]\nbackend = "brian2"\n', "a named configuration needs a name of its own"),
    ('[simulation]\noptions = 3\n', "simulation.options: expected a table"),
])
def test_bad_options_are_refused_in_one_line(tmp_path, extra, words):
    text = resolve("textbook").read_text() + extra
    path = tmp_path / "cell.toml"
    path.write_text(text)
    done = subprocess.run([sys.executable, "-m", "comparisons", "run", str(path), "--out", str(tmp_path / "o")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and str(path) in lines[0], lines
    assert not (tmp_path / "o").exists()
