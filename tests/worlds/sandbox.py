"""Generated sandboxes for tests: built once per pinned clock, copied into each test's home.

A sandbox build (generated game days, the DuckDB warehouse, the stand-in's Cloud Run
state, logs) costs seconds of CPU. :func:`sandbox_home` builds one template per clock
(``NBAOPS_NOW``) for the whole test session — shared by the xdist workers through a file
lock in pytest's common base temp folder — and copies it into the caller's home; the copy
is a current sandbox (``ensure_sandbox`` is a no-op on it). :func:`restore_home` puts a
home back to its template after a test injected faults (what ``faults.clear``
regenerates, in milliseconds), or onto the template of a list of injected faults: each
data fault costs a data regeneration, done once per session for every test that asks
for the same faults at the same clock.
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from nbaops.sandbox import fault_injection, lifecycle
from nbaops.sandbox.world import open_context

CLEAN_ENV = ("NBAOPS_PROFILE", "NBAOPS_CONFIG", "GITHUB_STEP_SUMMARY", "SLACK_WEBHOOK_URL")


def use_sandbox(mp: pytest.MonkeyPatch, home: Path, now: str) -> None:
    """Point this process at the sandbox ``home`` on the clock ``now``, without the
    profile, config and alert variables of the environment."""
    mp.setenv("NBAOPS_HOME", str(home))
    mp.setenv("NBAOPS_NOW", now)
    for name in CLEAN_ENV:
        mp.delenv(name, raising=False)


_TEMPLATES: dict[str, Path] = {}


def _shared_temp(factory: pytest.TempPathFactory) -> Path:
    """The base temp folder every xdist worker of this session shares."""
    base = factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


Fault = tuple[str, str | None]  # (fault name, service or None for the fault's default)


def _key(now: str, faults: Sequence[Fault]) -> str:
    injected = "".join(f"+{name}@{service or 'default'}" for name, service in faults)
    return now.replace(":", "") + injected


def template_for(factory: pytest.TempPathFactory, now: str, faults: Sequence[Fault] = ()) -> Path:
    """The template sandbox home for the clock ``now``, built on first use; with
    ``faults``, the template with them injected in that order through
    ``fault_injection.inject`` (built from the template of all but the last one, so a
    fault's data is regenerated once per session however many tests ask for it)."""
    key = _key(now, faults)
    if key in _TEMPLATES:
        return _TEMPLATES[key]
    folder = _shared_temp(factory) / f"sandbox-template-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    home, built = folder / "home", folder / ".built"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker builds, the others wait and reuse
        if not built.exists():  # (a fault's template locks its prefix's: no cycle)
            if faults:
                _copy(template_for(factory, now, faults[:-1]), home)
            with pytest.MonkeyPatch.context() as mp:
                use_sandbox(mp, home, now)
                if faults:
                    fault_injection.inject(open_context("local"), *faults[-1])
                else:
                    lifecycle.ensure_sandbox(open_context("local"))
            built.touch()
    _TEMPLATES[key] = home
    return home


def _copy(template: Path, home: Path) -> None:
    shutil.copytree(template, home, dirs_exist_ok=True)
    assert lifecycle.read_marker(home) is not None, f"the sandbox template {template} has no marker"


def sandbox_home(factory: pytest.TempPathFactory, home: Path, now: str) -> Path:
    """A built, current sandbox at ``home`` for the clock ``now``, a copy of the template."""
    _copy(template_for(factory, now), home)
    return home


def restore_home(
    factory: pytest.TempPathFactory, home: Path, now: str, faults: Sequence[Fault] = ()
) -> None:
    """Put ``home`` back to the template (every file a fault added or changed is
    replaced); with ``faults``, to the template with those faults injected: the home is
    then what ``fault_injection.inject`` of each, in order, would have made of it."""
    for entry in home.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    _copy(template_for(factory, now, faults), home)
