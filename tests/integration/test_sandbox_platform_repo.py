"""The sandbox's platform clone follows this repository: a commit made (and deployed on the
local profile) after the clone was created resolves in it, so check-drift reads it."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

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
    # nothing half-made is left beside it, and the project is untouched
    assert sorted(p.name for p in home.iterdir()) == [platform_repo.PLATFORM_DIR]
    assert Repo(source).head() == first
