"""Deliberately wrong simulators and a deliberately wrong harness: the mutation suite's library.

A verdict is evidence only if it fails a wrong simulator. Each mutation here is one small, named
departure from the specification, built by *wrapping* the real code (no source is edited):

Backend mutations
    A function ``(spec, drive, settings, real_run) -> Result`` (:meth:`Mutation.wrap`) that calls the
    real adapter's ``run`` on a changed specification, drive or settings (``before``), or changes its
    result (``after``). :func:`wrapped_backend`
    builds an adapter module around one, and :func:`register` / :func:`mutated` put it in
    :data:`comparisons.backends.REGISTRY` under the real backend's name, so the harness runs it, and
    judges it, exactly as it runs and judges the real one.

Harness mutations
    A wrong piece of the harness's ground truth (the rate estimator, the closed form, the analytic
    f-I rate), installed with ``monkeypatch`` on the name the harness looks up.

A mutation that cannot be expressed on a specification (one step less refractoriness when there is
none) says why through :attr:`Mutation.not_for`; the tests list every such case with its reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.machinery
import math
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Callable

import numpy as np
import pytest

from comparisons import harness
from comparisons import metrics as M
from comparisons import backends
from models.drive import Drive
from models.result import Result, RunSettings
from models.spec import LIFSpec

#: The threshold mutation (V): 0.5 mV.
THRESHOLD_SHIFT = 5e-4
#: The reset mutation (V): 0.1 mV.
RESET_SHIFT = 1e-4

RealRun = Callable[[LIFSpec, Drive, RunSettings], Result]
Workload = tuple  # (spec, drive, settings)


def unchanged(spec: LIFSpec, drive: Drive, settings: RunSettings) -> Workload:
    return spec, drive, settings


def untouched(result: Result, drive: Drive) -> Result:
    return result


def applies_always(spec: LIFSpec) -> str | None:
    return None


@dataclass(frozen=True)
class Mutation:
    """One deliberately wrong backend behaviour: what the real backend is asked (``before``) and what is
    done to its answer (``after``).

    Attributes
    ----------
    name : str
        Short identifier (test ids, the README's table).
    summary : str
        What is wrong, in one line.
    before : callable
        ``(spec, drive, settings) -> (spec, drive, settings)``: the workload the real backend runs instead.
    after : callable
        ``(result, drive) -> Result``: the answer returned instead of the real one (``drive`` as given).
    not_for : callable
        ``spec -> reason or None``: why the mutation cannot be expressed on ``spec`` (``None``: it can).
    """

    name: str
    summary: str
    before: Callable = unchanged
    after: Callable = untouched
    not_for: Callable[[LIFSpec], str | None] = applies_always

    def wrap(self, spec: LIFSpec, drive: Drive, settings: RunSettings, real_run: RealRun) -> Result:
        """The wrong run, made of the real one: ``(spec, drive, settings, real_run) -> Result``."""
        return self.after(real_run(*self.before(spec, drive, settings)), drive)


# ------------------------------------------------------------------------------------- the mutations

def _refractory(steps: float):
    def before(spec, drive, settings):
        return spec.replace(t_ref=max(spec.t_ref + steps * drive.dt, 0.0)), drive, settings
    return before


def _no_refractory_to_shorten(spec: LIFSpec) -> str | None:
    if spec.t_ref == 0:
        return "t_ref = 0: there is no refractory step to take away (t_ref - dt < 0 is no valid cell)"
    return None


def _threshold(shift: float):
    def before(spec, drive, settings):
        return spec.replace(V_th=spec.V_th + shift), drive, settings
    return before


def _reset_off(spec, drive, settings):
    return spec.replace(V_reset=spec.V_reset + RESET_SHIFT), drive, settings


def _reset_would_reach_threshold(spec: LIFSpec) -> str | None:
    if spec.V_reset + RESET_SHIFT >= spec.V_th:
        return "V_reset + 0.1 mV would not be below V_th (no valid cell)"
    return None


def _stamp_late(result: Result, drive: Drive) -> Result:
    """The same run, every spike time one step later; everything else unchanged."""
    return dataclasses.replace(result, spike_time=result.spike_time + drive.dt)


def _euler_method(spec, drive, settings):
    """Forward Euler asked of a backend that offers it, where the harness asked for exact integration."""
    return spec, drive, dataclasses.replace(settings, method="euler")


def euler_tau(tau_m: float, dt: float) -> float:
    """The time constant whose exact decay over ``dt`` is forward Euler's factor ``1 - dt/tau_m``:
    ``tau' = -dt / ln(1 - dt/tau_m)``. With ``E_L`` and ``R`` unchanged the exact update
    ``V <- V_inf + (V - V_inf) exp(-dt/tau')`` is then Euler's ``V <- V + dt/tau_m (V_inf - V)`` (README:
    "Forward Euler is the exact relaxation at a warped time")."""
    return -dt / math.log1p(-dt / tau_m)


def _euler_by_warped_tau(spec, drive, settings):
    """Forward Euler's decay in a simulator that only integrates exactly: the exact step with the time
    constant :func:`euler_tau`, so that every step decays by ``1 - dt/tau_m`` instead of ``exp(-dt/tau_m)``."""
    return spec.replace(tau_m=euler_tau(spec.tau_m, drive.dt)), drive, settings


def _leak_halved(spec, drive, settings):
    """The leak conductance halved: ``tau_m`` and ``R`` doubled, so ``C`` (and the non-leaky limit of the
    f-I curve, ``1/(t_ref + C (V_th - V_reset)/I)``) stays, and only the approach to it changes."""
    return spec.replace(tau_m=2.0 * spec.tau_m, R=2.0 * spec.R), drive, settings


def shifted(drive: Drive) -> Drive:
    """The drive one sample late: per column ``[0, w_0, w_1, ..., w_{n-2}]``, same shape and scale."""
    w = drive.waveform
    return Drive(drive.dt, np.vstack([np.zeros((1, w.shape[1])), w[:-1]]), drive.scale)


def _input_late(spec, drive, settings):
    return spec, shifted(drive), settings


REFRACTORY_PLUS = Mutation("refractory+1", "refractory period one step too long (t_ref + dt)",
                           before=_refractory(1))
REFRACTORY_MINUS = Mutation("refractory-1", "refractory period one step too short (t_ref - dt)",
                            before=_refractory(-1), not_for=_no_refractory_to_shorten)
REFRACTORY_HALF = Mutation("refractory+0.5", "refractory period half a step too long (t_ref + dt/2)",
                           before=_refractory(0.5))
THRESHOLD_UP = Mutation("threshold+0.5mV", "threshold 0.5 mV too high", before=_threshold(THRESHOLD_SHIFT))
THRESHOLD_DOWN = Mutation("threshold-0.5mV", "threshold 0.5 mV too low", before=_threshold(-THRESHOLD_SHIFT))
RESET_OFF = Mutation("reset+0.1mV", "reset 0.1 mV above V_reset", before=_reset_off,
                     not_for=_reset_would_reach_threshold)
STAMP_LATE = Mutation("stamp-late", "every spike time stamped one step late", after=_stamp_late)
EULER = Mutation("euler", "forward Euler where exact integration is claimed (settings.method = 'euler')",
                 before=_euler_method)
EULER_DECAY = Mutation("euler", "forward Euler's decay 1 - dt/tau where exact integration is claimed (the "
                                "exact step with tau' = -dt/ln(1 - dt/tau))", before=_euler_by_warped_tau)
LEAK_HALVED = Mutation("leak/2", "leak conductance halved (tau_m and R doubled, C kept)", before=_leak_halved)
INPUT_LATE = Mutation("input-late", "input applied one step late (the drive shifted by one sample)",
                      before=_input_late)


# -------------------------------------------------------------------------- a mutated adapter module

def wrapped_backend(name: str, mutation: Mutation) -> ModuleType:
    """An adapter module that is the real backend ``name`` except that it runs ``mutation``.

    ``NAME``, ``LIBRARY``, ``version``, ``representable``, ``preload`` and the declared contract
    (``CONTRACTS``, ``contract``, ``conventions``) are the real ones: the harness plans, labels and judges
    the mutant exactly as the real backend. ``run`` is ``mutation.wrap`` around
    the real ``run``; a real ``run_population`` is wrapped too (the workloads whose changed specification
    is the same go to it together, each result then goes through ``mutation.after``), so the mutant is
    batched like the real backend.
    """
    real = backends.get(name)
    module_name = f"mutant_{name}_{''.join(c if c.isalnum() else '_' for c in mutation.name)}"
    module = ModuleType(module_name, f"{name} with a deliberate error: {mutation.summary}")
    module.__spec__ = importlib.machinery.ModuleSpec(module_name, None)
    module.NAME, module.LIBRARY = real.NAME, real.LIBRARY
    module.version, module.representable = real.version, real.representable
    for declared in ("preload", "CONTRACTS", "contract", "conventions"):
        if hasattr(real, declared):
            setattr(module, declared, getattr(real, declared))
    module.MUTATION, module.REAL = mutation, real

    def run(spec: LIFSpec, drive: Drive, settings: RunSettings) -> Result:
        return mutation.wrap(spec, drive, settings, real.run)

    def run_population(spec: LIFSpec, workloads: list) -> list[Result]:
        changed = [mutation.before(spec, drive, settings) for drive, settings in workloads]
        groups: dict = {}
        for i, (new_spec, _, _) in enumerate(changed):
            groups.setdefault(new_spec, []).append(i)
        results: list = [None] * len(workloads)
        for new_spec, members in groups.items():
            done = real.run_population(new_spec, [changed[i][1:] for i in members])
            for i, result in zip(members, done):
                results[i] = mutation.after(result, workloads[i][0])
        return results

    module.run = run
    if hasattr(real, "run_population"):
        module.run_population = run_population
    return module


def register(monkeypatch: pytest.MonkeyPatch, name: str, mutation: Mutation) -> ModuleType:
    """Put the mutant of backend ``name`` in the registry under ``name`` (undone by ``monkeypatch``)."""
    module = wrapped_backend(name, mutation)
    library = backends.REGISTRY[name][1]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(backends.REGISTRY, name, (module.__name__, library))
    return module


@contextlib.contextmanager
def mutated(name: str, mutation: Mutation):
    """``with mutated("brian2", STAMP_LATE): ...`` -- the registry holds the mutant inside the block."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield register(monkeypatch, name, mutation)


# ------------------------------------------------------------------------------- harness mutations

def rate_n_over_span(train, duration: float) -> float:
    """The WRONG stationary rate ``n/(t_n - t_1)``: the real :func:`comparisons.metrics.stationary_rate_isi`
    counts the ``n - 1`` intervals between the first and the last spike, ``(n - 1)/(t_n - t_1)``; this
    counts the spikes. Same fallback (``n/duration`` with fewer than two spikes)."""
    train = np.asarray(train, dtype=float)
    if train.size < 2:
        return M.stationary_rate_count(train, duration)
    return train.size / float(train[-1] - train[0])


def wrong_stationary_rates(trains, duration: float, estimator: str = "isi") -> np.ndarray:
    """:func:`comparisons.metrics.stationary_rates` with :func:`rate_n_over_span` as its ``"isi"``
    estimator."""
    functions = {"isi": rate_n_over_span, "count": M.stationary_rate_count}
    return np.array([functions[estimator](x, duration) for x in M.as_trains(trains)], dtype=float)


@dataclass(frozen=True)
class HarnessMutation:
    """A wrong piece of the harness's ground truth.

    ``install(monkeypatch, comparison)`` puts it where the harness looks it up.
    """

    name: str
    summary: str
    install: Callable


def _install_rate_estimator(monkeypatch, comparison) -> None:
    # the harness calls M.stationary_rates with M = comparisons.metrics
    assert harness.M is M
    monkeypatch.setattr(M, "stationary_rates", wrong_stationary_rates)


def _install_closed_form(monkeypatch, comparison) -> None:
    real = harness.closed_form

    def closed_form(spec: LIFSpec, drive: Drive) -> Result:
        return real(spec.replace(t_ref=spec.t_ref + drive.dt), drive)

    monkeypatch.setattr(harness, "closed_form", closed_form)


def _install_analytic_rate(monkeypatch, comparison) -> None:
    real = harness.cf
    dt = comparison.fi.dt
    proxy = ModuleType(f"{real.__name__}_mutant", "reference.closed_forms with rate() for t_ref + dt")
    proxy.__dict__.update({k: v for k, v in real.__dict__.items() if not k.startswith("__")})

    def rate(spec: LIFSpec, current):
        return real.rate(spec.replace(t_ref=spec.t_ref + dt), current)

    proxy.rate = rate
    monkeypatch.setattr(harness, "cf", proxy)


RATE_ESTIMATOR = HarnessMutation("rate-n/span", "stationary rate n/(t_n - t_1) instead of (n - 1)/(t_n - t_1)",
                                 _install_rate_estimator)
CLOSED_FORM = HarnessMutation("closed-form-t_ref+dt", "the closed-form run of every stimulus with t_ref + dt",
                              _install_closed_form)
ANALYTIC_RATE = HarnessMutation("fi-rate-t_ref+dt", "the analytic f-I rate 1/(t_ref + dt + T_free)",
                                _install_analytic_rate)
HARNESS_MUTATIONS = (RATE_ESTIMATOR, CLOSED_FORM, ANALYTIC_RATE)
