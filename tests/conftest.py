"""Shared test wiring: the world plugins, markers from the directory, the `fast` subset.

Fixtures and helpers live in the ``worlds`` package (``tests/worlds``, on ``sys.path``
through ``pythonpath`` in ``[tool.pytest.ini_options]``); this file registers them for
every test directory, so no test module inserts paths or re-exports a fixture.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fast_subset import FAST_DIRS, SLOW_MODULES, SLOW_TESTS

pytest_plugins = [
    "worlds.http_fake",  # first: the other worlds import it
    "worlds.standin",
    "worlds.checks_world",
    "worlds.deploy_world",
    "worlds.slack_receiver",
]

# ---------------------------------------------------------------- markers and the fast subset
# Every test gets the marker named by its directory under tests/ (`pytest -m integration`);
# the markers are declared once, in pyproject's [tool.pytest.ini_options], and a module
# marks only what its directory does not say (e.g. `realdata`). `-m fast` is the
# pre-deploy subset; its rules are in tests/fast_subset.py.


def _wants_fast(config: pytest.Config) -> bool:
    markexpr = str(config.getoption("markexpr", "") or "")
    return "fast" in markexpr.replace("not fast", "")


def _fast_place(path: Path) -> tuple[str, str] | None:
    """(directory under tests/, module file name) for a test module, else None."""
    parts = path.parts
    if "tests" not in parts:
        return None
    index = len(parts) - 1 - parts[::-1].index("tests")
    rest = parts[index + 1 :]
    return (rest[0], rest[-1]) if len(rest) >= 2 else None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under ``-m fast``, do not import what cannot hold a fast test (saves the imports)."""
    if not _wants_fast(config):
        return None
    place = _fast_place(collection_path)
    if place is None:
        return None
    directory, name = place
    if collection_path.is_dir():
        return True if directory not in FAST_DIRS and name == directory else None
    if directory not in FAST_DIRS or name in SLOW_MODULES:
        return True
    return None


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its directory, and the fast subset (see the rules above)."""
    for item in items:
        place = _fast_place(Path(str(item.path)))
        if place is None:
            continue
        directory, name = place
        item.add_marker(directory)
        test_id = f"{name}::{item.name.split('[')[0]}"
        if directory in FAST_DIRS and name not in SLOW_MODULES and test_id not in SLOW_TESTS:
            item.add_marker(pytest.mark.fast)


# ---------------------------------------------------------------- process-wide state


@pytest.fixture(autouse=True)
def _secrets_of_this_test_only() -> Iterator[None]:
    """Every secret a process creates is masked in all its later output (nbaops.redact):
    right for one command, wrong across tests sharing a worker. A property test's random
    webhook URL held "Infinity" and a later test's "-Infinity" cell printed as "-***".
    Secrets a test remembers are forgotten after it (module fixtures' stay)."""
    redact = sys.modules.get("nbaops.redact")
    before = set(redact._known) if redact is not None else set()
    yield
    redact = sys.modules.get("nbaops.redact")
    if redact is not None:
        with redact._lock:
            redact._known.intersection_update(before)
