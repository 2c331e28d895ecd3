"""GoogleSQL DDL for the schema changes BigQuery can apply in place.

Every statement names the table as nbaops SQL does (`` `dataset.table` ``, the logical
dataset; the warehouse adapter qualifies it per profile) and quotes column names.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbaops.bqschema.model import Field


@dataclass(frozen=True)
class Statement:
    """One DDL statement and what it does.

    Attributes:
        kind: ``add_column``, ``drop_not_null``, ``set_data_type``, ``set_description``,
            ``set_default``, ``drop_default``, ``drop_column`` or ``rename_column``.
        table: logical ``dataset.table``.
        column: the column it changes.
        sql: the statement (no trailing semicolon).
    """

    kind: str
    table: str
    column: str
    sql: str

    @property
    def metadata_only(self) -> bool:
        """Changes only descriptions: the local warehouse keeps none."""
        return self.kind == "set_description"


def quote_table(table: str) -> str:
    return f"`{table.replace('`', '')}`"


def quote_column(name: str) -> str:
    return f"`{name.replace('`', '')}`"


def string_literal(text: str) -> str:
    """A GoogleSQL string literal for ``text`` (escapes backslash, quote, newlines)."""
    escaped = (
        text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    )
    return f"'{escaped}'"


def _alter(table: str) -> str:
    return f"ALTER TABLE {quote_table(table)}"


def add_column(table: str, f: Field) -> Statement:
    """``ADD COLUMN IF NOT EXISTS`` with type, default and description (never NOT NULL at the
    top level: BigQuery cannot add a REQUIRED column to an existing table)."""
    column_type = f"ARRAY<{f.type_sql()}>" if f.mode == "REPEATED" else f.type_sql()
    sql = f"{_alter(table)} ADD COLUMN IF NOT EXISTS {quote_column(f.name)} {column_type}"
    if f.default is not None:
        sql += f" DEFAULT {f.default}"
    if f.description:
        sql += f" OPTIONS (description = {string_literal(f.description)})"
    return Statement("add_column", table, f.name, sql)


def drop_not_null(table: str, column: str) -> Statement:
    sql = f"{_alter(table)} ALTER COLUMN {quote_column(column)} DROP NOT NULL"
    return Statement("drop_not_null", table, column, sql)


def set_data_type(table: str, f: Field) -> Statement:
    """``SET DATA TYPE`` to the field's (wider) type."""
    sql = f"{_alter(table)} ALTER COLUMN {quote_column(f.name)} SET DATA TYPE {f.type_sql()}"
    return Statement("set_data_type", table, f.name, sql)


def set_description(table: str, column: str, description: str | None) -> Statement:
    value = string_literal(description) if description else "NULL"
    sql = f"{_alter(table)} ALTER COLUMN {quote_column(column)} SET OPTIONS (description = {value})"
    return Statement("set_description", table, column, sql)


def set_default(table: str, column: str, expression: str | None) -> Statement:
    if expression is None:
        sql = f"{_alter(table)} ALTER COLUMN {quote_column(column)} DROP DEFAULT"
        return Statement("drop_default", table, column, sql)
    sql = f"{_alter(table)} ALTER COLUMN {quote_column(column)} SET DEFAULT {expression}"
    return Statement("set_default", table, column, sql)


def drop_column(table: str, column: str) -> Statement:
    sql = f"{_alter(table)} DROP COLUMN IF EXISTS {quote_column(column)}"
    return Statement("drop_column", table, column, sql)


def rename_column(table: str, old: str, new: str) -> Statement:
    sql = f"{_alter(table)} RENAME COLUMN {quote_column(old)} TO {quote_column(new)}"
    return Statement("rename_column", table, old, sql)
