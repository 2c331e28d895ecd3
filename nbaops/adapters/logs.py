"""Cloud Logging reader: Cloud Run log entries through ``google.cloud.logging`` over HTTP.

Local profile: anonymous credentials and the stand-in as ``api_endpoint``; prod:
Application Default Credentials. Every request is bounded by ``timeout_s`` (a requests
session that caps the client's 60 s default). :func:`build_filter` always writes the
time window into the filter: without a ``timestamp`` clause the client silently adds
"last 24 hours".
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

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


@dataclass(frozen=True)
class LogRecord:
    timestamp: dt.datetime
    severity: str
    service: str
    revision: str
    message: str

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["timestamp"] = self.timestamp.isoformat()
        return data


def _quote(value: str) -> str:
    return json.dumps(value)  # a double-quoted string with escapes, as the filter syntax wants


def _ts(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
    clauses = [f"resource.type = {_quote(RESOURCE_TYPE)}"]
    if service:
        clauses.append(f"resource.labels.service_name = {_quote(service)}")
    if revision:
        clauses.append(f"resource.labels.revision_name = {_quote(revision)}")
    if severity != "DEFAULT":
        clauses.append(f"severity >= {severity}")
    clauses.append(f'timestamp >= "{_ts(since)}"')
    if until is not None:
        clauses.append(f'timestamp <= "{_ts(until)}"')
    return " AND ".join(clauses)


def _message(payload: Any) -> str:
    if payload is None:
        return ""
    if isinstance(payload, str):
        text = payload
    elif isinstance(payload, dict):
        text = str(payload.get("message") or json.dumps(payload, sort_keys=True, default=str))
    else:
        text = str(payload)
    return text[:MESSAGE_LIMIT]


class LogReader:
    """Read log entries for one project.

    Args:
        profile: the project comes from here.
        endpoint: ``http://127.0.0.1:PORT`` for the stand-in; None for the real API.
        timeout_s: per-request timeout.
    """

    def __init__(
        self, profile: ProfileConfig, endpoint: str | None = None, *, timeout_s: float = 30.0
    ) -> None:
        self.project = profile.project
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._client: Any = None

    def _session(self) -> Any:
        """A requests session whose every call is capped at ``timeout_s``."""
        import requests

        timeout = self.timeout_s
        if self.endpoint:
            base: type[Any] = requests.Session
            args: tuple[Any, ...] = ()
        else:
            import google.auth
            from google.auth.transport.requests import AuthorizedSession

            credentials, _ = google.auth.default(
                scopes=["https://www.googleapis.com/auth/logging.read"]
            )
            base = AuthorizedSession
            args = (credentials,)

        class BoundedSession(base):  # type: ignore[misc]
            def request(self, method: str, url: str, *a: Any, **kw: Any) -> Any:
                kw["timeout"] = min(float(kw.get("timeout") or timeout), timeout)
                return super().request(method, url, *a, **kw)

        return BoundedSession(*args)

    @property
    def client(self) -> Any:
        if self._client is None:
            from google.cloud import logging as gcl

            kwargs: dict[str, Any] = {"project": self.project, "_use_grpc": False}
            if self.endpoint:
                from google.auth.credentials import AnonymousCredentials

                kwargs["credentials"] = AnonymousCredentials()  # type: ignore[no-untyped-call]
                kwargs["client_options"] = {"api_endpoint": self.endpoint}
            self._client = self._guard(
                lambda: gcl.Client(_http=self._session(), **kwargs)  # type: ignore[no-untyped-call]
            )
        return self._client

    def _guard(self, call: Any) -> Any:
        import requests
        from google.api_core import exceptions as gexc
        from google.auth import exceptions as auth_exc

        try:
            return call()
        except gexc.GoogleAPICallError as exc:
            from nbaops.adapters.errors import api_error_text

            raise LoggingError(
                f"Cloud Logging entries:list: HTTP {getattr(exc, 'code', '?')}: "
                f"{api_error_text(exc)}"
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise LoggingError(
                f"Cloud Logging entries:list timed out after {self.timeout_s:g}s"
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise LoggingError(
                f"Cloud Logging: cannot reach the API: {type(exc).__name__}"
            ) from exc
        except auth_exc.GoogleAuthError as exc:
            raise LoggingError(
                f"Cloud Logging: no usable credentials ({type(exc).__name__}); run "
                "`gcloud auth application-default login`"
            ) from exc

    def entries(self, filter_: str, *, max_entries: int = 1000) -> list[LogRecord]:
        """Entries matching ``filter_``, newest first, at most ``max_entries``.

        Raises:
            LoggingError: API error, timeout or missing credentials.
        """
        from google.cloud import logging as gcl

        def call() -> list[LogRecord]:
            iterator = self.client.list_entries(
                resource_names=[f"projects/{self.project}"],
                filter_=filter_,
                order_by=gcl.DESCENDING,
                max_results=max_entries,
                page_size=min(max_entries, 1000),
            )
            out = []
            for entry in iterator:
                labels = dict(getattr(entry.resource, "labels", None) or {})
                timestamp = entry.timestamp or dt.datetime.fromtimestamp(0, dt.UTC)
                if timestamp.tzinfo is None:
                    timestamp = timestamp.replace(tzinfo=dt.UTC)
                out.append(
                    LogRecord(
                        timestamp=timestamp,
                        severity=str(entry.severity or "DEFAULT"),
                        service=str(labels.get("service_name", "")),
                        revision=str(labels.get("revision_name", "")),
                        message=_message(entry.payload),
                    )
                )
            return out

        result: list[LogRecord] = self._guard(call)
        return result
