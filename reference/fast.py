"""The reference's time loop compiled with numba: bit for bit the numbers of :mod:`reference.engine`.

:func:`reference.engine.step_grid` and :func:`reference.engine.step_timer` are the definition of the
reference; this module runs the same arithmetic, operation by operation and in the same order, as fused
loops over steps and neurons (no ``fastmath``, no contraction into fused multiply-adds: numba compiles
without them, so every ``+ - * /`` is the IEEE-754 operation numpy performs). Nothing of size
steps x neurons is allocated beyond the voltage trace when it is asked for; spikes go to growing
buffers.

Transcendental functions: numpy's float64 ``exp`` and ``log`` (its own SIMD code on CPUs with AVX-512F)
and the C library's ``exp``/``log`` that compiled code calls differ in the last bit for a few per cent
of arguments (measured on the development machine: ~7 % for ``exp``, ~0.02 % for ``log``). The
compiled loop therefore never evaluates ``exp`` or ``log`` itself. Every such value comes from numpy:

- ``exp(-dt/tau_m)``, the factor of a whole step, is computed once before the loop with the
  expression of the definition;
- the factors of partial steps (the step in which a refractory timer ends, the rest of a step after a
  spike) and the logarithms of the exact threshold inversion depend on the state. The loop runs each
  neuron on its own clock until it needs such a value, leaves the argument in a request slot and
  pauses that neuron; Python evaluates all pending arguments with ``np.exp``/``np.log`` in one call
  (numpy's functions are element-wise: a value does not depend on its position in the array) and
  resumes. A round costs one call per pending argument, so a run takes about as many rounds as its
  busiest neuron has spikes (twice that with the exact inversion).

Every field of :class:`~reference.conventions.Conventions` runs compiled: the refractory step counts are
one integer (:func:`reference.engine.hold_steps`), the delayed input timing is a shifted copy of the drive
given to both loops (:func:`reference.engine.timed_drive`), the lower clamp is ``max(v, lo)`` after every
update with ``lo = -inf`` when there is none (which leaves every value as it is), and the grid loop
writes one spike entry per neuron and step with its number of spikes (several under reset
``"subtract"``), expanded once a chunk is done. :func:`supports` names any combination that would have to
fall back to the numpy loop (today only a missing numba).

Two loops: the grid rule (:func:`step_grid`) runs all neurons of a block in lock-step, one step for the
whole block at a time (vectorised by the compiler); the timer rules (:func:`step_timer`) run each
neuron on its own clock, four neurons interleaved, with a scalar event handler that mirrors the
definition for spikes, refractory steps and partial steps. Large populations are split into chunks
run by threads (the kernels release the GIL), each chunk through its own rounds. Spike lists come back
sorted by neuron, each neuron's spikes in the order the definition emits them (time order).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from models.drive import Drive
from models.processes import available_cores
from models.spec import LIFSpec

from .conventions import Conventions
from .params import MAX_SPIKES_PER_STEP, TIMER_EPS, Params, timed_drive

try:
    import numba
except ImportError:  # pragma: no cover - numba is in requirements.txt
    numba = None

#: Neurons per lock-step block of the grid loop: v, scale and refractory arrays of a block stay in L1.
BLOCK = 256

#: Initial spike buffer of a chunk (spikes); it doubles whenever it could overflow in the next step.
INITIAL_CAPACITY = 1 << 16

#: Neurons per queue block of the timer loop: chunks take blocks in turn, so two threads never write
#: the state of neighbouring neurons and the busy and quiet neurons of a sweep are shared evenly.
QUEUE_BLOCK = 64

#: Below this many neurons per thread the loop runs on one thread (threads cost more than they save).
MIN_NEURONS_PER_THREAD = 512

# Phases of the timer loop's event handler (the first five are saved in a paused neuron's state).
START, WAIT_EXP, PROPAGATED, WAIT_LOG, DONE, PROPAGATE, SPIKE, END_STEP = range(8)
# Requests a paused neuron leaves for Python.
NO_REQUEST, EXP, LOG, SPACE = range(4)
# How the event handler leaves a neuron.
FREE, PAUSED, FINISHED, FAILED = range(4)
# Columns of a timer neuron's saved state (float and int).
V, REF, V0, V1, D, ARG, REPLY = range(7)
K, PHASE, IT, KIND = range(4)
# Slots of the float and int parameter vectors.
E_L, RES, FAC, G, TH, V_RESET, DT, TAU, T_REF, V_TH, EPS, LO, GAP = range(13)
N_STEPS, N_REF, STAMP, EXACT, WIDTH, RECORD, LINEAR, MAX_SPIKES, BEFORE, RESET, TIMER_STAMP, GE = range(12)
# Reset rules of the grid loop (ip[RESET]).
RESET_VALUE, RESET_ONCE, RESET_SUBTRACT = range(3)
# Timer loop's spike stamps (ip[TIMER_STAMP]).
STAMP_START, STAMP_END, STAMP_CROSSING = range(3)


def supports(conventions: Conventions) -> str | None:
    """``None`` when the compiled loop runs these conventions, else the reason it cannot.

    Every field of :class:`~reference.conventions.Conventions` is supported; the only reason is a
    missing numba.
    """
    if numba is None:
        return "numba is not installed"
    return None


def describe() -> str:
    """One line for a result's metadata naming the compiled loop."""
    version = numba.__version__ if numba is not None else "missing"
    return (f"compiled loop (numba {version}) of reference.fast, bit for bit equal to the numpy update "
            "of reference.engine (exp/log values from numpy)")


def path(conventions: Conventions, fast: bool = True, spec: LIFSpec | None = None) -> str:
    """Which loop :func:`reference.engine.simulate` runs for these conventions (and ``spec``), as one
    line for a result's metadata (``fast`` is simulate's argument)."""
    reason = supports(conventions) if fast else "not requested"
    if reason is None and spec is not None and not spec.leak:
        reason = "the membrane has no leak; the compiled kernels integrate the LIF only"
    if reason is None:
        return describe()
    return f"numpy loop of reference.engine (compiled loop not used: {reason})"


def simulate_fast(spec: LIFSpec, drive: Drive, conventions: Conventions, record_v: bool = True,
                  chunks: int | None = None):
    """Run the reference with the compiled loop; same arguments and results as
    :func:`reference.engine.simulate`.

    Parameters
    ----------
    chunks : int, optional
        Number of chunks of neurons run by parallel threads (default: one per available core, with at
        least :data:`MIN_NEURONS_PER_THREAD` neurons each). Results do not depend on it.

    Returns
    -------
    v : ndarray (n_steps + 1, N) or None
    spike_neuron : ndarray of int64, shape (n_spikes,)
        Sorted by neuron; each neuron's spikes in time order.
    spike_time : ndarray, shape (n_spikes,)
    """
    reason = supports(conventions)
    if reason is not None:
        raise RuntimeError(f"reference.fast: {reason}")
    drive = timed_drive(drive, conventions)
    p = Params.of(spec, drive.dt, conventions)
    n, steps = drive.n_neurons, drive.n_steps
    trace = np.empty((steps + 1, n)) if record_v else np.empty((1, 1))
    trace[0] = spec.V_init
    n_chunks = chunks if chunks is not None else _default_chunks(n)
    w, s = _readonly(drive.waveform), _readonly(drive.scale)
    fp, ip = _parameters(p, conventions, drive, record_v)
    run = _run_grid if conventions.crossing == "grid" else _run_timer
    neuron, time = _sorted_by_neuron(run(spec, w, s, trace, fp, ip, n_chunks), n)
    return (trace if record_v else None), neuron, time


def _default_chunks(n: int) -> int:
    # the chunks run in Python threads (the kernels release the GIL); asking numba for its thread count
    # would start numba's OpenMP layer, whose runtime clashes with NEST's (segfault in ResetKernel)
    return max(1, min(available_cores(), n // MIN_NEURONS_PER_THREAD))


def _readonly(a: np.ndarray) -> np.ndarray:
    """C-contiguous float64 read-only view (one compiled signature whatever the caller passed)."""
    out = np.ascontiguousarray(a, dtype=np.float64).view()
    out.setflags(write=False)
    return out


def _parameters(p: Params, c: Conventions, drive: Drive, record_v: bool):
    """The numbers of the loop, each computed with the expression of the numpy definition."""
    if c.crossing == "grid":
        factor = np.exp(-p.dt / p.tau)                          # propagate(.., p.dt, ..): scalar d
    else:
        factor = np.exp(-np.full(1, p.dt) / p.tau)[0]           # propagate(.., d[idx], ..): d == dt
    # "v >= V_th" is "v > the largest double below V_th": one comparison for both rules.
    th = p.V_th if c.threshold == ">" else np.nextafter(p.V_th, -np.inf)
    # The lower clamp max(v, lo) with lo = -inf leaves every (non-NaN) value as it is: no clamp.
    lo = p.V_reset if c.lower_clamp == "v_reset" else -np.inf
    fp = np.array([p.E_L, p.R, factor, p.dt / p.tau, th, p.V_reset, p.dt, p.tau, p.t_ref, p.V_th,
                   TIMER_EPS, lo, p.gap], dtype=np.float64)
    reset_rule = {"value": RESET_VALUE, "subtract-once": RESET_ONCE, "subtract": RESET_SUBTRACT}[c.reset]
    timer_stamp = {"start": STAMP_START, "end": STAMP_END, "crossing": STAMP_CROSSING}[c.spike_stamp]
    ip = np.array([drive.n_steps, p.n_ref, 1 if c.spike_stamp == "end" else 0, c.integrator == "exact",
                   drive.waveform.shape[1], record_v, c.crossing == "linear", MAX_SPIKES_PER_STEP,
                   c.record == "before-reset", reset_rule, timer_stamp, c.threshold == ">="],
                  dtype=np.int64)
    return fp, ip


class _Spikes:
    """One chunk's spikes: (neuron, time) in emission order, in arrays that double when needed.

    A chunk's loop pauses when fewer than ``need`` places are free (the most one step can emit) and
    :meth:`make_room` doubles the arrays before it resumes. The grid loop writes one entry per spiking
    neuron and step with its number of spikes in ``many`` (several under the reset ``"subtract"``);
    :meth:`expand` repeats such entries once the chunk is done.
    """

    def __init__(self, need: int):
        self.need = need
        self.count = 0
        capacity = max(INITIAL_CAPACITY, 2 * need)
        self.neuron = np.empty(capacity, dtype=np.int64)
        self.time = np.empty(capacity)
        self.many = np.empty(capacity, dtype=np.int64)

    def make_room(self) -> None:
        if self.neuron.size - self.count >= self.need:
            return
        capacity = max(2 * self.neuron.size, self.count + 2 * self.need)
        self.neuron = np.concatenate([self.neuron[:self.count], np.empty(capacity - self.count, np.int64)])
        self.time = np.concatenate([self.time[:self.count], np.empty(capacity - self.count)])
        self.many = np.concatenate([self.many[:self.count], np.empty(capacity - self.count, np.int64)])

    def expand(self) -> "_Spikes":
        """Each grid entry repeated as many times as its neuron spiked in that step."""
        many = self.many[:self.count]
        if np.any(many != 1):
            self.neuron = np.repeat(self.neuron[:self.count], many)
            self.time = np.repeat(self.time[:self.count], many)
            self.count = self.neuron.size
        return self


def _in_threads(n_chunks: int, work) -> list:
    """``[work(c) for c in range(n_chunks)]``, one thread per chunk (the kernels release the GIL).

    Each thread drives its own chunk through its own rounds: no barrier between chunks, so a thread
    the OS holds back delays only its own neurons.
    """
    if n_chunks == 1:
        return [work(0)]
    with ThreadPoolExecutor(max_workers=n_chunks) as pool:
        return list(pool.map(work, range(n_chunks)))


def _sorted_by_neuron(chunks: list, n_neurons: int):
    """(neuron int64, time) of every spike, stably sorted by neuron. A neuron belongs to one chunk and
    its spikes are in emission (time) order there, so a counting sort keeps that order."""
    first = np.zeros(n_neurons + 1, dtype=np.int64)
    for spikes in chunks:
        _count_spikes(spikes.neuron, spikes.count, first)
    first = np.cumsum(first)
    neuron, time = np.empty(first[-1], dtype=np.int64), np.empty(first[-1])
    for spikes in chunks:
        _place_spikes(spikes.neuron, spikes.time, spikes.count, first, neuron, time)
    return neuron, time


def _run_grid(spec, w, s, trace, fp, ip, n_chunks) -> list:
    n = s.size
    n_blocks = -(-n // BLOCK)
    n_chunks = max(1, min(n_chunks, n_blocks))
    v = np.full(n, spec.V_init)
    free_at = np.zeros(n, dtype=np.int64)        # first step at which the neuron integrates again
    done = np.zeros(n_blocks, dtype=np.int64)    # steps done by each block

    def work(c: int) -> _Spikes:
        spikes = _Spikes(BLOCK)
        while True:
            spikes.count = _grid_chunk(c, n_chunks, done, w, s, v, free_at, trace, spikes.neuron,
                                       spikes.time, spikes.many, spikes.count, fp, ip)
            if np.all(done[c::n_chunks] == ip[N_STEPS]):
                return spikes.expand()
            spikes.make_room()

    return _in_threads(n_chunks, work)


def _run_timer(spec, w, s, trace, fp, ip, n_chunks) -> list:
    n = s.size
    n_chunks = max(1, min(n_chunks, -(-n // QUEUE_BLOCK)))
    sf = np.zeros((n, 7))                        # each neuron's saved state in one or two cache lines
    sf[:, V] = spec.V_init
    si = np.zeros((n, 4), dtype=np.int64)
    si[:, PHASE] = START
    owner = (np.arange(n) // QUEUE_BLOCK) % n_chunks
    base = np.concatenate(([0], np.cumsum(np.bincount(owner, minlength=n_chunks)))).astype(np.int64)
    slots = np.zeros(n, dtype=np.int64)          # chunk c's pending requests: slots[base[c]:...]
    flat_w, flat_trace = w.reshape(-1), trace.reshape(-1)

    def work(c: int) -> _Spikes:
        spikes = _Spikes(int(ip[MAX_SPIKES]) + 1)
        while True:
            failed, spikes.count, pending = _timer_chunk(c, n_chunks, flat_w, s, sf, si, slots, base,
                                                         flat_trace, spikes.neuron, spikes.time,
                                                         spikes.count, fp, ip)
            if failed:
                raise RuntimeError("reference: more than MAX_SPIKES_PER_STEP spikes in one step")
            if not pending:
                return spikes
            _answer(sf, si, slots[base[c]:base[c] + pending])
            spikes.make_room()

    return _in_threads(n_chunks, work)


def _answer(sf, si, idx) -> None:
    """Evaluate the pending requests of neurons ``idx`` with numpy and clear them."""
    which = si[idx, KIND]
    exp_idx, log_idx = idx[which == EXP], idx[which == LOG]
    if exp_idx.size:
        sf[exp_idx, REPLY] = np.exp(sf[exp_idx, ARG])
    if log_idx.size:
        sf[log_idx, REPLY] = np.log(sf[log_idx, ARG])
    si[idx, KIND] = NO_REQUEST


# ----------------------------------------------------------------------------------------------------
# Compiled kernels


def _jit(inline: str = "never"):
    """numba.njit with the settings every kernel shares: IEEE division (no ZeroDivisionError branch),
    the GIL released (chunks run in threads), compiled once and cached next to this file."""
    if numba is None:  # pragma: no cover
        return lambda f: f
    return numba.njit(cache=True, error_model="numpy", nogil=True, inline=inline)


@_jit()
def _count_spikes(buf_n, count, first):
    for i in range(count):
        first[buf_n[i] + 1] += 1


@_jit()
def _place_spikes(buf_n, buf_t, count, first, neuron, time):
    for i in range(count):
        j = buf_n[i]
        neuron[first[j]] = j
        time[first[j]] = buf_t[i]
        first[j] += 1


# --- grid rule: lock-step blocks -------------------------------------------------------------------
# Kernels are written without helper functions taking arrays: every call of a numba function with
# array arguments, even inlined, increments and decrements their reference counts (atomic operations
# costing more than the arithmetic of a step).

@_jit()
def _grid_block(lo, hi, k, w, s, v, free_at, trace, buf_n, buf_t, buf_c, pos, end, fp, ip):
    """Steps k.. of neurons [lo, hi) of step_grid, until the end or until the spike buffer could
    overflow in the next step; returns (k, spike count).

    Each step is one pass over the block, which the compiler vectorises: free neurons
    (``k >= free_at``, the step index from which the refractory count is over) are propagated and
    clamped below (``max(v, lo)``, ``lo = -inf`` without a clamp), the others keep V. A second pass over
    the block, when the first counted a value above threshold, resets and stamps the free neurons above
    threshold (a held neuron may stay above threshold only after a subtractive reset), each with its
    number of spikes in ``buf_c`` (spike_counts: more than one only for reset ``"subtract"``).
    """
    e_l, r, th, v_reset, dt, f, g = fp[E_L], fp[RES], fp[TH], fp[V_RESET], fp[DT], fp[FAC], fp[G]
    v_lo, gap, v_th = fp[LO], fp[GAP], fp[V_TH]
    n_steps, n_ref, stamp, record = ip[N_STEPS], ip[N_REF], ip[STAMP], ip[RECORD] != 0
    exact, wide = ip[EXACT] != 0, ip[WIDTH] > 1
    before, reset_rule, ge = ip[BEFORE] != 0, ip[RESET], ip[GE] != 0
    m = hi - lo
    vb, fb, sb, wb = v[lo:hi], free_at[lo:hi], s[lo:hi], w[:, lo:hi] if wide else w
    while k < n_steps and end - pos >= m:
        hits = 0
        if exact and wide:
            for j in range(m):
                vi = e_l + r * (wb[k, j] * sb[j])
                x = vb[j]
                vn = vi + (x - vi) * f
                vn = vn if vn >= v_lo else v_lo
                x = vn if k >= fb[j] else x
                vb[j] = x
                hits += x > th
        elif exact:
            wk = w[k, 0]
            for j in range(m):
                vi = e_l + r * (wk * sb[j])
                x = vb[j]
                vn = vi + (x - vi) * f
                vn = vn if vn >= v_lo else v_lo
                x = vn if k >= fb[j] else x
                vb[j] = x
                hits += x > th
        elif wide:
            for j in range(m):
                vi = e_l + r * (wb[k, j] * sb[j])
                x = vb[j]
                vn = x + g * (vi - x)
                vn = vn if vn >= v_lo else v_lo
                x = vn if k >= fb[j] else x
                vb[j] = x
                hits += x > th
        else:
            wk = w[k, 0]
            for j in range(m):
                vi = e_l + r * (wk * sb[j])
                x = vb[j]
                vn = x + g * (vi - x)
                vn = vn if vn >= v_lo else v_lo
                x = vn if k >= fb[j] else x
                vb[j] = x
                hits += x > th
        if record and before:
            for j in range(m):
                trace[k + 1, lo + j] = vb[j]
        if hits:
            t_spike = (k + stamp) * dt
            for j in range(m):
                if vb[j] > th and k >= fb[j]:
                    x = vb[j]
                    count = 1
                    if reset_rule == RESET_VALUE:
                        x = v_reset
                    elif reset_rule == RESET_ONCE:
                        x = x - gap
                    else:                            # spike_counts and reset, "subtract"
                        excess = (x - v_th) / gap
                        count = int(np.floor(excess) + 1) if ge else int(max(np.ceil(excess), 1.0))
                        x = x - count * gap
                    vb[j] = x
                    fb[j] = k + 1 + n_ref
                    buf_n[pos] = lo + j
                    buf_t[pos] = t_spike
                    buf_c[pos] = count
                    pos += 1
        if record and not before:
            for j in range(m):
                trace[k + 1, lo + j] = vb[j]
        k += 1
    return k, pos


@_jit()
def _grid_chunk(c, n_chunks, done, w, s, v, free_at, trace, buf_n, buf_t, buf_c, pos, fp, ip):
    """Blocks c, c + n_chunks, ... from where each stopped, until done or the spike buffer is short;
    returns the new spike count."""
    n = s.size
    for b in range(c, done.size, n_chunks):
        if done[b] == ip[N_STEPS]:
            continue
        lo = b * BLOCK
        hi = min(lo + BLOCK, n)
        k, pos = _grid_block(lo, hi, done[b], w, s, v, free_at, trace, buf_n, buf_t, buf_c, pos,
                             buf_n.size, fp, ip)
        done[b] = k
        if k < ip[N_STEPS]:
            break
    return pos


# --- timer rules: every neuron on its own clock ----------------------------------------------------

@_jit(inline="always")
def _clip_low(x):
    """``np.maximum(x, 0.0)`` / the lower bound of ``np.clip``, NaN kept as numpy keeps it."""
    return x if (x >= 0.0 or x != x) else 0.0


@_jit(inline="always")
def _queue_neuron(c, n_chunks, i):
    """The i-th neuron of chunk c: chunks take blocks of QUEUE_BLOCK neurons in turn."""
    return (c + n_chunks * (i // QUEUE_BLOCK)) * QUEUE_BLOCK + i % QUEUE_BLOCK


@_jit()
def _timer_chunk(c, n_chunks, w, s, sf, si, slots, base, trace, buf_n, buf_t, pos, fp, ip):
    """One round of step_timer for the neurons of chunk c: each runs on its own clock until it pauses
    or finishes. Returns (failed, spike count, number of pending requests listed in
    ``slots[base[c]:]``).

    Four lanes each hold a free-running neuron (start of a step, no refractory time left). The lanes
    take whole free steps together (independent dependency chains keep the core busy) until one
    crosses threshold or ends the run. Then, lane by lane, the event handler runs the definition from
    there (crossing, spike, refractory steps, partial steps, several spikes in one step) until the
    neuron is free again, finishes, or needs a value from numpy (its state is then saved in
    ``sf``/``si`` and its request left there); a lane whose neuron paused or finished resumes the
    next runnable neuron of the chunk from its saved state. An empty lane runs a neuron-less dummy
    (V = -inf: never crossing, never recorded).

    ``w`` and ``trace`` are flat: sample (k, column) is ``w[k * width + column]``, V(t_k) of neuron n
    is ``trace[k * N + n]``. Unsigned indices skip numba's negative-index test where the index is
    known to be valid.
    """
    e_l, r_m, f, g, th, dt = fp[E_L], fp[RES], fp[FAC], fp[G], fp[TH], fp[DT]
    v_reset, tau, t_ref, v_th, eps = fp[V_RESET], fp[TAU], fp[T_REF], fp[V_TH], fp[EPS]
    n_steps, exact, record, width = ip[N_STEPS], ip[EXACT] != 0, ip[RECORD] != 0, ip[WIDTH]
    linear, max_spikes, timer_stamp, v_lo = ip[LINEAR] != 0, ip[MAX_SPIKES], ip[TIMER_STAMP], fp[LO]
    hot = not dt < eps                 # whole free steps integrate d = dt (not zeroed below TIMER_EPS)
    n_all = s.size
    n_queue = base[c + 1] - base[c]
    end = buf_n.size
    lane_n = np.full(4, -1, dtype=np.int64)
    lane_k = np.zeros(4, dtype=np.int64)
    lane_x = np.zeros(4)
    lane_xp = np.zeros(4)
    qi = 0
    failed = False
    while not failed:
        # ---- events, lane by lane
        for lane in range(4):
            n, k, x = lane_n[lane], lane_k[lane], lane_x[lane]
            if n >= 0 and not x > th and k < n_steps:
                continue
            # Crossed threshold in the free step k - 1: enter step_timer's spike loop. Or ended.
            entering = n >= 0 and x > th
            phase, v, r, v0, v1, d, it = PROPAGATED, x, 0.0, lane_xp[lane], x, dt, 0
            if entering:
                k -= 1
            elif n >= 0:
                si[n, K] = k
                si[n, PHASE] = DONE
                sf[n, V] = x
            while True:
                if not entering:
                    n = -1
                    while qi < n_queue and n < 0:
                        cand = _queue_neuron(c, n_chunks, qi)
                        qi += 1
                        if si[cand, KIND] == NO_REQUEST and si[cand, PHASE] != DONE:
                            n = cand
                    if n < 0:
                        break
                    k, phase, it = si[n, K], si[n, PHASE], si[n, IT]
                    v, r, v0, v1, d = sf[n, V], sf[n, REF], sf[n, V0], sf[n, V1], sf[n, D]
                entering = False
                # ---- the event handler: neuron n from `phase` of step k, mirroring step_timer
                col = n if width > 1 else 0
                sn = s[n]
                vi = e_l + r_m * (w[k * width + col] * sn) if phase != START else 0.0
                off = 0.0
                outcome = PAUSED
                # room for one step's spikes on entry and after every step: no step overflows
                request = SPACE if end - pos < max_spikes else NO_REQUEST
                while request == NO_REQUEST and outcome == PAUSED:
                    if phase == START:
                        while True:                  # whole refractory steps (d = 0), tight loop
                            if k >= n_steps:
                                outcome = FINISHED
                                break
                            if r == 0.0 and hot:
                                outcome = FREE
                                break
                            d = dt - r               # np.clip(p.dt - ref_time, 0.0, p.dt)
                            d = d if (d > 0.0 or d != d) else 0.0
                            d = d if (d < dt or d != d) else dt
                            if d < eps:
                                d = 0.0
                            r = _clip_low(r - dt)    # ref_time -= dt; np.maximum(ref_time, 0)
                            if d > 0.0:
                                break
                            if record:
                                trace[(k + 1) * n_all + n] = v
                            k += 1
                        if outcome == PAUSED:
                            it = 0
                            v0 = v
                            vi = e_l + r_m * (w[k * width + col] * sn)
                            phase = PROPAGATE
                    elif phase == PROPAGATE:         # clamp(propagate(v0, v_inf, d, tau, integrator))
                        if not exact:
                            v1 = v0 + d / tau * (vi - v0)
                            v1 = v1 if v1 >= v_lo else v_lo
                            phase = PROPAGATED
                        elif d == dt:
                            v1 = vi + (v0 - vi) * f
                            v1 = v1 if v1 >= v_lo else v_lo
                            phase = PROPAGATED
                        else:
                            sf[n, ARG] = -d / tau
                            phase = WAIT_EXP
                            request = EXP
                    elif phase == WAIT_EXP:
                        v1 = vi + (v0 - vi) * sf[n, REPLY]
                        v1 = v1 if v1 >= v_lo else v_lo
                        phase = PROPAGATED
                    elif phase == PROPAGATED:
                        v = v1
                        if not v1 > th:
                            phase = END_STEP
                        elif linear:                 # crossing_offset, "linear"
                            off = d * (v_th - v0) / (v1 - v0)
                            phase = SPIKE
                        else:                        # crossing_offset, "exact": tau ln(...)
                            sf[n, ARG] = (vi - v0) / (vi - v_th)
                            phase = WAIT_LOG
                            request = LOG
                    elif phase == WAIT_LOG:
                        off = tau * sf[n, REPLY]
                        phase = SPIKE
                    elif phase == SPIKE:
                        t_end = (k + 1) * dt
                        t_cross = t_end - d + off
                        buf_n[pos] = n
                        if timer_stamp == STAMP_CROSSING:
                            buf_t[pos] = t_cross
                        elif timer_stamp == STAMP_END:
                            buf_t[pos] = t_end
                        else:
                            buf_t[pos] = k * dt
                        pos += 1
                        it += 1
                        free_after = t_end - t_cross - t_ref
                        v = v_reset
                        r = _clip_low(-free_after)
                        if it >= max_spikes:
                            outcome = FAILED
                        elif free_after > eps:
                            d = free_after
                            v0 = v_reset
                            phase = PROPAGATE
                        else:
                            phase = END_STEP
                    else:  # END_STEP
                        if record:
                            trace[(k + 1) * n_all + n] = v
                        k += 1
                        if end - pos < max_spikes:
                            request = SPACE
                        phase = START
                if outcome == FREE:
                    break
                if outcome == FAILED:
                    failed = True
                    break
                if outcome == FINISHED:
                    phase = DONE
                si[n, K], si[n, PHASE], si[n, IT], si[n, KIND] = k, phase, it, request
                sf[n, V], sf[n, REF], sf[n, V0], sf[n, V1], sf[n, D] = v, r, v0, v1, d
                n = -1
            lane_n[lane], lane_k[lane], lane_x[lane] = n, k, v
        if failed or max(lane_n[0], lane_n[1], lane_n[2], lane_n[3]) < 0:
            break
        # ---- whole free steps for the four lanes (d = dt: propagate with the whole-step factor)
        n0, n1, n2, n3 = lane_n[0], lane_n[1], lane_n[2], lane_n[3]
        k_max = 0
        for lane in range(4):
            if lane_n[lane] >= 0:
                k_max = max(k_max, lane_k[lane])
            else:
                lane_x[lane] = -np.inf
                lane_k[lane] = 0
        # flat indices into the waveform and the trace, and their increments per step
        dw0 = width if n0 >= 0 else 0
        dw1 = width if n1 >= 0 else 0
        dw2 = width if n2 >= 0 else 0
        dw3 = width if n3 >= 0 else 0
        j0 = lane_k[0] * dw0 + (n0 if width > 1 and n0 >= 0 else 0)
        j1 = lane_k[1] * dw1 + (n1 if width > 1 and n1 >= 0 else 0)
        j2 = lane_k[2] * dw2 + (n2 if width > 1 and n2 >= 0 else 0)
        j3 = lane_k[3] * dw3 + (n3 if width > 1 and n3 >= 0 else 0)
        s0 = s[n0] if n0 >= 0 else 0.0
        s1 = s[n1] if n1 >= 0 else 0.0
        s2 = s[n2] if n2 >= 0 else 0.0
        s3 = s[n3] if n3 >= 0 else 0.0
        rec0, rec1, rec2, rec3 = record and n0 >= 0, record and n1 >= 0, record and n2 >= 0, \
            record and n3 >= 0
        t0 = (lane_k[0] + 1) * n_all + n0
        t1 = (lane_k[1] + 1) * n_all + n1
        t2 = (lane_k[2] + 1) * n_all + n2
        t3 = (lane_k[3] + 1) * n_all + n3
        x0, x1, x2, x3 = lane_x[0], lane_x[1], lane_x[2], lane_x[3]
        p0, p1, p2, p3 = x0, x1, x2, x3
        steps = 0
        for _ in range(n_steps - k_max):
            p0, p1, p2, p3 = x0, x1, x2, x3
            vi0 = e_l + r_m * (w[np.uint64(j0)] * s0)
            vi1 = e_l + r_m * (w[np.uint64(j1)] * s1)
            vi2 = e_l + r_m * (w[np.uint64(j2)] * s2)
            vi3 = e_l + r_m * (w[np.uint64(j3)] * s3)
            if exact:
                x0 = vi0 + (x0 - vi0) * f
                x1 = vi1 + (x1 - vi1) * f
                x2 = vi2 + (x2 - vi2) * f
                x3 = vi3 + (x3 - vi3) * f
            else:
                x0 = x0 + g * (vi0 - x0)
                x1 = x1 + g * (vi1 - x1)
                x2 = x2 + g * (vi2 - x2)
                x3 = x3 + g * (vi3 - x3)
            x0 = x0 if x0 >= v_lo else v_lo
            x1 = x1 if x1 >= v_lo else v_lo
            x2 = x2 if x2 >= v_lo else v_lo
            x3 = x3 if x3 >= v_lo else v_lo
            if rec0:
                trace[np.uint64(t0)] = x0
            if rec1:
                trace[np.uint64(t1)] = x1
            if rec2:
                trace[np.uint64(t2)] = x2
            if rec3:
                trace[np.uint64(t3)] = x3
            j0 += dw0
            j1 += dw1
            j2 += dw2
            j3 += dw3
            t0 += n_all
            t1 += n_all
            t2 += n_all
            t3 += n_all
            steps += 1
            if (x0 > th) | (x1 > th) | (x2 > th) | (x3 > th):
                break
        for lane in range(4):
            lane_k[lane] += steps
        lane_x[0], lane_x[1], lane_x[2], lane_x[3] = x0, x1, x2, x3
        lane_xp[0], lane_xp[1], lane_xp[2], lane_xp[3] = p0, p1, p2, p3
    pending = 0
    for i in range(n_queue):
        n = _queue_neuron(c, n_chunks, i)
        if si[n, KIND] != NO_REQUEST:
            slots[base[c] + pending] = n
            pending += 1
    return failed, pos, pending
