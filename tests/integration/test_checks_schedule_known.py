"""Issue 14 item 5: "no games" is a PASS only when the schedule is known.

With an empty ``nba_raw.games`` (or one that stops before the day, or that was not
refreshed) every check whose "nothing to do" is a PASS says INCONCLUSIVE and names what
is missing: check-lines, check-grading, check-predictions, shot zones, validate-daily,
and system-health (which runs them). With the schedule known, no games is still PASS.
"""

from __future__ import annotations

import datetime as dt

import pytest
from worlds.checks_world import NOW_DT, TODAY, YESTERDAY, World

from nbaops.checks import run_check, validate_daily
from nbaops.checks.schedule_known import AROUND_DAYS, schedule_status
from nbaops.system_health import run_system_health
from nbaops.verdict import Verdict

NOTHING_TO_DO = [
    ("lines_coverage", TODAY),
    ("grading_completeness", TODAY),
    ("recent_predictions", TODAY),
    ("shot_zones", YESTERDAY),
    ("batch_errors", TODAY),
]


@pytest.mark.parametrize(("check", "day"), NOTHING_TO_DO)
def test_an_empty_schedule_is_inconclusive_never_pass(
    world: World, check: str, day: dt.date
) -> None:
    result = run_check(world.ctx, check)
    assert result.verdict is Verdict.INCONCLUSIVE, result.message
    assert "the schedule is not known" in result.message
    assert "nba_raw.games has no games" in result.message
    assert "FROM `nba_raw.games`" in result.query  # the schedule query is recorded


@pytest.mark.parametrize(("check", "day"), NOTHING_TO_DO)
def test_a_known_schedule_without_games_on_the_day_is_pass(
    world: World, check: str, day: dt.date
) -> None:
    world.known_schedule(day)
    if check in ("grading_completeness", "batch_errors"):  # "nothing due" spans recent days
        world.wh.execute("DELETE FROM `nba_raw.games` WHERE game_date < @d", {"d": TODAY})
        world.games(TODAY - dt.timedelta(days=10), 1, players_per_team=1)
    result = run_check(world.ctx, check)
    assert result.verdict is Verdict.PASS, result.message


def test_validate_daily_and_system_health_are_inconclusive_on_an_empty_schedule(
    world: World,
) -> None:
    report = validate_daily(world.ctx, TODAY)
    assert report.verdict is Verdict.INCONCLUSIVE
    assert "the schedule is not known" in report.checks[0].message
    world.use_standin_logs()  # logs from the stand-in, no sandbox build
    health = run_system_health(world.ctx, None, record=False)
    assert health.verdict is not Verdict.PASS
    inconclusive = {c.name for c in health.checks if c.verdict is Verdict.INCONCLUSIVE}
    assert {"lines_coverage", "grading_completeness", "shot_zones"} <= inconclusive


def _status(world: World, day: dt.date) -> object:
    return schedule_status(lambda q, a: world.wh.query(q.sql, a).rows, day, NOW_DT)


def test_a_schedule_that_stops_before_the_day_is_not_known(world: World) -> None:
    world.games(TODAY - dt.timedelta(days=3), 2)
    status = _status(world, TODAY)
    assert not status.known and f"no games in the {AROUND_DAYS} days from {TODAY}" in status.missing


def test_a_schedule_not_refreshed_recently_is_not_known(world: World) -> None:
    world.known_schedule(TODAY)
    stale = NOW_DT - dt.timedelta(days=3)
    world.wh.execute("UPDATE `nba_raw.games` SET updated_at = @t WHERE game_date > @d",
                     {"t": stale, "d": dt.date(2000, 1, 1)})  # fmt: skip
    status = _status(world, TODAY)
    assert not status.known and "was last refreshed" in status.missing
    # a past day's schedule only needs a refresh after that day ended
    assert _status(world, TODAY - dt.timedelta(days=5)).known is False  # no games before it
    world.games(TODAY - dt.timedelta(days=6), 1, players_per_team=1)
    world.wh.execute("UPDATE `nba_raw.games` SET updated_at = @t WHERE game_date > @d",
                     {"t": stale, "d": dt.date(2000, 1, 1)})  # fmt: skip
    assert _status(world, TODAY - dt.timedelta(days=5)).known


def test_a_schedule_without_refresh_times_is_not_known(world: World) -> None:
    world.known_schedule(TODAY)
    world.wh.execute("UPDATE `nba_raw.games` SET updated_at = NULL WHERE game_date > @d",
                     {"d": dt.date(2000, 1, 1)})  # fmt: skip
    status = _status(world, TODAY)
    assert not status.known and "no updated_at" in status.missing


def test_a_schedule_that_starts_after_the_day_is_not_known(world: World) -> None:
    world.games(TODAY + dt.timedelta(days=2), 2)
    status = _status(world, TODAY)
    assert (
        not status.known and f"no games in the {AROUND_DAYS} days up to {TODAY}" in status.missing
    )
