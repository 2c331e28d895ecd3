"""Cloud Logging reader: Cloud Run log entries through the REST ``entries.list`` method.

nbaops only *lists* entries, so it calls ``POST {endpoint}/v2/entries:list`` itself
(https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list: body
``resourceNames``, ``filter``, ``orderBy``, ``pageSize``, ``pageToken``; reply ``entries``,
``nextPageToken``) instead of importing ``google.cloud.logging``, whose package import
pulls in its logging handlers and the App Engine log types (~0.7 s of every health run).

Prod: Application Default Credentials through ``google.auth``'s ``AuthorizedSession``
(scope ``logging.read``). Local profile: the stand-in as endpoint, anonymous, through the
standard library's HTTP client (no ``requests`` import); everything but the transport
(request body, paging, reply parsing, error mapping) is the same code. Every request is
bounded by ``timeout_s``. :func:`build_filter` always writes the time window into the
filter: without a ``timestamp`` clause the API applies "last 24 hours".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbaops.adapters.credentials import UNREADABLE_CREDENTIALS, anonymous_credentials
from nbaops.adapters.errors import auth_error, unreachable
from nbaops.adapters.stdlib_http import no_proxy_for_loopback
from nbaops.clock import as_utc, rfc3339
from nbaops.errors import LoggingError

if TYPE_CHECKING:
    from nbaops.config import ProfileConfig

SEVERITIES = (
    "DEFAULT",
    "DEBUG",
    "INFO",
    "NOTICE",
    "WARNING",
    "ERROR",
    "CRITICAL",
    "ALERT",
    "EMERGENCY",
)
RESOURCE_TYPE = "cloud_run_revision"
MESSAGE_LIMIT = 2000
API_ENDPOINT = "https://logging.googleapis.com"
READ_SCOPE = "https://www.googleapis.com/auth/logging.read"
PAGE_LIMIT = 1000  # entries.list rejects a pageSize above 1000


@dataclass(frozen=True)
class LogRecord:
    timestamp: dt.datetime
    severity: str
    service: str
    revision: str
    message: str


def _quote(value: str) -> str:
    return json.dumps(value)  # a double-quoted string with escapes, as the filter syntax wants


def cloud_run_clauses(service: str | None = None, revision: str | None = None) -> list[str]:
    """The clauses selecting Cloud Run revisions (of a service, one revision): the same in
    Cloud Logging and Cloud Monitoring filters."""
    clauses = [f"resource.type = {_quote(RESOURCE_TYPE)}"]
    if service:
        clauses.append(f"resource.labels.service_name = {_quote(service)}")
    if revision:
        clauses.append(f"resource.labels.revision_name = {_quote(revision)}")
    return clauses


def build_filter(
    *,
    since: dt.datetime,
    until: dt.datetime | None = None,
    service: str | None = None,
    revision: str | None = None,
    min_severity: str = "ERROR",
) -> str:
    """A Cloud Logging filter for Cloud Run entries in ``[since, until]``.

    Raises:
        ValueError: unknown severity.
    """
    severity = min_severity.upper()
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {min_severity!r}; use one of {', '.join(SEVERITIES)}")
    clauses = cloud_run_clauses(service, revision)
    if severity != "DEFAULT":
        clauses.append(f"severity >= {severity}")
    clauses.append(f'timestamp >= "{rfc3339(since)}"')
    if until is not None:
        clauses.append(f'timestamp <= "{rfc3339(until)}"')
    return " AND ".join(clauses)


def parse_timestamp(text: str | None) -> dt.datetime:
    """An RFC 3339 ``LogEntry.timestamp`` as a UTC datetime (the API sends up to 9 fraction
    digits; Python 3.11's ``fromisoformat`` keeps the first 6)."""
    if not text:
        return dt.datetime.fromtimestamp(0, dt.UTC)
    try:
        return as_utc(text)
    except ValueError:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}") from None


def _entry_message(entry: dict[str, Any]) -> str:
    """The entry's text, or its JSON payload's ``message`` (else the whole payload as JSON)."""
    keys = ("textPayload", "jsonPayload", "protoPayload")
    payload = next((entry[k] for k in keys if k in entry), None)
    if isinstance(payload, dict):
        payload = payload.get("message") or json.dumps(payload, sort_keys=True, default=str)
    return "" if payload is None else str(payload)[:MESSAGE_LIMIT]


def to_record(entry: dict[str, Any]) -> LogRecord:
    """One REST ``LogEntry`` as a :class:`LogRecord`."""
    labels = dict((entry.get("resource") or {}).get("labels") or {})
    return LogRecord(
        timestamp=parse_timestamp(entry.get("timestamp")),
        severity=str(entry.get("severity") or "DEFAULT"),
        service=str(labels.get("service_name", "")),
        revision=str(labels.get("revision_name", "")),
        message=_entry_message(entry),
    )


def _error_text(status: int, body: bytes) -> str:
    """The ``error.message`` of a Google error reply, else the start of the body."""
    try:
        payload = json.loads(body)
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            message = payload["error"].get("message")
            if message:
                return str(message)
    except ValueError:
        pass
    text = body.decode("utf-8", "replace").strip()
    return text.splitlines()[0][:200] if text else f"HTTP {status}"


# A transport POSTs a JSON body and returns the reply's status and raw body; it raises
# TimeoutError (no reply in time), ConnectionError (unreachable) or LoggingError (no
# usable credentials).
Transport = Callable[[str, dict[str, Any], float], tuple[int, bytes]]


def _stdlib_post(url: str, body: dict[str, Any], timeout_s: float) -> tuple[int, bytes]:
    """Anonymous HTTP(S) with the standard library (the stand-in: no credentials)."""
    import urllib.request

    from nbaops.adapters.stdlib_http import send

    data = json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    return send(urllib.request.Request(url, data, headers, method="POST"), timeout_s)


class _SessionTransport:
    """``google.auth``'s ``AuthorizedSession`` (requests): ADC, or anonymous for tests."""

    def __init__(self, anonymous: bool = False) -> None:
        self.anonymous = anonymous
        self._session: Any = None

    def _get(self) -> Any:
        if self._session is None:
            import google.auth
            from google.auth import exceptions as auth_exc
            from google.auth.transport.requests import AuthorizedSession

            try:
                if self.anonymous:
                    credentials: Any = anonymous_credentials()
                else:
                    credentials, _ = google.auth.default(scopes=[READ_SCOPE])
            except (auth_exc.GoogleAuthError, *UNREADABLE_CREDENTIALS) as exc:
                raise auth_error("Cloud Logging", exc, LoggingError, LoggingError) from exc
            self._session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
        return self._session

    def __call__(self, url: str, body: dict[str, Any], timeout_s: float) -> tuple[int, bytes]:
        import requests
        from google.auth import exceptions as auth_exc

        session = self._get()
        try:
            reply = session.post(url, json=body, timeout=timeout_s)
        except requests.exceptions.Timeout as exc:
            raise TimeoutError(str(exc)) from exc
        except requests.exceptions.RequestException as exc:
            raise ConnectionError(type(exc).__name__) from exc
        except auth_exc.GoogleAuthError as exc:  # token refresh failed
            raise auth_error("Cloud Logging", exc, LoggingError, LoggingError) from exc
        return int(reply.status_code), bytes(reply.content)


class LogReader:
    """Read log entries for one project.

    Args:
        profile: the project comes from here.
        endpoint: ``http://127.0.0.1:PORT`` for the stand-in; None for the real API.
        timeout_s: per-request timeout.
        transport: ``"stdlib"`` (anonymous, the default with an endpoint) or ``"session"``
            (``AuthorizedSession``, the default without one; anonymous with an endpoint).
    """

    def __init__(
        self,
        profile: ProfileConfig,
        endpoint: str | None = None,
        *,
        timeout_s: float = 30.0,
        transport: str | None = None,
    ) -> None:
        self.project = profile.project
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        kind = transport or ("stdlib" if endpoint else "session")
        if kind not in ("stdlib", "session"):
            raise ValueError(f"unknown transport {kind!r}")
        no_proxy_for_loopback(endpoint)  # the session transport reads the proxy variables
        self._post: Transport = (
            _stdlib_post if kind == "stdlib" else _SessionTransport(anonymous=bool(endpoint))
        )

    @property
    def url(self) -> str:
        return f"{(self.endpoint or API_ENDPOINT).rstrip('/')}/v2/entries:list"

    def _page(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            status, raw = self._post(self.url, body, self.timeout_s)
        except TimeoutError as exc:
            raise unreachable(LoggingError)(
                f"Cloud Logging entries:list timed out after {self.timeout_s:g}s"
            ) from exc
        except ConnectionError as exc:
            raise unreachable(LoggingError)(f"Cloud Logging: cannot reach the API: {exc}") from exc
        if status >= 400:
            raise LoggingError(
                f"Cloud Logging entries:list: HTTP {status}: {_error_text(status, raw)}"
            )
        try:
            reply = json.loads(raw or b"{}")
        except ValueError as exc:
            raise LoggingError(f"Cloud Logging entries:list: reply is not JSON: {exc}") from exc
        if not isinstance(reply, dict):
            raise LoggingError("Cloud Logging entries:list: reply is not a JSON object")
        return reply

    def entries(self, filter_: str, *, max_entries: int = 1000) -> list[LogRecord]:
        """Entries matching ``filter_``, newest first, at most ``max_entries``.

        Raises:
            LoggingError: API error, timeout, unreachable endpoint or missing credentials.
        """
        out: list[LogRecord] = []
        token: str | None = None
        while len(out) < max_entries:
            body: dict[str, Any] = {
                "resourceNames": [f"projects/{self.project}"],
                "filter": filter_,
                "orderBy": "timestamp desc",
                "pageSize": min(max_entries - len(out), PAGE_LIMIT),
            }
            if token:
                body["pageToken"] = token
            reply = self._page(body)
            try:
                out.extend(to_record(e) for e in reply.get("entries") or [])
            except (ValueError, TypeError, AttributeError) as exc:
                raise LoggingError(f"Cloud Logging entries:list: unreadable entry: {exc}") from exc
            token = reply.get("nextPageToken") or None
            if not token:
                break
        return out[:max_entries]
