"""Deploy tasks: pre-deploy, deploy, rollback, verify-deploy, full-deploy, deploys."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from invoke.collection import Collection

from nbaops.cli.task import nbaops_task

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.deploy.deploy import DeployRequest
    from nbaops.report import Report

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
}


def _service(ctx: Context, service: str | None) -> str:
    return ctx.config.required_service(service).name


def _request(ctx: Context, service: str | None, canary: str | None, **flags: Any) -> DeployRequest:
    """The deploy request of ``--service``/``--canary`` (checked) and the other flags."""
    from nbaops.cli.flags import integer
    from nbaops.deploy.deploy import DeployRequest

    name, percent = _service(ctx, service), None
    if canary is not None:  # an empty --canary is refused before (cli.task._empty_flag)
        text = str(canary).strip().rstrip("%")
        percent = integer(text, "canary", default=0, minimum=1, maximum=99)
    return DeployRequest(service=name, canary=percent, **flags)


def _interruptible(run: Callable[..., Report], *args: Any, **kwargs: Any) -> Report:
    """``run`` with progress on stderr; SIGTERM stops it like Ctrl-C (it cleans up)."""
    from nbaops.deploy.progress import Progress
    from nbaops.deploy.signals import terminate_as_interrupt

    with terminate_as_interrupt():
        return run(*args, progress=Progress.stderr(), **kwargs)


@nbaops_task(
    "nbaops.deploy.predeploy.run_predeploy",
    help={"service": SERVICE_HELP, "skip_tests": SKIP_TESTS_HELP},
)
def pre_deploy(
    ctx: Context, service: str | None = None, skip_tests: bool = False, json: bool = False
) -> Report:
    """The eight pre-deploy checks of a service (nothing is changed)."""
    from nbaops.deploy.predeploy import run_predeploy
    from nbaops.deploy.progress import Progress
    from nbaops.report import CheckReport

    cfg = ctx.config.required_service(service)
    progress = Progress.silent() if json else Progress.stderr()
    result = run_predeploy(
        ctx, cfg, skip_tests=skip_tests, progress=lambda r: progress.check("pre-deploy", r)
    )
    extra = {"service": cfg.name, "head": result.head}
    return CheckReport(f"pre-deploy {cfg.name}", result.checks, extra=extra)


@nbaops_task("nbaops.deploy.deploy.run_deploy", help=DEPLOY_HELP)
def deploy(
    ctx: Context,
    service: str | None = None,
    image: str | None = None,
    canary: str | None = None,
    model_version: str | None = None,
    dry_run: bool = False,
    no_rollback: bool = False,
    skip_tests: bool = False,
    force_unlock: bool = False,
) -> Report:
    """Deploy a service safely: checklist, lock, new revision, observation, auto-rollback."""
    from nbaops.deploy.deploy import run_deploy

    req = _request(
        ctx,
        service,
        canary,
        image=image,
        model_version=model_version,
        dry_run=dry_run,
        no_rollback=no_rollback,
        skip_tests=skip_tests,
        force_unlock=force_unlock,
    )
    return _interruptible(run_deploy, ctx, req)


@nbaops_task(
    "nbaops.deploy.rollback.run_rollback",
    help={
        "service": SERVICE_HELP,
        "to": "Revision to route 100% of traffic to (default: the pre-deploy revision in "
        "the service's deploy journal, else the oldest revision of a split, else the newest "
        "ready revision older than the serving one).",
        "dry_run": "Print the request and verification plan; change nothing.",
        "force_unlock": "Remove an existing deploy lease first (audited as force-unlock).",
    },
)
def rollback(
    ctx: Context,
    service: str | None = None,
    to: str | None = None,
    dry_run: bool = False,
    force_unlock: bool = False,
) -> Report:
    """Route 100% of a service's traffic to a previous revision, verified and audited."""
    from nbaops.deploy.rollback import run_rollback

    return _interruptible(
        run_rollback, ctx, _service(ctx, service), to=to, dry_run=dry_run, force_unlock=force_unlock
    )


@nbaops_task(
    "nbaops.deploy.verify.run_verify",
    help={
        "service": SERVICE_HELP,
        "dry_run": "Do not recover an interrupted deploy (report what recovery would do); "
        "the read-only checks run as usual.",
    },
)
def verify_deploy(ctx: Context, service: str | None = None, dry_run: bool = False) -> Report:
    """Health and post-deploy validation of what serves now (recovers an interrupted deploy)."""
    from nbaops.deploy.signals import terminate_as_interrupt
    from nbaops.deploy.verify import run_verify

    with terminate_as_interrupt():  # its recovery changes traffic: SIGTERM stops it like Ctrl-C
        return run_verify(ctx, _service(ctx, service), dry_run=dry_run)


@nbaops_task(
    "nbaops.deploy.full.run_full_deploy",
    help={k: v for k, v in DEPLOY_HELP.items() if k != "skip_tests"},
)
def full_deploy(
    ctx: Context,
    service: str | None = None,
    image: str | None = None,
    canary: str | None = None,
    model_version: str | None = None,
    dry_run: bool = False,
    no_rollback: bool = False,
    force_unlock: bool = False,
) -> Report:
    """Pre-deploy (tests always run), deploy, then verify-deploy."""
    from nbaops.deploy.full import run_full_deploy

    req = _request(
        ctx,
        service,
        canary,
        image=image,
        model_version=model_version,
        dry_run=dry_run,
        no_rollback=no_rollback,
        force_unlock=force_unlock,
    )
    return _interruptible(run_full_deploy, ctx, req)


@nbaops_task(
    "nbaops.deploy.history.recent_deploys",
    help={
        "service": "Only this service's deploys.",
        "limit": "At most this many rows, 1 to 1000 (default 20).",
        "days": "Look back this many days, 1 to 400 (default 30; bounds the partition scan).",
    },
)
def deploys(
    ctx: Context, service: str | None = None, limit: str | None = None, days: str | None = None
) -> Report:
    """Recent deploy, rollback and force-unlock audit rows."""
    from nbaops.cli.flags import integer
    from nbaops.deploy.history import MAX_DAYS, MAX_LIMIT, recent_deploys

    rows = integer(limit, "limit", default=20, minimum=1, maximum=MAX_LIMIT)
    window = integer(days, "days", default=30, minimum=1, maximum=MAX_DAYS)
    return recent_deploys(ctx, service=service, limit=rows, days=window)


ns = Collection(pre_deploy, deploy, rollback, verify_deploy, full_deploy, deploys)
