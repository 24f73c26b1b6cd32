"""The Python API (comparisons.compare / load): the same comparison as the command line, typed tables,
isolation by default, a report written on request only, and usable from a Python started anywhere."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from comparisons import compare, load
from comparisons.cli import main
from comparisons.stimuli import Step
from comparisons import backends
from models.errors import ComparisonError
from models.files import resolve
from models.loading import load_spec

from conftest import ROOT, small_sections

CSVS = ("metrics.csv", "fi_curve.csv", "traces.csv", "spikes.csv", "convergence.csv")


@pytest.fixture(scope="module")
def cell_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "cell.toml"
    path.write_text(resolve("textbook").read_text() + small_sections(backends=["reference", "brian2"]))
    return path


@pytest.fixture(scope="module")
def result(cell_file):
    return compare(str(cell_file))


def test_compare_gives_the_verdict_and_typed_tables(result):
    assert result.verdict == "pass" and result.passed and result.exit_status == 0
    df = result.metrics
    assert list(df.columns) == ["stimulus", "backend", "reference", "metric", "value", "unit", "tolerance",
                                "passed"]
    judged = df[df.passed.notna()]
    assert len(judged) > 20 and set(judged.passed) == {True}
    assert df.tolerance.dtype == float and np.isnan(df[df.passed.isna()].tolerance).all()
    assert result.failed.empty
    assert set(result.traces.backend) == {"closed_form", "reference", "brian2"}
    assert set(result.spikes.stimulus) == {"step_supra"}
    assert set(result.fi_curve.backend) == {"reference", "brian2"}
    assert set(result.convergence.backend) == {"reference", "brian2"}
    assert "pass" in repr(result)


def test_write_gives_the_command_lines_files_byte_for_byte(result, cell_file, tmp_path):
    manifest = result.write(tmp_path / "api")
    assert main(["run", str(cell_file), "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    for name in CSVS:
        assert (tmp_path / "api" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    assert manifest["files"].keys() >= set(CSVS)
    with pytest.raises(Exception, match="not empty"):
        result.write(tmp_path / "api")           # the output place's rules hold here too


def test_compare_a_specification_object_with_its_own_stimuli():
    spec = load_spec("textbook")
    step = Step("pulse", amplitude=3e-10, start=0.02, stop=0.08)
    result = compare(spec, stimuli=[step], backends=["reference"], isolated=False)
    assert set(result.metrics.stimulus) >= {"pulse", "fi_curve", "convergence"}
    spikes = result.spikes[result.spikes.backend == "reference"].spike_time_s.to_numpy()
    # fires only under the step: the last driven interval (t_799, t_800] ends at its stop, and without input
    # the membrane relaxes below threshold, so no grid-stamped spike comes after step 800
    steps = np.rint(spikes / 1e-4)
    assert spikes.size and steps.min() > 200 and steps.max() <= 800
    with pytest.raises(ComparisonError, match="unique"):
        compare(spec, stimuli=[step, step], backends=["reference"])


def test_load_accepts_every_kind_of_source(cell_file):
    assert load("textbook").spec.name == "textbook"
    assert load(str(cell_file)).backends == ("reference", "brian2")
    assert load(load_spec("neuromatch"), ["reference"]).backends == ("reference",)
    c = load("textbook")
    assert load(c) is c
    with pytest.raises(ComparisonError, match="backends"):
        load(c, ["reference"])


def test_a_wrong_backend_fails_and_the_summary_says_where(monkeypatch):
    monkeypatch.setitem(backends.REGISTRY, "shifted", ("shifted_backend", None))
    result = compare(load_spec("textbook"), backends=["reference", "shifted"], isolated=False)
    assert result.verdict == "fail" and not result.passed
    assert set(result.failed.backend) == {"shifted"}
    page = result._repr_html_()
    assert "<b>fail</b>" in page and "shifted" in page


def test_isolated_by_default_a_hanging_backend_fails_alone(monkeypatch):
    monkeypatch.setitem(backends.REGISTRY, "hangs", ("hangs_backend", None))
    result = compare(load_spec("textbook"), backends=["reference", "hangs"], timeout=3)
    assert result.verdict == "backend failed" and "hangs" in result.outcome.failures


def test_usable_from_a_python_started_anywhere(tmp_path):
    """From another directory, with the checkout importable (the Makefile's virtual environment makes it
    so by a .pth file; here PYTHONPATH does)."""
    code = ("from comparisons import compare; r = compare('textbook', backends=['reference'], isolated=False);"
            " print(r.verdict, len(r.metrics))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    verdict, count = done.stdout.split()
    assert verdict == "pass" and int(count) > 50
    assert list(tmp_path.iterdir()) == []  # nothing written
