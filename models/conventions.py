"""Every choice a discrete-time LIF simulation makes, in one immutable record.

A :class:`Conventions` record names, field by field, the discrete rule a simulator applies to the same
continuous model ``tau_m dV/dt = -(V - E_L) + R I``. Each field is a documented choice. Each adapter
declares its simulator's rule as a :class:`Contract` (a named record of conventions for one configuration:
method and options) and writes its result's metadata statements from it (:func:`statements`); the
reference engine (:func:`reference.engine.simulate`) runs any record, so that each contract is replayed as
a numpy twin (:mod:`reference.twins`). The record sits below the adapters and the engine alike.

================  ==========================================================================================
field             values (the plain reference's first)
================  ==========================================================================================
integrator        ``"exact"``: ``V <- V_inf + (V - V_inf) exp(-d/tau_m)`` over a free interval ``d`` with
                  the drive held (zero-order hold); ``"euler"``: ``V <- V + d/tau_m (V_inf - V)``
threshold         ``">"``: ``V > V_th``; ``">="``: ``V >= V_th`` (NEST, Rockpool, the seed tutorial), tested
                  after each update
crossing          ``"grid"``: spikes locked to the step whose update crossed; ``"linear"``: the crossing
                  time is the linear interpolation of ``V`` within the step; ``"exact"``: the exact inversion
                  of the exponential solution (exact integrator only)
spike_stamp       the time reported for a spike: ``"end"`` of its step (``t_k+1``), ``"start"`` of its step
                  (``t_k``, Brian2), or the ``"crossing"`` time itself (interpolated or exact crossings only;
                  the default there). Nengo finds the exact crossing but reports the end of the step.
refractory        how many samples are clamped and when integration restarts:
                  ``"steps"``: ``V`` held at its reset value for ``round(t_ref/dt)`` whole steps after the
                  spike step; ``"ceil"``: for ``ceil(t_ref/dt)`` steps (NEST ``Time::get_steps``; a ratio
                  within :data:`WHOLE_EPS` of an integer is that integer); ``"timestep"``: free again at
                  step ``k`` when ``k - k_spike >= int((t_ref + 1e-3 dt)/dt)``, ``k_spike`` the index of the
                  step whose update crossed (Brian2's ``timestep(t - lastspike) >= timestep(t_ref)`` with
                  its start-of-step ``lastspike``): ``max(n_b - 1, 0)`` held steps, no dead time at all
                  for ``t_ref < dt``; ``"dead-step"``: ``round(t_ref/dt) + 1`` held steps (snnTorch
                  Lapicque: the reset computed from the previous membrane discards the next step's
                  update); ``"timer"``: a timer of ``t_ref`` from the interpolated or exact crossing, the
                  step in which it ends integrated for its free part only (Nengo), several spikes in a
                  step resolved when ``t_ref < dt``
input_timing      ``"zoh"``: sample ``I_k`` drives ``(t_k, t_k+1]``; ``"delayed"``: it drives
                  ``(t_k+1, t_k+2]`` and the first step is driven by zero current (what a one-step synaptic
                  delay on the input connection does)
record            ``"after-reset"``: sample ``k`` is ``V(t_k)`` after the update ending at ``t_k`` and any
                  reset; ``"before-reset"``: the sample of a spike step keeps the value the update reached
                  (snnTorch Lapicque); the state is reset all the same. A native monitor that records
                  before each update (Brian2's StateMonitor) samples ``V(t_k)`` after the update of step
                  ``k - 1`` -- an index shift its adapter undoes, not a convention of the shared grid.
reset             ``"value"``: ``V <- V_reset``; ``"subtract"``: ``V <- V - n (V_th - V_reset)`` with ``n``
                  the number of subtractions that bring ``V`` back below the threshold rule, ``n`` spikes
                  stamped together (Rockpool); ``"subtract-once"``: one subtraction and at most one spike per
                  step, ``V`` may stay above threshold and spike again in the next free step (Brian2 and
                  snnTorch ``reset_mechanism="subtract"``). With interpolated or exact crossings the reset
                  happens at the crossing, where ``V = V_th``: every rule lands on ``V_reset`` there.
lower_clamp       ``"none"``; ``"v_reset"``: ``V <- max(V, V_reset)`` after each update, before the threshold
                  test (Nengo's default ``min_voltage = 0``)
================  ==========================================================================================

Some combinations are not a rule any simulator could follow; :data:`CONSTRAINTS` lists them with the
fields they tie together (:mod:`comparisons.attribution` reads it to group dependent fields):
an exact crossing needs the exact integrator, the timer goes with interpolated or exact crossings and the
step counts with grid-locked ones, a ``"crossing"`` stamp needs a crossing time, and a ``"before-reset"``
sample needs a spike step whose end value exists (grid crossing).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

#: Allowed values of every field, the plain reference's first (its default).
CHOICES = {
    "integrator": ("exact", "euler"),
    "threshold": (">", ">="),
    "crossing": ("grid", "linear", "exact"),
    "spike_stamp": ("end", "start", "crossing"),
    "refractory": ("steps", "ceil", "timestep", "dead-step", "timer"),
    "input_timing": ("zoh", "delayed"),
    "record": ("after-reset", "before-reset"),
    "reset": ("value", "subtract", "subtract-once"),
    "lower_clamp": ("none", "v_reset"),
}

#: Refractory rules that count whole steps (grid-locked crossings).
STEP_COUNTS = ("steps", "ceil", "timestep", "dead-step")

#: ``t_ref/dt`` within this of an integer is that integer for the ``"ceil"`` rule (float rounding of SI
#: values such as 2e-3/1e-4 = 20.000000000000004).
WHOLE_EPS = 1e-9


def _exact_crossing_needs_exact(c) -> bool:
    return not (c.crossing == "exact" and c.integrator != "exact")


def _timer_goes_with_crossing_time(c) -> bool:
    return (c.crossing == "grid") == (c.refractory != "timer")


def _crossing_stamp_needs_crossing(c) -> bool:
    return not (c.spike_stamp == "crossing" and c.crossing == "grid")


def _before_reset_needs_grid(c) -> bool:
    return not (c.record == "before-reset" and c.crossing != "grid")


#: The combinations that are invalid: (fields tied together, predicate that holds for valid records,
#: message). The fields are what :mod:`comparisons.attribution` must switch together.
CONSTRAINTS = (
    (("crossing", "integrator"), _exact_crossing_needs_exact,
     "crossing 'exact' (inversion of the exponential solution) needs the exact integrator"),
    (("crossing", "refractory"), _timer_goes_with_crossing_time,
     "refractory 'timer' goes with interpolated or exact crossings, the step counts "
     f"{STEP_COUNTS} with grid-locked ones"),
    (("crossing", "spike_stamp"), _crossing_stamp_needs_crossing,
     "spike_stamp 'crossing' needs an interpolated or exact crossing time"),
    (("crossing", "record"), _before_reset_needs_grid,
     "record 'before-reset' needs grid-locked spikes (a crossing inside the step resets there)"),
)


@dataclass(frozen=True)
class Conventions:
    """The discrete rule of one LIF simulation (see the module docstring for each field's meaning).

    ``spike_stamp`` defaults to ``"end"`` for grid-locked spikes and ``"crossing"`` otherwise.

    Raises
    ------
    ValueError
        For an unknown value or an invalid combination (:data:`CONSTRAINTS`).
    """

    integrator: str = "exact"
    threshold: str = ">"
    crossing: str = "grid"
    spike_stamp: str | None = None
    refractory: str = "steps"
    input_timing: str = "zoh"
    record: str = "after-reset"
    reset: str = "value"
    lower_clamp: str = "none"

    def __post_init__(self):
        if self.spike_stamp is None:
            object.__setattr__(self, "spike_stamp", "end" if self.crossing == "grid" else "crossing")
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"Conventions.{name}: expected one of {allowed}, got {getattr(self, name)!r}")
        problems = violations(self)
        if problems:
            names, message = problems[0]
            raise ValueError(f"Conventions.{names[-1]}: {message}")

    @property
    def grid(self) -> bool:
        """True when spikes are locked to the grid (the step-count refractory rules apply)."""
        return self.crossing == "grid"

    def replace(self, **changes) -> "Conventions":
        """A copy with some fields changed (validated again); ``spike_stamp`` keeps its value unless it is
        among the changes."""
        values = self.as_dict()
        values.update(changes)
        return Conventions(**values)

    def as_dict(self) -> dict:
        return asdict(self)

    def differences(self, other: "Conventions") -> list[str]:
        """Names of the fields whose values differ, in field order."""
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]

    def describe(self) -> dict:
        """Human-readable statements for a result's metadata (one per field, plus ``method``)."""
        text = {name: explain(name, getattr(self, name)) for name in CHOICES}
        stamp = explain("spike_stamp", self.spike_stamp)
        crossing = explain("crossing", self.crossing)
        text["spike_stamp"] = crossing if self.spike_stamp == "crossing" else f"{crossing}; reported at {stamp}"
        text["method"] = text["integrator"]
        text["threshold"] = f"V {self.threshold} V_th after each update"
        return text


def violations(c) -> list[tuple[tuple[str, ...], str]]:
    """The constraints a record (anything with the fields) violates: ``[(fields, message), ...]``."""
    return [(names, message) for names, valid, message in CONSTRAINTS if not valid(c)]


#: What each value means, in the words of the report and of the results' metadata.
MEANINGS = {
    "integrator": {"exact": "exact exponential integration (zero-order-hold input)",
                   "euler": "forward Euler"},
    "threshold": {">": "V > V_th (strict)", ">=": "V >= V_th"},
    "crossing": {"grid": "grid-locked (the step whose update crossed)",
                 "linear": "linear interpolation of V across threshold within the step",
                 "exact": "exact inversion of the exponential solution within the step"},
    "spike_stamp": {"end": "the end of the step (t_k+1)", "start": "the start of the step (t_k)",
                    "crossing": "the crossing time"},
    "refractory": {"steps": "V held for round(t_ref/dt) whole steps after the spike step",
                   "ceil": "V held for ceil(t_ref/dt) whole steps after the spike step (NEST)",
                   "timestep": "free again when k - k_spike >= int((t_ref + 1e-3 dt)/dt): "
                               "max(n_b - 1, 0) held steps (Brian2)",
                   "dead-step": "V held for round(t_ref/dt) + 1 whole steps (the reset discards the next "
                                "step's update: snnTorch Lapicque)",
                   "timer": "timer from the crossing time; the step in which it ends integrates its free "
                            "part"},
    "input_timing": {"zoh": "sample k drives (t_k, t_k+1]",
                     "delayed": "sample k drives (t_k+1, t_k+2] (one-step delay; zero current first)"},
    "record": {"after-reset": "sample k is V(t_k) after the update and any reset",
               "before-reset": "a spike step's sample keeps the value the update reached"},
    "reset": {"value": "V <- V_reset",
              "subtract": "V <- V - n (V_th - V_reset), n spikes in the step (all that are needed)",
              "subtract-once": "V <- V - (V_th - V_reset), at most one spike per step"},
    "lower_clamp": {"none": "no lower bound on V", "v_reset": "V clipped at V_reset after each update"},
}

#: Short titles of the fields (rows of the report's side-by-side tables).
TITLES = {"integrator": "integrator", "threshold": "threshold test", "crossing": "crossing time",
          "spike_stamp": "spike time reported", "refractory": "refractory counting",
          "input_timing": "input timing", "record": "recorded sample", "reset": "reset",
          "lower_clamp": "lower voltage clamp"}


def explain(name: str, value: str) -> str:
    """The meaning of one field's value (:data:`MEANINGS`)."""
    return MEANINGS[name][value]


def timing_class(conventions: Conventions) -> str:
    """The timing class of a discrete rule (:mod:`comparisons.tolerances` gives each its bounds): spikes
    locked to the grid (``grid``), linearly interpolated crossings (``linear``), exact crossings reported at
    the crossing (``exact``) or at the end of their step (``phase``)."""
    if conventions.crossing == "grid":
        return "grid"
    if conventions.crossing == "linear":
        return "linear"
    return "exact" if conventions.spike_stamp == "crossing" else "phase"


#: Metadata fields (:class:`models.result.Metadata`) written from a rule, with the convention each states.
STATEMENTS = {"threshold": "threshold", "spike_stamp": "spike_stamp", "refractory": "refractory",
              "sampling": "record", "input_timing": "input_timing", "reset": "reset"}


def statements(conventions: Conventions, **detail: str) -> dict:
    """The metadata statements of a rule (:data:`STATEMENTS`): each field says the convention's meaning
    (:meth:`Conventions.describe`), followed, after a colon, by how the simulator does it where the
    adapter says so (``detail``: field -> text). The adapters build their :class:`models.result.Metadata` with it, so
    that a result's words and its contract (the twin the contract verdicts replay) cannot disagree."""
    unknown = set(detail) - set(STATEMENTS)
    if unknown:
        raise ValueError(f"statements: no metadata field {sorted(unknown)} (expected some of {list(STATEMENTS)})")
    text = conventions.describe()
    return {field: text[key] + (f": {detail[field]}" if detail.get(field) else "")
            for field, key in STATEMENTS.items()}


@dataclass(frozen=True)
class Contract:
    """One configuration's written rule: what a simulator's documentation and source say it computes,
    declared by its adapter (``CONTRACTS``, ``contract(settings)``) and replayed by the reference engine as a
    numpy twin (:mod:`reference.twins`).

    Attributes
    ----------
    name : str
        The contract's name (the reports' ``twin:<name>``).
    backend : str
        The backend that follows it (:mod:`comparisons.backends` name).
    method : str
        ``RunSettings.method`` the backend is run with.
    options : tuple of (str, object)
        ``RunSettings.options`` the backend is run with (sorted pairs).
    conventions : Conventions
        The rule for a specification with reset to a value.
    summary : str
        What the simulator does, in one line.
    subtract : str
        The reset rule for a specification with ``reset = "subtract"``: ``"subtract"`` (every subtraction
        needed, several spikes per step) or ``"subtract-once"`` (one per step).
    """

    name: str
    backend: str
    method: str
    options: tuple
    conventions: Conventions
    summary: str
    subtract: str = "subtract"

    def conventions_for(self, spec) -> Conventions:
        """The conventions for a specification: the reset rule follows its ``reset`` field."""
        if getattr(spec, "reset", "value") == "subtract":
            return self.conventions.replace(reset=self.subtract)
        return self.conventions

    @property
    def timing(self) -> str:
        """The timing class of the rule (:func:`timing_class`)."""
        return timing_class(self.conventions)
