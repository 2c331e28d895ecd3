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

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from nbaops import clock
from nbaops.deploy import audit, lock
from nbaops.deploy.deploy_report import DeployReport
from nbaops.deploy.heartbeat import Heartbeat
from nbaops.deploy.image import ImagePlan, plan_image, realize
from nbaops.deploy.inflight import InFlight, alert, wait_healthy, wait_ready
from nbaops.deploy.journal import JOURNAL_ANNOTATION, Journal, crash_point, traffic_text
from nbaops.deploy.observe import ObservationRound, observe
from nbaops.deploy.outcome import decide
from nbaops.deploy.plan import write_plan
from nbaops.deploy.predeploy import health_url, probe_health, run_predeploy
from nbaops.deploy.progress import Progress
from nbaops.deploy.request import MODEL_LABEL, DeployRequest, sanitize_label, validate_request
from nbaops.deploy.restore import manual_commands
from nbaops.deploy.settle import recover_from_error, settle
from nbaops.deploy.signals import signal_name
from nbaops.errors import CloudRunError, first_line
from nbaops.verdict import CheckResult, Verdict, worst

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import ServiceInfo
    from nbaops.context import Context

__all__ = ["DeployRequest", "run_deploy"]  # DeployRequest: the callers' one import of a deploy


# --------------------------------------------------------------------------- the deploy


def run_deploy(
    ctx: Context,
    req: DeployRequest,
    *,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> DeployReport:
    """Run one deploy (see the module docstring). Returns the report; exit code by verdict.

    ``sleep`` and ``monotonic`` are the deploy's clock, injected together: every wait
    sleeps through the one and measures its deadline on the other.

    Raises:
        UsageError: bad input (nothing read or changed, no audit row).
        LockHeldError: another deploy holds the lock (``refused`` audit row written).
        UnrecoveredDeployError: deploys kept dying under us (recovered one; ``refused``).
        KeyboardInterrupt: after restoring traffic, releasing the lock and writing the
            ``interrupted`` audit row.
    """
    cfg, settings = validate_request(ctx, req)
    progress = progress or Progress.silent()
    service = cfg.name
    deploy_id = sanitize_label(audit.new_deploy_id(service))
    actor = lock.default_holder()
    report = DeployReport(
        service=service,
        deploy_id=deploy_id,
        dry_run=req.dry_run,
        canary=req.canary,
        model_version=req.model_version,
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
    d = InFlight(ctx, req, cfg, settings, report, record, progress, sleep, monotonic)
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
    except (lock.LockHeldError, lock.UnrecoveredDeployError) as exc:
        report.outcome = "refused"
        record.note("lock", "FAIL", str(exc))
        record.finish("refused", str(exc))
        raise
    except lock.LeaseLostError as exc:
        d.lease_lost = True
        report.outcome = "failed"
        report.verdict_override = Verdict.ERROR
        report.summary = (
            f"LEASE LOST {service}: {exc.reason}; this deploy stopped changing the service "
            "at once (the deploy that took the lease owns it now)"
        )
        record.note("lease", "ERROR", report.summary)
        record.finish("failed", report.summary)
        progress.step("lease", report.summary, Verdict.ERROR)
    except Exception as exc:  # raised on (e.g. the lease's API call): the row says why
        if record.finished_at is None:
            record.finish("failed", f"DEPLOY FAILED {service}: {first_line(exc, typed=True)}")
        raise
    finally:
        _wind_up(d, write_audit)
    return report


def _interrupted(d: InFlight, exc: KeyboardInterrupt) -> None:
    """Ctrl-C, SIGTERM or SIGHUP: restore the previous traffic if it had moved, record it.

    A second signal during the restore stops it; the exact traffic left is then read and
    reported (the journal stays, so the next command recovers the service).
    """
    report, record, progress = d.report, d.record, d.progress
    how = signal_name(exc)
    report.outcome = "interrupted"
    message = f"interrupted ({how})"
    if d.settled and report.summary:  # the outcome was reached, verified: nothing to undo
        message += f" after the deploy had ended: {report.summary}"
    if d.mutated and not d.settled and report.revision_before and not d.lease_lost:
        progress.step("interrupt", f"{how}: restoring traffic to the previous revision")
        try:
            result = d.restore(report.new_revision)
            if result.ok:
                d.settled = True
                report.revision_after = d.before  # what serves after the attempt
                message += "; previous revision restored and verified"
            else:
                report.manual = result.manual
                report.revision_after = None  # unknown: the manual commands say what to do
                message += "; restoring the previous revision FAILED: " + "; ".join(result.manual)
        except lock.LeaseLostError as lost:  # taken over: the new holder owns the service
            d.lease_lost = True
            report.revision_after = None
            message += (
                f"; not restored: this deploy lost its lease ({lost.reason}): the command "
                "that took it over owns the service now"
            )
        except BaseException as again:  # a second signal: say exactly what is left
            report.revision_after = None  # split between the two: the message has the traffic
            second = signal_name(again, type(again).__name__)
            message += f"; restore not completed ({second}); {_traffic_left(d)}"
            report.manual = manual_commands(d.ctx, d.service, d.before)
    report.summary = f"INTERRUPTED {d.service}: {message}"
    if how != "Ctrl-C":
        report.verdict_override = Verdict.ERROR
    record.finish("interrupted", message)
    if d.lock_acquired:
        alert(d, "rollback", f"{d.service} deploy interrupted ({how})", message, None)
    progress.step("outcome", report.summary, Verdict.ERROR)


def _traffic_left(d: InFlight) -> str:
    try:
        info = d.ctx.cloudrun.get_service(d.service)
    except Exception as exc:  # the API is down too: say we do not know
        return f"traffic now UNKNOWN (could not read it: {type(exc).__name__})"
    split = traffic_text(info.traffic_by_revision)
    return f"traffic left: {split}; the next deploy/rollback/verify-deploy restores {d.before}"


def _wind_up(d: InFlight, write_audit: bool) -> None:
    """Record the outcome in the journal, write the audit row, release the lease.

    In that order, so a crash at any point leaves either the journal (the next command
    recovers and, if the row is missing, writes it) or nothing to do.
    """
    ctx, report, record, progress = d.ctx, d.report, d.record, d.progress
    if d.heartbeat is not None:
        d.heartbeat.stop()
        report.notes.append(d.heartbeat.describe())
        if d.heartbeat.lost:
            d.lease_lost = True
    if record.finished_at is None:
        record.finish(report.outcome, report.final_line())
    keep_journal = d.mutated and not d.settled  # unsettled: the next command recovers
    # d.held, not the outcome: a Ctrl-C after the hold makes the outcome "interrupted", and
    # the held journal must stay all the same (inv rollback's pre-deploy revision)
    held = d.held
    ours = d.lock_acquired and not d.lease_lost
    if ours and d.journal is not None and not keep_journal:
        try:  # a held deploy's outcome is "held" in the record too
            phase = "held" if held else "finished"
            d.log(phase, outcome=record.outcome, summary=report.final_line()[:500])
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
        if d.lease_lost and audit.row_outcome(ctx, report.deploy_id, record.started_at):
            report.notes.append("the deploy that took over already recorded this attempt")
        else:
            spooled = audit.write_noting(ctx, record, report.notes)
            progress.step(
                "audit",
                f"row {report.deploy_id} outcome={record.outcome}"
                + ("" if spooled is None else " (spooled)"),
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
    elif d.lease_tried and not d.lease_lost and report.outcome != "refused":
        # stopped inside the lease's compare-and-swap (a Ctrl-C or an error in its confirming
        # read): the write may have landed. release() removes only our deploy_id's lease,
        # with the journal written with it (no step after "lock" ran)
        try:
            lock.release(
                ctx.cloudrun, d.service, report.deploy_id, extra={JOURNAL_ANNOTATION: None}
            )
        except Exception as exc:  # the lease lapses by itself; say so
            report.notes.append(f"could not make sure no lease of this deploy is left ({exc})")


def _run(d: InFlight) -> None:
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
    pre = run_predeploy(
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
    img = plan_image(ctx, service, commit, given=req.image, current_image=current.service.image)
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
    crash_point("lock:before")
    d.lease_tried = True
    taken = _take_lease(d, commit, img.ref)
    if taken is None:
        return
    acquired, journal = taken
    d.lock_acquired = True
    d.lease, d.journal = acquired.lock, journal
    # "before" is what served when the lease was taken (the journal's read): traffic may
    # have moved since the checklist read it (a deploy that died meanwhile, recovered)
    report.revision_before = report.revision_after = journal.before_revision
    d.heartbeat = Heartbeat(ctx.cloudrun, service, acquired.lock, d.settings.lock_ttl_s).start()
    crash_point("lock:after")
    if acquired.took_over is not None:
        report.notes.append(
            f"took over the {acquired.took_over.lapsed_text(clock.now())} "
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
        recover_from_error(d, exc)


def _take_lease(d: InFlight, commit: str, image: str) -> tuple[lock.Acquired, Journal] | None:
    """The lease, written with our journal recording the traffic of the same read.

    A deploy that died while our checklist ran (its tests take minutes) may have left its
    journal under a lease that has lapsed since: it is recovered first (restored,
    audited, alerted), then the lease is taken. None: that recovery failed (refused).
    """
    from nbaops.deploy.recovery import inspect

    started: list[Journal] = []

    def journal_of_read(info: ServiceInfo) -> dict[str, str | None]:
        journal = Journal.start(
            d.report.deploy_id,
            "deploy",
            d.record.actor,
            info,
            commit=commit,
            image=image,
            canary=d.req.canary,
            model_version=d.req.model_version,
        )
        started[:] = [journal]
        return {JOURNAL_ANNOTATION: journal.to_annotation()}

    def unrecovered(info: ServiceInfo) -> str | None:
        found = inspect(info)
        return found.describe() if found is not None else None

    for attempt in (1, 2):
        try:
            acquired = lock.acquire(
                d.ctx.cloudrun,
                d.service,
                holder=d.record.actor,
                deploy_id=d.report.deploy_id,
                ttl_s=d.settings.lock_ttl_s,
                extra=journal_of_read,
                unrecovered=unrecovered,
            )
            return acquired, started[-1]
        except lock.UnrecoveredDeployError:
            if attempt == 2:  # another one died meanwhile: refuse rather than loop
                raise
            if not _recover_interrupted(d):
                return None
    raise AssertionError("unreachable")


def _recover_interrupted(d: InFlight) -> bool:
    """Recover an interrupted deploy of this service (restore, audit, alert) before ours.

    Returns False when the service could not be read: the deploy is then refused (ERROR,
    audit row) before it changes anything itself. An interrupted deploy that could not be
    restored is refused the same way, and its RecoveryFailedError (exit 3, what to run)
    raised.
    """
    from nbaops.deploy.recovery import RecoveryFailedError, recover

    try:
        rec = recover(d.ctx, d.cfg, progress=d.progress, sleep=d.sleep)
    except RecoveryFailedError as exc:
        d.report.outcome = "refused"
        d.report.summary = (
            f"REFUSED deploy {d.service}: the interrupted deploy it found could not be "
            f"restored ({exc}); this deploy changed nothing"
        )
        d.record.finish("refused", d.report.summary)
        raise
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


def _force_unlock(d: InFlight) -> None:
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


def _mutate(d: InFlight, img: ImagePlan, labels: dict[str, str], env: dict[str, str]) -> None:
    from nbaops.adapters.cloudrun import TrafficSplit, new_revision_name

    ctx, req, settings, report, progress = d.ctx, d.req, d.settings, d.report, d.progress
    service = d.service
    tag = settings.candidate_tag
    before = d.before
    # ---- 4. image
    started = time.perf_counter()
    progress.step("image", img.describe())
    image = realize(ctx, img, sleep=d.sleep, monotonic=d.monotonic)
    report.image = image
    d.passed("image", img.describe(), image, started)
    # ---- 5. new revision, tagged, no traffic
    started = time.perf_counter()
    name = new_revision_name(service, [r.name for r in ctx.cloudrun.list_revisions(service)])
    d.log("revision", new_revision=name, image=image)
    progress.step("revision", f"creating {name} from {image} (tag {tag}, no traffic)")
    d.mutated = True
    info = lock.retry_cas(
        lambda: ctx.cloudrun.deploy_revision(
            service,
            image=image,
            labels=labels,
            env=env or None,
            tag=tag,
            no_traffic=True,
            revision_name=name,
            fence=d.fence,
        ),
        f"{service}: could not create the new revision",
    )
    crash_point("revision:created")
    new = info.latest_created_revision
    if not new or new == before:
        raise CloudRunError(f"the deploy created no new revision (latest is {new})")
    report.new_revision = new
    call = f"run_v2 UpdateService {service} (template, tag {tag})"
    d.passed("new_revision", f"created {new} with labels {labels}", new, started, call)
    progress.step("revision", f"created {new}; {before} still serves")
    # ---- 6. Ready, then healthy before any traffic
    ready = wait_ready(d, new)
    report.steps.append(ready)
    progress.check("ready", ready)
    url = ""
    if ready.verdict is Verdict.PASS:
        info = ctx.cloudrun.get_service(service)
        url = health_url(ctx, info, new, d.cfg.health_path)
        gate = wait_healthy(d, url, new)
        report.steps.append(gate)
        progress.check("health", gate)
    else:
        gate = ready
    if gate.verdict is not Verdict.PASS:
        decision = decide(
            Verdict.FAIL, on_inconclusive=settings.on_inconclusive, no_rollback=req.no_rollback
        )
        settle(d, decision, f"new revision {new} failed before receiving traffic: {gate.message}")
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
    lock.retry_cas(
        lambda: ctx.cloudrun.set_traffic(service, splits, fence=d.fence),
        f"{service}: could not move traffic",
    )
    crash_point("traffic:moved")
    report.revision_after = new if percent == 100 else before
    call = f"run_v2 UpdateService {service} traffic"
    d.passed("traffic", f"{new} now receives {percent}%", percent, started, call)
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
        interval_s=policy.interval_s,
        monotonic=d.monotonic,
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
    extend = canary.extend if canary is not None else None
    obs = observe(measure, policy, sleep=d.sleep, on_round=on_round, extend=extend)
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
    settle(d, decision, reason)
