"""Query-parameter types read from the table schemas, never guessed from parameter names.

A dry run (``inv deploy --dry-run`` byte estimates) must bind every ``@param`` with a value
of the right BigQuery type or BigQuery refuses to plan the query. The type comes from what
the parameter is compared with, resolved against ``schemas/``:

- ``col <op> @p``, ``col BETWEEN @a AND @b``, ``COUNTIF(col >= @p)`` → the column's type;
- ``expr IN UNNEST(@p)`` → ``ARRAY<type of expr>``;
- ``UPPER(@p)`` / ``LOWER(@p)`` → ``STRING``; ``LIMIT @p`` / ``OFFSET @p`` → ``INT64``;
- arithmetic and ``ABS`` of typed operands → INT64 when all are INT64, else FLOAT64.

A column is resolved through its qualifier (alias or table) when it has one, else against
every schema table the SQL names (CTE names are not tables); a column that is ambiguous or
unknown, or a parameter used anywhere else, raises :class:`ParamTypeError` naming it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from nbaops.errors import NbaopsError, first_line

_NUMERIC = ("INT64", "INTEGER", "FLOAT64", "FLOAT", "NUMERIC", "BIGNUMERIC")
_ALIASES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}


class ParamTypeError(NbaopsError):
    """A parameter's type cannot be read from the schemas (exit 3: undetermined)."""


def _canonical(bq_type: str) -> str:
    upper = bq_type.upper()
    return _ALIASES.get(upper, upper)


class _Resolver:
    def __init__(self, tree: Any, root: Path | None) -> None:
        from sqlglot import exp

        from nbaops.table_catalog import load_catalog

        catalog = load_catalog(root)
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        self.by_alias: dict[str, Any] = {}
        self.tables: list[Any] = []
        for table in tree.find_all(exp.Table):
            if table.name in ctes and not table.db:
                continue
            spec = catalog.find(f"{table.db}.{table.name}" if table.db else table.name)
            if spec is None:
                continue
            self.tables.append(spec)
            self.by_alias[table.alias_or_name] = spec
            self.by_alias[table.name] = spec

    def column(self, column: Any) -> str:
        name = column.name
        if column.table and column.table in self.by_alias:
            candidates = [self.by_alias[column.table]]
        else:
            candidates = self.tables
        types = {_canonical(f.type) for s in candidates if (f := s.field(name)) is not None}
        if len(types) != 1:
            problem = "is in no schema table" if not types else f"is ambiguous ({sorted(types)})"
            raise ParamTypeError(f"column {column.sql('bigquery')} {problem}")
        return types.pop()

    def expression(self, node: Any) -> str:
        from sqlglot import exp

        if isinstance(node, exp.Column):
            return self.column(node)
        if isinstance(node, (exp.Upper, exp.Lower, exp.Trim)):
            return "STRING"
        if isinstance(node, exp.Paren):
            return self.expression(node.this)
        if isinstance(node, exp.Abs):
            return self.expression(node.this)
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
            kinds = {self.expression(node.left), self.expression(node.right)}
            if not kinds <= set(_NUMERIC):
                raise ParamTypeError(f"non-numeric arithmetic: {node.sql('bigquery')}")
            return "INT64" if kinds == {"INT64"} else "FLOAT64"
        if isinstance(node, exp.Literal):
            return "STRING" if node.is_string else ("INT64" if node.is_int else "FLOAT64")
        if isinstance(node, exp.Cast):
            return _canonical(node.to.sql("bigquery"))
        raise ParamTypeError(f"cannot type the expression {node.sql('bigquery')}")


def _parameter_type(resolver: _Resolver, param: Any) -> str:
    from sqlglot import exp

    parent = param.parent
    if isinstance(parent, (exp.Upper, exp.Lower)):
        return "STRING"
    if isinstance(parent, (exp.Limit, exp.Offset)):
        return "INT64"
    if isinstance(parent, exp.Between):
        return resolver.expression(parent.this)
    if isinstance(parent, exp.Unnest) and isinstance(parent.parent, exp.In):
        return f"ARRAY<{resolver.expression(parent.parent.this)}>"
    if isinstance(parent, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        other = parent.right if parent.left is param else parent.left
        return resolver.expression(other)
    raise ParamTypeError(
        f"@{param.name}: its type cannot be read from the schemas "
        f"(used in {parent.sql('bigquery') if parent else 'the query'})"
    )


def parameter_types(sql: str, root: Path | None = None) -> dict[str, str]:
    """Every ``@param`` of ``sql`` → its BigQuery type (``DATE``, ``ARRAY<STRING>``…).

    Raises:
        ParamTypeError: a parameter's type is not determined by the schemas, or two uses
            of one parameter disagree.
    """
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, dialect="bigquery")
    except sqlglot.errors.ParseError as exc:
        raise ParamTypeError(f"cannot parse the query: {first_line(exc)}") from None
    resolver = _Resolver(tree, root)
    types: dict[str, str] = {}
    for param in tree.find_all(exp.Parameter):
        found = _parameter_type(resolver, param)
        if types.setdefault(param.name, found) != found:
            raise ParamTypeError(f"@{param.name} is used as {types[param.name]} and as {found}")
    return types


def sample_value(bq_type: str, *, now: dt.datetime, today: dt.date) -> Any:
    """A value of ``bq_type`` to bind for a dry run."""
    if bq_type.startswith("ARRAY<"):
        return [sample_value(bq_type[6:-1], now=now, today=today)]
    values: dict[str, Any] = {
        "DATE": today,
        "TIMESTAMP": now,
        "DATETIME": now.replace(tzinfo=None),
        "INT64": 0,
        "FLOAT64": 0.0,
        "NUMERIC": 0.0,
        "BIGNUMERIC": 0.0,
        "STRING": "",
        "BOOL": False,
    }
    if bq_type not in values:
        raise ParamTypeError(f"no dry-run value for type {bq_type}")
    return values[bq_type]


def dry_run_params(
    sql: str, root: Path | None, *, now: dt.datetime, today: dt.date
) -> dict[str, Any]:
    """Values of the schema-derived type for every parameter of ``sql``."""
    return {
        name: sample_value(kind, now=now, today=today)
        for name, kind in parameter_types(sql, root).items()
    }
