"""Generated sandboxes for tests: built once per pinned clock, copied into each test's home.

A sandbox build (generated game days, the DuckDB warehouse, the stand-in's Cloud Run
state, logs) costs seconds of CPU. :func:`sandbox_home` builds one template per clock
(``NBAOPS_NOW``) for the whole test session — shared by the xdist workers through a file
lock in pytest's common base temp folder — and copies it into the caller's home; the copy
is a current sandbox (``ensure_sandbox`` is a no-op on it). :func:`restore_home` puts a
home back to its template after a test injected faults (what ``faults.clear``
regenerates, in milliseconds).

Only the marker names the home (``settings.home``); the copy rewrites it.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path

import pytest

from nbaops.sandbox import lifecycle
from nbaops.sandbox.world import open_context

CLEAN_ENV = ("NBAOPS_PROFILE", "NBAOPS_CONFIG", "GITHUB_STEP_SUMMARY", "SLACK_WEBHOOK_URL")
_TEMPLATES: dict[str, Path] = {}


def _shared_temp(factory: pytest.TempPathFactory) -> Path:
    """The base temp folder every xdist worker of this session shares."""
    base = factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


def template_for(factory: pytest.TempPathFactory, now: str | None) -> Path:
    """The template sandbox home for the clock ``now`` (None: the real clock), built on
    first use."""
    key = now or "real-clock"
    if key in _TEMPLATES:
        return _TEMPLATES[key]
    folder = _shared_temp(factory) / f"sandbox-template-{key.replace(':', '')}"
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "home"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker builds, the others wait and reuse
        if lifecycle.read_marker(home) is None:
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("NBAOPS_HOME", str(home))
                if now:
                    mp.setenv("NBAOPS_NOW", now)
                for name in (*CLEAN_ENV, *([] if now else ["NBAOPS_NOW"])):
                    mp.delenv(name, raising=False)
                lifecycle.ensure_sandbox(open_context("local"))
    _TEMPLATES[key] = home
    return home


def _copy(template: Path, home: Path) -> None:
    shutil.copytree(template, home, dirs_exist_ok=True)
    marker = lifecycle.read_marker(home)
    assert marker is not None, f"the sandbox template {template} has no marker"
    marker["settings"]["home"] = str(home)
    lifecycle.marker_path(home).write_text(json.dumps(marker), encoding="utf-8")


def sandbox_home(factory: pytest.TempPathFactory, home: Path, now: str | None) -> Path:
    """A built, current sandbox at ``home`` for the clock ``now`` (None: the real clock),
    a copy of the template."""
    _copy(template_for(factory, now), home)
    return home


def restore_home(factory: pytest.TempPathFactory, home: Path, now: str | None) -> None:
    """Put ``home`` back to the template: every file a fault added or changed is replaced."""
    for entry in home.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    _copy(template_for(factory, now), home)
