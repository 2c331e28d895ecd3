"""lines_coverage on the local warehouse: each verdict from rows the test wrote."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from worlds.checks_world import TODAY, YESTERDAY, World, make_world

from nbaops.checks import run_check
from nbaops.errors import ConfigError
from nbaops.verdict import Verdict


def test_full_coverage_passes_with_per_game_details(world: World) -> None:
    games = world.games(TODAY, 8)
    world.features(games)
    world.lines(games)
    result = run_check(world.ctx, "lines_coverage")
    assert result.verdict is Verdict.PASS
    assert result.value == 100.0
    assert result.threshold == "FAIL < 90%, WARN < 95%"
    assert result.details["expected_players"] == 160
    assert len(result.details["per_game"]) == 8
    assert result.details["missing_players"] == []
    assert "@game_date" in result.query and "nba_precompute.points_lines" in result.query
    assert result.duration_s > 0


def test_coverage_between_tiers_warns(world: World) -> None:
    games = world.games(TODAY, 10)  # 200 expected players
    world.features(games)
    world.lines(games, missing={games[3].game_id: 12})  # 188/200 = 94%
    result = run_check(world.ctx, "lines_coverage")
    assert result.verdict is Verdict.WARN
    assert result.value == 94.0
    assert "94.0% < 95% (WARN)" in result.message


def test_low_coverage_fails_naming_players_and_worst_game(world: World) -> None:
    games = world.games(TODAY, 6, players_per_team=9)  # 108 expected players
    world.features(games)
    world.lines(games, missing={games[0].game_id: 14, games[1].game_id: 14, games[2].game_id: 13})
    result = run_check(world.ctx, "lines_coverage")
    assert result.verdict is Verdict.FAIL
    assert result.value == round(67 / 108 * 100, 2)
    assert result.message.startswith(
        f"{TODAY}: coverage 62.04% < 90% (FAIL): 41 of 108 players without a "
        f"line; worst game {games[0].matchup} 4/18"
    )
    assert len(result.details["missing_players"]) == 20  # top 20 only
    assert result.details["missing_total"] == 41
    first_missing = result.details["missing_players"][0]
    assert first_missing["game"] == games[0].matchup and first_missing["player"]
    per_game = {g["matchup"]: g for g in result.details["per_game"]}
    assert per_game[games[0].matchup]["with_line"] == 4
    assert per_game[games[3].matchup]["coverage"] == 1.0


def test_no_games_scheduled_is_pass_never_failure(world: World) -> None:
    games = world.games(YESTERDAY, 5)  # other days' data must not count
    world.features(games)
    world.games(TODAY + dt.timedelta(days=1), 1)  # the schedule is known around today
    result = run_check(world.ctx, "lines_coverage")
    assert result.verdict is Verdict.PASS
    assert result.message == f"no games scheduled on {TODAY}"


def test_postponed_games_are_not_expected(world: World) -> None:
    world.games(TODAY, 2, status="Postponed")
    result = run_check(world.ctx, "lines_coverage")
    assert result.verdict is Verdict.PASS and "no games scheduled" in result.message


def test_games_without_feature_rows_are_inconclusive(world: World) -> None:
    world.games(TODAY, 4)  # scheduled, but phase 4 wrote no features
    result = run_check(world.ctx, "lines_coverage")
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "too little data" in result.message and "4 game(s)" in result.message


def test_too_few_expected_players_is_inconclusive_without_a_percent(world: World) -> None:
    """One expected player with a line was shown as "value=1%" (the count in the check's
    unit, % of expected): an unmeasured share has no value."""
    games = world.games(TODAY, 1)
    world.features(games, drop=len(games[0].players) - 1)  # one expected player
    result = run_check(world.ctx, "lines_coverage")
    assert result.verdict is Verdict.INCONCLUSIVE and "only 1 expected player(s)" in result.message
    assert result.value is None


def test_one_game_missing_its_features_cannot_pass(world: World) -> None:
    games = world.games(TODAY, 6)
    world.features(games[:5])
    world.lines(games)
    result = run_check(world.ctx, "lines_coverage")
    assert result.verdict is Verdict.WARN
    assert f"no feature rows for {games[5].matchup}" in result.message


def test_date_override_and_threshold_override(world: World) -> None:
    games = world.games(YESTERDAY, 5)
    world.features(games)
    world.lines(games, missing={games[0].game_id: 8})  # 92/100
    assert run_check(world.ctx, "lines_coverage", {"game_date": YESTERDAY}).verdict is Verdict.WARN
    strict = run_check(
        world.ctx,
        "lines_coverage",
        {"game_date": "yesterday", "fail_below": 0.95, "warn_below": 0.99},
    )
    assert strict.verdict is Verdict.FAIL
    assert strict.threshold == "FAIL < 95%, WARN < 99%"


def test_broken_table_is_error_with_the_engine_text(world: World) -> None:
    games = world.games(TODAY, 8)
    world.features(games)
    world.break_table("nba_precompute.points_lines")
    result = run_check(world.ctx, "lines_coverage")
    assert result.verdict is Verdict.ERROR
    assert result.value is None
    assert "points_lines" in result.message and "does not exist" in result.message
    assert "nba_precompute.points_lines" in result.query


def test_query_timeout_is_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slow = make_world(tmp_path, monkeypatch, checks={"timeout_s": 0.001})
    games = slow.games(TODAY, 8)
    slow.features(games)
    slow.lines(games)
    result = run_check(slow.ctx, "lines_coverage")
    assert result.verdict is Verdict.ERROR
    assert "timed out after 0.001s" in result.message


# 00:45 ET on TODAY: the games of TODAY are scheduled, their features are due at 02:00.
BEFORE_FEATURES = "2025-01-15T05:45:00Z"


def test_before_features_are_due_today_is_the_previous_game_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    night = make_world(tmp_path, monkeypatch, now=BEFORE_FEATURES)
    last_night = night.games(YESTERDAY, 5)
    night.features(last_night)
    night.lines(last_night)
    night.games(TODAY, 8)  # tonight's slate: no features yet, and none due
    result = run_check(night.ctx, "lines_coverage")
    assert result.verdict is Verdict.PASS
    assert result.message.startswith(
        f"{YESTERDAY} (today's features are due at 02:00 ET): coverage 100.0% >= 95% (PASS)"
    )
    assert result.details["game_date"] == YESTERDAY.isoformat()
    # A day named explicitly is measured as named, whatever the hour.
    named = run_check(night.ctx, "lines_coverage", {"game_date": TODAY})
    assert named.verdict is Verdict.INCONCLUSIVE and "game_date_moved" not in named.details


def test_features_due_is_configurable_and_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    night = make_world(tmp_path, monkeypatch, now=BEFORE_FEATURES)
    night.games(TODAY, 8)  # due from 00:30: today's missing features are now a finding
    early = run_check(night.ctx, "lines_coverage", {"features_due": "00:30"})
    assert early.verdict is Verdict.INCONCLUSIVE and f"on {TODAY} but only 0" in early.message
    with pytest.raises(ConfigError, match=r"lines_coverage.features_due: '1:30am' is not a time"):
        run_check(night.ctx, "lines_coverage", {"features_due": "1:30am"})


def test_coverage_beside_a_non_whole_threshold_keeps_its_side_of_it(world: World) -> None:
    """67/108 is 62.037%: beside a configured WARN at 62.04% it read "coverage 62.04% <
    62.04% (WARN)" with value=62.04 (report.decimals only kept values off whole percents);
    the text, the stored value and the game lines keep the decimals that show the side."""
    games = world.games(TODAY, 6, players_per_team=9)  # 108 expected players
    world.features(games)
    world.lines(games, missing={games[0].game_id: 14, games[1].game_id: 14, games[2].game_id: 13})
    result = run_check(world.ctx, "lines_coverage", {"fail_below": 0.5, "warn_below": 0.6204})
    assert result.verdict is Verdict.WARN
    assert result.threshold == "FAIL < 50%, WARN < 62.04%"
    assert "coverage 62.037% < 62.04% (WARN)" in result.message, result.message
    assert result.value == 62.037
