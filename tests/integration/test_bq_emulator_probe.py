"""The bqemulator readiness probe reaches 127.0.0.1 even when a proxy is configured."""

from __future__ import annotations

import pytest
from worlds.http_fake import FakeServer, Request

from nbaops import bq_emulator


def test_probe_reaches_loopback_despite_a_dead_http_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def route(request: Request) -> tuple[int, object]:
        seen.append(request.path)
        return 200, {"kind": "bigquery#datasetList"}

    dead = f"http://127.0.0.1:{bq_emulator.free_port()}"  # nothing listens there
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with FakeServer(route) as server:
        assert bq_emulator._ready(server.url)
    assert seen == ["/bigquery/v2/projects/probe/datasets"]


def test_probe_says_not_ready_when_nothing_listens() -> None:
    assert not bq_emulator._ready(f"http://127.0.0.1:{bq_emulator.free_port()}")
