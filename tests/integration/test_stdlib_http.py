"""nbaops.adapters.stdlib_http: a proxy in the environment never swallows a call to 127.0.0.1,
and every request is bounded as a whole.

Every stdlib HTTP adapter (GitHub, Slack, the Cloud Logging stand-in transport) opens its
requests through :func:`opener_for`; with ``HTTP_PROXY``/``HTTPS_PROXY`` pointing at a dead
port, each still reaches a server on 127.0.0.1, while a real host keeps the proxy. A reply
read a byte at a time (the socket timeout bounds each read, not the body) still ends at the
request's timeout, an error reply too.
"""

from __future__ import annotations

import datetime as dt
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from worlds.http_fake import FakeServer, Request, dripping_server

from nbaops.adapters import slack
from nbaops.adapters.github import GitHubClient, GitHubSettings
from nbaops.adapters.logs import LogReader
from nbaops.adapters.stdlib_http import is_loopback, opener_for, send
from nbaops.config import ProfileConfig

DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens there


def route(request: Request) -> tuple[int, object]:
    if request.path == "/v2/entries:list":
        return 200, {"entries": [{"timestamp": "2026-11-25T14:00:00Z", "textPayload": "boom"}]}
    if request.path == "/hook":
        return 200, b"ok"
    return 200, {"path": request.path}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, DEAD_PROXY)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with FakeServer(route) as fake:
        yield fake


def test_the_default_opener_would_send_loopback_calls_to_the_dead_proxy(
    server: FakeServer,
) -> None:
    # a fresh opener, as urlopen's global one would keep the dead proxy for later tests
    with pytest.raises(urllib.error.URLError):
        urllib.request.build_opener().open(f"{server.url}/plain", timeout=5)


def test_github_reaches_a_loopback_api_past_the_proxy(server: FakeServer) -> None:
    client = GitHubClient(GitHubSettings("octo/repo", server.url, "t0ken-value-123"))
    assert client.request("GET", "/repos/octo/repo") == {"path": "/repos/octo/repo"}


def test_slack_reaches_a_loopback_webhook_past_the_proxy(server: FakeServer) -> None:
    slack.post(f"{server.url}/hook", {"text": "hi"}, scrub=lambda text: text)


def test_log_reader_reaches_the_loopback_stand_in_past_the_proxy(server: FakeServer) -> None:
    profile = ProfileConfig(name="local", kind="local", project="p", region="r")
    reader = LogReader(profile, server.url, timeout_s=5)
    since = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    assert [r.message for r in reader.entries(f'timestamp >= "{since.isoformat()}"')] == ["boom"]


def test_a_real_host_keeps_the_environment_proxy(server: FakeServer) -> None:
    handlers = opener_for("https://api.github.com/repos").handlers
    proxies = [h.proxies for h in handlers if isinstance(h, urllib.request.ProxyHandler)]
    assert proxies and proxies[0]["https"] == DEAD_PROXY


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("api.github.com", False),
        ("10.0.0.1", False),
        ("", False),
        (None, False),
    ],
)
def test_loopback_hosts(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("status", ["200 OK", "502 Bad Gateway"])
def test_a_reply_dripping_a_byte_at_a_time_is_bounded_by_the_timeout(status: str) -> None:
    """The socket timeout bounds each read: a server sending one byte every half second
    never trips it, and a request took ~48 s with a 20 s timeout. An error reply (a proxy's
    slow error page) too: its body is decoration, dropped at the deadline."""
    head = f"HTTP/1.1 {status}\r\nContent-Length: 40\r\n\r\n".encode()
    with dripping_server(head, b"x" * 40, drip_s=0.5) as url:
        request = urllib.request.Request(f"{url}/x")
        started = time.monotonic()
        if status.startswith("200"):
            with pytest.raises(TimeoutError, match="longer than 2s"):
                send(request, timeout_s=2)
        else:
            assert send(request, timeout_s=2) == (502, b"")
        assert time.monotonic() - started < 10  # 40 bytes would take 20 s


def test_a_status_line_and_headers_dripping_are_bounded_by_the_timeout() -> None:
    """The deadline bounded only the body: a server (or proxy) sending its status line and
    headers a byte every 0.2 s held a 1 s request ~8 s, the socket timeout bounding each
    read. The connection is now shut at the deadline, and that is a TimeoutError."""
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Slow: " + b"y" * 20 + b"\r\n\r\nok"
    with dripping_server(b"", reply, drip_s=0.2) as url:
        request = urllib.request.Request(f"{url}/x")
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="longer than 1s"):
            send(request, timeout_s=1)
        assert time.monotonic() - started < 3  # the head alone takes ~12 s


def test_a_redirect_to_another_host_is_refused_and_the_token_stays_home() -> None:
    """urllib follows a 302 to any host and copies the Authorization header: a GitHub (or
    proxy) redirect sent the token to another server. A redirect on the same origin (a
    renamed repository) is still followed."""
    seen: list[tuple[str, str | None]] = []

    def other(request: Request) -> tuple[int, object]:
        seen.append((request.path, request.headers.get("Authorization")))
        return 200, {"stolen": True}

    with FakeServer(other) as elsewhere:
        away = elsewhere.url  # another origin (port): another host as far as a token goes

        def home(request: Request) -> tuple[int, object, dict[str, str]]:
            if request.path == "/moved-here":
                return 200, {"path": request.path}, {}
            if request.path == "/same-host":
                return 302, {}, {"Location": "/moved-here"}
            return 302, {}, {"Location": f"{away}/grab"}

        with FakeServer(home) as server:
            client = GitHubClient(GitHubSettings("octo/repo", server.url, "t0ken-value-123"))
            assert client.request("GET", "/same-host") == {"path": "/moved-here"}
            with pytest.raises(Exception, match="302"):
                client.request("GET", "/repos/octo/repo/issues")
    assert seen == [], "the request (and its token) went to another host"


def test_a_github_api_that_refuses_the_connection_is_typed_unreachable() -> None:
    """The preflight points at the network for it; GitHub's 'failed: [Errno 111]
    Connection refused' matched none of the words the doctor looked for."""

    from nbaops.adapters.errors import UnreachableError
    from nbaops.adapters.github import GitHubError

    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = GitHubClient(GitHubSettings("octo/repo", f"http://127.0.0.1:{port}", "t0ken-v4lue"))
    with pytest.raises(GitHubError) as raised:
        client.request("GET", "/repos/octo/repo/issues")
    assert isinstance(raised.value, UnreachableError)
    assert "t0ken-v4lue" not in str(raised.value)


def test_a_body_read_to_the_close_and_cut_by_the_deadline_is_a_timeout() -> None:
    """Without a Content-Length the body ends when the connection closes, and the deadline's
    shutdown ends the reads like a close: the first second of a dripping body came back
    as the whole reply, (200, b'xxxxxxxxxx')."""
    head = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
    with (
        dripping_server(head, b"x" * 100, drip_s=0.02) as url,
        pytest.raises(TimeoutError, match="longer than 1s"),
    ):
        send(urllib.request.Request(f"{url}/x"), timeout_s=1)


def test_a_connection_made_after_the_deadline_is_shut_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Name resolution is not bounded by the timeout (nor are several addresses' connects
    together): the deadline passed with no socket to shut, and the head dripping after it
    held a 1 s request ~15 s, then answered 200 with an empty body."""
    resolve = socket.getaddrinfo

    def slow_resolver(*args: object, **kwargs: object) -> object:
        time.sleep(1.2)
        return resolve(*args, **kwargs)

    slow_head = b"X-Slow: " + b"y" * 40 + b"\r\n\r\n"
    with dripping_server(b"HTTP/1.1 200 OK\r\n", slow_head, drip_s=0.2) as url:
        monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="longer than 1s"):
            send(urllib.request.Request(f"{url}/x"), timeout_s=1)
        assert time.monotonic() - started < 3
