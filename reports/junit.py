"""JUnit XML from written reports: one test case per verdict row, so any CI system shows validation
failures natively.

Mapping (read back from each report's ``metrics.csv`` and ``manifest.json``): a ``<testsuite>`` per report
and backend; per verdict row a ``<testcase>`` with ``classname`` = backend and ``name`` =
``stimulus/metric vs reference`` (prefixed ``preset/`` when several reports share the file); a failing
row gets ``<failure message="value V, tolerance T unit">``. Informational rows are not test cases. A
backend that failed (raised, timed out, NaN) is one more test case, ``name`` = ``backend run``, with an
``<error>`` holding its reason. Counts: ``tests`` = verdict rows + failed backends, ``failures`` = failing
verdict rows, ``errors`` = failed backends. Deterministic: no time stamps, rows in the report's order.
"""

from __future__ import annotations

import csv
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from models.errors import UserInputError
from models.files import replacing


def _cases(report_dir: Path, prefix: str = "") -> dict[str, list[ET.Element]]:
    manifest = json.loads((report_dir / "manifest.json").read_text(encoding="utf-8"))
    with open(report_dir / "metrics.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    suites: dict[str, list[ET.Element]] = {}
    for r in rows:
        if r["passed"] == "":
            continue
        case = ET.Element("testcase", classname=r["backend"],
                          name=f"{prefix}{r['stimulus']}/{r['metric']} vs {r['reference']}")
        if r["passed"] != "True":
            unit = "" if r["unit"] == "1" else f" {r['unit']}"
            message = f"value {r['value']}{unit}, tolerance {r['tolerance']}{unit} (|value| must be <= tolerance)"
            ET.SubElement(case, "failure", message=message, type="verdict").text = \
                f"{r['stimulus']} {r['backend']} vs {r['reference']}: {r['metric']} = {message}"
        suites.setdefault(r["backend"], []).append(case)
    for backend, why in sorted((manifest.get("failures") or {}).items()):
        case = ET.Element("testcase", classname=backend, name=f"{prefix}backend run")
        ET.SubElement(case, "error", message=str(why), type="backend failed").text = str(why)
        suites.setdefault(backend, []).append(case)
    return suites


def junit_xml(reports: list[tuple[str, Path]], prefix_names: bool = False) -> bytes:
    """The JUnit document of reports ``[(name, directory), ...]``; ``prefix_names`` puts ``name/`` before
    each test name (the dashboard's several presets)."""
    root = ET.Element("testsuites", name="lif-crosscheck")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for name, directory in reports:
        for backend, cases in _cases(Path(directory), f"{name}/" if prefix_names else "").items():
            counts = {"tests": len(cases), "failures": sum(c.find("failure") is not None for c in cases),
                      "errors": sum(c.find("error") is not None for c in cases)}
            suite = ET.SubElement(root, "testsuite", name=f"{name}.{backend}",
                                  **{k: str(v) for k, v in counts.items()}, skipped="0")
            suite.extend(cases)
            for k in totals:
                totals[k] += counts[k]
    for k, v in totals.items():
        root.set(k, str(v))
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def check_junit_path(given, report_dirs=()) -> Path:
    """The JUnit file's path; refused (before any simulation) when it is a directory or a symbolic link,
    lies inside a report directory (which holds only a report's files), or its parent is not a directory."""
    path = Path(os.path.abspath(given))
    if os.path.isdir(path) or os.path.islink(path):
        raise UserInputError("--junit", "expected a file path (not a directory or symbolic link)", given)
    for directory in report_dirs:
        directory = Path(os.path.abspath(directory))
        if directory == path or directory in path.parents:
            raise UserInputError("--junit", f"must lie outside the report directory {directory}", given)
    if path.parent.exists() and not path.parent.is_dir():
        raise UserInputError("--junit", "has a file where a directory is needed", given)
    return path


def write_junit(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`models.files.replacing`)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp, open(tmp, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise UserInputError("--junit", f"could not be written ({exc.strerror})", str(path)) from None
