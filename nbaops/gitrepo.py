"""A small typed wrapper over the git CLI, used by drift detection and the pre-deploy checklist.

Every call runs ``git`` as a subprocess (an argument list, never a shell) with a bounded
timeout and returns parsed values. Failures raise :class:`~nbaops.errors.GitError` with a
one-line message: git missing, not a repository, detached HEAD where a branch is needed,
unknown commit, a command that failed or timed out.

Decisions worth knowing:

- **Pending commits are all commits** reachable from ``head`` and not from ``base``
  (``git log base..head``), not only ``--first-parent``: every commit that a deploy of
  ``head`` would ship is named, including the commits of merged branches. Pass
  ``first_parent=True`` to list only the mainline (merge and squash commits).
- **Changed files compare trees** (``git diff base head``): what differs between the two
  snapshots, which is what a deploy of ``head`` changes relative to ``base``.
- **Status never takes the index lock** (``GIT_OPTIONAL_LOCKS=0``): several tools and
  people commit in the same checkout at once.
- Output is parsed with ``LC_ALL=C`` and NUL/record separators, so file names with spaces
  or unicode and subjects with any characters survive.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nbaops.errors import GitError

DEFAULT_TIMEOUT_S = 30.0
FETCH_TIMEOUT_S = 120.0
MAIN_BRANCH = "main"
DEFAULT_REMOTE = "origin"

# ``git log -z``: commits end with NUL, which no commit message holds; fields are split
# by 0x1F, and the subject (which may hold any other character, 0x1F included) comes last.
_FIELD = "\x1f"
_LOG_FORMAT = _FIELD.join(["%H", "%h", "%an", "%ae", "%aI", "%cI", "%s"])


@dataclass(frozen=True)
class Commit:
    """One commit as ``git log`` describes it (dates timezone-aware)."""

    sha: str  # the full 40-hex id
    short: str  # the abbreviated id git chose (unique in this repository)
    author: str
    author_email: str
    date: dt.datetime  # author date
    # committer date: when the commit was made in this history (rebases and cherry-picks
    # move it, authoring does not)
    committed_at: dt.datetime
    subject: str  # the first line of the message

    def to_json(self) -> dict[str, Any]:
        dates = {"date": self.date.isoformat(), "committed_at": self.committed_at.isoformat()}
        return {**asdict(self), **dates}


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        line = line.strip()
        if line:
            return line.removeprefix("fatal: ").removeprefix("error: ")
    return ""


def _check_rev(rev: str) -> str:
    """Refuse revisions that git would read as options (``--output=...``) or that are empty."""
    if not rev or rev.startswith("-") or any(ch in rev for ch in "\x00\n\r"):
        raise GitError(f"invalid git revision {rev!r}")
    return rev


class Repo:
    """A git working tree.

    Args:
        root: any folder inside the working tree.
        timeout_s: bound for each git call (``fetch`` uses :data:`FETCH_TIMEOUT_S`).
        env: extra environment for git (tests pass ``PATH`` or dates here); the process
            environment is used otherwise.

    Raises:
        GitError: git is not installed, or ``root`` is not inside a git repository.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self._env = _environment(env)
        self._git = _git_binary(self._env)
        start = Path(root)
        if not start.is_dir():
            raise GitError(f"{start}: not a git repository (folder does not exist)")
        proc = _spawn(self._git, ["rev-parse", "--show-toplevel"], start, self._env, timeout_s)
        if proc.returncode != 0:
            raise GitError(f"{start}: not a git repository")
        self.root = Path(os.fsdecode(proc.stdout).strip())  # any bytes: the folder's own name

    # -- plumbing ---------------------------------------------------------------------

    def git(self, *args: str, stdin: bytes | None = None, timeout: float | None = None) -> bytes:
        """Run ``git args`` in the repository root; its stdout.

        The one git runner of nbaops: an argument list (never a shell), bounded, with
        ``LC_ALL=C`` and no optional locks.

        Raises:
            GitError: git failed or timed out (git's own first line).
        """
        proc = _spawn(self._git, args, self.root, self._env, timeout or self.timeout_s, stdin)
        if proc.returncode != 0:
            message = _first_line(proc.stderr.decode(errors="replace")) or f"exit {proc.returncode}"
            raise GitError(f"git {args[0]} failed: {message}")
        return proc.stdout

    def _try(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        """Run git in the repository root; the caller interprets a non-zero exit."""
        return _spawn(self._git, args, self.root, self._env, self.timeout_s)

    def _out(self, *args: str) -> str:
        return self.git(*args).decode(errors="replace")

    def _text_or_none(self, *args: str) -> str | None:
        """git's trimmed output, or None when it exits non-zero or prints nothing."""
        proc = self._try(*args)
        text = proc.stdout.decode(errors="replace").strip()  # a branch name need not be UTF-8
        return (text or None) if proc.returncode == 0 else None

    # -- revisions ----------------------------------------------------------------------

    def resolve(self, rev: str) -> str:
        """The full 40-hex sha of a commit-ish (sha, short sha, branch, tag, ``HEAD~2``).

        Raises:
            GitError: the revision does not name a commit in this repository.
        """
        sha = self._text_or_none(
            "rev-parse", "--verify", "--quiet", f"{_check_rev(rev)}^{{commit}}"
        )
        if sha is None:
            raise GitError(f"unknown commit {rev!r} in {self.root}")
        return sha

    def commit_exists(self, sha: str) -> bool:
        """Whether ``sha`` (full or abbreviated, or any commit-ish) names a commit here."""
        try:
            self.resolve(sha)
        except GitError:
            return False
        return True

    def head(self) -> str:
        """The full sha of ``HEAD``.

        Raises:
            GitError: the repository has no commit yet.
        """
        sha = self._text_or_none("rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        if sha is None:
            raise GitError(f"{self.root}: repository has no commits yet")
        return sha

    def current_branch(self) -> str | None:
        """The checked-out branch name, or None on a detached HEAD."""
        return self._text_or_none("symbolic-ref", "--quiet", "--short", "HEAD")

    def is_shallow(self) -> bool:
        """Whether this is a shallow clone (history cut off: old commits are unknown)."""
        return self._out("rev-parse", "--is-shallow-repository").strip() == "true"

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``ancestor`` is reachable from ``descendant`` (a commit is its own ancestor)."""
        a, d = self.resolve(ancestor), self.resolve(descendant)
        proc = self._try("merge-base", "--is-ancestor", a, d)
        if proc.returncode in (0, 1):
            return proc.returncode == 0
        message = _first_line(proc.stderr.decode(errors="replace"))
        raise GitError(f"git merge-base failed: {message}")

    # -- working tree -------------------------------------------------------------------

    def is_dirty(
        self, paths: Sequence[str] | None = None, *, include_untracked: bool = True
    ) -> list[str]:
        """Paths with uncommitted changes (staged, unstaged, untracked), optionally limited.

        Args:
            paths: pathspecs relative to the repository root (e.g. a service's source
                paths); None means the whole tree.
            include_untracked: also report files git does not track yet.

        Returns:
            Sorted repository-relative paths; empty when clean.
        """
        args = ["status", "--porcelain=v1", "-z"]
        args.append("--untracked-files=all" if include_untracked else "--untracked-files=no")
        if paths is not None:
            if not paths:
                return []
            args += ["--", *paths]
        entries = iter(self._out(*args).split("\0"))
        out: set[str] = set()
        for entry in entries:
            if len(entry) >= 4:  # "XY path"
                out.add(entry[3:])
                if "R" in entry[:2] or "C" in entry[:2]:
                    next(entries, None)  # the next field is the rename/copy source
        return sorted(out)

    # -- remotes ------------------------------------------------------------------------

    def remotes(self) -> list[str]:
        """The configured remote names."""
        return [line for line in self._out("remote").splitlines() if line.strip()]

    def fetch(self, remote: str | None = None) -> bool:
        """Fetch from ``remote`` (default: every remote).

        Returns:
            True when something was fetched from, False when there is no remote.

        Raises:
            GitError: the fetch failed (network, authentication, unknown remote).
        """
        remotes = self.remotes()
        if remote is None and not remotes:
            return False
        if remote is not None and remote not in remotes:
            raise GitError(f"unknown git remote {remote!r}")
        which = "--all" if remote is None else _check_rev(remote)
        self.git("fetch", "--quiet", "--prune", which, timeout=FETCH_TIMEOUT_S)
        return True

    def upstream(self) -> str | None:
        """The current branch's upstream (e.g. ``origin/main``); None when unset or detached."""
        return self._text_or_none(
            "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"
        )

    def ahead_behind(self, upstream: str) -> tuple[int, int]:
        """How many commits ``HEAD`` is ahead of and behind ``upstream``."""
        ref = self.resolve(upstream)
        text = self._out("rev-list", "--left-right", "--count", f"HEAD...{ref}").split()
        if len(text) != 2:
            raise GitError(f"git rev-list gave unexpected output {' '.join(text)!r}")
        return int(text[0]), int(text[1])

    def main_ref(self, prefer_remote: bool = True, *, branch: str = MAIN_BRANCH) -> str:
        """The ref that stands for "main": ``origin/main`` when it exists and
        ``prefer_remote``, else the local ``main``.

        Raises:
            GitError: neither exists.
        """
        return self._main(prefer_remote, branch)[0]

    def main_tip(self, prefer_remote: bool = True, *, branch: str = MAIN_BRANCH) -> str:
        """The full sha of the tip of main (the remote's when there is one)."""
        return self._main(prefer_remote, branch)[1]

    def _main(self, prefer_remote: bool, branch: str) -> tuple[str, str]:
        """Main's name (:meth:`main_ref`) and the full sha of its tip."""
        remote = f"{DEFAULT_REMOTE}/{branch}"
        candidates = [(remote, f"refs/remotes/{remote}")] if prefer_remote else []
        for name, ref in [*candidates, (branch, f"refs/heads/{branch}")]:
            sha = self._text_or_none("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
            if sha is not None:
                return name, sha
        raise GitError(f"{self.root}: no {branch!r} branch (neither {remote} nor {branch} exists)")

    # -- history ------------------------------------------------------------------------

    def commits_between(
        self,
        base: str,
        head: str,
        paths: Sequence[str] | None = None,
        *,
        first_parent: bool = False,
    ) -> list[Commit]:
        """Commits reachable from ``head`` but not from ``base`` (``git log base..head``).

        Args:
            base: the older commit (e.g. the deployed one).
            head: the newer commit (e.g. main's tip).
            paths: only commits touching these pathspecs; None means all.
            first_parent: follow only first parents (mainline view).

        Returns:
            Newest first. Empty when ``head`` is ``base`` or an ancestor of it.

        Raises:
            GitError: either revision is unknown.
        """
        b, h = self.resolve(base), self.resolve(head)
        args = ["log", "-z", f"--format={_LOG_FORMAT}", "--no-color"]
        if first_parent:
            args.append("--first-parent")
        args.append(f"{b}..{h}")
        if paths is not None:
            if not paths:
                return []
            args += ["--", *paths]
        return _parse_log(self._out(*args))

    def recent_commits(self, limit: int) -> list[Commit]:
        """The newest ``limit`` commits reachable from ``HEAD`` (newest first).

        Raises:
            GitError: the repository has no commit yet.
        """
        head = self.head()
        log = self._out("log", "-z", f"--format={_LOG_FORMAT}", f"--max-count={limit}", head)
        return _parse_log(log)

    def changed_files(self, base: str, head: str, paths: Sequence[str] | None = None) -> list[str]:
        """Files that differ between the trees of ``base`` and ``head`` (sorted).

        Renames are reported as the new path (and the old path, which no longer exists).
        """
        b, h = self.resolve(base), self.resolve(head)
        args = ["diff", "--name-only", "-z", "--no-renames", b, h]
        if paths is not None:
            if not paths:
                return []
            args += ["--", *paths]
        raw = self._out(*args)
        return sorted({p for p in raw.split("\0") if p})


def _environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {**os.environ, **(extra or {})}
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"})
    return env


def _git_binary(env: Mapping[str, str]) -> str:
    git = shutil.which("git", path=env.get("PATH"))
    if git is None:
        raise GitError("git is not installed (no 'git' on PATH)")
    return git


def _spawn(
    git: str,
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    cmd = [git, "-c", "core.quotepath=off", "-c", "color.ui=never", *args]
    try:
        return subprocess.run(  # argument list, never a shell
            cmd,
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=timeout,
            check=False,
            input=stdin if stdin is not None else b"",
        )
    except FileNotFoundError:
        raise GitError("git is not installed (no 'git' on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout:g}s") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from None


def _parse_log(text: str) -> list[Commit]:
    commits: list[Commit] = []
    for record in text.split("\0"):
        if not record.strip():
            continue
        parts = record.split(_FIELD, 6)
        if len(parts) != 7:
            raise GitError(f"unexpected git log record {record[:80]!r}")
        sha, short, author, email, adate, cdate, subject = parts
        commits.append(
            Commit(
                sha=sha,
                short=short,
                author=author,
                author_email=email,
                date=dt.datetime.fromisoformat(adate.strip()),
                committed_at=dt.datetime.fromisoformat(cdate.strip()),
                subject=subject,
            )
        )
    return commits
