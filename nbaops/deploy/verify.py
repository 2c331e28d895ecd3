"""``inv verify-deploy --service S``: health and post-deploy validation of what serves now.

One measurement (not a window): the serving revision's health endpoint (and that of every
other revision receiving traffic: a held canary), its readiness and traffic, and the
service's ``post_deploy`` checks narrowed to the serving revision.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from nbaops.errors import CloudRunError
from nbaops.report import CheckReport
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import ServiceInfo
    from nbaops.config import ServiceConfig
    from nbaops.context import Context
    from nbaops.deploy.predeploy import CurrentDeployment


def run_verify(ctx: Context, service: str, *, dry_run: bool = False) -> CheckReport:
    """Verify the serving revision of ``service``.

    An interrupted deploy on the service is recovered first (that changes traffic); with
    ``dry_run`` it is only reported (``interrupted_deploy`` WARN: what recovery would do)
    and everything else, read-only, runs as usual on the service as it is.

    Raises:
        UnknownServiceError: unknown service (exit 2).
    """
    from nbaops.checks import plan_post_deploy, run_post_deploy
    from nbaops.deploy.predeploy import check_status, read_current
    from nbaops.deploy.settings import DeploySettings

    cfg = ctx.config.service(service)
    settings = ctx.config.settings("deploy", DeploySettings)
    plan_post_deploy(ctx, cfg)  # an invalid post_deploy entry fails (exit 2) before any call
    checks = [] if dry_run else _recover(ctx, cfg)
    title = f"verify-deploy {service}" + (" (dry run: nothing recovered)" if dry_run else "")
    started = time.perf_counter()
    try:
        current = read_current(ctx, service)
    except Exception as exc:
        error = CheckResult.error("deployment_status", service, exc, f"run_v2 GetService {service}")
        error.duration_s = round(time.perf_counter() - started, 3)
        return CheckReport(title, [*checks, error])
    if dry_run:
        checks += _would_recover(current.service)
    serving = current.serving.name if current.serving else None
    checks += [
        check_status(current, service),
        *_health_of_every_serving_revision(ctx, current, cfg, settings.health_timeout_s),
        *run_post_deploy(ctx, cfg, revision=serving),
    ]
    return CheckReport(
        title,
        checks,
        extra={"service": service, "serving_revision": serving, "commit": current.commit},
    )


def _health_of_every_serving_revision(
    ctx: Context, current: CurrentDeployment, cfg: ServiceConfig, timeout_s: float
) -> list[CheckResult]:
    """``service_health`` of the largest share, then ``revision_health`` of every other
    revision with traffic (a held canary, a split left by hand: users reach it too; only
    the largest share was probed), all probed at once."""
    from nbaops.concurrency import map_concurrently
    from nbaops.deploy.checklist import DEPLOY_STEPS_DOC, Item
    from nbaops.deploy.predeploy import check_health, health_url, probe_health

    info = current.service
    serving = current.serving.name if current.serving else None
    others = [r for r, p in info.traffic_by_revision.items() if p > 0 and r and r != serving]

    def probe(revision: str | None) -> CheckResult:
        if revision is None:  # the largest share (or nothing serving): the service check
            return check_health(ctx, current, cfg, timeout_s)
        share = f"{info.traffic_by_revision[revision]}% of traffic"
        try:
            url = health_url(ctx, info, revision, cfg.health_path)
        except CloudRunError as exc:  # untagged and not the whole service: no URL of its own
            item = Item(
                "revision_health",
                cfg.name,
                f"HTTP 2xx within {timeout_s:g}s",
                f"run_v2 GetService {cfg.name} (traffic tags)",
                DEPLOY_STEPS_DOC,
            )
            return item.result(
                Verdict.INCONCLUSIVE, None, f"revision {revision} ({share}) not probed: {exc}"
            )
        result = probe_health(
            ctx, cfg.name, url, timeout_s=timeout_s, name="revision_health", revision=revision
        )
        result.message += f" ({share})"
        return result

    return map_concurrently(probe, [None, *others], name="verify-health")


def _would_recover(info: ServiceInfo) -> list[CheckResult]:
    """The interrupted deploy a real run would recover first, as one WARN (none: []); also
    under a lease no longer renewed, which the real run waits out first (recovery.recover)."""
    from nbaops.deploy.journal import journal_of
    from nbaops.deploy.recovery import Interrupted, inspect, stale_lease, stale_lease_wait

    found = inspect(info)
    stale = stale_lease(info) if found is None else None
    journal = journal_of(info) if stale is not None else None
    if stale is not None and journal is not None and journal.phase != "held":
        found = Interrupted(info.name, journal, dict(info.traffic_by_revision))
        then = f"the lease of {stale.holder}: " + stale_lease_wait(stale, "real run")
    else:
        then = "a real run would recover first"
    if found is None:
        return []
    message = f"dry run, not recovered: {then}: {found.describe()}"
    return [found.to_check(Verdict.WARN, message)]


def _recover(ctx: Context, cfg: ServiceConfig) -> list[CheckResult]:
    """An interrupted deploy is recovered first; the result is one WARN/ERROR check."""
    from nbaops.deploy import lock
    from nbaops.deploy.recovery import RecoveryFailedError, recover

    try:
        rec = recover(ctx, cfg)
    except (RecoveryFailedError, lock.LockHeldError, CloudRunError) as exc:
        return [CheckResult.error("interrupted_deploy", cfg.name, exc)]
    return [rec.to_check()] if rec is not None else []
