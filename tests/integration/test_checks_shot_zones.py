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


def test_rows_without_shots_are_not_in_the_null_rate(world: World) -> None:
    """playbook: the null rate is on rows that have shots. DNP-style rows (FGA 0) with no
    zones were counted: 5 null of 105 rows -> 4.8% (FAIL) for 0 of 100 shooters."""
    games = world.games(YESTERDAY, 5)
    world.box_scores(games)  # 100 shooters, zones complete
    rows = world.wh.query(
        "SELECT * FROM `nba_analytics.player_game_summary` WHERE game_date = @d LIMIT 5",
        {"d": YESTERDAY},
    ).rows
    zones = ("paint_attempts", "paint_makes", "mid_range_attempts", "mid_range_makes")
    zones += ("three_pt_attempts", "three_pt_makes")
    world.wh.insert_rows(
        "nba_analytics.player_game_summary",
        [
            {**r, "player_id": r["player_id"] + 500, "player_lookup": r["player_lookup"] + "_dnp",
             "fga": 0, "fgm": 0, **dict.fromkeys(zones)}
            for r in rows
        ],
    )  # fmt: skip
    result = run_check(world.ctx, "shot_zones")
    assert result.details["shooting_rows"] == 100
    assert result.verdict is Verdict.PASS, result.message


def test_the_value_is_the_rate_that_decided_the_verdict_beside_its_own_thresholds(
    world: World,
) -> None:
    """3 of 100 rows do not add up (FAIL > 2%) and 5 have null zones (only WARN > 2%):
    the value was the larger rate, 5.0 (the null rate), shown as the FAIL's value beside
    both rates' thresholds, as if 5% of rows did not add up."""
    world.box_scores(world.games(YESTERDAY, 5), mismatched=3, nulls=5)
    result = run_check(world.ctx, "shot_zones")
    assert result.verdict is Verdict.FAIL
    assert (result.value, result.threshold) == (3.0, "mismatch FAIL > 2%, WARN > 0%")
    assert "(3.0%, FAIL); zone null rate 5.0% (WARN)" in result.message
    world.box_scores(world.games(YESTERDAY - dt.timedelta(days=1), 5), mismatched=1, nulls=12)
    day_before = run_check(world.ctx, "shot_zones", {"game_date": YESTERDAY - dt.timedelta(days=1)})
    assert day_before.verdict is Verdict.FAIL
    assert (day_before.value, day_before.threshold) == (12.0, "null FAIL > 10%, WARN > 2%")
