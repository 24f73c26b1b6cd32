"""The points of a sweep as arithmetic: each point's values, its group and its place in the group, made when
asked, for any block of points, without a per-point array (:class:`comparisons.sweep_plan.Plan` uses them).

The numbering is the sweep file's: a grid's points are the product of the axes in the order written, the
last axis fastest (``numpy.meshgrid(indexing="ij")`` raveled); a sampled sweep's are the draws of its
sequence in order. Points at one ``dt`` form a group (a population runs at one step; its neurons may differ
in the current and in every cell field, :mod:`comparisons.sweep_plan`), numbered in the order of their
first point, the points of a group in their own order (what ``pandas.DataFrame.groupby("dt", sort=False)``
gives on the table of all points, :meth:`comparisons.sweep_config.Sweep.points`):

- **grid** (:class:`GridPoints`): a point is its multi-index over the axes' lengths
  (``numpy.unravel_index``); its group is the index of its ``dt`` (0 when ``dt`` is not an axis), its
  place in the group the multi-index without the ``dt`` axis raveled over the other axes' lengths. Groups
  come in the order of their first point because every other axis's index 0 is first in each. Nothing is
  held per point, nor per group.
- **sampled** (:class:`SampledPoints`): when ``dt`` is not an axis every point shares one group (their
  order: the points'); otherwise every point is its own group (group ``g`` is point ``g``): ``dt`` is drawn
  from continuous bounds, each point in its own stratum (Latin hypercube) or its own dyadic interval
  (Sobol'), so no two points share their step (short of bounds so close that two draws round to one
  float64: a grouping by value would run those two as one population, this numbering runs them apart).
  A Sobol' sweep draws the points of a block when asked (``qmc.Sobol(...).fast_forward(lo)`` then ``.random(hi - lo)``: the same numbers
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
        self.key = names.index("dt") if "dt" in names else None
        self.inner = [j for j in range(len(self.shape)) if j != self.key]
        self.inner_shape = tuple(self.shape[j] for j in self.inner)
        self.n_groups = 1 if self.key is None else self.shape[self.key]
        self.group_size = math.prod(self.inner_shape)

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
        """Each point's group (its ``dt``'s index) and its place in the group."""
        ids = np.asarray(ids, dtype=np.int64)
        index = np.unravel_index(ids, self.shape)
        group = index[self.key] if self.key is not None else np.zeros(ids.size, dtype=np.int64)
        place = (np.ravel_multi_index([index[j] for j in self.inner], self.inner_shape) if self.inner
                 else np.zeros(ids.size, dtype=np.int64))
        return np.asarray(group, dtype=np.int64), np.asarray(place, dtype=np.int64)

    def members(self, g: int, lo: int, hi: int) -> np.ndarray:
        """The points at places ``lo`` to ``hi`` of group ``g``."""
        places = np.arange(lo, hi, dtype=np.int64)
        inner = iter(np.unravel_index(places, self.inner_shape)) if self.inner else iter(())
        index = [np.full(places.size, g, dtype=np.int64) if j == self.key else next(inner)
                 for j in range(len(self.shape))]
        return np.asarray(np.ravel_multi_index(index, self.shape), dtype=np.int64)

    def size(self, g: int) -> int:
        return self.group_size

    def group_order(self) -> list[int]:
        """The order the groups' tasks are made in: most steps (the smallest ``dt``) first, so that the
        longest tasks do not come last and leave one worker busy alone at the end of a sweep."""
        if self.key is None:
            return [0]
        dts = self.axis_values[self.key]
        return sorted(range(self.n_groups), key=lambda g: -round(self.sweep.duration / dts[g]))

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
        self.one_group = "dt" not in sweep.axis_names
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

    def group_order(self) -> range:
        """The groups' own order (one group, or one point each)."""
        return range(self.n_groups)

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
