"""Plain (non-terminal) output without Rich: the same bytes Rich's plain console writes."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.table import Table

from nbaops.cli.plain import PLAIN_WIDTH, PlainConsole, stdout_console
from nbaops.report import CheckReport
from nbaops.verdict import CheckResult, Finding, Verdict

TRICKY = [
    "plain message: 3 of 12 rows",
    "markup-like [bold]text[/] and [phase3-processors]",
    "an emoji code :warning: and a time 12:30:45",
    "a\ttab, trailing spaces   ",
    "two\nlines",
    "unicode ✅ ⚠️ résumé 東京",
    "",
]


def result(verdict: Verdict, message: str, **kw: object) -> CheckResult:
    return CheckResult(
        "lines_coverage",
        "phase4-processors",
        verdict,
        97.4,
        "FAIL < 90%, WARN < 95%",
        message,
        unit="%",
        doc="docs/playbooks/lines-coverage.md",
        **kw,  # type: ignore[arg-type]
    )


def reports() -> list[CheckReport]:
    checks = [result(v, m) for v, m in zip(list(Verdict) * 2, TRICKY, strict=False)]
    checks += [
        result(Verdict.ERROR, "no usable credentials found"),
        result(Verdict.ERROR, "no usable credentials found"),
        result(
            Verdict.FAIL,
            "two games under threshold",
            findings=[Finding("DEN@BOS 0/17 [x] :fire:", True), Finding("TOR@MIL 20/20", False)],
        ),
    ]
    anomalous = result(Verdict.PASS, "ok", details={"anomaly": "value 3.9 vs median 1.0 [k=3.5]"})
    return [
        CheckReport("check-lines", checks),
        CheckReport("check-lines", checks, details=True),
        CheckReport("empty", []),
        CheckReport("system-health", [anomalous, *checks], notes=["alerts: 0 sent", *TRICKY]),
    ]


def rich_plain(report: CheckReport) -> str:
    """What the runner printed before: Rich's console off a terminal."""
    console = Console(file=io.StringIO(), highlight=False, soft_wrap=True, width=PLAIN_WIDTH)
    with console.capture() as captured:
        report.render(console)
    return captured.get()


@pytest.mark.parametrize("index", range(len(reports())))
def test_reports_render_to_the_same_bytes_as_richs_plain_console(index: int) -> None:
    report = reports()[index]
    console = PlainConsole()
    with console.capture() as captured:
        report.render(console)  # type: ignore[arg-type]  # duck-typed: the part reports use
    assert captured.get() == rich_plain(report)


def test_plain_lines_need_no_rich_console_and_anything_else_keeps_its_place() -> None:
    console = PlainConsole()
    with console.capture() as captured:
        console.print("first", markup=False)
    assert captured.get() == "first\n" and console._rich is None  # Rich's console never built
    table = Table("a", "b")
    table.add_row("1", "2")
    with console.capture() as captured:
        console.print("before")
        console.print(table)
        console.rule("rule")
        console.print("after")
    reference = Console(file=io.StringIO(), highlight=False, soft_wrap=True, width=PLAIN_WIDTH)
    with reference.capture() as expected:
        reference.print("before")
        reference.print(table)
        reference.rule("rule")
        reference.print("after")
    assert captured.get() == expected.get()


def test_off_a_terminal_the_runner_uses_the_plain_console_unless_colour_is_forced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    assert isinstance(stdout_console(), PlainConsole)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not isinstance(stdout_console(), PlainConsole)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_of_zero_columns_still_gets_the_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``COLUMNS=0`` on a terminal: Rich's console had width 0 and printed every report
    as nothing (the exit code still right); a console with no width falls back to the
    plain width."""
    from nbaops.cli.plain import rich_console

    monkeypatch.setattr("sys.stdout", _Terminal())
    monkeypatch.setenv("COLUMNS", "0")
    console = rich_console()
    assert console.width >= 1
    with console.capture() as captured:
        console.print("lines_coverage PASS")
    assert "lines_coverage PASS" in captured.get()
