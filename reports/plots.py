"""Figures of the HTML report, drawn with matplotlib's Agg canvas and saved as deterministic SVG.

Determinism: fixed figure sizes, a fixed ``svg.hashsalt`` (the ids of clip paths and glyphs), no date
in the SVG metadata and no user text in any figure (stimulus and specification names go into the HTML
captions, where they are escaped; matplotlib would also read ``$...$`` in them as mathtext). The same
arrays therefore give the same bytes on every run. Figures are embedded in the report as
``data:image/svg+xml`` URIs: no file, no network, no script, and "save image as" gives a vector figure.

Every function takes plain SI arrays and returns a :class:`matplotlib.figure.Figure`; axes are labelled
in the report's human units (ms, mV, pA, Hz). Nothing here touches pyplot's global state.
"""

from __future__ import annotations

import base64
import io
import math
import re
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, NullLocator

from models.result import CLOSED_FORM

#: rcParams of every figure (applied with ``rc_context``, so global state is left unchanged).
RC = {
    "svg.hashsalt": "lif-crosscheck",
    "svg.fonttype": "path",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "legend.fontsize": 8.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.6,
    "path.simplify": True,
    "path.simplify_threshold": 0.1,
}

#: SVG metadata: no date, a fixed creator (the matplotlib version is in the manifest).
SVG_METADATA = {"Date": None, "Creator": "lif-crosscheck"}


#: Okabe-Ito colours (distinguishable with every common colour-vision deficiency), one per backend.
COLOURS = {
    CLOSED_FORM: "#000000",
    "reference": "#0072B2",
    "brian2": "#E69F00",
    "nengo": "#009E73",
    "nest": "#D55E00",
    "snntorch": "#CC79A7",
    "rockpool": "#56B4E9",
}
SPARE = ("#F0E442", "#999999", "#882255", "#44AA99")
DASHES = ((0, ()), (0, (5, 2)), (0, (2, 1.5)), (0, (6, 2, 1.5, 2)), (0, (1, 1)), (0, (8, 3)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X")

#: Floor (mV) for |V - V_closed| on the log axis: exact agreement is drawn there.
DIFF_FLOOR_MV = 1e-13

MS, MV, PA = 1e3, 1e3, 1e12


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_MATHTEXT_POWER = re.compile(r"\$\\mathdefault\{(?P<sign>-?)(?:(?P<coeff>[^\\{}]+)\\times)?"
                             r"(?P<base>\d+)\^\{(?P<exp>-?\d+)\}\}\$")


class PowerFormatter(LogFormatterSciNotation):
    """Matplotlib's log-axis labels (which ticks are labelled, and how) written as plain text with
    Unicode superscripts, "10⁻³" and "2×10⁻³", instead of mathtext: the same labels, without the
    mathtext parser and layout (about 15 % of a report's figure time)."""

    def __call__(self, x, pos=None):
        text = super().__call__(x, pos)
        match = _MATHTEXT_POWER.fullmatch(text)
        if match is None:
            return text
        coeff = f"{match['coeff']}×" if match["coeff"] else ""
        return f"{'−' if match['sign'] else ''}{coeff}{match['base']}{match['exp'].translate(_SUPERSCRIPT)}"


def _log_axis(axis) -> None:
    """A log scale's default formatters (major: decades; minor: labelled when few decades are shown),
    as :class:`PowerFormatter`."""
    axis.set_major_formatter(PowerFormatter(base=10.0))
    axis.set_minor_formatter(PowerFormatter(base=10.0, labelOnlyBase=False))


def marker_size(i: int, n: int) -> float:
    """Hollow markers shrinking with the series index, so that coinciding points stay visible as
    concentric symbols (points)."""
    return 4.0 + 1.6 * (n - 1 - i)


def colour(name: str, index: int = 0) -> str:
    """The fixed colour of a backend (a spare colour for a backend the table does not know)."""
    return COLOURS.get(name, SPARE[index % len(SPARE)])


def label(name: str) -> str:
    """A backend's name in a legend (``closed_form`` reads as "closed form")."""
    return "closed form" if name == CLOSED_FORM else name


@dataclass(frozen=True)
class Series:
    """One backend's run of one stimulus, in SI: times (s), voltages (V) and spike times (s)."""

    name: str
    t: np.ndarray
    v: np.ndarray | None
    spikes: np.ndarray


def new_figure(width: float, height: float, **margins) -> Figure:
    """A figure of fixed size (inches) and fixed margins (fractions, ``Figure.subplots_adjust``) on an
    Agg canvas, outside pyplot. Fixed margins rather than a layout engine: the same geometry whatever
    the data, and no text measuring."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), dpi=100)
    fig.subplots_adjust(**margins)
    FigureCanvasAgg(fig)
    return fig


def svg_bytes(fig: Figure) -> bytes:
    """The figure as SVG bytes, identical for identical inputs."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buffer, format="svg", metadata=SVG_METADATA)
    return buffer.getvalue()


def data_uri(fig: Figure) -> str:
    """The figure as a ``data:image/svg+xml;base64,...`` URI for an ``<img>`` element."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg_bytes(fig)).decode("ascii")


# ------------------------------------------------------------------------------------------ traces

def stimulus_figure(current: np.ndarray, dt: float, exact: Series, runs: list[Series],
                    tolerance: float | None = None) -> Figure:
    """Input, voltage overlay, |V - V_closed| and spike raster of one stimulus, sharing the time axis.

    Parameters
    ----------
    current : ndarray, shape (n_steps,)
        Input samples (A); sample k drives (t_k, t_k+1].
    dt : float
        Step (s).
    exact : Series
        The closed form (``v`` of shape (n_steps + 1,)).
    runs : list of Series
        Every backend that produced a result, in report order.
    tolerance : float, optional
        The trace tolerance before the first spike (V), drawn as a band on the difference panel up to the
        closed form's first spike (after it, differences are spike timing, judged by the spike metrics).
    """
    with matplotlib.rc_context(RC):
        fig = new_figure(9.0, 7.6, left=0.11, right=0.985, top=0.955, bottom=0.065, hspace=0.36)
        axes = fig.subplots(4, 1, sharex=True, height_ratios=[0.8, 2.4, 2.2, 1.3])
        _current_panel(axes[0], current, dt)
        _voltage_panel(axes[1], exact, runs)
        _difference_panel(axes[2], exact, runs, tolerance)
        _raster_panel(axes[3], [exact] + runs)
        axes[3].set_xlabel("time (ms)")
    return fig


def _current_panel(ax, current: np.ndarray, dt: float) -> None:
    t = np.arange(current.size + 1) * dt * MS
    # sample k held over [t_k, t_k+1): a post-step line (a StepPatch computes its limits vertex by vertex)
    ax.step(t, np.append(current, current[-1:]) * PA, where="post", color="#555555", linewidth=1.0)
    ax.set_ylabel("input (pA)")
    ax.set_title("input current (zero-order hold)", loc="left", y=1.0)


def _voltage_panel(ax, exact: Series, runs: list[Series]) -> None:
    if exact.v is not None:
        ax.plot(exact.t * MS, exact.v * MV, color="#bbbbbb", linewidth=3.2, label="closed form", zorder=1)
    for i, run in enumerate(runs):
        if run.v is None:
            continue
        ax.plot(run.t * MS, run.v * MV, color=colour(run.name, i), linewidth=1.0,
                linestyle=DASHES[i % len(DASHES)], label=label(run.name), zorder=2 + i)
    ax.set_ylabel("V (mV)")
    ax.set_title("membrane potential", loc="left", y=1.0)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=min(7, len(runs) + 1), frameon=False,
              borderaxespad=0.1)


def _difference_panel(ax, exact: Series, runs: list[Series], tolerance: float | None = None) -> None:
    ax.set_yscale("log")
    _log_axis(ax.yaxis)
    drawn, top = False, DIFF_FLOOR_MV
    for i, run in enumerate(runs):
        if run.v is None or exact.v is None or run.v.shape != exact.v.shape:
            continue
        diff = np.maximum(np.abs(run.v - exact.v) * MV, DIFF_FLOOR_MV)
        ax.plot(run.t * MS, diff, color=colour(run.name, i), linewidth=0.9, linestyle=DASHES[i % len(DASHES)],
                label=label(run.name))
        drawn = True
        if np.isfinite(diff).any():
            top = max(top, float(np.nanmax(np.where(np.isfinite(diff), diff, np.nan))))
    if tolerance is not None and math.isfinite(tolerance) and tolerance > 0 and exact.t is not None and exact.t.size:
        end = float(exact.spikes[0]) if exact.spikes.size else float(exact.t[-1])
        ax.fill_between([exact.t[0] * MS, end * MS], DIFF_FLOOR_MV / 3, tolerance * MV, color="#1a7f37",
                        alpha=0.12, linewidth=0, label=f"tolerance before 1st spike ({tolerance * MV:.2g} mV)")
        ax.hlines(tolerance * MV, exact.t[0] * MS, end * MS, color="#1a7f37", linewidth=1.0, linestyles="--")
        if exact.spikes.size:
            ax.axvline(end * MS, color="#888888", linewidth=0.8, linestyle=":")
    if tolerance is not None and math.isfinite(tolerance):
        top = max(top, tolerance * MV)
    # room above the data (four decades) for the legend, so that it never hides a curve
    ax.set_ylim(DIFF_FLOOR_MV / 3, top * 1e4 if drawn else 1.0)
    ax.set_ylabel("|V − V_closed| (mV)")
    ax.set_title(f"difference to the closed form (exact agreement drawn at {DIFF_FLOOR_MV:g} mV)", loc="left", y=1.0)
    if drawn or tolerance is not None:
        ax.legend(loc="upper right", frameon=False, ncols=min(7, len(runs) + 1), borderaxespad=0.2,
                  handlelength=1.6, columnspacing=1.0)


def _raster_panel(ax, series: list[Series]) -> None:
    names = [label(s.name) for s in series]
    trains = [s.spikes * MS for s in series]
    colours = [colour(s.name, i - 1) for i, s in enumerate(series)]
    ax.eventplot(trains, lineoffsets=np.arange(len(series)), linelengths=0.75, colors=colours,
                 linewidths=1.0)
    ax.set_yticks(np.arange(len(series)), names)
    ax.set_ylim(len(series) - 0.4, -0.6)
    ax.grid(axis="y", visible=False)
    ax.set_title("spikes", loc="left", y=1.0)


# ------------------------------------------------------------------------------------------ f-I

def fi_figure(curve_current: np.ndarray, curve_rate: np.ndarray, points: dict[str, tuple]) -> Figure:
    """Rate against current for every backend over the closed form, with the error under it.

    Parameters
    ----------
    curve_current, curve_rate : ndarray, shape (m,)
        The closed-form curve: currents (A) and rates (Hz).
    points : dict
        Backend -> (currents (A), measured rates (Hz), closed-form rates (Hz)), arrays of shape (n,).
    """
    with matplotlib.rc_context(RC):
        fig = new_figure(9.0, 6.4, left=0.09, right=0.985, top=0.95, bottom=0.08, hspace=0.22)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.4, 1.4])
        top.plot(curve_current * PA, curve_rate, color="#bbbbbb", linewidth=3.2, label="closed form")
        for i, (name, (current, rate, exact)) in enumerate(points.items()):
            style = dict(color=colour(name, i), marker=MARKERS[i % len(MARKERS)],
                         markersize=marker_size(i, len(points)), linewidth=0.9, markerfacecolor="none",
                         label=label(name))
            top.plot(current * PA, rate, **style)
            bottom.plot(current * PA, rate - exact, **style)
        bottom.axhline(0.0, color="#888888", linewidth=0.8)
        top.set_ylabel("rate (Hz)")
        top.set_title("f-I curve (stationary rate)", loc="left", y=1.0)
        top.legend(loc="upper left", frameon=False)
        bottom.set_ylabel("rate − closed form (Hz)")
        bottom.set_xlabel("input current (pA)")
        bottom.set_title("error", loc="left", y=1.0)
    return fig


# ------------------------------------------------------------------------------------------ convergence

@dataclass(frozen=True)
class ConvergenceSeries:
    """One backend's dt sweep (SI): steps (s), |mean ISI error| (s) and its bound, trace error (V) and
    its bound, and the fitted orders (``None`` when the harness fitted none)."""

    name: str
    dt: np.ndarray
    isi_error: np.ndarray
    isi_bound: np.ndarray
    trace_error: np.ndarray
    trace_bound: np.ndarray
    isi_order: tuple[float, float] | None = None
    trace_order: tuple[float, float] | None = None


def convergence_figure(series: list[ConvergenceSeries]) -> Figure:
    """Log-log ISI error and trace error against dt, per backend, with their bounds (dotted) and the
    fitted orders in the legends (under each panel, so that they never hide a point)."""
    with matplotlib.rc_context(RC):
        fig = new_figure(9.0, 5.0, left=0.085, right=0.99, top=0.93, bottom=0.33, wspace=0.3)
        left, right = fig.subplots(1, 2)
        for i, s in enumerate(series):
            _convergence_line(left, s, i, len(series), s.dt * MS, s.isi_error * MS, s.isi_bound * MS, s.isi_order)
            _convergence_line(right, s, i, len(series), s.dt * MS, s.trace_error * MV, s.trace_bound * MV,
                              s.trace_order)
        dts = np.unique(np.concatenate([s.dt for s in series])) * MS if series else np.array([])
        for ax, what in ((left, "|mean ISI − exact ISI| (ms)"), (right, "max |V − V_closed| before 1st spike (mV)")):
            _log_dt_axis(ax, dts)
            ax.set_ylabel(what)
            if series:
                ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False, ncols=1)
        left.set_title("spike timing (dotted: bound)", loc="left", y=1.0)
        right.set_title("subthreshold trace (dotted: bound)", loc="left", y=1.0)
    return fig


def _log_dt_axis(ax, dts_ms: np.ndarray) -> None:
    """Log-log axes with the swept steps as the only x ticks, labelled in plain decimals (ms)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_axis(ax.yaxis)
    ax.xaxis.set_minor_locator(NullLocator())
    if dts_ms.size:
        ax.set_xticks(dts_ms, [f"{d:g}" for d in dts_ms])
    ax.set_xlabel("dt (ms)")


def flat_error(error: np.ndarray, rtol: float = 1e-6) -> bool:
    """True when an error is the same at every dt (to ``rtol``): its fitted order is 0 because the
    quantity rounds to the same value on every grid, not because it fails to converge."""
    finite = np.asarray(error, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size < 2:
        return False
    return bool(np.max(finite) - np.min(finite) <= rtol * max(np.max(np.abs(finite)), 1e-300))


def _convergence_line(ax, s: ConvergenceSeries, i: int, n: int, dt, error, bound, order) -> None:
    c = colour(s.name, i)
    shown = np.where(np.isfinite(error) & (error > 0), error, np.nan)
    text = label(s.name)
    if order is not None and math.isfinite(order[0]):
        text += f" (order {order[0]:.2f}" + (f" ± {order[1]:.2f})" if math.isfinite(order[1]) else ")")
        if flat_error(error) and not np.all(np.isnan(shown)):
            text += " — same error at every dt: the interval rounds alike"
    if np.all(np.isnan(error)):
        text += ": no interval at any dt"     # the runs had fewer than two spikes: nothing to measure
    elif np.all(np.isnan(shown)):
        text += ": 0 at every dt"
    ax.plot(dt, shown, color=c, marker=MARKERS[i % len(MARKERS)], markersize=marker_size(i, n), linewidth=1.0,
            markerfacecolor="none", label=text)
    positive = np.where(np.isfinite(bound) & (bound > 0), bound, np.nan)
    if not np.all(np.isnan(positive)):
        ax.plot(dt, positive, color=c, linestyle=":", linewidth=1.0)
