"""Shared stimuli: immutable descriptions that sample themselves on a grid.

Sampling convention (the same for every backend): on a grid ``t_k = k dt``, sample ``k`` is the value
of the current at ``t_k`` and drives the interval ``(t_k, t_k+1]`` (zero-order hold). Edges of
piecewise-constant stimuli (step, pulses) take effect at the first grid point at or after them
(``t_k >= edge - EDGE_EPS dt``), so a step at 100 ms on a 0.1 ms grid switches at k = 1000 whatever the
float rounding of ``k dt``. A dt sweep samples the same description again at each dt; the noise is drawn
from its own seeded generator, so every backend receives identical samples.

A ``[[stimulus]]`` table in a comparison file names its ``kind`` and that kind's keys::

    [[stimulus]]
    name = "step300"
    kind = "step"        # dc | step | pulses | ramp | sine | noise | sum
    amplitude = "300 pA"
    start = "100 ms"
    stop = "400 ms"
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from models.drive import Drive
from models.errors import ComparisonError, UserInputError
from models.files import check_keys
from models.units import CURRENT, NOISE_DENSITY, RATE, TIME, Kind, format_quantity, parse_quantity

#: Tolerance, in steps, for placing an edge on the grid (float rounding of k*dt is ~1e-16 relative).
EDGE_EPS = 1e-9

#: Largest current magnitude accepted (A): 1 kA is a unit slip in any neuron model.
MAX_CURRENT = 1e3


def edge_index(t_edge: float, dt: float) -> int:
    """First grid index k with ``k dt >= t_edge`` (within :data:`EDGE_EPS` of a step)."""
    if t_edge / dt > _FAR:
        return _FAR
    return max(0, math.ceil(t_edge / dt - EDGE_EPS))


_FAR = 2**62  # an index beyond any run


def on_window(start: float, stop: float, dt: float, n_steps: int) -> np.ndarray:
    """Which samples lie in ``[start, stop)``, its edges placed on the grid by :func:`edge_index`."""
    k = np.arange(n_steps)
    return (k >= edge_index(start, dt)) & (k < edge_index(stop, dt))


@dataclass(frozen=True)
class Stimulus:
    """Base class: a named current waveform. Subclasses define ``KIND``, ``UNITS`` and :meth:`_values`."""

    name: str

    KIND: ClassVar[str] = ""
    UNITS: ClassVar[dict[str, Kind]] = {}
    OPTIONAL: ClassVar[dict[str, object]] = {}
    #: Optional keys left out of :meth:`to_table` at their default (keys added to a kind later, so that
    #: the tables of stimuli that do not use them read as before).
    OMITTED_AT_DEFAULT: ClassVar[tuple[str, ...]] = ()

    def sample(self, dt: float, n_steps: int) -> np.ndarray:
        """Current samples (A), shape (n_steps,): sample k drives (t_k, t_k+1]."""
        return np.asarray(self._values(dt, n_steps), dtype=float)

    def drive(self, dt: float, n_steps: int, n_neurons: int = 1) -> Drive:
        """The sampled stimulus for ``n_neurons`` identical neurons."""
        return Drive.shared(self.sample(dt, n_steps), dt, n_neurons)

    @property
    def piecewise_constant(self) -> bool:
        """True when the zero-order-hold samples equal the stimulus exactly on every grid that holds
        its edges (so closed forms apply to the sampled input)."""
        return False

    def parameters(self) -> list[tuple[str, object, Kind | None]]:
        """(key, value, unit kind or None for a plain number) of every parameter a table or a page shows:
        those with a unit, then the plain ones, without the :data:`OMITTED_AT_DEFAULT` keys at their
        default."""
        out = []
        for key, kind in self.UNITS.items():
            if key in self.OMITTED_AT_DEFAULT and getattr(self, key) == parse_quantity(self.OPTIONAL[key], kind, key):
                continue
            out.append((key, getattr(self, key), kind))
        out += [(key, getattr(self, key), None) for key in self.OPTIONAL if key not in self.UNITS]
        return out

    def to_table(self) -> dict:
        """The description as a TOML table with units (reads back to an equal stimulus)."""
        table = {"name": self.name, "kind": self.KIND}
        for key, value, kind in self.parameters():
            table[key] = value if kind is None else format_quantity(value, kind)
        return table

    def _values(self, dt: float, n_steps: int):  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class DC(Stimulus):
    """Constant current ``amplitude`` (A) for the whole run."""

    amplitude: float = 0.0
    KIND = "dc"
    UNITS = {"amplitude": CURRENT}

    piecewise_constant = True

    def _values(self, dt, n_steps):
        return np.full(n_steps, self.amplitude)


@dataclass(frozen=True)
class Step(Stimulus):
    """``amplitude`` (A) on ``[start, stop)``, ``baseline`` (A) elsewhere."""

    amplitude: float = 0.0
    start: float = 0.0
    stop: float = math.inf
    baseline: float = 0.0
    KIND = "step"
    UNITS = {"amplitude": CURRENT, "start": TIME, "stop": TIME, "baseline": CURRENT}
    OPTIONAL = {"stop": "inf s", "baseline": "0 A"}

    piecewise_constant = True

    def _values(self, dt, n_steps):
        return np.where(on_window(self.start, self.stop, dt, n_steps), self.amplitude, self.baseline)


@dataclass(frozen=True)
class Pulses(Stimulus):
    """A pulse train: ``amplitude`` (A) for ``width`` every ``period`` from ``start``, ``count`` pulses
    (0: until the end of the run)."""

    amplitude: float = 0.0
    width: float = 0.0
    period: float = 0.0
    start: float = 0.0
    count: int = 0
    KIND = "pulses"
    UNITS = {"amplitude": CURRENT, "width": TIME, "period": TIME, "start": TIME}
    OPTIONAL = {"start": "0 s", "count": 0}

    piecewise_constant = True

    def _values(self, dt, n_steps):
        """Vectorised, in time proportional to ``n_steps`` whatever the number of pulses (a period of
        1 fs puts 10^11 pulses in one 0.1 ms step): sample k is on when the last pulse j that has
        started by k (``edge_index(start + j period) <= k``) has not yet ended
        (``k < edge_index(start + j period + width)``). The edges are non-decreasing in j, so this is
        exactly the union of the pulses' grid intervals."""
        k = np.arange(n_steps, dtype=float)
        last = np.inf if self.count == 0 else float(self.count - 1)
        # estimate of the last pulse started by sample k, then corrected against the exact edges
        j = np.clip(np.floor(((k + EDGE_EPS) * dt - self.start) / self.period), -1.0, last)
        for _ in range(8):
            up = (j + 1 <= last) & (self._edges(j + 1, 0.0, dt) <= k)
            down = (j >= 0) & (self._edges(j, 0.0, dt) > k)
            if not (up.any() or down.any()):
                break
            j = j + up - down
        else:  # beyond 2**52 pulses float64 cannot count them (comparisons.config refuses such a train)
            raise ValueError(f"pulses: period {self.period!r} s is too short to count the pulses of "
                             f"{n_steps} steps of {dt!r} s in float64")
        on = (j >= 0) & (k < self._edges(j, self.width, dt))
        return np.where(on, self.amplitude, 0.0)

    def _edges(self, j, offset, dt):
        """``edge_index(start + j period + offset, dt)`` for an array of pulse numbers, as floats."""
        return np.maximum(0.0, np.ceil((self.start + j * self.period + offset) / dt - EDGE_EPS))


@dataclass(frozen=True)
class Ramp(Stimulus):
    """Linear from ``amplitude_start`` at ``start`` to ``amplitude_stop`` at ``stop`` (A) on
    ``[start, stop)``; ``baseline`` (A, default 0) elsewhere."""

    amplitude_start: float = 0.0
    amplitude_stop: float = 0.0
    start: float = 0.0
    stop: float = 0.0
    baseline: float = 0.0
    KIND = "ramp"
    UNITS = {"amplitude_start": CURRENT, "amplitude_stop": CURRENT, "start": TIME, "stop": TIME,
             "baseline": CURRENT}
    OPTIONAL = {"baseline": "0 A"}
    OMITTED_AT_DEFAULT = ("baseline",)

    def _values(self, dt, n_steps):
        t = np.arange(n_steps) * dt
        frac = (t - self.start) / (self.stop - self.start)
        return np.where(on_window(self.start, self.stop, dt, n_steps),
                        self.amplitude_start + frac * (self.amplitude_stop - self.amplitude_start), self.baseline)


@dataclass(frozen=True)
class Sine(Stimulus):
    """``offset + amplitude sin(2 pi frequency (t - start) + phase)`` (A) on ``[start, stop)``, 0 elsewhere,
    sampled at ``t_k``; the window's edges act on the grid as a step's. The default window, from 0 on, is
    the whole run (and ``t - 0`` is ``t``: the samples are those of the sine without a window)."""

    amplitude: float = 0.0
    frequency: float = 0.0
    offset: float = 0.0
    phase: float = 0.0
    start: float = 0.0
    stop: float = math.inf
    KIND = "sine"
    UNITS = {"amplitude": CURRENT, "frequency": RATE, "offset": CURRENT, "start": TIME, "stop": TIME}
    OPTIONAL = {"offset": "0 A", "phase": 0.0, "start": "0 s", "stop": "inf s"}
    OMITTED_AT_DEFAULT = ("start", "stop")

    def _values(self, dt, n_steps):
        t = np.arange(n_steps) * dt
        values = self.offset + self.amplitude * np.sin(2 * np.pi * self.frequency * (t - self.start) + self.phase)
        return np.where(on_window(self.start, self.stop, dt, n_steps), values, 0.0)


@dataclass(frozen=True)
class WhiteNoise(Stimulus):
    """Gaussian white-noise current: ``mean`` (A) plus ``sigma`` (A s^0.5) times white noise.

    On a grid of step dt the sample is ``mean + sigma / sqrt(dt) * xi_k`` with ``xi_k ~ N(0, 1)`` i.i.d.
    from ``numpy.random.default_rng(seed)``: the charge delivered in one step has variance
    ``sigma^2 dt`` whatever dt, the discretisation of ``I dt = mean dt + sigma dW``.
    """

    mean: float = 0.0
    sigma: float = 0.0
    seed: int = 0
    KIND = "noise"
    UNITS = {"mean": CURRENT, "sigma": NOISE_DENSITY}
    OPTIONAL = {"mean": "0 A", "seed": 0}

    def _values(self, dt, n_steps):
        xi = np.random.default_rng(self.seed).standard_normal(n_steps)
        return self.mean + self.sigma / np.sqrt(dt) * xi


@dataclass(frozen=True)
class Sum(Stimulus):
    """The sum of ``parts``, stimuli of the other kinds, sample by sample in their order: what NeuroML
    delivers when several inputs reach one cell (a ``compoundInput``, or several inputs aimed at one
    instance). A file writes it as ``kind = "sum"`` and ``parts``, a list of stimulus tables (a part's
    ``name`` defaults to ``part<i>``)."""

    parts: tuple[Stimulus, ...] = ()
    KIND = "sum"

    @property
    def piecewise_constant(self) -> bool:
        return all(p.piecewise_constant for p in self.parts)

    def to_table(self) -> dict:
        return {"name": self.name, "kind": self.KIND, "parts": [p.to_table() for p in self.parts]}

    def _values(self, dt, n_steps):
        total = np.zeros(n_steps)
        for part in self.parts:
            total = total + part.sample(dt, n_steps)
        return total


KINDS: dict[str, type[Stimulus]] = {cls.KIND: cls for cls in (DC, Step, Pulses, Ramp, Sine, WhiteNoise, Sum)}


def stimulus_from_table(table: dict, field: str) -> Stimulus:
    """Build a stimulus from a ``[[stimulus]]`` table; errors name ``field`` (e.g. ``stimulus[0]``)."""
    if not isinstance(table, dict):
        raise ComparisonError(field, "expected a table", repr(table))
    kind = table.get("kind")
    if kind not in KINDS:
        raise ComparisonError(f"{field}.kind", f"expected one of: {', '.join(KINDS)}",
                              None if kind is None else str(kind))
    cls = KINDS[kind]
    if cls is Sum:
        allowed = required = ("name", "kind", "parts")
    else:
        allowed = tuple(dict.fromkeys(("name", "kind", *cls.UNITS, *cls.OPTIONAL)))
        required = ("name", "kind", *(k for k in cls.UNITS if k not in cls.OPTIONAL))
    try:
        check_keys(table, allowed, field, required=required)
    except UserInputError as exc:
        raise ComparisonError(exc.field, exc.expected, exc.given) from None
    if cls is Sum:
        return Sum(name=_name(table, field), parts=_parts(table["parts"], field))
    values = {}
    for key in dict.fromkeys((*cls.UNITS, *cls.OPTIONAL)):
        raw = table.get(key, cls.OPTIONAL.get(key))
        values[key] = _parse_value(cls, key, raw, f"{field}.{key}")
    stimulus = cls(name=_name(table, field), **values)
    _validate(stimulus, field, table)
    return stimulus


def _name(table: dict, field: str) -> str:
    name = table["name"]
    if not isinstance(name, str) or not name.strip():
        raise ComparisonError(f"{field}.name", "expected a non-empty string", repr(name))
    return name


def _parts(parts, field: str) -> tuple[Stimulus, ...]:
    """A sum's parts: stimulus tables of the other kinds, a part's name ``part<i>`` when not given."""
    if not isinstance(parts, list) or not parts:
        raise ComparisonError(f"{field}.parts", "expected a list of one or more stimulus tables", repr(parts)[:60])
    built = []
    for i, part in enumerate(parts):
        where = f"{field}.parts[{i}]"
        if isinstance(part, dict) and part.get("kind") == Sum.KIND:
            raise ComparisonError(f"{where}.kind", "a part of a sum is not itself a sum (list its parts)", "sum")
        if isinstance(part, dict) and "name" not in part:
            part = {"name": f"part{i}", **part}
        built.append(stimulus_from_table(part, where))
    return tuple(built)


def _parse_value(cls, key, raw, field):
    if key in cls.UNITS:
        value = parse_quantity(raw, cls.UNITS[key], field)
        if not math.isfinite(value) and not (key == "stop" and value > 0):
            raise ComparisonError(field, "must be finite", raw)
        return value
    expected_type = type(cls.OPTIONAL[key])
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or (expected_type is int and
                                                                       not isinstance(raw, int)):
        raise ComparisonError(field, f"expected {'an integer' if expected_type is int else 'a number'}",
                              repr(raw))
    if expected_type is int and raw < 0:
        raise ComparisonError(field, "must be a non-negative integer", repr(raw))
    if not math.isfinite(raw):
        raise ComparisonError(field, "must be finite", repr(raw))
    return expected_type(raw)


def _validate(stimulus: Stimulus, field: str, table: dict) -> None:
    for f in fields(stimulus):
        value = getattr(stimulus, f.name)
        if f.name in stimulus.UNITS and stimulus.UNITS[f.name] is CURRENT and abs(value) > MAX_CURRENT:
            raise ComparisonError(f"{field}.{f.name}", f"must be at most {MAX_CURRENT!r} A in magnitude",
                                  table.get(f.name))
        if f.name in stimulus.UNITS and stimulus.UNITS[f.name] is TIME and value < 0:
            raise ComparisonError(f"{field}.{f.name}", "must be a non-negative time", table.get(f.name))
    if hasattr(stimulus, "stop") and not stimulus.stop > stimulus.start:     # step, ramp, sine: a window
        raise ComparisonError(f"{field}.stop", "must be after start", table.get("stop"))
    checks = {
        "pulses": lambda s: (0 < s.width <= s.period, "width", "must be positive and at most the period"),
        "sine": lambda s: (s.frequency > 0, "frequency", "must be a positive rate"),
        "noise": lambda s: (s.sigma >= 0, "sigma", "must be non-negative"),
    }
    if stimulus.KIND in checks:
        ok, key, expected = checks[stimulus.KIND](stimulus)
        if not ok:
            raise ComparisonError(f"{field}.{key}", expected, table.get(key))
