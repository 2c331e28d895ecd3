"""Cloud Scheduler adapter (``google.cloud.scheduler_v1``, REST transport).

The client construction and the read the preflight needs; ``nbaops.schedule`` builds the
job and installs it through :func:`scheduler_client`. Tests point ``endpoint`` at a local
server on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any

from nbaops.adapters.errors import google_call
from nbaops.errors import AdapterError

API = "Cloud Scheduler"


class SchedulerError(AdapterError):
    """A Cloud Scheduler API call failed."""


def scheduler_client(endpoint: str | None, credentials: Any) -> Any:
    """A ``CloudSchedulerClient`` (default endpoint and ADC when both are None)."""
    from google.cloud import scheduler_v1  # lazy: Google clients cost ~0.4 s to import

    options = {"api_endpoint": endpoint} if endpoint else None
    return scheduler_v1.CloudSchedulerClient(
        credentials=credentials, transport="rest", client_options=options
    )


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
