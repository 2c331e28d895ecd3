"""A controlled world for the deploy tests: a real git repo, the stand-in, a warehouse.

- ``repo``: a temporary git repository on ``main`` holding a copy of ``nbaops.yaml``
  (with a fast ``deploy:`` section: zero observation interval, a trivial test command)
  and ``schemas/``, plus a file under each service's source path. Two commits: the
  first is what the stand-in's services run, the second is ``HEAD``.
- The Cloud Run stand-in seeded directly with the five services (two ready revisions
  each, the newer one serving 100% and labelled with the first commit).
- A local warehouse (tables from ``schemas/``) holding only a schedule with no game today:
  the post-deploy checks of ``phase4-processors`` pass with "no games scheduled" until a
  test writes rows.

Everything goes through the real adapters (``run_v2`` REST client, DuckDB, HTTP health
probes); the context gets this stand-in and warehouse instead of the generated sandbox.
``dworld`` is the fixture (registered for every test directory by ``tests/conftest.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from nbaops.adapters.cloudrun import CloudRun
from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.context import Context
from nbaops.deploy.progress import Progress
from nbaops.local.cloudrun_state import SeedRevision, SeedService, seed_services
from nbaops.local.standin import StandIn
from nbaops.sandbox.world import HOOKS, open_context
from worlds.warehouse_template import empty_warehouse

REPO = Path(__file__).resolve().parents[2]
PROJECT = "nbaops-local"
REGION = "us-west2"
SERVICES = (
    "phase3-processors",
    "phase4-processors",
    "prediction-coordinator",
    "prediction-worker",
    "grading-service",
)
NOW = "2025-01-15T17:00:00Z"
NOW_DT = dt.datetime(2025, 1, 15, 17, 0, tzinfo=dt.UTC)
MUTATING = {"PATCH", "POST", "DELETE", "PUT"}

FAST_DEPLOY = {
    "lock_ttl_s": 600,
    "test_command": "python -c \"print('3 passed')\"",
    "test_timeout_s": 60,
    "health_timeout_s": 3,
    "health_wait_s": 0,
    "health_interval_s": 0,
    "ready_timeout_s": 0,
    "observation": {
        "interval_s": 0,
        "count": 2,
        "failure_limit": 1,
        "inconclusive_limit": 2,
        "consecutive_error_limit": 2,
    },
}


def git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Ada Lovelace",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Lovelace",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_AUTHOR_DATE": "2025-01-14T12:00:00Z",
        "GIT_COMMITTER_DATE": "2025-01-14T12:00:00Z",
        "HOME": str(repo),
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


_REPO_TEMPLATES: dict[str, tuple[Path, str, str]] = {}


def make_repo(root: Path, deploy: dict[str, Any]) -> tuple[Path, str, str]:
    """The temp repository; returns ``(path, first_commit, head_commit)``.

    Built once per ``deploy`` section in this process and copied (the commits have fixed
    dates and authors, so a fresh build would have the same ids).
    """
    key = json.dumps(deploy, sort_keys=True, default=repr)
    if key not in _REPO_TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="nbaops-deploy-repo-"))
        _REPO_TEMPLATES[key] = _build_repo(folder, deploy)
    template, first, head = _REPO_TEMPLATES[key]
    repo = root / "repo"
    shutil.copytree(template, repo, symlinks=True)
    return repo, first, head


def _build_repo(root: Path, deploy: dict[str, Any]) -> tuple[Path, str, str]:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    data = yaml.safe_load((REPO / "nbaops.yaml").read_text(encoding="utf-8"))
    section = data.setdefault("deploy", {})
    section.update(deploy)
    for prof in data["profiles"].values():
        prof.get("overrides", {}).pop("deploy", None)
    (repo / "nbaops.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.copytree(REPO / "schemas", repo / "schemas")
    (repo / ".gitignore").write_text(".nbaops/\n", encoding="utf-8")
    for body in data["services"].values():
        for path in body["source_paths"]:
            folder = repo / path
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "main.py").write_text("print('v1')\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial services")
    first = git(repo, "rev-parse", "HEAD")
    (repo / "services" / "phase4_processors" / "main.py").write_text("print('v2')\n")
    git(repo, "commit", "-q", "-am", "phase4: faster lines join")
    head = git(repo, "rev-parse", "HEAD")
    return repo, first, head


def seed(home: Path, commit: str) -> None:
    services = []
    for name in SERVICES:
        services.append(
            SeedService(
                name=name,
                revisions=[
                    SeedRevision(
                        image=f"local.nbaops.dev/services/{name}:old",
                        labels={"commit-sha": "0" * 40},
                        create_time=NOW_DT - dt.timedelta(days=3),
                    ),
                    SeedRevision(
                        image=f"local.nbaops.dev/services/{name}:{commit[:12]}",
                        labels={"commit-sha": commit},
                        create_time=NOW_DT - dt.timedelta(days=1),
                    ),
                ],
            )
        )
    seed_services(home, PROJECT, REGION, services)


def _is_read_only_post(path: str) -> bool:
    """Token requests (OAuth, STS, IAM Credentials), testIamPermissions and Logging's
    entries.list (a query sent as POST) change nothing."""
    from nbaops.local.iam_standin import is_iam_path

    return (
        path in ("/token", "/v1/token", "/v2/entries:list")
        or is_iam_path(path)
        or path.endswith(":testIamPermissions")
    )


def local_context(
    standin: StandIn, warehouse: DuckDBWarehouse | None = None, *, timeout_s: float = 10.0
) -> Context:
    """A local context wired to ``standin`` (and ``warehouse``) whose Cloud Run client fails
    fast (``timeout_s``, no retries)."""
    ctx = open_context("local")
    ctx.__dict__["standin"] = standin
    if warehouse is not None:
        ctx.__dict__["warehouse"] = warehouse
    ctx.__dict__["cloudrun"] = CloudRun(
        ctx.config.profile, endpoint=standin.url, timeout_s=timeout_s, retries=False
    )
    return ctx


@dataclass
class DeployWorld:
    tmp: Path
    repo: Path
    home: Path
    first: str
    head: str
    standin: StandIn
    wh: DuckDBWarehouse
    monkeypatch: pytest.MonkeyPatch

    def context(self, *, timeout_s: float = 10.0) -> Context:
        """A fresh context on this world (separate Cloud Run client, shared stand-in)."""
        return local_context(self.standin, self.wh, timeout_s=timeout_s)

    def requests(self) -> list[dict[str, Any]]:
        return StandIn.requests(self.home)

    def mutating(self, since: int = 0) -> list[dict[str, Any]]:
        return [
            r
            for r in self.requests()[since:]
            if r["method"] in MUTATING and not _is_read_only_post(r["path"])
        ]

    def audit_rows(self) -> list[dict[str, Any]]:
        return self.wh.query(
            "SELECT * FROM `nba_ops.deploys` WHERE started_at >= @since ORDER BY started_at",
            {"since": NOW_DT - dt.timedelta(days=1)},
        ).rows

    def service(self, name: str = "phase4-processors") -> Any:
        return self.context().cloudrun.get_service(name)

    def reconfigure(self, **deploy: Any) -> None:
        path = self.repo / "nbaops.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["deploy"].update(deploy)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        git(self.repo, "commit", "-q", "-am", "config")
        self.head = git(self.repo, "rev-parse", "HEAD")


def hook(on: Callable[[str], None]) -> Progress:
    """A progress whose sink calls ``on(line)`` for each step line (fault injection)."""
    return Progress(lambda line, style: on(line))


def at_steps(*steps: tuple[str, Callable[[], Any]]) -> Progress:
    """A progress running each action once, on the first line containing its marker."""
    fired: set[int] = set()

    def on(line: str) -> None:
        for index, (marker, action) in enumerate(steps):
            if marker in line and index not in fired:
                fired.add(index)
                action()

    return hook(on)


def make_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deploy: dict[str, Any] | None = None
) -> DeployWorld:
    home = tmp_path / "home"
    home.mkdir()
    repo, first, head = make_repo(tmp_path, {**FAST_DEPLOY, **(deploy or {})})
    monkeypatch.setenv("NBAOPS_HOME", str(home))
    monkeypatch.setenv("NBAOPS_ROOT", str(repo))
    monkeypatch.setenv("NBAOPS_CONFIG", str(repo / "nbaops.yaml"))
    monkeypatch.setenv("NBAOPS_NOW", NOW)
    monkeypatch.setenv("USER", "ada")
    for var in ("NBAOPS_PROFILE", "SLACK_WEBHOOK_URL", "GITHUB_ACTOR", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)
    seed(home, first)
    standin = StandIn.start(home, HOOKS)
    empty_warehouse(home / "warehouse.duckdb", REPO)  # every table, no rows
    wh = DuckDBWarehouse(home / "warehouse.duckdb", root=REPO)
    known_schedule(wh)
    return DeployWorld(tmp_path, repo, home, first, head, standin, wh, monkeypatch)


def known_schedule(wh: DuckDBWarehouse) -> None:
    """A game five days ago (outside the grading window) and one tomorrow, none today:
    "no games scheduled" is then a known fact (issue 14), so the post-deploy checks pass
    on an otherwise empty warehouse instead of being INCONCLUSIVE."""
    today = NOW_DT.date()
    rows = [
        {"game_id": f"0022400{i}", "game_date": day, "season": "2024-25", "home_team": "BOS",
         "away_team": "MIA", "start_time": dt.datetime.combine(day, dt.time(23, 30), dt.UTC),
         "status": "Final" if day < today else "Scheduled", "updated_at": NOW_DT}
        for i, day in enumerate((today - dt.timedelta(days=5), today + dt.timedelta(days=1)))
    ]  # fmt: skip
    wh.insert_rows("nba_raw.games", rows)


@pytest.fixture
def dworld(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    world = make_world(tmp_path, monkeypatch)
    yield world
    world.standin.stop()
