"""Discrete-time numbers shared by the adapters and the reference, written once: the exact propagator of an
exponential synaptic current onto the membrane (Nengo, snnTorch, Rockpool and :mod:`reference.synaptic`),
and Brian2's step count of a duration (its adapter, the twin's ``"timestep"`` refractory rule, the grid
predictions of :mod:`reference.closed_forms`).

With ``a_m = exp(-h/tau_m)``, ``a_s = exp(-h/tau_syn)``, the synaptic current ``I_k`` at ``t_k`` contributes
``P21 I_k`` to ``V(t_k+1)``::

    P21 = R tau_syn/(tau_m - tau_syn) (a_m - a_s) = R (h/tau_m) a_m phi(h (1/tau_syn - 1/tau_m))
    phi(x) = (1 - exp(-x))/x = -expm1(-x)/x,  phi(0) = 1

The second form has no cancellation when ``tau_syn`` is close to ``tau_m`` and its limit at equality.
"""

from __future__ import annotations

import math

from .spec import LIFSpec


def phi(x: float) -> float:
    """``(1 - exp(-x))/x`` with its limit 1 at ``x = 0`` (accurate for every ``x`` through ``expm1``)."""
    return 1.0 if x == 0.0 else -math.expm1(-x) / x


def p21(spec: LIFSpec, dt: float) -> float:
    """Exact contribution (V/A) of the synaptic current at ``t_k`` to ``V(t_k+1)`` (module docstring)."""
    x = dt * (1.0 / spec.tau_syn - 1.0 / spec.tau_m)
    return spec.R * (dt / spec.tau_m) * math.exp(-dt / spec.tau_m) * phi(x)


def whole_timesteps(duration: float, dt: float) -> int:
    """Brian2's ``timestep(duration, dt) = int((duration + 1e-3 dt)/dt)``: whole steps, a duration within a
    thousandth of a step below a whole number counting as that number (brian2/core/functions.py)."""
    return int((duration + 1e-3 * dt) / dt)
