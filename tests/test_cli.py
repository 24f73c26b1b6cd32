"""The command line end to end: files, columns, hashes, reproducibility, exit codes, failing and hanging
backends, interrupted runs."""

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from comparisons.cli import main, safe_name
from conftest import small_sections
from comparisons import backends
from reports.writers import COLUMNS

ROOT = Path(__file__).resolve().parent.parent
SMALL = small_sections(backends=["reference"])


def comparison_file(tmp_path, extra=SMALL, preset="textbook", name=None):
    text = (ROOT / "models" / "presets" / f"{preset}.toml").read_text()
    if name is not None:
        text = text.replace(f'name = "{preset}"', f"name = {json.dumps(name)}", 1)
    path = tmp_path / "cmp.toml"
    path.write_text(text + extra)
    return path


def test_end_to_end_files_columns_hashes_and_identical_reruns(tmp_path):
    source = comparison_file(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", str(source), "--out", str(a), "--quiet"]) == 0
    assert main(["run", str(source), "--out", str(b), "--quiet"]) == 0
    expected = {"report.html", "metrics.csv", "fi_curve.csv", "traces.csv", "spikes.csv", "manifest.json",
                "convergence.csv"}
    assert expected <= {p.name for p in a.iterdir()}
    for name, columns in COLUMNS.items():
        with open(a / name, newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == columns and len(rows) > 1, name
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs between runs"
    manifest = json.loads((a / "manifest.json").read_text())
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((a / name).read_bytes()).hexdigest() == digest
    assert set(manifest["files"]) == {p.name for p in a.iterdir()} - {"manifest.json"}
    assert manifest["report_digest"] == json.loads((b / "manifest.json").read_text())["report_digest"]
    assert manifest["report_digest"] in (a / "report.html").read_text()
    for key in ("python", "numpy", "Brian2", "nengo"):
        assert key in manifest["versions"]
    assert manifest["specification"]["tau_m"] == 0.02 and manifest["simulation"]["dt_s"] == 1e-4
    assert manifest["platform"]["cpu"] and manifest["created"]
    assert not list(tmp_path.glob(".*partial*"))
    umask = os.umask(0)
    os.umask(umask)
    assert a.stat().st_mode & 0o777 == 0o777 & ~umask


def test_exit_status_one_when_a_verdict_fails(tmp_path, monkeypatch):
    monkeypatch.setitem(backends.REGISTRY, "shifted", ("shifted_backend", None))
    source = comparison_file(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(source), "--out", str(out), "--backends", "reference,shifted", "--quiet"]) == 1
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert any(r["backend"] == "shifted" and r["passed"] == "False" for r in rows)


@pytest.mark.parametrize("name, message", [("raises", "simulated crash inside the simulator"),
                                           ("nan", "non-finite")])
def test_failing_backend_is_isolated_reported_and_exit_three(tmp_path, monkeypatch, name, message):
    monkeypatch.setitem(backends.REGISTRY, name, (f"{name}_backend", None))
    out = tmp_path / "out"
    status = main(["run", str(comparison_file(tmp_path)), "--out", str(out), "--backends",
                   f"reference,{name}", "--quiet", "--timeout", "120"])
    assert status == 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert message in manifest["failures"][name]
    assert message in (out / "report.html").read_text()
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert any(r["backend"] == "reference" for r in rows), "the other backends still ran"


def test_hung_backend_hits_the_time_limit(tmp_path, monkeypatch):
    monkeypatch.setitem(backends.REGISTRY, "hangs", ("hangs_backend", None))
    out = tmp_path / "out"
    start = time.monotonic()
    status = main(["run", str(comparison_file(tmp_path)), "--out", str(out), "--backends", "reference,hangs",
                   "--quiet", "--timeout", "2"])
    assert status == 3 and time.monotonic() - start < 120
    assert "timed out after 2 s" in json.loads((out / "manifest.json").read_text())["failures"]["hangs"]


def run_in_child(args):
    code = ("import sys; sys.path[:0] = [%r, %r]; from comparisons import backends; "
            "backends.REGISTRY['hangs'] = ('hangs_backend', None); from comparisons.cli import main; "
            "sys.exit(main(%r))" % (str(ROOT), str(ROOT / "tests"), args))
    return subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, cwd=ROOT)


def children(pid):
    try:
        return set(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    except OSError:
        return set()


def wait_for_lasting_child(pid, lasting=1.0, limit=120.0):
    """Wait until the CLI process has a child that lives for ``lasting`` seconds (the hanging backend;
    the reference's isolated runs end within milliseconds)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = children(pid)
        time.sleep(lasting)
        if before & children(pid):
            return
    raise AssertionError("the hanging backend never started")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_nothing_and_keeps_the_previous_report(tmp_path, signum):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("previous report")
    (out / "manifest.json").write_text('{"suite": "lif-crosscheck", "files": {"report.html": ""}}')
    proc = run_in_child(["run", str(comparison_file(tmp_path)), "--out", str(out), "--force", "--quiet",
                         "--backends", "reference,hangs", "--timeout", "600"])
    wait_for_lasting_child(proc.pid)  # the isolated run of the hanging backend
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert err.endswith(f"nothing written, the earlier report in {out} is untouched\n") and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "report.html"]
    assert (out / "report.html").read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.toml", "out"], "no stray temporary directory"


def test_hostile_names_are_sanitised_for_files():
    assert safe_name("<script>alert(1)</script>") == "script_alert_1_script"
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("...") == "comparison"
    assert "/" not in safe_name("a/b\\c:d") and len(safe_name("x" * 500)) == 64


def test_presets_and_help(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "textbook" in out and "neuromatch" in out
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    assert info.value.code == 0 and "--backends" in capsys.readouterr().out


def test_traces_csv_is_what_the_csv_module_writes_cell_by_cell(monkeypatch):
    """traces.csv is built a trace at a time; its text is the csv module's with ``repr`` floats, also for
    labels that need quoting."""
    import io

    import numpy as np

    from models.result import Result
    from reports import writers

    t = np.arange(4) * 1e-4
    result = Result(t, np.array([[-0.07], [-0.0699], [0.1 + 0.2], [-1e-300]]), np.empty(0, int), np.empty(0),
                    1, None)
    rows = [('step, "big"', "brian2", result), ("plain", "closed_form", result), ("none", "nest", None)]
    monkeypatch.setattr(writers, "labelled_results", lambda outcome: iter(rows))
    expected = io.StringIO()
    out = csv.writer(expected, lineterminator="\n")
    out.writerow(COLUMNS["traces.csv"])
    for label, name, res in rows[:2]:
        for ti, vi in zip(res.t, res.v[:, 0]):
            out.writerow([label, name, repr(float(ti)), repr(float(vi))])
    assert writers.trace_text(None) == expected.getvalue()
    assert '"step, ""big""",brian2,0.0002,0.30000000000000004\n' in expected.getvalue()
