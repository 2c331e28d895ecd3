"""``schema-apply``: bring a live table up to its schema file with DDL, allowed changes only.

The plan is the live diff's DDL (allowed changes plus waived ones DDL can apply). Any
breaking change that is not excepted or waived refuses the whole apply (exit 1, rule
ids printed) before a single statement runs.
"""

from __future__ import annotations

from typing import Any

from nbaops.bqschema.diff import SchemaDiffReport, diff_live
from nbaops.errors import WarehouseError, first_line


def apply_table(ctx: Any, table: str, *, dry_run: bool = False) -> SchemaDiffReport:
    """Apply the allowed schema changes of one table to the profile's warehouse.

    Args:
        ctx: the run context (its warehouse executes the DDL).
        table: logical ``dataset.table`` (must have a schema file).
        dry_run: print the DDL without running it.

    Returns:
        The live diff, with ``applied`` listing the statements that ran, or ``refused``
        set when a breaking change blocks it.

    Raises:
        UsageError: unknown table. ConfigError: invalid ``schema_rules``.
        WarehouseError: a statement failed (the message names those already applied).
    """
    report = diff_live(ctx, table)
    report.title = "schema-apply"
    report.dry_run = dry_run
    if report.errors or report.findings:
        return report  # the table or file could not be compared: never apply blind
    if any(t.verdicts.blocked for t in report.tables):
        report.refused = True
        return report
    if dry_run:
        return report
    warehouse = ctx.warehouse
    for diff in report.tables:
        for statement in diff.verdicts.plan:
            try:
                warehouse.apply_ddl(statement)
            except WarehouseError as exc:
                done = "; ".join(report.applied) or "none"
                raise WarehouseError(
                    f"{statement.sql} failed: {first_line(exc)} (already applied: {done})"
                ) from None
            report.applied.append(statement.sql)
    return report
