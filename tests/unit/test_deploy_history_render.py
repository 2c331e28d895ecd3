"""`inv deploys` as a person reads it: the window it read, and why a deploy went wrong."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Console

from nbaops.deploy.history import SQL, DeployHistory


def rendered(history: DeployHistory, terminal: bool = True) -> str:
    console = Console(record=True, width=240, force_terminal=terminal)
    history.render(console)
    return console.export_text()


def row(outcome: str, message: str, revision: str = "svc-00003-abc") -> dict[str, Any]:
    return {
        "deploy_id": f"d-{outcome}",
        "started_at": dt.datetime(2026, 12, 1, 9, 55, tzinfo=dt.UTC),
        "service": "phase4-processors",
        "action": "deploy",
        "outcome": outcome,
        "actor": "ci",
        "commit_sha": "a" * 40,
        "revision_before": revision,
        "revision_after": revision,
        "duration_s": 9.0,
        "message": message,
    }


def test_a_deploy_that_went_wrong_says_why_under_the_table() -> None:
    """Rolled back: before and after are the same revision, so the failed one and the
    reason are printed under the table (they were only in --json)."""
    why = "ROLLED BACK phase4-processors (FAIL): new revision svc-00004-xyz unhealthy"
    text = rendered(
        DeployHistory(
            rows=[row("rolled_back", why), row("success", "promoted svc-00004-abc")],
            sql=SQL,
            scope="last 30 days",
        )
    )
    assert f"  2026-12-01 09:55: {why}" in text
    assert "promoted svc-00004-abc" not in text  # a good deploy's message stays in --json
    assert text.startswith("recent deploys (last 30 days)") and "2 row(s)" in text


def test_no_rows_is_one_line_naming_the_scope() -> None:
    empty = DeployHistory(rows=[], sql=SQL, scope="grading-service, last 7 days")
    assert rendered(empty).strip() == "recent deploys (grading-service, last 7 days): none"


def test_a_model_column_appears_only_when_a_row_deployed_a_model_version() -> None:
    plain = rendered(DeployHistory(rows=[row("success", "ok")], sql=SQL, scope="last 30 days"))
    assert "model" not in plain
    model = {**row("success", "ok"), "service": "prediction-worker", "model_version": "v10"}
    text = rendered(DeployHistory(rows=[model, row("success", "ok")], sql=SQL, scope="x"))
    header = next(line for line in text.splitlines() if "started (UTC)" in line)
    assert "model" in header and "│ v10 " in text


def test_pipes_and_logs_get_plain_lines_not_a_box_table() -> None:
    """README: off a terminal the output is plain lines; `inv deploys | cat` drew a box."""
    model = {**row("success", "ok"), "service": "prediction-worker", "model_version": "v10"}
    history = DeployHistory(rows=[model, row("success", "ok")], sql=SQL, scope="x")
    text = rendered(history, terminal=False)
    assert not set("┏━┃│└─") & set(text)
    lines = text.splitlines()
    assert lines[:2] == [
        "recent deploys (x)",
        "started (UTC)  service  action  outcome  actor  commit  model  before → after  s",
    ]
    assert lines[2] == (
        f"2026-12-01 09:55  prediction-worker  deploy  success  ci  {'a' * 40}  v10  "
        "svc-00003-abc → svc-00003-abc  9"
    )
    assert "  ci  " + "a" * 40 + "  -  svc-00003-abc" in lines[3]  # no model: "-", not a gap


def test_cells_and_messages_are_shown_as_they_are_not_read_as_markup() -> None:
    """A Rich string is markup: on a terminal '[projects/nba-prod]' in a message vanished
    and an actor or message holding '[/x]' crashed `inv deploys` with a MarkupError."""
    why = "ROLLED BACK phase4-processors: 403 on [projects/nba-prod] [/x]"
    odd = {**row("rolled_back", why), "actor": "ci[/x]@[bold]runner"}
    text = rendered(DeployHistory(rows=[odd], sql=SQL, scope="last 30 days"))
    assert "ci[/x]@[bold]runner" in text
    assert f"  2026-12-01 09:55: {why}" in text
