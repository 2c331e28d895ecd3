"""Is the schedule known around a day? Before any check says "no games", it must be.

An empty ``nba_raw.games`` (a failed schedule scrape, an interrupted sandbox reset) looks
exactly like a day without games. So "no games scheduled" is a PASS only when the
schedule itself passes this check, and INCONCLUSIVE (naming what is missing) otherwise:

- **coverage**: the table has games on or before the day *and* on or after it, each
  within :data:`AROUND_DAYS` days, so the day lies inside the loaded schedule (an
  All-Star break passes; a day after the last loaded game does not);
- **freshness**: the newest ``updated_at`` is after the day ended (a past day's
  schedule is final) or, for today and later, no older than :data:`MAX_AGE`.

One function, :func:`schedule_status`, used by every check whose "nothing to do" is a
PASS (lines coverage, grading completeness, recent predictions, shot zones, daily
validation; system-health runs those).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nbaops import clock
from nbaops.checks.spec import EXAMPLE_DAY, Query

AROUND_DAYS = 14
MAX_AGE = dt.timedelta(hours=36)
_AROUND = dt.timedelta(days=AROUND_DAYS)

QUERY = Query(
    "schedule_known",
    """
SELECT
  COUNTIF(game_date <= @day) AS games_on_or_before,
  COUNTIF(game_date >= @day) AS games_on_or_after,
  MAX(updated_at) AS refreshed_at
FROM `nba_raw.games`
WHERE game_date BETWEEN @from_date AND @to_date
""",
    {"day": EXAMPLE_DAY, "from_date": EXAMPLE_DAY - _AROUND, "to_date": EXAMPLE_DAY + _AROUND},
)

RunQuery = Callable[[Query, Mapping[str, Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class ScheduleStatus:
    """What the schedule table says about the days around one day.

    Attributes:
        known: coverage and freshness both hold: "no games" is a fact.
        missing: why not, in words (empty when known).
        details: the measured values (for the check's details).
    """

    known: bool
    missing: str
    details: dict[str, Any]


def schedule_status(
    query: RunQuery, day: dt.date, now: dt.datetime | None = None
) -> ScheduleStatus:
    """Measure whether ``nba_raw.games`` covers ``day`` and was refreshed recently enough.

    Args:
        query: runs one query with parameters and returns its rows (a check's
            ``Measurement.query``, so the SQL is recorded with the result).
        day: the game day (US Eastern) the caller found no games on.
        now: the current time (default :func:`nbaops.clock.now`).
    """
    now = now or clock.now()
    rows = query(QUERY, {"day": day, "from_date": day - _AROUND, "to_date": day + _AROUND})
    row = rows[0] if rows else {}
    before = int(row.get("games_on_or_before") or 0)
    after = int(row.get("games_on_or_after") or 0)
    refreshed = row.get("refreshed_at")
    day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), clock.EASTERN)
    needed_since = min(now - MAX_AGE, day_end.astimezone(dt.UTC))
    details: dict[str, Any] = {
        "schedule_games_before": before,
        "schedule_games_after": after,
        "schedule_refreshed_at": refreshed.isoformat() if refreshed else None,
    }
    missing = ""  # the first of coverage, then freshness, that does not hold
    if before == 0 and after == 0:
        missing = f"nba_raw.games has no games within {AROUND_DAYS} days of {day}"
    elif before == 0:
        missing = f"nba_raw.games has no games in the {AROUND_DAYS} days up to {day}"
    elif after == 0:
        missing = f"nba_raw.games has no games in the {AROUND_DAYS} days from {day}"
    elif refreshed is None:
        missing = "nba_raw.games has no updated_at: its refresh time is unknown"
    elif refreshed < needed_since:
        missing = (
            f"nba_raw.games was last refreshed {refreshed:%Y-%m-%d %H:%M} UTC, "
            f"before {needed_since:%Y-%m-%d %H:%M} UTC"
        )
    return ScheduleStatus(known=not missing, missing=missing, details=details)


def unknown_message(status: ScheduleStatus, what: str) -> str:
    """The INCONCLUSIVE message: what the check could not tell, and why."""
    return f"cannot tell whether {what}: the schedule is not known ({status.missing})"
