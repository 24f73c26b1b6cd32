"""Numpy twins: each backend's discrete LIF rule as a named :class:`~reference.conventions.Conventions` set.

A twin is the reference engine (:func:`reference.engine.simulate`) run with the conventions of one
backend, as that backend is driven by its adapter in :mod:`models` (the shared sample grid of
:mod:`models.result`, the drive of :mod:`models.drive`). ``tests/test_twins.py`` checks every twin against
its real simulator on every preset and stimulus kind: voltage samples within ``1e-12 (V_th - V_reset)``
and identical spike steps. Differences between backends can then be replayed, and taken apart convention
by convention, on the fast reference (:mod:`comparisons.attribution`).

=====================  ===================  ==========================================================
twin                   backend (settings)   rule (fields that differ from the plain reference)
=====================  ===================  ==========================================================
``reference``          reference (exact)    the plain reference: exact, ``>``, grid, end, round steps
``reference-euler``    reference (euler)    forward Euler
``tutorial``           reference (euler,    the seed tutorial: forward Euler, ``>=``
                       threshold ``>=``)
``brian2-exact``       brian2 (exact)       stamp at the start of the step; refractory ``"timestep"``
``brian2-euler``       brian2 (euler)       forward Euler; start stamp; ``"timestep"``
``nengo``              nengo                exact inversion of the crossing, timer from it with a partial
                                            first step, spike reported at the end of its step
``nest-delta``         nest (iaf_psc_delta) ``>=``; ``ceil(t_ref/dt)`` held steps
``nest-delta-ps``      nest                 ``>=``; exact inversion, spike at the crossing, timer
                       (iaf_psc_delta_ps)
``snntorch-leaky``     snntorch (leaky)     as the reference (``t_ref = 0`` only)
``snntorch-lapicque``  snntorch (lapicque)  forward Euler; ``"dead-step"`` refractory (one step); the
                                            spike step's sample before the reset
``rockpool``           rockpool             ``>=``; reset by subtraction with every spike of the step
=====================  ===================  ==========================================================

Reset rule of a specification with ``reset = "subtract"``: Brian2 and snnTorch Leaky subtract once per step
(``"subtract-once"``), Rockpool and the reference subtract as often as needed (``"subtract"``); Rockpool
subtracts whatever the specification says (it has no other reset).
"""

from __future__ import annotations

from dataclasses import dataclass

from models.drive import Drive
from models.errors import NotRepresentable
from models.result import RunSettings
from models.spec import LIFSpec

from .backend import conventions_for as reference_conventions
from .conventions import TUTORIAL, Conventions
from .engine import simulate as run_engine


@dataclass(frozen=True)
class Twin:
    """One backend's discrete rule.

    Attributes
    ----------
    name : str
        The twin's name (:data:`TWINS` key).
    backend : str
        The backend it reproduces (:mod:`comparisons.backends` name).
    method : str
        ``RunSettings.method`` the backend is run with.
    options : tuple of (str, object)
        ``RunSettings.options`` the backend is run with (sorted pairs).
    conventions : Conventions
        The rule for a specification with reset to a value.
    summary : str
        What the simulator does, in one line.
    """

    name: str
    backend: str
    method: str
    options: tuple
    conventions: Conventions
    summary: str

    def settings(self, dt: float, n_steps: int, record_v: bool = True) -> RunSettings:
        """The settings that make the backend run the rule of this twin."""
        return RunSettings(dt, n_steps, self.method, record_v, self.options)

    def conventions_for(self, spec: LIFSpec) -> Conventions:
        """The conventions for ``spec``: the reset rule follows the specification's ``reset`` field."""
        reset = SUBTRACT_RULES.get(self.name, "subtract") if getattr(spec, "reset", "value") == "subtract" \
            else self.conventions.reset
        return self.conventions.replace(reset=reset)

    def simulate(self, spec: LIFSpec, drive: Drive, record_v: bool = True, fast: bool = True):
        """Run the twin; same results as :func:`reference.engine.simulate`.

        Raises
        ------
        NotRepresentable
            For a specification with a synaptic current or noise (the twins model the plain cell).
        """
        if getattr(spec, "tau_syn", None) is not None or getattr(spec, "sigma", 0.0) > 0:
            raise NotRepresentable(f"twin {self.name}", "the twins model the plain LIF (no synaptic current, "
                                                        "no noise)")
        return run_engine(spec, drive, self.conventions_for(spec), record_v, fast)


#: Reset rule of each twin for a specification asking for reset by subtraction (Rockpool always
#: subtracts; Nengo, NEST and snnTorch Lapicque refuse such specifications).
SUBTRACT_RULES = {"brian2-exact": "subtract-once", "brian2-euler": "subtract-once",
                  "snntorch-leaky": "subtract-once"}

_PLAIN = Conventions()
_BRIAN2 = Conventions(spike_stamp="start", refractory="timestep")
_NEST = Conventions(threshold=">=", refractory="ceil")

#: Every twin by name.
TWINS: dict[str, Twin] = {t.name: t for t in (
    Twin("reference", "reference", "exact", (), _PLAIN,
         "the plain reference: exact integration, V > V_th, grid spikes at the end of the step, V held for "
         "round(t_ref/dt) steps"),
    Twin("reference-euler", "reference", "euler", (), _PLAIN.replace(integrator="euler"),
         "the plain reference with forward Euler"),
    Twin("tutorial", "reference", "euler", (("threshold", ">="),), TUTORIAL,
         "the seed tutorial's LifNeuron.step: forward Euler, V >= V_th, reset to V_reset"),
    Twin("brian2-exact", "brian2", "exact", (), _BRIAN2,
         "Brian2 method='exact': spike stamped at the start of the step, free again when "
         "timestep(t - lastspike) >= timestep(t_ref)"),
    Twin("brian2-euler", "brian2", "euler", (), _BRIAN2.replace(integrator="euler"),
         "Brian2 method='euler', same schedule"),
    Twin("nengo", "nengo", "exact", (),
         Conventions(crossing="exact", refractory="timer", spike_stamp="end"),
         "nengo.LIF: exact update over the free part of each step, timer from the exact crossing, spike "
         "reported at the end of its step"),
    Twin("nest-delta", "nest", "exact", (("model", "iaf_psc_delta"),), _NEST,
         "NEST iaf_psc_delta: exact propagation, y >= V_th, V clamped for ceil(t_ref/dt) steps, stamp at the "
         "end of the step"),
    Twin("nest-delta-ps", "nest", "exact", (("model", "iaf_psc_delta_ps"),),
         Conventions(threshold=">=", crossing="exact", refractory="timer"),
         "NEST iaf_psc_delta_ps: exact propagation, precise spike time by exact inversion, refractory period "
         "from it"),
    Twin("snntorch-leaky", "snntorch", "exact", (("model", "leaky"),), _PLAIN,
         "snn.Leaky (beta = exp(-dt/tau), reset to zero, reset_delay=False): the plain reference without "
         "refractory period"),
    Twin("snntorch-lapicque", "snntorch", "euler", (("model", "lapicque"),),
         Conventions(integrator="euler", refractory="dead-step", record="before-reset"),
         "snn.Lapicque: forward Euler; the reset computed from the previous membrane keeps the "
         "supra-threshold sample and discards the next step's update"),
    Twin("rockpool", "rockpool", "exact", (), Conventions(threshold=">=", reset="subtract"),
         "rockpool.nn.modules.LIF: exact step, V >= V_th, n = floor spikes per step by subtraction"),
)}


def names() -> list[str]:
    """Every twin's name."""
    return list(TWINS)


def get(name: str) -> Twin:
    """The twin called ``name``.

    Raises
    ------
    ValueError
        For an unknown name (listing the valid ones).
    """
    if name not in TWINS:
        raise ValueError(f"unknown twin {name!r} (expected one of: {', '.join(TWINS)})")
    return TWINS[name]


def of_backend(backend: str, settings: RunSettings) -> Twin:
    """The twin of a backend run with ``settings`` (its method and options, as the harness runs it).

    Raises
    ------
    ValueError
        For a backend or an option without a twin.
    """
    if backend == "reference":
        return _reference_twin(settings)
    key = {"brian2": lambda: f"brian2-{settings.method}",
           "nengo": lambda: "nengo",
           "nest": lambda: "nest-delta" if settings.option("model", "iaf_psc_delta") == "iaf_psc_delta"
           else "nest-delta-ps",
           "snntorch": lambda: f"snntorch-{settings.option('model', 'leaky')}",
           "rockpool": lambda: "rockpool"}.get(backend)
    if key is None:
        raise ValueError(f"no twin for backend {backend!r} (twins exist for: reference, brian2, nengo, nest, "
                         "snntorch, rockpool)")
    return get(key())


def _reference_twin(settings: RunSettings) -> Twin:
    """The reference backend's conventions (:func:`reference.backend.conventions_for`), as a named twin
    when one has them."""
    conventions = reference_conventions(settings)
    for twin in TWINS.values():
        if twin.backend == "reference" and twin.conventions == conventions:
            return twin
    return Twin(f"reference({settings.method}, {conventions.crossing}, {conventions.threshold})", "reference",
                settings.method, settings.options, conventions, "the reference with the options asked for")
