"""nbaops.gitrepo against real temporary git repositories."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import git_commands
import pytest

from nbaops.errors import GitError
from nbaops.gitrepo import Commit, Repo


def git(cwd: Path, *args: str, date: str | None = None) -> str:
    """The committer differs from the author, so tests can tell the two apart."""
    return git_commands.git(cwd, *args, date=date, committer=("Cy Committer", "cy@example.com"))


def commit_file(repo: Path, path: str, content: str, message: str, date: str) -> str:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", message, date=date)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


@pytest.fixture
def history(repo_dir: Path) -> dict[str, str]:
    """Three commits: a phase3 change, a worker change, another phase3 change."""
    return {
        "c1": commit_file(
            repo_dir, "services/phase3/app.py", "v1\n", "phase3: first", "2026-01-10T08:00:00+00:00"
        ),
        "c2": commit_file(
            repo_dir,
            "services/worker/model.py",
            "m1\n",
            "worker: model v9",
            "2026-01-10T09:00:00+00:00",
        ),
        "c3": commit_file(
            repo_dir,
            "services/phase3/app.py",
            "v2\n",
            "phase3: fix heartbeat",
            "2026-01-10T10:30:00-05:00",
        ),
    }


def test_head_branch_and_commit_existence(repo_dir: Path, history: dict[str, str]) -> None:
    repo = Repo(repo_dir / "services")  # any folder inside the tree finds the root
    assert repo.root == repo_dir.resolve()
    assert repo.head() == history["c3"]
    assert repo.current_branch() == "main"
    assert repo.commit_exists(history["c1"])
    assert repo.commit_exists(history["c1"][:8])
    assert not repo.commit_exists("0" * 40)
    assert not repo.commit_exists("--output=/tmp/x")
    assert repo.resolve(history["c2"][:10]) == history["c2"]


def test_unknown_commit_raises_one_line_git_error(repo_dir: Path, history: dict[str, str]) -> None:
    repo = Repo(repo_dir)
    with pytest.raises(GitError, match="unknown commit 'deadbeef'") as info:
        repo.commits_between("deadbeef", "HEAD")
    assert "\n" not in str(info.value)
    with pytest.raises(GitError, match="invalid git revision"):
        repo.resolve("--all")


def test_commits_between_lists_newest_first_with_aware_dates(
    repo_dir: Path, history: dict[str, str]
) -> None:
    repo = Repo(repo_dir)
    commits = repo.commits_between(history["c1"], "HEAD")
    assert [c.sha for c in commits] == [history["c3"], history["c2"]]
    top = commits[0]
    assert isinstance(top, Commit)
    assert top.subject == "phase3: fix heartbeat"
    assert top.author == "Ada Author"
    assert top.short == history["c3"][: len(top.short)]
    assert top.date.tzinfo is not None
    assert top.committed_at == dt.datetime(2026, 1, 10, 15, 30, tzinfo=dt.UTC)
    assert top.to_json()["sha"] == history["c3"]


def test_a_subject_with_the_separator_characters_is_read_whole(
    repo_dir: Path, history: dict[str, str]
) -> None:
    """Records ended with 0x1E and fields with 0x1F, which a commit subject may hold: such a
    commit made every git log that listed it fail ("unexpected git log record"), and the
    drift of every service it touched ERROR."""
    subject = "phase3: odd \x1e record \x1f field"
    sha = commit_file(repo_dir, "services/phase3/app.py", "v3\n", subject, "2026-01-11T08:00:00Z")
    (newest, *_rest) = Repo(repo_dir).commits_between(history["c1"], sha)
    assert (newest.sha, newest.subject) == (sha, subject)
    assert Repo(repo_dir).recent_commits(1)[0].subject == subject


def test_commits_between_limited_to_paths(repo_dir: Path, history: dict[str, str]) -> None:
    repo = Repo(repo_dir)
    phase3 = repo.commits_between(history["c1"], "HEAD", ["services/phase3/"])
    assert [c.sha for c in phase3] == [history["c3"]]
    worker = repo.commits_between(history["c2"], "HEAD", ["services/worker/"])
    assert worker == []
    assert repo.commits_between(history["c3"], history["c1"]) == []  # head behind base


def test_changed_files(repo_dir: Path, history: dict[str, str]) -> None:
    repo = Repo(repo_dir)
    assert repo.changed_files(history["c1"], history["c3"]) == [
        "services/phase3/app.py",
        "services/worker/model.py",
    ]
    assert repo.changed_files(history["c1"], history["c3"], ["services/worker/"]) == [
        "services/worker/model.py"
    ]


def test_is_dirty_reports_changes_optionally_limited_to_paths(
    repo_dir: Path, history: dict[str, str]
) -> None:
    repo = Repo(repo_dir)
    assert repo.is_dirty() == []
    (repo_dir / "services/phase3/app.py").write_text("v3\n", encoding="utf-8")
    (repo_dir / "notes with space.txt").write_text("x", encoding="utf-8")
    assert repo.is_dirty() == ["notes with space.txt", "services/phase3/app.py"]
    assert repo.is_dirty(["services/phase3/"]) == ["services/phase3/app.py"]
    assert repo.is_dirty(["services/worker/"]) == []
    assert repo.is_dirty(include_untracked=False) == ["services/phase3/app.py"]
    git(repo_dir, "mv", "services/worker/model.py", "services/worker/model2.py")
    assert "services/worker/model2.py" in repo.is_dirty(["services/worker/"])


def test_detached_head_has_no_branch(repo_dir: Path, history: dict[str, str]) -> None:
    git(repo_dir, "checkout", "-q", "--detach", history["c2"])
    repo = Repo(repo_dir)
    assert repo.current_branch() is None
    assert repo.upstream() is None
    assert repo.main_tip() == history["c3"]  # main still resolves


def test_names_that_are_not_utf8_are_reported_not_a_crash(tmp_path: Path) -> None:
    # strict decoding raised UnicodeDecodeError (a traceback) on either name
    root = tmp_path / os.fsdecode(b"repo-\xff")
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit_file(root, "a.txt", "a\n", "first", "2026-01-10T08:00:00+00:00")
    git(root, "checkout", "-q", "-b", os.fsdecode(b"feat-\xe9"))
    repo = Repo(root)
    assert repo.root == root and repo.head() == git(root, "rev-parse", "HEAD")
    assert repo.current_branch() == "feat-\ufffd"


def test_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitError, match="not a git repository"):
        Repo(plain, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    with pytest.raises(GitError, match="not a git repository"):
        Repo(tmp_path / "missing")


def test_git_missing_from_path(repo_dir: Path, tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    with pytest.raises(GitError, match="git is not installed"):
        Repo(repo_dir, env={"PATH": str(empty_bin)})


def test_empty_repository_has_no_head(repo_dir: Path) -> None:
    repo = Repo(repo_dir)
    with pytest.raises(GitError, match="no commits"):
        repo.head()
    with pytest.raises(GitError, match="no 'main' branch"):
        repo.main_tip()


def test_remote_main_tip_fetch_upstream_and_ahead_behind(
    tmp_path: Path, repo_dir: Path, history: dict[str, str]
) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo_dir), str(origin))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    repo = Repo(clone)
    assert repo.remotes() == ["origin"]
    assert repo.upstream() == "origin/main"
    assert repo.ahead_behind("origin/main") == (0, 0)
    assert repo.main_ref() == "origin/main"

    # Someone else pushes to origin; our clone sees it only after fetch.
    pushed = commit_file(repo_dir, "shared/lib.py", "s\n", "shared: lib", "2026-01-11T00:00:00Z")
    git(repo_dir, "push", "-q", str(origin), "main")
    local = commit_file(clone, "docs/x.md", "d\n", "docs", "2026-01-11T01:00:00Z")
    assert repo.main_tip() == history["c3"]
    assert repo.fetch() is True
    assert repo.fetch("origin") is True
    assert repo.main_tip() == pushed
    assert repo.main_tip(prefer_remote=False) == local
    assert repo.ahead_behind("origin/main") == (1, 1)
    with pytest.raises(GitError, match="unknown git remote"):
        repo.fetch("upstream")


def test_fetch_without_remote_returns_false_and_failure_raises(
    repo_dir: Path, history: dict[str, str], tmp_path: Path
) -> None:
    repo = Repo(repo_dir)
    assert repo.fetch() is False
    assert repo.upstream() is None
    assert repo.main_ref() == "main"
    git(repo_dir, "remote", "add", "origin", str(tmp_path / "gone.git"))
    with pytest.raises(GitError, match="git fetch failed") as info:
        repo.fetch()
    assert "\n" not in str(info.value)


def test_is_ancestor_and_commit(repo_dir: Path, history: dict[str, str]) -> None:
    repo = Repo(repo_dir)
    assert repo.is_ancestor(history["c1"], history["c3"])
    assert not repo.is_ancestor(history["c3"], history["c1"])
    [c2] = repo.commits_between(history["c1"], history["c2"])
    assert c2.subject == "worker: model v9"


def test_first_parent_lists_only_mainline(repo_dir: Path, history: dict[str, str]) -> None:
    git(repo_dir, "checkout", "-q", "-b", "feature")
    side = commit_file(
        repo_dir, "services/phase3/b.py", "b\n", "phase3: side", "2026-01-12T00:00:00Z"
    )
    git(repo_dir, "checkout", "-q", "main")
    git(
        repo_dir,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge feature",
        "feature",
        date="2026-01-12T01:00:00Z",
    )
    repo = Repo(repo_dir)
    merge = repo.head()
    everything = [c.sha for c in repo.commits_between(history["c3"], "HEAD")]
    assert everything == [merge, side]
    mainline = [c.sha for c in repo.commits_between(history["c3"], "HEAD", first_parent=True)]
    assert mainline == [merge]


def test_recent_commits_are_the_newest_from_head(repo_dir: Path, history: dict[str, str]) -> None:
    commits = Repo(repo_dir).recent_commits(2)
    assert [c.sha for c in commits] == [history["c3"], history["c2"]]
    assert commits[0].committed_at.tzinfo is not None


def test_recent_commits_of_an_empty_repository_fail(repo_dir: Path) -> None:
    with pytest.raises(GitError, match="no commits yet"):
        Repo(repo_dir).recent_commits(5)
