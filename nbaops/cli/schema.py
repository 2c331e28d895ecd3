"""Schema tasks: compare schema files with a git ref or the live table, apply allowed changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke.collection import Collection

from nbaops.cli.task import nbaops_task

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.report import Report

TABLE_HELP = (
    "Logical table dataset.table (e.g. nba_predictions.player_prop_predictions); "
    "default: every table in schemas/. A table whose schema file was removed but that "
    "exists at the git ref (or live) is compared too: TABLE_NO_DELETE."
)


@nbaops_task(
    "nbaops.bqschema.diff.diff_against_ref",
    "nbaops.bqschema.diff.diff_live",
    help={
        "table": TABLE_HELP,
        "against": "Git ref to compare the schema files with (default HEAD).",
        "live": "Compare with the table in the profile's warehouse instead of git "
        "(BigQuery tables.get in prod, the local warehouse in local).",
    },
)
def schema_diff(
    ctx: Context, table: str | None = None, against: str | None = None, live: bool = False
) -> Report:
    """Breaking changes (rule ids) and the DDL for the allowed part of each schema change."""
    from nbaops.bqschema.diff import diff_against_ref, diff_live
    from nbaops.errors import UsageError

    if live and against:
        raise UsageError("--against and --live are exclusive: compare with git or the warehouse")
    if live:
        return diff_live(ctx, table)
    return diff_against_ref(ctx, table, against or "HEAD")


@nbaops_task(
    "nbaops.bqschema.apply.apply_table",
    help={
        "table": "Logical table dataset.table to bring up to its schema file (required).",
        "dry_run": "Print the DDL without running it.",
    },
)
def schema_apply(ctx: Context, table: str | None = None, dry_run: bool = False) -> Report:
    """Apply a table's allowed schema changes as DDL; refuse breaking ones (exit 1)."""
    from nbaops.bqschema.apply import apply_table
    from nbaops.errors import UsageError

    if not table:
        raise UsageError("--table is required (dataset.table)")
    return apply_table(ctx, table, dry_run=dry_run)


ns = Collection(schema_diff, schema_apply)
