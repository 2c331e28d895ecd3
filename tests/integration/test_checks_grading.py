"""grading_completeness on the local warehouse: graded share of due predictions, lag."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from worlds.checks_world import NOW_DT, TODAY, YESTERDAY, World, et, make_world

from nbaops.checks import run_check
from nbaops.verdict import Verdict

TWO_DAYS_AGO = TODAY - dt.timedelta(days=2)


def _predicted(
    world: World, day: dt.date, games: int = 4, box_scores: bool = True
) -> list[dict[str, object]]:
    scheduled = world.games(day, games)
    batch = world.batch(day, "11:30", expected=len(scheduled) * 20)
    if box_scores:
        world.box_scores(scheduled)
    return world.predictions(scheduled, batch, et(day, 11, 45))


def test_all_due_predictions_graded_passes(world: World) -> None:
    rows = _predicted(world, YESTERDAY)
    world.grade(rows, et(TODAY, 3))
    result = run_check(world.ctx, "grading_completeness")
    assert result.verdict is Verdict.PASS
    assert result.value == 100.0
    assert result.details["predictions"] == 160 and result.details["due_games"] == 4
    assert result.details["per_date"][0]["game_date"] == str(YESTERDAY)


def test_games_not_finished_long_enough_are_not_due(world: World) -> None:
    # Today's 19:00 ET games have not started at 12:00 ET: nothing is due yet.
    _predicted(world, TODAY)
    result = run_check(world.ctx, "grading_completeness")
    assert result.verdict is Verdict.PASS
    assert result.message.startswith("no finished games due for grading")


def test_partly_graded_warns_with_oldest_lag(world: World) -> None:
    rows = _predicted(world, YESTERDAY, games=5)  # 200 predictions
    world.grade(rows[:196], et(TODAY, 3))  # 98% < 99%
    result = run_check(world.ctx, "grading_completeness")
    assert result.verdict is Verdict.WARN
    assert result.value == 98.0
    oldest = result.details["oldest_ungraded"]
    # finished 19:00 + 3h = 22:00 ET yesterday → 14h before 12:00 ET today: lag WARN (> 12h)
    assert oldest["lag_hours"] == 14.0
    assert "4 ungraded" in result.message and "finished 14.0h ago" in result.message


def test_a_lag_just_past_its_limit_is_not_shown_as_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """14h and 40 ms past the game's end with a 14h limit WARNs; the message said
    "finished 14.0h ago" beside "lag > 14h" and details stored lag_hours 14.0."""
    world = make_world(
        tmp_path,
        monkeypatch,
        now="2025-01-15T17:00:00.040Z",
        checks={"grading_completeness": {"lag_warn_hours": 14}},
    )
    rows = _predicted(world, YESTERDAY, games=10)  # 400 predictions
    world.grade(rows[:-1], et(TODAY, 3))  # 99.75%: the share passes, the lag WARNs
    result = run_check(world.ctx, "grading_completeness")
    assert result.verdict is Verdict.WARN, result.message
    assert "finished 14.00001h ago" in result.message, result.message
    assert result.details["oldest_ungraded"]["lag_hours"] > 14


def test_grading_stalled_for_days_fails(world: World) -> None:
    old = _predicted(world, TWO_DAYS_AGO)
    world.grade(old, et(YESTERDAY, 3))
    _predicted(world, YESTERDAY)  # nothing graded since
    result = run_check(world.ctx, "grading_completeness")
    assert result.verdict is Verdict.FAIL
    assert result.value == 50.0
    per_date = {d["game_date"]: d for d in result.details["per_date"]}
    assert per_date[str(YESTERDAY)]["graded"] == 0
    assert per_date[str(TWO_DAYS_AGO)]["graded_share"] == 1.0
    assert f"worst day {YESTERDAY} 0/160" in result.message


def test_old_lag_alone_fails(world: World) -> None:
    rows = _predicted(world, TWO_DAYS_AGO, games=10)  # 400 predictions
    world.grade(rows[:-1], et(YESTERDAY, 3))  # 99.75%: share passes, lag is 38h
    result = run_check(world.ctx, "grading_completeness")
    assert result.verdict is Verdict.FAIL
    assert result.details["oldest_ungraded"]["lag_hours"] == 38.0


def test_predictions_of_players_who_did_not_play_are_void_not_ungraded(world: World) -> None:
    scheduled = world.games(YESTERDAY, 3)
    batch = world.batch(YESTERDAY, "11:30", expected=60)
    rows = world.predictions(scheduled, batch, et(YESTERDAY, 11, 45))
    dnp = scheduled[0].players.pop()  # predicted, then did not play: no box score
    world.box_scores(scheduled)
    world.grade([r for r in rows if r["player_lookup"] != dnp[0]], et(TODAY, 3))
    result = run_check(world.ctx, "grading_completeness")
    assert result.verdict is Verdict.PASS
    assert result.details["void_predictions"] == 2  # one player, two models
    assert result.details["predictions"] == 118


def test_finished_games_without_box_scores_are_inconclusive(world: World) -> None:
    _predicted(world, YESTERDAY, box_scores=False)
    result = run_check(world.ctx, "grading_completeness")
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "4 of them have predictions but no box scores yet" in result.message


def test_a_graded_day_with_one_game_still_without_box_scores_is_not_a_pass(
    world: World,
) -> None:
    # playbook: PASS means every due prediction graded. One finished game without box
    # scores dropped out of the denominator: "graded 100.0% ... (PASS)".
    rows = _predicted(world, YESTERDAY)
    world.grade(rows, et(TODAY, 3))
    _predicted(world, TWO_DAYS_AGO, games=1, box_scores=False)
    result = run_check(world.ctx, "grading_completeness")
    assert result.verdict is Verdict.INCONCLUSIVE, result.message
    assert "1 game(s) without box scores yet" in result.message
    assert "cannot tell yet whether those will be graded" in result.message


def test_finished_games_without_predictions_are_inconclusive(world: World) -> None:
    world.games(YESTERDAY, 6)
    result = run_check(world.ctx, "grading_completeness")
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "no predictions to grade" in result.message


def test_missing_accuracy_table_is_error(world: World) -> None:
    _predicted(world, YESTERDAY)
    world.break_table("nba_predictions.prediction_accuracy")
    result = run_check(world.ctx, "grading_completeness")
    assert result.verdict is Verdict.ERROR
    assert "prediction_accuracy" in result.message
    assert NOW_DT  # the pinned clock is what @started_before derives from
