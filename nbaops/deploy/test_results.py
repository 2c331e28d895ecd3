"""Passing pre-deploy test runs, remembered per commit, so the same tree is not tested twice.

A run is reused only when nothing it depended on can have changed: the same HEAD commit,
a clean working tree (no staged, unstaged or untracked change), the same test command and
the same Python interpreter, the tree checked clean at that HEAD before the run and again
after it. Only passing runs are remembered; a failure always reruns.
Records live in ``<state folder>/test-results/<key>.json``; delete the folder to force a
rerun.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from nbaops.fsutil import write_json_atomic

FOLDER = "test-results"


def result_key(head: str, command: str, python: str = sys.executable) -> str:
    """The identity of a test run: commit, command and interpreter."""
    text = "\0".join((head, command, python))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def lookup(home: Path, key: str) -> dict[str, Any] | None:
    """The remembered passing run for ``key``, or None (absent or unreadable)."""
    try:
        record = json.loads((home / FOLDER / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("passed_at") else None


def remember(home: Path, key: str, record: dict[str, Any]) -> None:
    """Remember a passing run (atomically: a crash leaves the old record or none)."""
    write_json_atomic(home / FOLDER / f"{key}.json", record)
