"""A fork server: a process that has imported some simulators and forks the children that run them.

Importing every simulator takes about 7 s on one core before the first comparison of a report can fork
its runs (torch alone 1.6 s). A fork server started early imports the torch-based simulators (snnTorch,
Rockpool) on the other core while the main process imports the rest; the comparisons then never import
torch themselves: their runs of those simulators are forked from the server, as
:func:`comparisons.execution.isolation.call_all` would fork them locally, with the same protocol (one outcome per
call, sent as soon as it is known) and the same isolation (a call that hangs is killed by its
pid, one that crashes ends its connection).

The server listens on a Unix socket in a private temporary directory. For each connection it forks a
worker, which receives the calls, answers with its pid and runs them; the server reaps its workers
(``SIGCHLD`` ignored) and dies with the process that started it (Linux ``PR_SET_PDEATHSIG``), its
workers with it.
"""

from __future__ import annotations

import gc
import os
import pickle
import shutil
import signal
import tempfile
import time
from multiprocessing.connection import Client, Listener

from models.processes import die_with_parent

from .isolation import _child
from .preloading import preload

#: The simulators a report's fork server imports: the torch-based ones.
SERVED = ("snntorch", "rockpool")


class ForkServer:
    """A process with ``names`` preloaded that forks, on request, a child running a sequence of calls.

    Construction returns at once (the server imports in the background); :meth:`wait` blocks until it
    listens and says whether it could load every backend. Usable from any process forked after it.
    """

    def __init__(self, names):
        self.names = frozenset(names)
        self.directory = tempfile.mkdtemp(prefix="lif-crosscheck-")
        self.address = os.path.join(self.directory, "socket")
        self.owner = os.getpid()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the server: never returns
            os.close(read)
            _serve(self.names, self.address, write, self.owner)
        os.close(write)
        self.pid, self._ready, self._ok = pid, read, None

    def wait(self) -> bool:
        """Block until the server listens; False when it could not load its backends (it has exited)."""
        if self._ok is None:
            with os.fdopen(self._ready, "rb") as pipe:
                self._ok = pipe.read(1) == b"1"
        return self._ok

    def start(self, calls: dict, indices: list[int]):
        """A new worker running ``calls[i]`` for i in ``indices``: its connection and its pid."""
        conn = Client(self.address, family="AF_UNIX")
        conn.send_bytes(pickle.dumps((calls, indices), protocol=pickle.HIGHEST_PROTOCOL))
        return conn, pickle.loads(conn.recv_bytes())

    def process(self, calls: dict, indices: list[int]):
        """:meth:`start` as :mod:`comparisons.execution.isolation` uses it: the connection and a
        :class:`RemoteProcess` (so that isolation needs nothing of this module)."""
        conn, pid = self.start(calls, indices)
        return conn, RemoteProcess(pid)

    def close(self) -> None:
        """Stop the server (only the process that started it does) and remove its socket."""
        if os.getpid() != self.owner:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        shutil.rmtree(self.directory, ignore_errors=True)


def _serve(names, address: str, ready: int, owner: int) -> None:
    code = 0
    try:
        die_with_parent(owner)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for name in sorted(names):
                preload(name)
            gc.freeze()
            listener = Listener(address, family="AF_UNIX", backlog=64)
        except BaseException:  # noqa: BLE001 - the runs then fork locally
            os.write(ready, b"0")
            raise
        os.write(ready, b"1")
        os.close(ready)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
        while True:
            conn = listener.accept()
            server = os.getpid()
            if os.fork() == 0:  # a worker: never returns
                listener.close()
                die_with_parent(server)
                calls, indices = pickle.loads(conn.recv_bytes())
                conn.send_bytes(pickle.dumps(os.getpid()))
                _child(conn, calls, indices, server)
            conn.close()
    except BaseException:  # noqa: BLE001 - nothing to report to; the caller sees the closed pipe
        code = 1
    finally:
        os._exit(code)


class RemoteProcess:
    """The parts of ``multiprocessing.Process`` that :mod:`comparisons.execution.isolation` uses, for a worker of a
    fork server (not a child of this process: it is watched by its pid)."""

    exitcode = None

    def __init__(self, pid: int):
        self.pid = pid

    def is_alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def join(self, timeout: float | None = None) -> None:
        end = time.monotonic() + (timeout if timeout is not None else 1e9)
        while self.is_alive() and time.monotonic() < end:
            time.sleep(0.001)


#: The fork server of this process tree, when one was started (:func:`comparisons.execution.preloading.preload_all`,
#: for ``make report``).
SERVER: ForkServer | None = None


def stop() -> None:
    """Stop this process's fork server, if it started one."""
    global SERVER
    if SERVER is not None:
        SERVER.close()
        SERVER = None
