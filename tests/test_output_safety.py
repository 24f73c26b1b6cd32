"""The output place through the real command line: what --force may replace, the lock, the
crash-consistent swap under SIGTERM and SIGKILL at each of its stages (reports.destination's
LIFX_PAUSE_AT hook), refusals before any simulation, and a full disk."""

import errno
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from comparisons.cli import main
from conftest import small_sections
from reports import destination
from reports.destination import REPORT_FILES, Destination
from reports.writers import COLUMNS

ROOT = Path(__file__).resolve().parent.parent
CHEAP = small_sections(duration="50 ms", fi_num=3, fi_duration="100 ms", backends=["reference"])
PREVIOUS = "previous report"


def cell(directory: Path, name="cmp.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text((ROOT / "models" / "presets" / "textbook.toml").read_text() + CHEAP)
    return path


def earlier_report(out: Path) -> Path:
    """A report of this suite as far as --force is concerned: its manifest and page, nothing else."""
    out.mkdir(parents=True)
    (out / "report.html").write_text(PREVIOUS)
    (out / "manifest.json").write_text(json.dumps({"suite": "lif-crosscheck", "files": {"report.html": "x"}}))
    return out


def is_new_report(out: Path) -> bool:
    manifest = json.loads((out / "manifest.json").read_text())
    return "report_digest" in manifest and set(os.listdir(out)) == REPORT_FILES


def env(**extra):
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]), **extra}


def command(args, guarded=False, fallback=False):
    """The command line in a new interpreter. ``guarded``: a simulation (run) or the presets' runs
    (report) create the file named by LIFX_TEST_SIMULATED instead, patched into their modules when the
    command line imports them (a refusal never imports them: the guard costs it nothing). ``fallback``: as
    without renameat2."""
    if not (guarded or fallback):
        return [sys.executable, "-m", "comparisons", *args]
    code = ["import os, sys", "from comparisons import cli", "from reports import destination"]
    if guarded:
        code += ["import importlib.util",
                 "def mark(*a, **k):", "    open(os.environ['LIFX_TEST_SIMULATED'], 'w').close()",
                 "    raise SystemExit(99)",
                 "GUARDED = {'comparisons.harness': 'run_comparison', 'comparisons.batch': 'run_dashboard'}",
                 "class Guard:",
                 "    def find_spec(self, name, path=None, target=None):",
                 "        if name not in GUARDED: return None",
                 "        sys.meta_path.remove(self)",
                 "        try: spec = importlib.util.find_spec(name)",
                 "        finally: sys.meta_path.insert(0, self)",
                 "        execute = spec.loader.exec_module",
                 "        def exec_module(module):",
                 "            execute(module)",
                 "            setattr(module, GUARDED[name], mark)",
                 "        spec.loader.exec_module = exec_module",
                 "        return spec",
                 "sys.meta_path.insert(0, Guard())"]
    if fallback:
        code += ["destination.RENAMEAT2 = None"]
    code += [f"sys.exit(cli.main({list(args)!r}))"]
    return [sys.executable, "-c", "\n".join(code)]


def run(args, cwd, timeout=300, **kwargs):
    return subprocess.run(command(args, **kwargs), cwd=cwd, env=env(LIFX_TEST_SIMULATED=str(cwd / "SIMULATED")),
                          capture_output=True, text=True, timeout=timeout)


def start(args, cwd, stage, **kwargs):
    """Start the command line paused at ``stage``; returns the process once it is there (its earlier
    lines of stderr in ``proc.before``)."""
    proc = subprocess.Popen(command(args, **kwargs), cwd=cwd, env=env(LIFX_PAUSE_AT=stage),
                            stderr=subprocess.PIPE, text=True)
    proc.before = ""
    for line in proc.stderr:
        if line == f"LIFX_PAUSE_AT {stage}\n":
            return proc
        proc.before += line
    raise AssertionError(f"it never reached {stage}: {proc.before}")


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ----------------------------------------------------------------------------------------- --force

def test_force_never_replaces_the_directory_holding_the_input(tmp_path):
    project = tmp_path / "proj"
    source = cell(project / "specs", "cell.toml")
    (project / "data").mkdir()
    (project / "data" / "raw.csv").write_text("1,2\n")
    for out in ("proj", "proj/specs"):
        done = run(["run", "proj/specs/cell.toml", "--out", out, "--force", "--quiet"], tmp_path)
        assert done.returncode == 2
        assert "--out: contains the input file" in one_line(done.stderr) and str(source) in done.stderr
    assert (project / "data" / "raw.csv").read_text() == "1,2\n"
    assert source.read_text().startswith('name = "textbook"')
    assert sorted(p.name for p in project.iterdir()) == ["data", "specs"], "no lock file or staging left"


def test_force_refuses_the_current_directory_and_its_parents(tmp_path):
    home = tmp_path / "home"
    cell(home, "cell.toml")
    (home / "docs").mkdir()
    (home / "docs" / "notes.txt").write_text("mine")
    for out, message in [(".", "is the current directory or one of its parents"),
                         ("..", "is the current directory or one of its parents"),
                         (str(home.parent.parent), "is the current directory or one of its parents"),
                         ("/", "is the root directory")]:
        done = run(["run", "cell.toml", "--out", out, "--force", "--quiet"], home, guarded=True)
        assert done.returncode == 2
        assert f"--out: {message}" in one_line(done.stderr)
    assert not (home / "SIMULATED").exists()
    assert sorted(p.name for p in home.iterdir()) == ["cell.toml", "docs"]
    assert (home / "docs" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_force_refuses_a_directory_that_is_not_a_report(tmp_path):
    cell(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manifest.json").write_text('{"suite": "something else", "files": {}}')
    (docs / "thesis.tex").write_text("years of work")
    done = run(["run", "cmp.toml", "--out", "docs", "--force", "--quiet"], tmp_path, guarded=True)
    assert done.returncode == 2
    assert 'is not a report of this suite: it holds "thesis.tex"' in one_line(done.stderr)
    (docs / "thesis.tex").unlink()
    done = run(["run", "cmp.toml", "--out", "docs", "--force", "--quiet"], tmp_path, guarded=True)
    assert done.returncode == 2 and "manifest.json this suite did not write" in one_line(done.stderr)
    assert sorted(p.name for p in docs.iterdir()) == ["manifest.json"]
    assert not (tmp_path / "SIMULATED").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.toml", "docs"]


def test_force_replaces_an_earlier_report_and_an_empty_directory(tmp_path):
    """The earlier report is at out/ at every instant until the new one is (polled throughout)."""
    cell(tmp_path)
    out = tmp_path / "out"
    assert run(["run", "cmp.toml", "--out", "out", "--quiet"], tmp_path).returncode == 0
    first = json.loads((out / "manifest.json").read_text())["created"]
    seen, stop = [], threading.Event()

    def poll():   # about a thousand reads a second, not a busy loop taking a core from the run it watches
        while not stop.wait(0.001):
            with open(out / "manifest.json") as handle:  # never missing, never half written
                seen.append(json.load(handle)["report_digest"])
    poller = threading.Thread(target=poll)
    poller.start()
    try:
        done = run(["run", "cmp.toml", "--out", "out", "--force"], tmp_path)
    finally:
        stop.set()
        poller.join()
    assert done.returncode == 0, done.stderr
    assert re.search(r"(\d+) of \1 verdicts pass", done.stderr) and len(seen) > 10
    assert is_new_report(out)
    assert json.loads((out / "manifest.json").read_text())["created"] >= first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.toml", "out"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(["run", "cmp.toml", "--out", "empty", "--force", "--quiet"], tmp_path).returncode == 0
    assert is_new_report(empty)


# ----------------------------------------------------------------------------------------- the swap

@pytest.mark.parametrize("stage, new_in_place", [("written", False), ("exchanged", True), ("landed", True)])
def test_sigterm_at_each_stage_says_which_report_is_in_place(tmp_path, stage, new_in_place):
    cell(tmp_path)
    out = earlier_report(tmp_path / "out")
    proc = start(["run", "cmp.toml", "--out", "out", "--force", "--quiet"], tmp_path, stage)
    assert is_new_report(out) == new_in_place
    assert ((out / "report.html").read_text() == PREVIOUS) != new_in_place
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    one_line(err)
    if new_in_place:
        assert err == f"terminated: the new report is complete and in place in {out}\n"
        assert is_new_report(out)
    else:
        assert err == f"terminated: nothing written, the earlier report in {out} is untouched\n"
        assert sorted(os.listdir(out)) == ["manifest.json", "report.html"]
        assert (out / "report.html").read_text() == PREVIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.toml", "out"], "no leftover, no lock file"


@pytest.mark.parametrize("stage, new_in_place", [("written", False), ("exchanged", True), ("landed", True)])
def test_sigkill_at_each_stage_leaves_a_whole_report_and_the_next_run_cleans_up(tmp_path, stage, new_in_place):
    cell(tmp_path)
    out = earlier_report(tmp_path / "out")
    proc = start(["run", "cmp.toml", "--out", "out", "--force", "--quiet"], tmp_path, stage)
    proc.kill()
    proc.communicate(timeout=60)
    assert is_new_report(out) == new_in_place
    if not new_in_place:
        assert (out / "report.html").read_text() == PREVIOUS
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert ".out.lock" in left
    assert any(name.startswith(".out.partial-") for name in left) == (stage != "landed"), left
    (tmp_path / "unrelated").mkdir()
    (tmp_path / ".out.partial-notmine").mkdir()  # not a name this suite makes: not touched
    done = run(["run", "cmp.toml", "--out", "out", "--force"], tmp_path)
    assert done.returncode == 0, done.stderr
    if stage != "landed":
        assert "note: --out: removed" in done.stderr and "left by an interrupted run" in done.stderr
    assert is_new_report(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.partial-notmine", "cmp.toml", "out", "unrelated"]


def test_fallback_without_renameat2_holds_signals_between_its_two_renames(tmp_path):
    cell(tmp_path)
    out = earlier_report(tmp_path / "out")
    proc = start(["run", "cmp.toml", "--out", "out", "--force", "--quiet"], tmp_path, "aside", fallback=True)
    assert not out.exists()  # between the two renames: which is why signals wait
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and err == f"terminated: the new report is complete and in place in {out}\n"
    assert is_new_report(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.toml", "out"]


def test_fallback_killed_between_its_renames_the_next_run_puts_the_earlier_report_back(tmp_path):
    cell(tmp_path)
    out = earlier_report(tmp_path / "out")
    proc = start(["run", "cmp.toml", "--out", "out", "--force", "--quiet"], tmp_path, "aside", fallback=True)
    proc.kill()
    proc.communicate(timeout=60)
    assert not out.exists()
    [aside] = tmp_path.glob(".out.old-*")
    assert (aside / "previous" / "report.html").read_text() == PREVIOUS
    # the next run recovers under its lock, before simulating; stop it there
    proc = start(["run", "cmp.toml", "--out", "out", "--force"], tmp_path, "locked")
    assert (out / "report.html").read_text() == PREVIOUS
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert proc.before.startswith("note: --out: put back the earlier report that an interrupted run had moved")
    assert f"note: --out: removed {aside}, left by an interrupted run" in proc.before
    assert err == f"terminated: nothing written, the earlier report in {out} is untouched\n"
    assert sorted(os.listdir(out)) == ["manifest.json", "report.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.toml", "out"]


# ----------------------------------------------------------------------------------------- the lock

def test_a_second_run_into_the_same_place_is_refused_in_one_line(tmp_path):
    cell(tmp_path)
    first = start(["run", "cmp.toml", "--out", "a/out", "--quiet"], tmp_path, "locked")
    began = time.monotonic()
    done = run(["run", "cmp.toml", "--out", "a/out", "--force", "--quiet"], tmp_path, guarded=True)
    assert done.returncode == 2 and time.monotonic() - began < 60
    assert f"is being written by another run of this suite (process {first.pid})" in one_line(done.stderr)
    assert not (tmp_path / "SIMULATED").exists()
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 143 and err == "terminated: nothing written\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.toml"], "the parents it made are gone too"


def test_concurrent_runs_serialise_or_refuse_never_a_traceback(tmp_path):
    cell(tmp_path)
    procs = [subprocess.Popen(command(["run", "cmp.toml", "--out", "out", "--force", "--quiet"]), cwd=tmp_path,
                              env=env(), stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert all(status in (0, 2) for status, _ in results), results
    assert any(status == 0 for status, _ in results)
    for status, err in results:
        assert err == "" if status == 0 else "is being written by another run" in one_line(err)
    assert is_new_report(tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.toml", "out"]


# ----------------------------------------------------------------------------------------- the place

@pytest.mark.parametrize("command_name", ["run", "report"])
@pytest.mark.parametrize("kind, message", [
    ("file", "expected a directory, not an existing file"),
    ("dangling", "is a dangling symbolic link (to nowhere)"),
    ("proc", "is not writable (cannot create /proc/"),
    ("empty", 'expected a directory path, got ""'),
])
def test_bad_output_places_are_refused_before_any_simulation(tmp_path, command_name, kind, message):
    cell(tmp_path)
    (tmp_path / "file").write_text("keep me")
    (tmp_path / "dangling").symlink_to("nowhere")
    out = {"file": "file", "dangling": "dangling", "proc": "/proc/lifx-out", "empty": ""}[kind]
    args = ["run", "cmp.toml"] if command_name == "run" else ["report", "textbook"]
    done = run([*args, "--out", out, "--quiet"], tmp_path, guarded=True, timeout=60)
    assert done.returncode == 2
    assert message in one_line(done.stderr)
    assert not (tmp_path / "SIMULATED").exists(), "it simulated before refusing"
    assert (tmp_path / "file").read_text() == "keep me" and os.readlink(tmp_path / "dangling") == "nowhere"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.toml", "dangling", "file"]


def test_report_refuses_a_preset_directory_that_is_not_a_report(tmp_path):
    (tmp_path / "dash" / "textbook").mkdir(parents=True)
    (tmp_path / "dash" / "textbook" / "mine.txt").write_text("mine")
    done = run(["report", "textbook", "--out", "dash", "--quiet"], tmp_path, guarded=True, timeout=60)
    assert done.returncode == 2 and 'holds "mine.txt"' in one_line(done.stderr)
    assert not (tmp_path / "SIMULATED").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dash"]


def test_dot_dot_in_out_is_resolved_before_anything_is_made(tmp_path):
    cell(tmp_path)
    (tmp_path / "D").mkdir()
    done = run(["run", "cmp.toml", "--out", "D/a/../b", "--quiet"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "D").iterdir()) == ["b"]
    assert is_new_report(tmp_path / "D" / "b")


def test_a_full_disk_is_one_line_and_keeps_the_earlier_report(tmp_path, capsys, monkeypatch):
    from reports import writers

    def full(outcome, directory, html, **kwargs):
        (directory / "metrics.csv").write_text("half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(directory / "traces.csv"))
    monkeypatch.setattr(writers, "write_all", full)
    source = cell(tmp_path)
    out = earlier_report(tmp_path / "out")
    assert main(["run", str(source), "--out", str(out), "--force", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--out: could not write the report (No space left on device)" in one_line(err)
    assert "the earlier report in it is untouched" in err
    assert sorted(os.listdir(out)) == ["manifest.json", "report.html"]
    assert (out / "report.html").read_text() == PREVIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.toml", "out"]


# ----------------------------------------------------------------------------------------- in process

def test_report_files_are_the_files_a_report_has():
    assert REPORT_FILES == set(COLUMNS) | {"report.html", "manifest.json"}


def test_a_real_report_is_recognised_and_a_doctored_one_is_not(tmp_path):
    out = earlier_report(tmp_path / "out")
    assert destination.not_a_report(out) is None
    (out / "metrics.csv").mkdir()
    assert destination.not_a_report(out) == 'holds "metrics.csv", which is not a regular file'
    (out / "metrics.csv").rmdir()
    (out / "notes").symlink_to(tmp_path)
    assert destination.not_a_report(out) == 'holds "notes", which a report of this suite does not'


def test_a_symlink_to_a_directory_is_refused_and_its_target_untouched(tmp_path):
    target = earlier_report(tmp_path / "target")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(Exception, match="is a symbolic link"):
        Destination(tmp_path / "link", True).check()
    assert (target / "report.html").read_text() == PREVIOUS


def test_the_lock_file_and_the_parents_made_are_removed_when_nothing_landed(tmp_path):
    with Destination(tmp_path / "x" / "y" / "out", False) as place:
        assert (tmp_path / "x" / "y" / ".out.lock").read_text() == f"{os.getpid()}\n"
        assert place.state == "locked"
    assert list(tmp_path.iterdir()) == []
