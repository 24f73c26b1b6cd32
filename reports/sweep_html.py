"""The maps page of a sweep (``maps.html``): where in parameter space the verdicts fail.

One figure per pair of swept axes. Each panel is one backend and measure (its own verdict against the
closed form or its twin) or one backend pair and measure (their difference against the sum of both
bounds). A cell of a panel shows the fraction of failing verdicts among the judged points with those two
axis values, *marginalised over every other axis* (all their values pooled; the page says which axes that
is), and the region where any verdict fails is outlined in black; a cell without any judged point is grey.
An axis with more than :data:`MAX_LEVELS` distinct values (a sampled sweep) is cut into
:data:`BINS` bins of equal counts of points. No per-point figure is drawn; the images are embedded as PNG,
so the page stands alone.

The page needs no table of all points: :class:`MapCounts` takes the rows block by block and keeps, per
pair of axes and panel, the number of judged and of failing verdicts in each cell (at most
``MAX_LEVELS**2`` cells), so its memory depends on the axes and backends, never on the number of points.
"""

from __future__ import annotations

import base64
import io
from itertools import combinations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .html import environment, human

MAX_LEVELS = 30
BINS = 10
PANEL_INCHES = 1.9


class Levels:
    """The levels of one axis from the axis values of every point (each point once): its distinct values,
    or :data:`BINS` bins of equal counts (quantile edges) represented by the median of their points."""

    def __init__(self, values: np.ndarray):
        values = np.asarray(values, dtype=float)
        self.unique = np.unique(values)
        self.edges = None
        if self.unique.size <= MAX_LEVELS:
            self.values = [float(v) for v in self.unique]
            return
        self.edges = np.quantile(values, np.linspace(0, 1, BINS + 1))
        index = self.index(values)
        self.values = [float(np.median(values[index == i])) if np.any(index == i) else float("nan")
                       for i in range(BINS)]

    def index(self, values: np.ndarray) -> np.ndarray:
        """The level of each value (a value of the sweep's points)."""
        values = np.asarray(values, dtype=float)
        if self.edges is None:
            return np.searchsorted(self.unique, values)
        return np.clip(np.searchsorted(self.edges, values, side="right") - 1, 0, BINS - 1)


class MapCounts:
    """Judged and failing verdicts per cell of every map, accumulated block by block (:meth:`add`).

    ``axes``: the swept axes (``[{"name", "unit"}]``); ``columns``: each axis name -> its value at every
    point (the plan's, one float per point); ``panels``: :func:`panels_for`."""

    def __init__(self, axes: list[dict], columns: dict, panels: list[dict]):
        self.axes, self.panels = axes, panels
        self.levels = {a["name"]: Levels(columns[a["name"]]) for a in axes}
        self.judged, self.failing = {}, {}
        for x, y in combinations(axes, 2):
            shape = (len(panels), len(self.levels[y["name"]].values), len(self.levels[x["name"]].values))
            self.judged[x["name"], y["name"]] = np.zeros(shape, dtype=np.int64)
            self.failing[x["name"], y["name"]] = np.zeros(shape, dtype=np.int64)

    def add(self, points: pd.DataFrame, pairs: pd.DataFrame) -> None:
        """Count the verdicts of one block of rows (``points`` and ``pairs`` with the axis columns)."""
        frames = {"points": points, "pairs": pairs}
        index = {(f, a["name"]): self.levels[a["name"]].index(frame[a["name"]].to_numpy(float))
                 for f, frame in frames.items() for a in self.axes}
        for k, panel in enumerate(self.panels):
            frame = frames[panel["frame"]]
            keep = np.ones(len(frame), dtype=bool)
            for column, value in panel["select"].items():
                keep &= (frame[column] == value).to_numpy()
            passed = frame[panel["verdict"]][keep]
            judged = passed.notna().to_numpy()
            failed = (passed == False).fillna(False).to_numpy(bool)[judged]  # noqa: E712 - nullable booleans
            for (x, y), counts in self.judged.items():
                ix = index[panel["frame"], x][keep][judged]
                iy = index[panel["frame"], y][keep][judged]
                np.add.at(counts[k], (iy, ix), 1)
                np.add.at(self.failing[x, y][k], (iy, ix), failed.astype(np.int64))

    def fraction(self, x: str, y: str, k: int) -> np.ndarray:
        """Fraction of failing verdicts per (y, x) cell of panel ``k``; NaN where none is judged."""
        total, bad = self.judged[x, y][k], self.failing[x, y][k]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, bad / total, np.nan)


def _outline(ax, frac: np.ndarray) -> None:
    """Black edges around the cells where some verdict fails."""
    fail = np.nan_to_num(frac) > 0
    ny, nx = fail.shape
    padded = np.pad(fail, 1)
    for y in range(ny):
        for x in range(nx):
            if not fail[y, x]:
                continue
            for dy, dx, seg in ((-1, 0, ([x - .5, x + .5], [y - .5, y - .5])), (1, 0, ([x - .5, x + .5], [y + .5, y + .5])),
                                (0, -1, ([x - .5, x - .5], [y - .5, y + .5])), (0, 1, ([x + .5, x + .5], [y - .5, y + .5]))):
                if not padded[y + 1 + dy, x + 1 + dx]:
                    ax.plot(*seg, color="black", linewidth=1.2)


def _ticks(ax, values: list[float], unit: str, axis: str) -> None:
    step = max(1, len(values) // 6)
    positions = list(range(0, len(values), step))
    labels = [human(values[i], unit, 3) for i in positions]
    if axis == "x":
        ax.set_xticks(positions, labels, rotation=45, ha="right", fontsize=6)
    else:
        ax.set_yticks(positions, labels, fontsize=6)


def axis_pair_figure(counts: MapCounts, x: dict, y: dict) -> bytes:
    """One PNG: a panel per entry of ``counts.panels`` (``{"title", "frame": "points"|"pairs", "select":
    {column: value}, "verdict": column}``) over the axes ``x`` and ``y`` (``{"name", "unit"}``)."""
    panels = counts.panels
    cols = min(6, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(PANEL_INCHES * cols + 1.2, PANEL_INCHES * rows + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    xv, yv = counts.levels[x["name"]].values, counts.levels[y["name"]].values
    image = None
    for k, panel in enumerate(panels):
        frac = counts.fraction(x["name"], y["name"], k)
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.set_facecolor("#d9d9d9")
        image = ax.imshow(np.ma.masked_invalid(frac), origin="lower", aspect="auto", cmap="Reds", vmin=0, vmax=1,
                          interpolation="nearest")
        _outline(ax, frac)
        ax.set_title(panel["title"], fontsize=6)
        if k % cols == 0:
            _ticks(ax, yv, y["unit"], "y")
            ax.set_ylabel(y["name"], fontsize=7)
        else:
            ax.set_yticks([])
        if k >= len(panels) - cols:
            _ticks(ax, xv, x["unit"], "x")
            ax.set_xlabel(x["name"], fontsize=7)
        else:
            ax.set_xticks([])
    if image is not None:
        fig.colorbar(image, ax=fig.axes, shrink=0.6, label="fraction of verdicts failing")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return buffer.getvalue()


def panels_for(backends: list[str], measures: list[str], pair_measures: list[str]) -> list[dict]:
    """Every backend x measure panel, then every backend pair x pair measure."""
    out = [{"title": f"{b}: {m}", "frame": "points", "select": {"backend": b}, "verdict": f"{m}_pass"}
           for b in backends for m in measures]
    out += [{"title": f"{a}/{b}: {m.removesuffix('_diff')}", "frame": "pairs", "select": {"backend_a": a, "backend_b": b,
                                                                       "measure": m}, "verdict": "passed"}
            for a, b in combinations(backends, 2) for m in pair_measures]
    return out


def render_maps(data: dict, counts: MapCounts) -> bytes:
    """The page (UTF-8 bytes). ``data``: ``name``, ``description``, ``axes`` (``[{"name", "unit"}]``, the
    swept ones), ``backends``, ``measures``, ``summary`` (rows of counts per backend), ``attributions``
    (``[{"point", "pair", "values", "lines"}]``) and ``notes``; ``counts``: the maps' verdict counts."""
    axes = data["axes"]
    figures = []
    for x, y in combinations(axes, 2):
        others = [a["name"] for a in axes if a["name"] not in (x["name"], y["name"])]
        png = axis_pair_figure(counts, x, y)
        figures.append({"x": x["name"], "y": y["name"], "others": others,
                        "src": "data:image/png;base64," + base64.b64encode(png).decode("ascii")})
    page = environment().get_template("sweep.html.j2").render(figures=figures, **data)
    return page.encode("utf-8")
