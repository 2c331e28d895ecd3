"""One deploy in flight: its request, settings, lease and journal, and the fenced steps
every phase of :mod:`nbaops.deploy.deploy` uses (alert, compare-and-swap retry, the
Ready and health waits)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbaops.deploy import lock
from nbaops.deploy.predeploy import probe_health
from nbaops.deploy.restore import RollbackResult, restore_traffic
from nbaops.errors import CloudRunError, first_line
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import ServiceInfo
    from nbaops.config import ServiceConfig
    from nbaops.context import Context
    from nbaops.deploy import audit
    from nbaops.deploy.deploy_report import DeployReport
    from nbaops.deploy.heartbeat import Heartbeat
    from nbaops.deploy.journal import Journal
    from nbaops.deploy.progress import Progress
    from nbaops.deploy.request import DeployRequest
    from nbaops.deploy.settings import DeploySettings


@dataclass
class InFlight:
    """One deploy in flight: what was asked, its settings, and what it has done so far."""

    ctx: Context
    req: DeployRequest
    cfg: ServiceConfig
    settings: DeploySettings
    report: DeployReport
    record: audit.AuditRecord
    progress: Progress
    # the deploy's clock, injected as a pair: waits sleep through ``sleep`` and measure their
    # deadlines on ``monotonic`` (a test's fake sleep advances its fake monotonic)
    sleep: Callable[[float], None]
    monotonic: Callable[[], float] = time.monotonic
    # what has changed so far (decides what an error or Ctrl-C must undo)
    lease_tried: bool = False  # the lease's compare-and-swap was sent (it may have landed)
    lock_acquired: bool = False
    mutated: bool = False  # a deploy/traffic PATCH was sent (maybe applied)
    settled: bool = False  # the final traffic state was reached and verified
    held: bool = False  # settled as held: its journal stays (a later Ctrl-C included)
    lease_lost: bool = False  # the lease was taken over: hands off the service
    lease: lock.DeployLock | None = None
    heartbeat: Heartbeat | None = None
    journal: Journal | None = None

    @property
    def service(self) -> str:
        return self.cfg.name

    @property
    def before(self) -> str:
        """The revision that served before the deploy ("" when unknown)."""
        return self.report.revision_before or ""

    @property
    def token(self) -> tuple[str, int]:
        assert self.lease is not None
        return self.lease.token

    def fence(self, info: ServiceInfo) -> None:
        """Every write's precondition: the service still carries our live lease."""
        if self.heartbeat is not None and self.heartbeat.lost:
            raise lock.LeaseLostError(self.service, self.report.deploy_id, self.heartbeat.lost)
        lock.check_fence(info, self.service, self.token)

    def log(self, phase: str, **changes: Any) -> None:
        """Journal the intent to enter ``phase`` (fenced) before doing it."""
        from nbaops.deploy.journal import record

        assert self.journal is not None
        record(self.ctx.cloudrun, self.service, self.journal.advance(phase, **changes), self.token)

    def passed(
        self, name: str, message: str, value: str | int, started: float, query: str = ""
    ) -> None:
        """Add a step that did what it should to the report (PASS, timed from ``started``)."""
        step = CheckResult.timed(
            name, self.service, Verdict.PASS, message, value=value, query=query, started=started
        )
        self.report.steps.append(step)

    def restore(self, from_revision: str | None) -> RollbackResult:
        """100% back to the previous revision, verified (traffic and health).

        Its intent is journalled first; when that write fails for an API error the restore
        still runs (fenced like every write): the journal already records a mutating step,
        so a crash from here is restored the same way, and a restore that fails too ends
        as ROLLBACK FAILED with the manual commands, not as an error out of the deploy.
        """
        if self.journal is not None and self.lease is not None:
            try:
                self.log("rollback")
            except CloudRunError as exc:  # LeaseLostError is no CloudRunError: it propagates
                self.report.notes.append(
                    f"could not journal the rollback's intent ({first_line(exc)}); restoring "
                    "the previous revision anyway"
                )
        return restore_traffic(
            self.ctx,
            self.cfg,
            self.before,
            from_revision=from_revision,
            health_timeout_s=self.settings.health_timeout_s,
            progress=self.progress,
            fence=self.fence if self.lease is not None else None,
        )


def notify(
    ctx: Context,
    notes: list[str],
    service: str,
    kind: str,
    title: str,
    text: str,
    verdict: Verdict | None,
    fields: dict[str, str],
) -> None:
    """Send a deploy/rollback alert and note its delivery in ``notes`` (never raises)."""
    try:
        from nbaops.alerts import AlertEvent, AlertKind, send

        event = AlertEvent(AlertKind(kind), title, text, service, verdict, fields=fields)
        delivery = send(ctx, event)
        where = ", ".join(delivery.channels) or "nowhere"
        note = f"alert sent ({where})" if delivery.ok else f"alert NOT delivered: {delivery.error}"
    except Exception as exc:  # an alert never changes the outcome
        note = f"alert NOT delivered: {type(exc).__name__}: {exc}"
    notes.append(note)


def alert(
    d: InFlight,
    kind: str,
    title: str,
    text: str,
    verdict: Verdict | None,
    extra: dict[str, str] | None = None,
) -> None:
    """:func:`notify` about the deploy in flight (its revisions, commit, id and deciding
    canary metric as fields), noted in its report."""
    report = d.report
    fields = {
        "new revision": report.new_revision or "-",
        "previous revision": d.before,
        "commit": (report.commit or "")[:12],
        "deploy id": report.deploy_id,
    }
    if report.canary_analysis and report.canary_analysis.get("deciding_metric"):
        fields["canary metric"] = str(report.canary_analysis["deciding_metric"])
    notify(d.ctx, report.notes, d.service, kind, title, text, verdict, {**fields, **(extra or {})})


def wait_ready(d: InFlight, revision: str) -> CheckResult:
    timeout_s = d.settings.ready_timeout_s
    started = time.perf_counter()
    deadline = d.monotonic() + timeout_s
    while True:
        rev = d.ctx.cloudrun.get_revision(d.service, revision)
        if rev.ready or d.monotonic() >= deadline:
            message = (
                f"{revision} is Ready"
                if rev.ready
                else f"{revision} not Ready after {timeout_s:g}s: "
                f"{rev.message or 'no reason given'}"
            )
            return CheckResult.timed(
                "revision_ready",
                d.service,
                Verdict.PASS if rev.ready else Verdict.FAIL,
                message,
                value=revision,
                query=f"run_v2 GetRevision {revision}",
                threshold=f"Ready within {timeout_s:g}s",
                started=started,
            )
        d.sleep(max(d.settings.health_interval_s, 0.1))


def wait_healthy(d: InFlight, url: str, revision: str) -> CheckResult:
    settings = d.settings
    started = time.perf_counter()
    deadline = d.monotonic() + settings.health_wait_s
    attempts = 0
    while True:
        attempts += 1
        result = probe_health(
            d.ctx,
            d.service,
            url,
            timeout_s=settings.health_timeout_s,
            name="new_revision_health",
            revision=revision,
        )
        if result.verdict is Verdict.PASS or d.monotonic() >= deadline:
            result.duration_s = round(time.perf_counter() - started, 3)
            result.threshold = (
                f"HTTP 2xx within {settings.health_wait_s:g}s "
                f"(probe timeout {settings.health_timeout_s:g}s)"
            )
            result.message += f" after {attempts} probe(s)"
            return result
        d.sleep(settings.health_interval_s)
