"""``inv schedule.install``: the Cloud Scheduler job that runs the health checks.

Choice: Cloud Scheduler calls the Cloud Run Admin API ``jobs.run`` of a **Cloud Run job**
(``alerts.schedule.cloud_run_job``, default ``nbaops-health``) with an OAuth token of
a dedicated service account. That job runs the nbaops container with
``inv system-health --profile prod --json``: the same command, flags and exit codes as
the GitHub Actions workflow (``.github/workflows/health.yml``), so either can be the
scheduler (use one; alert dedup lives in the history table, so an overlap only costs a
run). A job, not a service: a health run is a batch that exits with a code, nothing
needs to listen on a port, and Cloud Run jobs record each execution and its logs.

The HTTP target is ``POST https://run.googleapis.com/v2/projects/P/locations/R/jobs/J:run``
with body ``{}``. The scheduler's service account needs ``roles/run.invoker`` on the
job (``run.jobs.run``); whoever installs needs ``roles/cloudscheduler.admin`` and
``iam.serviceAccounts.actAs`` on that account. The Cloud Run job itself is deployed
with the container image (``gcloud run jobs deploy``), not by this task.

Create-or-update: ``get_job``; NotFound → ``create_job``; otherwise ``update_job``
with a field mask of exactly the fields that differ (nothing differs → no write), by the
job's state (output only, ``Job.State``; ``nbaops.adapters.scheduler`` cites the API):
``UPDATE_FAILED`` → every managed field is re-sent (a successful ``UpdateJob`` is the
documented recovery); ``PAUSED`` → what differs is written, then ``ResumeJob``, since the
job exists to run; ``DISABLED`` → exit 3 before any write, saying how to re-create it
(``ResumeJob`` accepts only a PAUSED job). The report names the state found.
``--dry-run`` builds and prints the job and makes no API call at all.

Profiles: Cloud Scheduler has no local stand-in, so on the local profile ``install``
refuses with exit 2 (nothing changed) and ``--dry-run`` prints the plan (exit 0).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbaops.adapters.scheduler import job_message, upsert_job
from nbaops.errors import UsageError
from nbaops.report import CheckReport
from nbaops.verdict import Verdict

if TYPE_CHECKING:
    from nbaops.context import Context

HEALTH_COMMAND = "inv system-health --profile prod --json"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
ATTEMPT_DEADLINE_S = 300  # the scheduler waits for jobs.run to accept, not for the run


@dataclass(frozen=True)
class SchedulePlan:
    project: str
    region: str
    job_id: str
    cron: str
    time_zone: str
    cloud_run_job: str
    service_account: str

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"

    @property
    def name(self) -> str:
        return f"{self.parent}/jobs/{self.job_id}"

    @property
    def run_uri(self) -> str:
        return (
            f"https://run.googleapis.com/v2/projects/{self.project}/locations/{self.region}"
            f"/jobs/{self.cloud_run_job}:run"
        )

    @property
    def description(self) -> str:
        return (
            f"nbaops health checks: runs Cloud Run job {self.cloud_run_job} "
            f"({HEALTH_COMMAND}); managed by `inv schedule.install`"
        )

    def fields(self) -> dict[str, Any]:
        """The managed fields, flat, keyed by their update-mask path."""
        return {
            "description": self.description,
            "schedule": self.cron,
            "time_zone": self.time_zone,
            "http_target.uri": self.run_uri,
            "http_target.http_method": "POST",
            "http_target.headers": {"Content-Type": "application/json"},
            "http_target.body": "{}",
            "http_target.oauth_token.service_account_email": self.service_account,
            "http_target.oauth_token.scope": SCOPE,
            "retry_config.retry_count": 1,
            "attempt_deadline": f"{ATTEMPT_DEADLINE_S}s",
        }

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **_nested(self.fields()), "runs": HEALTH_COMMAND}

    def to_proto(self) -> Any:
        job = {"name": self.name, **_nested(self.fields())}
        job["http_target"]["body"] = b"{}"
        job["attempt_deadline"] = dt.timedelta(seconds=ATTEMPT_DEADLINE_S)
        return job_message(job)


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` → ``{"a": {"b": 1}}`` (the update-mask paths as the job's shape)."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, leaf = path.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def build_plan(ctx: Context) -> SchedulePlan:
    """The job for the context's profile, from ``alerts.schedule`` (defaults filled in)."""
    from nbaops.alerts.settings import AlertSettings

    job = ctx.config.settings("alerts", AlertSettings).schedule
    profile = ctx.config.profile
    return SchedulePlan(
        project=profile.project,
        region=profile.region,
        job_id=job.job,
        cron=job.cron,
        time_zone=job.time_zone,
        cloud_run_job=job.cloud_run_job,
        service_account=job.service_account.replace("{project}", profile.project),
    )


def current_fields(job: Any) -> dict[str, Any]:
    """The managed fields of an existing job, in :meth:`SchedulePlan.fields` form."""
    target = job.http_target
    deadline = job.attempt_deadline
    seconds = int(getattr(deadline, "seconds", 0) or 0) if deadline else 0
    if hasattr(deadline, "total_seconds"):  # proto-plus may hand back a timedelta
        seconds = int(deadline.total_seconds())
    method = getattr(target.http_method, "name", str(target.http_method))
    return {
        "description": job.description,
        "schedule": job.schedule,
        "time_zone": job.time_zone,
        "http_target.uri": target.uri,
        "http_target.http_method": "POST"
        if method in ("POST", "HTTP_METHOD_UNSPECIFIED")
        else method,
        "http_target.headers": {
            k: v for k, v in dict(target.headers).items() if k.lower() == "content-type"
        },
        "http_target.body": bytes(target.body).decode("utf-8", "replace"),
        "http_target.oauth_token.service_account_email": target.oauth_token.service_account_email,
        "http_target.oauth_token.scope": target.oauth_token.scope,
        "retry_config.retry_count": int(job.retry_config.retry_count),
        "attempt_deadline": f"{seconds}s",
    }


def differing_paths(plan: SchedulePlan, job: Any) -> list[str]:
    have = current_fields(job)
    want = plan.fields()
    return [path for path, value in want.items() if have.get(path) != value]


def schedule_report(
    action: str,
    plan: SchedulePlan,
    profile: str,
    changed: list[str] | None = None,
    note: str = "",
    *,
    state: str | None = None,
    resumed: bool = False,
) -> CheckReport:
    """What ``schedule.install`` did (``action``: created, updated, resumed, unchanged or
    dry-run; ``state``: the job's state as found, None when it did not exist or was not
    read): an action report (PASS) whose lines are the note and the job as JSON."""
    import json

    changed = list(changed or [])
    job = plan.to_json()
    headline = {
        "dry-run": f"dry run: would create or update {plan.name} (no API call made)",
        "created": f"created {plan.name}",
        "updated": f"updated {plan.name}: {', '.join(changed)}",
        "resumed": f"resumed {plan.name} (it was PAUSED; its fields were up to date)",
        "unchanged": f"{plan.name} is already up to date",
    }.get(action, action)
    if action == "updated" and state == "UPDATE_FAILED":
        headline += " (every managed field re-sent to recover it from UPDATE_FAILED)"
    elif action == "updated" and resumed:
        headline += f"; resumed it (it was {state})"
    extra = {
        "action": action,
        "profile": profile,
        "changed_fields": changed,
        "state": state,
        "resumed": resumed,
        "note": note,
    }
    return CheckReport(
        "schedule.install",
        extra={**extra, "job": job},
        notes=[line for line in (note, json.dumps(job, indent=2)) if line],
        summary=headline,
        outcome=Verdict.PASS,
    )


def install(
    ctx: Context,
    *,
    dry_run: bool = False,
    endpoint: str | None = None,
    credentials: Any = None,
) -> CheckReport:
    """Create or update the Cloud Scheduler job and leave it ENABLED (``dry_run``: print
    it, call nothing).

    Args:
        ctx: the run context; its profile gives project, region and ``alerts.schedule``.
        dry_run: build and return the plan without constructing a client.
        endpoint: Cloud Scheduler API endpoint (tests: a local server); default Google's.
        credentials: explicit credentials (tests); default Application Default Credentials.

    Raises:
        UsageError: the local profile without ``dry_run`` (nothing changed).
        SchedulerError: an API call failed, or the job is DISABLED (nothing changed).
    """
    plan = build_plan(ctx)
    if dry_run:
        note = ""
        if ctx.is_local:
            note = (
                "local profile: Cloud Scheduler has no local stand-in; run with "
                "--profile prod to install this job."
            )
        return schedule_report("dry-run", plan, ctx.profile, note=note)
    if ctx.is_local:
        raise UsageError(
            "schedule.install needs a gcp profile (--profile prod): Cloud Scheduler has no "
            "local stand-in; nothing was changed (use --dry-run to see the job)"
        )
    done = upsert_job(
        plan.parent,
        plan.to_proto(),
        lambda existing: differing_paths(plan, existing),
        managed=list(plan.fields()),
        endpoint=endpoint,
        credentials=credentials,
    )
    return schedule_report(
        done.action,
        plan,
        ctx.profile,
        changed=done.paths,
        state=done.state,
        resumed=done.resumed,
    )
