"""The measures of a sweep: one backend's population of constant-current points against the closed form and
against its twin, batched over the points with numpy, each with its tolerance from
:mod:`comparisons.tolerances`.

Every point is a cell driven by a constant current ``I`` from ``V_init`` for ``D`` seconds. Its closed form
(:mod:`reference.closed_forms`, evaluated for every current of the population at once): first spike at
``L = tau ln((V_inf - V_init)/(V_inf - V_th))``, then one spike every ``ISI = t_ref + T_free``, so
``n = 1 + floor((D - L)/ISI)`` spikes when ``L <= D``.

Verdicts (a ``*_pass`` column: True, False, or empty for no verdict), as the comparisons judge them:

``latency``
    ``|t_1 - L|`` within :func:`~comparisons.tolerances.first_spike_bound` of the backend's timing class;
    judged when the exact first spike and its bound lie inside the run (else informational).
``isi``
    ``|mean ISI - ISI|`` within :func:`~comparisons.tolerances.isi_bound` (one step per interval for the
    grid class, no drift for Nengo's phase class); judged when the closed form fires at least three times.
    An interval at most twice its bound cannot be resolved at this dt: a failing verdict ("lower dt or
    the current"), as ``fi_currents_beyond_resolution`` is in a comparison.
``rate``
    ``|1/mean ISI - 1/ISI|`` within :func:`~comparisons.tolerances.rate_bound` of the ISI bound (same cases).
``contract``
    spikes in another grid step than the backend's twin (:mod:`comparisons.contract`), tolerance 0; no
    verdict for a neuron whose spikes rounding decides (:func:`comparisons.contract.rounding_sensitive`) or a
    backend without a twin.
"""

from __future__ import annotations

import math

import numpy as np

from models.conventions import timing_class
from models.drive import Drive
from models.result import Result, RunSettings
from models.spec import LIFSpec
from reference import closed_forms as cf

from . import contract
from . import tolerances as T

#: Columns of a chunk table after ``point`` and ``backend`` (floats in SI; ``*_pass`` nullable booleans).
COLUMNS = ("status", "reason", "attempts", "timing_class", "n_spikes", "first_spike_s", "mean_isi_s",
           "rate_hz", "exact_n_spikes", "exact_first_spike_s", "exact_isi_s",
           "latency_error_s", "latency_tol_s", "latency_pass", "isi_error_s", "isi_tol_s", "isi_pass",
           "rate_error_hz", "rate_tol_hz", "rate_pass", "contract_spike_steps", "contract_pass")
PASS_COLUMNS = tuple(c for c in COLUMNS if c.endswith("_pass"))
FLOAT_COLUMNS = tuple(c for c in COLUMNS if c.endswith(("_s", "_hz")))
INT_COLUMNS = ("attempts", "n_spikes", "exact_n_spikes", "contract_spike_steps")


def empty_rows(n: int, status: str, reason: str, attempts: int = 0) -> dict:
    """``n`` rows without a run (invalid, unrepresentable or failed): counts -1, floats NaN, no verdicts."""
    out = {c: np.full(n, math.nan) for c in FLOAT_COLUMNS}
    out.update({c: np.full(n, -1, dtype=np.int64) for c in INT_COLUMNS})
    out.update({c: [None] * n for c in PASS_COLUMNS})
    out.update(status=[status] * n, reason=[reason] * n, attempts=np.full(n, attempts, dtype=np.int64),
               timing_class=[""] * n)
    return out


def exact_spikes(spec: LIFSpec, currents: np.ndarray, duration: float):
    """Closed-form first spike (s), ISI (s), free time (s) and spike count in ``[0, duration]`` of every
    current, as arrays (``inf`` and 0 below the rheobase)."""
    latency = np.asarray(cf.first_spike_latency(spec, currents), dtype=float)
    isi = np.asarray(cf.isi(spec, currents), dtype=float)
    free = np.asarray(cf.free_time(spec, currents), dtype=float)
    fires = np.isfinite(latency) & (latency <= duration)
    with np.errstate(invalid="ignore"):
        count = np.where(fires, np.floor((duration - np.where(fires, latency, 0.0)) / isi) + 1, 0)
    return latency, isi, free, count.astype(np.int64)


def measured(result: Result):
    """Spike count, first spike (s) and mean ISI (s) of every neuron (NaN where undefined)."""
    counts = result.spike_counts()
    bounds = np.searchsorted(result.spike_neuron, np.arange(result.n_neurons + 1))
    first = np.full(result.n_neurons, math.nan)
    last = np.full(result.n_neurons, math.nan)
    some = counts > 0
    first[some] = result.spike_time[bounds[:-1][some]]
    last[some] = result.spike_time[bounds[1:][some] - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_isi = np.where(counts >= 2, (last - first) / np.maximum(counts - 1, 1), math.nan)
    return counts, first, mean_isi


def measure(spec: LIFSpec, backend: str, drive: Drive, settings: RunSettings, result: Result,
            attempts: int) -> dict:
    """The measure columns (:data:`COLUMNS`) of every neuron of a constant-current population run."""
    currents = np.asarray(drive.scale, dtype=float) * float(drive.waveform[0, 0])
    D, dt, method = drive.duration, drive.dt, settings.method
    twin = contract.twin_of(backend, settings)
    kind = timing_class(twin.conventions_for(spec)) if twin is not None else "grid"
    latency, isi, free, n_exact = exact_spikes(spec, currents, D)
    counts, first, mean_isi = measured(result)
    lat_tol = np.array([T.first_spike_bound(kind, method, dt, spec, float(x) if math.isfinite(x) else D, D)
                        for x in latency])
    per_isi = np.array([T.isi_bound(kind, method, dt, spec, float(f) if math.isfinite(f) else D,
                                    int(max(n - 1, 1)), D) for f, n in zip(free, n_exact)])
    out = {"status": ["ok"] * currents.size, "reason": [""] * currents.size,
           "attempts": np.full(currents.size, attempts, dtype=np.int64),
           "timing_class": [kind] * currents.size, "n_spikes": counts.astype(np.int64),
           "first_spike_s": first, "mean_isi_s": mean_isi, "exact_n_spikes": n_exact,
           "exact_first_spike_s": latency, "exact_isi_s": isi}
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate_hz"] = np.where(np.isfinite(mean_isi), 1.0 / mean_isi, 0.0)
        out.update(_latency(latency, first, lat_tol, D))
        out.update(_isi(isi, mean_isi, n_exact, per_isi))
    out.update(_contract(spec, backend, drive, settings, result, twin))
    return out


def _latency(latency, first, tol, D) -> dict:
    exact_inside = np.isfinite(latency) & (latency + tol < D)
    exact_outside = ~np.isfinite(latency) | (latency - tol > D)
    error = np.where(np.isfinite(first), np.abs(first - latency), np.inf)
    error = np.where(exact_outside & ~np.isfinite(first), 0.0, error)
    judged = exact_inside | exact_outside
    passed = [bool(e <= t) if j else None for e, t, j in zip(error, tol, judged)]
    return {"latency_error_s": error, "latency_tol_s": tol, "latency_pass": passed}


def _isi(isi, mean_isi, n_exact, per_isi) -> dict:
    judged = n_exact >= 3
    resolved = T.resolvable(np.where(judged, isi, np.inf), per_isi)
    error = np.where(np.isfinite(mean_isi), np.abs(mean_isi - isi), np.inf)
    rate_tol = T.rate_bound(np.where(judged, isi, np.inf), per_isi)
    rate_err = np.where(np.isfinite(mean_isi), np.abs(1.0 / mean_isi - 1.0 / isi), np.inf)
    isi_pass = [bool(r and e <= t) if j else None for e, t, j, r in zip(error, per_isi, judged, resolved)]
    rate_pass = [bool(r and e <= t) if j else None for e, t, j, r in zip(rate_err, rate_tol, judged, resolved)]
    return {"isi_error_s": np.where(judged, error, math.nan), "isi_tol_s": per_isi, "isi_pass": isi_pass,
            "rate_error_hz": np.where(judged, rate_err, math.nan), "rate_tol_hz": np.where(judged, rate_tol, math.nan),
            "rate_pass": rate_pass}


def _contract(spec, backend, drive, settings, result, twin) -> dict:
    n = drive.n_neurons
    if twin is None:
        return {"contract_spike_steps": np.full(n, -1, dtype=np.int64), "contract_pass": [None] * n}
    _, neuron, time = twin.simulate(spec, drive, record_v=False)
    stamp = twin.conventions_for(spec).spike_stamp
    differing = contract.differing_per_neuron(
        result.spike_neuron, contract.spike_steps(result.spike_time, drive.dt, stamp),
        neuron, contract.spike_steps(time, drive.dt, stamp), drive.n_steps, n)
    sensitive = set(contract.rounding_sensitive(spec, drive, twin).tolist())
    passed = [None if j in sensitive else bool(d == 0) for j, d in enumerate(differing)]
    return {"contract_spike_steps": differing, "contract_pass": passed}
