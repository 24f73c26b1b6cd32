"""The Rockpool backend: ``rockpool.nn.modules.LIF`` (numpy), driven through its bias.

Rockpool's step (``rockpool/nn/modules/native/lif.py``, ``LIF.evolve``), ``a = exp(-dt/tau_mem)``::

    Isyn += input_k;  V *= a;  Isyn *= exp(-dt/tau_syn);  V += Isyn + noise_k + bias
    n = floor(V/threshold) if V >= threshold else 0   (capped at max_spikes_per_dt)
    V -= n threshold                                    (subtractive reset only)

Mapping of the physical cell (``V' = V - V_reset``): ``threshold = V_th - V_reset``, ``tau_mem = tau_m``,
``bias = (1 - a)(E_L - V_reset + R I_k)``, so that ``V' <- a V' + (1 - a)(V'_inf)`` is the exact
exponential step; ``input = 0`` (``Isyn`` stays 0), ``noise_std = 0``. The input therefore enters
through ``bias``: the drive is cut into runs of equal samples (at most :data:`CHUNK` steps each) and
each run is evolved with its own bias, so sample k drives ``(t_k, t_k+1]``.

Differences from the specification, all documented in the result's metadata:

- reset: Rockpool subtracts the threshold, ``V <- V - n (V_th - V_reset)``; a neuron that ends a step at
  ``V >= V_th`` lands at ``V_reset + (V - V_th)``, not at ``V_reset``. The overshoot is less than one
  step's increment at threshold, ``(1 - a)(V_inf - V_th)``, so the two reset rules differ only in
  discrete time and agree as dt -> 0 (NIR PR #63/#129). This adapter treats it as representable with a
  documented difference (see :data:`RESET`).
- several spikes per step (``n > 1``) when the drive is strong; all are stamped at the step's end.
- no refractory period: specifications with ``t_ref > 0`` are not representable.
- exact integration only: ``method = "euler"`` is not representable (:data:`REASON_EULER`).

Rockpool draws its noise from numpy's global generator even when ``noise_std = 0``; the generator's
state is saved and restored around each run.

Model variants (:attr:`models.spec.LIFSpec.features`):

- Reset by subtraction is Rockpool's own rule (several spikes per step; threshold ``>=``).
- Synaptic current: ``tau_syn`` set to the specification's. Rockpool adds the input of step k to ``Isyn``,
  decays it, and adds the decayed value to ``V``, so an input ``x`` at row k contributes ``a_s x`` at step k,
  ``a_s^2 x`` at step k+1, ...; the exact propagator contributes ``P21 w``, ``P21 a_s w``, ... (see
  :mod:`reference.synaptic`). The spikes arriving at ``t_k`` therefore enter input row k (the step over
  ``(t_k, t_k+1]``) as ``x_k = P21 J_k / a_s`` (volts): exact.
- White noise: Rockpool adds ``noise_std sqrt(dt) xi`` to ``V`` each step (a Wiener process "with standard
  deviation noise_std after 1 s" added to the membrane). The sampled white-noise current held over a step
  adds ``(1 - a) R sigma / sqrt(dt) xi`` (:mod:`reference.noise`, ``"exact"``), hence
  ``noise_std = (1 - a) R sigma / dt``. The normals come from numpy's global generator, seeded with
  ``noise_seed`` for the run and restored afterwards.
"""

from __future__ import annotations

import importlib.metadata
import math

import numpy as np

from .conventions import Contract, Conventions, statements
from .drive import Drive
from .errors import NotRepresentable
from .propagators import p21
from .result import Metadata, Result, RunSettings
from .population import population_of
from .spec import LIFSpec

NAME = "rockpool"
LIBRARY = "rockpool"

REASON_REFRACTORY = "Rockpool has no refractory period"
#: ``method = "euler"``: Rockpool's LIF decays with exp(-dt/tau) (exact for the held input of a step); run
#: anyway, its exact result would be reported as Euler's and fail Euler's order check.
REASON_EULER = ("Rockpool's LIF integrates exactly (V *= exp(-dt/tau_mem) each step); it has no "
                "forward-Euler integrator for method = \"euler\"")

#: How Rockpool's reset differs from the specification's (metadata and reports).
RESET = ("by subtraction: V <- V - n (V_th - V_reset) with n = floor((V - V_reset)/(V_th - V_reset)) "
         "spikes; lands at V_reset + (V - V_th) instead of V_reset (a different rule in discrete time; "
         "the overshoot is below one step's increment (1 - exp(-dt/tau_m))(V_inf - V_th))")

#: Longest run of steps evolved in one call.
CHUNK = 4096

#: Largest ``steps x N`` of one call. Rockpool's ``LIF.evolve`` allocates five (steps x N) arrays per
#: call (input, noise -- drawn even when ``noise_std = 0`` --, spikes, V, I_syn, plus the recurrent
#: input), then walks them step by step: with 4 096 steps of 10^4 neurons that is 1.6 GB, and every step
#: touches rows far apart in memory. Calls of at most 2^16 elements (512 kB per array) keep them in the
#: cache; the per-call cost of Rockpool (under 1 ms) stays small against the steps' own cost.
CALL_ELEMENTS = 2 ** 16


def chunk_steps(n_neurons: int) -> int:
    """Steps evolved per call for ``n_neurons`` neurons: :data:`CALL_ELEMENTS` / N, between 1 and
    :data:`CHUNK`."""
    return max(1, min(CHUNK, CALL_ELEMENTS // max(n_neurons, 1)))


#: Rockpool's written rule (the twin of its contract verdicts): ``V >= V_th``, reset by subtraction with every
#: spike of the step, whatever the specification's reset (Rockpool has no other).
CONTRACTS = {c.name: c for c in (
    Contract("rockpool", NAME, "exact", (), Conventions(threshold=">=", reset="subtract"),
             "rockpool.nn.modules.LIF: exact step, V >= V_th, n = floor spikes per step by subtraction"),
)}


def contract(settings: RunSettings) -> Contract:
    """The written rule of a run (one for every setting Rockpool represents)."""
    return CONTRACTS["rockpool"]


def conventions(settings: RunSettings) -> Conventions:
    """The conventions of a run with ``settings`` (:func:`contract`)."""
    return contract(settings).conventions


def version() -> str:
    """The installed Rockpool version (package metadata; nothing imported)."""
    return importlib.metadata.version("rockpool")


def representable(spec: LIFSpec, settings: RunSettings) -> str | None:
    """``None`` for ``t_ref = 0`` and the exact method (the subtractive reset is a documented difference,
    not a refusal)."""
    if settings.method == "euler":
        return REASON_EULER
    if spec.t_ref > 0:
        return f"{REASON_REFRACTORY} (t_ref = {spec.t_ref * 1e3:g} ms)"
    return None


def parameters(spec: LIFSpec, dt: float) -> dict:
    """Rockpool's numbers: ``tau_mem`` (s), ``threshold`` (V), ``dt`` (s), initial ``vmem`` (V), and the
    bias ``offset + gain I`` (V per step, V/A per step); for variant cells also ``tau_syn`` (s), the input
    per ampere of synaptic jump ``input_gain`` (V/A) and ``noise_std`` (V/s^0.5). Without leak
    ``tau_mem = inf`` (Rockpool 3.1 accepts it: its decay ``exp(-dt/tau_mem)`` is exactly 1) and the bias
    ``dt I/C``."""
    if not spec.leak:   # C dV/dt = I: tau_mem = inf is accepted, exp(-dt/inf) = 1 exactly; bias dt I/C
        return {"tau_mem": math.inf, "threshold": spec.V_th - spec.V_reset, "dt": dt,
                "vmem": spec.V_init - spec.V_reset, "noise_std": 0.0, "offset": 0.0, "gain": dt / spec.C}
    one_minus_a = -math.expm1(-dt / spec.tau_m)
    p = {"tau_mem": spec.tau_m, "threshold": spec.V_th - spec.V_reset, "dt": dt,
         "vmem": spec.V_init - spec.V_reset, "noise_std": 0.0,
         "offset": one_minus_a * (spec.E_L - spec.V_reset), "gain": one_minus_a * spec.R}
    if spec.tau_syn is not None:
        p.update(tau_syn=spec.tau_syn, input_gain=p21(spec, dt) / math.exp(-dt / spec.tau_syn))
    if spec.sigma > 0:
        p["noise_std"] = one_minus_a * spec.R * spec.sigma / dt
    return p


def segments(drive: Drive, chunk: int = CHUNK) -> list[tuple[int, int]]:
    """Runs ``[k0, k1)`` of steps with identical samples for every neuron, at most ``chunk`` long."""
    w = drive.waveform
    change = np.flatnonzero(np.any(w[1:] != w[:-1], axis=1)) + 1
    bounds = np.concatenate(([0], change, [drive.n_steps]))
    out = []
    for k0, k1 in zip(bounds[:-1], bounds[1:]):
        out.extend((int(a), int(min(a + chunk, k1))) for a in range(int(k0), int(k1), chunk))
    return out


def _module(spec: LIFSpec, drive: Drive, p: dict):
    """The LIF module with every parameter and state given explicitly."""
    from rockpool.nn.modules import LIF

    n = drive.n_neurons
    module = LIF(n, tau_mem=np.broadcast_to(p["tau_mem"], n).copy(),
                 tau_syn=np.broadcast_to(p.get("tau_syn", p["tau_mem"]), n).copy(), bias=np.zeros(n),
                 threshold=np.broadcast_to(p["threshold"], n).copy(), noise_std=p["noise_std"], dt=drive.dt)
    module.vmem = np.broadcast_to(p["vmem"], n).copy()
    module.isyn = np.zeros((n, 1))
    module.spikes = np.zeros(n)
    return module


def _evolve(module, drive: Drive, p: dict, record_v: bool, jumps=None):
    """Evolve run by run; returns the trace of V' (or None) and the spikes' neuron and step, one entry per
    spike (Rockpool counts several spikes of a neuron in one step). ``jumps`` (A, shape (n_steps,)): synaptic jumps at each grid point, fed as input rows."""
    trace = np.empty((drive.n_steps + 1, drive.n_neurons)) if record_v else None
    if record_v:
        trace[0] = p["vmem"]
    found = []
    zeros = np.zeros((chunk_steps(drive.n_neurons), drive.n_neurons))   # read only by Rockpool: reused
    for k0, k1 in segments(drive, chunk_steps(drive.n_neurons)):
        module.bias = p["offset"] + p["gain"] * drive.at(k0)
        rows = zeros[:k1 - k0]
        if jumps is not None:
            rows = rows + (p["input_gain"] * jumps[k0:k1])[:, None]
        counts, _, record = module(rows, record=record_v)
        step, neuron = np.nonzero(counts[0])
        found.append((neuron, step + k0 + 1, counts[0][step, neuron].astype(np.int64)))
        if record_v:
            trace[k0 + 1:k1 + 1] = record["vmem"][0]
    neuron = np.concatenate([np.repeat(n, c) for n, _, c in found]) if found else np.empty(0, np.int64)
    step = np.concatenate([np.repeat(k, c) for _, k, c in found]) if found else np.empty(0, np.int64)
    return trace, neuron, step


def run(spec: LIFSpec, drive: Drive, settings: RunSettings) -> Result:
    """Simulate ``drive.n_neurons`` Rockpool neurons as one LIF module.

    Parameters
    ----------
    spec : LIFSpec
        Must have ``t_ref = 0``.
    drive : Drive
        Input currents (A) for N neurons; its ``dt`` and ``n_steps`` must be the settings'.
    settings : RunSettings
        ``record_v`` records ``V = V' + V_reset`` after each step (after the subtractive reset).

    Returns
    -------
    Result
        ``v`` of shape (n_steps + 1, N) in volts (or ``None``); each of the n spikes of step k at ``t_k+1``.

    Raises
    ------
    NotRepresentable
        When ``t_ref > 0``.
    """
    settings.require_grid_of(drive)
    reason = representable(spec, settings)
    if reason is not None:
        raise NotRepresentable(NAME, reason)
    p = parameters(spec, drive.dt)
    jumps = None if spec.spike_input is None else spec.spike_input.jumps(drive.dt, drive.n_steps)
    rng_state = np.random.get_state()
    try:
        if spec.sigma > 0:
            np.random.seed(int(spec.noise_seed) % 2**32)
        trace, neuron, step = _evolve(_module(spec, drive, p), drive, p, settings.record_v, jumps)
    finally:
        np.random.set_state(rng_state)
    v = None if trace is None else trace + spec.V_reset
    if v is not None:
        v[0] = spec.V_init
    t = np.arange(drive.n_steps + 1) * drive.dt
    numerics = {"synapse": None if spec.tau_syn is None else "exact", "noise": "zoh" if spec.sigma > 0 else None,
                "reset": "subtract", "spikes_per_step": "several"}
    return Result(t=t, v=v, spike_neuron=neuron, spike_time=step * drive.dt, n_neurons=drive.n_neurons,
                  meta=metadata(spec, drive, p), extra={"variant": numerics})


def run_cells(runs: list, settings: RunSettings) -> list[Result]:
    """Several plain cells, each with its constant drive, as one LIF module: ``tau_mem``, ``threshold``,
    the initial ``vmem`` and the bias ``offset + gain I`` per neuron, the parameters of :func:`parameters`
    for each cell (Rockpool's module takes every one of them per neuron); one result per run, each what
    :func:`run` gives it (``tests/test_rockpool.py`` checks spikes and voltages bit for bit). Runs that are
    not such a population run one after the other."""
    pop = population_of(runs, settings, representable, NAME)
    if pop is None:
        return [run(spec, drive, settings) for spec, drive in runs]
    specs, drive = pop.specs, pop.drive
    ps = [parameters(spec, drive.dt) for spec in specs]
    p = {k: pop.per_neuron([q[k] for q in ps]) for k in ("tau_mem", "threshold", "vmem", "offset", "gain")}
    p.update(dt=drive.dt, noise_std=0.0)
    rng_state = np.random.get_state()
    try:
        trace, neuron, step = _evolve(_module(specs[0], drive, p), drive, p, settings.record_v)
    finally:
        np.random.set_state(rng_state)
    v = None
    if trace is not None:
        v = trace + pop.per_neuron([spec.V_reset for spec in specs])
        v[0] = pop.per_neuron([spec.V_init for spec in specs])
    numerics = {"synapse": None, "noise": None, "reset": "subtract", "spikes_per_step": "several"}
    whole = Result(t=np.arange(drive.n_steps + 1) * drive.dt, v=v, spike_neuron=neuron,
                   spike_time=step * drive.dt, n_neurons=drive.n_neurons, meta=metadata(specs[0], pop.drives[0], ps[0]),
                   extra={"variant": numerics})
    return pop.split(whole, [metadata(spec, d, q) for spec, d, q in zip(specs, pop.drives, ps)])


def metadata(spec: LIFSpec, drive: Drive, p: dict) -> Metadata:
    """What Rockpool did, in words (see the module docstring)."""
    return Metadata(
        backend=NAME, version=version(),
        method="rockpool.nn.modules.LIF (numpy): V' <- exp(-dt/tau_mem) V' + bias, bias = (1 - exp(-dt/tau_m))"
               "(E_L - V_reset + R I_k): exact exponential step for piecewise-constant input",
        dt=drive.dt,
        initial_state=f"vmem = V_init - V_reset = {p['vmem']!r} V, isyn = 0, spikes = 0, noise_std = 0 "
                      "(numpy's global generator is restored after the run)",
        **statements(
            CONTRACTS["rockpool"].conventions_for(spec),
            threshold="Rockpool: V' >= threshold",
            spike_stamp="n = floor(V'/threshold) spikes per step (up to max_spikes_per_dt = 2**16), all at "
                        "t_k+1",
            sampling="record['vmem'] after each step's update and subtractive reset, plus V_reset; sample 0 "
                     "is V_init",
            refractory=REASON_REFRACTORY + " (t_ref = 0 only)",
            input_timing="the drive is cut into runs of equal samples, each evolved with bias = (1 - a)(E_L - "
                         "V_reset + R I) and zero input",
            reset=RESET if spec.reset == "value" else "as specified, " + RESET),
        notes=(f"mapping: V' = V - V_reset; {p}",
               "reset by subtraction vs reset to a value differ only in discrete time: NIR PR #63, #129; "
               "snntorch#341, snntorch#364") + _variant_notes(spec),
    )


def _variant_notes(spec: LIFSpec) -> tuple:
    notes = []
    if spec.tau_syn is not None:
        notes.append("synaptic current: tau_syn as specified; spikes arriving at t_k enter input row k as "
                     "P21 J_k / exp(-dt/tau_syn) (V), which Rockpool's decay-then-add makes the exact propagator")
    if spec.sigma > 0:
        notes.append(f"white noise: noise_std = (1 - exp(-dt/tau_m)) R sigma/dt, numpy's global generator "
                     f"seeded with {spec.noise_seed} % 2**32 for the run (state restored afterwards); Rockpool "
                     "adds noise_std sqrt(dt) xi to V each step = the sampled current held over the step")
    return tuple(notes)
