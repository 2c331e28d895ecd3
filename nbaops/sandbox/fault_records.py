"""The sandbox's active data faults on disk (``sandbox-faults.json``): read and written
without the fault catalog and its data transforms (:mod:`nbaops.sandbox.faults`, which
imports the generator), so a run that only checks the file stays light."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbaops.local.state_files import damaged, read_json, write_json_atomic

FAULTS_NAME = "sandbox-faults.json"


def faults_path(home: Path) -> Path:
    return home / FAULTS_NAME


def read_records(home: Path) -> list[dict[str, Any]]:
    """The active data faults (DamagedStateError: the file is not a list of faults)."""
    path = faults_path(home)
    data = read_json(path, [])
    if not isinstance(data, list) or not all(
        isinstance(r, dict) and isinstance(r.get("name"), str) for r in data
    ):
        raise damaged(path, "not a list of faults, each with its name")
    return data


def write_records(home: Path, records: list[dict[str, Any]]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    write_json_atomic(faults_path(home), records)
