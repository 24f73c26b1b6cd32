"""What a backend is asked to do (:class:`RunSettings`) and the one thing it returns (:class:`Result`).

Sample convention shared by every backend: ``t[k] = k dt`` for ``k = 0 .. n_steps``; ``v[k]`` is the
membrane potential at ``t_k`` after everything that happens at ``t_k`` (the update ending there, any
reset). ``v[0]`` is the initial state. Backends whose native recording differs (Brian2 records before
the update, NEST from ``t = dt``) are shifted onto this grid by their adapter, and say how in
``Metadata.sampling``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from .errors import ComparisonError, ContractError

#: The name of the exact solution wherever results are named (the ``backend`` of its runs and rows, the
#: ``reference`` the backends are compared with), written once.
CLOSED_FORM = "closed_form"
#: The columns of a metric row (the verdict layer's rows, metrics.csv, its diff), in order; written once.
METRIC_COLUMNS = ("stimulus", "backend", "reference", "metric", "value", "unit", "tolerance", "passed")


@dataclass(frozen=True)
class RunSettings:
    """Simulation settings common to every backend.

    Attributes
    ----------
    dt : float
        Time step (s).
    n_steps : int
        Number of steps; the run covers ``[0, n_steps dt]``.
    method : str
        ``"exact"`` (exponential integration, zero-order-hold input) or ``"euler"`` (forward Euler).
        Backends with a fixed method ignore it and report what they did in the metadata.
    record_v : bool
        Record the full voltage trace; sweeps record spikes only.
    options : tuple of (str, object)
        Backend-specific choices (e.g. ``("target", "cython")`` for Brian2), as sorted pairs.
    """

    dt: float
    n_steps: int
    method: str = "exact"
    record_v: bool = True
    options: tuple = ()

    @property
    def duration(self) -> float:
        return self.n_steps * self.dt

    def option(self, name: str, default=None):
        return dict(self.options).get(name, default)

    def choice(self, name: str, allowed: tuple, default, backend: str):
        """The option ``name``, refused with a one-line error unless it is one of ``allowed``."""
        value = self.option(name, default)
        if value not in allowed:
            raise ComparisonError(f"simulation.options.{name}",
                                  f"expected one of {', '.join(map(str, allowed))} for {backend}", value)
        return value

    def require_grid_of(self, drive) -> None:
        """Refuse a drive sampled on another grid than these settings'."""
        if drive.dt != self.dt:
            raise ContractError("simulation.dt", f"must equal the drive's step ({drive.dt!r} s)", self.dt)
        if drive.n_steps != self.n_steps:
            raise ContractError("simulation.n_steps", f"must equal the drive's length ({drive.n_steps})",
                                  self.n_steps)

    def with_options(self, **options) -> "RunSettings":
        merged = dict(self.options)
        merged.update(options)
        return RunSettings(self.dt, self.n_steps, self.method, self.record_v, tuple(sorted(merged.items())))


@dataclass(frozen=True)
class Metadata:
    """How a backend produced its numbers: everything a reader needs to see why two backends differ.

    Every field is a short human-readable statement, recorded in the manifest and the report.
    """

    backend: str
    version: str
    method: str
    dt: float
    threshold: str
    spike_stamp: str
    sampling: str
    refractory: str
    initial_state: str
    input_timing: str = "sample k drives (t_k, t_k+1] (zero-order hold)"
    reset: str = "to V_reset"
    notes: tuple = ()

    def as_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True, eq=False)
class Result:
    """One backend's run of N neurons, in SI numpy arrays.

    Attributes
    ----------
    t : ndarray, shape (n_steps + 1,)
        Sample times (s).
    v : ndarray, shape (n_steps + 1, N), or None
        Membrane potential (V); ``None`` when the trace was not recorded.
    spike_neuron : ndarray of int, shape (n_spikes,)
        Index of the neuron of each spike.
    spike_time : ndarray, shape (n_spikes,)
        Spike times (s), sorted by (neuron, time).
    n_neurons : int
    meta : Metadata
    """

    t: np.ndarray
    v: np.ndarray | None
    spike_neuron: np.ndarray
    spike_time: np.ndarray
    n_neurons: int
    meta: Metadata
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        neuron = np.asarray(self.spike_neuron, dtype=np.int64)
        time = np.asarray(self.spike_time, dtype=float)
        if not _sorted_by_neuron(neuron, time):     # most adapters return them sorted: no O(n log n) sort
            order = np.lexsort((time, neuron))
            neuron, time = neuron[order], time[order]
        object.__setattr__(self, "spike_neuron", neuron)
        object.__setattr__(self, "spike_time", time)

    def spike_trains(self) -> list[np.ndarray]:
        """Spike times (s) of each neuron, a list of N sorted arrays."""
        bounds = np.searchsorted(self.spike_neuron, np.arange(self.n_neurons + 1))
        return [self.spike_time[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def spike_counts(self) -> np.ndarray:
        """Number of spikes per neuron, shape (N,)."""
        return np.bincount(self.spike_neuron, minlength=self.n_neurons)

    def neuron(self, j: int) -> "Result":
        """The run of neuron ``j`` alone (a one-neuron Result sharing this one's metadata)."""
        return self.neurons(j, j + 1)

    def neurons(self, lo: int, hi: int, meta: Metadata | None = None, extra: dict | None = None) -> "Result":
        """The run of neurons ``lo`` to ``hi - 1`` alone, numbered from 0 (a population of several cells
        split into each cell's result, with that cell's ``meta`` and ``extra`` when given)."""
        a, b = np.searchsorted(self.spike_neuron, [lo, hi])
        v = None if self.v is None else self.v[:, lo:hi]      # a view: no second copy of a large trace
        return Result(self.t, v, self.spike_neuron[a:b] - lo, self.spike_time[a:b].copy(), hi - lo,
                      self.meta if meta is None else meta, self.extra if extra is None else extra)

    def is_finite(self) -> bool:
        """True when every recorded number is finite (a backend returning NaN or inf has failed)."""
        ok = bool(np.all(np.isfinite(self.spike_time)))
        return ok and (self.v is None or bool(np.all(np.isfinite(self.v))))


def _sorted_by_neuron(neuron: np.ndarray, time: np.ndarray) -> bool:
    """True when the spikes are already in (neuron, time) order, each neuron's times non-decreasing: the
    stable :func:`numpy.lexsort` would then return them unchanged. (A NaN time compares false, so a
    neuron with a NaN among several spikes is left to the sort.)"""
    if neuron.size < 2:
        return True
    same = neuron[1:] == neuron[:-1]
    return bool(np.all(same | (neuron[1:] > neuron[:-1])) and np.all(~same | (time[1:] >= time[:-1])))
