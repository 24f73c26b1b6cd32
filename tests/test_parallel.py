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
from comparisons.execution.isolation import call_all
from models.errors import BackendFailure, NotRepresentable
from comparisons.execution.isolation import forked_map as _forked_map
from conftest import small_sections

#: How long a rendezvous call waits for its partner when the two may run together (s): generous, since
#: the answer comes as soon as both have started; only the sequential case waits this long in full.
PATIENCE = 30.0


def rendezvous(directory: str, me: int, everyone: int, patience: float) -> bool:
    """Leave a mark, then wait up to ``patience`` s for the marks of all ``everyone`` calls."""
    Path(directory, str(me)).touch()
    end = time.monotonic() + patience
    while time.monotonic() < end:
        if all(Path(directory, str(k)).exists() for k in range(everyone)):
            return True
        time.sleep(0.01)
    return False


def hang():
    time.sleep(3600)


def refuse():
    raise NotRepresentable("test", "no such thing")


def crash():
    os._exit(9)


def meeting(directory, everyone: int, patience: float) -> list:
    return [(rendezvous, (str(directory), k, everyone, patience)) for k in range(everyone)]


def test_two_workers_run_two_calls_at_the_same_time(tmp_path):
    assert [o.get() for o in call_all(meeting(tmp_path, 2, PATIENCE), 2 * PATIENCE, workers=2)] == [True, True]


def test_one_worker_runs_them_one_after_the_other(tmp_path):
    assert [o.get() for o in call_all(meeting(tmp_path, 2, 0.5), 60, workers=1)] == [False, True]


def test_by_default_one_call_per_available_core_runs_at_once(tmp_path):
    """As many calls as cores meet when the number of workers is left to the default; with one more, the
    last starts only after one of the others has given up waiting."""
    cores = len(os.sched_getaffinity(0))
    for name in ("all", "one_more"):
        (tmp_path / name).mkdir()
    assert all(o.get() for o in call_all(meeting(tmp_path / "all", cores, PATIENCE), 2 * PATIENCE))
    late = [o.get() for o in call_all(meeting(tmp_path / "one_more", cores + 1, 0.5), 60)]
    # the call whose end freed a place had given up; the last one then found everybody's mark
    assert late[-1] is True and not all(late[:-1])


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


def pid_after(seconds: float = 0.0) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_a_sequence_shares_one_child_and_each_call_keeps_its_own_time_limit():
    """Three calls of 0.6 s in one child with a limit of 1 s each: all succeed (the limit is per call,
    not per sequence), in the same process; the other sequence has a process of its own."""
    calls = [(pid_after, (0.6,))] * 3 + [(pid_after, ())]
    outcomes = call_all(calls, timeout=1.0, workers=2, sequences=[[0, 1, 2], [3]])
    pids = [o.get() for o in outcomes]
    assert pids[0] == pids[1] == pids[2] != pids[3]
    assert os.getpid() not in pids


@pytest.mark.parametrize("bad", [hang, crash])
def test_a_call_that_hangs_or_crashes_fails_alone_and_the_rest_of_its_sequence_runs(bad):
    done = []
    outcomes = call_all([(pid_after, ()), (bad, ()), (divmod, (7, 2)), (pid_after, ())], timeout=1.0,
                        workers=1, done=done.append, sequences=[[0, 1, 2, 3]])
    assert sorted(done) == [0, 1, 2, 3]
    with pytest.raises(BackendFailure, match="timed out after 1 s" if bad is hang else "died"):
        outcomes[1].get()
    assert outcomes[2].get() == (3, 1)
    assert outcomes[0].get() != outcomes[3].get()  # the calls after the failure ran in a new child


def test_sequences_must_name_every_call_once():
    with pytest.raises(ValueError, match="every call exactly once"):
        call_all([(divmod, (1, 1)), (divmod, (2, 1))], 10, sequences=[[0], [0]])


def test_isolated_runs_give_what_runs_in_this_process_give(tmp_path):
    """The calls of a backend share a child and run one after the other: no run may depend on what ran
    before it in the same process, so the rows are those of every run made here, in another order."""
    from comparisons.config import load_comparison
    path = tmp_path / "small.toml"
    path.write_text(Path(__file__).resolve().parent.parent.joinpath("models/presets/euler_tutorial.toml")
                    .read_text() + small_sections(backends=["reference", "brian2", "nest", "rockpool", "snntorch"]))
    comparison = load_comparison(path)
    isolated = run_comparison(comparison, timeout=120, workers=2)
    here = run_comparison(comparison)
    assert not isolated.failures and not here.failures
    assert repr(isolated.metric_rows) == repr(here.metric_rows) and len(here.metric_rows) > 100
    assert isolated.fi_rows == here.fi_rows and isolated.convergence_rows == here.convergence_rows


def parent_pid() -> int:
    return os.getppid()


@pytest.fixture
def server():
    from comparisons.execution.forkserver import ForkServer
    started = ForkServer(["reference"])
    assert started.wait()
    yield started
    started.close()
    assert not Path(started.directory).exists()


def test_a_fork_server_forks_the_runs_it_is_given_and_isolates_them(server):
    """Remote sequences run in workers forked by the server (their parent is the server), with the same
    outcomes and isolation as local children: a crash or a hang fails that call alone and the rest of
    its sequence starts again in a new worker."""
    calls = [(parent_pid, ()), (crash, ()), (pid_after, ()), (hang, ()), (divmod, (7, 2)), (parent_pid, ())]
    outcomes = call_all(calls, timeout=1.0, workers=2, sequences=[[0, 1, 2], [3, 4], [5]], server=server,
                        remote=[True, True, False])
    assert outcomes[0].get() == server.pid
    with pytest.raises(BackendFailure, match="died"):
        outcomes[1].get()
    assert outcomes[2].get() not in (os.getpid(), server.pid)
    with pytest.raises(BackendFailure, match="timed out after 1 s"):
        outcomes[3].get()
    assert outcomes[4].get() == (3, 1)
    assert outcomes[5].get() == os.getpid()  # not flagged remote: forked here


def test_a_fork_server_that_cannot_load_its_backends_says_so():
    from comparisons.execution.forkserver import ForkServer
    failed = ForkServer(["no such backend"])
    assert failed.wait() is False
    failed.close()


def test_runs_forked_by_the_server_give_the_rows_of_runs_forked_here(tmp_path, monkeypatch):
    from comparisons.execution import forkserver
    from comparisons.config import load_comparison
    path = tmp_path / "small.toml"
    path.write_text(Path(__file__).resolve().parent.parent.joinpath("models/presets/euler_tutorial.toml")
                    .read_text() + small_sections(backends=["reference", "snntorch", "rockpool"]))
    comparison = load_comparison(path)
    here = run_comparison(comparison, timeout=120)
    started = forkserver.ForkServer(["snntorch", "rockpool"])
    monkeypatch.setattr(forkserver, "SERVER", started)
    starts = []
    original = forkserver.ForkServer.start
    monkeypatch.setattr(forkserver.ForkServer, "start",
                        lambda self, calls, indices: starts.append(sorted(indices)) or original(self, calls, indices))
    try:
        served = run_comparison(comparison, timeout=120)
    finally:
        started.close()
    assert len(starts) == 3  # rockpool's stimuli, then rockpool's and snnTorch's sweeps
    assert not served.failures
    assert repr(served.metric_rows) == repr(here.metric_rows) and served.fi_rows == here.fi_rows
    assert served.convergence_rows == here.convergence_rows


def test_runs_meant_for_a_server_that_is_gone_fork_here(server):
    server.close()
    outcomes = call_all([(parent_pid, ())], timeout=10, server=server, remote=[True])
    assert outcomes[0].get() == os.getpid()


def _gone(pid: int) -> bool:
    """The process has ended (no longer exists, or only its exit status is left to collect)."""
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return True


def test_a_child_that_asks_to_die_with_its_parent_does():
    """die_with_parent(): the worker of a process that exits is killed with it (the fork server's workers
    and Brian2's standalone builds rely on it)."""
    from models.processes import die_with_parent
    asked_read, asked_write = os.pipe()
    pid_read, pid_write = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            grandchild = os.fork()
            if grandchild == 0:
                die_with_parent()
                os.write(asked_write, b"r")
                time.sleep(60)
                os._exit(0)
            os.read(asked_read, 1)  # the grandchild has asked
            os.write(pid_write, str(grandchild).encode().ljust(16))
        finally:
            os._exit(0)
    for fd in (asked_read, asked_write, pid_write):
        os.close(fd)
    grandchild = int(os.read(pid_read, 16).decode())
    os.close(pid_read)
    os.waitpid(middle, 0)
    end = time.monotonic() + 10
    while not _gone(grandchild) and time.monotonic() < end:
        time.sleep(0.01)
    assert _gone(grandchild)
