"""The checks' typed example parameters have the types the table schemas give.

A check declares each query with a typed example value per ``@parameter``
(:class:`nbaops.checks.spec.Query`); the docs show those types and the deploy dry run binds
those values, so a wrong type would fail a BigQuery dry run in production. This test reads
each parameter's type from what it is compared with, resolved against ``schemas/``
(through :mod:`nbaops.table_catalog`), never from its name:

- ``col <op> @p``, ``col BETWEEN @a AND @b``, ``COUNTIF(col >= @p)`` → the column's type;
- ``expr IN UNNEST(@p)`` → ``ARRAY<type of expr>``;
- ``UPPER(@p)`` / ``LOWER(@p)`` → ``STRING``; ``LIMIT @p`` / ``OFFSET @p`` → ``INT64``;
- arithmetic and ``ABS`` of typed operands → INT64 when all are INT64, else FLOAT64.

A column is resolved through its qualifier (alias or table) when it has one, else against
every schema table the SQL names (CTE names are not tables); a column that is ambiguous or
unknown, or a parameter used anywhere else, raises :class:`ParamTypeError` naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from nbaops.checks.registry import ALL_SPECS
from nbaops.errors import first_line
from nbaops.table_catalog import load_catalog

REPO = Path(__file__).resolve().parents[2]

_NUMERIC = ("INT64", "INTEGER", "FLOAT64", "FLOAT", "NUMERIC", "BIGNUMERIC")
_ALIASES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}


class ParamTypeError(Exception):
    """A parameter's type cannot be read from the schemas."""


def _canonical(bq_type: str) -> str:
    upper = bq_type.upper()
    return _ALIASES.get(upper, upper)


class _Resolver:
    def __init__(self, tree: Any, root: Path | None) -> None:
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


DECLARED = {f"{spec.id}.{q.name}": q for spec in ALL_SPECS.values() for q in spec.queries}


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_declared_example_parameters_have_the_types_the_schemas_give(name: str) -> None:
    query = DECLARED[name]
    assert query.param_types() == parameter_types(query.sql, REPO), name


def test_param_types_come_from_the_schemas_not_the_names() -> None:
    sql = (
        "SELECT 1 FROM `nba_raw.games` g JOIN `nba_predictions.prediction_batches` b "
        "ON g.game_date = b.game_date WHERE g.game_date = @start_of_it "  # DATE, not a name
        "AND b.started_at >= @day AND UPPER(b.mode) = UPPER(@x) "  # TIMESTAMP, STRING
        "AND UPPER(g.status) IN UNNEST(@statuses) LIMIT @n"
    )
    assert parameter_types(sql, REPO) == {
        "start_of_it": "DATE",
        "day": "TIMESTAMP",
        "x": "STRING",
        "statuses": "ARRAY<STRING>",
        "n": "INT64",
    }


@pytest.mark.parametrize(
    "sql, problem",
    [
        ("SELECT 1 FROM `nba_raw.games` WHERE no_such_column = @p", "is in no schema table"),
        ("SELECT @p FROM `nba_raw.games`", "cannot be read from the schemas"),
        (
            "SELECT 1 FROM `nba_raw.games` WHERE game_date = @p AND start_time > @p",
            "used as DATE and as TIMESTAMP",
        ),
    ],
)
def test_an_untypeable_parameter_is_named_not_guessed(sql: str, problem: str) -> None:
    with pytest.raises(ParamTypeError, match=problem):
        parameter_types(sql, REPO)
