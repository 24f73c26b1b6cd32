"""The counts behind a sweep's maps page (:mod:`reports.sweep_html` draws them), taken block by block.

:class:`MapCounts` takes the rows of the points and pairs tables a block at a time and keeps, per pair of
swept axes and per panel (a backend and its verdict, or a backend pair and measure: :func:`panels_for`),
the number of judged and of failing verdicts in each cell (at most ``MAX_LEVELS**2`` cells): its memory
depends on the axes and the backends, never on the number of points. An axis with more than
:data:`MAX_LEVELS` distinct values (a sampled sweep) is cut into :data:`BINS` bins of equal counts of
points (:class:`reports.sweep_levels.Levels`, found from a source of the axis values that need not hold
them all). Only numpy and pandas: a sweep that draws no page imports no plotting library.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from .sweep_levels import BINS, MAX_LEVELS, Levels  # noqa: F401 - the levels' names, as the page uses them


class MapCounts:
    """Judged and failing verdicts per cell of every map, accumulated block by block (:meth:`add`).

    ``axes``: the swept axes (``[{"name", "unit"}]``); ``columns``: each axis name -> its value at every
    point, or a source of them (:mod:`reports.sweep_levels`: the plan gives one that holds no per-point
    array); ``panels``: :func:`panels_for`."""

    def __init__(self, axes: list[dict], columns: dict, panels: list[dict]):
        self.axes, self.panels = axes, panels
        self.levels = {a["name"]: Levels(columns[a["name"]]) for a in axes}
        self.judged, self.failing = {}, {}
        for x, y in combinations(axes, 2):
            shape = (len(panels), len(self.levels[y["name"]].values), len(self.levels[x["name"]].values))
            self.judged[x["name"], y["name"]] = np.zeros(shape, dtype=np.int64)
            self.failing[x["name"], y["name"]] = np.zeros(shape, dtype=np.int64)

    def add(self, columns: "BlockColumns") -> None:
        """Count the verdicts of one block of rows (its ``points`` and ``pairs`` frames, with the axis
        columns)."""
        frames = columns.frames
        index = {(f, a["name"]): self.levels[a["name"]].index(frame[a["name"]].to_numpy(float))
                 for f, frame in frames.items() for a in self.axes}
        for k, panel in enumerate(self.panels):
            f = panel["frame"]
            keep = np.ones(len(frames[f]), dtype=bool)
            for column, value in panel["select"].items():
                keep &= columns.equals(f, column, value)
            judged, failed = columns.verdict(f, panel["verdict"])
            counted = keep & judged
            failed = failed[counted]
            for (x, y), counts in self.judged.items():
                ny, nx = counts[k].shape
                cell = index[f, y][counted] * nx + index[f, x][counted]
                counts[k] += np.bincount(cell, minlength=ny * nx).reshape(ny, nx)
                self.failing[x, y][k] += np.bincount(cell[failed], minlength=ny * nx).reshape(ny, nx)

    def fraction(self, x: str, y: str, k: int) -> np.ndarray:
        """Fraction of failing verdicts per (y, x) cell of panel ``k``; NaN where none is judged."""
        total, bad = self.judged[x, y][k], self.failing[x, y][k]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, bad / total, np.nan)


class BlockColumns:
    """A block's columns as numpy arrays, each made once however many panels read it: which rows equal a
    value (the column's distinct values coded once, :func:`pandas.factorize`; a missing value equals
    nothing) and, of a nullable verdict column, which rows are judged and which of them failed."""

    def __init__(self, points: pd.DataFrame, pairs: pd.DataFrame):
        self.frames, self.codes, self.verdicts = {"points": points, "pairs": pairs}, {}, {}

    def equals(self, frame: str, column: str, value) -> np.ndarray:
        key = frame, column
        if key not in self.codes:
            codes, uniques = pd.factorize(self.frames[frame][column])
            self.codes[key] = codes, {u: i for i, u in enumerate(uniques)}
        codes, lookup = self.codes[key]
        return codes == lookup.get(value, -2)

    def verdict(self, frame: str, column: str) -> tuple[np.ndarray, np.ndarray]:
        key = frame, column
        if key not in self.verdicts:
            passed = self.frames[frame][column]
            self.verdicts[key] = (passed.notna().to_numpy(bool),
                                  (passed == False).fillna(False).to_numpy(bool))  # noqa: E712 - nullable
        return self.verdicts[key]


def panels_for(backends: list[str], measures: list[str], pair_measures: list[str]) -> list[dict]:
    """Every backend x measure panel, then every backend pair x pair measure."""
    out = [{"title": f"{b}: {m}", "frame": "points", "select": {"backend": b}, "verdict": f"{m}_pass"}
           for b in backends for m in measures]
    out += [{"title": f"{a}/{b}: {m.removesuffix('_diff')}", "frame": "pairs", "select": {"backend_a": a, "backend_b": b,
                                                                       "measure": m}, "verdict": "passed"}
            for a, b in combinations(backends, 2) for m in pair_measures]
    return out
