"""The validation dashboard: every preset run into ``out/<preset>/``, and ``out/index.html`` linking them.

The index shows, per preset, its verdict counts (read back from the preset's ``metrics.csv``, the file
the report itself was built from), exit status, backends (those that failed or could not represent the
specification marked), the report digest, and a link to its ``report.html``. It is written atomically
(:func:`models.files.replacing`), so a reader never sees a half-written index.

A preset that cannot be run is a bug in the suite: nothing is caught here, the error propagates.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from models.files import replacing

from . import html

#: Exit statuses ordered from best to worst (see :mod:`comparisons.cli`).
SEVERITY = (0, 1, 3)


@dataclass
class PresetSummary:
    """One row of the dashboard."""

    preset: str
    status: int
    href: str
    name: str = ""
    description: str = ""
    digest: str = ""
    created: str = ""
    passed: int = 0
    failed: int = 0
    informational: int = 0
    backends: list[dict] = field(default_factory=list)

    @property
    def meaning(self) -> str:
        return html.EXIT_MEANING.get(self.status, "unknown")

    @property
    def css(self) -> str:
        return "pass" if self.status == 0 else "fail"


def worst(statuses: list[int]) -> int:
    """The most severe exit status (3 > 1 > 0; any other status ranks above them all)."""
    return max(statuses, key=lambda s: SEVERITY.index(s) if s in SEVERITY else len(SEVERITY) + s, default=0)


def summarise(preset: str, status: int, manifest: dict, directory: Path) -> PresetSummary:
    """A dashboard row from a preset's manifest and its ``metrics.csv``."""
    spec = manifest.get("specification", {})
    row = PresetSummary(preset, status, quote(preset) + "/report.html", str(spec.get("name", preset)),
                        _first_sentence(str(spec.get("description", ""))), str(manifest.get("report_digest", "")),
                        str(manifest.get("created", "")))
    row.passed, row.failed, row.informational = verdict_counts(directory / "metrics.csv")
    row.backends = backend_states(manifest)
    return row


def verdict_counts(metrics_csv: Path) -> tuple[int, int, int]:
    """(passing, failing, informational) rows of a ``metrics.csv``."""
    with open(metrics_csv, newline="", encoding="utf-8") as handle:
        verdicts = [r["passed"] for r in csv.DictReader(handle)]
    passed, failed = verdicts.count("True"), verdicts.count("False")
    return passed, failed, len(verdicts) - passed - failed


def backend_states(manifest: dict) -> list[dict]:
    """Each requested backend with its state: ran, failed or not representable."""
    failures = manifest.get("failures", {})
    refused = manifest.get("not_representable", {})
    out = []
    for name in manifest.get("simulation", {}).get("backends", []):
        if name in failures:
            out.append({"name": name, "css": "fail", "state": "failed", "why": failures[name]})
        elif name in refused:
            ran = [v["label"] for v in manifest.get("variants", [])
                   if name in v.get("backends", []) and v.get("label") not in ("", "as specified")]
            state = "substitute" if ran else "not representable"
            why = f"ran the substitute [{', '.join(ran)}] instead: {refused[name]}" if ran else refused[name]
            out.append({"name": name, "css": "warn", "state": state, "why": why})
        else:
            out.append({"name": name, "css": "pass", "state": "ran", "why": ""})
    return out


def _first_sentence(text: str) -> str:
    """The text up to its first sentence end (a full stop followed by a capital letter)."""
    text = " ".join(text.split())
    return _SENTENCE_END.split(text, maxsplit=1)[0]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def render_index(rows: list[PresetSummary], lede: str | None = None) -> bytes:
    """The dashboard page (UTF-8 bytes); ``lede`` (plain text) replaces the presets' sentence above the table."""
    template = html.environment().get_template("index.html.j2")
    totals = {"passed": sum(r.passed for r in rows), "failed": sum(r.failed for r in rows),
              "status": worst([r.status for r in rows])}
    return template.render(rows=rows, totals=totals, citation=html.citation(), lede=lede,
                           meaning=html.EXIT_MEANING.get(totals["status"], "unknown")).encode("utf-8")


def write_index(out: Path, rows: list[PresetSummary], lede: str | None = None) -> Path:
    """Write ``out/index.html`` atomically; returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / "index.html"
    with replacing(target) as tmp, open(tmp, "wb") as handle:
        handle.write(render_index(rows, lede))
    return target
