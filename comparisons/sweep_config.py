"""Sweep files: one base cell, axes over its fields, ``dt`` and the input current, the backends and measures.

A sweep file is TOML, parsed like every file of the suite (nothing in it is evaluated)::

    name = "tau_dt_current"
    cell = "textbook"            # a preset or a specification file (relative to this file),
                                 # or an inline [neuron] table instead
    measures = ["contract", "latency", "isi", "rate"]   # default: all four
    attribute = [12, 40]         # points whose backend pairs' differences the maps page takes apart
                                 # (default: each pair's point of largest ISI difference for its bounds)

    [simulation]
    duration = "300 ms"          # every point's run (a whole number of steps at its dt)
    dt = "0.1 ms"                # when dt is not an axis
    current = "300 pA"           # when current is not an axis
    method = "exact"             # or "euler"
    backends = ["reference", "brian2", "nengo"]
    timeout = "600 s"            # per task run (one backend, one population)
    # [simulation.options.brian2] target = "numpy"   (as in a comparison file, named configurations too)
    chunk = 256                  # most points of one task

    [axes.tau_m]                 # any of tau_m, R, E_L, V_th, V_reset, V_init, t_ref, dt, current
    values = ["10 ms", "20 ms"]  # a list
    [axes.current]
    range = ["100 pA", "500 pA"] # num points, ends included
    num = 9
    [axes.dt]
    logrange = ["0.025 ms", "0.2 ms"]   # num points evenly spaced in log
    num = 4

    [sample]                     # instead of the grid: n points of a seeded sequence (scipy.stats.qmc)
    method = "sobol"             # or "latin"; every axis is then {bounds = [lo, hi], log = false}
    n = 64
    seed = 1

A grid sweep is the product of the axes in the order written (the last axis varies fastest). Every point
is one plain cell driven by one constant current from ``V_init`` for ``duration``. A point whose cell is
invalid (``V_reset >= V_th``, a refractory period that is not a whole number of its steps, ...) is
recorded as invalid with the reason, never a crash.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.errors import ComparisonError, UserInputError
from models.files import check_keys, read_toml, require_table, resolve
from models.loading import spec_from_document, load_spec
from models.spec import NEURON_FIELDS, PER_NEURON_FIELDS, LIFSpec
from models.result import RunSettings
from models.units import CURRENT, TIME, Kind, parse_quantity

from . import backends as registry
from .config import _on_grid, _options, _step_problem

#: Sweepable cell fields (the membrane as tau_m and R), plus the run's step and current: the fields in which
#: the neurons of one population may differ.
CELL_AXES = PER_NEURON_FIELDS
AXIS_KINDS: dict[str, Kind] = {**{k: NEURON_FIELDS[k] for k in CELL_AXES}, "dt": TIME, "current": CURRENT}
MEASURES = ("contract", "latency", "isi", "rate")
TOP_KEYS = ("name", "description", "cell", "neuron", "measures", "attribute", "simulation", "axes", "sample")
SIMULATION_KEYS = ("duration", "dt", "current", "method", "backends", "timeout", "chunk", "options")
SAMPLERS = ("sobol", "latin")
#: Most points of one sweep (10^6: the tables stay a few hundred MB) and of one task.
MAX_POINTS = 1_000_000
MAX_CHUNK = 100_000
MAX_AXIS_NUM = 100_000
DEFAULT_CHUNK = 256
DEFAULT_TIMEOUT = 600.0
MAX_TIMEOUT = 1e6


@dataclass(frozen=True)
class Axis:
    """One swept quantity: its name, SI values (grid) or bounds (sample), and whether it is logarithmic."""

    name: str
    values: tuple = ()
    bounds: tuple = ()
    log: bool = False

    @property
    def unit(self) -> str:
        return AXIS_KINDS[self.name].si_unit


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep file (SI floats throughout)."""

    name: str
    description: str
    source: str
    cell: LIFSpec
    axes: tuple[Axis, ...]
    duration: float
    dt: float | None
    current: float | None
    method: str
    backends: tuple[str, ...]
    timeout: float
    chunk: int
    measures: tuple[str, ...]
    sampler: str | None = None
    n_sample: int = 0
    seed: int = 0
    attribute: tuple = ()   # point indices listed for attribution on the maps page
    options: tuple = ()     # (backend name, sorted option pairs) of [simulation.options.<name>]
    aliases: tuple = ()     # (named configuration, the backend it runs)

    def module_name(self, name: str) -> str:
        """The registered backend that ``name`` runs (itself unless it is a named configuration)."""
        return dict(self.aliases).get(name, name)

    def settings(self, name: str, dt: float, n_steps: int) -> RunSettings:
        """The run settings of backend ``name`` at one point: spikes only, the backend's options."""
        return RunSettings(dt, n_steps, self.method, record_v=False, options=dict(self.options).get(name, ()))

    @property
    def axis_names(self) -> list[str]:
        return [a.name for a in self.axes]

    def points(self) -> pd.DataFrame:
        """Every point: one column per axis plus ``dt`` and ``current`` (SI), index ``point`` 0..n-1."""
        if self.sampler is None:
            grids = np.meshgrid(*[np.asarray(a.values) for a in self.axes], indexing="ij")
            columns = {a.name: g.ravel() for a, g in zip(self.axes, grids)}
        else:
            columns = _sampled(self)
        frame = pd.DataFrame(columns)
        for name, fixed in (("dt", self.dt), ("current", self.current)):
            if name not in frame:
                frame[name] = fixed
        frame.index.name = "point"
        return frame

    def digest(self) -> str:
        """sha256 of everything that decides the results and the chunk files (not the timeout): a sweep
        resumed into a directory must be this same sweep. ``layout`` numbers the way points are grouped into
        tasks (2: by ``dt``, each task's points with their own cells)."""
        doc = {"layout": 2, "cell": self.cell.to_si_dict(), "axes": [[a.name, list(a.values), list(a.bounds), a.log]
                                                        for a in self.axes],
               "duration": self.duration, "dt": self.dt, "current": self.current, "method": self.method,
               "backends": list(self.backends), "chunk": self.chunk, "measures": list(self.measures),
               "sampler": self.sampler, "n": self.n_sample, "seed": self.seed,
               "options": [[k, [list(p) for p in v]] for k, v in self.options], "aliases": list(self.aliases)}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def cell_at(self, values: dict) -> LIFSpec:
        """The cell of one point (``values``: axis name -> SI value).

        Raises
        ------
        SpecificationError
            When the point's cell is invalid (the caller records the point as invalid).
        """
        changes = {k: float(v) for k, v in values.items() if k in CELL_AXES}
        if "V_init" not in changes and ("E_L" in changes or "V_reset" in changes or "V_th" in changes):
            changes["V_init"] = None   # follows E_L (or V_reset for a self-oscillating cell), as in a file
        return self.cell.replace(**changes)

    def problem(self, spec: LIFSpec, dt: float) -> str | None:
        """Why a valid cell cannot run at ``dt`` over the duration (invalid point), or None."""
        issue = _step_problem(spec, dt, self.method)
        if issue is not None:
            return f"dt{issue[0]}: {issue[1]}, got {dt!r} s"
        if not _on_grid(self.duration, dt):
            return f"simulation.duration: must be a whole number of steps of {dt!r} s"
        return None


def _sampled(sweep: Sweep) -> dict:
    from scipy.stats import qmc
    d = len(sweep.axes)
    if sweep.sampler == "sobol":
        unit = qmc.Sobol(d, scramble=True, seed=sweep.seed).random(sweep.n_sample)
    else:
        unit = qmc.LatinHypercube(d, seed=sweep.seed).random(sweep.n_sample)
    return {a.name: scale(a, unit[:, j]) for j, a in enumerate(sweep.axes)}


def scale(axis: Axis, unit: np.ndarray) -> np.ndarray:
    """A sampled axis's values from the unit sample's column (each value on its own: any slice of the
    points gives the slice of the values)."""
    lo, hi = axis.bounds
    if axis.log:
        return np.exp(np.log(lo) + unit * (np.log(hi) - np.log(lo)))
    return lo + unit * (hi - lo)


# ----------------------------------------------------------------------------------------------- parsing

def load_sweep(path: str | Path, backend_override: list[str] | None = None) -> Sweep:
    """Parse and check a sweep file; every error is one line naming the file and the field.

    Raises
    ------
    UserInputError
        For anything wrong in the file (nothing has been run or written).
    """
    path = Path(path)
    doc = read_toml(path)
    try:
        return _sweep(doc, path, backend_override)
    except UserInputError as exc:
        raise (exc if exc.source else exc.with_source(str(path))) from None


def _sweep(doc: dict, path: Path, backend_override) -> Sweep:
    check_keys(doc, TOP_KEYS, "")
    name = doc.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise ComparisonError("name", "expected a non-empty string", repr(name))
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise ComparisonError("description", "expected a string", repr(description))
    cell = _cell(doc, path, name)
    sim = require_table(doc.get("simulation", {}), "simulation")
    check_keys(sim, SIMULATION_KEYS, "simulation", required=("duration",))
    axes_table = require_table(doc.get("axes", {}), "axes")
    if not axes_table:
        raise ComparisonError("axes", "expected at least one axis ([axes.<name>])", None)
    check_keys(axes_table, tuple(AXIS_KINDS), "axes")
    sample = _sample(doc)
    axes = tuple(_axis(k, require_table(v, f"axes.{k}"), sample is not None) for k, v in axes_table.items())
    duration = _positive(sim, "duration", TIME)
    dt = None if "dt" in axes_table else _positive(sim, "dt", TIME, 1e-4)
    current = None
    if "current" not in axes_table:
        if "current" not in sim:
            raise ComparisonError("simulation.current", "is required when current is not an axis "
                                  "(a constant current such as \"300 pA\")", None)
        current = parse_quantity(sim["current"], CURRENT, "simulation.current")
    method = sim.get("method", "exact")
    if method not in ("exact", "euler"):
        raise ComparisonError("simulation.method", "expected \"exact\" or \"euler\"", repr(method))
    options, aliases = _options(sim["options"]) if "options" in sim else ({}, {})
    n = sample[1] if sample else math.prod(len(a.values) for a in axes)
    if n > MAX_POINTS:
        raise ComparisonError("axes", f"at most {MAX_POINTS} points", f"{n} points")
    return Sweep(name, description, str(path), cell, axes, duration, dt, current, method,
                 _backends(sim.get("backends"), backend_override, aliases), _timeout(sim), _chunk(sim),
                 _measures(doc.get("measures", list(MEASURES))), *(sample or (None, 0, 0)),
                 _attribute(doc.get("attribute", []), n), tuple(sorted(options.items())),
                 tuple(sorted(aliases.items())))


def _cell(doc: dict, path: Path, name: str) -> LIFSpec:
    if ("cell" in doc) == ("neuron" in doc):
        raise ComparisonError("cell", "expected exactly one base cell: cell = \"<preset or file>\" or a "
                              "[neuron] table", "both" if "cell" in doc else None)
    if "neuron" in doc:
        spec = spec_from_document({"name": name, "neuron": doc["neuron"]})
    else:
        given = doc["cell"]
        if not isinstance(given, str) or not given:
            raise ComparisonError("cell", "expected a preset name or a specification file path", repr(given))
        target = path.parent / given if (path.parent / given).is_file() else given
        try:
            spec = load_spec(resolve(target))
        except UserInputError as exc:
            raise ComparisonError("cell", f"cannot be loaded ({exc})", given) from None
    if not spec.is_plain or not spec.leak:
        raise ComparisonError("cell", "must be a plain LIF with leak (a sweep drives constant currents; "
                              "its closed forms are the plain cell's)", spec.name)
    return spec


def _sample(doc: dict):
    if "sample" not in doc:
        return None
    table = require_table(doc["sample"], "sample")
    check_keys(table, ("method", "n", "seed"), "sample", required=("method", "n", "seed"))
    if table["method"] not in SAMPLERS:
        raise ComparisonError("sample.method", f"expected one of {', '.join(SAMPLERS)}", repr(table["method"]))
    for key, low in (("n", 1), ("seed", 0)):
        value = table[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= MAX_POINTS:
            raise ComparisonError(f"sample.{key}", f"expected an integer from {low} to {MAX_POINTS}", repr(value))
    return table["method"], table["n"], table["seed"]


def _axis(name: str, table: dict, sampled: bool) -> Axis:
    field, kind = f"axes.{name}", AXIS_KINDS[name]
    if sampled:
        check_keys(table, ("bounds", "log"), field, required=("bounds",))
        lo, hi = _pair(table, field, "bounds", kind)
        log = table.get("log", False)
        if not isinstance(log, bool):
            raise ComparisonError(f"{field}.log", "expected true or false", repr(log))
        if log and lo <= 0:
            raise ComparisonError(f"{field}.bounds", "must be positive on a log axis", table["bounds"])
        return Axis(name, (), (lo, hi), log)
    forms = [k for k in ("values", "range", "logrange") if k in table]
    if len(forms) != 1:
        raise ComparisonError(field, "expected exactly one of values = [...], range = [lo, hi] with num, "
                              "logrange = [lo, hi] with num", ", ".join(forms) or None)
    if forms[0] == "values":
        check_keys(table, ("values",), field)
        raw = table["values"]
        if not isinstance(raw, list) or not raw or len(raw) > MAX_AXIS_NUM:
            raise ComparisonError(f"{field}.values", f"expected a list of 1 to {MAX_AXIS_NUM} quantities", raw)
        values = [parse_quantity(v, kind, f"{field}.values") for v in raw]
        if len(set(values)) != len(values):
            raise ComparisonError(f"{field}.values", "expected distinct values", raw)
        return Axis(name, tuple(values))
    form = forms[0]
    check_keys(table, (form, "num"), field, required=(form, "num"))
    lo, hi = _pair(table, field, form, kind)
    num = table["num"]
    if not isinstance(num, int) or isinstance(num, bool) or not 2 <= num <= MAX_AXIS_NUM:
        raise ComparisonError(f"{field}.num", f"expected an integer from 2 to {MAX_AXIS_NUM}", repr(num))
    if form == "logrange" and lo <= 0:
        raise ComparisonError(f"{field}.logrange", "must be positive", table[form])
    values = tuple(float(x) for x in (np.geomspace if form == "logrange" else np.linspace)(lo, hi, num))
    if len(set(values)) != num:                # points are told apart by their values
        raise ComparisonError(f"{field}.{form}", f"expected lo and hi far enough apart for {num} distinct "
                              "float64 values", table[form])
    return Axis(name, values, (), form == "logrange")


def _pair(table: dict, field: str, key: str, kind: Kind) -> tuple[float, float]:
    raw = table[key]
    if not isinstance(raw, list) or len(raw) != 2:
        raise ComparisonError(f"{field}.{key}", "expected [lo, hi], two quantities", raw)
    lo, hi = (parse_quantity(v, kind, f"{field}.{key}") for v in raw)
    if not lo < hi:
        raise ComparisonError(f"{field}.{key}", "expected lo < hi", raw)
    return lo, hi


def _positive(table: dict, key: str, kind: Kind, default: float | None = None) -> float:
    if key not in table and default is not None:
        return default
    value = parse_quantity(table[key], kind, f"simulation.{key}")
    if not value > 0 or not math.isfinite(value):
        raise ComparisonError(f"simulation.{key}", f"must be a positive {kind.noun}", table[key])
    return value


def _timeout(sim: dict) -> float:
    value = _positive(sim, "timeout", TIME, DEFAULT_TIMEOUT)
    if value > MAX_TIMEOUT:
        raise ComparisonError("simulation.timeout", f"must be at most {MAX_TIMEOUT:g} s", sim["timeout"])
    return value


def _chunk(sim: dict) -> int:
    value = sim.get("chunk", DEFAULT_CHUNK)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_CHUNK:
        raise ComparisonError("simulation.chunk", f"expected an integer from 1 to {MAX_CHUNK}", repr(value))
    return value


def _backends(value, override, aliases: dict) -> tuple[str, ...]:
    names = override if override is not None else value
    field = "--backends" if override is not None else "simulation.backends"
    if names is None:
        names = [n for n in registry.CORE if registry.is_available(n)]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ComparisonError(field, "expected a non-empty list of backend names", names)
    if len(set(names)) != len(names):
        raise ComparisonError(field, "expected each backend once", names)
    for n in names:
        registry.check(aliases.get(n, n), field)
    return tuple(names)


def _attribute(value, n: int) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > 100 or not all(
            isinstance(p, int) and not isinstance(p, bool) and 0 <= p < n for p in value):
        raise ComparisonError("attribute", f"expected a list of at most 100 point indices from 0 to {n - 1}",
                              value)
    return tuple(value)


def _measures(value) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or any(m not in MEASURES for m in value):
        raise ComparisonError("measures", f"expected a non-empty list of {', '.join(MEASURES)}", value)
    return tuple(m for m in MEASURES if m in value)
