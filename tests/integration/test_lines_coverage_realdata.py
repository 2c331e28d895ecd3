"""lines_coverage on real data: 2024-25 game logs and Oct–Dec 2024 pick'em points lines.

The shared folder's game logs become the platform's schedule and feature store (the
players who played are the players expected to play) and its points lines become the
points-lines table (player_lookup from the normalised name, Eastern date of
commence_time). The check's coverage for a few dates is compared with an independent
computation from the raw CSV files with the csv module.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from checks_world import World, make_world

from nbaops.checks import run_check
from nbaops.paths import project_root, shared_data_dir
from nbaops.verdict import Verdict

DATA = shared_data_dir(project_root(Path(__file__)))
LOGS_CSV = DATA / "player_game_logs" / "player_logs_2024-25.csv"
LINES_DIR = DATA / "points_lines"
DATES = [dt.date(2024, 10, 25), dt.date(2024, 11, 13), dt.date(2024, 12, 3)]

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not LOGS_CSV.is_file() or not LINES_DIR.is_dir(),
        reason=f"real NBA data not found under {DATA} (set NBAOPS_DATA or provide "
        "../shared/data/nba)",
    ),
]


def expected_by_hand(day: dt.date) -> dict[str, object]:
    """Coverage of ``day`` from the raw CSVs: played players with a line that Eastern day."""
    from nbaops.nba_names import player_lookup

    eastern = ZoneInfo("America/New_York")
    played: dict[str, str] = {}  # player_lookup -> NBA game id
    with LOGS_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["GAME_DATE"] == day.isoformat():
                played[player_lookup(row["PLAYER_NAME"])] = row["GAME_ID"]
    lined: set[str] = set()
    for path in sorted(LINES_DIR.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["market"] != "player_points":
                    continue
                start = dt.datetime.fromisoformat(row["commence_time"].replace("Z", "+00:00"))
                if start.astimezone(eastern).date() == day:
                    lined.add(player_lookup(row["player"]))
    per_game: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for lookup, game in played.items():
        per_game[game][1] += 1
        per_game[game][0] += lookup in lined
    covered = sum(1 for p in played if p in lined)
    return {
        "expected": len(played),
        "covered": covered,
        "coverage": covered / len(played),
        "per_game": dict(per_game),
    }


@pytest.fixture(scope="module")
def real_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from nbaops import nba_data

    tmp = tmp_path_factory.mktemp("realdata")
    with pytest.MonkeyPatch.context() as mp:
        world = make_world(tmp, mp, now="2024-12-16T17:00:00Z")
        logs = [g for g in nba_data.load_game_logs(LOGS_CSV) if g.game_date in DATES]
        lines = [ln for ln in nba_data.load_points_lines(LINES_DIR) if ln.game_date in DATES]
        games: dict[str, dict[str, object]] = {}
        for g in logs:
            game = games.setdefault(
                g.game_id,
                {
                    "game_id": g.game_id,
                    "game_date": g.game_date,
                    "season": g.season,
                    "start_time": dt.datetime.combine(
                        g.game_date, dt.time(19), ZoneInfo("America/New_York")
                    ),
                    "status": "final",
                },
            )
            game["home_team" if g.is_home else "away_team"] = g.team
            game["away_team" if g.is_home else "home_team"] = g.opponent
        world.wh.insert_rows("nba_raw.games", list(games.values()))
        world.wh.insert_rows(
            "nba_precompute.ml_feature_store",
            [
                {
                    "game_id": g.game_id,
                    "game_date": g.game_date,
                    "player_lookup": g.player_lookup,
                    "player_name": g.player_name,
                    "team": g.team,
                    "opponent": g.opponent,
                    "is_home": g.is_home,
                    "feature_version": "realdata",
                    "created_at": dt.datetime.combine(g.game_date, dt.time(6), dt.UTC),
                }
                for g in logs
            ],
        )
        world.wh.insert_rows(
            "nba_precompute.points_lines",
            [
                {
                    "game_id": ln.odds_game_id,
                    "game_date": ln.game_date,
                    "player_lookup": ln.player_lookup,
                    "player_name": ln.player,
                    "bookmaker": ln.bookmaker,
                    "points_line": ln.line,
                    "snapshot_time": ln.commence_time,
                }
                for ln in lines
            ],
        )
        yield world


@pytest.mark.parametrize("day", DATES, ids=str)
def test_coverage_matches_an_independent_computation(real_world: World, day: dt.date) -> None:
    truth = expected_by_hand(day)
    result = run_check(real_world.ctx, "lines_coverage", {"game_date": day})
    assert result.verdict in (Verdict.PASS, Verdict.WARN, Verdict.FAIL), result.message
    assert result.details["expected_players"] == truth["expected"]
    assert result.details["players_with_line"] == truth["covered"]
    assert result.value == pytest.approx(round(truth["coverage"] * 100, 2))  # type: ignore[operator]
    per_game = {g["game_id"]: [g["with_line"], g["expected"]] for g in result.details["per_game"]}
    assert per_game == truth["per_game"]
    expected_verdict = (
        Verdict.FAIL
        if truth["coverage"] < 0.90  # type: ignore[operator]
        else Verdict.WARN
        if truth["coverage"] < 0.95  # type: ignore[operator]
        else Verdict.PASS
    )
    assert result.verdict is expected_verdict
    assert result.details["missing_total"] == truth["expected"] - truth["covered"]  # type: ignore[operator]


def test_a_date_without_loaded_games_is_inconclusive_not_pass(real_world: World) -> None:
    # Nothing is loaded around that day: "no games" cannot be told from missing data (issue 14).
    result = run_check(real_world.ctx, "lines_coverage", {"game_date": "2024-12-20"})
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "the schedule is not known" in result.message
