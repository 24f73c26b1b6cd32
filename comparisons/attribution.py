"""Why two backends differ: the difference taken apart convention by convention, with Shapley values.

Every backend's discrete rule is a :class:`~reference.conventions.Conventions` set (its twin,
:mod:`reference.twins`, checked against the real simulator in ``tests/test_twins.py``). To explain a
difference between a test backend ``A`` and a base backend ``B`` on one workload, start from ``B``'s twin
and switch conventions to ``A``'s values; a measure ``m`` of each run gives the characteristic function

    v(S) = m(run(B with the conventions of S switched to A's)) - m(run(B))      (scalar measures)
    v(S) = D(run(B with S switched), run(B))                                   (trace RMSE)

so that ``v({}) = 0`` and ``v(all) = the whole difference`` (``m(A) - m(B)``, or ``D(A, B)``). The order of
switching matters (switching the refractory rule changes the ISI by one step with a grid spike and by
nothing with a timer), so each convention ("player") gets its Shapley value, the average of its
marginal contributions over every order::

    phi_i = sum over S not containing i of |S|! (n - |S| - 1)! / n! (v(S + i) - v(S))

The values sum to ``v(all)`` (efficiency), a convention that never changes the measure gets 0 (null
player), and a pair differing in one convention attributes everything to it. All ``2^n`` coalitions are
run once on the compiled reference (:mod:`reference.fast`): ``n`` is at most 9 fields, in practice 2 to 4.

Dependent conventions. Some mixed records are not rules at all (:data:`reference.conventions.CONSTRAINTS`):
an exact crossing with forward Euler, a timer with grid-locked spikes, a step count with a crossing time,
a ``"crossing"`` stamp or a ``"before-reset"`` sample without the matching crossing rule. The differing
fields are therefore grouped into players: start with one player per differing field; while some
coalition is invalid, merge the players holding the fields of the constraint it violates (a violation
always involves two differing fields, since both end points are valid). The groups are the smallest that
make every coalition valid; a group is switched as one (e.g. Nengo vs Brian2: ``crossing + refractory`` is
one player, ``spike_stamp`` another).

Default workload: a constant current of 1.5 x rheobase from ``V_init`` (:data:`RHEOBASE_FACTOR`; "x rheobase"
as :func:`reference.closed_forms.relative_current`, above the rheobase for a self-oscillating cell too), on the
comparison's ``dt`` and duration; one neuron, spikes and trace.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from models.drive import Drive
from models.spec import LIFSpec
from reference import closed_forms as cf
from reference.conventions import CHOICES, TITLES, Conventions, violations
from reference.engine import simulate
from reference.twins import Twin

from .contract import twin_of

from .metrics import stationary_rate_isi, trace_rmse

#: Constant drive of the default workload, in units of the rheobase.
RHEOBASE_FACTOR = 1.5

#: Pairs shown besides "every backend vs the reference": (test, base).
EXTRA_PAIRS = (("brian2", "nest"), ("brian2", "nengo"), ("nest", "nengo"))


# ----------------------------------------------------------------------------------------- measures

@dataclass(frozen=True)
class Measure:
    """A number that two runs are compared by.

    Attributes
    ----------
    name, title, unit : str
        Key, words for the report, SI unit.
    distance : bool
        True when the measure compares a run with the base run (``D(run, base)``) rather than being a
        number of one run (``m(run)``, compared as ``m(run) - m(base)``).
    """

    name: str
    title: str
    unit: str
    distance: bool = False


MEASURES = {m.name: m for m in (
    Measure("isi", "mean ISI", "s"),
    Measure("latency", "first-spike latency", "s"),
    Measure("rate", "stationary rate", "Hz"),
    Measure("trace_rmse", "trace RMSE", "V", distance=True),
)}


@dataclass(frozen=True)
class Run:
    """One neuron's run: time grid (s), trace (V), spike times (s)."""

    t: np.ndarray
    v: np.ndarray
    spikes: np.ndarray


def measure(name: str, run: Run, base: Run) -> float:
    """``m(run)`` of a scalar measure, or ``D(run, base)`` of a distance (SI; NaN when undefined)."""
    if name == "isi":
        return float(np.mean(np.diff(run.spikes))) if run.spikes.size >= 2 else math.nan
    if name == "latency":
        return float(run.spikes[0]) if run.spikes.size else math.nan
    if name == "rate":
        return stationary_rate_isi(run.spikes, run.t[-1] - run.t[0])
    if name == "trace_rmse":
        return trace_rmse(run.v, base.v)
    raise ValueError(f"unknown measure {name!r} (expected one of: {', '.join(MEASURES)})")


# ----------------------------------------------------------------------------------------- players

@dataclass(frozen=True)
class Player:
    """Conventions switched together (one field, or a group of dependent fields)."""

    fields: tuple[str, ...]

    @property
    def label(self) -> str:
        return " + ".join(TITLES[f] for f in self.fields)


def mixed(base: Conventions, test: Conventions, switched) -> dict:
    """The field values of ``base`` with the fields in ``switched`` taken from ``test``."""
    values = base.as_dict()
    values.update({f: getattr(test, f) for f in switched})
    return values


class _Record:
    """Field values as attributes, for checking a combination without building a Conventions."""

    def __init__(self, values: dict):
        self.__dict__.update(values)


def players(base: Conventions, test: Conventions) -> list[Player]:
    """The differing fields grouped so that every coalition is a valid rule (module docstring)."""
    groups = [(f,) for f in base.differences(test)]
    while True:
        merge = _first_violation(base, test, groups)
        if merge is None:
            return [Player(g) for g in groups]
        joined = tuple(f for g in groups if set(g) & merge for f in g)
        groups = [g for g in groups if not set(g) & merge]
        groups.append(tuple(sorted(joined, key=list(CHOICES).index)))
        groups.sort(key=lambda g: list(CHOICES).index(g[0]))


def _first_violation(base, test, groups) -> set | None:
    """The differing fields of the first constraint that some coalition of ``groups`` violates."""
    differing = {f for g in groups for f in g}
    for size in range(1, len(groups)):
        for chosen in itertools.combinations(groups, size):
            switched = [f for g in chosen for f in g]
            for names, _ in violations(_Record(mixed(base, test, switched))):
                return set(names) & differing
    return None


def coalitions(n: int) -> list[frozenset]:
    """Every subset of ``range(n)``, smallest first."""
    return [frozenset(c) for size in range(n + 1) for c in itertools.combinations(range(n), size)]


def shapley(value: dict, n: int) -> list[float]:
    """Shapley values of ``n`` players from the characteristic function ``value[frozenset]``."""
    out = []
    for i in range(n):
        total = 0.0
        for s in coalitions(n):
            if i in s:
                continue
            weight = math.factorial(len(s)) * math.factorial(n - len(s) - 1) / math.factorial(n)
            total += weight * (value[s | {i}] - value[s])
        out.append(total)
    return out


# ----------------------------------------------------------------------------------------- attribution

@dataclass(frozen=True)
class Contribution:
    """One player's share of the difference in one measure."""

    player: str
    value: float


@dataclass(frozen=True)
class MeasureAttribution:
    """The difference in one measure, taken apart.

    ``test`` and ``base`` are the two runs' values (for a distance: ``D(test, base)`` and 0), ``total``
    the whole difference, ``contributions`` the Shapley values (in player order), ``residual`` their sum
    minus the total (rounding only), ``values`` the characteristic function ``v(S)`` of every coalition
    (frozensets of player indices).
    """

    measure: Measure
    test: float
    base: float
    total: float
    contributions: tuple[Contribution, ...]
    residual: float
    values: dict = field(default_factory=dict, compare=False, repr=False)

    def shares(self) -> str:
        """The shares as a phrase: ``refractory counting -0.1 ms, everything else 0`` (:func:`shares`)."""
        return shares(self)

    def negligible(self, value: float) -> bool:
        """True for a share that is rounding (:func:`negligible`)."""
        return negligible(value, self)


@dataclass
class Attribution:
    """A pair of backends (or twins), their conventions, players and the measures taken apart."""

    test: str
    base: str
    test_conventions: Conventions
    base_conventions: Conventions
    players: list[Player]
    measures: dict[str, MeasureAttribution]
    workload: str
    runs: int
    variant: str = ""
    notes: list[str] = field(default_factory=list)

    def summary(self, name: str) -> str:
        """One line: ``test vs base, mean ISI: refractory counting -0.1 ms, everything else 0``."""
        m = self.measures[name]
        return f"{self.test} vs {self.base}, {m.measure.title}: " + shares(m)


def shares(m: MeasureAttribution) -> str:
    """The shares of one measure as a phrase: ``refractory counting -0.1 ms, everything else 0``."""
    factor, unit = {"s": (1e3, "ms"), "V": (1e3, "mV"), "Hz": (1.0, "Hz")}[m.measure.unit]
    if not m.contributions:
        return "no convention differs"
    big = [c for c in m.contributions if not negligible(c.value, m)]
    if not big:
        return "every convention 0"
    text = ", ".join(f"{c.player} {c.value * factor:+.4g} {unit}" for c in big)
    return text + (", everything else 0" if len(big) < len(m.contributions) else "")


def negligible(value: float, m: MeasureAttribution) -> bool:
    """True for a share that is rounding: below 1e-9 of the largest value involved."""
    scale = max(abs(m.test), abs(m.base), abs(m.total), 1e-300)
    return math.isfinite(value) and abs(value) <= 1e-9 * scale


def default_drive(spec: LIFSpec, dt: float, n_steps: int) -> Drive:
    """The default workload: :data:`RHEOBASE_FACTOR` x rheobase, constant, one neuron."""
    return Drive.constant([float(cf.relative_current(spec, RHEOBASE_FACTOR))], dt, n_steps)


def run_conventions(spec: LIFSpec, drive: Drive, conventions: Conventions) -> Run:
    """The compiled reference with ``conventions`` on a one-neuron drive."""
    v, _, times = simulate(spec, drive, conventions, record_v=True)
    return Run(np.arange(drive.n_steps + 1) * drive.dt, v[:, 0], times)


def attribute(spec: LIFSpec, test: Twin, base: Twin, drive: Drive | None = None, dt: float = 1e-4,
              n_steps: int = 10_000, measures=tuple(MEASURES)) -> Attribution:
    """Take the difference between two twins apart (module docstring).

    Parameters
    ----------
    spec : LIFSpec
        The cell (its ``reset`` picks each twin's reset rule).
    test, base : Twin
        The compared rules; the difference is ``test - base``, switching starts from ``base``.
    drive : Drive, optional
        One-neuron workload; default :func:`default_drive` with ``dt`` (s) and ``n_steps``.
    measures : sequence of str
        Keys of :data:`MEASURES`.

    Returns
    -------
    Attribution
    """
    drive = default_drive(spec, dt, n_steps) if drive is None else drive
    a, b = test.conventions_for(spec), base.conventions_for(spec)
    return attribute_conventions(spec, a, b, drive, measures, test.name, base.name)


def attribute_conventions(spec: LIFSpec, test: Conventions, base: Conventions, drive: Drive,
                          measures=tuple(MEASURES), test_name: str = "test",
                          base_name: str = "base") -> Attribution:
    """:func:`attribute` for two conventions records."""
    group = players(base, test)
    runs = {s: run_conventions(spec, drive, Conventions(**mixed(base, test, _fields(group, s))))
            for s in coalitions(len(group))}
    empty, full = frozenset(), frozenset(range(len(group)))
    out = {}
    for name in measures:
        value = _characteristic(name, runs)
        contributions = shapley(value, len(group))
        m = MEASURES[name]
        test_value = measure(name, runs[full], runs[empty])
        base_value = 0.0 if m.distance else measure(name, runs[empty], runs[empty])
        out[name] = MeasureAttribution(m, test_value, base_value, value[full],
                                       tuple(Contribution(p.label, c) for p, c in zip(group, contributions)),
                                       float(sum(contributions)) - value[full], value)
    current = float(drive.column(0)[0]) if drive.n_neurons == 1 else math.nan
    relative = (f"{current / spec.rheobase:.3g} x rheobase" if spec.rheobase > 0 else
                f"rheobase {spec.rheobase * 1e12:.6g} pA {(current - spec.rheobase) * 1e12:+.6g} pA")
    workload = (f"constant {current * 1e12:.6g} pA ({relative}), "
                f"{drive.n_steps} steps of {drive.dt * 1e3:g} ms")
    return Attribution(test_name, base_name, test, base, group, out, workload, len(runs))


def _fields(group: list[Player], s: frozenset) -> list[str]:
    return [f for i in sorted(s) for f in group[i].fields]


def _characteristic(name: str, runs: dict) -> dict:
    """``v(S)`` of a measure for every coalition (module docstring)."""
    base = runs[frozenset()]
    if MEASURES[name].distance:
        return {s: measure(name, r, base) for s, r in runs.items()}
    zero = measure(name, base, base)
    return {s: measure(name, r, base) - zero for s, r in runs.items()}


# ----------------------------------------------------------------------------------------- contracts

# ----------------------------------------------------------------------------------------- harness

def pairs_for(names) -> list[tuple[str, str]]:
    """(test, base) pairs for a comparison's backends: each backend vs the reference, then Brian2 vs NEST,
    Brian2 vs Nengo and NEST vs Nengo where both are present."""
    names = list(names)
    out = [(n, "reference") for n in names if n != "reference"]
    out += [(a, b) for a, b in EXTRA_PAIRS if a in names and b in names]
    return out


def for_outcome(comparison, outcome) -> list[Attribution]:
    """The attributions a report shows, on the default workload at the comparison's dt and duration.

    Each pair runs on the first specification the harness ran both backends on (the reference needs no
    run: its twin is itself); a pair with a backend that ran on no specification, or without a twin, is
    left out. Only the twins run here (the compiled reference, ``2^n`` runs per pair).
    """
    out = []
    for test, base in pairs_for(comparison.backends):
        variant = _shared_variant(outcome, test, base)
        if variant is None:
            continue
        twin_test, twin_base = (twin_of(comparison.module_name(name),
                                        comparison.settings(name, comparison.dt, comparison.n_steps, False))
                                for name in (test, base))
        if twin_test is None or twin_base is None:
            continue
        result = attribute(variant.spec, twin_test, twin_base, dt=comparison.dt, n_steps=comparison.n_steps)
        result.test, result.base, result.variant = test, base, variant.label
        result.notes = [f"{test}: twin {twin_test.name} ({twin_test.summary})",
                        f"{base}: twin {twin_base.name} ({twin_base.summary})"]
        out.append(result)
    return out


def _shared_variant(outcome, test: str, base: str):
    """The first specification run with both backends (the reference counts as run everywhere) that the
    twins can simulate (no synaptic current, no noise)."""
    for variant in outcome.variants:
        if variant.spec.tau_syn is not None or variant.spec.sigma > 0:
            continue
        ran = set(variant.backends) - set(outcome.failures) | {"reference"}
        if test in ran and base in ran:
            return variant
    return None
