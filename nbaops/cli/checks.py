"""Data-check tasks: system-health, check-lines, check-grading, check-predictions,
validate-daily. Each parses flags, calls one nbaops function and exits with the contract's
code (0 pass/warn, 1 fail, 2 bad input, 3 error/inconclusive)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from invoke.tasks import task

from nbaops.cli.runner import COMMON_HELP

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.report import Report

DETAILS_HELP = "Show every game / service measured, not only the problems (plain text)."
DATE_HELP = "Game day (US Eastern): YYYY-MM-DD, today or yesterday (default: {default})."


def _single_check(
    check_id: str, overrides: dict[str, Any], title: str, details: bool = False
) -> Callable[[Context], Report]:
    """An action running one registered check and reporting it."""

    def action(ctx: Context) -> Report:
        from nbaops.checks import run_check
        from nbaops.report import CheckReport

        return CheckReport(title, [run_check(ctx, check_id, overrides)], details=details)

    return action


def _date_override(date: str | None) -> dict[str, Any]:
    from nbaops.clock import parse_date

    return {"game_date": parse_date(date)} if date else {}


@task(
    help={
        "service": "Only the checks of this service (default: every service in nbaops.yaml).",
        "no_record": "Do not write the run to history and send no alerts.",
        "details": DETAILS_HELP,
        **COMMON_HELP,
    }
)
def system_health(
    c: object,
    service: str | None = None,
    json: bool = False,
    no_record: bool = False,
    details: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Run every data check concurrently: verdicts, values, thresholds; history and alerts."""
    from nbaops.cli.runner import finish

    def action(ctx: Context) -> Report:
        from nbaops.cli.runner import stdout_console
        from nbaops.system_health import run_system_health

        live = stdout_console() if sys.stdout.isatty() and not json else None
        report = run_system_health(ctx, service, live=live, record=not no_record)
        report.details = details
        if json:  # stdout carries exactly one JSON document: notes go to stderr
            for note in report.notes:
                sys.stderr.write(f"nbaops: {note}\n")
        return report

    finish(action, profile=profile, json_output=json, debug=debug)


@task(help={"date": DATE_HELP.format(default="today"), "details": DETAILS_HELP, **COMMON_HELP})
def check_lines(
    c: object,
    date: str | None = None,
    details: bool = False,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Lines coverage: share of expected players with a Vegas points line (per game)."""
    from nbaops.cli.runner import finish

    def action(ctx: Context) -> Report:
        return _single_check("lines_coverage", _date_override(date), "check-lines", details)(ctx)

    finish(action, profile=profile, json_output=json, debug=debug)


@task(help={"details": DETAILS_HELP, **COMMON_HELP})
def check_grading(
    c: object,
    details: bool = False,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Grading completeness: graded share of finished games' predictions, oldest lag."""
    from nbaops.cli.runner import finish

    finish(
        _single_check("grading_completeness", {}, "check-grading", details),
        profile=profile,
        json_output=json,
        debug=debug,
    )


@task(help={"details": DETAILS_HELP, **COMMON_HELP})
def check_predictions(
    c: object,
    details: bool = False,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Recent predictions: last 2h per model version against the coordinator's batches."""
    from nbaops.cli.runner import finish

    finish(
        _single_check("recent_predictions", {}, "check-predictions", details),
        profile=profile,
        json_output=json,
        debug=debug,
    )


@task(help={"date": DATE_HELP.format(default="yesterday"), **COMMON_HELP})
def validate_daily(
    c: object,
    date: str | None = None,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Validate one game day: schedule → box scores → features → predictions → grading."""
    from nbaops.cli.runner import finish

    def action(ctx: Context) -> Report:
        from nbaops.checks import validate_daily as run_validation
        from nbaops.clock import parse_date

        return run_validation(ctx, parse_date(date) if date else None)

    finish(action, profile=profile, json_output=json, debug=debug)


TASKS = [system_health, check_lines, check_grading, check_predictions, validate_daily]
