"""recent_predictions on the local warehouse: last 2h per model against the batches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from worlds.checks_world import TODAY, World, et, make_world

from nbaops.checks import run_check
from nbaops.checks.recent_predictions import due_slots
from nbaops.verdict import Verdict


def _batch_with_predictions(world: World, **kw: object) -> None:
    with world.wh.session():  # one connection for the three inserts (each opens the file)
        games = world.games(TODAY, 5)  # 100 players
        batch = world.batch(TODAY, "11:30", expected=100)
        world.predictions(games, batch, et(TODAY, 11, 40), **kw)  # type: ignore[arg-type]


def test_every_model_predicted_every_expected_player_passes(world: World) -> None:
    _batch_with_predictions(world)
    result = run_check(world.ctx, "recent_predictions")
    assert result.verdict is Verdict.PASS
    assert result.value == 100.0
    assert result.details["models"] == {"v8": 100, "v9": 100}
    assert "v8 100/100, v9 100/100" in result.message


def test_one_model_short_warns(world: World) -> None:
    _batch_with_predictions(world, per_model={"v9": 80})
    result = run_check(world.ctx, "recent_predictions")
    assert result.verdict is Verdict.WARN
    assert result.value == 80.0 and "lowest v9 80.0%" in result.message


def test_model_seen_yesterday_but_silent_now_fails(world: World) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    old = world.games(yesterday, 2)
    world.predictions(
        old,
        world.batch(yesterday, "11:30", expected=40),
        et(yesterday, 11, 40),
        models=("v8", "v9"),
    )
    _batch_with_predictions(world, models=("v8",))  # v9 wrote nothing today
    result = run_check(world.ctx, "recent_predictions")
    assert result.verdict is Verdict.FAIL
    assert result.value == 0.0
    assert "v9 0/100" in result.message


def test_due_batch_that_never_ran_fails(world: World) -> None:
    world.games(TODAY, 5)
    result = run_check(world.ctx, "recent_predictions")
    assert result.verdict is Verdict.FAIL
    assert "11:30 ET batch was due" in result.message
    # One unit in check_results' history: no expected count, no value (it was a count of
    # predictions here and a percent elsewhere, one history for the anomaly notes).
    assert result.value is None and result.unit == "% of expected"
    assert result.details["predictions"] == 0


def test_no_batch_due_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    later = make_world(tmp_path, monkeypatch, now="2025-01-15T22:00:00Z")  # 17:00 ET
    later.games(TODAY, 5)
    result = run_check(later.ctx, "recent_predictions")
    assert result.verdict is Verdict.PASS
    assert result.message.startswith("no batch due in the last 2h")


def test_no_games_today_passes(world: World) -> None:
    world.known_schedule(TODAY)
    result = run_check(world.ctx, "recent_predictions")
    assert result.verdict is Verdict.PASS
    assert result.message.startswith("no games scheduled today")


def test_batch_just_started_owes_nothing_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    early = make_world(tmp_path, monkeypatch, now="2025-01-15T16:40:00Z")  # 11:40 ET
    early.games(TODAY, 5)
    early.batch(TODAY, "11:30", expected=100, status="RUNNING", completed=False)
    result = run_check(early.ctx, "recent_predictions")
    assert result.verdict is Verdict.PASS
    assert result.message.startswith("nothing due yet") and "still running" in result.message


def test_batch_without_expected_count_and_no_predictions_is_inconclusive(world: World) -> None:
    world.games(TODAY, 5)
    world.batch(TODAY, "11:30", expected=None)
    result = run_check(world.ctx, "recent_predictions")
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "state no expected player count" in result.message


def test_batch_with_nothing_to_predict_passes(world: World) -> None:
    world.games(TODAY, 5)
    world.batch(TODAY, "11:30", expected=0)  # no line moved since 07:00
    result = run_check(world.ctx, "recent_predictions")
    assert result.verdict is Verdict.PASS
    assert "no new or moved lines" in result.message


def test_predictions_of_a_running_batch_do_not_count_for_a_finished_one(world: World) -> None:
    games = world.games(TODAY, 5)
    done = world.batch(TODAY, "11:30", expected=100)
    world.predictions(games, done, et(TODAY, 11, 40), models=("v8",))
    late = world.batch(TODAY, "11:45", expected=100, status="RUNNING", completed=False)
    world.predictions(games, late, et(TODAY, 11, 59), models=("v9",))
    result = run_check(world.ctx, "recent_predictions")
    assert result.verdict is Verdict.FAIL  # the finished batch got nothing from v9
    assert "v8 100/100, v9 0/100" in result.message


def test_missing_batches_table_is_error(world: World) -> None:
    world.break_table("nba_predictions.prediction_batches")
    result = run_check(world.ctx, "recent_predictions")
    assert result.verdict is Verdict.ERROR
    assert "prediction_batches" in result.message


def test_due_slots_are_eastern_times_in_the_window() -> None:
    now = et(TODAY, 12, 0)
    slots = due_slots(
        now, now - dt.timedelta(hours=2), ["02:30", "07:00", "11:30"], dt.timedelta(minutes=30)
    )
    assert slots == [et(TODAY, 11, 30)]
    assert due_slots(et(TODAY, 11, 45), et(TODAY, 9, 45), ["11:30"], dt.timedelta(minutes=30)) == []


def test_a_window_of_days_reaches_the_slots_before_yesterday() -> None:
    """``window`` may be days (``3d``): the slots of every day in it are due, not only
    yesterday's and today's (a batch missed two days ago, with no batch since, was no
    FAIL)."""
    now = et(TODAY, 12, 0)
    two_days_ago = TODAY - dt.timedelta(days=2)
    slots = due_slots(now, now - dt.timedelta(days=3), ["07:00"], dt.timedelta(minutes=30))
    assert slots == [
        et(two_days_ago, 7, 0),
        et(TODAY - dt.timedelta(days=1), 7, 0),
        et(TODAY, 7, 0),
    ]


def test_a_slot_in_the_skipped_daylight_saving_hour_is_never_due() -> None:
    """02:30 ET does not exist on 2026-03-08; Cloud Scheduler runs on wall-clock time and
    may not run it, so the check must not FAIL that morning for a batch that never was."""
    utc = dt.UTC
    grace = dt.timedelta(minutes=30)
    spring = dt.datetime(2026, 3, 8, 10, 0, tzinfo=utc)  # 06:00 EDT
    assert due_slots(spring, spring - dt.timedelta(hours=4), ["02:30"], grace) == []
    day_after = dt.datetime(2026, 3, 9, 10, 0, tzinfo=utc)
    assert due_slots(day_after, day_after - dt.timedelta(hours=4), ["02:30"], grace) == [
        dt.datetime(2026, 3, 9, 6, 30, tzinfo=utc)  # 02:30 EDT
    ]
    # a repeated wall time (01:30 on 2026-11-01) is due only after its second occurrence
    fall = dt.datetime(2026, 11, 1, 6, 15, tzinfo=utc)  # 01:15 EST, 45 min after 01:30 EDT
    assert due_slots(fall, fall - dt.timedelta(hours=4), ["01:30"], grace) == []
    later = dt.datetime(2026, 11, 1, 7, 15, tzinfo=utc)
    assert due_slots(later, later - dt.timedelta(hours=4), ["01:30"], grace) == [
        dt.datetime(2026, 11, 1, 6, 30, tzinfo=utc)  # 01:30 EST
    ]


def test_predictions_of_a_batch_without_an_expected_count_do_not_cover_another(
    world: World,
) -> None:
    """A 07:00 batch that states no expected count wrote 100 per model; the 11:30 batch
    expecting 100 wrote none: '100/100' (PASS) counted the first batch's predictions
    against the second's expectation."""
    games = world.games(TODAY, 5)  # 100 players
    unstated = world.batch(TODAY, "07:00", expected=None)
    world.predictions(games, unstated, et(TODAY, 7, 10))
    world.batch(TODAY, "11:30", expected=100)  # completed, wrote nothing
    result = run_check(world.ctx, "recent_predictions", {"window": "6h"})
    assert result.verdict is Verdict.FAIL, result.message
    assert "v8 0/100, v9 0/100" in result.message


AFTER_MIDNIGHT = "2025-01-16T06:00:00Z"  # 01:00 ET: a 16h window reaches yesterday's 11:30
LONG_WINDOW = {"recent_predictions": {"window": "16h"}}


def test_a_slot_due_yesterday_is_judged_by_yesterdays_games(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Yesterday's 11:30 batch never ran on a game day: FAIL, and the message names that
    day's games, even with no games today (it said 'no games scheduled today': PASS)."""
    w = make_world(tmp_path, monkeypatch, now=AFTER_MIDNIGHT, checks=LONG_WINDOW)
    w.games(TODAY, 5)
    w.known_schedule(TODAY + dt.timedelta(days=1))  # no games on the 16th: a known fact
    result = run_check(w.ctx, "recent_predictions")
    assert result.verdict is Verdict.FAIL, result.message
    assert "the 11:30 ET batch was due with 6 games on 2025-01-15" in result.message


def test_a_slot_due_yesterday_without_games_is_owed_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No games yesterday: yesterday's slot owed no batch, whatever today's games (it was
    'due with 5 games today': a false FAIL)."""
    w = make_world(tmp_path, monkeypatch, now=AFTER_MIDNIGHT, checks=LONG_WINDOW)
    w.games(TODAY + dt.timedelta(days=1), 5)
    result = run_check(w.ctx, "recent_predictions")
    assert result.verdict is Verdict.PASS, result.message
    assert result.message.startswith("no batch due in the last 16h")


def test_a_window_longer_than_baseline_days_counts_every_batch_predictions(world: World) -> None:
    """The predictions were read from ``today - baseline_days`` on: a ``5d`` window judged
    a batch four days ago against its expected count without its predictions, a FAIL
    'no model version wrote any' for a batch every model wrote in full."""
    day = TODAY - dt.timedelta(days=4)
    world.predictions(world.games(day, 5), world.batch(day, "11:30", expected=100), et(day, 11, 40))
    result = run_check(world.ctx, "recent_predictions", {"window": "5d"})
    assert result.verdict is Verdict.PASS, result.message
    assert result.value == 100.0 and "v8 100/100, v9 100/100" in result.message
