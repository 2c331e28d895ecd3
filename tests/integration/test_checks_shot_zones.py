"""shot_zones on the local warehouse: zone attempts add up to FGA; zone null rate."""

from __future__ import annotations

import datetime as dt

from worlds.checks_world import TODAY, YESTERDAY, World

from nbaops.checks import run_check
from nbaops.verdict import Verdict


def test_zones_add_up_passes(world: World) -> None:
    world.box_scores(world.games(YESTERDAY, 5))  # 100 rows
    result = run_check(world.ctx, "shot_zones")
    assert result.verdict is Verdict.PASS
    assert result.details["shooting_rows"] == 100
    assert result.details["game_date"] == str(YESTERDAY)


def test_a_few_mismatches_warn(world: World) -> None:
    world.box_scores(world.games(YESTERDAY, 5), mismatched=1)
    result = run_check(world.ctx, "shot_zones")
    assert result.verdict is Verdict.WARN
    assert "1 of 100 rows" in result.message
    assert result.details["examples"][0]["paint_attempts"] == 6


def test_many_mismatches_fail(world: World) -> None:
    world.box_scores(world.games(YESTERDAY, 5), mismatched=5)
    result = run_check(world.ctx, "shot_zones")
    assert result.verdict is Verdict.FAIL
    assert result.value == 5.0


def test_null_zone_columns_fail(world: World) -> None:
    world.box_scores(world.games(YESTERDAY, 5), nulls=12)
    result = run_check(world.ctx, "shot_zones")
    assert result.verdict is Verdict.FAIL
    assert "zone null rate 12.0% (FAIL)" in result.message


def test_no_games_yesterday_passes(world: World) -> None:
    world.box_scores(world.games(TODAY, 2))  # only today's rows exist
    world.games(YESTERDAY - dt.timedelta(days=1), 1)  # the schedule is known around yesterday
    result = run_check(world.ctx, "shot_zones")
    assert result.verdict is Verdict.PASS
    assert result.message == f"no games scheduled on {YESTERDAY}"


def test_games_without_box_scores_inconclusive(world: World) -> None:
    world.games(YESTERDAY, 5)
    result = run_check(world.ctx, "shot_zones")
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "0 box-score rows" in result.message


def test_missing_box_score_table_is_error(world: World) -> None:
    world.break_table("nba_analytics.player_game_summary")
    assert run_check(world.ctx, "shot_zones").verdict is Verdict.ERROR
