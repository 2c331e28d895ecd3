"""inv rollback, inv verify-deploy, inv deploys and the CLI tasks' exit codes."""

from __future__ import annotations

import json

import pytest
from invoke.context import Context as InvokeContext
from invoke.exceptions import Exit
from worlds.deploy_world import DeployWorld, hook

from nbaops.deploy.deploy import DeployRequest, run_deploy
from nbaops.deploy.history import recent_deploys
from nbaops.deploy.lock import LockHeldError, acquire
from nbaops.deploy.rollback import run_rollback
from nbaops.deploy.verify import run_verify
from nbaops.errors import UsageError
from nbaops.local.api_faults import set_api_fault
from nbaops.verdict import Verdict, exit_code_for

SERVICE = "phase4-processors"


def test_rollback_to_previous_ready_revision_is_verified_and_audited(dworld: DeployWorld) -> None:
    ctx = dworld.context()
    revisions = ctx.cloudrun.list_revisions(SERVICE)
    serving, older = revisions[0].name, revisions[1].name
    report = run_rollback(ctx, SERVICE)
    assert report.verdict is Verdict.PASS, report.final_line()
    assert dworld.service().traffic_by_revision == {older: 100}
    assert {c.name for c in report.checks} == {
        "rollback_traffic_update",
        "rollback_traffic_verified",
        "rollback_health",
    }
    row = dworld.audit_rows()[0]
    assert (row["action"], row["outcome"]) == ("rollback", "success")
    assert (row["revision_before"], row["revision_after"]) == (serving, older)
    # the row and the last line name the code that serves now, not only the revision
    assert (row["commit_sha"], row["image"]) == (revisions[1].commit, revisions[1].image)
    assert row["commit_sha"] and f"at {row['commit_sha'][:12]} serves 100%" in report.final_line()
    # --to back to the newer one
    back = run_rollback(dworld.context(), SERVICE, to=serving)
    assert back.verdict is Verdict.PASS
    assert dworld.service().traffic_by_revision == {serving: 100}


def test_rollback_after_a_failed_deploy_is_verified_though_the_service_stays_not_ready(
    dworld: DeployWorld,
) -> None:
    """A deploy whose new revision failed leaves the service not Ready for every later
    write (Cloud Run: Ready needs the latest *created* revision ready), a traffic restore
    included: the deploy's own rollback and ``inv rollback --to`` were reported failed
    ('operation failed: Revision ... is not ready') though traffic moved. Both are judged by
    the traffic the service shows now, and the lease is released."""
    ctx = dworld.context()
    revisions = ctx.cloudrun.list_revisions(SERVICE)
    serving, older = revisions[0].name, revisions[1].name

    def on(line: str) -> None:
        if "creating phase4" in line:
            set_api_fault(dworld.home, "lro-fail", service=SERVICE, count=1)

    deploy = run_deploy(ctx, DeployRequest(service=SERVICE, skip_tests=True), progress=hook(on))
    assert deploy.outcome == "failed", deploy.final_line()
    report = run_rollback(dworld.context(), SERVICE, to=older)
    assert report.verdict is Verdict.PASS, report.final_line()
    rows = {r["action"]: r["outcome"] for r in dworld.audit_rows()}
    assert rows == {"deploy": "failed", "rollback": "success"}, rows
    info = dworld.service()
    assert info.traffic_by_revision == {older: 100}
    assert not info.ready and "is not ready" in info.message  # as Cloud Run reports it
    assert info.latest_created_revision not in (serving, older)
    assert "nbaops.dev/deploy-lock" not in info.annotations


def test_rollback_to_a_named_revision_lists_the_revisions_once(dworld: DeployWorld) -> None:
    """--to is checked against one listing before anything changes; choosing the target
    after the recovery reuses it (nothing since creates or deletes a revision) instead of
    listing the revisions a second time."""
    older = dworld.context().cloudrun.list_revisions(SERVICE)[1].name
    mark = len(dworld.requests())
    report = run_rollback(dworld.context(), SERVICE, to=older)
    assert report.verdict is Verdict.PASS, report.final_line()
    lists = [
        r
        for r in dworld.requests()[mark:]
        if r["method"] == "GET" and r["path"].endswith(f"/services/{SERVICE}/revisions")
    ]
    assert len(lists) == 1, lists
    assert report.target_commit == dworld.audit_rows()[0]["commit_sha"]


def test_rollback_dry_run_changes_nothing(dworld: DeployWorld) -> None:
    mark = len(dworld.requests())
    report = run_rollback(dworld.context(), SERVICE, dry_run=True)
    assert report.dry_run and report.verdict is Verdict.PASS
    assert list(report.to_json()) == [  # the generic report keeps the document's key order
        *("verdict", "outcome", "service", "deploy_id", "target", "target_commit", "target_model"),
        *("from_revision", "dry_run", "plan", "checks", "manual_commands", "notes", "summary"),
    ]
    assert any("PATCH" in line for line in report.plan)
    assert dworld.mutating(mark) == []
    assert dworld.audit_rows() == []
    assert "nothing changed" in report.final_line()


@pytest.mark.parametrize("to", ["phase4-processors-99999-zzz", "does-not-exist"])
def test_rollback_to_unknown_revision_is_usage_error(dworld: DeployWorld, to: str) -> None:
    mark = len(dworld.requests())
    with pytest.raises(UsageError, match="unknown revision"):
        run_rollback(dworld.context(), SERVICE, to=to)
    assert dworld.mutating(mark) == []


def test_rollback_to_the_serving_revision_is_usage_error(dworld: DeployWorld) -> None:
    serving = dworld.service().serving_revision
    with pytest.raises(UsageError, match="already serves"):
        run_rollback(dworld.context(), SERVICE, to=serving)


def test_rollback_force_unlock_to_the_serving_revision_changes_nothing(
    dworld: DeployWorld,
) -> None:
    """Bad input changes nothing: ``--force-unlock --to X`` with X already serving 100%
    removed the deploy lease first and only then exited 2 ('already serves 100%'), leaving
    a live deploy unfenced. It is refused before the unlock: the lease stays, no write, no
    audit row (a usage error has none)."""
    ctx = dworld.context()
    serving = dworld.service().serving_revision
    acquire(ctx.cloudrun, SERVICE, holder="ci@runner", deploy_id="d-1", ttl_s=600)
    mark = len(dworld.requests())
    with pytest.raises(UsageError, match="already serves 100%"):
        run_rollback(ctx, SERVICE, to=serving, force_unlock=True)
    assert dworld.mutating(mark) == []
    assert "nbaops.dev/deploy-lock" in dworld.service().annotations
    assert dworld.audit_rows() == []


def test_rollback_force_unlock_without_an_older_ready_revision_changes_nothing(
    dworld: DeployWorld,
) -> None:
    """Bad input changes nothing: ``--force-unlock`` where no ready revision is older than
    the serving one (and no journal a recovery could act on) removed the deploy lease and
    only then exited 2 ('no ready revision older'). It is refused before the unlock."""
    from nbaops.adapters.cloudrun import TrafficSplit

    ctx = dworld.context()
    oldest = ctx.cloudrun.list_revisions(SERVICE)[-1].name
    ctx.cloudrun.set_traffic(SERVICE, [TrafficSplit(oldest, 100)])
    acquire(ctx.cloudrun, SERVICE, holder="ci@runner", deploy_id="d-1", ttl_s=600)
    mark = len(dworld.requests())
    with pytest.raises(UsageError, match="no ready revision older"):
        run_rollback(ctx, SERVICE, force_unlock=True)
    assert dworld.mutating(mark) == []
    assert "nbaops.dev/deploy-lock" in dworld.service().annotations
    assert dworld.audit_rows() == []


def test_rollback_refuses_while_a_deploy_holds_the_lock(dworld: DeployWorld) -> None:
    ctx = dworld.context()
    acquire(ctx.cloudrun, SERVICE, holder="ci@runner", deploy_id="d-1", ttl_s=600)
    with pytest.raises(LockHeldError, match="ci@runner"):
        run_rollback(ctx, SERVICE)
    assert dworld.audit_rows()[0]["outcome"] == "refused"
    forced = run_rollback(dworld.context(), SERVICE, force_unlock=True)
    assert forced.verdict is Verdict.PASS


def test_rollback_api_failure_reports_manual_commands(dworld: DeployWorld) -> None:
    fired: list[bool] = []

    def on(line: str) -> None:  # inject the fault right before the traffic PATCH
        if "routing 100% of traffic" in line and not fired:
            fired.append(True)
            set_api_fault(dworld.home, "http-5xx", service=SERVICE, method="PATCH", count=1)

    report = run_rollback(dworld.context(), SERVICE, progress=hook(on))
    assert report.verdict is Verdict.ERROR
    assert report.result is not None
    assert any("--to-revisions=" in c for c in report.result.manual)
    assert "ROLLBACK FAILED" in report.final_line()
    assert dworld.audit_rows()[-1]["outcome"] == "rollback_failed"


def test_verify_deploy_measures_what_serves_now(dworld: DeployWorld) -> None:
    report = run_verify(dworld.context(), SERVICE)
    names = [c.name for c in report.checks]
    assert names[:2] == ["deployment_status", "service_health"]
    assert "lines_coverage" in names and "error_logs" in names
    assert report.verdict in (Verdict.PASS, Verdict.WARN)
    set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=1)
    assert run_verify(dworld.context(), SERVICE).verdict is Verdict.FAIL


def test_verify_deploy_probes_every_revision_that_receives_traffic(dworld: DeployWorld) -> None:
    """A held canary serves users too: only the largest share was probed, so an unhealthy
    10% revision left verify-deploy at WARN (the split) with its health unchecked."""
    from nbaops.adapters.cloudrun import TrafficSplit
    from nbaops.local import cloudrun_state
    from nbaops.local.state_files import locked

    ctx = dworld.context()
    current, old = [r.name for r in ctx.cloudrun.list_revisions(SERVICE)][:2]
    with locked(dworld.home):  # the newer revision's health endpoint answers 503
        state = cloudrun_state.load_state(dworld.home)
        for name, revision in state["revisions"].items():
            if name.endswith("/" + current):
                revision["_degraded"] = True
        cloudrun_state.save_state(dworld.home, state)
    # an untagged 10% has no URL of its own: not probed, and never PASS
    ctx.cloudrun.set_traffic(SERVICE, [TrafficSplit(old, 90), TrafficSplit(current, 10)])
    checks = run_verify(dworld.context(), SERVICE).checks
    untagged = next(c for c in checks if c.name == "revision_health")
    assert untagged.verdict is Verdict.INCONCLUSIVE and "no tag" in untagged.message
    ctx.cloudrun.set_traffic(SERVICE, [TrafficSplit(old, 90), TrafficSplit(current, 10, "canary")])
    report = run_verify(dworld.context(), SERVICE)
    health = {c.name: c for c in report.checks if c.name.endswith("_health")}
    assert health["service_health"].verdict is Verdict.PASS  # the 90% revision
    assert health["revision_health"].verdict is Verdict.FAIL
    assert current in health["revision_health"].message
    assert "10% of traffic" in health["revision_health"].message
    assert report.verdict is Verdict.FAIL


def test_deploys_history_lists_recent_rows_newest_first(dworld: DeployWorld) -> None:
    run_deploy(dworld.context(), DeployRequest(service=SERVICE, skip_tests=True))
    run_rollback(dworld.context(), SERVICE)
    history = recent_deploys(dworld.context(), service=SERVICE, limit=10)
    assert [r["action"] for r in history.rows] == ["rollback", "deploy"] or sorted(
        r["action"] for r in history.rows
    ) == ["deploy", "rollback"]
    assert "started_at >= @since" in history.sql
    doc = history.to_json()
    assert len(doc["deploys"]) == 2
    assert recent_deploys(dworld.context(), service="grading-service").rows == []
    with pytest.raises(UsageError):
        recent_deploys(dworld.context(), limit=0)


# ------------------------------------------------------------------ the invoke tasks


def _exit_code(fn, **kwargs) -> int:  # type: ignore[no-untyped-def]
    try:
        fn(InvokeContext(), **kwargs)
    except Exit as exc:
        return int(exc.code)
    return 0


@pytest.mark.parametrize(
    ("task", "kwargs"),
    [
        ("deploy", {"service": "nope"}),
        ("deploy", {}),
        ("deploy", {"service": SERVICE, "canary": "abc"}),
        ("deploy", {"service": SERVICE, "canary": "150"}),
        ("deploy", {"service": SERVICE, "image": "bad image"}),
        ("pre_deploy", {"service": "nope"}),
        ("rollback", {"service": "nope"}),
        ("verify_deploy", {"service": "nope"}),
        ("full_deploy", {"service": SERVICE, "model_version": "v9"}),
        ("deploys", {"limit": 0}),
    ],
)
def test_tasks_exit_2_on_bad_input_with_one_line_and_no_request(
    dworld: DeployWorld, task: str, kwargs: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    from nbaops.cli import deploy as tasks

    mark = len(dworld.requests())
    assert _exit_code(getattr(tasks, task), **kwargs) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nbaops: error:")
    assert "Traceback" not in err[0]
    assert dworld.requests()[mark:] == []


def test_task_json_output_is_one_document(
    dworld: DeployWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    from nbaops.cli import deploy as tasks

    assert _exit_code(tasks.deploy, service="nope", json=True) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["exit_code"] == 2


def test_report_exit_codes_follow_the_contract(dworld: DeployWorld) -> None:
    report = run_deploy(dworld.context(), DeployRequest(service=SERVICE, dry_run=True))
    assert exit_code_for(report.verdict) == 0
    doc = report.to_json()
    assert doc["outcome"] == "planned" and doc["dry_run"] is True


def test_rollback_journals_and_renews_its_lease_like_a_deploy(
    dworld: DeployWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbaops.deploy import rollback as rollback_mod
    from nbaops.deploy.heartbeat import Heartbeat
    from nbaops.deploy.journal import JOURNAL_ANNOTATION, journal_of
    from nbaops.deploy.lock import LOCK_ANNOTATION

    beats: list[Heartbeat] = []

    class Recorded(Heartbeat):
        def start(self) -> Heartbeat:
            beats.append(self)
            return self  # no thread: the test beats it (no real time)

    monkeypatch.setattr(rollback_mod, "Heartbeat", Recorded)
    serving = dworld.service().serving_revision
    seen: list[object] = []

    def on(line: str) -> None:
        if "routing 100% of traffic" in line:  # right before the traffic PATCH
            assert beats[0].beat() and beats[0].renewals == 1  # the lease is renewed
            info = dworld.service()
            seen.append((journal_of(info), LOCK_ANNOTATION in info.annotations))

    report = run_rollback(dworld.context(), SERVICE, progress=hook(on))
    assert report.verdict is Verdict.PASS, report.final_line()
    ((journal, leased),) = seen
    assert leased and journal is not None
    assert (journal.action, journal.phase, journal.deploy_id) == (
        "rollback",
        "rollback",
        report.deploy_id,
    )
    assert (journal.before_revision, journal.new_revision) == (serving, report.target)
    assert journal.before == [{"revision": serving, "percent": 100}]
    assert beats[0]._stop.is_set()  # stopped at the end
    info = dworld.service()  # a normal end removes journal and lease in one write
    assert JOURNAL_ANNOTATION not in info.annotations and LOCK_ANNOTATION not in info.annotations
