"""Deploy tasks: pre-deploy, deploy, rollback, verify-deploy, full-deploy, deploys."""

from __future__ import annotations

from invoke.tasks import task

from nbaops.cli.runner import COMMON_HELP

SERVICE_HELP = "Service name from nbaops.yaml (required), e.g. phase4-processors."
SKIP_TESTS_HELP = "Do not run deploy.test_command (pre-deploy check 6 becomes WARN)."
DEPLOY_HELP = {
    "service": SERVICE_HELP,
    "image": "Deploy this image (REGISTRY/PATH/NAME:TAG or @sha256:...) instead of building "
    "IMAGE_REPO/SERVICE:COMMIT from HEAD.",
    "canary": "Give the new revision only PCT% of traffic (1-99) during the observation "
    "window, then promote to 100%.",
    "model_version": "prediction-worker only: the model version (e.g. v9); sets the service's "
    "model_env variable and the model-version label.",
    "dry_run": "Run the read-only checklist and print every request and query the deploy "
    "would make (byte estimates in prod); change nothing.",
    "no_rollback": "Never roll back automatically: a failing or unconfirmed revision is held "
    "(exit 1 or 3) for a person to decide.",
    "skip_tests": SKIP_TESTS_HELP,
    "force_unlock": "Remove an existing deploy lease first (audited as force-unlock). Rarely "
    "needed: a dead deploy's lease lapses by itself and the next deploy recovers it.",
    **COMMON_HELP,
}


def _service(service: str | None) -> str:
    from nbaops.errors import UsageError

    if not service:
        raise UsageError("--service is required (e.g. --service phase4-processors)")
    return service


def _canary(text: str | None) -> int | None:
    from nbaops.cli.flags import integer

    if text is None or text == "":
        return None
    return integer(str(text).strip().rstrip("%"), "canary", default=0, minimum=1, maximum=99)


@task(help={"service": SERVICE_HELP, "skip_tests": SKIP_TESTS_HELP, **COMMON_HELP})
def pre_deploy(
    c: object,
    service: str | None = None,
    skip_tests: bool = False,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """The eight pre-deploy checks of a service (nothing is changed)."""
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.report import CheckReport

    def action(ctx: Context) -> CheckReport:
        from nbaops.deploy.predeploy import run_predeploy
        from nbaops.deploy.progress import Progress

        cfg = ctx.config.service(_service(service))
        progress = Progress.silent() if json else Progress.stderr()
        result = run_predeploy(
            ctx, cfg, skip_tests=skip_tests, progress=lambda r: progress.check("pre-deploy", r)
        )
        return CheckReport(
            f"pre-deploy {cfg.name}",
            result.checks,
            extra={"service": cfg.name, "head": result.head},
        )

    finish(action, profile=profile, json_output=json, debug=debug)


@task(help=DEPLOY_HELP)
def deploy(
    c: object,
    service: str | None = None,
    image: str | None = None,
    canary: str | None = None,
    model_version: str | None = None,
    dry_run: bool = False,
    no_rollback: bool = False,
    skip_tests: bool = False,
    force_unlock: bool = False,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Deploy a service safely: checklist, lock, new revision, observation, auto-rollback."""
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.deploy.deploy import DeployRequest, run_deploy
    from nbaops.deploy.deploy_report import DeployReport
    from nbaops.deploy.progress import Progress
    from nbaops.deploy.signals import terminate_as_interrupt

    def action(ctx: Context) -> DeployReport:
        req = DeployRequest(
            service=_service(service),
            image=image,
            canary=_canary(canary),
            model_version=model_version,
            dry_run=dry_run,
            no_rollback=no_rollback,
            skip_tests=skip_tests,
            force_unlock=force_unlock,
        )
        with terminate_as_interrupt():
            return run_deploy(ctx, req, progress=Progress.stderr())

    finish(action, profile=profile, json_output=json, debug=debug)


@task(
    help={
        "service": SERVICE_HELP,
        "to": "Revision to route 100% of traffic to (default: the pre-deploy revision in "
        "the service's deploy journal, else the oldest revision of a split, else the newest "
        "ready revision older than the serving one).",
        "dry_run": "Print the request and verification plan; change nothing.",
        "force_unlock": "Remove an existing deploy lock first (audited).",
        **COMMON_HELP,
    }
)
def rollback(
    c: object,
    service: str | None = None,
    to: str | None = None,
    dry_run: bool = False,
    force_unlock: bool = False,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Route 100% of a service's traffic to a previous revision, verified and audited."""
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.deploy.progress import Progress
    from nbaops.deploy.rollback import RollbackReport, run_rollback
    from nbaops.deploy.signals import terminate_as_interrupt

    def action(ctx: Context) -> RollbackReport:
        with terminate_as_interrupt():
            return run_rollback(
                ctx,
                _service(service),
                to=to,
                dry_run=dry_run,
                force_unlock=force_unlock,
                progress=Progress.stderr(),
            )

    finish(action, profile=profile, json_output=json, debug=debug)


@task(help={"service": SERVICE_HELP, **COMMON_HELP})
def verify_deploy(
    c: object,
    service: str | None = None,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Health and post-deploy validation of what serves now (recovers an interrupted deploy)."""
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.report import CheckReport

    def action(ctx: Context) -> CheckReport:
        from nbaops.deploy.verify import run_verify

        return run_verify(ctx, _service(service))

    finish(action, profile=profile, json_output=json, debug=debug)


@task(help={k: v for k, v in DEPLOY_HELP.items() if k not in ("skip_tests", "dry_run")})
def full_deploy(
    c: object,
    service: str | None = None,
    image: str | None = None,
    canary: str | None = None,
    model_version: str | None = None,
    no_rollback: bool = False,
    force_unlock: bool = False,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Pre-deploy (tests always run), deploy, then verify-deploy."""
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.deploy.deploy import DeployRequest
    from nbaops.deploy.full import FullDeployReport, run_full_deploy
    from nbaops.deploy.progress import Progress
    from nbaops.deploy.signals import terminate_as_interrupt

    def action(ctx: Context) -> FullDeployReport:
        req = DeployRequest(
            service=_service(service),
            image=image,
            canary=_canary(canary),
            model_version=model_version,
            no_rollback=no_rollback,
            force_unlock=force_unlock,
        )
        with terminate_as_interrupt():
            return run_full_deploy(ctx, req, progress=Progress.stderr())

    finish(action, profile=profile, json_output=json, debug=debug)


@task(
    help={
        "service": "Only this service's deploys.",
        "limit": "At most this many rows, 1 to 1000 (default 20).",
        "days": "Look back this many days, 1 to 400 (default 30; bounds the partition scan).",
        **COMMON_HELP,
    }
)
def deploys(
    c: object,
    service: str | None = None,
    limit: str | None = None,
    days: str | None = None,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Recent deploy, rollback and force-unlock audit rows."""
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.deploy.history import DeployHistory, recent_deploys

    def action(ctx: Context) -> DeployHistory:
        from nbaops.cli.flags import integer

        rows = integer(limit, "limit", default=20, minimum=1, maximum=1000)
        window = integer(days, "days", default=30, minimum=1, maximum=400)
        return recent_deploys(ctx, service=service, limit=rows, days=window)

    finish(action, profile=profile, json_output=json, debug=debug)


TASKS = [pre_deploy, deploy, rollback, verify_deploy, full_deploy, deploys]
