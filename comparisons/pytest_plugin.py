"""A pytest plugin for your own test suite: ``pytest_plugins = ["comparisons.pytest_plugin"]`` in your
``conftest.py`` gives every test the ``lif_equivalent`` fixture::

    def test_cell(lif_equivalent):
        lif_equivalent("cell.toml", backends=["reference", "brian2"])

It is :func:`comparisons.testing.assert_equivalent`; on failure the full report is written into the
test's own temporary directory (``tmp_path / "lif-report"``), and the assertion message names it.
"""

from __future__ import annotations

import pytest

from .testing import assert_equivalent


@pytest.fixture
def lif_equivalent(tmp_path):
    """``lif_equivalent(source, backends=None, stimuli=None, **kwargs)``: assert that the comparison passes."""
    def check(source, backends=None, stimuli=None, **kwargs):
        kwargs.setdefault("report_dir", tmp_path / "lif-report")
        return assert_equivalent(source, backends=backends, stimuli=stimuli, **kwargs)
    return check
