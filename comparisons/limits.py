"""The LIF's large-current limit as a comparison row: how far its f-I curve lies from the integrate-and-fire
without leak of the same ``C``, ``V_th``, ``V_reset`` and ``t_ref``, measured against the closed form.

With ``ISI_IF(I) = t_ref + C (V_th - V_reset)/I`` (rate ``f_IF = 1/ISI_IF``) and the LIF's exact
``ISI(I) = t_ref + T_free(I)``, the closed-form relative difference is
``rho(I) = f_LIF/f_IF - 1 = ISI_IF/ISI - 1`` (:func:`reference.closed_forms.large_current_limit`, which also
gives its leading order ``-(a - 1/2) tau/(x (x t_ref + tau))``: it vanishes as ``1/I^2``). A backend's
measured rate ``f`` gives ``rho_meas = f ISI_IF - 1``.

**Tolerance.** Under a constant current the measured mean ISI lies within ``e`` of the exact one, ``e`` the
backend's per-interval bound (:func:`comparisons.tolerances.isi_bound`; for a grid rule one step, the width
of the exact interval ``[hold dt + T_free, hold dt + T_free + dt]`` of
:func:`comparisons.tolerances.grid_isi_interval`). Then ``f`` lies in ``[1/(ISI + e), 1/(ISI - e)]`` and,
since ``rho_meas - rho = ISI_IF (f - 1/ISI)``::

    |rho_meas - rho| <= b(I) = ISI_IF e / (ISI (ISI - e))

**Where it is informative.** A simulator without leak (the same rule with ``tau_m = inf``) measures an
ISI within ``e`` of ``ISI_IF``, so its ``rho_meas = ISI_IF/ISI_meas - 1`` lies within
``b_IF = e/(ISI_IF - e)`` of 0 -- at least ``|rho| - b_IF`` from the closed form. The row is therefore
written at the largest current of the sweep where ``|rho(I)| > b(I) + b_IF(I)`` (among the currents whose
exact interval is resolved at all, ``ISI > 2 e``, and that fire at least three times in the sweep): there
a backend with the leak and one without it cannot both pass. At larger currents the leak's effect sinks
below what the step resolves and the row would pass the IF as well; at smaller ones the LIF is far from
its limit and the f-I verdicts (``fi_worst_bound_ratio``) already judge the curve. The largest such
current is the most demanding point: the smallest leak effect still resolved. Without such a current (a
sweep that does not reach the large-current regime, or a step too coarse to see it) no row is written.
(For a phase-class backend ``e`` is one step over the LIF's intervals; the IF fires more often, so its
own ``e`` is smaller and ``b_IF`` an upper bound.)

Rows (``fi_curve``, reference ``closed_form``): ``large_current_limit_diff`` = ``rho_meas - rho`` at that
current, tolerance ``b``; informational ``large_current_limit_rel_diff`` (``rho_meas``),
``large_current_limit_closed_form`` (``rho``) and ``large_current_limit_current`` (A).
"""

from __future__ import annotations

import numpy as np

from models.spec import LIFSpec
from reference import closed_forms as cf

from .verdicts import Row, row


def nonleaky_isi(spec: LIFSpec, currents) -> np.ndarray:
    """``t_ref + C (V_th - V_reset)/I`` (s): the ISI of the LIF's non-leaky limit."""
    return spec.t_ref + spec.C * (spec.V_th - spec.V_reset) / np.asarray(currents, dtype=float)


def resolution(spec: LIFSpec, currents, per_isi) -> np.ndarray:
    """``b(I) = ISI_IF e/(ISI (ISI - e))``: the largest ``|rho_meas - rho|`` of a backend whose mean ISI is
    within ``e`` (``per_isi``) of the exact one (module docstring)."""
    isi = np.asarray(cf.isi(spec, currents), dtype=float)
    e = np.asarray(per_isi, dtype=float)
    return nonleaky_isi(spec, currents) * e / (isi * (isi - e))


def nonleaky_resolution(spec: LIFSpec, currents, per_isi) -> np.ndarray:
    """``b_IF = e/(ISI_IF - e)``: how far from 0 a simulator without leak may measure ``rho`` (inf when
    ``ISI_IF <= e``)."""
    isi_if = nonleaky_isi(spec, currents)
    e = np.asarray(per_isi, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(isi_if > e, e / np.maximum(isi_if - e, np.finfo(float).tiny), np.inf)


def informative(spec: LIFSpec, currents, per_isi, resolved) -> np.ndarray:
    """The currents (mask) at which the LIF can be told from its non-leaky limit: ``resolved`` and
    ``|rho| > b + b_IF``."""
    currents = np.asarray(currents, dtype=float)
    mask = np.asarray(resolved, dtype=bool) & (currents > max(spec.rheobase, 0.0))
    out = np.zeros(currents.shape, dtype=bool)
    if mask.any():
        rho, _ = cf.large_current_limit(spec, currents[mask])
        e = np.asarray(per_isi, dtype=float)[mask]
        out[mask] = np.abs(rho) > (resolution(spec, currents[mask], e)
                                   + nonleaky_resolution(spec, currents[mask], e))
    return out


def large_current_rows(study: str, backend: str, reference: str, spec: LIFSpec, currents, rates, per_isi,
                       resolved, tolerance: float | None = None) -> list[Row]:
    """The rows of the module docstring for one backend's f-I sweep (none without leak, or without an
    informative current); ``tolerance`` overrides ``b``."""
    if not spec.leak:
        return []
    currents = np.asarray(currents, dtype=float)
    where = np.flatnonzero(informative(spec, currents, per_isi, resolved))
    if not where.size:
        return []
    j = where[np.argmax(currents[where])]
    current = currents[j:j + 1]
    rho = float(cf.large_current_limit(spec, current)[0][0])
    measured = float(np.asarray(rates, dtype=float)[j] * nonleaky_isi(spec, current)[0] - 1.0)
    bound = float(resolution(spec, current, np.asarray(per_isi, dtype=float)[j:j + 1])[0])
    return [row(study, backend, reference, "large_current_limit_diff", measured - rho, "1",
                bound if tolerance is None else tolerance),
            row(study, backend, reference, "large_current_limit_rel_diff", measured, "1"),
            row(study, backend, reference, "large_current_limit_closed_form", rho, "1"),
            row(study, backend, reference, "large_current_limit_current", float(current[0]), "A")]
