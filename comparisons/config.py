"""Comparison files: a specification plus what to run.

The section and key names below are a public contract; every section but ``[neuron]`` has defaults::

    [simulation]
    dt = "0.1 ms"                      # default 0.1 ms (or the largest 0.1 ms/k the cell accepts, below)
    duration = "500 ms"                # default 500 ms; must be a whole number of steps
    backends = ["reference", "brian2", "nengo"]   # default: every installed backend
    method = "exact"                   # "exact" (default) or "euler": the integrator asked of every backend
    timeout = "600 s"                  # time limit of each backend run

    [[stimulus]]                       # default: a supra- and a subthreshold step (see DEFAULT_STIMULI)
    name = "step300"
    kind = "step"
    amplitude = "300 pA"
    start = "100 ms"
    stop = "400 ms"

    [fi_curve]                         # default: 0 .. 3 x rheobase, 31 currents, 2 s (see below)
    I_min = "0 pA"
    I_max = "500 pA"
    num = 51
    duration = "2 s"

    [convergence]                      # default: the five dts below, at "1.5 x rheobase", for the closed
    dt = ["0.4 ms", "0.2 ms", "0.1 ms", "0.05 ms", "0.025 ms"]
    current = "300 pA"
    duration = "500 ms"                # form's first spike and ten intervals (default_convergence_duration)

    [tolerances]                       # override any default tolerance (comparisons.tolerances)
    first_spike_latency_diff = "0.2 ms"

Forward Euler with ``dt > tau_m / 10`` is refused (the seed tutorials' own accuracy caveat; Euler's
first-order error term ``dt/(2 tau_m)`` would exceed 5 %); an exact integrator accepts any ``dt < tau_m``.
A refractory period of at least one step must be a whole number of steps; a shorter one (``0 < t_ref <
dt``) is accepted, and each backend says through ``representable()`` whether it honours it (Nengo does
not, nengo#1427; the grid rules hold ``round(t_ref/dt)`` steps, which the tolerances account for).

Defaults are made to fit the cell, so that an error only ever names a field the user wrote:

- currents "``f`` x rheobase" are :func:`reference.closed_forms.relative_current`: ``f`` times the
  rheobase when it is positive; for a self-oscillating cell (``E_L >= V_th``, rheobase ``<= 0``: it fires
  with no input) ``rheobase + (f - 1) (V_th - V_reset)/R``, so "1.5 x" is still above the rheobase and
  "0.75 x" below it. The default stimuli (1.5 x and 0.75 x), the f-I range (0 x .. 3 x, i.e. from below
  the rheobase to above it) and the convergence current (1.5 x) use it. When only one end of the f-I
  range is given and the other's default lies on its wrong side, the missing end is the given one
  moved by the default range's width (3 current scales).
- ``simulation.dt`` is 0.1 ms, or, when the cell refuses it (a refractory period that is not a whole
  number of 0.1 ms steps, a membrane too fast for it), the largest ``0.1 ms / k`` it accepts; the default
  convergence dts are ``d, d/2, ..., d/16`` with ``d`` = 0.4 ms or the largest ``0.4 ms / k`` the cell
  accepts in the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from . import backends
from models.dialects import dialect_provenance
from models.errors import ComparisonError, UserInputError
from models.files import check_keys, read_toml, require_table, resolve
from models.formats import Provenance, format_module
from models.loading import FILE_SECTIONS, spec_from_document, with_default_name
from models.result import RunSettings
from models.spec import LIFSpec
from models.units import CURRENT, TIME, Kind, parse_quantity

from .stimuli import Step, Stimulus, stimulus_from_table

#: A duration must be this close to a whole number of steps (relative to one step).
GRID_RTOL = 1e-9

#: Largest problem accepted without an explicit override: neurons x steps per run (each costs about
#: 8 bytes of drive at most, and 8 more when traces are recorded).
MAX_NEURON_STEPS = 2e10
#: Largest number of f-I currents (the memory and output budgets, :mod:`comparisons.budget`, refuse far
#: fewer for any duration; this bound keeps the arithmetic on ``num`` in floats).
MAX_FI_NUM = 10**7
#: Longest time limit of a backend run (s): beyond about 24 days the operating system's wait calls
#: overflow, and no comparison needs more than hours.
MAX_TIMEOUT = 1e6

SIMULATION_KEYS = ("dt", "duration", "backends", "method", "timeout", "options")
FI_KEYS = ("I_min", "I_max", "num", "duration", "dt")
CONVERGENCE_KEYS = ("dt", "current", "duration")
METHODS = ("exact", "euler")
#: Inter-spike intervals of the closed form a convergence study covers by default, after the first spike.
CONVERGENCE_ISIS = 10
#: Convergence duration (s) when the study's current does not make the cell fire.
FALLBACK_CONVERGENCE_DURATION = 0.5
#: The default time step and the default convergence dts (as written in a file); both divided by the
#: smallest k <= MAX_DEFAULT_DIVISOR that the cell accepts (see the module docstring).
DEFAULT_DT = "0.1 ms"
DEFAULT_CONVERGENCE_DTS = ("0.4 ms", "0.2 ms", "0.1 ms", "0.05 ms", "0.025 ms")
MAX_DEFAULT_DIVISOR = 1000
#: Width of the default f-I range, in current scales (0 x .. 3 x rheobase).
FI_WIDTH = 3.0
#: Labels the harness uses for its own metric rows.
RESERVED_STIMULUS_NAMES = ("fi_curve", "convergence")


@dataclass(frozen=True)
class FICurve:
    """A constant-current sweep: ``num`` currents from ``I_min`` to ``I_max`` (A), one population."""

    I_min: float
    I_max: float
    num: int
    duration: float
    dt: float

    @property
    def currents(self):
        import numpy as np
        return np.linspace(self.I_min, self.I_max, self.num)

    @property
    def n_steps(self) -> int:
        return int(round(self.duration / self.dt))


@dataclass(frozen=True)
class Convergence:
    """A dt sweep at one constant current (A) for ``duration`` (s)."""

    dts: tuple[float, ...]
    current: float
    duration: float


@dataclass(frozen=True)
class Comparison:
    """Everything one run of the suite does."""

    spec: LIFSpec
    dt: float
    duration: float
    backends: tuple[str, ...]
    method: str
    timeout: float
    stimuli: tuple[Stimulus, ...]
    fi: FICurve
    convergence: Convergence
    tolerances: dict = field(default_factory=dict)
    source: str = ""
    #: backend name -> its options as sorted (key, value) pairs (``[simulation.options.<name>]``)
    options: dict = field(default_factory=dict)
    #: a named configuration of a simulator (``nest_ps``) -> the registered backend it runs (``nest``)
    aliases: dict = field(default_factory=dict)
    #: where the cell came from when it was read from an exchange file (:mod:`comparisons.exchange`)
    provenance: Provenance | None = None
    #: the mapping choices the exchange file was read with (``--map KEY=VALUE``), as sorted (key, value)
    #: text pairs: the report's command to make it again repeats them
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def n_steps(self) -> int:
        return int(round(self.duration / self.dt))

    def module_name(self, name: str) -> str:
        """The registered backend that ``name`` runs (itself unless it is a named configuration)."""
        return self.aliases.get(name, name)

    def settings(self, name: str, dt: float, n_steps: int, record_v: bool) -> RunSettings:
        """The :class:`~models.result.RunSettings` of backend ``name``: the comparison's method and the
        backend's options."""
        return RunSettings(dt=dt, n_steps=n_steps, method=self.method, record_v=record_v,
                           options=self.options.get(name, ()))


def default_stimuli(spec: LIFSpec, duration: float) -> tuple[Stimulus, ...]:
    """A suprathreshold step (1.5 x rheobase) and a subthreshold one (0.75 x rheobase), from 20 % to 80 %
    of the run: the two regimes every LIF comparison needs. "x rheobase" is
    :func:`reference.closed_forms.relative_current`: for a self-oscillating cell (rheobase <= 0) the steps
    are ``rheobase + 0.5 (V_th - V_reset)/R`` and ``rheobase - 0.25 (V_th - V_reset)/R``, still one above and
    one below the rheobase."""
    from reference import closed_forms as cf

    start, stop = 0.2 * duration, 0.8 * duration
    return (Step("step_supra", amplitude=float(cf.relative_current(spec, 1.5)), start=start, stop=stop),
            Step("step_sub", amplitude=float(cf.relative_current(spec, 0.75)), start=start, stop=stop))


def load_comparison(path_or_preset: str | Path, backend_override: list[str] | None = None,
                    choices: dict | None = None) -> Comparison:
    """Read a comparison (or plain specification) file, an exchange file (``.nir``, ...) or a preset;
    every error names the file. ``choices`` are an exchange file's mapping choices
    (:mod:`comparisons.exchange`)."""
    from .exchange import document_of, import_cell

    path = resolve(path_or_preset)
    if format_module(path) is not None:
        cell = import_cell(path, choices or {})
        doc, provenance = cell.document, cell.provenance
    else:
        doc = with_default_name(read_toml(path), path)
    try:
        if format_module(path) is None:
            doc, provenance = document_of(doc, path, choices)
            provenance = provenance or dialect_provenance(doc, path)  # [neuron] in NEST's or PyNN's names
        check_keys(doc, FILE_SECTIONS, "")
        comparison = comparison_from_document(doc, backend_override)
    except UserInputError as exc:
        raise exc.with_source(str(path)) from None
    given = tuple(sorted((str(k), str(v)) for k, v in (choices or {}).items()))
    return Comparison(**{**comparison.__dict__, "source": str(path), "provenance": provenance, "choices": given})


def comparison_from_document(doc: dict, backend_override: list[str] | None = None) -> Comparison:
    spec = spec_from_document(doc)
    sim = _table(doc, "simulation", SIMULATION_KEYS)
    method = sim.get("method", "exact")
    if method not in METHODS:
        raise ComparisonError("simulation.method", f"expected one of: {', '.join(METHODS)}", str(method))
    duration = _positive_time(sim, "simulation", "duration", "500 ms")
    if "dt" in sim:
        dt = _positive_time(sim, "simulation", "dt", None)
    else:
        dt = default_dt(spec, method, duration)
    _require_grid(duration, dt, "simulation.duration", sim.get("duration", "500 ms"))
    timeout = _positive_time(sim, "simulation", "timeout", "600 s")
    if timeout > MAX_TIMEOUT:
        raise ComparisonError("simulation.timeout", f"must be at most {MAX_TIMEOUT:g} s (about 11 days)",
                              sim.get("timeout"))
    options, aliases = _options(sim.get("options", {}))
    names = _backends(sim.get("backends"), backend_override, aliases)
    _check_step(spec, dt, method, "simulation.dt", sim.get("dt", f"{dt!r} s (the default)"))
    stimuli = _stimuli(doc.get("stimulus"), spec, duration)
    fi = _fi_curve(_table(doc, "fi_curve", FI_KEYS), spec, dt, method)
    conv = _convergence(_table(doc, "convergence", CONVERGENCE_KEYS), spec, method)
    tolerances = _tolerances(doc.get("tolerances", {}))
    _check_stimuli_on_grid(stimuli, doc.get("stimulus"), dt, duration)
    comparison = Comparison(spec, dt, duration, names, method, timeout, stimuli, fi, conv, tolerances,
                            options=options, aliases=aliases)
    _check_size(comparison, {"simulation.duration": sim.get("duration", "500 ms (the default)"),
                             "fi_curve.num": repr(fi.num),
                             "convergence.dt": repr(_table(doc, "convergence", CONVERGENCE_KEYS).get(
                                 "dt", "the default"))[:60]})
    return comparison


def _table(doc, name, keys) -> dict:
    table = require_table(doc.get(name, {}), name)
    check_keys(table, keys, name)
    return table


def _positive_time(table, section, key, default) -> float:
    raw = table.get(key, default)
    value = parse_quantity(raw, TIME, f"{section}.{key}")
    if not (math.isfinite(value) and value > 0):
        raise ComparisonError(f"{section}.{key}", "must be a positive time", raw)
    return value


def _on_grid(duration, dt) -> bool:
    """``duration`` is a whole number (>= 1) of steps of ``dt``, to :data:`GRID_RTOL`."""
    steps = duration / dt
    return abs(steps - round(steps)) <= GRID_RTOL * max(1.0, steps) and round(steps) >= 1


def _require_grid(duration, dt, field, raw) -> None:
    steps = duration / dt
    if not _on_grid(duration, dt):
        raise ComparisonError(field, f"must be a whole number of steps of {dt!r} s ({steps:.6g} steps)", raw)


def _step_problem(spec: LIFSpec, dt: float, method: str) -> tuple[str, str] | None:
    """Why the cell refuses the time step ``dt`` with ``method`` (a field suffix and the requirement), or
    None. A refractory period shorter than one step is accepted (see the module docstring)."""
    if dt >= spec.tau_m:
        return "", f"must be shorter than neuron.tau_m ({spec.tau_m!r} s)"
    if method == "euler" and dt > spec.tau_m / 10:
        return "", (f"must be at most tau_m/10 = {spec.tau_m / 10!r} s for forward Euler (first-order error "
                    "dt/(2 tau_m) > 5 %); use method = \"exact\" or a smaller dt")
    if spec.t_ref >= dt and not _on_grid(spec.t_ref, dt):
        return (" (t_ref must be a whole number of steps)",
                f"must be a whole number of steps of {dt!r} s ({spec.t_ref / dt:.6g} steps)")
    return None


def _check_step(spec: LIFSpec, dt: float, method: str, field: str, raw) -> None:
    problem = _step_problem(spec, dt, method)
    if problem is not None:
        raise ComparisonError(field + problem[0], problem[1], raw)


def _default_steps(spec: LIFSpec, method: str, texts, duration: float | None) -> tuple[float, ...]:
    """The steps ``texts`` each divided by the smallest ``k`` (up to :data:`MAX_DEFAULT_DIVISOR`) such that
    the cell accepts every one (and the first divides ``duration`` when given); the steps as written when
    none does (the error then shows the default). ``k = 1`` gives the parsed values bit for bit."""
    base = [parse_quantity(text, TIME, "default") for text in texts]
    for k in range(1, MAX_DEFAULT_DIVISOR + 1):
        steps = tuple(b / k for b in base)
        if all(_step_problem(spec, dt, method) is None for dt in steps) and \
                (duration is None or _on_grid(duration, steps[0])):
            return steps
    return tuple(base)


def default_dt(spec: LIFSpec, method: str, duration: float) -> float:
    """The default ``simulation.dt``: 0.1 ms, or the largest ``0.1 ms / k`` that the cell accepts and that
    divides ``duration``."""
    return _default_steps(spec, method, (DEFAULT_DT,), duration)[0]


def default_convergence_dts(spec: LIFSpec, method: str) -> tuple[float, ...]:
    """The default dts of a convergence study: 0.4, 0.2, 0.1, 0.05, 0.025 ms, or the same halvings of the
    largest ``0.4 ms / k`` that the cell accepts at every one of them (e.g. 0.2 ms .. 12.5 us for
    t_ref = 1 ms, which is not a whole number of 0.4 ms steps)."""
    return _default_steps(spec, method, DEFAULT_CONVERGENCE_DTS, None)


def _options(value) -> tuple[dict, dict]:
    """``[simulation.options.<name>]`` tables: each backend's options, validated against the adapter's
    ``OPTIONS`` (key -> allowed values, the default first), and named configurations -- a table whose name
    is not a backend and whose ``backend`` key names the simulator it configures (``[simulation.options.
    nest_ps] backend = "nest"``, then ``nest_ps`` in ``backends``)."""
    table = require_table(value, "simulation.options")
    options, aliases = {}, {}
    for name, entries in table.items():
        field = f"simulation.options.{name}"
        entries = dict(require_table(entries, field))
        base = entries.pop("backend", name)
        if name in backends.REGISTRY and base != name:
            raise ComparisonError(f"{field}.backend", f"is the backend {name!r} itself; a named configuration "
                                                      "needs a name of its own", base)
        if not isinstance(base, str) or base not in backends.REGISTRY:
            raise ComparisonError(f"{field}.backend" if name != base else field,
                                  f"expected a backend name (one of: {', '.join(backends.REGISTRY)}), or a "
                                  "named configuration with backend = \"<one of them>\"", base)
        allowed = getattr(backends.get(base, f"{field}.backend"), "OPTIONS", {})
        if entries and not allowed:
            raise ComparisonError(f"{field}.{next(iter(entries))}", f"{base} has no options", None)
        check_keys(entries, tuple(allowed), field)
        for key, given in entries.items():
            if given not in allowed[key]:
                raise ComparisonError(f"{field}.{key}", "expected one of: " + ", ".join(map(str, allowed[key])),
                                      given)
        options[name] = tuple(sorted(entries.items()))
        if base != name:
            aliases[name] = base
    return options, aliases


def _backends(value, override, aliases=None) -> tuple[str, ...]:
    aliases = aliases or {}
    if override is not None:
        names, field = override, "--backends"
    elif value is None:
        return tuple(backends.available()) + tuple(aliases)
    else:
        names, field = value, "simulation.backends"
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ComparisonError(field, "expected a non-empty list of backend names", repr(value))
    for name in names:
        backends.check(aliases.get(name, name), field)  # unknown or not installed (nothing imported): one line listing the valid names
    if len(set(names)) != len(names):
        raise ComparisonError(field, "lists a backend twice", ",".join(names))
    return tuple(names)


def _stimuli(value, spec, duration) -> tuple[Stimulus, ...]:
    if value is None:
        return default_stimuli(spec, duration)
    if not isinstance(value, list) or not value:
        raise ComparisonError("stimulus", "expected one or more [[stimulus]] tables", repr(value)[:60])
    stimuli = tuple(stimulus_from_table(t, f"stimulus[{i}]") for i, t in enumerate(value))
    names = [s.name for s in stimuli]
    for i, name in enumerate(names):
        if name in RESERVED_STIMULUS_NAMES:
            raise ComparisonError(f"stimulus[{i}].name", "is reserved for the suite's own rows "
                                  f"({', '.join(RESERVED_STIMULUS_NAMES)})", name)
        if names.index(name) != i:
            raise ComparisonError(f"stimulus[{i}].name", "must be unique", name)
    return stimuli


def _fi_curve(table, spec, dt, method) -> FICurve:
    from reference import closed_forms as cf

    i_min = _current(table, "fi_curve", "I_min", None, float(cf.relative_current(spec, 0.0)))
    i_max = _current(table, "fi_curve", "I_max", None, float(cf.relative_current(spec, FI_WIDTH)))
    width = FI_WIDTH * cf.current_scale(spec)
    if "I_max" not in table and not i_min < i_max:
        i_max = i_min + width      # the default end moves with the given one (module docstring)
    if "I_min" not in table and not i_min < i_max:
        i_min = i_max - width
    num = table.get("num", 31)
    if isinstance(num, bool) or not isinstance(num, int) or num < 2:
        raise ComparisonError("fi_curve.num", "must be an integer of at least 2", repr(num))
    if num > MAX_FI_NUM:
        raise ComparisonError("fi_curve.num", f"must be at most {MAX_FI_NUM}",
                              repr(num) if len(repr(num)) <= 30 else f"an integer of {len(repr(num))} digits")
    if not i_min < i_max:
        raise ComparisonError("fi_curve.I_max", f"must be above fi_curve.I_min ({i_min!r} A)",
                              table.get("I_max", f"{i_max!r} A"))
    duration = _positive_time(table, "fi_curve", "duration", "2 s")
    fi_dt = _positive_time(table, "fi_curve", "dt", f"{dt!r} s") if "dt" in table else dt
    _require_grid(duration, fi_dt, "fi_curve.duration", table.get("duration", "2 s"))
    _check_step(spec, fi_dt, method, "fi_curve.dt", table.get("dt", f"{fi_dt!r} s"))
    return FICurve(i_min, i_max, num, duration, fi_dt)


def _current(table, section, key, default, fallback) -> float:
    if key not in table and default is None:
        return fallback
    raw = table.get(key, default)
    value = parse_quantity(raw, CURRENT, f"{section}.{key}")
    if not math.isfinite(value) or abs(value) > 1e3:
        raise ComparisonError(f"{section}.{key}", "must be a finite current of at most 1 kA", raw)
    return value


def _convergence(table, spec, method) -> Convergence:
    if "dt" in table:
        raw = table["dt"]
    else:
        raw = [f"{dt!r} s (a default)" for dt in default_convergence_dts(spec, method)]
    if not isinstance(raw, list) or len(raw) < 3:
        raise ComparisonError("convergence.dt", "expected a list of at least 3 time steps", repr(raw)[:60])
    dts = tuple(parse_quantity(v, TIME, f"convergence.dt[{i}]") for i, v in enumerate(raw)) if "dt" in table \
        else default_convergence_dts(spec, method)
    for i, (dt, text) in enumerate(zip(dts, raw)):
        if not (math.isfinite(dt) and dt > 0):
            raise ComparisonError(f"convergence.dt[{i}]", "must be a positive time", text)
        _check_step(spec, dt, method, f"convergence.dt[{i}]", text)
    if len(set(dts)) != len(dts):
        raise ComparisonError("convergence.dt", "must not repeat a time step", repr(raw)[:60])
    from reference import closed_forms as cf

    current = _current(table, "convergence", "current", None, float(cf.relative_current(spec, 1.5)))
    if "duration" in table:
        duration = _positive_time(table, "convergence", "duration", None)
        shown = table["duration"]
    else:
        duration = default_convergence_duration(spec, current, dts)
        shown = f"{duration!r} s (the default: first spike and {CONVERGENCE_ISIS} intervals)"
    for i, (dt, text) in enumerate(zip(dts, raw)):
        _require_grid(duration, dt, "convergence.duration", f"{shown} with dt {text}")
    return Convergence(tuple(sorted(dts, reverse=True)), current, duration)


def default_convergence_duration(spec: LIFSpec, current: float, dts) -> float:
    """The default length of a convergence study: the closed form's first spike and
    :data:`CONVERGENCE_ISIS` inter-spike intervals at ``current``, rounded up to the shortest duration
    that is a whole number of steps of every dt (a multiple of the coarsest). Its metrics need no more:
    the trace error is taken before the first spike and the ISI error from the mean interval, and a
    fixed number of intervals makes the study mean the same for a fast and for a slow cell (a fixed
    500 ms held 36 intervals of one preset and would hold 3 of a cell with tau_m = 100 ms).
    :data:`FALLBACK_CONVERGENCE_DURATION` when ``current`` does not make the cell fire or no such
    duration is found within 1000 coarse steps."""
    from reference import closed_forms as cf

    if not current > spec.rheobase:
        return FALLBACK_CONVERGENCE_DURATION
    wanted = max(float(cf.first_spike_latency(spec, current)), 0.0) + CONVERGENCE_ISIS * float(cf.isi(spec, current))
    coarse = max(dts)
    first = max(1, math.ceil(wanted / coarse - GRID_RTOL))
    for m in range(first, first + 1000):
        if all(_on_grid(m * coarse, dt) for dt in dts):
            return m * coarse
    return FALLBACK_CONVERGENCE_DURATION


def _tolerances(table) -> dict:
    from .tolerances import TOLERANCES
    table = require_table(table, "tolerances")
    check_keys(table, tuple(TOLERANCES), "tolerances")
    out = {}
    for key, raw in table.items():
        kind: Kind | None = TOLERANCES[key].kind
        if kind is None:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not raw >= 0:
                raise ComparisonError(f"tolerances.{key}", "expected a non-negative number", repr(raw))
            out[key] = float(raw)
        else:
            value = parse_quantity(raw, kind, f"tolerances.{key}")
            if not (math.isfinite(value) and value >= 0):
                raise ComparisonError(f"tolerances.{key}", f"must be a non-negative {kind.noun}", raw)
            out[key] = value
    return out


def _check_stimuli_on_grid(stimuli, tables, dt: float, duration: float) -> None:
    """What a stimulus needs of the grid: a noise whose samples ``sigma/sqrt(dt)`` stay within the
    current bound (a larger one overflows every simulator), and pulses that float64 can count over the
    run (a period of a few fs against a run of seconds cannot be told apart)."""
    from .stimuli import MAX_CURRENT, Pulses, Sum, WhiteNoise

    def each(stims, tabs, prefix):
        """(stimulus, its table, its field) of every stimulus and every part of a sum."""
        for i, stim in enumerate(stims):
            table = tabs[i] if isinstance(tabs, list) and i < len(tabs) and isinstance(tabs[i], dict) else {}
            if isinstance(stim, Sum):
                yield from each(stim.parts, table.get("parts"), f"{prefix}[{i}].parts")
            else:
                yield stim, table, f"{prefix}[{i}]"

    for stim, table, where in each(stimuli, tables, "stimulus"):
        if isinstance(stim, WhiteNoise) and stim.sigma / math.sqrt(dt) > MAX_CURRENT:
            raise ComparisonError(f"{where}.sigma", f"must give samples sigma/sqrt(dt) of at most "
                                  f"{MAX_CURRENT!r} A (at most {MAX_CURRENT * math.sqrt(dt):.3g} A*s**0.5 at "
                                  f"dt = {dt!r} s)", table.get("sigma"))
        if isinstance(stim, Pulses) and (duration - min(stim.start, duration)) / stim.period > 2.0**50:
            raise ComparisonError(f"{where}.period", f"must be at least duration/2**50 "
                                  f"({duration / 2.0**50:.3g} s)", table.get("period"))


def _check_size(c: Comparison, raw: dict) -> None:
    """Refuse runs that would take too long (:data:`MAX_NEURON_STEPS` per f-I sweep) or exceed the
    memory or output budget (:mod:`comparisons.budget`), before anything is sampled or simulated."""
    from . import budget

    fi_steps = c.fi.num * c.fi.n_steps
    if fi_steps > MAX_NEURON_STEPS:
        raise ComparisonError("fi_curve.num", f"would simulate {float(fi_steps):.3g} neuron-steps (limit "
                              f"{MAX_NEURON_STEPS:.0e}); use fewer currents, a shorter duration or a larger dt",
                              str(c.fi.num))
    budget.check(c, raw)
