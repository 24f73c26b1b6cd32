"""The snnTorch backend: ``snn.Leaky`` (exact exponential step) or ``snn.Lapicque`` (forward Euler).

snnTorch is dimensionless; the physical cell is mapped onto it with ``mem = V - V_reset`` (float64
tensors throughout, so that comparisons with the other backends are meaningful; snnTorch's own
defaults are float32)::

    Leaky(beta, threshold, reset_mechanism="zero", reset_delay=False), one call per step k:
        beta = exp(-dt/tau_m),  threshold = V_th - V_reset,
        x_k = (1 - beta) (E_L - V_reset + R I_k)
        reset = H(mem - threshold)                    # from the PREVIOUS membrane (0 here, see below)
        mem  <- beta (1 - reset) mem + x_k            # = exact exponential step of the LIF
        spk   = H(mem - threshold)                    # strict >
        mem  <- mem - (spk - reset) mem               # reset_delay=False: reset to 0 in the same call
    so sample k+1 is V_reset in the step whose update crossed, and the spike is stamped t_k+1 (the
    same rule as the reference's grid crossing with t_ref = 0).

    Lapicque(R, C, time_step=dt, threshold, reset_mechanism="zero"), one call per step k:
        mem <- (1 - reset) (input_k R dt/(R C) + (1 - dt/(R C)) mem),   input_k = (E_L - V_reset)/R + I_k
        spk  = H(mem - threshold)
    Lapicque stores beta = exp(-dt/RC) but steps with forward Euler's 1 - dt/RC; it has no
    ``reset_delay`` option: the reset is computed from the previous membrane, so the sample at the
    spike step keeps the supra-threshold value and the next step is discarded (V = V_reset there),
    a dead time of one step.

Options (``RunSettings.options``): ``model`` = ``"leaky"`` (default) or ``"lapicque"``.
snnTorch has no refractory period: specifications with ``t_ref > 0`` are not representable.
``method = "euler"`` is representable with Lapicque (forward Euler) and, for a cell with a synapse, with
Synaptic's Euler factors (below); Leaky integrates exactly and refuses it (:data:`REASON_EULER`).

Model variants (:attr:`models.spec.LIFSpec.features`; plain cells run exactly as above):

- Reset by subtraction: ``reset_mechanism="subtract"`` (``mem <- mem - threshold``, i.e.
  ``V <- V - (V_th - V_reset)``), ``reset_delay=False``: one subtraction per spike and at most one spike per
  call; a membrane still above threshold spikes again in the next call.
- Synaptic current: ``snn.Synaptic(alpha, beta, threshold, reset_mechanism, reset_delay=False)``, one call
  per step: ``syn <- alpha syn + x_k; mem <- beta mem + syn`` (then the spike and reset as Leaky). The
  membrane receives the whole of ``syn`` each step, so ``syn`` carries both the leak/drive term
  ``c_k`` and the synaptic term ``s_k`` of the exact update ``mem_k+1 = beta mem_k + c_k + s_k``
  (``s_k = P21 I_syn,k``, see :mod:`reference.synaptic`). With ``alpha = exp(-dt/tau_syn)`` the input is

      x_k = c_k - alpha c_k-1 + P21 J_k        (J_k: the weights arriving at t_k; c_-1 = 0)

  so that ``syn_k+1 = c_k + s_k`` exactly: the drive term is fed "pre-whitened" through the synaptic
  filter and the synaptic term is the exact propagator. ``RunSettings.method = "euler"`` uses Euler's
  factors instead: ``alpha = 1 - dt/tau_syn``, ``beta = 1 - dt/tau_m``, ``c_k = dt/tau_m (E_L - V_reset +
  R I_k)``, coupling ``dt R/tau_m``. The Lapicque option is not offered with a synapse or a subtractive
  reset.
- White noise: not representable (snnTorch's neurons have no noise term).
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

NAME = "snntorch"
LIBRARY = "snntorch"

MODELS = ("leaky", "lapicque")
DEFAULT_MODEL = "leaky"
#: Options a comparison file may set (``[simulation.options.snntorch]``): key -> allowed values, default first.
OPTIONS = {"model": MODELS}

REASON_REFRACTORY = "snnTorch has no refractory period"
REASON_NOISE = "snnTorch's neurons have no noise term (white-noise current)"
#: ``method = "euler"`` with the Leaky model: Leaky steps with beta = exp(-dt/tau) (exact); run anyway, its
#: exact result would be reported as Euler's and fail Euler's order check. Lapicque IS forward Euler, and
#: Synaptic takes Euler's factors (see the module docstring).
REASON_EULER = ("snnTorch's Leaky integrates exactly (beta = exp(-dt/tau)); it has no forward-Euler step for "
                "method = \"euler\" (the Lapicque model, option model = \"lapicque\", is forward Euler)")

#: Measured with snnTorch 1.0 / torch 2.x: the spike tensor is float32 (Heaviside's ``.float()`` times the
#: float32 ``graded_spikes_factor``), and torch's promotion lets a 1-d float32 tensor win over a 0-d float64
#: one, so ``mem - spk * threshold`` subtracts the threshold ROUNDED TO FLOAT32 when the threshold is a
#: scalar tensor (error up to 2**-24 of the threshold per spike, accumulating over spikes). The variant
#: runs give the threshold as a float64 tensor of shape (N,), which promotes to float64.
THRESHOLD_NOTE = ("threshold given as a float64 tensor of shape (N,): with a 0-d float64 threshold snnTorch "
                  "subtracts float32(threshold) (float32 spikes x 0-d tensor promote to float32)")


#: snnTorch's written rule for each model (the twins of its contract verdicts): Leaky is the plain reference
#: without refractory period (one subtraction per call for reset by subtraction); Lapicque is forward Euler
#: whose reset, computed from the previous membrane, keeps the spike step's sample and discards the next
#: step's update.
CONTRACTS = {c.name: c for c in (
    Contract("snntorch-leaky", NAME, "exact", (("model", "leaky"),), Conventions(),
             "snn.Leaky (beta = exp(-dt/tau), reset to zero, reset_delay=False): the plain reference without "
             "refractory period", subtract="subtract-once"),
    Contract("snntorch-lapicque", NAME, "euler", (("model", "lapicque"),),
             Conventions(integrator="euler", refractory="dead-step", record="before-reset"),
             "snn.Lapicque: forward Euler; the reset computed from the previous membrane keeps the "
             "supra-threshold sample and discards the next step's update"),
)}


def contract(settings: RunSettings) -> Contract:
    """The written rule of a run with ``settings`` (its ``model`` option)."""
    return CONTRACTS[f"snntorch-{settings.option('model', DEFAULT_MODEL)}"]


def conventions(settings: RunSettings) -> Conventions:
    """The conventions of a run with ``settings`` (:func:`contract`)."""
    return contract(settings).conventions


def version() -> str:
    """The installed snnTorch version (package metadata; nothing imported)."""
    return importlib.metadata.version("snntorch")


#: Why Lapicque refuses ``method = "exact"``.
REASON_LAPICQUE_EXACT = ("snn.Lapicque integrates with forward Euler (it stores beta = exp(-dt/RC) but updates "
                         "with 1 - dt/RC); method = \"exact\" asks for exact integration: use model \"leaky\"")


def representable(spec: LIFSpec, settings: RunSettings) -> str | None:
    """``None`` for ``t_ref = 0``; snnTorch has no refractory period. With ``method = "euler"`` only
    Lapicque (forward Euler) and, for a cell with a synapse, Synaptic with Euler's factors; Leaky is exact."""
    model = settings.choice("model", MODELS, DEFAULT_MODEL, NAME)
    if settings.method == "euler" and model == "leaky" and spec.tau_syn is None:
        return REASON_EULER
    if spec.t_ref > 0:
        return f"{REASON_REFRACTORY} (t_ref = {spec.t_ref * 1e3:g} ms)"
    if spec.sigma > 0:
        return REASON_NOISE
    if model == "lapicque" and not spec.leak:
        return ("the Lapicque option needs a finite R (snn.Lapicque(R, C)); the membrane without leak is "
                "model 'leaky' with beta = 1")
    if model == "lapicque" and not spec.is_plain:
        return ("the Lapicque option is mapped for the plain cell only (reset to zero, no synapse); use "
                "model 'leaky'")
    if model == "lapicque" and settings.method != "euler":
        return REASON_LAPICQUE_EXACT
    return None


def leaky_parameters(spec: LIFSpec, dt: float) -> dict:
    """Leaky's numbers: ``beta``, ``threshold`` (V), input offset and gain so that
    ``x_k = offset + gain I_k`` (V, V/A). Without leak ``beta = 1``, ``x_k = dt I_k/C``."""
    if not spec.leak:   # C dV/dt = I: beta = 1 exactly, x_k = dt I_k/C
        return {"beta": 1.0, "threshold": spec.V_th - spec.V_reset, "offset": 0.0, "gain": dt / spec.C}
    one_minus_beta = -math.expm1(-dt / spec.tau_m)
    return {"beta": math.exp(-dt / spec.tau_m), "threshold": spec.V_th - spec.V_reset,
            "offset": one_minus_beta * (spec.E_L - spec.V_reset), "gain": one_minus_beta * spec.R}


def lapicque_parameters(spec: LIFSpec, dt: float) -> dict:
    """Lapicque's numbers: ``R`` (Ohm), ``C`` (F), ``time_step`` (s), ``threshold`` (V), and the input
    ``input_k = offset + I_k`` with offset ``(E_L - V_reset)/R`` (A)."""
    return {"R": spec.R, "C": spec.C, "time_step": dt, "threshold": spec.V_th - spec.V_reset,
            "offset": (spec.E_L - spec.V_reset) / spec.R, "gain": 1.0}


def _neuron(model: str, numbers: dict, size: int | None = None):
    """The snnTorch module, every parameter a float64 tensor (the threshold of shape (size,) when given,
    see :data:`THRESHOLD_NOTE`)."""
    import snntorch as snn
    import torch

    def f64(value):
        return torch.tensor(value, dtype=torch.float64)

    def threshold():
        value = numbers["threshold"]
        return f64(value) if size is None else torch.full((size,), value, dtype=torch.float64)

    if model == "synaptic":
        return snn.Synaptic(alpha=f64(numbers["alpha"]), beta=f64(numbers["beta"]), threshold=threshold(),
                            reset_mechanism=numbers["reset"], reset_delay=False)
    if model == "leaky":
        return snn.Leaky(beta=f64(numbers["beta"]), threshold=threshold(),
                         reset_mechanism=numbers.get("reset", "zero"), reset_delay=False)
    return snn.Lapicque(R=f64(numbers["R"]), C=f64(numbers["C"]), time_step=f64(numbers["time_step"]),
                        threshold=f64(numbers["threshold"]), reset_mechanism="zero")


def _forget(neuron) -> None:
    """snnTorch keeps every neuron it builds in a class-level list; take ours out again."""
    from snntorch import SpikingNeuron
    SpikingNeuron.instances[:] = [m for m in SpikingNeuron.instances if m is not neuron]


class _Recorder:
    """What one call per step leaves behind: the spikes of each call (stamped at the end of its step) and,
    for the first ``n_record`` neurons, ``V = mem + V_reset`` after it. The step's tensors are kept as they
    are and converted a chunk of steps at a time (at most :data:`CHUNK_VALUES` values per chunk), instead
    of three numpy calls per step."""

    CHUNK_VALUES = 1 << 20

    def __init__(self, n_steps: int, n_neurons: int, n_record: int, v_init, v_reset):
        """``v_init``, ``v_reset``: one value (V), or one per neuron for neurons of several cells."""
        first = (lambda a: a if np.ndim(a) == 0 else np.asarray(a)[:n_record])
        self.v_reset, self.n_record = first(v_reset), n_record
        self.trace = np.empty((n_steps + 1, n_record)) if n_record else None
        if n_record:
            self.trace[0] = first(v_init)
        self.partial = 0 < n_record < n_neurons
        self.neurons, self.steps = [], []
        self.rows = max(1, min(1024, self.CHUNK_VALUES // max(n_neurons, 1)))
        self.spikes, self.mems, self.done = [], [], 0

    def record(self, spk, mem) -> None:
        self.spikes.append(spk)
        if self.trace is not None:
            self.mems.append(mem[:self.n_record] if self.partial else mem)
        if len(self.spikes) == self.rows:
            self.flush()

    def flush(self) -> None:
        """Convert the pending steps: spike (step, neuron) pairs in step order, neurons ascending."""
        import torch

        if not self.spikes:
            return
        rows = len(self.spikes)
        steps, neurons = np.nonzero(torch.stack(self.spikes).numpy())
        self.neurons.append(neurons)
        self.steps.append(steps + self.done + 1)
        if self.trace is not None:
            self.trace[self.done + 1:self.done + 1 + rows] = torch.stack(self.mems).numpy() + self.v_reset
        self.done += rows
        self.spikes, self.mems = [], []

    def result(self):
        self.flush()
        if not self.neurons:
            return self.trace, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return self.trace, np.concatenate(self.neurons), np.concatenate(self.steps)


def _loop(neuron, n_steps: int, x_at, constant: bool, n_neurons: int, n_record: int, v_init, v_reset):
    """Call the neuron once per step with the input ``x_at(k)`` (numpy, shape (N,); computed once when
    ``constant``) from the membrane ``v_init - v_reset`` (one value, or one per neuron for neurons of
    several cells); returns the trace of the first ``n_record`` neurons (or None) and the spike (neuron,
    step) lists."""
    import torch

    mem = torch.from_numpy(np.broadcast_to(np.subtract(v_init, v_reset, dtype=np.float64), (n_neurons,)).copy())
    recorder = _Recorder(n_steps, n_neurons, n_record, v_init, v_reset)
    x = None
    with torch.no_grad():
        for k in range(n_steps):
            if x is None or not constant:
                x = torch.from_numpy(x_at(k))
            spk, mem = neuron(x, mem)
            recorder.record(spk, mem)
    return recorder.result()


def run(spec: LIFSpec, drive: Drive, settings: RunSettings) -> Result:
    """Simulate ``drive.n_neurons`` snnTorch neurons as one float64 tensor of shape (N,).

    Parameters
    ----------
    spec : LIFSpec
        Must have ``t_ref = 0``.
    drive : Drive
        Input currents (A) for N neurons; its ``dt`` and ``n_steps`` must be the settings'.
    settings : RunSettings
        ``options["model"]`` picks Leaky or Lapicque; ``record_v`` records ``V = mem + V_reset``.

    Returns
    -------
    Result
        ``v`` of shape (n_steps + 1, N) in volts (or ``None``); the spike of call k at ``t_k+1``.

    Raises
    ------
    NotRepresentable
        When ``t_ref > 0``.
    """
    settings.require_grid_of(drive)
    reason = representable(spec, settings)
    if reason is not None:
        raise NotRepresentable(NAME, reason)
    if not spec.is_plain:
        return _run_variant(spec, drive, settings)
    model = settings.choice("model", MODELS, DEFAULT_MODEL, NAME)
    numbers = (leaky_parameters if model == "leaky" else lapicque_parameters)(spec, drive.dt)
    neuron = _neuron(model, numbers)
    try:
        trace, neuron_idx, steps = _loop(
            neuron, drive.n_steps, lambda k: numbers["offset"] + numbers["gain"] * drive.at(k),
            bool(np.all(drive.waveform == drive.waveform[0])), drive.n_neurons,
            drive.n_neurons if settings.record_v else 0, spec.V_init, spec.V_reset)
        stored_beta = float(neuron.beta.reshape(-1)[0])
    finally:
        _forget(neuron)
    t = np.arange(drive.n_steps + 1) * drive.dt
    return Result(t=t, v=trace, spike_neuron=neuron_idx, spike_time=steps * drive.dt,
                  n_neurons=drive.n_neurons, meta=metadata(spec, drive, model, numbers, stored_beta))


def run_cells(runs: list, settings: RunSettings) -> list[Result]:
    """Several plain cells, each with its constant drive, as one Leaky tensor: ``beta``, ``threshold``, the
    input ``offset + gain I`` and the initial membrane per neuron (:func:`leaky_parameters` of each cell);
    one result per run, each what :func:`run` gives it (``tests/test_snntorch.py`` checks spikes and voltages
    bit for bit). Lapicque, and runs that are not such a population, run one after the other."""
    pop = population_of(runs, settings, representable, NAME)
    if pop is None or settings.choice("model", MODELS, DEFAULT_MODEL, NAME) != "leaky":
        return [run(spec, drive, settings) for spec, drive in runs]
    specs, drive = pop.specs, pop.drive
    numbers = [leaky_parameters(spec, drive.dt) for spec in specs]
    each = {k: pop.per_neuron([q[k] for q in numbers]) for k in ("beta", "threshold", "offset", "gain")}
    x = each["offset"] + each["gain"] * drive.at(0)
    n = drive.n_neurons
    neuron = _neuron("leaky", {"beta": each["beta"], "threshold": each["threshold"]})
    try:
        trace, neuron_idx, steps = _loop(neuron, drive.n_steps, lambda k: x, True, n, n if settings.record_v else 0,
                                         pop.per_neuron([s.V_init for s in specs]),
                                         pop.per_neuron([s.V_reset for s in specs]))
        stored = neuron.beta.reshape(-1).tolist()
    finally:
        _forget(neuron)
    whole = Result(t=np.arange(drive.n_steps + 1) * drive.dt, v=trace, spike_neuron=neuron_idx,
                   spike_time=steps * drive.dt, n_neurons=n, meta=metadata(specs[0], pop.drives[0], "leaky",
                                                                          numbers[0], stored[0]))
    return pop.split(whole, [metadata(spec, d, "leaky", q, stored[int(a)])
                             for spec, d, q, a in zip(specs, pop.drives, numbers, pop.bounds[:-1])])


def run_population(spec: LIFSpec, workloads: list) -> list[Result]:
    """Several workloads, each with its own ``dt``, length and neurons, as ONE Leaky population.

    snnTorch is dimensionless: ``dt`` enters only through ``beta`` and the input scale, and Leaky takes
    ``beta`` per neuron. So an f-I sweep and every run of a convergence study can share one tensor and one
    call per step (the longest workload's number of steps) instead of one loop each: the call, not the
    neuron, is what costs (about 200 us per call on a 2-core Xeon, nearly independent of N up to
    hundreds of neurons); the stimuli of a comparison join them. A neuron's calls after its own workload
    ends are discarded. Every operation is
    elementwise, so each result is identical bit for bit to ``run(spec, drive, settings)`` (tested);
    Lapicque and the model variants are run one workload at a time.

    Parameters
    ----------
    spec : LIFSpec
        The cell, shared by every workload.
    workloads : list of (Drive, RunSettings)
        What :func:`run` would take, one pair per workload.

    Returns
    -------
    list of Result
        One per workload, in order.
    """
    for drive, settings in workloads:
        settings.require_grid_of(drive)
        reason = representable(spec, settings)
        if reason is not None:
            raise NotRepresentable(NAME, reason)
    models = {settings.choice("model", MODELS, DEFAULT_MODEL, NAME) for _, settings in workloads}
    if not spec.is_plain or models != {"leaky"} or len(workloads) < 2 or \
            any(drive.n_steps == 0 for drive, _ in workloads):
        return [run(spec, drive, settings) for drive, settings in workloads]
    # the workloads whose trace is recorded first, so that the recorder keeps one leading slice
    order = sorted(range(len(workloads)), key=lambda i: not workloads[i][1].record_v)
    drives = [workloads[i][0] for i in order]
    numbers = {i: leaky_parameters(spec, workloads[i][0].dt) for i in order}
    start = dict(zip(order, np.cumsum([0] + [d.n_neurons for d in drives])[:-1].tolist()))

    def per_neuron(key):
        return np.concatenate([np.full(workloads[i][0].n_neurons, numbers[i][key]) for i in order])

    offset, gain = per_neuron("offset"), per_neuron("gain")
    n_steps = max(d.n_steps for d in drives)
    n_neurons = sum(d.n_neurons for d in drives)
    n_record = sum(workloads[i][0].n_neurons for i in order if workloads[i][1].record_v)
    current = np.concatenate([d.at(0) for d in drives])
    edges = np.cumsum([0] + [d.n_neurons for d in drives])
    varying = [(slice(a, b), d) for a, b, d in zip(edges[:-1], edges[1:], drives)
               if not np.all(d.waveform == d.waveform[0])]

    def x_at(k):
        for part, d in varying:  # each neuron's own sample k (its last one once its workload has ended)
            current[part] = d.at(min(k, d.n_steps - 1))
        return offset + gain * current

    neuron = _neuron("leaky", {"beta": per_neuron("beta"), "threshold": spec.V_th - spec.V_reset})
    try:
        trace, neuron_idx, steps = _loop(neuron, n_steps, x_at, not varying, n_neurons, n_record, spec.V_init,
                                         spec.V_reset)
        stored = neuron.beta.reshape(-1).tolist()
    finally:
        _forget(neuron)
    results = []
    for i, (drive, settings) in enumerate(workloads):
        a = start[i]
        keep = (neuron_idx >= a) & (neuron_idx < a + drive.n_neurons) & (steps <= drive.n_steps)
        v = np.array(trace[:drive.n_steps + 1, a:a + drive.n_neurons]) if settings.record_v else None
        results.append(Result(t=np.arange(drive.n_steps + 1) * drive.dt, v=v, spike_neuron=neuron_idx[keep] - a,
                              spike_time=steps[keep] * drive.dt, n_neurons=drive.n_neurons,
                              meta=metadata(spec, drive, "leaky", numbers[i], stored[a])))
    return results

def synaptic_parameters(spec: LIFSpec, dt: float, integrator: str) -> dict:
    """Synaptic's numbers: ``alpha``, ``beta``, ``threshold`` (V), drive ``c_k = offset + gain I_k`` (V, V/A)
    and the synaptic coupling ``p_syn`` (V/A) of the jumps (see the module docstring)."""

    if integrator == "exact":
        one_minus_beta = -math.expm1(-dt / spec.tau_m)
        alpha, beta, p_syn = math.exp(-dt / spec.tau_syn), math.exp(-dt / spec.tau_m), p21(spec, dt)
    else:
        one_minus_beta = dt / spec.tau_m
        alpha, beta, p_syn = 1.0 - dt / spec.tau_syn, 1.0 - dt / spec.tau_m, spec.R * dt / spec.tau_m
    return {"alpha": alpha, "beta": beta, "threshold": spec.V_th - spec.V_reset,
            "offset": one_minus_beta * (spec.E_L - spec.V_reset), "gain": one_minus_beta * spec.R,
            "p_syn": p_syn, "reset": "zero" if spec.reset == "value" else "subtract"}


def _run_variant(spec: LIFSpec, drive: Drive, settings: RunSettings) -> Result:
    """A cell with a synapse (snn.Synaptic) and/or reset by subtraction (Leaky or Synaptic, 'subtract')."""
    integrator = "euler" if settings.method == "euler" and spec.tau_syn is not None else "exact"
    if spec.tau_syn is None:
        model, numbers = "leaky", dict(leaky_parameters(spec, drive.dt), reset="subtract")
    else:
        model, numbers = "synaptic", synaptic_parameters(spec, drive.dt, integrator)
    neuron = _neuron(model, numbers, drive.n_neurons)
    try:
        trace, neuron_idx, steps = _variant_loop(neuron, model, spec, drive, numbers, settings.record_v)
    finally:
        _forget(neuron)
    t = np.arange(drive.n_steps + 1) * drive.dt
    numerics = {"synapse": None if spec.tau_syn is None else integrator, "noise": None, "reset": spec.reset,
                "spikes_per_step": "one"}
    return Result(t=t, v=trace, spike_neuron=neuron_idx, spike_time=steps * drive.dt,
                  n_neurons=drive.n_neurons, meta=variant_metadata(spec, drive, model, numbers, integrator),
                  extra={"variant": numerics})


def _variant_loop(neuron, model: str, spec: LIFSpec, drive: Drive, numbers: dict, record_v: bool):
    """Leaky (subtractive reset) or Synaptic, one call per step; returns the trace and spike lists."""
    import torch

    n = drive.n_neurons
    mem = torch.full((n,), spec.V_init - spec.V_reset, dtype=torch.float64)
    syn = torch.zeros(n, dtype=torch.float64)
    jumps = np.zeros(drive.n_steps) if spec.spike_input is None else \
        spec.spike_input.jumps(drive.dt, drive.n_steps)
    recorder = _Recorder(drive.n_steps, n, n if record_v else 0, spec.V_init, spec.V_reset)
    c_prev = np.zeros(n)
    with torch.no_grad():
        for k in range(drive.n_steps):
            c_k = numbers["offset"] + numbers["gain"] * drive.at(k)
            if model == "leaky":
                spk, mem = neuron(torch.from_numpy(c_k), mem)
            else:
                x = c_k - numbers["alpha"] * c_prev + numbers["p_syn"] * jumps[k]
                spk, syn, mem = neuron(torch.from_numpy(x), syn, mem)
                c_prev = c_k
            recorder.record(spk, mem)
    return recorder.result()


def variant_metadata(spec: LIFSpec, drive: Drive, model: str, numbers: dict, integrator: str) -> Metadata:
    """What snnTorch did with a variant cell (see the module docstring)."""
    if model == "leaky":
        method = ("snn.Leaky: exact exponential step mem <- beta mem + (1 - beta)(E_L - V_reset + R I_k), "
                  "float64")
    else:
        method = (f"snn.Synaptic ({integrator} factors): syn <- alpha syn + x_k, mem <- beta mem + syn, x_k = "
                  "c_k - alpha c_k-1 + p_syn J_k (drive pre-whitened through the synaptic filter), float64")
    reset = ("reset_mechanism='zero', reset_delay=False; the synaptic current is not reset"
             if spec.reset == "value" else
             "by subtraction (reset_mechanism='subtract', reset_delay=False): mem <- mem - (V_th - V_reset), "
             "one spike per call")
    notes = [f"mapping: mem = V - V_reset; {numbers}", THRESHOLD_NOTE,
             "subtractive-reset semantics: snntorch#341, snntorch#364"]
    if spec.spike_input is not None:
        notes.append("input spikes arriving at t_k enter x_k of call k (the call over (t_k, t_k+1])")
    return Metadata(
        backend=NAME, version=version(), dt=drive.dt, method=method,
        initial_state=f"mem = V_init - V_reset = {spec.V_init - spec.V_reset!r}, syn = 0 (float64 tensors)",
        **statements(CONTRACTS["snntorch-leaky"].conventions_for(spec),
                     threshold="snnTorch: H(mem - threshold), strict >", spike_stamp="call k",
                     sampling="sample k+1 is mem after call k plus V_reset, already reset (reset_delay=False); "
                              "sample 0 is V_init",
                     refractory=REASON_REFRACTORY + " (t_ref = 0 only)",
                     input_timing="sample k and the spikes arriving at t_k are the input of call k",
                     reset=reset),
        notes=tuple(notes))


def metadata(spec: LIFSpec, drive: Drive, model: str, numbers: dict, stored_beta: float) -> Metadata:
    """What snnTorch did, in words (see the module docstring): the statements of the model's contract
    (:func:`models.conventions.statements`) with snnTorch's mechanism for each."""
    rule = CONTRACTS[f"snntorch-{model}"].conventions_for(spec)
    common = dict(backend=NAME, version=version(), dt=drive.dt,
                  initial_state=f"mem = V_init - V_reset = {spec.V_init - spec.V_reset!r} (float64 tensor)")
    detail = dict(threshold="snnTorch: H(mem - threshold), strict >", spike_stamp="call k",
                  input_timing="sample k is the input of call k")
    mapping = f"mapping: mem = V - V_reset; {numbers}"
    if model == "leaky":
        return Metadata(
            method="snn.Leaky: exact exponential step mem <- beta mem + (1 - beta)(E_L - V_reset + R I_k), "
                   "float64",
            notes=(mapping, "reset computed from the previous membrane H(mem_prev - thr); with "
                   "reset_delay=False the spike and the reset fall in the same call; subtractive-reset "
                   "semantics: snntorch#341, snntorch#364"),
            **common, **statements(
                rule, refractory=REASON_REFRACTORY + " (t_ref = 0 only)",
                sampling="sample k+1 is mem after call k plus V_reset, already reset (reset_delay=False); "
                         "sample 0 is V_init",
                reset="reset_mechanism='zero', reset_delay=False: in the same call as the spike", **detail))
    return Metadata(
        method=f"snn.Lapicque: forward Euler mem <- (1 - dt/RC) mem + dt/C input, float64; it stores "
               f"beta = exp(-dt/RC) = {stored_beta!r} (float32) but steps with 1 - dt/RC = "
               f"{1 - drive.dt / (spec.R * spec.C)!r}",
        notes=(mapping, "Lapicque has no reset_delay option; subtractive-reset semantics: snntorch#341, "
               "snntorch#364"),
        **common, **statements(
            rule, refractory="none nominally; the reset is applied one call late, discarding that call's "
                             "update: V = V_reset at t_k+2 for a spike at t_k+1",
            sampling="sample k+1 is mem after call k plus V_reset; at a spike sample it is the supra-threshold "
                     "value (the reset shows in the next sample); sample 0 is V_init",
            reset="one step late (reset_mechanism='zero' acting on H(mem_prev - thr))", **detail))
