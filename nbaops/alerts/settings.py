"""The ``alerts:`` section of ``nbaops.yaml`` as typed settings (defaults when a key is absent).

Keys (also described in ``schemas/config.schema.json``)::

    alerts:
      suppression_interval: 12h   # a failing check alerts again only after this long
      recovery_messages: true     # send "recovered" when an alerted check passes again
      slack_secret: nbaops-slack-webhook  # Secret Manager secret id (prod profile)
      runbook_base_url: https://github.com/ORG/REPO/blob/main/  # optional link prefix
      timeout_s: 10               # Slack webhook request timeout
      anomaly: {min_history: 7, window_game_days: 20, k: 3.5, lookback_days: 60}
      schedule: {...}             # see nbaops.schedule
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from nbaops.anomaly import AnomalySettings
from nbaops.config import Config
from nbaops.errors import ConfigError
from nbaops.paths import doc_url
from nbaops.settings import setting


@dataclass(frozen=True)
class ScheduleSettings:
    """``alerts.schedule``: the Cloud Scheduler job of the health run (nbaops.schedule)."""

    job: str = "nbaops-system-health"
    cron: str = "0 */6 * * *"
    time_zone: str = "Etc/UTC"
    cloud_run_job: str = "nbaops-health"
    service_account: str = "nbaops-scheduler@{project}.iam.gserviceaccount.com"  # {project}

    def check(self, where: str) -> None:
        """The schedule Cloud Scheduler would refuse is refused here, before any plan:
        unix-cron (five fields in range) and an IANA time zone.

        Raises:
            ConfigError: naming the key and what is wrong.
        """
        from zoneinfo import ZoneInfo

        problem = cron_problem(self.cron)
        if problem:
            raise ConfigError(f"{where}.cron: {self.cron!r}: {problem}")
        try:
            if _not_a_zone_name(self.time_zone):  # a file ZoneInfo opens, not a zone name
                raise KeyError(self.time_zone)
            ZoneInfo(self.time_zone)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
            raise ConfigError(
                f"{where}.time_zone: {self.time_zone!r} is not an IANA time zone "
                "(e.g. Etc/UTC, America/New_York)"
            ) from None


def _not_a_zone_name(name: str) -> bool:
    """Entries of a system zoneinfo folder that ZoneInfo opens but are not IANA zone names
    (``localtime``, ``posixrules``, ``right/...``, ``posix/...``, ``Factory``): Cloud
    Scheduler refuses them. (``zoneinfo.available_timezones()`` would say it too, for
    ~20 ms of every config read.)"""
    return name.startswith(("posix/", "right/")) or name in ("localtime", "posixrules", "Factory")


# unix-cron (Cloud Scheduler's format): minute hour day-of-month month day-of-week, each a
# list of *, N or N-M, optionally /STEP; months and weekdays also by their English names.
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                      "NOV", "DEC")),
    ("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)  # fmt: skip


def _cron_number(token: str, low: int, names: tuple[str, ...]) -> int:
    """A field's value: a number, or a month/weekday name (numbered from ``low``: JAN is 1,
    SUN is 0).

    Raises:
        ValueError: neither.
    """
    if token.upper() in names:
        return names.index(token.upper()) + low
    if not (token.isascii() and token.isdigit()):  # str.isdigit takes other scripts' digits
        raise ValueError(f"{token!r} is not a number")
    return int(token)


def cron_problem(cron: str) -> str | None:
    """Why ``cron`` is not a unix-cron schedule (None: it is)."""
    fields = cron.split()
    if len(fields) != 5:
        return f"needs 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for item in text.split(","):
            span, _, step = item.partition("/")
            try:
                if "/" in item and (not (step.isascii() and step.isdigit()) or int(step) == 0):
                    return f"{name}: step {step!r} must be a positive number"
                if span == "*":
                    continue
                start, dash, end = span.partition("-")
                if dash and not (start and end):
                    return f"{name}: {span!r} is not a range (N-M)"
                values = [_cron_number(start, low, names)]
                if end:
                    values.append(_cron_number(end, low, names))
            except ValueError as exc:
                return f"{name}: {exc}"
            if any(not low <= v <= high for v in values):
                return f"{name}: {span!r} is outside {low}-{high}"
            if values != sorted(values):
                return f"{name}: the range {span!r} runs backwards"
    return None


@dataclass(frozen=True)
class AlertSettings:
    suppression: dt.timedelta = setting(dt.timedelta(hours=12), key="suppression_interval")
    recovery_messages: bool = True
    slack_secret: str = "nbaops-slack-webhook"
    runbook_base_url: str | None = None
    timeout_s: float = setting(10.0, above=0)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    anomaly: AnomalySettings = field(default_factory=AnomalySettings)

    def runbook_link(self, runbook_path: str) -> str:
        """The runbook as a link when a base URL is configured, else the repository path."""
        return doc_url(runbook_path, self.runbook_base_url) or runbook_path


def runbook_base_url(config: Config) -> str | None:
    """``alerts.runbook_base_url`` (e.g. ``https://github.com/ORG/REPO/blob/main/``) or None."""
    return config.settings("alerts", AlertSettings).runbook_base_url
