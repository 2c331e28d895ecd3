"""Deployment drift: code merged to main that is not serving traffic.

For each service:

1. the **serving commit**: the ``commit-sha`` label of the revision with the largest
   traffic share (the same resolution as ``inv deployed-commit``); every revision with
   traffic is reported with its commit, so a split is visible;
2. the **tip of main**: ``origin/main`` when the checkout has that remote branch, else
   the local ``main`` (``drift.main_branch`` in the config);
3. the **pending commits**: commits reachable from the tip and not from the serving
   commit that touch the service's ``source_paths`` (``git log deployed..tip -- paths``,
   all parents, newest first). Changes outside those paths never make a service drift;
4. the **age** of the oldest pending commit, by committer time (when it was committed
   into this history; a rebase or squash-merge sets it to the merge time).

Verdicts: nothing pending → PASS; pending and the oldest younger than the window → WARN;
older → FAIL. A serving revision without a ``commit-sha`` label (or no traffic at all)
→ INCONCLUSIVE; a label naming a commit this repository does not have → ERROR (usually
a shallow clone: fetch full history). A serving commit that is not on main is reported
and is at least WARN: what runs is code main does not have.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from nbaops import clock
from nbaops.concurrency import map_concurrently
from nbaops.drift.report import DriftReport, ServiceDrift, TrafficShare, human_age
from nbaops.errors import ConfigError, NbaopsError, first_line
from nbaops.gitrepo import Repo
from nbaops.verdict import Verdict, worst

if TYPE_CHECKING:
    from nbaops.config import ServiceConfig
    from nbaops.context import Context
    from nbaops.services_status import DeployedCommit

COMMIT_LABEL = "commit-sha"


def traffic_shares(dc: DeployedCommit) -> tuple[TrafficShare, ...]:
    """Every revision receiving traffic, with the commit its label names and its tag.

    The serving commit comes from :func:`nbaops.services_status.deployed_commit` (what
    ``inv deployed-commit`` and ``inv check-all-services`` show), so all three agree on
    what is deployed. A label that is not a 40-hex SHA counts as missing.
    """
    tags = {split.revision: split.tag for split in dc.traffic if split.tag}
    return tuple(
        TrafficShare(
            revision=rev.name,
            percent=dc.percents.get(rev.name, 0),
            commit=dc.commits.get(rev.name),
            tag=tags.get(rev.name, ""),
        )
        for rev in dc.revisions
    )


def detect_service(
    ctx: Context,
    service: ServiceConfig,
    repo: Repo,
    *,
    head: str,
    main_ref: str,
    window: dt.timedelta,
    now: dt.datetime,
) -> ServiceDrift:
    """The drift of one service (never raises for adapter or git trouble: ERROR instead)."""
    started = time.monotonic()
    drift = ServiceDrift(
        service=service.name,
        verdict=Verdict.ERROR,
        message="",
        source_paths=service.source_paths,
        window_s=window.total_seconds(),
        head_commit=head,
        main_ref=main_ref,
    )
    try:
        _measure(ctx, service, repo, drift, head=head, window=window, now=now)
    except NbaopsError as exc:
        drift.verdict = Verdict.ERROR
        drift.message = first_line(exc)
    drift.duration_s = time.monotonic() - started
    return drift


def _measure(
    ctx: Context,
    service: ServiceConfig,
    repo: Repo,
    drift: ServiceDrift,
    *,
    head: str,
    window: dt.timedelta,
    now: dt.datetime,
) -> None:
    from nbaops.services_status import deployed_commit

    state = deployed_commit(ctx, service.name)
    drift.traffic = traffic_shares(state)
    revision = drift.deployed_revision = state.serving_revision
    split_note = ""
    if drift.split:
        shares = ", ".join(
            f"{t.revision} {t.percent}% ({(t.commit or 'no commit label')[:8]})"
            for t in drift.traffic
            if t.percent > 0
        )
        split_note = f"; traffic split: {shares}"
    if revision is None:
        drift.verdict = Verdict.INCONCLUSIVE
        drift.message = "no revision serves traffic; cannot tell which commit is deployed"
        return
    if not state.commit:
        what = (
            f"a {COMMIT_LABEL!r} label {state.raw_label!r} that is not a 40-hex SHA"
            if state.raw_label
            else f"no {COMMIT_LABEL!r} label"
        )
        drift.verdict = Verdict.INCONCLUSIVE
        drift.message = (
            f"serving revision {revision} has {what}; "
            f"cannot tell which commit is deployed{split_note}"
        )
        return
    drift.deployed_commit = state.commit
    if not repo.commit_exists(state.commit):
        shallow = " (this clone is shallow: fetch full history)" if repo.is_shallow() else ""
        drift.verdict = Verdict.ERROR
        drift.message = (
            f"serving commit {state.commit[:12]} (revision {revision}) is not in this "
            f"repository{shallow}"
        )
        return
    deployed = repo.resolve(state.commit)
    drift.deployed_commit = deployed
    drift.deployed_on_main = repo.is_ancestor(deployed, head)
    drift.pending = repo.commits_between(deployed, head, list(service.source_paths))
    window_s = window.total_seconds()
    if not drift.pending:
        verdict = Verdict.PASS
        message = f"in sync: serving {deployed[:8]}; no change to its paths since that commit"
    else:
        n = len(drift.pending)
        # the oldest by committer time, not the last listed (a rebase can give a parent a
        # later committer date than its child)
        oldest = min(drift.pending, key=lambda c: c.committed_at)
        age = max(0.0, (now - oldest.committed_at).total_seconds())
        drift.oldest_pending_age_s = age
        verdict = Verdict.FAIL if age > window_s else Verdict.WARN
        message = (
            f"{n} pending commit{'s' if n != 1 else ''} touching its paths; oldest "
            f"{oldest.short} waiting {human_age(age, window_s)} "
            f"({'over' if verdict is Verdict.FAIL else 'within'} the {human_age(window_s)} window)"
        )
    if not drift.deployed_on_main:
        message += f"; serving commit {deployed[:8]} is not on {drift.main_ref}"
        verdict = worst([verdict, Verdict.WARN])
    drift.verdict = verdict
    drift.message = message + split_note


def repository_root(ctx: Context, repository: str) -> Path:
    """The repository whose history drift reads (``drift.repository``).

    ``sandbox`` (the local profile's setting) is the sandbox's platform clone, which the
    ``drift`` fault extends (:mod:`nbaops.sandbox.platform_repo`); anything else is a
    folder relative to the config's root (``.``: this repository).
    """
    if repository != "sandbox":
        return (ctx.root / repository).resolve()
    if not ctx.is_local:
        raise ConfigError("drift.repository: 'sandbox' needs a local profile")
    from nbaops.sandbox import lifecycle, platform_repo

    lifecycle.ensure_sandbox(ctx)
    return platform_repo.ensure_platform_repo(lifecycle.settings_for(ctx).home, ctx.root)


def detect_drift(
    ctx: Context,
    *,
    service: str | None = None,
    window: dt.timedelta | None = None,
    fetch: bool = False,
) -> DriftReport:
    """Measure the drift of one service (``service``) or all of them.

    Args:
        ctx: the run context (config, Cloud Run adapter).
        service: a service name, or None for all (UnknownServiceError → exit 2).
        window: the allowed age of undeployed commits; default ``drift.window`` (6h).
        fetch: run ``git fetch`` first so ``origin/main`` is current.

    Raises:
        UsageError: unknown service or a bad window (nothing measured).
        GitError: git is missing, the project is not a repository or main is unknown.
    """
    from nbaops.drift.settings import DriftSettings

    settings = ctx.config.settings("drift", DriftSettings)
    selected = ctx.config.select_services(service)
    window = window or settings.window
    now = clock.now()
    repo = Repo(repository_root(ctx, settings.repository))
    if fetch:
        repo.fetch()
    main_ref = repo.main_ref(branch=settings.main_branch)
    head = repo.main_tip(branch=settings.main_branch)
    from nbaops.services_status import warm_cloudrun

    with suppress(NbaopsError):  # a failure here is reported per service instead
        warm_cloudrun(ctx)
    results = map_concurrently(
        lambda svc: detect_service(
            ctx, svc, repo, head=head, main_ref=main_ref, window=window, now=now
        ),
        selected,
    )
    return DriftReport(
        services=results,
        head_commit=head,
        main_ref=main_ref,
        window_s=window.total_seconds(),
        generated_at=now,
        profile=ctx.profile,
    )
