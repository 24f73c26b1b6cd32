"""The reference's own rules: the record of every discrete-time choice is :mod:`models.conventions` (below the
adapters and the engine alike, so that each adapter declares its simulator's rule); the reference's named
constructors are here.
"""

from __future__ import annotations

from models.conventions import (CHOICES, CONSTRAINTS, MEANINGS, STEP_COUNTS, TITLES, WHOLE_EPS,  # noqa: F401
                                Contract, Conventions, explain, violations)


def reference_conventions(method: str = "exact", crossing: str = "grid") -> Conventions:
    """The plain reference's conventions for an integrator and a crossing rule."""
    return Conventions(integrator=method, crossing=crossing,
                       refractory="steps" if crossing == "grid" else "timer")


#: The seed tutorial's rule (Korean SNN tutorial ``LifNeuron.step``): Euler, ``>=``, grid, no timer.
TUTORIAL = Conventions(integrator="euler", threshold=">=", crossing="grid")
