"""``inv rollback --service S [--to REVISION] [--dry-run]`` (:func:`run_rollback`).

It picks the newest ready revision older than the serving one unless ``--to`` names one,
takes the deploy lease with its journal (action ``rollback``: the traffic it found, its
target) in the same compare-and-swap, renews it with the deploy's
:class:`~nbaops.deploy.heartbeat.Heartbeat`, journals phase ``rollback`` (fenced) before
it restores traffic with :func:`nbaops.deploy.restore.restore_traffic` (100% to the target,
verified: traffic and health), writes an audit row (action ``rollback``), then removes
lease and journal in one write. Killed at any instant, the next command recovers it
(:mod:`nbaops.deploy.recovery`: its row is written, traffic is never routed back), and an
``inv rollback`` after a killed one that had moved traffic stops there.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.deploy import audit, lock
from nbaops.deploy.heartbeat import Heartbeat, default_interval
from nbaops.deploy.journal import JOURNAL_ANNOTATION, Journal, crash_point, journal_of
from nbaops.deploy.journal import record as record_journal
from nbaops.deploy.progress import Progress
from nbaops.deploy.recovery import (
    SETTLED_OUTCOMES,
    RecoveryFailedError,
    inspect,
    recover,
    stale_lease,
    stale_lease_wait,
)
from nbaops.deploy.restore import RollbackResult, restore_traffic, verify_traffic
from nbaops.deploy.settings import DeploySettings
from nbaops.deploy.signals import signal_name
from nbaops.errors import CloudRunError, UsageError
from nbaops.report import CheckReport
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rich.console import Console

    from nbaops.adapters.cloudrun import RevisionInfo, ServiceInfo
    from nbaops.context import Context


def previous_ready_revision(
    revisions: list[RevisionInfo], serving: str | None
) -> RevisionInfo | None:
    """The newest ready revision older than ``serving`` (revisions newest first)."""
    seen_serving = serving is None
    for rev in revisions:
        if rev.name == serving:
            seen_serving = True
            continue
        if seen_serving and rev.ready:
            return rev
    return None


def _recovery_may_settle_on(ctx: Context, journal: Journal | None, to: str) -> bool:
    """Whether recovering ``journal`` may move traffic, or make ``to`` the rollback an
    interrupted one had done: only then can a ``--to`` naming the revision that serves 100%
    now be more than bad input. No journal, a held deploy (nothing to recover), a deploy
    killed before it changed the service, after it finished or after writing a settled
    audit row (recorded, not restored: :func:`~nbaops.deploy.recovery.recover`) and an
    interrupted rollback (recorded, never routed back) leave traffic as it is; of these,
    only a rollback whose own target is ``to`` makes ``to`` that rollback."""
    if journal is None or journal.phase == "held":
        return False
    if journal.action == "rollback":
        return journal.new_revision == to
    if not journal.mutated or journal.phase == "finished":
        return False
    return audit.row_outcome(ctx, journal.deploy_id, journal.started) not in SETTLED_OUTCOMES


def _checked_to(
    ctx: Context, info: ServiceInfo, revisions: list[RevisionInfo], to: str
) -> RevisionInfo:
    """The ready revision ``--to`` names, checked against the service read ``info``.

    Raises:
        UsageError: it is unknown or not ready, or it serves 100% already and recovering
            the service's journal cannot change that (:func:`_recovery_may_settle_on`).
    """
    found = next((r for r in revisions if r.name == to), None)
    if found is None:
        known = ", ".join(r.name for r in revisions[:8])
        raise UsageError(f"--to: unknown revision {to!r} of {info.name}; recent: {known}")
    if not found.ready:
        raise UsageError(f"--to: revision {to!r} is not ready; pick a ready revision")
    serves_all = info.traffic_by_revision.get(to, 0) == 100
    if serves_all and not _recovery_may_settle_on(ctx, journal_of(info), to):
        raise UsageError(f"--to: revision {to!r} already serves 100% of {info.name}")
    return found


def choose_target(
    ctx: Context, service: str, to: str | None, listed: list[RevisionInfo] | None = None
) -> tuple[RevisionInfo, ServiceInfo]:
    """``(target, info)`` for ``inv rollback``: the target revision (its commit label and
    image go into the audit row) and the service read it was chosen on (what serves now,
    the lease). ``listed``: the service's revisions as the caller listed them (None: listed
    here).

    Without ``--to``: the pre-deploy revision recorded in the service's deploy journal
    (a held or interrupted deploy; an interrupted rollback's journal: its target), else —
    when traffic is split — the oldest ready revision that receives traffic (what served
    before a canary), else the newest ready revision older than the serving one.

    Raises:
        UsageError: ``--to`` names an unknown or not-ready revision or the one serving
            already (unless recovering the service's journal may change that); no
            previous ready revision exists.
    """
    info = ctx.cloudrun.get_service(service)
    revisions = ctx.cloudrun.list_revisions(service) if listed is None else listed
    if to:  # (a dry run, before it)
        return _checked_to(ctx, info, revisions, to), info
    return _target_without_to(info, revisions), info


def _target_without_to(info: ServiceInfo, revisions: list[RevisionInfo]) -> RevisionInfo:
    """:func:`choose_target`'s target without ``--to``, from the service read ``info``.

    Raises:
        UsageError: no previous ready revision exists.
    """
    serving = info.serving_revision
    traffic = info.traffic_by_revision
    journal = journal_of(info)
    if journal is not None and journal.rollback_target:
        # back to before that deploy, even when it serves 100% already (a held deploy whose
        # revision never got traffic): one revision further back would go too far
        before = next((r for r in revisions if r.name == journal.rollback_target), None)
        if before is not None and before.ready:
            return before
    receiving = [r for r in revisions if traffic.get(r.name, 0) > 0 and r.ready]
    if len(receiving) > 1:
        return receiving[-1]
    previous = previous_ready_revision(revisions, serving)
    if previous is None:
        raise UsageError(f"{info.name}: no ready revision older than {serving} to roll back to")
    return previous


def _revision_or_none(ctx: Context, service: str, name: str) -> RevisionInfo | None:
    """The named revision, for the audit row's commit and image; None when it cannot be
    read (the row is written without them rather than not at all)."""
    try:
        return next((r for r in ctx.cloudrun.list_revisions(service) if r.name == name), None)
    except CloudRunError:
        return None


# --------------------------------------------------------------------- inv rollback


@dataclass
class RollbackReport:
    """One rollback as it happens; printed as the generic report :meth:`to_report` builds."""

    service: str
    target: str
    from_revision: str | None
    dry_run: bool
    outcome: str
    deploy_id: str
    result: RollbackResult | None = None
    target_commit: str | None = None  # the target revision's commit-sha label
    target_model: str | None = None  # the model version it runs (the service's model_env)
    plan: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def checks(self) -> list[CheckResult]:
        return self.result.checks if self.result else []

    @property
    def verdict(self) -> Verdict:
        ok = self.dry_run or (self.result is not None and self.result.ok)
        return Verdict.PASS if ok else Verdict.ERROR

    def final_line(self) -> str:
        at = f" at {self.target_commit[:12]}" if self.target_commit else ""
        at += f" (model {self.target_model})" if self.target_model else ""
        if self.dry_run:
            return (
                f"DRY RUN rollback {self.service}: would route 100% to {self.target}{at} "
                f"(from {self.from_revision}); nothing changed"
            )
        if self.verdict is Verdict.PASS:
            was = (
                "it already served"
                if self.from_revision == self.target
                else f"was {self.from_revision}"
            )
            return f"ROLLED BACK {self.service}: {self.target}{at} serves 100% ({was}), verified"
        return (
            f"ROLLBACK FAILED {self.service}: traffic may not be on {self.target}; "
            "run the manual commands above"
        )

    def to_report(self) -> CheckReport:
        """The generic report: the restore's checks, then the plan, notes and manual commands."""
        manual = self.result.manual if self.result else []
        lines = [f"  plan: {line}" for line in self.plan] + [f"  note: {n}" for n in self.notes]
        if manual:
            lines += ["Manual rollback commands:", *(f"  {command}" for command in manual)]
        return CheckReport(
            f"rollback {self.service}",
            self.checks,
            extra={
                "outcome": self.outcome,
                "service": self.service,
                "deploy_id": self.deploy_id,
                "target": self.target,
                "target_commit": self.target_commit,
                "target_model": self.target_model,
                "from_revision": self.from_revision,
                "dry_run": self.dry_run,
                "plan": self.plan,
                "checks": [c.to_json() for c in self.checks],  # also on a dry run: []
                "manual_commands": manual,
                "notes": self.notes,
                "summary": self.final_line(),
            },
            notes=lines,
            summary=self.final_line(),
            outcome=self.verdict,
        )

    def to_json(self) -> dict[str, Any]:
        return self.to_report().to_json()

    def render(self, console: Console) -> None:
        self.to_report().render(console)


def _served_before(traffic: Mapping[str, int], new_revision: str | None) -> str | None:
    """What served when the rollback began, as the audit row's one ``revision_before``:
    the interrupted deploy's new revision if it had any traffic, else the revision with
    the most (the deploy may have died before its new revision served at all)."""
    serving = {revision: percent for revision, percent in traffic.items() if percent}
    if new_revision in serving or not serving:
        return new_revision
    return max(serving, key=lambda revision: serving[revision])


def run_rollback(
    ctx: Context,
    service: str,
    *,
    to: str | None = None,
    dry_run: bool = False,
    force_unlock: bool = False,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RollbackReport:
    """``inv rollback``: recovers an interrupted deploy or rollback first; verified, leased,
    journalled and audited (module docstring). ``sleep`` is the wait for a lease that
    stopped being renewed (:func:`~nbaops.deploy.recovery.recover`).

    Raises:
        UsageError: bad service or ``--to``, or no revision to roll back to (nothing
            changed, no audit row; refused before ``--force-unlock`` removes a lease).
        LockHeldError: another deploy holds the lease, or took the lapsed lease of an
            interrupted one first (a ``refused`` audit row is written).
        UnrecoveredDeployError: a deploy died after the recovery ran (``refused`` row too).
        RecoveryFailedError: an interrupted deploy could not be restored (exit 3).
        CloudRunError: the API failed before the lease was taken (a ``refused`` row), or
            after it (``failed`` / ``rollback_failed``).
        KeyboardInterrupt: Ctrl-C/SIGTERM at any step once the input is checked (an
            ``interrupted`` row, naming the step).
    """
    cfg = ctx.config.service(service)
    settings = ctx.config.settings("deploy", DeploySettings)
    progress = progress or Progress.silent()
    holder = lock.default_holder()
    deploy_id = audit.new_deploy_id(service)
    if dry_run:
        planned, info = choose_target(ctx, service, to)
        target = planned.name
        report = RollbackReport(
            service, target, info.serving_revision, dry_run, "planned", deploy_id
        )
        report.target_commit = planned.commit
        report.target_model = planned.model_version(cfg.model_env)
        report.plan = [
            f"take the deploy lease ({lock.LOCK_ANNOTATION}, etag compare-and-swap, renewed "
            f"every {default_interval(settings.lock_ttl_s):g}s) with the rollback's journal "
            f"({JOURNAL_ANNOTATION}: the traffic now, target {target})",
            "journal phase 'rollback' (fenced by the lease) before the traffic PATCH",
            f"PATCH {ctx.cloudrun.service_path(service)} "
            f"traffic=[{{type: REVISION, revision: {target}, percent: 100}}]",
            f"verify: GET service shows {target} at 100%; GET {cfg.health_path} of {target}",
            f"audit: INSERT one row into {audit.TABLE}",
            "release: remove the lease and the journal in one write",
        ]
        current = lock.lease_of(info)
        if current is not None and current.lapsed(clock.now()):  # expired, or its process gone
            report.notes.append(
                f"lock of {current.holder} since {current.since.isoformat()} has lapsed: the "
                "rollback would take it over"
            )
        elif current is not None:
            if force_unlock:
                then = "--force-unlock would remove it first"
            elif stale_lease(info) is not None:  # its deploy likely died elsewhere: recover()
                then = stale_lease_wait(current, "rollback")  # waits it out, then recovers
            else:  # the real command: LockHeldError, exit 2
                then = (
                    "the rollback would be refused unless it lapses first or --force-unlock "
                    "removes it"
                )
            report.notes.append(
                f"lock currently held by {current.holder} since {current.since.isoformat()}: "
                + then
            )
        interrupted = inspect(info)
        if interrupted is not None:
            report.notes.append(f"would first recover: {interrupted.describe()}")
        return report

    def audit_record(
        *, before: str | None, after: str, revision: RevisionInfo | None = None
    ) -> audit.AuditRecord:
        # commit_sha and image: what serves after the rollback (the target revision's)
        revision = revision or _revision_or_none(ctx, service, after)
        record = audit.AuditRecord(
            deploy_id=deploy_id,
            service=service,
            action="rollback",
            actor=holder,
            profile=ctx.profile,
            commit_sha=revision.commit if revision else None,
            image=revision.image if revision else None,
            model_version=revision.model_version(cfg.model_env) if revision else None,
            revision_before=before,
            revision_after=after,
        )
        if removed_note is not None:  # --force-unlock is audited in the rollback's row
            record.note("force_unlock", "WARN", removed_note)
        return record

    removed_note: str | None = None

    def refuse(
        why: str, changed: str = "this rollback changed nothing", outcome: str = "refused"
    ) -> None:
        """This rollback stopped before its lease: its row says why (as a refused or
        interrupted deploy's does)."""
        refused = audit.AuditRecord(deploy_id, service, "rollback", holder, ctx.profile)
        if removed_note is not None:
            refused.note("force_unlock", "WARN", removed_note)
        refused.finish(outcome, f"{outcome.upper()} rollback {service}: {why}; {changed}")
        audit.write(ctx, refused)

    @contextlib.contextmanager
    def before_lease(
        doing: str, failed: str, changed: str = "this rollback changed nothing"
    ) -> Iterator[None]:
        """A step before the lease: a Cloud Run error (``failed``) or a Ctrl-C/SIGTERM in it
        ends the attempt with its row, refused or interrupted (a usage error has none)."""
        try:
            yield
        except CloudRunError as exc:
            refuse(f"{failed} ({exc})", changed)
            raise
        except KeyboardInterrupt as exc:
            refuse(f"{signal_name(exc)} while {doing}", changed, outcome="interrupted")
            raise

    # bad input changes nothing: refused before a lease is removed or a deploy recovered;
    # without --to the target is known now unless a recovery may change it (a journal)
    listed: list[RevisionInfo] | None = None
    if to or force_unlock:
        purpose = "check --to" if to else "choose the target"
        with before_lease(
            f"reading its revisions and traffic to {purpose}",
            f"could not read its revisions and traffic to {purpose}",
        ):
            listed = ctx.cloudrun.list_revisions(service)
            info = ctx.cloudrun.get_service(service)
            if to:  # (it may ask the warehouse for the journal's audit row)
                _checked_to(ctx, info, listed, to)
            elif journal_of(info) is None:
                _target_without_to(info, listed)
    if force_unlock:
        # a timed-out or interrupted write may still have removed the lease
        with before_lease(
            "removing the deploy lease (--force-unlock)",
            "--force-unlock failed",
            "traffic was not touched",
        ):
            removed = lock.force_unlock(ctx.cloudrun, service)
        removed_note = f"removed lock of {removed.holder}" if removed else "no lock to remove"

    try:
        recovered = recover(ctx, cfg, progress=progress, sleep=sleep)
    except RecoveryFailedError as exc:
        refuse(f"the interrupted deploy it found could not be restored ({exc})")
        raise
    except lock.LockHeldError as exc:  # another command took the lapsed lease: it recovers
        refuse(str(exc))
        raise
    except CloudRunError as exc:
        refuse(f"could not check for an interrupted deploy ({exc})")
        raise
    except KeyboardInterrupt as exc:  # its wait for a stale lease may take lock_ttl_s
        refuse(
            f"{signal_name(exc)} while checking for or recovering an interrupted deploy",
            "a recovery cut short keeps that deploy's journal for the next command",
            outcome="interrupted",
        )
        raise

    def already_done(
        target: str, before: str | None, result: RollbackResult, checked: bool
    ) -> RollbackReport:
        """The recovery left ``target`` serving: that IS the rollback (rolling back further
        would go one revision too far): reported and audited as this rollback, with the
        checks this command ran itself (``checked``) in its row."""
        assert recovered is not None
        outcome = "success" if result.ok else "rollback_failed"
        report = RollbackReport(service, target, before, False, outcome, deploy_id)
        report.result = result
        report.notes += [recovered.message, *recovered.notes]
        record = audit_record(before=before, after=target)
        report.target_commit, report.target_model = record.commit_sha, record.model_version
        record.note("recovery", "WARN", recovered.message)
        for check in result.checks if checked else []:
            record.add("rollback", check)
        record.finish(outcome, report.final_line())
        audit.write_noting(ctx, record, report.notes)
        return report

    restored_one = recovered is not None and len(recovered.interrupted.journal.before) == 1
    if recovered is not None and recovered.restored is not None and restored_one:
        # The interrupted deploy's pre-deploy revision serves 100% again, verified by the
        # recovery: the rollback without --to, or with a --to naming it (not a usage error
        # once the recovery moved traffic). A pre-deploy split restored exactly, or another
        # --to, still goes on below.
        done = recovered.interrupted.journal
        target = done.before_revision or recovered.restored.target
        if to in (None, target):
            before = _served_before(recovered.interrupted.traffic, done.new_revision)
            return already_done(target, before, recovered.restored, checked=False)
    if recovered is not None and recovered.target_serves:
        # An interrupted rollback had already moved traffic to its target: verified here
        # (traffic and health), not repeated one revision back (nor refused as a --to
        # naming the revision that serves).
        done = recovered.interrupted.journal
        target = done.new_revision or ""
        if to in (None, target):
            with before_lease(  # its health probe may take health_timeout_s
                f"verifying that {target} serves 100%",
                f"could not verify that {target} serves 100%",
            ):
                verified = verify_traffic(
                    ctx,
                    cfg,
                    RollbackResult(service, target, done.before_revision),
                    {target: 100},
                    settings.health_timeout_s,
                    progress,
                )
            return already_done(target, done.before_revision, verified, checked=True)
    journal = recovered.interrupted.journal if recovered is not None else None
    chosen: RevisionInfo | None = None
    with before_lease(
        "reading the service to choose the target",
        "could not read the service to choose the target",
    ):
        if journal is not None and journal.rollback_target and to is None:
            # Nothing had to be restored: the rollback still means "back to before that
            # deploy" (or, after an interrupted rollback that had not moved traffic, to its
            # target).
            target = journal.rollback_target
            serving = ctx.cloudrun.get_service(service).serving_revision
        else:
            # the listing that checked --to: the unlock and the recovery since then only
            # write traffic and annotations, which create and delete no revision and leave
            # its labels and image (the audit row's) as they are
            chosen, info = choose_target(ctx, service, to, listed)
            target, serving = chosen.name, info.serving_revision
    report = RollbackReport(service, target, serving, dry_run, "planned", deploy_id)
    if recovered is not None:
        report.notes += [recovered.message, *recovered.notes]
    record = audit_record(before=serving, after=target, revision=chosen)
    report.target_commit, report.target_model = record.commit_sha, record.model_version
    started: list[Journal] = []

    def journal_of_read(info: ServiceInfo) -> dict[str, str | None]:
        # our journal records exactly the traffic of the read the lease write is based on;
        # a held deploy's journal it replaces rides along (written back unless we end verified)
        existing = journal_of(info)
        held = existing.to_json() if existing is not None and existing.phase == "held" else None
        ours = Journal.start(
            deploy_id,
            "rollback",
            holder,
            info,
            new_revision=target,
            commit=record.commit_sha,
            image=record.image,
            model_version=record.model_version,
            held=held,
        )
        started[:] = [ours]
        return {JOURNAL_ANNOTATION: ours.to_annotation()}

    tried = acquired = False  # tried: the lease's compare-and-swap was sent (it may have landed)
    lease_lost = False
    patching = False  # journalled phase "rollback": the traffic PATCH may have been sent
    heartbeat: Heartbeat | None = None
    try:
        try:
            crash_point("lock:before")
            tried = True
            took = lock.acquire(
                ctx.cloudrun,
                service,
                holder=holder,
                deploy_id=deploy_id,
                ttl_s=settings.lock_ttl_s,
                extra=journal_of_read,
                # a deploy that died since recover() ran is not overwritten unrecorded
                unrecovered=lambda info: found.describe() if (found := inspect(info)) else None,
            )
        except (lock.LockHeldError, lock.UnrecoveredDeployError) as exc:
            record.finish("refused", str(exc))
            raise
        acquired = True
        ours = started[-1]
        beat = heartbeat = Heartbeat(ctx.cloudrun, service, took.lock, settings.lock_ttl_s).start()
        crash_point("lock:after")
        if took.took_over is not None:
            report.notes.append(f"took over the {took.took_over.lapsed_text(clock.now())}")
        progress.step("lock", f"acquired ({deploy_id}); journal records {ours.before_text()}")

        def fence(info: ServiceInfo) -> None:
            if beat.lost:
                raise lock.LeaseLostError(service, deploy_id, beat.lost)
            lock.check_fence(info, service, took.lock.token)

        # the intent, fenced, before the traffic PATCH: a kill from here on is recovered
        # as a rollback (recorded, never routed back)
        record_journal(ctx.cloudrun, service, ours.advance("rollback"), took.lock.token)
        patching = True
        result = restore_traffic(
            ctx,
            cfg,
            target,
            from_revision=serving,
            health_timeout_s=settings.health_timeout_s,
            progress=progress,
            fence=fence,
        )
        report.result = result
        for check in result.checks:
            record.add("rollback", check)
        report.outcome = "success" if result.ok else "rollback_failed"
        record.finish(report.outcome, report.final_line())
    except KeyboardInterrupt as exc:
        report.outcome = "interrupted"
        message = f"interrupted ({signal_name(exc)}) during the rollback"
        if patching and report.result is None:
            message += "; its journal stays: the next command records where traffic is"
        record.finish("interrupted", message)
        raise
    except (lock.LockHeldError, lock.UnrecoveredDeployError):
        raise
    except Exception as exc:
        lease_lost = isinstance(exc, lock.LeaseLostError)
        # before its traffic PATCH nothing changed: "failed", not "rollback_failed" (which
        # says traffic may be wrong)
        outcome = "rollback_failed" if patching else "failed"
        record.finish(outcome, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if heartbeat is not None:
            heartbeat.stop()
            if heartbeat.lost:
                lease_lost = True
                report.notes.append(heartbeat.describe())
        if record.finished_at is None:
            record.finish("failed", "ended unexpectedly")
        # the row before the release: a kill in between leaves the journal, whose recovery
        # finds the row and does not write a second one
        if lease_lost and audit.row_outcome(ctx, deploy_id, record.started_at):
            report.notes.append("the command that took over already recorded this rollback")
        else:
            audit.write_noting(ctx, record, report.notes)
        crash_point("audit:written")
        if acquired and not lease_lost:
            try:
                # interrupted with the PATCH maybe sent: the journal stays (extra None) and the
                # next command recovers it (its row exists; inv rollback stops if it moved)
                ended = report.result is not None and report.result.ok
                extra: dict[str, str | None] | None = (
                    started[-1].left_behind(ended=ended) if started else {JOURNAL_ANNOTATION: None}
                )
                if patching and report.result is None:
                    extra = None
                lock.release(ctx.cloudrun, service, deploy_id, extra=extra)
            except Exception as exc:  # reported; the lease lapses by itself
                report.notes.append(f"could not release the deploy lease: {exc}")
        elif tried and not acquired and record.outcome != "refused":
            # stopped inside the lease's compare-and-swap (Ctrl-C, an error in its confirming
            # read): it may have landed; release() removes only our deploy_id's lease, and a
            # held deploy's journal it replaced is written back
            left = started[-1].left_behind(ended=False) if started else None
            try:
                lock.release(ctx.cloudrun, service, deploy_id, extra=left)
            except Exception as exc:  # the lease lapses by itself
                report.notes.append(f"could not make sure no lease of this rollback is left: {exc}")
    return report
