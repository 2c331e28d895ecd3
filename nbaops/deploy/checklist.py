"""The pre-deploy checklist's items: what every check shares (:class:`Item`, :func:`timed`,
the page it points at) and checks 1-5, read from git: the working tree (uncommitted
changes, branch, remote sync) and what changed since the deployed commit (commits, table
schemas). Checks 6-8 and the checklist itself (order, running them concurrently) are
:mod:`nbaops.deploy.predeploy`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops.errors import GitError
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.bqschema.breaking import RuleConfig
    from nbaops.config import ServiceConfig
    from nbaops.gitrepo import Repo

# The page a failing checklist item points at (every report names the doc to open).
PREDEPLOY_DOC = "docs/deploy.md#the-pre-deploy-checklist"
# ... and a deploy's or rollback's own steps (the new revision's health, the rollback's).
DEPLOY_STEPS_DOC = "docs/deploy.md#what-inv-deploy-does"


@dataclass
class Item:
    """One pre-deploy check being judged: what stays the same whatever it finds.

    ``query`` (the git command or API call behind it) may be refined as the check goes;
    :meth:`result` adds what was measured and points the result at ``doc`` (the checklist's
    page unless it is a step of the deploy itself).
    """

    name: str
    service: str
    threshold: str
    query: str = ""
    doc: str = PREDEPLOY_DOC

    def result(
        self,
        verdict: Verdict,
        value: float | int | str | None,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        threshold: str | None = None,
        query: str | None = None,
    ) -> CheckResult:
        return CheckResult(
            self.name,
            self.service,
            verdict,
            value,
            self.threshold if threshold is None else threshold,
            message,
            self.query if query is None else query,
            details=details or {},
            doc=self.doc,
        )


def timed(name: str, service: str, fn: Callable[[], CheckResult]) -> CheckResult:
    started = time.perf_counter()
    try:
        out = fn()
    except Exception as exc:  # a check that could not measure is ERROR, never PASS
        out = CheckResult.error(name, service, exc)
    out.duration_s = round(time.perf_counter() - started, 3)
    return out


MAIN = "main"
SCHEMA_DIR = "schemas/"
MAX_LISTED = 20


# ------------------------------------------------------------------- 1-3: the working tree


def check_uncommitted(repo: Repo, cfg: ServiceConfig) -> CheckResult:
    paths = list(cfg.source_paths)
    in_service = repo.is_dirty(paths)
    everywhere = repo.is_dirty()
    item = Item(
        "uncommitted_changes",
        cfg.name,
        "FAIL if the service's source paths have changes; WARN elsewhere",
        f"git status --porcelain -- {' '.join(paths)}",
    )
    if in_service:
        return item.result(
            Verdict.FAIL,
            len(in_service),
            f"{len(in_service)} uncommitted change(s) in {cfg.name}'s source paths "
            f"(they would not ship): {', '.join(in_service[:5])}",
            {"service_paths": in_service[:MAX_LISTED], "elsewhere": everywhere[:MAX_LISTED]},
        )
    if everywhere:
        return item.result(
            Verdict.WARN,
            len(everywhere),
            f"{len(everywhere)} uncommitted change(s) outside {cfg.name}'s source paths: "
            f"{', '.join(everywhere[:5])}",
            {"elsewhere": everywhere[:MAX_LISTED]},
        )
    return item.result(Verdict.PASS, 0, "working tree clean", threshold="no uncommitted changes")


def check_branch(repo: Repo, service: str) -> CheckResult:
    branch = repo.current_branch()
    item = Item("branch", service, f"branch == {MAIN}", "git symbolic-ref --short HEAD")
    if branch is None:
        return item.result(Verdict.FAIL, None, f"detached HEAD: check out {MAIN} to deploy")
    if branch != MAIN:
        return item.result(
            Verdict.FAIL, branch, f"on branch {branch!r}, not {MAIN}: deploys ship {MAIN} only"
        )
    return item.result(Verdict.PASS, branch, f"on {MAIN}")


def check_sync(repo: Repo, service: str) -> CheckResult:
    item = Item("remote_sync", service, "0 ahead, 0 behind the upstream")
    upstream = repo.upstream()
    if upstream is None:
        return item.result(
            Verdict.WARN,
            None,
            "no upstream branch configured: cannot compare with the remote",
            query="git rev-parse @{upstream}",
        )
    item.query = f"git fetch --all --prune; git rev-list --left-right --count HEAD...{upstream}"
    fetch_note = ""
    try:
        repo.fetch()
    except GitError as exc:
        fetch_note = f" (fetch failed: {exc}; compared with the last fetched state)"
    ahead, behind = repo.ahead_behind(upstream)
    value = f"ahead {ahead}, behind {behind}"
    if behind:
        return item.result(
            Verdict.FAIL,
            value,
            f"{behind} commit(s) behind {upstream}: pull first, or the deploy "
            f"would drop them{fetch_note}",
        )
    if ahead:
        return item.result(
            Verdict.FAIL,
            value,
            f"{ahead} unpushed commit(s) ahead of {upstream}: push and merge first{fetch_note}",
        )
    verdict = Verdict.WARN if fetch_note else Verdict.PASS
    return item.result(verdict, value, f"in sync with {upstream}{fetch_note}")


# ------------------------------------------------------------------- 4-5: since the deployed commit


def _deployed_commit_problem(item: Item, repo: Repo, deployed: str | None) -> CheckResult | None:
    if not deployed:
        return item.result(
            Verdict.INCONCLUSIVE,
            None,
            "the serving revision has no commit-sha label: cannot compare",
            query="run_v2 GetRevision labels['commit-sha']",
        )
    if not repo.commit_exists(deployed):
        return item.result(
            Verdict.INCONCLUSIVE,
            deployed[:12],
            f"deployed commit {deployed[:12]} is not in this repository "
            "(fetch it, or it was deployed from elsewhere): cannot compare",
            query=f"git rev-parse {deployed}",
        )
    return None


def check_commits(repo: Repo, service: str, deployed: str | None, head: str) -> CheckResult:
    item = Item(
        "commits_since_deployed",
        service,
        "HEAD contains the deployed commit; WARN when nothing new",
    )
    problem = _deployed_commit_problem(item, repo, deployed)
    if problem is not None:
        return problem
    assert deployed is not None
    item.query = f"git log {deployed[:12]}..{head[:12]}"
    if not repo.is_ancestor(deployed, head):
        lost = repo.commits_between(head, deployed)
        return item.result(
            Verdict.FAIL,
            -len(lost),
            f"HEAD {head[:12]} does not contain the deployed commit {deployed[:12]}: the deploy "
            f"would remove {len(lost)} live commit(s) "
            f"({'; '.join(c.short + ' ' + c.subject for c in lost[:3])})",
            {"would_remove": [c.to_json() for c in lost[:MAX_LISTED]]},
            query=f"git log {head[:12]}..{deployed[:12]}",
        )
    commits = repo.commits_between(deployed, head)
    listed = [f"{c.short} {c.author}: {c.subject}" for c in commits[:MAX_LISTED]]
    if not commits:
        return item.result(
            Verdict.WARN,
            0,
            f"nothing new: HEAD is the deployed commit {deployed[:12]} (a redeploy)",
        )
    more = f" (+{len(commits) - MAX_LISTED} more)" if len(commits) > MAX_LISTED else ""
    return item.result(
        Verdict.PASS,
        len(commits),
        f"{len(commits)} commit(s) since {deployed[:12]}: {'; '.join(listed[:5])}{more}",
        {"commits": [c.to_json() for c in commits[:MAX_LISTED]], "listed": listed},
    )


def _breaking_findings(
    repo: Repo, deployed: str, head: str, changed: list[str], rules: RuleConfig
) -> list[str]:
    """Breaking changes between the deployed commit and ``head`` (what deploys), as
    ``path:line: RULE msg`` lines, judged by :mod:`nbaops.bqschema` (``schema_rules``
    applied).

    The rules compare the files of a working tree with a commit. With uncommitted changes
    under ``schemas/`` that would judge edits that do not ship (and miss committed ones
    they undo), so ``head``'s ``schemas/`` is checked out in a temporary worktree of its
    own (no checkout hooks; removed after) and judged there.
    """
    if not repo.is_dirty([SCHEMA_DIR]):
        return _judged(repo.root, repo.root, deployed, changed, rules)
    import tempfile

    from nbaops.gitrepo import Repo

    with tempfile.TemporaryDirectory(prefix="nbaops-schemas-") as tmp:
        tree = Path(tmp) / "head"
        repo.git("worktree", "add", "--detach", "--no-checkout", "--quiet", str(tree), head)
        try:
            no_hooks = ("-c", "core.hooksPath=/dev/null")  # a file checkout runs post-checkout
            Repo(tree).git(*no_hooks, "checkout", head, "--", SCHEMA_DIR)
            return _judged(tree, repo.root, deployed, changed, rules)
        finally:
            repo.git("worktree", "remove", "--force", str(tree))


def _judged(
    tree: Path, root: Path, deployed: str, changed: list[str], rules: RuleConfig
) -> list[str]:
    """The error findings for ``changed`` in ``tree``, named by their path in ``root``."""
    import dataclasses
    import os

    from nbaops.bqschema.diff import check_against_ref

    absolute = [str(tree / p) for p in changed]  # the hook resolves paths from the cwd
    result = check_against_ref(absolute, ref=deployed, config=rules, start=str(tree))
    lines = []
    tree = tree.resolve()  # git names the checkout by its real path (/tmp may be a link)
    for finding in (f for f in result.all_findings if f.is_error):
        where = Path(finding.path).resolve()
        if tree != root and where.is_relative_to(tree):  # the temporary checkout's file
            finding = dataclasses.replace(
                finding, path=os.path.relpath(root / where.relative_to(tree))
            )
        lines.append(str(finding.format()))
    return lines


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
    item = Item(
        "schema_changes", service, "no breaking table schema change since the deployed commit"
    )
    problem = _deployed_commit_problem(item, repo, deployed)
    if problem is not None:
        return problem
    assert deployed is not None
    changed = [p for p in repo.changed_files(deployed, head, [SCHEMA_DIR]) if is_table_schema(p)]
    item.query = f"git diff --name-only {deployed[:12]} {head[:12]} -- {SCHEMA_DIR}"
    if not changed:
        return item.result(Verdict.PASS, 0, f"no table schema changed since {deployed[:12]}")
    problems = _breaking_findings(repo, deployed, head, changed, rules)
    item.query += "; nbaops.bqschema breaking rules"
    if problems:
        return item.result(
            Verdict.FAIL,
            len(problems),
            f"{len(problems)} breaking schema change(s) since {deployed[:12]}: {problems[0]}",
            {"changed": changed, "breaking": problems[:MAX_LISTED]},
        )
    return item.result(
        Verdict.PASS,
        len(changed),
        f"{len(changed)} table schema file(s) changed, none breaking: {', '.join(changed[:5])}",
        {"changed": changed},
    )
