"""inv deploy / inv rollback at their edges, in the deploy world (real git repo, the Cloud
Run stand-in through run_v2, DuckDB): API errors on the lock and on --force-unlock, an
error or Ctrl-C after the lock but before any change, a second Ctrl-C during the restore,
a lock that cannot be released, a health gate that passes on a later probe, a dry run that
cannot read Cloud Run, and the rollback's lock, release and no-progress paths."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console
from worlds.deploy_world import DeployWorld, at_steps

from nbaops.deploy import lock
from nbaops.deploy.deploy import DeployRequest, run_deploy
from nbaops.deploy.journal import journal_of
from nbaops.deploy.restore import restore_traffic
from nbaops.deploy.rollback import RollbackReport, run_rollback
from nbaops.errors import CloudRunError
from nbaops.local.api_faults import clear_api_faults, set_api_fault
from nbaops.verdict import Verdict, exit_code_for

SERVICE = "phase4-processors"


def rendered(report: object) -> str:
    console = Console(record=True, width=200)
    report.render(console)  # type: ignore[attr-defined]
    return console.export_text()


def patch_fails(world: DeployWorld, count: int = 1) -> Callable[[], Any]:
    return lambda: set_api_fault(
        world.home, "http-5xx", service=SERVICE, method="PATCH", count=count
    )


def interrupt() -> None:
    raise KeyboardInterrupt


# -- inv deploy -------------------------------------------------------------------------------


def test_lock_api_error_stops_the_deploy_before_any_change_and_is_audited(
    dworld: DeployWorld,
) -> None:
    before = dworld.service()
    patch_fails(dworld)()  # the first PATCH is the lock's
    with pytest.raises(CloudRunError, match="HTTP 503"):
        run_deploy(dworld.context(), DeployRequest(service=SERVICE))
    after = dworld.service()
    assert after.latest_created_revision == before.latest_created_revision
    assert after.traffic_by_revision == before.traffic_by_revision
    assert lock.LOCK_ANNOTATION not in after.annotations
    row = dworld.audit_rows()[0]
    assert (row["action"], row["outcome"]) == ("deploy", "failed")
    assert "HTTP 503" in row["message"], row["message"]  # why (it read "deploy S: failed")


def test_force_unlock_api_error_is_audited_and_nothing_is_deployed(dworld: DeployWorld) -> None:
    ctx = dworld.context()
    stuck = lock.acquire(ctx.cloudrun, SERVICE, holder="old@ci", deploy_id="dead-1").lock
    revision = dworld.service().latest_created_revision
    patch_fails(dworld)()  # the first PATCH is the force-unlock's
    with pytest.raises(CloudRunError):
        run_deploy(dworld.context(), DeployRequest(service=SERVICE, force_unlock=True))
    assert lock.current_lock(ctx.cloudrun, SERVICE) == stuck  # still held, not taken
    assert dworld.service().latest_created_revision == revision
    rows = sorted((r["action"], r["outcome"]) for r in dworld.audit_rows())
    assert rows == [("deploy", "failed"), ("force-unlock", "failed")]
    unlock_row = next(r for r in dworld.audit_rows() if r["action"] == "force-unlock")
    assert "force-unlock failed" in unlock_row["message"]


def test_error_after_the_lock_before_any_change_fails_without_a_rollback(
    dworld: DeployWorld,
) -> None:
    before = dworld.service()

    def failing_step() -> None:  # (a stderr that fails only drops the progress lines)
        raise RuntimeError("the step after the lock failed")

    report = run_deploy(
        dworld.context(),
        DeployRequest(service=SERVICE),
        progress=at_steps(("in the local stand-in", failing_step)),
    )
    assert report.outcome == "failed"
    assert exit_code_for(report.verdict) == 3
    assert report.final_line().startswith(
        f"DEPLOY FAILED {SERVICE}: RuntimeError: the step after the lock failed"
    )
    assert not any(c.name.startswith("rollback") for c in report.steps)  # nothing to undo
    after = dworld.service()
    assert after.latest_created_revision == before.latest_created_revision
    assert after.traffic_by_revision == before.traffic_by_revision
    assert lock.LOCK_ANNOTATION not in after.annotations
    assert dworld.audit_rows()[0]["outcome"] == "failed"


def test_ctrl_c_after_the_lock_before_any_change_only_releases_and_records(
    dworld: DeployWorld,
) -> None:
    before = dworld.service()
    with pytest.raises(KeyboardInterrupt):
        run_deploy(
            dworld.context(),
            DeployRequest(service=SERVICE),
            progress=at_steps(("acquired for", interrupt)),
        )
    after = dworld.service()
    assert after.latest_created_revision == before.latest_created_revision
    assert lock.LOCK_ANNOTATION not in after.annotations
    row = dworld.audit_rows()[0]
    assert (row["outcome"], row["message"]) == ("interrupted", "interrupted (Ctrl-C)")


@pytest.mark.parametrize("command", ["deploy", "rollback"])
def test_ctrl_c_while_the_lease_write_is_confirmed_leaves_no_lease_behind(
    dworld: DeployWorld, command: str
) -> None:
    """A Ctrl-C (or SIGTERM from a cancelled CI job) arriving once the lease's
    compare-and-swap has landed but before ``acquire`` returned (its confirming read is a
    whole API call) left the lease and its journal on the service: the command had not
    marked the lease as taken, so it did not release it. A retry from another machine was
    then refused ("deploy lease held") until the lease expired."""
    real = lock.current_lock
    calls: list[int] = []

    def interrupted_read(cloudrun: Any, service: str) -> Any:
        calls.append(1)
        raise KeyboardInterrupt  # the SIGINT lands in the confirming read

    dworld.monkeypatch.setattr(lock, "current_lock", interrupted_read)
    ctx = dworld.context()
    with pytest.raises(KeyboardInterrupt):
        if command == "deploy":
            run_deploy(ctx, DeployRequest(service=SERVICE))
        else:
            run_rollback(ctx, SERVICE)
    dworld.monkeypatch.setattr(lock, "current_lock", real)
    assert calls  # the lease write had landed
    info = dworld.service()
    assert lock.LOCK_ANNOTATION not in info.annotations, info.annotations
    assert journal_of(info) is None, info.annotations
    (row,) = dworld.audit_rows()
    assert row["outcome"] == "interrupted", row


def test_second_ctrl_c_during_the_restore_is_still_recorded_and_unlocks(
    dworld: DeployWorld,
) -> None:
    before = dworld.service().serving_revision
    with pytest.raises(KeyboardInterrupt):
        run_deploy(
            dworld.context(),
            DeployRequest(service=SERVICE),
            progress=at_steps(("still serves", interrupt), ("routing 100%", interrupt)),
        )
    info = dworld.service()
    assert info.traffic_by_revision[before] == 100  # the new revision never got traffic
    assert lock.LOCK_ANNOTATION not in info.annotations
    row = dworld.audit_rows()[0]
    assert row["outcome"] == "interrupted"
    assert "restore not completed (KeyboardInterrupt)" in row["message"]


def test_ctrl_c_after_a_deploy_was_held_keeps_its_journal_for_the_rollback(
    dworld: DeployWorld,
) -> None:
    """A Ctrl-C that arrives once the deploy has ended *held* (while its outcome is alerted
    or printed) undoes nothing, and must not remove the held journal either: without it
    ``inv rollback`` went one revision further back than the pre-deploy revision (a held
    deploy whose new revision never got traffic: the pre-deploy one still serves 100%)."""
    before = dworld.service().serving_revision

    def fail_health() -> None:  # the new revision exists, without traffic: it fails health
        set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=1)

    with pytest.raises(KeyboardInterrupt):
        run_deploy(
            dworld.context(),
            DeployRequest(service=SERVICE, no_rollback=True),
            progress=at_steps(("still serves", fail_health), (f"HELD {SERVICE}", interrupt)),
        )
    info = dworld.service()
    assert info.traffic_by_revision[before or ""] == 100
    assert lock.LOCK_ANNOTATION not in info.annotations
    kept = journal_of(info)
    assert kept is not None and kept.phase == "held", info.annotations
    rolled = run_rollback(dworld.context(), SERVICE)
    assert rolled.outcome == "success" and rolled.target == before


def test_lock_that_cannot_be_released_is_reported_and_the_row_still_written(
    dworld: DeployWorld,
) -> None:
    report = run_deploy(
        dworld.context(),
        DeployRequest(service=SERVICE),
        progress=at_steps(("DEPLOYED", patch_fails(dworld, count=2))),
    )
    assert report.outcome == "success"
    assert any(n.startswith("could not journal the outcome") for n in report.notes)
    assert any(
        n.startswith("could not release the deploy lease") and "next command recovers" in n
        for n in report.notes
    )
    held = lock.current_lock(dworld.context().cloudrun, SERVICE)
    assert held is not None and held.deploy_id == report.deploy_id  # lapses by itself
    assert dworld.audit_rows()[0]["outcome"] == "success"
    # Once the lease lapsed, the next deploy clears it without undoing the successful deploy
    # (its row says success) and without writing a second row for it.
    dworld.monkeypatch.setenv("NBAOPS_NOW", "2025-01-15T17:30:00Z")
    after = run_deploy(dworld.context(), DeployRequest(service=SERVICE, skip_tests=True))
    assert after.outcome == "success", after.final_line()
    assert any("its row says success" in n for n in after.notes)
    assert [r["outcome"] for r in dworld.audit_rows()] == ["success", "success"]


def test_health_gate_retries_until_the_new_revision_answers(dworld: DeployWorld) -> None:
    dworld.reconfigure(health_wait_s=30)
    sleeps: list[float] = []
    unhealthy_once = (
        "still serves",
        lambda: set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=1),
    )
    report = run_deploy(
        dworld.context(),
        DeployRequest(service=SERVICE),
        progress=at_steps(unhealthy_once),
        sleep=sleeps.append,
    )
    assert report.outcome == "success", report.final_line()
    gate = next(c for c in report.steps if c.name == "new_revision_health")
    assert gate.verdict is Verdict.PASS
    assert gate.message.endswith("after 2 probe(s)")
    assert sleeps[:1] == [0]  # health_interval_s between the two probes


def test_dry_run_that_cannot_read_cloud_run_plans_nothing_and_changes_nothing(
    dworld: DeployWorld,
) -> None:
    ctx = dworld.context()
    mark = len(dworld.requests())
    set_api_fault(dworld.home, "http-5xx", service=SERVICE, method="GET")
    try:
        report = run_deploy(ctx, DeployRequest(service=SERVICE, dry_run=True))
    finally:
        clear_api_faults(dworld.home)
    assert report.outcome == "planned"
    assert report.plan == []
    assert "could not read the current state" in report.final_line()
    assert exit_code_for(report.verdict) == 3
    assert dworld.mutating(mark) == []
    assert dworld.audit_rows() == []
    assert "pre-deploy" in rendered(report)


def test_dry_run_does_not_say_refuse_for_the_lease_of_a_dead_process(dworld: DeployWorld) -> None:
    """A lease taken on this host by a process that is gone has lapsed before it expires:
    the real deploy takes it over, so the plan must not say the deploy would refuse."""
    import datetime as dt
    import socket
    import subprocess
    import sys

    code = "import os; print(os.getpid())"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    ctx = dworld.context()
    now = dt.datetime(2025, 1, 15, 17, 0, tzinfo=dt.UTC)
    later = now + dt.timedelta(hours=1)
    dead = lock.DeployLock(
        "old@ci", now, "dead-1", later, host=socket.gethostname(), pid=int(child.stdout)
    )
    lease = {lock.LOCK_ANNOTATION: dead.to_annotation()}
    ctx.cloudrun.set_annotations(SERVICE, lease, etag=dworld.service().etag)
    plan = run_deploy(ctx, DeployRequest(service=SERVICE, dry_run=True))
    lease_line = next(line for line in plan.plan if line.startswith("1. lease"))
    assert "would refuse" not in lease_line, lease_line
    report = run_deploy(dworld.context(), DeployRequest(service=SERVICE))
    assert report.outcome == "success", report.final_line()  # what the plan now says


# -- inv rollback -----------------------------------------------------------------------------


@pytest.mark.parametrize("force_unlock", [False, True])
def test_rollback_dry_run_names_the_current_lock_holder_and_what_the_rollback_would_do(
    dworld: DeployWorld, force_unlock: bool
) -> None:
    """The dry run named the holder of a live lease and still planned the rollback, while
    the real command is refused (exit 2, LockHeldError) unless --force-unlock removes the
    lease first; it says which of the two it would be (as the deploy's plan says 'the
    deploy would refuse')."""
    ctx = dworld.context()
    lock.acquire(ctx.cloudrun, SERVICE, holder="bob@ci", deploy_id="deploy-7")
    report = run_rollback(ctx, SERVICE, dry_run=True, force_unlock=force_unlock)
    then = (
        "--force-unlock would remove it first"
        if force_unlock
        else "the rollback would be refused unless it lapses first or --force-unlock removes it"
    )
    held = "lock currently held by bob@ci since 2025-01-15T17:00:00+00:00"
    assert report.notes == [f"{held}: {then}"]
    assert f"  note: {report.notes[0]}" in rendered(report)
    assert dworld.audit_rows() == []


def test_rollback_dry_run_says_a_lapsed_lock_would_be_taken_over(dworld: DeployWorld) -> None:
    """An expired lease is not 'currently held': the rollback takes it over (below)."""
    ctx = dworld.context()
    lock.acquire(ctx.cloudrun, SERVICE, holder="old@ci", deploy_id="crashed", ttl_s=0)
    report = run_rollback(ctx, SERVICE, dry_run=True)
    assert report.notes == [
        "lock of old@ci since 2025-01-15T17:00:00+00:00 has lapsed: the rollback would take it over"
    ], report.notes


def test_rollback_takes_over_an_expired_lock(dworld: DeployWorld) -> None:
    ctx = dworld.context()
    lock.acquire(ctx.cloudrun, SERVICE, holder="old@ci", deploy_id="crashed", ttl_s=0)
    report = run_rollback(ctx, SERVICE)
    assert report.verdict is Verdict.PASS, report.final_line()
    assert report.notes == ["took over the expired lock of old@ci"]
    assert lock.current_lock(ctx.cloudrun, SERVICE) is None


def test_taking_over_the_lease_of_a_dead_process_does_not_call_it_expired(
    dworld: DeployWorld,
) -> None:
    import dataclasses
    import subprocess
    import sys

    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    ctx = dworld.context()
    live = lock.acquire(ctx.cloudrun, SERVICE, holder="old@ci", deploy_id="killed", ttl_s=600)
    dead = dataclasses.replace(live.lock, pid=int(child.stdout))  # its process is gone
    ctx.cloudrun.set_annotations(
        SERVICE,
        {lock.LOCK_ANNOTATION: dead.to_annotation()},
        etag=ctx.cloudrun.get_service(SERVICE).etag,
    )
    report = run_rollback(ctx, SERVICE)
    assert report.verdict is Verdict.PASS, report.final_line()
    assert report.notes == [
        f"took over the lock of old@ci, whose process (pid {dead.pid} on this host) had ended"
    ], report.notes


def test_rollback_lock_api_error_changes_no_traffic_and_is_audited(dworld: DeployWorld) -> None:
    before = dworld.service().traffic_by_revision
    patch_fails(dworld)()  # the lock's PATCH
    with pytest.raises(CloudRunError, match="HTTP 503"):
        run_rollback(dworld.context(), SERVICE)
    assert dworld.service().traffic_by_revision == before
    row = dworld.audit_rows()[0]
    # nothing moved: not "rollback_failed", which says traffic may be wrong
    assert (row["action"], row["outcome"]) == ("rollback", "failed")
    assert row["message"].startswith("CloudRunError: ")


def test_rollback_lock_release_failure_is_a_note_in_the_report(dworld: DeployWorld) -> None:
    report = run_rollback(
        dworld.context(), SERVICE, progress=at_steps(("verified:", patch_fails(dworld)))
    )
    assert report.verdict is Verdict.PASS
    assert report.notes and report.notes[0].startswith("could not release the deploy lease")
    assert "note: could not release the deploy lease" in rendered(report)
    assert dworld.audit_rows()[0]["outcome"] == "success"


def test_restore_without_progress_reports_failure_with_manual_commands(
    dworld: DeployWorld,
) -> None:
    ctx = dworld.context()
    cfg = ctx.config.service(SERVICE)
    revisions = ctx.cloudrun.list_revisions(SERVICE)
    serving, older = revisions[0].name, revisions[1].name
    patch_fails(dworld)()
    failed = restore_traffic(ctx, cfg, older, from_revision=serving, health_timeout_s=3)
    assert not failed.ok
    assert (failed.target, failed.from_revision) == (older, serving)
    assert failed.checks[0].verdict is Verdict.ERROR
    assert any(f"--to-revisions={older}=100" in c for c in failed.manual)
    report = RollbackReport(SERVICE, older, serving, False, "rollback_failed", "id-1", failed)
    text = rendered(report)
    assert "Manual rollback commands:" in text and f"--to-revisions={older}=100" in text

    done = restore_traffic(ctx, cfg, older, from_revision=serving, health_timeout_s=3)
    assert done.ok and done.manual == []
    assert dworld.service().traffic_by_revision == {older: 100}
