"""Parameter-space sweeps as a dask.distributed computation, resumable from the chunks on disk.

``sweep(source, out)`` (and ``python -m comparisons sweep SWEEP.toml --out DIR``):

1. the sweep file is parsed and the output place checked before anything is written (bad input: one line,
   nothing written);
2. the points are grouped by ``dt``, the one thing a population cannot vary, and each group is cut into
   tasks of at most ``simulation.chunk`` points per backend: one population, one neuron per point, each
   with its current and its own cell (:mod:`comparisons.sweep_task`). A point whose cell is invalid is
   recorded as invalid (a task with nothing but invalid points is written here, without a worker). The
   plan (:mod:`comparisons.sweep_plan`) holds nothing per point (a Latin hypercube sample excepted: its
   unit sample); points, groups and tasks are made one at a time by arithmetic;
3. the tasks go to a Dask cluster: by default a ``LocalCluster`` with one single-threaded worker process
   per core; with ``scheduler`` (or the ``DASK_SCHEDULER_ADDRESS`` environment variable) an existing
   cluster, unchanged. At most two tasks per worker are in flight and their rows go to disk as they
   arrive, so while they run the client holds the plan of the points, never their results;
4. each task's rows are written as they arrive, one Parquet file per task under ``chunks/`` (a temporary
   file renamed into place). A sweep re-run with the same file and output skips every task whose file
   exists: an interrupted or killed sweep resumes where it stopped;
5. the final tables are streamed from the chunks block by block (:func:`comparisons.sweep_tables.stream`)
   while the maps page's counts are taken from each block (:class:`comparisons.sweep_tally.Tally`), so the
   process holds no table and no per-point array (what Dask keeps of finished tasks aside: README,
   Performance); then the maps
   (:mod:`reports.sweep_html`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from models.errors import UserInputError
from models.processes import available_cores
from models.files import replacing

from .sweep_config import Sweep, load_sweep
from .sweep_measures import empty_rows
from .execution.runs import Preload
from .sweep_plan import Plan
from .sweep_tally import Tally
from .sweep_task import run_task
from . import sweep_tables

STATE = "sweep.json"
CHUNKS = "chunks"
#: Tasks in flight per worker: enough to keep every worker busy, few enough that memory stays flat.
IN_FLIGHT_PER_WORKER = 2
#: Dask's own logs, kept shorter for a sweep (which never reads them): its low-level logs (transitions,
#: recent messages of each stream, events) hold whole messages, the tasks' arguments included, up to 1 000
#: each by default, about 6 MiB in the sweep's process once full (measured at 100 000 points, 400 tasks).
DASK_CONFIG = {"distributed.admin.low-level-log-length": 100}
#: The periodic work of the ``LocalCluster`` a sweep starts, less often than Dask's defaults. Its scheduler
#: and its workers' nannies live in the sweep's process and its workers beside the tasks, and on a machine
#: with one core per worker every CPU second they take is taken from a task. Measured on an idle 2-worker
#: cluster: 0.050 s/s of CPU in the sweep's process and 0.073 s/s in the workers with the defaults, 0.015
#: and 0.013 with these; per 2-worker sweep of 60 tasks, the workers' own CPU (their children's aside)
#: 4.3 s -> 2.4 s. What each one is: the nanny's memory monitor (each 100 ms, a psutil ``Process`` built
#: and read per worker; one second still stops a runaway worker, and a task's simulation runs in a child
#: the nanny does not measure anyway); the system monitor (each 500 ms: CPU, memory, descriptors, disk
#: counters, for a dashboard the sweep does not start); each server's event-loop tick (each 20 ms, only
#: to warn of a blocked loop); the worker's statistical profiler (a thread sampling the task's stack each
#: 10 ms, for the dashboard's profile page).
QUIET_CONFIG = {"distributed.worker.memory.monitor-interval": "1s",
                "distributed.admin.system-monitor.interval": "2s", "distributed.admin.tick.interval": "200ms",
                "distributed.worker.profile.enabled": False}


@dataclass
class SweepOutcome:
    """What a sweep produced: its directory and counts; ``points`` and ``pairs`` read its tables from disk
    when asked (the sweep itself never holds them)."""

    out: Path
    n_points: int
    failed: int
    ran: int
    skipped: int
    any_failing: bool

    @property
    def points(self) -> pd.DataFrame:
        return pd.read_parquet(self.out / "points.parquet")

    @property
    def pairs(self) -> pd.DataFrame:
        return pd.read_parquet(self.out / "pairs.parquet")

    @property
    def exit_status(self) -> int:
        """0 every verdict passed, 1 some verdict failed, 3 some task failed (as ``run``)."""
        if self.failed:
            return 3
        return 1 if self.any_failing else 0


def sweep(source, out, scheduler: str | None = None, force: bool = False, quiet: bool = True,
          backends: list[str] | None = None, workers: int | None = None, report: bool = True) -> SweepOutcome:
    """Run (or resume) the sweep of ``source`` into the directory ``out``; see the module docstring.

    Raises
    ------
    UserInputError
        A bad sweep file or output place (nothing written).
    """
    spec = load_sweep(source, backends)
    out = Path(out)
    _check_out(out, spec, force)
    plan = Plan(spec)
    out.mkdir(parents=True, exist_ok=True)
    _write_state(out, spec)
    (out / CHUNKS).mkdir(exist_ok=True)
    ran, skipped = _execute(plan, out, scheduler, quiet, workers)
    tally = Tally(spec, plan)
    sweep_tables.stream(plan, out / CHUNKS, out, tally.add)
    if report:
        from .sweep_report import write_maps
        write_maps(spec, plan, tally, out)
    return SweepOutcome(out, plan.n, tally.failed, ran, skipped, tally.any_failing)


# --------------------------------------------------------------------------------------- output place

def _check_out(out: Path, spec: Sweep, force: bool) -> None:
    """Refuse an output place that is not this sweep's (a file, a link, a foreign or other sweep's
    directory without ``--force``); with ``force`` an earlier sweep's directory (and only that) is
    cleared."""
    if str(out) == "" or out.is_symlink() or (out.exists() and not out.is_dir()):
        raise UserInputError("--out", "must be a directory path (not a file or a symbolic link)", str(out))
    if not out.exists() or not any(out.iterdir()):
        return
    state = out / STATE
    if not state.is_file():
        raise UserInputError("--out", "is a directory that is not empty and holds no sweep (sweep.json)", str(out))
    try:
        digest = json.loads(state.read_text()).get("digest")
    except (OSError, ValueError):
        digest = None
    if digest == spec.digest():
        return
    if not force:
        raise UserInputError("--out", "holds another sweep (its sweep.json differs); --force replaces it",
                             str(out))
    import shutil
    for entry in out.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _write_state(out: Path, spec: Sweep) -> None:
    doc = {"suite": "lif-crosscheck", "kind": "sweep", "name": spec.name, "digest": spec.digest(),
           "source": spec.source, "axes": spec.axis_names, "backends": list(spec.backends)}
    atomic_write(out / STATE, json.dumps(doc, indent=2, sort_keys=True).encode())


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    with replacing(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


# -------------------------------------------------------------------------------------------- executing

def _execute(plan: Plan, out: Path, scheduler, quiet: bool, workers) -> tuple:
    spec = plan.sweep
    chunks = out / CHUNKS
    todo_points = sum(len(t.points) for t in _todo(plan, chunks))
    total = plan.n * len(spec.backends)
    done_before = total - todo_points
    bar = _progress(quiet, total, done_before)
    if not todo_points:
        bar.close()
        return 0, total
    with _client(scheduler, workers) as client:
        client.register_plugin(Preload(sorted({spec.module_name(n) for n in spec.backends})))
        ran = _run_all(client, _todo(plan, chunks), chunks, bar)
    bar.close()
    return ran, done_before


def _todo(plan: Plan, chunks: Path):
    """The tasks whose chunk is not on disk yet, made one at a time."""
    return (t for t in plan.tasks() if not (chunks / f"{t.key}.parquet").exists())


def _run_all(client, todo, chunks: Path, bar) -> int:
    """Run the tasks of the iterator ``todo``, a bounded number in flight; returns how many ran."""
    from distributed import as_completed
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    window = as_completed()
    failures = ran = 0
    tasks = {}

    def record(task, rows) -> None:
        nonlocal ran, failures
        sweep_tables.write_chunk(chunks / f"{task.key}.parquet", rows)
        ran += 1
        failures += sum(1 for s in rows["status"] if s == "failed")
        bar.set_postfix_str(f"failed {failures}", refresh=False)
        bar.update(len(task.points))

    def submit() -> bool:
        task = next(todo, None)
        while task is not None and task.runs_nothing:      # every point invalid: its rows need no worker
            record(task, run_task(task))
            task = next(todo, None)
        if task is None:
            return False
        future = client.submit(run_task, task, key=f"sweep-{task.key}-{time.time_ns()}", pure=False, retries=1)
        tasks[future.key] = task
        window.add(future)
        return True

    for _ in range(IN_FLIGHT_PER_WORKER * n_workers):
        if not submit():
            break
    for future in window:
        task = tasks.pop(future.key)
        try:
            rows = future.result()
        except Exception as exc:  # noqa: BLE001 - a worker lost twice: the task is recorded as failed
            rows = empty_rows(len(task.points), "failed", f"worker lost: {type(exc).__name__}: {exc}", 2)
            rows.update(point=task.points, backend=[task.backend] * len(task.points))
        future.release()
        record(task, rows)
        submit()
    return ran


def local_cluster(workers: int):
    """A ``LocalCluster`` of ``workers`` single-threaded worker processes, as a sweep starts one. Its
    workers are not daemonic: they isolate each run in a child process, which a daemonic process may not
    have; a worker lost twice fails its task (recorded), it never stops the sweep. No dashboard: the
    scheduler's plain HTTP server (health checks) takes a free port (``dashboard_address=None`` would
    still try 8787, and warn when a second cluster runs)."""
    import dask
    from distributed import LocalCluster
    dask.config.set({"distributed.worker.daemon": False, "distributed.scheduler.allowed-failures": 1, **DASK_CONFIG,
                     **QUIET_CONFIG})
    return LocalCluster(n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=":0",
                        scheduler_kwargs={"dashboard": False}, silence_logs=40)


class _client:
    """A Dask client: of ``scheduler`` (or ``DASK_SCHEDULER_ADDRESS``), else of a new ``LocalCluster`` with
    one single-threaded worker process per core (``workers``), closed at the end."""

    def __init__(self, scheduler: str | None, workers: int | None):
        self.scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
        self.workers = workers or available_cores()

    def __enter__(self):
        import dask
        from distributed import Client
        self.cluster = None
        if self.scheduler:
            with dask.config.set(DASK_CONFIG):
                self.client = Client(self.scheduler)
            return self.client
        self.cluster = local_cluster(self.workers)
        self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _progress(quiet: bool, total: int, initial: int):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, unit="pt", desc="sweep (points x backends)",
                disable=quiet or not sys.stderr.isatty(), file=sys.stderr, dynamic_ncols=True)
