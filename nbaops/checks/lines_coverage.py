"""Lines coverage (phase4-processors): share of expected players that have a points line.

Expected players are the feature-store rows of the day's scheduled games (phase 4 builds
features for every player expected to play). A player is covered when the points-lines
table has at least one line for them on that game day. The result names the missing
players (top N) and the coverage of every game; no games scheduled is PASS only when the
schedule is known around the day (`nbaops/checks/schedule_known.py`), else INCONCLUSIVE.

``today`` is the latest game day whose features are due: phase 4 builds a day's features
from 01:30 (done by ``features_due``, 02:00 ET), so before that time the check measures the
previous game day instead of reporting every night that today has no features yet.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.checks import schedule_known
from nbaops.checks.measure import Measurement, below_tiers, pct, pct_value
from nbaops.checks.spec import EXAMPLE_DAY, SLOT_PATTERN, CheckSpec, Key, Query
from nbaops.report import format_pct
from nbaops.verdict import CheckResult, Finding, Verdict, worst

if TYPE_CHECKING:
    from nbaops.checks.spec import CheckParams
    from nbaops.context import Context

# One row per (scheduled game, expected player); a game without feature rows yields one
# row with a NULL player so "scheduled but nothing expected" is visible.
COVERAGE = Query(
    "coverage",
    """
WITH scheduled AS (
  SELECT game_id, CONCAT(away_team, '@', home_team) AS matchup
  FROM `nba_raw.games`
  WHERE game_date = @game_date
    AND UPPER(status) NOT IN ('POSTPONED', 'CANCELLED', 'CANCELED')
),
expected AS (
  SELECT game_id, player_lookup, ANY_VALUE(player_name) AS player_name, ANY_VALUE(team) AS team
  FROM `nba_precompute.ml_feature_store`
  WHERE game_date = @game_date
  GROUP BY game_id, player_lookup
),
lined AS (
  SELECT DISTINCT player_lookup
  FROM `nba_precompute.points_lines`
  WHERE game_date = @game_date
)
SELECT s.game_id, s.matchup, e.player_lookup, e.player_name, e.team,
       l.player_lookup IS NOT NULL AS has_line
FROM scheduled AS s
LEFT JOIN expected AS e ON e.game_id = s.game_id
LEFT JOIN lined AS l ON l.player_lookup = e.player_lookup
ORDER BY s.game_id, e.player_lookup
""",
    {"game_date": EXAMPLE_DAY},
)

SPEC = CheckSpec(
    id="lines_coverage",
    service="phase4-processors",
    title="players with a Vegas points line",
    unit="%",
    keys={
        "fail_below": Key(
            "fraction",
            0.90,
            "Coverage (share of expected players with a points line) below this is FAIL.",
        ),
        "warn_below": Key("fraction", 0.95, "Coverage below this is WARN."),
        "min_expected_players": Key(
            "integer",
            10,
            "Fewer expected players than this on a game day is INCONCLUSIVE.",
            minimum=1,
        ),
        "top_missing": Key("integer", 20, "How many missing players the result names."),
        "game_date": Key(
            "date",
            "today",
            "Game day (US Eastern): YYYY-MM-DD, today or yesterday; "
            "today before features_due is the previous game day.",
        ),
        "features_due": Key(
            "text",
            "02:00",
            "Phase 4 has built the day's features by this time (HH:MM, US Eastern).",
            pattern=SLOT_PATTERN,
        ),
    },
    queries=(COVERAGE, schedule_known.QUERY),
    playbook="playbooks/lines-coverage.md",
    ordered=(("fail_below", "warn_below"),),
)


def game_day(params: CheckParams, now: dt.datetime) -> tuple[dt.date, str]:
    """The game day to measure and, when ``today`` was moved back, why (else ``""``)."""
    if params.values.get("game_date") != "today":
        return params.date("game_date"), ""
    return todays_game_day(now, params.text("features_due"))


def todays_game_day(
    now: dt.datetime, due: str = SPEC.keys["features_due"].default
) -> tuple[dt.date, str]:
    """``game_date: today`` at ``now``: the Eastern date, or the day before until that
    day's features are due at ``due`` (HH:MM ET), with why (else ``""``). The sandbox's
    ``lines-coverage-drop`` fault drops the lines of this day (the default ``due``)."""
    local = now.astimezone(clock.EASTERN)
    if local.strftime("%H:%M") >= due:
        return local.date(), ""
    return local.date() - dt.timedelta(days=1), f"today's features are due at {due} ET"


def run(ctx: Context, params: CheckParams) -> CheckResult:
    """Measure lines coverage for the game day of ``game_date`` (default today, Eastern)."""
    m = Measurement(ctx, params, SPEC.id, SPEC.service)
    game_date, moved = game_day(params, clock.now())
    day_text = f"{game_date} ({moved})" if moved else f"{game_date}"
    fail_below, warn_below = params.fraction("fail_below"), params.fraction("warn_below")
    m.threshold = f"FAIL < {pct(fail_below)}, WARN < {pct(warn_below)}"
    rows = m.query(COVERAGE, {"game_date": game_date})
    games: dict[str, dict[str, Any]] = {}
    missing: list[dict[str, Any]] = []
    for row in rows:
        game = games.setdefault(
            row["game_id"],
            {"game_id": row["game_id"], "matchup": row["matchup"], "expected": 0, "with_line": 0},
        )
        if row["player_lookup"] is None:
            continue
        game["expected"] += 1
        if row["has_line"]:
            game["with_line"] += 1
        else:
            missing.append(
                {
                    "player": row["player_name"],
                    "player_lookup": row["player_lookup"],
                    "team": row["team"],
                    "game": row["matchup"],
                }
            )
    base = {"game_date": game_date.isoformat(), **({"game_date_moved": moved} if moved else {})}
    if not games:
        return m.no_games_result(
            game_date,
            what=f"games are scheduled on {day_text}",
            none_message=f"no games scheduled on {day_text}",
            details=base,
        )
    expected = sum(g["expected"] for g in games.values())
    covered = sum(g["with_line"] for g in games.values())
    per_game = [
        {**g, "coverage": round(g["with_line"] / g["expected"], 4) if g["expected"] else None}
        for g in games.values()
    ]
    details = {
        **base,
        "games": len(games),
        "expected_players": expected,
        "players_with_line": covered,
        "per_game": per_game,
        "missing_players": missing[: params.integer("top_missing")],
        "missing_total": len(missing),
    }
    no_features = [g["matchup"] for g in games.values() if not g["expected"]]
    min_expected = params.integer("min_expected_players")
    if expected < min_expected:  # min_expected is at least 1 (its Key.minimum)
        return m.too_little_data(
            None,  # (the unit is % of expected: a player count is no value of it)
            f"{len(games)} game(s) scheduled on {day_text} but only "
            f"{expected} expected player(s) in the feature store (need {min_expected})",
            details,
        )
    coverage = covered / expected
    verdict = below_tiers(coverage, fail_below, warn_below)
    worst_game = min(
        (g for g in per_game if g["expected"]),
        key=lambda g: (g["with_line"] / g["expected"], -g["expected"]),
    )
    comparison = {
        Verdict.FAIL: f"< {pct(fail_below)}",
        Verdict.WARN: f"< {pct(warn_below)}",
        Verdict.PASS: f">= {pct(warn_below)}",
    }[verdict]
    shown = format_pct(coverage, fail_below, warn_below)
    message = (
        f"{day_text}: coverage {shown} {comparison} ({verdict.value}): "
        f"{len(missing)} of {expected} players without a line; worst game {worst_game['matchup']} "
        f"{worst_game['with_line']}/{worst_game['expected']}"
    )
    if no_features:
        # Players of those games are invisible to the ratio: never call that a clean PASS.
        verdict = worst([verdict, Verdict.WARN])
        message += f"; no feature rows for {', '.join(no_features)} (WARN)"
    result = m.result(verdict, pct_value(coverage, fail_below, warn_below), message, details)
    result.findings = game_findings(per_game, missing, warn_below)
    return result


def game_findings(
    per_game: list[dict[str, Any]], missing: list[dict[str, Any]], warn_below: float
) -> list[Finding]:
    """One line per game: ``DEN@BOS 0/17 (0.0%) missing: Name (TEAM), ...``.

    A game is a problem when its coverage is under the WARN threshold or it has no
    feature rows; every missing player of a game is named (not only the top N).
    """
    by_game: dict[str, list[str]] = {}
    for player in missing:
        by_game.setdefault(player["game"], []).append(f"{player['player']} ({player['team']})")
    findings = []
    for game in per_game:
        if not game["expected"]:
            findings.append(Finding(f"{game['matchup']}: no feature rows (nothing expected)", True))
            continue
        share = game["with_line"] / game["expected"]
        shown = format_pct(share, warn_below)
        text = f"{game['matchup']} {game['with_line']}/{game['expected']} ({shown})"
        names = by_game.get(game["matchup"], [])
        if names:
            text += f" missing: {', '.join(names)}"
        findings.append(Finding(text, share < warn_below))
    return findings
