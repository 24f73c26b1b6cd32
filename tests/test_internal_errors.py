"""A bug of the suite is not bad input: a function called outside its contract raises ContractError, which
the command line reports as an internal error (exit 4), never as the user's mistake (exit 2)."""

from __future__ import annotations

import numpy as np
import pytest

from comparisons import harness
from comparisons import metrics as M
from comparisons.cli import EXIT_BAD_INPUT, EXIT_INTERNAL, main
from models.drive import Drive
from models.errors import ContractError, UserInputError
from models.result import RunSettings


def test_contract_errors_are_not_user_input_errors():
    with pytest.raises(ContractError) as info:
        M.trace_max_abs(np.zeros(3), np.zeros(4))
    assert not isinstance(info.value, UserInputError)
    with pytest.raises(ContractError, match="drive's step"):
        RunSettings(1e-4, 10).require_grid_of(Drive.constant([1e-10], 2e-4, 10))


def test_an_internal_error_exits_4_with_one_line(monkeypatch, tmp_path, capsys):
    def broken(*args, **kwargs):
        M.trace_max_abs(np.zeros(3), np.zeros(4))   # a harness bug: traces of different lengths
    monkeypatch.setattr(harness, "run_comparison", broken)
    status = main(["run", "textbook", "--out", str(tmp_path / "out"), "--quiet", "--backends", "reference"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == EXIT_INTERNAL != EXIT_BAD_INPUT
    assert len(err) == 1 and err[0].startswith("internal error") and "metrics.traces" in err[0]
    assert not (tmp_path / "out").exists()
