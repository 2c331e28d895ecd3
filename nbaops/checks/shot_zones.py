"""Shot zones (phase3-processors): do zone attempts add up, and are zones filled in?

On one game day's box scores (default yesterday, Eastern): paint + mid-range +
three-point attempts must equal field-goal attempts (within ``tolerance``), and the zone
columns must not be NULL on rows that have field-goal attempts.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from nbaops.checks import schedule_known
from nbaops.checks.measure import Measurement, above_tiers, pct, pct_value
from nbaops.checks.spec import EXAMPLE_DAY, CheckSpec, Key, Query
from nbaops.report import format_pct
from nbaops.verdict import CheckResult, Verdict, worst

if TYPE_CHECKING:
    from nbaops.checks.spec import CheckParams
    from nbaops.context import Context

_ZONES_NULL = """(paint_attempts IS NULL OR paint_makes IS NULL
      OR mid_range_attempts IS NULL OR mid_range_makes IS NULL
      OR three_pt_attempts IS NULL OR three_pt_makes IS NULL)"""
_MISMATCH = """(paint_attempts IS NOT NULL AND mid_range_attempts IS NOT NULL
      AND three_pt_attempts IS NOT NULL
      AND ABS(paint_attempts + mid_range_attempts + three_pt_attempts - fga) > @tolerance)"""

_EXAMPLE = {"game_date": EXAMPLE_DAY - dt.timedelta(days=1), "tolerance": 0}

ZONES = Query(
    "zones",
    f"""
SELECT
  (SELECT COUNT(*) FROM `nba_raw.games`
   WHERE game_date = @game_date
     AND UPPER(status) NOT IN ('POSTPONED', 'CANCELLED', 'CANCELED')) AS games,
  COUNT(*) AS box_rows,
  COUNTIF(fga > 0) AS shooting_rows,
  COUNTIF(fga > 0 AND {_ZONES_NULL}) AS null_rows,
  COUNTIF(fga > 0 AND {_MISMATCH}) AS mismatched_rows
FROM `nba_analytics.player_game_summary`
WHERE game_date = @game_date
""",  # noqa: S608 - fixed column expressions only; values are query parameters
    _EXAMPLE,
)

EXAMPLES = Query(
    "examples",
    f"""
SELECT game_id, player_name, team, fga, paint_attempts, mid_range_attempts, three_pt_attempts,
       {_ZONES_NULL} AS has_null
FROM `nba_analytics.player_game_summary`
WHERE game_date = @game_date
  AND fga > 0
  AND ({_ZONES_NULL} OR {_MISMATCH})
ORDER BY game_id, player_name
LIMIT 10
""",  # noqa: S608 - fixed column expressions only; values are query parameters
    _EXAMPLE,
)

SPEC = CheckSpec(
    id="shot_zones",
    service="phase3-processors",
    title="shot zones add up, null rate",
    unit="%",
    keys={
        "tolerance": Key(
            "integer",
            0,
            "Allowed difference, in attempts, between paint + "
            "mid-range + three-point attempts and field-goal attempts.",
        ),
        "mismatch_warn_above": Key(
            "fraction", 0.0, "Share of rows whose zones do not add up above this is WARN."
        ),
        "mismatch_fail_above": Key("fraction", 0.02, "... above this is FAIL."),
        "null_warn_above": Key("fraction", 0.02, "Null rate of zone columns above this is WARN."),
        "null_fail_above": Key("fraction", 0.10, "... above this is FAIL."),
        "min_rows": Key(
            "integer",
            20,
            "Fewer box-score rows than this on a game day is INCONCLUSIVE.",
            minimum=1,
        ),
        "game_date": Key("date", "yesterday", "Game day checked (US Eastern)."),
    },
    queries=(ZONES, EXAMPLES, schedule_known.QUERY),
    playbook="playbooks/shot-zones.md",
    ordered=(
        ("mismatch_warn_above", "mismatch_fail_above"),
        ("null_warn_above", "null_fail_above"),
    ),
)


def run(ctx: Context, params: CheckParams) -> CheckResult:
    """Zone-sum mismatches and zone null rate on ``game_date`` box scores."""
    m = Measurement(ctx, params, SPEC.id, SPEC.service)
    game_date = params.date("game_date")
    tolerance = params.integer("tolerance")
    mm_warn = params.fraction("mismatch_warn_above")
    mm_fail = params.fraction("mismatch_fail_above")
    nl_warn, nl_fail = params.fraction("null_warn_above"), params.fraction("null_fail_above")
    mismatch_threshold = f"mismatch FAIL > {pct(mm_fail)}, WARN > {pct(mm_warn)}"
    null_threshold = f"null FAIL > {pct(nl_fail)}, WARN > {pct(nl_warn)}"
    m.threshold = f"{mismatch_threshold}; {null_threshold}"  # until one rate decides
    args = {"game_date": game_date, "tolerance": tolerance}
    # COUNTIF of no rows is 0 in BigQuery but NULL in DuckDB: read every count as int-or-0.
    row: dict[str, int] = {k: int(v or 0) for k, v in m.query(ZONES, args)[0].items()}
    games, shooting = row["games"], row["shooting_rows"]
    details: dict[str, Any] = {
        "game_date": game_date.isoformat(),
        "games": games,
        "box_rows": row["box_rows"],
        "shooting_rows": shooting,
    }
    if shooting == 0 and games == 0:
        return m.no_games_result(
            game_date,
            what=f"games were played on {game_date}",
            none_message=f"no games scheduled on {game_date}",
            details=details,
        )
    min_rows = params.integer("min_rows")
    if shooting < min_rows:  # min_rows is at least 1 (its Key.minimum): no division by 0
        return m.too_little_data(
            None,
            f"{shooting} box-score rows with shots on {game_date} "
            f"for {games} game(s) (need {min_rows})",
            details,
        )
    null_rate = row["null_rows"] / shooting
    mismatch_rate = row["mismatched_rows"] / shooting
    details.update(
        null_rows=row["null_rows"],
        mismatched_rows=row["mismatched_rows"],
        null_rate=round(null_rate, 4),
        mismatch_rate=round(mismatch_rate, 4),
        tolerance=tolerance,
    )
    v_mismatch = above_tiers(mismatch_rate, mm_fail, mm_warn)
    v_null = above_tiers(null_rate, nl_fail, nl_warn)
    verdict = worst([v_mismatch, v_null])
    message = (
        f"{game_date}: {row['mismatched_rows']} of {shooting} rows where paint + "
        f"mid-range + three-point attempts != FGA "
        f"({format_pct(mismatch_rate, mm_fail, mm_warn)}, {v_mismatch.value}); "
        f"zone null rate {format_pct(null_rate, nl_fail, nl_warn)} ({v_null.value})"
    )
    if verdict is not Verdict.PASS:
        details["examples"] = m.query(EXAMPLES, args)
    # value and threshold are those of the rate that decided the verdict (on a tie, the
    # larger rate): the larger rate may be one its own thresholds judge milder, and a 5%
    # null rate (WARN) read as the FAIL's value beside "mismatch FAIL > 2%"
    if v_null is verdict and (v_mismatch is not verdict or null_rate > mismatch_rate):
        rate, fail, warn, m.threshold = null_rate, nl_fail, nl_warn, null_threshold
    else:
        rate, fail, warn, m.threshold = mismatch_rate, mm_fail, mm_warn, mismatch_threshold
    return m.result(verdict, pct_value(rate, fail, warn), message, details)
