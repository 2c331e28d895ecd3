"""Cloud Scheduler adapter (``google.cloud.scheduler_v1``, REST transport).

The client construction and the read the preflight needs; ``nbaops.schedule`` builds the
job and installs it through :func:`scheduler_client`. Tests point ``endpoint`` at a local
server on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nbaops.adapters.credentials import client_kwargs
from nbaops.adapters.errors import google_call
from nbaops.errors import AdapterError, first_line

API = "Cloud Scheduler"


class SchedulerError(AdapterError):
    """A Cloud Scheduler API call failed."""


def scheduler_client(endpoint: str | None, credentials: Any) -> Any:
    """A ``CloudSchedulerClient`` (default endpoint and ADC when both are None)."""
    from google.cloud import scheduler_v1  # lazy: Google clients cost ~0.4 s to import

    return scheduler_v1.CloudSchedulerClient(**client_kwargs(endpoint, credentials))


def get_job(name: str, *, endpoint: str | None = None, credentials: Any = None) -> Any | None:
    """The job named ``projects/P/locations/L/jobs/J``, or None when it does not exist.

    Raises:
        CredentialsError / PermissionDeniedError / SchedulerError: the call failed.
    """
    from google.api_core import exceptions as gexc

    def call() -> Any | None:
        client = scheduler_client(endpoint, credentials)
        try:
            return client.get_job(name=name, timeout=30.0)
        except gexc.NotFound:
            return None

    return google_call(API, f"get job {name}", call, error=SchedulerError, timeout_s=30.0)


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


def upsert_job(
    parent: str,
    job: Any,
    differing: Callable[[Any], list[str]],
    *,
    endpoint: str | None = None,
    credentials: Any = None,
) -> tuple[str, list[str]]:
    """Create ``job`` under ``parent``, or update exactly the fields ``differing(existing)`` names.

    Returns:
        ``("created" | "updated" | "unchanged", the update-mask paths written)``.

    Raises:
        SchedulerError: any API, transport or credentials failure (one line; a 403 names
            the roles the installer needs).
    """
    from google.api_core import exceptions as gexc

    try:
        client = scheduler_client(endpoint, credentials)
        try:
            existing = client.get_job(name=job.name, timeout=30.0)
        except gexc.NotFound:
            client.create_job(parent=parent, job=job, timeout=30.0)
            return "created", []
        paths = differing(existing)
        if not paths:
            return "unchanged", []
        client.update_job(job=job, update_mask={"paths": paths}, timeout=30.0)
        return "updated", paths
    except Exception as exc:  # API errors and transport/auth errors (no ADC, network)
        raise _install_error(exc) from None
