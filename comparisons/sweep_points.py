"""The points of a sweep as arithmetic: each point's values, its group and its place in the group, made when
asked, for any block of points, without a per-point array (:class:`comparisons.sweep_plan.Plan` uses them).

The numbering is the sweep file's: a grid's points are the product of the axes in the order written, the
last axis fastest (``numpy.meshgrid(indexing="ij")`` raveled); a sampled sweep's are the draws of its
sequence in order. Points sharing every column but the current form a group, numbered in the order of
their first point, the points of a group in their own order (what ``pandas.DataFrame.groupby(sort=False)``
gives on the table of all points, :meth:`comparisons.sweep_config.Sweep.points`):

- **grid** (:class:`GridPoints`): a point is its multi-index over the axes' lengths
  (``numpy.unravel_index``); its group is the multi-index without the current axis raveled over the other
  axes' lengths, its place in the group the current's index. Groups come in the order of their first
  point because the current's index 0 is first in each. Nothing is held per point, nor per group.
- **sampled** (:class:`SampledPoints`): when ``current`` is the only axis every point shares one group
  (their order: the points'); otherwise every point is its own group (group ``g`` is point ``g``): the other
  axes are drawn from continuous bounds, each point in its own stratum of every axis (Latin hypercube) or
  its own dyadic interval (Sobol'), so no two points share their values (short of bounds so close that
  two draws round to one float64: a grouping by value would run those two as one population, this
  numbering runs them apart). A Sobol' sweep draws the points
  of a block when asked (``qmc.Sobol(...).fast_forward(lo)`` then ``.random(hi - lo)``: the same numbers
  as the slice of the whole draw), holding nothing per point. A Latin hypercube cannot be drawn by parts
  (each axis is one permutation of all the points' strata), so a Latin sweep keeps its unit sample: one
  float64 per axis per point (``8 x axes`` bytes per point; 32 for four axes), and at its draw scipy's
  temporaries, another ``16 x axes``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from reports.sweep_levels import GridSource, StreamSource

from .sweep_config import Sweep, scale

#: Points per block when a sampled axis is passed over for its levels.
LEVEL_BLOCK = 1 << 16


def columns_of(sweep: Sweep) -> list[str]:
    """The columns of every point: the axes in order, then ``dt`` and ``current`` when they are fixed."""
    names = sweep.axis_names
    return names + [c for c in ("dt", "current") if c not in names]


class GridPoints:
    """The points of a grid sweep (see the module docstring)."""

    def __init__(self, sweep: Sweep):
        self.sweep = sweep
        self.columns = columns_of(sweep)
        self.axis_values = [np.asarray(a.values, dtype=np.float64) for a in sweep.axes]
        self.shape = tuple(len(v) for v in self.axis_values)
        self.n = math.prod(self.shape)
        names = sweep.axis_names
        self.current = names.index("current") if "current" in names else None
        self.key_shape = tuple(s for j, s in enumerate(self.shape) if j != self.current)
        self.n_groups = math.prod(self.key_shape)
        self.group_size = 1 if self.current is None else self.shape[self.current]

    def values(self, ids: np.ndarray) -> np.ndarray:
        """The columns' values (rows: ``ids``; columns: :attr:`columns`)."""
        ids = np.asarray(ids, dtype=np.int64)
        index = np.unravel_index(ids, self.shape)
        out = np.empty((ids.size, len(self.columns)), dtype=np.float64)
        for j, values in enumerate(self.axis_values):
            out[:, j] = values[index[j]]
        for j in range(len(self.axis_values), len(self.columns)):
            out[:, j] = _fixed(self.sweep, self.columns[j])
        return out

    def group_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each point's group and its place in the group."""
        index = np.unravel_index(np.asarray(ids, dtype=np.int64), self.shape)
        keys = [i for j, i in enumerate(index) if j != self.current]
        group = np.ravel_multi_index(keys, self.key_shape) if keys else np.zeros(len(ids), dtype=np.int64)
        place = index[self.current] if self.current is not None else np.zeros(len(ids), dtype=np.int64)
        return np.asarray(group, dtype=np.int64), np.asarray(place, dtype=np.int64)

    def members(self, g: int, lo: int, hi: int) -> np.ndarray:
        """The points at places ``lo`` to ``hi`` of group ``g``."""
        places = np.arange(lo, hi, dtype=np.int64)
        key = iter(np.unravel_index(g, self.key_shape)) if self.key_shape else iter(())
        index = [places if j == self.current else np.full(places.size, next(key), dtype=np.int64)
                 for j in range(len(self.shape))]
        return np.asarray(np.ravel_multi_index(index, self.shape), dtype=np.int64)

    def size(self, g: int) -> int:
        return self.group_size

    def level_source(self, name: str) -> GridSource:
        """The values of axis ``name``, each taken by as many points as the other axes make."""
        j = self.sweep.axis_names.index(name)
        return GridSource(self.axis_values[j], self.n // self.shape[j])


class SampledPoints:
    """The points of a sampled sweep (see the module docstring)."""

    def __init__(self, sweep: Sweep):
        self.sweep = sweep
        self.columns = columns_of(sweep)
        self.n = sweep.n_sample
        self.one_group = sweep.axis_names == ["current"]
        self.n_groups = 1 if self.one_group else self.n
        self.unit = None
        self._engine = None
        if sweep.sampler == "latin":
            from scipy.stats import qmc
            self.unit = qmc.LatinHypercube(len(sweep.axes), seed=sweep.seed).random(self.n)

    def unit_rows(self, lo: int, hi: int) -> np.ndarray:
        """The unit sample of points ``lo`` to ``hi`` (rows), as the whole draw would give them."""
        if self.unit is not None:
            return self.unit[lo:hi]
        from scipy.stats import qmc
        if self._engine is None or self._engine.num_generated != lo:
            self._engine = qmc.Sobol(len(self.sweep.axes), scramble=True, seed=self.sweep.seed)
            if lo:
                self._engine.fast_forward(lo)
        with warnings.catch_warnings():                # the whole draw's warning, if any, is the file's
            warnings.simplefilter("ignore", UserWarning)
            return self._engine.random(hi - lo)

    def values(self, ids: np.ndarray) -> np.ndarray:
        """The columns' values (rows: ``ids``, drawn over their span; columns: :attr:`columns`)."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.empty((ids.size, len(self.columns)), dtype=np.float64)
        if ids.size == 0:
            return out
        lo = int(ids.min())
        unit = self.unit_rows(lo, int(ids.max()) + 1)[ids - lo]
        for j, axis in enumerate(self.sweep.axes):
            out[:, j] = scale(axis, unit[:, j])
        for j in range(len(self.sweep.axes), len(self.columns)):
            out[:, j] = _fixed(self.sweep, self.columns[j])
        return out

    def group_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids = np.asarray(ids, dtype=np.int64)
        if self.one_group:
            return np.zeros(ids.size, dtype=np.int64), ids
        return ids, np.zeros(ids.size, dtype=np.int64)

    def members(self, g: int, lo: int, hi: int) -> np.ndarray:
        start = 0 if self.one_group else g
        return np.arange(start + lo, start + hi, dtype=np.int64)

    def size(self, g: int) -> int:
        return self.n if self.one_group else 1

    def level_source(self, name: str) -> StreamSource:
        """The values of axis ``name``, drawn again block by block at each pass."""
        j = self.sweep.axis_names.index(name)
        axis = self.sweep.axes[j]

        def blocks():
            for lo in range(0, self.n, LEVEL_BLOCK):
                yield scale(axis, self.unit_rows(lo, min(self.n, lo + LEVEL_BLOCK))[:, j])
        return StreamSource(blocks, self.n)


def _fixed(sweep: Sweep, column: str) -> float:
    return sweep.dt if column == "dt" else sweep.current


def points_of(sweep: Sweep):
    return GridPoints(sweep) if sweep.sampler is None else SampledPoints(sweep)
