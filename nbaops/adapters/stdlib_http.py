"""Standard-library HTTP for the adapters that need no Google client (GitHub, Slack, health
probes, the Cloud Logging stand-in), with one rule: a loopback call never goes through a proxy.

``urllib`` sends every request through ``HTTP(S)_PROXY`` from the environment unless
``NO_PROXY`` names the host, so a proxy set in a CI job or a shell would swallow the calls
to a server on 127.0.0.1 (the local stand-in, a test server). Real hosts keep the
environment's proxies: a corporate proxy may be the only way out to GitHub or Slack.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import os
import socket
import threading
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit


def is_loopback(host: str | None) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``)."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def no_proxy_for_loopback(endpoint: str | None) -> None:
    """When ``endpoint`` is on this machine (a stand-in, an emulator), add the loopback
    hosts to ``NO_PROXY``/``no_proxy``, which requests, urllib and gRPC all read: the
    official clients otherwise sent the local profile's calls to a proxy set in the shell
    or CI job (every Cloud Run check ERROR: ``ProxyError``)."""
    if not endpoint or not is_loopback(
        urlsplit(endpoint if "//" in endpoint else f"//{endpoint}").hostname
    ):
        return
    # one list under both spellings, from the one the libraries read first (lower case):
    # a new no_proxy beside the user's NO_PROXY would hide the user's hosts
    given = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    if given.strip() == "*":  # every host already bypasses every proxy
        return
    current = [h.strip() for h in given.split(",") if h.strip()]
    merged = ",".join([*current, *(h for h in LOOPBACK_HOSTS if h not in current)])
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = merged


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only within the request's origin (scheme, host, port).

    urllib follows a 3xx to any host and copies every header but the body's, the
    ``Authorization`` of a GitHub token included; a redirect elsewhere is returned as the
    3xx reply it is instead (GitHub's renamed-repository redirects stay on its API host).
    """

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        here, there = urlsplit(req.full_url), urlsplit(newurl)
        if (here.scheme, here.hostname, here.port) != (there.scheme, there.hostname, there.port):
            return None  # urllib then raises HTTPError(code): the caller sees the 3xx
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Deadline:
    """Shuts the request's connection down when ``timeout_s`` has passed: the socket
    timeout bounds each read, so a server (or proxy) sending its status line and headers
    a byte at a time held a request far past its timeout before any body was read. A
    connection made after that (name resolution and each address's connect are bounded
    only one by one) is shut as soon as it is made."""

    def __init__(self, timeout_s: float) -> None:
        self.passed = False
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(timeout_s, self._shut)
        self._timer.daemon = True

    def connection(self, base: type[http.client.HTTPConnection]) -> Any:
        """``base`` whose socket this deadline shuts down."""
        deadline = self

        class Connection(base):  # type: ignore[valid-type,misc]
            def connect(self) -> None:
                super().connect()
                deadline._sock = self.sock
                if deadline.passed:  # the timer found no socket to shut
                    deadline._shut()

        return Connection

    def _shut(self) -> None:
        self.passed = True
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        self._timer.join()  # no timer thread outlives the request (nor races the exit)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._connection = deadline.connection(http.client.HTTPConnection)

    def http_open(self, req: Any) -> Any:
        return self.do_open(self._connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._connection = deadline.connection(http.client.HTTPSConnection)

    def https_open(self, req: Any) -> Any:
        return self.do_open(self._connection, req)  # the default SSL context, as urllib


def opener_for(url: str, deadline: _Deadline | None = None) -> urllib.request.OpenerDirector:
    """An opener for ``url``: no proxy for a loopback host, the environment's otherwise;
    redirects followed within the same origin only; connections shut at ``deadline``."""
    direct = is_loopback(urlsplit(url).hostname)
    handlers: list[Any] = [_SameOriginRedirects()]
    if direct:
        handlers.append(urllib.request.ProxyHandler({}))
    if deadline is not None:
        handlers += [_HTTPHandler(deadline), _HTTPSHandler(deadline)]
    return urllib.request.build_opener(*handlers)


def _read_by(reply: Any, shut: _Deadline, timeout_s: float, limit: int | None = None) -> bytes:
    """The body, by the deadline ``shut`` keeps: the socket timeout bounds each read, not
    the whole body (a server dripping a byte every few seconds kept a request going for
    minutes). With ``limit``, its first ``limit`` bytes: the rest is never waited for."""
    chunks: list[bytes] = []
    size = 0
    while chunk := reply.read1(65536):
        chunks.append(chunk)
        size += len(chunk)
        if limit is not None and size >= limit:
            return b"".join(chunks)[:limit]
    if shut.passed:  # the end of the body may be the deadline's shutdown, not the server's:
        # a body without a Content-Length (read to the close) was returned cut short
        raise TimeoutError(f"the reply took longer than {timeout_s:g}s")
    if getattr(reply, "length", None):  # bytes of its Content-Length still missing
        raise http.client.IncompleteRead(b"".join(chunks), reply.length)
    return b"".join(chunks)


def send(
    request: urllib.request.Request, timeout_s: float, *, limit: int | None = None
) -> tuple[int, bytes]:
    """:func:`send_with_headers` without the headers."""
    status, body, _headers = send_with_headers(request, timeout_s, limit=limit)
    return status, body


def send_with_headers(
    request: urllib.request.Request, timeout_s: float, *, limit: int | None = None
) -> tuple[int, bytes, dict[str, str]]:
    """Send ``request`` (through :func:`opener_for`); the reply's status, body and headers
    (names lower-cased), an HTTP error status included. ``limit``: read at most that many
    bytes of the body.

    Raises:
        TimeoutError: no reply within ``timeout_s``.
        ConnectionError: the server cannot be reached (refused, reset, unknown host) or
            its reply is broken (cut short, no HTTP status line); the message is the
            reason only, never the URL.
    """
    with _Deadline(timeout_s) as shut:
        try:
            return _send(request, timeout_s, limit, shut)
        except (ConnectionError, TimeoutError):
            if shut.passed:  # the deadline shut the connection: that is the failure
                raise TimeoutError(f"the reply took longer than {timeout_s:g}s") from None
            raise


def _send(
    request: urllib.request.Request, timeout_s: float, limit: int | None, shut: _Deadline
) -> tuple[int, bytes, dict[str, str]]:
    try:
        with opener_for(request.full_url, shut).open(request, timeout=timeout_s) as reply:
            headers = {k.lower(): v for k, v in reply.headers.items()}
            return int(reply.status), _read_by(reply, shut, timeout_s, limit), headers
    except urllib.error.HTTPError as exc:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        # the error body is only decoration: by the same deadline, or dropped
        with contextlib.suppress(OSError, http.client.HTTPException, AttributeError):
            return int(exc.code), _read_by(exc, shut, timeout_s, limit), headers
        return int(exc.code), b"", headers
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise TimeoutError(str(exc.reason)) from None
        raise ConnectionError(str(exc.reason)) from None
    except TimeoutError:
        raise
    except OSError as exc:  # reset mid-reply, refused after connect
        raise ConnectionError(str(exc)) from None
    except http.client.HTTPException as exc:  # a reply cut short, a garbage status line
        raise ConnectionError(f"a broken HTTP reply ({type(exc).__name__})") from None
