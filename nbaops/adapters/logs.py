"""Cloud Logging reader: Cloud Run log entries through the REST ``entries.list`` method.

nbaops only *lists* entries, so it calls ``POST {endpoint}/v2/entries:list`` itself
(https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list: body
``resourceNames``, ``filter``, ``orderBy``, ``pageSize``, ``pageToken``; reply ``entries``,
``nextPageToken``) instead of importing ``google.cloud.logging``, whose package import
pulls in its logging handlers and the App Engine log types (~0.7 s of every health run).

Prod: Application Default Credentials through ``google.auth``'s ``AuthorizedSession``
(scope ``logging.read``). Local profile: the stand-in as endpoint, anonymous, through the
standard library's HTTP client (no ``requests`` import); everything but the transport
(request body, paging, reply parsing, error mapping) is the same code. :func:`build_filter`
always writes the time window into the filter: without a ``timestamp`` clause the API
applies "last 24 hours".

A read is bounded (:meth:`LogReader.entries`): at most :data:`MAX_PAGES` requests and the
call's ``timeout_s``, pages and pauses included. The API may answer a page with no entries
and a ``nextPageToken`` ("the search found no log entries so far but it did not have time
to search all the possible log entries. Retry the method with this value for page_token",
logging.v2 ``ListLogEntriesResponse.nextPageToken``); the reader pauses before it asks
again, and a read that stops at a bound with pages left says so (:attr:`LogEntries.partial`)
instead of passing for complete. Every ``entries.list`` request counts against the
project's read quota (``ReadRequestsPerMinutePerProject``, 60 a minute by default, shared
by everything that reads the project's logs): an HTTP 429 is retried once after a backoff,
then is one line naming that quota. An HTTP 500, 503 or 504 is asked again up to twice
(what google-cloud-logging's default retry of ListLogEntries covers: INTERNAL, UNAVAILABLE,
DEADLINE_EXCEEDED), within the same budget.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
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
# Most entries.list requests one read makes: each counts against the project's read quota
# (60 a minute by default, shared), and error_logs runs once per service. Five full pages are 5000
# entries, 500 times the check's default FAIL threshold.
MAX_PAGES = 5
# Pause before asking again after a page with no entries and a token (the API did not
# finish its search): the question is the same, only the API's time is more.
EMPTY_PAGE_PAUSE_S = 1.0
# Wait before the one retry of an HTTP 429 (the read quota is counted per minute).
QUOTA_BACKOFF_S = 10.0
# HTTP 500, 503, 504 (INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED): what google-cloud-logging
# retries for ListLogEntries by default; asked again at most this many times, after a pause
# that starts here and doubles, within the read's budget.
TRANSIENT_STATUSES = (500, 503, 504)
TRANSIENT_RETRIES = 2
TRANSIENT_BACKOFF_S = 1.0
# Every wait against a local endpoint (the stand-in has no quota and no slow search).
LOCAL_WAIT_S = 0.01
READ_QUOTA = "ReadRequestsPerMinutePerProject"


@dataclass(frozen=True)
class LogRecord:
    timestamp: dt.datetime
    severity: str
    service: str
    revision: str
    message: str


class LogEntries(list[LogRecord]):
    """The entries one read returned, newest first (a list), and whether it is complete.

    ``partial`` is None when the read saw the API's last page (or ``max_entries``); else why
    it stopped with the search unfinished (the request cap or the time budget): more
    matching entries may exist than these.
    """

    def __init__(self, records: Iterable[LogRecord] = (), partial: str | None = None) -> None:
        super().__init__(records)
        self.partial = partial


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


def _error_object(body: bytes) -> dict[str, Any]:
    """The ``error`` object of a Google error reply ({} when the body holds none)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return {}
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}


def _error_text(status: int, body: bytes) -> str:
    """The ``error.message`` of a Google error reply, else the start of the body."""
    message = _error_object(body).get("message")
    if message:
        return str(message)
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

    @cached_property
    def session(self) -> Any:
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
        return AuthorizedSession(credentials)  # type: ignore[no-untyped-call]

    def __call__(self, url: str, body: dict[str, Any], timeout_s: float) -> tuple[int, bytes]:
        import requests
        from google.auth import exceptions as auth_exc

        session = self.session
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
        timeout_s: what one :meth:`entries` call may take when its caller gives no
            ``timeout_s`` (every request is bounded by what is left of it).
        transport: ``"stdlib"`` (anonymous, the default with an endpoint), ``"session"``
            (``AuthorizedSession``, the default without one; anonymous with an endpoint),
            or a :data:`Transport` (tests: a fake reply sequence).
        sleep, monotonic: the read's clock (tests inject a fake pair and never wait).

    ``pause_s`` (after a page with no entries and a token), ``quota_backoff_s`` (before
    a 429's retry) and ``transient_backoff_s`` (before a 5xx's first retry) are
    :data:`EMPTY_PAGE_PAUSE_S`, :data:`QUOTA_BACKOFF_S` and :data:`TRANSIENT_BACKOFF_S`
    against Google, :data:`LOCAL_WAIT_S` against an endpoint.
    """

    def __init__(
        self,
        profile: ProfileConfig,
        endpoint: str | None = None,
        *,
        timeout_s: float = 30.0,
        transport: str | Transport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.project = profile.project
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._monotonic = monotonic
        self.pause_s = LOCAL_WAIT_S if endpoint else EMPTY_PAGE_PAUSE_S
        self.quota_backoff_s = LOCAL_WAIT_S if endpoint else QUOTA_BACKOFF_S
        self.transient_backoff_s = LOCAL_WAIT_S if endpoint else TRANSIENT_BACKOFF_S
        kind = transport or ("stdlib" if endpoint else "session")
        no_proxy_for_loopback(endpoint)  # the session transport reads the proxy variables
        self._post: Transport
        if callable(kind):
            self._post = kind
        elif kind == "stdlib":
            self._post = _stdlib_post
        elif kind == "session":
            self._post = _SessionTransport(anonymous=bool(endpoint))
        else:
            raise ValueError(f"unknown transport {kind!r}")

    @property
    def url(self) -> str:
        return f"{(self.endpoint or API_ENDPOINT).rstrip('/')}/v2/entries:list"

    def _page(self, body: dict[str, Any], timeout_s: float, *, cut: bool) -> dict[str, Any]:
        """One ``entries:list`` request within ``timeout_s`` (``cut``: shortened to what is
        left of the read's budget, so its timeout ends the read as partial, not in an
        error)."""
        try:
            status, raw = self._post(self.url, body, timeout_s)
        except TimeoutError as exc:
            if cut:
                raise _OutOfTime from exc
            raise unreachable(LoggingError)(
                f"Cloud Logging entries:list timed out after {timeout_s:g}s"
            ) from exc
        except ConnectionError as exc:
            raise unreachable(LoggingError)(f"Cloud Logging: cannot reach the API: {exc}") from exc
        if status == 429:
            raise _QuotaExhausted(raw)
        if status in TRANSIENT_STATUSES:
            raise _Transient(
                f"Cloud Logging entries:list: HTTP {status}: {_error_text(status, raw)}"
            )
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

    def _read_page(self, body: dict[str, Any], deadline: float, *, more: bool) -> dict[str, Any]:
        """One page by ``deadline``; an HTTP 429 is asked again once, after the backoff,
        and a 500/503/504 up to :data:`TRANSIENT_RETRIES` times, after pauses from
        ``transient_backoff_s`` doubling, when the budget leaves time for them. ``more``:
        pages were read already (a request cut short by the budget then ends the read as
        partial; the first one's timeout is an error: nothing was read).

        Raises:
            _OutOfTime: the budget is spent (before, or with ``more`` during, the request).
            LoggingError: as :meth:`_page`; a second 429 (or one with no time to retry) is
                :func:`quota_message`; a 5xx still answered after its retries says how
                many times it was asked.
        """
        retried = False
        transient = 0  # 5xx answers so far
        while True:
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                raise _OutOfTime
            limit = min(self.timeout_s, remaining)
            try:
                return self._page(body, limit, cut=more and limit < self.timeout_s)
            except _QuotaExhausted as exc:
                if retried or deadline - self._monotonic() <= self.quota_backoff_s:
                    wait = self.quota_backoff_s if retried else None
                    raise LoggingError(quota_message(exc.raw, wait)) from None
                self._sleep(self.quota_backoff_s)
                retried = True
            except _Transient as exc:
                pause = self.transient_backoff_s * 2**transient
                if transient >= TRANSIENT_RETRIES or deadline - self._monotonic() <= pause:
                    asked = f" (asked {transient + 1} times)" if transient else ""
                    raise LoggingError(f"{exc}{asked}") from None
                self._sleep(pause)
                transient += 1

    def entries(
        self, filter_: str, *, max_entries: int = 1000, timeout_s: float | None = None
    ) -> LogEntries:
        """Entries matching ``filter_``, newest first, at most ``max_entries``.

        At most :data:`MAX_PAGES` requests within ``timeout_s`` (default: the reader's),
        every request, pause and retry included; a page with no entries and a token is
        asked again after a pause. Stopped by either bound with pages left, the result's
        ``partial`` says so: it holds what was read, never passes for complete.

        Raises:
            LoggingError: API error (a 429 after its retry, a 500/503/504 after its
                retries), a request that timed out on its own, unreachable endpoint or
                missing credentials.
        """
        budget = self.timeout_s if timeout_s is None else timeout_s
        deadline = self._monotonic() + budget
        out: list[LogRecord] = []
        token: str | None = None
        pages = empty = 0
        while len(out) < max_entries:
            if pages >= MAX_PAGES:
                why = f"after {pages} entries:list requests"
                return LogEntries(out, partial=_unfinished(why, empty))
            body: dict[str, Any] = {
                "resourceNames": [f"projects/{self.project}"],
                "filter": filter_,
                "orderBy": "timestamp desc",
                "pageSize": min(max_entries - len(out), PAGE_LIMIT),
            }
            if token:
                body["pageToken"] = token
            try:
                reply = self._read_page(body, deadline, more=pages > 0)
            except _OutOfTime:
                why = f"within {budget:g}s ({pages} entries:list requests)"
                return LogEntries(out, partial=_unfinished(why, empty))
            pages += 1
            try:
                records = [to_record(e) for e in reply.get("entries") or []]
            except (ValueError, TypeError, AttributeError) as exc:
                raise LoggingError(f"Cloud Logging entries:list: unreadable entry: {exc}") from exc
            out.extend(records)
            token = reply.get("nextPageToken") or None
            if not token:
                break
            if not records:  # "did not have time to search all the possible log entries"
                empty += 1
                pause = min(self.pause_s, deadline - self._monotonic())
                if pause > 0 and pages < MAX_PAGES:
                    self._sleep(pause)
        return LogEntries(out[:max_entries])


class _OutOfTime(Exception):
    """The read's time budget is spent."""


class _Transient(Exception):
    """HTTP 500/503/504 from entries:list (the one-line message)."""


class _QuotaExhausted(Exception):
    """HTTP 429 from entries:list (its raw error body)."""

    def __init__(self, raw: bytes) -> None:
        super().__init__("HTTP 429")
        self.raw = raw


def _unfinished(why: str, empty: int) -> str:
    blank = f", {empty} of them answered no entries yet" if empty else ""
    return f"Cloud Logging had not searched every entry {why}{blank}"


def _quota_info(raw: bytes) -> tuple[str, str | None]:
    """The quota a 429 names (its ``google.rpc.ErrorInfo`` ``quota_limit`` and
    ``quota_limit_value``), else the read quota entries.list counts against."""
    details = _error_object(raw).get("details")
    for detail in details if isinstance(details, list) else []:
        metadata = detail.get("metadata") if isinstance(detail, dict) else None
        if isinstance(metadata, dict) and metadata.get("quota_limit"):
            value = metadata.get("quota_limit_value")
            return str(metadata["quota_limit"]), str(value) if value else None
    return READ_QUOTA, None


def quota_message(raw: bytes, retried_after_s: float | None) -> str:
    """The one line for an entries:list HTTP 429: the quota, and whether it was retried."""
    limit, value = _quota_info(raw)
    rate = f"{value} a minute, " if value else ""
    retry = (
        f"retried once after {retried_after_s:g}s"
        if retried_after_s is not None
        else "no time left to retry"
    )
    return (
        f"Cloud Logging entries:list: HTTP 429 RESOURCE_EXHAUSTED, {retry}: the project's log "
        f"read quota {limit} ({rate}shared by everything that reads this project's logs) is "
        "used up; wait a minute and run again"
    )
