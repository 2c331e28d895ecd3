"""A small world for drift tests: a real git repository with dated commits touching
different services' paths, a config whose services own those paths, and the Cloud Run
stand-in seeded with revisions labelled with some of those commits.

Used by ``test_drift.py`` and ``test_drift_github_sync.py``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from git_commands import git

NOW = "2026-03-01T12:00:00Z"
NOW_DT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
PROJECT = "nbaops-local"
REGION = "us-west2"

CONFIG = """\
version: 1
default_profile: local
profiles:
  local:
    kind: local
    project: nbaops-local
    region: us-west2
services:
  phase3-processors:
    owner: "@data"
    source_paths: [services/phase3/, shared/]
    health_path: /health
    post_deploy: []
  phase4-processors:
    owner: "@data"
    source_paths: [services/phase4/, shared/]
    health_path: /health
    post_deploy: []
  prediction-coordinator:
    owner: "@ml"
    source_paths: [services/coordinator/, shared/]
    health_path: /health
    post_deploy: []
  prediction-worker:
    owner: "@ml"
    source_paths: [services/worker/, models/, shared/]
    health_path: /health
    post_deploy: []
  grading-service:
    owner: "@ml"
    source_paths: [services/grading/, shared/]
    health_path: /health
    post_deploy: []
drift:
  window: 6h
  main_branch: main
  issue_label: deployment-drift
  comment_interval: 24h
"""


def commit(repo: Path, files: dict[str, str], message: str, date: str) -> str:
    for path, content in files.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        git(repo, "add", path)
    git(repo, "commit", "-q", "-m", message, date=date)
    return git(repo, "rev-parse", "HEAD")


@dataclass
class World:
    repo: Path
    home: Path
    commits: dict[str, str] = field(default_factory=dict)
    standin_url: str = ""

    def seed(self, service: str, *revisions: tuple[str | None, int]) -> list[str]:
        """Give ``service`` these revisions (oldest first) as (commit or None, percent).

        Percent 0 revisions get no traffic. Returns the revision names.
        """
        from nbaops.local.cloudrun_state import SeedRevision, SeedService, seed_services

        names = [f"{service}-{i:05d}-abc" for i in range(1, len(revisions) + 1)]
        seeds = []
        for i, (sha, _pct) in enumerate(revisions):
            labels = {"commit-sha": sha} if sha else {"deployer": "someone"}
            seeds.append(
                SeedRevision(
                    image=f"example/{service}:{i}",
                    labels=labels,
                    name=names[i],
                    create_time=NOW_DT - dt.timedelta(days=2, hours=-i),
                )
            )
        traffic = [(names[i], pct, "") for i, (_s, pct) in enumerate(revisions) if pct > 0]
        seed_services(self.home, PROJECT, REGION, [SeedService(service, seeds, traffic)])
        return names


def build_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """The repository, config and environment; Cloud Run is seeded by :func:`seed_default`.

    Timeline (now = 2026-03-01 12:00 UTC):
        c0  2026-02-28 00:00  initial layout (every service, shared/, docs/)
        c1  2026-03-01 02:00  phase4 change        (10 h ago)
        c2  2026-03-01 09:00  worker change         (3 h ago)
        c3  2026-03-01 10:00  docs only             (outside every service's paths)
        c4  2026-03-01 11:00  phase4 change again   (1 h ago)
    """
    repo = tmp_path / "repo"
    repo.mkdir()
    home = tmp_path / "home"
    git(repo, "init", "-q", "-b", "main")
    (repo / "nbaops.yaml").write_text(CONFIG, encoding="utf-8")
    world = World(repo=repo, home=home)
    world.commits["c0"] = commit(
        repo,
        {
            "nbaops.yaml": CONFIG,
            "services/phase3/app.py": "p3\n",
            "services/phase4/app.py": "p4\n",
            "services/coordinator/app.py": "co\n",
            "services/worker/app.py": "wk\n",
            "services/grading/app.py": "gr\n",
            "shared/lib.py": "lib\n",
            "docs/index.md": "docs\n",
        },
        "initial layout",
        "2026-02-28T00:00:00Z",
    )
    world.commits["c1"] = commit(
        repo,
        {"services/phase4/app.py": "p4 v2\n"},
        "phase4: fix lines join",
        "2026-03-01T02:00:00Z",
    )
    world.commits["c2"] = commit(
        repo,
        {"services/worker/app.py": "wk v9\n"},
        "worker: v9 | threshold <55%>",
        "2026-03-01T09:00:00Z",
    )
    world.commits["c3"] = commit(
        repo, {"docs/index.md": "docs v2\n"}, "docs: runbook", "2026-03-01T10:00:00Z"
    )
    world.commits["c4"] = commit(
        repo,
        {"services/phase4/app.py": "p4 v3\n"},
        "phase4: coverage guard",
        "2026-03-01T11:00:00Z",
    )
    monkeypatch.setenv("NBAOPS_HOME", str(home))
    monkeypatch.setenv("NBAOPS_CONFIG", str(repo / "nbaops.yaml"))
    monkeypatch.setenv("NBAOPS_ROOT", str(repo))
    monkeypatch.setenv("NBAOPS_NOW", NOW)
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    for var in ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(repo)
    return world


def start_standin(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve this world's Cloud Run state from the stand-in, without the game-day sandbox.

    ``Context.standin`` normally builds the whole sandbox first (warehouse, five seeded
    services); drift tests seed their own revisions and need no warehouse, so the
    context gets the bare stand-in for ``NBAOPS_HOME``. Everything drift uses is real:
    the Cloud Run adapter and the official run_v2 client talking REST to the stand-in.
    """
    from nbaops.context import Context
    from nbaops.local.standin import StandIn

    world.home.mkdir(parents=True, exist_ok=True)
    standin = StandIn.start(world.home)
    monkeypatch.setattr(Context, "standin", property(lambda self: StandIn.start(self.home)))
    world.standin_url = standin.url


def seed_default(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """phase3 and grading in sync, phase4 10 h behind, worker 3 h behind, coordinator
    without a commit label."""
    start_standin(world, monkeypatch)
    c = world.commits
    world.seed("phase3-processors", (c["c0"], 100))
    world.seed("phase4-processors", (c["c0"], 100))
    world.seed("prediction-worker", (c["c0"], 100))
    world.seed("grading-service", (c["c0"], 0), (c["c4"], 100))
    world.seed("prediction-coordinator", (None, 100))
