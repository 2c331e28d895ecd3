"""The current time, overridable for tests and rehearsals.

``NBAOPS_NOW`` (ISO 8601, e.g. ``2026-11-25T15:00:00Z``) pins "now" for every module that
asks this clock, so sandbox data, check windows and ages are reproducible.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from nbaops.environment import iso_timestamp, typed
from nbaops.errors import UsageError

EASTERN = ZoneInfo("America/New_York")


def now() -> dt.datetime:
    """Timezone-aware UTC now (or ``NBAOPS_NOW``; UsageError when that is no timestamp)."""
    pinned = typed("NBAOPS_NOW")
    return as_utc(pinned) if pinned is not None else dt.datetime.now(dt.UTC)


def as_utc(value: Any) -> dt.datetime:
    """A timestamp (datetime or ISO 8601 text, ``Z`` allowed) as an aware UTC datetime.

    Naive values are UTC (how the warehouse and the local stores hand them back).
    """
    if isinstance(value, str):
        value = iso_timestamp(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a timestamp, got {value!r}")
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def rfc3339(value: dt.datetime) -> str:
    """``2024-11-25T15:00:00.000000Z``: UTC with a ``Z``, as Google's REST APIs write it and
    Cloud Logging filters read it."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def eastern_date(moment: dt.datetime) -> dt.date:
    """The NBA calendar day (US Eastern) of an aware moment: how game dates are stated."""
    return moment.astimezone(EASTERN).date()


def eastern_wall_time(day: dt.date, at: dt.time) -> dt.datetime | None:
    """The UTC instant of an Eastern wall-clock time, as a wall-clock scheduler runs it.

    None when the time does not exist that day (the hour skipped when daylight saving
    starts, e.g. 02:30 on 2026-03-08); when it occurs twice (the hour repeated when it ends)
    the later one, so nothing is due before both have passed. Cloud Scheduler runs on wall
    clock time and documents that around these changes a job may run unexpectedly or not at
    all (cloud.google.com/scheduler/docs/configuring/cron-job-schedules, "Time zone").
    """
    first = dt.datetime.combine(day, at, EASTERN)
    instant = first.astimezone(dt.UTC)
    if instant.astimezone(EASTERN).replace(tzinfo=None) != first.replace(tzinfo=None):
        return None  # no such wall time: the round trip lands an hour off
    return first.replace(fold=1).astimezone(dt.UTC)


def today_eastern() -> dt.date:
    """The NBA's calendar day (US Eastern) of :func:`now`."""
    return eastern_date(now())


FIRST_GAME_DAY = dt.date(1946, 11, 1)  # the first BAA/NBA game: no game day is earlier


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(text: str, flag: str = "--date") -> dt.date:
    """Parse ``YYYY-MM-DD``, ``today`` or ``yesterday`` (Eastern) into a game day from
    :data:`FIRST_GAME_DAY` to a year ahead; UsageError otherwise (a date like 9999-12-31
    overflowed in the day arithmetic of the checks: "internal error")."""
    lowered = text.strip().lower()
    if lowered == "today":
        return today_eastern()
    if lowered == "yesterday":
        return today_eastern() - dt.timedelta(days=1)
    try:
        if not _DAY.fullmatch(lowered):  # fromisoformat also reads 20261130 and 2026-W48-1
            raise ValueError(lowered)
        day = dt.date.fromisoformat(lowered)
    except ValueError as exc:
        raise UsageError(f"{flag}: {text!r} is not a date (YYYY-MM-DD, today, yesterday)") from exc
    if day < FIRST_GAME_DAY:
        raise UsageError(f"{flag}: {day} is before the first NBA game day ({FIRST_GAME_DAY})")
    latest = today_eastern() + dt.timedelta(days=366)
    if day > latest:
        raise UsageError(f"{flag}: {day} is more than a year ahead (latest {latest})")
    return day


MAX_DURATION = dt.timedelta(days=3650)  # ten years: longer is a typo (and overflows)
_DURATION = re.compile(r"0*([0-9]+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, flag: str = "--window") -> dt.timedelta:
    """Parse ``90s``, ``10m``, ``6h``, ``2d`` (at most :data:`MAX_DURATION`) into a
    timedelta; UsageError otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is not None:
        digits, unit = match.groups()
        # more than 12 digits is never converted: it means nothing, and may be 5,000 digits
        seconds = int(digits) * _UNIT_SECONDS[unit] if len(digits) <= 12 else None
        if seconds is None or seconds > MAX_DURATION.total_seconds():
            longest = f"{MAX_DURATION.days}d"
            raise UsageError(f"{flag}: {text.strip()[:40]!r} is longer than {longest}")
        if seconds > 0:
            return dt.timedelta(seconds=seconds)
    raise UsageError(f"{flag}: {text!r} is not a duration such as 90s, 10m, 6h or 2d")
