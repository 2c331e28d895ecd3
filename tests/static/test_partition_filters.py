"""Every warehouse query in nbaops filters each partitioned table it reads on that table's
partition column, so its cost tracks the window it asks about, not the table's history.

The checks' queries are the ones their specs declare (``SPEC.queries``, every check and
validate-daily); the other modules' queries are found with the schema-hook helper's finder
(:func:`nbaops.bqschema.sql_refs.find_sql`: strings passed to ``.query/.execute/
.estimate_bytes`` and SQL-looking string constants), which must find nothing in
``nbaops/checks/`` that no spec declares. Partition columns come from
:mod:`nbaops.table_catalog` (``schemas/tables.yaml``).

The analysis is deliberately strict: the filter must be a top-level conjunct (an ``AND``
branch, never under ``OR`` or ``NOT``) of the WHERE clause or of a JOIN ``ON`` of the same
SELECT/DML scope, and it must compare
the partition column (``=``, ``<``, ``<=``, ``>``, ``>=``, ``BETWEEN``, ``IN``) — the
forms BigQuery can prune partitions with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from nbaops.bqschema.sql_refs import SqlSite, find_sql, iter_python_files
from nbaops.checks.registry import ALL_SPECS
from nbaops.table_catalog import Catalog, load_catalog

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "nbaops"

_PRUNING = (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In)
_SCOPES = (exp.Select, exp.Update, exp.Delete, exp.Merge)


def _conjuncts(condition: Any) -> list[Any]:
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        return _conjuncts(condition.left) + _conjuncts(condition.right)
    return [condition]


def _scope_conditions(scope: Any) -> list[Any]:
    conditions: list[Any] = []
    where = scope.args.get("where")
    if where is not None:
        conditions.extend(_conjuncts(where.this))
    for join in scope.args.get("joins") or []:
        if join.args.get("on") is not None:
            conditions.extend(_conjuncts(join.args["on"]))
    if isinstance(scope, exp.Merge) and scope.args.get("on") is not None:
        conditions.extend(_conjuncts(scope.args["on"]))
    return conditions


def _prunes(condition: Any, column: str, names: set[str]) -> bool:
    if not isinstance(condition, _PRUNING):
        return False
    for col in condition.find_all(exp.Column):
        if col.name.lower() == column.lower() and (not col.table or col.table.lower() in names):
            return True
    return False


def _is_insert_target(table: Any) -> bool:
    parent = table.parent
    if isinstance(parent, exp.Schema):
        parent = parent.parent
        table = table.parent
    return isinstance(parent, exp.Insert) and parent.this is table


def unfiltered_reads(sql: str, catalog: Catalog) -> list[str]:
    """``dataset.table`` references of partitioned tables read without a pruning filter."""
    problems: list[str] = []
    for statement in sqlglot.parse(sql, read="bigquery"):
        if statement is None:
            continue
        for table in statement.find_all(exp.Table):
            db = table.args.get("db")
            if db is None or _is_insert_target(table):
                continue
            spec = catalog.find(f"{db.name}.{table.name}")
            if spec is None or not spec.partition:
                continue
            scope = table.find_ancestor(*_SCOPES)
            names = {table.name.lower(), table.alias_or_name.lower()}
            if scope is None or not any(
                _prunes(c, spec.partition, names) for c in _scope_conditions(scope)
            ):
                problems.append(f"{spec.ref} (partition column {spec.partition})")
    return problems


def _catalog_tables(sql: str, catalog: Catalog) -> list[str]:
    try:
        statements = sqlglot.parse(sql, read="bigquery")
    except sqlglot.errors.ParseError:
        return []
    found = []
    for statement in statements:
        for table in statement.find_all(exp.Table) if statement is not None else []:
            db = table.args.get("db")
            if db is not None and catalog.find(f"{db.name}.{table.name}") is not None:
                found.append(f"{db.name}.{table.name}")
    return found


def warehouse_queries() -> list[SqlSite]:
    """Every SQL text in nbaops that reads a table of the catalog (schemas/)."""
    catalog = load_catalog(REPO)
    sites: list[SqlSite] = []
    for path in iter_python_files([str(PACKAGE)]):
        found, _warnings = find_sql(path, Path(path).read_text(encoding="utf-8"))
        sites.extend(s for s in found if _catalog_tables(s.sql, catalog))
    return sites


SITES = warehouse_queries()
CHECKS = PACKAGE / "checks"
OTHER_SITES = [s for s in SITES if not Path(s.path).is_relative_to(CHECKS)]
DECLARED = {f"{spec.id}.{q.name}": q for spec in ALL_SPECS.values() for q in spec.queries}


def _site_id(site: SqlSite) -> str:
    return f"{Path(site.path).relative_to(PACKAGE)}:{site.line}"


def test_the_finder_sees_the_queries_of_every_ops_module() -> None:
    """Guards against a silent pass: the finder must see each module that queries tables."""
    seen = {Path(s.path).relative_to(PACKAGE).as_posix() for s in OTHER_SITES}
    expected = {"anomaly.py", "deploy/history.py", "alerts/state.py", "regression/sources.py"}
    assert expected <= seen, f"queries not found in: {sorted(expected - seen)}"


def test_every_query_in_a_check_module_is_declared_by_a_spec() -> None:
    declared = {" ".join(q.sql.split()) for q in DECLARED.values()}
    in_checks = [s for s in SITES if Path(s.path).is_relative_to(CHECKS)]
    assert len(in_checks) >= 10  # the finder does see the checks' SQL
    undeclared = [_site_id(s) for s in in_checks if " ".join(s.sql.split()) not in declared]
    assert not undeclared, f"SQL in nbaops/checks that no SPEC.queries declares: {undeclared}"


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_declared_check_query_filters_every_partitioned_table(name: str) -> None:
    problems = unfiltered_reads(DECLARED[name].sql, load_catalog(REPO))
    assert not problems, f"{name} reads without a partition filter: {', '.join(problems)}"


@pytest.mark.parametrize("site", OTHER_SITES, ids=_site_id)
def test_query_filters_every_partitioned_table_on_its_partition_column(site: SqlSite) -> None:
    problems = unfiltered_reads(site.sql, load_catalog(REPO))
    assert not problems, (
        f"{_site_id(site)} reads without a partition filter: {', '.join(problems)}\n{site.sql}"
    )


# -- the analysis itself must be able to fail ---------------------------------------------


@pytest.mark.parametrize(
    ("sql", "bad"),
    [
        ("SELECT COUNT(*) FROM `nba_raw.games` WHERE status = 'Final'", True),
        ("SELECT COUNT(*) FROM `nba_raw.games`", True),
        ("SELECT * FROM `nba_raw.games` WHERE game_date = @d OR status = 'x'", True),
        ("SELECT * FROM `nba_raw.games` WHERE NOT (game_date = @d)", True),
        (
            "SELECT g.game_id FROM `nba_raw.games` g JOIN `nba_precompute.points_lines` l "
            "ON l.game_id = g.game_id WHERE g.game_date = @d",
            True,
        ),
        (
            "SELECT g.game_id FROM `nba_raw.games` g JOIN `nba_precompute.points_lines` l "
            "ON l.game_id = g.game_id AND l.game_date = @d WHERE g.game_date = @d",
            False,
        ),
        ("SELECT * FROM `nba_raw.games` WHERE game_date BETWEEN @a AND @b", False),
        ("WITH x AS (SELECT * FROM `nba_raw.games` WHERE game_date >= @a) SELECT * FROM x", False),
        ("SELECT * FROM `nba_ops.deploys` WHERE started_at >= @since AND service = @s", False),
        ("INSERT INTO `nba_ops.deploys` (service) VALUES (@s)", False),
        ("DELETE FROM `nba_ops.check_results` WHERE check_name = @c", True),
    ],
)
def test_the_analysis_flags_unbounded_reads(sql: str, bad: bool) -> None:
    assert bool(unfiltered_reads(sql, load_catalog(REPO))) is bad


# -- BigQuery's QUALIFY rule ---------------------------------------------------------------


def qualify_without_clause(sql: str) -> list[str]:
    """SELECTs with QUALIFY but no WHERE, GROUP BY or HAVING: BigQuery rejects them ("QUALIFY
    clause must be used in conjunction with WHERE or GROUP BY or HAVING clause"; the
    workaround is ``WHERE TRUE``, https://stackoverflow.com/questions/70148035); DuckDB, on
    which every test runs, accepts them."""
    return [
        select.sql(dialect="bigquery")[:80]
        for statement in sqlglot.parse(sql, read="bigquery")
        if statement is not None
        for select in statement.find_all(exp.Select)
        if select.args.get("qualify") is not None
        and not any(select.args.get(k) is not None for k in ("where", "group", "having"))
    ]


@pytest.mark.parametrize(
    "sql",
    [pytest.param(q.sql, id=name) for name, q in sorted(DECLARED.items())]
    + [pytest.param(s.sql, id=_site_id(s)) for s in OTHER_SITES],
)
def test_every_qualify_has_the_clause_bigquery_requires(sql: str) -> None:
    assert not qualify_without_clause(sql)


@pytest.mark.parametrize(
    ("sql", "bad"),
    [
        ("SELECT a FROM t QUALIFY ROW_NUMBER() OVER (PARTITION BY a) = 1", True),
        ("SELECT a FROM t WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY a) = 1", False),
        ("SELECT a FROM t GROUP BY a QUALIFY RANK() OVER (ORDER BY a) = 1", False),
        ("SELECT a FROM t", False),
    ],
)
def test_the_qualify_rule_can_fail(sql: str, bad: bool) -> None:
    assert bool(qualify_without_clause(sql)) is bad
