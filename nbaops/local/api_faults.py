"""API fault injection for the stand-in (fault-matrix and adapter tests).

File ``home/standin-faults.json``: a list of active faults, each
``{"kind", "service", "method", "remaining", "status", "delay_s"}``. Persisted so a fault
set by one process (a test, ``inv sandbox.fault``) applies to the stand-in in another.

Kinds and where they apply:

- ``http-4xx`` / ``http-5xx``: a Cloud Run Admin API request answers ``status``
  (default 403 PERMISSION_DENIED / 503 UNAVAILABLE) with Google error JSON.
- ``timeout``: a Cloud Run Admin API request sleeps ``delay_s`` (default 45 s, past
  any client timeout nbaops uses: :data:`TIMEOUT_DELAY_S`) before answering normally. A timed-out
  PATCH is still applied afterwards, as with the real API: a timeout is ambiguous.
- ``lro-fail``: the next template update's operation finishes ``done`` with an ``error``; a new
  revision is created but fails to become ready; what serves (trafficStatuses) is unchanged.
- ``slow-lro``: the next operation answers ``done: false`` (service ``reconciling``)
  to its creation reply and to ``polls`` more reads of it or its service (default 3).
- ``health-5xx`` / ``health-timeout``: a revision health endpoint answers 500 / sleeps.
- ``logging-error``: ``entries:list`` answers ``status`` (default 500 INTERNAL); 429 is
  the read quota's RESOURCE_EXHAUSTED, with the ``google.rpc.ErrorInfo`` a real one carries
  (``quota_limit`` ``ReadRequestsPerMinutePerProject``, ``quota_limit_value`` 60).
- ``logging-empty-pages``: ``entries:list`` answers a page with no entries and a
  ``nextPageToken`` that continues where the request was (logging.v2: "the search found no
  log entries so far but it did not have time to search all the possible log entries").
  With ``count`` N, N such pages, then the real ones; a ``logging-error`` set after it
  answers once these are used up (empty pages, then 429s).
- ``monitoring-error``: Cloud Monitoring ``timeSeries.list`` (gRPC and HTTP) answers
  ``status`` (default 500 INTERNAL).
- ``iam-denied`` / ``iam-not-found``: IAM Credentials ``generateIdToken`` /
  ``generateAccessToken`` answer as if the caller had lost
  ``roles/iam.serviceAccountTokenCreator`` on the account (403 PERMISSION_DENIED) / as if
  the account had been deleted (404 NOT_FOUND), with Google's replies
  (:func:`nbaops.local.iam_accounts.authorize`).

``service`` limits a fault to one service, ``method`` to one HTTP method (``GET``,
``PATCH``, ``POST``), ``count`` to that many hits (None: until cleared).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbaops.local.cloudrun_state import StandInApiError
from nbaops.local.state_files import damaged, locked, read_json, write_json_atomic

FAULTS_NAME = "standin-faults.json"
# past the Cloud Run client's 30 s per-request timeout (CloudRun(timeout_s=30.0)): a reply
# that came at exactly 30 s was still read, and the timeout fault PASSed after 60 s
TIMEOUT_DELAY_S = 45.0

# Each kind and the request family it applies to.
FAULT_SCOPE = {
    "http-4xx": "admin",
    "http-5xx": "admin",
    "timeout": "admin",
    "lro-fail": "lro",
    "slow-lro": "lro-slow",
    "health-5xx": "health",
    "health-timeout": "health",
    "logging-error": "logging",
    "logging-empty-pages": "logging",
    "monitoring-error": "monitoring",
    "iam-denied": "iam",
    "iam-not-found": "iam",
}
API_FAULT_KINDS = tuple(FAULT_SCOPE)

# Google's canonical status (google.rpc.Code) of each HTTP code a fault may answer.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# The kinds that answer an HTTP error status, and their default status.
DEFAULT_STATUS = {
    "http-4xx": 403,
    "http-5xx": 503,
    "health-5xx": 500,
    "logging-error": 500,
    "monitoring-error": 500,
}


# What Cloud Logging's read quota answers when used up (googleapis/nodejs-logging#91,
# snarfed/bridgy-fed#620 quote it).
READ_QUOTA_MESSAGE = (
    "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' "
    "of service 'logging.googleapis.com' for consumer 'project_number:0'. (injected fault "
    "logging-error)"
)
READ_QUOTA_INFO = {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    "reason": "RATE_LIMIT_EXCEEDED",
    "domain": "googleapis.com",
    "metadata": {
        "quota_limit": "ReadRequestsPerMinutePerProject",
        "quota_limit_value": "60",
        "quota_metric": "logging.googleapis.com/read_requests",
        "service": "logging.googleapis.com",
    },
}


def fault_error(fault: dict[str, Any]) -> StandInApiError:
    """The Google error JSON an injected HTTP-status fault answers."""
    status = int(fault.get("status") or 500)
    name = STATUS_NAMES.get(status, "UNKNOWN")
    if fault["kind"] == "logging-error" and status == 429:
        return StandInApiError(status, name, READ_QUOTA_MESSAGE, details=[READ_QUOTA_INFO])
    return StandInApiError(status, name, f"injected fault {fault['kind']}")


def faults_path(home: Path) -> Path:
    return home / FAULTS_NAME


def set_api_fault(
    home: Path,
    kind: str,
    *,
    service: str | None = None,
    method: str | None = None,
    count: int | None = None,
    status: int | None = None,
    delay_s: float = TIMEOUT_DELAY_S,
    polls: int = 3,
) -> dict[str, Any]:
    """Activate an API fault (see the module docstring); returns the stored record.

    Raises:
        ValueError: unknown kind, or a count below 1.
    """
    if kind not in API_FAULT_KINDS:
        raise ValueError(f"unknown API fault {kind!r}; known: {', '.join(API_FAULT_KINDS)}")
    if count is not None and count < 1:
        raise ValueError("count must be at least 1")
    record: dict[str, Any] = {
        "kind": kind,
        "service": service,
        "method": method.upper() if method else None,
        "remaining": count,
        "status": status or DEFAULT_STATUS.get(kind),
        "delay_s": delay_s,
        "polls": polls,
    }
    with locked(home):
        faults = active_api_faults(home)
        faults.append(record)
        write_json_atomic(faults_path(home), faults)
    return record


def clear_api_faults(home: Path) -> None:
    """Remove every API fault: the file itself, so a request's :func:`take_fault` takes no
    lock (an empty file left behind made every stand-in request wait for the sandbox lock,
    which a reset holds while it waits for the warehouse a running check holds open)."""
    with locked(home):
        faults_path(home).unlink(missing_ok=True)


def active_api_faults(home: Path) -> list[dict[str, Any]]:
    """The active API faults (DamagedStateError: the file is not a list of faults)."""
    path = faults_path(home)
    faults = read_json(path, [])
    if not isinstance(faults, list) or not all(
        isinstance(f, dict) and f.get("kind") in FAULT_SCOPE for f in faults
    ):
        raise damaged(path, "not a list of API faults, each with a known kind")
    return faults


def take_fault(
    home: Path, scope: str, *, service: str | None, method: str
) -> dict[str, Any] | None:
    """The first active fault matching this request (its count is consumed), or None."""
    if not faults_path(home).exists():
        return None
    with locked(home):
        faults = active_api_faults(home)
        for index, fault in enumerate(faults):
            if FAULT_SCOPE.get(fault["kind"]) != scope:
                continue
            if fault.get("service") and fault["service"] != service:
                continue
            if fault.get("method") and fault["method"] != method:
                continue
            if fault.get("remaining") is not None:
                fault["remaining"] -= 1
                if fault["remaining"] <= 0:
                    faults.pop(index)
                if faults:
                    write_json_atomic(faults_path(home), faults)
                else:  # the last one used up: no file, no lock for the next request
                    faults_path(home).unlink(missing_ok=True)
            return fault
    return None
