"""What an alert says: :class:`AlertEvent` (one thing that happened) and delivery results.

Check alerts (a FAIL/ERROR, a recovery) and non-check alerts (a deploy, a rollback, a
test message) share one shape, so one Slack renderer and one outbox serve them all.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from nbaops.verdict import Verdict


class AlertKind(enum.StrEnum):
    FAILING = "failing"  # a check is FAIL or ERROR
    RECOVERED = "recovered"  # a check that alerted passes again
    DEPLOY = "deploy"
    ROLLBACK = "rollback"
    TEST = "test"
    INFO = "info"


@dataclass(frozen=True)
class AlertEvent:
    """One alert.

    Attributes:
        kind: what happened (:class:`AlertKind`; a plain string is accepted too).
        title: short headline, e.g. ``"lines_coverage FAIL"`` or
            ``"prediction-worker rolled back"``.
        text: one or two sentences a person understands.
        service: the service concerned (owner and runbook are looked up from the config).
        verdict: the verdict behind the alert, when there is one.
        check: the check id, for check alerts.
        value: the measured value, for check alerts.
        unit: the unit of ``value`` (``%``, ``min``, ``entries``), shown next to it.
        threshold: the threshold text, for check alerts.
        fields: extra facts shown as ``key: value`` (revision, commit, traffic...).
        owner: filled from the config when ``service`` is known (may be given explicitly).
        runbook: filled from the config when ``service`` is known.
    """

    kind: AlertKind | str
    title: str
    text: str
    service: str | None = None
    verdict: Verdict | None = None
    check: str | None = None
    value: float | int | str | None = None
    unit: str = ""
    threshold: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    owner: str | None = None
    runbook: str | None = None

    def to_json(self) -> dict[str, Any]:
        verdict = self.verdict.value if self.verdict else None
        return {**asdict(self), "kind": str(self.kind), "verdict": verdict}


@dataclass(frozen=True)
class Delivery:
    """Where one alert message went.

    Attributes:
        ok: delivered to the primary channel (Slack when a webhook is configured; the
            outbox on the local profile when none is).
        channels: channels that received it (``"slack"``, ``"outbox"``).
        error: why the primary delivery failed (redacted), or None.
    """

    ok: bool
    channels: tuple[str, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "channels": list(self.channels), "error": self.error}


@dataclass
class AlertSummary:
    """What :func:`nbaops.alerts.dispatch` did with one run's results."""

    alerted: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    at: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def summary(self) -> str:
        """One line, e.g. ``alerts: 2 sent (slack, outbox), 1 suppressed, 1 recovered``."""
        parts: list[str] = []
        sent = len(self.alerted)
        if sent or not (self.suppressed or self.recovered or self.undelivered):
            where = f" ({', '.join(self.channels)})" if self.channels and sent else ""
            parts.append(f"{sent} sent{where}")
        if self.recovered:
            parts.append(f"{len(self.recovered)} recovered")
        if self.suppressed:
            parts.append(f"{len(self.suppressed)} suppressed")
        if self.undelivered:
            parts.append(f"{len(self.undelivered)} NOT delivered")
        text = "alerts: " + ", ".join(parts)
        if self.errors:
            text += f" ({self.errors[0]})"
        return text

    def to_json(self) -> dict[str, Any]:
        """Every list, and the one-line summary (not ``at``)."""
        lists = asdict(self)
        del lists["at"]
        return {"summary": self.summary, **lists}
