"""The NEST backend: ``iaf_psc_delta`` (grid-locked spikes) or ``iaf_psc_delta_ps`` (precise spikes).

Model (NEST's units: mV, ms, pF, pA; ``y = V - E_L``, ``h = dt``, ``P33 = exp(-h/tau_m)``)::

    iaf_psc_delta:     y <- P30 (I_k + I_e) + P33 y,   P30 = tau_m/C_m (1 - P33)
                       y >= V_th - E_L  ->  spike stamped at t_k+1, y <- V_reset - E_L,
                       y clamped for ceil(t_ref/h) whole steps
    iaf_psc_delta_ps:  the same exact propagation (written with expm1); a crossing inside the step is
                       located by exact inversion, t_s = t_k+1 - tau_m ln((v_inf - y)/(v_inf - y_th)),
                       and the refractory period runs from t_s for ceil(t_ref/h) steps; the step in which
                       it ends is integrated only for its free part

Options (``RunSettings.options``): ``model`` = ``"iaf_psc_delta"`` (default) or ``"iaf_psc_delta_ps"``.
Every model integrates exactly: ``method = "euler"`` is not representable (:data:`REASON_EULER`).

Model variants (:attr:`models.spec.LIFSpec.features`; plain cells run exactly as below):

- Synaptic current: ``iaf_psc_exp`` (exact propagation of membrane and exponential current, NEST's
  propagator handling ``tau_syn == tau_m``), ``tau_syn_ex = tau_syn_in = tau_syn`` so that negative weights
  decay alike; the update of a step is ``V <- P22 V + P21 I_syn + P20 (I_e + i_0)``, then
  ``I_syn <- P11 I_syn + spikes delivered for the end of the step``. Input spikes come from a
  ``spike_generator`` on a delay-dt connection of weight ``weight`` (pA), ``spike_weights`` = the number
  of spikes at each time: a generator spike at ``t`` makes ``I_syn`` jump at ``t + dt``, so a spike arriving
  at ``t_j`` is generated at ``t_j - dt``. NEST refuses generator times <= 0, so arrivals at ``t_0`` and
  ``t_1`` are not representable. Only the default model option is offered with a synapse.
- White noise: a ``noise_generator`` (``std = sigma/sqrt(dt)`` pA, ``dt`` = the resolution, mean 0) on a
  delay-dt connection: every target receives its own Gaussian current, held over each step and integrated
  exactly (the sampled white noise of :mod:`reference.noise`, ``"exact"``); NEST's generator is seeded
  through the kernel's ``rng_seed = noise_seed + 1``.
- Reset by subtraction: not representable (NEST's iaf_psc models reset to V_reset).
- Without leak (``leak = false``): ``iaf_psc_delta`` with ``tau_m = 2^53 h`` and ``E_L = V_reset``, whose
  propagators are then ``P33 = 1 - 2^-53`` and ``P30 = h/C_m`` to two roundings; it loses at most one ulp
  of ``y`` per step, so runs are represented up to the length whose rounding bound stays within the
  contract (:mod:`models.nest_nonleaky`, with the proof); ``iaf_psc_delta_ps`` is refused.

Input timing. NEST reads ``I_e`` in the update of the step that follows the moment it is set, so ``I_e``
set at ``t_k`` drives ``(t_k, t_k+1]``. A ``step_current_generator`` is one step ahead of its
``amplitude_times`` and its current reaches the neuron after the connection delay ``d``; the neuron adds
it in the step after delivery: a change at time ``a`` first drives ``(a + d, a + d + h]``. With the
minimum delay ``d = h``, the amplitude for sample ``k`` is therefore given at ``a = t_k-1``; since NEST
only accepts ``a > 0``, samples 0 and 1 are fed through ``I_e`` (two one-step ``Simulate`` calls), the
rest through the generator. A drive that is constant in time uses only ``I_e`` (one value per neuron).
"""

from __future__ import annotations

import importlib.metadata
import os
from contextlib import contextmanager

import numpy as np

from .conventions import Contract, Conventions, statements
from .drive import Drive
from . import nest_nonleaky as nonleaky
from .errors import BackendFailure, NotRepresentable
from .result import Metadata, Result, RunSettings
from .population import population_of
from .spec import LIFSpec

NAME = "nest"
LIBRARY = "nest"

#: The neuron models this adapter drives (``RunSettings.options`` key ``model``).
MODELS = ("iaf_psc_delta", "iaf_psc_delta_ps")
DEFAULT_MODEL = "iaf_psc_delta"
#: Options a comparison file may set (``[simulation.options.nest]``): key -> allowed values, default first.
OPTIONS = {"model": MODELS}

#: NEST's default tic (s): every time NEST handles is a whole number of tics (tics_per_ms = 1000).
TIC = 1e-6

#: A ratio (t_ref/dt, dt/tic) within this of an integer is that integer (float rounding of SI values).
GRID_EPS = 1e-9

#: NEST's random seed (nothing random is simulated; fixed so that no run depends on the clock).
SEED = 12345

#: SI -> NEST unit factors.
MS, MV, PF, PA = 1e3, 1e3, 1e12, 1e12

#: The model of cells with an exponential synaptic current.
SYNAPTIC_MODEL = "iaf_psc_exp"

#: NEST's largest rng_seed.
MAX_RNG_SEED = 2**31 - 1

REASON_SUBTRACT = "NEST's iaf_psc models reset to V_reset; there is no reset by subtraction"
#: ``method = "euler"``: every model this adapter drives propagates exactly, to within rounding of the exact
#: solution; running it anyway would report an exact result as Euler's and fail Euler's order check.
REASON_EULER = ("NEST {model} integrates exactly (exact propagators, Rotter & Diesmann 1999); it has no "
                "forward-Euler integrator for method = \"euler\"")
REASON_EARLY_SPIKE = ("an input spike arrives at t_0 or t_1: NEST delivers a generator spike at t one step "
                      "later (t + dt) and refuses generator times <= 0")


#: NEST's written rule for each model (the twins of its contract verdicts); the models reset to a value only.
CONTRACTS = {c.name: c for c in (
    Contract("nest-delta", NAME, "exact", (("model", "iaf_psc_delta"),),
             Conventions(threshold=">=", refractory="ceil"),
             "NEST iaf_psc_delta: exact propagation, y >= V_th, V clamped for ceil(t_ref/dt) steps, stamp at the "
             "end of the step"),
    Contract("nest-delta-ps", NAME, "exact", (("model", "iaf_psc_delta_ps"),),
             Conventions(threshold=">=", crossing="exact", refractory="timer"),
             "NEST iaf_psc_delta_ps: exact propagation, precise spike time by exact inversion, refractory period "
             "from it"),
)}


def contract(settings: RunSettings) -> Contract:
    """The written rule of a run with ``settings`` (its ``model`` option)."""
    return CONTRACTS["nest-delta" if settings.option("model", DEFAULT_MODEL) == "iaf_psc_delta"
                     else "nest-delta-ps"]


def conventions(settings: RunSettings) -> Conventions:
    """The conventions of a run with ``settings`` (:func:`contract`)."""
    return contract(settings).conventions


def version() -> str:
    """The installed NEST version (read from the package metadata, NEST is not imported)."""
    return importlib.metadata.version("nest-simulator")


def _whole(ratio: float) -> bool:
    return abs(ratio - round(ratio)) <= GRID_EPS * max(1.0, abs(ratio))


def representable(spec: LIFSpec, settings: RunSettings) -> str | None:
    """``None`` when NEST simulates ``spec`` at ``settings.dt`` exactly as specified, else why not."""
    model, dt = settings.choice("model", MODELS, DEFAULT_MODEL, NAME), settings.dt
    if settings.method == "euler":
        return REASON_EULER.format(model=neuron_model(spec, settings))
    if not _whole(dt / TIC):
        return f"NEST's resolution must be a whole number of tics (1 us); dt = {dt * MS!r} ms is not"
    if model == "iaf_psc_delta_ps" and spec.t_ref < dt * (1 - GRID_EPS):
        return (f"iaf_psc_delta_ps needs t_ref >= dt (NEST refuses t_ref = 0 and counts any shorter "
                f"refractory period as one whole step); t_ref = {spec.t_ref * MS!r} ms, dt = {dt * MS!r} ms")
    if not _whole(spec.t_ref / dt):
        return (f"{model} holds the refractory period for ceil(t_ref/dt) whole steps (NEST rounds t_ref up "
                f"to the step); t_ref = {spec.t_ref * MS!r} ms is not a whole multiple of dt = {dt * MS!r} ms")
    if not spec.leak:
        return nonleaky.REASON_PRECISE if model != DEFAULT_MODEL else nonleaky.reason(spec, settings.n_steps, dt)
    return None if spec.is_plain else _variant_reason(spec, settings, model)


def _variant_reason(spec: LIFSpec, settings: RunSettings, model: str) -> str | None:
    """Why NEST cannot run a variant cell as specified (``None`` when it can)."""
    if spec.reset == "subtract":
        return REASON_SUBTRACT
    if spec.tau_syn is not None and model != DEFAULT_MODEL:
        return (f"a synaptic current runs on {SYNAPTIC_MODEL} (grid spikes); the option model = {model!r} is "
                "not offered with a synapse")
    if spec.sigma > 0 and spec.noise_seed + 1 > MAX_RNG_SEED:
        return f"NEST's rng_seed (noise_seed + 1) must be at most {MAX_RNG_SEED}"
    if spec.spike_input is not None:
        counts = spec.spike_input.arrivals(settings.dt, settings.n_steps)
        if counts[:2].any():
            return REASON_EARLY_SPIKE
    return None


def neuron_model(spec: LIFSpec, settings: RunSettings) -> str:
    """The NEST model that runs ``spec``: ``iaf_psc_exp`` with a synapse, else the option's."""
    if spec.tau_syn is not None:
        return SYNAPTIC_MODEL
    return settings.choice("model", MODELS, DEFAULT_MODEL, NAME)


def parameters(spec: LIFSpec) -> dict:
    """The specification in NEST's names and units (pF, ms, mV); the translation table of this backend."""
    return {"C_m": spec.C * PF, "tau_m": spec.tau_m * MS, "E_L": spec.E_L * MV, "V_th": spec.V_th * MV,
            "V_reset": spec.V_reset * MV, "V_m": spec.V_init * MV, "t_ref": spec.t_ref * MS, "I_e": 0.0}


def preload() -> None:
    """Import NEST once (quietly), so that isolated runs forked from this process inherit it."""
    _import_nest()


def _import_nest():
    """Import NEST without its start-up banner (PYNEST_QUIET only for the import, then restored)."""
    quiet = os.environ.get("PYNEST_QUIET")
    os.environ["PYNEST_QUIET"] = "1"
    try:
        import nest
    finally:
        if quiet is None:
            del os.environ["PYNEST_QUIET"]
    return nest


@contextmanager
def _kernel(nest, dt: float, seed: int = SEED):
    """A fresh, silent, single-threaded, seeded kernel at resolution dt; reset again on exit."""
    previous = nest.verbosity
    nest.verbosity = nest.VerbosityLevel.ERROR
    try:
        nest.ResetKernel()
        nest.set(resolution=dt * MS, local_num_threads=1, rng_seed=seed)
        yield
    finally:
        nest.ResetKernel()
        nest.verbosity = previous


def _is_constant(drive: Drive) -> bool:
    return bool(np.all(drive.waveform == drive.waveform[0]))


def _generator_samples(column: np.ndarray, dt: float):
    """``amplitude_times`` (ms) and values (pA) carrying samples k >= 2: sample k is set at t_k-1."""
    k = np.arange(2, column.size)
    changes = k[(k == 2) | (column[k] != column[k - 1])]
    return (changes - 1) * dt * MS, column[changes] * PA


def _connect_generators(nest, neurons, drive: Drive) -> None:
    """Step-current generators for samples 2.. (one per waveform column), weighted by ``drive.scale``."""
    if drive.n_steps <= 2:
        return
    columns = drive.waveform.shape[1]
    generators = nest.Create("step_current_generator", columns)
    for gen, column in zip(generators, drive.waveform.T):
        times, values = _generator_samples(column, drive.dt)
        gen.set(amplitude_times=times, amplitude_values=values)
    syn = {"delay": drive.dt * MS}
    if columns == 1:
        syn["weight"] = drive.scale.reshape(-1, 1)
        nest.Connect(generators, neurons, "all_to_all", syn_spec=syn)
    else:
        syn["weight"] = drive.scale
        nest.Connect(generators, neurons, "one_to_one", syn_spec=syn)


def _simulate(nest, neurons, drive: Drive) -> None:
    """Run the n_steps of the drive (see the module docstring for the input timing), then one more
    ``min_delay``: NEST hands the recorders the data of its last ``min_delay`` only in the next slice."""
    h = drive.dt * MS
    if _is_constant(drive):
        neurons.I_e = list(drive.at(0) * PA)
        nest.Simulate(drive.n_steps * h)
    else:
        _connect_generators(nest, neurons, drive)
        for k in range(min(2, drive.n_steps)):
            neurons.I_e = list(drive.at(k) * PA)
            nest.Simulate(h)
        neurons.I_e = 0.0
        if drive.n_steps > 2:
            nest.Simulate((drive.n_steps - 2) * h)
    nest.Simulate(nest.min_delay)


def _spikes(recorder, first_id: int, drive: Drive, precise: bool):
    """Spike (neuron, time) arrays in SI within [0, n_steps dt]; grid spikes are put on ``k dt``."""
    events = recorder.events
    neuron = np.asarray(events["senders"], dtype=np.int64) - first_id
    t_ms = np.asarray(events["times"], dtype=float)
    steps = t_ms / (drive.dt * MS)
    keep = steps <= drive.n_steps * (1 + GRID_EPS)
    time = t_ms[keep] / MS if precise else np.rint(steps[keep]) * drive.dt
    return neuron[keep], time


def _run_recorded(nest, neurons, drive: Drive, record_v: bool, model: str, v_init, connect=None):
    """Record the spikes (and ``V_m``) of ``neurons``, ``connect()`` the inputs, run the drive; the spikes'
    (neuron, time) and the voltage samples (sample 0: ``v_init``, V) or None."""
    first_id = neurons[0].global_id
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    if record_v:
        multimeter = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": drive.dt * MS})
        nest.Connect(multimeter, neurons)
    if connect is not None:
        connect()
    _simulate(nest, neurons, drive)
    neuron, time = _spikes(recorder, first_id, drive, model == "iaf_psc_delta_ps")
    return neuron, time, (_trace(multimeter, first_id, v_init, drive) if record_v else None)


def _trace(multimeter, first_id: int, v_init, drive: Drive) -> np.ndarray:
    """Voltage samples (V), shape (n_steps + 1, N): multimeter samples t_1..t_n, sample 0 is ``v_init``
    (V_init, one value or one per neuron)."""
    events = multimeter.events
    k = np.rint(np.asarray(events["times"]) / (drive.dt * MS)).astype(np.int64)
    n = np.asarray(events["senders"], dtype=np.int64) - first_id
    keep = k <= drive.n_steps
    v = np.full((drive.n_steps + 1, drive.n_neurons), np.nan)
    v[0] = v_init
    v[k[keep], n[keep]] = np.asarray(events["V_m"])[keep] / MV
    if np.isnan(v).any():
        raise BackendFailure(NAME, f"the multimeter missed {int(np.isnan(v).sum())} voltage samples")
    return v


def run(spec: LIFSpec, drive: Drive, settings: RunSettings) -> Result:
    """Simulate ``drive.n_neurons`` NEST neurons (one population) on the drive's grid.

    Parameters
    ----------
    spec : LIFSpec
    drive : Drive
        Input currents (A) for N neurons; its ``dt`` and ``n_steps`` must be the settings'.
    settings : RunSettings
        ``options["model"]`` picks the NEST model; ``record_v`` adds a multimeter.

    Returns
    -------
    Result
        ``v`` of shape (n_steps + 1, N) in volts (or ``None``); spikes at ``k dt`` (grid model) or at
        their precise times.

    Raises
    ------
    NotRepresentable
        When :func:`representable` gives a reason.
    ComparisonError
        When the drive's grid is not the settings' grid.
    BackendFailure
        When NEST's multimeter misses a sample.
    """
    settings.require_grid_of(drive)
    reason = representable(spec, settings)
    if reason is not None:
        raise NotRepresentable(NAME, reason)
    if not spec.leak:
        reason = nonleaky.reason(spec, drive.n_steps, drive.dt, nonleaky.negative_excursion(spec, drive))
        if reason is not None:
            raise NotRepresentable(NAME, reason)
    model, nest = neuron_model(spec, settings), _import_nest()
    seed = SEED if spec.sigma == 0 else int(spec.noise_seed) + 1
    with _kernel(nest, drive.dt, seed):
        if not spec.leak and nest.resolution != nonleaky.resolution_ms(drive.dt):
            raise BackendFailure(NAME, f"NEST's resolution {nest.resolution!r} ms is not MS_PER_TIC * tics = "
                                       f"{nonleaky.resolution_ms(drive.dt)!r} ms: tau_m = 2^53 h would be wrong")
        params = variant_parameters(spec) if spec.leak else nonleaky.parameters(spec, drive.dt)
        neurons = nest.Create(model, drive.n_neurons, params=params)
        neuron, time, v = _run_recorded(nest, neurons, drive, settings.record_v, model, spec.V_init,
                                        lambda: _connect_variant_inputs(nest, neurons, spec, drive))
    t = np.arange(drive.n_steps + 1) * drive.dt
    meta = metadata(spec, drive, model)
    if spec.is_plain:
        return Result(t=t, v=v, spike_neuron=neuron, spike_time=time, n_neurons=drive.n_neurons, meta=meta)
    numerics = {"synapse": None if spec.tau_syn is None else "exact", "noise": "zoh" if spec.sigma > 0 else None,
                "reset": "value", "spikes_per_step": "one"}
    return Result(t=t, v=v, spike_neuron=neuron, spike_time=time, n_neurons=drive.n_neurons,
                  meta=_variant_metadata(meta, spec, seed), extra={"variant": numerics})


def run_cells(runs: list, settings: RunSettings) -> list[Result]:
    """Several plain cells, each with its constant drive, as one population of the same NEST model, every
    neuron with its cell's parameters (:func:`parameters`, set per neuron) and its ``I_e``, in one kernel;
    one result per run, each what :func:`run` gives it (NEST updates each neuron on its own: ``tests/test_nest.py``
    checks spikes and voltages bit for bit). Runs that are not such a population run one after the other."""
    pop = population_of(runs, settings, representable, NAME)
    if pop is None:
        return [run(spec, drive, settings) for spec, drive in runs]
    specs, drive = pop.specs, pop.drive
    model, nest = neuron_model(specs[0], settings), _import_nest()
    with _kernel(nest, drive.dt, SEED):
        neurons = nest.Create(model, drive.n_neurons)
        neurons.set([parameters(spec) for spec, n in zip(specs, pop.sizes) for _ in range(n)])
        neuron, time, v = _run_recorded(nest, neurons, drive, settings.record_v, model,
                                        pop.per_neuron([spec.V_init for spec in specs]))
    whole = Result(t=np.arange(drive.n_steps + 1) * drive.dt, v=v, spike_neuron=neuron, spike_time=time,
                   n_neurons=drive.n_neurons, meta=metadata(specs[0], drive, model))
    return pop.split(whole, [metadata(spec, d, model) for spec, d in zip(specs, pop.drives)])


def variant_parameters(spec: LIFSpec) -> dict:
    """:func:`parameters` plus ``tau_syn_ex = tau_syn_in`` (ms) for a cell with a synapse."""
    params = parameters(spec)
    if spec.tau_syn is not None:
        params.update(tau_syn_ex=spec.tau_syn * MS, tau_syn_in=spec.tau_syn * MS)
    return params


def _connect_variant_inputs(nest, neurons, spec: LIFSpec, drive: Drive) -> None:
    """The spike generator of the synaptic input and the noise generator (see the module docstring)."""
    h = drive.dt * MS
    if spec.spike_input is not None:
        counts = spec.spike_input.arrivals(drive.dt, drive.n_steps)
        steps = np.flatnonzero(counts)
        if steps.size:
            generator = nest.Create("spike_generator", params={
                "spike_times": (steps - 1) * h, "spike_weights": counts[steps].astype(float)})
            nest.Connect(generator, neurons, "all_to_all",
                         syn_spec={"delay": h, "weight": spec.spike_input.weight * PA})
    if spec.sigma > 0:
        noise = nest.Create("noise_generator", params={"mean": 0.0, "std": spec.sigma / np.sqrt(drive.dt) * PA,
                                                       "dt": h})
        nest.Connect(noise, neurons, "all_to_all", syn_spec={"delay": h})


def _variant_metadata(meta: Metadata, spec: LIFSpec, seed: int) -> Metadata:
    from dataclasses import replace

    notes = list(meta.notes)
    if spec.tau_syn is not None:
        notes.append(f"{SYNAPTIC_MODEL}: tau_syn_ex = tau_syn_in = {spec.tau_syn * MS!r} ms; input spikes from "
                     "a spike_generator at t_j - dt on a delay-dt connection (the current jumps at t_j)")
    if spec.sigma > 0:
        std = float(spec.sigma / np.sqrt(meta.dt) * PA)
        notes.append(f"white noise: noise_generator std = sigma/sqrt(dt) = {std!r} pA held over each step, "
                     f"independent per neuron, kernel rng_seed = {seed}")
    method = meta.method if spec.tau_syn is None else (
        f"NEST {SYNAPTIC_MODEL}: exact propagation of V and the exponential current (NEST's propagator "
        "with the tau_syn == tau_m limit), y <- P22 y + P21 I_syn + P20 (I + I_e)")
    return replace(meta, method=method, notes=tuple(notes))


def metadata(spec: LIFSpec, drive: Drive, model: str) -> Metadata:
    """What NEST did, in words (see the module docstring)."""
    precise = model == "iaf_psc_delta_ps"
    p = parameters(spec) if spec.leak else nonleaky.parameters(spec, drive.dt)
    n_ref = int(round(spec.t_ref / drive.dt))
    method = (f"NEST {model}: exact integration (Rotter & Diesmann 1999) of y = V - E_L in mV/ms/pA, "
              "y <- P30 (I + I_e) + P33 y, P33 = exp(-h/tau_m), P30 = tau_m/C_m (1 - P33)"
              + ("; written as y + expm1(-h/tau_m) (y - R I)" if precise else ""))
    if not spec.leak:
        method = (f"NEST {model} as the integrate-and-fire without leak: tau_m = 2^53 h, E_L = V_reset, so "
                  "P33 = 1 - 2^-53 and P30 = fl(fl(1/C_m) h) (h/C_m to 2 roundings): y <- P30 I + P33 y, "
                  "losing at most one ulp of y per step; the run is within the contract's voltage tolerance "
                  f"up to {nonleaky.max_steps(spec)} steps (models.nest_nonleaky)")
    return Metadata(
        backend=NAME, version=version(),
        method=method,
        dt=drive.dt,
        initial_state=f"V_m = V_init = {p['V_m']!r} mV, not refractory, no input pending",
        **statements(
            CONTRACTS["nest-delta-ps" if precise else "nest-delta"].conventions_for(spec),
            threshold="NEST tests y >= V_th - E_L",
            spike_stamp="precise spike time" if precise else "",
            sampling="multimeter V_m every dt from t = dt (after the update and any reset); sample 0 is "
                     "V_init; the run is extended by one min_delay because NEST delivers the recorders' "
                     "data of the last min_delay only in the next slice, and the extra samples and spikes "
                     "are dropped",
            refractory=(f"ceil(t_ref/dt) = {n_ref} steps at V_reset"
                        + (" from the precise spike time" if precise else
                           "; constant-input ISI = t_ref + dt ceil(T_free/dt)")),
            input_timing="constant drives as I_e per neuron; otherwise samples 0 and 1 as I_e (one-step "
                         "Simulate calls) and samples k >= 2 through a step_current_generator at "
                         "amplitude_times t_k-1 on a delay-dt connection, weight = the neuron's scale"),
        notes=(f"NEST parameters: {p}",
               "NEST rounds t_ref up to whole steps (Time::get_steps), hence t_ref must be a multiple of "
               "dt here; refractory corner cases: nest#547, nest#3309",
               "recorded value and integrator: nest#2860; recording start and step-current timing: "
               "PyNN#119, PyNN#512, PyNN#572"),
    )
