"""Service tasks: status of every service, the deployed commit and the health of one."""

from __future__ import annotations

from invoke.tasks import task

from nbaops.cli.runner import COMMON_HELP

SERVICE_HELP = "Service name from nbaops.yaml (e.g. prediction-worker)."


@task(help={**COMMON_HELP})
def check_all_services(
    c: object, json: bool = False, profile: str | None = None, debug: bool = False
) -> None:
    """Each service's serving revision, its commit, traffic split, readiness and URL."""
    from nbaops.cli.runner import finish
    from nbaops.services_status import check_all_services as action

    finish(action, profile=profile, json_output=json, debug=debug)


@task(help={"service": SERVICE_HELP, **COMMON_HELP})
def deployed_commit(
    c: object,
    service: str | None = None,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """The 40-hex commit of the revision serving a service's traffic."""
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.services_status import DeployedCommitReport, deployed_commit_report

    def action(ctx: Context) -> DeployedCommitReport:
        return deployed_commit_report(ctx, service)

    finish(action, profile=profile, json_output=json, debug=debug)


@task(
    help={
        "service": SERVICE_HELP,
        "timeout": "Seconds to wait for the health endpoint, 0.1 to 300 (default 5).",
        **COMMON_HELP,
    }
)
def health_check(
    c: object,
    service: str | None = None,
    timeout: str | None = None,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """GET the health endpoint of the revision serving a service's traffic."""
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.services_status import HealthReport
    from nbaops.services_status import health_check as run_health_check

    def action(ctx: Context) -> HealthReport:
        from nbaops.cli.flags import number

        seconds = number(timeout, "timeout", default=5.0, minimum=0.1, maximum=300.0)
        return run_health_check(ctx, service, timeout_s=seconds)

    finish(action, profile=profile, json_output=json, debug=debug)


TASKS = [check_all_services, deployed_commit, health_check]
