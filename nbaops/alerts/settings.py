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


def runbook_base_url(config: Config | None) -> str | None:
    """``alerts.runbook_base_url`` (e.g. ``https://github.com/ORG/REPO/blob/main/``) or None."""
    return config.settings("alerts", AlertSettings).runbook_base_url if config is not None else None
