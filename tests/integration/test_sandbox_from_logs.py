"""``sandbox.reset --from-logs``: real nba_api game logs become the sandbox's league."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.clock import EASTERN
from nbaops.errors import UsageError
from nbaops.paths import shared_data_dir
from nbaops.sandbox import generate, lifecycle
from nbaops.sandbox.import_logs import import_league
from nbaops.sandbox.league import TEAMS
from nbaops.sandbox.world import open_context

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 1, 15, 17, 0, tzinfo=dt.UTC)
COLUMNS = [
    "SEASON_ID",
    "PLAYER_ID",
    "PLAYER_NAME",
    "TEAM_ID",
    "TEAM_ABBREVIATION",
    "TEAM_NAME",
    "GAME_ID",
    "GAME_DATE",
    "MATCHUP",
    "WL",
    "MIN",
    "PTS",
    "FGM",
    "FGA",
    "FG_PCT",
    "FG3M",
    "FG3A",
    "FG3_PCT",
    "FTM",
    "FTA",
    "FT_PCT",
    "OREB",
    "DREB",
    "REB",
    "AST",
    "STL",
    "BLK",
    "TOV",
    "PF",
    "PLUS_MINUS",
    "SEASON_LABEL",
]


def _write_logs(path: Path) -> None:
    """Two seasons; the later one has 8 games a day on 2025-04-01 .. 2025-04-10."""
    rows = []
    teams = TEAMS[:16]
    gid = 0
    for season, start in (("2023-24", dt.date(2024, 3, 1)), ("2024-25", dt.date(2025, 4, 1))):
        for d in range(10):
            day = start + dt.timedelta(days=d)
            for g in range(8):
                gid += 1
                home, away = teams[2 * g], teams[2 * g + 1]
                for team, opp, home_flag in ((home, away, True), (away, home, False)):
                    for p in range(3):
                        pid = teams.index(team) * 10 + p + 1
                        pts = 10 + p * 7 + d % 3
                        rows.append(
                            {
                                "SEASON_ID": "2" + season[:4],
                                "PLAYER_ID": pid,
                                "PLAYER_NAME": f"Player{pid} Test{' Jr.' if p == 2 else ''}",
                                "TEAM_ID": 1610612700 + teams.index(team),
                                "TEAM_ABBREVIATION": team,
                                "TEAM_NAME": team,
                                "GAME_ID": f"00224{gid:05d}",
                                "GAME_DATE": day.isoformat(),
                                "MATCHUP": f"{team} vs. {opp}" if home_flag else f"{team} @ {opp}",
                                "WL": "W",
                                "MIN": 30 - p * 11,
                                "PTS": pts,
                                "FGM": pts // 2 - 1,
                                "FGA": pts,
                                "FG_PCT": "",
                                "FG3M": 1,
                                "FG3A": 3,
                                "FG3_PCT": "",
                                "FTM": pts - 2 * (pts // 2 - 1) - 1,
                                "FTA": 4,
                                "FT_PCT": "",
                                "OREB": 1,
                                "DREB": 3,
                                "REB": 4,
                                "AST": 2,
                                "STL": 0,
                                "BLK": 0,
                                "TOV": 1,
                                "PF": 2,
                                "PLUS_MINUS": 0,
                                "SEASON_LABEL": season,
                            }
                        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def test_latest_season_is_shifted_so_its_last_full_slate_is_today(tmp_path: Path) -> None:
    source = tmp_path / "logs" / "player_logs.csv"
    _write_logs(source)
    league = import_league(source, NOW, seed=3)
    today = dt.date(2026, 1, 15)
    days = sorted({g.game_date for g in league.games})
    # 2025-04-10 (the last day with 8 games after a game day) becomes today
    assert days[-1] == today and days[0] == today - dt.timedelta(days=9)
    assert all(g.season == "2025-26" for g in league.games)
    assert len(league.games) == 80
    assert league.history == []  # the earlier season is not used
    first = league.games[0]
    tip = first.start_time.astimezone(EASTERN)
    assert tip.date() == first.game_date
    # real players: normalised lookups, suffix dropped; expected = every player who played
    assert "player3test" in league.players
    assert all(len(v) == 6 for v in league.expected.values())  # 3 per team, 10+ min or not
    data = generate.build_tables(league, NOW, 3, project="p-1", region="us-west2", revisions={})
    box = data.tables["nba_analytics.player_game_summary"]
    assert box and all(
        b["paint_attempts"] + b["mid_range_attempts"] + b["three_pt_attempts"] == b["fga"]
        for b in box
    )
    assert {b["source"] for b in box} == {"nba_api"}


def test_rows_without_a_season_do_not_stop_the_import(tmp_path: Path) -> None:
    # max() over the seasons compared None with "2024-25": a TypeError traceback
    source = tmp_path / "logs" / "player_logs.csv"
    _write_logs(source)
    with source.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["SEASON_ID"] = ""  # a row of the earlier season with its season left out
    with source.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    league = import_league(source, NOW, seed=3)
    assert len(league.games) == 80 and all(g.season == "2025-26" for g in league.games)


def test_unreadable_logs_are_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        import_league(tmp_path / "missing.csv", NOW, seed=1)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError):
        import_league(empty, NOW, seed=1)


@pytest.mark.realdata
def test_reset_from_the_shared_real_game_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = shared_data_dir(ROOT) / "player_game_logs"
    if not logs.is_dir():
        pytest.skip(f"real NBA data not found at {logs} (set NBAOPS_DATA)")
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path))
    monkeypatch.setenv("NBAOPS_NOW", NOW.isoformat())
    report = lifecycle.reset(open_context("local"), from_logs=logs)
    info = report.to_json()
    assert info["source"] == str(logs.resolve())
    assert info["counts"]["nba_analytics.player_game_summary"] > 5000
    wh = DuckDBWarehouse(tmp_path / "warehouse.duckdb", root=ROOT)
    top = wh.query(
        "SELECT player_name, AVG(points) AS ppg, COUNT(*) AS games "
        "FROM nba_analytics.player_game_summary WHERE game_date >= @d "
        "GROUP BY player_name HAVING COUNT(*) >= 10 ORDER BY ppg DESC LIMIT 1",
        {"d": dt.date(2025, 11, 1)},
    ).rows[0]
    assert 25 < top["ppg"] < 40  # a real scoring leader
    # lines exist for today's real players, near their averages
    assert (
        wh.query(
            "SELECT COUNT(*) AS n FROM nba_precompute.points_lines WHERE game_date = @d",
            {"d": dt.date(2026, 1, 15)},
        ).rows[0]["n"]
        > 50
    )
    # a healthy real-data sandbox passes the daily chain (it failed at features: only
    # 10-minute players had feature rows, every player who played has a box score)
    from nbaops.checks import validate_daily

    daily = validate_daily(open_context("local"), dt.date(2026, 1, 14))
    assert daily.extra["broke_at"] is None, [c.message for c in daily.checks]
    assert {c.verdict.value for c in daily.checks} == {"PASS"}
    # the models' skill is calibrated for real lines too: a healthy real-data sandbox's
    # hit rate is in the 55-58% target band (it was ~51%: model_hit_rate WARNed)
    from nbaops.checks import run_check

    hit = run_check(open_context("local"), "model_hit_rate")
    assert hit.verdict.value == "PASS", hit.message


def test_logs_that_are_gone_name_the_way_back_instead_of_failing_every_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox refreshes from its recorded logs; when they were deleted every task
    failed with "real NBA data not found" and nothing said how to get out."""
    from nbaops.errors import ConfigError

    source = tmp_path / "logs" / "player_logs.csv"
    _write_logs(source)
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBAOPS_NOW", NOW.isoformat())
    lifecycle.reset(open_context("local"), from_logs=source)
    source.unlink()
    monkeypatch.setenv("NBAOPS_NOW", (NOW + dt.timedelta(hours=2)).isoformat())  # stale: refresh
    with pytest.raises(ConfigError, match=r"no longer there: `inv sandbox.reset` rebuilds"):
        lifecycle.ensure_sandbox(open_context("local"))
    report = lifecycle.reset(open_context("local"))  # back to generated data
    assert report.to_json()["source"] == "synthetic"
    lifecycle.ensure_sandbox(open_context("local"))  # current again: nothing to do
