"""Every shipped preset's CSV files are byte-identical to those written before the restructuring of issue 16
(each adapter declaring its contract, one executor for every study, one execution package, one path for
the metrics): ``data/restructuring_csv_sha256.txt`` holds the sha256 of each CSV file the command line
wrote for every preset on the backends reference, brian2 and nengo, at the commit its header names.

The digests are of this project's machine: Brian2's compiled code is built for the host's processor and
the report's numbers are reproducible on one machine (byte-identical CSVs on re-run), not across
processors. On another machine, write them again from that commit (the header says how)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

DIGESTS = Path(__file__).resolve().parent / "data" / "restructuring_csv_sha256.txt"
BACKENDS = "reference,brian2,nengo"


def expected() -> dict[str, dict[str, str]]:
    """preset -> file name -> sha256."""
    out: dict = {}
    for line in DIGESTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, path = line.split()
            preset, name = path.split("/")
            out.setdefault(preset, {})[name] = digest
    return out


EXPECTED = expected()


def test_the_digests_cover_the_presets_shipped_then():
    """Every preset of that commit (eight) is still shipped; presets added later are not in this test."""
    from models.files import preset_names
    assert len(EXPECTED) == 8 and set(EXPECTED) <= set(preset_names())


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_the_presets_csv_files_are_those_written_before_the_restructuring(preset, tmp_path):
    out = tmp_path / preset
    done = subprocess.run([sys.executable, "-m", "comparisons", "run", preset, "--out", str(out), "--backends",
                           BACKENDS, "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    written = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(out.glob("*.csv"))}
    assert written == EXPECTED[preset]
