"""batch_errors on the local warehouse: failed batches, error counts, REAL_LINES_ONLY."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from worlds.checks_world import TODAY, World, et, make_world

from nbaops.checks import run_check
from nbaops.verdict import Verdict

YESTERDAY = TODAY - dt.timedelta(days=1)


def test_clean_batches_pass(world: World) -> None:
    games = world.games(TODAY, 3)
    for slot in ("02:30", "07:00", "11:30"):
        batch = world.batch(TODAY, slot, expected=60)
        world.predictions(games, batch, et(TODAY, int(slot[:2]), 40))
    result = run_check(world.ctx, "batch_errors")
    assert result.verdict is Verdict.PASS
    assert result.value == 0
    assert result.message == "3 batch(es) in the last 24h: no failures, no errors (PASS)"
    assert "REAL_LINES_ONLY" not in result.message


def test_errors_in_a_completed_batch_warn(world: World) -> None:
    games = world.games(TODAY, 3)
    batch = world.batch(TODAY, "07:00", expected=60, errors=3)
    world.predictions(games, batch, et(TODAY, 7, 20))
    result = run_check(world.ctx, "batch_errors")
    assert result.verdict is Verdict.WARN
    assert "3 batch error(s)" in result.message


def test_failed_batch_fails_with_its_error(world: World) -> None:
    games = world.games(TODAY, 3)
    world.predictions(games, world.batch(TODAY, "02:30", expected=60), et(TODAY, 2, 40))
    failed = world.batch(
        TODAY,
        "07:00",
        status="FAILED",
        errors=60,
        message="worker returned 503 for 60 players\ntraceback...",
    )
    result = run_check(world.ctx, "batch_errors")
    assert result.verdict is Verdict.FAIL
    assert result.value == 1
    assert f"1 failed ({failed}: worker returned 503 for 60 players)" in result.message
    assert result.details["failed_batches"][0]["batch_id"] == failed


def test_a_completed_batch_without_a_prediction_fails(world: World) -> None:
    """A batch "completed" for 40 players that wrote no prediction is a silent failure:
    once the 2-hour recent_predictions window had passed, nothing in system-health saw it.
    Judged by the predictions table, not the batch's own count (which a coordinator may
    fill in late): a batch whose count says 0 but whose predictions exist is fine."""
    games = world.games(TODAY, 3)
    wrote = world.batch(TODAY, "02:30", expected=60, written=0)  # its count lags
    world.predictions(games, wrote, et(TODAY, 2, 40))
    silent = world.batch(TODAY, "07:00", expected=40, written=0)
    world.batch(TODAY, "11:30", expected=40, completed=False)  # still running: not judged
    world.batch(TODAY, "11:30", expected=40, status="cancelled")  # not a completion
    world.batch(TODAY, "11:30", expected=0)  # no new lines: nothing owed
    result = run_check(world.ctx, "batch_errors")
    assert result.verdict is Verdict.FAIL
    assert result.value == 1
    expected = f"1 failed ({silent}: completed without writing any prediction (40 players"
    assert expected in result.message, result.message
    flagged = [f.text for f in result.findings if f.problem]
    assert flagged == [f"batch {silent} (07:00 ET) COMPLETED, 0 error(s), no prediction written"]


def test_prediction_without_real_line_in_real_lines_only_mode_fails(world: World) -> None:
    games = world.games(TODAY, 2)
    batch = world.batch(TODAY, "11:30", expected=40)
    world.predictions(games, batch, et(TODAY, 11, 40), models=("v9",), line_source="ESTIMATED_AVG")
    result = run_check(world.ctx, "batch_errors")
    assert result.verdict is Verdict.FAIL
    assert result.details["real_lines_violations"] == 40
    assert "40 REAL_LINES_ONLY violation(s)" in result.message
    assert "ESTIMATED_AVG" in result.message


def test_estimated_lines_are_fine_outside_real_lines_only_mode(world: World) -> None:
    games = world.games(TODAY, 2)
    batch = world.batch(TODAY, "11:30", expected=40, mode="ALL_PLAYERS")
    world.predictions(games, batch, et(TODAY, 11, 40), line_source="ESTIMATED_AVG", line_value=None)
    assert run_check(world.ctx, "batch_errors").verdict is Verdict.PASS


def test_old_batches_are_outside_the_window(world: World) -> None:
    world.games(TODAY - dt.timedelta(days=3), 2)
    world.batch(TODAY - dt.timedelta(days=3), "07:00", status="FAILED")
    world.games(TODAY + dt.timedelta(days=1), 1)  # the schedule is known around today
    result = run_check(world.ctx, "batch_errors")
    assert result.verdict is Verdict.PASS
    assert result.message == "no coordinator batches and no games in the last 24h"


def test_games_played_but_no_batches_is_inconclusive(world: World) -> None:
    world.games(YESTERDAY, 4)  # started 19:00 ET yesterday, inside the 24h window
    result = run_check(world.ctx, "batch_errors")
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "none at all for 4 game(s) that started in it" in result.message


def test_a_day_without_games_after_a_game_night_passes(world: World) -> None:
    """Last night's games started in the window, their batches (02:30-11:30 ET) ran
    before it, and today has no games: INCONCLUSIVE every afternoon of an off day."""
    games = world.games(YESTERDAY, 4)  # 19:00 ET yesterday: inside the 24h window
    for slot in ("02:30", "07:00"):  # 07:30 and 12:00 UTC yesterday: before the window
        world.predictions(games, world.batch(YESTERDAY, slot, expected=80), et(YESTERDAY, 8))
    world.games(TODAY + dt.timedelta(days=1), 1)  # the schedule is known around today
    result = run_check(world.ctx, "batch_errors")
    assert result.verdict is Verdict.PASS, result.message
    assert "were predicted by earlier batches" in result.message


def test_missing_predictions_table_is_error(world: World) -> None:
    world.games(TODAY, 2)
    world.batch(TODAY, "07:00", expected=40)
    world.break_table("nba_predictions.player_prop_predictions")
    result = run_check(world.ctx, "batch_errors")
    assert result.verdict is Verdict.ERROR
    assert "player_prop_predictions" in result.message
    assert "REAL_LINES_ONLY" in result.query or "@mode" in result.query


def test_fail_threshold_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    strict = make_world(tmp_path, monkeypatch, checks={"batch_errors": {"fail_errors": 2}})
    strict.games(TODAY, 2)
    strict.batch(TODAY, "07:00", expected=40, errors=2)
    result = run_check(strict.ctx, "batch_errors")
    assert result.verdict is Verdict.FAIL
    assert ">= 2 errors" in result.threshold


def test_a_failed_batch_under_fail_failed_batches_warns(world: World) -> None:
    """With ``fail_failed_batches: 2`` one failed batch is not yet FAIL, but it is no
    PASS either (the playbook: PASS is "no failed batch"): WARN, naming the batch."""
    games = world.games(TODAY, 3)
    world.predictions(games, world.batch(TODAY, "02:30", expected=60), et(TODAY, 2, 40))
    silent = world.batch(TODAY, "07:00", expected=40, written=0)  # no error count at all
    result = run_check(world.ctx, "batch_errors", {"fail_failed_batches": 2})
    assert result.verdict is Verdict.WARN, result.message
    assert result.value == 1
    assert f"1 failed ({silent}" in result.message
    assert result.message.endswith("(WARN)")
    assert "WARN a failed batch or >= 1 errors" in result.threshold
