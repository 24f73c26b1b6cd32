"""The one LIF specification every backend realises.

Model (SI units throughout)::

    tau_m dV/dt = -(V - E_L) + R I(t)          while not refractory
    V > V_th  ->  spike, V <- V_reset, V held at V_reset for t_ref

with ``tau_m = R C`` and ``g_L = 1/R``. The membrane may be given as (``tau_m``, ``R``), (``C``, ``g_L``),
(``g_L``, ``tau_m``) or any other pair that fixes both ``tau_m`` and ``R``; redundant values must agree
(relative tolerance :data:`MEMBRANE_RTOL`) or the specification is contradictory.

Optional additions (the seed tutorials' model variants; their defaults give exactly the plain LIF above,
the same object with the same behaviour)::

    tau_m dV/dt = -(V - E_L) + R (I(t) + I_syn(t)) + R sigma xi(t)    xi: unit Gaussian white noise
    tau_syn dI_syn/dt = -I_syn + tau_syn sum_j weight delta(t - t_j)  I_syn jumps by weight per spike
    reset "value": V <- V_reset;  reset "subtract": V <- V - (V_th - V_reset)

``tau_syn`` (s) switches the exponential synaptic current on, ``spike_input`` (:class:`SpikeInput`) gives
the presynaptic spikes, ``sigma`` (A s^0.5) the white-noise current (the charge delivered in a time ``T``
has standard deviation ``sigma sqrt(T)``; free-membrane variance ``R^2 sigma^2 / (2 tau_m)``) with
``noise_seed``, and ``reset`` the reset rule.

The integrate-and-fire without leak (Lapicque 1907; the seed tutorial's first model; NIR's ``IF``)::

    C dV/dt = I(t)                             while not refractory
    V > V_th  ->  spike, V <- V_reset, V held at V_reset for t_ref

is the same dataclass with ``tau_m = R = inf`` and the capacitance held in ``capacitance`` (``leak`` is
then False). It is the LIF's limit ``R -> inf`` at fixed ``C``: ``exp(-dt/tau_m) = 1`` is exact, but
``R I`` and ``V_inf = E_L + R I`` are not defined, so every formula branches on :attr:`LIFSpec.leak` and
uses the drive ``I/C`` instead. ``E_L`` has no meaning without a leak: it is stored as ``V_reset`` (so
every voltage scale stays finite) and never used. Its rheobase is 0: any positive current fires.
The variants (synapse, noise, reset by subtraction) are not defined for it (refused).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from .errors import SpecificationError
from .units import (CAPACITANCE, CONDUCTANCE, CURRENT, NOISE_DENSITY, RATE, RESISTANCE, TIME, VOLTAGE, Kind,
                    format_quantity)

#: Redundant membrane values (e.g. tau_m, C and g_L all given) must satisfy tau_m = C/g_L to this
#: relative precision: a few ulps of the decimal strings a person writes, far below any physical effect.
MEMBRANE_RTOL = 1e-9

#: Plausible ranges (SI). A value outside is almost certainly a unit slip ("-70 V", "20 s" for 20 ms),
#: refused with the range in the message. Wide enough for dimensionless tutorial cells (threshold 1 V).
PLAUSIBLE = {
    "time": (1e-6, 1e3),          # s: 1 us .. 1000 s for tau_m
    "refractory": (0.0, 10.0),    # s
    "voltage": (-10.0, 10.0),     # V
    "resistance": (1e-3, 1e15),   # Ohm
    "rate": (0.0, 1e6),           # Hz, Poisson spike input (exclusive of 0)
}

#: The reset rules: ``"value"`` (``V <- V_reset``, the default) and ``"subtract"``
#: (``V <- V - (V_th - V_reset)``).
RESETS = ("value", "subtract")

#: Largest seed accepted (numpy's SeedSequence takes any non-negative integer; NEST and TOML need < 2**63).
MAX_SEED = 2**63 - 1

#: Poisson spike input: exponential intervals are drawn in blocks of this many (see :class:`SpikeInput`).
POISSON_BLOCK = 1024


#: The cell fields in which the neurons of one population may differ (a sweep's cells; the backends that
#: take several cells as one population, ``run_cells``, take these per neuron).
PER_NEURON_FIELDS = ("tau_m", "R", "E_L", "V_th", "V_reset", "V_init", "t_ref")


def one_population(specs) -> bool:
    """True when ``specs`` are plain leaky cells that differ in :data:`PER_NEURON_FIELDS` alone (name and
    description aside)."""
    first = specs[0]
    keep = {f.name for f in fields(first)} - set(PER_NEURON_FIELDS) - {"name", "description"}
    return all(s.leak and s.is_plain and all(getattr(s, k) == getattr(first, k) for k in keep) for s in specs)


@dataclass(frozen=True)
class SpikeInput:
    """Presynaptic spikes onto the cell's exponential synaptic current (needs ``LIFSpec.tau_syn``).

    One spike train, shared by every neuron of a run, given either as explicit arrival ``times`` or as a
    Poisson ``rate`` drawn from ``seed``. Each spike makes the synaptic current jump by ``weight``.

    Poisson trains: the intervals are i.i.d. exponential with mean ``1/rate``, drawn from
    ``numpy.random.default_rng(seed).exponential(1/rate, POISSON_BLOCK)`` block after block and
    cumulated from ``t = 0``; the train up to any duration is a prefix of the same infinite train, so runs
    of different durations or time steps see the same spikes.

    Grid arrival (:meth:`arrivals`): a spike at time ``t`` arrives at the grid point ``t_j`` with
    ``j = floor(t/dt + 1/2)`` (the nearest; times on the grid exactly), so that the current jumps at
    ``t_j`` and drives ``(t_j, t_j+1]`` onwards; spikes at one grid point add their weights; arrivals at or
    after the end of the run are dropped.

    Attributes
    ----------
    weight : float
        Jump of the synaptic current per spike (A); negative for inhibition.
    times : tuple of float
        Arrival times (s), non-decreasing, >= 0 (repeats are several spikes at once); empty with ``rate``.
    rate : float or None
        Poisson rate (Hz), > 0; ``None`` with ``times``.
    seed : int
        Seed of the Poisson train (non-negative); only used with ``rate``.
    """

    weight: float
    times: tuple = ()
    rate: float | None = None
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "weight", float(self.weight))
        try:
            times = tuple(float(t) for t in self.times)
        except (TypeError, ValueError):
            raise SpecificationError("spike_input.times", "expected a list of times", repr(self.times)) from None
        object.__setattr__(self, "times", times)
        if self.rate is not None:
            object.__setattr__(self, "rate", float(self.rate))
        _validate_input(self)

    def spike_times(self, duration: float) -> np.ndarray:
        """Arrival times (s) in ``[0, duration)``, sorted, shape (n_spikes,)."""
        if self.rate is None:
            times = np.asarray(self.times, dtype=float)
            return times[times < duration]
        rng = np.random.default_rng(self.seed)
        blocks, last = [], 0.0
        while last < duration:
            block = last + np.cumsum(rng.exponential(1.0 / self.rate, POISSON_BLOCK))
            blocks.append(block)
            last = float(block[-1])
        times = np.concatenate(blocks)
        return times[times < duration]

    def arrivals(self, dt: float, n_steps: int) -> np.ndarray:
        """Number of spikes arriving at each grid point ``t_k``, ``k = 0 .. n_steps - 1`` (int array)."""
        steps = np.floor(self.spike_times(n_steps * dt) / dt + 0.5).astype(np.int64)
        return np.bincount(steps[steps < n_steps], minlength=n_steps)

    def jumps(self, dt: float, n_steps: int) -> np.ndarray:
        """Jump of the synaptic current (A) at each grid point ``t_k``, shape (n_steps,)."""
        return self.weight * self.arrivals(dt, n_steps)

    def to_si_dict(self) -> dict:
        """The input as plain SI values (JSON-ready)."""
        out = {"weight": self.weight}
        if self.rate is None:
            out["times"] = list(self.times)
        else:
            out.update(rate=self.rate, seed=self.seed)
        return out


@dataclass(frozen=True)
class LIFSpec:
    """A leaky integrate-and-fire cell in SI units.

    Attributes
    ----------
    name : str
        Short identifier, used in reports and file names (sanitised there).
    tau_m : float
        Membrane time constant (s), > 0.
    E_L : float
        Leak reversal (resting) potential (V).
    V_th : float
        Spike threshold (V), > V_reset.
    V_reset : float
        Reset potential (V).
    R : float
        Membrane (input) resistance (Ohm), > 0.
    t_ref : float
        Absolute refractory period (s), >= 0.
    V_init : float or None
        Initial membrane potential (V), < V_th; ``None`` means E_L, or V_reset for a self-oscillating
        cell (``E_L >= V_th``, rheobase <= 0), whose rest would lie at or above the threshold.
    description : str
        Free text: where the numbers come from.
    reset : str
        ``"value"`` (``V <- V_reset``, default) or ``"subtract"`` (``V <- V - (V_th - V_reset)``).
    tau_syn : float or None
        Time constant (s) of the exponential synaptic current, > 0; ``None`` (default): no synapse.
        ``tau_syn == tau_m`` is allowed (the alpha-shaped limit of the closed forms).
    sigma : float
        White-noise current density (A s^0.5), >= 0; 0 (default): no noise.
    noise_seed : int
        Seed of the noise (non-negative integer); each backend documents how it uses it.
    spike_input : SpikeInput or None
        Presynaptic spikes onto the synaptic current; needs ``tau_syn``.
    capacitance : float or None
        Membrane capacitance (F) of a non-leaky membrane (``C dV/dt = I``); ``None`` (default): the LIF.
        Given, it sets ``tau_m = R = inf`` and ``E_L = V_reset`` (unused), whatever they were.
    """

    name: str
    tau_m: float
    E_L: float
    V_th: float
    V_reset: float
    R: float
    t_ref: float = 0.0
    V_init: float | None = None
    description: str = ""
    reset: str = "value"
    tau_syn: float | None = None
    sigma: float = 0.0
    noise_seed: int = 0
    spike_input: SpikeInput | None = None
    capacitance: float | None = None

    def __post_init__(self):
        if self.capacitance is not None:
            object.__setattr__(self, "capacitance", float(self.capacitance))
            _validate_nonleaky(self)
            object.__setattr__(self, "tau_m", math.inf)
            object.__setattr__(self, "R", math.inf)
            object.__setattr__(self, "E_L", float(self.V_reset))
        if self.V_init is None:
            object.__setattr__(self, "V_init", self.E_L if self.E_L < self.V_th else self.V_reset)
        for name in NUMERIC_FIELDS:
            object.__setattr__(self, name, float(getattr(self, name)))
        if self.tau_syn is not None:
            object.__setattr__(self, "tau_syn", float(self.tau_syn))
        object.__setattr__(self, "sigma", float(self.sigma))
        _validate(self)
        _validate_variant(self)

    @property
    def features(self) -> tuple[str, ...]:
        """The optional additions this cell uses, among ``"synapse"``, ``"noise"``, ``"subtract"``;
        ``()`` for the plain LIF."""
        out = []
        if self.tau_syn is not None:
            out.append("synapse")
        if self.sigma > 0:
            out.append("noise")
        if self.reset == "subtract":
            out.append("subtract")
        return tuple(out)

    @property
    def leak(self) -> bool:
        """False for the integrate-and-fire without leak (``C dV/dt = I``, ``tau_m = R = inf``)."""
        return self.capacitance is None

    @property
    def is_plain(self) -> bool:
        """True for the plain LIF (no synapse, no noise, reset to a value)."""
        return not self.features

    @property
    def free_sd(self) -> float:
        """Standard deviation (V) of the free membrane under the white-noise current:
        ``R sigma / sqrt(2 tau_m)``."""
        if self.sigma == 0.0:
            return 0.0
        return self.R * self.sigma / math.sqrt(2.0 * self.tau_m)

    @property
    def C(self) -> float:
        """Membrane capacitance (F) = tau_m / R (the given capacitance without leak)."""
        return self.capacitance if self.capacitance is not None else self.tau_m / self.R

    @property
    def g_L(self) -> float:
        """Leak conductance (S) = 1 / R (0 without leak)."""
        return 1.0 / self.R

    @property
    def rheobase(self) -> float:
        """Smallest constant current (A) that ever reaches threshold: (V_th - E_L) / R; 0 without leak
        (any positive current fires, none at or below 0)."""
        if not self.leak:
            return 0.0
        return (self.V_th - self.E_L) / self.R

    def replace(self, **changes) -> "LIFSpec":
        """A copy with some fields changed (validated again)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return LIFSpec(**values)

    def to_si_dict(self) -> dict:
        """Every field and derived quantity in SI, for manifests and reports (JSON-ready).

        The optional additions appear only when they differ from their defaults, so a plain cell gives
        exactly the keys it always did.
        """
        if not self.leak:   # no tau_m, R, E_L: JSON has no inf, and they have no meaning here
            out = {name: getattr(self, name) for name in PLAIN_FIELDS if name not in ("tau_m", "R", "E_L")}
            out.update(leak=False, C=self.C, g_L=0.0, rheobase=0.0)
            return out
        out = {name: getattr(self, name) for name in PLAIN_FIELDS}
        out.update(C=self.C, g_L=self.g_L, rheobase=self.rheobase)
        for name, default in VARIANT_DEFAULTS.items():
            value = getattr(self, name)
            if value != default:
                out[name] = value.to_si_dict() if isinstance(value, SpikeInput) else value
        return out


#: The plain cell's fields, in order (what every specification has had from the start).
PLAIN_FIELDS = ("name", "tau_m", "E_L", "V_th", "V_reset", "R", "t_ref", "V_init", "description")

#: Fields held as SI floats (validated finite and in range).
NUMERIC_FIELDS = ("tau_m", "E_L", "V_th", "V_reset", "R", "t_ref", "V_init")

#: The optional additions and their defaults (the plain LIF).
VARIANT_DEFAULTS = {"reset": "value", "tau_syn": None, "sigma": 0.0, "noise_seed": 0, "spike_input": None}

#: Field name -> (kind, noun used in messages); the public [neuron] keys of the file format that hold
#: quantities (``reset`` and ``noise_seed`` are a word and an integer, see :mod:`models.loading`).
NEURON_FIELDS: dict[str, Kind] = {
    "tau_m": TIME, "E_L": VOLTAGE, "V_th": VOLTAGE, "V_reset": VOLTAGE, "V_init": VOLTAGE,
    "R": RESISTANCE, "C": CAPACITANCE, "g_L": CONDUCTANCE, "t_ref": TIME,
    "tau_syn": TIME, "sigma": NOISE_DENSITY,
}


def membrane(tau_m=None, R=None, C=None, g_L=None) -> tuple[float, float]:
    """Solve the membrane for (tau_m, R) from any consistent subset of tau_m, R, C, g_L (SI).

    Raises
    ------
    SpecificationError
        If the values do not fix both tau_m and R, are not positive, or contradict each other.
    """
    given = {k: v for k, v in dict(tau_m=tau_m, R=R, C=C, g_L=g_L).items() if v is not None}
    for key, value in given.items():
        hint = (" (a membrane without leak is written leak = false with C alone)"
                if key == "g_L" and value == 0 else "")
        _require(math.isfinite(value) and value > 0, key,
                 f"must be a positive {NEURON_FIELDS[key].noun}{hint}", value)
    if "g_L" in given:
        if "R" in given:
            _require_consistent("g_L", given["g_L"], 1.0 / given["R"], "1/R")
        R = 1.0 / given["g_L"]
    if R is not None and C is not None:
        if tau_m is not None:
            _require_consistent("tau_m", tau_m, R * C, "R*C (or C/g_L)")
        return R * C, R
    if R is not None and tau_m is not None:
        return tau_m, R
    if C is not None and tau_m is not None:
        return tau_m, tau_m / C
    raise SpecificationError(
        "neuron", "expected the membrane as R (with tau_m), C and g_L, or g_L and tau_m"
        + (" (C alone: add leak = false for the integrate-and-fire without leak)" if set(given) == {"C"} else ""),
        ", ".join(sorted(given)) or "none of them")


#: SI unit -> (factor, unit) of the numbers in messages, in the units people write.
_MESSAGE_UNITS = {"s": (1e3, "ms"), "ohm": (1e-6, "MOhm"), "S": (1e9, "nS"), "F": (1e12, "pF")}


def _shown(value: float, key: str) -> str:
    """A membrane value in the units people write, to four significant digits: ``14.97 ms``."""
    factor, unit = _MESSAGE_UNITS.get(NEURON_FIELDS[key].si_unit, (1.0, NEURON_FIELDS[key].si_unit))
    return f"{value * factor:.4g} {unit}"


def _require_consistent(key: str, value: float, implied: float, how: str) -> None:
    if abs(value - implied) > MEMBRANE_RTOL * abs(implied):
        raise SpecificationError(f"neuron.{key}", f"contradicts the other membrane values ({how} = "
                                 f"{_shown(implied, key)}, not {_shown(value, key)})", value)


def _require(ok: bool, key: str, expected: str, value: object) -> None:
    if not ok:
        raise SpecificationError(f"neuron.{key}", expected, value)


#: Plausible capacitances (F) of a non-leaky membrane: 1 fF .. 10 F (dimensionless tutorial cells use 1).
PLAUSIBLE_CAPACITANCE = (1e-15, 10.0)


def _validate_nonleaky(spec: LIFSpec) -> None:
    """A non-leaky membrane: a positive, finite, plausible capacitance and none of the variants."""
    c = spec.capacitance
    _require(math.isfinite(c) and c > 0, "C", "must be a positive capacitance", _fmt(c, CAPACITANCE))
    lo, hi = PLAUSIBLE_CAPACITANCE
    _require(lo <= c <= hi, "C", f"must lie between {_fmt(lo, CAPACITANCE)} and {_fmt(hi, CAPACITANCE)} "
             "(a unit slip?)", _fmt(c, CAPACITANCE))
    for key in ("tau_syn", "spike_input"):
        if getattr(spec, key) is not None:
            raise SpecificationError(f"neuron.{key}", "is not supported with leak = false (the synaptic "
                                     "closed forms divide by tau_m)")
    if float(spec.sigma) != 0.0:
        raise SpecificationError("neuron.sigma", "is not supported with leak = false (a non-leaky membrane "
                                 "under white noise has no stationary variance)", spec.sigma)
    if spec.reset != "value":
        raise SpecificationError("neuron.reset", "must be \"value\" with leak = false (reset by subtraction "
                                 "is a variant of the LIF only)", spec.reset)


def _validate(spec: LIFSpec) -> None:
    """Refuse anything that is not a valid LIF cell (messages name field, requirement and value)."""
    if not isinstance(spec.name, str) or not spec.name.strip():
        raise SpecificationError("name", "expected a non-empty string", spec.name)
    leak = spec.capacitance is None
    for key in ("tau_m", "E_L", "V_th", "V_reset", "V_init", "R", "t_ref"):
        value = getattr(spec, key)
        if leak or key not in ("tau_m", "R"):
            _require(math.isfinite(value), key, "must be finite", _fmt(value, NEURON_FIELDS[key]))
    _require(spec.tau_m > 0, "tau_m", "must be a positive time", _fmt(spec.tau_m, TIME))
    _require(spec.R > 0, "R", "must be a positive resistance", _fmt(spec.R, RESISTANCE))
    _require(spec.t_ref >= 0, "t_ref", "must be a non-negative time", _fmt(spec.t_ref, TIME))
    if leak:
        _plausible(spec, "tau_m", "time", TIME)
        _plausible(spec, "R", "resistance", RESISTANCE)
    _plausible(spec, "t_ref", "refractory", TIME)
    for key in ("E_L", "V_th", "V_reset", "V_init"):
        _plausible(spec, key, "voltage", VOLTAGE)
    _require(spec.V_th > spec.V_reset, "V_th",
             f"must be above neuron.V_reset ({_fmt(spec.V_reset, VOLTAGE)})", _fmt(spec.V_th, VOLTAGE))
    _require(spec.V_init < spec.V_th, "V_init",
             f"must be below neuron.V_th ({_fmt(spec.V_th, VOLTAGE)})", _fmt(spec.V_init, VOLTAGE))


def _validate_variant(spec: LIFSpec) -> None:
    """Refuse invalid optional additions (messages name field, requirement and value)."""
    if not isinstance(spec.reset, str) or spec.reset not in RESETS:
        raise SpecificationError("neuron.reset", 'expected "value" or "subtract"', spec.reset)
    if spec.tau_syn is not None:
        _require(math.isfinite(spec.tau_syn) and spec.tau_syn > 0, "tau_syn", "must be a positive time",
                 _fmt(spec.tau_syn, TIME))
        _plausible(spec, "tau_syn", "time", TIME)
    _require(math.isfinite(spec.sigma) and spec.sigma >= 0, "sigma",
             "must be a non-negative current noise density", _fmt(spec.sigma, NOISE_DENSITY))
    _require(spec.free_sd <= PLAUSIBLE["voltage"][1], "sigma",
             f"must give a free-membrane standard deviation R*sigma/sqrt(2 tau_m) of at most "
             f"{_fmt(PLAUSIBLE['voltage'][1], VOLTAGE)} (a unit slip?)", _fmt(spec.sigma, NOISE_DENSITY))
    _require(_is_seed(spec.noise_seed), "noise_seed", "expected a non-negative integer", spec.noise_seed)
    if spec.spike_input is not None:
        if not isinstance(spec.spike_input, SpikeInput):
            raise SpecificationError("spike_input", "expected a table of spike input", repr(spec.spike_input))
        if spec.tau_syn is None:
            raise SpecificationError("spike_input", "needs neuron.tau_syn (the synaptic current the spikes "
                                     "drive)")
        reach = abs(spec.spike_input.weight) * spec.R
        if reach > PLAUSIBLE["voltage"][1]:
            raise SpecificationError("spike_input.weight", f"must give R*|weight| of at most "
                                     f"{_fmt(PLAUSIBLE['voltage'][1], VOLTAGE)} (a unit slip?)",
                                     _fmt(spec.spike_input.weight, CURRENT))


def _is_seed(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value <= MAX_SEED


def _validate_input(inp: SpikeInput) -> None:
    """Refuse an invalid spike input (fields ``spike_input.*``)."""
    if not math.isfinite(inp.weight):
        raise SpecificationError("spike_input.weight", "must be a finite current", _fmt(inp.weight, CURRENT))
    if (inp.rate is None) == (not inp.times):
        raise SpecificationError("spike_input", "expected either times (a list) or rate, not both and not "
                                 "neither")
    for i, t in enumerate(inp.times):
        if not (math.isfinite(t) and 0 <= t <= PLAUSIBLE["time"][1]):
            raise SpecificationError(f"spike_input.times[{i}]", f"must be a time between 0 s and "
                                     f"{_fmt(PLAUSIBLE['time'][1], TIME)}", _fmt(t, TIME))
        if i and t < inp.times[i - 1]:
            raise SpecificationError(f"spike_input.times[{i}]", f"must not be earlier than the time before "
                                     f"it ({_fmt(inp.times[i - 1], TIME)})", _fmt(t, TIME))
    if inp.rate is not None:
        lo, hi = PLAUSIBLE["rate"]
        if not (math.isfinite(inp.rate) and lo < inp.rate <= hi):
            raise SpecificationError("spike_input.rate", f"must be a positive rate of at most {_fmt(hi, RATE)}",
                                     _fmt(inp.rate, RATE))
    if not _is_seed(inp.seed):
        raise SpecificationError("spike_input.seed", "expected a non-negative integer", inp.seed)
    if inp.rate is None and inp.seed != 0:
        raise SpecificationError("spike_input.seed", "is only used with spike_input.rate", inp.seed)


def _plausible(spec: LIFSpec, key: str, range_name: str, kind: Kind) -> None:
    lo, hi = PLAUSIBLE[range_name]
    value = getattr(spec, key)
    _require(lo <= value <= hi, key,
             f"must lie between {_fmt(lo, kind)} and {_fmt(hi, kind)} (a unit slip?)", _fmt(value, kind))


def _fmt(value: float, kind: Kind) -> str:
    return format_quantity(value, kind)


def spec_fields() -> tuple[str, ...]:
    """Names of the dataclass fields, in order."""
    return tuple(f.name for f in fields(LIFSpec))


__all__ = ["LIFSpec", "SpikeInput", "membrane", "NEURON_FIELDS", "PLAUSIBLE", "MEMBRANE_RTOL", "RESETS",
           "VARIANT_DEFAULTS", "spec_fields"]
