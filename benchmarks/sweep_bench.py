"""The sweep benchmark: ``python -m benchmarks sweep --out DIR [--quick]``.

Writes ``DIR/sweep_bench.csv`` (columns :data:`COLUMNS`, the machine on every row):

1. ``sweep``: a sweep of 10 000 cells over four axes (``tau_m`` x ``t_ref`` x ``dt`` x ``current``:
   5 x 4 x 5 x 100, 200 ms each; tasks of up to :data:`GRID_CHUNK` points) on the three core backends, on a
   ``LocalCluster`` with one worker per core,
   warm (the cluster started and its workers' imports and Brian2's compiled code loaded by a first, small
   sweep; the measured sweep is given its address, as ``--scheduler`` would): wall time, and
   per backend the points per second of task time (from each chunk file's recorded task seconds).
2. ``separate``: the same points run one by one, measured on a sample and extrapolated: each sampled point
   as its own isolated backend run with the same measures (:func:`one_point`), and the ratio of the
   extrapolated total to the sweep's wall time (``speedup``).
   ``comparison``: a sample of whole comparisons of one point each (:func:`measure_comparisons`), and
   the same ratio (``speedup_comparisons``).
3. ``scaling``: one sweep (the 2 000 points of the grid at dt = 0.1 ms, tasks of :data:`SMALL_CHUNK` points)
   with 1 and with 2 workers, fresh
   output each time, alternately ``scaling_repeats`` times (one row each), and the ratio of the median wall
   times (the machine's load moves single runs by tens of percent). ``scaling_full``: the same with the
   sweep of row 1 itself (10 000 points, all five dt). Each run's note has what the whole machine's
   processors did meanwhile (:func:`machine_cpu`: busy, idle and stolen seconds summed over the cores);
   each ratio's note the bound it implies: with 2 workers on 2 cores the wall time is at least half the
   busy processor time ``B2`` of that run, so the ratio is at most ``2 W1 / B2`` -- below 2 by the share of
   ``B2`` that one worker's sweep runs on the otherwise idle core (the sweep's own process: client,
   scheduler, the final tables; the workers' Dask event loops).
   ``scaling_ceiling``: the same tasks (:meth:`comparisons.sweep_plan.Plan.tasks`) run without Dask by 1
   and by 2 processes forked from a fresh one that preloaded the simulators, each running its share one task after
   the other as a worker does (:func:`ceiling`), the ratio of the wall times: what this machine gives the sweep's work on its two cores before any
   scheduling (processes sharing caches and memory bandwidth slow each other down).
4. ``sampled``: a Sobol' sample of 2 048 points over ``tau_m`` x ``R`` x ``V_th`` x ``current`` (dt 0.1 ms,
   200 ms each): every point its own cell, so each task is one population of up to 256 cells
   (:mod:`comparisons.sweep_task`); wall time, each backend's points per second of task time, and
   ``sampled_speedup``, the same points one by one (a sample, as in row 2) over the sweep's wall time.
5. ``memory``: the peak resident memory (``VmHWM``) of the process that runs the sweep (the client and
   the LocalCluster's scheduler are in it) for sweeps of growing size, the reference alone, in a fresh
   subprocess each.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COLUMNS = ("benchmark", "backend", "points", "workers", "seconds", "value", "unit", "note", "cpu", "cores",
           "load_avg", "versions")
CORE = ("reference", "brian2", "nengo")
FULL = {"tau_m": 5, "t_ref": 4, "dt": 5, "current": 100, "sample": 10, "scaling_dt": 1, "scaling_repeats": 5,
        "memory": (1_000, 10_000, 40_000, 100_000), "sampled": 2048}
QUICK = {"tau_m": 2, "t_ref": 2, "dt": 2, "current": 5, "sample": 2, "scaling_dt": 1, "scaling_repeats": 1,
         "memory": (100, 400), "sampled": 16}
DTS = ("0.2 ms", "0.1 ms", "0.05 ms", "0.04 ms", "0.025 ms")
#: Points per task of the grid sweep: each task pays a network build (Nengo's builder, Brian2's setup), a
#: fork and a Dask round trip, so fewer, larger tasks do the same points in less processor time (one
#: worker, the 10 000-point sweep: 49-50 s with 256, 37-38 s with 512, 27-31 s with 1 024 points per task);
#: 1 024 still gives its 2 000-point dt groups two tasks per backend, 30 tasks for 2 workers.
GRID_CHUNK = 1024
#: Points per task of the 2 000-point sweeps at one dt (``scaling``, ``scaling_ceiling``): 24 tasks, so that
#: 2 workers can share them.
SMALL_CHUNK = 256


def sweep_text(n: dict, backends=CORE, dts=None, name="bench", chunk: int | None = None) -> str:
    """A sweep file of ``tau_m`` x ``t_ref`` x ``dt`` x ``current`` with ``n[axis]`` values each, in tasks
    of up to ``chunk`` points (:data:`GRID_CHUNK` unless given)."""
    chunk = chunk or GRID_CHUNK
    tau = ", ".join(f'"{x:g} ms"' for x in np.linspace(10, 30, n["tau_m"]))
    t_ref = ", ".join(f'"{x:g} ms"' for x in range(1, n["t_ref"] + 1))
    dts = dts or DTS[:n["dt"]]
    return (f'name = "{name}"\ncell = "textbook"\n[simulation]\nduration = "200 ms"\nbackends = {json.dumps(list(backends))}\n'
            f'chunk = {chunk}\n[axes.tau_m]\nvalues = [{tau}]\n[axes.t_ref]\nvalues = [{t_ref}]\n'
            f'[axes.dt]\nvalues = [{", ".join(f"{chr(34)}{d}{chr(34)}" for d in dts)}]\n'
            f'[axes.current]\nlogrange = ["150 pA", "3 nA"]\nnum = {n["current"]}\n')


def sampled_text(n: int, name="sampled") -> str:
    """A sweep file of a Sobol' sample of ``n`` points over ``tau_m`` x ``R`` x ``V_th`` x ``current`` at
    dt = 0.1 ms: every point its own cell."""
    return (f'name = "{name}"\ncell = "textbook"\n[simulation]\nduration = "200 ms"\ndt = "0.1 ms"\n'
            f'backends = {json.dumps(list(CORE))}\nchunk = 256\n'
            '[axes.tau_m]\nbounds = ["10 ms", "30 ms"]\nlog = true\n[axes.R]\nbounds = ["80 Mohm", "150 Mohm"]\n'
            '[axes.V_th]\nbounds = ["-55 mV", "-50 mV"]\n[axes.current]\nbounds = ["150 pA", "3 nA"]\nlog = true\n'
            f'[sample]\nmethod = "sobol"\nn = {n}\nseed = 7\n')


def _host() -> dict:
    from .bench import machine
    host = machine()
    return {"cpu": host.get("cpu", ""), "cores": host.get("cores", ""),
            "versions": host.get("versions", "")}


def _row(benchmark, backend, points, workers, seconds, value, unit, note, host) -> dict:
    import os
    return {"benchmark": benchmark, "backend": backend, "points": points, "workers": workers,
            "seconds": seconds, "value": value, "unit": unit, "note": note, "load_avg": os.getloadavg()[0],
            **host}


def timed_sweep(text: str, work: Path, cluster):
    """Write ``text``, run its sweep into a fresh directory on the running ``cluster`` (its workers
    already warm: started, simulators imported); (outcome, wall seconds)."""
    from comparisons.sweep_run import sweep
    work.mkdir(parents=True, exist_ok=True)
    source = work / "sweep.toml"
    source.write_text(text)
    start = time.perf_counter()
    outcome = sweep(source, work / "out", scheduler=cluster.scheduler_address, report=False)
    return outcome, time.perf_counter() - start


def machine_cpu() -> dict:
    """Seconds the machine's processors spent busy (user, nice, system, interrupts), idle (with I/O wait)
    and stolen by the hypervisor since boot, summed over the cores (``psutil.cpu_times``)."""
    import psutil
    t = psutil.cpu_times()
    busy = t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
    return {"busy": busy, "idle": t.idle + getattr(t, "iowait", 0.0), "steal": getattr(t, "steal", 0.0)}


def timed_scaling(text: str, work: Path, cluster) -> tuple:
    """:func:`timed_sweep` and what the machine's processors did meanwhile (:func:`machine_cpu` deltas)."""
    before = machine_cpu()
    outcome, seconds = timed_sweep(text, work, cluster)
    after = machine_cpu()
    return outcome, seconds, {k: after[k] - before[k] for k in before}


def scaling_rows(name: str, text: str, work: Path, clusters: dict, repeats: int, host, note: str) -> list[dict]:
    """Rows ``name`` (each run, 1 and 2 workers alternately, ``repeats`` times) and ``name_ratio``: the
    ratio of the median wall times and the bound ``2 W1 / B2`` (see the module docstring)."""
    rows, times, busy = [], {1: [], 2: []}, []
    for repeat in range(repeats):
        for workers in (1, 2):
            o, seconds, cpu = timed_scaling(text, work / f"{name}{workers}-{repeat}", clusters[workers])
            times[workers].append(seconds)
            if workers == 2:
                busy.append(cpu["busy"])
            rows.append(_row(name, "all", o.n_points, workers, seconds, o.n_points * len(CORE) / seconds,
                             "point-runs/s", f"{note}, repeat {repeat + 1}; machine processors busy "
                             f"{cpu['busy']:.2f} s, idle {cpu['idle']:.2f} s, stolen {cpu['steal']:.2f} s", host))
    one, two, b2 = float(np.median(times[1])), float(np.median(times[2])), float(np.median(busy))
    rows.append(_row(f"{name}_ratio", "all", o.n_points, 2, two, one / two, "x",
                     f"median wall time of 1 worker / of 2 workers ({len(times[1])} alternate runs each): "
                     f"{one:.2f} s / {two:.2f} s; median busy processor time of the 2-worker runs {b2:.2f} s, "
                     f"so at most 2 x {one:.2f} / {b2:.2f} = {2 * one / b2:.2f}x", host))
    return rows


def sampled_rows(sizes: dict, work: Path, cluster, host) -> list[dict]:
    """Rows ``sampled`` (wall time; each backend's points per second of task time) and ``sampled_speedup``
    (the same points one by one, a sample extrapolated, over the sweep's wall time) of :func:`sampled_text`."""
    from comparisons.sweep_config import load_sweep
    outcome, wall = timed_sweep(sampled_text(sizes["sampled"]), work / "sampled", cluster)
    n = outcome.n_points
    note = "Sobol' sample over tau_m x R x V_th x current, dt 0.1 ms, every point its own cell"
    rows = [_row("sampled", "all", n, 2, wall, n * len(CORE) / wall, "point-runs/s",
                 f"{note}; 2 workers, warm; failed rows {outcome.failed}", host)]
    for backend, seconds in task_seconds(outcome.out).items():
        rows.append(_row("sampled", backend, n, 2, seconds, n / seconds, "points/s",
                         "points per second of task time (one worker)", host))
    per_point = measure_separate(outcome.points, load_sweep(work / "sampled" / "sweep.toml"), sizes["sample"])
    total = sum(per_point.values()) * n
    rows.append(_row("sampled_speedup", "all", n, 2, total, total / wall, "x",
                     "extrapolated one-by-one seconds (one process) / sampled sweep wall seconds", host))
    return rows


def warm_cluster(workers: int, work: Path):
    """A LocalCluster as a sweep starts one, warmed by a small sweep."""
    from comparisons.sweep_run import local_cluster
    cluster = local_cluster(workers)
    timed_sweep(sweep_text(QUICK, name="warm"), work, cluster)
    return cluster


def task_seconds(out: Path) -> dict:
    """Task seconds per backend, summed over the chunk files."""
    from comparisons.sweep_tables import chunk_seconds
    totals: dict = {}
    for path in sorted((out / "chunks").glob("*.parquet")):
        seconds = chunk_seconds(path)
        if seconds is not None:
            backend = path.name.rsplit("-g", 1)[0]
            totals[backend] = totals.get(backend, 0.0) + seconds
    return totals


def one_point(backend: str, spec, dt: float, n_steps: int, current: float) -> float:
    """Seconds of one point run on its own: an isolated one-neuron run and its measures (the work a
    comparison's stimulus costs in the backend and the closed-form measures, without figures or files)."""
    from comparisons.execution.runs import execute_cells
    from comparisons.sweep_measures import measure
    from models.drive import Drive
    from models.result import RunSettings
    settings = RunSettings(dt, n_steps, "exact", record_v=False)
    drive = Drive.constant([current], dt, n_steps)
    start = time.perf_counter()
    result, = execute_cells(backend, [(spec, drive)], settings, 600.0)
    measure(spec, backend, drive, settings, result, 1)
    return time.perf_counter() - start


def measure_separate(points, sweep_spec, n_sample: int, seed: int = 0) -> dict:
    """Mean seconds per point per backend over ``n_sample`` valid points drawn with ``seed``."""
    from comparisons.execution import preload
    rng = np.random.default_rng(seed)
    valid = points[points["status"] == "ok"]["point"].unique()
    chosen = rng.choice(valid, size=min(n_sample, valid.size), replace=False)
    frame = sweep_spec.points()
    out = {}
    for backend in sweep_spec.backends:
        preload(backend)
        seconds = []
        for p in chosen:
            values = frame.loc[int(p)].to_dict()
            dt = float(values["dt"])
            seconds.append(one_point(backend, sweep_spec.cell_at(values), dt,
                                     int(round(sweep_spec.duration / dt)), float(values["current"])))
        out[backend] = float(np.mean(seconds))
    return out


def measure_comparisons(points, sweep_spec, n_sample: int, seed: int = 0) -> float:
    """Mean seconds of a whole comparison (``comparisons.compare``) of one point: its cell at its dt and
    duration with its current as the one dc stimulus, on the sweep's backends, with the comparison's
    default f-I curve and convergence study (what ``run`` on a file of that point would do)."""
    import dataclasses
    from comparisons.api import compare
    from comparisons.config import comparison_from_document
    from comparisons.stimuli import DC
    from models.loading import spec_to_document
    rng = np.random.default_rng(seed)
    valid = points[points["status"] == "ok"]["point"].unique()
    frame = sweep_spec.points()
    seconds = []
    for p in rng.choice(valid, size=min(n_sample, valid.size), replace=False):
        values = frame.loc[int(p)].to_dict()
        doc = spec_to_document(sweep_spec.cell_at(values))
        doc["simulation"] = {"dt": f"{float(values['dt'])!r} s", "duration": f"{sweep_spec.duration!r} s"}
        comparison = comparison_from_document(doc, list(sweep_spec.backends))
        comparison = dataclasses.replace(comparison, stimuli=(DC("point", amplitude=float(values["current"])),))
        start = time.perf_counter()
        compare(comparison)
        seconds.append(time.perf_counter() - start)
    return float(np.mean(seconds))


def _run_tasks(tasks) -> int:
    """Run ``tasks`` one after the other (as one worker does); how many ran."""
    from comparisons.sweep_task import run_task
    for task in tasks:
        run_task(task)
    return len(tasks)


def ceiling(text: str, work: Path, workers: int) -> tuple[int, float]:
    """(tasks, wall seconds) of running every task of the sweep ``text`` without Dask, in a fresh process
    (:func:`_ceiling_here`): not this one, whose clusters and tables make every fork dearer than a worker's."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "sweep.toml").write_text(text)
    n_tasks, seconds = _fresh_python("from pathlib import Path; from benchmarks.sweep_bench import _ceiling_here; "
                                     f"print(*_ceiling_here(Path({str(work / 'sweep.toml')!r}), {int(workers)}))"
                                     ).split()[-2:]
    return int(n_tasks), float(seconds)


def _fresh_python(code: str) -> str:
    """The standard output of ``code`` run by a fresh interpreter from the project's directory (an error
    with the end of its standard error if it fails)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600,
                          cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return done.stdout


def _ceiling_here(source: Path, workers: int) -> tuple[int, float]:
    """:func:`ceiling` in this process: ``workers`` processes forked from it with the simulators preloaded
    and its heap frozen (as a worker's), each running its share of the tasks (dealt in turn) one after the
    other, each task isolated in its own child as on a worker."""
    from comparisons.execution import forked_map, frozen_heap, preload
    from comparisons.sweep_config import load_sweep
    from comparisons.sweep_plan import Plan
    spec = load_sweep(source)
    tasks = list(Plan(spec).tasks())
    for name in spec.backends:
        preload(spec.module_name(name))
    with frozen_heap():
        forked_map(_run_tasks, [tasks[:len(spec.backends)]], 1)          # warm: first-run allocations
        start = time.perf_counter()
        forked_map(_run_tasks, [tasks[k::workers] for k in range(workers)], workers)
        return len(tasks), time.perf_counter() - start


def memory_probe(n_points: int, work: Path) -> float:
    """Peak RSS (MiB) of a fresh process running a reference-only sweep of about ``n_points`` points."""
    text = sweep_text({"tau_m": 5, "t_ref": 2, "dt": 1, "current": max(1, n_points // 10)},
                      backends=("reference",), dts=("0.1 ms",))
    work.mkdir(parents=True, exist_ok=True)
    (work / "sweep.toml").write_text(text)
    return float(_fresh_python(
        "from comparisons.sweep_run import sweep; from benchmarks.bench import peak_rss_mib;"
        f"sweep({str(work / 'sweep.toml')!r}, {str(work / 'out')!r}, workers=2, report=False);"
        "print(peak_rss_mib())").strip().splitlines()[-1])


def run(sizes: dict, out: Path, log=print) -> list[dict]:
    from comparisons.sweep_config import load_sweep
    host = _host()
    rows = []
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        tmp = Path(tmp)
        log("warming up (workers started, imports, Brian2's compiled code) ...")
        cluster = warm_cluster(2, tmp / "warm2")
        log("the sweep ...")
        outcome, wall = timed_sweep(sweep_text(sizes), tmp / "full", cluster)
        n = outcome.n_points
        rows.append(_row("sweep", "all", n, 2, wall, n * len(CORE) / wall, "point-runs/s",
                         f"{len(CORE)} backends, 2 workers, warm; failed rows {outcome.failed}", host))
        for backend, seconds in task_seconds(outcome.out).items():
            rows.append(_row("sweep", backend, n, 2, seconds, n / seconds, "points/s",
                             "points per second of task time (one worker)", host))
        log("separate runs (a sample) ...")
        spec = load_sweep(tmp / "full" / "sweep.toml")
        per_point = measure_separate(outcome.points, spec, sizes["sample"])
        total = 0.0
        for backend, seconds in per_point.items():
            total += seconds * n
            rows.append(_row("separate", backend, sizes["sample"], 1, seconds, 1.0 / seconds, "points/s",
                             "one isolated run per point, mean of the sample", host))
        rows.append(_row("speedup", "all", n, 2, total, total / wall, "x",
                         "extrapolated one-by-one seconds (one process) / sweep wall seconds", host))
        log("separate comparisons (a sample) ...")
        per_comparison = measure_comparisons(outcome.points, spec, max(1, sizes["sample"] // 5))
        rows.append(_row("comparison", "all", max(1, sizes["sample"] // 5), 2, per_comparison,
                         1.0 / per_comparison, "points/s", "one whole comparison per point (compare(), "
                         "with its default f-I curve and convergence study), mean of the sample", host))
        rows.append(_row("speedup_comparisons", "all", n, 2, per_comparison * n, per_comparison * n / wall, "x",
                         "extrapolated seconds of one comparison per point / sweep wall seconds", host))
        log("a sampled sweep, every point its own cell ...")
        rows += sampled_rows(sizes, tmp, cluster, host)
        log("scaling: 1 and 2 workers ...")
        scaling = dict(sizes, dt=sizes["scaling_dt"])
        clusters = {2: cluster, 1: warm_cluster(1, tmp / "warm1")}
        small = scaling_rows("scaling", sweep_text(scaling, dts=DTS[1:2], chunk=SMALL_CHUNK), tmp, clusters, sizes["scaling_repeats"],
                             host, "dt = 0.1 ms")
        rows += small
        log("scaling on the whole sweep: 1 and 2 workers ...")
        rows += scaling_rows("scaling_full", sweep_text(sizes), tmp, clusters, sizes["scaling_repeats"], host,
                             "the sweep of the first row")
        walls = {1: [], 2: []}
        for repeat in range(sizes["scaling_repeats"]):
            for workers in (1, 2):
                n_tasks, seconds = ceiling(sweep_text(scaling, dts=DTS[1:2], chunk=SMALL_CHUNK), tmp / f"ceiling{workers}-{repeat}", workers)
                walls[workers].append(seconds)
        one, two = float(np.median(walls[1])), float(np.median(walls[2]))
        rows.append(_row("scaling_ceiling", "all", small[0]["points"], 2, two, one / two, "x",
                         f"the same {n_tasks} tasks without Dask, in 1 / 2 processes: median wall time "
                         f"{one:.2f} s / {two:.2f} s ({len(walls[1])} alternate runs each)", host))
        for c in clusters.values():
            c.close()
        for n_points in sizes["memory"]:
            log(f"memory: {n_points} points ...")
            peak = memory_probe(n_points, tmp / f"mem{n_points}")
            rows.append(_row("memory", "reference", n_points, 2, "", peak, "MiB",
                             "peak RSS of the sweep process (client and scheduler)", host))
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "sweep_bench.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks sweep")
    parser.add_argument("--out", default="reports/bench", help="directory of sweep_bench.csv")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test, not a measurement)")
    args = parser.parse_args(argv)
    for r in run(QUICK if args.quick else FULL, Path(args.out), log=lambda m: print(m, file=sys.stderr)):
        print(f"{r['benchmark']:>14} {r['backend']:>10} {r['points']:>6} pts {r['workers']} w: "
              f"{r['value']:.4g} {r['unit']}  ({r['note']})")
    return 0
