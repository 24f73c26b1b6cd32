"""The exact propagator of an exponential synaptic current onto the membrane, shared by the adapters that map
it onto a simulator (Nengo, snnTorch, Rockpool) and by the reference (:mod:`reference.synaptic`).

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
