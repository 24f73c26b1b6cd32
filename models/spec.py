"""The one LIF specification every backend realises.

Model (SI units throughout)::

    tau_m dV/dt = -(V - E_L) + R I(t)          while not refractory
    V > V_th  ->  spike, V <- V_reset, V held at V_reset for t_ref

with ``tau_m = R C`` and ``g_L = 1/R``. The membrane may be given as (``tau_m``, ``R``), (``C``, ``g_L``),
(``g_L``, ``tau_m``) or any other pair that fixes both ``tau_m`` and ``R``; redundant values must agree
(relative tolerance :data:`MEMBRANE_RTOL`) or the specification is contradictory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from .errors import SpecificationError
from .units import CAPACITANCE, CONDUCTANCE, RESISTANCE, TIME, VOLTAGE, Kind, format_quantity

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
}


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
        Initial membrane potential (V), < V_th; ``None`` means E_L.
    description : str
        Free text: where the numbers come from.
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

    def __post_init__(self):
        if self.V_init is None:
            object.__setattr__(self, "V_init", self.E_L)
        for f in fields(self):
            if f.name not in ("name", "description"):
                object.__setattr__(self, f.name, float(getattr(self, f.name)))
        _validate(self)

    @property
    def C(self) -> float:
        """Membrane capacitance (F) = tau_m / R."""
        return self.tau_m / self.R

    @property
    def g_L(self) -> float:
        """Leak conductance (S) = 1 / R."""
        return 1.0 / self.R

    @property
    def rheobase(self) -> float:
        """Smallest constant current (A) that ever reaches threshold: (V_th - E_L) / R."""
        return (self.V_th - self.E_L) / self.R

    def replace(self, **changes) -> "LIFSpec":
        """A copy with some fields changed (validated again)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return LIFSpec(**values)

    def to_si_dict(self) -> dict:
        """Every field and derived quantity in SI, for manifests and reports."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(C=self.C, g_L=self.g_L, rheobase=self.rheobase)
        return out


#: Field name -> (kind, noun used in messages); the public [neuron] keys of the file format.
NEURON_FIELDS: dict[str, Kind] = {
    "tau_m": TIME, "E_L": VOLTAGE, "V_th": VOLTAGE, "V_reset": VOLTAGE, "V_init": VOLTAGE,
    "R": RESISTANCE, "C": CAPACITANCE, "g_L": CONDUCTANCE, "t_ref": TIME,
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
        _require(math.isfinite(value) and value > 0, key, f"must be a positive {NEURON_FIELDS[key].noun}",
                 value)
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
        "neuron", "expected the membrane as R (with tau_m), C and g_L, or g_L and tau_m",
        ", ".join(sorted(given)) or "none of them")


def _require_consistent(key: str, value: float, implied: float, how: str) -> None:
    if abs(value - implied) > MEMBRANE_RTOL * abs(implied):
        raise SpecificationError(f"neuron.{key}", f"contradicts the other membrane values ({how} = {implied!r})",
                                 value)


def _require(ok: bool, key: str, expected: str, value: object) -> None:
    if not ok:
        raise SpecificationError(f"neuron.{key}", expected, value)


def _validate(spec: LIFSpec) -> None:
    """Refuse anything that is not a valid LIF cell (messages name field, requirement and value)."""
    if not isinstance(spec.name, str) or not spec.name.strip():
        raise SpecificationError("name", "expected a non-empty string", spec.name)
    for key in ("tau_m", "E_L", "V_th", "V_reset", "V_init", "R", "t_ref"):
        value = getattr(spec, key)
        _require(math.isfinite(value), key, "must be finite", _fmt(value, NEURON_FIELDS[key]))
    _require(spec.tau_m > 0, "tau_m", "must be a positive time", _fmt(spec.tau_m, TIME))
    _require(spec.R > 0, "R", "must be a positive resistance", _fmt(spec.R, RESISTANCE))
    _require(spec.t_ref >= 0, "t_ref", "must be a non-negative time", _fmt(spec.t_ref, TIME))
    _plausible(spec, "tau_m", "time", TIME)
    _plausible(spec, "t_ref", "refractory", TIME)
    _plausible(spec, "R", "resistance", RESISTANCE)
    for key in ("E_L", "V_th", "V_reset", "V_init"):
        _plausible(spec, key, "voltage", VOLTAGE)
    _require(spec.V_th > spec.V_reset, "V_th",
             f"must be above neuron.V_reset ({_fmt(spec.V_reset, VOLTAGE)})", _fmt(spec.V_th, VOLTAGE))
    _require(spec.V_init < spec.V_th, "V_init",
             f"must be below neuron.V_th ({_fmt(spec.V_th, VOLTAGE)})", _fmt(spec.V_init, VOLTAGE))


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


__all__ = ["LIFSpec", "membrane", "NEURON_FIELDS", "PLAUSIBLE", "MEMBRANE_RTOL", "spec_fields"]

