"""The levels of one swept axis on a sweep's maps, found without holding the axis value of every point.

An axis with at most :data:`MAX_LEVELS` distinct values is shown at each of them; one with more (a sampled
sweep, or a long grid axis) is cut into :data:`BINS` bins of equal counts of points: the edges are the
quantiles of the points' values (``numpy.quantile``, linear interpolation, each point once) and each bin is
represented by the median of its points. Both need only a few order statistics of the points' values (two
per edge, two per median) and the number of points in each bin, so :class:`Levels` takes them from a
*source* of the values instead of the values themselves:

- :class:`GridSource`: the values of a grid axis, each repeated the same number of times (the product of
  the other axes' lengths): its order statistics are arithmetic on the sorted axis values;
- :class:`StreamSource`: values given block by block by a function that can be called again (a sampled
  sweep regenerates them): the distinct values are counted up to ``MAX_LEVELS + 1``, each order statistic
  is found by bisection over the ordered float64 values (at most 64 passes, each counting the values at or
  below the candidates), the bins are counted in one more pass. Its memory is one block, whatever the
  number of points.

:class:`ArraySource` is every value in memory (the check of the other two: the same levels, bit for bit).
The edges and medians are computed with the same floating-point operations as ``numpy.quantile`` and
``numpy.median`` on the whole array, so the maps' bins are the same whichever source gives the values.
"""

from __future__ import annotations

import numpy as np

MAX_LEVELS = 30
BINS = 10


class Levels:
    """The levels of one axis from a source of its points' values (see the module docstring): ``values``
    (one per level), ``unique`` (the distinct values, when at most :data:`MAX_LEVELS`), ``edges`` (the
    :data:`BINS` + 1 quantile edges, else None)."""

    def __init__(self, values):
        source = values if hasattr(values, "order_statistics") else ArraySource(values)
        distinct = source.distinct(MAX_LEVELS)
        self.edges = None
        if distinct is not None:
            self.unique = distinct
            self.values = [float(v) for v in distinct]
            return
        self.unique = None
        n = source.n
        virtual = (n - 1) * np.linspace(0, 1, BINS + 1)        # numpy.quantile's "linear" method
        before = np.floor(virtual)
        after = before + 1
        top = virtual >= n - 1
        before[top], after[top] = n - 1, n - 1
        found = source.order_statistics(np.concatenate([before, after]).astype(np.int64))
        self.edges = _lerp(found[:BINS + 1], found[BINS + 1:], virtual - np.where(top, -1.0, before))
        counts = source.bin_counts(self.index)
        starts = np.concatenate([[0], np.cumsum(counts)])
        middle = [(s + (m - 1) // 2, s + m // 2) for s, m in zip(starts, counts) if m > 0]
        stats = source.order_statistics(np.asarray(middle, dtype=np.int64).ravel()) if middle else []
        medians = iter(np.asarray(stats, dtype=float).reshape(-1, 2))
        self.values = [float(np.median(_middle(next(medians), m))) if m > 0 else float("nan") for m in counts]

    def index(self, values: np.ndarray) -> np.ndarray:
        """The level of each value (a value of the sweep's points)."""
        values = np.asarray(values, dtype=float)
        if self.edges is None:
            return np.searchsorted(self.unique, values)
        return np.clip(np.searchsorted(self.edges, values, side="right") - 1, 0, BINS - 1)


def _middle(pair: np.ndarray, count: int) -> np.ndarray:
    """The one or two middle values of a bin of ``count`` points, as ``numpy.median`` averages them."""
    return pair[:1] if count % 2 else pair


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``numpy.quantile``'s interpolation between neighbouring order statistics, operation for operation."""
    diff = np.subtract(b, a)
    out = np.asanyarray(np.add(a, diff * t))
    np.subtract(b, diff * (1 - t), out=out, where=t >= 0.5, casting="unsafe", dtype=out.dtype.type)
    return out


class ArraySource:
    """Every point's value in memory."""

    def __init__(self, values):
        self.array = np.asarray(values, dtype=float)
        self.n = self.array.size

    def distinct(self, limit: int):
        unique = np.unique(self.array)
        return unique if unique.size <= limit else None

    def order_statistics(self, ranks: np.ndarray) -> np.ndarray:
        return np.sort(self.array)[ranks]

    def bin_counts(self, index) -> np.ndarray:
        return np.bincount(index(self.array), minlength=BINS)


class GridSource:
    """The values of a grid axis (distinct), each taken by ``repeat`` points."""

    def __init__(self, values, repeat: int):
        self.sorted = np.sort(np.asarray(values, dtype=float))
        self.repeat = int(repeat)
        self.n = self.sorted.size * self.repeat

    def distinct(self, limit: int):
        return self.sorted if self.sorted.size <= limit else None

    def order_statistics(self, ranks: np.ndarray) -> np.ndarray:
        return self.sorted[np.asarray(ranks, dtype=np.int64) // self.repeat]

    def bin_counts(self, index) -> np.ndarray:
        return self.repeat * np.bincount(index(self.sorted), minlength=BINS)


class StreamSource:
    """``n`` values given by ``blocks()`` (a new iterator of float arrays at each call, the same values in
    the same order each time), never all held at once."""

    def __init__(self, blocks, n: int):
        self.blocks, self.n = blocks, int(n)

    def distinct(self, limit: int):
        seen: set = set()
        for block in self.blocks():
            seen.update(np.unique(block).tolist())
            if len(seen) > limit:
                return None
        return np.array(sorted(seen), dtype=float)

    def order_statistics(self, ranks: np.ndarray) -> np.ndarray:
        """The values at ``ranks`` of the sorted values: for each, the least float64 ``x`` with more than
        ``rank`` values at or below it, by bisection over the float64 values in their order."""
        ranks = np.asarray(ranks, dtype=np.int64)
        lo_value, hi_value = np.inf, -np.inf
        for block in self.blocks():
            lo_value, hi_value = min(lo_value, float(block.min())), max(hi_value, float(block.max()))
        lo = np.full(ranks.shape, _ordinal(lo_value)[0] - 1)   # count(<= lo) <= rank
        hi = np.full(ranks.shape, _ordinal(hi_value)[0])       # count(<= hi) > rank
        while np.any(hi - 1 > lo):
            mid = (lo >> 1) + (hi >> 1) + (lo & hi & 1)      # the floor of their mean, without overflow
            above = self._count_at_or_below(_value(mid)) > ranks
            hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
        return _value(hi)

    def _count_at_or_below(self, thresholds: np.ndarray) -> np.ndarray:
        order = np.argsort(thresholds, kind="stable")
        counts = np.zeros(thresholds.size, dtype=np.int64)
        for block in self.blocks():
            counts += np.searchsorted(np.sort(block), thresholds[order], side="right")
        out = np.empty_like(counts)
        out[order] = counts
        return out

    def bin_counts(self, index) -> np.ndarray:
        counts = np.zeros(BINS, dtype=np.int64)
        for block in self.blocks():
            counts += np.bincount(index(block), minlength=BINS)
        return counts


_SIGN = np.int64(-0x8000000000000000)


def _ordinal(value) -> np.ndarray:
    """float64 -> int64 preserving the order (negative values mirrored), for bisection over floats."""
    bits = np.atleast_1d(np.asarray(value, dtype=np.float64)).view(np.int64)
    return np.where(bits < 0, _SIGN - bits, bits)


def _value(ordinal: np.ndarray) -> np.ndarray:
    ordinal = np.atleast_1d(np.asarray(ordinal, dtype=np.int64))
    bits = np.where(ordinal < 0, _SIGN - ordinal, ordinal)
    return bits.view(np.float64)
