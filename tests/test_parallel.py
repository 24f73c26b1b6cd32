"""Independent simulations run side by side: the isolated executor, the harness and the dashboard.

No test here measures time: concurrency is shown by a rendezvous (two calls that can only both succeed
when they run at the same time), and the results must not depend on how many run at once.
"""

import gc
import os
import time
from pathlib import Path

import pytest

from comparisons.harness import run_comparison
from comparisons.isolation import call_all, default_workers
from models.errors import BackendFailure, NotRepresentable
from reports.dashboard import _forked_map
from conftest import small_sections

#: How long a rendezvous call waits for its partner when the two may run together (s): generous, since
#: the answer comes as soon as both have started; only the sequential case waits this long in full.
PATIENCE = 30.0


def rendezvous(directory: str, me: str, other: str, patience: float) -> bool:
    """Leave a mark, then wait up to ``patience`` s for the other call's mark."""
    Path(directory, me).touch()
    end = time.monotonic() + patience
    while time.monotonic() < end:
        if Path(directory, other).exists():
            return True
        time.sleep(0.01)
    return False


def hang():
    time.sleep(3600)


def refuse():
    raise NotRepresentable("test", "no such thing")


def crash():
    os._exit(9)


def test_two_workers_run_two_calls_at_the_same_time(tmp_path):
    calls = [(rendezvous, (str(tmp_path), "a", "b", PATIENCE)),
             (rendezvous, (str(tmp_path), "b", "a", PATIENCE))]
    assert [o.get() for o in call_all(calls, timeout=2 * PATIENCE, workers=2)] == [True, True]


def test_one_worker_runs_them_one_after_the_other(tmp_path):
    calls = [(rendezvous, (str(tmp_path), "a", "b", 0.5)), (rendezvous, (str(tmp_path), "b", "a", 0.5))]
    assert [o.get() for o in call_all(calls, timeout=60, workers=1)] == [False, True]


def test_each_call_has_its_own_time_limit_and_outcome_in_order():
    done = []
    outcomes = call_all([(hang, ()), (divmod, (7, 2)), (refuse, ()), (crash, ()), (divmod, (9, 4))],
                        timeout=1.0, workers=2, done=done.append)
    assert sorted(done) == [0, 1, 2, 3, 4]
    with pytest.raises(BackendFailure, match="timed out after 1 s"):
        outcomes[0].get()
    assert outcomes[1].get() == (3, 1) and outcomes[4].get() == (2, 1)
    with pytest.raises(NotRepresentable, match="no such thing"):
        outcomes[2].get()
    with pytest.raises(BackendFailure, match="died"):
        outcomes[3].get()


def test_the_default_is_one_worker_per_available_core():
    assert default_workers() == len(os.sched_getaffinity(0))


def test_the_outcome_does_not_depend_on_the_number_of_workers(tmp_path):
    """The same comparison run one job at a time and two at a time: identical metric, f-I and
    convergence rows (the metrics are computed in a fixed order after the runs)."""
    from comparisons.config import load_comparison
    path = tmp_path / "small.toml"
    path.write_text(Path(__file__).resolve().parent.parent.joinpath("models/presets/textbook.toml").read_text()
                    + small_sections(backends=["reference", "brian2", "nengo"]))
    comparison = load_comparison(path)
    one = run_comparison(comparison, timeout=120, workers=1)
    two = run_comparison(comparison, timeout=120, workers=2)
    same = [repr(a) == repr(b) for a, b in  # repr: NaN cells (no spikes to compare) equal themselves
            [(one.metric_rows, two.metric_rows), (one.fi_rows, two.fi_rows),
             (one.convergence_rows, two.convergence_rows)]]
    assert same == [True, True, True] and len(one.metric_rows) > 50
    assert not one.failures and not two.failures
    assert gc.get_freeze_count() == 0  # frozen for the forks only, given back to this process


def test_dashboard_map_keeps_the_order_and_reports_a_failing_item():
    assert _forked_map(lambda x: x * x, [3, 1, 4, 1, 5], 2) == [9, 1, 16, 1, 25]
    with pytest.raises(RuntimeError, match="'boom' failed"):
        _forked_map(lambda x: 1 / 0 if x == "boom" else x, ["fine", "boom", "also fine"], 2)
