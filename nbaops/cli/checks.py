"""Data-check tasks: system-health, check-lines, check-grading, check-predictions,
validate-daily. Each parses flags, calls one nbaops function and exits with the contract's
code (0 pass/warn, 1 fail, 2 bad input, 3 error/inconclusive)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from invoke.collection import Collection

from nbaops.cli.task import nbaops_task

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.report import Report

DETAILS_HELP = "Show every game / service measured, not only the problems (plain text)."
DATE_HELP = "Game day (US Eastern): YYYY-MM-DD, today or yesterday (default: {default})."
RUN_CHECK = "nbaops.checks.run_check"


def _single_check(
    ctx: Context, check_id: str, overrides: dict[str, Any], title: str, details: bool = False
) -> Report:
    """Run one registered check (each of these queries the warehouse) and report it."""
    ctx.start_warehouse()  # the local engine starts while the modules below are imported
    from nbaops.checks import run_check
    from nbaops.report import CheckReport

    return CheckReport(title, [run_check(ctx, check_id, overrides)], details=details)


@nbaops_task(
    "nbaops.system_health.run_system_health",
    help={
        "service": "Only the checks of this service (default: every service in nbaops.yaml).",
        "no_record": "Do not write the run to history and send no alerts.",
        "details": DETAILS_HELP,
    },
)
def system_health(
    ctx: Context,
    service: str | None = None,
    json: bool = False,
    no_record: bool = False,
    details: bool = False,
) -> Report:
    """Run every data check concurrently: verdicts, values, thresholds; history and alerts."""
    ctx.start_warehouse()  # the local engine starts while the modules below are imported
    from nbaops.cli.plain import rich_console
    from nbaops.system_health import run_system_health

    live = rich_console() if sys.stdout.isatty() and not json else None
    report = run_system_health(ctx, service, live=live, record=not no_record)
    report.details = details
    if json:  # stdout carries exactly one JSON document: notes go to stderr
        from nbaops.stdio import stderr_line

        for note in report.notes:
            stderr_line(f"nbaops: {note}")
    return report


LINES_DEFAULT = "today; before checks.lines_coverage.features_due, 02:00 ET, yesterday"


@nbaops_task(
    RUN_CHECK, help={"date": DATE_HELP.format(default=LINES_DEFAULT), "details": DETAILS_HELP}
)
def check_lines(ctx: Context, date: str | None = None, details: bool = False) -> Report:
    """Lines coverage: share of expected players with a Vegas points line (per game)."""
    from nbaops.clock import parse_date

    overrides = {"game_date": parse_date(date)} if date else {}
    return _single_check(ctx, "lines_coverage", overrides, "check-lines", details)


@nbaops_task(RUN_CHECK, help={"details": DETAILS_HELP})
def check_grading(ctx: Context, details: bool = False) -> Report:
    """Grading completeness: graded share of finished games' predictions, oldest lag."""
    return _single_check(ctx, "grading_completeness", {}, "check-grading", details)


@nbaops_task(RUN_CHECK, help={"details": DETAILS_HELP})
def check_predictions(ctx: Context, details: bool = False) -> Report:
    """Recent predictions: last 2h per model version against the coordinator's batches."""
    return _single_check(ctx, "recent_predictions", {}, "check-predictions", details)


@nbaops_task("nbaops.checks.validate_daily", help={"date": DATE_HELP.format(default="yesterday")})
def validate_daily(ctx: Context, date: str | None = None) -> Report:
    """Validate one game day: schedule → box scores → features → predictions → grading."""
    from nbaops.checks import validate_daily as run_validation
    from nbaops.clock import parse_date

    return run_validation(ctx, parse_date(date) if date else None)


ns = Collection(system_health, check_lines, check_grading, check_predictions, validate_daily)
