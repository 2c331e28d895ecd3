"""Recovery of an interrupted deploy, run by the next command that touches the service.

``inv deploy``, ``inv rollback`` and ``inv verify-deploy`` call :func:`recover` first. It
reads the service; when it carries a journal (:mod:`nbaops.deploy.journal`) whose lease
has lapsed (expired, or its process on this host is gone) — or no lease at all — the
deploy that wrote it was interrupted (``kill -9``, a lost runner, a restore cut short):

1. take the lease (a takeover: the generation goes up, so the dead deploy is fenced off),
   renewed by a :class:`~nbaops.deploy.heartbeat.Heartbeat` until step 4 — only while the
   service still carries that journal (another command that recovered it meanwhile has
   done all there was to do: None);
2. if the journal shows a step that may have changed the service, route traffic back to
   the split recorded in the journal (``before``) and verify it (traffic, and health of a
   single pre-deploy revision);
3. write the interrupted deploy's audit row (``outcome: interrupted``, what was restored)
   unless it already has one (a deploy that died after writing its row), and alert;
4. remove the lease and the journal in one write — the journal stays if the restore
   could not be verified, so the next command tries again.

A journal in phase ``finished`` only needs step 3 (if its row is missing) and 4. A journal
in phase ``held`` belongs to a deploy that ended deliberately with split traffic: it is
not recovered (``inv rollback`` uses its pre-deploy revision). :func:`inspect` is the
read-only view ``check-all-services`` and dry runs report.

An interrupted **rollback** (journal ``action: rollback``) is never routed back to its
``before``: that would re-expose the revision it was rolling back from. Step 2 only reads
where traffic is; step 3 writes the rollback's row — ``success`` (``[row written by
recovery]``) when its target serves 100%, else ``interrupted`` — and step 4 removes the
journal, or writes back the held deploy's journal the rollback carried when the rollback
did not complete (``inv rollback`` then still goes to that deploy's pre-deploy revision).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.deploy import audit, lock
from nbaops.deploy.heartbeat import Heartbeat
from nbaops.deploy.inflight import notify
from nbaops.deploy.journal import (
    JOURNAL_ANNOTATION,
    Journal,
    crash_point,
    journal_of,
    traffic_text,
)
from nbaops.deploy.restore import RollbackResult, restore_traffic
from nbaops.deploy.settings import DeploySettings
from nbaops.errors import NbaopsError
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import ServiceInfo
    from nbaops.config import ServiceConfig
    from nbaops.context import Context
    from nbaops.deploy.progress import Progress


SETTLED_OUTCOMES = ("success", "rolled_back", "held")


class RecoveryFailedError(NbaopsError):
    """An interrupted deploy's traffic could not be restored: nothing more is done (exit 3)."""

    exit_code = 3


class _RecoveredMeanwhile(Exception):
    """The journal :func:`recover` found is gone when it takes the lease."""


@dataclass(frozen=True)
class Interrupted:
    """An interrupted deploy as seen on the service (read-only)."""

    service: str
    journal: Journal
    traffic: dict[str, int]

    @property
    def is_rollback(self) -> bool:
        return self.journal.action == "rollback"

    def describe(self) -> str:
        now = traffic_text(self.traffic) or "none"
        j = self.journal
        began = (
            f"{j.action} {j.deploy_id} by {j.holder} was interrupted in step {j.phase!r} "
            f"(started {j.started.isoformat()}); traffic now: {now}; "
        )
        if self.is_rollback:
            return f"{began}rolling back to {j.new_revision} from {j.before_text()}"
        return f"{began}pre-deploy: {j.before_text()}"

    def next_step(self) -> str:
        """What the next command does about it (``check-all-services``)."""
        if self.is_rollback:
            return (
                "the next deploy, rollback or verify-deploy records it without routing "
                f"traffic back (inv rollback --service {self.service} finishes it)"
            )
        return (
            "the next deploy, rollback or verify-deploy restores the pre-deploy traffic "
            f"(inv rollback --service {self.service})"
        )

    def to_check(self, verdict: Verdict, message: str) -> CheckResult:
        """The ``interrupted_deploy`` result about this deploy (recovered or only seen)."""
        return CheckResult(
            name="interrupted_deploy",
            service=self.service,
            verdict=verdict,
            value=self.journal.deploy_id,
            threshold="no interrupted deploy on the service",
            message=message,
            query=f"run_v2 GetService (annotation {JOURNAL_ANNOTATION})",
            details={"journal": self.journal.to_json()},
        )


def stale_lease(info: ServiceInfo) -> lock.DeployLock | None:
    """A live lease over a journal that missed two heartbeats (half its length unrenewed)."""
    held = lock.lease_of(info)
    if held is None or journal_of(info) is None or held.lapsed(clock.now()):
        return None
    length = held.expires - held.last_renewed
    return held if clock.now() >= held.last_renewed + length / 2 else None


def stale_lease_wait(held: lock.DeployLock, command: str) -> str:
    """What a dry run says of a :func:`stale_lease`: the real ``command`` waits it out in
    :func:`recover`, then recovers its deploy (one wording for every dry run)."""
    return (
        f"not renewed since {held.last_renewed.isoformat()}: the {command} would wait until "
        f"{held.expires.isoformat()} for it to lapse, then recover its deploy first"
    )


def inspect(info: ServiceInfo) -> Interrupted | None:
    """The interrupted deploy ``info`` carries, if any (no lease, or a lapsed one)."""
    return inspect_annotations(info.name, info.annotations, info.traffic_by_revision)


def inspect_annotations(
    service: str, annotations: Mapping[str, str], traffic: Mapping[str, int]
) -> Interrupted | None:
    """:func:`inspect` from a service's annotations and traffic (``check-all-services``)."""
    journal = Journal.from_annotation(annotations.get(JOURNAL_ANNOTATION))
    if journal is None or journal.phase == "held":
        return None
    held = lock.DeployLock.from_annotation(annotations.get(lock.LOCK_ANNOTATION))
    if held is not None and not held.lapsed(clock.now()):
        return None  # its deploy (or a recovery) is alive
    return Interrupted(service, journal, dict(traffic))


@dataclass
class Recovery:
    """What one recovery did."""

    interrupted: Interrupted
    restored: RollbackResult | None = None
    notes: list[str] = field(default_factory=list)
    message: str = ""
    traffic: dict[str, int] = field(default_factory=dict)  # an interrupted rollback's: found

    @property
    def target_serves(self) -> bool:
        """An interrupted rollback's target serves 100% (False for a deploy)."""
        target = self.interrupted.journal.new_revision
        return self.interrupted.is_rollback and bool(target) and self.traffic == {target: 100}

    @property
    def ok(self) -> bool:
        return self.restored is None or self.restored.ok

    def to_check(self) -> CheckResult:
        """The recovery as one WARN (restored) or ERROR (not restored) result."""
        return self.interrupted.to_check(Verdict.WARN if self.ok else Verdict.ERROR, self.message)


def recover(
    ctx: Context,
    cfg: ServiceConfig,
    *,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Recovery | None:
    """Recover an interrupted deploy of ``cfg`` (see the module docstring); None: none.

    A journal whose lease is still valid but has not been renewed for half its length
    (two missed heartbeats: its deploy most likely died on another machine) is waited
    for — until its ``expires``, at most one lease length — and recovered if it was not
    renewed meanwhile.

    Raises:
        LockHeldError: another command took the lapsed lease first (it recovers).
        RecoveryFailedError: the pre-deploy traffic could not be restored and verified.
        CloudRunError: the API failed before anything was changed.
    """
    service, actor = cfg.name, lock.default_holder()
    settings = ctx.config.settings("deploy", DeploySettings)
    say = progress.step if progress is not None else (lambda *_a, **_k: None)
    info = ctx.cloudrun.get_service(service)
    stale = stale_lease(info)
    if stale is not None:
        wait_s = max((stale.expires - clock.now()).total_seconds(), 0.0)
        say(
            "recover",
            f"the lease of {stale.holder} (deploy {stale.deploy_id}) was last renewed "
            f"{stale.last_renewed.isoformat()}; waiting {wait_s:.0f}s for it to lapse",
            Verdict.WARN,
        )
        sleep(wait_s)
        info = ctx.cloudrun.get_service(service)
    found = inspect(info)
    if found is None:
        return None
    journal = found.journal
    say("recover", found.describe(), Verdict.WARN)
    recovery_id = audit.new_deploy_id(service).lower()

    def still_carried(now: ServiceInfo) -> dict[str, str | None]:
        # the lease only over the journal found: another command may have recovered it
        # (and released the lease) since that read, and its journal is all that was to do
        carried = journal_of(now)
        if carried is None or carried.deploy_id != journal.deploy_id:
            raise _RecoveredMeanwhile
        return {}

    try:
        acquired = lock.acquire(
            ctx.cloudrun,
            service,
            holder=actor,
            deploy_id=recovery_id,
            ttl_s=settings.lock_ttl_s,
            extra=still_carried,
        )
    except _RecoveredMeanwhile:
        say("recover", f"{journal.action} {journal.deploy_id} was recovered by another command")
        return None
    except lock.LockHeldError:  # another command's lease: not ours to remove
        raise
    except BaseException:
        # stopped inside the takeover's compare-and-swap (Ctrl-C, an error in its confirming
        # read): it may have landed. Only a lease of recovery_id is removed; the journal stays
        with contextlib.suppress(Exception):
            lock.release(ctx.cloudrun, service, recovery_id)
        raise
    token = acquired.lock.token
    # renewed like a deploy's: a restore slower than the lease must not let another
    # command take it and recover the same deploy too
    beat = Heartbeat(ctx.cloudrun, service, acquired.lock, settings.lock_ttl_s).start()
    rec = Recovery(found)
    clear = False
    try:
        crash_point("recover:locked")
        recorded = audit.row_outcome(ctx, journal.deploy_id, journal.started)
        if found.is_rollback:
            what = _rollback_found(ctx, rec)
        elif recorded in SETTLED_OUTCOMES:
            what = f"its row says {recorded}: traffic is where it ended; nothing to restore"
        elif journal.phase != "finished" and journal.action == "deploy" and journal.mutated:
            splits = journal.before_splits()  # exactly the split that served before
            rec.restored = restore_traffic(
                ctx,
                cfg,
                splits[0].revision if len(splits) == 1 else (journal.before_revision or ""),
                from_revision=journal.new_revision,
                health_timeout_s=settings.health_timeout_s,
                progress=progress,
                fence=partial(lock.check_fence, service=service, token=token),
                splits=splits,
            )
            what = (
                f"restored {journal.before_text()}, verified"
                if rec.restored.ok
                else f"restoring {journal.before_text()} FAILED: "
                + "; ".join(c.message for c in rec.restored.checks if c.verdict is not Verdict.PASS)
            )
        elif journal.phase == "finished":
            what = f"it had finished ({journal.outcome}) but not released its lease"
        else:
            what = "it had not changed the service yet; nothing to restore"
        rec.message = (
            f"recovered interrupted {journal.action} {journal.deploy_id} ({journal.phase}): {what}"
        )
        if recorded is None:
            _write_row(ctx, rec, actor)
        else:
            rec.notes.append(f"the audit row of {journal.deploy_id} already exists ({recorded})")
        verdict = Verdict.WARN if rec.ok else Verdict.ERROR
        title = (
            f"{service}: interrupted {journal.action} recovered"
            if rec.ok
            else f"ACTION NEEDED: {service}: interrupted deploy NOT restored"
        )
        fields = {"deploy id": journal.deploy_id, "interrupted in": journal.phase}
        if found.is_rollback:
            fields["before the rollback"] = journal.before_text()
            fields["rollback target"] = journal.new_revision or "?"
        else:
            fields["pre-deploy"] = journal.before_text()
        notify(ctx, rec.notes, service, "rollback", title, rec.message, verdict, fields)
        say("recover", rec.message, verdict)
        clear = rec.ok
    finally:
        beat.stop()
        try:
            lock.release(
                ctx.cloudrun,
                service,
                recovery_id,
                extra=journal.left_behind(ended=rec.target_serves) if clear else None,
            )
        except Exception as exc:  # the lease lapses by itself
            rec.notes.append(f"could not release the recovery lease: {exc}")
    if not rec.ok:
        manual = rec.restored.manual if rec.restored else []
        raise RecoveryFailedError(
            f"{service}: {rec.message}; run: " + " && ".join(manual[:1] or ["inv rollback"])
        )
    return rec


def _rollback_found(ctx: Context, rec: Recovery) -> str:
    """What an interrupted rollback left (traffic is read, never changed); sets
    ``rec.traffic``."""
    journal = rec.interrupted.journal
    info = ctx.cloudrun.get_service(rec.interrupted.service)
    rec.traffic = {r: p for r, p in info.traffic_by_revision.items() if p}
    now = traffic_text(rec.traffic) or "none"
    target = journal.new_revision
    if rec.target_serves:
        what = f"{target} serves 100%: the rollback had moved traffic"
    elif not journal.mutated:
        what = f"it had not moved traffic yet (traffic now: {now})"
    else:
        what = f"{target} does NOT serve 100% (traffic now: {now}); run inv rollback again"
    what += f"; traffic not routed back to {journal.before_text()}"
    held = journal.held_journal()
    if held is not None and not rec.target_serves:
        what += f"; the journal of held deploy {held.deploy_id} is written back"
    return what


def _journal_record(ctx: Context, rec: Recovery, **fields: Any) -> audit.AuditRecord:
    """The interrupted command's audit row as far as its journal knows it (who, what,
    when, the revision before, each journalled step as a note); ``fields`` the rest."""
    journal = rec.interrupted.journal
    record = audit.AuditRecord(
        deploy_id=journal.deploy_id,
        service=rec.interrupted.service,
        action=journal.action,
        actor=journal.holder,
        profile=ctx.profile,
        started_at=journal.started,
        commit_sha=journal.commit,
        image=journal.image,
        model_version=journal.model_version,
        revision_before=journal.before_revision,
        **fields,
    )
    for step in journal.steps:
        record.note("journal", "PASS", f"{step['step']} at {step['at']}")
    return record


def _write_rollback_row(ctx: Context, rec: Recovery, actor: str) -> None:
    """The interrupted rollback's row: ``success`` when its target serves 100%, else
    ``interrupted``; ``revision_after`` is what serves now (the largest share)."""
    journal = rec.interrupted.journal
    service = rec.interrupted.service
    serving = max(rec.traffic, key=lambda r: rec.traffic[r]) if rec.traffic else None
    record = _journal_record(ctx, rec, revision_after=serving)
    record.note("recovery", "WARN", f"{rec.message} (by {actor})")
    if rec.target_serves:
        summary = (
            f"ROLLED BACK {service}: {journal.new_revision} serves 100% "
            f"(was {journal.before_revision}) [row written by recovery]"
        )
        record.finish("success", summary)
    else:
        record.finish("interrupted", rec.message)
    audit.write_noting(ctx, record, rec.notes)


def _write_row(ctx: Context, rec: Recovery, actor: str) -> None:
    if rec.interrupted.is_rollback:
        _write_rollback_row(ctx, rec, actor)
        return
    journal = rec.interrupted.journal
    finished = journal.phase == "finished" and journal.outcome
    after = journal.before_revision if rec.ok else None
    if finished:
        after = journal.new_revision if journal.outcome == "success" else journal.before_revision
    record = _journal_record(ctx, rec, revision_after=after, canary_percent=journal.canary)
    for check in rec.restored.checks if rec.restored else []:
        record.add("recovery", check)
    record.note("recovery", "WARN" if rec.ok else "ERROR", f"{rec.message} (by {actor})")
    if finished:
        record.finish(str(journal.outcome), f"{journal.summary} [row written by recovery]")
    else:
        record.finish("interrupted", rec.message)
    audit.write_noting(ctx, record, rec.notes)
