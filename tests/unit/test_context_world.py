"""The local profile's world is injected into the context, never imported by it."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbaops.context import Context
from nbaops.errors import ConfigError
from nbaops.local.world import NO_FAULTS, WorldHooks
from nbaops.sandbox.world import HOOKS, SandboxWorld, open_context

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


class CountingWorld:
    hooks: WorldHooks = NO_FAULTS

    def __init__(self) -> None:
        self.ensured = 0

    def ensure(self, ctx: Context) -> None:
        self.ensured += 1


def test_a_local_context_without_a_world_says_how_to_build_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path))
    ctx = Context.create("local", REPO / "nbaops.yaml")
    with pytest.raises(ConfigError, match="no local world; build it with .*open_context"):
        ctx.warehouse  # noqa: B018 - the property is the behaviour under test
    assert not (tmp_path / "warehouse.duckdb").exists()  # nothing was built


def test_the_injected_world_is_ensured_before_the_warehouse_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path))
    world = CountingWorld()
    ctx = Context.create("local", REPO / "nbaops.yaml", world=world)
    assert ctx.warehouse.kind == "duckdb" and world.ensured == 1


def test_open_context_gives_a_local_context_the_sandbox_world_and_its_hooks(tmp_path: Path) -> None:
    local = open_context("local", REPO / "nbaops.yaml")
    assert isinstance(local.world, SandboxWorld) and local.world.hooks is HOOKS
    assert HOOKS.seed(tmp_path) == 7  # no sandbox marker: the default seed
    assert HOOKS.canary_effects(tmp_path, "prediction-worker", "2026-01-01T00:00:00Z") == set()
    assert HOOKS.on_new_revision(tmp_path, "prediction-worker", "r-1") is False
    assert NO_FAULTS.on_new_revision(tmp_path, "prediction-worker", "r-1") is False
