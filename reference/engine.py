"""The reference LIF: a pure, vectorised update kept apart from the time loop.

Model (SI)::

    tau_m dV/dt = -(V - E_L) + R I_k     on (t_k, t_k+1], I_k held constant (zero-order hold)

Integrators over a free interval of length ``d`` with ``V_inf = E_L + R I_k``:

- exact:  ``V <- V_inf + (V - V_inf) exp(-d/tau_m)``
- euler:  ``V <- V + d/tau_m (V_inf - V)``  (the seed tutorial's ``u += (-(u - E_L) + R I) dt/tau``)

Without leak (``spec.leak`` False, ``C dV/dt = I_k``) both integrators are ``V <- V + d (I_k/C)``: the
drive the update integrates is then the slope ``I_k/C`` (V/s) instead of ``V_inf`` (:func:`drive_of`), and
the exact crossing is ``(V_th - v0)/(I_k/C)``. The compiled loop covers the LIF only; a non-leaky cell
runs the numpy loop (:func:`reference.fast.path` says so).

Threshold, spike stamp, crossing time, refractory counting, input timing, recorded sample, reset and
lower clamp follow a :class:`~reference.conventions.Conventions` record (every field documented there).
The update functions (:func:`step_grid`, :func:`step_timer`) modify preallocated arrays in place, like
nengo's ``LIF.step``; :func:`simulate` owns the time loop and the recording. This numpy code is the
definition; :mod:`reference.fast` runs the same operations compiled, bit for bit.
"""

from __future__ import annotations

import numpy as np

from models.drive import Drive
from models.spec import LIFSpec

from .conventions import Conventions
from . import fast as compiled
from .params import MAX_SPIKES_PER_STEP, TIMER_EPS, Params, hold_steps, timed_drive  # noqa: F401 - re-exported

def drive_of(p: Params, i_k):
    """What the update integrates for the currents ``i_k`` (A): ``V_inf = E_L + R I`` (V), or without leak
    the slope ``I/C`` (V/s)."""
    return p.E_L + p.R * i_k if p.leak else i_k / p.C


def propagate(v, v_inf, d, tau: float, integrator: str):
    """Integrate the free membrane over intervals ``d`` (s) with constant drive ``v_inf`` (V); for
    ``tau = inf`` (no leak) ``v_inf`` is the slope ``I/C`` and both integrators are ``v + d I/C``."""
    if tau == np.inf:
        return v + d * v_inf
    if integrator == "exact":
        return v_inf + (v - v_inf) * np.exp(-d / tau)
    return v + d / tau * (v_inf - v)


def clamp(v, p: Params, c: Conventions):
    """The lower voltage clamp after an update (``"v_reset"``: ``max(V, V_reset)``)."""
    return np.maximum(v, p.V_reset) if c.lower_clamp == "v_reset" else v


def crossed(v, v_th: float, rule: str):
    """Threshold test ``v > v_th`` or ``v >= v_th``."""
    return v >= v_th if rule == ">=" else v > v_th


def crossing_offset(v0, v1, v_inf, d, p: Params, c: Conventions):
    """Time (s) from the start of a free interval of length ``d`` to the threshold crossing."""
    if c.crossing == "exact" and not p.leak:
        # V(s) = v0 + s I/C = V_th  =>  s = (V_th - v0)/(I/C)   (v_inf holds the slope I/C)
        return (p.V_th - v0) / v_inf
    if c.crossing == "exact":
        # V(s) = V_inf + (v0 - V_inf) exp(-s/tau) = V_th  =>  s = tau ln((V_inf - v0)/(V_inf - V_th))
        return p.tau * np.log((v_inf - v0) / (v_inf - p.V_th))
    return d * (p.V_th - v0) / (v1 - v0)


def spike_counts(v, free, p: Params, c: Conventions) -> np.ndarray:
    """Spikes (int64, shape (N,)) of the free neurons at ``v``: 0 or 1, except for reset ``"subtract"``,
    where it is the number of subtractions of ``gap`` that bring ``v`` back below the threshold rule:
    ``floor(x) + 1`` for ``>=`` and ``max(ceil(x), 1)`` for ``>``, ``x = (v - V_th)/gap``."""
    above = free & crossed(v, p.V_th, c.threshold)
    counts = above.astype(np.int64)
    if c.reset == "subtract" and above.any():
        excess = (v[above] - p.V_th) / p.gap
        counts[above] = (np.floor(excess) + 1 if c.threshold == ">=" else
                         np.maximum(np.ceil(excess), 1)).astype(np.int64)
    return counts


def reset(v, counts, p: Params, c: Conventions) -> None:
    """Apply the reset rule in place to the neurons with ``counts > 0``."""
    hit = counts > 0
    if c.reset == "value":
        v[hit] = p.V_reset
    elif c.reset == "subtract-once":
        v[hit] = v[hit] - p.gap
    else:
        v[hit] = v[hit] - counts[hit] * p.gap


def step_grid(v, ref_left, i_k, p: Params, c: Conventions, before=None):
    """One grid step for every neuron; returns the spike count of each neuron (int64, shape (N,)).

    ``ref_left`` counts the whole refractory steps still to hold each neuron; ``before`` (optional,
    shape (N,)) receives ``v`` after the update and before the reset.
    """
    free = ref_left == 0
    ref_left[~free] -= 1
    v_inf = drive_of(p, i_k)
    v[free] = clamp(propagate(v[free], v_inf[free], p.dt, p.tau, c.integrator), p, c)
    counts = spike_counts(v, free, p, c)
    if before is not None:
        before[:] = v
    reset(v, counts, p, c)
    ref_left[counts > 0] = p.n_ref
    return counts


def step_timer(v, ref_time, i_k, t_end: float, p: Params, c: Conventions):
    """One step with spike times interpolated or inverted within it; returns (neuron, time) arrays.

    ``ref_time`` is each neuron's refractory time still to run at the start of the step (s); only the
    free end of the step, ``d = clip(dt - ref_time, 0, dt)``, is integrated. The reset happens at the
    crossing, where ``V = V_th``: every reset rule lands on ``V_reset``.
    """
    d = np.clip(p.dt - ref_time, 0.0, p.dt)
    d[d < TIMER_EPS] = 0.0
    ref_time -= p.dt
    np.maximum(ref_time, 0.0, out=ref_time)
    v_inf = drive_of(p, i_k)
    idx = np.flatnonzero(d > 0)
    v0 = v[idx]
    v1 = clamp(propagate(v0, v_inf[idx], d[idx], p.tau, c.integrator), p, c)
    v[idx] = v1
    neurons, times = [], []
    for _ in range(MAX_SPIKES_PER_STEP):
        hit = crossed(v1, p.V_th, c.threshold)
        if not hit.any():
            return _concat(neurons, times, int)
        idx, v0, v1, dh, vi = idx[hit], v0[hit], v1[hit], d[idx][hit], v_inf[idx][hit]
        t_cross = t_end - dh + crossing_offset(v0, v1, vi, dh, p, c)
        neurons.append(idx)
        times.append(t_cross)
        free_after = (t_end - t_cross) - p.t_ref
        v[idx] = p.V_reset
        ref_time[idx] = np.maximum(-free_after, 0.0)
        again = free_after > TIMER_EPS
        idx, d_next = idx[again], free_after[again]
        d = np.zeros_like(v)
        d[idx] = d_next
        v0 = np.full(idx.size, p.V_reset)
        v1 = clamp(propagate(v0, v_inf[idx], d_next, p.tau, c.integrator), p, c)
        v[idx] = v1
    raise RuntimeError("reference: more than MAX_SPIKES_PER_STEP spikes in one step")


def simulate(spec: LIFSpec, drive: Drive, conventions: Conventions, record_v: bool = True,
             fast: bool = True):
    """Run the reference on a drive.

    Parameters
    ----------
    fast : bool
        Run the compiled loop of :mod:`reference.fast` (bit for bit the same numbers) when it supports
        the conventions (:func:`reference.fast.path` says which loop runs and, when it is the numpy loop,
        why); ``False`` runs the numpy loop below, the definition.

    Returns
    -------
    v : ndarray (n_steps + 1, N) or None
        Voltage samples (V) at ``t_k`` (after update and reset, or before the reset of a spike step for
        ``record = "before-reset"``).
    spike_neuron, spike_time : ndarray
        One entry per spike, sorted by neuron; each neuron's spikes in time order.
    """
    if fast and spec.leak:
        if compiled.supports(conventions) is None:
            return compiled.simulate_fast(spec, drive, conventions, record_v)
    drive = timed_drive(drive, conventions)
    p = Params.of(spec, drive.dt, conventions)
    n, steps = drive.n_neurons, drive.n_steps
    v = np.full(n, spec.V_init)
    trace = np.empty((steps + 1, n)) if record_v else None
    if record_v:
        trace[0] = v
    neurons, times = [], []
    grid = conventions.crossing == "grid"
    state = np.zeros(n, dtype=np.int64) if grid else np.zeros(n)
    before = np.empty(n) if record_v and conventions.record == "before-reset" else None
    for k in range(steps):
        i_k = drive.at(k)
        if grid:
            counts = step_grid(v, state, i_k, p, conventions, before)
            hit = np.flatnonzero(counts)
            if hit.size:
                neurons.append(np.repeat(hit, counts[hit]))
                times.append(np.full(neurons[-1].size, stamp_time(k, p.dt, conventions.spike_stamp)))
        else:
            nk, tk = step_timer(v, state, i_k, (k + 1) * p.dt, p, conventions)
            if nk.size:
                neurons.append(nk)
                times.append(tk if conventions.spike_stamp == "crossing" else
                             np.full(nk.size, stamp_time(k, p.dt, conventions.spike_stamp)))
        if record_v:
            trace[k + 1] = v if before is None else before
    spike_neuron, spike_time = _concat(neurons, times, int)
    order = np.argsort(spike_neuron, kind="stable")
    return trace, spike_neuron[order], spike_time[order]


def stamp_time(k: int, dt: float, stamp: str) -> float:
    """The reported time (s) of a spike in step k, ``(t_k, t_k+1]``: ``(k + 1) dt`` for ``"end"``,
    ``k dt`` for ``"start"``."""
    return (k + 1) * dt if stamp == "end" else k * dt


def _concat(neurons, times, dtype):
    if not neurons:
        return np.empty(0, dtype=np.int64), np.empty(0)
    return np.concatenate(neurons).astype(np.int64), np.concatenate(times)
