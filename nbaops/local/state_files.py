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

from nbaops.fsutil import file_lock, write_json_atomic

__all__ = ["locked", "read_json", "write_json_atomic", "read_jsonl"]

LOCK_NAME = ".standin.lock"


def locked(home: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the stand-in's exclusive inter-process lock (re-entrant per thread)."""
    return file_lock(home / LOCK_NAME)


def read_json(path: Path, default: Any) -> Any:
    """The JSON document in ``path``, or ``default`` when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    return json.loads(text) if text.strip() else default


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All complete JSON lines of ``path`` (missing file: empty list)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            out.append(json.loads(line))
    return out
