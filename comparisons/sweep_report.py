"""What the maps page of a sweep shows (:mod:`reports.sweep_html` draws it): counts per backend, the swept
axes, and for listed points the attribution of two backends' difference to their conventions.

Everything on the page is counted block by block while the tables are streamed (:class:`Tally`): the
counts per backend, the maps' cells (:class:`reports.sweep_html.MapCounts`) and each backend pair's point of
largest ISI difference for its bounds; none needs the table of all points."""

from __future__ import annotations

import math
import os
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from models.drive import Drive
from models.errors import SpecificationError
from reports.html import human
from reports.sweep_html import MapCounts, panels_for, render_maps

from . import attribution, contract
from .sweep_config import AXIS_KINDS, Sweep
from .sweep_plan import Plan
from .sweep_tables import PAIR_MEASURES

STATUSES = ("ok", "invalid", "unrepresentable", "failed")


class Tally:
    """The page's counts over the blocks of the tables (:meth:`add`): per backend the points by status and
    the failing verdicts per measure, the maps' cells, and per backend pair the judged point with the
    largest ``isi_diff / tolerance`` (the first such point)."""

    def __init__(self, sweep: Sweep, plan: Plan):
        self.sweep = sweep
        axes = [{"name": n, "unit": AXIS_KINDS[n].si_unit} for n in sweep.axis_names]
        self.maps = MapCounts(axes, {n: plan.column(n) for n in sweep.axis_names},
                              panels_for(list(sweep.backends), list(sweep.measures), list(PAIR_MEASURES)))
        self.summary = [{"backend": name, **{s: 0 for s in STATUSES}, **{m: 0 for m in sweep.measures}}
                        for name in sweep.backends]
        self.best: dict[tuple[str, str], tuple[float, int]] = {}
        self.any_failing = False

    @property
    def failed(self) -> int:
        """Rows (point and backend) whose task failed."""
        return sum(entry["failed"] for entry in self.summary)

    def add(self, points: pd.DataFrame, pairs: pd.DataFrame) -> None:
        self.maps.add(points, pairs)
        for entry in self.summary:
            rows = points[points["backend"] == entry["backend"]]
            for s in STATUSES:
                entry[s] += int((rows["status"] == s).sum())
            for m in self.sweep.measures:
                entry[m] += int((rows[f"{m}_pass"] == False).sum())  # noqa: E712 - nullable booleans
        self.any_failing |= any(bool((points[c] == False).any())  # noqa: E712 - nullable booleans
                                for c in ("latency_pass", "isi_pass", "rate_pass", "contract_pass"))
        isi = pairs[(pairs["measure"] == "isi_diff") & pairs["passed"].notna()]
        for a, b in combinations(self.sweep.backends, 2):
            rows = isi[(isi["backend_a"] == a) & (isi["backend_b"] == b)]
            if rows.empty:
                continue
            ratio = (rows["value"] / rows["tolerance"].where(rows["tolerance"] > 0, np.inf)).to_numpy(float)
            if np.isnan(ratio).all():
                continue
            at = int(np.nanargmax(ratio))
            if (a, b) not in self.best or ratio[at] > self.best[a, b][0]:
                self.best[a, b] = (float(ratio[at]), int(rows["point"].iloc[at]))

    def listed_points(self) -> list[tuple[int, str, str]]:
        """For each backend pair, the judged point with the largest ``isi_diff / tolerance``."""
        return [(self.best[a, b][1], a, b) for a, b in combinations(self.sweep.backends, 2) if (a, b) in self.best]


def attribute_point(sweep: Sweep, plan: Plan, point: int, a: str, b: str) -> dict | None:
    """The attribution of ``a - b`` at one point (``None`` when either backend has no twin or the point is
    invalid)."""
    values = plan.values_at(point)
    try:
        spec = sweep.cell_at(values)
    except SpecificationError:
        return None
    if sweep.problem(spec, float(values["dt"])):
        return None
    dt = float(values["dt"])
    n_steps = int(round(sweep.duration / dt))
    ta = contract.twin_of(sweep.module_name(a), sweep.settings(a, dt, n_steps))
    tb = contract.twin_of(sweep.module_name(b), sweep.settings(b, dt, n_steps))
    if ta is None or tb is None:
        return None
    drive = Drive.constant([float(values["current"])], dt, n_steps)
    result = attribution.attribute(spec, ta, tb, drive, measures=("isi", "latency"))
    return {"point": point, "pair": f"{a} vs {b}",
            "values": [(k, human(v, AXIS_KINDS[k].si_unit)) for k, v in values.items()],
            "lines": [result.summary(m) for m in ("isi", "latency")]}


def write_maps(sweep: Sweep, plan: Plan, tally: Tally, out: Path,
               listed: list[tuple[int, str, str]] | None = None) -> Path:
    """Write ``maps.html`` into ``out`` (temporary file, then renamed) from the counts of ``tally``."""
    if listed is None and sweep.attribute:
        listed = [(p, a, b) for p in sweep.attribute for a, b in combinations(sweep.backends, 2)]
    chosen = listed if listed is not None else tally.listed_points()
    found = [attribute_point(sweep, plan, p, a, b) for p, a, b in chosen]
    data = {"name": sweep.name, "description": sweep.description, "axes": tally.maps.axes,
            "backends": list(sweep.backends), "measures": list(sweep.measures), "summary": tally.summary,
            "attributions": [f for f in found if f is not None], "n_points": plan.n,
            "duration": human(sweep.duration, "s"), "notes": _notes(sweep)}
    page = render_maps(data, tally.maps)
    path = out / "maps.html"
    tmp = path.with_name(f".maps.html.tmp-{os.getpid()}")
    tmp.write_bytes(page)
    os.replace(tmp, path)
    return path


def _notes(sweep: Sweep) -> list[str]:
    notes = []
    if sweep.sampler:
        notes.append(f"{sweep.n_sample} points of a scrambled {sweep.sampler} sequence (seed {sweep.seed}); "
                     f"axes with more than 30 distinct values are shown in 10 bins of equal counts of points")
    if not math.isfinite(sweep.timeout):
        notes.append("no time limit per task")
    return notes
