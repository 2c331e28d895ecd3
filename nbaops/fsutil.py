"""The one atomic file write and the one inter-process file lock (kernel).

Readers never see half a file: a write goes to a temporary file in the same folder
(created 0600 by ``mkstemp``) and replaces the target with ``os.replace``. Writers that
read-modify-write hold :func:`file_lock`, an exclusive ``fcntl`` lock that is re-entrant
within one thread and exclusive between threads and processes. :func:`create_once` is the
"first writer wins" variant (a key every process of a state folder must share).
:func:`input_file` and :func:`output_file` check a user-given path before the work that
reads or fills it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

_held = threading.local()


def input_file(flag: str, given: str | Path) -> Path:
    """The path of an input file a flag names, checked to be a readable regular file.

    Raises:
        UsageError: missing, a folder, not a regular file (a device, a pipe), or unreadable.
    """
    from nbaops.errors import UsageError

    path = Path(given).expanduser()
    if not path.exists():
        raise UsageError(f"{flag}: file not found: {path}")
    if path.is_dir():
        raise UsageError(f"{flag}: {path} is a folder; give a file")
    if not path.is_file():
        raise UsageError(f"{flag}: {path} is not a regular file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{flag}: {path} is not readable")
    return path


def output_file(flag: str, given: str | Path) -> Path:
    """The path of an output file a flag names, its folder created now.

    Called before the work whose result it will hold, so a path that cannot be written
    (a folder, an unwritable or uncreatable parent) is one usage line and exit 2 before
    anything is measured or written, not a traceback after.

    The file is replaced atomically when written (:func:`atomic_target`), so an existing
    path that is not a regular file (``/dev/null``, a pipe: as root the rename would put
    a file in the device's place) is refused. Writability is proved by creating a file in
    the folder, not by ``os.access``, which says yes to root even in ``/proc``.

    Raises:
        UsageError: the path is a folder or not a regular file, or its folder cannot be
            created or written.
    """
    from nbaops.errors import UsageError

    path = Path(given).expanduser().resolve()
    if path.is_dir():
        raise UsageError(f"{flag}: {path} is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise UsageError(f"{flag}: {path} is not a regular file; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{flag}: cannot create {path.parent}: {exc.strerror or exc}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"{flag}: cannot write in {path.parent}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)
    return path


@contextlib.contextmanager
def atomic_target(path: Path, *, mode: int | None = None) -> Iterator[Path]:
    """A temporary file beside ``path`` for the block to write (also by another writer,
    e.g. DuckDB's ``COPY ... TO``); it replaces ``path`` when the block ends normally and
    is removed when it raises. ``mode`` sets the file's permissions (else 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``text`` atomically; ``mode`` sets the file's permissions."""
    with atomic_target(path, mode=mode) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_outputs(files: Sequence[tuple[str, Path, str]], *, mode: int = 0o644) -> None:
    """Write the output files of one run, ``(flag, path, text)`` each: all of them or none.

    Every text goes to a temporary file beside its path first; only when all are written
    do they replace their paths (a full disk while writing the second left the first
    replaced: a new HTML report beside an old JUnit file).

    Raises:
        OutputError: a file could not be written (one line naming its flag and path, exit
            3); no path was replaced.
    """
    from nbaops.errors import OutputError

    with contextlib.ExitStack() as stack:
        for flag, path, text in files:
            try:
                tmp = stack.enter_context(atomic_target(path, mode=mode))
                tmp.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise OutputError(f"{flag}: cannot write {path}: {exc.strerror or exc}") from None
        replace = stack.pop_all()  # every file written: now they replace their paths
    try:
        replace.close()
    except OSError as exc:  # a rename in a folder just written to: next to impossible
        names = ", ".join(str(path) for _flag, path, _text in files)
        raise OutputError(f"cannot replace {names}: {exc.strerror or exc}") from None


def write_json_atomic(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as indented, key-sorted JSON, atomically."""
    write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def jsonl(records: Sequence[object]) -> str:
    """Records as JSON lines: key-sorted, one per line, each ending in a newline."""
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)


def append_jsonl(path: Path, records: Sequence[object], *, mode: int = 0o644) -> None:
    """Append records as key-sorted JSON lines, whole or not at all; ``mode`` applies when
    the file is created.

    Appenders hold an exclusive ``flock`` on the file while they write, so lines never
    interleave. Under it, a last line without its newline can only be what a writer that
    died mid-append left (its record never written whole, so never reported written): it
    is cut away first. A write that fails part-way (a full disk, ``ulimit -f``, an
    interrupt) is undone, the file truncated back to its last complete line: the next
    append started on the fragment and the two became one line no reader could parse.
    """
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = jsonl(records).encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by the close
        start = _complete_length(fd)
        try:
            if start != os.fstat(fd).st_size:
                os.ftruncate(fd, start)
            view = memoryview(payload)
            while view:  # a short write (a signal, a full disk) continues where it stopped
                view = view[os.write(fd, view) :]
        except BaseException:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)


def _complete_length(fd: int, chunk: int = 1 << 16) -> int:
    """The length of ``fd``'s content up to and including its last newline."""
    end = os.fstat(fd).st_size
    while end > 0:
        start = max(0, end - chunk)
        at = os.pread(fd, end - start, start).rfind(b"\n")
        if at >= 0:
            return start + at + 1
        end = start
    return 0


class NotRegularFileError(OSError):
    """A path that is not a regular file where one is read (its ``strerror`` says what it
    is: "a folder" or "not a regular file")."""


def read_regular(path: str | Path, limit: int) -> tuple[bytes, int]:
    """At most ``limit + 1`` bytes of a regular file (more than ``limit`` read: too large),
    and its size as ``stat`` gives it.

    Only a regular file is read: a device such as ``/dev/zero`` never ends, and a FIFO
    nobody writes to blocked ``open`` for ever (it is opened without blocking, checked,
    then read blocking).

    Raises:
        NotRegularFileError: a folder, a device, a FIFO, a socket.
        OSError: missing or unreadable.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise NotRegularFileError(errno.EINVAL, kind)
    os.set_blocking(fd, True)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit + 1), info.st_size


def create_once(path: Path, data: bytes) -> bytes:
    """``path``'s content, written as ``data`` (0600) first if it does not exist yet.

    The first writer wins: a whole temporary file is hard-linked into place, which fails
    when another process got there first, so every caller returns the same bytes.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_bytes()


@contextlib.contextmanager
def file_lock(lock_path: Path, *, mode: int = 0o644) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if missing) for the block.

    Re-entrant within one thread (a hook called under the lock may take it again);
    exclusive between threads and processes (each holder opens its own descriptor).
    """
    key = str(lock_path.resolve())
    depth: dict[str, int] = getattr(_held, "depth", None) or {}
    _held.depth = depth
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        depth[key] = 1
        try:
            yield
        finally:
            depth[key] = 0
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def files_digest(*paths: Path | str | None) -> str:
    """SHA-256 (hex) of the files' bytes one after another, a missing or unreadable one (or
    None) counted as ``?``: the key of a cache that depends on code or a version file."""
    import hashlib

    digest = hashlib.sha256()
    for path in paths:
        try:
            digest.update(Path(path).read_bytes() if path else b"?")
        except OSError:
            digest.update(b"?")
    return digest.hexdigest()
