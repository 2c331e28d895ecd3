"""The dry-run plan of ``inv deploy``: every request and query the deploy would make.

:func:`write_plan` fills a :class:`~nbaops.deploy.deploy_report.DeployReport` with the
lease and journal write, the image, the revision PATCH, health URLs, each post-deploy
query (with a BigQuery dry-run byte estimate in prod) and the audit insert; it changes
nothing. Split from :mod:`nbaops.deploy.deploy` to keep that module about the deploy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbaops import clock
from nbaops.deploy import audit, lock
from nbaops.deploy.heartbeat import default_interval
from nbaops.deploy.journal import JOURNAL_ANNOTATION
from nbaops.deploy.recovery import inspect, stale_lease, stale_lease_wait
from nbaops.verdict import Verdict, worst

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import ServiceInfo
    from nbaops.config import ServiceConfig
    from nbaops.context import Context
    from nbaops.deploy.image import ImagePlan
    from nbaops.deploy.inflight import InFlight


def plan_queries(ctx: Context, cfg: ServiceConfig) -> list[str]:
    """The post-deploy checks' declared queries, with a byte estimate in prod.

    Estimates bind each query's typed example parameters (:class:`nbaops.checks.spec.Query`)
    moved to the current time, so they cover the same window the check would.
    """
    from nbaops.checks import plan_post_deploy

    lines: list[str] = []
    for planned in plan_post_deploy(ctx, cfg, revision="<new revision>"):
        spec = planned.spec
        if spec.reads_logs:
            lines.append(
                f"  check {spec.id}: Cloud Logging entries:list "
                f"(resource.labels.revision_name=<new revision>, severity>=ERROR, "
                "last 10 minutes)"
            )
            continue
        for query in spec.queries:
            estimate = "bytes: unknown on the local warehouse"
            if not ctx.is_local:
                try:
                    est = ctx.warehouse.estimate_bytes(query.sql, query.example_at(clock.now()))
                    estimate = f"~{est:,} bytes" if est is not None else "bytes: unknown"
                except Exception as exc:
                    estimate = f"bytes: could not estimate ({type(exc).__name__})"
            compact = " ".join(query.sql.split())
            lines.append(f"  check {spec.id} {query.name} [{estimate}]: {compact}")
    return lines


def write_plan(
    d: InFlight,
    img: ImagePlan,
    labels: dict[str, str],
    env: dict[str, str],
    info: ServiceInfo,
) -> None:
    """Fill the dry-run plan: every request and query the deploy would make."""
    from nbaops.canary.run import plan_lines

    ctx, req, cfg, settings, report = d.ctx, d.req, d.cfg, d.settings, d.report
    service = cfg.name
    path = ctx.cloudrun.service_path(service)
    tag = settings.candidate_tag
    before = report.revision_before
    percent = req.canary or 100
    current = ctx.cloudrun.get_service(service)
    held = lock.lease_of(current)
    if held is None or held.lapsed(clock.now()):  # expired, or its process here is gone
        lock_state = "free"
    elif stale_lease(current) is not None:  # its deploy most likely died elsewhere (recover)
        lock_state = f"held by {held.holder} since {held.since.isoformat()}, " + stale_lease_wait(
            held, "deploy"
        )
    else:
        since = held.since.isoformat()
        lock_state = f"held by {held.holder} since {since} — the deploy would refuse"
    plan = [
        f"1. lease: PATCH {path} annotations[{lock.LOCK_ANNOTATION}] and "
        f"annotations[{JOURNAL_ANNOTATION}] (pre-deploy traffic) with etag compare-and-swap "
        f"(lease {settings.lock_ttl_s:g}s, renewed every "
        f"{default_interval(settings.lock_ttl_s):g}s; now {lock_state}); every later write "
        "journals its intent first and is fenced by the lease",
        f"2. image: {img.describe()}",
    ]
    if img.build is not None:
        plan.append(f"   Cloud Build request: {img.build}")
    plan += [
        f"3. revision: PATCH {path} template.containers[0].image={img.ref} "
        f"template.labels+={labels}"
        + (f" env+={env}" if env else "")
        + f"; traffic pinned to {before}, new revision tagged {tag!r} at 0%",
        f"4. wait Ready (≤ {settings.ready_timeout_s:g}s), then GET <tag {tag} URL>"
        f"{cfg.health_path} until 2xx (≤ {settings.health_wait_s:g}s)",
        f"5. traffic: PATCH {path} traffic=[new {percent}%"
        + (f", {before} {100 - percent}%]" if percent < 100 else "]"),
        f"6. observe: {settings.observation.describe()}; each round: GET <tag URL>"
        f"{cfg.health_path} and these post-deploy checks:",
        *plan_queries(ctx, cfg),
        *plan_lines(ctx, service, percent),
        "7. outcome: PASS/WARN → promote (PATCH traffic new=100%); FAIL → "
        + (
            "hold (--no-rollback)"
            if req.no_rollback
            else f"PATCH {path} traffic=[{before}=100%] and verify"
        )
        + f"; INCONCLUSIVE/ERROR → {'hold' if req.no_rollback else settings.on_inconclusive}",
        f"8. journal the outcome; audit: INSERT 1 row INTO {audit.TABLE}; release the lease "
        "and remove the journal in one write",
    ]
    interrupted = inspect(info)
    if interrupted is not None:
        plan.insert(0, f"0. recover first: {interrupted.describe()}")
    report.plan = plan
    pre_verdict = worst(c.verdict for c in report.predeploy)
    report.outcome = "planned"
    report.verdict_override = (
        pre_verdict if pre_verdict in (Verdict.FAIL, Verdict.ERROR) else Verdict.PASS
    )
    would = (
        "would be REFUSED by the checklist"
        if report.verdict_override is not Verdict.PASS
        else "would proceed"
    )
    report.summary = (
        f"DRY RUN deploy {service}: {would}; {img.ref} replacing "
        f"{before} ({info.image}); nothing changed"
    )
