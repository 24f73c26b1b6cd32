"""Contract verdicts: every backend run against its own written contract, on the same samples.

A backend's *contract* is the discrete rule its documentation and source describe, declared by its adapter
(``contract(settings) -> Contract``, or only ``conventions(settings) -> Conventions``; see
:mod:`models.conventions`) and replayed as a numpy twin (:mod:`reference.twins`) by the reference engine
on the identical drive. A simulator that
does what its documentation says reproduces its twin exactly (``tests/test_twins.py`` proves it for every
backend, preset and stimulus kind); one that departs from it by a single step -- a refractory period one
step long, a spike stamped one step late, input applied one step late -- does not. These are the suite's
primary verdicts. The closed-form verdicts of the harness then bound each contract's accuracy, and the
attribution (:mod:`comparisons.attribution`) explains the gap between two contracts.

Verdicts (``reference`` column ``twin:<name>``):

``contract_spike_steps``
    The number of spikes whose step differs: for each neuron, the spikes of the backend and of the twin
    as multisets of grid steps, counted ``sum |n_backend(k) - n_twin(k)|`` over steps ``k``. Tolerance 0:
    grid-locked spikes carry no rounding. The step of a grid-stamped spike is ``round(t/dt)``; of a spike
    stamped at its crossing time, the step ``(t_k-1, t_k]`` that contains it, ``ceil(t/dt)``.
``contract_voltage_max_abs``
    ``max |V - V_twin|`` over every sample. Tolerance ``1e-12 (V_th - V_reset)``
    (:data:`VOLTAGE_RTOL`): the simulators compute in other frames (NEST in mV relative to E_L, Nengo
    normalised, snnTorch and Rockpool relative to V_reset) and write the update differently; each step
    adds a few ulps of ``|V|`` (about 1e-17 V at 0.1 V) and the contraction ``exp(-dt/tau)`` keeps their
    sum below ``eps |V| tau/dt``, about 4e-15 V for ``tau/dt = 255`` -- far below the bound
    (1.5e-14 V for a 15 mV reset distance), while a reset 0.1 mV off or a threshold 0.5 mV off exceeds it
    by nine orders of magnitude.
``contract_spike_time_bound_ratio`` (crossing-time stamps only)
    ``max |t - t_twin| / bound`` with ``bound = tau_m delta/(V_inf - V_th) + 8 ulp(t)`` (``C delta/I`` without
    leak: ``delta`` over the slope at the threshold, :func:`reference.closed_forms.threshold_slope`), ``delta`` the
    voltage tolerance: the inversion ``tau ln((V_inf - v0)/(V_inf - V_th))`` moves by at most
    ``tau delta/(V_inf - V_th)`` when ``v0`` moves by ``delta``.

Informational: ``contract_first_differing_spike`` (s), the time of the first spike step where the two
disagree (written only when they do), so that a failure names the step; ``contract_rounding_sensitive_neurons``,
the neurons left out of both verdicts because rounding decides their spikes (:func:`rounding_sensitive`;
written only when there are any -- a drive exactly at the rheobase). A run whose every neuron is such has
informational rows only.

Model variants: the twins write the plain LIF's rules and every rule's reset by subtraction
(:attr:`models.conventions.Contract.subtract`), so a cell with ``reset = "subtract"`` gets its contract
verdicts. A cell with a synaptic current or noise has no written contract here (a twin refuses it,
:meth:`reference.twins.Twin.simulate`): it gets no contract rows -- its traces are bounded against the
exact solution instead (:func:`comparisons.harness.synaptic_trace_bound`), its noise statistically.
"""

from __future__ import annotations

import numpy as np

from models.conventions import Contract
from models.drive import Drive
from models.result import Result, RunSettings
from models.spec import LIFSpec
from reference import closed_forms as cf, twins

from . import backends
from .verdicts import Row, row

#: Voltage tolerance of a contract, relative to ``V_th - V_reset`` (see the module docstring).
VOLTAGE_RTOL = 1e-12
#: Margin of ``ceil(t/dt)`` for crossing-time stamps: a time that is a whole number of steps up to float
#: rounding of ``t/dt`` belongs to the step it ends.
STEP_EPS = 1e-9


def _adapter(backend: str):
    """The adapter module of a registered, installed backend, else ``None``."""
    if backend in backends.REGISTRY and backends.is_available(backend):
        return backends.get(backend)
    return None


def twin_of(backend: str, settings: RunSettings) -> twins.Twin | None:
    """The written contract of ``backend`` run with ``settings``, as a twin: the contract its adapter
    declares (``contract(settings)``, or a contract named after the backend from ``conventions(settings)``,
    so that a new simulator brings its contract in its own module); ``None`` for a backend without one."""
    module = _adapter(backend)
    declared = getattr(module, "contract", None)
    if callable(declared):
        return twins.Twin.of(declared(settings))
    rule = getattr(module, "conventions", None)
    if callable(rule):
        return twins.Twin(backend, backend, settings.method, settings.options, rule(settings),
                          getattr(module, "SUMMARY", f"the rule {backend}'s adapter declares"))
    return None


def declared() -> dict[str, Contract]:
    """Every named contract the installed backends' adapters declare (``CONTRACTS``), by name."""
    out = {}
    for backend in backends.names():
        out.update(getattr(_adapter(backend), "CONTRACTS", {}))
    return out


def twin_named(name: str) -> twins.Twin:
    """The twin of the declared contract called ``name``.

    Raises
    ------
    ValueError
        For an unknown name (listing the declared ones).
    """
    contracts = declared()
    if name not in contracts:
        raise ValueError(f"unknown twin {name!r} (expected one of: {', '.join(contracts)})")
    return twins.Twin.of(contracts[name])


def spike_steps(times: np.ndarray, dt: float, stamp: str) -> np.ndarray:
    """The grid step of each spike time (see the module docstring)."""
    times = np.asarray(times, dtype=float)
    if stamp == "crossing":
        return np.ceil(times / dt - STEP_EPS).astype(np.int64)
    return np.rint(times / dt).astype(np.int64)


def _differences(neuron_a, steps_a, neuron_b, steps_b, n_steps: int):
    """The (neuron, step) keys whose spike counts differ between two populations, and by how much."""
    width = n_steps + 2
    keys_a = np.asarray(neuron_a, dtype=np.int64) * width + np.asarray(steps_a, dtype=np.int64)
    keys_b = np.asarray(neuron_b, dtype=np.int64) * width + np.asarray(steps_b, dtype=np.int64)
    keys = np.union1d(keys_a, keys_b)
    count_a = np.bincount(np.searchsorted(keys, keys_a), minlength=keys.size)
    count_b = np.bincount(np.searchsorted(keys, keys_b), minlength=keys.size)
    differ = count_a != count_b
    return keys[differ], np.abs(count_a - count_b)[differ], width


def differing_spikes(neuron_a, steps_a, neuron_b, steps_b, n_steps: int,
                     ignore=()) -> tuple[int, int | None, int | None]:
    """``(count, neuron, step)``: how many spikes differ between two populations' (neuron, step) multisets,
    and the earliest step where they differ (with its neuron; ``None`` when they agree). Neurons in
    ``ignore`` are left out."""
    keys, counts, width = _differences(neuron_a, steps_a, neuron_b, steps_b, n_steps)
    keep = ~np.isin(keys // width, np.asarray(list(ignore), dtype=np.int64))
    keys, counts = keys[keep], counts[keep]
    if not keys.size:
        return 0, None, None
    first = keys[np.argmin(keys % width)]
    return int(counts.sum()), int(first // width), int(first % width)


def rounding_sensitive(spec: LIFSpec, drive: Drive, twin: twins.Twin) -> np.ndarray:
    """Neurons whose spikes rounding can decide: the twin run with the threshold ``delta`` lower and
    ``delta`` higher (the contract's voltage tolerance) puts their spikes in different steps. A constant
    drive at the rheobase is one: ``V`` approaches ``V_th`` within a few ulps, and whether and when it
    crosses depends on each simulator's frame. Such a neuron's differences are no evidence either way."""
    delta = VOLTAGE_RTOL * (spec.V_th - spec.V_reset)
    stamp = twin.conventions_for(spec).spike_stamp
    _, n_lo, t_lo = twin.simulate(spec.replace(V_th=spec.V_th - delta), drive, record_v=False)
    _, n_hi, t_hi = twin.simulate(spec.replace(V_th=spec.V_th + delta), drive, record_v=False)
    keys, _, width = _differences(n_lo, spike_steps(t_lo, drive.dt, stamp), n_hi,
                                  spike_steps(t_hi, drive.dt, stamp), drive.n_steps)
    return np.unique(keys // width)


def contract_rows(label: str, backend: str, spec: LIFSpec, drive: Drive, settings: RunSettings,
                  result: Result, module: str | None = None) -> list[Row]:
    """The contract verdicts of one backend run (every neuron of ``result``) against its twin on the
    same drive (``module``: the registered backend a named configuration runs); none for a backend without
    a twin, or for a cell with a synaptic current or noise (the twins model neither; module docstring)."""
    if spec.tau_syn is not None or spec.sigma > 0:
        return []
    twin = twin_of(module or backend, settings)
    if twin is None:
        return []
    record_v = result.v is not None
    v, neuron, time = twin.simulate(spec, drive, record_v=record_v)
    stamp = twin.conventions_for(spec).spike_stamp
    ref = f"twin:{twin.name}"
    dt = drive.dt
    mine = spike_steps(result.spike_time, dt, stamp)
    theirs = spike_steps(time, dt, stamp)
    sensitive = rounding_sensitive(spec, drive, twin)
    n, which, step = differing_spikes(result.spike_neuron, mine, neuron, theirs, drive.n_steps, sensitive)
    decided = sensitive.size < drive.n_neurons
    rows = [row(label, backend, ref, "contract_spike_steps", n, "1", 0.0 if decided else None)]
    if sensitive.size:
        rows.append(row(label, backend, ref, "contract_rounding_sensitive_neurons", sensitive.size, "1"))
    if step is not None:
        rows.append(row(label, backend, ref, "contract_first_differing_spike", step * dt, "s"))
    if record_v:
        delta = VOLTAGE_RTOL * (spec.V_th - spec.V_reset)
        keep = np.setdiff1d(np.arange(drive.n_neurons), sensitive)
        err = float(np.max(np.abs(result.v[:, keep] - v[:, keep]))) if v.size and keep.size else 0.0
        rows.append(row(label, backend, ref, "contract_voltage_max_abs", err, "V", delta if decided else None))
    if stamp == "crossing" and n == 0 and time.size:
        rows.append(row(label, backend, ref, "contract_spike_time_bound_ratio",
                        _crossing_ratio(spec, drive, result.spike_time, neuron, time, theirs), "1", 1.0))
    return rows


def _crossing_ratio(spec: LIFSpec, drive: Drive, got, neuron, want, steps) -> float:
    """``max |t - t_twin| / bound`` of crossing-time stamps in the same steps (see the module docstring).
    Both arrays are sorted by (neuron, time) and hold the same (neuron, step) pairs."""
    delta = VOLTAGE_RTOL * (spec.V_th - spec.V_reset)
    column = neuron if drive.waveform.shape[1] > 1 else np.zeros_like(neuron)
    current = drive.waveform[np.maximum(steps - 1, 0), column] * drive.scale[neuron]
    slope = np.maximum(cf.threshold_slope(spec, current), np.finfo(float).tiny)
    bound = delta / slope + 8 * np.spacing(np.abs(want))
    return float(np.max(np.abs(np.asarray(got) - want) / bound))


def merge(studies: list[list[Row]]) -> list[Row]:
    """One set of contract rows for several runs of one backend (a convergence study's dts): the
    differing spikes added up, the largest voltage difference and spike-time ratio, the first differing
    spike of the first run that has one."""
    merged: dict[str, Row] = {}
    for rows in studies:
        for r in rows:
            old = merged.get(r.metric)
            if old is None:
                merged[r.metric] = r
            elif r.metric in ("contract_spike_steps", "contract_rounding_sensitive_neurons"):
                tolerance = r.tolerance if old.tolerance is None else old.tolerance
                merged[r.metric] = row(r.stimulus, r.backend, r.reference, r.metric, old.value + r.value, r.unit,
                                       tolerance)
            elif r.metric != "contract_first_differing_spike" and r.value > old.value:
                merged[r.metric] = r
    order = ("contract_spike_steps", "contract_rounding_sensitive_neurons", "contract_first_differing_spike",
             "contract_voltage_max_abs", "contract_spike_time_bound_ratio")
    return [merged[m] for m in order if m in merged]


def differing_per_neuron(neuron_a, steps_a, neuron_b, steps_b, n_steps: int, n_neurons: int) -> np.ndarray:
    """How many spikes of each neuron fall in another grid step in one population than in the other,
    shape (n_neurons,) (the per-neuron count behind ``contract_spike_steps``)."""
    keys, counts, width = _differences(neuron_a, steps_a, neuron_b, steps_b, n_steps)
    return np.bincount(keys // width, weights=counts, minlength=n_neurons).astype(np.int64)
