"""What a sweep counts while its tables are streamed (:func:`comparisons.sweep_tables.stream` calls
:meth:`Tally.add` with every block): per backend the points by status and the failing verdicts per
measure, the maps' cells (:class:`reports.sweep_counts.MapCounts`), each backend pair's point of largest
ISI difference for its bounds, and whether any verdict failed (the exit status). Its memory depends on the
axes and backends, never on the number of points."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from reports.sweep_counts import BlockColumns, MapCounts, panels_for

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
        self.maps = MapCounts(axes, {n: plan.level_source(n) for n in sweep.axis_names},
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
        columns = BlockColumns(points, pairs)
        self.maps.add(columns)
        for entry in self.summary:
            rows = columns.equals("points", "backend", entry["backend"])
            for s in STATUSES:
                entry[s] += int(np.count_nonzero(rows & columns.equals("points", "status", s)))
            for m in self.sweep.measures:
                entry[m] += int(np.count_nonzero(rows & columns.verdict("points", f"{m}_pass")[1]))
        self.any_failing |= any(bool(columns.verdict("points", c)[1].any())
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
