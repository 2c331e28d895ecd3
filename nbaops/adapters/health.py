"""Health prober: GET a revision's health endpoint and report status, latency and body.

Cloud Run services require an identity token, so the request carries
``Authorization: Bearer <ID token>`` whose audience is the service URL (also for a
revision-tag URL) or an explicit custom audience; :mod:`nbaops.adapters.idtoken` mints it
from whatever credential kind is in use. The local profile does exactly the same against
the stand-in: its ``*.a.run.app`` URLs are routed to 127.0.0.1 with the original ``Host``
header (``route``), and its invoker check refuses a probe without the right ID token.
A probe never raises: failures come back as a :class:`HealthResult` with ``error``.

A loopback target (the stand-in) is always connected to directly: an ``HTTP(S)_PROXY`` in
the environment would otherwise receive, and swallow, the request. Any other host keeps
the environment's proxies (a corporate proxy may be the only way to ``*.run.app``).
"""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from nbaops.adapters.idtoken import service_audience
from nbaops.adapters.stdlib_http import send

if TYPE_CHECKING:
    from nbaops.adapters.idtoken import TokenSource

Route = Callable[[str], tuple[str, "str | None"]]

BODY_LIMIT = 500
# What a request line carries as is: RFC 3986's reserved characters and "%" (an escape
# already written stays one), as requests' ``requote_uri`` keeps them; the rest of a URL
# (non-ASCII, spaces, control characters) is percent-encoded as UTF-8 (RFC 3987 3.1).
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"


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


class HealthProber:
    """Probe health URLs with an ID token from ``id_tokens`` (None: unauthenticated).

    Args:
        id_tokens: where ID tokens come from; None sends no token (a public service).
        route: maps a URL to (the URL to connect to, the ``Host`` header to send); the local
            profile routes ``*.a.run.app`` to the stand-in. None connects to the URL as is.
    """

    def __init__(self, id_tokens: TokenSource | None = None, *, route: Route | None = None):
        self.id_tokens = id_tokens
        self.route = route

    def probe(
        self, url: str, *, timeout_s: float = 5.0, audience: str | None = None
    ) -> HealthResult:
        """GET ``url``; ``ok`` means HTTP 2xx within ``timeout_s``.

        ``audience`` overrides the ID token's audience (a service's custom audience).
        """
        headers = {"User-Agent": "nbaops-health-probe", "Accept": "application/json"}
        started = time.monotonic()
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            # a service without a URL yet ("" + health_path): urllib raised ValueError
            return HealthResult(url, None, False, 0.0, "", f"not an http(s) URL: {url!r}")
        if self.id_tokens is not None:
            try:
                token = self.id_tokens.token(audience or service_audience(url))
                headers["Authorization"] = f"Bearer {token}"
            except Exception as exc:  # any auth failure is a failed probe, not a crash
                return HealthResult(
                    url,
                    None,
                    False,
                    time.monotonic() - started,
                    "",
                    f"cannot get an ID token: {exc}",
                )
        target = url
        if self.route is not None:
            target, host = self.route(url)
            if host:
                headers["Host"] = host
        # a health path the config accepts may hold what http.client cannot send: a
        # non-ASCII character raised UnicodeEncodeError out of the probe
        target = urllib.parse.quote(target, safe=_URI_SAFE)
        request = urllib.request.Request(target, headers=headers, method="GET")
        status: int | None = None
        body = ""
        error: str | None = None
        try:
            # stdlib_http: no proxy for loopback, the environment's proxies as they are now,
            # the body's first bytes by the deadline (a server dripping its body, a reply
            # that is not HTTP at all: an error, never an exception out of the probe)
            status, raw = send(request, timeout_s, limit=BODY_LIMIT * 4)
            body = raw.decode("utf-8", "replace")
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except TimeoutError:
            error = f"timed out after {timeout_s:g}s"
        except ConnectionError as exc:
            error = f"connection failed: {exc}"
        latency = time.monotonic() - started
        ok = status is not None and 200 <= status < 300
        return HealthResult(url, status, ok, latency, body[:BODY_LIMIT].strip(), error)
