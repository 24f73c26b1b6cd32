"""The reference LIF with the optional additions: exponential synaptic current, white-noise current,
reset by subtraction. A pure, vectorised update kept apart from the time loop, like :mod:`reference.engine`
(which remains the reference for the plain LIF).

Model (SI; drive ``I_k`` held over ``(t_k, t_k+1]``; ``I_syn`` shared by every neuron of a run)::

    tau_m dV/dt   = -(V - E_L) + R (I(t) + I_syn(t)) + R sigma xi(t)     while not refractory
    tau_syn dI_syn/dt = -I_syn,  I_syn += weight at each input spike's grid arrival t_j
    V > V_th (or >=)  ->  spike stamped at t_k+1;
        reset "value":    V <- V_reset
        reset "subtract": V <- V - n (V_th - V_reset), n the number of subtractions that bring V to
                          V <= V_th (V < V_th for ">="); n spikes, all stamped at t_k+1 (as Rockpool)
    refractory: V held (at V_reset, or at the subtracted value) for n_ref = round(t_ref/dt) whole steps
    after the spike step; I_syn keeps evolving and receiving spikes; the noise stream keeps running.

Integrators over one step ``h`` with ``y = V - E_L`` and ``I_syn,k`` the synaptic current at ``t_k`` (after
the spikes arriving there):

``"exact"`` -- the exact propagator of the linear system (Rotter & Diesmann 1999)::

    I_syn,k+1 = a_s I_syn,k                         a_s = exp(-h/tau_syn)
    y_k+1     = a_m y_k + (1 - a_m) R I_k + P21 I_syn,k      a_m = exp(-h/tau_m)
    P21 = R tau_syn/(tau_m - tau_syn) (a_m - a_s) = R (h/tau_m) a_m phi(h (1/tau_syn - 1/tau_m))
    phi(x) = (1 - exp(-x))/x = -expm1(-x)/x,  phi(0) = 1

  The second form of ``P21`` has no division by ``tau_m - tau_syn``: it is the ``tau_syn = tau_m`` limit
  ``R (h/tau_m) a_m`` exactly and loses no precision as ``tau_syn -> tau_m``. Noise: the sampled white
  noise held over the step (:mod:`reference.noise`, ``"exact"``).

``"euler"`` -- forward Euler of both equations (Euler--Maruyama for the noise)::

    I_syn,k+1 = (1 - h/tau_syn) I_syn,k
    y_k+1     = y_k + h/tau_m (-y_k + R I_k + R I_syn,k)

Without a synapse and noise and with reset to a value, this is exactly the plain reference's ``"grid"``
rule; :mod:`reference.backend` still runs such cells through :mod:`reference.engine`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.drive import Drive
from models.propagators import p21, phi  # noqa: F401 - the shared propagator
from models.spec import LIFSpec

from .conventions import Conventions
from .noise import NoiseStreams, increment_scale


@dataclass(frozen=True)
class Params:
    """The numbers one step needs (SI): decay factors, couplings and the reset rule.

    ``a_m`` multiplies ``V - V_inf`` (exact) or is ``h/tau_m`` (Euler, see :func:`propagate`);
    ``a_s`` multiplies ``I_syn`` each step; ``p_syn`` (V/A) maps ``I_syn,k`` onto ``V_k+1``; ``noise`` (V)
    multiplies ``xi_k``.
    """

    integrator: str
    E_L: float
    R: float
    V_th: float
    V_reset: float
    n_ref: int
    a_m: float
    a_s: float
    p_syn: float
    noise: float
    subtract: bool
    threshold: str

    @classmethod
    def of(cls, spec: LIFSpec, dt: float, c: Conventions) -> "Params":
        exact = c.integrator == "exact"
        a_m = math.exp(-dt / spec.tau_m) if exact else dt / spec.tau_m
        if spec.tau_syn is None:
            a_s, p_syn = 0.0, 0.0
        elif exact:
            a_s, p_syn = math.exp(-dt / spec.tau_syn), p21(spec, dt)
        else:
            a_s, p_syn = 1.0 - dt / spec.tau_syn, spec.R * dt / spec.tau_m
        noise = increment_scale(spec, dt, c.integrator) if spec.sigma > 0 else 0.0
        return cls(c.integrator, spec.E_L, spec.R, spec.V_th, spec.V_reset, int(round(spec.t_ref / dt)), a_m,
                   a_s, p_syn, noise, spec.reset == "subtract", c.threshold)


def propagate(v, v_inf, i_syn: float, p: Params):
    """``V`` after one free step from ``v`` (V) with drive ``v_inf = E_L + R I_k`` (V) and ``I_syn,k`` (A)."""
    if p.integrator == "exact":
        return v_inf + (v - v_inf) * p.a_m + p.p_syn * i_syn
    return v + p.a_m * (v_inf - v) + p.p_syn * i_syn


def spike_counts(v, free, p: Params) -> np.ndarray:
    """Spikes (int, shape (N,)) of the free neurons at ``v``: 0 or 1 for reset to a value; for reset by
    subtraction the number of subtractions of ``V_th - V_reset`` that bring ``v`` back below threshold."""
    above = free & ((v >= p.V_th) if p.threshold == ">=" else (v > p.V_th))
    if not p.subtract:
        return above.astype(np.int64)
    excess = (v[above] - p.V_th) / (p.V_th - p.V_reset)
    counts = np.zeros(v.shape, dtype=np.int64)
    counts[above] = (np.floor(excess) + 1) if p.threshold == ">=" else np.maximum(np.ceil(excess), 1)
    return counts


def reset(v, counts, p: Params) -> None:
    """Apply the reset rule in place to the neurons with ``counts > 0``."""
    hit = counts > 0
    if p.subtract:
        v[hit] -= counts[hit] * (p.V_th - p.V_reset)
    else:
        v[hit] = p.V_reset


def step(v, ref_left, i_k, i_syn: float, xi, p: Params) -> np.ndarray:
    """One grid step for every neuron (``v``, ``ref_left`` updated in place); returns the spike counts.

    ``i_k`` (A, shape (N,)) is the drive on ``(t_k, t_k+1]``, ``i_syn`` (A) the synaptic current at
    ``t_k``, ``xi`` (shape (N,)) the neurons' standard normals of step k or ``None`` without noise.
    """
    free = ref_left == 0
    ref_left[~free] -= 1
    v_inf = p.E_L + p.R * i_k
    v_new = propagate(v[free], v_inf[free], i_syn, p)
    if xi is not None:
        v_new = v_new + p.noise * xi[free]
    v[free] = v_new
    counts = spike_counts(v, free, p)
    reset(v, counts, p)
    ref_left[counts > 0] = p.n_ref
    return counts


def jumps(spec: LIFSpec, dt: float, n_steps: int) -> np.ndarray:
    """Jump (A) of the synaptic current at each grid point ``t_k``, shape (n_steps,) (zeros without input)."""
    if spec.spike_input is None:
        return np.zeros(n_steps)
    return spec.spike_input.jumps(dt, n_steps)


def simulate(spec: LIFSpec, drive: Drive, conventions: Conventions, record_v: bool = True):
    """Run the variant reference on a drive (spikes locked to the grid, ``conventions.crossing == "grid"``).

    Returns
    -------
    v : ndarray (n_steps + 1, N) or None
        Voltage samples (V) at ``t_k`` after update and reset; ``v[0] = V_init``.
    spike_neuron, spike_time : ndarray
        One entry per spike (several entries for several spikes in one step), sorted by neuron.
    i_syn : ndarray (n_steps + 1,)
        Synaptic current (A) at ``t_k`` before the spikes arriving at ``t_k`` (shared by all neurons).

    Raises
    ------
    ValueError
        For conventions other than grid crossing.
    """
    if conventions.crossing != "grid":
        raise ValueError("reference.synaptic: spikes are locked to the grid (crossing 'grid' only)")
    p = Params.of(spec, drive.dt, conventions)
    n, steps = drive.n_neurons, drive.n_steps
    arriving = jumps(spec, drive.dt, steps)
    noise = NoiseStreams(spec.noise_seed, n) if spec.sigma > 0 else None
    v = np.full(n, spec.V_init)
    ref_left = np.zeros(n, dtype=np.int64)
    trace = np.empty((steps + 1, n)) if record_v else None
    if record_v:
        trace[0] = v
    current = np.zeros(steps + 1)
    stamp = 1 if conventions.spike_stamp == "end" else 0
    neurons, times, i_syn = [], [], 0.0
    for k in range(steps):
        i_syn = i_syn + arriving[k]
        counts = step(v, ref_left, drive.at(k), i_syn, None if noise is None else noise.at(k), p)
        i_syn = i_syn * p.a_s
        current[k + 1] = i_syn
        hit = np.flatnonzero(counts)
        if hit.size:
            neurons.append(np.repeat(hit, counts[hit]))
            times.append(np.full(neurons[-1].size, (k + stamp) * drive.dt))
        if record_v:
            trace[k + 1] = v
    spike_neuron = np.concatenate(neurons) if neurons else np.empty(0, dtype=np.int64)
    spike_time = np.concatenate(times) if times else np.empty(0)
    order = np.argsort(spike_neuron, kind="stable")
    return trace, spike_neuron[order].astype(np.int64), spike_time[order], current


# ------------------------------------------------------------------------------------- exact solution

def exact_solution(spec: LIFSpec, drive: Drive, record_v: bool = True):
    """The exact solution of a synaptic cell's equations for the sampled drive: the closed form of its
    traces, with every threshold crossing found exactly inside its step.

    Equations (SI), with ``V_inf = E_L + R I_k`` on the step ``(t_k, t_k+1]`` (zero-order hold of the drive)::

        tau dV/dt     = -(V - E_L) + R (I_k + I_syn)
        tau_s dI_syn/dt = -I_syn,   I_syn += weight at each input spike's grid point

    **Input spikes.** A spike at time ``t`` acts at the grid point ``t_j``, ``j = floor(t/dt + 1/2)`` (the
    nearest; :meth:`models.spec.SpikeInput.arrivals`, the rule of every adapter and of :func:`simulate`);
    spikes at one grid point add their weights. **Within a step**, from ``V0`` and ``I0`` at its free start
    ``s = 0``::

        V(s) = V_inf + (V0 - V_inf) e^(-s/tau) + R I0 g(s)
        g(s) = tau_s/(tau - tau_s) (e^(-s/tau) - e^(-s/tau_s))          (tau = tau_s: (s/tau) e^(-s/tau))
             = e^(-s/tau) (-expm1(-s d))/(tau d),  d = 1/tau_s - 1/tau  (no cancellation as tau_s -> tau)

    ``tau V'(s) = -(V(s) - V_inf) + R I0 e^(-s/tau_s)`` is a sum of two exponentials, so it has at most
    one zero in the step and ``V`` at most one extremum: a crossing exists exactly when ``V`` at the end of
    the step, or at an interior maximum, reaches ``V_th`` (a PSP can rise through the threshold and fall
    back within one step; such a crossing is found too). The root is then bracketed between the start
    (below threshold) and that point and found with :func:`scipy.optimize.brentq` to a few ulps of the
    step. Without synaptic current on the piece (``I0 = 0``) the crossing is the exact inversion
    ``tau ln((V_inf - V0)/(V_inf - V_th))`` of :func:`reference.closed_forms.piecewise_spike_times`.

    **After a crossing** at ``t_c``: ``V = V_reset``, held until ``t_c + t_ref`` (a timer from the crossing);
    ``I_syn`` keeps decaying and jumping; integration resumes for the free part of the step. Reset by
    subtraction lands on ``V_reset`` too: with an exact crossing the reset happens where ``V = V_th``, so
    ``V_th - (V_th - V_reset) = V_reset`` (every reset rule agrees; see :mod:`reference.conventions`).
    Noise (``sigma``) is not part of this solution (no trace-by-trace closed form exists).

    Returns
    -------
    v : ndarray (n_steps + 1, N) or None
        ``V(t_k)`` (V) after any reset; ``v[0] = V_init``.
    spike_neuron, spike_time : ndarray
        One entry per crossing (exact times), sorted by neuron then time.
    i_syn : ndarray (n_steps + 1,)
        Synaptic current (A) at ``t_k`` before the spikes arriving at ``t_k`` (shared by all neurons).
    """
    from scipy.optimize import brentq

    dt, steps, n = drive.dt, drive.n_steps, drive.n_neurons
    tau, R = spec.tau_m, spec.R
    tau_s = spec.tau_syn
    arriving = jumps(spec, dt, steps) if tau_s is not None else np.zeros(steps)
    d = 0.0 if tau_s is None else 1.0 / tau_s - 1.0 / tau

    def g(s: float) -> float:
        """``g(s)`` of the docstring (dimensionless): ``V - E_L`` per ``R I0`` of a synaptic current ``I0`` at 0."""
        if tau_s is None:
            return 0.0
        return math.exp(-s / tau) * (s / tau if d == 0.0 else -math.expm1(-s * d) / (tau * d))

    def voltage(s: float, v0: float, vi: float, i0: float) -> float:
        return vi + (v0 - vi) * math.exp(-s / tau) + (R * i0 * g(s) if i0 != 0.0 else 0.0)

    def slope(s: float, v0: float, vi: float, i0: float) -> float:
        """``tau V'(s)``."""
        return -(voltage(s, v0, vi, i0) - vi) + (R * i0 * math.exp(-s / tau_s) if i0 != 0.0 else 0.0)

    def crossing(v0: float, vi: float, i0: float, length: float) -> float | None:
        """Time (s) from the piece's start to the first ``V = V_th`` within ``(0, length]``, or None."""
        th = spec.V_th
        if i0 == 0.0:
            if vi <= th:
                return None
            s = tau * math.log((vi - v0) / (vi - th))
            return s if s <= length else None
        end = voltage(length, v0, vi, i0)
        if end >= th:
            hi = length
        else:
            a, b = slope(0.0, v0, vi, i0), slope(length, v0, vi, i0)
            if not (a > 0.0 > b):             # no interior maximum: monotone, or a minimum
                return None
            peak = brentq(slope, 0.0, length, args=(v0, vi, i0), xtol=4 * EPS_TIME * length, rtol=4 * EPS)
            if voltage(peak, v0, vi, i0) < th:
                return None
            hi = peak
        if v0 >= th:
            return 0.0
        return brentq(lambda s: voltage(s, v0, vi, i0) - th, 0.0, hi, xtol=4 * EPS_TIME * length,
                      rtol=4 * EPS)

    i_syn = np.zeros(steps + 1)
    current = 0.0
    for k in range(steps):
        current += arriving[k]
        i_syn[k + 1] = current * math.exp(-dt / tau_s) if tau_s is not None else 0.0
        current = i_syn[k + 1]
    trace = np.empty((steps + 1, n)) if record_v else None
    neurons, times = [], []
    for j in range(n):
        column = drive.waveform[:, j if drive.waveform.shape[1] > 1 else 0] * drive.scale[j]
        v, free_at = spec.V_init, 0.0
        if record_v:
            trace[0, j] = v
        for k in range(steps):
            t0, t1 = k * dt, (k + 1) * dt
            vi = spec.E_L + R * float(column[k])
            i_k = float(i_syn[k] + arriving[k])
            t = t0
            while True:
                if free_at > t:                    # refractory: V held at V_reset until free_at
                    if free_at >= t1:
                        v = spec.V_reset
                        break
                    t, v = free_at, spec.V_reset
                i0 = i_k * math.exp(-(t - t0) / tau_s) if tau_s is not None else 0.0
                s = crossing(v, vi, i0, t1 - t)
                if s is None:
                    v = voltage(t1 - t, v, vi, i0)
                    break
                t = t + s
                neurons.append(j)
                times.append(t)
                v, free_at = spec.V_reset, t + spec.t_ref
                if spec.t_ref == 0.0 and s == 0.0:    # no progress possible: V_reset >= V_th cannot happen
                    raise RuntimeError("exact_solution: a crossing without progress")
            if record_v:
                trace[k + 1, j] = v
    return (trace, np.asarray(neurons, dtype=np.int64), np.asarray(times, dtype=float), i_syn)


EPS = float(np.finfo(float).eps)
#: Absolute resolution of a crossing time inside a step, relative to the step's length.
EPS_TIME = EPS
