"""GoogleSQL DDL for the schema changes BigQuery can apply in place, built as syntax trees.

Every statement is a SQLGlot tree rendered in the BigQuery dialect: the table is written
as nbaops SQL writes it (`` `dataset.table` ``, the logical dataset; the warehouse adapter
qualifies it per profile), column names are quoted identifiers, descriptions are string
literals and a default is the tree :func:`~nbaops.bqschema.defaults.parse_default`
returns (one expression of the forms BigQuery allows). No text from a schema file is
pasted into SQL, and every statement is checked to parse back as exactly one statement.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import Any

from nbaops.bqschema.defaults import is_typed_literal, parse_default
from nbaops.bqschema.model import Field
from nbaops.errors import UsageError


class DdlTypeError(UsageError):
    """A field's type is not one DDL can name (the lint hook reports the type itself)."""


def _build_type(name: str) -> Any:
    import sqlglot
    from sqlglot import exp

    try:
        return exp.DataType.build(name, dialect="bigquery")
    except (sqlglot.errors.ParseError, ValueError) as exc:
        raise DdlTypeError(f"type {name!r} is not a BigQuery type") from exc


@dataclass(frozen=True)
class Statement:
    """One DDL statement and what it does.

    Attributes:
        kind: ``add_column``, ``drop_not_null``, ``set_data_type``, ``set_description``,
            ``set_default``, ``drop_default``, ``drop_column`` or ``rename_column``.
        table: logical ``dataset.table``.
        column: the column it changes.
        sql: the statement (no trailing semicolon).
        description: the column description it sets (``add_column``, ``set_description``;
            None for the others). The local warehouse keeps descriptions as DuckDB column
            comments, which its dialect cannot set from this GoogleSQL (see
            :meth:`~nbaops.adapters.warehouse_duckdb.DuckDBWarehouse.apply_ddl`).
    """

    kind: str
    table: str
    column: str
    sql: str
    description: str | None = None


def _table(table: str) -> Any:
    from sqlglot import exp

    return exp.Table(this=identifier(table))


def identifier(name: str) -> Any:
    """A quoted identifier (SQLGlot), for DDL in any dialect."""
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True)


def _collation(f: Field) -> list[Any]:
    """``COLLATE '...'`` of a STRING column (empty when it has none): it follows the type,
    before NOT NULL, as BigQuery's column_schema writes ``STRING COLLATE spec``. A stated
    ``''`` (case-sensitive) is written too: unset, a column added to a table whose
    defaultCollation is 'und:ci' takes that instead (Table.defaultCollation).

    Raises:
        DdlTypeError: a REPEATED column with a collation: its place is inside
            ``ARRAY<...>``, which is not built here (apply it with ``bq update``).
    """
    from sqlglot import exp

    if f.collation is None or (not f.collation and f.mode == "REPEATED"):
        return []  # (a REPEATED '' as before: no ARRAY<STRING COLLATE ''> is built)
    if f.mode == "REPEATED":
        raise DdlTypeError(f"the collation of REPEATED column {f.name} (apply with `bq update`)")
    collate = exp.CollateColumnConstraint(this=exp.Literal.string(f.collation))
    return [exp.ColumnConstraint(kind=collate)]


def _options(f: Field) -> list[Any]:
    """``OPTIONS (rounding_mode='...', description='...')`` as a column constraint (the
    values string literals; empty when the field has neither)."""
    from sqlglot import exp

    options = [
        exp.Property(this=exp.var(name), value=exp.Literal.string(value))
        for name, value in (("rounding_mode", f.rounding_mode), ("description", f.description))
        if value
    ]
    return [exp.ColumnConstraint(kind=exp.Properties(expressions=options))] if options else []


def data_type(f: Field, *, with_mode: bool = False) -> Any:
    """The SQLGlot type of one field (STRUCT sub-fields as quoted column definitions).

    ``with_mode`` wraps REPEATED in ARRAY. REQUIRED sub-fields always get NOT NULL, and
    sub-fields their ``COLLATE`` and ``OPTIONS (rounding_mode=..., description=...)``:
    BigQuery's column_schema takes these on the fields of a STRUCT, so an added RECORD
    keeps its sub-fields' attributes. (The local warehouse's dialect has none of them:
    :func:`nbaops.adapters.sql_dialect.to_duckdb` drops them.)
    """
    from sqlglot import exp

    if f.type == "STRUCT":
        members = []
        for sub in f.fields:
            not_null = [exp.ColumnConstraint(kind=exp.NotNullColumnConstraint())]
            constraints = [
                *_collation(sub),
                *(not_null if sub.mode == "REQUIRED" else []),
                *_options(sub),
            ]
            members.append(
                exp.ColumnDef(
                    this=identifier(sub.name),
                    kind=data_type(sub, with_mode=True),
                    constraints=constraints or None,
                )
            )
        base = exp.DataType(this=exp.DataType.Type.STRUCT, expressions=members, nested=True)
    else:
        base = _build_type(f.type)
        params: list[int] = []
        if f.type in ("STRING", "BYTES") and f.max_length is not None:
            params = [f.max_length]
        elif f.type in ("NUMERIC", "BIGNUMERIC") and f.precision is not None:
            params = [f.precision] + ([f.scale] if f.scale is not None else [])
        if params:
            base.set("expressions", [exp.DataTypeParam(this=exp.Literal.number(p)) for p in params])
        if f.type == "RANGE" and f.range_element:
            element = _build_type(f.range_element)
            base = exp.DataType(this=exp.DataType.Type.RANGE, expressions=[element], nested=True)
    if with_mode and f.mode == "REPEATED":
        return exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[base], nested=True)
    return base


def parse_bigquery(sql: str) -> list[Any]:
    """The statements of ``sql`` as SQLGlot's BigQuery dialect reads them (empty ones
    dropped), without its "falling back to a command" warnings on stderr.

    Raises:
        sqlglot.errors.SqlglotError: the SQL does not parse.
    """
    import sqlglot

    # SQLGlot parses statements it has no node for (ALTER COLUMN SET OPTIONS) as a generic
    # command and logs a warning saying so on stderr (users saw it on every schema-diff);
    # callers only count or inspect the statements.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    return [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]


@functools.cache
def _generator_class() -> Any:
    """SQLGlot's BigQuery generator, but a literal stays as BigQuery documents it: SQLGlot reads
    ``DATE '2024-01-01'`` as a CAST of the string and writes ``CAST('2024-01-01' AS
    DATE)``, a function call, while a column default must be "a literal or one of the
    following functions" (CURRENT_DATE, ...), CAST not among them
    (https://cloud.google.com/bigquery/docs/default-values#default_value_expression)."""
    from sqlglot import exp
    from sqlglot.generators.bigquery import BigQueryGenerator

    class DdlGenerator(BigQueryGenerator):
        def cast_sql(self, expression: Any, safe_prefix: str | None = None) -> str:
            if is_typed_literal(expression):
                return f"{self.sql(expression, 'to')} {self.sql(expression, 'this')}"
            return str(super().cast_sql(expression, safe_prefix=safe_prefix))

        def interval_sql(self, expression: Any) -> str:
            # SQLGlot keeps INTERVAL 5 DAY as INTERVAL '5' DAY; the documented literal with
            # one datetime part is "INTERVAL int64_expression datetime_part"
            # (cloud.google.com/bigquery/docs/reference/standard-sql/lexical
            # #interval_literal_single)
            value, unit = expression.this, expression.args.get("unit")
            if (
                isinstance(value, exp.Literal)
                and re.fullmatch(r"-?[0-9]+", value.name)
                and isinstance(unit, exp.Var)
            ):
                return f"INTERVAL {value.name} {self.sql(unit)}"
            return str(super().interval_sql(expression))

    return DdlGenerator


def default_sql(expression: str) -> str:
    """A default value expression as the DDL writes it (``CURRENT_DATE()`` and
    ``current_date`` both ``CURRENT_DATE``; ``date '2020-01-01'`` ``DATE '2020-01-01'``).

    Raises:
        DefaultExpressionError: ``expression`` is not one allowed expression.
    """
    return str(_generator_class()(dialect="bigquery").generate(parse_default(expression)))


def _render(node: Any) -> str:
    if not isinstance(node, str):  # a generator per statement: it keeps state while it runs
        node = _generator_class()(dialect="bigquery").generate(node)
    sql = str(node)
    count = len(parse_bigquery(sql))
    if count != 1:  # defence in depth: a builder bug must never yield a script
        raise UsageError(f"internal DDL check: expected one statement, got {count}")
    return sql


def _alter(table: str, action: Any) -> str:
    from sqlglot import exp

    return _render(exp.Alter(this=_table(table), kind="TABLE", actions=[action]))


def add_column(table: str, f: Field) -> Statement:
    """``ADD COLUMN IF NOT EXISTS`` with type, collation, default, rounding mode and
    description (never NOT NULL at the top level: BigQuery cannot add a REQUIRED column to
    an existing table).

    Raises:
        DefaultExpressionError: the field's default is not one allowed expression.
        DdlTypeError: a type DDL cannot name (a REPEATED column's collation included).
    """
    from sqlglot import exp

    constraints = _collation(f)
    if f.default is not None:
        constraints.append(
            exp.ColumnConstraint(kind=exp.DefaultColumnConstraint(this=parse_default(f.default)))
        )
    constraints += _options(f)
    column = exp.ColumnDef(
        this=identifier(f.name),
        kind=data_type(f, with_mode=True),
        constraints=constraints or None,
        exists=True,
    )
    return Statement("add_column", table, f.name, _alter(table, column), f.description)


def drop_not_null(table: str, column: str) -> Statement:
    from sqlglot import exp

    action = exp.AlterColumn(this=identifier(column), drop=True, allow_null=True)
    return Statement("drop_not_null", table, column, _alter(table, action))


def set_data_type(table: str, f: Field) -> Statement:
    """``SET DATA TYPE`` to the field's (wider) type: the full column type, so a REPEATED
    column's is ``ARRAY<...>`` (BigQuery's statement takes the column's whole type, and the
    local warehouse would otherwise turn a DuckDB list into a scalar), with its collation
    (``STRING(20) COLLATE 'und:ci'``): the statement takes a column_schema, whose
    annotations, collation included, are the column's updated ones (google/zetasql
    zetasql/analyzer/resolver_alter_stmt.cc, ResolveAlterColumnSetDataTypeAction: only
    OPTIONS and NOT NULL are refused there).

    Raises:
        DdlTypeError: a REPEATED column with a collation (as :func:`add_column`).
    """
    from sqlglot import exp

    collate = exp.Literal.string(f.collation or "") if _collation(f) else None
    action = exp.AlterColumn(
        this=identifier(f.name), dtype=data_type(f, with_mode=True), collate=collate
    )
    return Statement("set_data_type", table, f.name, _alter(table, action))


def set_description(table: str, column: str, description: str | None) -> Statement:
    # SQLGlot has no node for ALTER COLUMN SET OPTIONS: the statement is assembled from
    # rendered nodes (quoted identifiers, a string literal SQLGlot escapes) and parsed back
    # as one statement.
    from sqlglot import exp

    value = exp.Literal.string(description) if description else exp.Null()
    table_sql, column_sql, value_sql = (
        n.sql(dialect="bigquery") for n in (_table(table), identifier(column), value)
    )
    sql = (
        f"ALTER TABLE {table_sql} ALTER COLUMN {column_sql} SET OPTIONS (description = {value_sql})"
    )
    return Statement("set_description", table, column, _render(sql), description)


def set_default(table: str, column: str, expression: str | None) -> Statement:
    """``SET DEFAULT`` (the expression parsed and checked) or ``DROP DEFAULT`` for None.

    Raises:
        DefaultExpressionError: ``expression`` is not one allowed expression.
    """
    from sqlglot import exp

    if expression is None:
        action = exp.AlterColumn(this=identifier(column), drop=True)
        return Statement("drop_default", table, column, _alter(table, action))
    action = exp.AlterColumn(this=identifier(column), default=parse_default(expression))
    return Statement("set_default", table, column, _alter(table, action))


def drop_column(table: str, column: str) -> Statement:
    from sqlglot import exp

    action = exp.Drop(kind="COLUMN", exists=True, tables=[exp.column(identifier(column))])
    return Statement("drop_column", table, column, _alter(table, action))


def rename_column(table: str, old: str, new: str) -> Statement:
    from sqlglot import exp

    action = exp.RenameColumn(this=exp.column(identifier(old)), to=exp.column(identifier(new)))
    return Statement("rename_column", table, old, _alter(table, action))
