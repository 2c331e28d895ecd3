"""The service tasks end to end: invoke parsing, the runner, the library and the stand-in.

The stand-in is seeded directly (no sandbox): ``Context.standin`` is pointed at the
stand-in of the test's state folder, everything else is the production path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from invoke import Program
from worlds.standin import (
    STANDIN_PROJECT,
    STANDIN_REGION,
    STANDIN_SERVICES,
    fake_sha,
    standard_seed,
)

from nbaops.adapters.cloudrun import CloudRun
from nbaops.cli.services import ns
from nbaops.config import ProfileConfig
from nbaops.context import Context
from nbaops.local.api_faults import set_api_fault
from nbaops.local.cloudrun_state import SeedRevision, SeedService, seed_services
from nbaops.local.standin import StandIn

REPO = Path(__file__).resolve().parents[2]
KNOWN = ", ".join(STANDIN_SERVICES)


@pytest.fixture(autouse=True)
def seeded_context(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(Context, "standin", property(lambda self: StandIn.start(self.home)))


def run_task(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    program = Program(namespace=ns, name="nbaops", binary="inv")
    try:
        program.run(["inv", *argv])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_json(out: str) -> dict[str, Any]:
    """The output must be exactly one JSON document."""
    document = json.loads(out)
    assert isinstance(document, dict)
    return document


def reseed(nbaops_home: Path, *services: SeedService) -> None:
    seed_services(nbaops_home, STANDIN_PROJECT, STANDIN_REGION, list(services))


# ---------------------------------------------------------------- check-all-services


def test_check_all_services_table_shows_every_service_with_its_commit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_task(capsys, "check-all-services")
    assert code == 0, err
    lines = out.splitlines()
    for name in STANDIN_SERVICES:  # one whole (copyable) line per service: commit and URL
        assert any(f"[{name}] value={fake_sha(f'{name}-2')}" in line for line in lines)
        assert any(line.startswith(f"{name}: https://{name}-") for line in lines)
    assert lines[-1] == "PASS Cloud Run services (local): 5 PASS"


def test_check_all_services_json_is_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_task(capsys, "check-all-services", "--json")
    assert code == 0
    doc = one_json(out)
    assert list(doc) == ["verdict", "profile", "services", "checks"]  # the documented order
    assert doc["verdict"] == "PASS" and doc["profile"] == "local"
    by_name = {s["service"]: s for s in doc["services"]}
    assert list(by_name) == list(STANDIN_SERVICES)
    worker = by_name["prediction-worker"]
    assert worker["commit"] == fake_sha("prediction-worker-2")
    assert worker["ready"] is True
    assert worker["traffic"] == [
        {"revision": worker["serving_revision"], "percent": 100, "tag": ""}
    ]
    assert worker["url"].startswith("https://prediction-worker-") and worker["url"].endswith(
        ".a.run.app"
    )


def test_split_missing_label_and_api_error_get_their_verdicts(
    capsys: pytest.CaptureFixture[str], nbaops_home: Path
) -> None:
    split = standard_seed("prediction-worker")
    split.traffic = [
        ("prediction-worker-00001-aaa", 90, ""),
        ("prediction-worker-00002-bbb", 10, "canary"),
    ]
    split.revisions[0].name = "prediction-worker-00001-aaa"
    split.revisions[1].name = "prediction-worker-00002-bbb"
    unlabelled = SeedService("grading-service", [SeedRevision("img", labels={})])
    reseed(nbaops_home, split, unlabelled)
    set_api_fault(nbaops_home, "http-4xx", service="phase4-processors")

    code, out, _ = run_task(capsys, "check-all-services", "--json")
    verdicts = {s["service"]: s["verdict"] for s in one_json(out)["services"]}
    assert verdicts == {
        "phase3-processors": "PASS",
        "phase4-processors": "ERROR",
        "prediction-coordinator": "PASS",
        "prediction-worker": "WARN",
        "grading-service": "INCONCLUSIVE",
    }
    assert code == 3
    messages = {s["service"]: s["message"] for s in one_json(out)["services"]}
    assert "HTTP 403" in messages["phase4-processors"]
    assert "traffic is split" in messages["prediction-worker"]


@pytest.mark.parametrize("rolled_back", [False, True], ids=["old-serves", "rolled-back"])
def test_a_failed_deploy_warns_with_its_reason_as_pre_deploy_does(
    capsys: pytest.CaptureFixture[str], nbaops_home: Path, standin: StandIn, rolled_back: bool
) -> None:
    """A failed deploy leaves the service not Ready (its latest created revision failed)
    while a ready revision serves: the one it had, or an older one a rollback routed to
    (run.v2 Service.reconciling). check-all-services FAILed 'service is not ready (serving
    X)' without saying why, where pre-deploy's deployment_status WARNs naming the failed
    revision and its reason: one state, one judgement, the same words."""
    from nbaops.adapters.cloudrun import TrafficSplit
    from nbaops.deploy.predeploy import CurrentDeployment, check_status

    profile = ProfileConfig("local", "local", STANDIN_PROJECT, STANDIN_REGION)
    cloudrun = CloudRun(profile, standin.url)
    older = cloudrun.list_revisions("grading-service")[1]
    set_api_fault(nbaops_home, "lro-fail", count=1)
    with pytest.raises(Exception, match="operation failed"):
        cloudrun.deploy_revision(
            "grading-service", image="broken", labels={"commit-sha": fake_sha("broken")}
        )
    if rolled_back:
        cloudrun.set_traffic("grading-service", [TrafficSplit(older.name, 100)])
    info = cloudrun.get_service("grading-service")
    serving = cloudrun.get_revision("grading-service", info.serving_revision or "")
    predeploy = check_status(CurrentDeployment(info, serving), "grading-service")

    code, out, _ = run_task(capsys, "check-all-services", "--json")
    grading = next(s for s in one_json(out)["services"] if s["service"] == "grading-service")
    assert (code, grading["verdict"], grading["ready"]) == (0, "WARN", False), grading["message"]
    assert grading["commit"] == serving.commit  # what serves, not the failed revision
    assert grading["message"] == predeploy.message
    assert f"latest created revision {info.latest_created_revision} failed" in grading["message"]
    assert "(Revision " in grading["message"]  # the reason: the service's terminal condition
    check = next(c for c in one_json(out)["checks"] if c["service"] == "grading-service")
    assert "WARN split, pinned, or a failed new revision" in check["threshold"]


# ---------------------------------------------------------------- deployed-commit


def test_deployed_commit_prints_the_serving_commit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_task(capsys, "deployed-commit", "--service", "prediction-worker")
    assert code == 0
    assert out.splitlines()[0] == fake_sha("prediction-worker-2")
    assert out.splitlines()[-1].startswith("PASS prediction-worker: ")


def test_deployed_commit_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_task(capsys, "deployed-commit", "--service", "grading-service", "--json")
    assert code == 0
    doc = one_json(out)
    assert doc["verdict"] == "PASS"
    assert doc["commit"] == fake_sha("grading-service-2")
    assert doc["revisions"][0]["name"] == doc["serving_revision"]
    assert doc["revisions"][0]["percent"] == 100


def test_deployed_commit_without_label_is_inconclusive(
    capsys: pytest.CaptureFixture[str], nbaops_home: Path
) -> None:
    reseed(nbaops_home, SeedService("grading-service", [SeedRevision("i", {"commit-sha": "v1"})]))
    code, out, _ = run_task(capsys, "deployed-commit", "--service", "grading-service", "--json")
    doc = one_json(out)
    assert (code, doc["verdict"], doc["commit"], doc["commit_label"]) == (
        3,
        "INCONCLUSIVE",
        None,
        "v1",
    )


def test_deployed_commit_keeps_a_failed_rollout_beside_a_split_of_one_commit(
    capsys: pytest.CaptureFixture[str], nbaops_home: Path, standin: StandIn
) -> None:
    """Traffic split over two revisions of one commit reads PASS in deployed-commit (the
    commit is certain), but that also swallowed the WARN of a service left not Ready by a
    failed new revision: "traffic split over revisions of one commit", PASS, where
    check-all-services and pre-deploy warn that the latest revision failed."""
    commit = fake_sha("grading-service-one")
    reseed(
        nbaops_home,
        SeedService(
            "grading-service",
            [
                SeedRevision("a", {"commit-sha": commit}, name="grading-service-00001-aaa"),
                SeedRevision("b", {"commit-sha": commit}, name="grading-service-00002-bbb"),
            ],
            traffic=[("grading-service-00001-aaa", 50, ""), ("grading-service-00002-bbb", 50, "")],
        ),
    )
    code, out, _ = run_task(capsys, "deployed-commit", "--service", "grading-service", "--json")
    assert (code, one_json(out)["verdict"]) == (0, "PASS")  # one commit: certain
    profile = ProfileConfig("local", "local", STANDIN_PROJECT, STANDIN_REGION)
    set_api_fault(nbaops_home, "lro-fail", count=1)
    with pytest.raises(Exception, match="operation failed"):
        CloudRun(profile, standin.url).deploy_revision(
            "grading-service", image="broken", labels={"commit-sha": fake_sha("broken")}
        )
    code, out, _ = run_task(capsys, "deployed-commit", "--service", "grading-service", "--json")
    doc = one_json(out)
    assert (code, doc["verdict"], doc["commit"]) == (0, "WARN", commit), doc["message"]
    assert "failed" in doc["message"] and "latest created revision" in doc["message"]


@pytest.mark.parametrize("task", ["deployed-commit", "health-check"])
def test_missing_service_flag_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], task: str
) -> None:
    """The same line as the deploy tasks' (tests/unit/test_cli_program.py)."""
    code, out, err = run_task(capsys, task)
    assert code == 2
    assert err == f"nbaops: error: --service is required; known services: {KNOWN}\n"
    assert out == ""


@pytest.mark.parametrize("task", ["deployed-commit", "health-check"])
def test_unknown_service_exits_2_with_one_line_and_no_traceback(task: str, tmp_path: Path) -> None:
    """Through a real process: the message, the exit code and nothing else."""
    launcher = (
        "from invoke import Program; from nbaops.cli.services import ns; "
        "Program(namespace=ns, binary='inv').run()"
    )
    env = {"NBAOPS_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", launcher, task, "--service", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines == [f"nbaops: error: unknown service 'nope'; known services: {KNOWN}"]
    assert not (tmp_path / "home").exists()  # nothing was created or started

    as_json = subprocess.run(
        [sys.executable, "-c", launcher, task, "--service", "nope", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=env,
    )
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout) == {  # no verdict: bad input measured nothing
        "error": f"unknown service 'nope'; known services: {KNOWN}",
        "exit_code": 2,
    }


# ---------------------------------------------------------------- health-check


def test_health_check_passes_on_a_healthy_revision(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_task(capsys, "health-check", "--service", "phase3-processors", "--json")
    doc = one_json(out)
    assert list(doc)[0] == "verdict" and list(doc)[-2:] == ["message", "checks"]
    assert code == 0 and doc["verdict"] == "PASS"
    assert doc["status"] == 200 and doc["url"].startswith("https://phase3-processors-")
    assert doc["url"].endswith(".a.run.app/health")
    assert doc["answered_by"] == doc["serving_revision"]


def test_health_check_fails_on_a_degraded_revision(
    capsys: pytest.CaptureFixture[str], nbaops_home: Path
) -> None:
    bad = standard_seed("prediction-coordinator")
    bad.revisions[-1].degraded = True
    reseed(nbaops_home, bad)
    code, out, _ = run_task(capsys, "health-check", "--service", "prediction-coordinator")
    assert code == 1
    assert "FAIL" in out and "HTTP 503" in out


def test_health_check_timeout_is_a_failure(
    capsys: pytest.CaptureFixture[str], nbaops_home: Path
) -> None:
    set_api_fault(nbaops_home, "health-timeout", count=1, delay_s=3)
    code, out, _ = run_task(
        capsys, "health-check", "--service", "grading-service", "--timeout", "0.5", "--json"
    )
    doc = one_json(out)
    assert code == 1 and doc["verdict"] == "FAIL" and "timed out" in doc["message"]


def test_cloud_run_api_error_exits_3_with_one_line(
    capsys: pytest.CaptureFixture[str], nbaops_home: Path
) -> None:
    set_api_fault(nbaops_home, "http-4xx", service="grading-service")
    code, out, err = run_task(capsys, "deployed-commit", "--service", "grading-service")
    assert code == 3
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "HTTP 403" in err
    assert "Traceback" not in err
