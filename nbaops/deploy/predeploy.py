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

import concurrent.futures
import datetime as dt
import importlib
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops.errors import GitError
from nbaops.verdict import CheckResult, Verdict, clip, worst

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
MAIN = "main"
SCHEMA_DIR = "schemas/"
MAX_LISTED = 20

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
    skipped_tests: bool = False

    @property
    def verdict(self) -> Verdict:
        return worst(c.verdict for c in self.checks)

    @property
    def blocking(self) -> list[CheckResult]:
        """Checks that stop a deploy: FAIL (exit 1) and ERROR (exit 3)."""
        return [c for c in self.checks if c.verdict in (Verdict.FAIL, Verdict.ERROR)]


# The page a failing checklist item points at (every report names the doc to open).
PREDEPLOY_DOC = "docs/deploy.md#the-pre-deploy-checklist"


def _result(
    name: str,
    service: str,
    verdict: Verdict,
    value: float | int | str | None,
    threshold: str,
    message: str,
    query: str,
    details: dict[str, Any] | None = None,
) -> CheckResult:
    return CheckResult(
        name=name,
        service=service,
        verdict=verdict,
        value=value,
        threshold=threshold,
        message=message,
        query=query,
        details=details or {},
        doc=PREDEPLOY_DOC,
    )


def _timed(name: str, service: str, fn: Callable[[], CheckResult]) -> CheckResult:
    started = time.perf_counter()
    try:
        result = fn()
    except Exception as exc:  # a check that could not measure is ERROR, never PASS
        result = CheckResult.error(name, service, exc)
    result.duration_s = round(time.perf_counter() - started, 3)
    return result


# ------------------------------------------------------------------- 1-3: the working tree


def check_uncommitted(repo: Repo, cfg: ServiceConfig) -> CheckResult:
    paths = list(cfg.source_paths)
    in_service = repo.is_dirty(paths)
    everywhere = repo.is_dirty()
    query = f"git status --porcelain -- {' '.join(paths)}"
    if in_service:
        return _result(
            "uncommitted_changes",
            cfg.name,
            Verdict.FAIL,
            len(in_service),
            "FAIL if the service's source paths have changes; WARN elsewhere",
            f"{len(in_service)} uncommitted change(s) in {cfg.name}'s source paths "
            f"(they would not ship): {', '.join(in_service[:5])}",
            query,
            {"service_paths": in_service[:MAX_LISTED], "elsewhere": everywhere[:MAX_LISTED]},
        )
    if everywhere:
        return _result(
            "uncommitted_changes",
            cfg.name,
            Verdict.WARN,
            len(everywhere),
            "FAIL if the service's source paths have changes; WARN elsewhere",
            f"{len(everywhere)} uncommitted change(s) outside {cfg.name}'s source paths: "
            f"{', '.join(everywhere[:5])}",
            query,
            {"elsewhere": everywhere[:MAX_LISTED]},
        )
    return _result(
        "uncommitted_changes",
        cfg.name,
        Verdict.PASS,
        0,
        "no uncommitted changes",
        "working tree clean",
        query,
    )


def check_branch(repo: Repo, service: str) -> CheckResult:
    branch = repo.current_branch()
    query = "git symbolic-ref --short HEAD"
    if branch is None:
        return _result(
            "branch",
            service,
            Verdict.FAIL,
            None,
            f"branch == {MAIN}",
            f"detached HEAD: check out {MAIN} to deploy",
            query,
        )
    if branch != MAIN:
        return _result(
            "branch",
            service,
            Verdict.FAIL,
            branch,
            f"branch == {MAIN}",
            f"on branch {branch!r}, not {MAIN}: deploys ship {MAIN} only",
            query,
        )
    return _result(
        "branch", service, Verdict.PASS, branch, f"branch == {MAIN}", f"on {MAIN}", query
    )


def check_sync(repo: Repo, service: str) -> CheckResult:
    threshold = "0 ahead, 0 behind the upstream"
    upstream = repo.upstream()
    if upstream is None:
        return _result(
            "remote_sync",
            service,
            Verdict.WARN,
            None,
            threshold,
            "no upstream branch configured: cannot compare with the remote",
            "git rev-parse @{upstream}",
        )
    query = f"git fetch --all --prune; git rev-list --left-right --count HEAD...{upstream}"
    fetch_note = ""
    try:
        repo.fetch()
    except GitError as exc:
        fetch_note = f" (fetch failed: {exc}; compared with the last fetched state)"
    ahead, behind = repo.ahead_behind(upstream)
    value = f"ahead {ahead}, behind {behind}"
    if behind:
        return _result(
            "remote_sync",
            service,
            Verdict.FAIL,
            value,
            threshold,
            f"{behind} commit(s) behind {upstream}: pull first, or the deploy "
            f"would drop them{fetch_note}",
            query,
        )
    if ahead:
        return _result(
            "remote_sync",
            service,
            Verdict.FAIL,
            value,
            threshold,
            f"{ahead} unpushed commit(s) ahead of {upstream}: push and merge first{fetch_note}",
            query,
        )
    if fetch_note:
        return _result(
            "remote_sync",
            service,
            Verdict.WARN,
            value,
            threshold,
            f"in sync with {upstream}{fetch_note}",
            query,
        )
    return _result(
        "remote_sync", service, Verdict.PASS, value, threshold, f"in sync with {upstream}", query
    )


# ------------------------------------------------------------------- 4-5: since the deployed commit


def _deployed_commit_problem(
    name: str, repo: Repo, service: str, deployed: str | None, threshold: str
) -> CheckResult | None:
    if not deployed:
        return _result(
            name,
            service,
            Verdict.INCONCLUSIVE,
            None,
            threshold,
            "the serving revision has no commit-sha label: cannot compare",
            "run_v2 GetRevision labels['commit-sha']",
        )
    if not repo.commit_exists(deployed):
        return _result(
            name,
            service,
            Verdict.INCONCLUSIVE,
            deployed[:12],
            threshold,
            f"deployed commit {deployed[:12]} is not in this repository "
            "(fetch it, or it was deployed from elsewhere): cannot compare",
            f"git rev-parse {deployed}",
        )
    return None


def check_commits(repo: Repo, service: str, deployed: str | None, head: str) -> CheckResult:
    name = "commits_since_deployed"
    threshold = "HEAD contains the deployed commit; WARN when nothing new"
    problem = _deployed_commit_problem(name, repo, service, deployed, threshold)
    if problem is not None:
        return problem
    assert deployed is not None
    query = f"git log {deployed[:12]}..{head[:12]}"
    if not repo.is_ancestor(deployed, head):
        lost = repo.commits_between(head, deployed)
        return _result(
            name,
            service,
            Verdict.FAIL,
            -len(lost),
            threshold,
            f"HEAD {head[:12]} does not contain the deployed commit {deployed[:12]}: the deploy "
            f"would remove {len(lost)} live commit(s) "
            f"({'; '.join(c.short + ' ' + c.subject for c in lost[:3])})",
            f"git log {head[:12]}..{deployed[:12]}",
            {"would_remove": [c.to_json() for c in lost[:MAX_LISTED]]},
        )
    commits = repo.commits_between(deployed, head)
    listed = [f"{c.short} {c.author}: {c.subject}" for c in commits[:MAX_LISTED]]
    if not commits:
        return _result(
            name,
            service,
            Verdict.WARN,
            0,
            threshold,
            f"nothing new: HEAD is the deployed commit {deployed[:12]} (a redeploy)",
            query,
        )
    more = f" (+{len(commits) - MAX_LISTED} more)" if len(commits) > MAX_LISTED else ""
    return _result(
        name,
        service,
        Verdict.PASS,
        len(commits),
        threshold,
        f"{len(commits)} commit(s) since {deployed[:12]}: {'; '.join(listed[:5])}{more}",
        query,
        {"commits": [c.to_json() for c in commits[:MAX_LISTED]], "listed": listed},
    )


def _breaking_findings(
    repo: Repo, deployed: str, changed: list[str], rules: dict[str, Any]
) -> list[str] | None:
    """Breaking changes between the deployed commit and the tree, as ``path:line: RULE msg``
    lines, judged by :mod:`nbaops.bqschema` (``schema_rules`` applied); None when that rule
    set is not available."""
    try:
        diff = importlib.import_module("nbaops.bqschema.diff")
        breaking = importlib.import_module("nbaops.bqschema.breaking")
    except ImportError:
        return None
    config = breaking.RuleConfig.from_mapping(rules or None, "schema_rules")
    absolute = [str(repo.root / p) for p in changed]  # the hook resolves paths from the cwd
    result = diff.check_against_ref(absolute, ref=deployed, config=config, start=str(repo.root))
    return [str(f.format()) for f in result.all_findings if f.is_error]


def is_table_schema(path: str) -> bool:
    """Whether a path under ``schemas/`` is a table schema (``schemas/<dataset>/<table>.json``)."""
    parts = path.split("/")
    return len(parts) == 3 and parts[0] == "schemas" and parts[2].endswith(".json")


def check_schema_changes(
    repo: Repo,
    service: str,
    deployed: str | None,
    head: str,
    rules: dict[str, Any] | None = None,
) -> CheckResult:
    name = "schema_changes"
    threshold = "no breaking table schema change since the deployed commit"
    problem = _deployed_commit_problem(name, repo, service, deployed, threshold)
    if problem is not None:
        return problem
    assert deployed is not None
    changed = [p for p in repo.changed_files(deployed, head, [SCHEMA_DIR]) if is_table_schema(p)]
    query = f"git diff --name-only {deployed[:12]} {head[:12]} -- {SCHEMA_DIR}"
    if not changed:
        return _result(
            name,
            service,
            Verdict.PASS,
            0,
            threshold,
            f"no table schema changed since {deployed[:12]}",
            query,
        )
    problems = _breaking_findings(repo, deployed, changed, rules or {})
    if problems is None:
        return _result(
            name,
            service,
            Verdict.WARN,
            len(changed),
            threshold,
            f"{len(changed)} table schema file(s) changed since {deployed[:12]}; breaking-change "
            f"rules unavailable, review them: {', '.join(changed[:5])}",
            query,
            {"changed": changed},
        )
    query += "; nbaops.bqschema breaking rules"
    if problems:
        return _result(
            name,
            service,
            Verdict.FAIL,
            len(problems),
            threshold,
            f"{len(problems)} breaking schema change(s) since {deployed[:12]}: {problems[0]}",
            query,
            {"changed": changed, "breaking": problems[:MAX_LISTED]},
        )
    return _result(
        name,
        service,
        Verdict.PASS,
        len(changed),
        threshold,
        f"{len(changed)} table schema file(s) changed, none breaking: {', '.join(changed[:5])}",
        query,
        {"changed": changed},
    )


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
) -> CheckResult:
    """Run the test command; ``reuse`` = (state folder, clean HEAD) reuses a passing run.

    A passing run of the same command on the same clean HEAD is not repeated (see
    :mod:`nbaops.deploy.test_results`); the result says it was reused and when it ran.
    """
    threshold = "test command exits 0"
    if skip:
        return _result(
            "tests",
            service,
            Verdict.WARN,
            None,
            threshold,
            "skipped (--skip-tests): the deploy is not covered by the test suite",
            command,
        )
    argv = test_argv(command)
    if not argv:
        return _result(
            "tests",
            service,
            Verdict.ERROR,
            None,
            threshold,
            "deploy.test_command is empty",
            command,
        )
    from nbaops.deploy import test_results

    key = test_results.result_key(reuse[1], command) if reuse else None
    if reuse and key:
        seen = test_results.lookup(reuse[0], key)
        if seen is not None:
            return _result(
                "tests",
                service,
                Verdict.PASS,
                0,
                threshold,
                f"tests passed for {reuse[1][:12]} at {seen['passed_at']} (reused: same commit, "
                f"same command, clean tree): {clip(str(seen.get('summary', '')), 200)}",
                command,
            )
    env = dict(os.environ)
    env["NBAOPS_PREDEPLOY_TESTS"] = "1"
    from nbaops.heartbeat import heartbeat

    try:
        with heartbeat(f"tests: {command}", timeout_s):
            proc = subprocess.run(  # an argument list from the config, never a shell
                argv,
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
                stdin=subprocess.DEVNULL,
            )
    except FileNotFoundError:
        return _result(
            "tests",
            service,
            Verdict.ERROR,
            None,
            threshold,
            f"test command not found: {argv[0]}",
            command,
        )
    except subprocess.TimeoutExpired:
        return _result(
            "tests",
            service,
            Verdict.ERROR,
            None,
            threshold,
            f"test command timed out after {timeout_s:g}s",
            command,
        )
    tail = [ln for ln in (proc.stdout + "\n" + proc.stderr).strip().splitlines() if ln.strip()]
    last = tail[-1].strip() if tail else ""
    if proc.returncode != 0:
        return _result(
            "tests",
            service,
            Verdict.FAIL,
            proc.returncode,
            threshold,
            f"tests failed (exit {proc.returncode}): {clip(last, 300)}",
            command,
            {"output_tail": tail[-20:]},
        )
    if reuse and key:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        test_results.remember(
            reuse[0],
            key,
            {"head": reuse[1], "command": command, "passed_at": stamp, "summary": last},
        )
    return _result(
        "tests",
        service,
        Verdict.PASS,
        0,
        threshold,
        f"tests passed: {clip(last, 300)}" if last else "tests passed",
        command,
    )


def _reuse(ctx: Context, repo: Repo | None, head: str | None) -> tuple[Path, str] | None:
    """Where a passing run of this clean HEAD is remembered; None when the tree is dirty."""
    if repo is None or not head or repo.is_dirty():
        return None
    return ctx.home, head


# ------------------------------------------------------------------- 7-8: what serves now


def read_current(ctx: Context, service: str) -> CurrentDeployment:
    info = ctx.cloudrun.get_service(service)
    serving_name = info.serving_revision
    serving = ctx.cloudrun.get_revision(service, serving_name) if serving_name else None
    return CurrentDeployment(info, serving)


def check_status(current: CurrentDeployment, service: str) -> CheckResult:
    info = current.service
    threshold = "Ready; 100% of traffic on the latest ready revision"
    query = f"run_v2 GetService {service}"
    split = ", ".join(f"{r} {p}%" for r, p in info.traffic_by_revision.items() if p)
    if not info.ready:
        return _result(
            "deployment_status",
            service,
            Verdict.FAIL,
            split or None,
            threshold,
            f"service is not Ready: {info.message or 'no reason given'}",
            query,
        )
    if current.serving is None:
        return _result(
            "deployment_status",
            service,
            Verdict.FAIL,
            None,
            threshold,
            "no revision serves traffic",
            query,
        )
    notes = []
    by_rev = info.traffic_by_revision
    if by_rev.get(info.latest_ready_revision or "", 0) != 100:
        notes.append(
            f"traffic is {split or 'nowhere'}, not 100% on the latest ready revision "
            f"{info.latest_ready_revision} (after a rollback or a canary?)"
        )
    if info.latest_created_revision and info.latest_created_revision != info.latest_ready_revision:
        notes.append(f"the latest created revision {info.latest_created_revision} is not ready")
    if notes:
        return _result(
            "deployment_status",
            service,
            Verdict.WARN,
            split,
            threshold,
            "Ready, but " + "; ".join(notes),
            query,
        )
    return _result(
        "deployment_status",
        service,
        Verdict.PASS,
        split,
        threshold,
        f"Ready; {current.serving.name} serves 100%",
        query,
    )


def health_url(ctx: Context, info: ServiceInfo, revision: str, path: str) -> str:
    """The URL of ``revision``'s health endpoint (tag URL, or the service URI it serves)."""
    for split in info.traffic:
        if split.revision == revision and split.tag and split.tag in info.tag_urls:
            return info.tag_urls[split.tag].rstrip("/") + path
    if info.serving_revision == revision:
        return info.uri.rstrip("/") + path
    return ctx.cloudrun.revision_url(info.name, revision).rstrip("/") + path


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
    threshold = f"HTTP 2xx within {timeout_s:g}s"
    who = f"revision {revision}" if revision else "service"
    if result.ok:
        return _result(
            name,
            service,
            Verdict.PASS,
            result.status,
            threshold,
            f"{who} healthy: HTTP {result.status} in {result.latency_s:.2f}s",
            f"GET {url}",
        )
    return _result(
        name,
        service,
        Verdict.FAIL,
        result.status,
        threshold,
        f"{who} unhealthy: {result.error or 'HTTP ' + str(result.status)}",
        f"GET {url}",
        {"body": result.body[:300]},
    )


def check_health(
    ctx: Context, current: CurrentDeployment, cfg: ServiceConfig, timeout_s: float
) -> CheckResult:
    if current.serving is None:
        return _result(
            "service_health",
            cfg.name,
            Verdict.FAIL,
            None,
            "HTTP 2xx",
            "no revision serves traffic: nothing to probe",
            "",
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
    """
    from nbaops.deploy.settings import DeploySettings
    from nbaops.gitrepo import Repo

    settings = ctx.config.settings("deploy", DeploySettings)
    service = cfg.name
    out = PredeployResult(service=service, checks=[], skipped_tests=skip_tests)
    results: dict[str, CheckResult] = {}

    def emit(result: CheckResult) -> CheckResult:
        results[result.name] = result
        if progress is not None:
            progress(result)
        return result

    repo: Repo | None = None
    repo_error: Exception | None = None
    try:
        repo = Repo(ctx.root)
        out.head = repo.head()
    except GitError as exc:
        repo_error = exc

    def git_check(name: str, fn: Callable[[Repo], CheckResult]) -> CheckResult:
        if repo is None:
            return emit(CheckResult.error(name, service, repo_error or GitError("no repository")))
        return emit(_timed(name, service, lambda: fn(repo)))

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
                r, service, current.commit, head, ctx.config.section("schema_rules")
            ),
        )
        emit(_timed("deployment_status", service, lambda: check_status(current, service)))
        emit(
            _timed(
                "service_health",
                service,
                lambda: check_health(ctx, current, cfg, settings.health_timeout_s),
            )
        )

    with concurrent.futures.ThreadPoolExecutor(5, thread_name_prefix="predeploy") as pool:
        futures: list[concurrent.futures.Future[Any]] = [
            pool.submit(git_check, "uncommitted_changes", lambda r: check_uncommitted(r, cfg)),
            pool.submit(git_check, "branch", lambda r: check_branch(r, service)),
            pool.submit(git_check, "remote_sync", lambda r: check_sync(r, service)),
            pool.submit(
                lambda: emit(
                    _timed(
                        "tests",
                        service,
                        lambda: check_tests(
                            str(repo.root if repo else ctx.root),
                            service,
                            settings.test_command,
                            settings.test_timeout_s,
                            skip_tests,
                            reuse=_reuse(ctx, repo, out.head),
                        ),
                    )
                )
            ),
            pool.submit(cloud_part),
        ]
        for future in futures:
            future.result()
    out.checks = [results[name] for name in CHECK_NAMES if name in results]
    return out
