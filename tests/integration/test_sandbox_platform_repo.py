"""The sandbox's platform clone follows this repository: a commit made (and deployed on the
local profile) after the clone was created resolves in it, so check-drift reads it."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nbaops.gitrepo import Repo
from nbaops.sandbox import platform_repo

IDENTITY = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]


def _commit(repo: Path, name: str) -> str:
    (repo / name).write_text(name, encoding="utf-8")
    subprocess.run(["git", "-C", str(repo), "add", name], check=True)
    subprocess.run(
        ["git", "-C", str(repo), *IDENTITY, "commit", "--quiet", "--no-verify", "-m", name],
        check=True,
    )
    return Repo(repo).head()


def test_the_clone_follows_new_commits_and_keeps_the_drift_faults_commits(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    subprocess.run(["git", "init", "--quiet", "-b", "main", str(source)], check=True)
    first = _commit(source, "a.txt")
    home = tmp_path / "home"
    clone = Repo(platform_repo.ensure_platform_repo(home, source))
    assert clone.head() == first
    # a commit made since (then deployed locally): main follows it
    second = _commit(source, "b.txt")
    assert Repo(platform_repo.ensure_platform_repo(home, source)).head() == second
    # the drift fault's commits on top stay; a newer commit still resolves (fetched)
    now = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
    added = platform_repo.add_drift_commits(
        home, source, "phase4-processors", "services/phase4/", now
    )
    third = _commit(source, "c.txt")
    assert clone.commit_exists(third) is False
    assert Repo(platform_repo.ensure_platform_repo(home, source)).head() == added[-1]
    assert clone.commit_exists(third)


def test_a_clone_cut_short_is_made_again_not_read_through_to_the_enclosing_repository(
    tmp_path: Path,
) -> None:
    """A ``.git`` left incomplete (a kill while cloning or while ``sandbox.clear`` removed
    it) is no repository to git, which then found the enclosing one: with the state folder
    inside the project, drift read the project's history and the drift fault ran
    ``git add``/``commit`` in the project itself."""
    source = tmp_path / "source"
    source.mkdir()
    subprocess.run(["git", "init", "--quiet", "-b", "main", str(source)], check=True)
    first = _commit(source, "a.txt")
    home = source / ".nbaops"  # the default state folder: inside the project
    (platform_repo.platform_path(home) / ".git" / "objects").mkdir(parents=True)
    path = platform_repo.ensure_platform_repo(home, source)
    clone = Repo(path)
    assert clone.root == path.resolve()
    assert (clone.head(), clone.remotes(), clone.main_ref()) == (first, [], "main")
    # nothing half-made is left beside it (the clone's lock file is no part of it), and the
    # project is untouched
    left = sorted(p.name for p in home.iterdir() if p.name != platform_repo.LOCK_NAME)
    assert left == [platform_repo.PLATFORM_DIR]
    assert Repo(source).head() == first


def _at_once(home: Path, source: Path, now: dt.datetime) -> tuple[list[BaseException], list[str]]:
    """Three drift checks' clone and one drift fault, started together in threads."""
    import threading

    start = threading.Barrier(4)
    errors: list[BaseException] = []
    heads: list[str] = []

    def use(index: int) -> None:
        start.wait(10)
        try:
            if index == 3:  # the drift fault beside the checks
                platform_repo.add_drift_commits(home, source, "svc", "services/svc/", now)
            else:
                heads.append(Repo(platform_repo.ensure_platform_repo(home, source)).head())
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=use, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors, heads


def test_processes_sharing_the_sandbox_make_and_follow_one_clone_in_turn(tmp_path: Path) -> None:
    """Two ``inv check-drift`` at once on a sandbox without its clone (the first drift
    check, or any after ``sandbox.clear``) both cloned into the same staging folder, each
    removing what the other was writing: every one of four concurrent runs ended in
    "internal error: OSError: Directory not empty", "git checkout failed: unable to read
    sha1 file" or "index.lock: File exists" (exit 3). Making, following and extending the
    clone now hold one lock of the state folder."""
    source = tmp_path / "source"
    source.mkdir()
    subprocess.run(["git", "init", "--quiet", "-b", "main", str(source)], check=True)
    for index in range(5):
        head = _commit(source, f"f{index}.txt")
    home = tmp_path / "home"
    now = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
    for _round in range(3):
        platform_repo.remove_platform_repo(home)
        errors, heads = _at_once(home, source, now)
        assert errors == [] and len(heads) == 3
        clone = Repo(platform_repo.platform_path(home))
        assert clone.commit_exists(head) and clone.root.resolve() == clone.root


def test_drift_commits_cut_short_leave_main_and_the_tree_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C between the drift fault's two commits left the first on main (and the second
    change in the work tree) while no fault was recorded: check-drift FAILed for the
    service and ``sandbox.status`` said no fault was active. Main goes back now."""
    source = tmp_path / "source"
    source.mkdir()
    subprocess.run(["git", "init", "--quiet", "-b", "main", str(source)], check=True)
    first = _commit(source, "a.txt")
    home = tmp_path / "home"
    clone = Repo(platform_repo.ensure_platform_repo(home, source))
    real_git = Repo.git
    commits: list[str] = []

    def interrupted_second_commit(self: Repo, *args: str, **kwargs: Any) -> bytes:
        if args and args[0] == "commit":
            commits.append(args[0])
            if len(commits) == 2:
                raise KeyboardInterrupt
        return real_git(self, *args, **kwargs)

    monkeypatch.setattr(Repo, "git", interrupted_second_commit)
    now = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
    with pytest.raises(KeyboardInterrupt):
        platform_repo.add_drift_commits(home, source, "svc", "services/svc/", now)
    monkeypatch.setattr(Repo, "git", real_git)
    assert clone.head() == first
    assert clone.is_dirty() == []
