"""git in temporary test repositories: fixed identities, no user or system config."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

AUTHOR = ("Ada Author", "ada@example.com")


def git(cwd: Path, *args: str, date: str | None = None, committer: tuple[str, str] = AUTHOR) -> str:
    """Run git in ``cwd`` as Ada Author (committer: ``committer``); its stdout, stripped."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": AUTHOR[0],
        "GIT_AUTHOR_EMAIL": AUTHOR[1],
        "GIT_COMMITTER_NAME": committer[0],
        "GIT_COMMITTER_EMAIL": committer[1],
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if date:
        env["GIT_AUTHOR_DATE"] = date
        env["GIT_COMMITTER_DATE"] = date
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()
