"""The harness: every selected backend on identical stimulus samples, measured against the closed form
and against the reference, with a tolerance and a verdict on every row that has one.

The closed form of a run is the exact solution of the LIF equation driven by the *sampled* current
(zero-order hold, what every backend receives): exact exponential propagation between grid points and
exact inversion of each threshold crossing (Rotter & Diesmann 1999), computed piece by piece by the
reference with ``crossing = "exact"``. Verdicts use the bounds of :mod:`comparisons.tolerances`.

Efficiency: an f-I sweep is one population per backend (one neuron per current, spikes only); a dt
sweep samples the same stimulus description again at each dt; full traces are recorded only for the
stimuli that are reported; the independent runs go side by side, one per core (:class:`Runner`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import backends
from models.drive import Drive
from models.errors import BackendFailure, NotRepresentable
from models.result import CLOSED_FORM, Result, RunSettings
from models.spec import LIFSpec
from reference import closed_forms as cf
from reference.conventions import Conventions
from reference import synaptic
from reference.engine import hold_steps, simulate

from . import attribution, contract, limits
from . import variants as model_variants
from . import metrics as M
from . import tolerances as T
from . import verdicts
from .config import Comparison
from .execution import Executor, Job, frozen_heap, require_finite, vet_backends
from .execution import Outcome as CallOutcome

METRIC_COLUMNS = verdicts.COLUMNS
#: Half-width of the window around spikes excluded from "subthreshold" trace metrics: the refractory
#: period plus two steps, where two correct backends legitimately differ.
SUBTHRESHOLD_WINDOW_STEPS = 2


@dataclass
class Run:
    """One backend on one workload: its result, or why there is none."""

    backend: str
    label: str
    result: Result | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Variant:
    """A specification actually run: the one given, or a labelled substitute (e.g. ``t_ref = 0``).

    ``stimuli``: its traces are run and compared on the comparison's stimuli; ``sweeps``: the f-I curve
    and the convergence study run on it (exactly one variant of a comparison)."""

    label: str
    spec: LIFSpec
    backends: tuple[str, ...]
    note: str = ""
    stimuli: bool = True
    sweeps: bool = True


@dataclass
class Outcome:
    """Everything a report needs."""

    comparison: Comparison
    variants: list[Variant]
    runs: dict = field(default_factory=dict)            # (variant, stimulus, backend) -> Run
    exact: dict = field(default_factory=dict)           # (variant, stimulus) -> Result
    fi_rows: list = field(default_factory=list)
    convergence_rows: list = field(default_factory=list)
    metric_rows: list = field(default_factory=list)
    failures: dict = field(default_factory=dict)        # backend -> message
    not_representable: dict = field(default_factory=dict)  # backend -> reason
    seconds_in_backends: float = 0.0
    metadata: dict = field(default_factory=dict)        # backend -> Metadata dict
    variant_tables: dict = field(default_factory=dict)  # comparisons.variants tables (name -> DataFrame)
    attribution: list = field(default_factory=list)     # comparisons.attribution.Attribution per pair
    #: every default tolerance with its formula and derivation (comparisons.tolerances), for the report
    tolerance_table: dict = field(default_factory=lambda: dict(T.TOLERANCES))

    @property
    def metrics(self) -> pd.DataFrame:
        return verdicts.frame(self.metric_rows)

    @property
    def fi(self) -> pd.DataFrame:
        return pd.DataFrame(self.fi_rows, columns=["backend", "dt_s", "current_A", "rate_hz", "analytic_rate_hz"])

    @property
    def convergence(self) -> pd.DataFrame:
        return pd.DataFrame(self.convergence_rows,
                            columns=["backend", "dt_s", "isi_error_s", "isi_bound_s", "trace_error_V",
                                     "trace_bound_V"])

    def verdicts_pass(self) -> bool:
        return verdicts.all_pass(self.metric_rows)

    def exit_status(self) -> int:
        """0 every verdict passes; 1 some verdict failed; 3 a backend failed."""
        if self.failures:
            return 3
        return 0 if self.verdicts_pass() else 1


# ----------------------------------------------------------------------------------------------- running

def settings_for(comparison: Comparison, backend: str, dt: float, n_steps: int, record_v: bool) -> RunSettings:
    """The settings of ``backend``'s runs: the comparison's method and the backend's options."""
    return comparison.settings(backend, dt, n_steps, record_v)


def module_of(comparison: Comparison, name: str):
    """The adapter module behind a backend name of the comparison (a named configuration runs its simulator's
    adapter with its own options)."""
    return backends.get(comparison.module_name(name))


def closed_form(spec: LIFSpec, drive: Drive) -> Result:
    """The exact solution for the sampled input (see the module docstring).

    A cell with a synaptic current gets the exact solution of its two equations with exact crossings
    (:func:`reference.synaptic.exact_solution`; its ``extra["i_syn"]`` is the synaptic current at each
    ``t_k``). Reset by subtraction has the same closed form as reset to a value: an exact crossing resets
    where ``V = V_th``, and ``V_th - (V_th - V_reset) = V_reset``. Noise has no trace closed form: a noise
    cell's traces are compared without it (:func:`traced_part`)."""
    from reference.backend import version
    from models.result import Metadata
    extra = {}
    if spec.tau_syn is not None:
        v, neuron, times, i_syn = synaptic.exact_solution(spec, drive)
        extra["i_syn"] = i_syn
        method = "exact solution of the sampled input and the synaptic current (exact crossings)"
    else:
        v, neuron, times = simulate(spec.replace(reset="value"), drive,
                                    Conventions(integrator="exact", crossing="exact", refractory="timer"))
        method = "exact solution of the sampled input"
    meta = Metadata(CLOSED_FORM, version(), method, drive.dt,
                    "V = V_th crossed", "exact crossing time", "V(t_k)", "exact timer from the crossing",
                    f"V_init = {spec.V_init!r} V")
    return Result(np.arange(drive.n_steps + 1) * drive.dt, v, neuron, times, drive.n_neurons, meta, extra=extra)


def plain_part(spec: LIFSpec) -> LIFSpec:
    """The plain LIF inside a model variant: no synapse, no noise, reset to a value."""
    return spec.replace(reset="value", tau_syn=None, spike_input=None, sigma=0.0, noise_seed=0)


def traced_part(spec: LIFSpec) -> LIFSpec:
    """The cell whose traces are compared: the specification as written, without its noise current (each
    simulator draws its own random stream, so noisy traces cannot be compared sample by sample; the noise
    is compared statistically in :mod:`comparisons.variants`)."""
    return spec if spec.sigma == 0 else spec.replace(sigma=0.0, noise_seed=0)


def spec_features(spec: LIFSpec) -> list[str]:
    names = {"synapse": "synaptic current", "noise": "noise current", "subtract": "subtractive reset"}
    return [names.get(f, f) for f in spec.features]


def plan_variants(comparison: Comparison, outcome: Outcome) -> list[Variant]:
    """The specifications to run, each on every backend that represents it.

    A plain cell: the cell itself, for the stimuli and the sweeps. A model variant (synaptic current with
    or without input spikes, reset by subtraction, noise): its traces run **as written**
    (:func:`traced_part`: noise is left out of the traces only) on every backend that represents it, against
    the exact solution of that cell (:func:`closed_form`); the f-I curve and the convergence study run on
    the plain part (:func:`plain_part`, labelled ``plain``), because their closed forms are the plain
    cell's: a synapse without input spikes carries no current, so its f-I curve *is* the plain one; with
    input spikes a constant-current rate has no closed form; and reset by subtraction is set side by side
    with reset to a value in its own comparison (:func:`comparisons.variants.reset_comparison`). A noise
    cell without other additions is its plain part for everything (labelled ``plain``).

    The backends refusing the traced cell are listed with their reason; if some cannot and a substitute
    with ``t_ref = 0`` would do, that substitute runs the stimuli on every backend that represents it,
    clearly labelled."""
    spec = comparison.spec

    def refusal(name: str, cell: LIFSpec) -> str | None:
        settings = settings_for(comparison, name, comparison.dt, comparison.n_steps, True)
        return module_of(comparison, name).representable(cell, settings)

    def runnable(cell: LIFSpec) -> tuple[tuple[str, ...], dict]:
        ok, refused = [], {}
        for name in comparison.backends:
            reason = refusal(name, cell)
            (refused.__setitem__(name, reason) if reason else ok.append(name))
        return tuple(ok), refused

    traced = traced_part(spec)
    if traced.is_plain:
        label = "" if spec.is_plain else "plain"
        note = "" if spec.is_plain else (
            "the same cell without " + ", ".join(spec_features(spec)) + ": traces, spikes, f-I and "
            "convergence are checked against the plain LIF's closed forms; the noise is compared "
            "statistically in its own section (each simulator has its own random stream)")
        names, refused = runnable(traced)
        variants = [Variant(label, traced, names, note)]
    else:
        plain = plain_part(spec)
        sweep_names, sweep_refused = runnable(plain)
        names, refused = runnable(traced)
        for name, reason in sweep_refused.items():
            refused.setdefault(name, reason)
        label = "" if traced == spec else "no noise"
        variants = [
            Variant("plain", plain, sweep_names,
                    "the same cell without " + ", ".join(spec_features(spec)) + ": the f-I curve and the "
                    "convergence study (their closed forms are the plain cell's; a synapse without input "
                    "spikes carries no current)", stimuli=False, sweeps=True),
            Variant(label, traced, names,
                    "the cell as written" + (" without its noise current (noise is compared statistically, "
                                             "never trace by trace)" if label else "") +
                    ": traces and spikes against its exact solution", stimuli=True, sweeps=False)]
    outcome.not_representable.update(refused)
    if refused and traced.t_ref > 0:
        sub = traced.replace(t_ref=0.0)
        subs = tuple(n for n in comparison.backends if refusal(n, sub) is None)
        if any(n in refused for n in subs):
            variants.append(Variant("t_ref=0", sub, subs,
                                    "substitute: the same cell without refractory period, for the backends "
                                    "that cannot represent t_ref > 0, next to every backend that can",
                                    stimuli=True, sweeps=False))
    return variants


class Runner(Executor):
    """The executor (:class:`comparisons.execution.Executor`) that records each job's run in the outcome."""

    def __init__(self, outcome: Outcome, timeout: float | None, tick, workers: int | None = None):
        super().__init__(timeout, tick, workers)
        self.outcome = outcome

    def record(self, job: Job, done: CallOutcome) -> Run:
        """The job's :class:`Run`; a failure is recorded for its backend, never raised."""
        outcome = self.outcome
        run = Run(job.backend, job.label, seconds=done.seconds)
        try:
            result = require_finite(job.backend, done.get())
            run.result = result
            outcome.metadata.setdefault(job.backend, result.meta.as_dict())
        except NotRepresentable as exc:
            run.error = f"not representable: {exc.reason}"
            outcome.not_representable.setdefault(job.backend, exc.reason)
        except Exception as exc:  # a failing simulator is isolated and reported, never fatal to the others
            reason = exc.reason if isinstance(exc, BackendFailure) else f"{type(exc).__name__}: {exc}"
            run.error = reason
            outcome.failures.setdefault(job.backend, f"{job.label}: {reason}")
        outcome.seconds_in_backends += run.seconds
        return run


def run_comparison(comparison: Comparison, progress=None, timeout: float | None = None,
                   workers: int | None = None) -> Outcome:
    """Run everything a comparison asks for and compute every metric row.

    The simulations run in two batches of independent jobs (see :class:`Runner`): every variant's
    stimuli on every backend, then the f-I curve and the convergence runs of the backends that did not
    fail (a backend with ``run_population`` gets the main variant's stimuli in the second batch, in the
    same call as the rest); the metrics are computed afterwards in a fixed order, so the outcome does
    not depend on ``workers``.
    """
    with frozen_heap():
        return _run(comparison, progress, timeout, workers)


def _vetted(c: Comparison, outcome: Outcome, timeout: float | None, workers: int | None) -> Comparison:
    """The comparison without the backends whose import or ``representable()`` fails or hangs, each
    checked in its own child process before this one imports it (:func:`comparisons.execution.vet_backends`);
    their failures recorded."""
    import dataclasses

    spec = c.spec if c.spec.is_plain else plain_part(c.spec)
    grids = [(c.dt, c.n_steps)] + [(dt, int(round(c.convergence.duration / dt))) for dt in c.convergence.dts]
    cells = [spec] + ([spec.replace(t_ref=0.0)] if spec.t_ref > 0 else [])
    checks = {name: (c.module_name(name), [(cell, settings_for(c, name, dt, n, True)) for cell in cells
                                           for dt, n in grids[:1]] +
                     [(spec, settings_for(c, name, dt, n, True)) for dt, n in grids[1:]])
              for name in c.backends}
    failed = vet_backends(checks, timeout, workers)
    for name, why in failed.items():
        outcome.failures[name] = f"import and capability check: {why}"
    return dataclasses.replace(c, backends=tuple(n for n in c.backends if n not in failed))


def _run(comparison: Comparison, progress, timeout: float | None, workers: int | None) -> Outcome:
    outcome = Outcome(comparison, [])
    comparison = _vetted(comparison, outcome, timeout, workers)
    outcome.variants = plan_variants(comparison, outcome)
    runner = Runner(outcome, timeout, progress or (lambda label: None), workers)
    main = next(variant for variant in outcome.variants if variant.sweeps)
    stimuli = {variant.label: _stimuli_jobs(comparison, variant) if variant.stimuli else []
               for variant in outcome.variants}
    # a backend that takes every workload of a specification as one population gets the main variant's
    # stimuli with its f-I and convergence runs, in the second batch: one call instead of two
    pooled = {name for name in main.backends if hasattr(module_of(comparison, name), "run_population")}
    first = [job for variant in outcome.variants for job in stimuli[variant.label]
             if not (variant is main and job.backend in pooled)]
    runs = dict(zip(map(id, first), (runner.record(job, done) for job, done in zip(first, runner.run(first)))))
    working = [name for name in main.backends if name not in outcome.failures]
    deferred = [job for job in stimuli[main.label] if job.backend in pooled and job.backend in working]
    fi_jobs = _fi_jobs(comparison, main, working)
    conv_jobs = _convergence_jobs(comparison, main, working)
    # a backend that runs only a substitute of a plain cell (snnTorch and Rockpool have no refractory
    # period) gets the substitute's f-I curve and convergence study too: its contract is checked on the
    # sweeps as well (a variant cell's sweeps are its plain part's: see plan_variants)
    extra = [(v, [n for n in v.backends if n not in main.backends and n not in outcome.failures])
             for v in outcome.variants if v is not main and v.label == "t_ref=0" and v.spec.is_plain]
    extra_fi = [(v, _fi_jobs(comparison, v, names)) for v, names in extra if names]
    extra_conv = [(v, _convergence_jobs(comparison, v, names)) for v, names in extra if names]
    sweeps = fi_jobs + [job for jobs in conv_jobs.values() for job in jobs]
    sweeps += [job for _, jobs in extra_fi for job in jobs]
    sweeps += [job for _, plan in extra_conv for jobs in plan.values() for job in jobs]
    done = runner.run(deferred + sweeps, together=True)
    runs.update((id(job), runner.record(job, result)) for job, result in zip(deferred, done))
    done = done[len(deferred):]
    for variant in outcome.variants:
        if variant.stimuli:
            _stimuli_results(comparison, variant, outcome, [runs[id(job)] for job in stimuli[variant.label]])
    _fi_ground_truth(comparison, main.spec, outcome)
    for job, result in zip(fi_jobs, done):
        _fi_results(comparison, main, outcome, runner.record(job, result))
    done = done[len(fi_jobs):]
    for name, jobs in conv_jobs.items():
        _convergence_results(comparison, main, outcome, runner, name, jobs, done[:len(jobs)])
        done = done[len(jobs):]
    for variant, jobs in extra_fi:
        _fi_ground_truth(comparison, variant.spec, outcome, study_label("fi_curve", variant))
        for job in jobs:
            _fi_results(comparison, variant, outcome, runner.record(job, done[0]), main=False)
            done = done[1:]
    for variant, plan in extra_conv:
        for name, jobs in plan.items():
            _convergence_results(comparison, variant, outcome, runner, name, jobs, done[:len(jobs)], main=False)
            done = done[len(jobs):]
    outcome.attribution = attribution.for_outcome(comparison, outcome)
    if not comparison.spec.is_plain:
        runner.tick("model variants")
        # the same executor, without ticks: the progress counts the variant studies as one step
        extra = model_variants.run_variant_comparisons(comparison, timeout, skip=tuple(outcome.failures),
                                                       executor=Executor(timeout, None, workers))
        outcome.metric_rows.extend(extra.rows)
        outcome.variant_tables = extra.tables
        outcome.not_representable.update(extra.refused)
        outcome.failures.update(extra.failures)
    return outcome


def study_label(base: str, variant: Variant) -> str:
    """The label of a study of a variant: ``fi_curve`` for the given cell, ``fi_curve [t_ref=0]`` for a
    substitute (the stimulus column of its metric rows)."""
    return f"{base} [{variant.label}]" if variant.label else base


def stimuli_drive(c: Comparison) -> Drive:
    """Every stimulus of the comparison as one population: neuron j receives stimulus j's samples."""
    waveform = np.stack([stim.sample(c.dt, c.n_steps) for stim in c.stimuli], axis=1)
    return Drive(c.dt, waveform, np.ones(len(c.stimuli)))


def _stimuli_jobs(c: Comparison, variant: Variant) -> list[Job]:
    """One run per backend for all stimuli (neurons are independent; a run per stimulus would pay each
    simulator's set-up cost again)."""
    drive = stimuli_drive(c)
    return [Job(name, "stimuli", variant.spec, drive, settings_for(c, name, c.dt, c.n_steps, True),
                f"stimuli: {name}", c.module_name(name)) for name in variant.backends]


def _stimuli_results(c: Comparison, variant: Variant, outcome: Outcome, population: list[Run]) -> None:
    drive = stimuli_drive(c)
    exact = closed_form(variant.spec, drive)
    for j, stim in enumerate(c.stimuli):
        outcome.exact[(variant.label, stim.name)] = exact.neuron(j)
        for run in population:
            result = None if run.result is None else run.result.neuron(j)
            outcome.runs[(variant.label, stim.name, run.backend)] = Run(run.backend, stim.name, result,
                                                                        run.error, run.seconds)
        one = Drive(c.dt, drive.waveform[:, j], np.ones(1))
        _stimulus_metrics(c, variant, stim, one, outcome)


def _fi_jobs(c: Comparison, variant: Variant, names: list[str]) -> list[Job]:
    fi = c.fi
    drive = Drive.constant(fi.currents, fi.dt, fi.n_steps)
    return [Job(name, "fi_curve", variant.spec, drive, settings_for(c, name, fi.dt, fi.n_steps, False),
                f"f-I curve: {name}", c.module_name(name)) for name in names]


def _fi_results(c: Comparison, variant: Variant, outcome: Outcome, run: Run, main: bool = True) -> None:
    """The f-I rows of one backend: fi_curve.csv rows (backend ``name [label]`` for a substitute, the file
    having no stimulus column) and the metric rows of study ``fi_curve`` (or ``fi_curve [label]``)."""
    if run.result is None:
        return
    fi, name = c.fi, run.backend
    study = study_label("fi_curve", variant) if not main else "fi_curve"
    currents = fi.currents
    analytic = cf.rate(variant.spec, currents)
    rates = M.stationary_rates(run.result.spike_trains(), fi.duration)
    for current, rate, exact_rate in zip(currents, rates, analytic):
        outcome.fi_rows.append([name if main else f"{name} [{variant.label}]", fi.dt, float(current), float(rate),
                                float(exact_rate)])
    drive = Drive.constant(currents, fi.dt, fi.n_steps)
    settings = settings_for(c, name, fi.dt, fi.n_steps, False)
    outcome.metric_rows.extend(contract.contract_rows(study, name, variant.spec, drive, settings, run.result,
                                                      c.module_name(name)))
    _fi_metrics(c, variant.spec, name, currents, rates, analytic, outcome, study)


def _fi_ground_truth(c: Comparison, spec: LIFSpec, outcome: Outcome, study: str = "fi_curve") -> None:
    """The closed-form f-I curve checked like the closed-form traces: the rate ``1/(t_ref + T_free)`` the
    verdicts use, against the intervals of the analytic segment-by-segment solution
    (:func:`reference.closed_forms.piecewise_spike_times`) of each constant current over the sweep."""
    fi = c.fi
    currents = fi.currents
    errors = []
    for current, rate in zip(currents, cf.rate(spec, currents)):
        times = cf.piecewise_spike_times(spec, np.full(1, current), fi.duration)
        if times.size >= 2:
            errors.append(abs((times[-1] - times[0]) / (times.size - 1) - 1.0 / rate))
    _row(outcome, study, CLOSED_FORM, "analytic", "closed_form_fi_isi_max_abs",
         max(errors, default=0.0), "s",
         _override(c, "closed_form_fi_isi_max_abs", T.time_rounding(fi.duration, fi.n_steps)))


def _convergence_jobs(c: Comparison, variant: Variant, names: list[str]) -> dict[str, list[Job]]:
    """Per backend, a run per dt of the convergence study, up to the first dt it cannot represent."""
    conv, spec = c.convergence, variant.spec
    plan = {}
    for name in names:
        jobs = plan.setdefault(name, [])
        for dt in conv.dts:
            n = int(round(conv.duration / dt))
            settings = settings_for(c, name, dt, n, True)
            if module_of(c, name).representable(spec, settings):
                break
            jobs.append(Job(name, "convergence", spec, Drive.constant([conv.current], dt, n), settings,
                            f"convergence dt={dt * 1e3:g} ms: {name}", c.module_name(name)))
    return plan


def _convergence_results(c: Comparison, variant: Variant, outcome: Outcome, runner: Runner, name: str,
                         jobs: list[Job], done: list, main: bool = True) -> None:
    """The error at each dt in order, up to the first failed run; metrics only for a complete study
    (labelled like :func:`_fi_results`)."""
    study = study_label("convergence", variant) if not main else "convergence"
    errors, rows = [], []
    for job, result in zip(jobs, done):
        run = runner.record(job, result)
        if run.result is None:
            break
        errors.append(_convergence_point(c, variant.spec, name, job.drive.dt, run.result))
        rows.append(contract.contract_rows(study, name, variant.spec, job.drive, job.settings, run.result,
                                           job.adapter))
    if len(errors) == len(c.convergence.dts):
        outcome.metric_rows.extend(contract.merge(rows))
        if not main:
            errors = [(f"{name} [{variant.label}]",) + tuple(point[1:]) for point in errors]
        conv = c.convergence
        judged = cf.spike_times(variant.spec, conv.current, conv.duration).size >= CONVERGENCE_MIN_EXACT_SPIKES
        _convergence_metrics(c, name, errors, outcome, study, judged)


# ----------------------------------------------------------------------------------------------- metrics

def _row(outcome, stimulus, backend, reference, metric, value, unit, tolerance=None):
    """Append one metric row; ``tolerance`` None means an informational row (no verdict)."""
    outcome.metric_rows.append(verdicts.row(stimulus, backend, reference, metric, value, unit, tolerance))


def _override(c: Comparison, metric: str, default: float) -> float:
    return c.tolerances.get(metric, default)


@dataclass(frozen=True)
class Bounds:
    """A backend's error bounds on one stimulus, against the exact solution (``trace`` None: no bound
    holds, the row is informational)."""

    trace: float | None
    latency: float
    per_isi: float


def _bounds(c: Comparison, spec: LIFSpec, backend: str, drive: Drive, exact: Result,
            result: Result | None = None) -> Bounds:
    kind = _kind(c, backend)
    trains = exact.spike_trains()[0]
    v_scale = float(np.max(np.abs(exact.v))) if exact.v is not None else max(abs(spec.V_th), abs(spec.V_reset))
    if spec.leak:
        v_inf = spec.E_L + spec.R * drive.column(0)
        tv = abs(spec.V_init - v_inf[0]) + float(np.sum(np.abs(np.diff(v_inf))))
    else:   # no steady state; Euler is the exact update (euler_warp = 1), so no Euler term at all
        tv = 0.0
    trace = T.trace_bound(c.method, drive.dt, spec, drive.n_steps, v_scale, tv)
    # a run of a synaptic cell that declares no synaptic numerics is held to the exact bound: the claim
    # of a backend that says nothing is the specification itself
    declared = model_variants.numerics(result).get("synapse") if result is not None else None
    synapse = synaptic_trace_bound(spec, drive, declared or "exact", v_scale)
    latency = trains[0] if trains.size else drive.duration
    free = float(np.max(np.diff(trains))) if trains.size > 1 else drive.duration
    return Bounds(None if synapse is None else trace + synapse,
                  T.first_spike_bound(kind, c.method, drive.dt, spec, latency, drive.duration),
                  T.isi_bound(kind, c.method, drive.dt, spec, free, 1, drive.duration))


def input_weight(spec: LIFSpec, drive: Drive) -> float:
    """Total |jump| (A) of the synaptic current over the run: the sum of |weight| of every input spike
    arriving on the grid before its end (0 without synapse or input)."""
    if spec.tau_syn is None:
        return 0.0
    return float(np.sum(np.abs(synaptic.jumps(spec, drive.dt, drive.n_steps))))


def synaptic_trace_bound(spec: LIFSpec, drive: Drive, synapse: str | None, v_scale: float) -> float | None:
    """The synaptic current's share (V) of a backend's prespike trace bound, from the synaptic numerics it
    declares (``Result.extra["variant"]["synapse"]``: ``"exact"``, ``"euler"``, ``"step-average"``); 0
    without input spikes; None for numerics without a bound (the row is then informational).

    Both the exact solution and a backend's recurrences are linear in the input spikes, so the synaptic
    part of a trace is the superposition of one PSP per arrival (same grid arrival on both sides, the
    rule :meth:`models.spec.SpikeInput.arrivals` every adapter follows), and its error is the sum of the
    per-spike errors. Each per-spike error is bounded by :func:`comparisons.variants.psp_tolerance` for
    its weight, and that bound is linear in the weight (rounding aside: ``"exact"`` -- cancellation of a
    propagator written with ``1/(tau_m - tau_syn)``, ``4 eps/(dt |1/tau_syn - 1/tau_m|)`` of the peak;
    ``"euler"`` -- Euler's exact truncation error of the PSP; ``"step-average"`` (Nengo) -- ``|P21'/P21 -
    1|`` of the peak): so the sum is ``psp_tolerance`` evaluated once at the total weight ``sum |w_j|``
    (:func:`input_weight`). Its rounding term is counted on top of the plain bound's: the drive's and
    the synapse's integrations round separately."""
    weight = input_weight(spec, drive)
    if weight == 0.0:
        return 0.0
    if synapse is None:
        return None
    k = np.arange(drive.n_steps + 1)
    return model_variants.psp_tolerance(spec, weight, drive.dt, k, synapse, v_scale)


_RANK = {"exact": 0, "linear": 1, "phase": 2, "grid": 3}


def _kind(c: Comparison, backend: str) -> str:
    """Timing class of a backend as the comparison runs it (its method and options), from the conventions of
    its contract (:func:`models.conventions.timing_class`); the closed form is exact, a backend without a
    twin is taken as grid-locked."""
    if backend == CLOSED_FORM:
        return "exact"
    twin = contract.twin_of(c.module_name(backend), settings_for(c, backend, c.dt, c.n_steps, True))
    return twin.timing if twin is not None else "grid"


def _pair_kind(c: Comparison, a: str, b: str) -> str:
    """The coarser timing class of a pair: it decides how far their spike counts may differ."""
    return max(_kind(c, a), _kind(c, b), key=_RANK.__getitem__)


def _stimulus_metrics(c: Comparison, variant: Variant, stim, drive: Drive, outcome: Outcome) -> None:
    label = f"{stim.name} [{variant.label}]" if variant.label else stim.name
    spec = variant.spec
    exact = outcome.exact[(variant.label, stim.name)]
    bounds = {CLOSED_FORM: Bounds(0.0, 0.0, 0.0)}
    results = {CLOSED_FORM: exact}
    for name in variant.backends:
        run = outcome.runs.get((variant.label, stim.name, name))
        if run is not None and run.result is not None:
            results[name] = run.result
            bounds[name] = _bounds(c, spec, name, drive, exact, run.result)
    _ground_truth(c, label, spec, drive, exact, outcome)
    for name in variant.backends:
        if name in results:
            settings = settings_for(c, name, drive.dt, drive.n_steps, True)
            outcome.metric_rows.extend(contract.contract_rows(label, name, spec, drive, settings, results[name],
                                                              c.module_name(name)))
    pairs = [(name, CLOSED_FORM) for name in results if name != CLOSED_FORM]
    if "reference" in results:
        pairs += [(name, "reference") for name in results if name not in (CLOSED_FORM, "reference")]
    for name, ref in pairs:
        _pair_metrics(c, spec, label, stim, drive, name, ref, results, bounds, outcome)


def _ground_truth(c, label, spec, drive, exact, outcome) -> None:
    """The closed form itself checked in every run: its spike times against the analytic solution of the
    same sampled input, segment by segment (:func:`reference.closed_forms.piecewise_spike_times`, code
    independent of the engine that builds the closed form's trace), within
    :func:`comparisons.tolerances.crossing_time_bounds`.

    A synaptic cell with input spikes has no such analytic spike times; its closed form
    (:func:`reference.synaptic.exact_solution`) is checked up to its first spike against the
    superposition ``V = V_plain(t_k) + sum_j psp(w_j, t_k - t_j)`` (:func:`synaptic_ground_truth`). Without
    input spikes its synaptic current is zero and the plain analytic solution applies; reset by
    subtraction has the plain closed form (see :func:`closed_form`)."""
    if input_weight(spec, drive) > 0:
        synaptic_ground_truth(c, label, spec, drive, exact, outcome)
        return
    truth = cf.piecewise_spike_times(spec, drive.column(0), drive.dt)
    mine = exact.spike_trains()[0]
    _row(outcome, label, CLOSED_FORM, "analytic", "closed_form_spike_count_diff", abs(mine.size - truth.size),
         "1", _override(c, "closed_form_spike_count_diff", 0.0))
    n = min(mine.size, truth.size)
    if n:
        segment = np.clip(np.ceil(truth[:n] / drive.dt - contract.STEP_EPS).astype(int) - 1, 0, drive.n_steps - 1)
        slopes = cf.threshold_slope(spec, drive.column(0)[segment])
        v_scale = float(np.max(np.abs(exact.v))) if exact.v is not None else abs(spec.V_reset)
        bound = T.crossing_time_bounds(spec, slopes, truth[:n], drive.n_steps, v_scale)
        _row(outcome, label, CLOSED_FORM, "analytic", "closed_form_spike_time_bound_ratio",
             float(np.max(np.abs(mine[:n] - truth[:n]) / bound)), "1",
             _override(c, "closed_form_spike_time_bound_ratio", 1.0))


def synaptic_ground_truth(c, label, spec, drive, exact, outcome) -> None:
    """``closed_form_prespike_max_abs``: the synaptic closed form before its first spike against the
    analytic superposition of the plain cell's held-input solution
    (:func:`reference.closed_forms.held_subthreshold`) and one PSP per grid arrival
    (:func:`reference.closed_forms.psp`), independent of the exact solver's joint formula; tolerance the
    exact synaptic bound (:func:`synaptic_trace_bound` with ``"exact"``) plus the plain rounding."""
    dt, n = drive.dt, drive.n_steps
    t = exact.t
    first = exact.spike_trains()[0]
    pre = t < (first[0] if first.size else math.inf)
    analytic = cf.held_subthreshold(spec, drive.column(0), dt)
    arrivals = spec.spike_input.arrivals(dt, n)
    for j in np.flatnonzero(arrivals):
        analytic = analytic + cf.psp(spec, spec.spike_input.weight * arrivals[j], t - j * dt)
    v_scale = float(np.max(np.abs(exact.v)))
    error = float(np.max(np.abs(exact.v[pre, 0] - analytic[pre]))) if pre.any() else 0.0
    bound = T.rounding(n, v_scale) + synaptic_trace_bound(spec, drive, "exact", v_scale)
    _row(outcome, label, CLOSED_FORM, "analytic", "closed_form_prespike_max_abs", error, "V",
         _override(c, "closed_form_prespike_max_abs", bound))


def first_crossing_margin(spec: LIFSpec, drive: Drive, exact: Result) -> float:
    """How far (V) the exact solution stays from the threshold on the grid around its first crossing
    ``t_c`` in ``(t_k-1, t_k]``: the smaller of ``V_th - max(V(t_0..t_k-1))`` (no grid point before it
    reaches the threshold) and ``V_free(t_k) - V_th``, the exact solution at ``t_k`` without the reset
    (the grid point after the crossing is above the threshold). A synaptic current can lift ``V`` through
    the threshold and back within one step, or graze it at a grid point: there a grid rule legitimately
    fires steps later or earlier than ``t_c``. When the margin exceeds a backend's trace bound, its
    trajectory is on the same side of the threshold as the exact one at every grid point up to ``t_k``,
    so its first spike is stamped within one step of ``t_c`` (its timing class's bound). Infinite without
    a crossing."""
    train = exact.spike_trains()[0]
    if not train.size:
        return math.inf
    dt = drive.dt
    k = int(np.clip(math.ceil(train[0] / dt - contract.STEP_EPS), 1, drive.n_steps))
    v0 = float(exact.v[k - 1, 0])
    vi = spec.E_L + spec.R * float(drive.column(0)[k - 1])
    i_k = float(exact.extra["i_syn"][k - 1] + synaptic.jumps(spec, dt, drive.n_steps)[k - 1]) \
        if spec.tau_syn is not None else 0.0
    p_syn = synaptic.p21(spec, dt) if spec.tau_syn is not None else 0.0
    v_free = vi + (v0 - vi) * math.exp(-dt / spec.tau_m) + p_syn * i_k
    return min(spec.V_th - float(np.max(exact.v[:k, 0])), v_free - spec.V_th)


def _pair_metrics(c, spec, label, stim, drive, name, ref, results, bounds, outcome) -> None:
    """Trace and spike rows of one pair. For a synaptic cell with input spikes (the drive is then not
    piecewise constant): the prespike bound adds :func:`synaptic_trace_bound`; the first-spike verdict
    holds only when :func:`first_crossing_margin` exceeds the pair's trace bounds; spike counts and rates
    are informational, as for any stimulus that is not piecewise constant (the one-step-per-interval drift
    of the grid classes is derived for constant input between resets)."""
    a, b = results[name], results[ref]
    ba, bb = bounds[name], bounds[ref]
    dt = drive.dt
    window = spec.t_ref + SUBTHRESHOLD_WINDOW_STEPS * dt
    ta, tb = a.spike_trains()[0], b.spike_trains()[0]
    for metric, value, unit in M.metric_tuples(M.trace_values(a.t, a.v[:, 0], b.v[:, 0], ta, tb, window)):
        _row(outcome, label, name, ref, metric, value, unit)
    first = min([x[0] for x in (ta, tb) if x.size] + [a.t[-1] + dt])
    pre = a.t < first
    prespike = float(np.max(np.abs(a.v[pre, 0] - b.v[pre, 0]))) if pre.any() else 0.0
    trace_tol = None if ba.trace is None or bb.trace is None else ba.trace + bb.trace
    _row(outcome, label, name, ref, "trace_max_abs_prespike", prespike, "V",
         _override(c, "trace_max_abs_prespike", trace_tol) if trace_tol is not None
         else c.tolerances.get("trace_max_abs_prespike"))
    inputs = input_weight(spec, drive) > 0
    lat = M.first_spike_latency_diff(ta, tb)
    seen = not inputs or (trace_tol is not None
                          and first_crossing_margin(spec, drive, results[CLOSED_FORM]) > trace_tol)
    _row(outcome, label, name, ref, "first_spike_latency_diff", abs(lat) if np.isfinite(lat) else
         (0.0 if ta.size == tb.size == 0 else math.inf), "s",
         _override(c, "first_spike_latency_diff", ba.latency + bb.latency) if seen
         else c.tolerances.get("first_spike_latency_diff"))
    exact_train = results[CLOSED_FORM].spike_trains()[0]
    isi_min = float(np.min(np.diff(exact_train))) if exact_train.size > 1 else math.inf
    kind = _pair_kind(c, name, ref)
    per_isi = ba.per_isi + bb.per_isi
    count_tol = T.count_bound(kind, exact_train.size, per_isi, isi_min)
    diff = float(ta.size - tb.size)
    short = int(np.sum(~T.resolvable(np.diff(exact_train), per_isi))) if kind != "exact" else 0
    held = stim.piecewise_constant and not inputs
    if ref == CLOSED_FORM and held:
        _row(outcome, label, name, ref, "isi_beyond_resolution", short, "1",
             _override(c, "isi_beyond_resolution", 0.0))
    verdict = held and short == 0
    _row(outcome, label, name, ref, "spike_count", ta.size, "1")
    _row(outcome, label, name, ref, "spike_count_diff", abs(diff), "1",
         _override(c, "spike_count_diff", count_tol) if verdict else None)
    _row(outcome, label, name, ref, "rate_abs_error", abs(diff) / drive.duration, "Hz",
         _override(c, "rate_abs_error", count_tol / drive.duration) if verdict else None)
    _row(outcome, label, name, ref, "rate_rel_error",
         abs(diff) / tb.size if tb.size else (0.0 if ta.size == 0 else math.inf), "1")
    match_window = max(ba.latency + bb.latency, 2 * dt) + exact_train.size * (ba.per_isi + bb.per_isi)
    for metric, value, unit in M.metric_tuples(M.spike_match_values(ta, tb, match_window, dt)):
        _row(outcome, label, name, ref, metric, value, unit)
    tau_vr = cf.time_scale(spec)   # tau_m; without leak t_ref (or 10 ms)
    _row(outcome, label, name, ref, "van_rossum", M.van_rossum(ta, tb, tau_vr), "1")
    _row(outcome, label, name, ref, "victor_purpura", M.victor_purpura(ta, tb, 1.0 / dt), "1")


def _fi_metrics(c, spec, name, currents, rates, analytic, outcome, study="fi_curve") -> None:
    fi = c.fi
    kind = _kind(c, name)
    n_exact = np.array([cf.spike_times(spec, float(i), fi.duration).size for i in currents])
    resolved = n_exact >= 3
    t_free = np.where(resolved, cf.free_time(spec, currents), 0.0)
    per_isi = np.array([T.isi_bound(kind, c.method, fi.dt, spec, float(tf), int(max(n - 1, 1)), fi.duration)
                        for tf, n in zip(t_free, n_exact)])
    isi = np.where(resolved, cf.isi(spec, currents), np.inf)
    beyond = resolved & ~T.resolvable(isi, per_isi)
    resolved &= ~beyond
    bound = T.rate_bound(isi, per_isi)
    outcome.metric_rows.extend(limits.large_current_rows(study, name, CLOSED_FORM, spec, currents, rates, per_isi,
                                                         resolved, c.tolerances.get("large_current_limit_diff")))
    err = np.abs(rates - analytic)
    if resolved.any():
        for metric, value, unit in M.fi_metrics(currents[resolved], rates[resolved],
                                                analytic[resolved]).itertuples(index=False):
            _row(outcome, study, name, CLOSED_FORM, metric, value, unit)
    ratio = float(np.max(err[resolved] / bound[resolved])) if resolved.any() else 0.0
    _row(outcome, study, name, CLOSED_FORM, "fi_worst_bound_ratio", ratio, "1",
         _override(c, "fi_worst_bound_ratio", 1.0))
    _row(outcome, study, name, CLOSED_FORM, "fi_unresolved_currents", int(np.sum(~resolved)), "1")
    _row(outcome, study, name, CLOSED_FORM, "fi_currents_beyond_resolution", int(np.sum(beyond)), "1",
         _override(c, "fi_currents_beyond_resolution", 0.0))
    _fi_grid_interval(c, spec, name, currents, rates, n_exact, outcome, study)
    step = (fi.I_max - fi.I_min) / (fi.num - 1)
    if fi.I_min <= spec.rheobase < fi.I_max:
        found = M.rheobase_found(currents, rates)
        drift = 2 * T.isi_bound(kind, c.method, fi.dt, spec, fi.duration, 1, fi.duration)
        i_eff = T.effective_rheobase(spec, max(fi.duration - drift, fi.dt))
        tol = step + (i_eff - spec.rheobase)
        # a sweep too short for any current to fire twice (i_eff infinite) cannot locate the rheobase:
        # the row is informational, never a pass against an infinite tolerance
        _row(outcome, study, name, CLOSED_FORM, "rheobase_error",
             abs(found - spec.rheobase) if np.isfinite(found) else math.inf, "A",
             _override(c, "rheobase_error", tol) if math.isfinite(tol) else c.tolerances.get("rheobase_error"))
    if spec.t_ref > 0:
        _row(outcome, study, name, CLOSED_FORM, "fi_saturation_excess", M.saturation_excess(rates, spec.t_ref), "Hz",
             _override(c, "fi_saturation_excess", 0.0))


def _fi_grid_interval(c, spec, name, currents, rates, n_exact, outcome, study="fi_curve") -> None:
    """For a backend whose written rule locks spikes to the grid and resets to a value: every measured
    mean ISI inside the exact interval of its rule, :func:`comparisons.tolerances.grid_isi_interval` (a
    one-sided bound around the closed form, whose sign the rule decides)."""
    fi = c.fi
    twin = contract.twin_of(c.module_name(name), settings_for(c, name, fi.dt, fi.n_steps, False))
    if twin is None:
        return
    rule = twin.conventions_for(spec)
    if rule.crossing != "grid" or rule.reset != "value":
        return
    fired = (n_exact >= 3) & (rates > 0)
    hold = hold_steps(spec.t_ref, fi.dt, rule.refractory)
    lo, hi = T.grid_isi_interval(spec, cf.free_time(spec, currents[fired]), fi.dt, hold, rule.integrator)
    slack = T.time_rounding(fi.duration, fi.n_steps)
    _row(outcome, study, name, CLOSED_FORM, "fi_isi_grid_interval_ratio",
         verdicts.interval_ratio(1.0 / rates[fired], lo - slack, hi + slack), "1",
         _override(c, "fi_isi_grid_interval_ratio", 1.0))


#: Closed-form spikes within a convergence study before its ISI verdict judges a backend: with three, the
#: second spike comes at least one whole ISI before the end of the run, so a backend within its per-spike
#: bounds (a few steps) has at least one interval; with fewer, a correct backend may have none (the same
#: count as the f-I grid interval's, ``n_exact >= 3``).
CONVERGENCE_MIN_EXACT_SPIKES = 3


def _convergence_point(c, spec, name, dt, result):
    conv = c.convergence
    kind = _kind(c, name)
    train = result.spike_trains()[0]
    exact_isi = float(cf.isi(spec, conv.current))
    n = train.size
    isi_err = abs(float(np.mean(np.diff(train))) - exact_isi) if n >= 2 else math.nan
    isi_tol = T.isi_bound(kind, c.method, dt, spec, float(cf.free_time(spec, conv.current)), max(n - 1, 1),
                          conv.duration)
    t_first = float(cf.first_spike_latency(spec, conv.current))
    stop = min([t_first] + ([train[0]] if n else []))
    pre = result.t < stop
    closed = cf.subthreshold(spec, result.t[pre], conv.current)
    trace_err = float(np.max(np.abs(result.v[pre, 0] - closed))) if pre.any() else 0.0
    v_scale = max(abs(spec.V_th), abs(spec.V_init), abs(spec.E_L))
    tv = abs(spec.V_init - float(cf.v_inf(spec, conv.current))) if spec.leak else 0.0  # no Euler term
    trace_tol = T.trace_bound(c.method, dt, spec, int(round(conv.duration / dt)), v_scale, tv)
    return name, dt, isi_err, isi_tol, trace_err, trace_tol


def _convergence_metrics(c, name, points, outcome, study="convergence", judged=True) -> None:
    """The study's rows from its points ``(label, dt, isi_err, isi_tol, trace_err, trace_tol)``. The ISI
    verdict judges a backend only when the closed form fires :data:`CONVERGENCE_MIN_EXACT_SPIKES` times in
    the study (``judged``); a run without an interval there (``isi_err`` NaN) then counts as an infinite
    error. Otherwise the row is informational (NaN): the study cannot measure an interval."""
    outcome.convergence_rows.extend([list(p) for p in points])
    dts = np.array([p[1] for p in points])
    isi_err = np.array([p[2] for p in points])
    if judged:
        ratio = float(np.max(np.where(np.isnan(isi_err), np.inf, isi_err / np.array([p[3] for p in points]))))
        _row(outcome, study, name, CLOSED_FORM, "convergence_isi_bound_ratio", ratio, "1",
             _override(c, "convergence_isi_bound_ratio", 1.0))
    else:
        _row(outcome, study, name, CLOSED_FORM, "convergence_isi_bound_ratio", math.nan, "1")
    trace_err = np.array([p[4] for p in points])
    trace_tol = np.array([p[5] for p in points])
    if np.all(isi_err > 0) and np.all(np.isfinite(isi_err)):
        order, stderr = M.convergence_order(dts, isi_err)
        _row(outcome, study, name, CLOSED_FORM, "convergence_isi_order", order, "1")
        _row(outcome, study, name, CLOSED_FORM, "convergence_isi_order_stderr", stderr, "1")
    if c.method == "euler" and c.spec.leak:   # without leak Euler is the exact update: bounds, no order
        order, stderr = M.convergence_order(dts, trace_err)
        _row(outcome, study, name, CLOSED_FORM, "convergence_trace_order", order, "1")
        _row(outcome, study, name, CLOSED_FORM, "convergence_order_deviation", abs(order - 1.0), "1",
             _override(c, "convergence_order_deviation", max(0.1, 3 * stderr)))
    else:
        _row(outcome, study, name, CLOSED_FORM, "convergence_trace_bound_ratio",
             float(np.max(trace_err / trace_tol)), "1", _override(c, "convergence_trace_bound_ratio", 1.0))
