"""`inv schedule.install`: the Cloud Scheduler job, through the official client (REST)
against a Cloud Scheduler stand-in on 127.0.0.1; --dry-run makes no API call."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from invoke import Context as InvokeContext
from invoke.exceptions import Exit
from rich.console import Console
from worlds.http_fake import FakeServer, Request, google_error

from nbaops.adapters.scheduler import SchedulerError
from nbaops.cli import schedule as schedule_tasks
from nbaops.context import Context
from nbaops.errors import UsageError
from nbaops.sandbox.world import open_context
from nbaops.schedule import install

ROOT = Path(__file__).resolve().parents[2]
JOB = "projects/nba-props-platform/locations/us-west2/jobs/nbaops-system-health"
RUN_URI = (
    "https://run.googleapis.com/v2/projects/nba-props-platform/locations/us-west2"
    "/jobs/nbaops-health:run"
)


@dataclass
class FakeScheduler:
    url: str = ""
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
    fail_with: int | None = None

    def route(self, request: Request) -> tuple[int, Any]:
        self.requests.append((request.method, request.path, request.query))
        body = request.json()
        if self.fail_with:
            status = {403: "PERMISSION_DENIED"}.get(self.fail_with, "INTERNAL")
            return google_error(self.fail_with, status, "denied")
        path = request.path.removeprefix("/v1/")
        if request.method == "GET":
            if path not in self.jobs:
                return google_error(404, "NOT_FOUND")
            return 200, self.jobs[path]
        if request.method == "POST":
            self.jobs[body["name"]] = body
            return 200, body
        if request.method == "PATCH":
            self.jobs[path] = {**self.jobs[path], **body}
            return 200, self.jobs[path]
        return 405, {}


@pytest.fixture
def scheduler() -> Iterator[FakeScheduler]:
    fake = FakeScheduler()
    with FakeServer(fake.route) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
def prod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    return Context.create("prod", config_path=ROOT / "nbaops.yaml")


def run_install(ctx: Context, fake: FakeScheduler, **kw: Any):
    return install(ctx, endpoint=fake.url, credentials=AnonymousCredentials(), **kw)


def test_dry_run_makes_no_api_call(prod: Context, scheduler: FakeScheduler) -> None:
    report = run_install(prod, scheduler, dry_run=True)
    assert scheduler.requests == []
    document = report.to_json()
    job = document["job"]
    assert document["action"] == "dry-run" and job["name"] == JOB
    stream = io.StringIO()  # plain output: the job as JSON, then what was (not) done
    report.render(Console(file=stream, width=4096, color_system=None))
    lines = stream.getvalue().splitlines()
    assert json.loads("\n".join(lines[1:-1])) == job
    assert lines[-1] == f"PASS dry run: would create or update {JOB} (no API call made)"
    assert job["schedule"] == "0 */6 * * *" and job["time_zone"] == "Etc/UTC"
    assert job["http_target"]["uri"] == RUN_URI
    assert job["http_target"]["oauth_token"]["service_account_email"] == (
        "nbaops-scheduler@nba-props-platform.iam.gserviceaccount.com"
    )
    assert job["runs"] == "inv system-health --profile prod --json"


def test_creates_then_leaves_alone_then_updates_only_what_differs(
    prod: Context, scheduler: FakeScheduler
) -> None:
    assert run_install(prod, scheduler).to_json()["action"] == "created"
    created = scheduler.jobs[JOB]
    assert created["schedule"] == "0 */6 * * *"
    assert created["httpTarget"]["uri"] == RUN_URI
    assert created["httpTarget"]["oauthToken"]["scope"].endswith("/auth/cloud-platform")
    assert [r[0] for r in scheduler.requests] == ["GET", "POST"]

    assert run_install(prod, scheduler).summary == f"{JOB} is already up to date"
    assert [r[0] for r in scheduler.requests][2:] == ["GET"]  # no write

    prod.config.raw["alerts"]["schedule"]["cron"] = "30 */4 * * *"
    document = run_install(prod, scheduler).to_json()
    assert (document["action"], document["changed_fields"]) == ("updated", ["schedule"])
    method, path, query = scheduler.requests[-1]
    assert (method, path, query["updateMask"]) == ("PATCH", f"/v1/{JOB}", ["schedule"])
    assert scheduler.jobs[JOB]["schedule"] == "30 */4 * * *"


def test_api_errors_are_one_line_with_a_hint(prod: Context, scheduler: FakeScheduler) -> None:
    scheduler.fail_with = 403
    with pytest.raises(SchedulerError) as info:
        run_install(prod, scheduler)
    assert "roles/cloudscheduler.admin" in str(info.value)
    assert "\n" not in str(info.value)


def test_local_profile_refuses_install_but_prints_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBAOPS_CONFIG", str(ROOT / "nbaops.yaml"))
    local = open_context("local", config_path=ROOT / "nbaops.yaml")
    with pytest.raises(UsageError, match="needs a gcp profile"):
        install(local)
    with pytest.raises(Exit) as info:
        schedule_tasks.install(InvokeContext(), profile="local")
    assert info.value.code == 2
    schedule_tasks.install(InvokeContext(), profile="local", dry_run=True, json=True)
    document = json.loads(capsys.readouterr().out)
    assert document["action"] == "dry-run" and "no local stand-in" in document["note"]
    assert document["job"]["name"].startswith("projects/nbaops-local/locations/us-west2/jobs/")


def test_doctor_checks_the_job_exists_with_the_configured_schedule(
    prod: Context, scheduler: FakeScheduler
) -> None:
    from nbaops.doctor import check_scheduler
    from nbaops.verdict import Verdict

    prod.__dict__["credentials"] = AnonymousCredentials()
    missing = check_scheduler(prod, endpoint=scheduler.url)
    assert missing.verdict is Verdict.FAIL, missing.message
    assert "does not exist" in missing.message
    assert "schedule.install" in missing.details["fix"]
    run_install(prod, scheduler)
    assert check_scheduler(prod, endpoint=scheduler.url).verdict is Verdict.PASS
    job = next(iter(scheduler.jobs.values()))
    job["schedule"] = "0 3 * * *"
    drifted = check_scheduler(prod, endpoint=scheduler.url)
    assert drifted.verdict is Verdict.FAIL, drifted.message
    assert "0 3 * * *" in drifted.message
    scheduler.fail_with = 403
    denied = check_scheduler(prod, endpoint=scheduler.url)
    assert denied.verdict is Verdict.FAIL, denied.message
    assert "permission denied" in denied.message
    assert [m for m, _p, _q in scheduler.requests if m != "GET"] == ["POST"]  # install only
