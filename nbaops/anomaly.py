"""Anomaly notes: a check value that departs from its own recent history.

A threshold says "bad in absolute terms"; this says "unusual for this check". For each
check and service, the history is the values recorded in ``nba_ops.check_results`` on
the last ``window_game_days`` **game days** (US-Eastern days with games in
``nba_raw.games`` that were not postponed or cancelled), INCONCLUSIVE results left out
(their values are never judged either). Days without games are left out on both sides:
their values live in a different regime (no lines, no predictions), and a run on a day
without games gets no note. With at least ``min_history`` game days of samples, a value
whose robust z-score

    |value − median| / (1.4826 · MAD)

exceeds ``k`` gets a note, whatever its verdict (a PASS can be anomalous). 1.4826 makes
the MAD estimate the standard deviation for normal data. If the history is constant
(MAD = 0), any different value is noted. Every run of a game day is one sample (several
scheduled runs a day), and ``min_history`` counts distinct game days, not runs.

Both queries are bounded: games by a ``game_date`` range (``lookback_days``), history by
a ``run_at`` range (the window's game days); the history is aggregated in the warehouse
(one row per check and service), so neither cost grows with the tables' history or the
number of runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nbaops import clock
from nbaops.alerts.state import LEDGER_PREFIX  # alert-state rows in the history table
from nbaops.clock import EASTERN
from nbaops.errors import ConfigError
from nbaops.report import places_beside
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.adapters.warehouse import Warehouse

MAD_SCALE = 1.4826

# Postponed and cancelled games are no games, as in every check ("no games scheduled").
GAME_DAYS_SQL = """SELECT DISTINCT game_date
FROM `nba_raw.games`
WHERE game_date BETWEEN @since AND @today
  AND UPPER(status) NOT IN ('POSTPONED', 'CANCELLED', 'CANCELED')
ORDER BY game_date DESC"""

# One row per (check, service): median, MAD and counts over the window's game days,
# aggregated in the warehouse, so the answer stays one row per metric however many runs
# the window holds. PERCENTILE_CONT(x, 0.5) is the median (the mean of the middle two for
# an even count); in BigQuery it is a navigation function, hence OVER + ANY_VALUE
# (https://cloud.google.com/bigquery/docs/reference/standard-sql/navigation_functions#percentile_cont).
# The ledger rows of nbaops.alerts.state are not check values, and the value of an
# INCONCLUSIVE result (too little data) is no baseline, as it is never judged (annotate).
STATS_SQL = """WITH samples AS (
  SELECT check_name, service, value,
         EXTRACT(DATE FROM run_at AT TIME ZONE 'America/New_York') AS game_day
  FROM `nba_ops.check_results`
  WHERE run_at >= @since AND run_at < @until
    AND profile = @profile
    AND value IS NOT NULL
    AND verdict NOT IN ('ERROR', 'INCONCLUSIVE')
    AND NOT STARTS_WITH(check_name, @ledger_prefix)
),
centred AS (
  SELECT check_name, service, value, game_day,
         PERCENTILE_CONT(value, 0.5) OVER (PARTITION BY check_name, service) AS median
  FROM samples
  WHERE game_day IN UNNEST(@game_days)
),
spread AS (
  SELECT check_name, service, game_day, median,
         PERCENTILE_CONT(ABS(value - median), 0.5) OVER (PARTITION BY check_name, service) AS mad
  FROM centred
)
SELECT check_name, service, ANY_VALUE(median) AS median, ANY_VALUE(mad) AS mad,
       COUNT(*) AS samples, COUNT(DISTINCT game_day) AS game_days
FROM spread
GROUP BY check_name, service"""


@dataclass(frozen=True)
class AnomalySettings:
    """``alerts.anomaly``: read as ``config.settings("alerts", AlertSettings).anomaly``."""

    min_history: int = 7
    window_game_days: int = 20
    k: float = 3.5
    lookback_days: int = 60

    def check(self, where: str) -> None:
        """min_history <= window_game_days <= lookback_days: otherwise the history could
        never hold enough game days, and no note would ever be made (silently)."""
        if self.min_history > self.window_game_days:
            raise ConfigError(
                f"{where}.min_history: {self.min_history} is more than window_game_days "
                f"({self.window_game_days}): no anomaly note could ever be made"
            )
        if self.window_game_days > self.lookback_days:
            raise ConfigError(
                f"{where}.window_game_days: {self.window_game_days} game days do not fit in "
                f"lookback_days ({self.lookback_days} calendar days)"
            )


@dataclass(frozen=True)
class Stats:
    median: float
    mad: float
    samples: int
    game_days: int

    @property
    def scale(self) -> float:
        return MAD_SCALE * self.mad

    def score(self, value: float) -> float:
        """Robust z-score; ±inf when the history is constant and ``value`` differs."""
        delta = value - self.median
        if self.scale == 0.0:
            return (
                0.0
                if math.isclose(value, self.median, rel_tol=1e-12, abs_tol=1e-12)
                else (math.copysign(math.inf, delta))
            )
        return delta / self.scale


@dataclass
class History:
    """The window's game days (newest first), whether today is one, and the statistics
    per (check, service) over them."""

    game_days: list[dt.date]
    today_is_game_day: bool
    stats: dict[tuple[str, str], Stats] = field(default_factory=dict)


def load_history(
    warehouse: Warehouse, *, profile: str, now: dt.datetime, settings: AnomalySettings
) -> History:
    """The last ``window_game_days`` game days up to today and, when today is one of
    them, each check's statistics over them (both queries partition-bounded)."""
    today = clock.eastern_date(clock.as_utc(now))
    since_day = today - dt.timedelta(days=settings.lookback_days)
    games = warehouse.query(GAME_DAYS_SQL, {"since": since_day, "today": today})
    days = sorted({r["game_date"] for r in games.rows}, reverse=True)[: settings.window_game_days]
    history = History(game_days=days, today_is_game_day=bool(days) and days[0] == today)
    if not history.today_is_game_day:  # no note on a day without games: nothing to read
        return history
    earliest = min(history.game_days)
    start = dt.datetime.combine(earliest, dt.time(0), tzinfo=EASTERN).astimezone(dt.UTC)
    args = {
        "since": start,
        "until": now,
        "profile": profile,
        "ledger_prefix": LEDGER_PREFIX,
        "game_days": history.game_days,
    }
    for r in warehouse.query(STATS_SQL, args).rows:
        stats = Stats(float(r["median"]), float(r["mad"]), int(r["samples"]), int(r["game_days"]))
        history.stats[str(r["check_name"]), str(r["service"])] = stats
    return history


def assess(value: float, stats: Stats | None, settings: AnomalySettings) -> str | None:
    """The anomaly note for ``value`` against ``stats``, or None (normal or too little history)."""
    if stats is None or stats.game_days < settings.min_history:
        return None
    score = stats.score(value)
    if abs(score) <= settings.k:
        return None
    direction = "above" if score > 0 else "below"
    # four significant digits, more while the value would read as its median ("100
    # differs from its median 100": a coverage of 99.996% against a constant 100%)
    digits = next(d for d in range(4, 18) if f"{value:.{d}g}" != f"{stats.median:.{d}g}")
    shown = f"{value:.{digits}g}"
    where = f"its median {stats.median:.{digits}g} over the last {stats.game_days} game days"
    if math.isinf(score):
        return f"anomaly: {shown} differs from {where} (history constant, MAD 0)"
    # past k, never shown as k: a z of 3.507 is "3.51", not "3.5" beside "k 3.5"
    sds = f"{abs(score):.{places_beside(abs(score), settings.k, places=1)}f}"
    return (
        f"anomaly: {shown} is {sds} robust SDs {direction} {where} "
        f"(MAD {stats.mad:.4g}, k {settings.k:g})"
    )


def numeric_value(result: CheckResult) -> float | None:
    value = result.value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def annotate(
    results: Sequence[CheckResult], history: History, settings: AnomalySettings
) -> list[CheckResult]:
    """Copies of ``results``; anomalous ones get ``details["anomaly"]`` and a message suffix."""
    out: list[CheckResult] = []
    for result in results:
        value = numeric_value(result)
        measured = result.verdict not in (Verdict.ERROR, Verdict.INCONCLUSIVE)
        note = None
        stats = None
        if value is not None and measured and history.today_is_game_day:
            stats = history.stats.get((result.name, result.service))
            note = assess(value, stats, settings)
        if note is None or stats is None:
            out.append(result)
            continue
        details = {**result.details, "anomaly": note, "anomaly_stats": dataclasses.asdict(stats)}
        out.append(
            dataclasses.replace(result, message=f"{result.message} [{note}]", details=details)
        )
    return out
