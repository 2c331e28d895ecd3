"""Drift task: what is merged to main but not serving traffic, per service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke.collection import Collection

from nbaops.cli.task import nbaops_task

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.report import Report


@nbaops_task(
    "nbaops.drift.run.check_drift",
    help={
        "service": "Only this service (default: all services in nbaops.yaml).",
        "window": "How long a merged change may wait before drift FAILs, e.g. 6h "
        "(default: drift.window in nbaops.yaml, 6h).",
        "markdown": "Print the report as Markdown (an issue body / job summary).",
        "sync_issues": "Open, update or close one GitHub issue per drifting service "
        "(needs GITHUB_TOKEN and GITHUB_REPOSITORY; GITHUB_API_URL optional).",
        "dry_run": "With --sync-issues: print what would be opened, updated or closed; "
        "change nothing on GitHub.",
        "fetch": "Run git fetch first so origin/main is current.",
        "markdown_file": "Also write the Markdown report to this file (kept even when "
        "GitHub fails).",
        "json_file": "Also write the JSON report to this file.",
        "from_report": "Use a report saved with --json-file instead of measuring (the "
        "workflow syncs issues in a job without cloud credentials).",
    },
)
def check_drift(
    ctx: Context,
    service: str | None = None,
    window: str | None = None,
    json: bool = False,
    markdown: bool = False,
    sync_issues: bool = False,
    dry_run: bool = False,
    fetch: bool = False,
    markdown_file: str | None = None,
    json_file: str | None = None,
    from_report: str | None = None,
) -> Report:
    """Compare the commit serving each service with main: pending commits and their age."""
    from nbaops.drift.run import check_drift as run_check
    from nbaops.errors import UsageError

    if json and markdown:
        raise UsageError("choose one of --json and --markdown")
    if dry_run and not sync_issues:  # the check itself changes nothing: the flag did nothing
        raise UsageError("--dry-run previews --sync-issues: give both, or neither")
    return run_check(
        ctx,
        service=service,
        window=window,
        fetch=fetch,
        sync_issues=sync_issues,
        dry_run=dry_run,
        output_format="markdown" if markdown else "table",
        markdown_file=markdown_file,
        json_file=json_file,
        from_report=from_report,
    )


ns = Collection(check_drift)
