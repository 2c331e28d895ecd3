"""Synthetic game-day data for the sandbox, relative to ``now`` and deterministic per seed.

Two steps:

1. A :class:`~nbaops.sandbox.league.League` — players, the schedule and every game's box
   score (:mod:`nbaops.sandbox.league`).
2. :func:`build_tables` turns a league into the rows of every platform table as the
   pipeline would have written them up to ``now``: the schedule (last 45 days, today,
   tomorrow), box scores with shot zones of finished games, processor heartbeats,
   feature-store rows for every expected player (season / last-10 / last-5 averages
   from the history), points lines from two bookmakers for ~98.5% of expected players,
   prediction batches at 02:30, 07:00 and 11:30 ET (REAL_LINES_ONLY) with predictions of
   the models ``v8`` and ``v9`` (v9 slightly better), grading of finished games, and
   Cloud Logging entries. Only what is already due at ``now`` exists.

Timing of one game day D (US Eastern): features 01:30–01:40 (complete 20 min before the
``lines_coverage`` check's ``features_due``, longer than the sandbox's ``STALE_AFTER``);
initial lines between 18:00 on D-1 and 01:30 on D for ~98.5% of players, ~0.5% late
lines 03:00–11:00, ~20% of lines move 05:00–11:00; batch 02:30 predicts every player with
a line, 07:00 and 11:30 re-predict players whose line is new or moved since the previous
batch; games tip 19:00–22:30 and last 2.5 h;
box scores land 15–40 min after the final buzzer; grading 45–100 min after it.

Every random draw comes from ``random.Random(f"{seed}:{purpose}")``, so the data is a
pure function of (seed, now, league) and unrelated draws do not shift each other.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nbaops import clock
from nbaops.checks.batch_errors import SPEC as BATCH_CHECK
from nbaops.checks.recent_predictions import SPEC as PREDICTIONS
from nbaops.sandbox.league import (
    BoxLine,
    Game,
    League,
    eastern,
    rng_for,
    shot_zones,
    stable_id,
)

# The coordinator's batch times, declared once: what recent_predictions expects by default.
BATCH_SLOTS = tuple(PREDICTIONS.keys["batch_slots"].default)
MODELS = ("v8", "v9")
BOOKMAKERS = ("draftkings", "fanduel")
PASS_EDGE = 1.0
MODE = BATCH_CHECK.keys["real_lines_mode"].default  # the mode batch_errors watches
LINE_SOURCE = BATCH_CHECK.keys["real_line_sources"].default[0]  # a real sportsbook line
FEATURE_VERSION = "v9-features-2"

# Model quality: predicted = mean + rho * (actual - mean) + N(0, tau). Calibrated so the
# hit rate of graded picks is ~56% (v8) and ~57% (v9): inside the 55-58% target band.
MODEL_SKILL = {"v8": (0.01, 3.8), "v9": (0.03, 3.4)}
# Real game logs (``sandbox.reset --from-logs``): the models' mean is a player's running
# average and the lines track real scoring, so the same skill hit ~51% (a healthy sandbox
# WARNed on model_hit_rate). Calibrated on the 2022-25 logs, seeds 1-8: v8 55.6-58.3%.
MODEL_SKILL_REAL = {"v8": (0.08, 3.8), "v9": (0.10, 3.4)}

# Processors that heartbeat, per service.
PROCESSORS = {
    "phase3-processors": ("player_game_summary_processor", "shot_zone_processor"),
    "phase4-processors": ("ml_feature_store_processor", "points_lines_processor"),
    "prediction-coordinator": ("prediction_coordinator",),
    "prediction-worker": ("prediction_worker",),
    "grading-service": ("prediction_grader",),
}

# --------------------------------------------------------------------------- tables


@dataclass
class SandboxData:
    """Rows per logical table, Cloud Logging entries and a summary for the status."""

    tables: dict[str, list[dict[str, Any]]]
    logs: list[dict[str, Any]]
    summary: dict[str, Any]


@dataclass(frozen=True)
class Revision:
    """A Cloud Run revision as the log generator needs it: who served when."""

    name: str
    created: dt.datetime


def _status(game: Game, now: dt.datetime) -> str:
    if game.end_time <= now:
        return "final"
    if game.start_time <= now:
        return "in_progress"
    return "scheduled"


def _minutes(rng: random.Random, low: float, high: float) -> dt.timedelta:
    return dt.timedelta(minutes=rng.uniform(low, high))


def _avg(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _half(value: float) -> float:
    return max(0.5, round(value * 2) / 2)


class _History:
    """Per player, (date, points, minutes) of games played so far (date order)."""

    def __init__(self, rows: Sequence[tuple[dt.date, str, int, float]]) -> None:
        self.by_player: dict[str, list[tuple[dt.date, int, float]]] = defaultdict(list)
        for row in sorted(rows):
            self.add(*row)

    def add(self, day: dt.date, lookup: str, points: int, minutes: float) -> None:
        self.by_player[lookup].append((day, points, minutes))

    def before(self, lookup: str, day: dt.date) -> list[tuple[dt.date, int, float]]:
        games = self.by_player.get(lookup, [])
        return games[: bisect.bisect_left(games, day, key=lambda g: g[0])]  # in date order


def build_tables(
    league: League,
    now: dt.datetime,
    seed: int,
    *,
    project: str,
    region: str,
    revisions: Mapping[str, Sequence[Revision]],
) -> SandboxData:
    """Every table's rows as the pipeline would have written them by ``now``."""
    today = clock.eastern_date(now)
    tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
    history = _History(league.history)
    games_by_day: dict[dt.date, list[Game]] = defaultdict(list)
    for game in league.games:
        games_by_day[game.game_date].append(game)
    box_index = {gid: {b.lookup: b for b in lines} for gid, lines in league.box.items()}
    preds_by_game: dict[str, list[dict[str, Any]]] = defaultdict(list)

    for day in sorted(games_by_day):
        games = sorted(games_by_day[day], key=lambda g: (g.start_time, g.game_id))
        rng = rng_for(seed, f"day:{day.isoformat()}")
        day_lines: dict[str, list[tuple[dt.datetime, str, float]]] = defaultdict(list)
        player_game: dict[str, Game] = {}
        n_preds = len(tables["nba_predictions.player_prop_predictions"])
        for game in games:
            status = _status(game, now)
            tables["nba_raw.games"].append(
                {
                    "game_id": game.game_id,
                    "game_date": day,
                    "season": game.season,
                    "home_team": game.home,
                    "away_team": game.away,
                    "start_time": game.start_time,
                    "status": status,
                    "updated_at": min(now, game.end_time if status == "final" else now),
                }
            )
            # features + lines for every expected player of the game
            feat_at = eastern(day, 1, 30) + _minutes(rng, 0, 10)
            for lookup in league.expected.get(game.game_id, []):
                player = league.players[lookup]
                line_box = box_index[game.game_id][lookup]
                player_game[lookup] = game
                past = history.before(lookup, day)
                points = [p for _, p, _ in past]
                if feat_at <= now:
                    tables["nba_precompute.ml_feature_store"].append(
                        {
                            "game_id": game.game_id,
                            "game_date": day,
                            "player_lookup": lookup,
                            "player_name": player.name,
                            "team": line_box.team,
                            "opponent": line_box.opponent,
                            "is_home": line_box.is_home,
                            "points_avg_season": _avg(points),
                            "points_avg_last_10": _avg(points[-10:]),
                            "points_avg_last_5": _avg(points[-5:]),
                            "minutes_avg_last_10": _avg([m for _, _, m in past[-10:]]),
                            "games_played": len(past),
                            "days_rest": (day - past[-1][0]).days if past else None,
                            "feature_version": FEATURE_VERSION,
                            "created_at": feat_at,
                        }
                    )
                if rng.random() >= 0.985:
                    continue  # no book posted a line for this player
                basis = (
                    0.6 * (_avg(points[-10:]) or 0) + 0.4 * player.mean_points
                    if len(points) >= 3
                    else player.mean_points
                )
                fair = basis + rng.gauss(0, 1.0)
                late = rng.random() < 0.005
                books = [b for b in BOOKMAKERS if rng.random() < 0.88] or [rng.choice(BOOKMAKERS)]
                for book in books:
                    value = _half(fair + rng.choice((-0.5, 0.0, 0.0, 0.5)))
                    if value == int(value) and rng.random() < 0.8:
                        value += 0.5
                    first = (
                        eastern(day, 3) + _minutes(rng, 0, 480)
                        if late
                        else eastern(day - dt.timedelta(days=1), 18) + _minutes(rng, 0, 450)
                    )
                    snaps = [(first, value)]
                    if rng.random() < 0.2:
                        moved = eastern(day, 5) + _minutes(rng, 0, 360)
                        if moved > first:
                            snaps.append((moved, _half(value + rng.choice((-1, -0.5, 0.5, 1)))))
                    for at, val in snaps:
                        day_lines[lookup].append((at, book, val))
                        if at <= now:
                            over = -110 + rng.choice((0, -5, 5, -10))
                            tables["nba_precompute.points_lines"].append(
                                {
                                    "game_id": game.game_id,
                                    "game_date": day,
                                    "player_lookup": lookup,
                                    "player_name": player.name,
                                    "bookmaker": book,
                                    "points_line": val,
                                    "over_price": over,
                                    "under_price": -220 - over,
                                    "snapshot_time": at,
                                }
                            )
        _batches_and_predictions(
            tables, league, day, now, seed, day_lines, player_game, box_index, history
        )
        for p in tables.get("nba_predictions.player_prop_predictions", [])[n_preds:]:
            preds_by_game[p["game_id"]].append(p)
        # box scores + grading of finished games; then the day joins the history
        for game in games:
            if game.end_time > now:
                continue
            processed_at = game.end_time + _minutes(rng, 15, 40)
            visible = processed_at <= now
            for b in league.box[game.game_id]:
                history.add(day, b.lookup, b.points, b.minutes)
                if not visible:
                    continue
                player = league.players[b.lookup]
                tables["nba_analytics.player_game_summary"].append(
                    {
                        "game_id": game.game_id,
                        "game_date": day,
                        "player_id": player.player_id,
                        "player_lookup": b.lookup,
                        "player_name": player.name,
                        **{k: v for k, v in vars(b).items() if k != "lookup"},  # the box score
                        **shot_zones(b, f"{seed}:{game.game_id}:{b.lookup}"),
                        "source": "nba.com/stats" if league.source == "synthetic" else "nba_api",
                        "processed_at": processed_at,
                    }
                )
            graded_at = game.end_time + _minutes(rng, 45, 100)
            if visible and graded_at <= now:
                _grade(
                    tables, game, preds_by_game[game.game_id], box_index[game.game_id], graded_at
                )
        # games not played in the window (future) still count for nothing in the history

    tables["nba_analytics.processor_heartbeats"] = heartbeats(seed, now)
    logs = log_entries(seed, now, project=project, region=region, revisions=revisions)
    recount_batches(tables)
    summary = {
        "source": league.source,
        "today": today.isoformat(),
        "first_day": min(games_by_day).isoformat() if games_by_day else None,
        "last_day": max(games_by_day).isoformat() if games_by_day else None,
        "players": len(league.players),
    }
    return SandboxData(dict(tables), logs, summary)


def _batches_and_predictions(
    tables: dict[str, list[dict[str, Any]]],
    league: League,
    day: dt.date,
    now: dt.datetime,
    seed: int,
    day_lines: Mapping[str, list[tuple[dt.datetime, str, float]]],
    player_game: Mapping[str, Game],
    box_index: Mapping[str, Mapping[str, BoxLine]],
    history: _History,
) -> None:
    rng = rng_for(seed, f"batches:{day.isoformat()}")
    skill = MODEL_SKILL if league.source == "synthetic" else MODEL_SKILL_REAL
    previous: dt.datetime | None = None
    for slot in BATCH_SLOTS:
        hour, minute = (int(x) for x in slot.split(":"))
        started = eastern(day, hour, minute) + dt.timedelta(seconds=rng.uniform(5, 90))
        duration = _minutes(rng, 3, 8)
        if started > now:
            break
        completed = started + duration
        batch_id = f"batch-{day.isoformat()}-{slot.replace(':', '')}"
        todo: list[tuple[str, float]] = []
        for lookup, snaps in sorted(day_lines.items()):
            known = [s for s in snaps if s[0] <= started]
            fresh = previous is None or any(s[0] > previous for s in known)
            if not known or not fresh:
                continue
            # the line used: the newest snapshot, DraftKings first on ties
            at, _book, value = max(known, key=lambda s: (s[0], s[1] == "draftkings"))
            todo.append((lookup, value))
        running = completed > now
        tables["nba_predictions.prediction_batches"].append(
            {
                "batch_id": batch_id,
                "game_date": day,
                "scheduled_slot": slot,
                "mode": MODE,
                "status": "running" if running else "completed",
                "started_at": started,
                "completed_at": None if running else completed,
                "expected_players": len(todo),
                "predictions_written": 0,
                "error_count": 0,
                "error_message": None,
            }
        )
        previous = started
        if running:
            continue
        for lookup, line in todo:
            game = player_game[lookup]
            actual = box_index[game.game_id][lookup].points
            mean = _model_mean(league, history, lookup, day)
            sigma = 0.3 * mean + 2
            for model in MODELS:
                mrng = random.Random(f"{seed}:pred:{batch_id}:{model}:{lookup}")
                rho, tau = skill[model]
                predicted = round(max(0.0, mean + rho * (actual - mean) + mrng.gauss(0, tau)), 1)
                edge = predicted - line
                side = "OVER" if edge > 0 else "UNDER"
                recommendation = "PASS" if abs(edge) < PASS_EDGE else side
                confidence = min(0.95, 0.5 + abs(edge) / (2 * sigma) * 0.8)
                tables["nba_predictions.player_prop_predictions"].append(
                    {
                        "prediction_id": stable_id(batch_id, model, lookup),
                        "game_id": game.game_id,
                        "game_date": day,
                        "player_lookup": lookup,
                        "system_id": model,
                        "predicted_points": predicted,
                        "line_value": line,
                        "line_source": LINE_SOURCE,
                        "recommendation": recommendation,
                        "confidence": round(confidence, 3),
                        "batch_id": batch_id,
                        "created_at": started + duration * mrng.uniform(0.1, 0.95),
                    }
                )


def _model_mean(league: League, history: _History, lookup: str, day: dt.date) -> float:
    """What the models believe a player scores: the latent mean, or the running average."""
    if league.source == "synthetic":
        return league.players[lookup].mean_points
    past = [p for _, p, _ in history.before(lookup, day)]
    return sum(past) / len(past) if len(past) >= 3 else league.players[lookup].mean_points


def _grade(
    tables: dict[str, list[dict[str, Any]]],
    game: Game,
    predictions: Sequence[dict[str, Any]],
    box: Mapping[str, BoxLine],
    graded_at: dt.datetime,
) -> None:
    for p in predictions:
        if p["player_lookup"] not in box:
            continue
        actual = box[p["player_lookup"]].points
        line = p["line_value"]
        push = p["recommendation"] == "PASS" or line is None or actual == line  # no pick
        correct = None if push else (actual > line) == (p["recommendation"] == "OVER")
        error = p["predicted_points"] - actual
        tables["nba_predictions.prediction_accuracy"].append(
            {
                "prediction_id": p["prediction_id"],
                "game_id": game.game_id,
                "game_date": game.game_date,
                "player_lookup": p["player_lookup"],
                "system_id": p["system_id"],
                "predicted_points": p["predicted_points"],
                "line_value": line,
                "recommendation": p["recommendation"],
                "actual_points": actual,
                "is_correct": correct,
                "absolute_error": round(abs(error), 2),
                "signed_error": round(error, 2),
                "graded_at": graded_at,
            }
        )


def recount_batches(tables: dict[str, list[dict[str, Any]]]) -> None:
    """``predictions_written`` = the predictions a finished batch really wrote (all models)."""
    written = Counter(
        p["batch_id"] for p in tables.get("nba_predictions.player_prop_predictions", [])
    )
    for b in tables.get("nba_predictions.prediction_batches", []):
        if b["status"] != "running":
            b["predictions_written"] = written[b["batch_id"]]


def heartbeats(seed: int, now: dt.datetime) -> list[dict[str, Any]]:
    """Hourly runs of every processor over the last 48 h; the latest a few minutes ago."""
    rows: list[dict[str, Any]] = []
    for service, processors in PROCESSORS.items():
        for name in processors:
            rng = rng_for(seed, f"heartbeat:{name}")
            latest = now - _minutes(rng, 2, 20)
            for i in range(48):
                beat = latest - dt.timedelta(hours=i)
                started = beat - _minutes(rng, 1, 8)
                rows.append(
                    {
                        "processor_name": name,
                        "service": service,
                        "run_id": stable_id(name, beat.isoformat(), length=16),
                        "status": "success",
                        "heartbeat_at": beat,
                        "started_at": started,
                        "rows_processed": rng.randint(150, 2500),
                        "message": "run finished",
                    }
                )
    return rows


_INFO = {
    "phase3-processors": (
        "processed {n} box-score rows in {s}s",
        "shot zones written for {n} rows",
    ),
    "phase4-processors": (
        "feature store refreshed: {n} players",
        "points lines snapshot: {n} lines",
    ),
    "prediction-coordinator": ("batch check: {n} players with lines", "scheduler tick ok"),
    "prediction-worker": ("predicted {n} players in {s}s", "model loaded from cache"),
    "grading-service": ("graded {n} predictions", "no finished games to grade"),
}
_WARNING = ("slow query: {s}s", "retrying request after 503 (attempt 2)", "late data: {n} rows")


def revision_at(revisions: Sequence[Revision], when: dt.datetime) -> str:
    """The revision that served at ``when``: the newest one created at or before it."""
    serving = [r for r in revisions if r.created <= when]
    if serving:
        return max(serving, key=lambda r: r.created).name
    return min(revisions, key=lambda r: r.created).name if revisions else "unknown"


def log_entry(
    *,
    project: str,
    region: str,
    service: str,
    revision: str,
    when: dt.datetime,
    severity: str,
    message: str,
) -> dict[str, Any]:
    """One Cloud Logging entry of a Cloud Run revision (REST JSON shape)."""
    return {
        "logName": f"projects/{project}/logs/run.googleapis.com%2Fstderr",
        "resource": {
            "type": "cloud_run_revision",
            "labels": {
                "service_name": service,
                "revision_name": revision,
                "location": region,
                "project_id": project,
            },
        },
        "severity": severity,
        "timestamp": when,
        "insertId": stable_id(service, revision, when.isoformat(), message, length=16),
        "textPayload": message,
    }


def log_entries(
    seed: int,
    now: dt.datetime,
    *,
    project: str,
    region: str,
    revisions: Mapping[str, Sequence[Revision]],
) -> list[dict[str, Any]]:
    """About 5 entries an hour per service over the last 24 h: INFO, some WARNING, and a
    couple of ERRORs more than 6 h ago (nothing recent)."""
    out: list[dict[str, Any]] = []
    for service, revs in revisions.items():
        rng = rng_for(seed, f"logs:{service}")
        entries: list[tuple[dt.datetime, str, str]] = []
        infos = _INFO.get(service, ("request handled in {s}s",))
        when = now - dt.timedelta(hours=24)
        while True:
            when += _minutes(rng, 6, 18)
            if when > now:
                break
            roll = rng.random()
            if roll < 0.05:
                severity, text = "WARNING", rng.choice(_WARNING)
            else:
                severity, text = "INFO", rng.choice(infos)
            message = text.format(n=rng.randint(10, 900), s=round(rng.uniform(0.2, 9.0), 1))
            entries.append((when, severity, message))
        for hours in (18, 9):
            when = now - dt.timedelta(hours=hours) - _minutes(rng, 0, 60)
            failed = "upstream request failed: 502 Bad Gateway (recovered on retry)"
            entries.append((when, "ERROR", failed))
        out += [
            log_entry(
                project=project,
                region=region,
                service=service,
                revision=revision_at(revs, when),
                when=when,
                severity=severity,
                message=message,
            )
            for when, severity, message in entries
        ]
    out.sort(key=lambda e: e["timestamp"])
    return out
