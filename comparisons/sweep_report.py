"""What the maps page of a sweep shows (:mod:`reports.sweep_html` draws it): counts per backend, the swept
axes, and for listed points the attribution of two backends' difference to their conventions.

Everything on the page is counted block by block while the tables are streamed
(:class:`comparisons.sweep_tally.Tally`); none of it needs the table of all points."""

from __future__ import annotations

import math
from itertools import combinations
from pathlib import Path

from models.drive import Drive
from models.errors import SpecificationError
from models.files import replacing
from reports.html import human
from reports.sweep_html import render_maps

from . import attribution, contract
from .sweep_config import AXIS_KINDS, Sweep
from .sweep_plan import Plan
from .sweep_tally import Tally


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
    with replacing(path) as tmp:
        Path(tmp).write_bytes(page)
    return path


def _notes(sweep: Sweep) -> list[str]:
    notes = []
    if sweep.sampler:
        notes.append(f"{sweep.n_sample} points of a scrambled {sweep.sampler} sequence (seed {sweep.seed}); "
                     f"axes with more than 30 distinct values are shown in 10 bins of equal counts of points")
    n = sweep.n_sample
    if sweep.sampler == "sobol" and n & (n - 1):
        below = 1 << (n.bit_length() - 1)
        notes.append(f"{n} is not a power of two: a Sobol' sequence puts its share of the points into every "
                     f"dyadic box only for n = 2^m ({below} or {2 * below} here); these {n} points are "
                     f"its first {n}, without that balance")
    if not math.isfinite(sweep.timeout):
        notes.append("no time limit per task")
    return notes
