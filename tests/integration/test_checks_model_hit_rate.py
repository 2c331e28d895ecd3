"""model_hit_rate on the local warehouse: Wilson lower bound of the serving model's hit rate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from worlds.checks_world import TODAY, World, et, make_world

from nbaops.checks import run_check
from nbaops.regression.stats import wilson_interval
from nbaops.verdict import Verdict


def _graded(
    world: World, day: dt.date, hits: int, misses: int, *, model: str = "v8", other: int = 0
) -> None:
    """``hits`` right and ``misses`` wrong picks of ``model`` on ``day``; ``other`` PASS rows."""
    rows = []
    outcomes = [True] * hits + [False] * misses + [None] * other
    for i, correct in enumerate(outcomes):
        rows.append(
            {
                "prediction_id": f"{model}-{day}-{i}",
                "game_id": f"g{day:%m%d}",
                "game_date": day,
                "player_lookup": f"p{i}",
                "system_id": model,
                "predicted_points": 16.0,
                "line_value": 14.5,
                "recommendation": "PASS" if correct is None else "OVER",
                "actual_points": 17 if correct else 12,
                "is_correct": correct,
                "absolute_error": 1.0,
                "signed_error": -1.0,
                "graded_at": et(day + dt.timedelta(days=1), 3),
            }
        )
    world.wh.insert_rows("nba_predictions.prediction_accuracy", rows)


def _days(n: int, start: int = 1) -> list[dt.date]:
    """The ``n`` game days before ``start`` days ago. A test writes one insert per day in a
    ``wh.session()``: each insert on its own opens and closes the warehouse file (~60 ms)."""
    return [TODAY - dt.timedelta(days=start + i) for i in range(n)]


def test_a_model_above_the_floor_passes_on_the_latest_14_game_days(world: World) -> None:
    with world.wh.session():  # one connection for the inserts (see _days)
        for day in _days(14):
            _graded(world, day, 34, 26, other=10)  # 56.7%
        for day in _days(6, start=20):
            _graded(world, day, 0, 60)  # older game days: outside the window
        _graded(world, TODAY - dt.timedelta(days=2), 0, 0, model="v9")
    result = run_check(world.ctx, "model_hit_rate")
    low, _ = wilson_interval(34 * 14, 60 * 14)
    assert result.verdict is Verdict.PASS, result.message
    assert result.value == round(low * 100, 2)
    assert result.details["decided"] == 840 and len(result.details["game_days"]) == 14
    assert result.details["model_version"] == "v8"  # regression.champion
    assert "v8 hit 56.7% of 840 graded picks over 14 game day(s)" in result.message
    assert "nba_predictions.prediction_accuracy" in result.query


def test_a_dropping_hit_rate_fails_and_a_marginal_one_warns(world: World) -> None:
    with world.wh.session():
        for day in _days(14):
            _graded(world, day, 25, 35)  # 41.7%: lower bound ~38%
    result = run_check(world.ctx, "model_hit_rate")
    assert result.verdict is Verdict.FAIL
    assert "lower bound below 45% (FAIL)" in result.message


def test_a_marginal_hit_rate_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(tmp_path, monkeypatch)
    with world.wh.session():
        for day in _days(14):
            _graded(world, day, 30, 30)  # 50%: lower bound ~46.6%, between the bands
    result = run_check(world.ctx, "model_hit_rate")
    assert result.verdict is Verdict.WARN
    assert "lower bound below 50% (WARN)" in result.message


def test_too_few_picks_is_inconclusive_never_pass(world: World) -> None:
    with world.wh.session():
        for day in _days(3):
            _graded(world, day, 60, 10)  # 85%, but only 210 picks < 500
    result = run_check(world.ctx, "model_hit_rate")
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "fewer than 500 graded picks" in result.message
    assert result.value is not None


def test_no_graded_picks_is_inconclusive(world: World) -> None:
    _graded(world, TODAY - dt.timedelta(days=1), 40, 20, model="v9")
    result = run_check(world.ctx, "model_hit_rate")
    assert result.verdict is Verdict.INCONCLUSIVE and result.value is None
    assert "no graded picks of v8" in result.message


def test_model_version_and_bands_come_from_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(
        tmp_path,
        monkeypatch,
        checks={
            "model_hit_rate": {
                "model_version": "v9",
                "fail_below": 0.35,
                "warn_below": 0.40,
                "min_bets": 100,
            }
        },
    )
    with world.wh.session():
        for day in _days(2):
            _graded(world, day, 30, 30, model="v9")
            _graded(world, day, 0, 60, model="v8")
    result = run_check(world.ctx, "model_hit_rate")
    assert result.verdict is Verdict.PASS, result.message
    assert result.details["model_version"] == "v9" and result.details["decided"] == 120


def test_a_re_prediction_is_one_pick_not_two(world: World) -> None:
    """The 07:00 and 11:30 batches re-predict players and each re-prediction is graded:
    every graded row counted (~a third more picks), so min_bets was reached too early and
    the interval was too narrow. One pick per player-game: the latest before tip-off."""
    with world.wh.session():
        for day in _days(14):
            _graded(world, day, 20, 15)  # 490 player-games: below min_bets (500)
        # The same player-games predicted again by a later batch (graded the same way).
        for day in _days(14):
            rows = world.wh.query(
                "SELECT * FROM `nba_predictions.prediction_accuracy` WHERE game_date = @d",
                {"d": day},
            ).rows
            again = [{**r, "prediction_id": r["prediction_id"] + "-1130"} for r in rows]
            world.wh.insert_rows("nba_predictions.prediction_accuracy", again)
    result = run_check(world.ctx, "model_hit_rate")
    assert result.details["decided"] == 35 * 14  # 490 player-games, not 980 rows
    assert result.verdict is Verdict.INCONCLUSIVE  # 490 < min_bets 500: too few picks
