"""Grading completeness (grading-service): are predictions of finished games graded?

A game is due for grading once it finished (start time + ``game_length``) more than
``grace`` ago. Only predictions of players who played (who have a box score for the
game) can be graded; predictions of players who did not play are void and reported
apart. The check reports the graded share of the due games' gradable predictions per
game date, and the lag of the oldest game that still has ungraded predictions. Finished
games whose predictions cannot be graded because no box score exists yet are
INCONCLUSIVE for grading (phase 3 is late; validate-daily names it).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.checks import schedule_known
from nbaops.checks.measure import Measurement, below_tiers, pct, pct_value
from nbaops.checks.spec import EXAMPLE_DAY, EXAMPLE_NOW, CheckSpec, Key, Query
from nbaops.clock import as_utc
from nbaops.report import format_pct, places_beside, round_beside
from nbaops.verdict import CheckResult, Finding, Verdict, worst

if TYPE_CHECKING:
    from nbaops.checks.spec import CheckParams
    from nbaops.context import Context

DUE_GAMES = Query(
    "due_games",
    """
WITH due AS (
  SELECT game_id, game_date, CONCAT(away_team, '@', home_team) AS matchup, start_time
  FROM `nba_raw.games`
  WHERE game_date BETWEEN @from_date AND @to_date
    AND start_time <= @started_before
    AND UPPER(status) NOT IN ('POSTPONED', 'CANCELLED', 'CANCELED')
),
played AS (
  SELECT DISTINCT game_id, player_lookup
  FROM `nba_analytics.player_game_summary`
  WHERE game_date BETWEEN @from_date AND @to_date
),
predictions AS (
  SELECT prediction_id, game_id, player_lookup
  FROM `nba_predictions.player_prop_predictions`
  WHERE game_date BETWEEN @from_date AND @to_date
),
graded AS (
  SELECT DISTINCT prediction_id
  FROM `nba_predictions.prediction_accuracy`
  WHERE game_date BETWEEN @from_date AND @to_date
)
SELECT d.game_date, d.game_id, d.matchup, d.start_time,
       COUNT(p.prediction_id) AS all_predictions,
       COUNTIF(b.player_lookup IS NOT NULL) AS predictions,
       COUNTIF(b.player_lookup IS NOT NULL AND g.prediction_id IS NOT NULL) AS graded,
       (SELECT COUNT(*) FROM played AS x WHERE x.game_id = d.game_id) AS box_players
FROM due AS d
LEFT JOIN predictions AS p ON p.game_id = d.game_id
LEFT JOIN played AS b ON b.game_id = p.game_id AND b.player_lookup = p.player_lookup
LEFT JOIN graded AS g ON g.prediction_id = p.prediction_id
GROUP BY d.game_date, d.game_id, d.matchup, d.start_time
ORDER BY d.game_date, d.start_time, d.game_id
""",
    {
        "from_date": EXAMPLE_DAY - dt.timedelta(days=3),
        "to_date": EXAMPLE_DAY,
        "started_before": EXAMPLE_NOW - dt.timedelta(hours=9),
    },
)

# The per-game counts DUE_GAMES returns.
_COUNTS = ("all_predictions", "predictions", "graded", "box_players")

SPEC = CheckSpec(
    id="grading_completeness",
    service="grading-service",
    title="finished games graded",
    unit="%",
    keys={
        "game_length": Key(
            "duration", "3h", "Assumed game length: a game finishes this long after its start time."
        ),
        "grace": Key(
            "duration", "6h", "Predictions of games finished longer ago than this must be graded."
        ),
        "window_days": Key(
            "integer", 3, "How many game days back to look at.", maximum=366, minimum=1
        ),
        "fail_below": Key("fraction", 0.90, "Graded share below this is FAIL."),
        "warn_below": Key("fraction", 0.99, "Graded share below this is WARN."),
        "lag_warn_hours": Key(
            "number", 12.0, "Oldest ungraded game finished more than this many hours ago is WARN."
        ),
        "lag_fail_hours": Key(
            "number", 24.0, "Oldest ungraded game finished more than this many hours ago is FAIL."
        ),
    },
    queries=(DUE_GAMES, schedule_known.QUERY),
    playbook="playbooks/grading-completeness.md",
    ordered=(("fail_below", "warn_below"), ("lag_warn_hours", "lag_fail_hours")),
)


def run(ctx: Context, params: CheckParams) -> CheckResult:
    """Graded share of due predictions over the last ``window_days`` game days."""
    m = Measurement(ctx, params, SPEC.id, SPEC.service)
    now = clock.now()
    game_length, grace = params.duration("game_length"), params.duration("grace")
    to_date = clock.eastern_date(now)
    from_date = to_date - dt.timedelta(days=params.integer("window_days"))
    fail_below, warn_below = params.fraction("fail_below"), params.fraction("warn_below")
    lag_warn, lag_fail = params.number("lag_warn_hours"), params.number("lag_fail_hours")
    m.threshold = (
        f"FAIL < {pct(fail_below)} or lag > {lag_fail:g}h, "
        f"WARN < {pct(warn_below)} or lag > {lag_warn:g}h"
    )
    args = {"from_date": from_date, "to_date": to_date, "started_before": now - grace - game_length}
    # every count read as an int once, where the rows are read
    rows = [{**r, **{k: int(r[k]) for k in _COUNTS}} for r in m.query(DUE_GAMES, args)]
    window = f"{from_date}..{to_date}"
    base: dict[str, Any] = {"window": window, "grace_hours": grace.total_seconds() / 3600}
    if not rows:
        return m.no_games_result(
            to_date,
            what=f"any finished game is due for grading in {window}",
            none_message=f"no finished games due for grading in {window}",
            details=base,
            now=now,
        )
    predictions = sum(r["predictions"] for r in rows)
    graded = sum(r["graded"] for r in rows)
    by_date: dict[str, dict[str, Any]] = {}
    for r in rows:
        day = by_date.setdefault(
            str(r["game_date"]),
            {"game_date": str(r["game_date"]), "games": 0, "predictions": 0, "graded": 0},
        )
        day["games"] += 1
        day["predictions"] += r["predictions"]
        day["graded"] += r["graded"]
    for day in by_date.values():
        day["graded_share"] = (
            round(day["graded"] / day["predictions"], 4) if day["predictions"] else None
        )
    ungraded = [r for r in rows if r["graded"] < r["predictions"]]
    # Predicted, finished, but no box score yet: not gradable, and not grading's fault.
    no_box = [r for r in rows if r["all_predictions"] and not r["box_players"]]
    void = sum(r["all_predictions"] - r["predictions"] for r in rows if r["box_players"])
    details: dict[str, Any] = {
        **base,
        "due_games": len(rows),
        "predictions": predictions,
        "graded": graded,
        "void_predictions": void,
        "games_without_box_scores": [r["matchup"] for r in no_box],
        "per_date": list(by_date.values()),
    }
    if predictions == 0:
        why = (
            f"{len(no_box)} of them have predictions but no box scores yet"
            if no_box
            else "no predictions to grade"
        )
        return m.too_little_data(
            None, f"{len(rows)} finished game(s) in {window} but {why}", details
        )
    share = graded / predictions
    verdict = below_tiers(share, fail_below, warn_below)
    shown = format_pct(share, fail_below, warn_below)
    message = (
        f"graded {shown} of {predictions} predictions for {len(rows)} finished game(s) in {window}"
    )
    if no_box:
        message += f"; {len(no_box)} game(s) without box scores yet"
    if ungraded:
        oldest = min(ungraded, key=lambda r: as_utc(r["start_time"]))
        finished = as_utc(oldest["start_time"]) + game_length
        lag_h = max((now - finished).total_seconds() / 3600, 0.0)
        details["oldest_ungraded"] = {
            "game_id": oldest["game_id"],
            "matchup": oldest["matchup"],
            "game_date": str(oldest["game_date"]),
            "lag_hours": round_beside(lag_h, lag_warn, lag_fail, places=2),
        }
        verdict = worst([verdict, below_tiers(-lag_h, -lag_fail, -lag_warn)])
        message += (
            f"; {predictions - graded} ungraded, oldest {oldest['matchup']} on "
            f"{oldest['game_date']} finished "
            f"{lag_h:.{places_beside(lag_h, lag_warn, lag_fail, places=1)}f}h ago"
        )
        worst_day = min(
            (d for d in by_date.values() if d["predictions"]),
            key=lambda d: d["graded"] / d["predictions"],
        )
        message += (
            f"; worst day {worst_day['game_date']} {worst_day['graded']}/{worst_day['predictions']}"
        )
    if no_box and verdict is Verdict.PASS:
        # every gradable prediction is graded, but a finished game has none gradable yet
        # (no box scores past the grace): whether grading will do its part is unknown
        verdict = Verdict.INCONCLUSIVE
        message += "; cannot tell yet whether those will be graded (phase 3 is late)"
    message += f" ({verdict.value})"
    result = m.result(verdict, pct_value(share, fail_below, warn_below), message, details)
    result.findings = [
        Finding(
            f"{r['game_date']} {r['matchup']} graded {r['graded']}/{r['predictions']}"
            + ("" if r["box_players"] else " (no box scores yet)"),
            r["graded"] < r["predictions"],
        )
        for r in rows
    ]
    return result
