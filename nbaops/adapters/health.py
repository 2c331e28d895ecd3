"""Health prober: GET a revision's health endpoint and report status, latency and body.

Local profile: a plain HTTP GET to the stand-in. Prod: Cloud Run services require an
identity token, so the request carries ``Authorization: Bearer <ID token>`` whose audience
is the service URL (``google.oauth2.id_token.fetch_id_token``, imported lazily).
A probe never raises: failures come back as a :class:`HealthResult` with ``error``.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

BODY_LIMIT = 500


@dataclass(frozen=True)
class HealthResult:
    url: str
    status: int | None
    ok: bool
    latency_s: float
    body: str
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _audience(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class HealthProber:
    """Probe health URLs; ``authenticated`` adds a Cloud Run ID token (prod)."""

    def __init__(self, authenticated: bool) -> None:
        self.authenticated = authenticated
        self._tokens: dict[str, str] = {}

    def _token(self, url: str) -> str:
        audience = _audience(url)
        if audience not in self._tokens:
            import google.auth.transport.requests
            from google.oauth2 import id_token

            request = google.auth.transport.requests.Request()
            self._tokens[audience] = id_token.fetch_id_token(  # type: ignore[no-untyped-call]
                request, audience
            )
        return self._tokens[audience]

    def probe(self, url: str, *, timeout_s: float = 5.0) -> HealthResult:
        """GET ``url``; ``ok`` means HTTP 2xx within ``timeout_s``."""
        headers = {"User-Agent": "nbaops-health-probe", "Accept": "application/json"}
        started = time.monotonic()
        if self.authenticated:
            try:
                headers["Authorization"] = f"Bearer {self._token(url)}"
            except Exception as exc:  # any auth failure is a failed probe, not a crash
                return HealthResult(
                    url,
                    None,
                    False,
                    time.monotonic() - started,
                    "",
                    f"cannot get an ID token: {type(exc).__name__}",
                )
        request = urllib.request.Request(url, headers=headers, method="GET")
        status: int | None = None
        body = ""
        error: str | None = None
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                status = int(response.status)
                body = response.read(BODY_LIMIT * 4).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
            body = exc.read(BODY_LIMIT * 4).decode("utf-8", "replace")
            error = f"HTTP {exc.code}"
        except TimeoutError:
            error = f"timed out after {timeout_s:g}s"
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                error = f"timed out after {timeout_s:g}s"
            else:
                error = f"cannot connect: {reason}"
        except OSError as exc:
            error = f"connection failed: {type(exc).__name__}: {exc}"
        latency = time.monotonic() - started
        ok = status is not None and 200 <= status < 300
        return HealthResult(url, status, ok, latency, body[:BODY_LIMIT].strip(), error)
