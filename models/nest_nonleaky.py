"""NEST's ``iaf_psc_delta`` as the integrate-and-fire without leak (``C dV/dt = I``), with its rounding bound.

NEST 3.10 has no non-leaky model; ``iaf_psc_delta`` always leaks. Read from its source
(``models/iaf_psc_delta.cpp`` at tag v3.10, ``pre_run_hook`` and ``update``), in NEST's units (mV, ms,
pF, pA), ``y = V - E_L``, ``h = Time::get_resolution().get_ms()`` (``MS_PER_TIC * tics``)::

    P33 = std::exp( -h / tau_m );
    P30 = 1 / C_m * ( 1 - P33 ) * tau_m;                      // evaluated left to right; no expm1
    y   = P30 * ( y0 + I_e ) + P33 * y + spikes;              // when not refractory (spikes: 0 here)
    if ( y >= V_th - E_L ) { r = ceil(t_ref/h) steps; y = V_reset - E_L; }

``1 - P33`` is a cancellation, not ``expm1``: for ``h/tau_m < 2^-54`` ``P33`` rounds to 1 and ``P30`` is
exactly 0 -- a huge ``tau_m`` does not integrate at all. There is one right choice, ``tau_m = 2^53 h``
(:func:`tau_m`; NEST accepts any positive ``tau_m``). With ``u = 2^-53``:

- ``h/tau_m = 2^-53`` exactly (a power of two). ``exp(-2^-53) = 1 - 2^-53 + 2^-107 - ...`` lies within
  ``2^-106`` of the double ``1 - 2^-53`` and ``2^-53`` from 1, so the C library's ``exp`` (error below one
  ulp) returns ``P33 = 1 - 2^-53``; then ``1 - P33 = 2^-53`` exactly (Sterbenz), ``fl(1/C_m) 2^-53`` is
  exact and ``* tau_m`` gives ``P30 = fl(fl(1/C_m) h) = (h/C_m)(1 + delta)``, ``|delta| <= 2u``: the
  non-leaky increment to two roundings. :func:`propagators` repeats this arithmetic with the same C
  library (Python's ``math.exp``) and the adapter refuses to run if it gives anything else.
- The leak that remains is a rounding: for ``y`` in ``[2^e, 2^(e+1))`` the exact ``P33 y = y - y 2^-53``
  lies strictly between ``y - ulp(y)`` and ``y - ulp(y)/2``, so ``fl(P33 y) = y - ulp(y)`` (``y - ulp/2``
  at ``y = 2^e``): NEST's membrane loses at most one ulp of ``y`` per step, ``|fl(P33 y) - y| <= 2u |y|``,
  and ``y = 0`` stays 0. With ``E_L = V_reset`` (:func:`parameters`) the reset is ``y = 0`` exactly.
- Each step also rounds the input (``I`` to pA, a generator's weight times its amplitude, ``P30 I``:
  ``|increment error| <= 5u |dV|`` with ``dV = h I/C``) and the sum (``u |y|``); the twin
  (:mod:`reference.engine`, ``V <- V + dt (I/C)`` in volts) rounds ``I/C``, ``dt (I/C)`` and its sum
  (``2u |dV| + u |V|``).

**Bound** (:func:`voltage_bound`). Let every state before an update lie in ``[V_lo, V_th)`` with
``V_lo = min(V_reset, V_init) - D``, ``D = dt sum_k max(-I_k, 0)/C`` the drive's whole downward excursion,
``Y = max(V_th - V_reset, V_reset - V_lo)`` (the largest ``|y|``), ``M = max(|V_th|, |V_lo|)`` (the largest
``|V|``), and ``S = (V_th - V_lo) + 2 D`` (the largest sum of ``|dV|`` between two resets: the rises add up
to at most the climb plus what the falls took away). ``m`` steps after the last reset both share (or after
the start), NEST's sample differs from its twin's by at most::

    B(m) = m u (3 Y + M) + u (7 S + 8 M + 12 Y)

``m u (2Y + Y)``: NEST's leak and sum (a compiler that fuses ``P30 I + P33 y`` into one multiply-add
rounds once instead, within the same bound), ``m u M``: the twin's sum, ``7u S``: both increments;
the constant: the unit conversions of ``V_init``, ``V_th``, ``E_L`` and of the recorded ``V_m``
(``4u M`` and a threshold moved by ``3u M``) and the crossing step (an ambiguous crossing has
``|dV| <= 2Y``). The errors add up between resets instead of contracting as they do with a leak,
so the contract's ``1e-12 (V_th - V_reset)`` (:data:`comparisons.contract.VOLTAGE_RTOL`) holds for runs of
at most :func:`max_steps` steps, with ``m <= n_steps``: 2245 for the preset ``integrate_and_fire`` (225 ms
at 0.1 ms). A longer run is not representable (:func:`reason`): measured, a 1 pA drive on that preset
climbs for 20 000 steps and ends 1.55e-12 (V_th - V_reset) below its twin (the bound: 8.9e-12), the
leak's ulp per step. A spike the bound could move by a step is a threshold crossing within ``B`` of
``V_th``, which the contract's rounding-sensitive rule already leaves out.

``iaf_psc_delta_ps`` is refused: its crossing time ``-tau_m ln((v_inf - U)/(v_inf - U_th))`` with
``v_inf = tau_m I/C_m`` (about ``2^53 h I/C_m``) takes the logarithm of ``1 + O(2^-53)``, which keeps no
digit of the crossing time.
"""

from __future__ import annotations

import math

import numpy as np

from .drive import Drive
from .spec import LIFSpec

#: Unit roundoff of IEEE double precision.
U = 2.0 ** -53
#: ``tau_m = 2^TAU_EXPONENT h``: the one ``tau_m`` whose ``P33`` is ``1 - 2^-53`` and ``P30`` is ``h/C``.
TAU_EXPONENT = 53
#: The contract's voltage tolerance relative to ``V_th - V_reset`` (comparisons.contract.VOLTAGE_RTOL; the
#: layers keep ``models`` from importing it, ``tests/test_nonleaky.py`` checks that they agree).
CONTRACT_RTOL = 1e-12
#: NEST's milliseconds per tic with the default 1000 tics per ms (``Time::Range::MS_PER_TIC``).
MS_PER_TIC = 1 / 1000

REASON_PRECISE = ("iaf_psc_delta_ps cannot run the integrate-and-fire without leak: its crossing time "
                  "-tau_m ln((v_inf - U)/(v_inf - U_th)) with v_inf = tau_m I/C_m (tau_m = 2^53 h) takes the "
                  "logarithm of 1 + O(2^-53) and keeps no digit of the spike time; use model = "
                  "\"iaf_psc_delta\"")


def resolution_ms(dt: float) -> float:
    """NEST's ``h`` (ms) for a step of ``dt`` seconds: ``MS_PER_TIC * tics`` with ``tics = round(dt/1 us)``
    (``Time::get_resolution().get_ms()``)."""
    return MS_PER_TIC * round(dt * 1e6)


def tau_m(h_ms: float) -> float:
    """``2^53 h`` (ms), exact: the ``tau_m`` that makes ``iaf_psc_delta`` integrate ``h I/C`` per step."""
    return math.ldexp(h_ms, TAU_EXPONENT)


def propagators(c_pf: float, h_ms: float) -> tuple[float, float]:
    """``(P33, P30)`` exactly as NEST 3.10's ``iaf_psc_delta::pre_run_hook`` computes them for
    ``tau_m = 2^53 h`` (the C library's ``exp``, the same expression order)."""
    tau = tau_m(h_ms)
    p33 = math.exp(-h_ms / tau)
    return p33, 1 / c_pf * (1 - p33) * tau


def propagators_are_exact(c_pf: float, h_ms: float) -> bool:
    """Whether ``P33 = 1 - 2^-53`` and ``P30 = fl(fl(1/C) h)`` hold on this machine (module docstring)."""
    p33, p30 = propagators(c_pf, h_ms)
    return p33 == 1.0 - U and p30 == (1 / c_pf) * h_ms


def negative_excursion(spec: LIFSpec, drive: Drive) -> float:
    """``D = dt sum_k max(-I_k, 0)/C`` (V), the largest over the neurons: how far the drive can push ``V``
    down in the run (``I[k, n] = waveform[k, n or 0] scale[n]``; a negative scale turns rises into falls)."""
    w = drive.waveform
    falls = np.maximum(-w, 0.0).sum(axis=0)
    rises = np.maximum(w, 0.0).sum(axis=0)
    below = np.where(drive.scale >= 0, falls * drive.scale, rises * -drive.scale)
    return float(drive.dt * np.max(below, initial=0.0) / spec.C)


def voltage_bound(spec: LIFSpec, m_steps: int, excursion: float = 0.0) -> float:
    """``B(m)`` (V): the largest difference between NEST's sample and its twin's ``m`` steps after a
    common reset, for a drive whose downward excursion is ``excursion`` (module docstring)."""
    v_lo = min(spec.V_reset, spec.V_init) - excursion
    y = max(spec.V_th - spec.V_reset, spec.V_reset - v_lo)
    m = max(abs(spec.V_th), abs(v_lo), abs(spec.V_reset))
    s = (spec.V_th - v_lo) + 2.0 * excursion
    return m_steps * U * (3.0 * y + m) + U * (7.0 * s + 8.0 * m + 12.0 * y)


def max_steps(spec: LIFSpec, excursion: float = 0.0) -> int:
    """The longest run (steps) whose :func:`voltage_bound` stays within the contract's tolerance."""
    tolerance = CONTRACT_RTOL * (spec.V_th - spec.V_reset)
    per_step = voltage_bound(spec, 1, excursion) - voltage_bound(spec, 0, excursion)
    return max(int(math.floor((tolerance - voltage_bound(spec, 0, excursion)) / per_step)), 0)


def reason(spec: LIFSpec, n_steps: int, dt: float, excursion: float = 0.0) -> str | None:
    """Why NEST cannot run ``n_steps`` of the cell within the contract (``None`` when it can)."""
    if not propagators_are_exact(spec.C * 1e12, resolution_ms(dt)):
        return ("iaf_psc_delta with tau_m = 2^53 h does not give P33 = 1 - 2^-53 and P30 = h/C_m on this "
                "machine's exp, so it does not integrate the membrane without leak")
    limit = max_steps(spec, excursion)
    if n_steps <= limit:
        return None
    bound = voltage_bound(spec, n_steps, excursion) / (spec.V_th - spec.V_reset)
    return (f"NEST has no integrate-and-fire without leak; iaf_psc_delta with tau_m = 2^53 h integrates "
            f"h I/C_m to 2 roundings but loses up to one ulp of V - E_L per step (1 - P33 = 2^-53), and "
            f"between resets these add up: over {n_steps} steps the bound is {bound:.4g} (V_th - V_reset), "
            f"above the contract's {CONTRACT_RTOL:g}; runs of at most {limit} steps "
            f"({limit * dt * 1e3:g} ms at dt = {dt * 1e3:g} ms) are represented")


def parameters(spec: LIFSpec, dt: float) -> dict:
    """The non-leaky cell in NEST's names and units: ``E_L = V_reset`` (the reset is ``y = 0``),
    ``tau_m = 2^53 h``."""
    return {"C_m": spec.C * 1e12, "tau_m": tau_m(resolution_ms(dt)), "E_L": spec.V_reset * 1e3,
            "V_th": spec.V_th * 1e3, "V_reset": spec.V_reset * 1e3, "V_m": spec.V_init * 1e3,
            "t_ref": spec.t_ref * 1e3, "I_e": 0.0}
