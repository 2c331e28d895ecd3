"""nbaops.adapters.stdlib_http: a proxy in the environment never swallows a call to 127.0.0.1.

Every stdlib HTTP adapter (GitHub, Slack, the Cloud Logging stand-in transport) opens its
requests through :func:`opener_for`; with ``HTTP_PROXY``/``HTTPS_PROXY`` pointing at a dead
port, each still reaches a server on 127.0.0.1, while a real host keeps the proxy.
"""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from worlds.http_fake import FakeServer, Request

from nbaops.adapters import slack
from nbaops.adapters.github import GitHubClient, GitHubSettings
from nbaops.adapters.logs import LogReader
from nbaops.adapters.stdlib_http import is_loopback, opener_for
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
