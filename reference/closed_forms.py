"""Closed forms of the LIF with constant (or piecewise-constant) input, and exact grid predictions.

With ``V_inf = E_L + R I`` (notation of the semantics notes; Gerstner et al., *Neuronal Dynamics*,
ch. 1.3; Tuckwell 1988):

- subthreshold response from ``V0``: ``V(t) = V_inf + (V0 - V_inf) exp(-t/tau_m)``
- free time from reset to threshold: ``T_free = tau_m ln((V_inf - V_reset)/(V_inf - V_th))`` when
  ``V_inf > V_th``, else infinite
- first-spike latency from ``V0``: ``tau_m ln((V_inf - V0)/(V_inf - V_th))``
- ISI ``= t_ref + T_free``, rate ``= 1/ISI`` (0 at or below rheobase), saturating at ``1/t_ref``
- rheobase ``= (V_th - E_L)/R``; negative for a self-oscillating cell (``E_L > V_th``: it fires with no
  input, and a negative current down to the rheobase still leaves ``V_inf > V_th``). Every formula above
  holds for any sign of ``I`` and of the rheobase: only ``V_inf > V_th`` matters, and ``V0 < V_th``
  (``V_init`` and ``V_reset`` are below threshold by validation) keeps every logarithm's argument above 1

Grid predictions for constant input, spikes locked to the grid (``n_ref = round(t_ref/dt)``):

- reference ``"grid"`` (strict ``>``, stamp at the step's end): ``ISI = n_ref dt + dt (floor(T_free/dt) + 1)``
- ``>=`` threshold (NEST ``iaf_psc_delta``): ``ISI = n_ref dt + dt ceil(T_free/dt)``
- Brian2 exact (stamp at the step's start; free again when ``timestep(t - lastspike) >=
  timestep(t_ref)`` with ``n_b = floor(t_ref/dt + 1e-3)``, so the frozen dead time is
  ``dt (max(n_b, 1) - 1)``, i.e. ``t_ref - dt`` for ``t_ref >= dt`` and none for ``t_ref < dt``):
  ``ISI = dt (max(n_b, 1) - 1) + dt (floor(T_free/dt) + 1)``

Without leak (``spec.leak`` False: ``C dV/dt = I``, the integrate-and-fire of Lapicque 1907 and of the
seed tutorial; ``tau_m = R = inf``), with ``dV/dt = I/C`` constant on a segment:

- subthreshold response ``V(t) = V0 + I t / C`` (no steady state; :func:`v_inf` refuses)
- time to threshold from ``V0``: ``C (V_th - V0)/I`` for ``I > 0``, else infinite
- ISI ``= t_ref + C (V_th - V_reset)/I``; rate ``f(I) = I/(C (V_th - V_reset) + t_ref I)`` -- the seed's
  ``I/(C_m V_th + t_ref I)`` with its reset 0, generalised to ``V_reset != 0`` -- saturating at ``1/t_ref``
- rheobase 0: any positive current fires
- the exact and the forward-Euler update coincide (``V <- V + d I/C`` both), so a grid rule's ISI is the
  same for both integrators (``lambda = 1``, :func:`comparisons.tolerances.euler_warp` of ``tau = inf``)
- the LIF tends to it at large currents (:func:`large_current_limit`)

Latency, ISI, rate, spike times, :func:`piecewise_spike_times` and :func:`grid_isi` go through
:func:`time_to_threshold` and :func:`subthreshold`, which branch on ``spec.leak``: they hold for both.
"""

from __future__ import annotations

import math

import numpy as np

from models.propagators import whole_timesteps
from models.spec import LIFSpec


def v_inf(spec: LIFSpec, current):
    """Steady-state potential (V) for a constant current (A); a membrane without leak has none."""
    if not spec.leak:
        raise ValueError(f"{spec.name}: a membrane without leak has no steady state (R I is undefined)")
    return spec.E_L + spec.R * np.asarray(current, dtype=float)


#: Factor of the non-leaky cell's current scale (see :func:`current_scale`): irrational, so that no
#: default current's free time is a whole number of round time steps.
NONLEAKY_SCALE = math.sqrt(2.0)

#: Time scale (s) of a non-leaky cell without refractory period (no time constant at all): the free time
#: of the default "current scale", i.e. a rate of 100 Hz. Only used to place default currents.
NONLEAKY_FREE_TIME = 10e-3


def time_scale(spec: LIFSpec) -> float:
    """The cell's own time (s): ``tau_m``; without leak ``t_ref``, or :data:`NONLEAKY_FREE_TIME` for
    ``t_ref = 0`` (used for van Rossum's kernel and the default currents)."""
    if spec.leak:
        return spec.tau_m
    return spec.t_ref if spec.t_ref > 0 else NONLEAKY_FREE_TIME


def threshold_slope(spec: LIFSpec, current):
    """``dV/dt`` (V/s) at the threshold under a constant current: ``(V_inf - V_th)/tau_m``, ``I/C`` without
    leak. A rounding ``delta`` of ``V`` moves a crossing by ``delta/slope``."""
    current = np.asarray(current, dtype=float)
    if not spec.leak:
        return current / spec.C
    return (spec.E_L + spec.R * current - spec.V_th) / spec.tau_m


def rheobase(spec: LIFSpec) -> float:
    """Smallest constant current (A) that reaches threshold in infinite time."""
    return spec.rheobase


def current_scale(spec: LIFSpec) -> float:
    """A current (A) on the cell's own scale, positive for every cell: the rheobase when it is positive,
    else ``(V_th - V_reset)/R`` (the current that moves the steady state by the reset-to-threshold
    distance; the rheobase itself is 0 or negative, no scale, for a cell with ``E_L >= V_th``).

    Without leak (rheobase 0, no resistance): ``sqrt(2) C (V_th - V_reset)/t_ref``, about the current
    whose free time equals the refractory period (rate near ``1/(2 t_ref)``, half the saturation); for
    ``t_ref = 0`` ``sqrt(2) C (V_th - V_reset)/NONLEAKY_FREE_TIME``. The factor :data:`NONLEAKY_SCALE`
    is irrational on purpose: the free times of the default currents (``t_ref/(f - 1)/sqrt(2)``) are then
    never a whole number of steps of a round dt, where a grid rule's spike would be decided by rounding
    (``m`` additions of ``dt I/C`` landing within ulps of ``V_th``)."""
    if not spec.leak:
        return NONLEAKY_SCALE * spec.C * (spec.V_th - spec.V_reset) / time_scale(spec)
    rh = spec.rheobase
    return rh if rh > 0 else (spec.V_th - spec.V_reset) / spec.R


def relative_current(spec: LIFSpec, factor):
    """The current (A) "``factor`` x rheobase": exactly ``factor * rheobase`` for a positive rheobase and,
    for any cell, ``rheobase + (factor - 1) current_scale``: above the rheobase for ``factor > 1``, below it
    for ``factor < 1``, whatever the sign of the rheobase (a self-oscillating cell fires at 0 A and below).
    Without leak ``max(factor - 1, 0) current_scale``: the rheobase 0 itself for ``factor <= 1`` (a
    non-leaky membrane under a negative current falls without bound; at 0 A it keeps its value)."""
    rh = spec.rheobase
    factor = np.asarray(factor, dtype=float) if np.ndim(factor) else float(factor)
    if not spec.leak:   # rheobase 0; a negative current would drive V down without bound: 0 instead
        return np.maximum(factor - 1.0, 0.0) * current_scale(spec)
    if rh > 0:
        return factor * rh
    return rh + (factor - 1.0) * current_scale(spec)


def subthreshold(spec: LIFSpec, t, current, v0=None):
    """``V(t)`` (V) under a constant current from ``v0`` (default V_init), ignoring the threshold."""
    v0 = spec.V_init if v0 is None else v0
    if not spec.leak:
        return v0 + np.asarray(current, dtype=float) * np.asarray(t, dtype=float) / spec.C
    vi = v_inf(spec, current)
    return vi + (v0 - vi) * np.exp(-np.asarray(t, dtype=float) / spec.tau_m)


def time_to_threshold(spec: LIFSpec, current, v0):
    """Time (s) from ``v0`` to threshold under a constant current; ``inf`` when never reached.
    Without leak ``C (V_th - v0)/I`` for ``I > 0``."""
    if not spec.leak:
        current = np.asarray(current, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = spec.C * (spec.V_th - v0) / current
        return np.where(current > 0, t, np.inf)
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


def piecewise_spike_times(spec: LIFSpec, samples, dt: float) -> np.ndarray:
    """Exact spike times (s) under the sampled current ``samples`` (A), sample ``k`` held on ``(t_k, t_k+1]``,
    from ``V_init``: the analytic solution, segment by segment, written from the formulas above alone.

    On a segment of constant current the membrane follows :func:`subthreshold`; it reaches the threshold
    after :func:`time_to_threshold`; a spike resets it to ``V_reset`` and holds it there for ``t_ref``,
    after which it is free again -- within the same segment if time remains. Runs of equal samples form one
    segment. This is the ground truth the harness checks the closed-form traces against
    (:func:`comparisons.harness.closed_form` builds them with the reference engine, a different code path):
    for one constant current it gives ``latency + j ISI`` exactly as :func:`spike_times`.
    """
    current = np.asarray(samples, dtype=float)
    n = current.size
    edges = np.concatenate(([0], np.flatnonzero(np.diff(current) != 0) + 1, [n])).astype(np.int64)
    if not spec.leak:
        return _piecewise_nonleaky(spec, current, edges.tolist(), dt)
    v_inf_of = spec.E_L + spec.R * current[edges[:-1]]
    args = (float(dt), spec.tau_m, spec.V_th, spec.V_reset, spec.t_ref, spec.V_init)
    if _piecewise_compiled is not None:
        return _piecewise_compiled(edges, v_inf_of, *args)
    return _piecewise_leaky(edges, v_inf_of, *args)


def _piecewise_leaky(edges, v_inf_of, dt, tau, v_th, v_reset, t_ref, v0):
    """The loop of :func:`piecewise_spike_times` for a leaky cell (``edges``: int64 array of the segments'
    first samples and the end, ``v_inf_of``: each segment's ``V_inf``), the spikes in an array that doubles
    when full: the definition in plain Python scalars, and compiled by numba as :data:`_piecewise_compiled`
    (bit for bit the same numbers: ``math.exp``/``math.log`` are the C library's in both, and numba contracts
    no multiply-add; ``tests/test_reference.py`` compares the two)."""
    v, free_at = v0, 0.0
    spikes = np.empty(64)
    count = 0
    for j in range(edges.size - 1):
        a, b, vi = edges[j], edges[j + 1], v_inf_of[j]
        t, end = a * dt, b * dt
        while True:                               # the formulas of the module docstring, scalar by scalar
            if free_at > t:                       # refractory: V held at V_reset until free_at
                if free_at >= end:
                    break
                t, v = free_at, v_reset
            crossing = t + tau * math.log((vi - v) / (vi - v_th)) if vi > v_th else math.inf
            if crossing <= end:                   # a spike; the membrane restarts from V_reset after t_ref
                if count == spikes.size:
                    grown = np.empty(2 * spikes.size)
                    grown[:count] = spikes
                    spikes = grown
                spikes[count] = crossing
                count += 1
                t, v, free_at = crossing, v_reset, crossing + t_ref
                continue
            v = vi + (v - vi) * math.exp(-(end - t) / tau)
            break
    return spikes[:count].copy()


try:
    import numba
    _piecewise_compiled = numba.njit(cache=True, error_model="numpy", nogil=True)(_piecewise_leaky)
except ImportError:  # pragma: no cover - numba is in requirements.txt
    _piecewise_compiled = None


def _piecewise_nonleaky(spec: LIFSpec, current: np.ndarray, edges: list, dt: float) -> np.ndarray:
    """:func:`piecewise_spike_times` without leak: on a segment of current ``I`` the membrane rises by
    ``I/C`` per second and reaches ``V_th`` after ``C (V_th - V)/I`` when ``I > 0``."""
    c, v_th, v_reset, t_ref = spec.C, spec.V_th, spec.V_reset, spec.t_ref
    v, free_at, spikes = spec.V_init, 0.0, []
    for a, b, i in zip(edges[:-1], edges[1:], current[edges[:-1]].tolist()):
        t, end = a * dt, b * dt
        while True:
            if free_at > t:
                if free_at >= end:
                    break
                t, v = free_at, v_reset
            crossing = t + c * (v_th - v) / i if i > 0 else math.inf
            if crossing <= end:
                spikes.append(crossing)
                t, v, free_at = crossing, v_reset, crossing + t_ref
                continue
            v = v + i * (end - t) / c
            break
    return np.asarray(spikes, dtype=float)


def large_current_limit(spec: LIFSpec, current):
    """The LIF's rate against its non-leaky limit at the same ``C``, ``V_th``, ``V_reset``, ``t_ref``:
    ``(rate_LIF(I) - rate_IF(I))/rate_IF(I)``, ``I`` above the rheobase.

    With ``x = R I/(V_th - V_reset)`` and ``a = (V_th - E_L)/(V_th - V_reset)``:
    ``T_LIF = tau ln((x + 1 - a)/(x - a))`` and ``T_IF = C (V_th - V_reset)/I = tau/x``; ``ln(1 + u) < u``
    with ``u = 1/(x - a)`` gives ``T_LIF < tau/(x - a)``, and ``T_LIF = tau/x + tau (a - 1/2)/x^2 +
    O(x^-3)``, so ``rate_LIF/rate_IF - 1 = (T_IF - T_LIF)/(t_ref + T_LIF)`` ``-> -(a - 1/2) tau/(x (x t_ref
    + tau))`` -- falling as ``1/I^2`` with a refractory period, ``1/I`` without. Returns
    ``(relative difference, its leading-order closed form)``."""
    if not spec.leak:
        raise ValueError("large_current_limit: the cell has no leak (it is its own limit)")
    current = np.asarray(current, dtype=float)
    gap = spec.V_th - spec.V_reset
    nonleaky = LIFSpec(name=f"{spec.name}_noleak", tau_m=math.inf, E_L=None, V_th=spec.V_th,
                       V_reset=spec.V_reset, R=math.inf, t_ref=spec.t_ref, capacitance=spec.C,
                       V_init=spec.V_reset)
    r_lif, r_if = rate(spec, current), rate(nonleaky, current)
    x = spec.R * current / gap
    a = (spec.V_th - spec.E_L) / gap
    leading = -(a - 0.5) * spec.tau_m / (x * (x * spec.t_ref + spec.tau_m))
    return r_lif / r_if - 1.0, leading


#: The grid rules :func:`grid_isi` knows (an unknown name is an error, never the default rule).
GRID_RULES = ("reference", "ge", "timestep")


def grid_isi(spec: LIFSpec, current, dt: float, rule: str = "reference"):
    """Exact ISI (s) of grid-locked simulations with exact integration and constant input.

    ``rule``: ``"reference"`` (strict ``>``, whole refractory steps ``round(t_ref/dt)``), ``"ge"`` (``>=``,
    refractory ``round(t_ref/dt)`` steps) or ``"timestep"`` (spike stamped at the step's start, free again
    when the whole steps since it reach :func:`~models.propagators.whole_timesteps` of ``t_ref``).
    """
    if rule not in GRID_RULES:
        raise ValueError(f"grid_isi: rule must be one of {', '.join(GRID_RULES)}, not {rule!r}")
    t_free = np.asarray(free_time(spec, current), dtype=float)
    n_ref = round(spec.t_ref / dt)
    with np.errstate(invalid="ignore"):
        if rule == "ge":
            return n_ref * dt + dt * np.ceil(t_free / dt)
        steps = np.floor(t_free / dt) + 1
        if rule == "timestep":
            n_b = whole_timesteps(spec.t_ref, dt)
            return dt * (max(n_b, 1) - 1) + dt * steps
        return n_ref * dt + dt * steps


# ------------------------------------------------------------------------------------------------------
# Model variants: exponential synaptic current, white-noise current (appended; the plain LIF above is
# unchanged). Notation: tau = tau_m, tau_s = tau_syn, h = dt, a = exp(-h/tau).
#
# - PSP to one input spike of jump w arriving at t_a (s = t - t_a), from rest, nothing else driving:
#   V - E_L = R w tau_s/(tau - tau_s) (exp(-s/tau) - exp(-s/tau_s)); tau_s = tau: R w (s/tau) exp(-s/tau).
#   Exact integration with the spike arriving on a grid point reproduces it at every grid point.
# - Forward Euler of both equations (I <- (1 - h/tau_s) I, y <- y + h/tau (-y + R I)) has the closed
#   form y_k = R w tau_s/(tau - tau_s) (b^k - b_s^k), b = 1 - h/tau, b_s = 1 - h/tau_s
#   (equal: R w (h/tau) k b^(k-1)); its distance from the PSP is Euler's exact truncation error.
# - White noise tau dV = (-(V - E_L) + R I) dt + R sigma dW: free-membrane variance R^2 sigma^2/(2 tau).
#   Sampled on a grid every discretisation is an AR(1) chain y_k+1 = c y_k + q xi_k:
#     exact (zero-order hold of the sampled current sigma xi/sqrt(h)): c = a, q = (1 - a) R sigma/sqrt(h),
#       variance q^2/(1 - c^2) = R^2 sigma^2 (1 - a)/(h (1 + a))
#                              = R^2 sigma^2/(2 tau) * (2 tau/h) tanh(h/(2 tau))     (slightly smaller)
#     Euler-Maruyama: c = 1 - h/tau, q = R sigma sqrt(h)/tau,
#       variance = R^2 sigma^2/(2 tau) / (1 - h/(2 tau))                              (larger)
#   From a deterministic start the variance after k steps is the stationary one times (1 - c^(2k)).
# - Firing rate: Siegert's formula (Brunel 2000, Eq. 21; Brunel & Hakim 1999) with mu = E_L + R I and
#   sigma_B = R sigma/sqrt(tau) (Brunel's sigma: tau dV/dt = mu - V + sigma_B sqrt(tau) xi, free sd
#   sigma_B/sqrt(2)):
#     1/nu = t_ref + tau sqrt(pi) int_{(V_reset - mu)/sigma_B}^{(V_th - mu)/sigma_B} exp(u^2) (1 + erf u) du
#   with exp(u^2)(1 + erf u) = erfcx(-u) (no overflow). A threshold tested only on the grid misses the
#   excursions between samples: the rate of the sampled chain is that of a continuous process with the
#   threshold raised by BETA q (Broadie, Glasserman & Kou 1997; Siegmund's corrected diffusion), q the
#   chain's per-step noise, BETA = -zeta(1/2)/sqrt(2 pi) = 0.5826. For Euler-Maruyama q = R sigma
#   sqrt(h)/tau = sigma_B sqrt(h/tau) -- i.e. 0.5826 sigma_B sqrt(h/tau) = 0.824 sd_free sqrt(h/tau), NOT
#   0.5826 sd_free sqrt(h/tau). The chain itself is the exact sampling of an Ornstein-Uhlenbeck process
#   with time constant tau_c = -h/ln(c) (tau for the exact chain, tau/lambda for Euler) and the chain's
#   variance, which :func:`grid_rate` feeds to Siegert's formula.
# ------------------------------------------------------------------------------------------------------

#: Broadie-Glasserman-Kou constant -zeta(1/2)/sqrt(2 pi).
BETA = 0.5825971579390107


def psp(spec: LIFSpec, weight: float, s):
    """``V - E_L`` (V) at ``s`` (s, array) after one synaptic jump ``weight`` (A) at ``s = 0``; 0 for s < 0.

    ``R w tau_s/(tau - tau_s) (exp(-s/tau) - exp(-s/tau_s))`` written as
    ``R w exp(-s/tau) (-expm1(-s d))/(tau d)``, ``d = (tau - tau_s)/(tau tau_s)`` (no cancellation as
    ``tau_s -> tau``), and ``R w (s/tau) exp(-s/tau)`` for ``tau_s = tau``.
    """
    tau, tau_s = spec.tau_m, spec.tau_syn
    s = np.asarray(s, dtype=float)
    pos = np.maximum(s, 0.0)
    d = (tau - tau_s) / (tau * tau_s)
    if d == 0.0:
        out = spec.R * weight * (pos / tau) * np.exp(-pos / tau)
    else:
        out = spec.R * weight * np.exp(-pos / tau) * (-np.expm1(-pos * d)) / (tau * d)
    return np.where(s > 0, out, 0.0)


def psp_peak(spec: LIFSpec, weight: float) -> tuple[float, float]:
    """Time (s) and value (V, of ``V - E_L``) of the PSP's extremum: ``s* = ln(tau/tau_s) tau tau_s/(tau -
    tau_s)`` (``tau`` when equal)."""
    tau, tau_s = spec.tau_m, spec.tau_syn
    s_star = tau if tau == tau_s else np.log(tau / tau_s) * tau * tau_s / (tau - tau_s)
    return float(s_star), float(psp(spec, weight, s_star))


def psp_euler(spec: LIFSpec, weight: float, dt: float, k):
    """Forward Euler's ``V_k - E_L`` (V) ``k`` steps after the jump (closed form of the recurrence above)."""
    k = np.asarray(k, dtype=float)
    b, b_s = 1.0 - dt / spec.tau_m, 1.0 - dt / spec.tau_syn
    if b == b_s:
        out = spec.R * weight * (dt / spec.tau_m) * k * b ** np.maximum(k - 1, 0)
    else:
        out = spec.R * weight * spec.tau_syn / (spec.tau_m - spec.tau_syn) * (b ** k - b_s ** k)
    return np.where(k > 0, out, 0.0)


def free_variance(spec: LIFSpec) -> float:
    """Stationary variance (V^2) of the free membrane under white noise: ``R^2 sigma^2 / (2 tau_m)``."""
    return spec.R ** 2 * spec.sigma ** 2 / (2.0 * spec.tau_m)


def noise_chain(spec: LIFSpec, dt: float, noise: str) -> tuple[float, float]:
    """``(c, q)`` of the sampled free membrane ``y_k+1 = c y_k + q xi_k`` for ``noise`` = ``"zoh"``
    (exact integration of the held sample) or ``"euler-maruyama"``."""
    if noise == "zoh":
        a = np.exp(-dt / spec.tau_m)
        return float(a), float(-np.expm1(-dt / spec.tau_m) * spec.R * spec.sigma / np.sqrt(dt))
    if noise == "euler-maruyama":
        return 1.0 - dt / spec.tau_m, spec.R * spec.sigma * np.sqrt(dt) / spec.tau_m
    raise ValueError(f"noise_chain: unknown discretisation {noise!r}")


def free_variance_zoh(spec: LIFSpec, dt: float) -> float:
    """Stationary variance (V^2) with the sampled current held and integrated exactly:
    ``R^2 sigma^2/(2 tau) (2 tau/h) tanh(h/(2 tau))``."""
    x = dt / (2.0 * spec.tau_m)
    return free_variance(spec) * np.tanh(x) / x


def free_variance_euler(spec: LIFSpec, dt: float) -> float:
    """Stationary variance (V^2) under Euler-Maruyama: ``R^2 sigma^2/(2 tau) / (1 - h/(2 tau))``."""
    return free_variance(spec) / (1.0 - dt / (2.0 * spec.tau_m))


def free_variance_after(spec: LIFSpec, dt: float, noise: str, k):
    """Variance (V^2) ``k`` steps after a deterministic start: stationary ``* (1 - c^(2k))``."""
    c, q = noise_chain(spec, dt, noise)
    return q * q / (1.0 - c * c) * (1.0 - c ** (2 * np.asarray(k, dtype=float)))


def siegert_rate(spec: LIFSpec, current: float, sigma_b: float | None = None, tau: float | None = None,
                 threshold: float | None = None, t_ref: float | None = None) -> float:
    """Stationary rate (Hz) of the LIF with white-noise current (Brunel 2000, Eq. 21).

    Parameters
    ----------
    spec : LIFSpec
        The cell (``sigma > 0``); the defaults below come from it.
    current : float
        Mean current (A).
    sigma_b : float, optional
        Brunel's sigma (V), default ``R sigma / sqrt(tau_m)`` (free sd ``sigma_b/sqrt(2)``).
    tau : float, optional
        Membrane time constant (s), default ``tau_m``.
    threshold : float, optional
        Threshold (V), default ``V_th``.
    t_ref : float, optional
        Dead time after a spike (s), default the specification's.
    """
    from scipy.integrate import quad
    from scipy.special import erfcx

    tau = spec.tau_m if tau is None else tau
    sigma_b = spec.R * spec.sigma / np.sqrt(spec.tau_m) if sigma_b is None else sigma_b
    threshold = spec.V_th if threshold is None else threshold
    t_ref = spec.t_ref if t_ref is None else t_ref
    mu = spec.E_L + spec.R * current
    lo, hi = (spec.V_reset - mu) / sigma_b, (threshold - mu) / sigma_b
    integral, _ = quad(lambda u: erfcx(-u), lo, hi, limit=200)
    return float(1.0 / (t_ref + tau * np.sqrt(np.pi) * integral))


def grid_rate(spec: LIFSpec, current: float, dt: float, noise: str, t_ref: float | None = None) -> float:
    """Rate (Hz) of the sampled chain with the threshold tested on the grid (see the notes above):
    Siegert's formula for the Ornstein-Uhlenbeck process the chain samples exactly (time constant
    ``-dt/ln c``, the chain's stationary variance), threshold raised by ``BETA q``."""
    c, q = noise_chain(spec, dt, noise)
    tau_c = -dt / np.log(c)
    variance = q * q / (1.0 - c * c)
    return siegert_rate(spec, current, sigma_b=float(np.sqrt(2.0 * variance)), tau=float(tau_c),
                        threshold=spec.V_th + BETA * q, t_ref=t_ref)


def held_psp_ratio(spec: LIFSpec, dt: float) -> float:
    """PSP at grid points when the membrane integrates the step average of the synaptic current held over
    each step (Nengo's ZOH Lowpass), over the exact PSP: ``P21'/P21`` with
    ``P21' = R (1 - a_m)(1 - a_s) tau_s/dt`` and the exact ``P21 = psp(1 A, dt)``;
    ``= 1 + dt^2/(12 tau tau_s) + O(dt^3)``. Both recurrences decay by ``a_s`` per step after the first, so
    the ratio is the same at every grid point."""
    held = spec.R * np.expm1(-dt / spec.tau_m) * np.expm1(-dt / spec.tau_syn) * spec.tau_syn / dt
    return float(held / psp(spec, 1.0, dt))


def held_subthreshold(spec: LIFSpec, samples, dt: float) -> np.ndarray:
    """``V(t_k)`` (V), ``k = 0 .. n``, under the sampled current ``samples`` (A, sample ``k`` held on
    ``(t_k, t_k+1]``) from ``V_init``, ignoring the threshold: :func:`subthreshold` piece by piece,
    ``V(t_k+1) = V_inf,k + (V(t_k) - V_inf,k) exp(-dt/tau_m)``. With :func:`psp` added per input spike it
    is the analytic subthreshold solution of a synaptic cell (superposition: both equations are linear)."""
    current = np.asarray(samples, dtype=float)
    a = math.exp(-dt / spec.tau_m)
    out = np.empty(current.size + 1)
    v = out[0] = spec.V_init
    for k, vi in enumerate((spec.E_L + spec.R * current).tolist()):
        v = vi + (v - vi) * a
        out[k + 1] = v
    return out
