"""Closed forms of the LIF with constant (or piecewise-constant) input, and exact grid predictions.

With ``V_inf = E_L + R I`` (notation of the semantics notes; Gerstner et al., *Neuronal Dynamics*,
ch. 1.3; Tuckwell 1988):

- subthreshold response from ``V0``: ``V(t) = V_inf + (V0 - V_inf) exp(-t/tau_m)``
- free time from reset to threshold: ``T_free = tau_m ln((V_inf - V_reset)/(V_inf - V_th))`` when
  ``V_inf > V_th``, else infinite
- first-spike latency from ``V0``: ``tau_m ln((V_inf - V0)/(V_inf - V_th))``
- ISI ``= t_ref + T_free``, rate ``= 1/ISI`` (0 at or below rheobase), saturating at ``1/t_ref``
- rheobase ``= (V_th - E_L)/R``

Grid predictions for constant input, spikes locked to the grid (``n_ref = round(t_ref/dt)``):

- reference ``"grid"`` (strict ``>``, stamp at the step's end): ``ISI = n_ref dt + dt (floor(T_free/dt) + 1)``
- ``>=`` threshold (NEST ``iaf_psc_delta``): ``ISI = n_ref dt + dt ceil(T_free/dt)``
- Brian2 exact (stamp at the step's start; free again when ``timestep(t - lastspike) >=
  timestep(t_ref)`` with ``n_b = floor(t_ref/dt + 1e-3)``, so the frozen dead time is
  ``dt (max(n_b, 1) - 1)``, i.e. ``t_ref - dt`` for ``t_ref >= dt`` and none for ``t_ref < dt``):
  ``ISI = dt (max(n_b, 1) - 1) + dt (floor(T_free/dt) + 1)``
"""

from __future__ import annotations

import numpy as np

from models.spec import LIFSpec


def v_inf(spec: LIFSpec, current):
    """Steady-state potential (V) for a constant current (A)."""
    return spec.E_L + spec.R * np.asarray(current, dtype=float)


def rheobase(spec: LIFSpec) -> float:
    """Smallest constant current (A) that reaches threshold in infinite time."""
    return spec.rheobase


def subthreshold(spec: LIFSpec, t, current, v0=None):
    """``V(t)`` (V) under a constant current from ``v0`` (default V_init), ignoring the threshold."""
    v0 = spec.V_init if v0 is None else v0
    vi = v_inf(spec, current)
    return vi + (v0 - vi) * np.exp(-np.asarray(t, dtype=float) / spec.tau_m)


def time_to_threshold(spec: LIFSpec, current, v0):
    """Time (s) from ``v0`` to threshold under a constant current; ``inf`` when never reached."""
    vi = v_inf(spec, current)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = spec.tau_m * np.log((vi - v0) / (vi - spec.V_th))
    return np.where(vi > spec.V_th, t, np.inf)


def free_time(spec: LIFSpec, current):
    """``T_free`` (s): from V_reset to threshold, the ISI without refractory period."""
    return time_to_threshold(spec, current, spec.V_reset)


def first_spike_latency(spec: LIFSpec, current, v0=None):
    """Time (s) of the first spike from ``v0`` (default V_init) under a constant current."""
    return time_to_threshold(spec, current, spec.V_init if v0 is None else v0)


def isi(spec: LIFSpec, current):
    """Interspike interval (s) for a constant current: ``t_ref + T_free``."""
    return spec.t_ref + free_time(spec, current)


def rate(spec: LIFSpec, current):
    """Stationary firing rate (Hz) for constant currents; 0 at or below rheobase."""
    with np.errstate(divide="ignore"):
        return 1.0 / isi(spec, current)


def spike_times(spec: LIFSpec, current: float, duration: float) -> np.ndarray:
    """Exact spike times (s) in ``[0, duration]`` under a constant current from V_init."""
    first = float(first_spike_latency(spec, current))
    if not np.isfinite(first) or first > duration:
        return np.empty(0)
    n = int(np.floor((duration - first) / float(isi(spec, current)))) + 1
    return first + float(isi(spec, current)) * np.arange(n)


def grid_isi(spec: LIFSpec, current, dt: float, rule: str = "reference"):
    """Exact ISI (s) of grid-locked simulations with exact integration and constant input.

    ``rule``: ``"reference"`` (strict ``>``), ``"ge"`` (``>=``, NEST iaf_psc_delta) or ``"brian2"``.
    """
    t_free = np.asarray(free_time(spec, current), dtype=float)
    n_ref = round(spec.t_ref / dt)
    with np.errstate(invalid="ignore"):
        if rule == "ge":
            return n_ref * dt + dt * np.ceil(t_free / dt)
        steps = np.floor(t_free / dt) + 1
        if rule == "brian2":
            n_b = int(spec.t_ref / dt + 1e-3)  # Brian2's timestep(): floor with a 1e-3 step margin
            return dt * (max(n_b, 1) - 1) + dt * steps
        return n_ref * dt + dt * steps
