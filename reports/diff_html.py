"""The diff page: what changed between two reports, in the report's style.

:func:`render_diff` takes plain data (built by :func:`comparisons.diff.page_data`; reports never import
comparisons) and returns ``diff.html``: self-contained, no script, every string escaped, nothing that
changes between runs of the same two reports.
"""

from __future__ import annotations

from .html import environment

#: What each kind of change means, shown above its table.
MEANING = {
    "verdict": "verdicts that flipped (either way)",
    "metric": "metric values that moved by more than their tolerance (exact values: by more than rounding)",
    "row": "metric rows present in one report only",
    "spikes": "spike trains whose steps changed: spikes moved, and the first moved spike (delta in steps)",
    "fi": "f-I points whose rate changed",
    "setup": "what was compared: specification, method, dt, stimuli, tolerances, backend rules, outcome",
    "environment": "library versions, platform, git commit, input path (listed; not drift on its own)",
}


def render_diff(data: dict) -> bytes:
    """``diff.html`` (UTF-8 bytes) for the plain data of one diff."""
    groups = [{"kind": kind, "meaning": MEANING[kind], "rows": [r for r in data["rows"] if r["kind"] == kind]}
              for kind in data["kinds"]]
    page = environment().get_template("diff.html.j2").render(**data, groups=[g for g in groups if g["rows"]],
                                                               meaning=MEANING)
    return page.encode("utf-8")


