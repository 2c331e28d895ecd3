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
from dataclasses import dataclass
from typing import Any

from nbaops.clock import parse_duration
from nbaops.config import Config
from nbaops.errors import ConfigError

DEFAULT_SUPPRESSION = "12h"
DEFAULT_SECRET_ID = "nbaops-slack-webhook"


@dataclass(frozen=True)
class AlertSettings:
    suppression: dt.timedelta
    recovery_messages: bool
    slack_secret: str
    runbook_base_url: str | None
    timeout_s: float

    @classmethod
    def from_config(cls, config: Config) -> AlertSettings:
        section: dict[str, Any] = config.section("alerts")
        raw = str(section.get("suppression_interval", DEFAULT_SUPPRESSION))
        try:
            suppression = parse_duration(raw, "alerts.suppression_interval")
        except Exception as exc:  # UsageError from the parser: report it as config
            raise ConfigError(f"{config.path}: {exc}") from None
        base = section.get("runbook_base_url")
        return cls(
            suppression=suppression,
            recovery_messages=bool(section.get("recovery_messages", True)),
            slack_secret=str(section.get("slack_secret", DEFAULT_SECRET_ID)),
            runbook_base_url=str(base) if base else None,
            timeout_s=float(section.get("timeout_s", 10.0)),
        )

    def runbook_link(self, runbook_path: str) -> str:
        """The runbook as a link when a base URL is configured, else the repository path."""
        if self.runbook_base_url:
            return self.runbook_base_url.rstrip("/") + "/" + runbook_path.lstrip("/")
        return runbook_path
