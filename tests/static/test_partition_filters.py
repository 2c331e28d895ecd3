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
SELECT/DML scope; one side of it must be the bare partition column (a column wrapped in a
function, ``DATE(ts)`` or ``CAST(d AS STRING)``, is not guaranteed to prune) and the other
a constant expression (parameters, literals, functions of them: no column, no subquery,
whose value BigQuery does not know when it plans the scan); and it must bound the
column from below (``=``, ``IN``, ``BETWEEN``, ``>=``/``>``): an upper bound alone
(``game_date <= @today``) still reads every partition of the history. Those are the forms
"Query partitioned tables" describes as pruning
(https://cloud.google.com/bigquery/docs/querying-partitioned-tables: "isolate the partition
column in your filter"; "filters that require data from multiple fields to compute will
not prune partitions"; a subquery in the filter does not limit the partitions scanned).

SQL built at run time (an f-string passed to a warehouse call: the finder's
``SQL_DYNAMIC`` warnings) cannot be analysed, so none may exist outside
:data:`DYNAMIC_ALLOWED` (local-profile sandbox maintenance that reads whole tables on
purpose).
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


def _is_partition_column(node: Any, column: str, names: set[str]) -> bool:
    return (
        isinstance(node, exp.Column)
        and node.name.lower() == column.lower()
        and (not node.table or node.table.lower() in names)
    )


def _constant(node: Any) -> bool:
    """No column and no subquery: a value known before the scan (parameters, literals)."""
    return node is not None and next(node.find_all(exp.Column, exp.Select), None) is None


def _prunes(condition: Any, column: str, names: set[str]) -> bool:
    """``condition`` bounds the bare partition column from below by a constant."""
    if isinstance(condition, exp.Between):
        low, high = condition.args.get("low"), condition.args.get("high")
        return _is_partition_column(condition.this, column, names) and (
            _constant(low) and _constant(high)
        )
    if isinstance(condition, exp.In):
        unnest = condition.args.get("unnest")  # col IN UNNEST(@dates)
        values = condition.expressions or ([unnest] if unnest is not None else [])
        return (
            _is_partition_column(condition.this, column, names)
            and bool(values)
            and all(_constant(v) for v in values)
        )
    if isinstance(condition, (exp.EQ, exp.GT, exp.GTE)):
        left, right = condition.left, condition.right
    elif isinstance(condition, (exp.LT, exp.LTE)):  # const < col: the column on the right
        left, right = condition.right, condition.left
    else:
        return False
    if isinstance(condition, exp.EQ) and _is_partition_column(right, column, names):
        left, right = right, left
    return _is_partition_column(left, column, names) and _constant(right)


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


# SQL built at run time that may stay unanalysed: local-sandbox maintenance only (both
# refuse any profile but local), reading whole tables by design.
DYNAMIC_ALLOWED = {
    "sandbox/lifecycle.py",  # counts each table's rows after a reset
    "sandbox/migrate.py",  # copies each table into its migrated schema
}


def warehouse_queries() -> tuple[list[SqlSite], list[str]]:
    """Every SQL text in nbaops that reads a table of the catalog (schemas/), and where
    SQL is built at run time (``path:line``)."""
    catalog = load_catalog(REPO)
    sites: list[SqlSite] = []
    dynamic: list[str] = []
    for path in iter_python_files([str(PACKAGE)]):
        found, warnings = find_sql(path, Path(path).read_text(encoding="utf-8"))
        sites.extend(s for s in found if _catalog_tables(s.sql, catalog))
        dynamic += [
            f"{Path(w.path).relative_to(PACKAGE) if Path(w.path).is_absolute() else w.path}"
            f":{w.line}"
            for w in warnings
            if w.rule == "SQL_DYNAMIC"
        ]
    return sites, dynamic


SITES, DYNAMIC = warehouse_queries()
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


def test_no_warehouse_call_gets_sql_built_at_run_time() -> None:
    """An f-string query cannot be checked for its partition filter (nor its parameters)."""
    reported = {Path(site.split(":")[0]).as_posix() for site in DYNAMIC}
    for allowed in DYNAMIC_ALLOWED:  # the finder does report them
        assert any(path.endswith(allowed) for path in reported), allowed
    outside = [
        site
        for site in DYNAMIC
        if not any(Path(site.split(":")[0]).as_posix().endswith(a) for a in DYNAMIC_ALLOWED)
    ]
    assert not outside, f"SQL built at run time, unanalysable: {outside}"


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
        # an upper bound alone reads the whole history up to it
        ("SELECT MAX(game_date) FROM `nba_raw.games` WHERE game_date <= @today", True),
        ("SELECT * FROM `nba_raw.games` WHERE @today >= game_date", True),
        ("SELECT * FROM `nba_raw.games` WHERE @since <= game_date", False),
        ("SELECT * FROM `nba_raw.games` WHERE game_date IN (@a, @b)", False),
        ("SELECT * FROM `nba_raw.games` WHERE @d = game_date", False),
        ("SELECT * FROM `nba_raw.games` WHERE game_date IN UNNEST(@days)", False),
        (
            "SELECT * FROM `nba_raw.games` WHERE game_date >= DATE_SUB(@today, INTERVAL 7 DAY)",
            False,
        ),
        # the column wrapped in a function is not guaranteed to prune
        ("SELECT * FROM `nba_raw.games` WHERE CAST(game_date AS STRING) = @day", True),
        ("SELECT * FROM `nba_raw.games` WHERE COALESCE(game_date, @d) = @d", True),
        (
            "SELECT * FROM `nba_analytics.processor_heartbeats` "
            "WHERE TIMESTAMP_ADD(heartbeat_at, INTERVAL 6 HOUR) >= @since",
            True,
        ),
        ("SELECT * FROM `nba_analytics.processor_heartbeats` WHERE DATE(heartbeat_at) = @d", True),
        # the other side must be known before the scan: no column, no subquery
        ("SELECT * FROM `nba_raw.games` WHERE game_date = game_date", True),
        ("SELECT * FROM `nba_raw.games` g WHERE g.game_date >= g.updated_at", True),
        (
            "SELECT * FROM `nba_raw.games` WHERE game_date = "
            "(SELECT MAX(game_date) FROM `nba_raw.games` WHERE game_date >= @a)",
            True,
        ),
        ("SELECT * FROM `nba_raw.games` WHERE game_date IN (SELECT d FROM x)", True),
        (
            "SELECT g.game_id FROM `nba_raw.games` g JOIN `nba_precompute.points_lines` l "
            "ON l.game_date = g.game_date WHERE g.game_date = @d",
            True,
        ),
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
