"""The output place of a report: checked before any simulation, locked while a run uses it, replaced
crash-consistently, and cleaned of what an interrupted run left.

Rules (each refusal is one :class:`~models.errors.UserInputError` on ``--out``: exit status 2):

* ``--out`` must name a directory path: not ``""``, not a file, not a symbolic link (dangling or not:
  give the directory itself). ``..`` is resolved before anything is created, so ``D/a/../b`` is ``D/b``
  and ``D/a`` is never made.
* The directory holding the input file, the current directory and their parents are never replaced.
* An existing directory is replaced only when it is empty or, with ``--force``, when it is a report of
  this suite: its ``manifest.json`` says ``"suite": "lif-crosscheck"`` and it holds nothing but regular
  files a report consists of (:data:`REPORT_FILES` and the files its manifest lists). Anything else is
  refused, naming one entry that does not belong.
* A run locks the output place (``fcntl.lockf`` on ``.<name>.lock`` next to it) from before the
  simulation until its report is in place; a second run into the same place is refused at once.
  The lock file is removed when the run ends.
* The report is written into ``.<name>.partial-XXXXXXXX`` next to the output and exchanged with the
  earlier report in one ``renameat2(RENAME_EXCHANGE)`` (Linux >= 3.15, glibc >= 2.28): at every instant
  the output holds the complete earlier report or the complete new one. Where the exchange is not
  available it falls back to two renames through ``.<name>.old-XXXXXXXX/previous``; SIGINT/SIGTERM are
  held back until both are done, and after a SIGKILL between them the next run puts the earlier report
  back.
* Under the lock, a run first removes the leftovers of interrupted runs into the same place (those
  staging directories are never the only copy of a report).

Test hook: with ``LIFX_PAUSE_AT=<stage>`` in the environment the writer prints ``LIFX_PAUSE_AT <stage>``
on stderr and waits (at most 60 s) at that stage, so that a test can signal it exactly there. Stages:
``locked`` (lock taken, before the simulation), ``written`` (new report complete in its staging
directory), ``exchanged`` (new report in place, earlier one still in the staging directory), ``aside``
(fallback only: earlier report moved aside, new one not yet in place; a signal held back ends the wait)
and ``landed`` (done, lock still held).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from models.errors import UserInputError

SUITE = "lif-crosscheck"

#: Every file a report of this suite consists of (reports.writers writes them).
REPORT_FILES = frozenset({"report.html", "manifest.json", "metrics.csv", "fi_curve.csv", "traces.csv",
                          "spikes.csv", "convergence.csv"})

#: The destination of the current (or last) run in this process: what an interrupt message reports.
CURRENT: "Destination | None" = None

_held = 0  # depth of held-back sections
_pending: int | None = None  # a signal that arrived in one


# ----------------------------------------------------------------------------------------- signals

def defer(signum: int) -> bool:
    """Called by the command line's SIGINT/SIGTERM handlers: True (and the signal is remembered) when it
    arrived while the output place is being swapped; it is raised again when the swap is complete."""
    global _pending
    if _held:
        _pending = _pending or signum
        return True
    return False


@contextmanager
def held_back():
    """SIGINT/SIGTERM arriving inside are delivered (again) when the block ends."""
    global _held, _pending
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending is not None:
            signum, _pending = _pending, None
            signal.raise_signal(signum)


def pause(stage: str) -> None:
    """The test hook (see the module's docstring)."""
    if os.environ.get("LIFX_PAUSE_AT") != stage:
        return
    print(f"LIFX_PAUSE_AT {stage}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _pending is None:
        time.sleep(0.02)


# ----------------------------------------------------------------------------------------- renames

_AT_FDCWD, _RENAME_NOREPLACE, _RENAME_EXCHANGE = -100, 1, 2


def _renameat2_function():
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


#: libc's renameat2, or None where there is none (the two-rename fallback is used).
RENAMEAT2 = _renameat2_function()


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """renameat2(src, dst, flags); False when the system or file system does not support it."""
    if RENAMEAT2 is None:
        return False
    if RENAMEAT2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(src), None, str(dst))


# ----------------------------------------------------------------------------------------- checks

def resolve_out(text) -> Path:
    """The absolute output path: ``..`` and symbolic links of its parents resolved, its last component
    kept as given (so a symbolic link there is seen, not followed)."""
    if os.fspath(text) == "":
        raise UserInputError("--out", "expected a directory path", "")
    path = Path(os.path.join(os.getcwd(), os.fspath(text)))
    if path.name in ("", ".", ".."):
        return Path(os.path.realpath(path))
    return Path(os.path.realpath(path.parent)) / path.name


def not_a_report(path: Path) -> str | None:
    """Why the directory ``path`` is not a report of this suite (None when it is one)."""
    try:
        entries = sorted(os.listdir(path))
        doc = json.loads((path / "manifest.json").read_text(encoding="utf-8")) \
            if "manifest.json" in entries else None
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    except ValueError:
        doc = None
    listed = doc.get("files") if isinstance(doc, dict) else None
    allowed = REPORT_FILES | (set(listed) if isinstance(listed, dict) else set())
    for name in entries:
        if name not in allowed:
            return f'holds "{name}", which a report of this suite does not'
        if not stat.S_ISREG(os.lstat(path / name).st_mode):
            return f'holds "{name}", which is not a regular file'
    if doc is None:
        return "has no manifest.json of this suite"
    if not (isinstance(doc, dict) and doc.get("suite") == SUITE and isinstance(listed, dict)):
        return "has a manifest.json this suite did not write"
    return None


def existing_parent(path: Path, given: str) -> Path:
    """The nearest existing ancestor of ``path``; refused when it is not a directory."""
    for candidate in path.parents:
        if os.path.lexists(candidate):
            if not candidate.is_dir():
                raise UserInputError("--out", f"has a file where a directory is needed ({candidate})", given)
            return candidate
    return Path("/")


def probe_writable(directory: Path, given: str) -> None:
    """Create and remove a file in ``directory`` (permission bits say nothing to root, nor about /proc
    or a read-only file system)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".lifx-probe-", dir=directory)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise UserInputError("--out", f"is not writable (cannot create a file in {directory}: {exc.strerror})",
                             given) from None


# ----------------------------------------------------------------------------------------- destination

class Destination:
    """One run's output place. ``with Destination(out, force, inputs) as dest:`` checks it, creates its
    parents, takes the lock and removes leftovers (all before any simulation); ``with dest.staging() as
    tmp:`` yields the directory to write the report into and puts it in place when the block succeeds.

    ``state``: ``"checked"``, ``"locked"``, then ``"landed"`` once the new report is at the output.
    ``had_report``: the output held a report when the lock was taken.
    ``into=True``: a directory that runs write into (the dashboard's): checked and locked, never replaced.
    ``log``: called with a line for each leftover removed or report put back.
    """

    def __init__(self, out, force: bool, inputs=(), into: bool = False, log=None):
        self.given = os.fspath(out)
        self.into = into  # a directory written into (the dashboard's), never replaced: only locked
        self.path = resolve_out(out)
        self.force = force
        self.inputs = [Path(os.path.realpath(p)) for p in inputs if p]
        self.state = "checked"
        self.had_report = False
        self.log = log or (lambda note: None)  # told what was cleaned up, as it happens
        self._fd: int | None = None
        self._lock: Path | None = None
        self._created: list[Path] = []

    def _refuse(self, expected: str):
        return UserInputError("--out", expected, self.given)

    # checks ---------------------------------------------------------------------------------------

    def check(self) -> None:
        """Refuse a place the suite must not write (see the module's docstring); writes nothing."""
        path = self.path
        if path.is_symlink():
            what = "a dangling symbolic link" if not path.exists() else "a symbolic link"
            raise self._refuse(f"is {what} (to {os.readlink(path)}); give the directory itself")
        if path.exists() and not path.is_dir():
            raise self._refuse("expected a directory, not an existing file")
        if path == path.parent:
            raise self._refuse("is the root directory")
        existing_parent(path, self.given)
        if self.into:
            return
        cwd = Path(os.path.realpath(os.getcwd()))
        if path == cwd or path in cwd.parents:
            raise self._refuse("is the current directory or one of its parents, which are never replaced")
        for source in self.inputs:
            if path in source.parents:
                raise self._refuse(f"contains the input file {source}, and is never replaced")
        if path.is_dir():
            self._check_contents()

    def _check_contents(self) -> None:
        try:
            empty = not any(os.scandir(self.path))
        except OSError as exc:
            raise self._refuse(f"cannot be read ({exc.strerror})") from None
        if empty:
            self.had_report = False
            return
        if not self.force:
            raise self._refuse("exists and is not empty (use --force to replace an earlier report of this suite)")
        why = not_a_report(self.path)
        if why is not None:
            raise self._refuse(f"is not a report of this suite: it {why}; --force replaces only a report of "
                               "this suite or an empty directory")
        self.had_report = True

    # lock ------------------------------------------------------------------------------------------

    def __enter__(self) -> "Destination":
        global CURRENT
        self.check()
        CURRENT = self
        try:
            self._make_parents()
            self._take_lock()
            self.state = "locked"
            self._remove_leftovers()
            self.check()  # again, under the lock
            if self.into:
                probe_writable(self.path if self.path.is_dir() else self.path.parent, self.given)
            pause("locked")
        except BaseException:
            self.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _make_parents(self) -> None:
        missing = []
        for candidate in self.path.parents:
            if os.path.lexists(candidate):
                break
            missing.append(candidate)
        for directory in reversed(missing):
            try:
                os.mkdir(directory)
            except FileExistsError:
                continue
            except OSError as exc:
                raise self._refuse(f"is not writable (cannot create {directory}: {exc.strerror})") from None
            self._created.append(directory)

    def _take_lock(self) -> None:
        lock = self.path.parent / f".{self.path.name}.lock"
        while True:
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise self._refuse(f"is not writable (cannot create {lock}: {exc.strerror})") from None
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise self._refuse(f"cannot be locked ({exc.strerror})") from None
                process = f" (process {holder})" if holder.isdigit() else ""
                raise self._refuse(f"is being written by another run of this suite{process}; wait for it "
                                   "or choose another --out") from None
            try:  # the holder before us may have removed the file we opened: lock the one at the path
                same = os.path.samestat(os.stat(lock, follow_symlinks=False), os.fstat(fd))
            except FileNotFoundError:
                same = False
            if same:
                self._fd, self._lock = fd, lock
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        """Remove and release the lock; remove the parents this run created if nothing landed in them."""
        if self._fd is not None:
            try:
                os.unlink(self._lock)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None
        if self.state != "landed":
            for directory in reversed(self._created):
                try:
                    os.rmdir(directory)
                except OSError:
                    break
            self._created = []

    def _remove_leftovers(self) -> None:
        """Remove (under the lock) the staging directories of interrupted runs into this place; put an
        earlier report moved aside by the two-rename fallback back when the output is missing."""
        pattern = re.compile(rf"\.{re.escape(self.path.name)}\.(partial|old)-[a-z0-9_]{{8}}")
        if self.into:
            return
        with os.scandir(self.path.parent) as entries:
            leftovers = sorted((e.name, m.group(1)) for e in entries
                               if (m := pattern.fullmatch(e.name)) and e.is_dir(follow_symlinks=False))
        for name, kind in leftovers:
            leftover = self.path.parent / name
            if kind == "old":
                previous = leftover / "previous"
                if set(os.listdir(leftover)) - {"previous"}:
                    continue  # not what this suite leaves: not touched
                if (not os.path.lexists(self.path) and previous.is_dir() and not previous.is_symlink()
                        and not_a_report(previous) is None):
                    os.rename(previous, self.path)
                    self.log(f"put back the earlier report that an interrupted run had moved to {leftover}")
            elif any(not e.is_file(follow_symlinks=False) for e in os.scandir(leftover)):
                continue  # a staging directory holds only files: not touched
            shutil.rmtree(leftover, ignore_errors=True)
            if not os.path.lexists(leftover):
                self.log(f"removed {leftover}, left by an interrupted run")

    # writing ---------------------------------------------------------------------------------------

    @contextmanager
    def staging(self):
        """Yield an empty directory next to the output; when the block succeeds it becomes the output.
        An OSError while writing (a full disk) is refused in one line; the output is then untouched."""
        assert self._fd is not None, "staging() needs the lock: use it inside `with Destination(...)`"
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.partial-", dir=self.path.parent))
        except OSError as exc:
            raise self._write_error(exc) from None
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; a report is as readable as any new directory
            try:
                yield tmp
            except OSError as exc:
                if exc.errno is None:
                    raise
                raise self._write_error(exc) from None
            pause("written")
            self._land(tmp)
        finally:
            if os.path.lexists(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
        pause("landed")

    def _write_error(self, exc: OSError) -> UserInputError:
        kept = "the earlier report in it is untouched" if self.had_report else "nothing written"
        return self._refuse(f"could not write the report ({exc.strerror or exc}); {kept}")

    def _land(self, tmp: Path) -> None:
        """Put ``tmp`` at the output (see the module's docstring)."""
        self.check()  # under the lock, so only a hand outside this suite could have changed it
        out = self.path
        try:
            if not os.path.lexists(out):
                with held_back():
                    if not _renameat2(tmp, out, _RENAME_NOREPLACE):
                        os.rename(tmp, out)
                    self.state = "landed"
                return
            with held_back():
                exchanged = _renameat2(tmp, out, _RENAME_EXCHANGE)
                if exchanged:
                    self.state = "landed"
            if exchanged:
                pause("exchanged")
                shutil.rmtree(tmp, ignore_errors=True)  # the earlier report
                return
            old = None
            try:
                with held_back():
                    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                    os.rename(out, old / "previous")
                    pause("aside")
                    try:
                        os.rename(tmp, out)
                    except OSError:
                        os.rename(old / "previous", out)
                        raise
                    self.state = "landed"
            finally:  # also when a signal held back is delivered; never the only copy of a report
                if old is not None and (os.path.lexists(out) or not os.path.lexists(old / "previous")):
                    shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            raise self._write_error(exc) from None


def interrupt_note() -> str:
    """What an interrupted run leaves at its output, for the one line the command line prints."""
    dest = CURRENT
    if dest is None or dest.state != "landed":
        if dest is not None and dest.had_report:
            return f"nothing written, the earlier report in {dest.path} is untouched"
        return "nothing written"
    return f"the new report is complete and in place in {dest.path}"
