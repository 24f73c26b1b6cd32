"""What the maps page of a sweep shows (:mod:`reports.sweep_html` draws it): counts per backend, the swept
axes, and for listed points the attribution of two backends' difference to their conventions."""

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
from reports.sweep_html import render_maps

from . import attribution, contract
from .sweep_config import AXIS_KINDS, Sweep
from .sweep_tables import PAIR_MEASURES

STATUSES = ("ok", "invalid", "unrepresentable", "failed")


def summary(points: pd.DataFrame, sweep: Sweep) -> list[dict]:
    """Per backend: points by status and failing verdicts per measure."""
    out = []
    for name in sweep.backends:
        rows = points[points["backend"] == name]
        entry = {"backend": name, **{s: int((rows["status"] == s).sum()) for s in STATUSES}}
        for m in sweep.measures:
            entry[m] = int((rows[f"{m}_pass"] == False).sum())  # noqa: E712 - nullable booleans
        out.append(entry)
    return out


def listed_points(sweep: Sweep, pairs: pd.DataFrame) -> list[tuple[int, str, str]]:
    """For each backend pair, the judged point with the largest ``isi_diff / tolerance``."""
    out = []
    isi = pairs[(pairs["measure"] == "isi_diff") & pairs["passed"].notna()]
    for a, b in combinations(sweep.backends, 2):
        rows = isi[(isi["backend_a"] == a) & (isi["backend_b"] == b)]
        if rows.empty:
            continue
        ratio = rows["value"] / rows["tolerance"].where(rows["tolerance"] > 0, np.inf)
        out.append((int(rows.loc[ratio.idxmax(), "point"]), a, b))
    return out


def attribute_point(sweep: Sweep, point: int, a: str, b: str) -> dict | None:
    """The attribution of ``a - b`` at one point (``None`` when either backend has no twin or the point is
    invalid)."""
    values = sweep.points().loc[point].to_dict()
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


def write_maps(sweep: Sweep, points: pd.DataFrame, pairs: pd.DataFrame, out: Path,
               listed: list[tuple[int, str, str]] | None = None) -> Path:
    """Write ``maps.html`` into ``out`` (temporary file, then renamed)."""
    if listed is None and sweep.attribute:
        listed = [(p, a, b) for p in sweep.attribute for a, b in combinations(sweep.backends, 2)]
    chosen = listed if listed is not None else listed_points(sweep, pairs)
    found = [attribute_point(sweep, p, a, b) for p, a, b in chosen]
    axes = [{"name": n, "unit": AXIS_KINDS[n].si_unit} for n in sweep.axis_names]
    data = {"name": sweep.name, "description": sweep.description, "axes": axes,
            "backends": list(sweep.backends), "measures": list(sweep.measures),
            "pair_measures": list(PAIR_MEASURES), "summary": summary(points, sweep),
            "attributions": [f for f in found if f is not None], "n_points": int(points["point"].nunique()),
            "duration": human(sweep.duration, "s"), "notes": _notes(sweep)}
    page = render_maps(data, points, pairs)
    path = out / "maps.html"
    tmp = path.with_name(f".maps.html.tmp-{os.getpid()}")
    tmp.write_bytes(page)
    os.replace(tmp, path)
    return path


def _notes(sweep: Sweep) -> list[str]:
    notes = []
    if sweep.sampler:
        notes.append(f"{sweep.n_sample} points of a scrambled {sweep.sampler} sequence (seed {sweep.seed}); "
                     f"axes with more than 30 distinct values are shown in 10 bins of equal counts")
    if not math.isfinite(sweep.timeout):
        notes.append("no time limit per task")
    return notes
