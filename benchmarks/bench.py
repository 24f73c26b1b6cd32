"""Performance of the reference and of every installed backend, measured side by side in one run.

``python -m benchmarks --out DIR [--quick]`` writes ``DIR/bench.csv`` (one row per measurement, columns
:data:`COLUMNS` in that order, the machine on every row) and ``DIR/bench.png``:

1. ``throughput``: neuron-steps per second against the population size N, for the reference (its numpy
   loop, the definition, and its compiled loop, for each integrator and spike rule) and for every
   backend of :mod:`comparisons.backends` that is installed (Brian2 with both code-generation targets; the
   first Cython run's compilation is a separate ``compile`` row). The workload is the suite's f-I sweep:
   the textbook cell, N constant currents from 0 to :data:`I_MAX` (0 to 2.5 x rheobase, 0 to ~100 Hz),
   spikes only. A backend that cannot represent the cell with its 2 ms refractory period runs it with
   ``t_ref = 0`` (the note says so); one that is not installed or fails gets a row saying why.
2. ``fi_sweep``: the same 101-current f-I sweep as one population and as 101 single-neuron runs, and
   their ratio (``fi_speedup``).
3. ``per_step``: microseconds per step at N = 100.
4. ``memory``: peak memory of a 10^4-current, 10 s sweep at dt = 0.1 ms (10^5 steps), spikes only, run
   by the reference's compiled loop in a fresh subprocess: the process's peak resident set size
   (``VmHWM``, see :func:`peak_rss_mib`; the baseline after imports and a warm-up run is in the note) and
   the peak of the run's own allocations traced by ``tracemalloc`` (numpy reports its buffers to it).
5. ``brian2_cost`` (and its ``brian2_cost_point`` measurements): Brian2's cost model per
   code-generation target fitted to measured runs, next to the coefficients the adapter ships and
   chooses its target with (:func:`measure_brian2_costs`).
6. ``harness_overhead``: :func:`measure_harness_overhead` times a callable running the comparison
   harness; it is a hook for the harness's own benchmark and is not called with one here.
7. ``marginal_stimulus`` and ``adapter_ratio`` (:mod:`benchmarks.overheads`): the cost of one more
   stimulus in a plain ``run``, per backend; the reference's and Rockpool's adapters against their
   kernels called directly (Rockpool's own ``LIF`` module is a ``throughput`` runner of its own).

Times are the best of repeated runs (at least one, more until :attr:`Config.min_time` seconds are spent)
after one untimed warm-up run, so imports, numba's cache loading and Brian2's code generation are not
counted; wall-clock seconds from ``time.perf_counter``. Other processes on the machine slow every row
alike; the ``load_avg`` column is the 1-minute load average when the row was measured.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from comparisons import backends

from . import overheads
from models.drive import Drive
from models.loading import load_spec
from models.result import RunSettings
from reference import engine, fast
from reference.conventions import Conventions

#: The CSV columns, in order. ``value`` is in ``unit``; ``seconds`` is the best wall time of one run and
#: ``cpu_seconds`` the processor time of that run summed over the process's threads (on a machine shared
#: with other work, neuron-steps per cpu-second vary less than per wall-second).
COLUMNS = ("benchmark", "backend", "variant", "n_neurons", "n_steps", "dt_s", "seconds", "cpu_seconds",
           "repeats", "value", "unit", "status", "note", "cpu", "cores", "load_avg", "python", "versions")

#: Largest current of the f-I sweep workload (A): 2.5 x the textbook rheobase of 200 pA.
I_MAX = 500e-12

#: Libraries whose versions every row carries.
LIBRARIES = ("numpy", "numba", "brian2", "Cython", "nengo", "nest-simulator", "snntorch", "torch",
             "rockpool", "matplotlib")

#: The reference's conventions benchmarked, named "integrator/crossing": both integrators on the grid,
#: both with interpolated spike times, and the exact inversion.
REFERENCE_RULES = {
    "exact/grid": Conventions(integrator="exact", crossing="grid"),
    "euler/grid": Conventions(integrator="euler", crossing="grid"),
    "exact/linear": Conventions(integrator="exact", crossing="linear", refractory="timer"),
    "euler/linear": Conventions(integrator="euler", crossing="linear", refractory="timer"),
    "exact/exact": Conventions(integrator="exact", crossing="exact", refractory="timer"),
}

#: Backend-specific variants (RunSettings options); every other backend runs with its defaults.
BACKEND_VARIANTS = {"brian2": {"numpy": {"target": "numpy"}, "cython": {"target": "cython"}},
                    "reference": {"registry (compiled exact/grid)": {}}}


@dataclass(frozen=True)
class Config:
    """Sizes of one benchmark run (steps of dt = 0.1 ms unless said otherwise)."""

    sizes: tuple = (100, 1_000, 10_000)
    steps: int = 5_000                 # throughput runs: 0.5 s
    numpy_steps: int = 1_000           # the reference's numpy loop (slow): 0.1 s
    per_step_n: int = 100
    per_step_steps: int = 20_000       # 2 s
    fi_points: int = 101
    fi_steps: int = 5_000
    memory_neurons: int = 10_000
    memory_steps: int = 100_000        # 10 s
    min_time: float = 0.5              # seconds spent repeating one measurement
    max_repeats: int = 20
    dt: float = 1e-4
    compile_cython: bool = True        # time the first Cython run in an empty cache directory
    # Brian2's cost model (models.brian2_.TARGET_COSTS): (N, steps) points and targets fitted
    cost_grid: tuple = ((1, 1_000), (1, 10_000), (1_000, 1_000), (1_000, 10_000), (10_000, 1_000),
                        (10_000, 10_000), (10_000, 100_000))
    cost_targets: tuple = ("numpy", "cython", "cpp_standalone")
    marginal_stimuli: int = 25         # marginal_stimulus: N and 2N sine stimuli of marginal_ms each
    marginal_ms: float = 500.0


FULL = Config()
QUICK = Config(sizes=(10, 100), steps=100, numpy_steps=50, per_step_n=100, per_step_steps=200,
               fi_points=5, fi_steps=100, memory_neurons=100, memory_steps=1_000, min_time=0.0,
               max_repeats=1, compile_cython=False, cost_grid=((1, 50), (1, 100), (10, 50), (10, 100)),
               cost_targets=("numpy",), marginal_stimuli=1, marginal_ms=20.0)


# ---------------------------------------------------------------------------------------------------
# the machine


def machine() -> dict:
    """CPU model (/proc/cpuinfo), logical cores, Python and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for lib in LIBRARIES:
        try:
            versions.append(f"{lib} {importlib.metadata.version(lib)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{lib} missing")
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "versions": "; ".join(versions)}


def row(benchmark: str, backend: str, variant: str, n_neurons=None, n_steps=None, dt=None,
        seconds=math.nan, repeats=0, value=math.nan, unit="", status="ok", note="",
        cpu_seconds=math.nan) -> dict:
    """One measurement (the machine columns are added when the CSV is written)."""
    return {"benchmark": benchmark, "backend": backend, "variant": variant, "n_neurons": n_neurons,
            "n_steps": n_steps, "dt_s": dt, "seconds": seconds, "cpu_seconds": cpu_seconds,
            "repeats": repeats, "value": value, "unit": unit, "status": status, "note": note,
            "load_avg": os.getloadavg()[0]}


# ---------------------------------------------------------------------------------------------------
# what is measured: runners


@dataclass
class Runner:
    """One way of simulating a drive: ``run(drive) -> object`` on the benchmark's cell."""

    backend: str
    variant: str
    run: Callable[[Drive], object]
    note: str = ""
    numpy_loop: bool = False           # the reference's slow numpy loop: given fewer steps


def sweep(n: int, n_steps: int, dt: float) -> Drive:
    """The workload: n constant currents from 0 to I_MAX, one population."""
    return Drive.constant(np.linspace(0.0, I_MAX, n), dt, n_steps)


def reference_runners(spec) -> list[Runner]:
    """The reference's compiled and numpy loops, called directly, for each rule of REFERENCE_RULES."""
    out = []
    for name, conventions in REFERENCE_RULES.items():
        for use_fast in (True, False):
            label = f"{'compiled' if use_fast else 'numpy'}: {name}"
            out.append(Runner("reference", label, _reference_call(spec, conventions, use_fast),
                              note=fast.path(conventions, use_fast), numpy_loop=not use_fast))
    return out


def _reference_call(spec, conventions, use_fast):
    return lambda drive: engine.simulate(spec, drive, conventions, record_v=False, fast=use_fast)


def registry_runners(spec, dt: float) -> tuple[list[Runner], list[dict]]:
    """A runner per installed backend (and variant) of the registry; rows for those that are not."""
    runners, missing = [], []
    for name in backends.names():
        try:
            module = backends.get(name)
        except Exception as exc:                       # not installed, adapter missing or broken
            missing.append(row("throughput", name, "", status="unavailable", note=_why(exc)))
            continue
        for variant, options in BACKEND_VARIANTS.get(name, {"default": {}}).items():
            runner = _registry_runner(module, name, variant, options, spec, dt)
            if isinstance(runner, Runner):
                runners.append(runner)
            else:
                missing.append(row("throughput", name, variant, status="not representable", note=runner))
    return runners, missing


def _registry_runner(module, name, variant, options, spec, dt):
    """A Runner for one backend variant, or the reason it cannot run the cell (even with t_ref = 0)."""
    probe = RunSettings(dt=dt, n_steps=1, record_v=False).with_options(**options)
    note = ""
    reason = module.representable(spec, probe)
    if reason is not None:
        note = f"t_ref = 0 (the cell's 2 ms: {reason})"
        spec = spec.replace(t_ref=0.0)
        reason = module.representable(spec, probe)
        if reason is not None:
            return reason

    def run(drive: Drive):
        settings = RunSettings(dt=drive.dt, n_steps=drive.n_steps, record_v=False).with_options(**options)
        return module.run(spec, drive, settings)

    return Runner(name, variant, run, note)


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]


# ---------------------------------------------------------------------------------------------------
# timing


def time_call(fn: Callable[[], object], config: Config, warm_up: bool = True) -> tuple[float, float, int]:
    """(best wall time, processor time of that run, number of timed runs) of ``fn`` in seconds, after
    one untimed warm-up run."""
    if warm_up:
        fn()
    best, best_cpu, spent, repeats = math.inf, math.nan, 0.0, 0
    while repeats == 0 or (spent < config.min_time and repeats < config.max_repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        if elapsed < best:
            best, best_cpu = elapsed, cpu
        spent, repeats = spent + elapsed, repeats + 1
    return best, best_cpu, repeats


def timed_row(benchmark: str, runner: Runner, drive: Drive, config: Config, value_of,
              warm_up: bool = True) -> dict:
    """Time ``runner`` on ``drive``: a row with ``value_of(seconds)``, or the failure."""
    base = dict(n_neurons=drive.n_neurons, n_steps=drive.n_steps, dt=drive.dt, note=runner.note)
    try:
        seconds, cpu, repeats = time_call(lambda: runner.run(drive), config, warm_up)
    except Exception as exc:                           # a backend failing is a result, not a crash
        return row(benchmark, runner.backend, runner.variant, status="error", **{**base, "note": _why(exc)})
    value, unit = value_of(seconds)
    return row(benchmark, runner.backend, runner.variant, seconds=seconds, cpu_seconds=cpu, repeats=repeats,
               value=value, unit=unit, **base)


def measure_throughput(runners: list[Runner], config: Config) -> list[dict]:
    """Neuron-steps per second against N for every runner."""
    rows = []
    for runner in runners:
        for n in config.sizes:
            steps = config.numpy_steps if runner.numpy_loop else config.steps
            drive = sweep(n, steps, config.dt)
            rows.append(timed_row("throughput", runner, drive, config,
                                  lambda s, d=drive: (d.n_neurons * d.n_steps / s, "neuron-steps/s")))
    return rows


def measure_per_step(runners: list[Runner], config: Config) -> list[dict]:
    """Microseconds per step at N = config.per_step_n."""
    rows = []
    for runner in runners:
        steps = config.per_step_steps // (10 if runner.numpy_loop else 1)
        drive = sweep(config.per_step_n, steps, config.dt)
        rows.append(timed_row("per_step", runner, drive, config, lambda s, k=steps: (s / k * 1e6, "us/step")))
    return rows


def measure_fi(runners: list[Runner], config: Config) -> list[dict]:
    """The f-I sweep as one population and as one run per current, and the ratio of the two."""
    rows = []
    currents = np.linspace(0.0, I_MAX, config.fi_points)
    for runner in runners:
        population = Drive.constant(currents, config.dt, config.fi_steps)
        points = [Drive.constant([i], config.dt, config.fi_steps) for i in currents]
        one = Runner(runner.backend, runner.variant, runner.run, runner.note)
        each = Runner(runner.backend, runner.variant, lambda _d: [runner.run(p) for p in points], runner.note)
        vectorised = timed_row("fi_sweep", one, population, replace(config, max_repeats=3), _seconds)
        vectorised["variant"] += " (one population)"
        # warmed up by the population run (same code, same drive length): timed once
        per_point = timed_row("fi_sweep", each, population, replace(config, max_repeats=1), _seconds,
                              warm_up=False)
        per_point["variant"] += f" ({config.fi_points} single-neuron runs)"
        ratio = row("fi_speedup", runner.backend, runner.variant, config.fi_points, config.fi_steps,
                    config.dt, value=per_point["seconds"] / vectorised["seconds"], unit="x",
                    status="ok" if vectorised["status"] == per_point["status"] == "ok" else "error",
                    note="time of the per-point runs / time of the one-population run")
        rows += [vectorised, per_point, ratio]
    return rows


def _seconds(s: float):
    return s, "s"


def measure_brian2_compile(config: Config, spec, dt: float) -> list[dict]:
    """The first Cython run of Brian2 in an empty cache directory, minus a warm run: the compilation."""
    try:
        module = backends.get("brian2")
    except Exception as exc:
        return [row("compile", "brian2", "cython", status="unavailable", note=_why(exc))]
    drive = sweep(config.sizes[0], config.steps, dt)
    settings = RunSettings(dt=dt, n_steps=drive.n_steps, record_v=False).with_options(target="cython")
    with _empty_cython_cache(module):
        try:
            start = time.perf_counter()
            module.run(spec, drive, settings)
            first = time.perf_counter() - start
            start = time.perf_counter()
            module.run(spec, drive, settings)
            warm = time.perf_counter() - start
        except Exception as exc:
            return [row("compile", "brian2", "cython", status="error", note=_why(exc))]
    return [row("compile", "brian2", "cython", drive.n_neurons, drive.n_steps, dt, seconds=first, repeats=1,
                value=first - warm, unit="s",
                note=f"first run in an empty Cython cache {first:.2f} s, then {warm:.3f} s per run")]


def measure_brian2_costs(config: Config, spec, dt: float) -> list[dict]:
    """Brian2's cost model per target: each workload of ``config.cost_grid`` (constant drive, spikes
    only) timed, then ``seconds = setup + n_steps (per_step + N per_neuron_step)`` fitted by non-negative
    least squares; the rows give the fit next to the coefficients the adapter ships
    (:data:`models.brian2_.TARGET_COSTS`, which :func:`models.brian2_.choose_target` uses).

    Each target runs once untimed on another, small workload (Cython's one-off compilation is the
    ``compile`` row), then each point is timed once. cpp_standalone bakes N and the duration into its
    C++ code, so every new workload is compiled again: its times include that compilation, which is its
    real cost per workload."""
    from scipy.optimize import nnls

    try:
        module = backends.get("brian2")
    except Exception as exc:
        return [row("brian2_cost", "brian2", "", status="unavailable", note=_why(exc))]
    rows = []
    for target in config.cost_targets:
        def run(drive, target=target):
            settings = RunSettings(dt=dt, n_steps=drive.n_steps, record_v=False).with_options(target=target)
            return module.run(spec, drive, settings)

        runner = Runner("brian2", target, run)
        try:
            run(sweep(7, 100, dt))
        except Exception as exc:
            rows.append(row("brian2_cost", "brian2", target, status="error", note=_why(exc)))
            continue
        points = [timed_row("brian2_cost_point", runner, sweep(n, steps, dt), replace(config, max_repeats=1),
                            _seconds, warm_up=False) for n, steps in config.cost_grid]
        rows += points
        if any(p["status"] != "ok" for p in points):
            continue
        design = np.array([[1.0, p["n_steps"], p["n_neurons"] * p["n_steps"]] for p in points], dtype=float)
        fitted, _ = nnls(design, np.array([p["seconds"] for p in points]))
        shipped = module.TARGET_COSTS[target]
        for value, field, unit in zip(fitted, ("setup", "per_step", "per_neuron_step"),
                                      ("s", "s/step", "s/(neuron step)")):
            rows.append(row("brian2_cost", "brian2", f"{target}: {field}", value=float(value), unit=unit,
                            status="fit", note=f"shipped in models.brian2_.TARGET_COSTS: "
                                               f"{getattr(shipped, field):.3g} {unit}"))
    return rows


@contextmanager
def _empty_cython_cache(module):
    """Point the Brian2 adapter's Cython cache at a fresh directory for the duration."""
    saved = module.CYTHON_CACHE
    with tempfile.TemporaryDirectory(prefix="bench-brian2-cython-") as tmp:
        module.CYTHON_CACHE = Path(tmp)
        try:
            yield
        finally:
            module.CYTHON_CACHE = saved


def measure_memory(config: Config) -> list[dict]:
    """Peak memory of the big sweep with the compiled loop, each rule in its own fresh subprocess."""
    rows = []
    for name in ("exact/grid", "exact/linear"):
        cmd = [sys.executable, "-m", "benchmarks", "--memory-probe", str(config.memory_neurons),
               str(config.memory_steps), name]
        base = dict(n_neurons=config.memory_neurons, n_steps=config.memory_steps, dt=config.dt)
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
        if done.returncode != 0:
            rows.append(row("memory", "reference", f"compiled: {name}", status="error",
                            note=done.stderr.strip()[-300:], **base))
            continue
        probe = json.loads(done.stdout.strip().splitlines()[-1])
        note = (f"{probe['spikes']} spikes in {probe['seconds']:.2f} s; process baseline after imports "
                f"and a warm-up run {probe['rss_before_mib']:.0f} MiB")
        rows.append(row("memory", "reference", f"compiled: {name}", seconds=probe["seconds"], repeats=1,
                        value=probe["rss_peak_mib"], unit="MiB peak RSS (VmHWM)", note=note, **base))
        rows.append(row("memory", "reference", f"compiled: {name}", seconds=probe["seconds"], repeats=1,
                        value=probe["traced_peak_mib"], unit="MiB peak traced (tracemalloc)",
                        note="allocations of the run itself (numpy arrays, spike buffers, trace)", **base))
    return rows


def memory_probe(n_neurons: int, n_steps: int, rule: str) -> dict:
    """Run in the subprocess: the sweep with the compiled loop; peak RSS and traced allocations."""
    import tracemalloc
    spec, conventions = load_spec("textbook"), REFERENCE_RULES[rule]
    engine.simulate(spec, sweep(10, 10, FULL.dt), conventions, record_v=False)         # load the kernels
    before = peak_rss_mib()
    tracemalloc.start()
    start = time.perf_counter()
    _, neuron, _ = engine.simulate(spec, sweep(n_neurons, n_steps, FULL.dt), conventions, record_v=False)
    seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"rss_before_mib": before, "rss_peak_mib": peak_rss_mib(), "traced_peak_mib": traced / 2**20,
            "seconds": seconds, "spikes": int(neuron.size)}


def peak_rss_mib() -> float:
    """This process's peak resident set size (MiB): ``VmHWM`` of /proc/self/status, the high-water mark
    of its own memory map. (``getrusage(RUSAGE_SELF).ru_maxrss`` is not used: Linux carries the parent's
    size at fork into it across ``execve``, so a subprocess started by a large process would report
    at least the parent's size.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource                                   # not Linux: the rusage figure
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_harness_overhead(run_harness: Callable[[], object] | None, config: Config,
                             label: str = "harness") -> list[dict]:
    """Hook for the harness's overhead: time ``run_harness()`` (a callable running the comparison
    harness on a workload whose bare simulation time is measured by the rows above) and return its
    row. With ``None`` the row says the measurement is not wired yet."""
    if run_harness is None:
        return [row("harness_overhead", label, "", status="not measured",
                    note="hook: benchmarks.bench.measure_harness_overhead(callable, config)")]
    seconds, cpu, repeats = time_call(run_harness, config)
    return [row("harness_overhead", label, "", seconds=seconds, cpu_seconds=cpu, repeats=repeats,
                value=seconds, unit="s")]


def measure_report_overhead(config: Config) -> list[dict]:
    """The harness's own share of a comparison: the wall time of ``run_comparison`` minus the time spent
    inside the backends' runs (forking and result transfer included), as a fraction of the latter. The
    default report's workload (the textbook preset on every installed backend); ``--quick``: a 50 ms
    reference-only comparison. The runs go one at a time (``workers=1``) so that the two times add up;
    a report runs them one per core."""
    import tomllib

    from comparisons.config import comparison_from_document, load_comparison
    from comparisons.harness import run_comparison
    from models.files import resolve

    if config is QUICK:
        small = ('\n[simulation]\nduration = "50 ms"\nbackends = ["reference"]\n[fi_curve]\nnum = 5\n'
                 'duration = "100 ms"\n[convergence]\ndt = ["0.4 ms", "0.2 ms", "0.1 ms"]\nduration = "50 ms"\n')
        comparison = comparison_from_document(tomllib.loads(resolve("textbook").read_text() + small))
    else:
        comparison = load_comparison("textbook")
    run_comparison(comparison, timeout=comparison.timeout, workers=1)  # warm: imports, compiled kernels
    start = time.perf_counter()
    outcome = run_comparison(comparison, timeout=comparison.timeout, workers=1)
    total = time.perf_counter() - start
    inside = outcome.seconds_in_backends
    return [row("harness_overhead", "harness", ",".join(comparison.backends), seconds=total, repeats=1,
                value=(total - inside) / inside, unit="fraction of backend time",
                note=f"{total - inside:.3f} s of harness around {inside:.3f} s in the backends")]


# ---------------------------------------------------------------------------------------------------
# output


def write_csv(rows: list[dict], path: Path, host: dict) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, **host})


def plot(rows: list[dict], path: Path, host: dict, config: Config) -> None:
    """Four panels: throughput against N, f-I sweep times, per-step cost at N = 100, peak memory."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(15, 11))
    _plot_throughput(axes[0, 0], rows)
    _plot_bars(axes[0, 1], [r for r in rows if r["benchmark"] == "fi_sweep"], "seconds", "seconds (log)",
               "f-I sweep: one population vs one run per current", log=True)
    _plot_bars(axes[1, 0], [r for r in rows if r["benchmark"] == "per_step"], "value", "us per step (log)",
               f"per-step cost at N = {config.per_step_n}", log=True)
    _plot_bars(axes[1, 1], [r for r in rows if r["benchmark"] == "memory"], "value", "MiB",
               f"memory of the {config.memory_neurons} x {config.memory_steps} step sweep (compiled loop)",
               unit_in_label=True)
    fig.suptitle(f"{host['cpu']}, {host['cores']} cores, Python {host['python']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plot_throughput(ax, rows):
    series = {}
    for r in rows:
        if r["benchmark"] == "throughput" and r["status"] == "ok":
            series.setdefault(f"{r['backend']} {r['variant']}", []).append((r["n_neurons"], r["value"]))
    colours = plt_colours(len(series))
    for (label, points), colour in zip(sorted(series.items()), colours):
        n, value = zip(*sorted(points))
        ax.plot(n, value, marker="o", label=label, color=colour, linestyle="--" if "numpy:" in label else "-")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("neurons N")
    ax.set_ylabel("neuron-steps / s")
    ax.set_title("throughput (f-I sweep, spikes only)")
    ax.legend(fontsize=6, ncol=2, framealpha=0.8)


def plt_colours(n: int) -> list:
    import matplotlib
    cmap = matplotlib.colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


def _plot_bars(ax, rows, key, ylabel, title, log=False, unit_in_label=False):
    rows = [r for r in rows if r["status"] == "ok" and np.isfinite(r[key])]
    labels = [f"{r['backend']} {r['variant']}" + (f" [{r['unit']}]" if unit_in_label else "") for r in rows]
    ax.barh(range(len(rows)), [r[key] for r in rows])
    ax.set_yticks(range(len(rows)), labels, fontsize=6)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(ylabel)
    ax.set_title(title)


# ---------------------------------------------------------------------------------------------------
# the run


def run_all(config: Config, out: Path, log=print) -> list[dict]:
    """Every measurement; writes out/bench.csv and out/bench.png and returns the rows."""
    out.mkdir(parents=True, exist_ok=True)
    spec = load_spec("textbook")
    host = machine()
    rows = measure_brian2_compile(config, spec, config.dt) if config.compile_cython else [
        row("compile", "brian2", "cython", status="skipped", note="--quick does not compile Cython")]
    runners, missing = registry_runners(spec, config.dt)
    if not config.compile_cython:
        runners = [r for r in runners if not (r.backend == "brian2" and r.variant == "cython")]
        missing.append(row("throughput", "brian2", "cython", status="skipped",
                           note="--quick does not compile Cython"))
    ours = reference_runners(spec)
    own = overheads.rockpool_own_runner()
    if own is not None:
        ours.append(Runner("rockpool", overheads.ADAPTER_PAIRS[1][2], own, note="t_ref = 0; called directly"))
    rows += missing
    log("throughput ...")
    rows += measure_throughput(ours + runners, config)
    rows += overheads.adapter_ratios(rows, row)
    log("per-step cost ...")
    rows += measure_per_step(ours + runners, config)
    log("f-I sweeps ...")
    rows += measure_fi([r for r in runners if r.backend in ("reference", "brian2", "nengo")], config)
    log("Brian2 cost model ...")
    rows += measure_brian2_costs(config, spec, config.dt)
    log("memory ...")
    rows += measure_memory(config)
    log("harness overhead ...")
    rows += measure_report_overhead(config)
    log("marginal cost per stimulus ...")
    installed = list(dict.fromkeys(r.backend for r in runners))
    rows += overheads.measure_marginal_stimulus(installed, config.marginal_stimuli, config.marginal_ms, row,
                                                repeats=1 if config is QUICK else 3)
    write_csv(rows, out / "bench.csv", host)
    plot(rows, out / "bench.png", host, config)
    return rows


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks --out DIR [--quick]`` (also ``python -m comparisons bench``)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description="Benchmark the reference and every installed backend.")
    parser.add_argument("--out", type=Path, required=True, help="directory for bench.csv and bench.png")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a check that everything runs")
    args = parser.parse_args(argv)
    rows = run_all(QUICK if args.quick else FULL, args.out,
                   log=lambda text: print(text, file=sys.stderr, flush=True))
    print(f"{len(rows)} measurements written to {args.out / 'bench.csv'} and {args.out / 'bench.png'}")
    return 0
