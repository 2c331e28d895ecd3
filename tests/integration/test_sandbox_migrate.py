"""Issue 14 item 6: editing a schema file migrates the sandbox instead of wiping it.

A copy of the project (config + schemas) with its own sandbox: an additive edit runs DDL
in place, a breaking edit rebuilds into a new file swapped in atomically, a failed
rebuild leaves the old warehouse untouched; the deploy audit rows and the stand-in's
revisions survive every step, and ``sandbox.status`` counts what the warehouse holds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from worlds.sandbox import sandbox_home

from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.context import Context
from nbaops.errors import NbaopsError
from nbaops.local import cloudrun_state
from nbaops.sandbox import lifecycle
from nbaops.sandbox.world import open_context

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-01-14T17:00:00Z"  # the clock of test_checks_sandbox_faults: one template
AUDIT = {
    "deploy_id": "d-keep-me",
    "started_at": "2026-01-14T10:00:00+00:00",
    "profile": "local",
    "service": "prediction-worker",
    "action": "deploy",
    "actor": "ada",
    "dry_run": False,
    "outcome": "promoted",
}


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A copy of the project whose sandbox is a copy of the session's template for NOW
    (the same schemas: current, so each test's first ``ensure_sandbox`` is a no-op)."""
    sandbox_home(tmp_path_factory, tmp_path / "home", NOW)
    root = tmp_path / "proj"
    root.mkdir()
    shutil.copy(ROOT / "nbaops.yaml", root / "nbaops.yaml")
    shutil.copytree(ROOT / "schemas", root / "schemas")
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBAOPS_NOW", NOW)
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    return root


def context(root: Path) -> Context:
    return open_context("local", config_path=root / "nbaops.yaml")


def edit(root: Path, table: str, change: Callable[[list[dict[str, Any]]], None]) -> None:
    dataset, name = table.split(".")
    path = root / "schemas" / dataset / f"{name}.json"
    fields = json.loads(path.read_text())
    change(fields)
    path.write_text(json.dumps(fields, indent=2))


def revisions(ctx: Context) -> list[str]:
    state = cloudrun_state.load_state(ctx.home)
    return sorted(r["name"] for r in state.get("revisions", {}).values())


def columns(ctx: Context, table: str) -> list[str]:
    return [f["name"] for f in ctx.warehouse.table_schema(table)]


def audit_ids(ctx: Context) -> list[str]:
    return [
        r["deploy_id"] for r in ctx.warehouse.query("SELECT deploy_id FROM `nba_ops.deploys`").rows
    ]


def test_schema_edits_migrate_and_keep_audit_history_and_revisions(project: Path) -> None:
    ctx = context(project)
    lifecycle.ensure_sandbox(ctx)
    ctx.warehouse.insert_rows("nba_ops.deploys", [AUDIT])
    before_revisions = revisions(ctx)
    games_before = ctx.warehouse.query("SELECT COUNT(*) AS n FROM `nba_raw.games`").rows[0]["n"]
    assert games_before > 0 and before_revisions

    # additive: a new NULLABLE column is applied as DDL in place, descriptions included
    edit(project, "nba_raw.games", lambda f: f.append({"name": "arena", "type": "STRING"}))
    edit(project, "nba_raw.games", lambda f: f[0].update(description="changed here"))
    ctx = context(project)
    lifecycle.ensure_sandbox(ctx)
    marker = lifecycle.read_marker(ctx.home) or {}
    assert marker["last_migration"]["rebuilt"] is False
    assert any("ADD COLUMN" in s and "`arena`" in s for s in marker["last_migration"]["ddl"])
    assert "arena" in columns(ctx, "nba_raw.games")
    assert ctx.warehouse.table_schema("nba_raw.games")[0]["description"] == "changed here"
    assert audit_ids(ctx) == ["d-keep-me"] and revisions(ctx) == before_revisions

    # breaking: a removed column rebuilds into a new file; history still survives
    edit(project, "nba_ops.deploys", lambda f: f.append({"name": "ticket", "type": "STRING"}))
    edit(project, "nba_raw.games", lambda f: f.remove(next(x for x in f if x["name"] == "arena")))
    edit(project, "nba_raw.games", lambda f: f.remove(next(x for x in f if x["name"] == "status")))
    ctx = context(project)
    lifecycle.ensure_sandbox(ctx)
    marker = lifecycle.read_marker(ctx.home) or {}
    assert marker["last_migration"]["rebuilt"] is True
    assert any("FIELD_NO_DELETE" in b for b in marker["last_migration"]["breaking"])
    assert "status" not in columns(ctx, "nba_raw.games")
    assert "ticket" in columns(ctx, "nba_ops.deploys")
    assert audit_ids(ctx) == ["d-keep-me"] and revisions(ctx) == before_revisions
    assert not (ctx.home / "warehouse.duckdb.rebuild").exists()

    # status counts the warehouse itself, never the marker's cached numbers
    status = lifecycle.status(ctx)
    assert status.to_json()["counts"]["nba_ops.deploys"] == 1
    live_games = ctx.warehouse.query("SELECT COUNT(*) AS n FROM `nba_raw.games`").rows[0]["n"]
    assert status.to_json()["counts"]["nba_raw.games"] == live_games > 0


def test_widening_a_repeated_column_keeps_it_an_array(project: Path) -> None:
    """The migration's SET DATA TYPE names the full column type (ARRAY<NUMERIC(12, 2)>):
    with the scalar type it turned the DuckDB DECIMAL(10,2)[] list into a scalar column,
    and the live diff then reported REPEATED_SAME."""
    from nbaops.bqschema.diff import diff_live
    from nbaops.verdict import Verdict

    odds = {"name": "odds", "type": "NUMERIC", "mode": "REPEATED", "precision": "10", "scale": "2"}
    edit(project, "nba_raw.games", lambda f: f.append(odds))
    ctx = context(project)
    lifecycle.ensure_sandbox(ctx)
    edit(project, "nba_raw.games", lambda f: f[-1].update(precision="12"))
    ctx = context(project)
    lifecycle.ensure_sandbox(ctx)
    marker = lifecycle.read_marker(ctx.home) or {}
    assert marker["last_migration"]["rebuilt"] is False
    assert any("SET DATA TYPE ARRAY<NUMERIC(12, 2)>" in s for s in marker["last_migration"]["ddl"])
    live = {f["name"]: f for f in ctx.warehouse.table_schema("nba_raw.games")}
    assert live["odds"] == {**odds, "precision": "12"}
    report = diff_live(ctx, "nba_raw.games")
    assert report.verdict is Verdict.PASS, report.to_json()


def test_a_failed_rebuild_leaves_the_old_warehouse_untouched(project: Path) -> None:
    ctx = context(project)
    lifecycle.ensure_sandbox(ctx)
    ctx.warehouse.insert_rows("nba_ops.deploys", [AUDIT])
    old_marker = lifecycle.read_marker(ctx.home) or {}
    # a REQUIRED column nobody fills: the rebuild must fail (rows lack it)
    required = {"name": "must_have", "type": "STRING", "mode": "REQUIRED"}
    edit(project, "nba_raw.games", lambda f: f.append(required))
    ctx = context(project)
    with pytest.raises(NbaopsError, match="must_have") as failed:
        lifecycle.ensure_sandbox(ctx)
    # the one line says what failed, that nothing changed and what to do
    message = str(failed.value)
    assert "sandbox migration to the edited schema files failed" in message
    assert "the warehouse is as it was" in message and "revert the schema edit" in message
    assert "nba_raw.games" in message
    # read the file directly: ctx.warehouse would try the migration again
    raw = DuckDBWarehouse(ctx.home / "warehouse.duckdb", root=ROOT)
    assert "must_have" not in [f["name"] for f in raw.table_schema("nba_raw.games")]
    assert [r["deploy_id"] for r in raw.query("SELECT deploy_id FROM `nba_ops.deploys`").rows] == [
        "d-keep-me"
    ]
    assert raw.query("SELECT COUNT(*) AS n FROM `nba_raw.games`").rows[0]["n"] > 0
    assert not (ctx.home / "warehouse.duckdb.rebuild").exists()
    assert (lifecycle.read_marker(ctx.home) or {})["built_at"] == old_marker["built_at"]

    # reverting the file: the old warehouse is current again, data and history intact
    edit(project, "nba_raw.games",
         lambda f: f.remove(next(x for x in f if x["name"] == "must_have")))  # fmt: skip
    ctx = context(project)
    lifecycle.ensure_sandbox(ctx)
    assert audit_ids(ctx) == ["d-keep-me"]
    counts = lifecycle.status(ctx).to_json()["counts"]
    assert counts["nba_raw.games"] > 0 and counts["nba_ops.deploys"] == 1


def test_a_rebuild_that_cannot_open_the_old_warehouse_fails_and_keeps_it(tmp_path: Path) -> None:
    """The rows to keep were read with every error suppressed: the old file held by another
    process past the lock wait read as "nothing to keep", and the rebuilt file replaced it
    without the deploy audit."""
    from nbaops.errors import WarehouseError
    from nbaops.sandbox.migrate import rebuild_atomically
    from nbaops.table_catalog import load_catalog

    catalog = load_catalog(ROOT)
    path = tmp_path / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path, root=ROOT, lock_timeout_s=0.5)
    with warehouse.session():
        warehouse.create_tables(catalog)
        warehouse.insert_rows("nba_ops.deploys", [AUDIT])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FILE, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseError):
            rebuild_atomically(
                path,
                catalog,
                make_warehouse=lambda p: DuckDBWarehouse(p, root=ROOT, lock_timeout_s=0.5),
                keep_datasets=("nba_ops",),
                fill=lambda new: None,
            )
    finally:
        holder.kill()
        holder.wait()
    assert [
        r["deploy_id"] for r in warehouse.query("SELECT deploy_id FROM `nba_ops.deploys`").rows
    ] == ["d-keep-me"]
    assert not (tmp_path / "warehouse.duckdb.rebuild").exists()


# Another process holding the warehouse file (DuckDB's write lock) until it is killed.
HOLD_FILE = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(60)
"""


def test_a_schema_file_that_does_not_parse_is_tried_once_per_run_and_named_by_each_check(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken schema file used to start a "migrating the sandbox" attempt (and print its
    line) in every check thread of system-health: 15 retries and 16 s before 12 ERRORs.
    Now the catalog is read before any work (no progress line) and the context re-raises
    the first failure instead of retrying it; every check is an ERROR naming the file."""
    from nbaops.errors import ConfigError
    from nbaops.system_health import run_system_health
    from nbaops.verdict import Verdict

    ctx = context(project)
    lifecycle.ensure_sandbox(ctx)
    (project / "schemas" / "nba_raw" / "broken.json").write_bytes(b"\xff\xfe[")
    capsys.readouterr()

    calls: list[int] = []
    ctx = context(project)
    world = ctx.world
    assert world is not None
    real_ensure = world.ensure

    def counting_ensure(c: Context) -> None:
        calls.append(1)
        real_ensure(c)

    world.ensure = counting_ensure  # type: ignore[method-assign]
    report = run_system_health(ctx, record=False)
    assert report.checks and {r.verdict for r in report.checks} == {Verdict.ERROR}
    assert all("broken.json:1: FILE_ENCODING" in r.message for r in report.checks)
    with pytest.raises(ConfigError, match="broken.json"):
        _ = ctx.warehouse
    assert len(calls) == 1  # tried once; the failure is re-raised, not retried
    assert "migrating" not in capsys.readouterr().err  # no work was started
