"""The sandbox's generated game-day state: realistic, consistent, due-only, deterministic."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from typing import Any

import pytest

from nbaops.clock import EASTERN
from nbaops.sandbox import generate
from nbaops.sandbox.league import TEAMS, synthetic_league

NOW = dt.datetime(2026, 1, 15, 17, 0, tzinfo=dt.UTC)  # 12:00 ET: all three batches due
TODAY = dt.date(2026, 1, 15)
REVS = {
    "prediction-worker": [
        generate.Revision("prediction-worker-00001-abc", NOW - dt.timedelta(days=9)),
        generate.Revision("prediction-worker-00002-def", NOW - dt.timedelta(days=2)),
    ]
}


def hit_rate(rows: list[dict[str, Any]], model: str) -> float:
    """Share of correct graded picks (PASS and pushes excluded) of one model."""
    picks = [
        r["is_correct"] for r in rows if r["system_id"] == model and r["is_correct"] is not None
    ]
    return sum(1 for c in picks if c) / len(picks)


def build(seed: int = 7, now: dt.datetime = NOW) -> generate.SandboxData:
    league = synthetic_league(seed, now)
    return generate.build_tables(
        league, now, seed, project="nbaops-local", region="us-west2", revisions=REVS
    )


@pytest.fixture(scope="module")
def data() -> generate.SandboxData:
    return build()


def rows(data: generate.SandboxData, ref: str) -> list[dict[str, Any]]:
    return data.tables[ref]


def test_same_seed_and_clock_give_identical_data(data: generate.SandboxData) -> None:
    again = build()
    assert again.tables == data.tables
    assert again.logs == data.logs
    # another seed, another league (the tables are built from it: the same build twice is
    # enough to show they follow the league; a third build only cost seconds)
    other = synthetic_league(8, NOW)
    assert other.games != synthetic_league(7, NOW).games


def test_schedule_covers_45_days_today_and_tomorrow_with_8_to_12_games(
    data: generate.SandboxData,
) -> None:
    games = rows(data, "nba_raw.games")
    per_day = Counter(g["game_date"] for g in games)
    assert min(per_day) == TODAY - dt.timedelta(days=45)
    assert max(per_day) == TODAY + dt.timedelta(days=1)
    assert len(per_day) == 47
    assert all(8 <= n <= 12 for n in per_day.values())
    for g in games:
        assert g["home_team"] in TEAMS and g["away_team"] in TEAMS
        assert g["home_team"] != g["away_team"]
        tip = g["start_time"].astimezone(EASTERN)
        assert tip.date() == g["game_date"]
        assert dt.time(19, 0) <= tip.time() <= dt.time(22, 30)
    statuses = {g["status"] for g in games if g["game_date"] < TODAY}
    assert statuses == {"final"}
    assert {g["status"] for g in games if g["game_date"] >= TODAY} == {"scheduled"}
    teams_per_day = defaultdict(list)
    for g in games:
        teams_per_day[g["game_date"]] += [g["home_team"], g["away_team"]]
    assert all(len(t) == len(set(t)) for t in teams_per_day.values())  # one game a day per team


def test_box_scores_are_internally_consistent_and_realistic(data: generate.SandboxData) -> None:
    box = rows(data, "nba_analytics.player_game_summary")
    finals = {g["game_id"] for g in rows(data, "nba_raw.games") if g["status"] == "final"}
    assert {b["game_id"] for b in box} == finals
    for b in box:
        fg2m = b["fgm"] - b["fg3m"]
        assert b["points"] == 2 * fg2m + 3 * b["fg3m"] + b["ftm"]
        assert b["fgm"] <= b["fga"] and b["fg3m"] <= b["fg3a"] and b["ftm"] <= b["fta"]
        assert b["paint_attempts"] + b["mid_range_attempts"] + b["three_pt_attempts"] == b["fga"]
        assert b["paint_makes"] + b["mid_range_makes"] + b["three_pt_makes"] == b["fgm"]
        assert 0 <= b["paint_makes"] <= b["paint_attempts"]
        assert 0 <= b["mid_range_makes"] <= b["mid_range_attempts"]
        assert b["processed_at"] <= NOW
    per_game = Counter(b["game_id"] for b in box)
    assert 15 <= statistics.mean(per_game.values()) <= 21
    by_player = defaultdict(list)
    for b in box:
        by_player[b["player_lookup"]].append(b["points"])
    means = [statistics.mean(v) for v in by_player.values() if len(v) >= 10]
    assert min(means) < 6 and 22 < max(means) < 40  # bench players to stars
    team_points = defaultdict(int)
    for b in box:
        team_points[(b["game_id"], b["team"])] += b["points"]
    assert 95 < statistics.mean(team_points.values()) < 140


def test_features_exist_for_every_expected_player_with_history_averages(
    data: generate.SandboxData,
) -> None:
    feats = rows(data, "nba_precompute.ml_feature_store")
    days = {f["game_date"] for f in feats}
    assert max(days) == TODAY  # tomorrow's features are built at 01:30 ET tomorrow
    today_games = {g["game_id"] for g in rows(data, "nba_raw.games") if g["game_date"] == TODAY}
    per_game = Counter(f["game_id"] for f in feats if f["game_date"] == TODAY)
    assert set(per_game) == today_games and min(per_game.values()) >= 15
    # averages are computed from the player's earlier games
    box = sorted(rows(data, "nba_analytics.player_game_summary"), key=lambda b: b["game_date"])
    target = next(f for f in feats if f["game_date"] == TODAY)
    earlier = [b["points"] for b in box if b["player_lookup"] == target["player_lookup"]]
    assert target["points_avg_last_5"] == pytest.approx(statistics.mean(earlier[-5:]), abs=0.01)
    assert target["points_avg_last_10"] == pytest.approx(statistics.mean(earlier[-10:]), abs=0.01)
    assert target["games_played"] >= len(earlier)  # includes pre-window history


def test_today_lines_cover_about_97_percent_near_player_averages(
    data: generate.SandboxData,
) -> None:
    feats = [f for f in rows(data, "nba_precompute.ml_feature_store") if f["game_date"] == TODAY]
    lines = [r for r in rows(data, "nba_precompute.points_lines") if r["game_date"] == TODAY]
    expected = {f["player_lookup"] for f in feats}
    covered = {r["player_lookup"] for r in lines} & expected
    assert 0.93 <= len(covered) / len(expected) < 1.0
    assert {r["bookmaker"] for r in lines} == set(generate.BOOKMAKERS)
    avg = {f["player_lookup"]: f["points_avg_last_10"] for f in feats}
    gaps = [
        abs(r["points_line"] - avg[r["player_lookup"]]) for r in lines if avg[r["player_lookup"]]
    ]
    assert statistics.median(gaps) < 3.0
    assert all(r["snapshot_time"] <= NOW for r in lines)


def test_batches_only_when_due_and_predictions_only_with_real_lines(
    data: generate.SandboxData,
) -> None:
    batches = rows(data, "nba_predictions.prediction_batches")
    today = sorted((b for b in batches if b["game_date"] == TODAY), key=lambda b: b["started_at"])
    assert [b["scheduled_slot"] for b in today] == ["02:30", "07:00", "11:30"]
    assert all(b["mode"] == "REAL_LINES_ONLY" and b["status"] == "completed" for b in today)
    assert not [b for b in batches if b["game_date"] > TODAY]
    preds = rows(data, "nba_predictions.player_prop_predictions")
    assert {p["system_id"] for p in preds} == {"v8", "v9"}
    assert {p["line_source"] for p in preds} == {"REAL"}
    assert all(p["line_value"] is not None for p in preds)
    by_batch = Counter(p["batch_id"] for p in preds)
    for b in batches:
        assert b["predictions_written"] == by_batch.get(b["batch_id"], 0)
        assert b["predictions_written"] == 2 * b["expected_players"]  # both models
    lined = defaultdict(set)
    for r in rows(data, "nba_precompute.points_lines"):
        lined[r["game_date"]].add(r["player_lookup"])
    assert all(p["player_lookup"] in lined[p["game_date"]] for p in preds)


def test_grading_covers_finished_games_and_v9_beats_v8(data: generate.SandboxData) -> None:
    acc = rows(data, "nba_predictions.prediction_accuracy")
    preds = {p["prediction_id"]: p for p in rows(data, "nba_predictions.player_prop_predictions")}
    assert acc and all(a["prediction_id"] in preds for a in acc)
    assert max(a["game_date"] for a in acc) == TODAY - dt.timedelta(days=1)
    for a in acc:
        if a["recommendation"] == "PASS" or a["actual_points"] == a["line_value"]:
            assert a["is_correct"] is None
        else:
            assert a["is_correct"] == (
                (a["actual_points"] > a["line_value"]) == (a["recommendation"] == "OVER")
            )
        assert a["absolute_error"] == pytest.approx(abs(a["signed_error"]))
        assert a["graded_at"] <= NOW
    v8, v9 = hit_rate(acc, "v8"), hit_rate(acc, "v9")
    assert 0.52 <= v8 < v9 <= 0.62


def test_heartbeats_are_recent_with_one_live_row_per_processor(
    data: generate.SandboxData,
) -> None:
    beats = rows(data, "nba_analytics.processor_heartbeats")
    latest: dict[str, dt.datetime] = {}
    for b in beats:
        latest[b["processor_name"]] = max(
            latest.get(b["processor_name"], b["heartbeat_at"]), b["heartbeat_at"]
        )
        assert b["heartbeat_at"] <= NOW
    assert set(latest) == {p for ps in generate.PROCESSORS.values() for p in ps}
    assert all(NOW - t < dt.timedelta(minutes=30) for t in latest.values())
    live = Counter(
        b["processor_name"] for b in beats if NOW - b["heartbeat_at"] <= dt.timedelta(minutes=30)
    )
    assert set(live.values()) == {1}


def test_logs_are_mostly_info_with_no_recent_errors(data: generate.SandboxData) -> None:
    logs = data.logs
    severities = Counter(e["severity"] for e in logs)
    assert severities["INFO"] > 10 * severities["WARNING"] > 0
    recent_errors = [
        e for e in logs if e["severity"] == "ERROR" and NOW - e["timestamp"] < dt.timedelta(hours=6)
    ]
    assert recent_errors == []
    # each entry names the revision that served at its time
    for e in logs:
        labels = e["resource"]["labels"]
        assert labels["service_name"] == "prediction-worker"
        expected = (
            "prediction-worker-00002-def"
            if e["timestamp"] >= NOW - dt.timedelta(days=2)
            else "prediction-worker-00001-abc"
        )
        assert labels["revision_name"] == expected


def test_data_follows_the_clock_and_hides_what_is_not_due() -> None:
    early = dt.datetime(2026, 1, 15, 8, 0, tzinfo=dt.UTC)  # 03:00 ET
    data = build(now=early)
    batches = [
        b for b in data.tables["nba_predictions.prediction_batches"] if b["game_date"] == TODAY
    ]
    assert [b["scheduled_slot"] for b in batches] == ["02:30"]
    # late games of yesterday have finished but are not graded yet
    acc_days = {a["game_date"] for a in data.tables["nba_predictions.prediction_accuracy"]}
    assert TODAY - dt.timedelta(days=1) in acc_days or TODAY - dt.timedelta(days=2) in acc_days
    assert all(r["snapshot_time"] <= early for r in data.tables["nba_precompute.points_lines"])
