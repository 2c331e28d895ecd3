"""What one check run measured through: its queries and log filters, bytes and timing.

A check creates one :class:`Measurement`, runs its declared queries
(:class:`~nbaops.checks.spec.Query`: BigQuery Standard SQL with named parameters) or log
filters through it, then builds its :class:`CheckResult` with
:meth:`Measurement.result`, which carries every query text, the bytes processed and the
duration. A failing call raises as it is; the runner reports ERROR with the error text
*and* the queries behind it (:func:`current_query_text`, the queries of this thread's
measurement).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nbaops.checks.schedule_known import schedule_status, unknown_message
from nbaops.report import as_percent, decimals, format_pct, round_beside
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.adapters.logs import LogEntries
    from nbaops.checks.spec import CheckParams, Query
    from nbaops.context import Context


_CURRENT = threading.local()


def current_query_text() -> str:
    """The queries of the measurement running in this thread (for an ERROR result)."""
    measurement = getattr(_CURRENT, "measurement", None)
    return measurement.query_text if isinstance(measurement, Measurement) else ""


def current_threshold() -> str:
    """The threshold of the measurement running in this thread (for an ERROR result: the
    checks set it from their parameters before they query)."""
    measurement = getattr(_CURRENT, "measurement", None)
    return measurement.threshold if isinstance(measurement, Measurement) else ""


def forget_current() -> None:
    _CURRENT.measurement = None


class Measurement:
    """Runs a check's queries and assembles its result."""

    def __init__(self, ctx: Context, params: CheckParams, name: str, service: str) -> None:
        _CURRENT.measurement = self
        self.ctx = ctx
        self.params = params
        self.name = name
        self.service = service
        self.queries: list[str] = []
        self.bytes_known = True
        self.bytes_total = 0
        self.threshold = ""  # what the verdict is judged against; the check sets it
        self._started = time.perf_counter()

    @property
    def query_text(self) -> str:
        return "\n;\n".join(q.strip() for q in self.queries)

    def query(self, query: Query, args: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one declared query (recorded first, so a failure reports it)."""
        self.queries.append(query.sql)
        result = self.ctx.warehouse.query(query.sql, args, timeout_s=self.params.timeout_s)
        if result.bytes_processed is None:
            self.bytes_known = False
        else:
            self.bytes_total += result.bytes_processed
        return list(result.rows)

    def log_entries(self, filter_: str, max_entries: int) -> LogEntries:
        """Read Cloud Logging entries (the filter recorded first, so a failure reports it)
        within the check's timeout; ``partial`` on the result says the read stopped at a
        bound with the search unfinished (:meth:`~nbaops.adapters.logs.LogReader.entries`)."""
        self.queries.append(filter_)
        return self.ctx.logs.entries(
            filter_, max_entries=max_entries, timeout_s=self.params.timeout_s
        )

    def result(
        self,
        verdict: Verdict,
        value: float | int | str | None,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> CheckResult:
        return CheckResult(
            name=self.name,
            service=self.service,
            verdict=verdict,
            value=value,
            threshold=self.threshold,
            message=message,
            query=self.query_text,
            duration_s=round(time.perf_counter() - self._started, 4),
            bytes_processed=self.bytes_total if self.bytes_known and self.queries else None,
            details=details or {},
        )

    def no_games_result(
        self,
        day: dt.date,
        *,
        what: str,
        none_message: str,
        details: dict[str, Any],
        value: float | int | None = None,
        now: dt.datetime | None = None,
    ) -> CheckResult:
        """The result when the data shows no games on ``day``: a fact only if the schedule says so.

        PASS with ``none_message`` (and ``value``) when ``nba_raw.games`` covers ``day``
        and is fresh; else INCONCLUSIVE "cannot tell whether ``what``" with the reason.
        The schedule query is recorded with the result; its measurements join ``details``.
        """
        schedule = schedule_status(self.query, day, now)
        details = {**details, **schedule.details}
        if not schedule.known:
            message = unknown_message(schedule, what)
            return self.result(Verdict.INCONCLUSIVE, None, message, details)
        return self.result(Verdict.PASS, value, none_message, details)

    def too_little_data(
        self, value: float | int | None, why: str, details: dict[str, Any]
    ) -> CheckResult:
        """INCONCLUSIVE "too little data: ``why``": measured, but too thin to judge."""
        return self.result(Verdict.INCONCLUSIVE, value, f"too little data: {why}", details)


def below_tiers(value: float, fail_below: float, warn_below: float) -> Verdict:
    """FAIL when ``value < fail_below``, WARN when ``value < warn_below``, else PASS."""
    if value < fail_below:
        return Verdict.FAIL
    if value < warn_below:
        return Verdict.WARN
    return Verdict.PASS


def above_tiers(value: float, fail_above: float, warn_above: float) -> Verdict:
    """FAIL when ``value > fail_above``, WARN when ``value > warn_above``, else PASS."""
    return below_tiers(-value, -fail_above, -warn_above)


def count_tiers(count: int, fail_at: int, warn_at: int) -> Verdict:
    """FAIL when ``count >= fail_at``, WARN when ``count >= warn_at``, else PASS.

    A limit under 1 counts as 1: nothing counted is never a problem.
    """
    return below_tiers(-count, 1 - max(fail_at, 1), 1 - max(warn_at, 1))


def pct(fraction: float) -> str:
    """A threshold: 0.9 → ``90%`` (thresholds read better without a trailing .0), any other
    as a measured one is shown (:func:`nbaops.report.format_pct`): 0.625 → ``62.5%``,
    0.9996 → ``99.96%``, not ``100.0%``."""
    value = fraction * 100
    return f"{value:.0f}%" if abs(value - round(value)) < 1e-9 else format_pct(fraction)


def pct_value(fraction: float, *thresholds: float) -> float:
    """A measured share as the percent a result's ``value`` holds (history stores it,
    ``value=`` shows it): two decimals, more when two would round onto a whole percent it
    is not (94.996 → 94.996, not 95.0 beside "< 95% (WARN)") or onto or across one of the
    ``thresholds`` (shares) it is judged against (52.39996 beside 0.524, not 52.4)."""
    value = as_percent(fraction)
    return round_beside(value, *map(as_percent, thresholds), places=decimals(value, 2))


def duration_text(window: dt.timedelta) -> str:
    """A timedelta the way the config writes it: ``2h``, ``10m``, ``90s``."""
    seconds = int(window.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0 and (unit != "d" or seconds >= 2 * 86400):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    """A result row with dates and timestamps as ISO text (for ``details``)."""
    return {
        k: (v.isoformat() if isinstance(v, dt.datetime | dt.date) else v) for k, v in row.items()
    }
