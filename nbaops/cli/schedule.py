"""Scheduling task: the Cloud Scheduler job that runs the health checks every 6 hours."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke.collection import Collection

from nbaops.cli.task import nbaops_task

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.report import Report


@nbaops_task(
    "nbaops.schedule.install",
    help={
        "dry_run": "Print the job that would be created or updated; make no API call. "
        "Works on every profile.",
    },
)
def install(ctx: Context, dry_run: bool = False) -> Report:
    """Create or update the Cloud Scheduler job that triggers the health run (prod)."""
    from nbaops.schedule import install as run_install

    return run_install(ctx, dry_run=dry_run)


ns = Collection("schedule", install)
