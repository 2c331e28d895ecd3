"""The pre-deploy checklist: eight checks, each a :class:`~nbaops.verdict.CheckResult`.

1. ``uncommitted_changes`` — the working tree; changes under the service's source paths
   FAIL (the image is built from the commit, so they would silently not ship), changes
   elsewhere WARN.
2. ``branch`` — the checked-out branch is ``main`` (else FAIL).
3. ``remote_sync`` — ahead/behind the upstream after a fetch: behind or ahead FAIL
   (deploying would drop or ship unreviewed commits); no upstream WARN; fetch failed WARN.
4. ``commits_since_deployed`` — commits between the deployed commit and ``HEAD``, listed
   (author, subject). ``HEAD`` not containing the deployed commit FAILs (the deploy would
   remove live commits); nothing new WARNs (a redeploy); no ``commit-sha`` label or a
   commit unknown here is INCONCLUSIVE.
5. ``schema_changes`` — table schema files changed under ``schemas/`` since the deployed
   commit, with the breaking-change verdict from :mod:`nbaops.bqschema.breaking` when that
   rule set is available (breaking FAIL), else WARN listing the files.
6. ``tests`` — the configured ``deploy.test_command`` (non-zero exit FAIL; ``--skip-tests``
   WARN).
7. ``deployment_status`` — service Ready and traffic 100% on the latest ready revision
   (not Ready FAIL; traffic elsewhere or split WARN).
8. ``service_health`` — the serving revision's health endpoint (unhealthy FAIL).

Independent checks run concurrently: the git checks, the test command and the Cloud Run
reads. A check that raises becomes ERROR with the error text; it is never PASS.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nbaops.concurrency import map_concurrently
from nbaops.deploy.checklist import (
    DEPLOY_STEPS_DOC,
    PREDEPLOY_DOC,
    Item,
    check_branch,
    check_commits,
    check_schema_changes,
    check_sync,
    check_uncommitted,
    timed,
)
from nbaops.deploy.journal import traffic_text
from nbaops.deploy.test_command import Stopped, TestCommands
from nbaops.errors import GitError
from nbaops.verdict import CheckResult, Verdict, clip

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import RevisionInfo, ServiceInfo
    from nbaops.config import ServiceConfig
    from nbaops.context import Context
    from nbaops.gitrepo import Repo

CHECK_NAMES = (
    "uncommitted_changes",
    "branch",
    "remote_sync",
    "commits_since_deployed",
    "schema_changes",
    "tests",
    "deployment_status",
    "service_health",
)

Progress = Callable[[CheckResult], None]


@dataclass
class CurrentDeployment:
    """What serves now, read once and shared by checks 4, 5, 7 and 8 and by the deploy."""

    service: ServiceInfo
    serving: RevisionInfo | None

    @property
    def commit(self) -> str | None:
        return self.serving.commit if self.serving else None


@dataclass
class PredeployResult:
    service: str
    checks: list[CheckResult]
    head: str | None = None
    current: CurrentDeployment | None = None

    @property
    def blocking(self) -> list[CheckResult]:
        """Checks that stop a deploy: FAIL (exit 1) and ERROR (exit 3)."""
        return [c for c in self.checks if c.verdict in (Verdict.FAIL, Verdict.ERROR)]


# ------------------------------------------------------------------- 6: tests


def test_argv(command: str) -> list[str]:
    """The command as argv; a leading ``python`` runs this interpreter (the toolkit's venv)."""
    argv = shlex.split(command)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    return argv


def check_tests(
    root: str,
    service: str,
    command: str,
    timeout_s: float,
    skip: bool,
    *,
    reuse: tuple[Path, str] | None = None,
    commands: TestCommands | None = None,
    still_clean: Callable[[], bool] | None = None,
) -> CheckResult:
    """Run the test command; ``reuse`` = (state folder, clean HEAD) reuses a passing run.

    ``still_clean``, asked after a passing run, says whether the tree is still clean at
    that HEAD: an edit (or a commit) made while the tests ran is not remembered as a pass
    of the HEAD checked before them.

    ``commands`` runs it as a process group that an interrupted checklist stops
    (:mod:`nbaops.deploy.test_command`).

    A passing run of the same command on the same clean HEAD is not repeated (see
    :mod:`nbaops.deploy.test_results`); the result says it was reused and when it ran.
    """
    item = Item("tests", service, "test command exits 0", command)
    if skip:
        return item.result(
            Verdict.WARN,
            None,
            "skipped (--skip-tests): the deploy is not covered by the test suite",
        )
    argv = test_argv(command)
    if not argv:
        return item.result(Verdict.ERROR, None, "deploy.test_command is empty")
    from nbaops.deploy import test_results

    key = test_results.result_key(reuse[1], command) if reuse else None
    if reuse and key:
        seen = test_results.lookup(reuse[0], key)
        if seen is not None:
            return item.result(
                Verdict.PASS,
                0,
                f"tests passed for {reuse[1][:12]} at {seen['passed_at']} (reused: same commit, "
                f"same command, clean tree): {clip(str(seen.get('summary', '')), 200)}",
            )
    env = dict(os.environ)
    env["NBAOPS_PREDEPLOY_TESTS"] = "1"
    from nbaops.heartbeat import heartbeat

    runner = commands or TestCommands()
    try:
        with heartbeat(f"tests: {command}", timeout_s):
            # an argument list from the config, never a shell
            proc = runner.run(argv, cwd=root, env=env, timeout_s=timeout_s)
    except FileNotFoundError:
        return item.result(Verdict.ERROR, None, f"test command not found: {argv[0]}")
    except subprocess.TimeoutExpired:
        return item.result(Verdict.ERROR, None, f"test command timed out after {timeout_s:g}s")
    except Stopped:
        return item.result(Verdict.ERROR, None, "not run: the checklist was interrupted")
    tail = [ln for ln in (proc.stdout + "\n" + proc.stderr).strip().splitlines() if ln.strip()]
    last = tail[-1].strip() if tail else ""
    if proc.returncode != 0:
        return item.result(
            Verdict.FAIL,
            proc.returncode,
            f"tests failed (exit {proc.returncode}): {clip(last, 300)}",
            {"output_tail": tail[-20:]},
        )
    note = ""
    if reuse and key and still_clean is not None and not still_clean():
        note = " (not remembered for reuse: the tree changed while the tests ran)"
    elif reuse and key:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        try:  # remembering only saves the next run's tests: the run itself passed
            test_results.remember(
                reuse[0],
                key,
                {"head": reuse[1], "command": command, "passed_at": stamp, "summary": last},
            )
        except OSError as exc:  # a read-only or full state folder
            note = f" (not remembered for reuse: {exc.strerror or exc})"
    passed = f"tests passed: {clip(last, 300)}" if last else "tests passed"
    return item.result(Verdict.PASS, 0, passed + note)


def _reuse(ctx: Context, repo: Repo | None, head: str | None) -> tuple[Path, str] | None:
    """Where a passing run of this clean HEAD is remembered; None when the tree is dirty."""
    if repo is None or not head or repo.is_dirty():
        return None
    return ctx.home, head


def _unchanged(repo: Repo | None, head: str | None) -> bool:
    """The tree is still clean at ``head`` (asked again after the tests ran)."""
    try:
        return repo is not None and bool(head) and repo.head() == head and not repo.is_dirty()
    except GitError:
        return False


# ------------------------------------------------------------------- 7-8: what serves now


def read_current(ctx: Context, service: str) -> CurrentDeployment:
    info = ctx.cloudrun.get_service(service)
    serving_name = info.serving_revision
    serving = ctx.cloudrun.get_revision(service, serving_name) if serving_name else None
    return CurrentDeployment(info, serving)


def check_status(current: CurrentDeployment, service: str) -> CheckResult:
    info = current.service
    item = Item(
        "deployment_status",
        service,
        "Ready; 100% of traffic on the latest ready revision",
        f"run_v2 GetService {service}",
    )
    split = traffic_text(info.traffic_by_revision)
    by_rev = info.traffic_by_revision
    ready = info.latest_ready_revision
    failed = failed_rollout(info, current.serving)
    if failed:  # the service serves: a FAIL would refuse every later deploy, the fix included
        return item.result(Verdict.WARN, split, failed)
    if not info.ready:
        return item.result(
            Verdict.FAIL,
            split or None,
            f"service is not Ready: {info.message or 'no reason given'}",
        )
    if current.serving is None:
        return item.result(Verdict.FAIL, None, "no revision serves traffic")
    # Ready means the latest created revision is the latest ready one (run.v2
    # Service.reconciling: "If reconciliation succeeded, the following fields will match:
    # ... latest_ready_revision and latest_created_revision"; googleapis
    # google/cloud/run/v2/service.proto): one that failed leaves the service not Ready
    if by_rev.get(ready or "", 0) != 100:
        return item.result(
            Verdict.WARN,
            split,
            f"Ready, but traffic is {split or 'nowhere'}, not 100% on the latest ready "
            f"revision {ready} (after a rollback or a canary?)",
        )
    return item.result(Verdict.PASS, split, f"Ready; {current.serving.name} serves 100%")


def failed_rollout(info: ServiceInfo, serving: RevisionInfo | None) -> str | None:
    """What a not-Ready service says when only its new revision failed and ready revisions
    serve (the latest ready one, or older ones a rollback routed to); None in any other state.

    run.v2 Service.reconciling: "If reconciliation failed, traffic_statuses,
    observed_generation, and latest_ready_revision will have the state of the last serving
    revision" (terminal_condition says why, e.g. reason REVISION_FAILED); it stays failed
    after a rollback too (success needs latest_ready_revision and latest_created_revision to
    match). The one judgement of that state: pre-deploy's ``deployment_status`` and
    ``inv check-all-services`` both WARN with this text.
    """
    ready, failed = info.latest_ready_revision, info.latest_created_revision
    by_rev = info.traffic_by_revision
    if (
        info.ready
        or info.reconciling
        or serving is None
        or not serving.ready
        or not (ready and failed)
        or failed == ready
        or by_rev.get(failed or "", 0)
    ):
        return None
    serves = (
        f"the latest ready revision {ready} still serves 100%"
        if by_rev.get(ready or "", 0) == 100
        else f"{traffic_text(by_rev)} serves"
    )
    return (
        f"the latest created revision {failed} failed to become ready "
        f"({info.message or 'no reason given'}); {serves}"
    )


def health_url(ctx: Context, info: ServiceInfo, revision: str, path: str) -> str:
    """The URL of ``revision``'s health endpoint (tag URL, or the service URI it serves);
    else :meth:`~nbaops.adapters.cloudrun.CloudRun.revision_url` of a fresh read (its
    CloudRunError when it still has none)."""
    url = info.tag_url(revision)
    if url is None and info.serving_revision == revision:
        url = info.uri
    if url is None:
        url = ctx.cloudrun.revision_url(info.name, revision)
    return url.rstrip("/") + path


def probe_health(
    ctx: Context,
    service: str,
    url: str,
    *,
    timeout_s: float,
    name: str = "service_health",
    revision: str = "",
) -> CheckResult:
    result = ctx.health.probe(url, timeout_s=timeout_s)
    # service_health is a checklist item; the new revision's and a rollback's probes are
    # steps of the deploy (or rollback) itself
    doc = PREDEPLOY_DOC if name == "service_health" else DEPLOY_STEPS_DOC
    item = Item(name, service, f"HTTP 2xx within {timeout_s:g}s", f"GET {url}", doc)
    who = f"revision {revision}" if revision else "service"
    if result.ok:
        return item.result(
            Verdict.PASS,
            result.status,
            f"{who} healthy: HTTP {result.status} in {result.latency_s:.2f}s",
        )
    return item.result(
        Verdict.FAIL,
        result.status,
        f"{who} unhealthy: {result.error or 'HTTP ' + str(result.status)}",
        {"body": result.body[:300]},
    )


def check_health(
    ctx: Context, current: CurrentDeployment, cfg: ServiceConfig, timeout_s: float
) -> CheckResult:
    if current.serving is None:
        return Item("service_health", cfg.name, "HTTP 2xx").result(
            Verdict.FAIL, None, "no revision serves traffic: nothing to probe"
        )
    url = health_url(ctx, current.service, current.serving.name, cfg.health_path)
    return probe_health(ctx, cfg.name, url, timeout_s=timeout_s, revision=current.serving.name)


# ------------------------------------------------------------------- the checklist


def run_predeploy(
    ctx: Context,
    cfg: ServiceConfig,
    *,
    skip_tests: bool = False,
    progress: Progress | None = None,
) -> PredeployResult:
    """Run the eight checks (concurrently where independent), in the documented order.

    Never raises for a failing check: each becomes FAIL or ERROR in the result.

    Raises:
        ConfigError: an invalid ``deploy:`` section or ``post_deploy`` entry of the service
            (what the deploy would refuse, exit 2).
    """
    from nbaops.bqschema.breaking import RuleConfig
    from nbaops.checks import plan_post_deploy
    from nbaops.deploy.settings import DeploySettings
    from nbaops.gitrepo import Repo

    settings = ctx.config.settings("deploy", DeploySettings)
    plan_post_deploy(ctx, cfg, revision="<new revision>")
    service = cfg.name
    out = PredeployResult(service=service, checks=[])
    results: dict[str, CheckResult] = {}

    def emit(result: CheckResult) -> None:
        results[result.name] = result
        if progress is not None:
            progress(result)

    def run(name: str, check: Callable[[], CheckResult]) -> None:
        emit(timed(name, service, check))

    repo: Repo | None = None
    repo_error: Exception | None = None
    try:
        repo = Repo(ctx.root)
        out.head = repo.head()
    except GitError as exc:
        repo_error = exc

    def git_check(name: str, fn: Callable[[Repo], CheckResult]) -> None:
        if repo is None:
            emit(CheckResult.error(name, service, repo_error or GitError("no repository")))
        else:
            run(name, lambda: fn(repo))

    def cloud_part() -> None:
        started = time.perf_counter()
        try:
            current = read_current(ctx, service)
        except Exception as exc:
            for name in (
                "commits_since_deployed",
                "schema_changes",
                "deployment_status",
                "service_health",
            ):
                err = CheckResult.error(name, service, exc, f"run_v2 GetService {service}")
                err.duration_s = round(time.perf_counter() - started, 3)
                emit(err)
            return
        out.current = current
        head = out.head or ""
        git_check(
            "commits_since_deployed", lambda r: check_commits(r, service, current.commit, head)
        )
        git_check(
            "schema_changes",
            lambda r: check_schema_changes(
                r, service, current.commit, head, ctx.config.settings("schema_rules", RuleConfig)
            ),
        )
        run("deployment_status", lambda: check_status(current, service))
        run("service_health", lambda: check_health(ctx, current, cfg, settings.health_timeout_s))

    commands = TestCommands()

    def tests_part() -> None:
        run(
            "tests",
            lambda: check_tests(
                str(repo.root if repo else ctx.root),
                service,
                settings.test_command,
                settings.test_timeout_s,
                skip_tests,
                reuse=_reuse(ctx, repo, out.head),
                commands=commands,
                still_clean=lambda: _unchanged(repo, out.head),
            ),
        )

    parts: list[Callable[[], object]] = [
        lambda: git_check("uncommitted_changes", lambda r: check_uncommitted(r, cfg)),
        lambda: git_check("branch", lambda r: check_branch(r, service)),
        lambda: git_check("remote_sync", lambda r: check_sync(r, service)),
        tests_part,
        cloud_part,
    ]
    # a Ctrl-C or SIGTERM stops the test command's processes first: the interrupt is not
    # held up until the tests end (up to deploy.test_timeout_s)
    map_concurrently(lambda part: part(), parts, name="predeploy", on_interrupt=commands.stop)
    out.checks = [results[name] for name in CHECK_NAMES if name in results]
    return out
