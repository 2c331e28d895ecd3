"""The drift report's terminal output: one verbatim line per service off a terminal
(through ``report.emit``, no Rich import needed), a table on a wide terminal."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from nbaops.cli.plain import PlainConsole
from nbaops.drift.report import (
    MAX_LISTED,
    DriftReport,
    IssueAction,
    ServiceDrift,
    SyncResult,
    human_age,
    issue_body,
    markdown_report,
    service_markdown,
)
from nbaops.gitrepo import Commit
from nbaops.verdict import Verdict

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
HEAD, SERVING, PENDING = "c" * 40, "b" * 40, "a" * 40


def report() -> DriftReport:
    commit = Commit(PENDING, "aaaaaaa", "Bob [x]", "b@x", NOW, NOW, "fix [bold]lines[/bold]")
    drifting = ServiceDrift(
        "phase4-processors",
        Verdict.FAIL,
        "1 pending commit [red]over[/red] the window",
        ("data_processors/",),
        3600,
        deployed_commit=SERVING,
        deployed_revision="phase4-00007",
        head_commit=HEAD,
        pending=[commit],
        oldest_pending_age_s=7200,
    )
    in_sync = ServiceDrift("grading-service", Verdict.PASS, "in sync", ("grading/",), 3600)
    sync = SyncResult("org/repo", "deployment-drift", True, errors=["GitHub said [no]"])
    sync.actions.append(IssueAction("phase4-processors", "open", None, None, "drifting"))
    return DriftReport([drifting, in_sync], HEAD, "origin/main", 3600, NOW, "local", sync)


def test_plain_output_is_one_verbatim_line_per_service() -> None:
    console = PlainConsole()
    with console.capture() as captured:
        report().render(console)
    assert captured.get().splitlines() == [
        f"Deployment drift vs origin/main {HEAD} (window 1h)",
        f"FAIL phase4-processors serving {SERVING} (phase4-00007) pending=1 oldest=2h: "
        "1 pending commit [red]over[/red] the window -> see docs/drift.md",
        "PASS grading-service serving - (no revision) pending=0 oldest=-: in sync",
        "phase4-processors pending commits (newest first):",
        f"  {PENDING}  2026-12-01 03:00 UTC  Bob [x]: fix [bold]lines[/bold]",
        "GitHub issues (org/repo, label deployment-drift):",
        "  phase4-processors: would open - drifting",
        "  sync error: GitHub said [no]",
        "ERROR drift: 1 FAIL, 1 PASS",
    ]


def test_services_failing_the_same_way_are_one_line() -> None:
    """--profile prod without credentials printed five identical ERROR lines (README:
    identical ERRORs collapse to one line naming them)."""
    why = "Cloud Run connect: no usable credentials (DefaultCredentialsError: not found)"
    names = ["phase3-processors", "phase4-processors", "grading-service"]
    failing = [ServiceDrift(n, Verdict.ERROR, why, ("x/",), 3600) for n in names]
    other = ServiceDrift("prediction-worker", Verdict.ERROR, "API timeout", ("w/",), 3600)
    console = PlainConsole()
    with console.capture() as captured:
        DriftReport([*failing, other], HEAD, "main", 3600, NOW, "prod").render(console)
    lines = captured.get().splitlines()
    assert lines[1] == (
        "ERROR phase3-processors, phase4-processors, grading-service (3 services): no usable "
        "Google credentials: run `gcloud auth application-default login` (Workload Identity "
        "in CI) -> see docs/troubleshooting.md#every-check-is-error"
    )
    assert lines[2].startswith("ERROR prediction-worker serving - ") and "API timeout" in lines[2]
    assert lines[3:] == ["ERROR drift: 4 ERROR"]


def test_markdown_goes_through_the_console_verbatim() -> None:
    """Through the console, so the runner's capture (and its redaction) sees it."""
    markdown = report()
    markdown.output_format = "markdown"
    console = PlainConsole()
    with console.capture() as captured:
        markdown.render(console)
    assert captured.get() == markdown_report(markdown)
    assert "| phase4-processors | ❌ FAIL |" in captured.get()


def test_plain_output_imports_no_rich() -> None:
    code = (
        "import sys\n"
        "from tests.unit.test_drift_render import report\n"
        "from nbaops.cli.plain import PlainConsole\n"
        "sys.modules.pop('rich', None)\n"
        "for name in [m for m in sys.modules if m.startswith('rich.')]:\n"
        "    del sys.modules[name]\n"
        "report().render(PlainConsole())\n"
        "markdown = report()\n"
        "markdown.output_format = 'markdown'\n"
        "markdown.render(PlainConsole())\n"
        "print('RICH', sorted(m for m in sys.modules if m.startswith('rich')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.splitlines()[-1] == "RICH []"


def test_wide_terminal_gets_a_table_with_short_shas() -> None:
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=True, color_system=None)
    report().render(console)
    text = out.getvalue()
    assert "┃ service" in text and "bbbbbbbb (phase4-00007)" in text
    assert "[red]over[/red]" in text  # a message is text in the table too, never markup
    assert "  aaaaaaa  2026-12-01 03:00 UTC  Bob [x]: fix [bold]lines[/bold]" in text
    assert text.rstrip().endswith("ERROR drift: 1 FAIL, 1 PASS")


def test_an_issue_body_of_long_commit_subjects_stays_within_githubs_limit() -> None:
    """GitHub refuses an issue body of 65,536 characters or more (422 "body is too long");
    commit subjects of 3,000 characters (this repository writes them) made the drifting
    service's issue a sync error on every run. The table clips each subject; JSON keeps it."""
    subject = "fix: " + "lines coverage counts late lines " * 100  # ~3,300 characters
    pending = [
        Commit(f"{i:040x}", f"{i:07x}", "Bob " * 40, "b@x", NOW, NOW, subject)
        for i in range(MAX_LISTED + 5)
    ]
    drifting = ServiceDrift(
        "phase4-processors",
        Verdict.FAIL,
        f"{len(pending)} pending commits",
        ("data_processors/",),
        3600,
        deployed_commit=SERVING,
        head_commit=HEAD,
        pending=pending,
        oldest_pending_age_s=7200,
    )
    report = DriftReport([drifting], HEAD, "origin/main", 3600, NOW, "prod")
    body = issue_body(drifting, report)
    assert len(body) < 65_536
    assert "| `0000000` | 2026-12-01 03:00 | Bob Bob" in body and "fix: lines coverage" in body
    assert "| … | | | 5 more |" in body
    assert report.to_json()["services"][0]["pending"][0]["subject"] == subject


def test_an_age_just_past_its_window_is_not_shown_as_the_window() -> None:
    """A commit waiting 6h 0m 30s FAILs a 6h window; it read "waiting 6h (over the 6h
    window)" and, in the issue body, "waiting: 6h (window 6h)"."""
    six_hours = 6 * 3600
    assert human_age(six_hours + 30) == "6h"  # at a glance, with nothing to judge it by
    assert human_age(six_hours + 30, six_hours) == "6h 0m 30s"
    assert human_age(86400 + 1800, 86400) == "1d 0h 30m 0s"
    assert human_age(six_hours + 60, six_hours) == "6h 1m"  # already reads past it
    assert human_age(six_hours - 1, six_hours) == "5h 59m"
    assert human_age(six_hours, six_hours) == "6h"
    late = ServiceDrift(
        "phase4-processors",
        Verdict.FAIL,
        "1 pending commit",
        ("data_processors/",),
        six_hours,
        oldest_pending_age_s=six_hours + 30,
    )
    assert "- Oldest pending commit waiting: 6h 0m 30s (window 6h)" in service_markdown(late)


def test_an_age_less_than_a_second_past_its_window_is_not_shown_as_the_window() -> None:
    """Ages are measured to the microsecond (now minus a commit's whole-second time) and
    judged ``age > window``: 6h and 0.4 s FAILs a 6h window, but it still read "waiting 6h
    (over the 6h window)", whole seconds being compared with the window. The fraction
    shows; an age exactly at the window (WARN, within it) still reads "6h"."""
    six_hours = 6 * 3600
    assert human_age(six_hours + 0.4, six_hours) == "6h 0m 0.4s"
    assert human_age(six_hours + 0.0004, six_hours) == "6h 0m 0.0004s"
    assert human_age(six_hours + 30.7, six_hours) == "6h 0m 30s"  # already reads past it
    assert human_age(six_hours, six_hours) == "6h"
    assert human_age(six_hours + 0.4) == "6h"  # at a glance, with nothing to judge it by
