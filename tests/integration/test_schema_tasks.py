"""schema-diff --live and schema-apply against the real local warehouse (DuckDB adapter)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.bqschema.apply import apply_table
from nbaops.bqschema.diff import diff_live
from nbaops.context import Context
from nbaops.errors import UsageError, WarehouseError
from nbaops.sandbox.world import open_context
from nbaops.verdict import Verdict

ROOT = Path(__file__).resolve().parents[2]
TABLE = "nba_raw.games"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Context, Path]:
    """A copy of the project's config and schemas, and a fresh local warehouse built from them.

    The warehouse is the real DuckDB adapter; it is handed to the context directly so the
    test does not depend on seeding a whole sandbox.
    """
    root = tmp_path / "proj"
    root.mkdir()
    shutil.copy(ROOT / "nbaops.yaml", root / "nbaops.yaml")
    shutil.copytree(ROOT / "schemas", root / "schemas")
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBAOPS_NOW", "2026-11-25T15:00:00Z")
    ctx = open_context("local", config_path=root / "nbaops.yaml")
    warehouse = DuckDBWarehouse(tmp_path / "wh.duckdb", root=root)
    warehouse.create_tables()
    ctx.__dict__["warehouse"] = warehouse
    return ctx, root


def edit_schema(root: Path, change: Any) -> None:
    path = root / "schemas" / "nba_raw" / "games.json"
    fields = json.loads(path.read_text())
    change(fields)
    path.write_text(json.dumps(fields, indent=2))


def col(fields: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(f for f in fields if f["name"] == name)


def test_live_diff_of_a_fresh_warehouse_is_clean(project: tuple[Context, Path]) -> None:
    ctx, _ = project
    report = diff_live(ctx, None)
    assert report.errors == {}
    assert report.verdict is Verdict.PASS, report.to_json()


def test_apply_allowed_changes(project: tuple[Context, Path]) -> None:
    ctx, root = project

    def change(fields: list[dict[str, Any]]) -> None:
        fields.append({"name": "arena", "type": "STRING", "mode": "NULLABLE"})
        col(fields, "season")["mode"] = "NULLABLE"

    edit_schema(root, change)
    dry = apply_table(ctx, TABLE, dry_run=True)
    assert dry.verdict is Verdict.PASS and dry.applied == []
    assert [s.kind for t in dry.tables for s in t.verdicts.plan] == ["drop_not_null", "add_column"]
    assert "arena" not in {f["name"] for f in ctx.warehouse.table_schema(TABLE)}

    done = apply_table(ctx, TABLE)
    assert len(done.applied) == 2
    live = {f["name"]: f for f in ctx.warehouse.table_schema(TABLE)}
    assert live["arena"]["type"] == "STRING"
    assert live["season"]["mode"] == "NULLABLE"
    assert diff_live(ctx, TABLE).verdict is Verdict.PASS  # nothing left to apply


def test_apply_refuses_breaking_changes_and_changes_nothing(
    project: tuple[Context, Path],
) -> None:
    ctx, root = project

    def change(fields: list[dict[str, Any]]) -> None:
        fields.remove(col(fields, "status"))
        fields.append({"name": "arena", "type": "STRING"})

    edit_schema(root, change)
    before = ctx.warehouse.table_schema(TABLE)
    report = apply_table(ctx, TABLE)
    assert report.refused and report.verdict is Verdict.FAIL
    assert [f.rule for t in report.tables for f in t.verdicts.findings] == ["FIELD_NO_DELETE"]
    assert ctx.warehouse.table_schema(TABLE) == before


def test_unknown_table_is_a_usage_error(project: tuple[Context, Path]) -> None:
    ctx, _ = project
    with pytest.raises(UsageError, match="unknown table 'nba_raw.nope'"):
        apply_table(ctx, "nba_raw.nope")


def test_apply_refuses_an_injected_default_and_the_audit_table_survives(
    project: tuple[Context, Path],
) -> None:
    """Issue 14 item 1: schema-apply with a DROP TABLE default changes nothing."""
    ctx, root = project
    ctx.warehouse.execute(
        "INSERT INTO `nba_ops.deploys` (deploy_id, started_at, profile, service, action, actor, "
        "dry_run, outcome) VALUES ('d1', CURRENT_TIMESTAMP(), 'local', 'svc', 'deploy', 'me', "
        "FALSE, 'succeeded')"
    )

    def change(fields: list[dict[str, Any]]) -> None:
        fields.append(
            {"name": "x", "type": "STRING",
             "defaultValueExpression": "NULL; DROP TABLE nba_ops.deploys; SELECT 1"}
        )  # fmt: skip

    edit_schema(root, change)
    before = ctx.warehouse.table_schema(TABLE)
    report = apply_table(ctx, TABLE)
    assert report.applied == []
    assert report.verdict is not Verdict.PASS
    assert ctx.warehouse.table_schema(TABLE) == before
    rows = ctx.warehouse.query("SELECT deploy_id FROM `nba_ops.deploys`").rows
    assert rows == [{"deploy_id": "d1"}]
    with pytest.raises(WarehouseError, match="exactly one statement"):
        ctx.warehouse.execute("SELECT 1; DROP TABLE `nba_ops.deploys`")
    assert ctx.warehouse.query("SELECT COUNT(*) AS n FROM `nba_ops.deploys`").rows == [{"n": 1}]


def test_descriptions_apply_to_the_local_warehouse_and_the_diff_is_clean_after(
    project: tuple[Context, Path],
) -> None:
    """A description edit (and a new column's description) is applied locally as a DuckDB
    column comment: schema-apply used to skip it ("descriptions are not kept") although
    the warehouse keeps them, so the live diff stayed "changed" and every apply WARNed."""
    ctx, root = project
    hostile = "it's \\n a 'quoted'; DROP TABLE x; --"

    def change(fields: list[dict[str, Any]]) -> None:
        col(fields, "season")["description"] = hostile
        fields.append({"name": "arena", "type": "STRING", "description": "Where it's played"})

    edit_schema(root, change)
    done = apply_table(ctx, TABLE)
    assert sorted(s.kind for t in done.tables for s in t.verdicts.plan) == [
        "add_column",
        "set_description",
    ]
    assert len(done.applied) == 2 and done.verdict is Verdict.PASS, done.to_json()
    live = {f["name"]: f for f in ctx.warehouse.table_schema(TABLE)}
    assert live["season"]["description"] == hostile
    assert live["arena"]["description"] == "Where it's played"
    assert diff_live(ctx, TABLE).verdict is Verdict.PASS  # nothing left to apply

    edit_schema(root, lambda fields: col(fields, "season").pop("description"))
    assert len(apply_table(ctx, TABLE).applied) == 1
    assert "description" not in {f["name"]: f for f in ctx.warehouse.table_schema(TABLE)}["season"]
    assert diff_live(ctx, TABLE).verdict is Verdict.PASS


def test_an_added_record_keeps_its_sub_field_descriptions_and_applies_locally(
    project: tuple[Context, Path],
) -> None:
    """ADD COLUMN of a new RECORD carries OPTIONS(description=...) on each described
    sub-field (BigQuery keeps them); DuckDB has no such options nor NOT NULL inside a
    STRUCT, so the local warehouse runs the statement without them instead of failing."""
    ctx, root = project
    shot = {
        "name": "shot",
        "type": "RECORD",
        "description": "The first shot",
        "fields": [
            {"name": "zone", "type": "STRING", "description": "Court zone"},
            {"name": "made", "type": "BOOL", "mode": "REQUIRED", "description": "It's in"},
        ],
    }
    edit_schema(root, lambda fields: fields.append(shot))
    done = apply_table(ctx, TABLE)
    (statement,) = [s for t in done.tables for s in t.verdicts.plan]
    assert statement.sql == (
        "ALTER TABLE `nba_raw.games` ADD COLUMN IF NOT EXISTS `shot` STRUCT<"
        "`zone` STRING OPTIONS (description='Court zone'), "
        "`made` BOOL NOT NULL OPTIONS (description='It\\'s in')> "
        "OPTIONS (description='The first shot')"
    )
    assert done.applied == [statement.sql]
    live = {f["name"]: f for f in ctx.warehouse.table_schema(TABLE)}
    assert live["shot"]["type"] == "RECORD"
    assert [f["name"] for f in live["shot"]["fields"]] == ["zone", "made"]
    assert live["shot"]["description"] == "The first shot"


# What DuckDB has no place for: a STRING/BYTES maxLength, a defaultValueExpression, a
# RECORD sub-field's description, REQUIRED and maxLength. The local warehouse reads these
# back from the table's schema file (the file it is built and migrated from).
UNHELD = [
    {"name": "venue", "type": "STRING", "maxLength": "40", "description": "Arena"},
    {"name": "tag", "type": "BYTES", "maxLength": "8"},
    {"name": "source", "type": "STRING", "defaultValueExpression": "'nba_api'"},
    {"name": "loaded_at", "type": "TIMESTAMP", "defaultValueExpression": "CURRENT_TIMESTAMP()"},
    {
        "name": "officials",
        "type": "RECORD",
        "mode": "REPEATED",
        "fields": [
            {"name": "name", "type": "STRING", "mode": "REQUIRED", "description": "Full name"},
            {"name": "code", "type": "STRING", "mode": "NULLABLE", "maxLength": "3"},
        ],
    },
]


def test_a_warehouse_built_from_files_with_attributes_duckdb_cannot_hold_reads_back_clean(
    project: tuple[Context, Path], tmp_path: Path
) -> None:
    """maxLength used to read back as unbounded (TYPE_PARAMS_NO_NARROW: live diff FAIL,
    schema-apply refusing forever), a default as none (SET DEFAULT re-applied by every
    schema-apply) and a nested description or REQUIRED as absent (a permanent WARN)."""
    ctx, root = project
    edit_schema(root, lambda fields: fields.extend(json.loads(json.dumps(UNHELD))))
    fresh = DuckDBWarehouse(tmp_path / "fresh.duckdb", root=root)
    fresh.create_tables()
    ctx.__dict__["warehouse"] = fresh
    live = {f["name"]: f for f in fresh.table_schema(TABLE)}
    for field in UNHELD:
        assert live[field["name"]] == {"mode": "NULLABLE", **field}
    report = diff_live(ctx, None)
    assert report.verdict is Verdict.PASS, report.to_json()
    applied = apply_table(ctx, TABLE)
    assert applied.applied == [] and applied.verdict is Verdict.PASS, applied.to_json()


def test_schema_apply_of_attributes_duckdb_cannot_hold_is_idempotent(
    project: tuple[Context, Path],
) -> None:
    ctx, root = project
    edit_schema(root, lambda fields: fields.extend(json.loads(json.dumps(UNHELD))))
    first = apply_table(ctx, TABLE)
    assert first.verdict is Verdict.PASS and len(first.applied) == len(UNHELD), first.to_json()
    second = apply_table(ctx, TABLE)
    assert second.applied == [] and second.verdict is Verdict.PASS, second.to_json()
    assert diff_live(ctx, TABLE).verdict is Verdict.PASS

    # the documented local limitation: a live diff never reports these attributes, so a
    # changed default or maxLength has nothing to apply locally (BigQuery gets the DDL)
    edit_schema(root, lambda fields: col(fields, "source").update(defaultValueExpression="'x'"))
    edit_schema(root, lambda fields: col(fields, "venue").update(maxLength="80"))
    assert diff_live(ctx, TABLE).verdict is Verdict.PASS
    assert apply_table(ctx, TABLE).applied == []


def test_a_table_whose_schema_file_was_deleted_is_table_no_delete_also_with_table(
    project: tuple[Context, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``schema-diff -t T`` for a table known at the base ref (or live) but whose file was
    deleted said "unknown table" (exit 2) where ``schema-diff`` reported TABLE_NO_DELETE
    (exit 1): both now report TABLE_NO_DELETE, and schema-apply refuses it."""
    from git_commands import git

    from nbaops.bqschema.diff import diff_against_ref

    ctx, root = project
    monkeypatch.chdir(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    (root / "schemas" / "nba_raw" / "games.json").unlink()
    (root / "schemas" / "tables.yaml").write_text(
        "\n".join(
            line
            for line in (root / "schemas" / "tables.yaml").read_text().splitlines()
            if not line.startswith("nba_raw.games")
        )
    )

    def rules(report: Any) -> list[str]:
        return [f.rule for t in report.tables if t.table == TABLE for f in t.verdicts.findings]

    everything = diff_against_ref(ctx, None, "HEAD")
    named = diff_against_ref(ctx, TABLE, "HEAD")
    assert rules(everything) == rules(named) == ["TABLE_NO_DELETE"]
    assert named.verdict is Verdict.FAIL and [t.table for t in named.tables] == [TABLE]
    live = diff_live(ctx, TABLE)
    assert rules(live) == ["TABLE_NO_DELETE"] and live.verdict is Verdict.FAIL
    applied = apply_table(ctx, TABLE)
    assert applied.refused and applied.applied == []
    with pytest.raises(UsageError, match="unknown table 'nba_raw.nope'"):
        diff_against_ref(ctx, "nba_raw.nope", "HEAD")
    with pytest.raises(UsageError, match="unknown table 'nba_raw.nope'"):
        diff_live(ctx, "nba_raw.nope")


def test_a_table_name_is_looked_up_elsewhere_only_when_well_formed() -> None:
    """A -t that no schema file names is looked up at the base ref or live (a removed
    table: TABLE_NO_DELETE); anything but dataset.table is refused before any lookup."""
    from nbaops.bqschema.diff import resolve_tables
    from nbaops.errors import UsageError

    asked: list[str] = []

    def removed(table: str) -> bool:
        asked.append(table)
        return True

    root = Path(__file__).resolve().parents[2]
    assert resolve_tables(root, "nba_old.gone_table", removed) == ["nba_old.gone_table"]
    for bad in ("../../etc/passwd", "nba_raw/games", "a.b.c", ""):
        with pytest.raises(UsageError, match="unknown table"):
            resolve_tables(root, bad, removed)
    assert asked == ["nba_old.gone_table"]


def test_a_live_table_no_schema_file_declares_is_listed_as_unmanaged(
    project: tuple[Context, Path],
) -> None:
    """``schema-diff --live`` compared only tables with a schema file: a table whose file
    was removed (still in the warehouse) was never reported. It is now listed (WARN), in
    the text and the JSON; a dataset no file declares is not listed."""
    from rich.console import Console

    ctx, root = project
    (root / "schemas" / "nba_ops" / "deploys.json").unlink()
    tables_yaml = root / "schemas" / "tables.yaml"
    kept = [x for x in tables_yaml.read_text().splitlines() if not x.startswith("nba_ops.deploys")]
    tables_yaml.write_text("\n".join(kept) + "\n")
    ctx.warehouse.execute("CREATE SCHEMA IF NOT EXISTS nba_other")
    ctx.warehouse.execute("CREATE TABLE nba_other.t (x INT64)")

    report = diff_live(ctx, None)
    assert report.unmanaged == ["nba_ops.deploys"]
    assert report.to_json()["unmanaged"] == ["nba_ops.deploys"]
    assert report.errors == {} and report.verdict is Verdict.WARN
    console = Console(record=True, width=200)
    report.render(console)
    assert "in the warehouse, no schema file: nba_ops.deploys" in console.export_text()
    assert diff_live(ctx, "nba_ops.check_results").unmanaged == []  # --table: that table only
