"""File primitives shared by the stand-in's state modules.

All state lives under the state folder (``home``). Writers hold an exclusive lock on
``home/.standin.lock`` for the whole read-modify-write and replace files atomically (both
from :mod:`nbaops.fsutil`), so several processes (two concurrent ``inv deploy``) always
see one consistent state. Readers never see a half-written file.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from nbaops.errors import DamagedStateError
from nbaops.fsutil import file_lock, write_json_atomic

__all__ = ["locked", "read_json", "write_json_atomic", "read_jsonl"]

LOCK_NAME = ".standin.lock"


def locked(home: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the stand-in's exclusive inter-process lock (re-entrant per thread)."""
    return file_lock(home / LOCK_NAME)


def damaged(path: Path, why: str) -> DamagedStateError:
    """The error for a local state file that cannot be read: it names the file and the
    way out (a reset rewrites every state file; the folder can always be deleted)."""
    return DamagedStateError(
        f"{path}: damaged sandbox state ({why}); `inv sandbox.reset` rebuilds it (or delete "
        f"{path.parent})"
    )


def _read_text(path: Path) -> str | None:
    """The file's text, None when it does not exist (DamagedStateError: not UTF-8)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise damaged(path, "not UTF-8 text") from None


def read_json(path: Path, default: Any) -> Any:
    """The JSON document in ``path``, or ``default`` when the file does not exist.

    Raises:
        DamagedStateError: the file is not JSON (cut short, edited by hand): :func:`damaged`.
    """
    text = _read_text(path)
    if text is None:
        return default
    try:
        return json.loads(text) if text.strip() else default
    except ValueError as exc:
        raise damaged(path, f"not JSON: {str(exc)[:80]}") from None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All complete JSON lines of ``path`` (missing file: empty list).

    A last line without its newline is an append still being written by another process:
    left for the next read, not parsed half.

    Raises:
        DamagedStateError: a complete line that is not JSON (edited by hand).
    """
    text = _read_text(path) or ""
    complete = text[: text.rfind("\n") + 1]
    out: list[dict[str, Any]] = []
    for number, line in enumerate(complete.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except ValueError as exc:
            raise damaged(path, f"line {number} is not JSON: {str(exc)[:80]}") from None
    return out
