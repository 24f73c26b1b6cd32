"""Example: guard a cell's simulator independence in your own test suite (run: python -m pytest)."""

from pathlib import Path

from comparisons.testing import assert_equivalent

CELL = Path(__file__).with_name("cell.toml")


def test_cell_is_the_same_on_reference_and_brian2():
    result = assert_equivalent(CELL, backends=["reference", "brian2"])
    assert result.verdict == "pass"


def test_with_the_fixture(lif_equivalent):
    lif_equivalent(CELL, backends=["reference"])   # on failure the report is in the test's tmp_path
