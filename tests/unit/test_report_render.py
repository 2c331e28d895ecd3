"""The one rendering of check reports: what an on-call engineer reads first."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from nbaops.report import CheckReport, round_beside, value_text
from nbaops.verdict import CheckResult, Finding, Verdict, clip

LONG = "no change to its paths since " + " ".join(f"word{i}" for i in range(60))


def result(name: str, verdict: Verdict, message: str = "ok", **kw: object) -> CheckResult:
    fields: dict[str, object] = {"threshold": "FAIL < 90%, WARN < 95%", "unit": "%"}
    fields.update(kw)
    return CheckResult(name, "phase4-processors", verdict, 59.05, message=message, **fields)  # type: ignore[arg-type]


def plain(report: CheckReport) -> list[str]:
    stream = io.StringIO()  # not a terminal, like a CI log or a pipe
    report.render(Console(file=stream, width=4096, soft_wrap=True, color_system=None))
    return stream.getvalue().splitlines()


def failing() -> CheckResult:
    return result(
        "lines_coverage",
        Verdict.FAIL,
        LONG,
        doc="docs/playbooks/lines-coverage.md",
        doc_url="https://example.org/docs/playbooks/lines-coverage.md",
        findings=[
            Finding("TOR@MIL 20/20 (100.0%)", False),
            Finding("DEN@BOS 0/17 (0.0%) missing: A One (DEN), B Two (BOS)", True),
        ],
    )


def test_value_carries_its_unit() -> None:
    assert value_text(59.05, "%") == "59.05%"
    assert value_text(439.6, "min") == "439.6 min"
    assert value_text(124.2, "% of expected") == "124.2% of expected"
    assert value_text(None, "%") == "-"


def test_a_shown_value_never_rounds_onto_a_whole_number_it_is_not() -> None:
    """pct_value stores 94.996 (not 95.0) so that ``value=`` never reads "95%" beside
    "WARN < 95%"; four significant digits showed it as "95%" all the same, and a missing
    row of 20,000 (99.995) as "100%"."""
    assert value_text(94.996, "%") == "94.996%"
    assert value_text(99.995, "%") == "99.995%"
    assert value_text(-4.9996, "min") == "-4.9996 min"
    assert value_text(95.0, "%") == "95%"  # a whole value stays whole
    assert value_text(28.999999999999996, "%") == "29%"  # floating-point noise
    assert value_text(float("nan"), "%") == "nan%"
    warn = CheckResult("lines_coverage", "*", Verdict.WARN, 94.996, "WARN < 95%", "", unit="%")
    assert "value=94.996% threshold: WARN < 95%" in plain(CheckReport("check-lines", [warn]))[1]


def test_a_fail_is_one_unwrapped_line_with_value_threshold_message_and_doc() -> None:
    lines = plain(CheckReport("check-lines", [failing()]))
    head = lines[1]
    assert head.startswith("FAIL lines_coverage [phase4-processors] value=59.05%")
    assert "threshold: FAIL < 90%, WARN < 95%" in head
    assert LONG in head  # never cut or folded
    assert head.endswith(
        "-> see docs/playbooks/lines-coverage.md "
        "(https://example.org/docs/playbooks/lines-coverage.md)"
    )


def test_a_fail_shows_its_problem_findings_and_details_show_all() -> None:
    lines = plain(CheckReport("check-lines", [failing()]))
    assert "    ! DEN@BOS 0/17 (0.0%) missing: A One (DEN), B Two (BOS)" in lines
    assert not any("TOR@MIL" in line for line in lines)
    detailed = plain(CheckReport("check-lines", [failing()], details=True))
    assert "      TOR@MIL 20/20 (100.0%)" in detailed


def test_a_pass_shows_no_doc_and_no_findings_unless_asked() -> None:
    ok = result("lines_coverage", Verdict.PASS, doc="docs/playbooks/lines-coverage.md")
    ok.findings = [Finding("TOR@MIL 20/20 (100.0%)")]
    lines = plain(CheckReport("check-lines", [ok]))
    assert len(lines) == 3 and "see" not in lines[1]
    assert "      TOR@MIL 20/20 (100.0%)" in plain(CheckReport("x", [ok], details=True))


def test_identical_errors_collapse_into_one_line_naming_the_checks() -> None:
    msg = "WarehouseError: cannot create the BigQuery client: no credentials"
    checks = [
        CheckResult(name, svc, Verdict.ERROR, None, "", msg)
        for name, svc in (
            ("lines_coverage", "phase4-processors"),
            ("grading_completeness", "grading-service"),
            ("shot_zones", "phase3-processors"),
        )
    ]
    checks.append(CheckResult("error_logs", "grading-service", Verdict.ERROR, None, "", "other"))
    lines = plain(CheckReport("system-health", checks))
    errors = [line for line in lines[1:-1] if line.startswith("ERROR ")]
    assert len(errors) == 2
    assert errors[0].startswith(
        "ERROR lines_coverage, grading_completeness, shot_zones "
        "[phase4-processors, grading-service, phase3-processors] (3 checks)"
    )
    assert msg in errors[0] and "docs/troubleshooting.md#every-check-is-error" in errors[0]
    assert lines[-1] == "ERROR system-health: 4 ERROR"


def test_table_only_on_a_wide_terminal_and_problems_still_listed_below() -> None:
    stream = io.StringIO()
    console = Console(file=stream, width=200, force_terminal=True, color_system=None)
    CheckReport("check-lines", [failing()]).render(console)
    text = stream.getvalue()
    assert "┃ check" in text  # the rich table
    assert "FAIL lines_coverage -> see docs/playbooks/lines-coverage.md" in text
    assert "! DEN@BOS 0/17 (0.0%) missing: A One (DEN), B Two (BOS)" in text
    narrow = io.StringIO()
    CheckReport("check-lines", [failing()]).render(
        Console(file=narrow, width=4096, soft_wrap=True, color_system=None)
    )
    assert "┃" not in narrow.getvalue()  # not a terminal: plain lines


def test_the_table_shows_brackets_in_names_and_messages_as_they_are() -> None:
    """On a wide terminal the table's cells went through Rich markup: an error quoting
    "[projects/nba-prod]" lost it ("Permission denied on  (see )") and a model version or
    message holding a closing tag such as "[/x]" crashed the report with a MarkupError."""
    stream = io.StringIO()
    console = Console(file=stream, width=250, force_terminal=True, color_system=None)
    checks = [
        result("hit_rate_floor:v9[/x]", Verdict.FAIL, "denied on [projects/nba-prod] (see [b])"),
        result("lines_coverage", Verdict.PASS, threshold="WARN < 95% [bold]"),
    ]
    CheckReport("gates [x]", checks).render(console)
    text = stream.getvalue()
    assert "hit_rate_floor:v9[/x]" in text and "gates [x]" in text
    assert "denied on [projects/nba-prod] (see [b])" in text and "WARN < 95% [bold]" in text


def test_clip_cuts_at_a_word_boundary() -> None:
    text = "alpha beta gamma delta epsilon"
    assert clip(text, 100) == text
    assert clip(text, 18) == "alpha beta gamma…"
    assert clip("x" * 40, 10) == "x" * 9 + "…"


def test_stdout_console_off_a_terminal_never_wraps() -> None:
    import sys

    from nbaops.cli.plain import PLAIN_WIDTH, stdout_console

    assert not sys.stdout.isatty()
    console = stdout_console()
    assert console.width == PLAIN_WIDTH and console.soft_wrap


def test_a_console_that_is_not_rich_gets_the_same_lines_as_plain_text_without_rich() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from nbaops.report import CheckReport\n"
        "from nbaops.verdict import CheckResult, Finding, Verdict\n"
        "class Lines:  # what the runner's plain console is to a report: print(text, ...)\n"
        "    is_terminal, width = False, 4096\n"
        "    def print(self, *objects, **options):\n"
        "        assert [type(o) for o in objects] == [str] and options['markup'] is False\n"
        "        print(*objects)\n"
        "c = CheckResult('lines_coverage', 'p4', Verdict.FAIL, 1.0, 'x', 'low [a]', "
        "findings=[Finding('DEN@BOS', True)], details={'fix': 'rerun'})\n"
        "CheckReport('t', [c], notes=['a note']).render(Lines())\n"
        "assert 'rich' not in sys.modules, sorted(m for m in sys.modules if 'rich' in m)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "t",
        "FAIL lines_coverage [p4] value=1 threshold: x (0.00s): low [a]",
        "    ! DEN@BOS",
        "    fix: rerun",
        "a note",
        "FAIL t: 1 FAIL",
    ]
    rich = CheckReport(
        "t", [CheckResult("lines_coverage", "p4", Verdict.FAIL, 1.0, "x", "low [a]")]
    )
    assert plain(rich)[1] == done.stdout.splitlines()[1]  # Rich off a terminal: the same line


def test_pre_deploy_checklist_items_point_at_the_checklist_doc() -> None:
    from nbaops.deploy.checklist import PREDEPLOY_DOC, Item

    item = Item("branch", "phase4-processors", "branch == main").result(Verdict.FAIL, "h1", "x")
    assert item.doc == PREDEPLOY_DOC == "docs/deploy.md#the-pre-deploy-checklist"
    assert plain(CheckReport("pre-deploy", [item]))[1].endswith(f"-> see {PREDEPLOY_DOC}")


def test_the_deploys_own_health_steps_point_at_the_deploy_steps_not_the_checklist() -> None:
    """new_revision_health is a step of the deploy, not a checklist item: its FAIL line
    sent the reader to the checklist's section."""
    import socket
    import types

    from nbaops.adapters.health import HealthProber
    from nbaops.deploy.checklist import DEPLOY_STEPS_DOC, PREDEPLOY_DOC
    from nbaops.deploy.predeploy import probe_health

    with socket.socket() as closed:  # a port nothing listens on: the probe FAILs at once
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/health"
    ctx = types.SimpleNamespace(health=HealthProber())
    results = {
        name: probe_health(ctx, "svc", url, timeout_s=1, name=name)  # type: ignore[arg-type]
        for name in ("service_health", "new_revision_health", "rollback_health")
    }
    assert {r.verdict for r in results.values()} == {Verdict.FAIL}
    docs = {name: r.doc for name, r in results.items()}
    assert docs == {
        "service_health": PREDEPLOY_DOC,
        "new_revision_health": DEPLOY_STEPS_DOC,
        "rollback_health": DEPLOY_STEPS_DOC,
    }
    assert DEPLOY_STEPS_DOC == "docs/deploy.md#what-inv-deploy-does"


def test_missing_credentials_worded_differently_by_each_client_are_one_line() -> None:
    warehouse = (
        "WarehouseError: cannot create the BigQuery client: Your default credentials were "
        "not found. To set up Application Default Credentials, see https://example"
    )
    logging = (
        "LoggingError: Cloud Logging: no usable credentials (DefaultCredentialsError); run "
        "`gcloud auth application-default login`"
    )
    checks = [
        CheckResult(f"check_{i}", "svc", Verdict.ERROR, None, "", warehouse) for i in range(6)
    ]
    checks += [
        CheckResult("error_logs", f"s{i}", Verdict.ERROR, None, "", logging) for i in range(5)
    ]
    lines = plain(CheckReport("system-health", checks))
    assert len(lines) == 3  # title, ONE error line, summary
    assert "(11 checks)" in lines[1] and "gcloud auth application-default login" in lines[1]
    assert lines[2] == "ERROR system-health: 11 ERROR"


def test_every_registered_check_has_a_unit_and_an_existing_playbook() -> None:
    from pathlib import Path

    from nbaops.checks.registry import ALL_SPECS

    root = Path(__file__).resolve().parents[2]
    for check_id, spec in ALL_SPECS.items():
        assert spec.unit, check_id  # a value is never shown without its unit
        assert (root / spec.playbook_doc).is_file(), check_id


def test_a_check_that_is_not_pass_shows_its_fix_under_it() -> None:
    broken = result("credentials", Verdict.ERROR, "no credentials", details={"fix": "run login"})
    ok = result("project", Verdict.PASS, details={"fix": "grant a role"})
    lines = plain(CheckReport("nbaops doctor", [broken, ok], notes=["  -  x: not applicable"]))
    assert lines[2] == "    fix: run login"
    assert not any("grant a role" in line for line in lines)
    assert lines[-2:] == ["  -  x: not applicable", "ERROR nbaops doctor: 1 ERROR, 1 PASS"]


def test_an_action_report_has_its_outcome_and_no_checks_key() -> None:
    done = CheckReport("sandbox.fault", extra={"action": "set"}, outcome=Verdict.PASS)
    assert done.to_json() == {"verdict": "PASS", "action": "set"}
    assert plain(done)[-1] == "PASS sandbox.fault: no checks"
    assert CheckReport("nothing").to_json() == {"verdict": "INCONCLUSIVE", "checks": []}


def test_clip_keeps_text_of_exactly_limit_and_never_exceeds_limit() -> None:
    assert clip("x" * 10, 10) == "x" * 10
    assert clip("x" * 11, 10) == "x" * 9 + "…"
    assert len(clip("x" * 11, 10)) == 10


def test_clip_cuts_at_the_last_word_boundary_not_the_first() -> None:
    assert clip("alpha beta gamma delta", 15) == "alpha beta…"


def test_clip_cuts_mid_word_when_the_last_boundary_keeps_half_or_less() -> None:
    # the only space sits at index 5 == limit // 2: cutting there would keep too little
    assert clip("abcde fghijklmnop", 10) == "abcde fgh…"


def test_clip_drops_trailing_punctuation_before_the_ellipsis() -> None:
    assert clip("alpha, beta, gamma, delta", 14) == "alpha, beta…"


@pytest.mark.parametrize(
    ("value", "threshold", "stored"),
    [
        (0.049996, 0.05, 0.049996),  # a p-value under alpha: round(p, 4) read "0.05"
        (0.58004, 0.58, 0.58004),  # a hit rate over the ceiling
        (0.52381, 0.5238, 0.52381),  # a threshold with the same number of decimals
        (0.52379, 0.523795, 0.52379),  # rounding up must not cross it either
        (0.58, 0.58, 0.58),  # on the threshold stays on it
        (0.61234567, 0.58, 0.6123),  # far from it: four decimals
    ],
)
def test_a_stored_value_never_rounds_onto_or_across_its_threshold(
    value: float, threshold: float, stored: float
) -> None:
    assert round_beside(value, threshold) == stored


def test_a_value_kept_off_its_threshold_is_shown_as_stored() -> None:
    """round_beside stored 0.58002 (ceiling 0.58) and 0.049996 (alpha 0.05); the report
    showed them in four significant digits, "value=0.58" and "value=0.05"."""
    assert value_text(round_beside(0.580021, 0.58)) == "0.58002"
    assert value_text(round_beside(0.0499961, 0.05)) == "0.049996"
    assert value_text(0.123456789) == "0.1235"  # unrounded: four significant digits


def test_the_job_summary_table_keeps_its_columns_and_shows_html_as_text() -> None:
    """system-health's job summary escaped "|" but not "\\": a message quoting the regex
    "a\\|b" became "a\\\\|b", an escaped backslash and then a cell border, so the row gained
    a column; "<details>" from the data was read as HTML and folded the rest away."""
    import re

    from nbaops.system_health import step_summary_markdown

    message = r"log filter a\|b matched; see <details> from @nba-data-eng"
    report = CheckReport("system-health", [result("error_logs", Verdict.FAIL, message)])
    text = step_summary_markdown(report, profile="prod", service=None)
    row = next(line for line in text.splitlines() if line.startswith("| error_logs"))
    assert len(re.findall(r"(?<!\\)(?:\\\\)*\|", row)) == 8, row  # 7 columns
    assert "<details>" not in row and "&lt;details&gt;" in row
    assert "@\u200bnba-data-eng" in row


def test_a_carriage_return_in_the_data_does_not_end_a_job_summary_row() -> None:
    """A line break became a space, but only a line feed was taken for one: an error
    message logged with Windows line endings ("timeout\\r\\nretrying") or a lone CR ended
    the Markdown table row in the middle (CommonMark: a carriage return is a line ending
    too, https://spec.commonmark.org/0.31.2/#line-ending), and the rest of the row fell
    out of the table as a paragraph."""
    from nbaops.report import markdown_text
    from nbaops.system_health import step_summary_markdown

    message = "upstream timeout\r\nretrying\rgave up\nat 07:00"
    assert markdown_text(message) == "upstream timeout retrying gave up at 07:00"
    report = CheckReport("system-health", [result("error_logs", Verdict.FAIL, message)])
    text = step_summary_markdown(report, profile="prod", service=None)
    rows = [line for line in text.split("\n") if "error_logs" in line]
    assert len(rows) == 1 and "\r" not in rows[0] and rows[0].endswith("|"), rows
