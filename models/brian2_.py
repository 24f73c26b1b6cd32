"""The Brian2 backend: one isolated ``NeuronGroup`` per run, every number through an explicit namespace.

Model (Brian2 equations; the strings are constants of this module and hold only the identifiers of
:data:`TRANSLATIONS`, never text from a specification)::

    dv/dt = (E_L - v + R*I)/tau_m : volt (unless refractory)
    I = scale*I_wave(t) : amp        # one shared waveform: 1-D TimedArray x per-neuron scale
    I = I_wave(t, i) : amp           # one waveform per neuron: 2-D TimedArray indexed (t, i)
    I : amp (constant)               # a constant drive (f-I, convergence): one parameter per neuron
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
  ``V(t_k+1)``, as in the reference. A constant drive is the parameter ``I`` (the same products
  ``waveform x scale``, so the same numbers as through a TimedArray) and needs no TimedArray at all.

Isolation: every run builds its own :class:`brian2.Network` from explicit objects with one explicit
:class:`brian2.Clock` (no magic network, no ``start_scope``, ``defaultclock`` untouched), passes an empty
run namespace (so nothing is ever looked up in a caller's variables), and restores every Brian2
preference it sets (``codegen.target``, ``codegen.runtime.cython.cache_dir``) even when the run raises.

Model variants (:attr:`models.spec.LIFSpec.features`; plain cells run exactly as above)::

    dv/dt = (E_L - v + R*(I + I_syn))/tau_m [+ R*sigma*xi/tau_m] : volt (unless refractory)
    dI_syn/dt = -I_syn/tau_syn : amp
    reset 'v -= V_th - V_reset' for reset by subtraction (one spike per step)

- Synaptic input: a ``SpikeGeneratorGroup`` and ``Synapses(on_pre='I_syn_post += w_syn')``. Brian2 runs
  ``on_pre`` in the 'synapses' slot, after the state update of the step in which the generator spikes,
  so a generator spike at ``t`` first moves ``v`` over ``(t + dt, t + 2 dt]``: a spike arriving at ``t_j``
  in the specification is generated at ``t_j - dt`` (spikes arriving at ``t_0`` set the initial
  ``I_syn``); several spikes at one grid point use several generator indices.
- ``method='exact'`` solves the coupled linear system symbolically; with ``(unless refractory)`` Brian2
  2.9 keeps ``int(not_refractory)`` as a symbol and divides by ``(int(not_refractory) - 1)`` when
  ``tau_syn == tau_m`` (NaN from the first step): such cells are refused unless ``t_ref = 0``, where the
  flag is dropped and the synapse is written with ``tau_m`` (the symbolic solution then has the
  ``t exp(-t/tau)`` limit). Its propagator ``tau_syn (exp(dt/tau_m) - exp(dt/tau_syn)) ... /(tau_syn -
  tau_m)`` cancels as ``tau_syn -> tau_m``: relative error about ``eps / (dt |1/tau_syn - 1/tau_m|)``.
- White noise: any ``xi`` makes the equations stochastic and Brian2 refuses ``method='exact'``
  ("Cannot solve stochastic equations with this state updater"); everything, synapse included, is then
  integrated with ``method='euler'`` (Euler--Maruyama), whatever ``RunSettings.method`` asks, and the
  metadata says so. The noise comes from Brian2's generator seeded with ``brian2.seed(noise_seed)``;
  Brian2's random state (numpy's global generator and its buffers) is restored after the run.

Code-generation target (``RunSettings.option("target")``): ``"numpy"``, ``"cython"``,
``"cpp_standalone"`` or ``"auto"`` (the default), which picks per workload the target with the smallest
predicted time by the measured cost model :data:`TARGET_COSTS` (:func:`choose_target`;
``python -m benchmarks`` fits the model's coefficients, see the README). Measured here, warm: Cython is
3-5x faster than numpy at every size (it removes most of Brian2's per-step Python overhead), so ``auto``
is Cython whenever a compiler works (:func:`cython_available`) and numpy otherwise, except for the
largest sweeps: cpp_standalone compiles N and the duration into its C++ project, so it pays a
compilation of several seconds for every new workload, and wins only when the faster loop saves more
(built in :data:`STANDALONE_DIR`, in a child process, since Brian2's device is global state). Cython's
cost is its first compilation, once per installation: every generated module is kept in
:data:`CYTHON_CACHE` (``<project>/.cache/brian2-cython``, never the user's home). The generated code does not depend on the numbers of a specification (they are
read from the namespace at run time) nor on dt or the duration for a constant drive (no TimedArray);
TimedArray values are padded (with the held last value) to a power-of-two length so that runs of similar
length share one module: Brian2 writes a TimedArray's dt, its length and (2-D, one waveform per neuron) its
number of columns into the generated code as literals, so a sampled input compiles one module per dt,
length class and number of waveforms (measured: of the 52 modules the test suite compiles in its own
processes, 10 differ only by these literals).
"""

from __future__ import annotations

import functools
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import brian2
import numpy as np
from brian2 import (Clock, Network, NeuronGroup, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses,
                    TimedArray, amp, farad, ohm, second, volt)
from brian2.core.base import BrianObjectException

from .conventions import Contract, Conventions, statements
from .drive import Drive
from .errors import BackendFailure, NotRepresentable
from .propagators import whole_timesteps
from .processes import die_with_parent, warm_up
from .result import Metadata, Result, RunSettings
from .population import population_of
from .spec import PER_NEURON_FIELDS, LIFSpec

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
TARGETS = ("auto", "numpy", "cython", "cpp_standalone")

#: Target when none is asked for: chosen per workload by :func:`choose_target`.
DEFAULT_TARGET = "auto"
#: Options a comparison file may set (``[simulation.options.brian2]``): key -> allowed values, default first.
OPTIONS = {"target": TARGETS}


@dataclass(frozen=True)
class TargetCost:
    """Predicted seconds of one run: ``setup + n_steps * (per_step + n_neurons * per_neuron_step)``
    (network construction and code generation, Brian2's per-step overhead, the vectorised work)."""

    setup: float
    per_step: float
    per_neuron_step: float

    def seconds(self, n_neurons: int, n_steps: int) -> float:
        return self.setup + n_steps * (self.per_step + n_neurons * self.per_neuron_step)


#: The cost model of each target, fitted by ``python -m benchmarks`` (benchmark ``brian2_cost``:
#: non-negative least squares over N = 1..10^4 and 10^3..10^5 steps of the textbook f-I sweep, spikes
#: only, each target warmed up once) on a 2-vCPU Xeon (AVX-512), Brian2 2.9.0, Python 3.11. Cython's one-off
#: compilation (about 23 s) is not in it; cpp_standalone's setup is its compilation, paid for every new
#: workload (2-5 s), and its per-step cost is below what the fit resolves.
TARGET_COSTS = {
    "numpy": TargetCost(setup=0.18, per_step=6.1e-5, per_neuron_step=1.7e-8),
    "cython": TargetCost(setup=0.15, per_step=1.5e-5, per_neuron_step=4.9e-9),
    "cpp_standalone": TargetCost(setup=3.5, per_step=0.0, per_neuron_step=1.3e-9),
}

#: Project-local Cython cache (``.cache/`` is git-ignored).
CYTHON_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "brian2-cython"
#: Project-local build directories of cpp_standalone, one per kind of network (see :func:`_build_dir`).
STANDALONE_DIR = Path(__file__).resolve().parent.parent / ".cache" / "brian2-standalone"

_MEMBRANE = "dv/dt = (E_L - v + R*I)/tau_m : volt (unless refractory)\n"
#: How the input reaches the equations, by input kind (:func:`input_kind`): a constant current per neuron
#: as a parameter (no TimedArray: the generated code is then the same for every dt and duration, so a
#: compiled module is reused), one shared waveform scaled per neuron, or one waveform per neuron.
_DRIVE = {"constant": "I : amp (constant)\n",
          "shared": "I = scale*I_wave(t) : amp\nscale : 1 (constant)\n",
          "per_neuron": "I = I_wave(t, i) : amp\n"}
EQUATIONS = {kind: _MEMBRANE + text for kind, text in _DRIVE.items()}
#: The integrate-and-fire without leak (``spec.leak`` False): ``dv/dt = I/C``. Brian2 2.9's ``exact``
#: refuses it (UnsupportedEquationsException: its linear solver needs v on the right-hand side); its
#: ``euler``, ``v <- v + dt I(t_k)/C``, is the exact solution for the held input, so both methods run it.
_MEMBRANE_NONLEAKY = "dv/dt = I/C : volt (unless refractory)\n"
NONLEAKY_METHOD = "euler"
EQUATIONS_NONLEAKY = {kind: _MEMBRANE_NONLEAKY + text for kind, text in _DRIVE.items()}
THRESHOLD = "v > V_th"
RESET = "v = V_reset"
REFRACTORY = "t_ref"

#: Fixed object names: the generated code (and so the Cython cache key) is the same in every run.
NAMES = {"group": "lif", "clock": "lif_clock", "spikes": "lif_spikes", "trace": "lif_trace",
         "input": "I_wave", "generator": "lif_input", "synapses": "lif_synapses"}

# Variant equations, assembled from these constants only (identifiers of the namespace, never spec text).
_VARIANT_MEMBRANE = "dv/dt = (E_L - v + R*({current}))/tau_m{noise} : volt{flag}\n"
_NOISE_TERM = " + R*sigma*xi/tau_m"
_FLAG = " (unless refractory)"
_SYNAPSE = {"tau_syn": "dI_syn/dt = -I_syn/tau_syn : amp\n", "tau_m": "dI_syn/dt = -I_syn/tau_m : amp\n"}
RESET_SUBTRACT = "v -= V_th - V_reset"
ON_PRE = "I_syn_post += w_syn"

_SCHEDULE = Conventions(spike_stamp="start", refractory="timestep")
#: Brian2's written rule for each method (the twins of its contract verdicts): the spike stamped at the start
#: of the step, free again when ``timestep(t - lastspike) >= timestep(t_ref)``; one subtraction per step
#: for a cell with reset by subtraction (the reset statement runs once per threshold crossing).
CONTRACTS = {c.name: c for c in (
    Contract("brian2-exact", NAME, "exact", (), _SCHEDULE,
             "Brian2 method='exact': spike stamped at the start of the step, free again when "
             "timestep(t - lastspike) >= timestep(t_ref)", subtract="subtract-once"),
    Contract("brian2-euler", NAME, "euler", (), _SCHEDULE.replace(integrator="euler"),
             "Brian2 method='euler', same schedule", subtract="subtract-once"),
)}


def contract(settings: RunSettings) -> Contract:
    """The written rule of a run with ``settings`` (its method)."""
    return CONTRACTS[f"brian2-{settings.method}"]


def conventions(settings: RunSettings) -> Conventions:
    """The conventions of a run with ``settings`` (:func:`contract`)."""
    return contract(settings).conventions


REASON_EQUAL_TAUS = ("tau_syn == tau_m with t_ref > 0 and method 'exact': Brian2 2.9's symbolic solution "
                     "with (unless refractory) divides by (int(not_refractory) - 1) and gives NaN")


def version() -> str:
    """Brian2's version string."""
    return brian2.__version__


def to_native(spec: LIFSpec) -> dict:
    """The specification's numbers as a Brian2 namespace of quantities (name -> Quantity).

    Only numbers cross over: ``spec.name`` and ``spec.description`` never reach Brian2.
    """
    if not spec.leak:   # C dV/dt = I: no tau_m, R, E_L in the equations
        return {"C": spec.C * farad, **{native: getattr(spec, key) * unit for key, (native, unit)
                                        in TRANSLATIONS.items() if key not in ("tau_m", "E_L", "R")}}
    return {native: getattr(spec, key) * unit for key, (native, unit) in TRANSLATIONS.items()}


def from_native(namespace: dict, name: str, description: str = "") -> LIFSpec:
    """The specification back from a namespace made by :func:`to_native` (inverse mapping)."""
    if "C" in namespace:   # the membrane without leak
        values = {key: float(namespace[native] / unit) for key, (native, unit) in TRANSLATIONS.items()
                  if native in namespace}
        return LIFSpec(name=name, description=description, tau_m=math.inf, R=math.inf, E_L=None,
                       capacitance=float(namespace["C"] / farad), **values)
    values = {key: float(namespace[native] / unit) for key, (native, unit) in TRANSLATIONS.items()}
    return LIFSpec(name=name, description=description, **values)


def refractory_steps(spec: LIFSpec, dt: float) -> int:
    """Brian2's refractory step count ``timestep(t_ref, dt) = int((t_ref + 1e-3 dt)/dt)``."""
    return whole_timesteps(spec.t_ref, dt)


def target_of(settings: RunSettings) -> str:
    """The code-generation target asked for (default :data:`DEFAULT_TARGET`)."""
    return settings.option("target", DEFAULT_TARGET)


def choose_target(n_neurons: int, n_steps: int, cython: bool | None = None) -> str:
    """The target with the smallest predicted time for ``n_neurons`` x ``n_steps`` by
    :data:`TARGET_COSTS`, among those that can run here (Cython and cpp_standalone need a working C/C++
    compiler: only if ``cython``, default :func:`cython_available`)."""
    compiler = cython_available() if cython is None else cython
    usable = [t for t in TARGET_COSTS if t == "numpy" or compiler]
    return min(usable, key=lambda t: TARGET_COSTS[t].seconds(n_neurons, n_steps))


@functools.cache
def cython_available() -> bool:
    """True when Brian2 can compile a Cython module here (its own test compilation, into
    :data:`CYTHON_CACHE`, so it is compiled once per installation)."""
    from brian2.codegen.runtime.cython_rt import CythonCodeObject
    with preferences(_prefs_for("cython")):
        try:
            return bool(CythonCodeObject.is_available())
        except Exception:  # noqa: BLE001 - any failure to compile means numpy
            return False


def preload() -> None:
    """Prepare this process for runs forked from it: decide once whether Cython can compile (about 2 s
    in every new process), and run a cell for ten steps with each method (:func:`models.processes.warm_up`),
    so that the children inherit Brian2's caches (symbolic solutions, loaded compiled modules) instead of
    rebuilding them (0.1-0.3 s per run)."""
    cython_available()
    warm_up(run, METHODS)


def resolved_target(settings: RunSettings, drive: Drive) -> str:
    """The target a run uses: the one asked for, or :func:`choose_target`'s for ``"auto"``."""
    target = target_of(settings)
    return choose_target(drive.n_neurons, drive.n_steps) if target == "auto" else target


def representable(spec: LIFSpec, settings: RunSettings) -> str | None:
    """``None`` when Brian2 simulates the specification as specified, else the reason it cannot."""
    if settings.method not in METHODS:
        return f"unknown method {settings.method!r} (Brian2 adapter offers: {', '.join(METHODS)})"
    target = target_of(settings)
    if target not in TARGETS:
        return f"unknown code-generation target {target!r} (offered: {', '.join(TARGETS)})"
    if (spec.tau_syn == spec.tau_m and spec.t_ref > 0 and spec.sigma == 0
            and settings.method == "exact"):
        return REASON_EQUAL_TAUS
    return None


def variant_method(spec: LIFSpec, settings: RunSettings) -> str:
    """Brian2's method for a cell: ``'euler'`` whenever there is noise (Brian2 refuses exact), else the
    settings'."""
    return "euler" if spec.sigma > 0 else METHODS[settings.method]


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
    settings.require_grid_of(drive)
    target = resolved_target(settings, drive)
    if target == "cpp_standalone":
        v, neuron, time = _standalone(spec, drive, settings)
    else:
        with preferences(_prefs_for(target)), _random_state():
            v, neuron, time = _simulate_or_fail(spec, drive, settings, target)
    t = np.arange(drive.n_steps + 1) * drive.dt
    meta = metadata(spec, settings, target)
    if spec.is_plain:
        return Result(t=t, v=v, spike_neuron=neuron, spike_time=time, n_neurons=drive.n_neurons, meta=meta)
    method = variant_method(spec, settings)
    numerics = {"synapse": None if spec.tau_syn is None else ("exact" if method == "exact" else "euler"),
                "noise": "euler-maruyama" if spec.sigma > 0 else None, "reset": spec.reset,
                "spikes_per_step": "one"}
    return Result(t=t, v=v, spike_neuron=neuron, spike_time=time, n_neurons=drive.n_neurons,
                  meta=_variant_metadata(meta, spec, method), extra={"variant": numerics})


#: Brian2's unit of each per-neuron field of a population of several cells (:func:`run_cells`).
_PER_NEURON_UNITS = {"tau_m": "second", "E_L": "volt", "V_th": "volt", "V_reset": "volt", "R": "ohm",
                     "t_ref": "second"}


def run_cells(runs: list, settings: RunSettings) -> list[Result]:
    """Several plain cells, each with its constant drive, as one NeuronGroup: the cell fields that differ
    (:data:`models.spec.PER_NEURON_FIELDS`) are per-neuron parameters (``tau_m : second (constant)``, ...)
    instead of namespace constants, the same equations, threshold, reset and refractory expressions
    otherwise; one result per run, each what :func:`run` gives it: the same spikes, the voltages to
    rounding (Brian2 evaluates the loop-invariant subexpressions of namespace constants once, which
    per-neuron parameters are not; ``tests/test_brian2.py`` checks the spikes bit for bit and the voltages
    within the contract's ``1e-12 (V_th - V_reset)``). Runs that are not such a population (or a
    ``cpp_standalone`` run, built per kind of network) run one after the other."""
    pop = population_of(runs, settings, representable, NAME)
    if pop is None:
        return [run(spec, drive, settings) for spec, drive in runs]
    specs, drive = pop.specs, pop.drive
    varying = [k for k in PER_NEURON_FIELDS if len({getattr(s, k) for s in specs}) > 1]
    per_neuron = {k: pop.per_neuron([getattr(s, k) for s in specs]) for k in varying}
    target = resolved_target(settings, drive)
    if target == "cpp_standalone":   # one build directory per kind of network: a population runs cell by cell
        return [run(spec, d, settings) for spec, d in runs]
    with preferences(_prefs_for(target)), _random_state():
        v, neuron, time = _simulate_or_fail(specs[0], drive, settings, target, per_neuron)
    t = np.arange(drive.n_steps + 1) * drive.dt
    whole = Result(t=t, v=v, spike_neuron=neuron, spike_time=time, n_neurons=drive.n_neurons,
                   meta=metadata(specs[0], settings, target))
    return pop.split(whole, [metadata(spec, settings, target) for spec in specs])


@contextmanager
def _random_state():
    """Restore Brian2's random state (numpy's global generator and Brian2's buffers) after the block."""
    device = brian2.get_device()
    saved = device.get_random_state()
    try:
        yield
    finally:
        device.set_random_state(saved)


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


def _simulate_or_fail(spec: LIFSpec, drive: Drive, settings: RunSettings, target: str,
                      per_neuron: dict | None = None):
    try:
        return _simulate(spec, drive, settings, target, per_neuron)
    except BrianObjectException as exc:
        cause = exc.__cause__ or exc
        raise BackendFailure(NAME, f"{type(cause).__name__}: {cause}") from exc


def _standalone(spec: LIFSpec, drive: Drive, settings: RunSettings):
    """A cpp_standalone run in a forked child process: Brian2's device is global state, switched for the
    run and discarded with the child. The project is built in :func:`_build_dir` (held under a lock, so
    concurrent runs of the same kind of network take turns): Brian2 rewrites only the files whose text
    changed, and make recompiles only those. A plain ``os.fork`` (not multiprocessing, whose daemonic
    workers, as the harness's isolated runs are, may not have children); the child dies with its parent."""
    import pickle

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read)
            die_with_parent()  # a run killed at its time limit takes its build along
            payload = _standalone_child(spec, drive, settings)
        except BaseException as exc:  # noqa: BLE001 - sent back as the reason
            payload = f"{type(exc).__name__}: {exc}".strip()
        try:
            with os.fdopen(write, "wb") as pipe:
                pickle.dump(payload, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:  # noqa: BLE001
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    outcome = pickle.loads(data) if data else "the build process died"
    if isinstance(outcome, str):
        raise BackendFailure(NAME, f"cpp_standalone: {outcome}")
    return outcome


def _build_dir(spec: LIFSpec, drive: Drive, settings: RunSettings) -> Path:
    """One build directory per kind of network (input kind, method, voltage recording, variant)."""
    kind = "-".join([input_kind(drive), settings.method, "v" if settings.record_v else "spikes",
                     *spec.features, brian2.__version__])
    return STANDALONE_DIR / kind


def _standalone_child(spec: LIFSpec, drive: Drive, settings: RunSettings):
    import fcntl

    directory = _build_dir(spec, drive, settings)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        brian2.set_device("cpp_standalone", build_on_run=False)
        return _simulate_or_fail(spec, drive, settings, "cpp_standalone")


def _simulate(spec: LIFSpec, drive: Drive, settings: RunSettings, target: str, per_neuron: dict | None = None):
    """Build and run the network; returns (v or None, spike_neuron, spike_time) in SI. ``per_neuron``
    (a plain cell's fields -> one SI value per neuron) makes those fields per-neuron parameters."""
    clock = Clock(dt=drive.dt * second, name=NAMES["clock"])
    extra = []
    if spec.is_plain:
        group = _group(spec, drive, settings.method, clock, target, per_neuron or {})
    else:
        group = _variant_group(spec, drive, variant_method(spec, settings), clock, target)
        extra = _spike_input(spec, group, drive, clock)
        brian2.seed(int(spec.noise_seed))
    spikes = SpikeMonitor(group, name=NAMES["spikes"])
    trace = StateMonitor(group, "v", record=True, when="start", clock=clock,
                         name=NAMES["trace"]) if settings.record_v else None
    net = Network(*[obj for obj in (group, spikes, trace, *extra) if obj is not None])
    net.run(drive.n_steps * drive.dt * second, namespace={})
    if target == "cpp_standalone":
        device = brian2.get_device()
        device.build(directory=str(_build_dir(spec, drive, settings)), compile=True, run=True,
                     with_output=False)
    steps = int(clock.variables["timestep"].get_value().item())
    if steps != drive.n_steps:
        raise BackendFailure(NAME, f"ran {steps} steps instead of {drive.n_steps}")
    v = None if trace is None else _on_grid(np.asarray(trace.v_), np.asarray(group.v_[:]))
    return v, np.asarray(spikes.i[:], dtype=np.int64), np.asarray(spikes.t_[:], dtype=float)


def _group(spec: LIFSpec, drive: Drive, method: str, clock: Clock, target: str,
           per_neuron: dict | None = None) -> NeuronGroup:
    """The NeuronGroup of ``drive.n_neurons`` neurons with its stimulus and initial state; the fields of
    ``per_neuron`` (SI values, one per neuron) as per-neuron parameters instead of namespace constants."""
    per_neuron = per_neuron or {}
    kind = input_kind(drive)
    namespace = _input_namespace(spec, drive, kind, target)
    equations = EQUATIONS[kind] if spec.leak else EQUATIONS_NONLEAKY[kind]
    parameters = [k for k in per_neuron if k in _PER_NEURON_UNITS]
    equations += "".join(f"{TRANSLATIONS[k][0]} : {_PER_NEURON_UNITS[k]} (constant)\n" for k in parameters)
    for k in parameters:
        del namespace[TRANSLATIONS[k][0]]
    group = NeuronGroup(drive.n_neurons, equations,
                        threshold=THRESHOLD, reset=RESET, refractory=REFRACTORY,
                        method=METHODS[method] if spec.leak else NONLEAKY_METHOD,
                        namespace=namespace, clock=clock, name=NAMES["group"])
    for k in parameters:
        name, unit = TRANSLATIONS[k]
        setattr(group, name, per_neuron[k] * unit)
    group.v = per_neuron["V_init"] * volt if "V_init" in per_neuron else namespace["V_init"]
    _set_input(group, drive, kind)
    return group


def input_kind(drive: Drive) -> str:
    """``"constant"``, ``"shared"`` or ``"per_neuron"``: how :data:`EQUATIONS` receive the drive."""
    if drive.is_constant:
        return "constant"
    return "shared" if drive.waveform.shape[1] == 1 else "per_neuron"


def _set_input(group: NeuronGroup, drive: Drive, kind: str) -> None:
    """Per-neuron values of the input: the constant currents (A), or the scale of a shared waveform."""
    if kind == "constant":
        group.I = drive.at(0) * amp
    elif kind == "shared":
        group.scale = drive.scale


def _input_namespace(spec: LIFSpec, drive: Drive, kind: str, target: str) -> dict:
    namespace = to_native(spec)
    if kind != "constant":
        namespace[NAMES["input"]] = _timed_array(drive, kind == "shared", target)
    return namespace


def variant_equations(spec: LIFSpec, kind: str) -> str:
    """The equations of a variant cell, assembled from this module's constants."""
    flag = _FLAG if spec.t_ref > 0 else ""
    current = "I + I_syn" if spec.tau_syn is not None else "I"
    text = _VARIANT_MEMBRANE.format(current=current, noise=_NOISE_TERM if spec.sigma > 0 else "", flag=flag)
    text += _DRIVE[kind]
    if spec.tau_syn is not None:
        text += _SYNAPSE["tau_m" if spec.tau_syn == spec.tau_m else "tau_syn"]
    return text


def _variant_group(spec: LIFSpec, drive: Drive, method: str, clock: Clock, target: str) -> NeuronGroup:
    """The NeuronGroup of a variant cell (synaptic current, noise, reset rule)."""
    kind = input_kind(drive)
    namespace = _input_namespace(spec, drive, kind, target)
    if spec.tau_syn is not None:
        namespace["tau_syn"] = spec.tau_syn * second
    if spec.sigma > 0:
        namespace["sigma"] = spec.sigma * amp * second ** 0.5
    group = NeuronGroup(drive.n_neurons, variant_equations(spec, kind), threshold=THRESHOLD,
                        reset=RESET if spec.reset == "value" else RESET_SUBTRACT,
                        refractory=REFRACTORY if spec.t_ref > 0 else False, method=method,
                        namespace=namespace, clock=clock, name=NAMES["group"])
    group.v = namespace["V_init"]
    _set_input(group, drive, kind)
    return group


def generator_spikes(spec: LIFSpec, dt: float, n_steps: int):
    """``(indices, times (s), initial jump (A))`` of the SpikeGeneratorGroup: arrivals at ``t_j``, ``j >= 1``,
    generated at ``t_j - dt`` (the k-th spike of a grid point on index k); arrivals at ``t_0`` are returned
    as the initial synaptic current."""
    counts = spec.spike_input.arrivals(dt, n_steps)
    steps = np.repeat(np.arange(n_steps), counts)
    rank = np.arange(steps.size) - np.repeat(np.cumsum(counts) - counts, counts)
    later = steps >= 1
    return rank[later], (steps[later] - 1) * dt, spec.spike_input.weight * float(counts[0])


def _spike_input(spec: LIFSpec, group: NeuronGroup, drive: Drive, clock: Clock) -> list:
    """Generator and synapses carrying the specification's input spikes (nothing without input)."""
    if spec.spike_input is None:
        return []
    indices, times, initial = generator_spikes(spec, drive.dt, drive.n_steps)
    group.I_syn = initial * amp
    if indices.size == 0:
        return []
    generator = SpikeGeneratorGroup(int(indices.max()) + 1, indices, times * second, clock=clock,
                                    name=NAMES["generator"])
    synapses = Synapses(generator, group, on_pre=ON_PRE, namespace={"w_syn": spec.spike_input.weight * amp},
                        clock=clock, name=NAMES["synapses"])
    synapses.connect()
    return [generator, synapses]


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
    """What Brian2 did, in the words of :class:`models.result.Metadata`: the statements of its contract
    (:func:`models.conventions.statements`) with Brian2's own mechanism for each."""
    n_ref = refractory_steps(spec, settings.dt)
    reset = (RESET if spec.reset == "value" else RESET_SUBTRACT) + ", after the threshold in the same step"
    return Metadata(
        backend=NAME, version=version(), dt=settings.dt,
        method=_METHOD_TEXT[settings.method] if spec.leak else
        "Brian2 method='euler' of dv/dt = I/C (no leak): v <- v + dt I(t_k)/C, the exact solution for the "
        "held input (Brian2's 'exact' refuses this equation), for method = 'exact' and 'euler' alike",
        initial_state=f"v = V_init = {spec.V_init!r} V; lastspike = -1e4 s (never spiked), not refractory",
        notes=_notes(spec, settings, target, n_ref),
        **statements(
            contract(settings).conventions_for(spec),
            threshold="Brian2 tests v > V_th only where not_refractory",
            spike_stamp="Brian2's own stamp: the START t_k of the step whose update crossed the threshold, "
                        "one dt before the sample V(t_k+1) that shows the reset",
            sampling="StateMonitor (when='start') sample k is v before the update of step k = V(t_k) after "
                     "the reset of step k-1; samples 0..n_steps-1 from it, sample n_steps is the group's v "
                     "after the run",
            refractory=f"not_refractory = timestep(t - lastspike, dt) >= timestep(t_ref, dt) = {n_ref} steps; "
                       f"v frozen at V_reset for {max(n_ref - 1, 0)} steps after the spike step (dead time "
                       f"{max(n_ref - 1, 0)} dt = t_ref - dt for constant input when n_ref >= 1)",
            input_timing="TimedArray value k read at t_k drives the update over (t_k, t_k+1]; shared "
                         "waveform: 1-D TimedArray x per-neuron scale, else 2-D TimedArray (t, i); a constant "
                         "drive (f-I, convergence) is the per-neuron parameter I instead",
            reset=reset))


_METHOD_TEXT = {
    "exact": "Brian2 method='exact' (linear solver): v <- V_inf(t_k) + (v - V_inf(t_k)) exp(-dt/tau_m), "
             "V_inf(t_k) = E_L + R I(t_k)",
    "euler": "Brian2 method='euler' (forward Euler): v <- v + dt (E_L - v + R I(t_k))/tau_m",
}


def _variant_metadata(meta: Metadata, spec: LIFSpec, method: str) -> Metadata:
    """The plain metadata amended for the variant cell's equations, method, input, noise and reset."""
    from dataclasses import replace

    equations = "; ".join(line for line in variant_equations(spec, "shared").splitlines() if line)
    parts = [f"Brian2 method={method!r} on the equations: {equations}"]
    notes = list(meta.notes)
    if spec.sigma > 0:
        parts.append("white noise through xi: Brian2 refuses method='exact' for stochastic equations, so "
                     "everything (synapse included) is integrated with Euler-Maruyama whatever was asked")
        notes.append(f"noise from Brian2's generator seeded with brian2.seed({spec.noise_seed}); random state "
                     "restored after the run")
    if spec.spike_input is not None:
        notes.append("input spikes: SpikeGeneratorGroup at t_j - dt + Synapses on_pre 'I_syn_post += w_syn' "
                     "(on_pre acts after the state update of its step, so it moves v from t_j on); arrivals at "
                     "t_0 set the initial I_syn")
    if spec.tau_syn is not None and method == "exact":
        notes.append("exact propagator of Brian2's symbolic solution: cancels as tau_syn -> tau_m (relative "
                     "error about eps / (dt |1/tau_syn - 1/tau_m|))")
    return replace(meta, method="; ".join(parts), notes=tuple(notes))


def _notes(spec: LIFSpec, settings: RunSettings, target: str, n_ref: int) -> tuple:
    notes = [
        f"code-generation target {target!r}"
        + (" (chosen by 'auto': smallest predicted time of the measured cost model)"
           if target_of(settings) == "auto" else "")
        + (", compiled modules cached in the project's .cache/brian2-cython" if target == "cython" else "")
        + (", C++ project built in the project's .cache/brian2-standalone (N and the duration are compiled in)"
           if target == "cpp_standalone" else ""),
        "StateMonitor records at the start of the step, before the update (brian2#1253)",
        "refractoriness counted in whole steps from the spike step's start (brian2#943/#949, 2.1.3): "
        "constant-input ISI = dt (max(n_ref, 1) - 1) + dt (floor(T_free/dt) + 1)",
    ]
    if n_ref != round(spec.t_ref / settings.dt):
        notes.append(f"t_ref = {spec.t_ref!r} s is not a whole number of steps: Brian2 counts {n_ref}, "
                     f"rounding would give {round(spec.t_ref / settings.dt)}")
    return tuple(notes)
