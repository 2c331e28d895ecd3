"""What the deploy audit prints on stderr passes the one output path
(:func:`nbaops.stdio.stderr_line`): secrets masked, control characters escaped."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from nbaops.deploy import audit


def test_set_aside_warning_escapes_control_characters_of_the_state_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The warning naming the file the spool's unreadable lines were moved to quotes the
    state folder's path: an escape sequence in a folder's name (NBAOPS_HOME is the
    operator's) reached the terminal raw, as the line was written past stderr_line."""
    home = tmp_path / "state\x1b]0;owned\x07"
    home.mkdir()
    audit._set_aside(home, ["not a row"])
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err, err
    assert "\\x1b]0;owned\\x07" in err and "1 unreadable line(s)" in err
    assert err.count("\n") == 1


def test_audit_row_that_cannot_be_stored_is_one_redacted_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Last resort when neither the warehouse nor the spool takes the row: the row goes
    to stderr whole, on one line, through the one output path (masked, escaped)."""
    token = "ghp_AUDITsecretTOKEN0123456789"
    monkeypatch.setenv("GITHUB_TOKEN", token)

    class Down:
        def insert_rows(self, table: str, rows: list[dict[str, Any]]) -> None:
            raise RuntimeError("warehouse down")

    home = tmp_path / "home"
    home.write_text("a file, not a folder: the spool cannot be made", encoding="utf-8")
    ctx: Any = SimpleNamespace(warehouse=Down(), home=home)
    record = audit.AuditRecord("d-last", "svc", "deploy", "ada@h", "prod")
    record.finish("failed", f"check said {token}")
    assert "spool failed" in str(audit.write(ctx, record))
    err = capsys.readouterr().err
    assert token[:12] not in err
    prefix = "nbaops: audit row could not be stored: "
    assert err.startswith(prefix) and err.count("\n") == 1
    assert json.loads(err[len(prefix) :])["deploy_id"] == "d-last"
