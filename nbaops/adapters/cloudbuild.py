"""Cloud Build adapter (``google.cloud.devtools.cloudbuild_v1``, REST transport): build an
image from a commit.

``run_build`` takes the plain-data request ``nbaops.deploy.image.build_request`` plans
(and ``--dry-run`` prints), creates the build from the connected repository at the commit
and waits for it. Every failure is one :class:`CloudBuildError` line (exit 3). Tests point
``endpoint`` at a local server on 127.0.0.1.

Every call uses the build's regional resource path
(``projects/P/locations/L/builds/ID``): the legacy ``projects/P/builds/ID`` reaches only
builds of the ``global`` region (the discovery document's ``projects.locations.builds.cancel``
says so; a regional build read there is 404, backstage/backstage#21463). So the build is
created with ``parent`` alone: with ``project_id`` set too, the REST transport's first
binding (``/v1/projects/{project_id}/builds``, ``parent`` as a query parameter) is the one
it sends.

The wait polls ``get_build`` (what ``CloudBuildClient.create_build``'s docstring
prescribes: "Pass the build ID to ``GetBuild`` to determine the build status") instead of
``operation.result()``: the operation of a failed build ends with an error ("Build failed;
check build logs for details"), which ``result()`` raised without the build's id, status
or log URL, and polling the operation of a regional build is 404
(googleapis/google-cloud-python#12123). The build id and log URL are in the operation's
metadata (``BuildOperationMetadata.build``) as soon as the build is created.

The build's ``timeout`` counts from its start only (``Build.timeout``: "starts ticking
from ``startTime``"); the time it may wait in the queue is its ``queue_ttl`` ("starts
ticking from create_time"; a build queued longer ends ``EXPIRED``). Both are set, so the
local wait is bounded by ``queue_ttl + timeout +`` :data:`MARGIN_S`; a build still running
then is cancelled, so that no build nobody waits for pushes an image later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from nbaops.adapters.credentials import client_kwargs
from nbaops.adapters.errors import (
    CredentialsError,
    NotFoundError,
    PermissionDeniedError,
    google_call,
)
from nbaops.errors import AdapterError

API = "Cloud Build"
CALL_TIMEOUT_S = 30.0  # one API request
POLL_S = 5.0  # between two reads of a running build
MARGIN_S = 60  # after queue_ttl + timeout: for the build's final status to be written
READ_FAILURES = 5  # reads of a running build failing in a row (5xx, network) before giving up
RUNNING = ("STATUS_UNKNOWN", "PENDING", "QUEUED", "WORKING")
# Why a build ended so, when Cloud Build gives no statusDetail of its own
WHY = {
    "EXPIRED": "queued longer than deploy.build.queue_ttl_s",
    "TIMEOUT": "ran longer than deploy.build.timeout_s",
}


class CloudBuildError(AdapterError):
    """Cloud Build failed or timed out (exit 3)."""


def cloudbuild_client(endpoint: str | None, credentials: Any) -> Any:
    """A ``CloudBuildClient`` (default endpoint and ADC when both are None)."""
    from google.cloud.devtools import cloudbuild_v1  # lazy: Google clients cost ~0.4 s

    return cloudbuild_v1.CloudBuildClient(**client_kwargs(endpoint, credentials))


def build_message(request: dict[str, Any]) -> Any:
    """The ``cloudbuild_v1.Build`` of a planned request."""
    from google.cloud.devtools import cloudbuild_v1
    from google.protobuf import duration_pb2

    repo = request["source"]["connected_repository"]
    return cloudbuild_v1.Build(
        source=cloudbuild_v1.Source(
            connected_repository=cloudbuild_v1.ConnectedRepository(
                repository=repo["repository"], revision=repo["revision"]
            )
        ),
        steps=[cloudbuild_v1.BuildStep(name=s["name"], args=s["args"]) for s in request["steps"]],
        images=request["images"],
        tags=request["tags"],
        timeout=duration_pb2.Duration(seconds=request["timeout_s"]),
        queue_ttl=duration_pb2.Duration(seconds=request["queue_ttl_s"]),
    )


def run_build(
    request: dict[str, Any],
    *,
    endpoint: str | None = None,
    credentials: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> str:
    """Create the build of ``request`` and wait for it; returns the image it pushed.

    Args:
        request: the plan of ``nbaops.deploy.image.build_request``.
        endpoint: Cloud Build API endpoint (tests: a local server); default Google's.
        credentials: explicit credentials; default ADC (anonymous with an ``endpoint``).
        sleep, monotonic: the wait's clock (tests inject a fake pair and never sleep).

    Raises:
        CloudBuildError: the build could not be created or read, ended other than
            ``SUCCESS`` (its id, status and log URL), or was still running after
            ``queue_ttl + timeout +`` :data:`MARGIN_S` (then it is cancelled).
    """
    from nbaops.heartbeat import heartbeat

    image = str(request["images"][0])
    client = _call("connect", lambda: cloudbuild_client(endpoint, credentials))
    parent = request["parent"]
    operation = _call(
        f"create build of {image}",
        lambda: client.create_build(
            parent=parent, build=build_message(request), timeout=CALL_TIMEOUT_S
        ),
    )
    created = operation.metadata.build if operation.metadata is not None else None
    if created is None or not created.id:
        raise CloudBuildError(
            f"Cloud Build create build of {image}: the reply names no build "
            f"(operation {operation.operation.name!r})"
        )
    build_id, log_url = created.id, created.log_url
    name = created.name or f"{parent}/builds/{build_id}"
    wait_s = request["queue_ttl_s"] + request["timeout_s"] + MARGIN_S
    # from here on the build exists: an interrupt at any statement cancels it
    try:
        started = monotonic()
        failures = 0  # reads failed in a row
        with heartbeat(f"Cloud Build {build_id} of {image}", wait_s):
            while True:
                try:
                    # retry=None: this loop retries a failed read (POLL_S, READ_FAILURES);
                    # the client's default retry re-sent a 503 for up to 600 s in one read
                    build = _call(
                        f"get build {build_id}",
                        lambda: client.get_build(name=name, timeout=CALL_TIMEOUT_S, retry=None),
                    )
                except (CredentialsError, PermissionDeniedError, NotFoundError) as exc:
                    # it cannot be followed: nobody would wait for it
                    raise type(exc)(f"{exc}; {_cancel(client, name, build_id, image)}") from exc
                except CloudBuildError as exc:  # a 5xx, the network, a timeout: passing
                    failures += 1
                    if failures >= READ_FAILURES or monotonic() - started >= wait_s:
                        raise type(exc)(
                            f"{exc} ({failures} reads in a row failed); "
                            f"{_cancel(client, name, build_id, image)}"
                        ) from exc
                    sleep(POLL_S)
                    continue
                failures = 0
                status = _status_name(build.status)
                log_url = build.log_url or log_url
                if status == "SUCCESS":
                    return image
                if status not in RUNNING:
                    raise CloudBuildError(_ended(build_id, status, build, request, log_url))
                if monotonic() - started >= wait_s:
                    raise CloudBuildError(
                        f"Cloud Build {build_id} still {status} after {wait_s:g}s "
                        f"(deploy.build.queue_ttl_s {request['queue_ttl_s']}s + timeout_s "
                        f"{request['timeout_s']}s + {MARGIN_S}s); "
                        f"{_cancel(client, name, build_id, image)}: {log_url}"
                    )
                sleep(POLL_S)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGHUP of a deploy (deploy.signals)
        _cancel(client, name, build_id, image)  # best effort: nobody waits for it now
        raise


def _call(what: str, fn: Callable[[], Any]) -> Any:
    """``fn()``, one Cloud Build request; every failure is one :class:`CloudBuildError`
    line, also the specific error (``errors.google_call``, ``typed=False``)."""
    return google_call(API, what, fn, error=CloudBuildError, timeout_s=CALL_TIMEOUT_S, typed=False)


def _status_name(status: Any) -> str:
    from google.cloud.devtools import cloudbuild_v1

    try:
        return str(cloudbuild_v1.Build.Status(status).name)
    except ValueError:  # a status newer than this client: not one it can wait for
        return f"status {int(status)}"


def _ended(build_id: str, status: str, build: Any, request: dict[str, Any], url: str) -> str:
    """``Cloud Build ID ended STATUS (why): LOG_URL``, one line."""
    why = WHY.get(status, "")
    if why:
        limit = request["queue_ttl_s"] if status == "EXPIRED" else request["timeout_s"]
        why = f"{why} ({limit}s)"
    lines = (build.status_detail or "").strip().splitlines()
    detail = why or (lines[0][:200] if lines else "")
    return f"Cloud Build {build_id} ended {status}{f' ({detail})' if detail else ''}: {url}"


def _cancel(client: Any, name: str, build_id: str, image: str) -> str:
    """Cancel the build ``name``; what was done, for the error's message."""
    try:
        _call(
            f"cancel build {build_id}",
            lambda: client.cancel_build(name=name, timeout=CALL_TIMEOUT_S),
        )
    except CloudBuildError as exc:
        region = name.split("/")[3]
        return (
            f"cancelling it failed ({exc}): cancel it (gcloud builds cancel {build_id} "
            f"--region {region}) before it pushes {image}"
        )
    return f"cancelled it, so it pushes no {image}"
