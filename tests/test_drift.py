"""Validation that lasts: the diff of two reports (every kind of change, with its numbers), tampered
reports refused, JUnit XML checked with a real parser against metrics.csv, assert_equivalent and its
pytest fixture on real cells, and the baseline mode of `run`."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from comparisons import backends
from comparisons.cli import main
from comparisons.diff import COLUMNS, diff_reports, spike_change
from comparisons.testing import assert_equivalent
from conftest import ROOT, small_sections
from models.loading import load_spec
from reports.junit import junit_xml

DT = 1e-4


def cell_file(tmp_path, backend_names=("reference", "drifting")):
    path = tmp_path / "cell.toml"
    path.write_text((ROOT / "models" / "presets" / "textbook.toml").read_text()
                    + small_sections(backends=list(backend_names)))
    return path


@pytest.fixture
def drifting(monkeypatch):
    monkeypatch.setitem(backends.REGISTRY, "drifting", ("drifting_backend", None))
    monkeypatch.delenv("LIFX_DRIFT_STEPS", raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """One small report (reference and the drifting backend, not drifting), written by `run`."""
    tmp = tmp_path_factory.mktemp("drift")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(backends.REGISTRY, "drifting", ("drifting_backend", None))
        mp.delenv("LIFX_DRIFT_STEPS", raising=False)
        assert main(["run", str(cell_file(tmp)), "--out", str(tmp / "base"), "--quiet"]) == 0
    return tmp / "base"


def copy(base, tmp_path, name="copy"):
    out = tmp_path / name
    shutil.copytree(base, out)
    return out


def rehash(report):
    """Rewrite the manifest's hashes after a deliberate edit (a constructed drift, not a tampered report)."""
    manifest = json.loads((report / "manifest.json").read_text())
    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256((report / name).read_bytes()).hexdigest()
    (report / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def edit_csv(report, name, change):
    with open(report / name, newline="") as handle:
        rows = list(csv.reader(handle))
    rows = change(rows)
    with open(report / name, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def edit_manifest(report, change):
    manifest = json.loads((report / "manifest.json").read_text())
    change(manifest)
    (report / "manifest.json").write_text(json.dumps(manifest, indent=2))


def changes_csv(directory):
    with open(directory / "changes.csv", newline="") as handle:
        return list(csv.DictReader(handle))


# ----------------------------------------------------------------------------------------- diff

def test_identical_reports_diff_empty_and_exit_0(base, tmp_path, capsys):
    other = copy(base, tmp_path)
    edit_manifest(other, lambda m: m.update(created="2000-01-01T00:00:00+00:00"))  # never compared
    assert main(["diff", str(base), str(other / "manifest.json"), "--out", str(tmp_path / "d")]) == 0
    assert (tmp_path / "d" / "changes.csv").read_text() == ",".join(COLUMNS) + "\n"
    page = (tmp_path / "d" / "diff.html").read_text()
    assert "NO DRIFT" in page and "nothing changed" in page
    assert json.loads((tmp_path / "d" / "manifest.json").read_text())["status"] == 0
    assert "nothing changed" in capsys.readouterr().err
    # the diff's directory is a place of this suite: --force replaces it, and it is no report to diff
    assert main(["diff", str(base), str(other), "--out", str(tmp_path / "d"), "--force", "--quiet"]) == 0
    assert main(["diff", str(base), str(tmp_path / "d"), "--quiet"]) == 2


def test_a_flipped_verdict_and_moved_values_with_their_numbers(base, tmp_path):
    new = copy(base, tmp_path)
    rows = list(csv.DictReader(open(base / "metrics.csv", newline="")))
    flip = next(i for i, r in enumerate(rows) if r["backend"] == "drifting" and r["metric"] == "first_spike_latency_diff"
                and r["reference"] == "closed_form")
    small = next(i for i, r in enumerate(rows) if r["backend"] == "drifting" and r["passed"] == "True"
                 and float(r["tolerance"]) > 0 and i != flip)
    exact = next(i for i, r in enumerate(rows) if r["passed"] == "" and r["metric"] == "spike_count")
    tol = float(rows[flip]["tolerance"])
    old_value = float(rows[flip]["value"])

    def change(table):
        table[flip + 1][4] = repr(old_value + 3 * tol)
        table[flip + 1][7] = "False"
        table[small + 1][4] = repr(float(table[small + 1][4]) + float(table[small + 1][6]) / 2)  # rounding
        table[exact + 1][4] = repr(float(table[exact + 1][4]) + 1)
        return table
    edit_csv(new, "metrics.csv", change)
    rehash(new)
    result = diff_reports(base, new)
    assert result.status == 1 and result.within_tolerance == 1
    verdict = [c for c in result.changes if c.kind == "verdict"]
    assert len(verdict) == 1 and (verdict[0].old, verdict[0].new) == ("True", "False")
    assert verdict[0].metric == "first_spike_latency_diff" and verdict[0].tolerance == tol
    metric = {(c.metric, c.reference): c for c in result.changes if c.kind == "metric"}
    assert set(metric) == {("first_spike_latency_diff", "closed_form"), ("spike_count", rows[exact]["reference"])}
    moved = metric["first_spike_latency_diff", "closed_form"]
    assert moved.delta == pytest.approx(3 * tol) and moved.old == old_value and moved.tolerance == tol
    assert metric["spike_count", rows[exact]["reference"]].delta == 1.0
    assert metric["spike_count", rows[exact]["reference"]].tolerance == ""   # exact: any change beyond rounding
    # the flip back is found as well
    assert [(c.old, c.new) for c in diff_reports(new, base).changes if c.kind == "verdict"] == [("False", "True")]


def test_a_moved_spike_is_found_with_its_steps(base, tmp_path):
    new = copy(base, tmp_path)
    spikes = [r for r in csv.DictReader(open(base / "spikes.csv", newline=""))
              if r["backend"] == "drifting"]
    third = float(spikes[2]["spike_time_s"])

    def change(table):
        hits = [i for i, r in enumerate(table) if r[1] == "drifting"]
        table[hits[2]][2] = repr(third + 2 * DT)   # two steps late
        del table[hits[-1]]                         # and the last spike gone
        return table
    edit_csv(new, "spikes.csv", change)
    rehash(new)
    assert main(["diff", str(base), str(new), "--out", str(tmp_path / "d"), "--quiet"]) == 1
    rows = [r for r in changes_csv(tmp_path / "d") if r["kind"] == "spikes"]
    assert len(rows) == 2 and {r["backend"] for r in rows} == {"drifting"}
    moved, first = rows
    assert moved["metric"] == "moved_spikes" and int(moved["old"]) == len(spikes)
    assert int(moved["new"]) == len(spikes) - 1 and moved["delta"] == "2"
    assert first["metric"] == "first_moved_spike" and float(first["old"]) == third
    assert float(first["new"]) == pytest.approx(third + 2 * DT) and first["delta"] == "2"
    assert "first_moved_spike" in (tmp_path / "d" / "diff.html").read_text()
    # the rule by itself: spike times that differ within the same step are not moved
    assert spike_change([0.01, 0.02], [0.01 + 1e-12, 0.02], DT, DT) is None
    assert spike_change([0.01, 0.02], [0.01, 0.02, 0.03], DT, DT) == (1, 2, None, 0.03, None)


def test_f_i_points_and_environment_and_setup(base, tmp_path):
    new = copy(base, tmp_path)

    def change(table):
        row = next(r for r in table[1:] if r[0] == "drifting" and float(r[3]) > 0)
        row[3] = repr(float(row[3]) + 2.0)
        return table
    edit_csv(new, "fi_curve.csv", change)
    edit_manifest(new, lambda m: m["versions"].update(numpy="0.0.1"))
    rehash(new)
    result = diff_reports(base, new)
    fi = [c for c in result.changes if c.kind == "fi"]
    assert len(fi) == 1 and fi[0].backend == "drifting" and fi[0].delta == 2.0 and "rate_hz at I=" in fi[0].metric
    env = [c for c in result.changes if c.kind == "environment"]
    assert [(c.metric, c.new) for c in env] == [("versions.numpy", "0.0.1")]

    # environment alone is not drift: exit 0, but listed
    only_env = copy(base, tmp_path, "env")
    edit_manifest(only_env, lambda m: (m["versions"].update(numpy="0.0.1"), m["platform"].update(cpu="other")))
    rehash(only_env)
    result = diff_reports(base, only_env)
    assert result.status == 0 and {c.metric for c in result.changes} == {"versions.numpy", "platform.cpu"}

    # the setup (dt, method, tolerances, specification) is drift
    setup = copy(base, tmp_path, "setup")
    edit_manifest(setup, lambda m: (m["simulation"].update(method="euler"),
                                    m["tolerances"]["overrides"].update(trace_rmse=1.0),
                                    m["specification"].update(tau_m=0.03)))
    rehash(setup)
    result = diff_reports(base, setup)
    assert result.status == 1
    assert {c.metric: (c.old, c.new) for c in result.changes} == {
        "simulation.method": ("exact", "euler"), "tolerances.overrides.trace_rmse": ("", 1.0),
        "specification.tau_m": (0.02, 0.03)}


def test_tampered_truncated_or_foreign_reports_are_refused(base, tmp_path, capsys):
    tampered = copy(base, tmp_path, "tampered")
    with open(tampered / "metrics.csv", "a") as handle:
        handle.write("x,drifting,reference,extra,0.0,1,,\n")
    assert main(["diff", str(base), str(tampered), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "metrics.csv" in err and "sha256 must be" in err and "tampered" in err
    assert not (tmp_path / "d").exists()

    truncated = copy(base, tmp_path, "truncated")
    (truncated / "spikes.csv").write_bytes((base / "spikes.csv").read_bytes()[:100])
    assert main(["diff", str(truncated), str(base)]) == 2
    assert "spikes.csv" in capsys.readouterr().err

    missing = copy(base, tmp_path, "missing")
    (missing / "fi_curve.csv").unlink()
    assert main(["diff", str(base), str(missing)]) == 2
    assert "fi_curve.csv" in capsys.readouterr().err

    (tmp_path / "empty").mkdir()
    assert main(["diff", str(base), str(tmp_path / "empty")]) == 2
    assert "manifest.json" in capsys.readouterr().err
    foreign = copy(base, tmp_path, "foreign")
    edit_manifest(foreign, lambda m: m.update(suite="other"))
    assert main(["diff", str(foreign), str(base)]) == 2
    assert 'suite: expected "lif-crosscheck", got "other"' in capsys.readouterr().err
    assert main(["diff", str(base), str(tmp_path / "nowhere")]) == 2
    # a diff never replaces one of its inputs
    assert main(["diff", str(base), str(copy(base, tmp_path, "x")), "--out", str(base), "--force"]) == 2
    assert (base / "metrics.csv").exists()


# ----------------------------------------------------------------------------------------- JUnit, baseline

def test_junit_parses_and_counts_match_metrics_csv_and_baseline_mode(drifting, tmp_path, capsys):
    source = cell_file(tmp_path)
    base = tmp_path / "base"
    assert main(["run", str(source), "--out", str(base), "--quiet", "--junit", str(tmp_path / "base.xml")]) == 0
    # the same run against its own baseline: no drift
    assert main(["run", str(source), "--out", str(tmp_path / "again"), "--quiet",
                 "--baseline", str(base)]) == 0

    # the drifting backend's new release moves one spike by one step: every verdict still passes (one
    # step is within their tolerances), the baseline finds it
    drifting.setenv("LIFX_DRIFT_STEPS", "1")
    drifting.setenv("LIFX_DRIFT_VERSION", "1.1")
    status = main(["run", str(source), "--out", str(tmp_path / "new"), "--quiet", "--baseline", str(base)])
    err = capsys.readouterr().err
    assert status == 1 and "spikes" in err and "first_moved_spike" in err
    assert json.loads((tmp_path / "new" / "manifest.json").read_text())["verdict"]["exit_status"] == 0

    # JUnit of a run with failing verdicts (the threshold 1 mV high), into a directory not there yet
    drifting.setitem(backends.REGISTRY, "shifted", ("shifted_backend", None))
    (tmp_path / "shifted_cell").mkdir()
    shifted = cell_file(tmp_path / "shifted_cell", ("reference", "shifted"))
    junit = tmp_path / "ci" / "junit.xml"
    assert main(["run", str(shifted), "--out", str(tmp_path / "shifted"), "--quiet", "--junit", str(junit)]) == 1
    rows = list(csv.DictReader(open(tmp_path / "shifted" / "metrics.csv", newline="")))
    judged = [r for r in rows if r["passed"]]
    failing = [r for r in judged if r["passed"] == "False"]
    assert failing and {r["backend"] for r in failing} == {"shifted"}
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    assert int(root.get("tests")) == len(cases) == len(judged)
    assert int(root.get("failures")) == len(root.findall(".//failure")) == len(failing)
    assert int(root.get("errors")) == 0
    assert {c.get("classname") for c in cases} == {r["backend"] for r in judged}
    r = failing[0]
    name = f"{r['stimulus']}/{r['metric']} vs {r['reference']}"
    case = root.find(f"./testsuite[@name='textbook.shifted']/testcase[@name='{name}']")
    assert case.get("classname") == r["backend"] == "shifted"
    message = case.find("failure").get("message")
    assert r["value"] in message and r["tolerance"] in message
    for suite in root.findall("testsuite"):
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
    assert ET.parse(tmp_path / "base.xml").getroot().get("failures") == "0"

    diff = diff_reports(base, tmp_path / "new")
    spikes = {(c.stimulus, c.metric): c for c in diff.changes if c.kind == "spikes"}
    first = spikes["step_supra", "first_moved_spike"]
    assert first.backend == "drifting" and first.delta == 1 and first.new == pytest.approx(first.old + DT)
    assert spikes["step_supra", "moved_spikes"].delta == 1
    assert [(c.metric, c.old, c.new) for c in diff.changes if c.kind == "environment"] == \
        [("backends.drifting.version", "1.0", "1.1")]

    # bad input before any simulation: a tampered baseline, a JUnit file inside the report
    tampered = copy(base, tmp_path, "tampered")
    (tampered / "traces.csv").write_text("t\n")
    assert main(["run", str(source), "--out", str(tmp_path / "never"), "--baseline", str(tampered)]) == 2
    assert main(["run", str(source), "--out", str(tmp_path / "never"),
                 "--junit", str(tmp_path / "never" / "j.xml")]) == 2
    assert not (tmp_path / "never").exists()
    assert main(["run", str(source), "--out", str(base), "--force", "--baseline", str(base)]) == 2


def test_junit_of_several_reports_and_a_failed_backend(base, tmp_path):
    broken = copy(base, tmp_path)
    edit_manifest(broken, lambda m: m["failures"].update(nest="timed out after 3 s"))
    data = junit_xml([("a", base), ("b", broken)], prefix_names=True)
    root = ET.fromstring(data)
    judged = sum(1 for r in csv.DictReader(open(base / "metrics.csv", newline="")) if r["passed"])
    assert int(root.get("tests")) == 2 * judged + 1 and root.get("errors") == "1"
    error = root.find(".//testcase[@classname='nest']")
    assert error.get("name") == "b/backend run" and "timed out" in error.find("error").get("message")
    assert all(c.get("name").startswith(("a/", "b/")) for c in root.iter("testcase"))
    assert junit_xml([("a", base), ("b", broken)], True) == data   # deterministic


# ----------------------------------------------------------------------------------------- assertions

def test_assert_equivalent_passes_and_fails_on_real_cells(monkeypatch, tmp_path):
    result = assert_equivalent(cell_file(tmp_path, ("reference", "brian2")))
    assert result.passed
    monkeypatch.setitem(backends.REGISTRY, "shifted", ("shifted_backend", None))
    with pytest.raises(AssertionError) as caught:
        assert_equivalent(load_spec("textbook"), backends=["reference", "shifted"], isolated=False,
                          report_dir=tmp_path / "report")
    message = str(caught.value)
    lines = message.splitlines()
    assert "verdicts fail" in lines[0]
    header = lines[1].split()
    assert header == ["stimulus", "backend", "reference", "metric", "value", "tolerance", "unit"]
    print(message)
    assert all(" shifted " in line for line in lines[2:-1] if not line.strip().startswith("..."))
    assert "full report:" in lines[-1] and (tmp_path / "report" / "report.html").exists()


def test_the_pytest_example_runs_in_a_users_suite(tmp_path):
    example = tmp_path / "suite"
    shutil.copytree(ROOT / "examples" / "pytest", example)
    (example / "test_fails.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'tests')!r})\n"
        "from comparisons import backends\n"
        "backends.REGISTRY['shifted'] = ('shifted_backend', None)\n\n"
        "def test_fails(lif_equivalent):\n"
        "    lif_equivalent('cell.toml', backends=['reference', 'shifted'], isolated=False)\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nengo",
                           str(example)], cwd=example, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})   # as `pip install -e .` would
    assert "2 passed" in proc.stdout and "1 failed" in proc.stdout, proc.stdout + proc.stderr
    assert "AssertionError: my_cell:" in proc.stdout and "verdicts fail" in proc.stdout
    assert "lif-report/report.html" in proc.stdout
