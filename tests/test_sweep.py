"""Sweeps (comparisons/sweep_*.py): end to end on a real LocalCluster, resumed after SIGKILL, a failing task
retried and reported, the tables against comparisons run point by point, bad sweep files refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from comparisons import compare, sweep
from comparisons.cli import main
from comparisons.sweep_config import load_sweep
from comparisons.sweep_measures import exact_spikes
from models.loading import load_spec
from reference import closed_forms as cf

ROOT = Path(__file__).resolve().parents[1]

SMALL = """
name = "small"
cell = "textbook"
[simulation]
duration = "100 ms"
backends = ["reference", "brian2", "nengo"]
chunk = 4
[simulation.options.brian2]
target = "numpy"
[axes.tau_m]
values = ["10 ms", "20 ms"]
[axes.V_reset]
values = ["-65 mV", "-45 mV"]      # -45 mV lies above V_th = -50 mV: invalid points
[axes.current]
values = ["150 pA", "300 pA", "700 pA"]
"""


def _env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]), **extra}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    base = tmp_path_factory.mktemp("sweep")
    source = base / "small.toml"
    source.write_text(SMALL)
    outcome = sweep(source, base / "out", workers=2)
    return source, outcome


def test_end_to_end_on_a_local_cluster(small):
    source, outcome = small
    points = outcome.points
    assert outcome.n_points == 12 and len(points) == 36
    invalid = points[points["V_reset"] == -0.045]
    assert (invalid["status"] == "invalid").all()
    assert invalid["reason"].str.contains("neuron.V_th").all()
    valid = points[points["V_reset"] == -0.065]
    assert (valid["status"] == "ok").all(), valid[["backend", "status", "reason"]]
    for name in ("points.parquet", "points.csv", "pairs.parquet", "pairs.csv", "maps.html", "sweep.json"):
        assert (outcome.out / name).is_file()
    page = (outcome.out / "maps.html").read_text()
    assert page.count("data:image/png;base64,") == 3          # one figure per pair of the three axes
    assert "marginalised over <code>current</code>" in page
    assert "refractory counting" in page                         # an attribution of a listed point
    # the tidy table on disk is the one returned
    on_disk = pd.read_csv(outcome.out / "points.csv")
    assert list(on_disk["point"]) == list(points["point"]) and list(on_disk["backend"]) == list(points["backend"])


def test_a_second_run_skips_every_task_and_writes_the_same_bytes(small):
    source, outcome = small
    before = {n: (outcome.out / n).read_bytes() for n in ("points.csv", "points.parquet", "pairs.csv")}
    again = sweep(source, outcome.out, workers=2)
    assert again.ran == 0
    assert {n: (outcome.out / n).read_bytes() for n in before} == before


def test_the_tables_match_comparisons_run_point_by_point(small, tmp_path):
    """The sweep's spikes and latency errors against a comparison of the same cell with the same currents
    as dc stimuli (f-I curve and convergence study short, as in the other tests)."""
    source, outcome = small
    points = outcome.points
    cell = points[(points["tau_m"] == 0.02) & (points["V_reset"] == -0.065)]
    currents = sorted(float(c) for c in cell["current"].unique())
    text = (ROOT / "models/presets/textbook.toml").read_text()
    text += '\n[simulation]\ndt = "0.1 ms"\nduration = "100 ms"\n[simulation.options.brian2]\ntarget = "numpy"\n'
    text += '[fi_curve]\nnum = 5\nduration = "200 ms"\n[convergence]\ndt = ["0.4 ms", "0.2 ms", "0.1 ms"]\nduration = "100 ms"\n'
    for k, current in enumerate(currents):
        text += f'[[stimulus]]\nname = "i{k}"\nkind = "dc"\namplitude = "{current!r} A"\n'
    (tmp_path / "cell.toml").write_text(text)
    result = compare(tmp_path / "cell.toml", backends=["reference", "brian2", "nengo"])
    spikes, metrics = result.spikes, result.metrics
    for k, current in enumerate(currents):
        for name in ("reference", "brian2", "nengo"):
            row = cell[(cell["current"] == current) & (cell["backend"] == name)].iloc[0]
            times = spikes[(spikes["stimulus"] == f"i{k}") & (spikes["backend"] == name)]["spike_time_s"].to_numpy()
            assert row["n_spikes"] == times.size
            if times.size:
                assert row["first_spike_s"] == times[0]
                assert row["mean_isi_s"] == pytest.approx((times[-1] - times[0]) / max(times.size - 1, 1),
                                                          rel=1e-12) if times.size > 1 else True
            latency = metrics[(metrics["stimulus"] == f"i{k}") & (metrics["backend"] == name)
                              & (metrics["reference"] == "closed_form")
                              & (metrics["metric"] == "first_spike_latency_diff")]["value"]
            assert row["latency_error_s"] == pytest.approx(float(latency.iloc[0]), abs=1e-12)
        exact = spikes[(spikes["stimulus"] == f"i{k}") & (spikes["backend"] == "closed_form")]["spike_time_s"]
        assert row["exact_n_spikes"] == exact.size
        if exact.size:
            assert row["exact_first_spike_s"] == pytest.approx(float(exact.iloc[0]), abs=1e-12)


def test_batched_closed_forms_equal_the_scalar_ones():
    spec = load_spec("textbook")
    currents = np.array([0.0, 1.5e-10, 2e-10, 2.0000001e-10, 3e-10, 1e-9, 5e-9])
    latency, isi, _, count = exact_spikes(spec, currents, 0.3)
    for j, current in enumerate(currents):
        times = cf.spike_times(spec, float(current), 0.3)
        assert count[j] == times.size
        if times.size:
            assert latency[j] == times[0]
        assert isi[j] == float(cf.isi(spec, current))


RESUMABLE = """
name = "resumable"
cell = "textbook"
[simulation]
duration = "50 ms"
backends = ["reference"]
chunk = 1
[axes.tau_m]
values = ["10 ms", "15 ms", "20 ms", "25 ms"]
[axes.t_ref]
values = ["1 ms", "2 ms", "3 ms"]
[axes.current]
values = ["300 pA", "600 pA"]
"""


def _cli(args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-m", "comparisons", "sweep", *map(str, args), "--quiet"],
                            cwd=ROOT, env=env or _env(), stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kw)


def test_a_sweep_killed_midway_resumes_to_identical_tables(tmp_path):
    source = tmp_path / "resumable.toml"
    source.write_text(RESUMABLE)
    killed, fresh = tmp_path / "killed", tmp_path / "fresh"
    proc = _cli([source, "--out", killed])
    chunks = killed / "chunks"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if chunks.is_dir() and len(list(chunks.glob("*.parquet"))) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # the workers it started (they exit by themselves too)
    except ProcessLookupError:
        pass
    done = len(list(chunks.glob("*.parquet")))
    assert 3 <= done < 24 and not (killed / "points.csv").exists()
    assert not [p for p in chunks.iterdir() if not p.name.endswith(".parquet")] or \
        all(p.name.startswith(".") for p in chunks.iterdir() if not p.name.endswith(".parquet"))
    resumed = _cli([source, "--out", killed])
    assert resumed.wait(600) == 0, resumed.stderr.read()
    whole = _cli([source, "--out", fresh])
    assert whole.wait(600) == 0, whole.stderr.read()
    for name in ("points.csv", "points.parquet", "pairs.csv", "pairs.parquet"):
        assert (killed / name).read_bytes() == (fresh / name).read_bytes(), name


FAILING = """
name = "failing"
cell = "textbook"
[simulation]
duration = "50 ms"
backends = ["reference", "flaky", "raises", "hangs"]
timeout = "3 s"
[axes.tau_m]
values = ["20 ms"]
[axes.current]
values = ["300 pA", "600 pA"]
"""


def test_a_failing_or_hanging_task_is_retried_once_and_reported(tmp_path):
    source = tmp_path / "failing.toml"
    source.write_text(FAILING)
    env = _env(LIFX_TEST_BACKENDS="flaky:flaky_backend,raises:raises_backend,hangs:hangs_backend",
               LIFX_FLAKY_MARKER=str(tmp_path / "flaky-raised"))
    proc = _cli([source, "--out", tmp_path / "out"], env=env)
    assert proc.wait(600) == 3, proc.stderr.read()              # a backend failed; the sweep completed
    points = pd.read_csv(tmp_path / "out" / "points.csv", keep_default_na=False)
    flaky, raises = points[points["backend"] == "flaky"], points[points["backend"] == "raises"]
    assert (flaky["status"] == "ok").all() and (flaky["attempts"] == 2).all()
    assert (raises["status"] == "failed").all() and (raises["attempts"] == 2).all()
    assert raises["reason"].str.contains("simulated crash inside the simulator").all()
    hangs = points[points["backend"] == "hangs"]            # killed at the time limit, twice
    assert (hangs["status"] == "failed").all() and (hangs["attempts"] == 2).all()
    assert hangs["reason"].str.contains("timeout").all(), hangs["reason"].iloc[0]
    assert (points[points["backend"] == "reference"]["attempts"] == 1).all()
    # the retried backend's numbers are the reference's (it runs it on the second attempt)
    ref = points[points["backend"] == "reference"]
    assert list(flaky["n_spikes"]) == list(ref["n_spikes"])
    page = (tmp_path / "out" / "maps.html").read_text()   # the summary row: 0 ok, 0 invalid, 0 unrepr., 2 failed
    assert '<th scope="row">raises</th><td>0</td><td>0</td><td>0</td><td>2</td>' in page


BAD = [
    ("cell = \"textbook\"\n[simulation]\nduration = \"50 ms\"\n[axes.tau_x]\nvalues = [\"1 ms\"]\n",
     "axes.tau_x: unknown key"),
    ("cell = \"textbook\"\n[simulation]\nduration = \"50 ms\"\ncurrent = \"1 nA\"\n[axes.tau_m]\nvalues = [\"1 mV\"]\n",
     "axes.tau_m.values"),
    ("cell = \"textbook\"\n[simulation]\nduration = \"50 ms\"\n[axes.current]\nrange = [\"1 nA\", \"0 nA\"]\nnum = 3\n",
     "axes.current.range: expected lo < hi"),
    ("cell = \"textbook\"\n[simulation]\nduration = \"50 ms\"\n[axes.current]\nlogrange = [\"1 nA\", \"2 nA\"]\nnum = 1\n",
     "axes.current.num"),
    ("cell = \"textbook\"\n[simulation]\nduration = \"50 ms\"\n[axes.current]\nrange = [\"1 nA\", \"1.0000000000000002 nA\"]\nnum = 4\n",
     "axes.current.range: expected lo and hi far enough apart for 4 distinct float64 values"),
    ("cell = \"nope\"\n[simulation]\nduration = \"50 ms\"\n[axes.current]\nvalues = [\"1 nA\"]\n", "cell: cannot be loaded"),
    ("cell = \"textbook\"\n[simulation]\nduration = \"50 ms\"\nbackends = [\"neuron\"]\n[axes.current]\nvalues = [\"1 nA\"]\n",
     "simulation.backends: unknown backend"),
    ("cell = \"textbook\"\n[simulation]\nduration = \"50 ms\"\n[axes.current]\nvalues = [\"1 nA\"]\n[sample]\nmethod = \"sobol\"\nn = 8\nseed = 1\n",
     "axes.current.values: unknown key"),
    ("cell = \"textbook\"\n[simulation]\nduration = \"50 ms\"\n[axes.current]\nbounds = [\"1 nA\", \"2 nA\"]\n[sample]\nmethod = \"halton\"\nn = 8\nseed = 1\n",
     "sample.method"),
    ("cell = \"textbook\"\n[simulation]\nduration = \"50 ms\"\n[axes.tau_m]\nvalues = [\"10 ms\"]\n",
     "simulation.current: is required"),
    ("cell = \"textbook\"\nmeasures = [\"speed\"]\n[simulation]\nduration = \"50 ms\"\n[axes.current]\nvalues = [\"1 nA\"]\n",
     "measures: expected"),
    ("cell = \"textbook\"\nattribute = [5]\n[simulation]\nduration = \"50 ms\"\n[axes.current]\nvalues = [\"1 nA\"]\n",
     "attribute: expected a list of at most 100 point indices from 0 to 0"),
    ("cell = \"rockpool_synaptic\"\n[simulation]\nduration = \"50 ms\"\n[axes.current]\nvalues = [\"1 nA\"]\n",
     "cell: must be a plain LIF"),
]


@pytest.mark.parametrize("text, expected", BAD, ids=[b[1].split(":")[0] for b in BAD])
def test_bad_sweep_files_are_refused_with_one_line_and_nothing_written(tmp_path, capsys, text, expected):
    source = tmp_path / "bad.toml"
    source.write_text(text)
    out = tmp_path / "out"
    assert main(["sweep", str(source), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(source) in err and expected in err, err
    assert not out.exists()


def test_an_output_directory_of_something_else_is_refused(tmp_path, capsys):
    source = tmp_path / "s.toml"
    source.write_text(RESUMABLE)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert main(["sweep", str(source), "--out", str(out), "--force"]) == 2
    assert "holds no sweep" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


def test_an_output_directory_of_another_sweep_is_replaced_only_with_force(tmp_path, capsys):
    source = tmp_path / "s.toml"
    source.write_text(RESUMABLE)
    out = tmp_path / "out"
    (out / "chunks").mkdir(parents=True)
    (out / "sweep.json").write_text('{"digest": "another sweep"}')
    (out / "chunks" / "reference-g000000-c0000.parquet").write_bytes(b"not this sweep's")
    assert main(["sweep", str(source), "--out", str(out)]) == 2
    assert "holds another sweep" in capsys.readouterr().err
    assert (out / "chunks" / "reference-g000000-c0000.parquet").read_bytes() == b"not this sweep's"


def test_sampled_sweeps_are_seeded_and_within_bounds(tmp_path):
    source = tmp_path / "s.toml"
    source.write_text("cell = \"textbook\"\n[simulation]\nduration = \"50 ms\"\n"
                      "[axes.tau_m]\nbounds = [\"5 ms\", \"40 ms\"]\nlog = true\n"
                      "[axes.current]\nbounds = [\"100 pA\", \"1 nA\"]\n"
                      "[sample]\nmethod = \"latin\"\nn = 16\nseed = 3\n")
    a, b = load_sweep(source).points(), load_sweep(source).points()
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 16 and a["tau_m"].between(5e-3, 40e-3).all() and a["current"].between(1e-10, 1e-9).all()
    # a Latin hypercube puts one point in each of the n strata of every axis
    strata = np.floor((np.log(a["tau_m"]) - np.log(5e-3)) / (np.log(8) / 16)).astype(int)
    assert sorted(strata) == list(range(16))


@pytest.mark.parametrize("method, n", [("sobol", 1000), ("sobol", 1024), ("latin", 1000)])
def test_the_maps_page_says_when_a_sobol_sample_is_not_a_power_of_two(tmp_path, method, n):
    """The maps page's notes name a Sobol' sample whose n is not 2^m, as scipy's own rule has it (scipy
    warns about exactly those n when the sequence is drawn at once)."""
    import warnings
    from scipy.stats import qmc
    from comparisons.sweep_report import _notes
    source = tmp_path / "s.toml"
    source.write_text("cell = \"textbook\"\n[simulation]\nduration = \"50 ms\"\n"
                      "[axes.current]\nbounds = [\"100 pA\", \"1 nA\"]\n"
                      f"[sample]\nmethod = \"{method}\"\nn = {n}\nseed = 3\n")
    notes = " ".join(_notes(load_sweep(source)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qmc.Sobol(1, scramble=True, seed=3).random(n)
    scipy_warns = any("balance properties" in str(w.message) for w in caught)
    assert ("not a power of two" in notes) == (method == "sobol" and scipy_warns)
    if method == "sobol" and n == 1000:
        assert "512 or 1024" in notes


def test_the_shipped_example_sweep_is_valid_and_every_point_runs_on_its_grid():
    example = load_sweep(ROOT / "sweeps" / "textbook_tau_dt.toml")
    points = example.points()
    assert len(points) == 4 * 3 * 3 * 24 and example.backends == ("reference", "brian2", "nengo")
    for _, row in points.drop_duplicates(["tau_m", "t_ref", "dt"]).iterrows():
        cell = example.cell_at(row.to_dict())
        assert example.problem(cell, float(row["dt"])) is None


def test_a_sweep_runs_unchanged_on_the_cluster_named_by_dask_scheduler_address(tmp_path, monkeypatch):
    from comparisons.sweep_run import local_cluster
    source = tmp_path / "s.toml"
    source.write_text(RESUMABLE.replace('chunk = 1', 'chunk = 8'))
    cluster = local_cluster(1)
    try:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
        outcome = sweep(source, tmp_path / "out", report=False)
        assert "lif-crosscheck-preload" in cluster.scheduler.worker_plugins   # it ran there
    finally:
        cluster.close()
    assert outcome.ran == 3 and (outcome.points["status"] == "ok").all()     # 24 points, 8 per task


def _preloaded_freeze_count(_) -> tuple[int, int]:
    """In a fresh fork: the collector's frozen objects before and after a worker's preload plugin runs."""
    import gc
    from comparisons.execution.runs import Preload
    gc.unfreeze()
    before = gc.get_freeze_count()
    Preload(["reference"]).setup()
    return before, gc.get_freeze_count()


def test_a_workers_preload_leaves_its_heap_out_of_the_collectors_passes():
    """What a worker has loaded when its tasks start stays out of the garbage collector's passes in the
    children every task forks (a Brian2 task took three times as long when its child's collections walked
    the inherited heap; the figure is in comparisons/execution/runs.py)."""
    from comparisons.execution import forked_map
    before, after = forked_map(_preloaded_freeze_count, [0], 1)[0]
    assert before == 0 and after > 0


MIXED = """
name = "mixed"
cell = "textbook"
[simulation]
duration = "100 ms"
backends = ["reference", "brian2", "nengo"]
chunk = 64
[simulation.options.brian2]
target = "numpy"
[axes.tau_m]
values = ["10 ms", "20 ms"]
[axes.t_ref]
values = ["2 ms", "3 ms"]
[axes.V_th]
values = ["-52 mV", "-66 mV"]   # -66 mV lies below V_reset = -65 mV: invalid points
[axes.current]
values = ["300 pA", "1 nA"]
"""


def test_a_task_of_many_cells_gives_each_point_the_rows_of_its_own_run(tmp_path):
    """One task per backend holds all 16 points (8 cells, 4 of them invalid; 4 (tau_m, t_ref) pairs, Nengo's
    ensembles): every row equals the row of the point run as a task of its own (its cell alone, one neuron)."""
    import dataclasses
    from comparisons.execution import preload
    from comparisons.sweep_plan import Plan
    from comparisons.sweep_task import run_task
    (tmp_path / "m.toml").write_text(MIXED)
    spec = load_sweep(tmp_path / "m.toml")
    tasks = list(Plan(spec).tasks())
    assert len(tasks) == 3 and all(len(t.cells) == 8 for t in tasks)
    for name in spec.backends:
        preload(name)
    for task in tasks:
        rows = run_task(task)
        assert rows["status"].count("invalid") == 8 and rows["status"].count("ok") == 8, task.backend
        for j in range(len(task.points)):
            alone = run_task(dataclasses.replace(task, cells=(task.cells[task.cell_of[j]],),
                                                 cell_of=np.zeros(1, dtype=np.int64), points=task.points[j:j + 1],
                                                 currents=task.currents[j:j + 1]))
            for column, values in rows.items():
                if column != "_seconds":
                    assert _same(values[j], alone[column][0]), (task.backend, j, column, values[j], alone[column][0])


def _same(a, b) -> bool:
    return (a is None and b is None) or a == b or (isinstance(a, float) and np.isnan(a) and np.isnan(b))
