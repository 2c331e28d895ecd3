"""Read schema files as they are at a git ref (the base of a breaking-change check).

Uses :class:`nbaops.gitrepo.Repo` (the one git runner) to find the repository, resolve
the ref and run one ``git cat-file --batch`` process for all files, so checking every
schema costs a handful of git calls, not two per file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from nbaops.errors import GitError, UsageError
from nbaops.gitrepo import Repo


def relative(root: Path, path: str | Path) -> str:
    """``path`` (absolute or relative to the cwd) relative to the repository ``root``.

    Raises:
        UsageError: ``path`` is outside the repository.
    """
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise UsageError(f"{path}: outside the repository {root}") from None


class GitBase:
    """The files of one repository at one ref."""

    def __init__(self, repo: Repo, ref: str) -> None:
        self.repo = repo
        self.root = repo.root
        self.ref = ref
        try:
            self.sha = self.repo.resolve(ref)
        except GitError:
            raise UsageError(f"unknown git ref {ref!r} in {self.root}") from None

    def read_many(self, paths: Sequence[str]) -> dict[str, bytes | None]:
        """Content of each repository-relative path at the ref (None: not there).

        A symlink is followed within the tree at the ref, as opening the file in the
        working tree follows it (a schema file linked from a shared folder is compared
        with its target, not with the link's text); one that leaves the repository,
        dangles or loops reads as not there.
        """
        out: dict[str, bytes | None] = dict.fromkeys(paths)
        wanted = [p for p in out if p and "\n" not in p]
        if not wanted:
            return out
        request = "".join(f"{self.sha}:{p}\n" for p in wanted).encode()
        data = self.repo.git("cat-file", "--batch", "--follow-symlinks", stdin=request)
        pos = 0
        for p in wanted:
            end = data.index(b"\n", pos)
            line = data[pos:end]
            pos = end + 1
            # "<name> missing" echoes the request, whose path may hold spaces: no content.
            if line.endswith((b" missing", b" ambiguous")):
                continue
            header = line.split(b" ")
            # "<sha> <type> <size>", or "symlink|dangling|loop|notdir <size>" (a symlink
            # git cannot follow inside the tree; its target follows): content either way.
            size = int(header[-1])
            if len(header) == 3 and header[1] == b"blob":
                out[p] = data[pos : pos + size]
            pos += size + 1  # content plus its trailing newline
        return out

    def list_files(self, under: str) -> list[str]:
        """Repository-relative paths of files below ``under`` at the ref."""
        raw = self.repo.git("ls-tree", "-r", "--name-only", "-z", self.sha, "--", under)
        return [p for p in raw.decode(errors="replace").split("\0") if p]
