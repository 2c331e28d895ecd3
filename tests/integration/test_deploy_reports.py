"""Rendering of the deploy reports, full-deploy, and the remaining rollback branches."""

from __future__ import annotations

import pytest
from rich.console import Console
from worlds.deploy_world import DeployWorld, hook

from nbaops.deploy.deploy import DeployRequest, run_deploy
from nbaops.deploy.full import run_full_deploy
from nbaops.deploy.history import recent_deploys
from nbaops.deploy.rollback import previous_ready_revision, run_rollback
from nbaops.errors import UsageError
from nbaops.local.api_faults import set_api_fault
from nbaops.verdict import Verdict

SERVICE = "phase4-processors"


def rendered(report: object) -> str:
    console = Console(record=True, width=200)
    report.render(console)  # type: ignore[attr-defined]
    return console.export_text()


def test_full_deploy_deploys_then_verifies_and_renders(dworld: DeployWorld) -> None:
    report = run_full_deploy(dworld.context(), DeployRequest(service=SERVICE, skip_tests=True))
    assert report.deploy.outcome == "success"
    assert report.verify is not None
    tests = next(c for c in report.deploy.predeploy if c.name == "tests")
    assert tests.verdict is Verdict.PASS  # --skip-tests is overridden
    text = rendered(report)
    assert "verify-deploy" in text and text.strip().splitlines()[-1].startswith(
        report.verdict.value
    )
    assert report.to_json()["deploy"]["outcome"] == "success"


def test_full_deploy_dry_run_runs_the_checklist_with_tests_and_changes_nothing(
    dworld: DeployWorld,
) -> None:
    """full-deploy had no --dry-run although it changes the cloud."""
    mark = len(dworld.requests())
    req = DeployRequest(service=SERVICE, dry_run=True, skip_tests=True)
    report = run_full_deploy(dworld.context(), req)
    assert report.deploy.dry_run and report.verify is None
    tests = next(c for c in report.deploy.predeploy if c.name == "tests")
    assert tests.verdict is Verdict.PASS  # tests still forced on
    assert dworld.mutating(mark) == [] and dworld.audit_rows() == []
    assert report.final_line().endswith("(then verify-deploy of what serves)")
    assert report.to_json()["verify"] is None


def test_full_deploy_skips_verify_when_refused(dworld: DeployWorld) -> None:
    (dworld.repo / "services" / "phase4_processors" / "main.py").write_text("wip\n")
    report = run_full_deploy(dworld.context(), DeployRequest(service=SERVICE))
    assert report.verify is None and "skipped" in report.final_line()
    assert report.verdict is Verdict.FAIL


def test_rollback_failed_report_renders_manual_commands(dworld: DeployWorld) -> None:
    fired: list[int] = []

    def on(line: str) -> None:
        if "still serves" in line and not fired:
            fired.append(1)
            set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=1)
        if "routing 100% of traffic" in line and len(fired) == 1:
            fired.append(2)
            set_api_fault(dworld.home, "http-5xx", service=SERVICE, method="PATCH", count=1)

    report = run_deploy(dworld.context(), DeployRequest(service=SERVICE), progress=hook(on))
    text = rendered(report)
    assert "MANUAL ACTION NEEDED" in text and "--to-revisions=" in text
    assert "ERROR ROLLBACK FAILED" in " ".join(text.split())
    assert report.to_json()["manual_commands"]


def test_dry_run_report_renders_the_plan(dworld: DeployWorld) -> None:
    report = run_deploy(dworld.context(), DeployRequest(service=SERVICE, dry_run=True))
    text = rendered(report)
    assert "Plan (dry run, nothing changed)" in text and "DRY RUN" in text


def test_rollback_reports_render(dworld: DeployWorld) -> None:
    plan = run_rollback(dworld.context(), SERVICE, dry_run=True)
    assert "plan:" in rendered(plan)
    done = run_rollback(dworld.context(), SERVICE)
    text = rendered(done)
    assert "ROLLED BACK" in text and done.to_json()["outcome"] == "success"


def test_history_renders_spooled_rows(dworld: DeployWorld) -> None:
    run_deploy(dworld.context(), DeployRequest(service=SERVICE, skip_tests=True))
    dworld.wh.execute("ALTER TABLE `nba_ops.deploys` RENAME TO deploys_away")
    run_rollback(dworld.context(), SERVICE)
    dworld.wh.execute("ALTER TABLE nba_ops.deploys_away RENAME TO deploys")
    dworld.wh.execute("ALTER TABLE `nba_ops.deploys` RENAME TO deploys_gone")
    # the history query itself fails: ERROR (exit 3), and the spooled row — the only audit
    # record at hand during the outage — is still listed (it used to be one error line)
    outage = recent_deploys(dworld.context())
    assert outage.verdict == "ERROR" and outage.rows == []
    assert [r["action"] for r in outage.spooled] == ["rollback"]
    assert "could not be read" in rendered(outage) and "(spooled)" in rendered(outage)
    assert outage.to_json()["error"]
    # nothing spooled for another service either: its history is unknown, not "none"
    unknown = rendered(recent_deploys(dworld.context(), service="grading-service"))
    assert "could not be read" in unknown and ": none" not in unknown
    dworld.wh.execute("ALTER TABLE nba_ops.deploys_gone RENAME TO deploys")
    history = recent_deploys(dworld.context(), limit=5)
    assert history.flushed == 1
    text = rendered(history)
    assert "rollback" in text and "deploy" in text
    sha = next(
        str(r["commit_sha"]) for r in [*history.rows, *history.spooled] if r.get("commit_sha")
    )
    assert len(sha) == 40 and sha in text  # not a terminal: the full, copyable SHA


def test_history_lists_spooled_rows_of_its_window_and_limit_only(dworld: DeployWorld) -> None:
    import datetime as dt

    from worlds.deploy_world import NOW_DT

    from nbaops.deploy import audit

    def spooled(deploy_id: str, days_ago: int) -> None:
        record = audit.AuditRecord(deploy_id, SERVICE, "deploy", "ada@h", "local")
        record.started_at = NOW_DT - dt.timedelta(days=days_ago)
        record.finish("failed", "x")
        audit.spool(dworld.home, record.to_row())

    for deploy_id, days_ago in (("old", 40), ("d-3", 3), ("d-2", 2), ("d-1", 1)):
        spooled(deploy_id, days_ago)
    dworld.wh.execute("ALTER TABLE `nba_ops.deploys` RENAME TO deploys_gone")  # stays spooled
    week = recent_deploys(dworld.context(), days=7)
    assert [r["deploy_id"] for r in week.spooled] == ["d-1", "d-2", "d-3"]  # not 40 days ago
    two = recent_deploys(dworld.context(), days=7, limit=2)
    assert [r["deploy_id"] for r in two.spooled] == ["d-1", "d-2"]
    assert len(audit.spooled_rows(dworld.home)) == 4  # listed or not, none is dropped


def test_history_lists_a_spool_with_hand_edited_lines(dworld: DeployWorld) -> None:
    # a started_at without an offset was compared with the aware window (TypeError), a
    # line that is no JSON object raised AttributeError: inv deploys gave a traceback
    from worlds.deploy_world import NOW_DT

    from nbaops.deploy import audit

    naive = NOW_DT.replace(tzinfo=None).isoformat()
    line = f'{{"deploy_id": "d-naive", "service": "{SERVICE}", "started_at": "{naive}"}}\n'
    audit.spool_path(dworld.home).write_text(f"[1]\n{line}", encoding="utf-8")
    dworld.wh.execute("ALTER TABLE `nba_ops.deploys` RENAME TO deploys_gone")  # stays spooled
    history = recent_deploys(dworld.context(), days=7)
    assert [r["deploy_id"] for r in history.spooled] == ["d-naive"]


def test_rollback_without_an_older_ready_revision_is_usage_error(dworld: DeployWorld) -> None:
    ctx = dworld.context()
    revisions = ctx.cloudrun.list_revisions(SERVICE)
    assert previous_ready_revision(revisions, revisions[-1].name) is None
    assert previous_ready_revision(revisions, None) == revisions[0]
    from nbaops.adapters.cloudrun import TrafficSplit

    ctx.cloudrun.set_traffic(SERVICE, [TrafficSplit(revisions[-1].name, 100)])
    with pytest.raises(UsageError, match="no ready revision older"):
        run_rollback(dworld.context(), SERVICE)


def test_rollback_to_a_revision_that_is_not_ready_is_usage_error(dworld: DeployWorld) -> None:
    def on(line: str) -> None:
        if "creating phase4" in line:
            set_api_fault(dworld.home, "lro-fail", service=SERVICE, count=1)

    report = run_deploy(
        dworld.context(), DeployRequest(service=SERVICE, skip_tests=True), progress=hook(on)
    )
    failed = dworld.service().latest_created_revision
    assert report.outcome == "failed"
    with pytest.raises(UsageError, match="not ready"):
        run_rollback(dworld.context(), SERVICE, to=failed)


def test_ctrl_c_during_rollback_is_recorded(dworld: DeployWorld) -> None:
    def on(line: str) -> None:
        if "lock" in line and "acquired" in line:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_rollback(dworld.context(), SERVICE, progress=hook(on))
    assert dworld.audit_rows()[0]["outcome"] == "interrupted"
    assert "nbaops.dev/deploy-lock" not in dworld.service().annotations


def test_history_says_what_window_it_read_and_when_it_is_empty(dworld: DeployWorld) -> None:
    """No rows: one line naming the scope, not an empty table; rows: the scope in the title."""
    empty = rendered(recent_deploys(dworld.context(), service=SERVICE, days=1))
    assert empty.strip() == f"recent deploys ({SERVICE}, last 1 day): none"
    run_deploy(dworld.context(), DeployRequest(service=SERVICE, skip_tests=True))
    text = rendered(recent_deploys(dworld.context(), days=7))
    assert text.startswith("recent deploys (last 7 days)") and SERVICE in text
    assert "1 row(s)" in text


def test_history_lists_a_row_both_spooled_and_in_the_warehouse_once(dworld: DeployWorld) -> None:
    """A row spooled after a write that failed ambiguously (it landed) and that the
    warehouse refuses on every retry (a column this table lacks) stays spooled: `inv
    deploys` listed it twice, once '(spooled)'. Readers deduplicate on deploy_id."""
    from nbaops.deploy import audit

    record = audit.AuditRecord("twice", SERVICE, "deploy", "ada@h", "local")
    record.finish("success", "x")
    ctx = dworld.context()
    assert audit.write(ctx, record) is None
    audit.spool(dworld.home, {**record.to_row(), "legacy_column": 1})
    history = recent_deploys(ctx)
    assert [r["deploy_id"] for r in history.rows] == ["twice"]
    assert history.spooled == [] and "(spooled)" not in rendered(history)
    assert len(audit.spooled_rows(dworld.home)) == 1  # not listed, still not dropped


def test_rows_the_reachable_warehouse_refused_are_not_blamed_on_an_outage(
    dworld: DeployWorld,
) -> None:
    """A spooled row the warehouse refuses (a column this table lacks) stays spooled while
    the history query succeeds: the footer said '(warehouse unreachable)' of a warehouse
    that had just answered."""
    from nbaops.deploy import audit

    record = audit.AuditRecord("refused-1", SERVICE, "deploy", "ada@h", "local")
    record.finish("success", "x")
    audit.spool(dworld.home, {**record.to_row(), "legacy_column": 1})
    history = recent_deploys(dworld.context())
    assert history.error is None and [r["deploy_id"] for r in history.spooled] == ["refused-1"]
    footer = rendered(history).strip().splitlines()[-1]
    assert "unreachable" not in footer and "1 row(s) still spooled locally" in footer


def test_a_spool_flush_keeps_the_lines_it_cannot_read_and_says_where(
    dworld: DeployWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """No audit row is lost: flush_spool rewrote (or deleted) the spool with only the rows
    it could decode, so a torn or hand-edited line vanished for good, unannounced."""
    from nbaops.deploy import audit

    record = audit.AuditRecord(
        deploy_id="d-ok", service=SERVICE, action="deploy", actor="a", profile="local"
    )
    record.finish("success")
    audit.spool(dworld.home, record.to_row())
    torn = '{"deploy_id": "d-torn", "service": "s", "acti'
    with audit.spool_path(dworld.home).open("a", encoding="utf-8") as handle:
        handle.write(f'{{"deploy_id": "d-hand", "duration_s": "12"}}\n{torn}')
    ctx = dworld.context()
    assert audit.flush_spool(ctx) == 1  # the readable row is written
    assert not audit.spool_path(dworld.home).exists()
    aside = dworld.home / audit.UNREADABLE_NAME
    assert aside.read_text(encoding="utf-8").splitlines() == [
        '{"deploy_id": "d-hand", "duration_s": "12"}',
        torn,
    ]
    warned = capsys.readouterr().err.strip().splitlines()
    assert len(warned) == 1 and str(aside) in warned[0] and "2 unreadable" in warned[0]
    # killed after setting them aside, before the spool was rewritten: kept once, told once
    audit.spool_path(dworld.home).write_text(f"{torn}\n", encoding="utf-8")
    assert audit.flush_spool(ctx) == 0
    assert aside.read_text(encoding="utf-8").count(torn) == 1
    assert capsys.readouterr().err == "" and not audit.spool_path(dworld.home).exists()


def test_the_audit_spool_and_its_unreadable_lines_are_private(dworld: DeployWorld) -> None:
    """Audit rows name actors, services and commits: the spool and the file its
    unreadable lines are set aside in are created 0600 like the spool's lock; they were
    created with the umask's default (0644 under umask 022), readable by every local user."""
    import os
    import stat

    from nbaops.deploy import audit

    old = os.umask(0o022)
    try:
        record = audit.AuditRecord("d-private", SERVICE, "deploy", "ada@h", "local")
        record.finish("success")
        audit.spool(dworld.home, record.to_row())
        spool = audit.spool_path(dworld.home)
        assert stat.S_IMODE(spool.stat().st_mode) == 0o600
        with spool.open("a", encoding="utf-8") as handle:
            handle.write("[1]\n")
        dworld.wh.execute("ALTER TABLE `nba_ops.deploys` RENAME TO deploys_gone")
        assert audit.flush_spool(dworld.context()) == 0  # the row stays, the line is moved
        assert stat.S_IMODE(spool.stat().st_mode) == 0o600
        aside = dworld.home / audit.UNREADABLE_NAME
        assert stat.S_IMODE(aside.stat().st_mode) == 0o600
    finally:
        os.umask(old)
