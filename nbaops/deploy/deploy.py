"""``inv deploy``: pre-deploy → lock → image → new revision → health → observation → outcome.

The order is what makes it safe:

1. **Input** is validated before anything is read or changed (unknown service, ``--canary``
   outside 1–99, a bad ``--model-version`` or ``--image``): exit 2, no audit row.
2. **Pre-deploy checklist** (:mod:`nbaops.deploy.predeploy`): any FAIL (exit 1) or ERROR
   (exit 3) refuses the deploy before anything changes (audit outcome ``refused``).
3. **Lock** (:mod:`nbaops.deploy.lock`): a second deploy of the same service refuses with
   who holds the lock and since when (exit 2, audit ``refused``).
4. **Image** (:mod:`nbaops.deploy.image`).
5. **New revision** with labels ``commit-sha``, ``deployed-by``, ``nbaops-deploy-id`` (and
   ``model-version`` plus the service's ``model_env`` for ``--model-version``), deployed
   with the ``candidate`` tag and **no traffic**: the old revision keeps serving.
6. **Ready, then healthy**: the new revision must become Ready and answer its health
   endpoint through its tag URL *before* it gets any traffic.
7. **Traffic**: ``--canary PCT`` gives it PCT%, otherwise 100%.
8. **Observation window** (:mod:`nbaops.deploy.observe`): its health and the service's
   ``post_deploy`` checks, measured repeatedly.
9. **Outcome** (:mod:`nbaops.deploy.outcome`): promote; or roll back (100% to the
   revision that served before, verified: traffic and health) and alert; or hold. A
   failing rollback ends with exit 3 and the exact manual commands.
10. **Audit row** in ``nba_ops.deploys``, written in ``finally`` (spooled locally if the
    warehouse is unreachable); the lock is released in ``finally`` too. Ctrl-C restores
    the previous traffic if it had moved, releases the lock and records ``interrupted``.

Any error after the first mutation (an API 5xx, a timeout, a failed operation) restores
the previous revision's traffic and verifies it (outcome ``failed``, exit 3).

``--dry-run`` runs the read-only checklist and prints the plan — every request and query,
with byte estimates in prod — and changes nothing: no lock, no PATCH, no audit row.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbaops.deploy import audit, lock
from nbaops.deploy.deploy_report import DeployReport
from nbaops.deploy.heartbeat import Heartbeat
from nbaops.deploy.image import ImagePlan, plan_image, realize, validate_image
from nbaops.deploy.journal import JOURNAL_ANNOTATION, Journal, crash_point
from nbaops.deploy.observe import ObservationResult, ObservationRound, observe
from nbaops.deploy.outcome import Action, Decision, decide
from nbaops.deploy.plan import write_plan
from nbaops.deploy.predeploy import (
    PredeployResult,
    health_url,
    probe_health,
    run_predeploy,
)
from nbaops.deploy.progress import Progress
from nbaops.deploy.rollback import RollbackResult, manual_commands, restore_traffic
from nbaops.deploy.settings import DeploySettings
from nbaops.errors import CloudRunError, UsageError
from nbaops.verdict import CheckResult, Verdict, worst

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import ServiceInfo
    from nbaops.config import ServiceConfig
    from nbaops.context import Context

MODEL_VERSION_RE = re.compile(r"^v[0-9]{1,4}(?:[._-][0-9a-z]{1,20})?$")
_LABEL_BAD = re.compile(r"[^a-z0-9_-]+")
MODEL_LABEL = "model-version"


def sanitize_label(value: str) -> str:
    """A Cloud Run label value: lowercase ``[a-z0-9_-]``, at most 63 characters."""
    cleaned = _LABEL_BAD.sub("_", value.lower()).strip("_")
    return cleaned[:63] or "unknown"


@dataclass(frozen=True)
class DeployRequest:
    """What the user asked for (the ``inv deploy`` flags)."""

    service: str
    image: str | None = None
    canary: int | None = None
    model_version: str | None = None
    dry_run: bool = False
    no_rollback: bool = False
    skip_tests: bool = False
    force_unlock: bool = False


def validate_request(ctx: Context, req: DeployRequest) -> tuple[ServiceConfig, DeploySettings]:
    """Check every input before anything is read or changed.

    Raises:
        UsageError: unknown service, bad ``--canary``/``--model-version``/``--image``.
        ConfigError: an invalid ``deploy:`` section.
    """
    cfg = ctx.config.service(req.service)
    if req.canary is not None and not 1 <= req.canary <= 99:
        raise UsageError(f"--canary: {req.canary} is not a percentage from 1 to 99")
    if req.model_version is not None:
        if not cfg.model_env:
            raise UsageError(
                f"--model-version: {req.service} has no model (only services with model_env, "
                f"e.g. {', '.join(n for n, s in ctx.config.services.items() if s.model_env)})"
            )
        if not MODEL_VERSION_RE.match(req.model_version):
            raise UsageError(
                f"--model-version: {req.model_version!r} is not a model version like v9 or v10"
            )
    if req.image is not None:
        validate_image(req.image)
    if req.canary is not None:
        from nbaops.canary.run import canary_settings

        canary_settings(ctx)  # an invalid deploy.canary_analysis is exit 2 before any change
    return cfg, DeploySettings.from_config(ctx.config.section("deploy"))


# --------------------------------------------------------------------------- helpers


@dataclass
class _State:
    """What has changed so far (decides what an error or Ctrl-C must undo)."""

    lock_acquired: bool = False
    mutated: bool = False  # a deploy/traffic PATCH was sent (maybe applied)
    settled: bool = False  # the final traffic state was reached and verified
    lease_lost: bool = False  # the lease was taken over: hands off the service


@dataclass
class _Deploy:
    """One deploy in flight: what was asked, its settings, and what it has done so far."""

    ctx: Context
    req: DeployRequest
    cfg: ServiceConfig
    settings: DeploySettings
    report: DeployReport
    record: audit.AuditRecord
    progress: Progress
    sleep: Callable[[float], None]
    state: _State = field(default_factory=_State)
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
        assert self.journal is not None
        self.journal.advance(phase, **changes)
        lock_journal = self.journal
        from nbaops.deploy.journal import record

        record(self.ctx.cloudrun, self.service, lock_journal, self.token)

    def restore(self, from_revision: str | None) -> RollbackResult:
        """100% back to the previous revision, verified (traffic and health)."""
        if self.journal is not None and self.lease is not None:
            self.log("rollback")
        return restore_traffic(
            self.ctx,
            self.cfg,
            self.before,
            from_revision=from_revision,
            health_timeout_s=self.settings.health_timeout_s,
            progress=self.progress,
            fence=self.fence if self.lease is not None else None,
        )


def _alert(
    d: _Deploy,
    kind: str,
    title: str,
    text: str,
    verdict: Verdict | None,
    fields: dict[str, str],
) -> None:
    """Send a deploy/rollback alert and note its delivery in the report (never raises)."""
    try:
        from nbaops.alerts import AlertEvent, AlertKind, send

        delivery = send(
            d.ctx,
            AlertEvent(
                kind=AlertKind(kind),
                title=title,
                text=text,
                service=d.service,
                verdict=verdict,
                fields=fields,
            ),
        )
        where = ", ".join(delivery.channels) or "nowhere"
        note = f"alert sent ({where})" if delivery.ok else f"alert NOT delivered: {delivery.error}"
    except Exception as exc:  # an alert never changes the outcome
        note = f"alert NOT delivered: {type(exc).__name__}: {exc}"
    d.report.notes.append(note)


def _cas(write: Callable[[], ServiceInfo]) -> ServiceInfo:
    """Run a fenced write, again after a lost compare-and-swap (our own heartbeat renewing
    the lease between the write's read and its PATCH): a 409 ABORTED applied nothing."""
    from nbaops.adapters.cloudrun import ConcurrentModificationError

    for _ in range(lock.CAS_ATTEMPTS - 1):
        try:
            return write()
        except ConcurrentModificationError:
            continue
    return write()


def _wait_ready(d: _Deploy, revision: str) -> CheckResult:
    timeout_s = d.settings.ready_timeout_s
    started = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    while True:
        rev = d.ctx.cloudrun.get_revision(d.service, revision)
        if rev.ready or time.monotonic() >= deadline:
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


def _wait_healthy(d: _Deploy, url: str, revision: str) -> CheckResult:
    settings = d.settings
    started = time.perf_counter()
    deadline = time.monotonic() + settings.health_wait_s
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
        if result.verdict is Verdict.PASS or time.monotonic() >= deadline:
            result.duration_s = round(time.perf_counter() - started, 3)
            result.threshold = (
                f"HTTP 2xx within {settings.health_wait_s:g}s "
                f"(probe timeout {settings.health_timeout_s:g}s)"
            )
            result.message += f" after {attempts} probe(s)"
            return result
        d.sleep(settings.health_interval_s)


# --------------------------------------------------------------------------- the deploy


def run_deploy(
    ctx: Context,
    req: DeployRequest,
    *,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeployReport:
    """Run one deploy (see the module docstring). Returns the report; exit code by verdict.

    Raises:
        UsageError: bad input (nothing read or changed, no audit row).
        LockHeldError: another deploy holds the lock (``refused`` audit row written).
        KeyboardInterrupt: after restoring traffic, releasing the lock and writing the
            ``interrupted`` audit row.
    """
    cfg, settings = validate_request(ctx, req)
    progress = progress or Progress.silent()
    service = cfg.name
    deploy_id = sanitize_label(audit.new_deploy_id(service))
    actor = lock.default_holder()
    report = DeployReport(
        service=service, deploy_id=deploy_id, dry_run=req.dry_run, canary=req.canary
    )
    record = audit.AuditRecord(
        deploy_id=deploy_id,
        service=service,
        action="deploy",
        actor=actor,
        profile=ctx.profile,
        canary_percent=req.canary,
        model_version=req.model_version,
        dry_run=req.dry_run,
    )
    d = _Deploy(ctx, req, cfg, settings, report, record, progress, sleep)
    state = d.state
    write_audit = not req.dry_run
    progress.step(
        "start",
        f"deploy {service} ({deploy_id}) on profile {ctx.profile}"
        + (" — DRY RUN" if req.dry_run else ""),
    )
    try:
        _run(d)
    except KeyboardInterrupt as exc:
        _interrupted(d, exc)
        raise
    except lock.LockHeldError as exc:
        report.outcome = "refused"
        record.note("lock", "FAIL", str(exc))
        record.finish("refused", str(exc))
        raise
    except lock.LeaseLostError as exc:
        state.lease_lost = True
        report.outcome = "failed"
        report.verdict_override = Verdict.ERROR
        report.summary = (
            f"LEASE LOST {service}: {exc.reason}; this deploy stopped changing the service "
            "at once (the deploy that took the lease owns it now)"
        )
        record.note("lease", "ERROR", report.summary)
        record.finish("failed", report.summary)
        progress.step("lease", report.summary, Verdict.ERROR)
    finally:
        _wind_up(d, write_audit)
    return report


def _interrupted(d: _Deploy, exc: KeyboardInterrupt) -> None:
    """Ctrl-C, SIGTERM or SIGHUP: restore the previous traffic if it had moved, record it.

    A second signal during the restore stops it; the exact traffic left is then read and
    reported (the journal stays, so the next command recovers the service).
    """
    report, record, progress, state = d.report, d.record, d.progress, d.state
    how = getattr(exc, "signal_name", None) or "Ctrl-C"
    report.outcome = "interrupted"
    message = f"interrupted ({how})"
    if state.mutated and not state.settled and report.revision_before and not state.lease_lost:
        progress.step("interrupt", f"{how}: restoring traffic to the previous revision")
        try:
            result = d.restore(report.new_revision)
            if result.ok:
                state.settled = True
                message += "; previous revision restored and verified"
            else:
                report.manual = result.manual
                message += "; restoring the previous revision FAILED: " + "; ".join(result.manual)
        except BaseException as again:  # a second signal: say exactly what is left
            second = getattr(again, "signal_name", None) or type(again).__name__
            message += f"; restore not completed ({second}); {_traffic_left(d)}"
            report.manual = manual_commands(d.ctx, d.service, d.before)
    report.summary = f"INTERRUPTED {d.service}: {message}"
    if how != "Ctrl-C":
        report.verdict_override = Verdict.ERROR
    record.finish("interrupted", message)
    if state.lock_acquired:
        fields = {"deploy id": report.deploy_id, "previous revision": d.before}
        _alert(d, "rollback", f"{d.service} deploy interrupted ({how})", message, None, fields)
    progress.step("outcome", report.summary, Verdict.ERROR)


def _traffic_left(d: _Deploy) -> str:
    try:
        info = d.ctx.cloudrun.get_service(d.service)
    except Exception as exc:  # the API is down too: say we do not know
        return f"traffic now UNKNOWN (could not read it: {type(exc).__name__})"
    split = ", ".join(f"{r} {p}%" for r, p in info.traffic_by_revision.items() if p)
    return f"traffic left: {split}; the next deploy/rollback/verify-deploy restores {d.before}"


def _wind_up(d: _Deploy, write_audit: bool) -> None:
    """Record the outcome in the journal, write the audit row, release the lease.

    In that order, so a crash at any point leaves either the journal (the next command
    recovers and, if the row is missing, writes it) or nothing to do.
    """
    ctx, report, record, progress, state = d.ctx, d.report, d.record, d.progress, d.state
    if d.heartbeat is not None:
        d.heartbeat.stop()
        report.notes.append(d.heartbeat.describe())
        if d.heartbeat.lost and not state.lease_lost:
            state.lease_lost = True
    if record.finished_at is None:
        record.finish(report.outcome, report.final_line())
    keep_journal = state.mutated and not state.settled  # unsettled: the next command recovers
    held = report.outcome == "held"
    ours = state.lock_acquired and not state.lease_lost
    if ours and d.journal is not None and not keep_journal:
        try:
            if held:
                d.log("held", outcome="held", summary=report.final_line()[:500])
            else:
                d.log("finished", outcome=record.outcome, summary=report.final_line()[:500])
        except Exception as exc:  # the lease is gone or the API failed: recovery covers it
            report.notes.append(f"could not journal the outcome: {exc}")
    if write_audit and record.outcome != "planned":
        record.commit_sha = report.commit
        record.image = report.image
        record.revision_before = report.revision_before
        record.revision_after = report.revision_after
        if d.journal is not None:
            for step in d.journal.steps:
                record.note("journal", "PASS", f"{step['step']} at {step['at']}")
        if state.lease_lost and audit.row_outcome(ctx, report.deploy_id, record.started_at):
            report.notes.append("the deploy that took over already recorded this attempt")
        else:
            written = audit.write(ctx, record)
            if not written.written:
                report.notes.append(
                    f"audit row spooled locally, retried next time ({written.error})"
                )
            progress.step(
                "audit",
                f"row {report.deploy_id} outcome={record.outcome}"
                + ("" if written.written else " (spooled)"),
            )
    crash_point("audit:written")
    if ours:
        clear = not keep_journal and not held
        try:
            lock.release(
                ctx.cloudrun,
                d.service,
                report.deploy_id,
                extra={JOURNAL_ANNOTATION: None} if clear else None,
            )
            progress.step("unlock", "deploy lease released" + ("" if clear else "; journal kept"))
        except Exception as exc:  # the lease lapses by itself; say so
            report.notes.append(
                f"could not release the deploy lease ({exc}); it lapses after "
                f"{d.settings.lock_ttl_s:g}s and the next command recovers it"
            )


def _run(d: _Deploy) -> None:
    ctx, req, report, record, progress = d.ctx, d.req, d.report, d.record, d.progress
    service = d.service
    # ---- 0. an interrupted deploy of this service is recovered first
    if not req.dry_run:
        if req.force_unlock:
            _force_unlock(d)
        if not _recover_interrupted(d):
            return
    # ---- 1. pre-deploy
    progress.step("pre-deploy", "running the eight checks")
    pre: PredeployResult = run_predeploy(
        ctx, d.cfg, skip_tests=req.skip_tests, progress=lambda r: progress.check("pre-deploy", r)
    )
    report.predeploy = pre.checks
    for check in pre.checks:
        record.add("pre-deploy", check)
    report.commit = pre.head
    current = pre.current
    report.revision_before = current.serving.name if current and current.serving else None
    report.revision_after = report.revision_before
    blocking = pre.blocking
    if blocking and not req.dry_run:
        verdict = worst(c.verdict for c in blocking)
        report.outcome = "refused"
        report.summary = (
            f"REFUSED deploy {service}: pre-deploy {verdict.value} "
            f"({', '.join(c.name for c in blocking)}); nothing changed"
        )
        record.finish("refused", report.summary)
        return
    if current is None or report.commit is None or report.revision_before is None:
        # Only reachable in a dry run whose checklist already reported the ERROR.
        report.outcome = "planned"
        record.outcome = "planned"
        report.summary = (
            f"DRY RUN deploy {service}: the checklist could not read the "
            "current state; nothing changed"
        )
        return
    commit = report.commit
    # ---- 2. plan the image, labels and traffic
    img: ImagePlan = plan_image(
        ctx, service, commit, given=req.image, current_image=current.service.image
    )
    report.image = img.ref
    labels = {
        "commit-sha": commit.lower(),
        "deployed-by": sanitize_label(record.actor),
        "nbaops-deploy-id": report.deploy_id,
    }
    env: dict[str, str] = {}
    if req.model_version:
        labels[MODEL_LABEL] = sanitize_label(req.model_version)
        env[d.cfg.model_env or "MODEL_VERSION"] = req.model_version
    if req.dry_run:
        write_plan(d, img, labels, env, current.service)
        return
    # ---- 3. lease, with the journal's first entry in the same write
    journal = Journal.start(
        report.deploy_id,
        "deploy",
        record.actor,
        ctx.cloudrun.get_service(service),
        commit=commit,
        image=img.ref,
        canary=req.canary,
        model_version=req.model_version,
    )
    crash_point("lock:before")
    acquired = lock.acquire(
        ctx.cloudrun,
        service,
        holder=record.actor,
        deploy_id=report.deploy_id,
        ttl_s=d.settings.lock_ttl_s,
        extra={JOURNAL_ANNOTATION: journal.to_annotation()},
    )
    d.state.lock_acquired = True
    d.lease, d.journal = acquired.lock, journal
    d.heartbeat = Heartbeat(ctx.cloudrun, service, acquired.lock, d.settings.lock_ttl_s).start()
    crash_point("lock:after")
    if acquired.took_over is not None:
        report.notes.append(
            f"took over the expired lock of {acquired.took_over.holder} "
            f"(since {acquired.took_over.since.isoformat()})"
        )
    progress.step(
        "lock",
        f"acquired for {record.actor}: lease of {d.settings.lock_ttl_s:g}s renewed every "
        f"{d.heartbeat.interval_s:g}s (generation {acquired.lock.generation}); journal "
        f"records the pre-deploy traffic ({journal.before_text()})",
    )
    try:
        _mutate(d, img, labels, env)
    except (KeyboardInterrupt, lock.LockHeldError, lock.LeaseLostError):
        raise
    except Exception as exc:
        _recover(d, exc)


def _recover_interrupted(d: _Deploy) -> bool:
    """Recover an interrupted deploy of this service (restore, audit, alert) before ours.

    Returns False when the service could not be read or recovered: the deploy is then
    refused (ERROR, audit row) before it changes anything itself.
    """
    from nbaops.deploy.recovery import recover

    try:
        rec = recover(
            d.ctx,
            d.cfg,
            actor=d.record.actor,
            ttl_s=d.settings.lock_ttl_s,
            health_timeout_s=d.settings.health_timeout_s,
            progress=d.progress,
            sleep=d.sleep,
        )
    except CloudRunError as exc:
        d.report.outcome = "refused"
        d.report.verdict_override = Verdict.ERROR
        d.report.summary = (
            f"REFUSED deploy {d.service}: could not check for an interrupted deploy ({exc}); "
            "this deploy changed nothing"
        )
        d.record.note("recovery", "ERROR", str(exc))
        d.record.finish("refused", d.report.summary)
        d.progress.step("recovery", d.report.summary, Verdict.ERROR)
        return False
    if rec is not None:
        d.report.steps.append(rec.to_check())
        d.report.notes += [rec.message, *rec.notes]
        d.record.note("recovery", "WARN", rec.message)
    return True


def _force_unlock(d: _Deploy) -> None:
    """Remove any lock and audit that as its own row (action ``force-unlock``)."""
    ctx, service = d.ctx, d.service
    record = audit.AuditRecord(
        deploy_id=sanitize_label(audit.new_deploy_id(service)),
        service=service,
        action="force-unlock",
        actor=d.record.actor,
        profile=ctx.profile,
    )
    try:
        removed = lock.force_unlock(ctx.cloudrun, service)
        text = (
            f"removed the lock of {removed.holder} (since {removed.since.isoformat()}, "
            f"deploy {removed.deploy_id})"
            if removed
            else "no lock was held"
        )
        record.note("force-unlock", "WARN", text)
        record.finish("success", text)
        d.progress.step("lock", f"--force-unlock: {text}", Verdict.WARN)
        d.report.notes.append(f"--force-unlock: {text}")
    except Exception as exc:
        record.finish("failed", f"force-unlock failed: {exc}")
        raise
    finally:
        if record.finished_at is None:
            record.finish("interrupted", "interrupted during --force-unlock")
        audit.write(ctx, record)


def _mutate(d: _Deploy, img: ImagePlan, labels: dict[str, str], env: dict[str, str]) -> None:
    from nbaops.adapters.cloudrun import TrafficSplit, new_revision_name

    ctx, req, settings, report, progress = d.ctx, d.req, d.settings, d.report, d.progress
    service = d.service
    tag = settings.candidate_tag
    before = d.before
    # ---- 4. image
    started = time.perf_counter()
    progress.step("image", img.describe())
    image = realize(ctx, img)
    report.image = image
    report.steps.append(
        CheckResult.timed(
            "image", service, Verdict.PASS, img.describe(), value=image, started=started
        )
    )
    # ---- 5. new revision, tagged, no traffic
    started = time.perf_counter()
    name = new_revision_name(service, [r.name for r in ctx.cloudrun.list_revisions(service)])
    d.log("revision", new_revision=name, image=image)
    progress.step("revision", f"creating {name} from {image} (tag {tag}, no traffic)")
    d.state.mutated = True
    info = _cas(
        lambda: ctx.cloudrun.deploy_revision(
            service,
            image=image,
            labels=labels,
            env=env or None,
            tag=tag,
            no_traffic=True,
            revision_name=name,
            fence=d.fence,
        )
    )
    crash_point("revision:created")
    new = info.latest_created_revision
    if not new or new == before:
        raise CloudRunError(f"the deploy created no new revision (latest is {new})")
    report.new_revision = new
    report.steps.append(
        CheckResult.timed(
            "new_revision",
            service,
            Verdict.PASS,
            f"created {new} with labels {labels}",
            value=new,
            query=f"run_v2 UpdateService {service} (template, tag {tag})",
            started=started,
        )
    )
    progress.step("revision", f"created {new}; {before} still serves")
    # ---- 6. Ready, then healthy before any traffic
    ready = _wait_ready(d, new)
    report.steps.append(ready)
    progress.check("ready", ready)
    url = ""
    if ready.verdict is Verdict.PASS:
        info = ctx.cloudrun.get_service(service)
        url = health_url(ctx, info, new, d.cfg.health_path)
        gate = _wait_healthy(d, url, new)
        report.steps.append(gate)
        progress.check("health", gate)
    else:
        gate = ready
    if gate.verdict is not Verdict.PASS:
        decision = decide(
            Verdict.FAIL, on_inconclusive=settings.on_inconclusive, no_rollback=req.no_rollback
        )
        _finish(d, decision, f"new revision {new} failed before receiving traffic: {gate.message}")
        return
    # ---- 7. traffic
    percent = req.canary or 100
    splits = [TrafficSplit(new, percent, tag)]
    if percent < 100:
        splits.append(TrafficSplit(before, 100 - percent))
    started = time.perf_counter()
    progress.step(
        "traffic", f"{new} {percent}%" + (f", {before} {100 - percent}%" if percent < 100 else "")
    )
    d.log("traffic")
    _cas(lambda: ctx.cloudrun.set_traffic(service, splits, fence=d.fence))
    crash_point("traffic:moved")
    report.revision_after = new if percent == 100 else before
    report.steps.append(
        CheckResult.timed(
            "traffic",
            service,
            Verdict.PASS,
            f"{new} now receives {percent}%",
            value=percent,
            query=f"run_v2 UpdateService {service} traffic",
            started=started,
        )
    )
    # ---- 8. observation window
    policy = settings.observation
    progress.step("observe", policy.describe())
    from nbaops.canary.run import canary_rounds

    canary = canary_rounds(
        ctx,
        service,
        baseline=before,
        canary=new,
        percent=percent,
        step=progress.step,
        rounds=policy.count,
    )

    def measure(index: int) -> list[CheckResult]:
        from nbaops.checks import run_post_deploy

        health = probe_health(
            ctx,
            service,
            url,
            timeout_s=settings.health_timeout_s,
            name="new_revision_health",
            revision=new,
        )
        checks = [health, *run_post_deploy(ctx, d.cfg, revision=new)]
        return [*checks, *canary(index)] if canary is not None else checks

    def on_round(rnd: ObservationRound) -> None:
        progress.step("observe", rnd.summary(), rnd.verdict)
        if d.heartbeat is not None and d.heartbeat.lost:  # stop at once, say so
            raise lock.LeaseLostError(service, report.deploy_id, d.heartbeat.lost)

    started = time.perf_counter()
    obs: ObservationResult = observe(measure, policy, sleep=d.sleep, on_round=on_round)
    obs_check = obs.to_check(service, policy)
    obs_check.duration_s = round(time.perf_counter() - started, 3)
    report.steps.append(obs_check)
    verdict, reason = obs.verdict, obs.reason
    if canary is not None and canary.last is not None:
        verdict, reason = canary.conclude(verdict, reason)
        report.canary_analysis = canary.to_json()
        d.record.note("canary_analysis", canary.last.verdict.value, canary.last.summary())
    decision = decide(
        verdict, on_inconclusive=settings.on_inconclusive, no_rollback=req.no_rollback
    )
    _finish(d, decision, reason)


def _finish(d: _Deploy, decision: Decision, reason: str) -> None:
    """Carry out the decision: promote, roll back or hold; alert; set the outcome."""
    from nbaops.adapters.cloudrun import TrafficSplit

    ctx, report, record, progress = d.ctx, d.report, d.record, d.progress
    service = d.service
    new = report.new_revision or ""
    before = d.before
    for step in report.steps:
        record.add("deploy", step)
    fields = {
        "new revision": new,
        "previous revision": before,
        "commit": (report.commit or "")[:12],
        "deploy id": report.deploy_id,
    }
    if report.canary_analysis and report.canary_analysis.get("deciding_metric"):
        fields["canary metric"] = str(report.canary_analysis["deciding_metric"])
    if d.lease is not None:  # no outcome is acted on (or claimed) without the lease
        d.fence(ctx.cloudrun.get_service(service))
    if decision.action is Action.PROMOTE:
        started = time.perf_counter()
        info: ServiceInfo = ctx.cloudrun.get_service(service)
        if info.traffic_by_revision.get(new, 0) != 100:
            progress.step("promote", f"{new} → 100%")
            d.log("promote")
            info = _cas(
                lambda: ctx.cloudrun.set_traffic(service, [TrafficSplit(new, 100)], fence=d.fence)
            )
            crash_point("promote:moved")
            info = ctx.cloudrun.get_service(service)
        serving = info.traffic_by_revision.get(new, 0)
        if serving != 100:
            raise CloudRunError(f"promotion not confirmed: {new} serves {serving}%")
        d.state.settled = True
        report.revision_after = new
        report.steps.append(
            CheckResult.timed(
                "promote",
                service,
                Verdict.PASS,
                f"{new} serves 100%",
                value=100,
                query=f"run_v2 GetService {service}",
                started=started,
            )
        )
        record.add("deploy", report.steps[-1])
        report.outcome = "success"
        report.verdict_override = worst(
            [Verdict.PASS, *(c.verdict for c in [*report.predeploy, *report.steps])]
        )
        report.summary = (
            f"DEPLOYED {service}: {new} serves 100% (commit "
            f"{(report.commit or '')[:12]}, was {before}); {reason}"
        )
        _alert(d, "deploy", f"{service} deployed", report.summary, Verdict.PASS, fields)
        record.finish("success", report.summary)
        progress.step("outcome", report.summary, Verdict.PASS)
        return
    if decision.action is Action.HOLD:
        d.state.settled = True
        report.outcome = "held"
        report.verdict_override = decision.verdict
        info = ctx.cloudrun.get_service(service)
        split = ", ".join(f"{r} {p}%" for r, p in info.traffic_by_revision.items() if p)
        report.summary = (
            f"HELD {service}: {decision.reason}; traffic left as is ({split}); "
            f"decide by hand: inv rollback --service {service} --to {before}"
        )
        report.manual = manual_commands(ctx, service, before)
        _alert(
            d,
            "deploy",
            f"ACTION NEEDED: {service} deploy held ({decision.verdict.value})",
            f"{report.summary}. {reason}",
            decision.verdict,
            fields,
        )
        record.finish("held", f"{report.summary}. {reason}")
        progress.step("outcome", report.summary, decision.verdict)
        return
    # ROLLBACK
    progress.step("rollback", f"{decision.reason}: {reason}", decision.verdict)
    result = d.restore(new)
    _after_rollback(d, decision.verdict, result, "rolled_back", reason, fields)


def _after_rollback(
    d: _Deploy,
    verdict: Verdict,
    result: RollbackResult,
    outcome: str,
    reason: str,
    fields: dict[str, str],
) -> None:
    report, record = d.report, d.record
    service = d.service
    report.steps.extend(result.checks)
    for check in result.checks:
        record.add("rollback", check)
    before = d.before
    if result.ok:
        d.state.settled = True
        report.outcome = outcome
        report.revision_after = before
        report.verdict_override = verdict
        what = "ROLLED BACK" if outcome == "rolled_back" else "DEPLOY FAILED"
        report.summary = (
            f"{what} {service} ({verdict.value}): {reason}; {before} serves 100% "
            f"again, verified (new revision {report.new_revision} has no traffic)"
        )
        loud = "" if verdict is Verdict.FAIL else "ACTION NEEDED: "
        _alert(
            d,
            "rollback",
            f"{loud}{service} deploy rolled back ({verdict.value})",
            report.summary,
            verdict,
            fields,
        )
    else:
        report.outcome = "rollback_failed"
        report.revision_after = None
        report.verdict_override = Verdict.ERROR
        report.manual = result.manual
        report.summary = (
            f"ROLLBACK FAILED {service}: {reason}; traffic may still reach "
            f"{report.new_revision}: run the manual commands above"
        )
        _alert(
            d,
            "rollback",
            f"ROLLBACK FAILED: {service} needs manual action",
            report.summary + " Commands: " + " && ".join(result.manual[-2:]),
            Verdict.ERROR,
            {**fields, "manual": result.manual[-2]},
        )
    record.finish(report.outcome, report.summary)
    d.progress.step("outcome", report.summary, report.verdict)


def _recover(d: _Deploy, exc: Exception) -> None:
    """An error after the lock: restore and verify the previous revision if anything moved."""
    report, record, progress, state = d.report, d.record, d.progress, d.state
    service = d.service
    text = f"{type(exc).__name__}: {exc}".splitlines()[0][:400]
    report.steps.append(CheckResult.error("deploy_error", service, exc))
    progress.step("error", text, Verdict.ERROR)
    fields = {
        "new revision": report.new_revision or "-",
        "previous revision": d.before,
        "commit": (report.commit or "")[:12],
        "deploy id": report.deploy_id,
    }
    for step in report.steps:
        record.add("deploy", step)
    if not state.mutated or state.settled:
        report.outcome = "failed"
        report.verdict_override = Verdict.ERROR
        report.summary = f"DEPLOY FAILED {service}: {text}"
        if state.settled:
            report.summary += " (after the outcome was reached)"
        _alert(d, "deploy", f"{service} deploy failed", report.summary, Verdict.ERROR, fields)
        record.finish("failed", report.summary)
        progress.step("outcome", report.summary, Verdict.ERROR)
        return
    result = d.restore(report.new_revision)
    _after_rollback(d, Verdict.ERROR, result, "failed", f"deploy error: {text}", fields)
