"""The maps page of a sweep (``maps.html``): where in parameter space the verdicts fail.

One figure per pair of swept axes. Each panel is one backend and measure (its own verdict against the
closed form or its twin) or one backend pair and measure (their difference against the sum of both
bounds). A cell of a panel shows the fraction of failing verdicts among the judged points with those two
axis values, *marginalised over every other axis* (all their values pooled; the page says which axes that
is), and the region where any verdict fails is outlined in black; a cell without any judged point is grey.
An axis with more than :data:`~reports.sweep_counts.MAX_LEVELS` distinct values (a sampled sweep) is cut
into :data:`~reports.sweep_counts.BINS` bins of equal counts of points. No per-point figure is drawn; the images are embedded as PNG,
so the page stands alone.

The page is drawn from counts (:class:`reports.sweep_counts.MapCounts`), never from the table of all
points.
"""

from __future__ import annotations

import base64
import io
from itertools import combinations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .html import environment, human
from .sweep_counts import MapCounts

PANEL_INCHES = 1.9


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
