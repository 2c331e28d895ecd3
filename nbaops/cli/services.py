"""Service tasks: status of every service, the deployed commit and the health of one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke.collection import Collection

from nbaops.cli.task import nbaops_task

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.report import Report

SERVICE_HELP = "Service name from nbaops.yaml (e.g. prediction-worker)."


@nbaops_task("nbaops.services_status.check_all_services")
def check_all_services(ctx: Context) -> Report:
    """Each service's serving revision, its commit, traffic split, readiness and URL."""
    from nbaops.services_status import check_all_services as run_check_all

    return run_check_all(ctx)


@nbaops_task("nbaops.services_status.deployed_commit_report", help={"service": SERVICE_HELP})
def deployed_commit(ctx: Context, service: str | None = None) -> Report:
    """The 40-hex commit of the revision serving a service's traffic."""
    from nbaops.services_status import deployed_commit_report

    return deployed_commit_report(ctx, service)


@nbaops_task(
    "nbaops.services_status.health_check",
    help={
        "service": SERVICE_HELP,
        "timeout": "Seconds to wait for the health endpoint, 0.1 to 300 (default 5).",
    },
)
def health_check(ctx: Context, service: str | None = None, timeout: str | None = None) -> Report:
    """GET the health endpoint of the revision serving a service's traffic."""
    from nbaops.cli.flags import number
    from nbaops.services_status import DEFAULT_HEALTH_TIMEOUT_S as DEFAULT
    from nbaops.services_status import health_check as run_health_check

    seconds = number(timeout, "timeout", default=DEFAULT, minimum=0.1, maximum=300.0)
    return run_health_check(ctx, service, timeout_s=seconds)


ns = Collection(check_all_services, deployed_commit, health_check)
