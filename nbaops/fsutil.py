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
import fcntl
import json
import os
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


def write_json_atomic(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as indented, key-sorted JSON, atomically."""
    write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def jsonl(records: Sequence[object]) -> str:
    """Records as JSON lines: key-sorted, one per line, each ending in a newline."""
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)


def append_jsonl(path: Path, records: Sequence[object], *, mode: int = 0o644) -> None:
    """Append records as key-sorted JSON lines in one ``O_APPEND`` write, so concurrent
    writers never interleave lines; ``mode`` applies when the file is created."""
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = jsonl(records).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        view = memoryview(payload)
        while view:  # a short write (a signal, a full disk) must not cut the last line
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


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
