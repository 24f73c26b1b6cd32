"""The Brian2 backend: one isolated ``NeuronGroup`` per run, every number through an explicit namespace.

Model (Brian2 equations; the strings are constants of this module and hold only the identifiers of
:data:`TRANSLATIONS`, never text from a specification)::

    dv/dt = (E_L - v + R*I)/tau_m : volt (unless refractory)
    I = scale*I_wave(t) : amp        # one shared waveform: 1-D TimedArray x per-neuron scale
    I = I_wave(t, i) : amp           # one waveform per neuron: 2-D TimedArray indexed (t, i)
    threshold 'v > V_th', reset 'v = V_reset', refractory 't_ref'

What Brian2 2.9 really does, and how this adapter puts it on the shared sample grid of
:mod:`models.result` (each point is checked by ``tests/test_brian2.py`` against the closed forms and
the reference, see also the suite's semantics notes):

- Method: always explicit. ``"exact"`` -> ``method='exact'`` (Brian2's linear solver:
  ``v <- V_inf(t_k) + (v - V_inf(t_k)) exp(-dt/tau_m)`` with ``V_inf(t_k) = E_L + R I(t_k)``);
  ``"euler"`` -> ``method='euler'`` (``v <- v + dt (E_L - v + R I(t_k))/tau_m``).
- Order in a step (Brian2's schedule): StateMonitor records (``when='start'``) -> state update ->
  threshold -> reset. The monitor's sample k is therefore ``v`` before the update of step k, i.e.
  ``V(t_k)`` after the reset of step k-1 (brian2#1253): samples 0..n_steps-1 come from the monitor and
  sample n_steps is the group's ``v`` after the run.
- Spikes are stamped at the START of the step whose update crossed the threshold (``t_k``), one ``dt``
  before the sample ``V(t_k+1)`` that shows the reset; this adapter returns Brian2's own stamps.
- Refractory: ``not_refractory = timestep(t - lastspike, dt) >= timestep(t_ref, dt)`` with
  ``timestep(x, dt) = int((x + 1e-3 dt)/dt)`` (brian2#943/#949, fixed in 2.1.3). As ``lastspike`` is the
  step's start, ``v`` stays at ``V_reset`` for ``n_ref - 1`` steps after the spike step
  (``n_ref = timestep(t_ref, dt)``): the dead time is ``t_ref - dt``, and none at all for ``n_ref <= 1``.
  Constant-input ISI: ``dt (max(n_ref, 1) - 1) + dt (floor(T_free/dt) + 1)``.
- Input: TimedArray value k (its ``dt`` is the run's ``dt``) is read at ``t_k`` and drives the update
  over ``(t_k, t_k+1]``, exactly the drive's zero-order hold; a step onset at sample k first changes
  ``V(t_k+1)``, as in the reference.

Isolation: every run builds its own :class:`brian2.Network` from explicit objects with one explicit
:class:`brian2.Clock` (no magic network, no ``start_scope``, ``defaultclock`` untouched), passes an empty
run namespace (so nothing is ever looked up in a caller's variables), and restores every Brian2
preference it sets (``codegen.target``, ``codegen.runtime.cython.cache_dir``) even when the run raises.

Code-generation target (``RunSettings.option("target")``): ``"numpy"`` or ``"cython"``.
Measured here (Brian2 2.9.0, Python 3.11, 2 cores; 10^4 neurons, constant drive, 1 s at dt = 0.1 ms,
spikes only, warm process): numpy 1.8 s per run, cython 0.55 s per run once compiled (about 3x faster),
but the first cython run of a given generated code (each new dt, each new padded TimedArray length)
compiles every code object of the network: measured 21.6 s spikes only, about 40 s with the voltage
monitor while the machine was busy. A suite run changes dt and durations often, so the default is
:data:`DEFAULT_TARGET` = ``"numpy"``, which needs no compiler. Cython artefacts go to
:data:`CYTHON_CACHE` (``<project>/.cache/brian2-cython``), never the user's home; TimedArray values are
padded (with the held last value) to a power-of-two length under Cython so that runs of similar length
share one compiled module. ``cpp_standalone`` is not offered: it needs Brian2's global device switched
and reset around each run and a fresh build directory (and compilation) per run.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path

import brian2
import numpy as np
from brian2 import (Clock, Network, NeuronGroup, SpikeMonitor, StateMonitor, TimedArray, amp, ohm, second,
                    volt)
from brian2.core.base import BrianObjectException

from .drive import Drive
from .errors import BackendFailure, ComparisonError, NotRepresentable
from .result import Metadata, Result, RunSettings
from .spec import LIFSpec

NAME = "brian2"
LIBRARY = "brian2"

#: Specification field -> (Brian2 namespace name, Brian2 unit). The one translation table, both ways.
TRANSLATIONS = {
    "tau_m": ("tau_m", second),
    "E_L": ("E_L", volt),
    "V_th": ("V_th", volt),
    "V_reset": ("V_reset", volt),
    "R": ("R", ohm),
    "t_ref": ("t_ref", second),
    "V_init": ("V_init", volt),
}

#: settings.method -> Brian2 ``method`` argument.
METHODS = {"exact": "exact", "euler": "euler"}

#: Code-generation targets offered through ``RunSettings.option("target")``.
TARGETS = ("numpy", "cython")

#: Target when none is asked for (see the measurement in the module docstring).
DEFAULT_TARGET = "numpy"

#: Project-local Cython cache (``.cache/`` is git-ignored).
CYTHON_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "brian2-cython"

_MEMBRANE = "dv/dt = (E_L - v + R*I)/tau_m : volt (unless refractory)\n"
#: Equations for one shared waveform scaled per neuron, and for one waveform per neuron.
EQUATIONS = {
    "shared": _MEMBRANE + "I = scale*I_wave(t) : amp\nscale : 1 (constant)\n",
    "per_neuron": _MEMBRANE + "I = I_wave(t, i) : amp\n",
}
THRESHOLD = "v > V_th"
RESET = "v = V_reset"
REFRACTORY = "t_ref"

#: Fixed object names: the generated code (and so the Cython cache key) is the same in every run.
NAMES = {"group": "lif", "clock": "lif_clock", "spikes": "lif_spikes", "trace": "lif_trace",
         "input": "I_wave"}


def version() -> str:
    """Brian2's version string."""
    return brian2.__version__


def to_native(spec: LIFSpec) -> dict:
    """The specification's numbers as a Brian2 namespace of quantities (name -> Quantity).

    Only numbers cross over: ``spec.name`` and ``spec.description`` never reach Brian2.
    """
    return {native: getattr(spec, key) * unit for key, (native, unit) in TRANSLATIONS.items()}


def from_native(namespace: dict, name: str, description: str = "") -> LIFSpec:
    """The specification back from a namespace made by :func:`to_native` (inverse mapping)."""
    values = {key: float(namespace[native] / unit) for key, (native, unit) in TRANSLATIONS.items()}
    return LIFSpec(name=name, description=description, **values)


def refractory_steps(spec: LIFSpec, dt: float) -> int:
    """Brian2's refractory step count ``timestep(t_ref, dt) = int((t_ref + 1e-3 dt)/dt)``."""
    return int((spec.t_ref + 1e-3 * dt) / dt)


def target_of(settings: RunSettings) -> str:
    """The code-generation target asked for (default :data:`DEFAULT_TARGET`)."""
    return settings.option("target", DEFAULT_TARGET)


def representable(spec: LIFSpec, settings: RunSettings) -> str | None:
    """``None`` when Brian2 simulates the specification as specified, else the reason it cannot."""
    if settings.method not in METHODS:
        return f"unknown method {settings.method!r} (Brian2 adapter offers: {', '.join(METHODS)})"
    target = target_of(settings)
    if target not in TARGETS:
        return f"unknown code-generation target {target!r} (offered: {', '.join(TARGETS)})"
    return None


def run(spec: LIFSpec, drive: Drive, settings: RunSettings) -> Result:
    """Simulate ``drive.n_neurons`` neurons as one NeuronGroup; see the module docstring.

    Parameters
    ----------
    spec : LIFSpec
    drive : Drive
        Input currents (A), ``n_steps`` samples of ``dt`` (must equal the settings').
    settings : RunSettings

    Returns
    -------
    Result
        ``v`` of shape (n_steps + 1, N) (V) on the shared grid when ``settings.record_v``, else None;
        spike times (s) as Brian2 stamps them (start of the step).

    Raises
    ------
    NotRepresentable
        For an unknown method or target.
    ComparisonError
        When the drive's grid differs from the settings'.
    BackendFailure
        When Brian2 fails while building or running the network (its original error as the reason).
    """
    reason = representable(spec, settings)
    if reason is not None:
        raise NotRepresentable(NAME, reason)
    _check_grid(drive, settings)
    target = target_of(settings)
    with preferences(_prefs_for(target)):
        try:
            v, neuron, time = _simulate(spec, drive, settings, target)
        except BrianObjectException as exc:
            cause = exc.__cause__ or exc
            raise BackendFailure(NAME, f"{type(cause).__name__}: {cause}") from exc
    t = np.arange(drive.n_steps + 1) * drive.dt
    return Result(t=t, v=v, spike_neuron=neuron, spike_time=time, n_neurons=drive.n_neurons,
                  meta=metadata(spec, settings, target))


def _check_grid(drive: Drive, settings: RunSettings) -> None:
    if drive.dt != settings.dt:
        raise ComparisonError("simulation.dt", f"must equal the drive's step ({drive.dt!r} s)", settings.dt)
    if drive.n_steps != settings.n_steps:
        raise ComparisonError("simulation.n_steps", f"must equal the drive's length ({drive.n_steps})",
                              settings.n_steps)


def _prefs_for(target: str) -> dict:
    prefs = {"codegen.target": target}
    if target == "cython":
        CYTHON_CACHE.mkdir(parents=True, exist_ok=True)
        prefs["codegen.runtime.cython.cache_dir"] = str(CYTHON_CACHE)
    return prefs


@contextmanager
def preferences(changes: dict):
    """Set Brian2 preferences (dotted name -> value) for the block; restore every one afterwards,
    also when the block raises."""
    saved = {name: brian2.prefs[name] for name in changes}
    try:
        for name, value in changes.items():
            brian2.prefs[name] = value
        yield
    finally:
        for name, value in saved.items():
            brian2.prefs[name] = value


def _simulate(spec: LIFSpec, drive: Drive, settings: RunSettings, target: str):
    """Build and run the network; returns (v or None, spike_neuron, spike_time) in SI."""
    clock = Clock(dt=drive.dt * second, name=NAMES["clock"])
    group = _group(spec, drive, settings.method, clock, target)
    spikes = SpikeMonitor(group, name=NAMES["spikes"])
    trace = StateMonitor(group, "v", record=True, when="start", clock=clock,
                         name=NAMES["trace"]) if settings.record_v else None
    net = Network(*[obj for obj in (group, spikes, trace) if obj is not None])
    net.run(drive.n_steps * drive.dt * second, namespace={})
    steps = int(clock.variables["timestep"].get_value().item())
    if steps != drive.n_steps:
        raise BackendFailure(NAME, f"ran {steps} steps instead of {drive.n_steps}")
    v = None if trace is None else _on_grid(np.asarray(trace.v_), np.asarray(group.v_[:]))
    return v, np.asarray(spikes.i[:], dtype=np.int64), np.asarray(spikes.t_[:], dtype=float)


def _group(spec: LIFSpec, drive: Drive, method: str, clock: Clock, target: str) -> NeuronGroup:
    """The NeuronGroup of ``drive.n_neurons`` neurons with its stimulus and initial state."""
    shared = drive.waveform.shape[1] == 1
    namespace = to_native(spec)
    namespace[NAMES["input"]] = _timed_array(drive, shared, target)
    group = NeuronGroup(drive.n_neurons, EQUATIONS["shared" if shared else "per_neuron"],
                        threshold=THRESHOLD, reset=RESET, refractory=REFRACTORY, method=METHODS[method],
                        namespace=namespace, clock=clock, name=NAMES["group"])
    group.v = namespace["V_init"]
    if shared:
        group.scale = drive.scale
    return group


def _timed_array(drive: Drive, shared: bool, target: str) -> TimedArray:
    """Input samples (A) as a TimedArray: value k is read at t_k (1-D if shared, else (t, i))."""
    values = drive.waveform[:, 0] if shared else drive.waveform * drive.scale
    if target == "cython":
        values = _padded(values)
    return TimedArray(values * amp, dt=drive.dt * second, name=NAMES["input"])


def _padded(values: np.ndarray) -> np.ndarray:
    """Values extended to a power-of-two length by repeating the last one (what a TimedArray does
    past its end anyway); the run never reads past ``n_steps - 1``."""
    length = 1 << max(0, math.ceil(math.log2(values.shape[0])))
    extra = np.repeat(values[-1:], length - values.shape[0], axis=0)
    return np.concatenate([values, extra], axis=0)


def _on_grid(recorded: np.ndarray, final: np.ndarray) -> np.ndarray:
    """Shared-grid samples (n_steps + 1, N) from the monitor's (N, n_steps) and the final v (N,)."""
    return np.vstack([recorded.T, final[None, :]])


def metadata(spec: LIFSpec, settings: RunSettings, target: str) -> Metadata:
    """What Brian2 did, in the words of :class:`models.result.Metadata`."""
    n_ref = refractory_steps(spec, settings.dt)
    return Metadata(
        backend=NAME, version=version(), method=_METHOD_TEXT[settings.method], dt=settings.dt,
        threshold="v > V_th (strict), tested after each update, only where not_refractory",
        spike_stamp="Brian2's own stamp: the START t_k of the step whose update crossed the threshold, "
                    "one dt before the sample V(t_k+1) that shows the reset",
        sampling="StateMonitor (when='start') sample k is v before the update of step k = V(t_k) after "
                 "the reset of step k-1; samples 0..n_steps-1 from it, sample n_steps is the group's v "
                 "after the run",
        refractory=f"not_refractory = timestep(t - lastspike, dt) >= timestep(t_ref, dt) = {n_ref} steps; "
                   f"v frozen at V_reset for {max(n_ref - 1, 0)} steps after the spike step (dead time "
                   f"{max(n_ref - 1, 0)} dt = t_ref - dt for constant input when n_ref >= 1)",
        initial_state=f"v = V_init = {spec.V_init!r} V; lastspike = -1e4 s (never spiked), not refractory",
        input_timing="TimedArray value k read at t_k drives the update over (t_k, t_k+1] (zero-order "
                     "hold); shared waveform: 1-D TimedArray x per-neuron scale, else 2-D TimedArray (t, i)",
        reset="v = V_reset, after the threshold in the same step",
        notes=_notes(spec, settings, target, n_ref))


_METHOD_TEXT = {
    "exact": "Brian2 method='exact' (linear solver): v <- V_inf(t_k) + (v - V_inf(t_k)) exp(-dt/tau_m), "
             "V_inf(t_k) = E_L + R I(t_k)",
    "euler": "Brian2 method='euler' (forward Euler): v <- v + dt (E_L - v + R I(t_k))/tau_m",
}


def _notes(spec: LIFSpec, settings: RunSettings, target: str, n_ref: int) -> tuple:
    notes = [
        f"code-generation target {target!r}"
        + (f", Cython cache {CYTHON_CACHE}" if target == "cython" else ""),
        "StateMonitor records at the start of the step, before the update (brian2#1253)",
        "refractoriness counted in whole steps from the spike step's start (brian2#943/#949, 2.1.3): "
        "constant-input ISI = dt (max(n_ref, 1) - 1) + dt (floor(T_free/dt) + 1)",
    ]
    if n_ref != round(spec.t_ref / settings.dt):
        notes.append(f"t_ref = {spec.t_ref!r} s is not a whole number of steps: Brian2 counts {n_ref}, "
                     f"rounding would give {round(spec.t_ref / settings.dt)}")
    return tuple(notes)
