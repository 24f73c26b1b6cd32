"""Comparisons of the model variants (synaptic current, white noise, reset by subtraction), as metric rows in
the harness's format ``[stimulus, backend, reference, metric, value, unit, tolerance, passed]`` (tolerance a
float and passed ``"True"``/``"False"`` on verdict rows, ``""`` for both on informational rows) plus tidy
tables for the report.

Three comparisons, each a function of the specification, a list of backend names and the grid:

:func:`psp_comparison`
    The postsynaptic potential to one input spike from rest against the closed form
    (:func:`reference.closed_forms.psp`). Tolerance from the numerics each backend declares in
    ``Result.extra["variant"]["synapse"]``: ``"exact"`` -- rounding (64 eps per step of the largest |V|) plus
    the cancellation of a propagator written with ``1/(tau_m - tau_syn)``, ``4 eps/(dt |1/tau_syn - 1/tau_m|)``
    of the peak; ``"euler"`` -- Euler's exact truncation error ``max_k |psp_euler(k) - psp(t_k)|`` (closed form
    of the recurrence) plus rounding; ``"step-average"`` (Nengo) -- ``|P21'/P21 - 1|`` of the peak plus
    rounding. Every adapter maps the arrival to the grid point of the specification (Brian2 and NEST
    generate each spike one step early, Nengo emits it one step early), so no delay enters the bound.
:func:`noise_comparison`
    Statistics only, never traces. (a) Mean rate of N independent neurons (one run, each neuron its own
    noise) against Siegert's rate of the backend's sampled chain with the threshold raised by
    ``0.5826 q`` (:func:`reference.closed_forms.grid_rate`); tolerance: the 99 % confidence half-width
    ``2.576 sd/sqrt(N)`` of the per-neuron rates plus ``r^2 dt/(1 - r dt)``, one step per interspike
    interval for the O(dt) effects the correction leaves out (spike stamp, dead-time rounding, the drift
    part of the overshoot). (b) Free-membrane variance (threshold far away) at K sample times ``2 tau_m``
    apart after ``5 tau_m`` against the variance of the backend's discretisation
    (:func:`reference.closed_forms.free_variance_after`); tolerance: the 99 % Student-t half-width of the K
    per-sample variances. (c) Pooled interspike intervals against the reference's with the same
    discretisation (two-sample Kolmogorov--Smirnov); verdict ``D <= c(0.01) sqrt((n + m)/(n m))``,
    ``c(0.01) = 1.628`` (the 1 % critical value), p-value as information.
:func:`reset_comparison`
    Reset by subtraction next to reset to a value on a population of constant currents at several dt.
    Both rules share the dead time D; a value-reset interval lies in ``(D + T, D + T + dt]``, a subtractive
    one in ``(D + T - dt, D + T + dt]`` (the overshoot left after subtracting is below one step's increment,
    which saves at most one step), so ``|rate difference| <= 2 dt / L^2`` with ``L = t_ref + T_free - 2 dt``
    (``T_free/lambda`` for Euler): the difference is O(dt). Rows give both rates' errors against the closed
    form, the mean difference, the bound ratio (verdict <= 1) and, as information, the fitted order of the
    mean difference against dt (for constant input the difference is a sawtooth in dt: the fit scatters
    around 1 and is no verdict).

Backends that cannot represent a comparison's cell are retried on the same cell with ``t_ref = 0`` (or
``t_ref = dt``) when that cannot change the quantity (the PSP from rest never reaches threshold) or is
predicted separately (rates use each run's own dead time); such rows carry the label, e.g. ``[t_ref=0]``. What stays refused is listed in
:attr:`VariantResult.refused` with the backend's reason.

The harness includes these rows with ``outcome.metric_rows.extend(variants.metric_rows(comparison,
outcome))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import backends
from models.drive import Drive
from models.errors import BackendFailure, ComparisonError, NotRepresentable
from models.result import CLOSED_FORM, Result, RunSettings
from models.spec import LIFSpec, SpikeInput
from reference import closed_forms as cf

from . import metrics as M
from . import tolerances as T
from . import verdicts
from .execution import Executor, Job, require_finite
from .verdicts import row

REFERENCE = "reference"
EPS = np.finfo(float).eps

#: Two-sided 99 % normal quantile: confidence intervals of means over independent neurons.
Z99 = float(stats.norm.ppf(0.995))
#: Kolmogorov--Smirnov significance of the ISI verdicts and its asymptotic critical constant
#: ``c(alpha) = sqrt(-ln(alpha/2)/2)``.
KS_ALPHA = 0.01
KS_C = math.sqrt(-math.log(KS_ALPHA / 2) / 2)
#: Cancellation allowance of an exact propagator written with ``1/(tau_m - tau_syn)`` (two exps of about
#: one ulp each, doubled): relative error ``CANCELLATION_ULPS eps / (dt |1/tau_syn - 1/tau_m|)``.
CANCELLATION_ULPS = 4
#: PSP amplitude when the specification gives no usable weight: this fraction of V_th - E_L.
PSP_FRACTION = 0.1
#: Free-membrane run: threshold this many free standard deviations above the mean (never reached).
FREE_THRESHOLD_SD = 40.0
#: Free-membrane run: burn-in and spacing of the K samples, in units of tau_m.
FREE_BURN_IN_TAU, FREE_SPACING_TAU, FREE_SAMPLES = 5.0, 2.0, 20
#: Mean rate (Hz) the noise comparison aims at when no current is given (moderate: enough intervals,
#: far from saturation).
NOISE_TARGET_RATE = 10.0
#: Size of the noise statistics in a comparison's report (:func:`run_variant_comparisons`): neurons and
#: duration of the rate run, neurons of the free-membrane run. A cost choice, not a tolerance: every
#: verdict's tolerance is its own confidence interval, which widens as 1/sqrt(N) (about 2000 intervals
#: at 10 Hz; :func:`noise_comparison`'s defaults, 1000 neurons for 2 s, take minutes per report).
REPORT_NEURONS, REPORT_NOISE_DURATION, REPORT_FREE_NEURONS = 200, 1.0, 200
#: Most widenings of :func:`noise_current`'s bracket (each doubles it: 2**200 times 20 free-membrane sds).
MAX_WIDENINGS = 200

@dataclass
class VariantResult:
    """Metric rows, tidy tables, refusals and failures of one or more variant comparisons."""

    rows: list = field(default_factory=list)
    tables: dict = field(default_factory=dict)     # name -> DataFrame
    refused: dict = field(default_factory=dict)    # "comparison: backend" -> reason
    failures: dict = field(default_factory=dict)   # "comparison: backend" -> message

    def extend(self, other: "VariantResult") -> "VariantResult":
        self.rows.extend(other.rows)
        self.tables.update(other.tables)
        self.refused.update(other.refused)
        self.failures.update(other.failures)
        return self

    @property
    def metrics(self) -> pd.DataFrame:
        return verdicts.frame(self.rows)


# ----------------------------------------------------------------------------------------------- running

@dataclass
class Attempt:
    """One backend on one cell: the result (and the label of a ``t_ref = 0`` substitute) or why not."""

    result: Result | None = None
    label: str = ""
    spec: LIFSpec | None = None
    refused: str | None = None
    failed: str | None = None


@dataclass
class Trial:
    """One backend on one cell, as a study plans it: the cell first, then its ``alternatives`` (``(label,
    spec)`` pairs of cells that cannot change the compared quantity, or whose prediction uses their own
    parameters), the first the backend accepts to be run."""

    name: str
    spec: LIFSpec
    drive: Drive
    settings: RunSettings
    alternatives: tuple = ()
    study: str = "model variants"


def executor_for(timeout: float | None, executor: Executor | None = None) -> Executor:
    """The executor a study runs its jobs on: the one given (the harness's), else a new one with
    ``timeout`` (none: in this process)."""
    return executor if executor is not None else Executor(timeout)


def attempts(trials: list[Trial], executor: Executor) -> list[Attempt]:
    """Every trial's :class:`Attempt`, its jobs run together on ``executor``: each backend is asked
    (``representable()``) about its candidates in order and runs the first it accepts; a run that raises
    :class:`NotRepresentable` moves on to the next candidate, in a further batch."""
    out: list = [None] * len(trials)
    reasons: list = [[] for _ in trials]
    position = [0] * len(trials)
    pending = list(range(len(trials)))
    while pending:
        jobs, which = [], []
        for i in pending:
            trial = trials[i]
            module = backends.get(trial.name)
            candidates = [("", trial.spec), *trial.alternatives]
            while position[i] < len(candidates):
                label, cell = candidates[position[i]]
                reason = module.representable(cell, trial.settings)
                if reason is None:
                    break
                reasons[i].append(f"with {label}: {reason}" if label else reason)
                position[i] += 1
            if position[i] == len(candidates):
                unique = list(dict.fromkeys(reasons[i]))
                out[i] = Attempt(refused="; ".join(unique) if unique else "not representable")
                continue
            label, cell = candidates[position[i]]
            jobs.append(Job(trial.name, trial.study, cell, trial.drive, trial.settings,
                            f"{trial.study}: {trial.name}"))
            which.append(i)
        pending = []
        for i, job, done in zip(which, jobs, executor.run(jobs)):
            label = ([("", trials[i].spec), *trials[i].alternatives])[position[i]][0]
            try:
                out[i] = Attempt(require_finite(job.backend, done.get()), label, job.spec)
            except NotRepresentable as exc:
                reasons[i].append(exc.reason)
                position[i] += 1
                pending.append(i)
            except Exception as exc:  # a failing simulator is reported, never fatal to the others
                out[i] = Attempt(failed=exc.reason if isinstance(exc, BackendFailure)
                                 else f"{type(exc).__name__}: {exc}")
    return out


def without_refractory(spec: LIFSpec) -> list:
    """The ``t_ref = 0`` alternative of a cell with a refractory period (none otherwise)."""
    return [("t_ref=0", spec.replace(t_ref=0.0))] if spec.t_ref > 0 else []


def _note(out: VariantResult, comparison: str, name: str, got: Attempt) -> bool:
    """Record a refusal or failure; True when there is a result to compare."""
    if got.refused is not None:
        out.refused[f"{comparison}: {name}"] = got.refused
    if got.failed is not None:
        out.failures[f"{comparison}: {name}"] = got.failed
    return got.result is not None


def _label(base: str, got: Attempt) -> str:
    return f"{base} [{got.label}]" if got.label else base


def numerics(result: Result) -> dict:
    """What the backend declares about its variant numerics (empty for a plain run)."""
    return dict(result.extra.get("variant", {}))


# -------------------------------------------------------------------------------------------------- PSP

def psp_cell(spec: LIFSpec, dt: float, weight: float | None = None) -> tuple[LIFSpec, float, float]:
    """The PSP test cell: ``spec`` from rest (``V_init = E_L``), no noise, one input spike of ``weight`` (A)
    arriving at ``t_a = dt max(2, round(1 ms/dt))`` (NEST needs arrivals after ``t_1``), reset to a value
    (the PSP never reaches threshold, so neither the reset rule nor t_ref can matter); returns
    ``(cell, weight, t_a)``. Without a weight, the specification's if its PSP stays below half the distance
    to threshold, else one whose peak is :data:`PSP_FRACTION` of it.

    Raises
    ------
    ComparisonError
        Without a synapse, or when ``E_L >= V_th`` (no rest to start from).
    """
    if spec.tau_syn is None:
        raise ComparisonError("neuron.tau_syn", "the PSP comparison needs a synaptic time constant")
    if spec.E_L >= spec.V_th:
        raise ComparisonError("neuron.E_L", "the PSP comparison starts from rest, which needs E_L < V_th",
                              f"{spec.E_L!r} V")
    per_amp = abs(cf.psp_peak(spec, 1.0)[1])
    room = spec.V_th - spec.E_L
    if weight is None and spec.spike_input is not None and abs(spec.spike_input.weight) * per_amp < room / 2:
        weight = spec.spike_input.weight
    if weight is None or weight == 0:
        weight = PSP_FRACTION * room / per_amp
    t_a = dt * max(2, round(1e-3 / dt))
    cell = spec.replace(V_init=spec.E_L, sigma=0.0, reset="value",
                        spike_input=SpikeInput(weight=weight, times=(t_a,)))
    return cell, weight, t_a


def psp_tolerance(cell: LIFSpec, weight: float, dt: float, k: np.ndarray, synapse: str | None,
                  v_scale: float) -> float | None:
    """Largest |V - V_closed| (V) allowed by the backend's declared synaptic numerics (module docstring)."""
    exact = cf.psp(cell, weight, k * dt)
    peak = float(np.max(np.abs(exact)))
    rounding = T.rounding(k.size, v_scale)
    if synapse == "exact":
        x = dt * abs(1.0 / cell.tau_syn - 1.0 / cell.tau_m)
        return rounding + (CANCELLATION_ULPS * EPS / x * peak if x > 0 else 0.0)
    if synapse == "euler":
        return float(np.max(np.abs(cf.psp_euler(cell, weight, dt, k) - exact))) + rounding
    if synapse == "step-average":
        return abs(cf.held_psp_ratio(cell, dt) - 1.0) * peak + rounding
    return None


def psp_comparison(spec: LIFSpec, names, dt: float, method: str = "exact", weight: float | None = None,
                   timeout: float | None = None, executor: Executor | None = None) -> VariantResult:
    """PSP of every backend against the closed form; rows with stimulus ``psp`` (see module docstring)."""
    out = VariantResult()
    try:
        cell, weight, t_a = psp_cell(spec, dt, weight)
    except ComparisonError as exc:
        out.refused["psp: all"] = str(exc)
        return out
    n = int(round((t_a + 6 * max(cell.tau_m, cell.tau_syn)) / dt))
    drive = Drive.constant([0.0], dt, n)
    settings = RunSettings(dt=dt, n_steps=n, method=method, record_v=True)
    t = np.arange(n + 1) * dt
    closed = cf.psp(cell, weight, t - t_a)
    frames = [pd.DataFrame({"backend": CLOSED_FORM, "t_s": t, "v_minus_E_L_V": closed})]
    alternatives = without_refractory(cell) or [(f"t_ref={dt * 1e3:g} ms", cell.replace(t_ref=dt))]
    trials = [Trial(name, cell, drive, settings, tuple(alternatives), "psp") for name in names]
    for name, got in zip(names, attempts(trials, executor_for(timeout, executor))):
        if not _note(out, "psp", name, got):
            continue
        y = got.result.v[:, 0] - got.spec.E_L
        frames.append(pd.DataFrame({"backend": name, "t_s": t, "v_minus_E_L_V": y}))
        out.rows.extend(_psp_rows(_label("psp", got), name, got, weight, t_a, dt, y, closed))
    out.tables["psp"] = pd.concat(frames, ignore_index=True)
    return out


def _psp_rows(label, name, got: Attempt, weight, t_a, dt, y, closed) -> list:
    k = np.arange(y.size) - round(t_a / dt)
    k = np.maximum(k, 0)
    error = float(np.max(np.abs(y - closed)))
    peak = float(np.max(np.abs(closed)))
    v_scale = float(np.max(np.abs(got.result.v)))
    tol = psp_tolerance(got.spec, weight, dt, k, numerics(got.result).get("synapse"), v_scale)
    got_peak = float(y[np.argmax(np.abs(y))])
    return [row(label, name, CLOSED_FORM, "psp_max_abs_error", error, "V", tol),
            row(label, name, CLOSED_FORM, "psp_rel_error", error / peak, "1"),
            row(label, name, CLOSED_FORM, "psp_peak", got_peak, "V"),
            row(label, name, CLOSED_FORM, "psp_peak_rel_error", abs(abs(got_peak) - peak) / peak, "1"),
            row(label, name, CLOSED_FORM, "psp_weight", weight, "A")]


# ------------------------------------------------------------------------------------------------ noise

def noise_cell(spec: LIFSpec) -> LIFSpec:
    """The cell of the noise statistics: ``spec`` without synapse, reset to a value (Siegert's model)."""
    return spec.replace(tau_syn=None, spike_input=None, reset="value")


def noise_current(spec: LIFSpec, dt: float, rate: float = NOISE_TARGET_RATE) -> float:
    """Mean current (A) at which the grid-corrected Siegert rate of the exact chain is ``rate`` (Hz).

    The rate rises monotonically with the current from 0 to the saturation ``1/dead`` (dead = the grid's
    ``round(t_ref/dt) dt``), whatever the sign of the rheobase; a target at or beyond the saturation is
    replaced by half of it, so the bracket's widening (doubling, at most :data:`MAX_WIDENINGS` times)
    always ends."""
    from scipy.optimize import brentq

    cell = noise_cell(spec)
    dead = round(cell.t_ref / dt) * dt
    if dead > 0 and rate * dead >= 1.0:
        rate = 0.5 / dead

    def excess(current):
        return cf.grid_rate(cell, current, dt, "zoh", dead) - rate
    lo, hi = cell.rheobase - 10 * cell.free_sd / cell.R, cell.rheobase + 10 * cell.free_sd / cell.R
    for _ in range(MAX_WIDENINGS):
        if excess(hi) >= 0 and excess(lo) <= 0:
            break
        width = hi - lo
        if excess(hi) < 0:
            hi += width
        else:
            lo -= width
    else:
        raise ValueError(f"noise_current: no current in [{lo!r}, {hi!r}] A fires at {rate!r} Hz")
    return float(brentq(excess, lo, hi, xtol=1e-6 * abs(cell.free_sd / cell.R) + 1e-30))


def dead_time(spec: LIFSpec, dt: float) -> float:
    """Dead time (s) of the grid rule: ``round(t_ref/dt) dt``."""
    return round(spec.t_ref / dt) * dt


def pooled_isis(result: Result, t_start: float) -> np.ndarray:
    """Interspike intervals (s) of every neuron, both spikes after ``t_start``, pooled."""
    return np.concatenate([np.diff(x[x > t_start]) for x in result.spike_trains()] + [np.empty(0)])


def window_rates(result: Result, t_start: float, t_stop: float) -> np.ndarray:
    """Per-neuron rate (Hz) counted in ``(t_start, t_stop]``, shape (N,)."""
    return np.array([np.sum((x > t_start) & (x <= t_stop)) for x in result.spike_trains()]) / (t_stop - t_start)


def noise_comparison(spec: LIFSpec, names, dt: float, method: str = "exact", current: float | None = None,
                     n_neurons: int = 1000, duration: float = 2.0, burn_in: float | None = None,
                     n_free: int = 500, timeout: float | None = None,
                     executor: Executor | None = None) -> VariantResult:
    """Rate, free-membrane variance and ISI distribution of every backend (see the module docstring). The
    rate runs and the free-membrane runs go to the executor together, then the reference runs the ISI
    tests need (the discretisation each backend declares decides which)."""
    out = VariantResult()
    executor = executor_for(timeout, executor)
    if spec.sigma == 0:
        out.refused["noise: all"] = "neuron.sigma is 0: no noise to compare"
        return out
    cell = noise_cell(spec)
    current = noise_current(cell, dt) if current is None else float(current)
    burn_in = max(0.2, 5 * cell.tau_m) if burn_in is None else burn_in
    n = int(round(duration / dt))
    drive = Drive.constant(np.full(n_neurons, current), dt, n)
    settings = RunSettings(dt=dt, n_steps=n, method=method, record_v=False)
    free, free_drive, free_settings, steps = _free_workload(cell, dt, method, current, n_free)
    trials = [Trial(name, cell, drive, settings, tuple(without_refractory(cell)), "noise") for name in names]
    trials += [Trial(name, free, free_drive, free_settings, tuple(without_refractory(free)), "noise_free_membrane")
               for name in names]
    got = attempts(trials, executor)
    rated, freed = got[:len(names)], got[len(names):]
    references = _isi_references(names, rated, drive, settings, executor)
    rates = _noise_rates(out, cell, names, rated, references, dt, current, settings, burn_in, duration)
    out.tables["noise_rate"] = pd.DataFrame(rates, columns=[
        "backend", "label", "noise", "dt_s", "current_A", "n_neurons", "noise_seed", "rate_hz", "ci99_hz",
        "predicted_hz", "siegert_hz"])
    variances = _free_variance(out, cell, names, freed, dt, current, n_free, steps)
    out.tables["noise_free_variance"] = pd.DataFrame(variances, columns=[
        "backend", "label", "noise", "dt_s", "n_neurons", "variance_V2", "ci99_V2", "predicted_V2",
        "continuous_V2"])
    return out


def _isi_method(disc: str) -> str:
    """The reference's method with the same discretisation of the noise as a backend's."""
    return "exact" if disc == "zoh" else "euler"


def _isi_references(names, rated: list[Attempt], drive: Drive, settings: RunSettings,
                    executor: Executor) -> dict:
    """The reference runs the ISI tests compare with, one per (substitute label, discretisation) that some
    backend's rate run needs (the reference itself needs none at its own method), run together."""
    keys = {}
    for name, got in zip(names, rated):
        disc = numerics(got.result).get("noise") if got.result is not None else None
        if not disc or (name == REFERENCE and settings.method == _isi_method(disc)):
            continue
        keys.setdefault((got.label, disc), got.spec)
    trials = [Trial(REFERENCE, spec, drive, RunSettings(settings.dt, settings.n_steps, _isi_method(disc),
                                                        record_v=False), study="noise_isi")
              for (_, disc), spec in keys.items()]
    return {key: got.result for key, got in zip(keys, attempts(trials, executor))}


def _noise_rates(out, cell, names, rated, references, dt, current, settings, burn_in, duration) -> list:
    table = []
    for name, got in zip(names, rated):
        if not _note(out, "noise", name, got):
            continue
        disc = numerics(got.result).get("noise")
        label = _label("noise_rate", got)
        rates = window_rates(got.result, burn_in, duration)
        mean, ci = float(np.mean(rates)), Z99 * float(np.std(rates, ddof=1)) / math.sqrt(rates.size)
        predicted = cf.grid_rate(got.spec, current, dt, disc, dead_time(got.spec, dt)) if disc else math.nan
        siegert = cf.siegert_rate(got.spec, current)
        grid = predicted ** 2 * dt / max(1.0 - predicted * dt, 1e-12)
        error = abs(mean - predicted)
        out.rows.extend([
            row(label, name, CLOSED_FORM, "noise_rate", mean, "Hz"),
            row(label, name, CLOSED_FORM, "noise_rate_ci99", ci, "Hz"),
            row(label, name, CLOSED_FORM, "noise_rate_predicted", predicted, "Hz"),
            row(label, name, CLOSED_FORM, "noise_rate_error", error, "Hz", ci + grid if disc else None),
            row(label, name, CLOSED_FORM, "noise_rate_error_in_ci", error / ci if ci > 0 else math.inf, "1"),
            row(label, name, CLOSED_FORM, "noise_rate_siegert_continuous", siegert, "Hz"),
            row(label, name, CLOSED_FORM, "noise_neurons", rates.size, "1"),
            row(label, name, CLOSED_FORM, "noise_seed", got.spec.noise_seed, "1")])
        table.append([name, got.label, disc, dt, current, rates.size, got.spec.noise_seed, mean, ci, predicted,
                      siegert])
        if disc and not (name == REFERENCE and settings.method == _isi_method(disc)):
            _isi_rows(out, name, got, disc, references.get((got.label, disc)), burn_in)
    return table


def _isi_rows(out, name, got: Attempt, disc, ref, burn_in) -> None:
    """KS test of the backend's pooled ISIs against the reference's with the same discretisation."""
    if ref is None:
        return
    a, b = pooled_isis(got.result, burn_in), pooled_isis(ref, burn_in)
    if a.size < 2 or b.size < 2:
        return
    test = stats.ks_2samp(a, b)
    critical = KS_C * math.sqrt((a.size + b.size) / (a.size * b.size))
    label = _label("noise_isi", got)
    reference = f"{REFERENCE} ({_isi_method(disc)})"
    out.rows.extend([
        row(label, name, reference, "isi_ks_statistic", test.statistic, "1", critical),
        row(label, name, reference, "isi_ks_pvalue", test.pvalue, "1"),
        row(label, name, reference, "isi_mean_diff", float(np.mean(a) - np.mean(b)), "s"),
        row(label, name, reference, "isi_count", a.size, "1"),
        row(label, name, reference, "isi_count_reference", b.size, "1")])


def free_samples(tau_m: float, dt: float) -> np.ndarray:
    """Sample steps of the free-membrane variance: after ``5 tau_m``, every ``2 tau_m``, K of them."""
    start, spacing = round(FREE_BURN_IN_TAU * tau_m / dt), max(1, round(FREE_SPACING_TAU * tau_m / dt))
    return start + spacing * np.arange(FREE_SAMPLES)


def _free_workload(cell, dt, method, current, n_free):
    """The free-membrane run (threshold far away): its cell, drive, settings and sample steps."""
    steps = free_samples(cell.tau_m, dt)
    n = int(steps[-1])
    mean = cell.E_L + cell.R * current
    free = cell.replace(V_th=max(mean, cell.V_th) + FREE_THRESHOLD_SD * cell.free_sd, V_init=cell.E_L)
    drive = Drive.constant(np.full(n_free, current), dt, n)
    return free, drive, RunSettings(dt=dt, n_steps=n, method=method, record_v=True), steps


def _free_variance(out, cell, names, freed, dt, current, n_free, steps) -> list:
    """Variance of the free membrane (threshold far away) at K sample times, against the prediction."""
    mean = cell.E_L + cell.R * current
    table = []
    for name, got in zip(names, freed):
        if not _note(out, "noise_free_membrane", name, got):
            continue
        disc = numerics(got.result).get("noise")
        per_sample = np.var(got.result.v[steps], axis=1, ddof=1)
        measured = float(np.mean(per_sample))
        ci = float(stats.t.ppf(0.995, steps.size - 1) * np.std(per_sample, ddof=1) / math.sqrt(steps.size))
        predicted = float(np.mean(cf.free_variance_after(got.spec, dt, disc, steps))) if disc else math.nan
        label = _label("noise_free_membrane", got)
        spikes = got.result.spike_time.size
        out.rows.extend([
            row(label, name, CLOSED_FORM, "free_variance", measured, "V^2"),
            row(label, name, CLOSED_FORM, "free_variance_ci99", ci, "V^2"),
            row(label, name, CLOSED_FORM, "free_variance_predicted", predicted, "V^2"),
            row(label, name, CLOSED_FORM, "free_variance_error", abs(measured - predicted), "V^2",
                ci if disc else None),
            row(label, name, CLOSED_FORM, "free_variance_over_continuous", measured / cf.free_variance(got.spec),
                "1"),
            row(label, name, CLOSED_FORM, "free_mean_error",
                abs(float(np.mean(got.result.v[steps])) - mean), "V"),
            row(label, name, CLOSED_FORM, "free_spikes", spikes, "1", 0.0)])
        table.append([name, got.label, disc, dt, n_free, measured, ci, predicted, cf.free_variance(got.spec)])
    return table


# ------------------------------------------------------------------------------------------------ reset

def reset_currents(spec: LIFSpec, num: int = 21) -> np.ndarray:
    """Constant currents (A) of the reset comparison: 1.2 to 2 times the rheobase (as
    :func:`reference.closed_forms.relative_current`: above the rheobase for any sign of it)."""
    return cf.relative_current(spec, np.linspace(1.2, 2.0, num))


def reset_bound(spec: LIFSpec, currents, dt: float, method: str) -> np.ndarray:
    """``2 dt / L^2`` (Hz), ``L = t_ref + T_free - 2 dt`` (``T_free/lambda`` for Euler); inf when L <= 0."""
    t_free = np.asarray(cf.free_time(spec, currents), dtype=float)
    if method == "euler":
        t_free = t_free / T.euler_warp(dt, spec.tau_m)
    low = spec.t_ref + t_free - 2 * dt
    return np.where(low > 0, 2 * dt / np.maximum(low, 1e-300) ** 2, np.inf)


#: The reset comparison runs the coarsest dts of the convergence study, this many (the fewest an order
#: fit takes): its bound ``2 dt/L^2`` holds at every dt and for any number of intervals (every interval of
#: either rule lies within its interval of the module docstring, so their mean does), so finer dts and a
#: longer run add cost (snnTorch pays ~250 us per step, Brian2 a compilation per dt), not evidence.
RESET_DTS = 3


def reset_dts(dts) -> list:
    """The :data:`RESET_DTS` coarsest of ``dts``."""
    return sorted(dts, reverse=True)[:RESET_DTS]


def reset_comparison(spec: LIFSpec, names, dts, method: str = "exact", currents=None, duration: float = 1.0,
                     timeout: float | None = None, executor: Executor | None = None) -> VariantResult:
    """Rates with reset to a value and by subtraction at each dt (see the module docstring): every
    subtractive run goes to the executor together, then the reset-to-value runs of the cells they ran."""
    out = VariantResult()
    executor = executor_for(timeout, executor)
    cell = spec.replace(tau_syn=None, spike_input=None, sigma=0.0)
    currents = reset_currents(cell) if currents is None else np.asarray(currents, dtype=float)
    dts = sorted(dts, reverse=True)
    subtract = cell.replace(reset="subtract")
    workloads = []
    for dt in dts:
        n = int(round(duration / dt))
        workloads.append((dt, Drive.constant(currents, dt, n), RunSettings(dt=dt, n_steps=n, method=method,
                                                                          record_v=False)))
    plan = [(name, w) for name in names for w in workloads]
    subtracted = attempts([Trial(name, subtract, drive, settings, tuple(without_refractory(subtract)), "reset")
                           for name, (_, drive, settings) in plan], executor)
    ran = [i for i, got in enumerate(subtracted) if got.result is not None]
    valued = dict(zip(ran, attempts([Trial(plan[i][0], subtracted[i].spec.replace(reset="value"), plan[i][1][1],
                                           plan[i][1][2], study="reset") for i in ran], executor)))
    table = []
    for name in names:
        mine = [(w, subtracted[i], valued.get(i)) for i, (other, w) in enumerate(plan) if other == name]
        points = _reset_points(out, name, mine, method, currents, duration)
        table.extend(points)
        _reset_order_rows(out, name, points)
    out.tables["reset"] = pd.DataFrame(table, columns=[
        "backend", "label", "dt_s", "current_A", "rate_value_hz", "rate_subtract_hz", "rate_exact_hz",
        "bound_hz"])
    return out


def _reset_points(out, name, runs, method, currents, duration) -> list:
    """The rows and table points of one backend, dt by dt (coarsest first), up to its first refusal or
    failure."""
    points = []
    for (dt, _, _), subtract, value in runs:
        if not _note(out, "reset", name, subtract):
            return []
        if not _note(out, "reset", name, value):
            return []
        if numerics(value.result).get("reset", "value") != "value":
            out.refused[f"reset: {name}"] = "its reset-to-value run resets by subtraction (the backend has no " \
                                            "reset to a value)"
            return []
        used = subtract.spec
        r_value = M.stationary_rates(value.result.spike_trains(), duration)
        r_subtract = M.stationary_rates(subtract.result.spike_trains(), duration)
        exact = np.asarray(cf.rate(used, currents), dtype=float)
        bound = reset_bound(used, currents, dt, method)
        label = _label(f"reset dt={dt * 1e3:g} ms", subtract)
        diff = np.abs(r_subtract - r_value)
        out.rows.extend([
            row(label, name, f"{name} (reset to value)", "reset_rate_difference_mean", np.mean(diff), "Hz"),
            row(label, name, f"{name} (reset to value)", "reset_rate_difference_bound_ratio",
                np.max(diff / bound), "1", 1.0),
            row(label, name, CLOSED_FORM, "reset_value_rate_mean_abs_error", np.mean(np.abs(r_value - exact)), "Hz"),
            row(label, name, CLOSED_FORM, "reset_subtract_rate_mean_abs_error",
                np.mean(np.abs(r_subtract - exact)), "Hz")])
        points.extend([name, subtract.label, dt, float(i), float(a), float(b), float(e), float(c)]
                      for i, a, b, e, c in zip(currents, r_value, r_subtract, exact, bound))
    return points


def _reset_order_rows(out, name, points) -> None:
    """Fitted order of the mean rate difference against dt (informational: for constant input the difference
    is a sawtooth in dt, so only its bound is a verdict)."""
    if not points:
        return
    frame = pd.DataFrame(points, columns=["backend", "label", "dt", "I", "a", "b", "e", "c"])
    mean = frame.assign(d=(frame.b - frame.a).abs()).groupby("dt").d.mean()
    label = f"reset [{points[0][1]}]" if points[0][1] else "reset"
    if mean.size >= 3 and np.all(mean.values > 0):
        order, stderr = M.convergence_order(mean.index.values, mean.values)
        out.rows.extend([
            row(label, name, f"{name} (reset to value)", "reset_difference_order", order, "1"),
            row(label, name, f"{name} (reset to value)", "reset_difference_order_stderr", stderr, "1")])


# ---------------------------------------------------------------------------------------- the harness

def run_variant_comparisons(comparison, timeout: float | None = None, skip=(),
                            executor: Executor | None = None) -> VariantResult:
    """Every comparison that applies to ``comparison.spec``: PSP with a synapse, statistics with noise,
    reset side by side with reset by subtraction (nothing for a plain cell). ``skip``: backends left out
    (e.g. those that already failed); ``executor``: the one the harness runs every study's jobs on."""
    executor = executor_for(timeout, executor)
    # the variant studies run each simulator with its default options: named configurations are left out
    spec = comparison.spec
    names = [n for n in comparison.backends if n not in skip and n not in getattr(comparison, "aliases", {})]
    out = VariantResult()
    if spec.tau_syn is not None:
        out.extend(psp_comparison(spec, names, comparison.dt, comparison.method, executor=executor))
    if spec.sigma > 0:
        out.extend(noise_comparison(spec, names, comparison.dt, comparison.method, n_neurons=REPORT_NEURONS,
                                    duration=REPORT_NOISE_DURATION, n_free=REPORT_FREE_NEURONS,
                                    executor=executor))
    if spec.reset == "subtract":
        out.extend(reset_comparison(spec, names, reset_dts(comparison.convergence.dts), comparison.method,
                                    duration=comparison.convergence.duration, executor=executor))
    return out


def metric_rows(comparison, outcome=None, timeout: float | None = None) -> list:
    """The rows the harness appends to ``outcome.metric_rows``; backends that already failed in ``outcome``
    are left out. Nothing is changed in ``outcome``: refusals, failures and tables are in
    :func:`run_variant_comparisons`'s result."""
    skip = tuple(outcome.failures) if outcome is not None else ()
    return run_variant_comparisons(comparison, timeout, skip).rows
