"""validate-daily: the chain's completeness stage by stage and where it broke."""

from __future__ import annotations

import datetime as dt

from worlds.checks_world import TODAY, YESTERDAY, World, et

from nbaops.checks import validate_daily
from nbaops.verdict import Verdict


def _full_day(
    world: World, *, box_games: int | None = None, grade: int | None = None, lines_missing: int = 0
) -> None:
    games = world.games(YESTERDAY, 5)  # 100 players
    world.features(games)
    world.lines(games, missing={games[0].game_id: lines_missing} if lines_missing else None)
    world.box_scores(games[: box_games if box_games is not None else len(games)])
    batch = world.batch(YESTERDAY, "11:30", expected=100)
    rows = world.predictions(games, batch, et(YESTERDAY, 11, 40))
    world.grade(rows[: grade if grade is not None else len(rows)], et(TODAY, 3))


def _by_stage(report: object) -> dict[str, object]:
    return {c.name.removeprefix("daily."): c for c in report.checks}  # type: ignore[attr-defined]


def test_complete_chain_passes(world: World) -> None:
    _full_day(world)
    report = validate_daily(world.ctx)
    assert report.verdict is Verdict.PASS
    assert report.extra["broke_at"] is None
    stages = _by_stage(report)
    assert list(stages) == ["schedule", "box_scores", "features", "predictions", "grading"]
    assert stages["grading"].message == (
        "grading: 200 of 200 predictions of players who played graded (100.0%, PASS)"
    )
    doc = report.to_json()
    assert doc["game_date"] == str(YESTERDAY) and doc["counts"]["games_scheduled"] == 5


def test_chain_breaks_at_grading(world: World) -> None:
    _full_day(world, grade=100)
    report = validate_daily(world.ctx)
    assert report.verdict is Verdict.FAIL
    assert report.extra["broke_at"] == "grading"
    assert _by_stage(report)["grading"].value == 50.0
    assert _by_stage(report)["predictions"].verdict is Verdict.PASS


def test_missing_box_scores_break_the_chain_and_later_stages_compare_to_them(world: World) -> None:
    _full_day(world, box_games=0)
    report = validate_daily(world.ctx)
    assert report.extra["broke_at"] == "box scores"
    stages = _by_stage(report)
    assert stages["box_scores"].verdict is Verdict.FAIL
    assert stages["box_scores"].message.startswith("box scores: 0 of 5 scheduled games")
    assert stages["features"].verdict is Verdict.INCONCLUSIVE
    assert "chain broke at box scores" in stages["features"].message


def test_partial_box_scores_warn_or_fail_by_tier(world: World) -> None:
    _full_day(world, box_games=4)  # 4 of 5 games = 80% < 90%
    report = validate_daily(world.ctx)
    assert _by_stage(report)["box_scores"].verdict is Verdict.FAIL


def test_players_without_lines_are_not_expected_to_be_predicted(world: World) -> None:
    _full_day(world, lines_missing=10)
    report = validate_daily(world.ctx)
    stages = _by_stage(report)
    assert stages["predictions"].verdict is Verdict.PASS
    assert stages["predictions"].details["of"] == 90


def test_no_games_is_pass(world: World) -> None:
    world.known_schedule(TODAY)
    report = validate_daily(world.ctx, TODAY)
    assert report.verdict is Verdict.PASS
    assert report.checks[0].message == f"no games scheduled on {TODAY}: nothing to validate"


def test_no_games_names_the_schedule_query_that_decided_it(world: World) -> None:
    """ "No games" is a verdict of the schedule query (is the schedule known around the
    day?), which the result must show beside the chain query, as every check's does."""
    from nbaops.checks.schedule_known import QUERY

    world.known_schedule(TODAY)
    schedule = validate_daily(world.ctx, TODAY).checks[0]
    assert schedule.verdict is Verdict.PASS
    assert QUERY.sql.strip() in schedule.query
    assert schedule.query.startswith("WITH scheduled AS")  # the chain query, first


def test_broken_table_is_error(world: World) -> None:
    world.break_table("nba_predictions.prediction_accuracy")
    report = validate_daily(world.ctx)
    assert report.verdict is Verdict.ERROR
    assert "prediction_accuracy" in report.checks[0].message


# -- a day in progress (NOW is 12:00 ET on TODAY) ---------------------------------------


def test_a_day_before_tip_off_reports_what_is_still_expected_not_a_broken_chain(
    world: World,
) -> None:
    games = world.games(TODAY, 5)  # 19:00 ET tip-off, 100 players
    world.features(games)
    world.lines(games)
    batch = world.batch(TODAY, "11:30", expected=100)
    world.predictions(games, batch, et(TODAY, 11, 40), per_model={"v8": 50, "v9": 50})
    report = validate_daily(world.ctx, TODAY)
    assert report.extra["broke_at"] is None
    assert report.verdict is Verdict.WARN  # predictions short, but tip-off is at 19:00 ET
    stages = _by_stage(report)
    assert stages["box_scores"].verdict is Verdict.PASS
    assert stages["box_scores"].message.startswith("box scores: nothing due yet; still expected")
    assert stages["predictions"].verdict is Verdict.WARN
    assert "not late yet: predictions before the first tip-off at 19:00 ET" in (
        stages["predictions"].message
    )
    assert stages["grading"].verdict is Verdict.PASS
    assert (
        report.extra["in_progress"]
        == "0 of 5 games finished, 5 not started (next tip-off 19:00 ET)"
    )
    doc = report.to_json()
    assert doc["still_expected"][0] == (
        f"box scores of 5 game(s) by ~00:00 ET on {TODAY + dt.timedelta(days=1)} "
        "(5 not finished yet, last game ends ~22:00 ET)"
    )


def test_finished_games_within_their_box_score_grace_are_not_called_unfinished(
    world: World,
) -> None:
    """At 02:15 ET every game was over but two box scores were within their grace, and
    the report said "10 of 10 games finished" above "box scores of 2 game(s) not finished
    yet" and "the rest after their games"."""
    games = world.games(TODAY, 2, start_hour_et=8)  # finished 11:00 ET, box scores due 13:00
    world.features(games)
    world.lines(games)
    report = validate_daily(world.ctx, TODAY)
    assert report.extra["in_progress"] == "2 of 2 games finished"
    assert report.extra["still_expected"][0] == "box scores of 2 finished game(s) by ~13:00 ET"
    assert not any("not finished" in item for item in report.extra["still_expected"])
    assert not any("after their games" in item for item in report.extra["still_expected"])


def test_what_has_arrived_is_not_still_expected(world: World) -> None:
    """'still expected: box scores of 2 finished game(s)' and 'grading of finished games'
    beside 'box scores 2 of 2' and 'graded 100%': only what has not arrived is expected."""
    games = world.games(TODAY, 2, start_hour_et=8)  # finished 11:00 ET, box scores due 13:00
    world.features(games)
    world.lines(games)
    world.box_scores(games)  # early: both already in
    batch = world.batch(TODAY, "07:00", expected=40)
    world.grade(world.predictions(games, batch, et(TODAY, 7, 10)), et(TODAY, 11, 30))
    report = validate_daily(world.ctx, TODAY)
    assert report.extra["still_expected"] == [], report.extra["still_expected"]
    stages = _by_stage(report)
    assert stages["grading"].details["done"] == stages["grading"].details["of"] > 0


def test_late_box_scores_fail_even_while_the_day_is_in_progress(world: World) -> None:
    early = world.games(TODAY, 2, start_hour_et=6)  # finished 09:00 ET, due 11:00 ET
    late = world.games(TODAY, 3)  # 19:00 ET
    world.features(early + late)
    world.lines(early + late)
    world.box_scores(early[:1])  # one finished game has no box scores: late
    report = validate_daily(world.ctx, TODAY)
    stages = _by_stage(report)
    assert stages["box_scores"].verdict is Verdict.FAIL
    assert stages["box_scores"].details["of"] == 2  # only the games whose box scores are due
    assert report.extra["broke_at"] == "box scores"
    assert (
        report.extra["in_progress"]
        == "2 of 5 games finished, 3 not started (next tip-off 19:00 ET)"
    )


def test_grading_is_only_late_after_its_grace(world: World) -> None:
    games = world.games(TODAY, 2, start_hour_et=7)  # finished 10:00 ET, grading due 16:00 ET
    world.features(games)
    world.lines(games)
    world.box_scores(games)
    batch = world.batch(TODAY, "02:30", expected=40)
    world.predictions(games, batch, et(TODAY, 2, 40))
    report = validate_daily(world.ctx, TODAY)
    stages = _by_stage(report)
    assert stages["grading"].verdict is Verdict.WARN
    assert "not late yet: grading of finished games by 16:00 ET" in stages["grading"].message
    assert report.extra["broke_at"] is None


def test_predictions_due_with_nothing_to_predict_are_no_pass_while_the_day_runs(
    world: World,
) -> None:
    """After the first tip-off the predictions are due: with features but not one points
    line there was nothing to predict, which the day in progress used to call "nothing
    due yet" (PASS) although it is the INCONCLUSIVE it is once the day is over."""
    games = world.games(TODAY, 2, start_hour_et=8)  # tipped off 08:00 ET, box scores due 13:00
    world.features(games)  # features, but the lines feed delivered nothing
    report = validate_daily(world.ctx, TODAY)
    assert report.extra["in_progress"] == "2 of 2 games finished"
    predictions = _by_stage(report)["predictions"]
    assert predictions.verdict is Verdict.INCONCLUSIVE, predictions.message
    assert predictions.message == (
        f"predictions: nothing to compare against: no players with features and a points "
        f"line on {TODAY}"
    )


def test_every_stage_names_both_queries_behind_it(world: World) -> None:
    """The games' start times (which stages are due yet) come from a second query: each
    result showed only the chain query, and a failure of the second was reported under
    the chain query's text."""
    from nbaops.checks.daily_validation import CHAIN, GAMES

    world.games(TODAY, 2)
    report = validate_daily(world.ctx, TODAY)
    assert all(c.query == f"{CHAIN.sql.strip()}\n;\n{GAMES.sql.strip()}" for c in report.checks), (
        report.checks[0].query
    )
