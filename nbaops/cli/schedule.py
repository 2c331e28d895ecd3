"""Scheduling task: the Cloud Scheduler job that runs the health checks every 6 hours."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.tasks import task

from nbaops.cli.runner import COMMON_HELP


@task(
    help={
        "dry_run": "Print the job that would be created or updated; make no API call. "
        "Works on every profile.",
        **COMMON_HELP,
    }
)
def install(
    c: object,
    dry_run: bool = False,
    profile: str | None = None,
    json: bool = False,
    debug: bool = False,
) -> None:
    """Create or update the Cloud Scheduler job that triggers the health run (prod)."""
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.report import Report
    from nbaops.schedule import install as run_install

    def action(ctx: Context) -> Report:
        return run_install(ctx, dry_run=dry_run)

    finish(action, profile=profile, json_output=json, debug=debug)


ns = Collection("schedule", install)
