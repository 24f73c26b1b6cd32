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
"""

from __future__ import annotations

import importlib.metadata
import math

import numpy as np

from .drive import Drive
from .errors import ComparisonError, NotRepresentable
from .result import Metadata, Result, RunSettings
from .spec import LIFSpec

NAME = "snntorch"
LIBRARY = "snntorch"

MODELS = ("leaky", "lapicque")
DEFAULT_MODEL = "leaky"

REASON_REFRACTORY = "snnTorch has no refractory period"


def version() -> str:
    """The installed snnTorch version (package metadata; nothing imported)."""
    return importlib.metadata.version("snntorch")


def model_of(settings: RunSettings) -> str:
    """The snnTorch neuron asked for by ``settings.options["model"]``.

    Raises
    ------
    ComparisonError
        For a model this adapter does not drive.
    """
    model = settings.option("model", DEFAULT_MODEL)
    if model not in MODELS:
        raise ComparisonError("simulation.options.model", f"expected one of {', '.join(MODELS)} for snntorch",
                              model)
    return model


def representable(spec: LIFSpec, settings: RunSettings) -> str | None:
    """``None`` for ``t_ref = 0``; snnTorch has no refractory period."""
    model_of(settings)
    if spec.t_ref > 0:
        return f"{REASON_REFRACTORY} (t_ref = {spec.t_ref * 1e3:g} ms)"
    return None


def check_grid(drive: Drive, settings: RunSettings) -> None:
    """Refuse a drive sampled on another grid than the settings'."""
    if drive.dt != settings.dt:
        raise ComparisonError("simulation.dt", f"must equal the drive's step ({drive.dt!r} s)", settings.dt)
    if drive.n_steps != settings.n_steps:
        raise ComparisonError("simulation.n_steps", f"must equal the drive's length ({drive.n_steps})",
                              settings.n_steps)


def leaky_parameters(spec: LIFSpec, dt: float) -> dict:
    """Leaky's numbers: ``beta``, ``threshold`` (V), input offset and gain so that
    ``x_k = offset + gain I_k`` (V, V/A)."""
    one_minus_beta = -math.expm1(-dt / spec.tau_m)
    return {"beta": math.exp(-dt / spec.tau_m), "threshold": spec.V_th - spec.V_reset,
            "offset": one_minus_beta * (spec.E_L - spec.V_reset), "gain": one_minus_beta * spec.R}


def lapicque_parameters(spec: LIFSpec, dt: float) -> dict:
    """Lapicque's numbers: ``R`` (Ohm), ``C`` (F), ``time_step`` (s), ``threshold`` (V), and the input
    ``input_k = offset + I_k`` with offset ``(E_L - V_reset)/R`` (A)."""
    return {"R": spec.R, "C": spec.C, "time_step": dt, "threshold": spec.V_th - spec.V_reset,
            "offset": (spec.E_L - spec.V_reset) / spec.R, "gain": 1.0}


def _neuron(model: str, numbers: dict):
    """The snnTorch module, every parameter a float64 tensor."""
    import snntorch as snn
    import torch

    def f64(value):
        return torch.tensor(value, dtype=torch.float64)

    if model == "leaky":
        return snn.Leaky(beta=f64(numbers["beta"]), threshold=f64(numbers["threshold"]),
                         reset_mechanism="zero", reset_delay=False)
    return snn.Lapicque(R=f64(numbers["R"]), C=f64(numbers["C"]), time_step=f64(numbers["time_step"]),
                        threshold=f64(numbers["threshold"]), reset_mechanism="zero")


def _forget(neuron) -> None:
    """snnTorch keeps every neuron it builds in a class-level list; take ours out again."""
    from snntorch import SpikingNeuron
    SpikingNeuron.instances[:] = [m for m in SpikingNeuron.instances if m is not neuron]


def _loop(neuron, spec: LIFSpec, drive: Drive, numbers: dict, record_v: bool):
    """Call the neuron once per step; returns the trace (V) or None and the spike (neuron, step) lists."""
    import torch

    mem = torch.full((drive.n_neurons,), spec.V_init - spec.V_reset, dtype=torch.float64)
    trace = np.empty((drive.n_steps + 1, drive.n_neurons)) if record_v else None
    if record_v:
        trace[0] = spec.V_init
    constant = bool(np.all(drive.waveform == drive.waveform[0]))
    x = None
    neurons, steps = [], []
    with torch.no_grad():
        for k in range(drive.n_steps):
            if x is None or not constant:
                x = torch.from_numpy(numbers["offset"] + numbers["gain"] * drive.at(k))
            spk, mem = neuron(x, mem)
            hit = np.flatnonzero(spk.numpy())
            neurons.append(hit)
            steps.append(np.full(hit.size, k + 1))
            if record_v:
                trace[k + 1] = mem.numpy() + spec.V_reset
    return trace, np.concatenate(neurons), np.concatenate(steps)


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
    check_grid(drive, settings)
    reason = representable(spec, settings)
    if reason is not None:
        raise NotRepresentable(NAME, reason)
    model = model_of(settings)
    numbers = (leaky_parameters if model == "leaky" else lapicque_parameters)(spec, drive.dt)
    neuron = _neuron(model, numbers)
    try:
        trace, neuron_idx, steps = _loop(neuron, spec, drive, numbers, settings.record_v)
        stored_beta = float(neuron.beta.reshape(-1)[0])
    finally:
        _forget(neuron)
    t = np.arange(drive.n_steps + 1) * drive.dt
    return Result(t=t, v=trace, spike_neuron=neuron_idx, spike_time=steps * drive.dt,
                  n_neurons=drive.n_neurons, meta=metadata(spec, drive, model, numbers, stored_beta))


def metadata(spec: LIFSpec, drive: Drive, model: str, numbers: dict, stored_beta: float) -> Metadata:
    """What snnTorch did, in words (see the module docstring)."""
    common = dict(backend=NAME, version=version(), dt=drive.dt,
                  threshold="V > V_th after each update (snnTorch: H(mem - threshold), strict >)",
                  spike_stamp="grid-locked: the spike of call k is stamped at the end of the step (t_k+1)",
                  initial_state=f"mem = V_init - V_reset = {spec.V_init - spec.V_reset!r} (float64 tensor)",
                  input_timing="sample k is the input of call k and drives (t_k, t_k+1] (zero-order hold)")
    mapping = f"mapping: mem = V - V_reset; {numbers}"
    if model == "leaky":
        return Metadata(
            method="snn.Leaky: exact exponential step mem <- beta mem + (1 - beta)(E_L - V_reset + R I_k), "
                   "float64", refractory="none (snnTorch has no refractory period)",
            sampling="sample k+1 is mem after call k plus V_reset, already reset (reset_delay=False); "
                     "sample 0 is V_init",
            reset="to V_reset (reset_mechanism='zero', reset_delay=False: in the same call as the spike)",
            notes=(mapping, "reset computed from the previous membrane H(mem_prev - thr); with "
                   "reset_delay=False the spike and the reset fall in the same call; subtractive-reset "
                   "semantics: snntorch#341, snntorch#364"),
            **common)
    return Metadata(
        method=f"snn.Lapicque: forward Euler mem <- (1 - dt/RC) mem + dt/C input, float64; it stores "
               f"beta = exp(-dt/RC) = {stored_beta!r} (float32) but steps with 1 - dt/RC = "
               f"{1 - drive.dt / (spec.R * spec.C)!r}",
        refractory="none nominally; the reset is applied one call late, discarding that call's update: "
                   "V = V_reset at t_k+2 for a spike at t_k+1 (an effective dead time of one step)",
        sampling="sample k+1 is mem after call k plus V_reset; at a spike sample it is the supra-threshold "
                 "value (the reset shows in the next sample); sample 0 is V_init",
        reset="to V_reset one step late (reset_mechanism='zero' acting on H(mem_prev - thr))",
        notes=(mapping, "Lapicque has no reset_delay option; subtractive-reset semantics: snntorch#341, "
               "snntorch#364"),
        **common)
