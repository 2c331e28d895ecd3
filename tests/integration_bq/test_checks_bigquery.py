"""The data checks' SQL on BigQuery (the real client against bqemulator) and on the
local DuckDB warehouse: the same rows give the same verdict, value and message.

Skipped with the reason when no emulator is reachable (``NBAOPS_BQ_EMULATOR``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from worlds.checks_world import NOW, TODAY, YESTERDAY, World, et

from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse
from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.sandbox.world import open_context
from nbaops.table_catalog import load_catalog
from nbaops.verdict import CheckResult

ROOT = Path(__file__).resolve().parents[2]


Scenario = Callable[[World], list[CheckResult]]


def _run(world: World, check: str, overrides: dict[str, Any] | None = None) -> CheckResult:
    from nbaops.checks import run_check

    return run_check(world.ctx, check, overrides)


def lines_fail(w: World) -> list[CheckResult]:
    games = w.games(TODAY, 6, players_per_team=9)
    w.features(games)
    w.lines(games, missing={games[0].game_id: 14, games[1].game_id: 14, games[2].game_id: 13})
    return [_run(w, "lines_coverage"), _run(w, "lines_coverage", {"game_date": YESTERDAY})]


def grading_warn(w: World) -> list[CheckResult]:
    games = w.games(YESTERDAY, 5)
    w.box_scores(games)
    batch = w.batch(YESTERDAY, "11:30", expected=100)
    rows = w.predictions(games, batch, et(YESTERDAY, 11, 45))
    w.grade(rows[:196], et(TODAY, 3))
    return [_run(w, "grading_completeness")]


def predictions_warn(w: World) -> list[CheckResult]:
    games = w.games(TODAY, 5)
    batch = w.batch(TODAY, "11:30", expected=100)
    w.predictions(games, batch, et(TODAY, 11, 40), per_model={"v9": 80})
    return [_run(w, "recent_predictions")]


def batch_errors_fail(w: World) -> list[CheckResult]:
    games = w.games(TODAY, 2)
    w.batch(TODAY, "07:00", status="FAILED", errors=7, message="worker 503")
    batch = w.batch(TODAY, "11:30", expected=40)
    w.predictions(games, batch, et(TODAY, 11, 40), models=("v9",), line_source="ESTIMATED_AVG")
    return [_run(w, "batch_errors")]


def heartbeats_warn(w: World) -> list[CheckResult]:
    import datetime as dt

    from worlds.checks_world import NOW_DT

    w.heartbeat("box_scores", NOW_DT - dt.timedelta(minutes=150))
    w.heartbeat("shot_zones", NOW_DT - dt.timedelta(minutes=2), run_id="a")
    w.heartbeat("shot_zones", NOW_DT - dt.timedelta(minutes=3), run_id="b")
    return [_run(w, "processor_heartbeats")]


def shot_zones_mixed(w: World) -> list[CheckResult]:
    w.box_scores(w.games(YESTERDAY, 5), mismatched=3, nulls=4)
    return [_run(w, "shot_zones"), _run(w, "shot_zones", {"game_date": TODAY})]


def daily_chain(w: World) -> list[CheckResult]:
    from nbaops.checks import validate_daily

    games = w.games(YESTERDAY, 5)
    w.features(games)
    w.lines(games)
    w.box_scores(games[:4])
    batch = w.batch(YESTERDAY, "11:30", expected=100)
    w.grade(w.predictions(games, batch, et(YESTERDAY, 11, 40))[:120], et(TODAY, 3))
    return validate_daily(w.ctx).checks


SCENARIOS: dict[str, Scenario] = {
    "lines_coverage": lines_fail,
    "grading_completeness": grading_warn,
    "recent_predictions": predictions_warn,
    "batch_errors": batch_errors_fail,
    "processor_heartbeats": heartbeats_warn,
    "shot_zones": shot_zones_mixed,
    "validate_daily": daily_chain,
}


def _world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warehouse: Any) -> World:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBAOPS_NOW", NOW)
    for name in ("NBAOPS_PROFILE", "NBAOPS_CONFIG", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    ctx = open_context("local", ROOT / "nbaops.yaml")
    ctx.__dict__["warehouse"] = warehouse  # this engine instead of the sandbox's
    return World(ctx=ctx, wh=warehouse, home=tmp_path / "home")


def _essence(results: list[CheckResult]) -> list[tuple[str, str, object, str]]:
    return [(r.name, r.verdict.value, r.value, r.message) for r in results]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_check_gives_the_same_result_on_bigquery_and_duckdb(
    name: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bq = BigQueryWarehouse(f"nbaops-chk-{uuid.uuid4().hex[:8]}", "US", endpoint=endpoint, root=ROOT)
    bq.create_tables(load_catalog(ROOT))
    on_bq = SCENARIOS[name](_world(tmp_path / "bq", monkeypatch, bq))
    duck = DuckDBWarehouse(tmp_path / "duck" / "warehouse.duckdb", root=ROOT)
    duck.create_tables()
    on_duck = SCENARIOS[name](_world(tmp_path / "duck", monkeypatch, duck))
    assert all(r.verdict.value != "ERROR" for r in on_bq), _essence(on_bq)
    assert _essence(on_bq) == _essence(on_duck)
