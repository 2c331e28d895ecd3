"""Anomaly notes: a check value that departs from its own recent history.

A threshold says "bad in absolute terms"; this says "unusual for this check". For each
check and service, the history is the values recorded in ``nba_ops.check_results`` on
the last ``window_game_days`` **game days** (US-Eastern days with games in
``nba_raw.games``). Days without games are left out on both sides: their values live in a
different regime (no lines, no predictions), and a run on a day without games gets no
note. With at least ``min_history`` game days of samples, a value whose robust z-score

    |value − median| / (1.4826 · MAD)

exceeds ``k`` gets a note, whatever its verdict (a PASS can be anomalous). 1.4826 makes
the MAD estimate the standard deviation for normal data. If the history is constant
(MAD = 0), any different value is noted. Every run of a game day is one sample (several
scheduled runs a day), and ``min_history`` counts distinct game days, not runs.

Both queries are bounded: games by a ``game_date`` range, history by a ``run_at`` range
(``lookback_days``), so their cost tracks the window, not the tables' history.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.clock import EASTERN
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.adapters.warehouse import Warehouse

MAD_SCALE = 1.4826
LEDGER_PREFIX = "alert:"  # alert-state rows in the history table (nbaops.alerts.state)

GAME_DAYS_SQL = """SELECT DISTINCT game_date
FROM `nba_raw.games`
WHERE game_date BETWEEN @since AND @today
ORDER BY game_date DESC"""

HISTORY_SQL = """SELECT check_name, service, run_at, value
FROM `nba_ops.check_results`
WHERE run_at >= @since AND run_at < @until
  AND profile = @profile
  AND value IS NOT NULL"""


@dataclass(frozen=True)
class AnomalySettings:
    """``alerts.anomaly``: read as ``config.settings("alerts", AlertSettings).anomaly``."""

    min_history: int = 7
    window_game_days: int = 20
    k: float = 3.5
    lookback_days: int = 60


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


def median_mad(values: Sequence[float]) -> tuple[float, float]:
    """Median and (unscaled) median absolute deviation of ``values``.

    Raises:
        ValueError: ``values`` is empty.
    """
    if not values:
        raise ValueError("median_mad() of an empty sequence")
    median = statistics.median(values)
    return median, statistics.median(abs(v - median) for v in values)


@dataclass
class History:
    """Samples per (check, service) from game days, and whether today is a game day."""

    game_days: list[dt.date]
    today_is_game_day: bool
    samples: dict[tuple[str, str], list[tuple[dt.date, float]]] = field(default_factory=dict)

    def stats(self, check: str, service: str) -> Stats | None:
        rows = self.samples.get((check, service), [])
        if not rows:
            return None
        values = [v for _, v in rows]
        median, mad = median_mad(values)
        return Stats(median, mad, len(values), len({d for d, _ in rows}))


def build_history(
    game_days: Iterable[dt.date],
    rows: Iterable[dict[str, Any]],
    *,
    today: dt.date,
    window_game_days: int,
) -> History:
    """Keep the last ``window_game_days`` game days before/including today and their samples."""
    days = sorted({d for d in game_days if d <= today}, reverse=True)
    today_is_game_day = bool(days) and days[0] == today
    window = days[:window_game_days]
    keep = set(window)
    history = History(game_days=window, today_is_game_day=today_is_game_day)
    for row in rows:
        name = str(row["check_name"])
        if name.startswith(LEDGER_PREFIX) or row.get("value") is None:
            continue
        day = clock.eastern_date(clock.as_utc(row["run_at"]))
        if day not in keep:
            continue
        key = (name, str(row["service"]))
        history.samples.setdefault(key, []).append((day, float(row["value"])))
    return history


def load_history(
    warehouse: Warehouse, *, profile: str, now: dt.datetime, settings: AnomalySettings
) -> History:
    """Query game days and check history (both partition-bounded) for the window."""
    today = clock.eastern_date(clock.as_utc(now))
    since_day = today - dt.timedelta(days=settings.lookback_days)
    games = warehouse.query(GAME_DAYS_SQL, {"since": since_day, "today": today})
    game_days = [row["game_date"] for row in games.rows]
    days = sorted({d for d in game_days if d <= today}, reverse=True)[: settings.window_game_days]
    if not days:
        return History(game_days=[], today_is_game_day=False)
    earliest = min(days)
    start = dt.datetime.combine(earliest, dt.time(0), tzinfo=EASTERN).astimezone(dt.UTC)
    rows = warehouse.query(HISTORY_SQL, {"since": start, "until": now, "profile": profile}).rows
    return build_history(game_days, rows, today=today, window_game_days=settings.window_game_days)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def assess(value: float, stats: Stats | None, settings: AnomalySettings) -> str | None:
    """The anomaly note for ``value`` against ``stats``, or None (normal or too little history)."""
    if stats is None or stats.game_days < settings.min_history:
        return None
    score = stats.score(value)
    if abs(score) <= settings.k:
        return None
    direction = "above" if score > 0 else "below"
    where = f"its median {_fmt(stats.median)} over the last {stats.game_days} game days"
    if math.isinf(score):
        return f"anomaly: {_fmt(value)} differs from {where} (history constant, MAD 0)"
    return (
        f"anomaly: {_fmt(value)} is {abs(score):.1f} robust SDs {direction} {where} "
        f"(MAD {_fmt(stats.mad)}, k {settings.k:g})"
    )


def numeric_value(result: CheckResult) -> float | None:
    value = result.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if math.isnan(value) or math.isinf(value):
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
            stats = history.stats(result.name, result.service)
            note = assess(value, stats, settings)
        if note is None or stats is None:
            out.append(result)
            continue
        details = {**result.details, "anomaly": note, "anomaly_stats": dataclasses.asdict(stats)}
        out.append(
            dataclasses.replace(result, message=f"{result.message} [{note}]", details=details)
        )
    return out
