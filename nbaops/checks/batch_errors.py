"""Batch errors (prediction-coordinator): failed batches, error counts, REAL_LINES_ONLY.

Looks at the coordinator batches that started in the window: how many failed (a failed
status, or completed expecting players and no prediction of the batch in the predictions
table: a silent failure the 2-hour ``recent_predictions`` window stops seeing), how many errors they
logged, and whether a batch in REAL_LINES_ONLY mode wrote a prediction without a real line
(no line value, or a line source that is not a real sportsbook line).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.checks import schedule_known
from nbaops.checks.measure import Measurement, count_tiers, duration_text, jsonable
from nbaops.checks.spec import EXAMPLE_DAY, EXAMPLE_NOW, CheckSpec, Key, Query
from nbaops.verdict import CheckResult, Finding, Verdict, clip, worst

if TYPE_CHECKING:
    from nbaops.checks.spec import CheckParams
    from nbaops.context import Context

_DAY = dt.timedelta(days=1)
_BOUNDS = {
    "from_date": EXAMPLE_DAY - 2 * _DAY,
    "to_date": EXAMPLE_DAY + _DAY,
    "since": EXAMPLE_NOW - _DAY,
    "now": EXAMPLE_NOW,
}

BATCHES = Query(
    "batches",
    """
SELECT batch_id, game_date, scheduled_slot, mode, status, started_at, completed_at,
       error_count, error_message, expected_players
FROM `nba_predictions.prediction_batches`
WHERE game_date BETWEEN @from_date AND @to_date
  AND started_at >= @since AND started_at <= @now
ORDER BY started_at
""",
    _BOUNDS,
)

GAMES = Query(
    "games",
    """
SELECT COUNT(*) AS games,
       COUNTIF(g.game_date NOT IN (
         SELECT game_date FROM `nba_predictions.prediction_batches`
         WHERE game_date BETWEEN @from_date AND @to_date)) AS games_without_batches
FROM `nba_raw.games` AS g
WHERE g.game_date BETWEEN @from_date AND @to_date
  AND g.start_time >= @since AND g.start_time <= @now
  AND UPPER(g.status) NOT IN ('POSTPONED', 'CANCELLED', 'CANCELED')
""",
    _BOUNDS,
)

WRITTEN = Query(
    "written",
    """
SELECT batch_id, COUNT(*) AS predictions
FROM `nba_predictions.player_prop_predictions`
WHERE game_date BETWEEN @from_date AND @to_date
  AND batch_id IN UNNEST(@batch_ids)
GROUP BY batch_id
""",
    {
        "from_date": _BOUNDS["from_date"],
        "to_date": _BOUNDS["to_date"],
        "batch_ids": ["batch-2025-01-15-0700"],
    },
)

VIOLATIONS = Query(
    "violations",
    """
SELECT p.batch_id, p.line_source, COUNT(*) AS violations,
       MIN(p.player_lookup) AS example_player
FROM `nba_predictions.player_prop_predictions` AS p
JOIN `nba_predictions.prediction_batches` AS b ON b.batch_id = p.batch_id
WHERE p.game_date BETWEEN @from_date AND @to_date
  AND b.game_date BETWEEN @from_date AND @to_date
  AND b.started_at >= @since AND b.started_at <= @now
  AND UPPER(b.mode) = UPPER(@mode)
  AND (p.line_value IS NULL OR NOT (UPPER(p.line_source) IN UNNEST(@real_sources)))
GROUP BY p.batch_id, p.line_source
ORDER BY violations DESC, p.batch_id
""",
    {**_BOUNDS, "mode": "REAL_LINES_ONLY", "real_sources": ["REAL", "VEGAS"]},
)

SPEC = CheckSpec(
    id="batch_errors",
    service="prediction-coordinator",
    title="failed batches, REAL_LINES_ONLY",
    unit="failed batches",
    keys={
        "window": Key("duration", "24h", "Look-back window for coordinator batches."),
        "warn_errors": Key("integer", 1, "Total per-batch error count at or above this is WARN."),
        "fail_errors": Key("integer", 50, "Total per-batch error count at or above this is FAIL."),
        "fail_failed_batches": Key("integer", 1, "This many failed batches is FAIL."),
        "failed_statuses": Key(
            "texts", ["FAILED", "ERROR"], "Batch status values that mean the batch failed."
        ),
        "real_lines_mode": Key(
            "text", "REAL_LINES_ONLY", "Batch mode that requires a real line for every prediction."
        ),
        "real_line_sources": Key(
            "texts", ["REAL", "VEGAS"], "line_source values that count as a real sportsbook line."
        ),
    },
    queries=(BATCHES, GAMES, WRITTEN, VIOLATIONS, schedule_known.QUERY),
    playbook="playbooks/batch-errors.md",
    ordered=(("warn_errors", "fail_errors"),),
)


def run(ctx: Context, params: CheckParams) -> CheckResult:
    """Failed batches, error counts and REAL_LINES_ONLY violations in the window."""
    m = Measurement(ctx, params, SPEC.id, SPEC.service)
    now = clock.now()
    window = params.duration("window")
    since = now - window
    window_text = duration_text(window)
    bounds = {
        "from_date": clock.eastern_date(since) - dt.timedelta(days=1),
        "to_date": clock.eastern_date(now) + dt.timedelta(days=1),
        "since": since,
        "now": now,
    }
    fail_batches = params.integer("fail_failed_batches")
    warn_errors, fail_errors = params.integer("warn_errors"), params.integer("fail_errors")
    failed_statuses = {s.upper() for s in params.texts("failed_statuses")}
    m.threshold = (
        f"FAIL >= {fail_batches} failed batch(es), any REAL_LINES_ONLY violation or "
        f">= {fail_errors} errors; WARN {'a failed batch or ' if fail_batches > 1 else ''}"
        f">= {warn_errors} errors"
    )

    batches = m.query(BATCHES, bounds)
    if not batches:
        counted = m.query(GAMES, bounds)[0]
        games, unbatched = int(counted["games"]), int(counted["games_without_batches"] or 0)
        empty = {"window": window_text, "games_started": games, "games_without_batches": unbatched}
        if unbatched:
            return m.too_little_data(
                None,
                f"no coordinator batches in the last {window_text} "
                f"and none at all for {unbatched} game(s) that started in it",
                empty,
            )
        if games:  # a day's batches run 8-20 h before its games: last night's, predicted
            return m.result(
                Verdict.PASS,
                0,
                f"no coordinator batches in the last {window_text}; the {games} game(s) "
                "that started in it were predicted by earlier batches",
                empty,
            )
        return m.no_games_result(
            clock.eastern_date(now),
            what=f"any game started in the last {window_text}",
            none_message=f"no coordinator batches and no games in the last {window_text}",
            details=empty,
            value=0,
            now=now,
        )
    mode = params.text("real_lines_mode")
    violations = m.query(
        VIOLATIONS,
        {
            **bounds,
            "mode": mode,
            "real_sources": [s.upper() for s in params.texts("real_line_sources")],
        },
    )
    # completed batches that expected players: did they write anything? (the predictions
    # table, not the batch's own count, which a coordinator may fill in later or never)
    owing = [str(b["batch_id"]) for b in batches if _owes_predictions(b)]
    written: dict[str, int] = {}
    if owing:
        per_batch = m.query(
            WRITTEN,
            {"from_date": bounds["from_date"], "to_date": bounds["to_date"], "batch_ids": owing},
        )
        written = {str(r["batch_id"]): int(r["predictions"]) for r in per_batch}
    silent = {i for i in owing if not written.get(i)}

    def wrote_nothing(batch: dict[str, Any]) -> bool:
        return str(batch["batch_id"]) in silent

    failed = [b for b in batches if str(b["status"]).upper() in failed_statuses or wrote_nothing(b)]
    errors = sum(int(b["error_count"] or 0) for b in batches)
    violation_total = sum(int(v["violations"]) for v in violations)
    details: dict[str, Any] = {
        "window": window_text,
        "batches": len(batches),
        "failed_batches": [jsonable(b) for b in failed],
        "error_count": errors,
        "real_lines_violations": violation_total,
        "violations_by_batch": violations[:20],
        "per_batch": [
            jsonable({k: b[k] for k in ("batch_id", "scheduled_slot", "status", "error_count")})
            for b in batches
        ],
    }
    problems: list[str] = []
    # fewer failed batches than fail_failed_batches is still no PASS: WARN
    verdict = count_tiers(len(failed), fail_batches, 1)
    if failed:
        first = failed[0]
        reason = ""
        if first["error_message"]:
            reason = f": {clip(str(first['error_message']).splitlines()[0], 120)}"
        elif wrote_nothing(first):
            expected = first["expected_players"]
            reason = f": completed without writing any prediction ({expected} players expected)"
        problems.append(f"{len(failed)} failed ({first['batch_id']}{reason})")
    if violation_total:
        verdict = Verdict.FAIL
        top = violations[0]
        problems.append(
            f"{violation_total} {mode} violation(s): predictions without a real "
            f"line (e.g. {top['example_player']} in {top['batch_id']}, line source "
            f"{top['line_source']})"
        )
    verdict = worst([verdict, count_tiers(errors, fail_errors, warn_errors)])
    if errors:
        problems.append(f"{errors} batch error(s)")
    summary = "; ".join(problems) if problems else "no failures, no errors"
    message = f"{len(batches)} batch(es) in the last {window_text}: {summary} ({verdict.value})"
    result = m.result(verdict, len(failed), message, details)
    violating = {str(v["batch_id"]) for v in violations if int(v["violations"])}
    result.findings = [
        Finding(
            f"batch {b['batch_id']} ({b['scheduled_slot']} ET) {b['status']}, "
            f"{int(b['error_count'] or 0)} error(s)"
            + (", no prediction written" if wrote_nothing(b) else "")
            + (f", {mode} violations" if str(b["batch_id"]) in violating else ""),
            b in failed or bool(b["error_count"]) or str(b["batch_id"]) in violating,
        )
        for b in batches
    ]
    return result


def _owes_predictions(batch: dict[str, Any]) -> bool:
    """A batch that says it completed, with players to predict (still running, another
    status, or no expected count: not judged here)."""
    expected = batch["expected_players"]
    return (
        str(batch["status"]).upper() == "COMPLETED"
        and batch["completed_at"] is not None
        and expected is not None
        and int(expected) > 0
    )
