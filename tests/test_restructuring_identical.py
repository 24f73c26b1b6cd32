"""Every shipped preset's CSV files are byte-identical to those written before the restructuring of issue 16
(each adapter declaring its contract, one executor for every study, one execution package, one path for
the metrics): ``data/restructuring_csv_sha256.txt`` holds the sha256 of each CSV file the command line
wrote for every preset on the backends reference and nengo, at the commit its header names (the same
check with Brian2 passed when the restructuring landed; Brian2 is left out here because its compiled code
is built for the host's processor, so its last bits are reproducible on one machine, not across machines).

Rows added since that commit, by later issues, are removed before hashing: they are new verdicts, not
changes of the old ones (:data:`ADDED_SINCE`)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

DIGESTS = Path(__file__).resolve().parent / "data" / "restructuring_csv_sha256.txt"
BACKENDS = "reference,nengo"
#: metric-name prefix of rows metrics.csv gained after that commit -> what added them
ADDED_SINCE = {"large_current_limit_": "the LIF's large-current limit rows of the f-I study (issue 22)"}


def without_added_rows(path: Path) -> bytes:
    """The file's bytes without the rows of :data:`ADDED_SINCE` (metrics.csv's fourth column is the metric)."""
    lines = path.read_bytes().splitlines(keepends=True)
    if path.name != "metrics.csv":
        return b"".join(lines)
    return b"".join(line for line in lines
                    if not any(line.split(b",")[3].startswith(p.encode()) for p in ADDED_SINCE))


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


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """``written(preset)``: the finished command line and the output directory of the preset's run on
    :data:`BACKENDS`, run once per preset for this module's tests."""
    runs = {}

    def run(preset):
        if preset not in runs:
            out = tmp_path_factory.mktemp("restructuring") / preset
            runs[preset] = subprocess.run([sys.executable, "-m", "comparisons", "run", preset, "--out", str(out),
                                           "--backends", BACKENDS, "--quiet"], cwd=ROOT, capture_output=True,
                                          text=True), out
        return runs[preset]
    return run


def test_the_added_rows_are_really_there_and_removed(written):
    """The filter is not vacuous: textbook's metrics.csv holds the added rows, and only they go."""
    done, out = written("textbook")
    assert done.returncode == 0, done.stderr
    whole = (out / "metrics.csv").read_bytes().splitlines(keepends=True)
    kept = without_added_rows(out / "metrics.csv").splitlines(keepends=True)
    removed = [line for line in whole if line not in kept]
    assert removed and all(b",large_current_limit_" in line for line in removed)


def test_the_digests_cover_the_presets_shipped_then():
    """Every preset of that commit (eight) is still shipped; presets added later are not in this test."""
    from models.files import preset_names
    assert len(EXPECTED) == 8 and set(EXPECTED) <= set(preset_names())


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_the_presets_csv_files_are_those_written_before_the_restructuring(preset, written):
    done, out = written(preset)
    assert done.returncode in (0, 1), done.stderr
    written_digests = {path.name: hashlib.sha256(without_added_rows(path)).hexdigest()
                       for path in sorted(out.glob("*.csv"))}
    assert written_digests == EXPECTED[preset]
