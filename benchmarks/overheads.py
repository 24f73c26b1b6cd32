"""What the suite adds to the work it wraps, measured in the benchmark run (rows of :mod:`benchmarks.bench`):

1. ``marginal_stimulus``: the harness's cost of one more stimulus in a plain ``run``, per backend: the
   same comparison (the textbook cell, sine-driven stimuli, that backend alone, no f-I curve beyond three
   currents, a three-step convergence study) with N and with 2N stimuli, each run as ``run`` does it in
   this process (``run_comparison`` with one worker, the CSV files and the HTML page, nothing written to
   disk), ``(time(2N) - time(N)) / N`` seconds. Both include the backend's own simulation of the extra
   stimuli (one population: a few microseconds per stimulus for the reference). A difference at or below
   zero is timing noise: the row's status says so. The note splits this process's processor time per
   stimulus into the harness (runs, closed forms, metrics, verdicts), the CSV text and the page.
2. ``adapter_ratio``: the reference through the registry (``reference.backend.run``) against its compiled
   loop called directly (``reference.engine.simulate``), and Rockpool's adapter against Rockpool's own
   ``LIF`` module called directly in calls of :data:`ROCKPOOL_OWN_STEPS` steps, from the ``throughput``
   rows at each N: adapter time / direct time.
"""

from __future__ import annotations

import math
import time
import tomllib

import numpy as np

from models.drive import Drive

#: Steps per call of Rockpool's own module in its direct runner (the figure quoted for its own speed).
ROCKPOOL_OWN_STEPS = 1_000


def sine_comparison_text(n_stimuli: int, duration_ms: float, backend: str) -> str:
    """A comparison file's text: the textbook cell, ``n_stimuli`` sine stimuli around the rheobase."""
    from models.files import resolve

    text = resolve("textbook").read_text()
    text += (f'\n[simulation]\nduration = "{duration_ms:g} ms"\nbackends = ["{backend}"]\n'
             f'[fi_curve]\nnum = 3\nduration = "{duration_ms:g} ms"\n'
             f'[convergence]\ndt = ["0.4 ms", "0.2 ms", "0.1 ms"]\nduration = "{duration_ms:g} ms"\n')
    for i in range(n_stimuli):
        text += (f'\n[[stimulus]]\nname = "sine{i}"\nkind = "sine"\namplitude = "{50 + 0.5 * i:g} pA"\n'
                 f'frequency = "{5 + 0.1 * i:g} Hz"\noffset = "{200 + 0.2 * i:g} pA"\n')
    return text


def run_like_cli(text: str) -> tuple[float, float, dict]:
    """(wall seconds, this process's processor seconds, processor seconds per phase) of what
    ``comparisons run`` does with this comparison, short of writing the files. The phases: ``harness``
    (``run_comparison``: the runs, closed forms, metrics and verdicts), ``csv`` (the CSV files' text) and
    ``page`` (the HTML page)."""
    from comparisons.config import comparison_from_document
    from comparisons.harness import run_comparison
    from reports import html, writers

    comparison = comparison_from_document(tomllib.loads(text))
    start, start_cpu = time.perf_counter(), time.process_time()
    outcome = run_comparison(comparison, timeout=comparison.timeout, workers=1)
    after_harness = time.process_time()
    files = writers.data_files(outcome)
    after_csv = time.process_time()
    html.render_html(outcome, writers.report_digest(outcome, files))
    end_cpu = time.process_time()
    phases = {"harness": after_harness - start_cpu, "csv": after_csv - after_harness, "page": end_cpu - after_csv}
    return time.perf_counter() - start, end_cpu - start_cpu, phases


def measure_marginal_stimulus(backend_names, n_stimuli: int, duration_ms: float, row,
                              repeats: int = 3) -> list[dict]:
    """One ``marginal_stimulus`` row per backend (see the module docstring); ``row`` builds a row. The
    N- and 2N-stimulus runs alternate ``repeats`` times; each keeps its best wall time (and that run's
    processor time), so that a burst of load on a shared machine does not land in the difference."""
    rows = []
    for name in backend_names:
        small, large = (sine_comparison_text(k, duration_ms, name) for k in (n_stimuli, 2 * n_stimuli))
        try:
            if repeats > 1:                                      # a measurement, not a smoke run:
                run_like_cli(small)                              # warm (imports, kernels, compiled code)
            times = [(run_like_cli(small), run_like_cli(large)) for _ in range(repeats)]
        except Exception as exc:                                 # a backend failing is a result
            rows.append(row("marginal_stimulus", name, "", status="error",
                            note=f"{type(exc).__name__}: {exc}"[:300]))
            continue
        (one, one_cpu, phases), (two, two_cpu, _) = min(t[0] for t in times), min(t[1] for t in times)
        per, per_cpu = (two - one) / n_stimuli, (two_cpu - one_cpu) / n_stimuli
        # per phase: the least processor time of each phase over the repeats, N against 2N
        phase = {k: (min(t[1][2][k] for t in times) - min(t[0][2][k] for t in times)) / n_stimuli * 1e3
                 for k in phases}
        steps = int(round(duration_ms * 10))
        rows.append(row("marginal_stimulus", name, f"{n_stimuli} vs {2 * n_stimuli} sine stimuli",
                        n_neurons=2 * n_stimuli, n_steps=steps, dt=1e-4, seconds=two, cpu_seconds=two_cpu,
                        repeats=repeats, value=per * 1e3, unit="ms per stimulus",
                        status="ok" if per > 0 else "noise",
                        note=f"best of {repeats}: {one:.3f} s with {n_stimuli} stimuli, {two:.3f} s with "
                             f"{2 * n_stimuli}; processor time of this process {per_cpu * 1e3:.2f} ms per "
                             f"stimulus (harness {phase['harness']:.2f}, CSV text {phase['csv']:.2f}, page "
                             f"{phase['page']:.2f}); files not written"))
    return rows


def rockpool_own_runner():
    """``run(drive)`` calling Rockpool's ``LIF`` module directly, with the adapter's mapping of the
    benchmark's cell at ``t_ref = 0`` (constant bias per neuron), in calls of :data:`ROCKPOOL_OWN_STEPS`
    steps; None when Rockpool is not installed."""
    try:
        from rockpool.nn.modules import LIF
    except Exception:
        return None
    from models import rockpool_
    from models.loading import load_spec

    spec = load_spec("textbook").replace(t_ref=0.0)

    def run(drive: Drive):
        p = rockpool_.parameters(spec, drive.dt)
        n = drive.n_neurons
        module = LIF(n, tau_mem=np.full(n, p["tau_mem"]), tau_syn=np.full(n, p["tau_mem"]),
                     bias=p["offset"] + p["gain"] * drive.at(0), threshold=np.full(n, p["threshold"]),
                     noise_std=0.0, dt=drive.dt)
        for k in range(0, drive.n_steps, ROCKPOOL_OWN_STEPS):
            module(np.zeros((min(ROCKPOOL_OWN_STEPS, drive.n_steps - k), n)), record=False)

    return run


#: (backend, adapter variant, direct variant) of the ``throughput`` rows compared by ``adapter_ratio``.
ADAPTER_PAIRS = (("reference", "registry (compiled exact/grid)", "compiled: exact/grid"),
                 ("rockpool", "default", f"own LIF module ({ROCKPOOL_OWN_STEPS}-step calls)"))


def adapter_ratios(rows: list[dict], row) -> list[dict]:
    """``adapter_ratio`` rows from the ``throughput`` rows: adapter time / direct time at each N."""
    out = []
    ok = {(r["backend"], r["variant"], r["n_neurons"]): r for r in rows
          if r["benchmark"] == "throughput" and r["status"] == "ok"}
    for backend, adapter, direct in ADAPTER_PAIRS:
        for (name, variant, n), a in sorted(ok.items(), key=lambda item: str(item[0])):
            d = ok.get((backend, direct, n))
            if name != backend or variant != adapter or d is None:
                continue
            ratio = a["seconds"] / d["seconds"] if d["seconds"] > 0 else math.nan
            out.append(row("adapter_ratio", backend, f"{adapter} / {direct}", n, a["n_steps"], a["dt_s"],
                           value=ratio, unit="x", note=f"{a['value']:.3g} vs {d['value']:.3g} neuron-steps/s"))
    return out
