"""What a comparison will cost, estimated before anything is sampled or simulated, and the budgets it must
fit: the memory of its largest process and the size of its report.

Every figure is a sum over the arrays and objects a run allocates, each counted with the bytes it takes
per element (measured with ``tracemalloc`` and peak RSS on CPython 3.11 / numpy 2, see
``tests/test_budget.py``, which checks the estimate against the measured peak of real runs):

memory (bytes, beyond the interpreter and its libraries) =
    ``TRACE_SAMPLE_BYTES x trace samples``           every recorded voltage sample held by the process
                                                       that writes the report: each stimulus on each
                                                       backend and the closed form (``n_steps + 1``
                                                       each), per variant run, and each convergence run
  + ``DRIVE_SAMPLE_BYTES x stimulus samples``          the sampled stimuli and their temporaries
  + ``FI_CURRENT_BYTES x f-I currents x backends``     one neuron of the sweep: its rows, its spike-train
                                                       object, its plotted marker
  + ``SPIKE_BYTES x worst-case spikes``                every spike time, held about three times
  + ``MATCH_BYTES``                                    spike matching's largest table (linear in the
                                                       spikes: :data:`comparisons.metrics.MATCH_DP_CELLS`)
  + ``VP_CELL_BYTES x n^2``                            Elephant's Victor-Purpura distance, whose table
                                                       has a cell per pair of spikes of the two trains
                                                       (``n``: the worst-case spikes of one stimulus)

output (bytes) = the CSV rows at their longest (``repr`` of a float is at most 24 characters) plus the
report page: ``HTML_BASE_BYTES``, ``HTML_TRACE_BYTES`` per plotted voltage sample (the figures' paths,
base64-encoded; matplotlib simplifies smooth traces to far fewer, noisy ones not) and
``HTML_FI_BYTES`` per plotted f-I point.

The worst-case spike count of a run is ``min(n_steps, duration / max(ISI - dt, dt) + 1)`` per neuron,
with ``ISI`` the closed form's interval at the largest current the neuron receives (``dt`` shorter for
the grid rules that round an interval down); for a stimulus whose largest current is not known before
sampling (noise), ``duration / max(t_ref, dt) + 1``.

A comparison beyond :data:`MEMORY_BUDGET` or :data:`OUTPUT_BUDGET` is refused with one line naming the
field that contributes most, the estimate and the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.errors import ComparisonError

#: Memory a comparison's data may take in its largest process (beyond the interpreter and libraries).
MEMORY_BUDGET = 2 << 30
#: Bytes a report (all its files) may take.
OUTPUT_BUDGET = 512 << 20

TRACE_SAMPLE_BYTES = 240   # the array (8), its per-stimulus copy, metric temporaries, traces.csv text
DRIVE_SAMPLE_BYTES = 64
FI_CURRENT_BYTES = 2500
SPIKE_BYTES = 120
MATCH_BYTES = 8 << 22      # 8 bytes per cell of comparisons.metrics.MATCH_DP_CELLS
VP_CELL_BYTES = 48         # tracemalloc: 35-49 bytes per cell for 1000-3000 spikes a train
CSV_FLOAT_CHARS = 24
HTML_BASE_BYTES = 1 << 20
HTML_TRACE_BYTES = 40
HTML_FI_BYTES = 400

#: Backends that may refuse ``t_ref > 0`` and so bring a second, substitute variant (``t_ref = 0``).
MAY_REFUSE_REFRACTORINESS = ("nengo", "nest", "snntorch", "rockpool")


@dataclass(frozen=True)
class Estimate:
    """Bytes of memory and of output, and for each the part each field of the file is responsible for."""

    memory: float
    output: float
    memory_parts: dict
    output_parts: dict


def _worst_spikes(spec, current: float | None, duration: float, dt: float, n_steps: int) -> float:
    """Upper bound on the spikes of one neuron (module docstring)."""
    from reference import closed_forms as cf

    if current is None:
        interval = max(spec.t_ref, dt)
    elif current <= spec.rheobase and spec.rheobase > 0:
        return 1.0
    else:
        with np.errstate(all="ignore"):
            isi = float(cf.isi(spec, current))
        interval = max(isi - dt, dt) if math.isfinite(isi) else max(spec.t_ref, dt)
    return float(min(n_steps, duration / interval + 1))


def _largest_current(stimulus) -> float | None:
    """The largest current a stimulus can take, when known without sampling it."""
    values = [abs(getattr(stimulus, key)) for key in ("amplitude", "baseline", "offset", "amplitude_start",
                                                      "amplitude_stop") if hasattr(stimulus, key)]
    if stimulus.KIND == "noise":
        return None
    if stimulus.KIND == "sum":
        parts = [_largest_current(p) for p in stimulus.parts]
        return None if None in parts else float(sum(parts))
    if stimulus.KIND == "sine":
        return abs(stimulus.offset) + abs(stimulus.amplitude)
    return max(values, default=0.0)


def estimate(c) -> Estimate:
    """The :class:`Estimate` of a :class:`comparisons.config.Comparison` (module docstring)."""
    spec = plain(c.spec)
    n_variants = 2 if spec.t_ref > 0 and any(b in MAY_REFUSE_REFRACTORINESS for b in c.backends) else 1
    n_backends = len(c.backends)
    samples = float(c.n_steps) + 1
    n_stim = len(c.stimuli)
    traces = n_variants * (n_backends + 1) * n_stim * samples
    conv_samples = n_backends * sum(c.convergence.duration / dt + 1 for dt in c.convergence.dts)
    per_stimulus = [_worst_spikes(spec, _largest_current(s), c.duration, c.dt, c.n_steps) for s in c.stimuli]
    stim_spikes = n_variants * (n_backends + 1) * sum(per_stimulus)
    fi = c.fi
    currents = np.linspace(fi.I_min, fi.I_max, fi.num) if fi.num <= 10**6 else np.array([fi.I_min, fi.I_max])
    fi_spikes = n_backends * float(sum(_worst_spikes(spec, float(i), fi.duration, fi.dt, fi.n_steps)
                                       for i in _representatives(currents))) * fi.num / len(_representatives(currents))
    memory = {
        "simulation.duration": TRACE_SAMPLE_BYTES * traces + DRIVE_SAMPLE_BYTES * n_stim * samples
        + SPIKE_BYTES * stim_spikes + VP_CELL_BYTES * max(per_stimulus, default=0.0) ** 2,
        "fi_curve.num": FI_CURRENT_BYTES * float(fi.num) * n_backends + SPIKE_BYTES * fi_spikes,
        "convergence.dt": TRACE_SAMPLE_BYTES * conv_samples,
    }
    row = 4 + 2 * CSV_FLOAT_CHARS
    label = max([len(s.name) for s in c.stimuli] + [16]) + 20
    output = {
        "simulation.duration": traces * (row + label + HTML_TRACE_BYTES) + stim_spikes * (row + label),
        "fi_curve.num": float(fi.num) * n_backends * (4 * CSV_FLOAT_CHARS + 30 + HTML_FI_BYTES),
    }
    return Estimate(sum(memory.values()) + MATCH_BYTES, sum(output.values()) + HTML_BASE_BYTES, memory, output)


def _representatives(currents: np.ndarray) -> np.ndarray:
    """At most 1001 currents spread over the sweep (the worst-case spike count is monotone in the current
    above the rheobase, so the mean over an even subsample bounds it to within one grid cell)."""
    if currents.size <= 1001:
        return currents
    return currents[np.linspace(0, currents.size - 1, 1001).round().astype(int)]


def plain(spec):
    return spec.replace(reset="value", tau_syn=None, spike_input=None, sigma=0.0) if not spec.is_plain else spec


def check(c, raw: dict) -> Estimate:
    """Refuse a comparison whose estimate exceeds a budget, naming the field that contributes most
    (``raw``: the user's text of each field, for the message)."""
    e = estimate(c)
    for what, total, parts, budget in (("memory", e.memory, e.memory_parts, MEMORY_BUDGET),
                                       ("output", e.output, e.output_parts, OUTPUT_BUDGET)):
        if total > budget:
            field = max(parts, key=parts.get)
            noun = "of memory" if what == "memory" else "of report files"
            raise ComparisonError(field, f"would need about {_size(total)} {noun} (budget {_size(budget)}; "
                                  f"{_size(parts[field])} of it from this field): shorten the run, use fewer "
                                  "currents, stimuli or backends, or a larger dt", raw.get(field))
    return e


def _size(n: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n / 2**10:.3g} KiB"
