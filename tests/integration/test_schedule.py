"""`inv schedule.install`: the Cloud Scheduler job, through the official client (REST)
against a Cloud Scheduler stand-in on 127.0.0.1; --dry-run makes no API call."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import pytest
from google.auth.credentials import AnonymousCredentials
from invoke import Context as InvokeContext
from invoke.exceptions import Exit
from rich.console import Console
from worlds.bounded import outcome_within
from worlds.http_fake import FakeServer, Request, google_error

from nbaops.adapters.scheduler import SchedulerError
from nbaops.cli import schedule as schedule_tasks
from nbaops.context import Context
from nbaops.errors import UsageError
from nbaops.local.discovery import Contract, ContractError, camel, standin_contract
from nbaops.sandbox.world import open_context
from nbaops.schedule import install

ROOT = Path(__file__).resolve().parents[2]
JOB = "projects/nba-props-platform/locations/us-west2/jobs/nbaops-system-health"
RUN_URI = (
    "https://run.googleapis.com/v2/projects/nba-props-platform/locations/us-west2"
    "/jobs/nbaops-health:run"
)


JOBS_API = "cloudscheduler.v1"


def _contract() -> Contract:
    contract = standin_contract()
    assert contract is not None, "google-api-python-client (a dev dependency) is missing"
    return contract


@dataclass
class FakeScheduler:
    """Cloud Scheduler v1 REST as the official client meets it.

    Every request is checked against Google's discovery document first (the stand-in's
    contract, ``nbaops.local.discovery``: an unknown route, query parameter, body field or
    update-mask path is answered 400/404 as Google does). Output-only Job fields
    (``readOnly`` in the document: ``state``, ``status``, …) a client sends are ignored;
    a new job is ``ENABLED``. PATCH writes only the ``updateMask`` paths (camelCase in the
    REST query; a masked path absent from the body is cleared) and a successful one
    recovers an ``UPDATE_FAILED`` job. ``:resume`` turns ``PAUSED`` into ``ENABLED``; any
    other state is FAILED_PRECONDITION ("A job must be in Job.State.PAUSED to be resumed").
    """

    url: str = ""
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
    fail_with: int | None = None
    resume_fails_with: int | None = None
    contract: Contract = field(default_factory=_contract)

    def route(self, request: Request) -> tuple[int, Any]:
        self.requests.append((request.method, request.path, request.query))
        body = request.json() if request.raw else None
        if self.fail_with:
            status = {403: "PERMISSION_DENIED"}.get(self.fail_with, "INTERNAL")
            return google_error(self.fail_with, status, "denied")
        query = urlencode(request.query, doseq=True)
        try:
            self.contract.validate(request.method, unquote(request.path), query, body)
        except ContractError as exc:
            return exc.code, exc.to_json()
        path = unquote(request.path).removeprefix("/v1/")
        name = path.removesuffix(":resume")
        if request.method == "POST" and path.endswith("/jobs"):
            job = self._writable(body or {})
            if job["name"] in self.jobs:
                return google_error(409, "ALREADY_EXISTS")
            self.jobs[job["name"]] = {**job, "state": "ENABLED"}
            return 200, self.jobs[job["name"]]
        if name not in self.jobs:
            return google_error(404, "NOT_FOUND")
        job = self.jobs[name]
        if request.method == "GET":
            return 200, job
        if request.method == "PATCH":
            mask = request.query.get("updateMask", [""])[0]
            paths = [p for p in mask.split(",") if p] or list(self._writable(body or {}))
            for mask_path in paths:
                self._apply(job, body or {}, [camel(part) for part in mask_path.split(".")])
            if job["state"] == "UPDATE_FAILED":
                job["state"] = "ENABLED"
            return 200, job
        if self.resume_fails_with:  # POST :resume (cloudscheduler.jobs.enable missing)
            return google_error(self.resume_fails_with, "PERMISSION_DENIED", "denied")
        if job["state"] != "PAUSED":  # POST :resume
            return google_error(400, "FAILED_PRECONDITION", "the job is not PAUSED")
        job["state"] = "ENABLED"
        return 200, job

    def _output_only(self) -> set[str]:
        props = self.contract.schema(JOBS_API, "Job")["properties"]
        return {key for key, spec in props.items() if spec.get("readOnly")}

    def _writable(self, body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k not in self._output_only()}

    def _apply(self, job: dict[str, Any], body: dict[str, Any], parts: list[str]) -> None:
        if parts[0] in self._output_only():
            return
        source: Any = body
        target = job
        for part in parts[:-1]:
            source = source.get(part, {}) if isinstance(source, dict) else {}
            target = target.setdefault(part, {})
        leaf = parts[-1]
        if isinstance(source, dict) and leaf in source:
            target[leaf] = source[leaf]
        else:
            target.pop(leaf, None)


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
    assert created["state"] == "ENABLED"  # output only, set by the service

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


def test_a_job_read_through_an_outage_ends_within_its_timeout(scheduler: FakeScheduler) -> None:
    """GetJob's default retry re-sends a 503 for up to 600 s whatever the call's timeout:
    ``inv doctor`` (whose reads are each "bounded by its client's timeout") and
    ``schedule.install`` hung 10 minutes through a Cloud Scheduler outage."""
    from nbaops.adapters.scheduler import SchedulerError, get_job

    scheduler.fail_with = 503
    error = outcome_within(
        lambda: get_job(
            "projects/p/locations/l/jobs/j",
            endpoint=scheduler.url,
            credentials=AnonymousCredentials(),
            timeout_s=1.0,
        ),
        15,
        "the read",
    )
    assert isinstance(error, SchedulerError) and "gave up retrying" in str(error), error
    assert 1 < len(scheduler.requests) < 10  # retried, within the second


def test_the_fake_checks_requests_against_the_published_contract(
    prod: Context, scheduler: FakeScheduler
) -> None:
    from google.api_core import exceptions as gexc

    from nbaops.adapters.scheduler import scheduler_client

    run_install(prod, scheduler)
    before = copy.deepcopy(scheduler.jobs[JOB])
    client = scheduler_client(scheduler.url, AnonymousCredentials())
    job = {"name": JOB, "schedule": "1 * * * *"}
    with pytest.raises(gexc.BadRequest, match="no field 'nosuchField'"):
        client.update_job(job=job, update_mask={"paths": ["schedule", "nosuch_field"]})
    assert scheduler.jobs[JOB] == before  # rejected: nothing written
    # only the masked paths are written, whatever else the body carries
    client.update_job(
        job={**job, "description": "not masked", "state": "PAUSED"},
        update_mask={"paths": ["schedule", "state"]},
    )
    assert scheduler.jobs[JOB] == {**before, "schedule": "1 * * * *"}  # state: output only


def test_a_paused_job_is_resumed_not_reported_up_to_date(
    prod: Context, scheduler: FakeScheduler
) -> None:
    created = run_install(prod, scheduler).to_json()
    scheduler.jobs[JOB]["state"] = "PAUSED"  # paused by a user: the health run stops
    report = run_install(prod, scheduler)
    assert report.summary == f"resumed {JOB} (it was PAUSED; its fields were up to date)"
    assert scheduler.requests[-1][:2] == ("POST", f"/v1/{JOB}:resume")
    assert scheduler.jobs[JOB]["state"] == "ENABLED"
    document = report.to_json()
    assert (document["action"], document["state"], document["resumed"]) == (
        "resumed",
        "PAUSED",
        True,
    )
    assert created["state"] is None  # created: there was no job to have a state
    unchanged = run_install(prod, scheduler).to_json()
    assert (unchanged["action"], unchanged["state"]) == ("unchanged", "ENABLED")

    # paused and drifted: the differing fields are written, then the job is resumed
    scheduler.jobs[JOB]["state"] = "PAUSED"
    prod.config.raw["alerts"]["schedule"]["cron"] = "30 */4 * * *"
    report = run_install(prod, scheduler)
    document = report.to_json()
    assert (document["action"], document["changed_fields"]) == ("updated", ["schedule"])
    assert document["resumed"] is True
    assert report.summary == f"updated {JOB}: schedule; resumed it (it was PAUSED)"
    assert [(m, p) for m, p, _q in scheduler.requests[-3:]] == [
        ("GET", f"/v1/{JOB}"),
        ("PATCH", f"/v1/{JOB}"),
        ("POST", f"/v1/{JOB}:resume"),
    ]
    assert scheduler.jobs[JOB]["state"] == "ENABLED"
    assert scheduler.jobs[JOB]["schedule"] == "30 */4 * * *"


def test_a_resume_that_fails_after_the_update_says_the_update_was_written(
    prod: Context, scheduler: FakeScheduler
) -> None:
    """ "install failed" alone read as if nothing had changed, while the fields were."""
    run_install(prod, scheduler)
    scheduler.jobs[JOB]["state"] = "PAUSED"
    prod.config.raw["alerts"]["schedule"]["cron"] = "30 */4 * * *"
    scheduler.resume_fails_with = 403
    with pytest.raises(SchedulerError) as info:
        run_install(prod, scheduler)
    assert str(info.value).startswith(
        "Cloud Scheduler install: updated schedule, then resuming the PAUSED job failed ("
    )
    assert scheduler.jobs[JOB]["schedule"] == "30 */4 * * *"  # the update stands


def test_an_update_failed_job_gets_every_managed_field_re_sent(
    prod: Context, scheduler: FakeScheduler
) -> None:
    from nbaops.schedule import build_plan

    run_install(prod, scheduler)
    scheduler.jobs[JOB]["state"] = "UPDATE_FAILED"  # its fields look right, it may not run
    report = run_install(prod, scheduler)
    managed = list(build_plan(prod).fields())
    method, path, query = scheduler.requests[-1]
    assert (method, path) == ("PATCH", f"/v1/{JOB}")
    sent = ",".join(".".join(camel(part) for part in p.split(".")) for p in managed)
    assert query["updateMask"] == [sent] and len(managed) == 11  # httpTarget.oauthToken.scope…
    assert scheduler.jobs[JOB]["state"] == "ENABLED"
    assert "UPDATE_FAILED" in report.summary
    document = report.to_json()
    assert (document["action"], document["state"]) == ("updated", "UPDATE_FAILED")
    assert document["changed_fields"] == managed


def test_a_disabled_job_fails_the_install_with_what_to_do(
    prod: Context, scheduler: FakeScheduler
) -> None:
    run_install(prod, scheduler)
    scheduler.jobs[JOB]["state"] = "DISABLED"  # by the system after an error; not resumable
    writes = len(scheduler.requests)
    with pytest.raises(SchedulerError) as info:
        run_install(prod, scheduler)
    message = str(info.value)
    assert info.value.exit_code == 3 and "\n" not in message
    assert "DISABLED" in message and "ResumeJob only resumes a PAUSED job" in message
    assert "gcloud scheduler jobs delete nbaops-system-health --location us-west2" in message
    assert [m for m, _p, _q in scheduler.requests[writes:]] == ["GET"]  # nothing written
    assert run_install(prod, scheduler, dry_run=True).to_json()["state"] is None  # no call
    assert len(scheduler.requests) == writes + 1


@pytest.mark.parametrize(
    ("state", "fix"),
    [
        ("PAUSED", "`inv schedule.install --profile prod` resumes it"),
        ("UPDATE_FAILED", "`inv schedule.install --profile prod` re-sends every field"),
        ("DISABLED", "gcloud scheduler jobs delete nbaops-system-health"),
    ],
)
def test_doctor_fails_a_job_that_is_not_enabled_naming_the_state(
    prod: Context, scheduler: FakeScheduler, state: str, fix: str
) -> None:
    from nbaops.doctor import check_scheduler
    from nbaops.verdict import Verdict

    prod.__dict__["credentials"] = AnonymousCredentials()
    run_install(prod, scheduler)
    scheduler.jobs[JOB]["state"] = state
    result = check_scheduler(prod, endpoint=scheduler.url)
    assert result.verdict is Verdict.FAIL, result.message
    assert f"job nbaops-system-health is {state} (" in result.message
    assert fix in result.details["fix"] and result.details["state"] == state
