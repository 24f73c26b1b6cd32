"""Numpy twins: a backend's written rule (its :class:`~models.conventions.Contract`) run by the reference engine.

A twin is the reference engine (:func:`reference.engine.simulate`) run with the conventions of one
backend's contract, as that backend is driven by its adapter (the shared sample grid of
:mod:`models.result`, the drive of :mod:`models.drive`). Each adapter declares its contracts
(``CONTRACTS``, and ``contract(settings)`` for the configuration a comparison runs); this module names no
simulator. ``tests/test_twins.py`` checks every declared contract against its real simulator on every
preset and stimulus kind: voltage samples within ``1e-12 (V_th - V_reset)`` and identical spike steps.
Differences between backends can then be replayed, and taken apart convention by convention, on the fast
reference (:mod:`comparisons.attribution`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from models.conventions import Contract
from models.drive import Drive
from models.errors import NotRepresentable
from models.result import RunSettings
from models.spec import LIFSpec

from .engine import simulate as run_engine


@dataclass(frozen=True)
class Twin(Contract):
    """A contract that runs: :meth:`simulate` replays it on the reference engine."""

    @classmethod
    def of(cls, contract: Contract) -> "Twin":
        """The twin of a declared contract."""
        if isinstance(contract, cls):
            return contract
        return cls(**{f.name: getattr(contract, f.name) for f in fields(contract)})

    def settings(self, dt: float, n_steps: int, record_v: bool = True) -> RunSettings:
        """The settings that make the backend run the rule of this twin."""
        return RunSettings(dt, n_steps, self.method, record_v, self.options)

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
