"""Schema edits migrate the local warehouse; they never wipe it.

When a schema file changes, the sandbox compares every table of the warehouse with its
file (the same comparison ``schema-diff --live`` makes, :func:`nbaops.bqschema.breaking.compare`):

- **additive** (new tables, new NULLABLE/REPEATED columns, dropped NOT NULL, widened
  types; no breaking rule fires): the DDL ``schema-apply`` would print runs in place,
  one statement per call, and the data stays;
- **breaking** (a column removed, renamed, retyped, a REQUIRED column added): the
  warehouse is rebuilt into a new file (``warehouse.duckdb.rebuild``) holding the new
  tables, the ``nba_ops`` rows (deploy audit, check history) copied column by column, and
  the generated data; only when that file is complete does it replace the old one
  (``os.replace``, atomic). If anything fails, the old warehouse is untouched.

The stand-in's services and revisions are not rebuilt by a schema change (only by
``sandbox.reset``), so deploy history survives both paths.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
    from nbaops.bqschema.ddl import Statement
    from nbaops.table_catalog import Catalog

REBUILD_SUFFIX = ".rebuild"


@dataclass
class MigrationPlan:
    """What a schema edit needs: in-place DDL, or a rebuild (and why)."""

    ddl: list[Statement] = field(default_factory=list)
    breaking: list[str] = field(default_factory=list)
    breaking_tables: list[str] = field(default_factory=list)  # their tables, in order

    @property
    def rebuild(self) -> bool:
        return bool(self.breaking)


def plan_migration(warehouse: DuckDBWarehouse, catalog: Catalog) -> MigrationPlan:
    """Compare every catalog table with the warehouse; no change is made."""
    from nbaops.bqschema.breaking import compare
    from nbaops.bqschema.diff import live_schema
    from nbaops.errors import UsageError, WarehouseError

    plan = MigrationPlan()
    for spec in catalog:
        try:
            live = live_schema(warehouse.table_resource(spec.ref), spec.ref)
        except WarehouseError:  # a new table: apply_in_place creates it
            continue
        try:
            comparison = compare(live, spec.model, spec.ref)
        except UsageError as exc:
            plan.breaking.append(f"{spec.ref}: {exc}")
            plan.breaking_tables.append(spec.ref)
            continue
        for violation in comparison.violations:
            plan.breaking.append(f"{violation.rule} {spec.ref}: {violation.message}")
        if comparison.violations:
            plan.breaking_tables.append(spec.ref)
        plan.ddl.extend(comparison.allowed)
    return plan


def apply_in_place(warehouse: DuckDBWarehouse, catalog: Catalog, plan: MigrationPlan) -> None:
    """Create the missing tables and run the additive DDL, one statement per call."""
    warehouse.create_tables(catalog)
    for statement in plan.ddl:
        warehouse.apply_ddl(statement)


def rebuild_atomically(
    path: Path,
    catalog: Catalog,
    *,
    make_warehouse: Callable[[Path], DuckDBWarehouse],
    keep_datasets: Sequence[str],
    fill: Callable[[DuckDBWarehouse], None],
) -> None:
    """Build the new warehouse next to ``path`` and swap it in only when complete.

    Args:
        path: the live warehouse file.
        catalog: the tables as the schema files now describe them.
        make_warehouse: opens a warehouse on a file (same datasets and root).
        keep_datasets: logical datasets whose rows are copied from the old warehouse
            (``nba_ops``), column by column where the column still exists.
        fill: writes the generated data into the new warehouse.

    Raises:
        WarehouseError: a step failed; the old warehouse is untouched.
    """
    from nbaops.errors import WarehouseError

    target = path.with_name(path.name + REBUILD_SUFFIX)
    _remove(target)
    old = make_warehouse(path)
    kept: dict[str, list[dict[str, Any]]] = {}
    # The old file held throughout: one it cannot open (held by another process past the
    # lock wait) fails the rebuild, never reads as "no rows to keep" (the audit lost).
    with old.session():
        for spec in catalog:
            if spec.dataset not in keep_datasets:
                continue
            with contextlib.suppress(WarehouseError):  # a table the old file lacks: none kept
                sql = f"SELECT * FROM `{spec.ref}`"  # noqa: S608 - identifiers only
                kept[spec.ref] = old.query(sql).rows
    try:
        new = make_warehouse(target)
        with new.session():
            new.create_tables(catalog)
            new.replace_contents(fit_rows(catalog, kept))
            fill(new)
            new.execute("CHECKPOINT")
    except BaseException:
        _remove(target)
        raise
    os.replace(target, path)


def fit_rows(
    catalog: Catalog, rows_by_table: Mapping[str, list[dict[str, Any]]]
) -> dict[str, list[dict[str, Any]]]:
    """Rows restricted to the columns the catalog's tables have (a column removed from a
    schema file is dropped from kept and generated rows alike)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for spec in catalog:
        rows = rows_by_table.get(spec.ref)
        if rows is None:
            continue
        spelled = set(spec.column_names)
        if all(key in spelled for keys in {tuple(row) for row in rows} for key in keys):
            out[spec.ref] = list(rows)  # the usual case (generated rows): nothing to copy
            continue
        columns = {c.lower(): c for c in spelled}
        out[spec.ref] = [
            {columns[k.lower()]: v for k, v in row.items() if k.lower() in columns} for row in rows
        ]
    return out


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
