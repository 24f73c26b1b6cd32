"""The reference backend: :mod:`reference.engine` behind the common backend entry point (the suite's own
simulator sits with the engine it runs; the other adapters are in :mod:`models`).

Options (``RunSettings.options``): ``crossing`` = ``"grid"`` (default), ``"linear"`` or ``"exact"``;
``threshold`` = ``">"`` (default) or ``">="``.

Cells with the optional additions (synaptic current, white noise, reset by subtraction; see
:attr:`models.spec.LIFSpec.features`) run through :mod:`reference.synaptic`: exact propagator of the
synaptic current (or forward Euler), sampled white noise held over each step (or Euler--Maruyama), spikes
locked to the grid (``crossing = "grid"`` only). Plain cells run exactly as before.
"""

from __future__ import annotations

import numpy as np

from models import __version__
from models.drive import Drive
from models.errors import NotRepresentable
from models.processes import warm_up
from models.result import Metadata, Result, RunSettings
from models.spec import LIFSpec

from . import fast, synaptic
from models.conventions import Contract, Conventions, statements

from .conventions import TUTORIAL
from .engine import simulate

NAME = "reference"
LIBRARY = None  # pure numpy: always available
#: Options a comparison file may set (``[simulation.options.reference]``): key -> allowed values, default
#: first.
OPTIONS = {"crossing": ("grid", "linear", "exact"), "threshold": (">", ">=")}


def version() -> str:
    return __version__


def preload() -> None:
    """Load the compiled kernels (numba's cache) with a ten-step run, so that runs forked from this
    process do not each load them again (about 0.3 s per process)."""
    warm_up(run)


def representable(spec: LIFSpec, settings: RunSettings):
    """The reference represents every valid specification; the optional additions only with spikes
    locked to the grid."""
    crossing = settings.option("crossing", "grid")
    if not spec.is_plain and crossing != "grid":
        return (f"the reference's {' + '.join(spec.features)} model locks spikes to the grid; crossing "
                f"{crossing!r} (interpolated or exact spike times) is offered for the plain LIF only")
    return None


def conventions(settings: RunSettings) -> Conventions:
    """The reference's rule for its method and options (``crossing``, ``threshold``)."""
    crossing = settings.option("crossing", "grid")
    return Conventions(integrator=settings.method, threshold=settings.option("threshold", ">"),
                       crossing=crossing, refractory="steps" if crossing == "grid" else "timer")

_PLAIN = Conventions()
#: The reference's named contracts (the twins its contract verdicts replay).
CONTRACTS = {c.name: c for c in (
    Contract("reference", NAME, "exact", (), _PLAIN,
             "the plain reference: exact integration, V > V_th, grid spikes at the end of the step, V held for "
             "round(t_ref/dt) steps"),
    Contract("reference-euler", NAME, "euler", (), _PLAIN.replace(integrator="euler"),
             "the plain reference with forward Euler"),
    Contract("tutorial", NAME, "euler", (("threshold", ">="),), TUTORIAL,
             "the seed tutorial's LifNeuron.step: forward Euler, V >= V_th, reset to V_reset"),
)}


def contract(settings: RunSettings) -> Contract:
    """The contract of a run with ``settings``: a named one when its conventions are those asked for, else
    one named after the options."""
    rule = conventions(settings)
    for named in CONTRACTS.values():
        if named.conventions == rule:
            return named
    return Contract(f"reference({settings.method}, {rule.crossing}, {rule.threshold})", NAME, settings.method,
                    settings.options, rule, "the reference with the options asked for")


def run(spec: LIFSpec, drive: Drive, settings: RunSettings) -> Result:
    """Simulate ``drive.n_neurons`` reference neurons; see :mod:`reference.conventions`."""
    if not spec.is_plain:
        return _run_variant(spec, drive, settings)
    rule = contract(settings).conventions_for(spec)
    v, neuron, time = simulate(spec, drive, rule, settings.record_v)
    text = rule.describe()
    method = text["method"] if spec.leak else (
        f"{text['method']}; without leak both integrators are V <- V + dt I_k/C (exact for held input)")
    meta = Metadata(
        backend=NAME, version=version(), method=method, dt=drive.dt,
        initial_state=f"V = V_init = {spec.V_init!r} V, not refractory",
        **statements(rule, sampling="sample 0 is V_init"),
        notes=(f"conventions: {rule.as_dict()}", f"loop: {fast.path(rule, spec=spec)}"))
    t = np.arange(drive.n_steps + 1) * drive.dt
    return Result(t=t, v=v, spike_neuron=neuron, spike_time=time, n_neurons=drive.n_neurons, meta=meta)


def _run_variant(spec: LIFSpec, drive: Drive, settings: RunSettings) -> Result:
    reason = representable(spec, settings)
    if reason is not None:
        raise NotRepresentable(NAME, reason)
    conventions = contract(settings).conventions
    v, neuron, time, i_syn = synaptic.simulate(spec, drive, conventions, settings.record_v)
    t = np.arange(drive.n_steps + 1) * drive.dt
    return Result(t=t, v=v, spike_neuron=neuron, spike_time=time, n_neurons=drive.n_neurons,
                  meta=variant_metadata(spec, drive.dt, conventions),
                  extra={"i_syn": i_syn, "variant": variant_numerics(spec, conventions.integrator)})


def variant_numerics(spec: LIFSpec, integrator: str) -> dict:
    """The numerics of a variant run in the words :mod:`comparisons.variants` reads (``synapse``,
    ``noise``, ``reset``, ``spikes_per_step``)."""
    exact = integrator == "exact"
    return {"synapse": None if spec.tau_syn is None else ("exact" if exact else "euler"),
            "noise": None if spec.sigma == 0 else ("zoh" if exact else "euler-maruyama"),
            "reset": spec.reset, "spikes_per_step": "several" if spec.reset == "subtract" else "one"}


def variant_metadata(spec: LIFSpec, dt: float, conventions: Conventions) -> Metadata:
    """What the variant reference did (see :mod:`reference.synaptic`)."""
    exact = conventions.integrator == "exact"
    text = conventions.describe()
    method = ["exact propagator of membrane and synaptic current (P21 = R (h/tau_m) exp(-h/tau_m) "
              "phi(h (1/tau_syn - 1/tau_m)), phi(x) = -expm1(-x)/x)" if exact else
              "forward Euler of membrane and synaptic current"] if spec.tau_syn is not None else \
        [text["method"]]
    if spec.sigma > 0:
        method.append("white noise: the sample sigma xi_k/sqrt(dt) held over the step and integrated exactly"
                      if exact else "white noise: Euler-Maruyama, V += R sigma sqrt(dt)/tau_m xi_k")
    notes = [f"conventions: {conventions.as_dict()}"]
    if spec.spike_input is not None:
        notes.append("input spikes arrive at the nearest grid point t_j (j = floor(t/dt + 1/2)); I_syn jumps "
                     "by the weight there and drives (t_j, t_j+1] onwards; one train shared by all neurons")
    if spec.sigma > 0:
        notes.append(f"noise of neuron n: standard normals of numpy PCG64(SeedSequence({spec.noise_seed}, "
                     "spawn_key=(n,))), one per step in step order (also while refractory)")
    return Metadata(
        backend=NAME, version=version(), method="; ".join(method), dt=dt,
        initial_state=f"V = V_init = {spec.V_init!r} V, I_syn = 0, not refractory",
        **statements(conventions.replace(reset="subtract" if spec.reset == "subtract" else "value"),
                     sampling="sample 0 is V_init",
                     refractory="V held at its value after the reset; the synaptic current and the noise "
                                "stream keep running",
                     reset=None if spec.reset == "value" else
                     "n the number of subtractions that bring V back to the threshold or below; n spikes "
                     "stamped together"),
        notes=tuple(notes))
