"""The one rollback procedure: route 100% of traffic to a known-good revision, then verify.

:func:`restore_traffic` is used by the automated rollback of ``inv deploy``, by the
recovery of an interrupted deploy and by ``inv rollback``: one PATCH
``traffic = [{type: REVISION, revision: TARGET, percent: 100}]`` (what
``gcloud run services update-traffic --to-revisions=TARGET=100`` does), then a fresh read
that confirms the target serves 100%, then the target's health endpoint. Anything short
of that is a failed rollback, reported with the exact manual commands.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nbaops.deploy.journal import traffic_text
from nbaops.verdict import CheckResult, Verdict, worst

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import ServiceInfo, TrafficSplit
    from nbaops.config import ServiceConfig
    from nbaops.context import Context
    from nbaops.deploy.progress import Progress


def manual_commands(ctx: Context, service: str, target: str) -> list[str]:
    """The exact commands a person runs when the automated rollback failed.

    Each is runnable as printed: ``inv rollback`` carries ``--force-unlock`` (the deploy
    that printed it has ended; whatever lease is left is its own) and ``--profile`` when
    not local; the ``gcloud`` commands name the project and region.
    """
    prof = ctx.config.profile
    where = f"--project={prof.project} --region={prof.region}"
    profile = "" if ctx.is_local else f" --profile {ctx.profile}"
    return [
        f"inv rollback --service {service} --to {target} --force-unlock{profile}",
        f"gcloud run services update-traffic {service} {where} --to-revisions={target}=100",
        f"gcloud run services describe {service} {where} --format='value(status.traffic)'",
    ]


@dataclass
class RollbackResult:
    service: str
    target: str
    from_revision: str | None
    checks: list[CheckResult] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.verdict is Verdict.PASS for c in self.checks)


def restore_traffic(
    ctx: Context,
    cfg: ServiceConfig,
    target: str,
    *,
    from_revision: str | None,
    health_timeout_s: float,
    progress: Progress | None = None,
    fence: Callable[[ServiceInfo], None] | None = None,
    splits: list[TrafficSplit] | None = None,
) -> RollbackResult:
    """PATCH 100% to ``target`` (or exactly ``splits``, a split that served before), then
    verify the traffic and, when one revision serves, its health. Never raises for API errors.

    ``fence`` (the caller's lease check) runs on the read the PATCH is based on; when it
    raises :class:`~nbaops.deploy.lock.LeaseLostError` nothing is written and the error
    propagates: a deploy that lost its lease must not touch the service.

    Returns:
        The result; ``ok`` only when the PATCH succeeded, a fresh read shows the wanted
        traffic and a single target's health endpoint answers 2xx. Otherwise ``manual``
        holds the commands (back to ``target``).
    """
    from nbaops.adapters.cloudrun import TrafficSplit
    from nbaops.deploy.lock import LeaseLostError, retry_cas

    service = cfg.name
    splits = splits or [TrafficSplit(target, 100)]
    want = {s.revision: s.percent for s in splits}
    wanted = traffic_text(want)
    result = RollbackResult(service, target, from_revision)
    started = time.perf_counter()
    if progress is not None:
        moving = f"100% of traffic to {target}" if len(want) == 1 else f"traffic to {wanted}"
        progress.step("rollback", f"routing {moving}")
    try:
        retry_cas(
            lambda: ctx.cloudrun.set_traffic(service, splits, fence=fence),
            f"{service}: could not route traffic to {wanted}",
        )
        verdict, message = Verdict.PASS, f"traffic update to {wanted} accepted"
    except LeaseLostError:
        raise
    except Exception as exc:
        verdict, message = Verdict.ERROR, f"traffic update failed: {exc}"
    result.checks.append(
        CheckResult.timed(
            "rollback_traffic_update",
            service,
            verdict,
            message,
            value=wanted if verdict is Verdict.PASS else None,
            threshold="PATCH succeeds",
            query=f"run_v2 UpdateService {service} traffic=[{wanted}]",
            started=started,
        )
    )
    if verdict is not Verdict.PASS:
        result.manual = manual_commands(ctx, service, target)
        return result
    return verify_traffic(ctx, cfg, result, want, health_timeout_s, progress)


def verify_traffic(
    ctx: Context,
    cfg: ServiceConfig,
    result: RollbackResult,
    want: dict[str, int],
    health_timeout_s: float,
    progress: Progress | None = None,
) -> RollbackResult:
    """Add to ``result`` a fresh read's check that traffic is ``want`` and, when one
    revision is wanted, its health; ``manual`` is set unless all pass. Never raises for
    API errors. (:func:`restore_traffic` after its PATCH; ``inv rollback`` on its own when
    an interrupted rollback had already moved the traffic.)"""
    from nbaops.deploy.checklist import timed
    from nbaops.deploy.predeploy import health_url, probe_health

    service, target = cfg.name, result.target
    wanted = traffic_text(want)
    started = time.perf_counter()
    info: ServiceInfo | None = None
    try:
        info = ctx.cloudrun.get_service(service)
        now = {r: p for r, p in info.traffic_by_revision.items() if p}
        split = traffic_text(now)
        verdict, message = (Verdict.PASS if now == want else Verdict.FAIL), f"traffic now: {split}"
    except Exception as exc:
        verdict, message, split = Verdict.ERROR, f"could not read traffic: {exc}", ""
    result.checks.append(
        CheckResult.timed(
            "rollback_traffic_verified",
            service,
            verdict,
            message,
            value=split or None,
            threshold=f"traffic: {wanted}",
            query=f"run_v2 GetService {service}",
            started=started,
        )
    )
    if info is not None and len(want) == 1:

        def probe(served: ServiceInfo = info) -> CheckResult:
            url = health_url(ctx, served, target, cfg.health_path)
            return probe_health(
                ctx,
                service,
                url,
                timeout_s=health_timeout_s,
                name="rollback_health",
                revision=target,
            )

        result.checks.append(timed("rollback_health", service, probe))
    if not result.ok:
        result.manual = manual_commands(ctx, service, target)
    if progress is not None:
        progress.step(
            "rollback",
            f"{'verified' if result.ok else 'NOT verified'}: "
            f"{'; '.join(c.message for c in result.checks)}",
            worst(c.verdict for c in result.checks),
        )
    return result
