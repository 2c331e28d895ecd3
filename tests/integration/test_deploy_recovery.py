"""Recovery of an interrupted deploy by the next command (deploy, rollback, verify-deploy),
what check-all-services reports before it, the lease lost mid-deploy, SIGTERM during a
deploy, and where inv rollback goes by default. Real adapters against the stand-in."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
from typing import Any

import pytest
from worlds.deploy_world import NOW_DT, DeployWorld, at_steps, hook
from worlds.fake_clock import FakeClock

from nbaops.adapters.cloudrun import ServiceInfo, TrafficSplit
from nbaops.context import Context
from nbaops.deploy import lock
from nbaops.deploy.deploy import DeployRequest, run_deploy
from nbaops.deploy.journal import JOURNAL_ANNOTATION, Journal, journal_of
from nbaops.deploy.recovery import RecoveryFailedError, recover
from nbaops.deploy.rollback import run_rollback
from nbaops.deploy.signals import Terminated, terminate_as_interrupt
from nbaops.deploy.verify import run_verify
from nbaops.local.api_faults import active_api_faults, set_api_fault
from nbaops.sandbox import lifecycle
from nbaops.services_status import check_all_services
from nbaops.verdict import Verdict, exit_code_for

SERVICE = "phase4-processors"
LATER = "2025-01-15T17:30:00Z"  # past any lease taken at NOW with the test TTL (600 s)


def leave_lease(ctx: Context, journal: Journal) -> None:
    """The lease a command killed mid-way left (its holder and id, a 600 s TTL), carrying
    its journal."""
    lock.acquire(
        ctx.cloudrun,
        SERVICE,
        holder=journal.holder,
        deploy_id=journal.deploy_id,
        ttl_s=600,
        extra={JOURNAL_ANNOTATION: journal.to_annotation()},
    )


def write_journal(ctx: Context, journal: Journal) -> None:
    """``journal`` as the service's journal annotation (written over the current etag)."""
    ctx.cloudrun.set_annotations(
        SERVICE,
        {JOURNAL_ANNOTATION: journal.to_annotation()},
        etag=ctx.cloudrun.get_service(SERVICE).etag,
    )


def crashed_deploy(
    world: DeployWorld, *, phase: str = "traffic", split: tuple[int, int] = (30, 70)
) -> tuple[str, str]:
    """A deploy that died mid-way: lease + journal left, traffic split. (before, new)."""
    ctx = world.context()
    info = ctx.cloudrun.get_service(SERVICE)
    before = info.serving_revision or ""
    journal = Journal.start("dead-deploy-1", "deploy", "old@ci", info, commit=world.head)
    leave_lease(ctx, journal)
    created = ctx.cloudrun.deploy_revision(
        SERVICE, image="local.nbaops.dev/x:y", labels={}, tag="candidate", no_traffic=True
    )
    new = created.latest_created_revision or ""
    ctx.cloudrun.set_traffic(
        SERVICE, [TrafficSplit(new, split[0], "candidate"), TrafficSplit(before, split[1])]
    )
    journal.advance("revision", new_revision=new).advance(phase)
    held = lock.current_lock(ctx.cloudrun, SERVICE)
    assert held is not None
    write_journal(ctx, journal)
    return before, new


def outbox(world: DeployWorld) -> list[dict[str, Any]]:
    path = world.home / "outbox.jsonl"
    if not path.exists():
        return []
    return [e for line in path.read_text().splitlines() for e in json.loads(line)["events"]]


def test_check_all_services_reports_an_interrupted_deploy_as_fail(dworld: DeployWorld) -> None:
    before, new = crashed_deploy(dworld)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    report = check_all_services(dworld.context())
    check = next(c for c in report.checks if c.service == SERVICE)
    assert check.verdict is Verdict.FAIL
    assert "INTERRUPTED DEPLOY: deploy dead-deploy-1 by old@ci" in check.message
    assert f"{new} 30%" in check.message and f"pre-deploy: {before} 100%" in check.message
    assert check.details["interrupted_deploy"]["phase"] == "traffic"


def test_an_interrupted_deploy_is_reported_even_when_the_service_is_not_ready(
    dworld: DeployWorld,
) -> None:
    """docs/deploy.md: check-all-services shows the interrupted deploy "until then"; a
    deploy killed with its new revision failing left the service not ready, and the check
    said only "service is not ready", hiding the recovery the next command runs."""
    from nbaops.local import cloudrun_state

    crashed_deploy(dworld)
    ctx = dworld.context()
    state = cloudrun_state.load_state(dworld.home)
    full = ctx.cloudrun.service_path(SERVICE)
    failed = cloudrun_state.ready_condition(False, LATER, "Revision failed to become ready")
    state["services"][full]["terminalCondition"] = failed
    cloudrun_state.save_state(dworld.home, state)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    check = next(c for c in check_all_services(ctx).checks if c.service == SERVICE)
    assert check.verdict is Verdict.FAIL
    assert "INTERRUPTED DEPLOY: deploy dead-deploy-1 by old@ci" in check.message
    assert check.message.endswith(
        "; service is not ready: Revision failed to become ready (serving "
        + check.details["serving_revision"]
        + ")"
    ), check.message


def test_a_live_deploy_is_not_reported_or_recovered(dworld: DeployWorld) -> None:
    crashed_deploy(dworld)  # lease still valid at NOW, holder pid is this process: alive
    report = check_all_services(dworld.context())
    check = next(c for c in report.checks if c.service == SERVICE)
    assert "INTERRUPTED" not in check.message
    ctx = dworld.context()
    cfg = ctx.config.service(SERVICE)
    assert recover(ctx, cfg) is None


def test_verify_deploy_recovers_restores_audits_and_alerts(dworld: DeployWorld) -> None:
    before, new = crashed_deploy(dworld)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    report = run_verify(dworld.context(), SERVICE)
    first = report.checks[0]
    assert first.name == "interrupted_deploy" and first.verdict is Verdict.WARN
    assert f"restored {before} 100%, verified" in first.message
    info = dworld.service()
    assert info.traffic_by_revision[before] == 100 and info.traffic_by_revision.get(new, 0) == 0
    assert lock.LOCK_ANNOTATION not in info.annotations
    assert JOURNAL_ANNOTATION not in info.annotations
    (row,) = dworld.audit_rows()
    assert (row["deploy_id"], row["outcome"], row["actor"]) == (
        "dead-deploy-1",
        "interrupted",
        "old@ci",
    )
    assert "recovered interrupted deploy dead-deploy-1 (traffic)" in row["message"]
    assert any(e["fields"].get("deploy id") == "dead-deploy-1" for e in outbox(dworld))


def test_verify_deploy_dry_run_reports_the_recovery_and_changes_nothing(
    dworld: DeployWorld,
) -> None:
    """verify-deploy recovers (changes traffic) and had no --dry-run."""
    before, new = crashed_deploy(dworld)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    mark = len(dworld.requests())
    report = run_verify(dworld.context(), SERVICE, dry_run=True)
    first = report.checks[0]
    assert first.name == "interrupted_deploy" and first.verdict is Verdict.WARN
    assert first.message.startswith("dry run, not recovered: a real run would recover first: ")
    assert "dead-deploy-1" in first.message and "dry run" in report.title
    assert dworld.mutating(mark) == [] and dworld.audit_rows() == []
    info = dworld.service()
    assert info.traffic_by_revision[new] == 30 and JOURNAL_ANNOTATION in info.annotations
    # the real run afterwards still finds it and recovers
    assert run_verify(dworld.context(), SERVICE).checks[0].message.find("restored") >= 0


def test_the_next_deploy_recovers_first_then_deploys_without_force_unlock(
    dworld: DeployWorld,
) -> None:
    before, _new = crashed_deploy(dworld, phase="promote", split=(60, 40))
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    report = run_deploy(dworld.context(), DeployRequest(service=SERVICE, skip_tests=True))
    assert report.outcome == "success", report.final_line()
    assert report.revision_before == before  # recovered before the checklist read it
    assert report.steps[0].name == "interrupted_deploy"
    assert exit_code_for(report.verdict) == 0
    outcomes = sorted((r["deploy_id"], r["outcome"]) for r in dworld.audit_rows())
    assert outcomes == sorted([("dead-deploy-1", "interrupted"), (report.deploy_id, "success")])


def test_a_deploy_that_died_during_our_checklist_is_recovered_before_we_take_the_lease(
    dworld: DeployWorld,
) -> None:
    """Another machine's deploy starts after our step-0 recovery, moves traffic and dies
    while our checklist runs (its tests take minutes). Its lease has lapsed when ours is
    taken: it must be recovered (restored, audited, alerted), not overwritten, and our
    "before" is what served before *it*, not its unchecked revision."""
    dead: list[tuple[str, str]] = []

    def on(line: str) -> None:
        if "service_health" in line and not dead:
            dead.append(crashed_deploy(dworld, split=(70, 30)))
            dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)  # its lease lapses meanwhile

    report = run_deploy(
        dworld.context(), DeployRequest(service=SERVICE, skip_tests=True), progress=hook(on)
    )
    ((before, new),) = dead
    assert report.outcome == "success", report.final_line()
    assert report.revision_before == before != new
    assert any(c.name == "interrupted_deploy" and c.verdict is Verdict.WARN for c in report.steps)
    rows = {r["deploy_id"]: r for r in dworld.audit_rows()}
    assert rows["dead-deploy-1"]["outcome"] == "interrupted"
    assert f"restored {before} 100%, verified" in rows["dead-deploy-1"]["message"]
    assert rows[report.deploy_id]["revision_before"] == before
    assert any(e["fields"].get("deploy id") == "dead-deploy-1" for e in outbox(dworld))
    assert dworld.service().traffic_by_revision.get(new, 0) == 0


def test_rollback_after_a_crashed_canary_goes_to_the_pre_deploy_revision(
    dworld: DeployWorld,
) -> None:
    before, new = crashed_deploy(dworld, split=(60, 40))  # new has the largest share
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    report = run_rollback(dworld.context(), SERVICE)
    assert report.outcome == "success" and report.target == before
    assert report.from_revision == new
    assert dworld.service().traffic_by_revision[before] == 100
    rows = {r["deploy_id"]: r for r in dworld.audit_rows()}
    assert rows["dead-deploy-1"]["outcome"] == "interrupted"
    assert rows[report.deploy_id]["action"] == "rollback"


def test_a_rollback_whose_recovery_fails_writes_its_own_refused_row(dworld: DeployWorld) -> None:
    crashed_deploy(dworld)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=1)
    with pytest.raises(RecoveryFailedError):
        run_rollback(dworld.context(), SERVICE)
    rows = [r for r in dworld.audit_rows() if r["deploy_id"] != "dead-deploy-1"]
    assert len(rows) == 1, rows  # the attempt is on record, like a refused deploy's
    assert (rows[0]["action"], rows[0]["outcome"]) == ("rollback", "refused")
    assert "could not be restored" in rows[0]["message"]
    assert "changed nothing" in rows[0]["message"]


def _rollback_rows(world: DeployWorld) -> list[dict[str, Any]]:
    return [r for r in world.audit_rows() if r["action"] == "rollback"]


def test_a_rollback_beaten_to_the_lapsed_lease_writes_its_refused_row(dworld: DeployWorld) -> None:
    """Another command takes the dead deploy's lapsed lease between our recovery finding it
    and taking it: the recovery raises LockHeldError, and the attempt is on record."""
    crashed_deploy(dworld)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    ctx = dworld.context()

    def on(line: str) -> None:  # the recovery names what it found, then takes the lease
        held = lock.current_lock(ctx.cloudrun, SERVICE) if "was interrupted" in line else None
        if held is not None and held.holder == "old@ci":
            lock.acquire(ctx.cloudrun, SERVICE, holder="bob@ci", deploy_id="bob-1", ttl_s=600)

    with pytest.raises(lock.LockHeldError, match="bob@ci"):
        run_rollback(dworld.context(), SERVICE, progress=hook(on))
    rows = _rollback_rows(dworld)
    assert [r["outcome"] for r in rows] == ["refused"], rows
    assert "bob@ci" in rows[0]["message"] and "changed nothing" in rows[0]["message"]


@pytest.mark.parametrize("journal", [False, True])
def test_a_rollback_that_cannot_read_cloud_run_writes_its_refused_row(
    dworld: DeployWorld, journal: bool
) -> None:
    """The API fails while the rollback looks for an interrupted deploy, or (after a
    recovery that left nothing to restore) while it reads the service to choose its target:
    no lease taken, nothing changed, and the attempt still leaves its row."""
    from nbaops.errors import CloudRunError

    ctx = dworld.context()
    if journal:  # the recovery finds a deploy that died before changing anything
        started = Journal.start("dead-deploy-1", "deploy", "old@ci", dworld.service())
        leave_lease(ctx, started)
        dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
        ctx = dworld.context()

    def on(line: str) -> None:  # the recovery is done: the next read is the rollback's own
        if "recovered interrupted" in line:
            set_api_fault(dworld.home, "http-4xx", service=SERVICE, method="GET")

    if not journal:
        set_api_fault(dworld.home, "http-4xx", service=SERVICE, method="GET", count=1)
    with pytest.raises(CloudRunError):
        run_rollback(ctx, SERVICE, progress=hook(on))
    rows = _rollback_rows(dworld)
    assert [r["outcome"] for r in rows] == ["refused"], rows
    why = "choose the target" if journal else "could not check for an interrupted deploy"
    assert why in rows[0]["message"] and "changed nothing" in rows[0]["message"]


def test_a_rollback_that_cannot_read_the_revisions_for_to_writes_its_refused_row(
    dworld: DeployWorld,
) -> None:
    from nbaops.errors import CloudRunError

    ctx = dworld.context()
    older = ctx.cloudrun.list_revisions(SERVICE)[1].name
    set_api_fault(dworld.home, "http-4xx", service=SERVICE, method="GET", count=1)
    with pytest.raises(CloudRunError):
        run_rollback(ctx, SERVICE, to=older)
    rows = _rollback_rows(dworld)
    assert [r["outcome"] for r in rows] == ["refused"], rows
    assert "check --to" in rows[0]["message"] and "changed nothing" in rows[0]["message"]


def test_a_rollback_whose_force_unlock_fails_writes_its_refused_row(dworld: DeployWorld) -> None:
    """inv deploy audits a failed --force-unlock; inv rollback wrote no row at all."""
    from nbaops.errors import CloudRunError

    ctx = dworld.context()
    lock.acquire(ctx.cloudrun, SERVICE, holder="ci@runner", deploy_id="d-1", ttl_s=600)
    set_api_fault(dworld.home, "http-4xx", service=SERVICE, method="PATCH", count=1)
    with pytest.raises(CloudRunError):
        run_rollback(ctx, SERVICE, force_unlock=True)
    rows = _rollback_rows(dworld)
    assert [r["outcome"] for r in rows] == ["refused"], rows
    assert "--force-unlock failed" in rows[0]["message"]
    assert "traffic was not touched" in rows[0]["message"]


def test_a_recovery_interrupted_while_its_lease_write_is_confirmed_leaves_no_lease(
    dworld: DeployWorld,
) -> None:
    """A Ctrl-C/SIGTERM once the recovery's takeover write has landed but before
    ``acquire`` returned (its confirming read is a whole API call) left the recovery's
    lease on the service, over the interrupted deploy's journal: the next command (on
    another machine, or this one within the process' life) found that live lease and
    neither recovered the deploy nor could take the lease until it expired. It is removed;
    the journal stays for the next command."""
    crashed_deploy(dworld)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    real = lock.current_lock

    def interrupted_read(cloudrun: Any, service: str) -> Any:
        raise KeyboardInterrupt  # the SIGINT lands in the confirming read

    dworld.monkeypatch.setattr(lock, "current_lock", interrupted_read)
    ctx = dworld.context()
    with pytest.raises(KeyboardInterrupt):
        recover(ctx, ctx.config.service(SERVICE))
    dworld.monkeypatch.setattr(lock, "current_lock", real)
    info = dworld.service()
    assert lock.LOCK_ANNOTATION not in info.annotations, info.annotations
    journal = journal_of(info)
    assert journal is not None and journal.deploy_id == "dead-deploy-1"
    again = recover(ctx, ctx.config.service(SERVICE))
    assert again is not None and again.ok, again


def test_a_recovery_slower_than_its_lease_keeps_renewing_it(dworld: DeployWorld) -> None:
    """Another command must not find the recovery's lease lapsed and recover too."""
    crashed_deploy(dworld)
    dworld.reconfigure(lock_ttl_s=1)
    dworld.monkeypatch.delenv("NBAOPS_NOW")  # real time: the dead deploy's lease has lapsed
    ctx = dworld.context()
    set_api_fault(dworld.home, "health-timeout", service=SERVICE, count=1, delay_s=2)
    seen: list[lock.DeployLock | None] = []

    def on(line: str) -> None:
        if "verified:" in line:  # after the restore's 2 s health probe
            seen.append(lock.current_lock(dworld.context().cloudrun, SERVICE))

    rec = recover(ctx, ctx.config.service(SERVICE), progress=hook(on))
    assert rec is not None and rec.ok, rec
    (lease,) = seen
    assert lease is not None and lease.deploy_id != "dead-deploy-1"
    # 2 s into a 1 s lease it was renewed after its first expiry: still held. (Compared
    # with the lease's own times, not the wall clock: a loaded machine may run the
    # heartbeat late, which is not what this test is about.)
    first_expiry = lease.since + dt.timedelta(seconds=1)
    assert lease.last_renewed > first_expiry and lease.expires > first_expiry, lease


def test_rollback_after_a_deploy_that_died_before_its_revision_served(
    dworld: DeployWorld,
) -> None:
    # The new revision was created but never given traffic: "was <new>" and the audit
    # row's revision_before named a revision that never served.
    before, new = crashed_deploy(dworld, split=(0, 100))
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    report = run_rollback(dworld.context(), SERVICE)
    assert report.outcome == "success" and report.target == before
    assert report.from_revision == before != new
    assert report.final_line().endswith("serves 100% (it already served), verified")
    row = next(r for r in dworld.audit_rows() if r["deploy_id"] == report.deploy_id)
    assert (row["revision_before"], row["revision_after"]) == (before, before)


def test_recovery_that_cannot_verify_keeps_the_journal_and_stops(dworld: DeployWorld) -> None:
    crashed_deploy(dworld)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=1)
    with pytest.raises(RecoveryFailedError, match="FAILED.*inv rollback --service"):
        run_deploy(dworld.context(), DeployRequest(service=SERVICE, skip_tests=True))
    info = dworld.service()
    assert journal_of(info) is not None  # the next command tries again
    assert lock.LOCK_ANNOTATION not in info.annotations
    rows = {r["deploy_id"]: r for r in dworld.audit_rows()}
    ours = next(r for d, r in rows.items() if d != "dead-deploy-1")
    assert rows["dead-deploy-1"]["outcome"] == "interrupted"
    # ours changed nothing and its row says why (it was 'failed': "deploy S: failed")
    assert ours["outcome"] == "refused", ours
    assert "FAILED" in ours["message"] and "changed nothing" in ours["message"], ours
    report = run_rollback(dworld.context(), SERVICE)  # health is back: recovered now
    assert report.outcome == "success"
    assert len([r for r in dworld.audit_rows() if r["deploy_id"] == "dead-deploy-1"]) == 1


def test_a_pre_deploy_split_is_restored_exactly(dworld: DeployWorld) -> None:
    ctx = dworld.context()
    info = ctx.cloudrun.get_service(SERVICE)
    older = next(
        r.name for r in ctx.cloudrun.list_revisions(SERVICE) if r.name != info.serving_revision
    )
    ctx.cloudrun.set_traffic(
        SERVICE, [TrafficSplit(info.serving_revision or "", 80), TrafficSplit(older, 20)]
    )
    crashed_deploy(dworld, split=(100, 0))
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    report = run_verify(dworld.context(), SERVICE)
    assert report.checks[0].verdict is Verdict.WARN, report.checks[0].message
    after = {r: p for r, p in dworld.service().traffic_by_revision.items() if p}
    assert after == {info.serving_revision: 80, older: 20}


def test_rollback_after_a_deploy_over_a_split_ends_on_one_revision_at_100(
    dworld: DeployWorld,
) -> None:
    """inv rollback recovers the interrupted deploy (its pre-deploy split is restored
    exactly), then still routes 100% to the pre-deploy revision: it said 'X serves 100%'
    with the split left (80/20) and stopped."""
    ctx = dworld.context()
    info = ctx.cloudrun.get_service(SERVICE)
    serving = info.serving_revision or ""
    older = next(r.name for r in ctx.cloudrun.list_revisions(SERVICE) if r.name != serving)
    ctx.cloudrun.set_traffic(SERVICE, [TrafficSplit(serving, 80), TrafficSplit(older, 20)])
    crashed_deploy(dworld, split=(100, 0))
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    report = run_rollback(dworld.context(), SERVICE)
    after = {r: p for r, p in dworld.service().traffic_by_revision.items() if p}
    assert report.outcome == "success", report.final_line()
    assert report.target == serving and after == {serving: 100}, (report.final_line(), after)
    assert JOURNAL_ANNOTATION not in dworld.service().annotations
    outcomes = {r["deploy_id"]: r["outcome"] for r in dworld.audit_rows()}
    assert outcomes == {"dead-deploy-1": "interrupted", report.deploy_id: "success"}


def test_rollback_to_an_unknown_revision_changes_nothing_even_with_a_pending_recovery(
    dworld: DeployWorld,
) -> None:
    """Bad input changes nothing: a --to typo is refused before the interrupted deploy is
    recovered (it was recovered — traffic moved, a row written, an alert sent — and then
    refused with exit 2)."""
    from nbaops.errors import UsageError

    _before, _new = crashed_deploy(dworld)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    etag = dworld.service().etag
    with pytest.raises(UsageError, match="unknown revision"):
        run_rollback(dworld.context(), SERVICE, to=f"{SERVICE}-99999-zzz")
    assert dworld.service().etag == etag
    assert dworld.audit_rows() == [] and outbox(dworld) == []


def test_rollback_to_the_revision_the_recovery_restored_is_that_rollback(
    dworld: DeployWorld,
) -> None:
    """``inv rollback --to BEFORE`` over an interrupted deploy: the recovery routes 100% back
    to BEFORE (traffic moved, a row, an alert), which is what was asked. It was then refused
    as bad input — exit 2 "--to: revision ... already serves 100%", the rule's "nothing
    changed" untrue — and this rollback left no row. It is reported and audited as this
    rollback, as without --to."""
    before, new = crashed_deploy(dworld, split=(60, 40))
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    report = run_rollback(dworld.context(), SERVICE, to=before)
    assert report.outcome == "success", report.final_line()
    assert (report.target, report.from_revision) == (before, new)
    assert dworld.service().traffic_by_revision[before] == 100
    rows = {r["deploy_id"]: r for r in dworld.audit_rows()}
    assert rows["dead-deploy-1"]["outcome"] == "interrupted"
    assert rows[report.deploy_id]["outcome"] == "success"


def test_a_finished_deploy_that_died_before_releasing_is_only_recorded(
    dworld: DeployWorld,
) -> None:
    _before, new = crashed_deploy(dworld, split=(100, 0))
    ctx = dworld.context()
    journal = journal_of(ctx.cloudrun.get_service(SERVICE))
    assert journal is not None
    write_journal(
        ctx, journal.advance("finished", outcome="success", summary="DEPLOYED phase4-processors")
    )
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    report = run_verify(dworld.context(), SERVICE)
    assert "it had finished (success)" in report.checks[0].message
    assert dworld.service().traffic_by_revision[new] == 100  # not undone
    (row,) = dworld.audit_rows()
    assert row["outcome"] == "success" and "written by recovery" in row["message"]


def test_losing_the_lease_mid_deploy_stops_it_and_says_so(dworld: DeployWorld) -> None:
    before = dworld.service().serving_revision

    def steal() -> None:  # another deploy takes the lease over mid-observation
        ctx = dworld.context()
        lock.force_unlock(ctx.cloudrun, SERVICE)
        lock.acquire(ctx.cloudrun, SERVICE, holder="bob@ci", deploy_id="thief", ttl_s=600)

    clock = FakeClock(wall=NOW_DT)  # a canary's rounds wait for metrics: on a fake clock
    report = run_deploy(
        dworld.context(),
        DeployRequest(service=SERVICE, canary=20),
        progress=at_steps(("round 1", steal)),
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )
    assert report.final_line().startswith("LEASE LOST phase4-processors: taken over by bob@ci")
    assert exit_code_for(report.verdict) == 3
    info = dworld.service()
    assert info.traffic_by_revision[before or ""] == 80  # left for the new holder to decide
    assert lock.current_lock(dworld.context().cloudrun, SERVICE).deploy_id == "thief"  # type: ignore[union-attr]
    assert [r["outcome"] for r in dworld.audit_rows()] == ["failed"]


def test_ctrl_c_after_the_lease_was_taken_over_says_lease_lost_not_a_second_signal(
    dworld: DeployWorld,
) -> None:
    """Ctrl-C once another command had taken the lease over: the deploy must not touch
    the service (its restore is fenced off) and must say so. It reported the fenced restore
    as a *second signal* ("restore not completed (LeaseLostError)") and printed the manual
    commands with ``inv rollback ... --force-unlock``, which would remove the lease of the
    command that now owns the service, mid-way through what it does."""
    before = dworld.service().serving_revision

    def steal_then_interrupt() -> None:  # the new revision exists, without traffic
        ctx = dworld.context()
        lock.force_unlock(ctx.cloudrun, SERVICE)
        lock.acquire(ctx.cloudrun, SERVICE, holder="bob@ci", deploy_id="thief", ttl_s=600)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_deploy(
            dworld.context(),
            DeployRequest(service=SERVICE),
            progress=at_steps(("still serves", steal_then_interrupt)),
        )
    (row,) = dworld.audit_rows()
    assert row["outcome"] == "interrupted", row
    assert "LeaseLostError" not in row["message"], row["message"]
    assert "--force-unlock" not in row["message"], row["message"]
    assert "lost its lease (taken over by bob@ci" in row["message"], row["message"]
    info = dworld.service()
    assert info.traffic_by_revision[before or ""] == 100
    assert lock.current_lock(dworld.context().cloudrun, SERVICE).deploy_id == "thief"  # type: ignore[union-attr]


def test_sigterm_during_a_deploy_restores_audits_alerts_and_exits_3(dworld: DeployWorld) -> None:
    from nbaops.cli.runner import run

    before = dworld.service().serving_revision

    def terminate() -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    def action(_ctx: Any) -> Any:
        with terminate_as_interrupt():
            progress = at_steps(("round 1", terminate))
            return run_deploy(dworld.context(), DeployRequest(service=SERVICE), progress=progress)

    assert run(action, json_output=True) == 3
    info = dworld.service()
    assert info.traffic_by_revision[before or ""] == 100
    assert lock.LOCK_ANNOTATION not in info.annotations
    assert JOURNAL_ANNOTATION not in info.annotations
    (row,) = dworld.audit_rows()
    assert row["outcome"] == "interrupted"
    assert row["message"] == "interrupted (SIGTERM); previous revision restored and verified"
    # what serves after the attempt: the restored revision, not the one that got no traffic
    assert (row["revision_before"], row["revision_after"]) == (before, before)
    assert any("deploy interrupted (SIGTERM)" in e["title"] for e in outbox(dworld))


def test_sigterm_during_verify_deploys_recovery_is_handled_like_ctrl_c(
    dworld: DeployWorld,
) -> None:
    """verify-deploy recovers (changes traffic): SIGTERM there raises like Ctrl-C, so the
    recovery lets go of its lease, keeps the journal and the task exits 3."""
    from invoke.context import Context as InvokeContext
    from invoke.exceptions import Exit

    from nbaops.cli import deploy as tasks

    # a first run builds the task's sandbox on this home (the state files dworld shares)
    tasks.verify_deploy(InvokeContext(), service=SERVICE, dry_run=True)
    crashed_deploy(dworld)
    # past the dead deploy's lease, but not so far past the sandbox's build that the task
    # regenerates its data first (~4 s the recovery never reads)
    later = NOW_DT + dt.timedelta(seconds=600 + 60)
    assert later - NOW_DT < lifecycle.STALE_AFTER
    dworld.monkeypatch.setenv("NBAOPS_NOW", later.isoformat())
    dworld.monkeypatch.setenv("NBAOPS_CRASH_AT", "recover:locked:TERM")  # with its lease
    unhandled: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: unhandled.append(signum))
    try:
        with pytest.raises(Exit) as ended:
            tasks.verify_deploy(InvokeContext(), service=SERVICE)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert unhandled == []  # the task's own handler took it
    assert ended.value.code == 3
    info = dworld.service()
    assert lock.LOCK_ANNOTATION not in info.annotations  # the recovery's lease: released
    assert journal_of(info) is not None  # the next command recovers


def test_a_second_signal_during_the_restore_reports_the_traffic_left(
    dworld: DeployWorld,
) -> None:
    before = dworld.service().serving_revision
    fired: list[str] = []

    def on(line: str) -> None:
        if "round 1" in line and "first" not in fired:
            fired.append("first")
            raise Terminated(signal.SIGTERM)
        if "routing 100% of traffic" in line and "second" not in fired:
            fired.append("second")
            raise Terminated(signal.SIGHUP)

    with pytest.raises(Terminated):
        run_deploy(dworld.context(), DeployRequest(service=SERVICE, canary=30), progress=hook(on))
    info = dworld.service()
    new = next(r for r in info.traffic_by_revision if r != before and info.traffic_by_revision[r])
    (row,) = dworld.audit_rows()
    assert row["outcome"] == "interrupted"
    assert "restore not completed (SIGHUP)" in row["message"]
    assert f"traffic left: {new} 30%, {before} 70%" in row["message"] or (
        f"traffic left: {before} 70%, {new} 30%" in row["message"]
    )
    assert journal_of(info) is not None  # kept: the next command finishes the restore
    report = run_rollback(dworld.context(), SERVICE)
    assert report.outcome == "success" and report.target == before


def test_rollback_of_a_held_or_split_service_goes_to_what_served_before(
    dworld: DeployWorld,
) -> None:
    ctx = dworld.context()
    before, _new, info = _split(dworld)
    plain = run_rollback(dworld.context(), SERVICE, dry_run=True)
    assert plain.target == before  # the oldest revision receiving traffic, not one further
    held = Journal.start("held-1", "deploy", "ada@h", info).advance("held", outcome="held")
    write_journal(ctx, held)
    report = run_rollback(dworld.context(), SERVICE)
    assert report.target == before and report.outcome == "success"
    assert JOURNAL_ANNOTATION not in dworld.service().annotations  # the held deploy is over


def lease_from_another_machine(world: DeployWorld) -> None:
    """The crashed command's lease as if taken on another machine (this host's pid check
    cannot help), 6 of its 10 minutes unrenewed: the next command waits for it to lapse."""
    ctx = world.context()
    lease = lock.current_lock(ctx.cloudrun, SERVICE)
    assert lease is not None
    ctx.cloudrun.set_annotations(
        SERVICE,
        {
            lock.LOCK_ANNOTATION: lock.DeployLock(
                "old@ci", lease.since, lease.deploy_id, lease.expires, host="runner-7", pid=4242
            ).to_annotation()
        },
        etag=ctx.cloudrun.get_service(SERVICE).etag,
    )
    world.monkeypatch.setenv("NBAOPS_NOW", "2025-01-15T17:06:00Z")


def test_a_lease_that_stopped_being_renewed_is_waited_for_then_recovered(
    dworld: DeployWorld,
) -> None:
    """A deploy that died on another machine: the next deploy waits out its lease."""
    before, _new = crashed_deploy(dworld)
    lease_from_another_machine(dworld)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the injected wait moves the pinned clock instead
        slept.append(seconds)
        dworld.monkeypatch.setenv("NBAOPS_NOW", "2025-01-15T17:10:00Z")

    report = run_deploy(
        dworld.context(), DeployRequest(service=SERVICE, skip_tests=True), sleep=sleep
    )
    assert slept[0] == 240.0
    assert report.outcome == "success", report.final_line()
    assert report.revision_before == before
    assert any("recovered interrupted deploy dead-deploy-1" in n for n in report.notes)


def test_dry_runs_name_the_pending_recovery_and_change_nothing(dworld: DeployWorld) -> None:
    crashed_deploy(dworld)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    etag = dworld.service().etag
    plan = run_deploy(dworld.context(), DeployRequest(service=SERVICE, dry_run=True))
    assert plan.plan[0].startswith("0. recover first: deploy dead-deploy-1 by old@ci")
    assert any("renewed every" in line and "fenced by the lease" in line for line in plan.plan)
    rollback = run_rollback(dworld.context(), SERVICE, dry_run=True)
    assert any(n.startswith("would first recover: deploy dead-deploy-1") for n in rollback.notes)
    assert dworld.service().etag == etag and dworld.audit_rows() == []


def test_fenced_writes_retry_a_compare_and_swap_lost_to_the_heartbeat(
    dworld: DeployWorld,
) -> None:
    from nbaops.adapters.cloudrun import ConcurrentModificationError
    from nbaops.deploy.lock import retry_cas

    calls: list[int] = []

    def write() -> Any:
        calls.append(1)
        if len(calls) < 3:
            raise ConcurrentModificationError("stale etag")
        return "written"

    assert retry_cas(write, "write") == "written" and len(calls) == 3
    before = dworld.service().serving_revision

    def lost_race() -> None:  # the rollback's traffic PATCH loses one compare-and-swap
        set_api_fault(dworld.home, "http-4xx", service=SERVICE, method="PATCH", status=409, count=1)

    fired: list[bool] = []

    def on(line: str) -> None:
        if "still serves" in line and not fired:
            fired.append(True)
            set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=1)
        elif "routing 100% of traffic" in line:
            lost_race()

    report = run_deploy(dworld.context(), DeployRequest(service=SERVICE), progress=hook(on))
    assert report.outcome == "rolled_back", report.final_line()
    assert dworld.service().traffic_by_revision[before or ""] == 100


# ------------------------------------------------------------ an interrupted inv rollback


def crashed_rollback(
    world: DeployWorld, *, moved: bool, held: Journal | None = None
) -> tuple[str, str]:
    """An ``inv rollback`` killed in phase ``rollback`` (lease + journal left), before or
    after its traffic PATCH: ``(from, target)``."""
    ctx = world.context()
    info = ctx.cloudrun.get_service(SERVICE)
    serving = info.serving_revision or ""
    target = next(r.name for r in ctx.cloudrun.list_revisions(SERVICE) if r.name != serving)
    journal = Journal.start(
        "dead-rollback-1",
        "rollback",
        "old@ci",
        info,
        new_revision=target,
        held=held.to_json() if held else None,
    )
    leave_lease(ctx, journal.advance("rollback"))
    if moved:
        ctx.cloudrun.set_traffic(SERVICE, [TrafficSplit(target, 100)])
    return serving, target


def test_an_interrupted_rollback_that_moved_traffic_is_recorded_not_undone(
    dworld: DeployWorld,
) -> None:
    serving, target = crashed_rollback(dworld, moved=True)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    check = next(c for c in check_all_services(dworld.context()).checks if c.service == SERVICE)
    assert "INTERRUPTED ROLLBACK: rollback dead-rollback-1 by old@ci" in check.message
    assert f"rolling back to {target} from {serving} 100%" in check.message
    assert "without routing traffic back" in check.message
    plan = run_deploy(dworld.context(), DeployRequest(service=SERVICE, dry_run=True))
    assert plan.plan[0].startswith("0. recover first: rollback dead-rollback-1 by old@ci")
    assert dworld.audit_rows() == []  # dry runs change nothing
    report = run_verify(dworld.context(), SERVICE)
    first = report.checks[0]
    assert first.name == "interrupted_deploy" and first.verdict is Verdict.WARN
    assert first.message.startswith("recovered interrupted rollback dead-rollback-1 (rollback)")
    assert "deploy" not in first.message.replace("interrupted_deploy", "")
    info = dworld.service()
    assert info.traffic_by_revision == {target: 100}  # never routed back to `serving`
    assert lock.LOCK_ANNOTATION not in info.annotations
    assert JOURNAL_ANNOTATION not in info.annotations
    (row,) = dworld.audit_rows()
    assert (row["deploy_id"], row["action"], row["outcome"]) == (
        "dead-rollback-1",
        "rollback",
        "success",
    )
    assert (row["revision_before"], row["revision_after"]) == (serving, target)
    assert row["message"].endswith("[row written by recovery]")
    assert any(e["title"] == f"{SERVICE}: interrupted rollback recovered" for e in outbox(dworld))


@pytest.mark.parametrize("named", [False, True])
def test_rollback_after_an_interrupted_rollback_that_moved_traffic_stops_there(
    dworld: DeployWorld, named: bool
) -> None:
    """Also with --to naming that target: the recovery had recorded the interrupted rollback
    (a row, its journal released) before --to was refused as 'already serves 100%'."""
    serving, target = crashed_rollback(dworld, moved=True)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    report = run_rollback(dworld.context(), SERVICE, to=target if named else None)
    assert report.outcome == "success" and report.target == target, report.final_line()
    assert {c.name for c in report.checks} == {"rollback_traffic_verified", "rollback_health"}
    assert dworld.service().traffic_by_revision == {target: 100}  # not a second revision back
    rows = {r["deploy_id"]: r for r in dworld.audit_rows()}
    assert rows["dead-rollback-1"]["outcome"] == "success"
    assert rows[report.deploy_id]["outcome"] == "success" and len(rows) == 2
    assert any("recovered interrupted rollback dead-rollback-1" in n for n in report.notes)


def test_rollback_after_an_interrupted_rollback_that_had_not_moved_goes_to_its_target(
    dworld: DeployWorld,
) -> None:
    serving, target = crashed_rollback(dworld, moved=False)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    report = run_rollback(dworld.context(), SERVICE)
    assert report.outcome == "success" and report.target == target
    assert report.from_revision == serving
    assert dworld.service().traffic_by_revision == {target: 100}
    rows = {r["deploy_id"]: r for r in dworld.audit_rows()}
    assert rows["dead-rollback-1"]["outcome"] == "interrupted"
    assert (
        rows["dead-rollback-1"]["revision_before"],
        rows["dead-rollback-1"]["revision_after"],
    ) == (
        serving,
        serving,
    )


def _split(world: DeployWorld) -> tuple[str, str, ServiceInfo]:
    """A new tagged revision at 70%, what served before at 30%: ``(before, new, the
    service as it was before the split)``."""
    ctx = world.context()
    info = ctx.cloudrun.get_service(SERVICE)
    before = info.serving_revision or ""
    created = ctx.cloudrun.deploy_revision(
        SERVICE, image="local.nbaops.dev/x:z", labels={}, tag="candidate", no_traffic=True
    )
    new = created.latest_created_revision or ""
    ctx.cloudrun.set_traffic(
        SERVICE, [TrafficSplit(new, 70, "candidate"), TrafficSplit(before, 30)]
    )
    return before, new, info


def _held_deploy(world: DeployWorld) -> tuple[str, str, Journal]:
    """A held canary: a new revision at 70%, its journal (phase held) on the service."""
    ctx = world.context()
    before, new, info = _split(world)
    held = Journal.start("held-1", "deploy", "ada@h", info).advance("held", outcome="held")
    write_journal(ctx, held)
    return before, new, held


def test_a_rollback_carries_a_held_deploys_journal_and_gives_it_back_unless_verified(
    dworld: DeployWorld,
) -> None:
    before, _new, _held = _held_deploy(dworld)
    seen: list[Journal | None] = []

    def on(line: str) -> None:  # what the service carries while the rollback runs
        if "routing 100% of traffic" in line:
            seen.append(journal_of(dworld.service()))
            set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=1)

    failed = run_rollback(dworld.context(), SERVICE, progress=hook(on))
    assert failed.outcome == "rollback_failed" and failed.target == before
    (live,) = seen
    assert live is not None and (live.action, live.phase, live.new_revision) == (
        "rollback",
        "rollback",
        before,
    )
    assert live.held is not None and live.held["deploy_id"] == "held-1"
    info = dworld.service()
    kept = journal_of(info)
    assert kept is not None and (kept.deploy_id, kept.phase) == ("held-1", "held")
    assert lock.LOCK_ANNOTATION not in info.annotations
    done = run_rollback(dworld.context(), SERVICE)
    assert done.outcome == "success" and done.target == before
    assert JOURNAL_ANNOTATION not in dworld.service().annotations  # the held deploy is over


def test_an_interrupted_rollback_of_a_held_deploy_gives_its_journal_back(
    dworld: DeployWorld,
) -> None:
    before, new, held = _held_deploy(dworld)
    ctx = dworld.context()
    info = ctx.cloudrun.get_service(SERVICE)
    journal = Journal.start(
        "dead-rollback-2", "rollback", "old@ci", info, new_revision=before, held=held.to_json()
    )
    leave_lease(ctx, journal.advance("rollback"))
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    report = run_verify(dworld.context(), SERVICE)
    assert "journal of held deploy held-1 is written back" in report.checks[0].message
    info = dworld.service()
    assert info.traffic_by_revision[new] == 70  # not routed anywhere
    back = journal_of(info)
    assert back is not None and (back.deploy_id, back.phase) == ("held-1", "held")
    rollback = run_rollback(dworld.context(), SERVICE)
    assert rollback.outcome == "success" and rollback.target == before
    assert JOURNAL_ANNOTATION not in dworld.service().annotations


@pytest.mark.parametrize("killed", ["rollback-elsewhere", "deploy-before-any-change"])
def test_rollback_to_the_serving_revision_over_a_journal_that_moves_nothing_changes_nothing(
    dworld: DeployWorld, killed: str
) -> None:
    """``inv rollback --to X`` with X serving 100% over a killed rollback aimed elsewhere
    that had not moved traffic, or a deploy killed before it changed the service: no
    recovery can move traffic off X or make X the rollback that was done, so --to is bad
    input. It ran the recovery first (the killed command's row, an alert, its journal
    cleared) and then exited 2 'already serves 100%', the rule's "nothing changed" untrue.
    Refused before anything changes; the next command recovers the journal."""
    from nbaops.errors import UsageError

    ctx = dworld.context()
    serving = dworld.service().serving_revision or ""
    if killed == "rollback-elsewhere":
        serving, _target = crashed_rollback(dworld, moved=False)
    else:
        leave_lease(ctx, Journal.start("dead-deploy-1", "deploy", "old@ci", dworld.service()))
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    mark = len(dworld.requests())
    with pytest.raises(UsageError, match="already serves 100%"):
        run_rollback(dworld.context(), SERVICE, to=serving)
    assert dworld.mutating(mark) == []
    assert dworld.audit_rows() == [] and outbox(dworld) == []
    assert journal_of(dworld.service()) is not None  # left for the next command to recover


def test_a_dry_run_rollback_to_the_target_an_interrupted_rollback_moved_to_is_planned(
    dworld: DeployWorld,
) -> None:
    """``inv rollback --dry-run --to T`` where a killed rollback had moved 100% to T: the
    real command recovers it and reports T as the rollback (exit 0); the dry run refused T
    as bad input ('already serves 100%', exit 2). It plans, saying it would recover first,
    and changes nothing."""
    _serving, target = crashed_rollback(dworld, moved=True)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    mark = len(dworld.requests())
    plan = run_rollback(dworld.context(), SERVICE, to=target, dry_run=True)
    assert plan.outcome == "planned" and plan.target == target
    assert any(n.startswith("would first recover: ") for n in plan.notes), plan.notes
    assert dworld.mutating(mark) == [] and dworld.audit_rows() == []


@pytest.mark.parametrize("dry_run", [False, True])
def test_rollback_to_the_serving_revision_over_a_deploy_already_recorded_changes_nothing(
    dworld: DeployWorld, dry_run: bool
) -> None:
    """A deploy that wrote its ``success`` row and then died before journalling
    ``finished`` (the Cloud Run API failed at its end) leaves a journal of a deploy that
    changed the service, over its new revision serving 100%. Its recovery moves nothing
    (the row says traffic is where it ended), so ``inv rollback --to NEW`` is bad input:
    it ran the recovery first (an alert, the journal cleared) and then exited 2 'already
    serves 100%'; the dry run planned it ('would first recover'). Refused before anything
    changes, as for the other journals whose recovery moves nothing."""
    from nbaops.deploy import audit
    from nbaops.errors import UsageError

    _before, new = crashed_deploy(dworld, split=(100, 0))
    ctx = dworld.context()
    journal = journal_of(ctx.cloudrun.get_service(SERVICE))
    assert journal is not None and journal.mutated and journal.phase != "finished"
    row = audit.AuditRecord("dead-deploy-1", SERVICE, "deploy", "old@ci", ctx.profile)
    row.started_at = journal.started
    row.finish("success", "DEPLOYED phase4-processors")
    audit.write(ctx, row)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    mark = len(dworld.requests())
    with pytest.raises(UsageError, match="already serves 100%"):
        run_rollback(dworld.context(), SERVICE, to=new, dry_run=dry_run)
    assert dworld.mutating(mark) == [] and outbox(dworld) == []
    assert [r["deploy_id"] for r in dworld.audit_rows()] == ["dead-deploy-1"]
    assert journal_of(dworld.service()) is not None  # left for the next command to recover


@pytest.mark.parametrize("killed", ["deploy", "rollback"])
def test_a_force_unlock_rollback_that_the_recovery_completes_notes_the_unlock_in_its_row(
    dworld: DeployWorld, killed: str
) -> None:
    """``inv rollback --force-unlock`` over a command that died holding a live lease (on
    another machine): the lease is removed, the recovery restores the pre-deploy revision
    (or finds the killed rollback's target serving), and that is this rollback. Its row
    said nothing of the lease it removed, as every other rollback row does (a
    ``force_unlock`` WARN note): --force-unlock is audited."""
    if killed == "deploy":
        crashed_deploy(dworld)
    else:
        crashed_rollback(dworld, moved=True)
    holder = lock.current_lock(dworld.context().cloudrun, SERVICE)
    assert holder is not None and not holder.lapsed(NOW_DT)  # live: only --force-unlock
    report = run_rollback(dworld.context(), SERVICE, force_unlock=True)
    assert report.outcome == "success", report.final_line()
    row = next(r for r in dworld.audit_rows() if r["deploy_id"] == report.deploy_id)
    notes = [v for v in row["verdicts"] if v["step"] == "force_unlock"]
    assert notes == [
        {
            "step": "force_unlock",
            "check": "force_unlock",
            "verdict": "WARN",
            "message": "removed lock of old@ci",
        }
    ], row["verdicts"]


def test_a_journal_recovered_by_another_command_meanwhile_is_not_recovered_twice(
    dworld: DeployWorld,
) -> None:
    """Two commands find the same interrupted deploy; the other one recovers it completely
    (traffic restored, row, alert, journal cleared) between this one's look and its lease.
    The lease was then free, so this one took it and acted on the journal it had seen: the
    restore PATCHed again and a second alert went out (and had a new deploy finished
    meanwhile, it would have been routed back). The lease is taken only while the service
    still carries that journal; otherwise there is nothing left to recover."""
    crashed_deploy(dworld)
    dworld.monkeypatch.setenv("NBAOPS_NOW", LATER)
    cfg = dworld.context().config.service(SERVICE)
    others: list[Any] = []
    marks: list[int] = []

    def the_other_recovers() -> None:
        others.append(recover(dworld.context(), cfg))
        marks.append(len(dworld.requests()))

    progress = at_steps(("was interrupted", the_other_recovers))
    ours = recover(dworld.context(), cfg, progress=progress)
    assert others and others[0] is not None and others[0].ok
    assert ours is None
    assert dworld.mutating(marks[0]) == []
    assert len(outbox(dworld)) == 1 and len(dworld.audit_rows()) == 1
    assert lock.current_lock(dworld.context().cloudrun, SERVICE) is None


def test_a_rollback_stopped_while_its_recovery_waits_writes_its_interrupted_row(
    dworld: DeployWorld,
) -> None:
    """SIGTERM (a cancelled CI job) while ``inv rollback`` waits out the lease of a deploy
    that died on another machine (up to lock_ttl_s): the attempt left no audit row at all,
    though every rollback attempt has one, a Ctrl-C too (audit: 'a failure midway or a
    Ctrl-C still leaves a row'). Its row says it was interrupted; the dead deploy's
    journal stays for the next command."""
    crashed_deploy(dworld)
    lease_from_another_machine(dworld)

    def sleep(seconds: float) -> None:
        raise Terminated(signal.SIGTERM)

    with pytest.raises(Terminated):
        run_rollback(dworld.context(), SERVICE, sleep=sleep)
    (row,) = dworld.audit_rows()
    assert (row["action"], row["outcome"]) == ("rollback", "interrupted"), row
    assert row["message"].startswith(f"INTERRUPTED rollback {SERVICE}: SIGTERM"), row["message"]
    assert journal_of(dworld.service()) is not None


def test_a_deploy_dry_run_under_a_lease_no_longer_renewed_says_it_would_wait_then_recover(
    dworld: DeployWorld,
) -> None:
    """A deploy that died on another machine left a lease not renewed for half its length:
    the real deploy waits for it to lapse and recovers that deploy first (the test above),
    but the dry run's plan said 'the deploy would refuse'. It says the deploy would wait."""
    crashed_deploy(dworld)
    lease_from_another_machine(dworld)
    plan = run_deploy(dworld.context(), DeployRequest(service=SERVICE, dry_run=True))
    lease_line = next(line for line in plan.plan if line.startswith("1. lease"))
    assert "would refuse" not in lease_line, lease_line
    assert (
        "not renewed since 2025-01-15T17:00:00+00:00: the deploy would wait until "
        "2025-01-15T17:10:00+00:00 for it to lapse, then recover its deploy first"
    ) in lease_line, lease_line


def sigterm_once_the_fault_is_taken(world: DeployWorld, done: threading.Event) -> None:
    """SIGTERM this process as soon as the stand-in took the hanging request's fault (it
    consumes it when the request arrives, then sleeps): the signal lands inside that
    request however long the requests before it took. A fixed 0.5 s timer assumed they
    took less; on a loaded machine it could fire during an earlier step. Never once
    ``done`` is set (the test's SIGTERM handler is gone: the signal would end pytest)."""
    import time

    deadline = time.monotonic() + 60
    while active_api_faults(world.home) and time.monotonic() < deadline and not done.is_set():
        time.sleep(0.005)
    if not done.is_set():  # to the main thread: a process-wide kill() may land in another
        # thread, and the main thread would see it only after the hanging request
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)


def test_a_rollback_dry_run_under_a_lease_no_longer_renewed_says_it_would_wait_then_recover(
    dworld: DeployWorld,
) -> None:
    """As the deploy's dry run above: the real ``inv rollback`` waits for a lease that
    stopped being renewed (a deploy that died on another machine) and recovers that deploy
    first, but its dry run said the rollback would be refused."""
    crashed_deploy(dworld)
    lease_from_another_machine(dworld)
    mark = len(dworld.requests())
    plan = run_rollback(dworld.context(), SERVICE, dry_run=True)
    notes = "\n".join(plan.notes)
    assert "would be refused" not in notes, notes
    assert (
        "not renewed since 2025-01-15T17:00:00+00:00: the rollback would wait until "
        "2025-01-15T17:10:00+00:00 for it to lapse, then recover its deploy first"
    ) in notes, notes
    assert dworld.mutating(mark) == []  # a dry run: nothing waited for or changed


def test_a_verify_deploy_dry_run_under_a_lease_no_longer_renewed_says_it_would_wait_then_recover(
    dworld: DeployWorld,
) -> None:
    """As the deploy's and the rollback's dry runs: a real verify-deploy waits for a lease
    that stopped being renewed (its deploy died on another machine) and recovers that
    deploy first; its dry run reported nothing about it (a live lease: not interrupted)."""
    crashed_deploy(dworld)
    lease_from_another_machine(dworld)
    mark = len(dworld.requests())
    report = run_verify(dworld.context(), SERVICE, dry_run=True)
    first = report.checks[0]
    assert first.name == "interrupted_deploy" and first.verdict is Verdict.WARN, first
    assert first.message.startswith(
        "dry run, not recovered: the lease of old@ci: not renewed since "
        "2025-01-15T17:00:00+00:00: the real run would wait until 2025-01-15T17:10:00+00:00 "
        "for it to lapse, then recover its deploy first: deploy dead-deploy-1 by old@ci was "
        "interrupted in step 'traffic'"
    ), first.message
    assert dworld.mutating(mark) == [] and dworld.audit_rows() == []


@pytest.mark.parametrize(
    ("to", "method", "doing"),
    [
        (True, "GET", "reading its revisions and traffic to check --to"),
        (False, "PATCH", "removing the deploy lease (--force-unlock)"),
    ],
)
def test_a_rollback_stopped_before_its_recovery_writes_its_interrupted_row(
    dworld: DeployWorld, to: bool, method: str, doing: str
) -> None:
    """SIGTERM while ``inv rollback`` reads the service to check ``--to``, or while its
    ``--force-unlock`` write (which may remove the lease) is in flight: the attempt left no
    audit row, as a Ctrl-C during its recovery did before f751c6b (audit: 'a failure midway
    or a Ctrl-C still leaves a row')."""
    ctx = dworld.context()
    older = ctx.cloudrun.list_revisions(SERVICE)[1].name
    lock.acquire(ctx.cloudrun, SERVICE, holder="ci@runner", deploy_id="d-1", ttl_s=600)
    set_api_fault(dworld.home, "timeout", service=SERVICE, method=method, count=1, delay_s=3)
    done = threading.Event()
    timer = threading.Thread(target=sigterm_once_the_fault_is_taken, args=(dworld, done))
    try:
        with terminate_as_interrupt(), pytest.raises(Terminated):
            timer.start()
            run_rollback(ctx, SERVICE, to=older if to else None, force_unlock=True)
    finally:
        done.set()
        timer.join()
    (row,) = _rollback_rows(dworld)
    assert row["outcome"] == "interrupted", row
    assert row["message"].startswith(f"INTERRUPTED rollback {SERVICE}: SIGTERM while {doing};")
