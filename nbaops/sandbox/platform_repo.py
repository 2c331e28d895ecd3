"""The sandbox's platform repository: where ``check-drift`` reads history on the local profile.

The services' ``source_paths`` (``services/phase4_processors/``, ``shared/``, ...) live in
the platform monorepo, not in this repository, so on the local profile drift always read
PASS. The sandbox therefore carries ``<sandbox>/platform``: a local clone of this
repository's history on a ``main`` branch, without a remote. Same commits, same SHAs, so
the ``commit-sha`` labels of the stand-in's revisions (and of local deploys) resolve in it;
each use brings this repository's newer HEAD in (a commit made and deployed since).

The ``drift`` fault (``inv sandbox.fault drift --service S``) adds commits that touch
``S``'s first source path (``services/<dir>/...``) to that ``main``, committed
``DRIFT_AGE`` ago (older than the default 6 h window): they are merged and not deployed,
so ``check-drift`` FAILs for S and lists them. ``inv sandbox.clear`` removes the clone;
the next drift check makes a fresh one.

Git runs through :class:`nbaops.gitrepo.Repo` (argument lists, never a shell) with a
fixed identity and fixed dates. Making, following, extending and removing the clone hold
one lock of the state folder (:data:`LOCK_NAME`): processes sharing the sandbox (two
``check-drift`` at once, one beside ``sandbox.fault drift``) take turns, where they cloned
into the same staging folder and each removed what the other was writing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from pathlib import Path

from nbaops.errors import GitError
from nbaops.fsutil import file_lock
from nbaops.gitrepo import Repo

PLATFORM_DIR = "platform"
LOCK_NAME = ".platform.lock"  # the clone's own lock: taken under the stand-in's, never around it
DRIFT_AGE = dt.timedelta(hours=8)
DRIFT_COMMITS = 2
TIMEOUT_S = 120.0
IDENTITY = {
    "GIT_AUTHOR_NAME": "nbaops sandbox",
    "GIT_AUTHOR_EMAIL": "sandbox@nbaops.invalid",
    "GIT_COMMITTER_NAME": "nbaops sandbox",
    "GIT_COMMITTER_EMAIL": "sandbox@nbaops.invalid",
}


def platform_path(home: Path) -> Path:
    return Path(home) / PLATFORM_DIR


def _locked(home: Path) -> contextlib.AbstractContextManager[None]:
    """The clone's inter-process lock (re-entrant per thread)."""
    return file_lock(Path(home) / LOCK_NAME)


def ensure_platform_repo(home: Path, source: Path) -> Path:
    """The platform clone (created from ``source``'s HEAD history on first use), following
    ``source``'s later commits (see :func:`_follow`).

    The clone is made beside its place and renamed into it once complete, so a run killed
    while cloning leaves no half clone (with ``origin`` still set, ``origin/main`` would be
    read as main). A folder that is not a repository of its own (a ``.git`` cut short by a
    kill, during a clone or ``sandbox.clear``) is made again: git would find the enclosing
    repository instead (this one, when the state folder is inside it) and read its history.
    """
    with _locked(home):
        return _ensure(home, source)


def _ensure(home: Path, source: Path) -> Path:
    path = platform_path(home)
    origin = Repo(source, timeout_s=TIMEOUT_S)
    head = origin.head()
    clone = _existing_clone(path)
    if clone is not None:
        _follow(clone, origin, head)
        return path
    staging = path.with_name(f".{PLATFORM_DIR}.partial")
    for leftover in (path, staging):
        if leftover.exists():
            shutil.rmtree(leftover)
    origin.git("clone", "--quiet", "--no-checkout", "--", str(origin.root), str(staging.resolve()))
    clone = Repo(staging, env=IDENTITY)
    clone.git("checkout", "--quiet", "-B", "main", head)
    clone.git("remote", "remove", "origin")  # main is local: no origin/main to prefer
    staging.rename(path)
    return path


def _existing_clone(path: Path) -> Repo | None:
    """The clone at ``path`` when it is a repository of its own with a commit, else None."""
    if not (path / ".git").is_dir():
        return None
    try:
        clone = Repo(path, env=IDENTITY, timeout_s=TIMEOUT_S)
        if clone.root.resolve() != path.resolve():
            return None
        clone.head()
    except GitError:
        return None
    return clone


def _follow(clone: Repo, origin: Repo, head: str) -> None:
    """Bring ``origin``'s HEAD into the clone: a commit made (and deployed locally) after
    the clone was created must resolve in it, or ``check-drift`` reads ERROR "not in this
    repository" for the service just deployed. ``main`` moves to that HEAD while it holds
    only ``origin``'s commits; with the ``drift`` fault's commits on top it stays (the
    rehearsal), and the new commits are only fetched.
    """
    main = clone.head()
    if main == head:
        return
    if not clone.commit_exists(head):
        clone.git("fetch", "--quiet", "--no-tags", "--", str(origin.root), head)
    if origin.commit_exists(main):  # no fault commits on top: main is the source's HEAD
        clone.git("checkout", "--quiet", "-B", "main", head)


def add_drift_commits(
    home: Path, source: Path, service: str, source_path: str, now: dt.datetime
) -> list[str]:
    """Commit ``DRIFT_COMMITS`` changes under ``source_path`` on main; returns their SHAs."""
    with _locked(home):
        return _add_drift_commits(home, source, service, source_path, now)


def _add_drift_commits(
    home: Path, source: Path, service: str, source_path: str, now: dt.datetime
) -> list[str]:
    path = _ensure(home, source)
    before = Repo(path, env=IDENTITY, timeout_s=TIMEOUT_S).head()
    try:
        return _commit_drift(path, service, source_path, now)
    except (KeyboardInterrupt, GitError):  # cut short: no commit of a fault never recorded
        _reset_main(path, before)
        raise


def _commit_drift(path: Path, service: str, source_path: str, now: dt.datetime) -> list[str]:
    folder = path / source_path.strip("/")
    folder.mkdir(parents=True, exist_ok=True)
    shas = []
    for index in range(1, DRIFT_COMMITS + 1):
        when = (now - DRIFT_AGE + dt.timedelta(minutes=10 * index)).astimezone(dt.UTC)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
        target = folder / "handler.py"
        with target.open("a", encoding="utf-8") as handle:
            handle.write(f"# change {index} to {service}, merged and not deployed\n")
        repo = Repo(path, env={**IDENTITY, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
        repo.git("add", "--", target.relative_to(path).as_posix())
        message = f"{service}: change {index} merged, not deployed (sandbox drift fault)"
        repo.git("commit", "--quiet", "--no-verify", "-m", message)
        shas.append(repo.head())
    return shas


def remove_drift_commits(home: Path, shas: list[str]) -> None:
    """Take back the drift commits ``shas`` (a ``sandbox.fault drift`` interrupted before it
    recorded them) while they are still the top of main; best effort."""
    path = platform_path(home)
    with _locked(home):
        clone = _existing_clone(path)
        if shas and clone is not None and clone.head() == shas[-1]:
            _reset_main(path, f"{shas[0]}^")


def _reset_main(path: Path, commit: str) -> None:
    """Main and the work tree back to ``commit`` (best effort: a clone git cannot reset
    keeps the commits, which ``sandbox.clear`` removes with it)."""
    with contextlib.suppress(GitError):
        Repo(path, env=IDENTITY, timeout_s=TIMEOUT_S).git("reset", "--hard", "--quiet", commit)


def remove_platform_repo(home: Path) -> None:
    path = platform_path(home)
    if path.exists():
        with _locked(home):
            if path.exists():
                shutil.rmtree(path)
