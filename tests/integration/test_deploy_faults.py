"""inv deploy under faults: API 5xx and timeouts, a failed operation, a failing rollback,
lock contention between two deploys, Ctrl-C, and an unreachable audit table."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from worlds.deploy_world import DeployWorld, at_steps, hook

from nbaops.deploy import audit
from nbaops.deploy.deploy import DeployRequest, run_deploy
from nbaops.deploy.lock import LOCK_ANNOTATION, LockHeldError
from nbaops.deploy.progress import Progress
from nbaops.local.api_faults import clear_api_faults, set_api_fault
from nbaops.verdict import exit_code_for

SERVICE = "phase4-processors"


def fault_when_creating(world: DeployWorld, fault: str, **where: Any) -> Progress:
    """A progress that injects one ``fault`` when the deploy starts creating the revision."""

    def inject() -> None:
        set_api_fault(world.home, fault, service=SERVICE, count=1, **where)

    return at_steps(("creating phase4", inject))


def test_rollback_failure_exits_3_with_exact_manual_commands(dworld: DeployWorld) -> None:
    ctx = dworld.context()
    before = dworld.service().serving_revision

    def break_everything() -> None:
        set_api_fault(dworld.home, "http-5xx", service=SERVICE, method="PATCH", count=1)

    def unhealthy() -> None:
        set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=1)

    progress = at_steps(("still serves", unhealthy), ("routing 100% of traffic", break_everything))
    report = run_deploy(ctx, DeployRequest(service=SERVICE), progress=progress)
    assert report.outcome == "rollback_failed", report.final_line()
    assert exit_code_for(report.verdict) == 3
    assert (
        f"gcloud run services update-traffic {SERVICE} --project=nbaops-local "
        f"--region=us-west2 --to-revisions={before}=100"
    ) in report.manual
    assert "ROLLBACK FAILED" in report.final_line()
    row = dworld.audit_rows()[0]
    assert row["outcome"] == "rollback_failed"
    assert LOCK_ANNOTATION not in dworld.service().annotations  # released anyway


def test_5xx_on_the_deploy_request_restores_the_previous_revision_exit_3(
    dworld: DeployWorld,
) -> None:
    ctx = dworld.context()
    before = dworld.service().serving_revision
    progress = fault_when_creating(dworld, "http-5xx", method="PATCH")
    report = run_deploy(ctx, DeployRequest(service=SERVICE), progress=progress)
    assert report.outcome == "failed", report.final_line()
    assert exit_code_for(report.verdict) == 3
    assert "503" in report.final_line() or "UNAVAILABLE" in report.final_line()
    info = dworld.service()
    assert info.traffic_by_revision[before or ""] == 100
    assert dworld.audit_rows()[0]["outcome"] == "failed"


def test_timeout_on_the_deploy_request_restores_and_a_late_write_cannot_land(
    dworld: DeployWorld,
) -> None:
    ctx = dworld.context(timeout_s=1.0)
    before = dworld.service().serving_revision
    progress = fault_when_creating(dworld, "timeout", method="PATCH", delay_s=2.5)
    report = run_deploy(ctx, DeployRequest(service=SERVICE), progress=progress)
    assert report.outcome == "failed", report.final_line()
    assert "timed out" in report.final_line()
    assert exit_code_for(report.verdict) == 3
    # let the delayed PATCH land (its etag is stale, so it is rejected): wait for its answer
    assert dworld.standin.wait_idle()
    info = dworld.service()
    assert info.traffic_by_revision == {before: 100}


def test_failed_long_running_operation_leaves_the_previous_revision_serving(
    dworld: DeployWorld,
) -> None:
    ctx = dworld.context()
    before = dworld.service().serving_revision
    progress = fault_when_creating(dworld, "lro-fail")
    report = run_deploy(ctx, DeployRequest(service=SERVICE), progress=progress)
    assert report.outcome == "failed", report.final_line()
    assert exit_code_for(report.verdict) == 3
    info = dworld.service()
    assert info.traffic_by_revision[before or ""] == 100
    assert info.latest_created_revision != before  # the failed revision exists, no traffic


def test_two_concurrent_deploys_one_refuses_naming_the_holder(dworld: DeployWorld) -> None:
    release = threading.Event()
    holding = threading.Event()
    results: dict[str, object] = {}

    def first() -> None:
        def on(line: str) -> None:
            if "lock" in line and "acquired" in line:
                holding.set()
                release.wait(30)

        results["a"] = run_deploy(
            dworld.context(), DeployRequest(service=SERVICE), progress=hook(on)
        )

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(30)
    try:
        dworld.monkeypatch.setenv("USER", "grace")
        with pytest.raises(LockHeldError) as info:
            run_deploy(dworld.context(), DeployRequest(service=SERVICE))
    finally:
        release.set()
        thread.join(60)
    message = str(info.value)
    assert "held by ada@" in message and "since 2025-01-15T17:00:00" in message
    assert info.value.exit_code == 2
    assert results["a"].outcome == "success"  # type: ignore[attr-defined]
    outcomes = sorted((r["actor"].split("@")[0], r["outcome"]) for r in dworld.audit_rows())
    assert outcomes == [("ada", "success"), ("grace", "refused")]


def test_stale_lock_is_taken_over_and_force_unlock_is_audited(dworld: DeployWorld) -> None:
    from nbaops.deploy import lock

    ctx = dworld.context()
    lock.acquire(ctx.cloudrun, SERVICE, holder="old@ci", deploy_id="dead-1", ttl_s=600)
    with pytest.raises(LockHeldError):
        run_deploy(ctx, DeployRequest(service=SERVICE))
    report = run_deploy(dworld.context(), DeployRequest(service=SERVICE, force_unlock=True))
    assert report.outcome == "success"
    assert any("force-unlock" in n and "old@ci" in n for n in report.notes)
    actions = [(r["action"], r["outcome"]) for r in dworld.audit_rows()]
    assert ("force-unlock", "success") in actions
    # An expired lock is simply taken over.
    lock.acquire(ctx.cloudrun, SERVICE, holder="old@ci", deploy_id="dead-2", ttl_s=600)
    dworld.monkeypatch.setenv("NBAOPS_NOW", "2025-01-15T18:00:00Z")
    later = run_deploy(dworld.context(), DeployRequest(service=SERVICE))
    assert later.outcome == "success"
    assert any("expired lock of old@ci" in n for n in later.notes)


@pytest.mark.parametrize("step", ["observe", "revision"])
def test_ctrl_c_restores_traffic_releases_the_lock_and_records_it(
    dworld: DeployWorld, step: str
) -> None:
    before = dworld.service().serving_revision

    def interrupt() -> None:
        raise KeyboardInterrupt

    marker = "round 1" if step == "observe" else "still serves"
    with pytest.raises(KeyboardInterrupt):
        run_deploy(
            dworld.context(), DeployRequest(service=SERVICE), progress=at_steps((marker, interrupt))
        )
    info = dworld.service()
    assert LOCK_ANNOTATION not in info.annotations
    assert info.traffic_by_revision[before or ""] == 100
    row = dworld.audit_rows()[0]
    assert row["outcome"] == "interrupted"
    assert "restored and verified" in row["message"]


def test_audit_row_is_spooled_when_the_warehouse_fails_and_written_next_time(
    dworld: DeployWorld,
) -> None:
    dworld.wh.execute("ALTER TABLE `nba_ops.deploys` RENAME TO deploys_away")
    report = run_deploy(dworld.context(), DeployRequest(service=SERVICE, skip_tests=True))
    assert report.outcome == "success"
    assert any("spooled" in n for n in report.notes)
    spooled = audit.spooled_rows(dworld.home)
    assert [r["outcome"] for r in spooled] == ["success"]
    dworld.wh.execute("ALTER TABLE nba_ops.deploys_away RENAME TO deploys")
    run_deploy(dworld.context(), DeployRequest(service=SERVICE, skip_tests=True))
    assert [r["outcome"] for r in dworld.audit_rows()] == ["success", "success"]
    assert audit.spooled_rows(dworld.home) == []


def test_a_spooled_row_the_warehouse_rejects_neither_blocks_the_others_nor_is_dropped(
    dworld: DeployWorld,
) -> None:
    def row(deploy_id: str, **extra: object) -> dict[str, object]:
        record = audit.AuditRecord(deploy_id, SERVICE, "deploy", "ada@h", "local")
        record.finish("success", "x")
        return {**record.to_row(), **extra}

    # e.g. written by another nbaops version: a column this table does not have
    for spooled in (row("poison", legacy_column=1), row("good-1"), row("good-2")):
        audit.spool(dworld.home, spooled)
    ctx = dworld.context()
    assert audit.write(ctx, audit.AuditRecord("new", SERVICE, "rollback", "ada@h", "local")) is None
    written = sorted(r["deploy_id"] for r in dworld.audit_rows())
    assert written == ["good-1", "good-2", "new"]
    assert [r["deploy_id"] for r in audit.spooled_rows(dworld.home)] == ["poison"]
    assert audit.flush_spool(ctx) == 0  # still refused: still spooled, never dropped
    assert [r["deploy_id"] for r in audit.spooled_rows(dworld.home)] == ["poison"]


def test_failed_operation_then_failed_restore_does_not_name_none_as_the_new_revision(
    dworld: DeployWorld,
) -> None:
    """A deploy whose revision operation failed (no revision name came back) and whose
    restore failed too says 'the new revision', not 'None', in its last line and alert."""
    ctx = dworld.context()

    def fail_the_operation() -> None:
        set_api_fault(dworld.home, "lro-fail", service=SERVICE, count=1)

    def fail_the_restore() -> None:
        set_api_fault(dworld.home, "http-5xx", service=SERVICE, method="PATCH", count=1)

    progress = at_steps(
        ("creating phase4", fail_the_operation), ("routing 100% of traffic", fail_the_restore)
    )
    report = run_deploy(ctx, DeployRequest(service=SERVICE), progress=progress)
    assert report.outcome == "rollback_failed", report.final_line()
    assert report.new_revision is None
    assert "None" not in report.summary, report.summary
    assert "the new revision" in report.summary, report.summary


@pytest.mark.parametrize("failing", [1, 50])
def test_a_failed_journal_write_before_the_rollback_does_not_skip_it(
    dworld: DeployWorld, failing: int
) -> None:
    """The rollback's intent is journalled first; when that write fails (503s), the fenced
    restore still runs — the journal already records a mutating step, so a crash from
    there is restored the same way. One 503: rolled back as the validation decided (it
    was 'failed', ERROR, the FAIL's reason replaced by the 503). The API down: the
    documented ROLLBACK FAILED with the manual commands and an alert (it was an exception
    out of the deploy: neither commands nor alert)."""
    ctx = dworld.context()
    before = dworld.service().serving_revision
    fired: list[str] = []

    def on(line: str) -> None:
        if "round 1" in line and "round" not in fired:
            fired.append("round")
            set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=1)
        elif "rolling back" in line and "rollback" not in fired:
            fired.append("rollback")  # the next PATCH is the journal's 'rollback' entry
            set_api_fault(dworld.home, "http-5xx", service=SERVICE, method="PATCH", count=failing)

    report = run_deploy(ctx, DeployRequest(service=SERVICE), progress=hook(on))
    assert fired == ["round", "rollback"]
    clear_api_faults(dworld.home)
    if failing == 1:
        assert report.outcome == "rolled_back", report.final_line()
        assert exit_code_for(report.verdict) == 1
        assert dworld.service().traffic_by_revision[before or ""] == 100
    else:
        assert report.outcome == "rollback_failed", report.final_line()
        assert exit_code_for(report.verdict) == 3
        assert any(f"--to-revisions={before}=100" in line for line in report.manual)
        assert any(n.startswith("alert sent") for n in report.notes), report.notes
    assert [r["outcome"] for r in dworld.audit_rows()] == [report.outcome]


def test_ctrl_c_after_the_deploy_was_promoted_says_it_had_succeeded(dworld: DeployWorld) -> None:
    """A signal after the promotion was verified (during the outcome's alert or line)
    restores nothing: the report, the row and the alert say the deploy had ended and
    how, not only 'interrupted', which read as if traffic could be anywhere."""

    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_deploy(
            dworld.context(),
            DeployRequest(service=SERVICE),
            progress=at_steps(("DEPLOYED", interrupt)),
        )
    info = dworld.service()
    new = info.serving_revision
    assert info.traffic_by_revision[new or ""] == 100
    row = dworld.audit_rows()[0]
    assert row["outcome"] == "interrupted"
    assert "DEPLOYED" in row["message"] and new in row["message"], row["message"]
    assert row["revision_after"] == new
