"""The process's one DuckDB instance and the warehouse files attached to it while in use.

DuckDB lets one *process* hold a database file read-write, so a file is opened only while
an operation is in flight: threads share it, each with its own cursor, and when the last
operation finishes it is closed and another process may take it. Opening retries "Could
not set lock" with a bounded exponential backoff.

Opening is ``ATTACH`` into the process's one in-memory DuckDB instance and closing is
``DETACH`` (which checkpoints and releases the file lock, as closing a connection does):
a new DuckDB instance costs ~30 ms of CPU to start, an attach ~3 ms, and a deploy
rehearsal opens the file dozens of times. :func:`interrupt_all` stops every query of
the process (Ctrl-C, and at exit).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nbaops.adapters.duckdb_engine import connect, engine
from nbaops.errors import DamagedStateError, WarehouseError, first_line

STOPPED_MESSAGE = "local warehouse: interrupted, no new query starts"


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


def _is_access_error(exc: BaseException) -> bool:
    """The file cannot be opened for writing where it is (not its content's fault)."""
    text = str(exc)
    return "Read-only file system" in text or "Permission denied" in text


class DamagedWarehouseError(DamagedStateError, WarehouseError):
    """The warehouse file exists but is not a DuckDB database DuckDB can open (cut short,
    overwritten): not a lock held by another process. ``sandbox.reset`` sets it aside.
    Bad local state, like a damaged state file: exit 2, not "could not determine"."""


# The process's one DuckDB instance (in memory): every warehouse file is attached to it
# while in use. Created on the first open, never closed before the process ends.
_INSTANCE: list[Any] = []
_INSTANCE_LOCK = threading.Lock()
_ALIASES = itertools.count()


def _instance() -> Any:
    with _INSTANCE_LOCK:
        if not _INSTANCE:
            _INSTANCE.append(connect())
        return _INSTANCE[0]


class AttachedFile:
    """One warehouse file per process, attached only while operations are in flight."""

    def __init__(self, path: Path, lock_timeout_s: float) -> None:
        self.path = path
        self.lock_timeout_s = lock_timeout_s
        self._lock = threading.Lock()
        self._conn: Any = None  # the instance while the file is attached
        self._users = 0
        self.active: set[Any] = set()  # cursors in use (interrupt_all stops their queries)
        self._alias = _next_alias()
        self._stale: list[str] = []  # aliases whose DETACH failed

    def _attach(self) -> Any:
        """Attach the file under this connection's alias; the instance it is attached to.

        DuckDB's spill files go beside the file (``<file>.tmp``), where a connection of
        its own put them, not into the working directory. An alias whose ``DETACH``
        failed is detached first: the file attached twice would read as damaged.

        Raises:
            _duckdb.Error: as ``duckdb.connect`` of the file would (same messages).
        """
        from nbaops.table_catalog import quote_ident

        instance = _instance()
        with contextlib.closing(instance.cursor()) as cur:
            for stale in list(self._stale):
                cur.execute(f"DETACH DATABASE IF EXISTS {quote_ident(stale)}")
                self._stale.remove(stale)
            with contextlib.suppress(engine().Error):  # spilled files in use: keep theirs
                cur.execute("SET GLOBAL temp_directory = $dir", {"dir": f"{self.path}.tmp"})
            cur.execute(f"ATTACH $path AS {quote_ident(self._alias)}", {"path": str(self.path)})
        return instance

    def _detach(self) -> None:
        """Checkpoint the file and release its lock; on failure the next open detaches
        the old alias first and attaches under a new one."""
        from nbaops.table_catalog import quote_ident

        instance, self._conn = self._conn, None
        try:
            with contextlib.closing(instance.cursor()) as cur:
                cur.execute(f"DETACH {quote_ident(self._alias)}")
        except BaseException:
            self._stale.append(self._alias)
            self._alias = _next_alias()
            raise

    def _open(self) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.02
        while True:
            try:
                return self._attach()
            except engine().Error as exc:
                if _is_access_error(exc):  # a reset could not write there either
                    raise DamagedStateError(
                        f"cannot open local warehouse {self.path}: {first_line(exc)}; "
                        "NBAOPS_HOME must be a folder nbaops can write (nothing was changed)"
                    ) from None
                if not _is_lock_error(exc):
                    raise DamagedWarehouseError(
                        f"cannot open local warehouse {self.path}: {first_line(exc)}; "
                        "`inv sandbox.reset` rebuilds it"
                    ) from None
                if _STOPPED:  # the process is ending: stop waiting for the lock
                    raise WarehouseError(STOPPED_MESSAGE) from None
                if time.monotonic() + delay > deadline:
                    raise WarehouseError(
                        f"local warehouse {self.path} is locked by another process "
                        f"(waited {self.lock_timeout_s:g}s): {first_line(exc)}"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    @contextmanager
    def hold(self) -> Iterator[Any]:
        """Keep the file attached for the duration of the block; yields the instance.

        Raises:
            WarehouseError: the process was interrupted (:func:`interrupt_all`): no
                DuckDB call starts after that.
        """
        with _in_duckdb():
            with self._lock:
                if self._conn is None:
                    self._conn = self._open()
                self._users += 1
                conn = self._conn
            try:
                yield conn
            finally:
                with self._lock:
                    self._users -= 1
                    if self._users == 0 and self._conn is not None:
                        self._detach()

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor of its own for this thread's operation, on this file."""
        with self.hold() as conn:
            from nbaops.table_catalog import quote_ident

            cur = conn.cursor()
            try:
                cur.execute(f"USE {quote_ident(self._alias)}")
            except BaseException:
                cur.close()
                raise
            with self._lock:
                self.active.add(cur)
            try:
                yield cur
            finally:
                with self._lock:
                    self.active.discard(cur)
                cur.close()


_CONNECTIONS: dict[Path, AttachedFile] = {}
_CONNECTIONS_LOCK = threading.Lock()
# Set by interrupt_all (the process is ending): no DuckDB call starts after it.
_STOPPED = False
# Threads inside a hold() block (opening, querying, closing): interrupt_all waits for 0.
_IN_FLIGHT = 0
# The threads inside one (how many blocks deep), and those an interrupt_all found there:
# still ending (unwinding the interrupted query) when the process ends, see interrupt_all.
_INSIDE: dict[threading.Thread, int] = {}
_INTERRUPTED: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


@contextmanager
def _in_duckdb() -> Iterator[None]:
    """Count this thread in :data:`_IN_FLIGHT` for the block; refuse once stopped."""
    global _IN_FLIGHT
    me = threading.current_thread()
    with _CONNECTIONS_LOCK:
        if _STOPPED:
            raise WarehouseError(STOPPED_MESSAGE)
        _IN_FLIGHT += 1
        _INSIDE[me] = _INSIDE.get(me, 0) + 1
    try:
        yield
    finally:
        with _CONNECTIONS_LOCK:
            _IN_FLIGHT -= 1
            if _INSIDE[me] == 1:
                del _INSIDE[me]
            else:
                _INSIDE[me] -= 1


def _next_alias() -> str:
    """A catalog name for an attached file: ours, never text from outside."""
    return f"nbaops_warehouse_{next(_ALIASES)}"


def attached_file(path: Path, lock_timeout_s: float) -> AttachedFile:
    """The process's one :class:`AttachedFile` for ``path`` (its lock wait set to
    ``lock_timeout_s``)."""
    key = path.resolve()
    with _CONNECTIONS_LOCK:
        shared = _CONNECTIONS.get(key)
        if shared is None:
            shared = _CONNECTIONS[key] = AttachedFile(key, lock_timeout_s)
        shared.lock_timeout_s = lock_timeout_s
        return shared


def interrupt_all(wait_s: float = 2.0, *, refuse_new: bool = False) -> bool:
    """Stop every query of this process and wait (up to ``wait_s``) until no thread is
    inside DuckDB; with ``refuse_new`` (the process is ending) no DuckDB call starts after.

    A thread still inside DuckDB when the interpreter shuts down is ended by a forced
    unwind that DuckDB's C++ swallows, and the process aborts ("FATAL: exception not
    rethrown", SIGABRT) instead of exiting with its code: the runner calls this on Ctrl-C
    (the queries stop before "interrupted" is printed) and ``atexit`` calls it with
    ``refuse_new`` (a check left behind by its timeout, or a thread that reached the
    warehouse after the Ctrl-C, gets a WarehouseError instead of entering DuckDB during
    the shutdown), and then waits for the daemon threads an interrupt found inside
    DuckDB to end (:func:`_ended`). Returns whether every thread left DuckDB (and, with
    ``refuse_new``, every such thread ended) in time.
    """
    global _STOPPED
    deadline = time.monotonic() + wait_s
    while True:
        with _CONNECTIONS_LOCK:
            _STOPPED = _STOPPED or refuse_new
            shared = list(_CONNECTIONS.values())
            in_flight = _IN_FLIGHT
            _INTERRUPTED.update(_INSIDE)
        if not in_flight:
            return _ended(deadline) if refuse_new else True
        for cur in [cur for conn in shared for cur in list(conn.active)]:
            with contextlib.suppress(Exception):  # it may have just finished
                cur.interrupt()
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _ended(deadline: float) -> bool:
    """Wait (until ``deadline``) for the daemon threads an interrupt found inside DuckDB
    to end. Out of DuckDB's calls, such a thread still holds its cursor (in the frames of
    the error it is unwinding); freed in that thread while the interpreter shuts down,
    DuckDB's destructor is unwound by the exiting thread and aborts the process, as a
    thread inside a query would."""
    me = threading.current_thread()
    for thread in list(_INTERRUPTED):
        if thread is not me and thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in _INTERRUPTED if t is not me and t.daemon)


# At every exit, not only on Ctrl-C: a check that timed out (checks.timeout_s) may still
# be inside DuckDB when the process ends; atexit runs before the interpreter ends daemon
# threads, so the query is stopped there instead of the process aborting (exit 134).
atexit.register(interrupt_all, refuse_new=True)
