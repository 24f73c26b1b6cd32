"""Every choice a discrete-time LIF simulation makes, in one immutable record.

The plain reference's conventions (the suite's documented defaults):

=================  ==========================================================================
input              sample ``I_k`` drives ``(t_k, t_k+1]`` (zero-order hold)
record             sample ``k`` is ``V(t_k)`` after the update ending at ``t_k`` and any reset;
                   sample 0 is ``V_init``
threshold          ``V > V_th`` (strict), tested after each update
crossing "grid"    spike stamped at the end of the step, ``t_k+1``; refractory ``"steps"``:
                   ``V`` held at ``V_reset`` for ``n_ref = round(t_ref/dt)`` whole steps after the
                   spike step, so a constant-input ISI is ``t_ref + dt (floor(T_free/dt) + 1)``
crossing "linear"  spike at the linear interpolation of ``V`` across threshold within the step
crossing "exact"   spike at the exact inversion of the exponential solution (exact integrator only);
                   with ``"linear"`` and ``"exact"`` the refractory ``"timer"`` runs from the
                   crossing time and the step in which it ends is integrated only for its free
                   part (several spikes per step are resolved when ``t_ref < dt``)
reset              ``V <- V_reset``
=================  ==========================================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

CHOICES = {
    "integrator": ("exact", "euler"),
    "threshold": (">", ">="),
    "crossing": ("grid", "linear", "exact"),
    "spike_stamp": ("end", "start"),
    "refractory": ("steps", "timer"),
}


@dataclass(frozen=True)
class Conventions:
    """The discrete rule of one LIF simulation (see the module docstring for each field's meaning)."""

    integrator: str = "exact"
    threshold: str = ">"
    crossing: str = "grid"
    spike_stamp: str = "end"
    refractory: str = "steps"

    def __post_init__(self):
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"Conventions.{name}: expected one of {allowed}, got {getattr(self, name)!r}")
        if self.crossing == "exact" and self.integrator != "exact":
            raise ValueError("Conventions.crossing: 'exact' inversion needs the exact integrator")
        grid = self.crossing == "grid"
        if grid != (self.refractory == "steps"):
            raise ValueError("Conventions.refractory: 'steps' goes with grid crossing, 'timer' with "
                             "interpolated or exact crossing")
        if not grid and self.spike_stamp != "end":
            raise ValueError("Conventions.spike_stamp: only grid-locked spikes have a start/end stamp")

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> dict:
        """Human-readable statements for a result's metadata."""
        stamp = {"end": "end of the step (t_k+1)", "start": "start of the step (t_k)"}[self.spike_stamp]
        crossing = {
            "grid": f"grid-locked, stamped at the {stamp}",
            "linear": "linear interpolation of V across threshold within the step",
            "exact": "exact inversion of the exponential solution within the step",
        }[self.crossing]
        refractory = {
            "steps": "V held at V_reset for round(t_ref/dt) whole steps after the spike step",
            "timer": "timer from the crossing time; the step in which it ends integrates its free part",
        }[self.refractory]
        method = {"exact": "exact exponential integration (zero-order-hold input)",
                  "euler": "forward Euler"}[self.integrator]
        return {"method": method, "threshold": f"V {self.threshold} V_th after each update",
                "spike_stamp": crossing, "refractory": refractory}


def reference_conventions(method: str = "exact", crossing: str = "grid") -> Conventions:
    """The plain reference's conventions for an integrator and a crossing rule."""
    return Conventions(integrator=method, crossing=crossing,
                       refractory="steps" if crossing == "grid" else "timer")


#: The seed tutorial's rule (Korean SNN tutorial ``LifNeuron.step``): Euler, ``>=``, grid, no timer.
TUTORIAL = Conventions(integrator="euler", threshold=">=", crossing="grid")
