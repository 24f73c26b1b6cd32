"""The maps page of a sweep (``maps.html``): where in parameter space the verdicts fail.

One figure per pair of swept axes. Each panel is one backend and measure (its own verdict against the
closed form or its twin) or one backend pair and measure (their difference against the sum of both
bounds). A cell of a panel shows the fraction of failing verdicts among the judged points with those two
axis values, *marginalised over every other axis* (all their values pooled; the page says which axes that
is), and the region where any verdict fails is outlined in black; a cell without any judged point is grey.
An axis with more than :data:`MAX_LEVELS` distinct values (a sampled sweep) is cut into
:data:`BINS` bins of equal counts. No per-point figure is drawn; the images are embedded as PNG, so the
page stands alone.
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


def levels(values: pd.Series) -> tuple[np.ndarray, list[float]]:
    """The level index of every value and each level's representative value (its value, or the bin's
    median for a binned axis)."""
    unique = np.unique(values.to_numpy(float))
    if unique.size <= MAX_LEVELS:
        return np.searchsorted(unique, values.to_numpy(float)), list(unique)
    edges = np.quantile(values.to_numpy(float), np.linspace(0, 1, BINS + 1))
    index = np.clip(np.searchsorted(edges, values.to_numpy(float), side="right") - 1, 0, BINS - 1)
    return index, [float(np.median(values.to_numpy(float)[index == i])) if np.any(index == i) else float("nan")
                   for i in range(BINS)]


def fail_fraction(ix: np.ndarray, iy: np.ndarray, passed: pd.Series, nx: int, ny: int) -> np.ndarray:
    """Fraction of failing verdicts per (y, x) cell among the judged rows; NaN where none is judged."""
    judged = passed.notna().to_numpy()
    failed = (passed == False).fillna(False).to_numpy(bool)  # noqa: E712 - nullable booleans
    total = np.zeros((ny, nx))
    bad = np.zeros((ny, nx))
    np.add.at(total, (iy[judged], ix[judged]), 1)
    np.add.at(bad, (iy[judged], ix[judged]), failed[judged])
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


def axis_pair_figure(points: pd.DataFrame, pairs: pd.DataFrame, x: dict, y: dict, panels: list[dict]) -> bytes:
    """One PNG: a panel per entry of ``panels`` (``{"title", "frame": "points"|"pairs", "select": {column:
    value}, "verdict": column}``) over the axes ``x`` and ``y`` (``{"name", "unit"}``)."""
    cols = min(6, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(PANEL_INCHES * cols + 1.2, PANEL_INCHES * rows + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    index = {}
    for frame_name, frame in (("points", points), ("pairs", pairs)):
        ix, xv = levels(frame[x["name"]])
        iy, yv = levels(frame[y["name"]])
        index[frame_name] = (ix, iy, xv, yv)
    image = None
    for k, panel in enumerate(panels):
        frame = points if panel["frame"] == "points" else pairs
        ix, iy, xv, yv = index[panel["frame"]]
        keep = np.ones(len(frame), dtype=bool)
        for column, value in panel["select"].items():
            keep &= (frame[column] == value).to_numpy()
        frac = fail_fraction(ix[keep], iy[keep], frame[panel["verdict"]][keep], len(xv), len(yv))
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


def render_maps(data: dict, points: pd.DataFrame, pairs: pd.DataFrame) -> bytes:
    """The page (UTF-8 bytes). ``data``: ``name``, ``description``, ``axes`` (``[{"name", "unit"}]``, the
    swept ones), ``backends``, ``measures``, ``pair_measures``, ``summary`` (rows of counts per backend),
    ``attributions`` (``[{"point", "pair", "values", "lines"}]``) and ``notes``."""
    axes = data["axes"]
    panels = panels_for(data["backends"], data["measures"], data["pair_measures"])
    figures = []
    for x, y in combinations(axes, 2):
        others = [a["name"] for a in axes if a["name"] not in (x["name"], y["name"])]
        png = axis_pair_figure(points, pairs, x, y, panels)
        figures.append({"x": x["name"], "y": y["name"], "others": others,
                        "src": "data:image/png;base64," + base64.b64encode(png).decode("ascii")})
    page = environment().get_template("sweep.html.j2").render(figures=figures, **data)
    return page.encode("utf-8")
