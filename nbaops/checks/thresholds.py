"""Typed reading of the ``checks:`` config section and of call-site overrides.

Every check declares its keys here (kind, default, meaning). The ``checks:`` section of
``nbaops.yaml`` (merged with ``profiles.<p>.overrides.checks``) overrides the defaults,
and a call site (a ``post_deploy`` entry, ``--date``, a revision) overrides both. Unknown
keys and values of the wrong kind raise :class:`~nbaops.errors.ConfigError` (exit 2)
naming the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from nbaops import clock
from nbaops.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from nbaops.config import Config

Kind = Literal["fraction", "number", "integer", "duration", "date", "texts", "text"]


# Every number has an upper bound: a value such as 1e308 would disable a timeout or a
# window silently. Keys without their own bound get these (schemas/config.schema.json
# carries the same bounds; a test keeps them equal).
DEFAULT_MAXIMUM = {"number": 1_000_000.0, "integer": 1_000_000}
SLOT_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


@dataclass(frozen=True)
class Key:
    """One tunable of a check: its kind, default and meaning (shown in the schema).

    ``maximum`` bounds a number/integer (default :data:`DEFAULT_MAXIMUM`); ``pattern``
    is a regular expression every item of a ``texts`` value must match.
    """

    kind: Kind
    default: Any
    help: str
    maximum: float | None = None
    pattern: str | None = None

    @property
    def upper_bound(self) -> float | None:
        if self.kind not in DEFAULT_MAXIMUM:
            return None
        return self.maximum if self.maximum is not None else DEFAULT_MAXIMUM[self.kind]


# Keys of the section itself (not of one check).
RUNNER_KEYS: dict[str, Key] = {
    "timeout_s": Key(
        "number",
        60.0,
        "Per-check timeout in seconds; a check that runs longer is ERROR.",
        maximum=3600,
    ),
    "max_workers": Key(
        "integer", 8, "How many checks system-health runs at the same time.", maximum=64
    ),
}

CHECK_KEYS: dict[str, dict[str, Key]] = {
    "lines_coverage": {
        "fail_below": Key(
            "fraction",
            0.90,
            "Coverage (share of expected players with a points line) below this is FAIL.",
        ),
        "warn_below": Key("fraction", 0.95, "Coverage below this is WARN."),
        "min_expected_players": Key(
            "integer", 10, "Fewer expected players than this on a game day is INCONCLUSIVE."
        ),
        "top_missing": Key("integer", 20, "How many missing players the result names."),
        "game_date": Key("date", "today", "Game day (US Eastern): YYYY-MM-DD, today or yesterday."),
    },
    "grading_completeness": {
        "game_length": Key(
            "duration", "3h", "Assumed game length: a game finishes this long after its start time."
        ),
        "grace": Key(
            "duration", "6h", "Predictions of games finished longer ago than this must be graded."
        ),
        "window_days": Key("integer", 3, "How many game days back to look at.", maximum=366),
        "fail_below": Key("fraction", 0.90, "Graded share below this is FAIL."),
        "warn_below": Key("fraction", 0.99, "Graded share below this is WARN."),
        "lag_warn_hours": Key(
            "number", 12.0, "Oldest ungraded game finished more than this many hours ago is WARN."
        ),
        "lag_fail_hours": Key(
            "number", 24.0, "Oldest ungraded game finished more than this many hours ago is FAIL."
        ),
    },
    "recent_predictions": {
        "window": Key("duration", "2h", "Look-back window for predictions and batches."),
        "batch_slots": Key(
            "texts",
            ["02:30", "07:00", "11:30"],
            "Coordinator batch times (HH:MM, US Eastern).",
            pattern=SLOT_PATTERN,
        ),
        "slot_grace": Key("duration", "30m", "A batch slot is due this long after its time."),
        "baseline_days": Key(
            "integer",
            3,
            "Model versions seen in this many previous days are expected in every batch.",
            maximum=366,
        ),
        "fail_below": Key(
            "fraction",
            0.50,
            "A model version with fewer predictions than this "
            "share of the batches' expected players is FAIL.",
        ),
        "warn_below": Key("fraction", 0.90, "... below this share is WARN."),
    },
    "batch_errors": {
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
    "processor_heartbeats": {
        "warn_age": Key("duration", "2h", "Last heartbeat older than this is WARN."),
        "fail_age": Key("duration", "6h", "Last heartbeat older than this is FAIL."),
        "lookback_days": Key(
            "integer", 7, "Processors seen in this many days are expected.", maximum=366
        ),
        "live_window": Key("duration", "30m", "Heartbeat rows this recent count as live."),
        "max_live_rows": Key(
            "integer",
            1,
            "More live rows (distinct runs) than this per "
            "processor is heartbeat proliferation (WARN).",
        ),
        "processors": Key(
            "texts", [], "Processors that must heartbeat (empty: those seen in the look-back)."
        ),
    },
    "shot_zones": {
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
            "integer", 20, "Fewer box-score rows than this on a game day is INCONCLUSIVE."
        ),
        "game_date": Key("date", "yesterday", "Game day checked (US Eastern)."),
    },
    "error_logs": {
        "window": Key("duration", "10m", "Look-back window for ERROR-or-worse log entries."),
        "warn_at": Key("integer", 1, "This many entries per service is WARN."),
        "fail_at": Key("integer", 10, "This many entries per service is FAIL."),
        "min_severity": Key("text", "ERROR", "Lowest severity counted."),
        "max_entries": Key("integer", 1000, "Most entries read per run.", maximum=100_000),
        "top_messages": Key("integer", 5, "How many distinct messages the result names."),
    },
    "model_hit_rate": {
        "model_version": Key(
            "text",
            "champion",
            "Model version (system_id) judged; champion = regression.champion, the serving one.",
        ),
        "window_game_days": Key(
            "integer",
            14,
            "How many of the latest game days with graded picks are pooled.",
            maximum=366,
        ),
        "lookback_days": Key(
            "integer",
            45,
            "Calendar days searched for those game days (bounds the query).",
            maximum=366,
        ),
        "min_bets": Key(
            "integer", 500, "Fewer graded picks (pushes and PASS excluded) is INCONCLUSIVE."
        ),
        "confidence_level": Key("fraction", 0.95, "Level of the Wilson interval."),
        "fail_below": Key(
            "fraction", 0.45, "Wilson lower bound of the hit rate below this is FAIL."
        ),
        "warn_below": Key("fraction", 0.50, "... below this is WARN."),
    },
    "daily_validation": {
        "fail_below": Key(
            "fraction",
            0.90,
            "A stage covering less than this share of the "
            "stage before it is FAIL (the chain broke there).",
        ),
        "warn_below": Key("fraction", 0.98, "... less than this share is WARN."),
        "game_date": Key("date", "yesterday", "Game day validated (US Eastern)."),
    },
}

CHECK_IDS = tuple(k for k in CHECK_KEYS if k != "daily_validation")


def _bad(where: str, message: str) -> ConfigError:
    return ConfigError(f"checks: {where}: {message}")


def coerce(kind: Kind, value: Any, where: str, key: Key | None = None) -> Any:
    """Check that ``value`` has the key's kind (and bounds) and normalise it (durations
    stay text). ``key`` adds its maximum and pattern; numbers are always finite."""
    if kind == "fraction":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise _bad(where, f"{value!r} is not a fraction between 0 and 1")
        return float(value)
    upper = (key.upper_bound if key else None) or DEFAULT_MAXIMUM.get(kind)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(where, f"{value!r} is not a non-negative number")
        if not math.isfinite(value):
            raise _bad(where, f"{value!r} is not a finite number")
        if value < 0:
            raise _bad(where, f"{value!r} is not a non-negative number")
        if upper is not None and value > upper:
            raise _bad(where, f"{value!r} is above the maximum {upper:g}")
        return float(value)
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _bad(where, f"{value!r} is not a non-negative integer")
        if upper is not None and value > upper:
            raise _bad(where, f"{value!r} is above the maximum {upper:g}")
        return value
    if kind == "duration":
        if isinstance(value, dt.timedelta):
            return value
        if not isinstance(value, str):
            raise _bad(where, f"{value!r} is not a duration such as 90s, 10m, 6h or 2d")
        try:
            return clock.parse_duration(value, where)
        except UsageError as exc:
            raise ConfigError(f"checks: {exc}") from None
    if kind == "date":
        if isinstance(value, dt.date):
            return value
        if not isinstance(value, str):
            raise _bad(where, f"{value!r} is not a date (YYYY-MM-DD, today, yesterday)")
        lowered = value.strip().lower()
        if lowered not in ("today", "yesterday"):
            try:
                dt.date.fromisoformat(lowered)
            except ValueError:
                raise _bad(
                    where, f"{value!r} is not a date (YYYY-MM-DD, today, yesterday)"
                ) from None
        return lowered  # resolved against the clock when the check runs
    if kind == "texts":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise _bad(where, f"{value!r} is not a list of strings")
        if key is not None and key.pattern is not None:
            for item in value:
                if not re.match(key.pattern, item):
                    raise _bad(where, f"{item[:40]!r} is not a time HH:MM (00:00 to 23:59)")
        return list(value)
    if not isinstance(value, str) or not value:
        raise _bad(where, f"{value!r} is not a non-empty string")
    return value


@dataclass(frozen=True)
class CheckParams:
    """The resolved parameters of one check run.

    Attributes:
        check: the check id.
        values: every key of the check (defaults < config < overrides), normalised.
        service: the service the result is reported for (error_logs runs per service).
        revision: a Cloud Run revision to narrow to (post-deploy validation), or None.
        timeout_s: the per-query timeout, passed to the warehouse.
    """

    check: str
    values: Mapping[str, Any] = field(default_factory=dict)
    service: str | None = None
    revision: str | None = None
    timeout_s: float | None = None

    def _get(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise KeyError(f"{self.check}: no parameter {key!r}") from None

    def fraction(self, key: str) -> float:
        return float(self._get(key))

    def number(self, key: str) -> float:
        return float(self._get(key))

    def integer(self, key: str) -> int:
        return int(self._get(key))

    def text(self, key: str) -> str:
        return str(self._get(key))

    def texts(self, key: str) -> list[str]:
        return [str(v) for v in self._get(key)]

    def duration(self, key: str) -> dt.timedelta:
        value = self._get(key)
        if isinstance(value, dt.timedelta):
            return value
        return clock.parse_duration(str(value), key)

    def date(self, key: str = "game_date") -> dt.date:
        """A date key resolved against the clock (``today``/``yesterday`` are Eastern)."""
        value = self._get(key)
        if isinstance(value, dt.date):
            return value
        return clock.parse_date(str(value), key)

    def with_values(self, **values: Any) -> CheckParams:
        merged = {**self.values, **values}
        return CheckParams(self.check, merged, self.service, self.revision, self.timeout_s)


@dataclass(frozen=True)
class Thresholds:
    """The ``checks:`` section, validated, for one profile."""

    section: Mapping[str, Any]
    timeout_s: float
    max_workers: int

    def params(
        self,
        check: str,
        overrides: Mapping[str, Any] | None = None,
        *,
        service: str | None = None,
        revision: str | None = None,
        where: str = "override",
    ) -> CheckParams:
        """Defaults < ``checks.<check>`` < ``overrides``; raises ConfigError on unknown keys."""
        if check not in CHECK_KEYS:
            known = ", ".join(CHECK_KEYS)
            raise ConfigError(f"checks: unknown check {check!r}; known checks: {known}")
        keys = CHECK_KEYS[check]
        values = {name: coerce(k.kind, k.default, f"{check}.{name}", k) for name, k in keys.items()}
        configured = self.section.get(check) or {}
        for source, layer in (("config", configured), (where, overrides or {})):
            for name, value in layer.items():
                if name not in keys:
                    raise _bad(
                        f"{check}.{name}" if source == "config" else f"{where}: {check}.{name}",
                        f"unknown key; known keys: {', '.join(keys)}",
                    )
                values[name] = coerce(keys[name].kind, value, f"{check}.{name}", keys[name])
        return CheckParams(check, values, service, revision, self.timeout_s)


def load_thresholds(config: Config) -> Thresholds:
    """Read and validate the ``checks:`` section of the config (profile overrides merged)."""
    return thresholds_from_section(config.section("checks"))


def thresholds_from_section(section: Mapping[str, Any]) -> Thresholds:
    for name, value in section.items():
        if name in RUNNER_KEYS:
            continue
        if name not in CHECK_KEYS:
            raise _bad(name, f"unknown key; known keys: {', '.join([*RUNNER_KEYS, *CHECK_KEYS])}")
        if not isinstance(value, Mapping):
            raise _bad(name, "must be a mapping of thresholds")
    timeout_key, workers_key = RUNNER_KEYS["timeout_s"], RUNNER_KEYS["max_workers"]
    timeout = coerce(
        "number", section.get("timeout_s", timeout_key.default), "timeout_s", timeout_key
    )
    workers = coerce(
        "integer", section.get("max_workers", workers_key.default), "max_workers", workers_key
    )
    if timeout <= 0:
        raise _bad("timeout_s", "must be greater than 0")
    if workers < 1:
        raise _bad("max_workers", "must be at least 1")
    thresholds = Thresholds(section=dict(section), timeout_s=timeout, max_workers=workers)
    for check in CHECK_KEYS:  # validate every configured key up front
        thresholds.params(check)
    return thresholds
