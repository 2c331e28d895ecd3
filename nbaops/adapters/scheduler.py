"""Cloud Scheduler adapter (``google.cloud.scheduler_v1``, REST transport).

The client construction and the read the preflight needs; ``nbaops.schedule`` builds the
job and installs it through :func:`upsert_job`. Tests point ``endpoint`` at a local
server on 127.0.0.1.

A job's ``state`` is output only (``google/cloud/scheduler/v1/job.proto``, ``Job.State``;
the same text in the ``cloudscheduler.v1`` discovery document): ``ENABLED`` runs;
``PAUSED`` was paused by a user and does not run; ``DISABLED`` was disabled by the system
due to an error ("the user cannot directly set a job to be disabled"); ``UPDATE_FAILED``
results from a failed ``UpdateJob`` ("to recover a job from this state, retry
CloudScheduler.UpdateJob until a successful response is received"). ``ResumeJob``
(``POST v1/{name}:resume``) "reenables a job after it has been Job.State.PAUSED ... A job
must be in Job.State.PAUSED to be resumed", so a DISABLED job cannot be resumed. Sources:
https://cloud.google.com/python/docs/reference/cloudscheduler/latest/google.cloud.scheduler_v1.types.Job.State
and the ``cloudscheduler.v1`` discovery document google-api-python-client 2.202.0 bundles
(revision 20261106: ``Job.state`` readOnly, ``projects.locations.jobs.resume``/``patch``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbaops.adapters.credentials import client_kwargs
from nbaops.adapters.errors import google_call, transient_retry
from nbaops.errors import AdapterError, first_line

API = "Cloud Scheduler"
CALL_TIMEOUT_S = 30.0  # one call (a read: its retries included)

# Job.State: what each state means for the health run (see the module docstring).
STATE_MEANINGS = {
    "ENABLED": "runs on its schedule",
    "PAUSED": "paused by a user: it does not run",
    "DISABLED": "disabled by Cloud Scheduler after an error: it does not run",
    "UPDATE_FAILED": "a job update failed: it may not run until an update succeeds",
    "STATE_UNSPECIFIED": "no state reported",
}


class SchedulerError(AdapterError):
    """A Cloud Scheduler API call failed."""


def scheduler_client(endpoint: str | None, credentials: Any) -> Any:
    """A ``CloudSchedulerClient`` (default endpoint and ADC when both are None)."""
    from google.cloud import scheduler_v1  # lazy: Google clients cost ~0.4 s to import

    return scheduler_v1.CloudSchedulerClient(**client_kwargs(endpoint, credentials))


def get_job(
    name: str,
    *,
    endpoint: str | None = None,
    credentials: Any = None,
    timeout_s: float = CALL_TIMEOUT_S,
) -> Any | None:
    """The job named ``projects/P/locations/L/jobs/J``, or None when it does not exist;
    within ``timeout_s``, retries included (GetJob's default retry re-sends a 503 for up
    to 600 s: ``inv doctor`` and ``schedule.install`` waited 10 minutes in an outage).

    Raises:
        CredentialsError / PermissionDeniedError / SchedulerError: the call failed.
    """
    from google.api_core import exceptions as gexc

    def call() -> Any | None:
        client = scheduler_client(endpoint, credentials)
        try:
            return client.get_job(name=name, timeout=timeout_s, retry=transient_retry(timeout_s))
        except gexc.NotFound:
            return None

    return google_call(API, f"get job {name}", call, error=SchedulerError, timeout_s=timeout_s)


def job_state(job: Any) -> str:
    """The job's ``Job.State`` by name (``ENABLED``, ``PAUSED``, ``DISABLED``,
    ``UPDATE_FAILED``; ``STATE_UNSPECIFIED`` when the reply had none)."""
    state = job.state
    return str(getattr(state, "name", state) or "STATE_UNSPECIFIED")


def job_message(job: Mapping[str, Any]) -> Any:
    """A ``scheduler_v1.Job`` from its field mapping (snake_case names, nested messages as
    mappings, enums by name, ``bytes`` body, ``timedelta`` deadline)."""
    from google.cloud import scheduler_v1

    return scheduler_v1.Job(dict(job))


def _install_error(exc: BaseException) -> SchedulerError:
    message = first_line(exc)
    hint = ""
    if "403" in message or "PermissionDenied" in type(exc).__name__:
        hint = " (needs roles/cloudscheduler.admin and actAs on the scheduler service account)"
    return SchedulerError(f"Cloud Scheduler install failed: {message}{hint}")


@dataclass(frozen=True)
class Upsert:
    """What :func:`upsert_job` did.

    ``action``: ``created``, ``updated`` (fields written), ``resumed`` (a PAUSED job
    resumed, no field differed) or ``unchanged``; ``paths``: the update-mask paths
    written; ``state``: the job's state as found (None: it did not exist); ``resumed``:
    ``ResumeJob`` was called.
    """

    action: str
    paths: list[str] = field(default_factory=list)
    state: str | None = None
    resumed: bool = False


def disabled_fix(name: str) -> str:
    """What to do about a DISABLED job ``projects/P/locations/L/jobs/J``: ResumeJob accepts
    only a PAUSED job and a user cannot set the state, so the way back is to re-create it."""
    _, project, _, location, _, job = name.split("/")
    return (
        f"find the error in its logs (resource.type=cloud_scheduler_job), then `gcloud "
        f"scheduler jobs delete {job} --location {location} --project {project}` and run "
        "`inv schedule.install` again to re-create it"
    )


def disabled_error(name: str) -> SchedulerError:
    """The one line ``schedule.install`` fails with on a DISABLED job (exit 3)."""
    job = name.rsplit("/", 1)[-1]
    return SchedulerError(
        f"Cloud Scheduler job {job} is DISABLED ({STATE_MEANINGS['DISABLED']}; ResumeJob "
        f"only resumes a PAUSED job), nothing was changed: {disabled_fix(name)}"
    )


def upsert_job(
    parent: str,
    job: Any,
    differing: Callable[[Any], list[str]],
    *,
    managed: Sequence[str],
    endpoint: str | None = None,
    credentials: Any = None,
) -> Upsert:
    """Create ``job`` under ``parent``, or bring the existing one to it and make it run.

    By the existing job's state: ``ENABLED`` → update exactly the fields
    ``differing(existing)`` names (none → no write); ``UPDATE_FAILED`` → update every
    ``managed`` path (the documented recovery is a successful ``UpdateJob``); ``PAUSED`` →
    update what differs, then ``ResumeJob`` (the job exists to run); ``DISABLED`` →
    :func:`disabled_error`, before any write (``ResumeJob`` refuses it).

    Raises:
        SchedulerError: a DISABLED job, or any API, transport or credentials failure (one
            line; a 403 names the roles the installer needs).
    """
    from google.api_core import exceptions as gexc

    try:
        client = scheduler_client(endpoint, credentials)
        try:
            existing = client.get_job(
                name=job.name, timeout=CALL_TIMEOUT_S, retry=transient_retry(CALL_TIMEOUT_S)
            )
        except gexc.NotFound:
            client.create_job(parent=parent, job=job, timeout=CALL_TIMEOUT_S)
            return Upsert("created")
        state = job_state(existing)
        if state == "DISABLED":
            raise disabled_error(job.name)
        paths = list(managed) if state == "UPDATE_FAILED" else differing(existing)
        if paths:
            client.update_job(job=job, update_mask={"paths": paths}, timeout=CALL_TIMEOUT_S)
        resumed = state == "PAUSED"
        if resumed:
            try:
                client.resume_job(name=job.name, timeout=CALL_TIMEOUT_S)
            except Exception as exc:  # the update above stands: say so, then what failed
                written = f"updated {', '.join(paths)}, then " if paths else ""
                raise SchedulerError(
                    f"Cloud Scheduler install: {written}resuming the PAUSED job failed "
                    f"({first_line(exc)}); run it again, or `gcloud scheduler jobs resume`"
                ) from None
        action = "updated" if paths else "resumed" if resumed else "unchanged"
        return Upsert(action, paths, state, resumed)
    except SchedulerError:
        raise
    except Exception as exc:  # API errors and transport/auth errors (no ADC, network)
        raise _install_error(exc) from None
