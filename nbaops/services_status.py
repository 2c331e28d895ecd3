"""What runs where: serving revision, deployed commit and health of each Cloud Run service.

Three operations, each returning a :class:`~nbaops.report.Report`:

- :func:`check_all_services` — per service: serving revision, its commit (the
  ``commit-sha`` label), traffic split, readiness and URL, with a verdict.
- :func:`deployed_commit_report` — the 40-hex commit serving one service's traffic
  (built on :func:`deployed_commit`, which drift detection reuses).
- :func:`health_check` — GET the health endpoint of the revision serving traffic.

Verdicts: PASS ready and serving one revision; WARN traffic split across revisions or
pinned to an older revision than the latest ready one, or not ready only because the
latest created revision failed while ready revisions serve (the judgement pre-deploy's
``deployment_status`` makes); FAIL not ready otherwise or nothing
serving (health: non-2xx or timeout); INCONCLUSIVE the commit label is missing or not a
40-hex SHA; ERROR the API call failed.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbaops.concurrency import map_concurrently
from nbaops.errors import CloudRunError, UsageError, first_line
from nbaops.report import CheckReport, places_beside
from nbaops.verdict import CheckResult, Verdict, clip

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import RevisionInfo, ServiceInfo, TrafficSplit
    from nbaops.context import Context

SHA_RE = re.compile(r"^[0-9a-f]{40}\Z")
DEFAULT_HEALTH_TIMEOUT_S = 5.0
HEALTH_WARN_LATENCY_S = 2.0


def is_commit_sha(value: str | None) -> bool:
    return bool(value and SHA_RE.match(value))


def _api_call(ctx: Context, service: str) -> str:
    return f"run_v2 GetService {ctx.cloudrun.service_path(service)}"


# ---------------------------------------------------------------- deployed commit


@dataclass
class DeployedCommit:
    """The commit(s) serving a service's traffic.

    Attributes:
        service: service name.
        serving_revision: the revision with the largest traffic percent (None: none).
        commit: that revision's ``commit-sha`` label when it is a 40-hex SHA, else None.
        revisions: every revision receiving traffic (percent > 0), largest share first.
        traffic: the resolved traffic split (tag-only targets included at 0%).
        commits: revision → its commit label (None when missing or malformed).
        raw_label: the serving revision's ``commit-sha`` label as found (may be malformed).
        uri: the service URL; ready: the service's Ready condition.
        reason: the Ready condition's message (why the service is not ready).
        failed_rollout: set when the service is not ready only because its latest created
            revision failed while ready revisions serve: what that says (see
            :func:`nbaops.deploy.predeploy.failed_rollout`).
    """

    service: str
    serving_revision: str | None
    commit: str | None
    revisions: list[RevisionInfo]
    traffic: list[TrafficSplit]
    commits: dict[str, str | None]
    raw_label: str | None
    uri: str
    ready: bool
    latest_ready_revision: str | None = None
    percents: dict[str, int] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    failed_rollout: str | None = None

    @property
    def is_split(self) -> bool:
        """True when more than one revision receives traffic."""
        return len(self.revisions) > 1

    def traffic_text(self) -> str:
        parts = [f"{rev}={pct}%" for rev, pct in self.percents.items() if pct > 0]
        tags = [f"{s.tag}→{s.revision}" for s in self.traffic if s.tag]
        text = ", ".join(parts) or "no traffic"
        return text + (f" (tags: {', '.join(tags)})" if tags else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "commit": self.commit,
            "serving_revision": self.serving_revision,
            "commit_label": self.raw_label,
            "ready": self.ready,
            "url": self.uri,
            "latest_ready_revision": self.latest_ready_revision,
            "traffic": [
                {"revision": s.revision, "percent": s.percent, "tag": s.tag} for s in self.traffic
            ],
            "revisions": [
                {**r.to_json(), "percent": self.percents.get(r.name, 0)} for r in self.revisions
            ],
        }


def deployed_commit_of(info: ServiceInfo, revisions: list[RevisionInfo]) -> DeployedCommit:
    """Resolve the deployed commit from a service and the revisions that receive traffic."""
    from nbaops.deploy.predeploy import failed_rollout

    percents = {rev: pct for rev, pct in info.traffic_by_revision.items() if pct > 0}
    by_name = {r.name: r for r in revisions}
    serving = sorted(
        (by_name[name] for name in percents if name in by_name),
        key=lambda r: percents[r.name],
        reverse=True,
    )
    commits = {r.name: (r.commit if is_commit_sha(r.commit) else None) for r in serving}
    serving_name = info.serving_revision
    raw = by_name[serving_name].commit if serving_name in by_name else None
    return DeployedCommit(
        service=info.name,
        serving_revision=serving_name,
        commit=commits.get(serving_name) if serving_name else None,
        revisions=serving,
        traffic=list(info.traffic),
        commits=commits,
        raw_label=raw,
        uri=info.uri,
        ready=info.ready,
        latest_ready_revision=info.latest_ready_revision,
        percents=percents,
        annotations=dict(info.annotations),
        reason=info.message,
        failed_rollout=failed_rollout(info, by_name.get(serving_name or "")),
    )


def deployed_commit(ctx: Context, service: str) -> DeployedCommit:
    """The commit serving ``service``'s traffic (reads the service and its serving revisions).

    Raises:
        UnknownServiceError: the config does not know ``service`` (exit 2).
        CloudRunError: the API call failed or the service does not exist in Cloud Run.
    """
    name = ctx.config.required_service(service).name
    cloudrun = ctx.cloudrun
    info = cloudrun.get_service(name)
    revisions = [
        cloudrun.get_revision(name, rev) for rev, pct in info.traffic_by_revision.items() if pct > 0
    ]
    return deployed_commit_of(info, revisions)


def _status_check(ctx: Context, dc: DeployedCommit, started: float) -> CheckResult:
    """The verdict of one service's status."""
    details = dc.to_json()
    serving = next((r for r in dc.revisions if r.name == dc.serving_revision), None)
    model = serving.model_version(ctx.config.service(dc.service).model_env) if serving else None
    if model:
        details["model_version"] = model  # what the serving revision runs (its model_env)
    query = _api_call(ctx, dc.service)
    threshold = (
        "PASS ready, one revision serving; WARN split, pinned, or a failed new revision "
        "while ready ones serve; FAIL not ready otherwise or an interrupted deploy"
    )

    def result(verdict: Verdict, message: str) -> CheckResult:
        return CheckResult(
            name="service_status",
            service=dc.service,
            verdict=verdict,
            value=dc.commit or dc.raw_label,
            threshold=threshold,
            message=message,
            query=query,
            duration_s=time.monotonic() - started,
            details=details,
        )

    from nbaops.deploy.recovery import inspect_annotations

    # the not-ready service that still serves says so, as pre-deploy's deployment_status does
    not_ready = dc.failed_rollout or (
        f"service is not ready: {dc.reason or 'no reason given'} (serving {dc.serving_revision})"
    )
    # an interrupted deploy first: its recovery is the next step, ready or not
    interrupted = inspect_annotations(dc.service, dc.annotations, dc.percents)
    if interrupted is not None:
        details["interrupted_deploy"] = interrupted.journal.to_json()
        return result(
            Verdict.FAIL,
            f"INTERRUPTED {interrupted.journal.action.upper()}: {interrupted.describe()}; "
            f"{interrupted.next_step()}" + ("" if dc.ready else f"; {not_ready}"),
        )
    if not dc.ready and not dc.failed_rollout:
        return result(Verdict.FAIL, not_ready)
    if dc.serving_revision is None:
        return result(Verdict.FAIL, "no revision receives traffic")
    if dc.commit is None:
        label = f"label {dc.raw_label!r} is not a 40-hex SHA" if dc.raw_label else "no label"
        return result(
            Verdict.INCONCLUSIVE,
            f"serving revision {dc.serving_revision} has no commit-sha ({label})",
        )
    if dc.failed_rollout:
        return result(Verdict.WARN, dc.failed_rollout)
    if dc.is_split:
        return result(Verdict.WARN, f"traffic is split: {dc.traffic_text()}")
    if dc.latest_ready_revision and dc.serving_revision != dc.latest_ready_revision:
        return result(
            Verdict.WARN,
            f"traffic pinned to {dc.serving_revision}; latest ready revision is "
            f"{dc.latest_ready_revision}",
        )
    runs = f" (model {model})" if model else ""
    return result(Verdict.PASS, f"{dc.serving_revision} serves 100% at {dc.commit[:12]}{runs}")


# ---------------------------------------------------------------- check-all-services


def services_status_report(profile: str, checks: list[CheckResult]) -> CheckReport:
    """One ``service_status`` check per service (its value: the 40-hex commit, whole and
    copyable); the JSON adds ``profile`` and a ``services`` summary row per service."""
    services = [
        {
            "service": c.service,
            "verdict": c.verdict.value,
            "serving_revision": c.details.get("serving_revision"),
            "commit": c.details.get("commit"),
            "traffic": c.details.get("traffic", []),
            "ready": c.details.get("ready"),
            "url": c.details.get("url"),
            "message": c.message,
        }
        for c in checks
    ]
    notes = [f"{s['service']}: {s['url']}" for s in services if s["url"]]
    return CheckReport(
        f"Cloud Run services ({profile})",
        checks,
        extra={
            "profile": profile,
            "services": services,
            "checks": [c.to_json() for c in checks],
        },
        notes=notes,
    )


def warm_cloudrun(ctx: Context) -> None:
    """Build the Cloud Run clients once, before the threads that share them."""
    cloudrun = ctx.cloudrun
    _ = cloudrun.services_client, cloudrun.revisions_client


def check_all_services(ctx: Context) -> CheckReport:
    """Status of every service in the config, read concurrently."""
    names = ctx.config.service_names

    def one(name: str) -> CheckResult:
        started = time.monotonic()
        try:
            return _status_check(ctx, deployed_commit(ctx, name), started)
        except CloudRunError as exc:
            result = CheckResult.error("service_status", name, exc, query=_api_call(ctx, name))
            result.message = first_line(exc)
            result.duration_s = time.monotonic() - started
            return result

    warm_cloudrun(ctx)
    return services_status_report(ctx.profile, map_concurrently(one, names))


# ---------------------------------------------------------------- deployed-commit


def deployed_commit_report(ctx: Context, service: str | None) -> CheckReport:
    """The commit serving ``service``, as a report (WARN when traffic is split).

    The report's title is the commit (``-`` when unknown), so the first line printed is
    the bare SHA for scripts (``$(inv deployed-commit --service S | head -1)``).
    """
    started = time.monotonic()
    name = ctx.config.required_service(service).name
    dc = deployed_commit(ctx, name)
    check = _status_check(ctx, dc, started)
    check.name = "deployed_commit"
    # a split over one commit leaves no doubt about the commit; a failed new revision
    # (the WARN _status_check gives it first) is still a warning
    one_commit = dc.is_split and len(set(dc.commits.values())) == 1
    if check.verdict is Verdict.WARN and one_commit and not dc.failed_rollout:
        check.verdict = Verdict.PASS
        check.message = f"traffic split over revisions of one commit: {dc.traffic_text()}"
    return CheckReport(
        dc.commit or "-",
        [check],
        extra={**dc.to_json(), "message": check.message, "query": check.query},
        summary=f"{dc.service}: {check.message}; traffic {dc.traffic_text()}",
    )


# ---------------------------------------------------------------- health-check


def latency_text(seconds: float) -> str:
    """A probe's latency: two decimals, more when two would round it onto or across
    :data:`HEALTH_WARN_LATENCY_S` (a 2.001 s answer WARNs: ``2.001s``, not ``2.00s`` beside
    "WARN slower than 2s"; a 1.999 s one passes as ``1.999s``)."""
    return f"{seconds:.{places_beside(seconds, HEALTH_WARN_LATENCY_S, places=2)}f}s"


def health_check(
    ctx: Context, service: str | None, *, timeout_s: float = DEFAULT_HEALTH_TIMEOUT_S
) -> CheckReport:
    """Probe the health endpoint of the revision serving ``service`` (via the service URL)."""
    started = time.monotonic()
    name = ctx.config.required_service(service).name
    if timeout_s <= 0:
        raise UsageError(f"--timeout must be positive, got {timeout_s:g}")
    health_path = ctx.config.service(name).health_path
    info = ctx.cloudrun.get_service(name)
    url = info.uri.rstrip("/") + health_path
    probe = ctx.health.probe(url, timeout_s=timeout_s)
    answered_by: str | None = None
    try:
        body = json.loads(probe.body) if probe.body else {}
        answered_by = body.get("revision") if isinstance(body, dict) else None
    except ValueError:
        pass
    details = {
        "service": name,
        "url": url,
        "serving_revision": info.serving_revision,
        "answered_by": answered_by,
        **probe.to_json(),
    }
    threshold = f"2xx within {timeout_s:g}s; WARN slower than {HEALTH_WARN_LATENCY_S:g}s"
    if probe.ok and probe.latency_s > HEALTH_WARN_LATENCY_S:
        latency = latency_text(probe.latency_s)
        verdict, message = Verdict.WARN, f"HTTP {probe.status} but slow ({latency})"
    elif probe.ok:
        verdict, message = Verdict.PASS, f"HTTP {probe.status} in {latency_text(probe.latency_s)}"
    elif probe.status is not None:
        verdict, message = Verdict.FAIL, f"HTTP {probe.status}: {clip(probe.body, 160)}"
    elif probe.error and "timed out" in probe.error:
        verdict, message = Verdict.FAIL, f"no answer: {probe.error}"
    else:
        verdict, message = Verdict.ERROR, f"could not probe: {probe.error}"
    if info.serving_revision:
        message += f" (serving {info.serving_revision})"
    check = CheckResult(
        name="health",
        service=name,
        verdict=verdict,
        value=probe.status,
        threshold=threshold,
        message=message,
        query=f"GET {url}",
        duration_s=time.monotonic() - started,
        details=details,
    )
    notes = [f"url: {url}"] + ([f"body: {details['body']}"] if details.get("body") else [])
    return CheckReport(
        f"health-check {name}",
        [check],
        extra={**details, "message": message, "checks": [check.to_json()]},
        notes=notes,
        summary=f"{name}: {message}",
    )
