"""Schema tasks: compare schema files with a git ref or the live table, apply allowed changes."""

from __future__ import annotations

from invoke.tasks import task

from nbaops.cli.runner import COMMON_HELP

TABLE_HELP = (
    "Logical table dataset.table (e.g. nba_predictions.player_prop_predictions); "
    "default: every table in schemas/."
)


@task(
    help={
        "table": TABLE_HELP,
        "against": "Git ref to compare the schema files with (default HEAD).",
        "live": "Compare with the table in the profile's warehouse instead of git "
        "(BigQuery tables.get in prod, the local warehouse in local).",
        **COMMON_HELP,
    }
)
def schema_diff(
    c: object,
    table: str | None = None,
    against: str | None = None,
    live: bool = False,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Breaking changes (rule ids) and the DDL for the allowed part of each schema change."""
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.errors import UsageError
    from nbaops.report import Report

    def action(ctx: Context) -> Report:
        from nbaops.bqschema.diff import diff_against_ref, diff_live

        if live and against:
            raise UsageError(
                "--against and --live are exclusive: compare with git or the warehouse"
            )
        if live:
            return diff_live(ctx, table)
        return diff_against_ref(ctx, table, against or "HEAD")

    finish(action, profile=profile, json_output=json, debug=debug)


@task(
    help={
        "table": "Logical table dataset.table to bring up to its schema file (required).",
        "dry_run": "Print the DDL without running it.",
        **COMMON_HELP,
    }
)
def schema_apply(
    c: object,
    table: str | None = None,
    dry_run: bool = False,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Apply a table's allowed schema changes as DDL; refuse breaking ones (exit 1)."""
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.errors import UsageError
    from nbaops.report import Report

    def action(ctx: Context) -> Report:
        from nbaops.bqschema.apply import apply_table

        if not table:
            raise UsageError("--table is required (dataset.table)")
        return apply_table(ctx, table, dry_run=dry_run)

    finish(action, profile=profile, json_output=json, debug=debug)


TASKS = [schema_diff, schema_apply]
