"""The bqemulator readiness probe reaches 127.0.0.1 even when a proxy is configured."""

from __future__ import annotations

from pathlib import Path

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


def test_a_failed_start_prints_the_log_line_masked_and_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error quotes the emulator's last log line: it went to stderr as it was, an
    escape sequence from the log (here one retitling the terminal) and a token unmasked."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_s3cr3tT0k3nV4lue")
    extension = tmp_path / "spatial.duckdb_extension"
    extension.write_bytes(b"")
    venv = tmp_path / "venv"
    venv.mkdir()
    python = venv / "python"
    python.write_text(f"#!/bin/sh\necho 1.1.0\necho {extension}\n", encoding="utf-8")
    emulator = venv / "bqemulator"
    emulator.write_text(
        "#!/bin/sh\nprintf 'boom \\033]0;pwned\\007 with ghp_s3cr3tT0k3nV4lue\\n'\nexit 1\n",
        encoding="utf-8",
    )
    python.chmod(0o755)
    emulator.chmod(0o755)
    code = bq_emulator.main(
        ["--python", str(python), "--workdir", str(tmp_path / "w"), "--", "true"]
    )
    assert code == 3
    err = capsys.readouterr().err
    assert "bqemulator exited with 1: boom \\x1b]0;pwned\\x07 with *** (log: " in err
    assert "\x1b" not in err and "s3cr3t" not in err
