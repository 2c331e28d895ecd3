"""The health prober and proxies: a loopback target (the local profile's stand-in) is
reached directly even when HTTP_PROXY points at a dead port; any other host still goes
through the environment's proxy (a corporate proxy may be needed for *.run.app)."""

from __future__ import annotations

import os
import socket
import urllib.request
from pathlib import Path

import pytest
from worlds.http_fake import FakeServer, Request

from nbaops.adapters.health import HealthProber


def dead_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dead_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = f"http://127.0.0.1:{dead_port()}"
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(var, proxy)
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)


def test_a_loopback_probe_bypasses_a_dead_http_proxy(dead_proxy: None) -> None:
    seen: list[str] = []

    def route(req: Request) -> tuple[int, object]:
        seen.append(req.path)
        return 200, {"status": "ok"}

    with FakeServer(route) as server:
        result = HealthProber().probe(server.url + "/health", timeout_s=3)
    assert result.ok, result.error
    assert result.status == 200
    assert seen == ["/health"]


def test_a_routed_run_app_url_to_loopback_bypasses_the_proxy(dead_proxy: None) -> None:
    hosts: list[str | None] = []

    def route(req: Request) -> tuple[int, object]:
        hosts.append(req.headers.get("Host"))
        return 204, b""

    with FakeServer(route) as server:
        prober = HealthProber(route=lambda url: (server.url + "/health", "svc-abc.a.run.app"))
        result = prober.probe("https://svc-abc.a.run.app/health", timeout_s=3)
    assert result.ok, result.error
    assert hosts == ["svc-abc.a.run.app"]


def test_a_real_host_still_goes_through_the_environment_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str | None] = []

    def proxy(req: Request) -> tuple[int, object]:
        asked.append(req.headers.get("Host"))
        return 200, {"via": "proxy"}

    with FakeServer(proxy) as server:
        monkeypatch.setenv("HTTP_PROXY", server.url)
        monkeypatch.setenv("http_proxy", server.url)
        for var in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(var, raising=False)
        result = HealthProber().probe("http://service.example.invalid/health", timeout_s=3)
    assert result.ok, result.error
    assert asked == ["service.example.invalid"]
    # the probe left no proxy behind: once the variables are gone, urllib's own global
    # opener (built at its first use) still reaches loopback directly
    for var in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var)
    with (
        FakeServer(lambda req: (200, b"ok")) as local,
        urllib.request.urlopen(local.url + "/", timeout=3) as response,
    ):
        assert response.status == 200


def test_the_official_clients_reach_a_loopback_stand_in_past_a_dead_proxy(
    dead_proxy: None, tmp_path: Path
) -> None:
    """The health prober bypassed it, the Google clients did not: with HTTP(S)_PROXY set in
    the shell, every local Cloud Run call was 'cannot reach the API: ProxyError' and the
    doctor's token refresh at the stand-in failed the same way."""
    from worlds.http_fake import FakeServer as Fake

    from nbaops.adapters.cloudrun import CloudRun
    from nbaops.adapters.credentials import refresh_outcome, standin_user_credentials
    from nbaops.config import load_config

    service = {"name": "projects/p/locations/r/services/svc", "uri": "https://svc.a.run.app"}

    def route(req: Request) -> tuple[int, object]:
        if req.path == "/token":
            return 200, {"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}
        return 200, service

    with Fake(route) as server:
        profile = load_config(profile="local").profile
        info = CloudRun(profile, server.url, timeout_s=3, retries=False).get_service("svc")
        issued, message, reached = refresh_outcome(standin_user_credentials(server.url))
    assert info.uri == "https://svc.a.run.app"
    assert issued is True, message


def test_the_loopback_hosts_join_the_users_no_proxy_list_and_never_hide_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new lower-case no_proxy beside the user's NO_PROXY hid the user's hosts (requests
    and urllib read the lower-case name first); ``*`` with more after it stopped meaning
    "every host" to urllib."""
    import urllib.request

    from nbaops.adapters.stdlib_http import no_proxy_for_loopback

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.example:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", "github.corp.example")
    no_proxy_for_loopback("http://127.0.0.1:8123")
    for name in ("no_proxy", "NO_PROXY"):
        assert os.environ[name].split(",")[0] == "github.corp.example"
        assert "127.0.0.1" in os.environ[name].split(",")
    assert urllib.request.proxy_bypass("github.corp.example")
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    no_proxy_for_loopback("http://127.0.0.1:8123")
    assert os.environ["no_proxy"] == "*" and os.environ["NO_PROXY"] == "*"
    no_proxy_for_loopback("https://bigquery.googleapis.com")  # not loopback: untouched
    assert os.environ["no_proxy"] == "*"
