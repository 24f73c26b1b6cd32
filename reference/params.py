"""The numbers the reference's update works with, shared by the readable update (:mod:`reference.engine`)
and the compiled loop (:mod:`reference.fast`): the specification as SI floats with the refractory hold of a
rule, and the drive as the update sees it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.drive import Drive
from models.propagators import whole_timesteps
from models.spec import LIFSpec

from .conventions import WHOLE_EPS, Conventions

#: A neuron whose refractory timer ends within this many seconds of a step edge is taken as free from
#: that edge on: sums of float step lengths drift by a few ulps of the run time, never more.
TIMER_EPS = 1e-15

#: With t_ref < dt a strongly driven neuron may spike several times in one step; each spike consumes at
#: least t_ref + a positive free time, so this bound is never reached by a valid specification.
MAX_SPIKES_PER_STEP = 10_000


def hold_steps(t_ref: float, dt: float, rule: str = "steps") -> int:
    """Whole steps a neuron is held after its spike step under a step-count refractory rule
    (:data:`reference.conventions.CHOICES` ``["refractory"]``; ``"timer"`` gives ``round(t_ref/dt)``,
    unused by the timer loop)."""
    ratio = t_ref / dt
    if rule == "ceil":
        return int(round(ratio)) if abs(ratio - round(ratio)) <= WHOLE_EPS * max(1.0, ratio) \
            else int(math.ceil(ratio))
    if rule == "timestep":
        return max(whole_timesteps(t_ref, dt) - 1, 0)
    if rule == "dead-step":
        return int(round(ratio)) + 1
    return int(round(ratio))


@dataclass(frozen=True)
class Params:
    """The specification's numbers as the update needs them (SI floats).

    ``n_ref`` is the number of whole steps held after a spike step (:func:`hold_steps` of the refractory
    rule), ``gap = V_th - V_reset`` the subtraction of the subtractive resets; ``leak`` False for the
    membrane without leak (``tau = R = inf``, capacitance ``C``).
    """

    tau: float
    E_L: float
    R: float
    V_th: float
    V_reset: float
    t_ref: float
    dt: float
    n_ref: int
    gap: float = 0.0
    leak: bool = True
    C: float = math.nan

    @classmethod
    def of(cls, spec: LIFSpec, dt: float, conventions: Conventions | None = None) -> "Params":
        rule = "steps" if conventions is None else conventions.refractory
        return cls(spec.tau_m, spec.E_L, spec.R, spec.V_th, spec.V_reset, spec.t_ref, dt,
                   hold_steps(spec.t_ref, dt, rule), spec.V_th - spec.V_reset, spec.leak, spec.C)


def timed_drive(drive: Drive, conventions: Conventions) -> Drive:
    """The drive as the update sees it: unchanged for ``"zoh"``; for ``"delayed"``, sample k moved to
    step k + 1 and zero current on the first step."""
    if conventions.input_timing == "zoh":
        return drive
    waveform = np.concatenate([np.zeros((1, drive.waveform.shape[1])), drive.waveform[:-1]])
    return Drive(drive.dt, waveform, drive.scale)
