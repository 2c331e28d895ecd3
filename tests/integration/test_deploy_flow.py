"""inv deploy end to end through run_v2 against the Cloud Run stand-in: the happy paths,
validation failure → rollback, dry run, bad input."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from worlds.deploy_world import NOW_DT, DeployWorld, hook
from worlds.fake_clock import FakeClock

from nbaops.deploy.deploy import DeployRequest, run_deploy
from nbaops.deploy.lock import LOCK_ANNOTATION
from nbaops.deploy.rollback import run_rollback
from nbaops.local.api_faults import set_api_fault
from nbaops.services_status import check_all_services
from nbaops.verdict import Verdict, exit_code_for

SERVICE = "phase4-processors"


def outbox(world: DeployWorld) -> list[dict[str, Any]]:
    path = world.home / "outbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_successful_deploy_promotes_labels_audits_and_unlocks(dworld: DeployWorld) -> None:
    ctx = dworld.context()
    before = dworld.service().serving_revision
    lines: list[str] = []
    report = run_deploy(ctx, DeployRequest(service=SERVICE), progress=hook(lines.append))
    assert report.outcome == "success", report.final_line()
    assert exit_code_for(report.verdict) == 0
    # the progress outcome line carries the report's verdict (WARN: remote_sync), as the
    # final line does; it said PASS DEPLOYED above a WARN DEPLOYED
    assert report.verdict is Verdict.WARN
    assert any(" outcome      WARN DEPLOYED " in line for line in lines), lines[-3:]
    info = dworld.service()
    new = report.new_revision
    assert new and new != before
    assert info.traffic_by_revision[new] == 100
    assert LOCK_ANNOTATION not in info.annotations
    rev = ctx.cloudrun.get_revision(SERVICE, new)
    assert rev.labels["commit-sha"] == dworld.head
    assert rev.labels["deployed-by"].startswith("ada_")
    assert rev.image.endswith(f"/{SERVICE}:{dworld.head}")
    checks = {c.name: c for c in report.predeploy}
    assert checks["commits_since_deployed"].verdict is Verdict.PASS
    assert "faster lines join" in checks["commits_since_deployed"].message
    assert checks["remote_sync"].verdict is Verdict.WARN  # no upstream
    rows = dworld.audit_rows()
    assert [(r["action"], r["outcome"]) for r in rows] == [("deploy", "success")]
    row = rows[0]
    assert (row["revision_before"], row["revision_after"]) == (before, new)
    assert row["commit_sha"] == dworld.head and row["dry_run"] is False
    assert any(v["check"] == "observation" for v in row["verdicts"])
    assert report.final_line().startswith("DEPLOYED phase4-processors")


def test_model_version_sets_env_and_label_for_prediction_worker(dworld: DeployWorld) -> None:
    ctx = dworld.context()
    report = run_deploy(
        ctx, DeployRequest(service="prediction-worker", model_version="v9", skip_tests=True)
    )
    assert report.outcome == "success", report.final_line()
    rev = ctx.cloudrun.get_revision("prediction-worker", report.new_revision or "")
    assert rev.labels["model-version"] == "v9"
    assert rev.env["MODEL_VERSION"] == "v9"
    assert dworld.audit_rows()[0]["model_version"] == "v9"
    # the outcome names the model, not only the commit (a model change is the point)
    assert f"(commit {dworld.head[:12]}, model v9, was " in report.final_line()
    assert report.to_json()["model_version"] == "v9"
    status = next(
        c for c in check_all_services(dworld.context()).checks if c.service == "prediction-worker"
    )
    assert status.message.endswith(f"at {dworld.head[:12]} (model v9)")
    assert status.details["model_version"] == "v9"
    back = run_rollback(dworld.context(), "prediction-worker")
    assert "(model " not in back.final_line()  # the previous revision ran no model_env value
    again = run_rollback(dworld.context(), "prediction-worker", to=report.new_revision)
    assert f"at {dworld.head[:12]} (model v9) serves 100%" in again.final_line()
    assert dworld.audit_rows()[-1]["model_version"] == "v9"  # what serves after it
    tests = next(c for c in report.predeploy if c.name == "tests")
    assert tests.verdict is Verdict.WARN and "skipped" in tests.message


def test_canary_gets_its_percentage_during_observation_then_promotes(
    dworld: DeployWorld,
) -> None:
    seen: list[dict[str, int]] = []
    ctx = dworld.context()

    def on(line: str) -> None:
        if "observe" in line and "round 1" in line:
            seen.append(dict(dworld.service().traffic_by_revision))

    # a 10% canary reaches its sample in ~9 minutes of visible traffic, on a fake clock that
    # moves NBAOPS_NOW (the stand-in's metrics arrive late, as in prod); a lease that
    # outlives the jumps of the fake clock
    dworld.reconfigure(lock_ttl_s=3600)
    ctx = dworld.context()
    clock = FakeClock(wall=NOW_DT)
    req = DeployRequest(service=SERVICE, canary=10)
    report = run_deploy(ctx, req, progress=hook(on), sleep=clock.sleep, monotonic=clock.monotonic)
    assert report.outcome == "success", report.final_line()
    new, before = report.new_revision or "", report.revision_before or ""
    assert seen and seen[0][new] == 10 and seen[0][before] == 90
    assert dworld.service().traffic_by_revision[new] == 100
    assert dworld.audit_rows()[0]["canary_percent"] == 10


def test_unhealthy_new_revision_is_rolled_back_before_traffic_alert_exit_1(
    dworld: DeployWorld,
) -> None:
    ctx = dworld.context()
    before = dworld.service().serving_revision

    def on(line: str) -> None:
        if "created" in line and "still serves" in line:
            set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=1)

    report = run_deploy(ctx, DeployRequest(service=SERVICE), progress=hook(on))
    assert report.outcome == "rolled_back", report.final_line()
    assert exit_code_for(report.verdict) == 1
    info = dworld.service()
    assert info.traffic_by_revision[before or ""] == 100
    assert info.traffic_by_revision.get(report.new_revision or "", 0) == 0
    assert any(e["kind"] == "rollback" for msg in outbox(dworld) for e in msg["events"])
    assert dworld.audit_rows()[0]["outcome"] == "rolled_back"
    assert report.final_line().startswith("ROLLED BACK")


def test_validation_failure_after_traffic_rolls_back_and_verifies(dworld: DeployWorld) -> None:
    """The new revision took 100%, the lines-coverage check then FAILs → rollback, exit 1."""
    from worlds.checks_world import World

    ctx = dworld.context()
    before = dworld.service().serving_revision
    world = World(ctx=ctx, wh=dworld.wh, home=dworld.home)
    games = world.games(world_today(), 4)
    world.features(games)

    report = run_deploy(ctx, DeployRequest(service=SERVICE))  # no lines at all: 0% coverage
    assert report.outcome == "rolled_back", report.final_line()
    assert exit_code_for(report.verdict) == 1
    obs = next(s for s in report.steps if s.name == "observation")
    assert obs.verdict is Verdict.FAIL and "lines_coverage" in obs.message
    assert dworld.service().traffic_by_revision[before or ""] == 100
    names = [s.name for s in report.steps]
    assert "rollback_traffic_verified" in names and "rollback_health" in names


def world_today() -> Any:
    from nbaops import clock

    return clock.today_eastern()


def test_inconclusive_validation_rolls_back_with_exit_3_or_holds(dworld: DeployWorld) -> None:
    from worlds.checks_world import World

    ctx = dworld.context()
    world = World(ctx=ctx, wh=dworld.wh, home=dworld.home)
    games = world.games(world_today(), 1, players_per_team=2)  # 4 players < min 10
    world.features(games)
    world.lines(games)
    report = run_deploy(ctx, DeployRequest(service=SERVICE))
    assert report.outcome == "rolled_back"
    assert exit_code_for(report.verdict) == 3
    alerts = [e for msg in outbox(dworld) for e in msg["events"]]
    assert any("ACTION NEEDED" in e["title"] for e in alerts)

    dworld.reconfigure(on_inconclusive="hold")
    ctx = dworld.context()
    held = run_deploy(ctx, DeployRequest(service=SERVICE))
    assert held.outcome == "held" and exit_code_for(held.verdict) == 3
    assert dworld.service().traffic_by_revision[held.new_revision or ""] == 100
    assert any("--to-revisions=" in m for m in held.manual)


def test_a_successful_deploy_over_a_revision_without_a_commit_label_exits_0(
    dworld: DeployWorld,
) -> None:
    """The first nbaops deploy of a service (its serving revision has no ``commit-sha``
    label): checks 4 and 5 are INCONCLUSIVE, which does not refuse the deploy; the deploy
    succeeds. Its verdict was the worst of every step, INCONCLUSIVE, so a DEPLOYED
    service exited 3 ("could not determine") and CI failed the job; the outcome table
    says success exits 0: the verdict is WARN (shown, not a failure)."""
    from worlds.deploy_world import PROJECT, REGION

    from nbaops.local.cloudrun_state import SeedRevision, SeedService, seed_services

    seed_services(
        dworld.home,
        PROJECT,
        REGION,
        [
            SeedService(
                name=SERVICE,
                revisions=[
                    SeedRevision(
                        image=f"local.nbaops.dev/services/{SERVICE}:by-hand",
                        create_time=NOW_DT - dt.timedelta(days=1),
                    )
                ],
            )
        ],
    )
    report = run_deploy(dworld.context(), DeployRequest(service=SERVICE))
    checks = {c.name: c.verdict for c in report.predeploy}
    assert checks["commits_since_deployed"] is Verdict.INCONCLUSIVE, checks
    assert report.outcome == "success", report.final_line()
    assert report.verdict is Verdict.WARN
    assert exit_code_for(report.verdict) == 0


def test_no_rollback_holds_a_failing_revision(dworld: DeployWorld) -> None:
    ctx = dworld.context()

    armed: list[bool] = []

    def on(line: str) -> None:
        if "still serves" in line and not armed:  # the new revision exists, without traffic
            armed.append(True)
            set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=1)

    before = dworld.service().serving_revision
    report = run_deploy(ctx, DeployRequest(service=SERVICE, no_rollback=True), progress=hook(on))
    assert report.outcome == "held" and exit_code_for(report.verdict) == 1
    # the new revision failed before it got traffic: nothing to roll back, no command
    # that would be refused ("--to X already serves 100%")
    assert f"{before} still serves 100%" in report.final_line(), report.final_line()
    assert "--to" not in report.final_line() and report.manual == []
    # and a plain rollback goes back to before that deploy (it already serves), not further
    rolled = run_rollback(dworld.context(), SERVICE)
    assert rolled.outcome == "success" and rolled.target == before
    assert dworld.service().traffic_by_revision[before or ""] == 100


def test_dry_run_prints_the_plan_and_sends_no_mutating_request(dworld: DeployWorld) -> None:
    ctx = dworld.context()
    mark = len(dworld.requests())
    report = run_deploy(ctx, DeployRequest(service=SERVICE, dry_run=True, canary=25))
    assert report.outcome == "planned"
    assert exit_code_for(report.verdict) == 0
    assert len(dworld.requests()) > mark  # it did read
    assert dworld.mutating(mark) == []
    plan = "\n".join(report.plan)
    assert "PATCH" in plan and "traffic=[new 25%" in plan and "lines_coverage" in plan
    assert "nba_precompute.points_lines" in plan
    assert dworld.audit_rows() == []
    assert "nothing changed" in report.final_line()


def test_dry_run_of_a_refused_deploy_exits_1(dworld: DeployWorld) -> None:
    (dworld.repo / "services" / "phase4_processors" / "main.py").write_text("print('wip')\n")
    report = run_deploy(dworld.context(), DeployRequest(service=SERVICE, dry_run=True))
    assert exit_code_for(report.verdict) == 1
    assert "REFUSED" in report.final_line()
    assert dworld.mutating() == []


def test_dirty_service_paths_refuse_the_deploy_before_any_change(dworld: DeployWorld) -> None:
    (dworld.repo / "services" / "phase4_processors" / "main.py").write_text("print('wip')\n")
    report = run_deploy(dworld.context(), DeployRequest(service=SERVICE))
    assert report.outcome == "refused"
    assert exit_code_for(report.verdict) == 1
    assert dworld.mutating() == []
    rows = dworld.audit_rows()
    assert [r["outcome"] for r in rows] == ["refused"]
    assert "uncommitted_changes" in rows[0]["message"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"service": "nope"}, "unknown service"),
        ({"service": SERVICE, "canary": 0}, "--canary"),
        ({"service": SERVICE, "canary": 100}, "--canary"),
        ({"service": SERVICE, "model_version": "v9"}, "--model-version"),
        ({"service": "prediction-worker", "model_version": "nine"}, "--model-version"),
        ({"service": SERVICE, "image": "Not An Image"}, "--image"),
    ],
)
def test_bad_input_exits_2_with_nothing_changed_and_no_audit_row(
    dworld: DeployWorld, kwargs: dict[str, Any], message: str
) -> None:
    from nbaops.errors import UsageError

    mark = len(dworld.requests())
    with pytest.raises(UsageError, match=message) as info:
        run_deploy(dworld.context(), DeployRequest(**kwargs))
    assert info.value.exit_code == 2
    assert dworld.requests()[mark:] == []
    assert dworld.audit_rows() == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"check": "lines_coverag"},
            r"services\.phase4-processors\.post_deploy\[0\]: unknown check 'lines_coverag'",
        ),
        (
            {"check": "lines_coverage", "fail_below": "ninety"},
            r"services\.phase4-processors\.post_deploy\[0\]: lines_coverage\.fail_below: "
            r"'ninety' is not a fraction",
        ),
        (
            {"check": "lines_coverage", "fail_belo": 0.9},
            r"post_deploy\[0\]: lines_coverage\.fail_belo: unknown key",
        ),
        (None, r"alerts\.anomaly\.min_history: 30 is more than window_game_days"),
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_config_the_deploy_reads_later_is_refused_before_it_changes_anything(
    dworld: DeployWorld, entry: dict[str, Any] | None, message: str, dry_run: bool
) -> None:
    """A bad post_deploy entry or alerts section is found when the request is validated
    (exit 2, no audit row, no Cloud Run call), not after the new revision took traffic:
    there every observation round was ERROR and the deploy was rolled back (found by
    running `inv deploy` with such a config)."""
    import yaml
    from git_commands import git

    from nbaops.errors import ConfigError

    path = dworld.repo / "nbaops.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if entry is None:  # the alerts section every observation round reads
        data["alerts"] = {**data.get("alerts", {}), "anomaly": {"min_history": 30}}
    else:
        data["services"][SERVICE]["post_deploy"] = [entry]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    git(dworld.repo, "commit", "-q", "-am", "a typo in post_deploy")
    mark = len(dworld.requests())
    with pytest.raises(ConfigError, match=message) as info:
        run_deploy(dworld.context(), DeployRequest(service=SERVICE, dry_run=dry_run))
    assert info.value.exit_code == 2
    assert dworld.requests()[mark:] == []
    assert dworld.audit_rows() == []
