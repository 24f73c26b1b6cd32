"""Default tolerances: formulas of the numerics, written once, scaled by the run's own dt.

Each backend falls into one *timing class* (:func:`models.conventions.timing_class`), from the conventions
of its documented rule (the contract its adapter declares for the settings the comparison runs it with):

``grid``
    spikes locked to the grid, the refractory clock restarting on the grid (reference ``grid``, Brian2,
    NEST ``iaf_psc_delta``, snnTorch, Rockpool). With constant input every ISI is a whole number of
    steps, within one step of the exact ISI: Brian2 ``t_ref - dt + dt (floor(T/dt) + 1)``, the reference
    ``t_ref + dt (floor(T/dt) + 1)``, NEST ``t_ref + dt ceil(T/dt)`` (Hansel et al. 1998). Errors
    accumulate from spike to spike: spike ``j`` may drift by ``j`` ISI errors.
``phase``
    grid-stamped spikes of an exact event-driven rule (Nengo: exact integration, exact crossing inside
    the step, refractory timer from the crossing): every spike is reported at ``ceil(t/dt) dt`` of its
    exact time ``t``, within one step, with no drift.
``exact``
    exact integration and exact inversion of the crossing (reference ``exact``, NEST
    ``iaf_psc_delta_ps``): spike times equal the closed form up to rounding.

Forward Euler with step ``h`` reproduces the exact relaxation *at a warped time*: ``(1 - h/tau)^n =
exp(-lambda n h/tau)`` with ``lambda = -ln(1 - h/tau)/(h/tau) > 1``. So an Euler trajectory reaches any
level earlier by the factor ``1/lambda`` (``T_E = T/lambda``, first order: ``T h/(2 tau)``), and its
voltage error from a jump ``dV`` of the steady state is at most ``dV max_s |exp(-s) - exp(-lambda s)|
<= (lambda - 1) dV / e``. The bounds below drop the ``1/e`` as margin for the superposition of a few
stimulus pieces.

Rounding: an exact integrator adds a few ulps per step (one exp, a multiply, an add, each <= 1/2 ulp);
``ROUNDING_ULPS = 64`` ulps of the largest |V| per step also covers the simulators' unit conversions
(mV/ms/pA in NEST, normalised voltage in Nengo).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from models.spec import LIFSpec
from models.units import CURRENT, RATE, TIME, VOLTAGE, Kind
from reference import closed_forms as cf

EPS = np.finfo(float).eps
ROUNDING_ULPS = 64

def euler_warp(dt: float, tau: float) -> float:
    """``lambda = -ln(1 - dt/tau)/(dt/tau)``: Euler's time-scale factor (1 for exact integration, and 1
    for ``tau = inf``: without leak forward Euler is the exact update ``V + dt I/C``)."""
    x = dt / tau
    if x == 0.0:
        return 1.0
    return -math.log1p(-x) / x


def rounding(n_steps: int, v_scale: float) -> float:
    """Rounding bound (V) of an exact integrator after ``n_steps`` steps at voltages up to ``v_scale``."""
    return ROUNDING_ULPS * EPS * (n_steps + 1) * v_scale


def time_rounding(t_scale: float, n_steps: int) -> float:
    """Rounding bound (s) of event times up to ``t_scale`` computed over ``n_steps`` steps."""
    return ROUNDING_ULPS * EPS * (n_steps + 1) * max(t_scale, 1e-300)


def trace_bound(method: str, dt: float, spec: LIFSpec, n_steps: int, v_scale: float,
                total_variation: float) -> float:
    """Largest |V - V_closed| (V) before the first spike: rounding for exact integration; for Euler
    ``(lambda - 1) TV`` with TV the total variation of the steady state ``V_inf`` along the run
    (including the initial distance ``|V_init - V_inf(0)|``)."""
    if method == "euler":
        return (euler_warp(dt, spec.tau_m) - 1.0) * total_variation + rounding(n_steps, v_scale)
    return rounding(n_steps, v_scale)


def refractory_rounding(spec: LIFSpec, dt: float) -> float:
    """``|round(t_ref/dt) dt - t_ref|`` (s) for ``0 < t_ref < dt``, else 0: how far the reference's held
    dead time is from the refractory period (one of at least one step is a whole number of steps)."""
    if 0 < spec.t_ref < dt:
        return abs(round(spec.t_ref / dt) * dt - spec.t_ref)
    return 0.0


def isi_bound(kind: str, method: str, dt: float, spec: LIFSpec, t_free: float, n_isi: int = 1,
              duration: float = 1.0, refractory: bool = True) -> float:
    """Largest error (s) of one ISI (or of the mean ISI over ``n_isi`` intervals for ``phase``).

    grid: one step, plus Euler's earlier arrival ``T_free (1 - 1/lambda)``, plus the refractory rounding
    ``|round(t_ref/dt) dt - t_ref|``; phase: one step spread over the ``n_isi`` intervals between the first
    and last spike; exact: rounding.

    The grid rules' constant-input ISI is ``D + dt m`` with ``D`` the held dead time and ``dt m`` the first
    grid point at or after the free time ``T_free``: ``dt m - T_free`` lies in ``[0, dt]``. Brian2 holds
    ``D = t_ref - dt`` (``0`` for ``t_ref < dt``), NEST ``D = t_ref``, so their error ``D - t_ref + [0, dt]``
    stays within one step; the reference holds ``D = round(t_ref/dt) dt``, which differs from ``t_ref``
    only for a refractory period shorter than one step (``0 < t_ref < dt``, longer ones are whole numbers
    of steps), by up to half a step (:func:`refractory_rounding`; ``refractory=False`` leaves it out, for a
    first spike, which no refractory period precedes).
    """
    if kind == "exact":
        return time_rounding(duration, int(round(duration / dt)))
    if kind == "phase":
        return dt / max(n_isi, 1)
    euler = t_free * (1.0 - 1.0 / euler_warp(dt, spec.tau_m)) if method == "euler" else 0.0
    if kind == "linear":  # Euler + linear interpolation: O(dt) from Euler, O(dt^2) from interpolation
        return euler + dt * dt / spec.tau_m + time_rounding(duration, int(round(duration / dt)))
    return dt + euler + (refractory_rounding(spec, dt) if refractory else 0.0)


def first_spike_bound(kind: str, method: str, dt: float, spec: LIFSpec, latency: float,
                      duration: float) -> float:
    """Largest error (s) of the first spike time: as one ISI of free time ``latency``."""
    if kind == "phase":
        return dt
    return isi_bound(kind, method, dt, spec, latency, 1, duration, refractory=False)


def count_bound(kind: str, n_exact: int, per_isi: float, isi_min: float) -> int:
    """Largest |spike count - exact count| over a run: the drift accumulated over ``n_exact`` spikes,
    ``n_exact per_isi``, can move at most ``2 drift / isi_min`` spikes across the run's end, plus one
    for the spike nearest the end (none for exact spike times, one for grid stamps)."""
    if kind == "exact":
        return 0
    if kind == "phase" or n_exact == 0 or not math.isfinite(isi_min):
        return 1
    return 1 + int(math.floor(2 * n_exact * per_isi / isi_min))


def rate_bound(isi: np.ndarray, per_isi: np.ndarray) -> np.ndarray:
    """Largest |rate - 1/ISI| (Hz) when the measured mean ISI is within ``per_isi`` of ``isi``:
    ``|1/(ISI + e) - 1/ISI| <= e / (ISI (ISI - e))``."""
    return per_isi / (isi * np.maximum(isi - per_isi, 1e-300))


#: Most doublings of the bracket in :func:`effective_rheobase` (from one current scale to beyond 1e300 A).
MAX_DOUBLINGS = 1100


def effective_rheobase(spec: LIFSpec, duration: float, n_spikes: int = 2) -> float:
    """The smallest constant current (A) that fires ``n_spikes`` times within ``duration`` from V_init:
    ``latency(I) + (n - 1) ISI(I) = duration``. Tends to the rheobase for long sweeps.

    Any sign of the rheobase: the search runs on ``I = rheobase + x current_scale`` (``x > 0``, see
    :func:`reference.closed_forms.current_scale`), where the left side falls monotonically from infinity
    (``x -> 0``) to ``(n - 1) t_ref`` (``x -> inf``). So the bracket's upper end, doubled in ``x``, always
    ends the search when ``(n - 1) t_ref < duration``; otherwise no current fires ``n`` times within
    ``duration`` and the result is ``inf``.
    """
    if (n_spikes - 1) * spec.t_ref >= duration:
        return math.inf
    rh, scale = spec.rheobase, cf.current_scale(spec)

    def excess(x):
        current = rh + x * scale
        return float(cf.first_spike_latency(spec, current)) + (n_spikes - 1) * float(cf.isi(spec, current)) \
            - duration
    lo, hi = 1e-12, 1.0
    for _ in range(MAX_DOUBLINGS):
        if excess(hi) <= 0:
            break
        hi *= 2
    else:
        return math.inf
    if excess(lo) <= 0:
        return rh + lo * scale
    return rh + scale * brentq(excess, lo, hi, xtol=1e-12, rtol=1e-12)


@dataclass(frozen=True)
class Tolerance:
    """One row of the table: the metric, its unit, the formula and where it comes from."""

    metric: str
    kind: Kind | None
    unit: str
    formula: str
    derivation: str


TOLERANCES: dict[str, Tolerance] = {t.metric: t for t in (
    Tolerance("trace_max_abs_prespike", VOLTAGE, "V",
              "exact: 64 eps (n+1) max|V|; euler: (lambda - 1) TV(V_inf) + rounding",
              "exact integration of piecewise-constant input is the closed form up to rounding; Euler is "
              "the exact relaxation at warped time lambda t"),
    Tolerance("first_spike_latency_diff", TIME, "s",
              "grid/phase: dt (+ T_lat (1 - 1/lambda) for Euler); exact: rounding",
              "a grid-stamped spike lies within one step of its crossing; Euler arrives earlier by 1/lambda"),
    Tolerance("spike_count_diff", None, "1",
              "grid: 1 + floor(2 n e_isi / ISI_min); phase: 1; exact: 0",
              "drift of n ISI errors moves at most 2 drift/ISI_min spikes across the end of the run"),
    Tolerance("rate_abs_error", RATE, "Hz", "spike_count_diff tolerance / duration",
              "the mean rate is the count over the duration"),
    Tolerance("fi_worst_bound_ratio", None, "1",
              "1: every current within e/(ISI (ISI - e)) of the closed-form rate",
              "each mean ISI within e_isi of the exact ISI (grid: dt, + |round(t_ref/dt) dt - t_ref| for "
              "0 < t_ref < dt; phase: dt/(n-1); exact: rounding)"),
    Tolerance("rheobase_error", CURRENT, "A",
              "one current step + (I_eff - rheobase), I_eff firing twice within the sweep's duration",
              "a sweep resolves the rheobase to its current step; a finite run needs latency + ISI <= T"),
    Tolerance("fi_saturation_excess", RATE, "Hz", "0 (rate <= 1/t_ref)",
              "no rule lets a neuron fire faster than once per refractory period"),
    Tolerance("convergence_isi_bound_ratio", None, "1",
              "1: |mean ISI - ISI| <= e_isi(dt) at every dt (a run without an interval: infinite; judged "
              "when the closed form fires 3 times in the study)",
              "the per-ISI bound of the backend's timing class at each dt"),
    Tolerance("convergence_order_deviation", None, "1",
              "|p - 1| <= max(0.1, 3 stderr) for Euler trace errors",
              "forward Euler is first order; 0.1 is the band of the suite's own Euler test"),
    Tolerance("convergence_trace_bound_ratio", None, "1",
              "1: exact integrators stay within rounding at every dt",
              "exact integration has no truncation error for piecewise-constant input"),
)}


# ------------------------------------------------------------------------------------- honest bounds

def crossing_time_bounds(spec: LIFSpec, slopes: np.ndarray, times: np.ndarray, n_steps: int,
                         v_scale: float) -> np.ndarray:
    """Largest difference (s) between two exact solvers' spike times, spike by spike.

    Each solver's voltage carries at most ``delta = rounding(n_steps, v_scale)`` of rounding; the crossing
    time ``tau ln((V_inf - v0)/(V_inf - V_th))`` moves by at most ``tau delta/(V_inf - V_th)`` when ``v0``
    moves by ``delta``: ``delta/slope`` with ``slopes`` = ``dV/dt`` at the threshold on the segment of each
    spike, ``(V_inf - V_th)/tau`` (:func:`reference.closed_forms.threshold_slope`; ``I/C`` without leak,
    where the crossing ``C (V_th - v0)/I`` moves by ``C delta/I``). A spike starts the
    refractory clock of the next, so the shifts add up: spike ``j`` may move by the sum over spikes
    ``<= j``, for each of the two solvers, plus 64 ulps of its time.
    """
    delta = rounding(n_steps, v_scale)
    per_spike = delta / np.maximum(np.asarray(slopes, dtype=float), np.finfo(float).tiny)
    return 2 * np.cumsum(per_spike) + ROUNDING_ULPS * np.spacing(np.abs(np.asarray(times, dtype=float)))


def grid_isi_interval(spec: LIFSpec, t_free: np.ndarray, dt: float, hold: int, integrator: str
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``[lo, hi]`` (s) of the ISI of a grid-locked rule under constant current: ``hold`` whole steps held
    after the spike step, then ``m`` free steps until the update that crosses. The free steps reach the
    exact trajectory at ``lambda m dt`` (``lambda = 1`` for exact integration; forward Euler is the exact
    relaxation at warped time, :func:`euler_warp`), so the crossing update is the first ``m`` with
    ``lambda m dt > T_free`` (``>``) or ``>=`` it: ``m dt`` lies in ``[T_free/lambda, T_free/lambda + dt]``
    whatever the threshold test, and ``ISI = hold dt + m dt`` in ``[hold dt + T_free/lambda, + dt]``.
    Every constant-current ISI after the first spike is the same (the state after each reset is), so the
    measured mean ISI lies in this interval; its sign is known (a ``steps`` rule with ``t_ref`` a whole
    number of steps never fires before the exact ISI, Brian2's ``timestep`` rule never after it)."""
    warp = euler_warp(dt, spec.tau_m) if integrator == "euler" else 1.0
    lo = hold * dt + np.asarray(t_free, dtype=float) / warp
    return lo, lo + dt


def resolvable(isi_exact, per_isi) -> np.ndarray:
    """Whether an exact interval can be resolved within its timing class's error ``per_isi``: the rate
    bound ``e/(ISI (ISI - e))`` is below the rate itself only for ``ISI > 2 e``. A shorter interval (e.g.
    one below a step, where a grid rule fires at most once per step) cannot be checked at this dt: a
    verdict there is a failure ("beyond resolution"), never a pass."""
    return np.asarray(isi_exact, dtype=float) > 2 * np.asarray(per_isi, dtype=float)


TOLERANCES.update({t.metric: t for t in (
    Tolerance("contract_spike_steps", None, "1", "0 spikes in another step than the backend's twin",
              "grid-locked spikes carry no rounding: a simulator that follows its written rule reproduces its "
              "twin's steps exactly"),
    Tolerance("contract_voltage_max_abs", VOLTAGE, "V", "1e-12 (V_th - V_reset)",
              "a few ulps per step in the simulator's own frame, contracted by exp(-dt/tau): ~4e-15 V"),
    Tolerance("closed_form_spike_count_diff", None, "1", "0",
              "the closed form and the analytic segment-by-segment solution solve the same equation exactly"),
    Tolerance("closed_form_spike_time_bound_ratio", None, "1",
              "1: |t - t_analytic| <= 2 sum_j tau delta/(V_inf - V_th) + 64 ulp(t)",
              "rounding delta of the voltage moves an exact crossing by tau delta/(V_inf - V_th), and every "
              "spike restarts the refractory clock"),
    Tolerance("closed_form_prespike_max_abs", VOLTAGE, "V",
              "64 eps (n+1) max|V| + psp_tolerance('exact') at the total input weight",
              "a synaptic cell's exact solution before its first spike is the plain held-input solution plus "
              "one PSP per grid arrival (superposition), up to rounding and the propagator's cancellation"),
    Tolerance("closed_form_fi_isi_max_abs", TIME, "s", "64 eps (n+1) duration",
              "the f-I rate 1/(t_ref + T_free) and the analytic solution's intervals are the same number up to "
              "the rounding of the times"),
    Tolerance("fi_isi_grid_interval_ratio", None, "1",
              "1: mean ISI in [hold dt + T_free/lambda, hold dt + T_free/lambda + dt]",
              "a grid rule's constant-current ISI is hold steps plus the first free step that crosses"),
    Tolerance("large_current_limit_diff", None, "1",
              "b = ISI_IF e_isi/(ISI (ISI - e_isi)) at the largest current with |rho| > b + e_isi/(ISI_IF - e_isi)",
              "rho = f_LIF/f_IF - 1 against the non-leaky limit; a mean ISI within e_isi of the exact one puts "
              "the measured rho within b of the closed form's (comparisons.limits)"),
    Tolerance("fi_currents_beyond_resolution", None, "1", "0 currents with ISI <= 2 e_isi",
              "the rate bound e/(ISI (ISI - e)) exceeds the rate itself: such a current cannot be validated "
              "at this dt"),
    Tolerance("isi_beyond_resolution", None, "1", "0 exact intervals <= 2 e_isi",
              "a spike count cannot be bounded when the exact interval is shorter than twice the per-interval "
              "error (e.g. below one step for a grid rule)"),
)})
