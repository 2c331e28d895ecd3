"""A controlled game-day world for the data-check tests.

An empty local warehouse (DuckDB, tables created from ``schemas/``) under a temporary
``NBAOPS_HOME``, ``NBAOPS_NOW`` pinned, and builders that insert exactly the rows a test
needs (schedule, features, lines, predictions, grading, batches, heartbeats, box scores,
log entries). The context gets this warehouse instead of the sandbox's, so every verdict
follows from the rows the test wrote. ``world`` is the fixture (registered for every
test directory by ``tests/conftest.py``).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.clock import EASTERN
from nbaops.context import Context
from nbaops.sandbox.world import HOOKS, open_context
from worlds.warehouse_template import empty_warehouse

REPO = Path(__file__).resolve().parents[2]
NOW = "2025-01-15T17:00:00Z"  # 12:00 ET on a Wednesday, after the 11:30 ET batch
NOW_DT = dt.datetime(2025, 1, 15, 17, 0, tzinfo=dt.UTC)
TODAY = dt.date(2025, 1, 15)
YESTERDAY = TODAY - dt.timedelta(days=1)

TEAMS = [
    "BOS",
    "LAL",
    "NYK",
    "GSW",
    "MIA",
    "DEN",
    "PHX",
    "MIL",
    "DAL",
    "CHI",
    "ATL",
    "SAC",
    "OKC",
    "CLE",
    "MEM",
    "HOU",
    "IND",
    "ORL",
    "MIN",
    "NOP",
    "POR",
    "UTA",
    "TOR",
    "SAS",
]


def et(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A US Eastern wall time as an aware UTC datetime."""
    return dt.datetime.combine(day, dt.time(hour, minute), EASTERN).astimezone(dt.UTC)


@dataclass
class Game:
    game_id: str
    game_date: dt.date
    home: str
    away: str
    start: dt.datetime
    players: list[tuple[str, str, str]] = field(default_factory=list)  # lookup, name, team

    @property
    def matchup(self) -> str:
        return f"{self.away}@{self.home}"


@dataclass
class World:
    ctx: Context
    wh: DuckDBWarehouse
    home: Path
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def _next(self) -> int:
        return next(self._ids)

    # -- schedule and players ------------------------------------------------------------

    def games(
        self,
        day: dt.date,
        count: int,
        *,
        players_per_team: int = 10,
        start_hour_et: int = 19,
        status: str = "Scheduled",
    ) -> list[Game]:
        """Schedule ``count`` games on ``day`` with named players on both teams."""
        out: list[Game] = []
        rows: list[dict[str, Any]] = []
        for i in range(count):
            n = self._next()
            home, away = TEAMS[(2 * i) % len(TEAMS)], TEAMS[(2 * i + 1) % len(TEAMS)]
            game = Game(f"00224{n:05d}", day, home, away, et(day, start_hour_et))
            for team in (home, away):
                for k in range(players_per_team):
                    lookup = f"{team.lower()}player{k}{n}"
                    game.players.append((lookup, f"{team} Player {k}-{n}", team))
            out.append(game)
            rows.append(
                {
                    "game_id": game.game_id,
                    "game_date": day,
                    "season": "2024-25",
                    "home_team": home,
                    "away_team": away,
                    "start_time": game.start,
                    "status": status,
                    "updated_at": NOW_DT,
                }
            )
        self.wh.insert_rows("nba_raw.games", rows)
        return out

    def known_schedule(self, day: dt.date) -> None:
        """One game the day before and one the day after ``day``: the schedule is known
        around ``day`` (so no games on it is a fact, not missing data)."""
        for other in (day - dt.timedelta(days=1), day + dt.timedelta(days=1)):
            self.games(other, 1, players_per_team=1)

    def features(self, games: Sequence[Game], *, drop: int = 0) -> None:
        """Feature-store rows for every player of the games (minus ``drop`` per game)."""
        rows = []
        for g in games:
            for lookup, name, team in g.players[: len(g.players) - drop]:
                rows.append(
                    {
                        "game_id": g.game_id,
                        "game_date": g.game_date,
                        "player_lookup": lookup,
                        "player_name": name,
                        "team": team,
                        "opponent": g.away if team == g.home else g.home,
                        "is_home": team == g.home,
                        "points_avg_season": 12.5,
                        "feature_version": "v9",
                        "created_at": et(g.game_date, 6),
                    }
                )
        self.wh.insert_rows("nba_precompute.ml_feature_store", rows)

    def lines(self, games: Sequence[Game], *, missing: dict[str, int] | None = None) -> None:
        """Points lines for every player, minus ``missing[game_id]`` players of that game."""
        rows = []
        for g in games:
            skip = (missing or {}).get(g.game_id, 0)
            for lookup, name, _team in g.players[skip:]:
                for book in ("PrizePicks", "Underdog"):
                    rows.append(
                        {
                            "game_id": g.game_id,
                            "game_date": g.game_date,
                            "player_lookup": lookup,
                            "player_name": name,
                            "bookmaker": book,
                            "points_line": 14.5,
                            "snapshot_time": et(g.game_date, 9),
                        }
                    )
        self.wh.insert_rows("nba_precompute.points_lines", rows)

    # -- predictions, batches and grading -----------------------------------------------

    def batch(
        self,
        day: dt.date,
        slot: str,
        *,
        status: str = "COMPLETED",
        expected: int | None = 0,
        errors: int = 0,
        message: str | None = None,
        mode: str = "REAL_LINES_ONLY",
        completed: bool = True,
        written: int | None = None,
    ) -> str:
        hour, minute = (int(p) for p in slot.split(":"))
        started = et(day, hour, minute)
        batch_id = f"batch-{day:%Y%m%d}-{slot.replace(':', '')}-{self._next()}"
        self.wh.insert_rows(
            "nba_predictions.prediction_batches",
            [
                {
                    "batch_id": batch_id,
                    "game_date": day,
                    "scheduled_slot": slot,
                    "mode": mode,
                    "status": status,
                    "started_at": started,
                    "completed_at": started + dt.timedelta(minutes=12) if completed else None,
                    "expected_players": expected,
                    "predictions_written": written,
                    "error_count": errors,
                    "error_message": message,
                }
            ],
        )
        return batch_id

    def predictions(
        self,
        games: Sequence[Game],
        batch_id: str,
        created_at: dt.datetime,
        *,
        models: Sequence[str] = ("v8", "v9"),
        per_model: dict[str, int] | None = None,
        line_source: str = "VEGAS",
        line_value: float | None = 14.5,
    ) -> list[dict[str, Any]]:
        """One prediction per player and model (``per_model`` caps the count per model)."""
        players = [(g, p) for g in games for p in g.players]
        rows = []
        for model in models:
            limit = (per_model or {}).get(model, len(players))
            for g, (lookup, _name, _team) in players[:limit]:
                rows.append(
                    {
                        "prediction_id": f"{batch_id}-{model}-{lookup}",
                        "game_id": g.game_id,
                        "game_date": g.game_date,
                        "player_lookup": lookup,
                        "system_id": model,
                        "predicted_points": 15.0,
                        "line_value": line_value,
                        "line_source": line_source,
                        "recommendation": "OVER",
                        "confidence": 0.6,
                        "batch_id": batch_id,
                        "created_at": created_at,
                    }
                )
        self.wh.insert_rows("nba_predictions.player_prop_predictions", rows)
        return rows

    def grade(self, predictions: Sequence[dict[str, Any]], graded_at: dt.datetime) -> None:
        self.wh.insert_rows(
            "nba_predictions.prediction_accuracy",
            [
                {
                    "prediction_id": p["prediction_id"],
                    "game_id": p["game_id"],
                    "game_date": p["game_date"],
                    "player_lookup": p["player_lookup"],
                    "system_id": p["system_id"],
                    "predicted_points": p["predicted_points"],
                    "line_value": p["line_value"],
                    "recommendation": p["recommendation"],
                    "actual_points": 17,
                    "is_correct": True,
                    "absolute_error": 2.0,
                    "signed_error": -2.0,
                    "graded_at": graded_at,
                }
                for p in predictions
            ],
        )

    # -- phase 3 ---------------------------------------------------------------------------

    def heartbeat(
        self, processor: str, at: dt.datetime, *, run_id: str | None = None, status: str = "running"
    ) -> None:
        self.wh.insert_rows(
            "nba_analytics.processor_heartbeats",
            [
                {
                    "processor_name": processor,
                    "service": "phase3-processors",
                    "run_id": run_id or f"run-{self._next()}",
                    "status": status,
                    "heartbeat_at": at,
                    "started_at": at - dt.timedelta(minutes=5),
                }
            ],
        )

    def box_scores(self, games: Sequence[Game], *, mismatched: int = 0, nulls: int = 0) -> None:
        """Box scores whose zones add up, except ``mismatched`` rows; ``nulls`` null zones."""
        rows = []
        index = 0
        for g in games:
            for lookup, name, team in g.players:
                bad, null = index < mismatched, mismatched <= index < mismatched + nulls
                index += 1
                rows.append(
                    {
                        "game_id": g.game_id,
                        "game_date": g.game_date,
                        "player_id": 1000 + index,
                        "player_lookup": lookup,
                        "player_name": name,
                        "team": team,
                        "opponent": g.away if team == g.home else g.home,
                        "is_home": team == g.home,
                        "minutes": 28.0,
                        "points": 14,
                        "fgm": 5,
                        "fga": 12,
                        "fg3m": 1,
                        "fg3a": 4,
                        "ftm": 3,
                        "fta": 4,
                        "paint_attempts": None if null else (6 if bad else 5),
                        "paint_makes": None if null else 3,
                        "mid_range_attempts": None if null else 3,
                        "mid_range_makes": 1,
                        "three_pt_attempts": None if null else 4,
                        "three_pt_makes": 1,
                        "processed_at": et(g.game_date + dt.timedelta(days=1), 2),
                    }
                )
        self.wh.insert_rows("nba_analytics.player_game_summary", rows)

    # -- logs --------------------------------------------------------------------------------

    def log(
        self,
        service: str,
        revision: str,
        message: str,
        *,
        at: dt.datetime | None = None,
        severity: str = "ERROR",
        count: int = 1,
    ) -> None:
        from nbaops.local.log_store import append_entries

        when = at or NOW_DT - dt.timedelta(minutes=2)
        append_entries(
            self.home,
            [
                {
                    "resource": {
                        "type": "cloud_run_revision",
                        "labels": {
                            "service_name": service,
                            "revision_name": revision,
                            "location": "us-west2",
                            "project_id": "nbaops-local",
                        },
                    },
                    "severity": severity,
                    "timestamp": when.isoformat(),
                    "textPayload": message.replace("{i}", str(i)),
                }
                for i in range(count)
            ],
        )

    def use_standin_logs(self) -> None:
        """Point ``ctx.logs`` at a stand-in serving this world's log store (no sandbox)."""
        from nbaops.adapters.logs import LogReader
        from nbaops.local.standin import StandIn

        standin = StandIn.start(self.home, HOOKS)
        self.ctx.__dict__["logs"] = LogReader(
            self.ctx.config.profile, endpoint=standin.url, timeout_s=5.0
        )

    def break_table(self, table: str) -> None:
        """Drop a table so every query reading it fails (the warehouse-fault case)."""
        self.wh.execute(f"DROP TABLE `{table}`")


def write_config(tmp_path: Path, checks: dict[str, Any]) -> Path:
    """A copy of the repository's nbaops.yaml with ``checks`` merged into its section."""
    data = yaml.safe_load((REPO / "nbaops.yaml").read_text(encoding="utf-8"))
    section = data.setdefault("checks", {})
    for key, value in checks.items():
        if isinstance(value, dict):
            section.setdefault(key, {}).update(value)
        else:
            section[key] = value
    path = tmp_path / "nbaops.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def make_world(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    now: str = NOW,
    checks: dict[str, Any] | None = None,
) -> World:
    """An empty local warehouse under ``tmp_path``; ``checks`` overrides config keys."""
    home = tmp_path / "home"
    monkeypatch.setenv("NBAOPS_HOME", str(home))
    monkeypatch.setenv("NBAOPS_NOW", now)
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    if checks:
        monkeypatch.setenv("NBAOPS_CONFIG", str(write_config(tmp_path, checks)))
    else:
        monkeypatch.delenv("NBAOPS_CONFIG", raising=False)
    ctx = open_context("local")
    empty_warehouse(home / "warehouse.duckdb", REPO)  # every table, no rows
    wh = DuckDBWarehouse(home / "warehouse.duckdb", root=REPO)
    # The check tests control every row: give the context this empty warehouse rather
    # than the sandbox's generated game day (the sandbox fault tests use the real one).
    ctx.__dict__["warehouse"] = wh
    return World(ctx=ctx, wh=wh, home=home)


@pytest.fixture(name="world")
def world_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """An empty world; import ``world_fixture`` into a test module to use ``world``."""
    return make_world(tmp_path, monkeypatch)
