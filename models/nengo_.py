"""The Nengo backend: N ``nengo.LIF`` neurons of one Ensemble, driven directly through ``ens.neurons``.

Nengo's LIF works in normalised units (threshold 1, reset 0). The physical specification maps onto it
exactly, also when ``V_reset != E_L``, with ``dV = V_th - V_reset``::

    u       = (V - V_reset) / dV            normalised voltage (threshold u > 1, reset u <- 0)
    tau_rc  = tau_m                         tau_ref = t_ref
    J       = gain * (R I / dV) + bias      gain = 1, bias = (E_L - V_reset) / dV
    u(0)    = (V_init - V_reset) / dV       min_voltage = -inf (Nengo's default 0 clips the membrane)

so that ``tau_rc du/dt = J - u`` is ``tau_m dV/dt = E_L - V + R I`` divided by ``dV``. Nengo multiplies
every connection into ``ens.neurons`` by the gain, which is why the gain must be exactly 1.

Nengo's step (``nengo.LIF.step``) over ``(t_n-1, t_n]`` with the timer ``r``::

    r -= dt;  d = clip(dt - r, 0, dt);  u -= (J - u) expm1(-d / tau_rc)
    u > 1  ->  spike reported at t_n, t_s = dt + tau_rc log1p(-(u - 1)/(J - 1)), u <- 0, r <- tau_ref + t_s

i.e. exact exponential integration over the free part of each step and a refractory timer that starts
at the exact crossing time. This is exact only when ``t_ref >= dt``: otherwise the free time left in the
spike step after the refractory period is never integrated (nengo#1327, nengo#1427), and
:func:`representable` refuses the specification.

Input timing: the drive Node returns sample ``round(t/dt) - 1`` at Nengo time ``t = n dt`` and reaches
``ens.neurons`` with ``synapse=None``, so sample ``k`` drives ``(t_k, t_k+1]`` as in
:mod:`models.drive`. Any synapse on that connection would add a one-step delay.

Model variants (:attr:`models.spec.LIFSpec.features`; plain cells run exactly as above):

- Synaptic current -- NOT THE SAME MODEL WITHIN A STEP. A second Node carries the input spikes through
  ``Connection(..., synapse=nengo.Lowpass(tau_syn))`` (ZOH-discretised: ``y_n = a_s y_n-1 + (1 - a_s) u_n``,
  ``a_s = exp(-dt/tau_syn)``, unit-area impulse response ``exp(-t/tau_syn)/tau_syn``). Nengo applies the
  filter's output one step later and holds it over that step. The Node emits ``u_n = w tau_syn J_n/dt``
  (normalised by ``R/(V_th - V_reset)``; ``J_n`` the spikes arriving at ``t_n``) at step n, so the current
  acting on ``(t_n, t_n+1]`` is ``w (1 - a_s) tau_syn/dt a_s^m``: exactly the step average of the exponential
  current ``w exp(-s/tau_syn)``, held constant over the step. The membrane thus integrates a piecewise-
  constant current where the specification has an exponential one: at grid points its PSP is the exact
  PSP times ``P21'/P21`` with ``P21' = R (1 - a_m)(1 - a_s) tau_syn/dt`` (``= 1 + dt^2/(12 tau_m tau_syn)
  + O(dt^3)``), a different discretisation that converges to the specified model as dt -> 0. Spikes
  arriving at ``t_0`` cannot be delivered (Nengo's first step is n = 1) and are refused.
- White noise: ``ens.noise = WhiteNoise(Gaussian(0, R sigma/(V_th - V_reset)), scale=True,
  seed=noise_seed % 2**32)``: every neuron gets its own ``s xi/sqrt(dt)`` added to J, held over the step and
  integrated exactly (the sampled white noise of :mod:`reference.noise`, ``"exact"``).
- Reset by subtraction: not representable (Nengo's LIF resets to 0, i.e. V_reset).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from .conventions import Contract, Conventions, statements
from .drive import Drive
from .errors import BackendFailure, NotRepresentable
from .propagators import p21
from .result import Metadata, Result, RunSettings
from .population import population_of
from .spec import LIFSpec

NAME = "nengo"
LIBRARY = "nengo"

#: Seed of the network and the Simulator. Nothing random reaches the neurons (gain, bias, encoders,
#: evaluation points and initial voltage are all explicit); the seed only makes the build reproducible.
SEED = 0

#: Why each refusal happens, shared by :func:`representable` and the tests.
REASON_EULER = ("Nengo's LIF always integrates exactly (exponential update over the free part of each "
                "step); it has no forward-Euler mode")
REASON_SHORT_REF = ("Nengo's LIF mis-simulates t_ref < dt (nengo#1427, nengo#1327): the free time left "
                    "in a spike step after the refractory period is never integrated and further "
                    "spikes in the step are dropped, so it fires too slowly (~15 Hz at 1 kHz dt)")


#: Nengo's written rule (the twin of its contract verdicts): exact inversion of the crossing, a refractory
#: timer from it with a partial first step, the spike reported at the end of its step.
CONTRACTS = {c.name: c for c in (
    Contract("nengo", NAME, "exact", (), Conventions(crossing="exact", refractory="timer", spike_stamp="end"),
             "nengo.LIF: exact update over the free part of each step, timer from the exact crossing, spike "
             "reported at the end of its step"),
)}


def contract(settings: RunSettings) -> Contract:
    """The written rule of a run (one for every setting Nengo represents)."""
    return CONTRACTS["nengo"]


def conventions(settings: RunSettings) -> Conventions:
    """The conventions of a run with ``settings`` (:func:`contract`)."""
    return contract(settings).conventions


def version() -> str:
    """Nengo's version string."""
    import nengo
    return nengo.__version__


@dataclass(frozen=True)
class NengoNative:
    """The numbers a ``nengo.LIF`` neuron and its input connection need (normalised units).

    Attributes
    ----------
    tau_rc : float
        Membrane time constant (s).
    tau_ref : float
        Refractory period (s).
    gain : float
        Ensemble gain (dimensionless); always 1, see the module docstring.
    bias : float
        Ensemble bias, the normalised leak reversal ``(E_L - V_reset)/dV``.
    voltage0 : float
        Initial normalised voltage ``(V_init - V_reset)/dV``.
    input_scale : float
        Normalised input per ampere, ``R/dV`` (1/A); the Node outputs ``input_scale * I``.
    min_voltage : float
        Lower clip of the normalised voltage; ``-inf`` (no clipping).
    """

    tau_rc: float
    tau_ref: float
    gain: float
    bias: float
    voltage0: float
    input_scale: float
    min_voltage: float = -math.inf

    def as_dict(self) -> dict:
        return asdict(self)


def to_native(spec: LIFSpec) -> NengoNative:
    """Map a physical specification onto Nengo's normalised LIF (see the module docstring)."""
    dv = spec.V_th - spec.V_reset
    return NengoNative(tau_rc=spec.tau_m, tau_ref=spec.t_ref, gain=1.0, bias=(spec.E_L - spec.V_reset) / dv,
                       voltage0=(spec.V_init - spec.V_reset) / dv, input_scale=spec.R / dv)


def from_native(native: NengoNative, V_reset: float, V_th: float, name: str = "nengo") -> LIFSpec:
    """The physical specification a normalised Nengo LIF realises, given the voltage scale.

    The normalised form cannot hold the voltage offset and scale (``V_reset``, ``V_th``: any pair gives
    the same Nengo neuron), so they must be supplied; ``R`` is recovered from the input scale, which
    lives in the drive Node rather than in the neuron. A gain other than 1 is only equivalent to a
    different input scale and is refused, as is any finite ``min_voltage`` (the physical LIF is never
    clipped). Name and description are not part of the native form.

    Parameters
    ----------
    native : NengoNative
    V_reset, V_th : float
        Reset and threshold (V).
    name : str
        Name of the returned specification.

    Raises
    ------
    ValueError
        For a gain other than 1 or a finite ``min_voltage``.
    """
    if native.gain != 1.0 or native.min_voltage != -math.inf:
        raise ValueError(f"from_native: needs gain 1 and min_voltage -inf (got {native.gain!r}, "
                         f"{native.min_voltage!r})")
    dv = V_th - V_reset
    return LIFSpec(name=name, tau_m=native.tau_rc, t_ref=native.tau_ref, E_L=V_reset + native.bias * dv,
                   V_th=V_th, V_reset=V_reset, R=native.input_scale * dv,
                   V_init=V_reset + native.voltage0 * dv)


REASON_SUBTRACT = "Nengo's LIF resets to 0 (V_reset); there is no reset by subtraction"
REASON_FIRST_STEP = ("an input spike arrives at t_0: Nengo's synapse output acts one step after its input "
                     "and its first step is n = 1, so nothing can act on (t_0, t_1]")

#: Metadata note of the synaptic mapping (also checked by the tests).
SYNAPSE_NOTE = ("NOT THE SAME MODEL within a step: the synaptic current is Nengo's ZOH Lowpass output, "
                "the step average of the exponential current held constant over each step (one-step delay "
                "compensated by emitting each spike one step early); PSP at grid points = exact PSP x "
                "P21'/P21, P21' = R (1 - a_m)(1 - a_s) tau_syn/dt (1 + dt^2/(12 tau_m tau_syn) + ...)")


#: Why the integrate-and-fire without leak is refused.
REASON_NONLEAKY = (
    "Nengo has no integrate-and-fire without leak that resets to a value: SpikingRectifiedLinear integrates "
    "v += J dt without leak but resets by subtraction (v -= n for n = floor(v) spikes in a step) and has no "
    "refractory period, and nengo.LIF always leaks (finite tau_rc: the leak's effect is not bounded to "
    "rounding)")


def representable(spec: LIFSpec, settings: RunSettings) -> str | None:
    """``None`` when Nengo simulates ``spec`` exactly with ``settings``, else the reason it cannot."""
    if not spec.leak:
        return REASON_NONLEAKY
    if settings.method == "euler":
        return REASON_EULER
    if spec.t_ref < settings.dt:
        return f"t_ref = {spec.t_ref * 1e3:g} ms < dt = {settings.dt * 1e3:g} ms: {REASON_SHORT_REF}"
    if spec.reset == "subtract":
        return REASON_SUBTRACT
    if spec.spike_input is not None and spec.spike_input.arrivals(settings.dt, settings.n_steps)[0]:
        return REASON_FIRST_STEP
    return None


def synapse_ratio(spec: LIFSpec, dt: float) -> float:
    """``P21'/P21``: Nengo's PSP at grid points over the exact one (see the module docstring)."""

    held = spec.R * -math.expm1(-dt / spec.tau_m) * -math.expm1(-dt / spec.tau_syn) * spec.tau_syn / dt
    return held / p21(spec, dt)


def run(spec: LIFSpec, drive: Drive, settings: RunSettings) -> Result:
    """Simulate ``drive.n_neurons`` neurons as one Nengo Ensemble.

    Parameters
    ----------
    spec : LIFSpec
    drive : Drive
        Input currents (A) for N neurons; its ``dt`` and ``n_steps`` must be the settings'.
    settings : RunSettings
        ``record_v`` decides whether a voltage probe is built.

    Returns
    -------
    Result
        ``v`` of shape (n_steps + 1, N) in volts (or ``None``), spikes stamped at the end of their step.

    Raises
    ------
    NotRepresentable
        When :func:`representable` gives a reason.
    ValueError
        When the drive's grid is not the settings' grid.
    """
    reason = representable(spec, settings)
    if reason is not None:
        raise NotRepresentable(NAME, reason)
    settings.require_grid_of(drive)
    native = to_native(spec)
    with _float64_signals(), _numpy_global_state():
        steps, neurons, u = _simulate(native, drive, settings.record_v, spec)
    dv = spec.V_th - spec.V_reset
    v = None
    if u is not None:
        v = np.empty((drive.n_steps + 1, drive.n_neurons))
        v[0] = spec.V_init
        v[1:] = spec.V_reset + u * dv
    extra = {"native": native.as_dict()}
    meta = _metadata(spec, native, drive.dt)
    if not spec.is_plain:
        extra["variant"] = {"synapse": None if spec.tau_syn is None else "step-average",
                            "noise": "zoh" if spec.sigma > 0 else None, "reset": "value", "spikes_per_step": "one"}
        meta = _variant_metadata(meta, spec)
    return Result(t=np.arange(drive.n_steps + 1) * drive.dt, v=v, spike_neuron=neurons,
                  spike_time=steps * drive.dt, n_neurons=drive.n_neurons, meta=meta, extra=extra)


def _variant_metadata(meta: Metadata, spec: LIFSpec) -> Metadata:
    from dataclasses import replace

    notes = list(meta.notes)
    method = meta.method
    if spec.tau_syn is not None:
        notes.append(SYNAPSE_NOTE)
        method += ("; synaptic current: Lowpass(tau_syn) on the spike Node's connection, its step average "
                   "held over each step (a different model within the step, see notes)")
    if spec.sigma > 0:
        notes.append(f"white noise: ens.noise = WhiteNoise(Gaussian(0, R sigma/(V_th - V_reset)), scale=True, "
                     f"seed={spec.noise_seed % 2**32}): s xi/sqrt(dt) added to J and held over the step")
    return replace(meta, method=method, notes=tuple(notes))


class _SpikeOutput:
    """Node output: at Nengo step n, the normalised charge ``w tau_syn J_n/dt`` of the spikes arriving at
    ``t_n`` (shape (N,)), for the Lowpass connection (see the module docstring)."""

    def __init__(self, spec: LIFSpec, drive: Drive, input_scale: float):
        jumps = spec.spike_input.jumps(drive.dt, drive.n_steps)
        self.values = jumps * spec.tau_syn / drive.dt * input_scale
        self.dt, self.n = drive.dt, drive.n_neurons

    def __call__(self, t: float) -> np.ndarray:
        n = int(round(t / self.dt))
        return np.full(self.n, self.values[n] if n < self.values.size else 0.0)


class _DriveOutput:
    """Node output: the normalised input ``input_scale * I[k]`` (shape (N,)) for Nengo step ``k + 1``.

    Only one row of the drive is scaled per call, so nothing of size steps x neurons is allocated.
    """

    def __init__(self, drive: Drive, input_scale: float):
        self.waveform = drive.waveform
        self.factor = drive.scale * input_scale
        self.dt = drive.dt

    def __call__(self, t: float) -> np.ndarray:
        k = int(round(t / self.dt)) - 1
        if not 0 <= k < self.waveform.shape[0]:
            raise BackendFailure(NAME, f"drive Node called at t = {t!r} s, outside the drive")
        return self.waveform[k] * self.factor


class _SpikeRecorder:
    """Node sink: stores (step, neuron) of every spike, never a dense steps x neurons array."""

    def __init__(self, dt: float):
        self.dt = dt
        self.steps: list[np.ndarray] = []
        self.neurons: list[np.ndarray] = []

    def __call__(self, t: float, spikes: np.ndarray) -> None:
        hit = np.flatnonzero(spikes)
        if hit.size:
            self.steps.append(np.full(hit.size, int(round(t / self.dt)), dtype=np.int64))
            self.neurons.append(hit)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Spike steps n (the spike is reported at t_n) and neuron indices, one entry per spike."""
        if not self.steps:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(self.steps), np.concatenate(self.neurons).astype(np.int64)


def _simulate(native: NengoNative, drive: Drive, record_v: bool, spec: LIFSpec | None = None):
    """Build and run the network; returns spike steps, spike neurons and u (n_steps, N) or None."""
    import nengo

    recorder = _SpikeRecorder(drive.dt)
    net, probe = _network(nengo, native, drive, recorder, record_v,
                          constant=drive.is_constant and (spec is None or spec.is_plain))
    if spec is not None and not spec.is_plain:
        _add_variant(nengo, net, spec, native, drive)
    data = _run_network(nengo, net, drive.dt, drive.n_steps, [probe] if probe is not None else [])
    steps, neurons = recorder.arrays()
    return steps, neurons, (data[0] if data else None)


def _run_network(nengo, net, dt: float, n_steps: int, probes: list) -> list:
    """Build ``net`` and run it ``n_steps`` steps of ``dt``; the data of ``probes``."""
    from nengo.builder import Model
    from nengo.cache import NoDecoderCache

    # An explicit Model with NoDecoderCache: the default one creates a decoder cache in the user's home.
    model = Model(dt=dt, label="lif-crosscheck nengo", decoder_cache=NoDecoderCache())
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        # With explicit gain and bias Nengo derives max_rates/intercepts for decoders, which this network
        # never solves; a bias <= 0 (E_L <= V_reset) makes that formula warn. Nothing else depends on it.
        warnings.filterwarnings("ignore", message="Non-finite values detected in `max_rates`")
        sim = nengo.Simulator(net, dt=dt, seed=SEED, model=model, progress_bar=False)
    with sim:
        sim.run_steps(n_steps, progress_bar=False)
        return [np.array(sim.data[p]) for p in probes]


def run_cells(runs: list, settings: RunSettings) -> list[Result]:
    """Several plain cells, each with its constant drive, as one Nengo network: one Ensemble per distinct
    ``(tau_m, t_ref)`` (a ``nengo.LIF`` has one ``tau_rc`` and ``tau_ref``), each neuron with its own bias
    ``(E_L - V_reset)/dV + R I/dV`` and initial voltage (the mapping of :func:`to_native`, the same
    floating-point operations as :func:`run`), built and run as one Simulator; one result per run, each
    what :func:`run` gives it (``tests/test_nengo.py`` checks spikes and voltages bit for bit). Runs that
    are not such a population run one after the other."""
    import nengo

    pop = population_of(runs, settings, representable, NAME)
    if pop is None:
        return [run(spec, drive, settings) for spec, drive in runs]
    specs, drives = pop.specs, pop.drives
    dt, n_steps = pop.drive.dt, pop.drive.n_steps
    natives = [to_native(spec) for spec in specs]
    ensembles: dict = {}                      # (tau_rc, tau_ref) -> the runs it holds, in order
    for j, native in enumerate(natives):
        ensembles.setdefault((native.tau_rc, native.tau_ref), []).append(j)
    recorder = _SpikeRecorder(dt)             # one sink for every ensemble: one Python call per step
    sink_of = np.empty(pop.drive.n_neurons, dtype=np.int64)    # population index of each sink place
    probes, start = [], 0
    with _float64_signals(), _numpy_global_state():
        with nengo.Network(seed=SEED) as net:
            sink = nengo.Node(recorder, size_in=pop.drive.n_neurons, size_out=0, label="spikes")
            for (tau_rc, tau_ref), members in ensembles.items():
                bias = np.concatenate([np.full(drives[j].n_neurons, natives[j].bias)
                                       + drives[j].waveform[0] * (drives[j].scale * natives[j].input_scale)
                                       for j in members])
                voltage = np.concatenate([np.full(drives[j].n_neurons, natives[j].voltage0) for j in members])
                n = bias.size
                neuron_type = nengo.LIF(tau_rc=tau_rc, tau_ref=tau_ref, min_voltage=-math.inf,
                                        initial_state={"voltage": voltage, "refractory_time": np.zeros(n)})
                ens = nengo.Ensemble(n, 1, neuron_type=neuron_type, gain=np.ones(n), bias=bias,
                                     encoders=np.ones((n, 1)), eval_points=np.zeros((1, 1)))
                nengo.Connection(ens.neurons, sink[start:start + n], synapse=None)
                if settings.record_v:
                    probes.append(nengo.Probe(ens.neurons, "voltage", synapse=None))
                sink_of[start:start + n] = np.concatenate([np.arange(pop.bounds[j], pop.bounds[j + 1])
                                                           for j in members])
                start += n
        data = _run_network(nengo, net, dt, n_steps, probes)
    steps, neurons = recorder.arrays()
    v = None
    if data:                                  # V = V_reset + u (V_th - V_reset), neuron by neuron as in run()
        u = np.empty((n_steps, pop.drive.n_neurons))
        u[:, sink_of] = np.concatenate(data, axis=1)
        v = np.empty((n_steps + 1, pop.drive.n_neurons))
        v[0] = pop.per_neuron([spec.V_init for spec in specs])
        v[1:] = pop.per_neuron([spec.V_reset for spec in specs]) + u * pop.per_neuron(
            [spec.V_th - spec.V_reset for spec in specs])
    whole = Result(t=np.arange(n_steps + 1) * dt, v=v, spike_neuron=sink_of[neurons], spike_time=steps * dt,
                   n_neurons=pop.drive.n_neurons, meta=_metadata(specs[0], natives[0], dt))
    return pop.split(whole, [_metadata(spec, native, dt) for spec, native in zip(specs, natives)],
                     [{"native": native.as_dict()} for native in natives])


def _network(nengo, native: NengoNative, drive: Drive, recorder: _SpikeRecorder, record_v: bool,
             constant: bool = False):
    """One Ensemble of N LIF neurons, its drive Node, the spike sink and (optionally) a voltage probe.

    With ``constant`` (a constant drive: f-I, convergence) there is no drive Node: the normalised input
    is added to the bias, ``bias + waveform[0] * (scale * input_scale)``, the same floating-point sum
    Nengo forms every step from the Node (``J = bias + gain * x`` with gain 1), once instead of a Python
    call per step.
    """
    n = drive.n_neurons
    bias = np.full(n, native.bias)
    if constant:
        bias = bias + drive.waveform[0] * (drive.scale * native.input_scale)
    neuron_type = nengo.LIF(tau_rc=native.tau_rc, tau_ref=native.tau_ref, min_voltage=native.min_voltage,
                            initial_state={"voltage": np.full(n, native.voltage0),
                                           "refractory_time": np.zeros(n)})
    with nengo.Network(seed=SEED) as net:
        ens = nengo.Ensemble(n, 1, neuron_type=neuron_type, gain=np.full(n, native.gain),
                             bias=bias, encoders=np.ones((n, 1)), eval_points=np.zeros((1, 1)))
        if not constant:
            source = nengo.Node(_DriveOutput(drive, native.input_scale), size_out=n, label="drive")
            nengo.Connection(source, ens.neurons, synapse=None)
        sink = nengo.Node(recorder, size_in=n, size_out=0, label="spikes")
        nengo.Connection(ens.neurons, sink, synapse=None)
        probe = nengo.Probe(ens.neurons, "voltage", synapse=None) if record_v else None
    return net, probe


def _add_variant(nengo, net, spec: LIFSpec, native: NengoNative, drive: Drive) -> None:
    """The spike Node with its Lowpass connection, and the ensemble's noise process."""
    ens = net.ensembles[0]
    with net:
        if spec.spike_input is not None:
            source = nengo.Node(_SpikeOutput(spec, drive, native.input_scale), size_out=drive.n_neurons,
                                label="spike input")
            nengo.Connection(source, ens.neurons, synapse=nengo.Lowpass(spec.tau_syn))
        if spec.sigma > 0:
            scale = spec.R * spec.sigma / (spec.V_th - spec.V_reset)
            ens.noise = nengo.processes.WhiteNoise(dist=nengo.dists.Gaussian(0.0, scale), scale=True,
                                                   seed=int(spec.noise_seed) % 2**32)


@contextlib.contextmanager
def _numpy_global_state():
    """Restore numpy's global generator afterwards: Nengo's builder draws a seed from it for the top-level
    network "no matter what" (nengo/builder/network.py ``_set_seed``), even when every seed is given."""
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


@contextlib.contextmanager
def _float64_signals():
    """Build and run in float64 whatever the user's nengorc says; the setting is restored afterwards."""
    from nengo.rc import rc
    bits = rc.get("precision", "bits")
    rc.set("precision", "bits", "64")
    try:
        yield
    finally:
        rc.set("precision", "bits", bits)


def _metadata(spec: LIFSpec, native: NengoNative, dt: float) -> Metadata:
    dv = spec.V_th - spec.V_reset
    return Metadata(
        backend=NAME, version=version(),
        method="exact exponential integration over the free part of each step", dt=dt,
        initial_state=(f"u = {native.voltage0!r} (V = V_init = {spec.V_init!r} V), refractory timer 0 "
                       "(Nengo's random initial voltage overridden)"),
        **statements(
            CONTRACTS["nengo"].conventions_for(spec),
            threshold="u > 1 (V > V_th) after each update",
            spike_stamp="Nengo computes the exact crossing time internally (it starts the refractory timer) "
                        "but does not report it",
            sampling="Nengo's probe sample n is u after step n (update and reset), placed at t_n = n dt and "
                     "converted as V = V_reset + u (V_th - V_reset); sample 0 is V_init",
            refractory="the first step after it partial",
            input_timing="the Node returns sample round(t/dt) - 1 at t = n dt and reaches ens.neurons with "
                         "synapse=None",
            reset="u <- 0; never clipped (min_voltage = -inf)"),
        notes=(f"u = (V - V_reset)/{dv!r} V; tau_rc = {native.tau_rc!r} s, tau_ref = {native.tau_ref!r} s, "
               f"gain = 1, bias = {native.bias!r}, J = bias + {native.input_scale!r}/A * I",
               "exact only for t_ref >= dt (nengo#1327, nengo#1427), which representable() enforces",
               "float64 signals, explicit encoders and evaluation points, no decoder cache, seed "
               f"{SEED}"))
