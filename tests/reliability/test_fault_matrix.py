"""The fault matrix: every external dependency x each way it fails, injected through the
local stand-ins, asserting the documented outcome through the real entry points.

One test id per cell (``test_cell[<cell id>]``). ``docs/fault-matrix.md`` is generated from
:data:`CELLS` (``python tests/reliability/test_fault_matrix.py`` rewrites it) and a test
asserts it is current.

How each fault is injected (nothing of nbaops is mocked):

- warehouse: a table dropped (error); another *process* holding the DuckDB file, with
  ``checks.timeout_s`` exceeded (timeout) or the lock wait exhausted (locked); the
  schedule present but the measured tables empty (empty result);
- Cloud Run Admin API, health endpoints, Cloud Logging: ``nbaops.local.api_faults`` on
  the Cloud Run/Logging stand-in (http-4xx, http-5xx, timeout, lro-fail, slow-lro, health-5xx,
  health-timeout, logging-error, logging-empty-pages), reached through the official
  ``run_v2``/logging clients;
- Slack and GitHub: HTTP servers on 127.0.0.1 answering 5xx or too slowly;
- git: a ``PATH`` without git, a folder that is not a repository, a detached HEAD.

Outcomes are read through :func:`nbaops.cli.runner.run` (the tasks' exit-code mapping and
its single JSON document) or the invoke task itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from worlds.http_fake import FakeServer, Request

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "fault-matrix.md"


# ---------------------------------------------------------------- harness


@dataclass
class Env:
    tmp: Path
    mp: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def run(self, action: Callable[[], Any]) -> tuple[int, dict[str, Any], str]:
        """Run ``action`` through the tasks' runner: (exit code, JSON document, stderr)."""
        from nbaops.cli.runner import run

        self.capsys.readouterr()
        code = run(lambda _ctx: action(), json_output=True)
        out = self.capsys.readouterr()
        lines = [line for line in out.out.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected exactly one JSON document, got: {out.out!r}"
        return code, json.loads(lines[0]), out.err


@dataclass(frozen=True)
class Cell:
    id: str
    dependency: str
    fault: str
    component: str
    expected: str
    run: Callable[[Env], None]


CELLS: list[Cell] = []


def cell(
    id_: str, dependency: str, fault: str, component: str, expected: str
) -> Callable[[Callable[[Env], None]], Callable[[Env], None]]:
    def register(fn: Callable[[Env], None]) -> Callable[[Env], None]:
        CELLS.append(Cell(id_, dependency, fault, component, expected, fn))
        return fn

    return register


def checks_of(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{c['name']}[{c['service']}]": c for c in doc["checks"]}


def write_config(env: Env, base: Path, **sections: dict[str, Any]) -> Path:
    """A copy of ``base`` (an nbaops.yaml) with ``sections`` merged in; NBAOPS_CONFIG set."""
    data = yaml.safe_load(base.read_text(encoding="utf-8"))
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    path = env.tmp / "nbaops-fault.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    env.mp.setenv("NBAOPS_CONFIG", str(path))
    return path


# ---------------------------------------------------------------- worlds


def checks_world(env: Env, **sections: dict[str, Any]) -> Any:
    """The data-check world (empty local warehouse, pinned clock), config sections merged."""
    from worlds import checks_world as cw

    from nbaops.sandbox.world import open_context

    world = cw.make_world(env.tmp, env.mp)
    if sections:
        write_config(env, REPO / "nbaops.yaml", **sections)
        wh = world.ctx.warehouse
        world.ctx = open_context("local")
        world.ctx.__dict__["warehouse"] = wh
    return world


def game_day(world: Any, *, missing_lines: int = 0) -> None:
    """One game today with features and lines (``missing_lines`` players without one)."""
    from worlds import checks_world as cw

    with world.wh.session():  # one connection for the three inserts (each opens the file)
        games = world.games(cw.TODAY, 1)
        world.features(games)
        world.lines(games, missing={games[0].game_id: missing_lines})


def hold_duckdb_file(env: Env, path: Path) -> None:
    """Another process opens the DuckDB file and keeps it locked until the test ends."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            "con = duckdb.connect(sys.argv[1])\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    env.cleanups.append(lambda: (proc.kill(), proc.wait()))
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"


def serving(world: Any) -> dict[str, int]:
    """Revisions with traffic (a failed candidate keeps its tag at 0%)."""
    return {k: v for k, v in world.service().traffic_by_revision.items() if v}


def deploy_world(env: Env, **deploy: Any) -> Any:
    from worlds import deploy_world as dw

    world = dw.make_world(env.tmp, env.mp, deploy or None)
    env.cleanups.append(world.standin.stop)
    return world


def standin_ctx(env: Env, *, timeout_s: float = 5.0) -> tuple[Any, Path]:
    """A context on a stand-in seeded with the five services (no sandbox, no warehouse)."""
    from worlds import deploy_world as dw

    from nbaops.local.standin import StandIn
    from nbaops.sandbox.world import HOOKS

    home = env.tmp / "home"
    home.mkdir()
    env.mp.setenv("NBAOPS_HOME", str(home))
    for var in ("NBAOPS_PROFILE", "NBAOPS_CONFIG", "NBAOPS_ROOT"):
        env.mp.delenv(var, raising=False)
    dw.seed(home, "a" * 40)  # the five services, two ready revisions each
    standin = StandIn.start(home, HOOKS)
    env.cleanups.append(standin.stop)
    return dw.local_context(standin, timeout_s=timeout_s), home


# ---------------------------------------------------------------- warehouse


@cell(
    "warehouse-error-check",
    "warehouse query",
    "error (table dropped)",
    "inv check-lines",
    "check ERROR with the engine's error text and its SQL; exit 3",
)
def _(env: Env) -> None:
    from nbaops.cli.checks import _single_check

    world = checks_world(env)
    game_day(world)
    world.break_table("nba_precompute.points_lines")
    code, doc, _err = env.run(lambda: _single_check(world.ctx, "lines_coverage", {}, "check-lines"))
    check = doc["checks"][0]
    assert check["verdict"] == "ERROR", check
    assert "points_lines" in check["message"] and "points_lines" in check["query"]
    assert code == 3 and doc["verdict"] == "ERROR"


@cell(
    "warehouse-error-deploy",
    "warehouse query",
    "error (table dropped)",
    "inv deploy (post-deploy validation)",
    "validation ERROR -> automatic rollback, previous revision 100%, audit row, exit 3",
)
def _(env: Env) -> None:
    from nbaops.deploy.deploy import DeployRequest, run_deploy

    world = deploy_world(env)
    before = world.service().serving_revision
    world.wh.execute("DROP TABLE `nba_precompute.points_lines`")
    code, doc, _err = env.run(
        lambda: run_deploy(
            world.context(), DeployRequest(service="phase4-processors", skip_tests=True)
        )
    )
    assert doc["outcome"] == "rolled_back", doc
    assert code == 3
    assert serving(world) == {before: 100}
    assert [r["outcome"] for r in world.audit_rows()] == ["rolled_back"]


@cell(
    "warehouse-error-history",
    "warehouse query",
    "error (history table dropped)",
    "inv system-health (history write)",
    "the run's verdict and exit code are unchanged; each result says 'not recorded: <why>'",
)
def _(env: Env) -> None:
    from nbaops.system_health import run_system_health

    world = checks_world(env)
    game_day(world)
    world.break_table("nba_ops.check_results")
    world.use_standin_logs()
    report = run_system_health(world.ctx, "phase4-processors", record=True)
    assert {c.name: c.verdict.value for c in report.checks} == {
        "lines_coverage": "PASS",
        "error_logs": "PASS",
    }
    assert report.verdict.value == "PASS"
    history = [str(c.details.get("history", "")) for c in report.checks]
    assert all(h.startswith("not recorded") for h in history), history
    assert "check_results" in history[0]


@cell(
    "warehouse-timeout",
    "warehouse query",
    "timeout (checks.timeout_s exceeded)",
    "inv check-lines",
    "check ERROR 'timed out after 1s' while the warehouse hangs; exit 3",
)
def _(env: Env) -> None:
    from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
    from nbaops.cli.checks import _single_check

    world = checks_world(env, checks={"timeout_s": 1})
    game_day(world)
    hold_duckdb_file(env, world.wh.path)
    world.ctx.__dict__["warehouse"] = DuckDBWarehouse(world.wh.path, root=REPO, lock_timeout_s=30)
    started = time.monotonic()
    code, doc, _err = env.run(lambda: _single_check(world.ctx, "lines_coverage", {}, "check-lines"))
    # the 1 s check timeout ended it, not the 30 s lock wait (a loaded machine has slack)
    assert time.monotonic() - started < 25
    check = doc["checks"][0]
    assert check["verdict"] == "ERROR" and "timed out after 1s" in check["message"], check
    assert code == 3


@cell(
    "warehouse-locked",
    "warehouse query",
    "locked by another process",
    "inv check-lines",
    "check ERROR naming the lock; exit 3",
)
def _(env: Env) -> None:
    from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
    from nbaops.cli.checks import _single_check

    world = checks_world(env)
    game_day(world)
    hold_duckdb_file(env, world.wh.path)
    world.ctx.__dict__["warehouse"] = DuckDBWarehouse(world.wh.path, root=REPO, lock_timeout_s=0.3)
    code, doc, _err = env.run(lambda: _single_check(world.ctx, "lines_coverage", {}, "check-lines"))
    check = doc["checks"][0]
    assert check["verdict"] == "ERROR" and "locked by another process" in check["message"]
    assert code == 3


@cell(
    "warehouse-empty",
    "warehouse query",
    "empty result (games scheduled, no data)",
    "inv system-health",
    "every warehouse check is INCONCLUSIVE or FAIL, none PASS; exit 1 (a FAIL dominates)",
)
def _(env: Env) -> None:
    from worlds import checks_world as cw

    from nbaops.system_health import run_system_health

    world = checks_world(env)
    for day, status in (
        (cw.TODAY, "Scheduled"),
        (cw.YESTERDAY, "Final"),
        (cw.TODAY - dt.timedelta(days=2), "Final"),
    ):
        world.games(day, 3, status=status)
    world.use_standin_logs()
    code, doc, _err = env.run(lambda: run_system_health(world.ctx, None, record=False))
    data_checks = {
        k: c["verdict"] for k, c in checks_of(doc).items() if not k.startswith("error_logs")
    }
    assert len(data_checks) == 7  # model_hit_rate: INCONCLUSIVE without graded picks
    assert all(v in ("INCONCLUSIVE", "FAIL") for v in data_checks.values()), data_checks
    assert code == 1 and doc["verdict"] == "FAIL"


# ---------------------------------------------------------------- Cloud Run Admin API


def _deploy_under_api_fault(
    env: Env,
    kind: str,
    *,
    at: str,
    timeout_s: float = 10.0,
    service: str | None = "phase4-processors",
    **fault: Any,
) -> tuple[Any, int, dict[str, Any], str | None]:
    from worlds.deploy_world import hook

    from nbaops.deploy.deploy import DeployRequest, run_deploy
    from nbaops.local.api_faults import set_api_fault

    world = deploy_world(env)
    before = world.service().serving_revision
    fired: list[bool] = []

    def on(line: str) -> None:
        if at in line and not fired:
            fired.append(True)
            set_api_fault(world.home, kind, service=service, **fault)

    code, doc, _err = env.run(
        lambda: run_deploy(
            world.context(timeout_s=timeout_s),
            DeployRequest(service="phase4-processors", skip_tests=True),
            progress=hook(on),
        )
    )
    assert fired, f"the deploy never reached {at!r}"
    return world, code, doc, before


@cell(
    "cloudrun-4xx-deploy",
    "Cloud Run API",
    "HTTP 403 on reads",
    "inv deploy",
    "pre-deploy ERROR: refused before any change (no mutating request), audit row, exit 3",
)
def _(env: Env) -> None:
    from worlds.deploy_world import hook

    from nbaops.deploy.deploy import DeployRequest, run_deploy
    from nbaops.local.api_faults import set_api_fault

    world = deploy_world(env)
    set_api_fault(world.home, "http-4xx", service="phase4-processors", method="GET")
    since = len(world.requests())
    code, doc, _err = env.run(
        lambda: run_deploy(
            world.context(),
            DeployRequest(service="phase4-processors", skip_tests=True),
            progress=hook(lambda line: None),
        )
    )
    assert doc["outcome"] == "refused", doc
    assert code == 3
    assert world.mutating(since) == []
    assert [r["outcome"] for r in world.audit_rows()] == ["refused"]


@cell(
    "cloudrun-5xx-deploy",
    "Cloud Run API",
    "HTTP 503 on the new-revision PATCH",
    "inv deploy",
    "previous revision keeps 100% (verified), audit row 'failed', exit 3",
)
def _(env: Env) -> None:
    world, code, doc, before = _deploy_under_api_fault(
        env, "http-5xx", at="image", method="PATCH", count=1
    )
    assert doc["outcome"] == "failed" and code == 3, doc
    assert world.service().traffic_by_revision[before] == 100
    assert [r["outcome"] for r in world.audit_rows()] == ["failed"]


@cell(
    "cloudrun-timeout-deploy",
    "Cloud Run API",
    "timeout on the new-revision PATCH",
    "inv deploy",
    "previous revision keeps 100%, audit row 'failed', exit 3",
)
def _(env: Env) -> None:
    world, code, doc, before = _deploy_under_api_fault(
        env, "timeout", at="image", timeout_s=1.0, method="PATCH", count=1, delay_s=2.0
    )
    assert doc["outcome"] == "failed" and code == 3, doc
    assert world.standin.wait_idle()  # the late PATCH lands on a stale etag: no traffic move
    assert serving(world) == {before: 100}
    assert [r["outcome"] for r in world.audit_rows()] == ["failed"]


@cell(
    "cloudrun-lro-fail-deploy",
    "Cloud Run API",
    "long-running operation fails",
    "inv deploy",
    "new revision never gets traffic, previous keeps 100%, audit row, exit 3",
)
def _(env: Env) -> None:
    world, code, doc, before = _deploy_under_api_fault(env, "lro-fail", at="image", count=1)
    assert doc["outcome"] == "failed" and code == 3, doc
    assert "(the new revision has no traffic)" in doc["summary"], doc["summary"]  # not "None"
    info = world.service()
    assert info.traffic_by_revision == {before: 100}
    assert info.latest_created_revision != before
    assert [r["outcome"] for r in world.audit_rows()] == ["failed"]


@cell(
    "cloudrun-slow-rollout-deploy",
    "Cloud Run API",
    "operations stay running (service reconciling) for several reads",
    "inv deploy",
    "every write is waited for until reconciled; the deploy succeeds, exit 0",
)
def _(env: Env) -> None:
    world, code, doc, before = _deploy_under_api_fault(env, "slow-lro", at="image", polls=4)
    assert doc["outcome"] == "success" and code == 0, doc
    info = world.service()
    assert info.ready and info.traffic_by_revision == {doc["new_revision"]: 100}
    patches = [r for r in world.requests() if r["method"] == "PATCH"]
    service_path = "/services/phase4-processors"
    reads = [
        r for r in world.requests() if r["method"] == "GET" and r["path"].endswith(service_path)
    ]
    assert len(patches) >= 3 and len(reads) >= 5 * (len(patches) - 1)


@cell(
    "cloudrun-5xx-status",
    "Cloud Run API",
    "HTTP 503 on reads",
    "inv check-all-services",
    "that service ERROR with the API error, the others still reported; exit 3",
)
def _(env: Env) -> None:
    from nbaops.local.api_faults import set_api_fault
    from nbaops.services_status import check_all_services

    ctx, home = standin_ctx(env)
    set_api_fault(home, "http-5xx", service="prediction-worker")
    code, doc, _err = env.run(lambda: check_all_services(ctx))
    verdicts = {c["service"]: c["verdict"] for c in doc["checks"]}
    assert verdicts.pop("prediction-worker") == "ERROR"
    assert set(verdicts.values()) == {"PASS"} and len(verdicts) == 4
    assert code == 3


@cell(
    "cloudrun-timeout-status",
    "Cloud Run API",
    "timeout on reads",
    "inv deployed-commit",
    "one-line error naming the timeout, no traceback; exit 3",
)
def _(env: Env) -> None:
    from nbaops.local.api_faults import set_api_fault
    from nbaops.services_status import deployed_commit_report

    ctx, home = standin_ctx(env, timeout_s=0.5)
    set_api_fault(home, "timeout", service="phase3-processors", delay_s=2.0)
    code, doc, err = env.run(lambda: deployed_commit_report(ctx, "phase3-processors"))
    assert code == 3 and doc["verdict"] == "ERROR", doc
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "time" in doc["error"].lower(), doc


# ---------------------------------------------------------------- health endpoint


@cell(
    "health-5xx-check",
    "health endpoint",
    "HTTP 500",
    "inv health-check",
    "FAIL with the status; exit 1",
)
def _(env: Env) -> None:
    from nbaops.local.api_faults import set_api_fault
    from nbaops.services_status import health_check

    ctx, home = standin_ctx(env)
    set_api_fault(home, "health-5xx", service="grading-service")
    code, doc, _err = env.run(lambda: health_check(ctx, "grading-service", timeout_s=2.0))
    assert doc["verdict"] == "FAIL" and code == 1, doc


@cell(
    "health-timeout-check",
    "health endpoint",
    "no answer (timeout)",
    "inv health-check",
    "FAIL 'no answer'; exit 1",
)
def _(env: Env) -> None:
    from nbaops.local.api_faults import set_api_fault
    from nbaops.services_status import health_check

    ctx, home = standin_ctx(env)
    set_api_fault(home, "health-timeout", service="grading-service", delay_s=3.0)
    code, doc, _err = env.run(lambda: health_check(ctx, "grading-service", timeout_s=0.5))
    assert doc["verdict"] == "FAIL" and code == 1, doc
    assert "no answer" in json.dumps(doc)


@cell(
    "health-5xx-deploy",
    "health endpoint",
    "HTTP 500 from the new revision",
    "inv deploy",
    "new revision fails its health gate -> rolled back, previous 100%, audit "
    "row 'rolled_back', exit 1",
)
def _(env: Env) -> None:
    world, code, doc, before = _deploy_under_api_fault(
        env, "health-5xx", at="still serves", count=1
    )
    assert doc["outcome"] == "rolled_back" and code == 1, doc
    health = next(c for c in doc["steps"] if c["name"] == "new_revision_health")
    assert health["verdict"] == "FAIL", health
    assert serving(world) == {before: 100}
    assert [r["outcome"] for r in world.audit_rows()] == ["rolled_back"]


@cell(
    "health-5xx-predeploy",
    "health endpoint",
    "HTTP 500 from the serving revision",
    "inv deploy (pre-deploy)",
    "refused before any change (no mutating request); exit 1",
)
def _(env: Env) -> None:
    from nbaops.deploy.deploy import DeployRequest, run_deploy
    from nbaops.local.api_faults import set_api_fault

    world = deploy_world(env)
    set_api_fault(world.home, "health-5xx", service="phase4-processors")
    since = len(world.requests())
    code, doc, _err = env.run(
        lambda: run_deploy(
            world.context(), DeployRequest(service="phase4-processors", skip_tests=True)
        )
    )
    assert doc["outcome"] == "refused" and code == 1, doc
    assert world.mutating(since) == []
    assert [r["outcome"] for r in world.audit_rows()] == ["refused"]


# ---------------------------------------------------------------- IAM Credentials


@cell(
    "iam-denied-check",
    "IAM Credentials",
    "generateIdToken HTTP 403 (roles/iam.serviceAccountTokenCreator revoked)",
    "inv health-check",
    "ERROR 'could not probe' naming the denied permission iam.serviceAccounts.getOpenIdToken "
    "(the service's health is unknown); no request without a token; exit 3",
)
def _(env: Env) -> None:
    from nbaops.local.api_faults import set_api_fault
    from nbaops.local.standin import StandIn
    from nbaops.services_status import health_check

    ctx, home = standin_ctx(env)
    set_api_fault(home, "iam-denied")
    code, doc, _err = env.run(lambda: health_check(ctx, "grading-service", timeout_s=2.0))
    assert doc["verdict"] == "ERROR" and code == 3, doc
    assert "could not probe" in json.dumps(doc), doc
    assert "Permission 'iam.serviceAccounts.getOpenIdToken' denied" in json.dumps(doc), doc
    assert not [r for r in StandIn.requests(home) if r["path"].endswith("/health")]


# ---------------------------------------------------------------- Cloud Logging


@cell(
    "logging-error-check",
    "Cloud Logging",
    "entries:list HTTP 500",
    "inv system-health (error_logs)",
    "error_logs ERROR (never PASS) for every service; exit 3",
)
def _(env: Env) -> None:
    from nbaops.local.api_faults import set_api_fault
    from nbaops.system_health import run_system_health

    world = checks_world(env)
    game_day(world)
    world.use_standin_logs()
    set_api_fault(world.home, "logging-error")
    code, doc, _err = env.run(
        lambda: run_system_health(world.ctx, "phase4-processors", record=False)
    )
    checks = checks_of(doc)
    assert checks["error_logs[phase4-processors]"]["verdict"] == "ERROR", checks
    assert checks["lines_coverage[phase4-processors]"]["verdict"] == "PASS"
    assert code == 3 and doc["verdict"] == "ERROR"


@cell(
    "logging-empty-pages-check",
    "Cloud Logging",
    "entries:list answers only pages with no entries and a nextPageToken (search unfinished)",
    "inv system-health (error_logs)",
    "error_logs INCONCLUSIVE 'cannot tell' (never PASS) after at most 5 entries:list "
    "requests; exit 3",
)
def _(env: Env) -> None:
    from nbaops.adapters.logs import MAX_PAGES
    from nbaops.local.api_faults import set_api_fault
    from nbaops.local.standin import StandIn
    from nbaops.system_health import run_system_health

    assert MAX_PAGES == 5  # the expected outcome above names it
    world = checks_world(env)
    game_day(world)
    world.use_standin_logs()
    set_api_fault(world.home, "logging-empty-pages")
    code, doc, _err = env.run(
        lambda: run_system_health(world.ctx, "phase4-processors", record=False)
    )
    checks = checks_of(doc)
    logs = checks["error_logs[phase4-processors]"]
    assert logs["verdict"] == "INCONCLUSIVE" and logs["message"].startswith("cannot tell"), logs
    assert checks["lines_coverage[phase4-processors]"]["verdict"] == "PASS"
    assert code == 3 and doc["verdict"] == "INCONCLUSIVE"
    requests = [r for r in StandIn.requests(world.home) if r["path"] == "/v2/entries:list"]
    assert len(requests) == MAX_PAGES


@cell(
    "logging-error-deploy",
    "Cloud Logging",
    "entries:list HTTP 500",
    "inv deploy (post-deploy validation)",
    "validation ERROR -> rollback to the previous revision, audit row, exit 3",
)
def _(env: Env) -> None:
    world, code, doc, before = _deploy_under_api_fault(
        env, "logging-error", at="image", service=None
    )
    assert doc["outcome"] == "rolled_back" and code == 3, doc
    assert serving(world) == {before: 100}
    assert [r["outcome"] for r in world.audit_rows()] == ["rolled_back"]


# ---------------------------------------------------------------- Cloud Monitoring


@cell(
    "monitoring-error-canary",
    "Cloud Monitoring",
    "timeSeries.list HTTP 500 (gRPC INTERNAL)",
    "inv deploy --canary (canary analysis)",
    "every canary metric ERROR (never PASS) -> on_inconclusive rollback, previous 100%, "
    "audit row 'rolled_back', exit 3",
)
def _(env: Env) -> None:
    from worlds.deploy_world import NOW_DT
    from worlds.fake_clock import FakeClock

    from nbaops.deploy.deploy import DeployRequest, run_deploy
    from nbaops.local.api_faults import set_api_fault

    world = deploy_world(env)
    before = world.service("prediction-worker").serving_revision
    set_api_fault(world.home, "monitoring-error")
    clock = FakeClock(wall=NOW_DT)  # the rounds wait for data old enough to be visible
    code, doc, _err = env.run(
        lambda: run_deploy(
            world.context(),
            DeployRequest(service="prediction-worker", canary=20, skip_tests=True),
            sleep=clock.sleep,
            monotonic=clock.monotonic,
        )
    )
    assert doc["outcome"] == "rolled_back" and code == 3, doc
    assert {m["verdict"] for m in doc["canary_analysis"]["metrics"]} == {"ERROR"}
    assert world.service("prediction-worker").traffic_by_revision[before] == 100
    assert [r["outcome"] for r in world.audit_rows()] == ["rolled_back"]


# ---------------------------------------------------------------- Slack


def _slack_run(
    env: Env, *, status: int = 200, hold: bool = False
) -> tuple[int, dict[str, Any], str, list[str], _HoldingProxy | None]:
    """``inv system-health`` on a failing game day with alerts on; with ``hold`` the
    webhook is a proxy that answers only after the run has finished."""
    from worlds import slack_receiver

    world = checks_world(env, alerts={"timeout_s": 0.5})
    game_day(world, missing_lines=10)  # 50% coverage: FAIL
    world.use_standin_logs()
    receiver_cm = slack_receiver.slack_receiver()
    receiver = receiver_cm.__enter__()
    env.cleanups.append(lambda: receiver_cm.__exit__(None, None, None))
    receiver.status = status
    proxy = None
    if hold:
        env.mp.setattr(receiver, "reply", "ok")
        proxy = _HoldingProxy(receiver.webhook)
        env.cleanups.append(proxy.stop)
        url = proxy.url
    else:
        url = receiver.webhook
    env.mp.setenv("SLACK_WEBHOOK_URL", url)
    code, doc, err = env.run(lambda: _health_with_notes(world.ctx))
    return code, doc, err, [slack_receiver.TOKEN, url], proxy


def _health_with_notes(ctx: Any) -> Any:
    from nbaops.system_health import run_system_health

    report = run_system_health(ctx, "phase4-processors", record=True)
    for note in report.notes:  # what `inv system-health --json` writes to stderr
        sys.stderr.write(f"nbaops: {note}\n")
    return report


class _HoldingProxy:
    """A webhook endpoint on 127.0.0.1 that holds every request until :meth:`stop`: the
    run under test can only finish by its own ``alerts.timeout_s``, never by a reply (no
    wall-clock bound to tune to the machine's load)."""

    def __init__(self, target: str) -> None:
        self.received = threading.Event()
        self.release = threading.Event()
        self.answered = threading.Event()
        self._server = FakeServer(self._hold)
        self.url = self._server.url + "/" + target.split("/", 3)[3]

    def _hold(self, request: Request) -> tuple[int, bytes]:
        self.received.set()
        self.release.wait(60)
        self.answered.set()
        return 200, b"ok"

    def stop(self) -> None:
        self.release.set()
        self._server.close()


@cell(
    "slack-5xx",
    "Slack webhook",
    "HTTP 503",
    "inv system-health (alerts)",
    "report and exit code unchanged (FAIL, exit 1); delivery failure noted, redacted; "
    "alert kept in the outbox",
)
def _(env: Env) -> None:
    code, doc, err, secrets, _ = _slack_run(env, status=503)
    assert code == 1 and doc["verdict"] == "FAIL", doc
    assert checks_of(doc)["lines_coverage[phase4-processors]"]["verdict"] == "FAIL"
    assert "alerts" in err.lower() or "slack" in err.lower(), err
    for secret in secrets:
        assert secret not in err and secret not in json.dumps(doc)
    outbox = env.tmp / "home" / "outbox.jsonl"
    assert outbox.exists() and "lines_coverage" in outbox.read_text(encoding="utf-8")


@cell(
    "slack-timeout",
    "Slack webhook",
    "no answer within alerts.timeout_s",
    "inv system-health (alerts)",
    "report and exit code unchanged (FAIL, exit 1); the run is not held up; redacted",
)
def _(env: Env) -> None:
    code, doc, err, secrets, proxy = _slack_run(env, hold=True)
    assert proxy is not None and proxy.received.is_set()  # the alert was sent ...
    assert not proxy.answered.is_set()  # ... and the run finished without its answer
    assert code == 1 and doc["verdict"] == "FAIL", doc
    assert "slack" in err.lower() or "alert" in err.lower(), err
    for secret in secrets:
        assert secret not in err and secret not in json.dumps(doc)


# ---------------------------------------------------------------- GitHub API


class _Failing5xx:
    """A GitHub API stand-in on 127.0.0.1 that answers every request 502."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._server = FakeServer(self._fail)
        self.url = self._server.url
        self.stop = self._server.close

    def _fail(self, request: Request) -> tuple[int, Any]:
        self.requests.append(f"{request.method} {request.path}")
        return 502, {"message": "Server Error"}


def _drift_task(env: Env, **flags: Any) -> tuple[int, dict[str, Any], str]:
    from invoke import Context as InvokeContext
    from invoke.exceptions import Exit

    from nbaops.cli.drift import check_drift

    env.capsys.readouterr()
    try:
        check_drift(InvokeContext(), json=True, **flags)
        code = 0
    except Exit as exc:
        code = exc.code
    out = env.capsys.readouterr()
    return code, json.loads(out.out.strip().splitlines()[-1]), out.err


@cell(
    "github-5xx",
    "GitHub API",
    "HTTP 502 on every call",
    "inv check-drift --sync-issues",
    "exit 3 (sync ERROR) with the drift report intact; the token never printed",
)
def _(env: Env) -> None:
    from worlds import drift_world

    world = drift_world.build_world(env.tmp, env.mp)
    drift_world.seed_default(world, env.mp)
    github = _Failing5xx()
    env.cleanups.append(github.stop)
    token = "ghs_" + "F4ultM4trixT0ken" * 2
    env.mp.setenv("GITHUB_TOKEN", token)
    env.mp.setenv("GITHUB_REPOSITORY", "nba/props")
    env.mp.setenv("GITHUB_API_URL", github.url)
    code, doc, err = _drift_task(env, sync_issues=True)
    assert code == 3 and doc["verdict"] == "ERROR", doc
    assert {s["service"]: s["verdict"] for s in doc["services"]}["phase4-processors"] == "FAIL"
    assert github.requests, "GitHub was never called"
    assert token not in err and token not in json.dumps(doc)


# ---------------------------------------------------------------- git


def _path_without_git(env: Env) -> str:
    """A PATH holding python but no git."""
    bin_dir = env.tmp / "nogit-bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    return str(bin_dir)


@cell(
    "git-missing-drift",
    "git",
    "not installed (PATH without git)",
    "inv check-drift",
    "one-line error 'git is not installed', no traceback; exit 3",
)
def _(env: Env) -> None:
    from worlds import drift_world

    world = drift_world.build_world(env.tmp, env.mp)
    drift_world.seed_default(world, env.mp)
    env.mp.setenv("PATH", _path_without_git(env))
    code, doc, err = _drift_task(env)
    assert code == 3, doc
    assert "git is not installed" in json.dumps(doc) + err
    assert "Traceback" not in err


@cell(
    "git-missing-deploy",
    "git",
    "not installed (PATH without git)",
    "inv deploy",
    "git checks ERROR: refused before any change (no mutating request), audit row; exit 3",
)
def _(env: Env) -> None:
    from nbaops.deploy.deploy import DeployRequest, run_deploy

    world = deploy_world(env)
    since = len(world.requests())
    env.mp.setenv("PATH", _path_without_git(env))
    code, doc, _err = env.run(
        lambda: run_deploy(
            world.context(), DeployRequest(service="phase4-processors", skip_tests=True)
        )
    )
    assert code == 3 and doc["outcome"] == "refused", doc
    branch = next(c for c in doc["checks"] if c["name"] == "branch")
    assert branch["verdict"] == "ERROR" and "git is not installed" in branch["message"]
    assert world.mutating(since) == []
    assert [r["outcome"] for r in world.audit_rows()] == ["refused"]


@cell(
    "git-not-a-repo-drift",
    "git",
    "not a repository",
    "inv check-drift",
    "one-line error 'not a git repository'; exit 3",
)
def _(env: Env) -> None:
    from worlds import drift_world

    world = drift_world.build_world(env.tmp, env.mp)
    drift_world.seed_default(world, env.mp)
    elsewhere = env.tmp / "not-a-repo"
    elsewhere.mkdir()
    (elsewhere / "nbaops.yaml").write_text((world.repo / "nbaops.yaml").read_text())
    env.mp.setenv("NBAOPS_ROOT", str(elsewhere))
    env.mp.setenv("NBAOPS_CONFIG", str(elsewhere / "nbaops.yaml"))
    env.mp.setenv("GIT_CEILING_DIRECTORIES", str(env.tmp))
    env.mp.chdir(elsewhere)
    code, doc, err = _drift_task(env)
    assert code == 3, doc
    assert "not a git repository" in json.dumps(doc) + err
    assert "Traceback" not in err


@cell(
    "git-detached-head-deploy",
    "git",
    "detached HEAD",
    "inv deploy (pre-deploy)",
    "branch check FAIL: refused before any change (no mutating request), audit row; exit 1",
)
def _(env: Env) -> None:
    from worlds import deploy_world as dw

    from nbaops.deploy.deploy import DeployRequest, run_deploy

    world = deploy_world(env)
    dw.git(world.repo, "checkout", "-q", "--detach", "HEAD")
    since = len(world.requests())
    code, doc, _err = env.run(
        lambda: run_deploy(
            world.context(), DeployRequest(service="phase4-processors", skip_tests=True)
        )
    )
    assert doc["outcome"] == "refused" and code == 1, doc
    branch = [c for c in doc["checks"] if c["name"] == "branch"]
    assert branch and branch[0]["verdict"] == "FAIL", doc["checks"]
    assert world.mutating(since) == []
    assert [r["outcome"] for r in world.audit_rows()] == ["refused"]


# ---------------------------------------------------------------- the matrix


@pytest.fixture
def env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Env]:
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    state = Env(tmp_path, monkeypatch, capsys)
    yield state
    for cleanup in reversed(state.cleanups):
        with contextlib.suppress(Exception):  # best-effort teardown of servers/processes
            cleanup()


@pytest.mark.parametrize("fault_cell", CELLS, ids=[c.id for c in CELLS])
def test_cell(fault_cell: Cell, env: Env) -> None:
    fault_cell.run(env)


DEPENDENCIES = {
    "warehouse query": {"error", "timeout", "empty result"},
    "Cloud Run API": {"4", "5", "timeout", "long-running"},
    "health endpoint": {"5", "timeout"},
    "Cloud Logging": {"500"},
    "Slack webhook": {"5", "timeout"},
    "GitHub API": {"5"},
    "git": {"not installed", "not a repository", "detached HEAD"},
}


def test_every_dependency_and_fault_of_the_issue_has_a_cell() -> None:
    for dependency, faults in DEPENDENCIES.items():
        present = [c.fault for c in CELLS if c.dependency == dependency]
        for fault in faults:
            assert any(fault.lower() in p.lower() for p in present), (dependency, fault)


def render_doc() -> str:
    lines = [
        "# Fault matrix",
        "",
        "Every external dependency of nbaops, each way it fails, and what nbaops does about it.",
        "Each row is one test, `tests/reliability/test_fault_matrix.py::test_cell[<id>]`, which",
        "injects the fault through the local stand-ins (the Cloud Run/Logging stand-in's API "
        "faults,",
        "HTTP servers on 127.0.0.1 for Slack and GitHub, a DuckDB file locked by another process,",
        "a `PATH` without git) and asserts the outcome through the real entry points.",
        "",
        "Generated from the test parameters: `python tests/reliability/test_fault_matrix.py` "
        "rewrites",
        "this file, and `test_fault_matrix_doc_is_current` fails when it is stale.",
        "",
        "| dependency | fault | component | expected outcome | test id |",
        "|---|---|---|---|---|",
    ]
    for c in CELLS:
        lines.append(
            f"| {c.dependency} | {c.fault} | {c.component} | {c.expected} | `test_cell[{c.id}]` |"
        )
    return "\n".join(lines) + "\n"


def test_fault_matrix_doc_is_current() -> None:
    assert DOC.exists(), "run: python tests/reliability/test_fault_matrix.py"
    assert DOC.read_text(encoding="utf-8") == render_doc(), (
        "docs/fault-matrix.md is stale; run: python tests/reliability/test_fault_matrix.py"
    )


if __name__ == "__main__":
    os.chdir(REPO)
    DOC.write_text(render_doc(), encoding="utf-8")
    print(f"wrote {DOC.relative_to(REPO)} ({len(CELLS)} cells)")
