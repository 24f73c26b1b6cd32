"""The command line under hostile use: inputs that used to hang it, exhaust memory or end in a traceback,
backends whose import or capability check misbehaves, and a parent killed with SIGKILL while its
children work. Everything through the real command line (``python -m comparisons``) in a new
interpreter, with cheap cells (``--backends reference`` where the backend does not matter)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from comparisons import budget
from comparisons.config import load_comparison
from comparisons.stimuli import Pulses, edge_index
from conftest import small_sections

ROOT = Path(__file__).resolve().parent.parent
TEXTBOOK = (ROOT / "models" / "presets" / "textbook.toml").read_text()
CHEAP = small_sections(duration="50 ms", fi_num=3, fi_duration="100 ms", backends=["reference"])
TEST_BACKENDS = ("hangs:hangs_backend,import_hangs:import_hangs_backend,import_raises:import_raises_backend,"
                 "representable_raises:representable_raises_backend,blocks:blocking_backend")


def env(**extra):
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
            "LIFX_TEST_BACKENDS": TEST_BACKENDS, **extra}


def command(*args):
    return [sys.executable, "-m", "comparisons", *args]


def run(args, cwd, timeout=300, **extra):
    return subprocess.run(command(*args), cwd=cwd, env=env(**extra), capture_output=True, text=True,
                          timeout=timeout)


def write(tmp_path, text, name="cell.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def bad_input(done, path, *fragments):
    """One line naming the file (the command line for an option) and the fragments, exit status 2, no
    traceback."""
    assert done.returncode == 2, done.stderr
    err = done.stderr
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert str(path.name) in err or fragments[0].startswith("--"), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def nothing_written(tmp_path, *keep):
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)


# ------------------------------------------------------------------------------------------ hangs

def loop_pulses(p: Pulses, dt: float, n_steps: int) -> np.ndarray:
    """The definition, pulse by pulse (what the sampler did before it was vectorised)."""
    out = np.zeros(n_steps)
    j = 0
    while p.count == 0 or j < p.count:
        on = edge_index(p.start + j * p.period, dt)
        if on >= n_steps:
            break
        out[on:min(edge_index(p.start + j * p.period + p.width, dt), n_steps)] = p.amplitude
        j += 1
    return out


def test_vectorised_pulses_equal_the_pulse_by_pulse_definition():
    rng = np.random.default_rng(3)
    for _ in range(500):
        dt = float(rng.choice([1e-4, 1e-3, 2.5e-5, 1e-4 / 3]))
        period = float(dt * rng.choice([1, 2, 0.7, 3.3, 100, 70, 1 / 3, 1e-3]))
        width = float(period * rng.choice([1, 0.5, 0.2, 0.999, 0.01]))
        p = Pulses("p", amplitude=1.0, width=width, period=period, start=float(rng.choice([0, dt, 1.23e-3])),
                   count=int(rng.integers(0, 6)))
        n = int(rng.integers(1, 400))
        assert np.array_equal(p.sample(dt, n), loop_pulses(p, dt, n)), p


def test_femtosecond_pulses_are_sampled_in_bounded_time(tmp_path):
    start = time.monotonic()
    samples = Pulses("p", amplitude=1e-9, width=1e-15, period=1e-15).sample(1e-4, 5000)  # 5e14 pulses
    assert time.monotonic() - start < 5 and samples.shape == (5000,)
    path = write(tmp_path, TEXTBOOK + CHEAP + '[[stimulus]]\nname = "fs"\nkind = "pulses"\namplitude = "1 nA"\n'
                 'width = "1 fs"\nperiod = "1 fs"\n')
    done = run(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"], tmp_path, timeout=240)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    assert (tmp_path / "out" / "report.html").exists()


def test_pulses_finer_than_float_can_count_are_refused(tmp_path):
    path = write(tmp_path, TEXTBOOK + CHEAP + '[[stimulus]]\nname = "as"\nkind = "pulses"\namplitude = "1 nA"\n'
                 'width = "1e-3 fs"\nperiod = "1e-3 fs"\n')
    done = run(["run", str(path), "--out", str(tmp_path / "out")], tmp_path)
    bad_input(done, path, "stimulus[0].period", '"1e-3 fs"')
    nothing_written(tmp_path, "cell.toml")


def test_absurd_step_counts_are_refused_before_sampling(tmp_path):
    """dt = 1 ns over 100 ms: 10^8 steps a stimulus; refused in seconds, naming the field."""
    path = write(tmp_path, TEXTBOOK + '[simulation]\nbackends = ["reference"]\ndt = "1 ns"\nduration = "100 ms"\n'
                 '[fi_curve]\ndt = "0.1 ms"\nnum = 3\nduration = "100 ms"\n'
                 '[convergence]\ndt = ["0.4 ms", "0.2 ms", "0.1 ms"]\nduration = "100 ms"\n')
    start = time.monotonic()
    done = run(["run", str(path), "--out", str(tmp_path / "out")], tmp_path)
    assert time.monotonic() - start < 60
    bad_input(done, path, "simulation.duration", "of memory", "budget 2 GiB", '"100 ms"')
    nothing_written(tmp_path, "cell.toml")


# ------------------------------------------------------------------------------- resources, bad input

@pytest.mark.parametrize("case, extra, args, fragments", [
    ("huge_num", "[fi_curve]\nnum = 1" + "0" * 400 + "\n", [], ["fi_curve.num", "at most", "401 digits"]),
    ("million_currents", "[fi_curve]\nnum = 1000000\n", [], ["fi_curve.num", "budget", '"1000000"']),
    ("forty_days", '[simulation]\ntimeout = "40 day"\n', [], ["simulation.timeout", "at most", '"40 day"']),
    ("timeout_inf", "", ["--timeout", "inf"], ["--timeout", "at most", '"inf"']),
    ("timeout_nan", "", ["--timeout", "nan"], ["--timeout", "positive"]),
    ("noise_sigma", '[simulation]\nduration = "50 ms"\n[[stimulus]]\nname = "n"\nkind = "noise"\n'
                    'sigma = "1e300 A*s**0.5"\n', [], ["stimulus[0].sigma", "sigma/sqrt(dt)", '"1e300 A*s**0.5"']),
    ("noise_in_a_sum", '[simulation]\nduration = "50 ms"\n[[stimulus]]\nname = "n"\nkind = "sum"\n'
                       '[[stimulus.parts]]\nkind = "dc"\namplitude = "1 pA"\n[[stimulus.parts]]\nkind = "noise"\n'
                       'sigma = "1e300 A*s**0.5"\n', [],
     ["stimulus[0].parts[1].sigma", "sigma/sqrt(dt)", '"1e300 A*s**0.5"']),
    ("nested_arrays", "x = " + "[" * 2000 + "]" * 2000 + "\n", [], ["nests arrays or tables", "2000 deep"]),
    ("nested_tables", "x = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n", [], ["nests arrays or tables"]),
])
def test_hostile_values_are_one_line_of_bad_input(tmp_path, case, extra, args, fragments):
    if extra.startswith("x ="):  # a top-level key: before the first table
        text = extra + TEXTBOOK
    else:
        simulation = '[simulation]\nbackends = ["reference"]\n'
        text = TEXTBOOK + "\n" + (extra.replace("[simulation]\n", simulation) if "[simulation]" in extra
                                  else simulation + extra)
    path = write(tmp_path, text)
    done = run(["run", str(path), "--out", str(tmp_path / "out"), *args], tmp_path)
    bad_input(done, path, *fragments)
    nothing_written(tmp_path, "cell.toml")


@pytest.mark.parametrize("case, text", [
    ("fi_below_rheobase", TEXTBOOK + small_sections(duration="50 ms", fi_num=3, fi_duration="100 ms",
                                                     backends=["reference"]).replace(
        "num = 3", 'num = 3\nI_min = "0 pA"\nI_max = "100 pA"')),
    ("slow_membrane", TEXTBOOK.replace('tau_m = "20 ms"', 'tau_m = "20 s"') + CHEAP),
])
def test_cells_that_never_fire_in_the_sweep_complete_with_a_report(tmp_path, case, text):
    """An f-I range entirely below the rheobase, a 20 s membrane: no metric error after simulating."""
    path = write(tmp_path, text)
    done = run(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"], tmp_path)
    assert done.returncode in (0, 1) and "metrics." not in done.stderr and "Traceback" not in done.stderr, \
        done.stderr
    assert (tmp_path / "out" / "report.html").exists()


def test_run_debug_shows_the_traceback_where_the_readme_puts_it(tmp_path):
    path = write(tmp_path, TEXTBOOK.replace('tau_m = "20 ms"', 'tau_m = "-3 ms"'))
    for args in (["run", str(path), "--debug"], ["--debug", "run", str(path)]):
        done = run([*args, "--out", str(tmp_path / "out")], tmp_path)
        assert done.returncode == 1 and "Traceback" in done.stderr and "SpecificationError" in done.stderr
    done = run(["run", str(path), "--out", str(tmp_path / "out")], tmp_path)
    bad_input(done, path, "neuron.tau_m")


@pytest.mark.parametrize("backend", ["module://matplotlib_inline.backend_inline", "nbAgg", "TkAgg"])
def test_the_environment_cannot_choose_the_figures_backend(tmp_path, backend):
    path = write(tmp_path, TEXTBOOK + CHEAP)
    done = run(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"], tmp_path, MPLBACKEND=backend)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "<svg" in (tmp_path / "out" / "report.html").read_text() or "svg+xml" in \
        (tmp_path / "out" / "report.html").read_text()


# --------------------------------------------------------------------------- backends that misbehave

@pytest.mark.parametrize("name, message", [
    ("import_hangs", "timed out after 3 s"),
    ("import_raises", "ImportError: simulated: this simulator cannot be loaded here"),
    ("representable_raises", "ValueError: simulated: representable() cannot decide"),
])
def test_a_backend_whose_import_or_capability_check_fails_fails_alone(tmp_path, name, message):
    path = write(tmp_path, TEXTBOOK + CHEAP)
    out = tmp_path / "out"
    start = time.monotonic()
    done = run(["run", str(path), "--out", str(out), "--quiet", "--backends", f"reference,{name}",
                "--timeout", "3"], tmp_path)
    assert time.monotonic() - start < 180
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert message in manifest["failures"][name] and "import and capability check" in manifest["failures"][name]
    metrics = (out / "metrics.csv").read_text()
    assert ",reference," in metrics, "the other backends still ran"


# -------------------------------------------------------------------------------------------- orphans

def descendants(pid: int) -> set[int]:
    """Every living descendant of ``pid``, found by scanning /proc/*/stat for parent pids."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] not in ("Z", "X"):
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def wait_for(predicate, limit=120.0, step=0.05):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")


def assert_all_die(pids, limit=5.0):
    end = time.monotonic() + limit
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.02)
    assert not [p for p in pids if alive(p)], "children outlived their parent"


def start_cli(tmp_path, backends, stderr=subprocess.DEVNULL):
    path = write(tmp_path, TEXTBOOK + CHEAP)
    return subprocess.Popen(command("run", str(path), "--out", str(tmp_path / "out"), "--quiet", "--backends",
                                    backends, "--timeout", "600"), cwd=tmp_path, env=env(LIFX_BLOCK_DIR=str(tmp_path)),
                            stderr=stderr, stdout=subprocess.DEVNULL)


def test_sigkill_of_the_parent_takes_a_hanging_child_with_it(tmp_path):
    proc = start_cli(tmp_path, "reference,hangs")
    try:
        children = wait_for(lambda: lasting_children(proc.pid))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert_all_die(children)
    finally:
        proc.kill()


def lasting_children(pid: int, lasting: float = 1.0) -> set[int]:
    """The descendants that live at least ``lasting`` seconds (the hanging backend's; the reference's
    isolated runs end within milliseconds)."""
    before = descendants(pid)
    time.sleep(lasting)
    return before & descendants(pid)


def test_sigkill_of_the_parent_takes_a_child_blocked_writing_to_its_pipe(tmp_path):
    """The child has a result of 64 MB to send; the parent, stopped, never reads it: the child blocks in
    the pipe write for ever. Killing the parent must end it."""
    proc = start_cli(tmp_path, "reference,blocks")
    try:
        wait_for(lambda: (tmp_path / "blocks.ready").exists(), step=0.05)
        proc.send_signal(signal.SIGSTOP)
        (tmp_path / "blocks.go").touch()
        blocked = wait_for(lambda: {p for p in descendants(proc.pid) if writing_to_a_pipe(p)}, limit=60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert_all_die(blocked)
    finally:
        proc.kill()


def writing_to_a_pipe(pid: int) -> bool:
    """The process sleeps in the kernel's pipe write (``pipe_write``, ``anon_pipe_write``: by kernel)."""
    try:
        return "pipe_write" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False


def test_sigkill_of_the_parent_takes_the_fork_server_and_its_workers(tmp_path):
    code = ("import sys, time\n"
            "from comparisons.execution.forkserver import ForkServer\n"
            "server = ForkServer(['reference'])\n"
            "assert server.wait()\n"
            "conn, pid = server.start({0: (time.sleep, (3600,))}, [0])\n"
            "print(server.pid, pid, flush=True)\n"
            "time.sleep(3600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env(), stdout=subprocess.PIPE,
                            text=True)
    try:
        server, worker = map(int, proc.stdout.readline().split())
        assert alive(server) and alive(worker)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert_all_die([server, worker])
    finally:
        proc.kill()


def test_no_brian_files_are_left_in_tmpdir_even_after_a_kill(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    path = write(tmp_path, TEXTBOOK + CHEAP)
    proc = subprocess.Popen(command("run", str(path), "--out", str(tmp_path / "out"), "--quiet", "--backends",
                                    "reference,brian2,hangs", "--timeout", "600"),
                            cwd=tmp_path, env=env(TMPDIR=str(tmp)), stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: list(tmp.glob("lif-crosscheck-tmp-*/brian_debug_*")), limit=300)
        assert not list(tmp.glob("brian_*")), "Brian2's files go to the run's own directory"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        proc.kill()
    done = run(["run", str(path), "--out", str(tmp_path / "again"), "--quiet", "--backends", "reference,brian2",
                "--timeout", "600"], tmp_path, TMPDIR=str(tmp))
    assert done.returncode == 0, done.stderr
    assert list(tmp.iterdir()) == [], "the killed run's directory removed by the next, the next's own at its end"


# ------------------------------------------------------------------------------------- memory budget

def peak_of(args, cwd) -> tuple[int, float]:
    """Exit status and peak resident memory (bytes) of the command line run in a child of a fresh
    interpreter (ru_maxrss of RUSAGE_CHILDREN counts only the processes that interpreter waited for)."""
    code = ("import resource, subprocess, sys\n"
            f"status = subprocess.run({command(*args)!r}).returncode\n"
            "print(status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env(), capture_output=True, text=True,
                          timeout=900)
    status, kib = done.stdout.split()
    return int(status), int(kib) * 1024.0


MEMORY_CASES = {
    # long traces: 2 stimuli x 2e5 samples, recorded by the reference and the closed form
    "traces": TEXTBOOK + small_sections(duration="20 s", fi_num=3, fi_duration="100 ms", backends=["reference"])
    .replace('duration = "20 s"', 'duration = "100 ms"', 2).replace('duration = "100 ms"', 'duration = "20 s"', 1),
    # a wide sweep: 30 000 currents
    "fi_curve": TEXTBOOK + small_sections(duration="50 ms", fi_num=30000, fi_duration="100 ms",
                                          backends=["reference"]),
}


@pytest.fixture(scope="module")
def base_peak(tmp_path_factory) -> float:
    """The peak of a tiny run of the command line (the interpreter and its libraries), measured once."""
    where = tmp_path_factory.mktemp("tiny")
    tiny = write(where, TEXTBOOK + CHEAP, "tiny.toml")
    status, base = peak_of(["run", str(tiny), "--out", str(where / "tiny"), "--quiet"], where)
    assert status == 0
    return base


@pytest.mark.parametrize("case", list(MEMORY_CASES))
def test_the_memory_estimate_bounds_the_measured_peak(tmp_path, case, base_peak):
    """estimate >= measured and at most 3x it, both counted beyond the peak of a tiny run of the same
    command (the interpreter and its libraries)."""
    base = base_peak
    path = write(tmp_path, MEMORY_CASES[case])
    status, peak = peak_of(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"], tmp_path)
    assert status in (0, 1)
    measured = peak - base
    estimate = budget.estimate(load_comparison(path))
    assert estimate.memory >= measured, (estimate.memory_parts, measured)
    assert estimate.memory <= 3 * max(measured, 64 << 20), (estimate.memory_parts, measured)
    written = sum(p.stat().st_size for p in (tmp_path / "out").iterdir())
    assert estimate.output >= written


def test_a_run_whose_spike_distances_would_exhaust_memory_is_refused(tmp_path):
    """1 nA for 100 s at 0.5 ms: about 15 000 spikes a train. Spike matching is linear (below), but
    Elephant's Victor-Purpura distance needs a table of n x m cells: 10 GiB here (it peaked at 6.5 GB
    before it was killed). Refused before simulating, naming the field."""
    path = write(tmp_path, TEXTBOOK + '[simulation]\nbackends = ["reference"]\ndt = "0.5 ms"\nduration = "100 s"\n'
                 '[[stimulus]]\nname = "dc"\nkind = "dc"\namplitude = "1 nA"\n[fi_curve]\nnum = 3\n'
                 'duration = "100 ms"\n[convergence]\ndt = ["0.4 ms", "0.2 ms", "0.1 ms"]\nduration = "100 ms"\n')
    done = run(["run", str(path), "--out", str(tmp_path / "out")], tmp_path)
    bad_input(done, path, "simulation.duration", "of memory", '"100 s"')
    nothing_written(tmp_path, "cell.toml")


def test_spike_matching_is_linear_in_the_spikes():
    """Two trains of 15 000 spikes with a window spanning them all (the harness widens it with the
    number of spikes): matching takes bounded memory and finds every pair."""
    import tracemalloc

    from comparisons import metrics
    ref = np.cumsum(np.full(15000, 6.5e-3))
    test = np.delete(ref * (1 + 1e-4), [5, 700])
    tracemalloc.start()
    try:
        match = metrics.match_spikes(test, ref, window=5.0, dt=5e-4)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert match.n_matched == 14998 and match.n_missed == 2 and match.n_extra == 0
    assert peak < 64 << 20, peak
