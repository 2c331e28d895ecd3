"""Pre-deploy checks 1-5, read from git: the working tree (uncommitted changes, branch,
remote sync) and what changed since the deployed commit (commits, table schemas).

Each returns a :class:`~nbaops.verdict.CheckResult`; the checklist itself (order, running
them concurrently) is :mod:`nbaops.deploy.predeploy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbaops.deploy.checklist import result as _result
from nbaops.errors import GitError
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.bqschema.breaking import RuleConfig
    from nbaops.config import ServiceConfig
    from nbaops.gitrepo import Repo

MAIN = "main"
SCHEMA_DIR = "schemas/"
MAX_LISTED = 20


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
            details={
                "service_paths": in_service[:MAX_LISTED],
                "elsewhere": everywhere[:MAX_LISTED],
            },
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
            details={"elsewhere": everywhere[:MAX_LISTED]},
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
            details={"would_remove": [c.to_json() for c in lost[:MAX_LISTED]]},
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
        details={"commits": [c.to_json() for c in commits[:MAX_LISTED]], "listed": listed},
    )


def _breaking_findings(
    repo: Repo, deployed: str, changed: list[str], rules: RuleConfig
) -> list[str]:
    """Breaking changes between the deployed commit and the tree, as ``path:line: RULE msg``
    lines, judged by :mod:`nbaops.bqschema` (``schema_rules`` applied)."""
    from nbaops.bqschema.diff import check_against_ref

    absolute = [str(repo.root / p) for p in changed]  # the hook resolves paths from the cwd
    result = check_against_ref(absolute, ref=deployed, config=rules, start=str(repo.root))
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
    rules: RuleConfig,
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
    problems = _breaking_findings(repo, deployed, changed, rules)
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
            details={"changed": changed, "breaking": problems[:MAX_LISTED]},
        )
    return _result(
        name,
        service,
        Verdict.PASS,
        len(changed),
        threshold,
        f"{len(changed)} table schema file(s) changed, none breaking: {', '.join(changed[:5])}",
        query,
        details={"changed": changed},
    )
