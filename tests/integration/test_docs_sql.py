"""The SQL the runbooks and playbooks tell people to paste runs, and finds what it claims.

Every hand-written ```sql block in docs/ (generated blocks are the checks' own constants,
tested with the checks) runs as written against the sandbox's local warehouse, and the
"confirm" queries find the incident their page says they confirm, using the sandbox
faults that rehearse those incidents.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from worlds.sandbox import restore_home, sandbox_home

from nbaops.context import Context
from nbaops.sandbox.world import open_context

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^\s*(`{3,})\s*([\w+-]*)")


def hand_written_sql() -> Iterator[tuple[str, int, str]]:
    """(page, line, sql) for every ```sql block outside generated blocks and the reference."""
    for page in sorted(DOCS.rglob("*.md")):
        if "reference" in page.relative_to(DOCS).parts:
            continue
        lines = page.read_text(encoding="utf-8").splitlines()
        generated = False
        i = 0
        while i < len(lines):
            line = lines[i]
            if "<!-- BEGIN generated:" in line:
                generated = True
            elif "<!-- END generated -->" in line:
                generated = False
            match = FENCE.match(line)
            if match:
                start, i = i + 1, i + 1
                while i < len(lines) and not lines[i].strip().startswith(match.group(1)):
                    i += 1
                if match.group(2) == "sql" and not generated:
                    yield str(page.relative_to(DOCS)), start + 1, "\n".join(lines[start:i])
            i += 1


def block(page: str, needle: str) -> str:
    found = [sql for p, _, sql in hand_written_sql() if p == page and needle in sql]
    assert len(found) == 1, f"{page}: expected one SQL block containing {needle!r}"
    return found[0]


def noon_today_eastern() -> str:
    """12:00 ET of today's Eastern date (UTC, ``Z``): the documented queries filter on the
    real ``CURRENT_DATE('America/New_York')``, so the sandbox is built for today's date; at
    noon, when all three prediction batches have run (at the real time of day, between
    midnight and the 02:30 batch, today had no predictions and the fault tests failed)."""
    eastern = ZoneInfo("America/New_York")
    today = dt.datetime.now(eastern).date()
    noon = dt.datetime.combine(today, dt.time(12), tzinfo=eastern).astimezone(dt.UTC)
    return noon.strftime("%Y-%m-%dT%H:%M:%SZ")


NOW = noon_today_eastern()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """A copy of the sandbox template for :data:`NOW`; a test that injects a fault copies
    the template back (:func:`worlds.sandbox.restore_home`) instead of regenerating it."""
    mp = pytest.MonkeyPatch()
    home = sandbox_home(tmp_path_factory, tmp_path_factory.mktemp("docs-sql-home"), NOW)
    mp.setenv("NBAOPS_HOME", str(home))
    mp.delenv("NBAOPS_PROFILE", raising=False)
    mp.setenv("NBAOPS_NOW", NOW)
    ctx = open_context("local")
    try:
        yield ctx
    finally:
        mp.undo()


def test_every_hand_written_query_runs_with_inv_sandbox_sql(sandbox: Context) -> None:
    """What the docs promise: paste any block into `inv sandbox.sql "..."` and it runs."""
    from nbaops.sandbox.sql import run_sql

    queries = list(hand_written_sql())
    assert len(queries) >= 10
    failures = []
    for page, line, sql in queries:
        try:
            run_sql(sandbox, sql)
        except Exception as exc:  # report every failing block, not just the first
            failures.append(f"{page}:{line}: {type(exc).__name__}: {str(exc)[:200]}")
    assert not failures, "\n".join(failures)


def test_real_lines_only_confirm_query_finds_the_injected_violations(
    sandbox: Context, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from nbaops.sandbox import fault_injection

    sql = block("runbooks/prediction-coordinator.md", "line_value IS NULL")
    assert sandbox.warehouse.query(sql).rows == []
    fault_injection.inject(sandbox, "batch-errors")
    try:
        rows = sandbox.warehouse.query(sql).rows
    finally:
        restore_home(tmp_path_factory, sandbox.home, NOW)
    assert rows and sum(int(r["predictions"]) for r in rows) > 0
    assert {str(r["line_source"]).upper() for r in rows} - {"REAL", "VEGAS"}


def test_missing_lines_query_names_the_players_the_fault_removed(
    sandbox: Context, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from nbaops.sandbox import fault_injection

    sql = block("playbooks/lines-coverage.md", "l.player_lookup IS NULL")
    before = len(sandbox.warehouse.query(sql).rows)
    fault_injection.inject(sandbox, "lines-coverage-drop")
    try:
        after = len(sandbox.warehouse.query(sql).rows)
    finally:
        restore_home(tmp_path_factory, sandbox.home, NOW)
    assert after > before + 20


def test_sandbox_sql_task_prints_rows_plain_or_json_and_binds_parameters(
    sandbox: Context, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from invoke import Context as InvokeContext
    from invoke.exceptions import Exit

    from nbaops.cli.sandbox import sql as sql_task

    monkeypatch.setenv("NBAOPS_HOME", str(sandbox.home))
    query = (
        "SELECT CONCAT(away_team, '@', home_team) AS matchup, game_date "
        "FROM `nba_raw.games` WHERE game_date = @day ORDER BY game_id LIMIT 2"
    )
    day = str(
        sandbox.warehouse.query("SELECT MAX(game_date) AS d FROM `nba_raw.games`").rows[0]["d"]
    )
    sql_task(InvokeContext(), query, param=[f"day={day}"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "matchup\tgame_date"  # not a terminal: tab-separated, one row a line
    assert len(lines) == 4 and lines[1].endswith(f"\t{day}") and lines[3].startswith("2 row(s)")
    sql_task(InvokeContext(), query, param=[f"day={day}"], json=True)
    doc = json.loads(capsys.readouterr().out)
    assert doc["row_count"] == 2 and doc["columns"] == ["matchup", "game_date"]
    assert doc["params"] == {"day": day}
    for bad in ("SELEC 1", "DELETE FROM `nba_raw.games`", "SELECT * FROM `nba_raw.nope`"):
        with pytest.raises(Exit) as info:
            sql_task(InvokeContext(), bad)
        assert info.value.code == 2, bad
    assert "error" in capsys.readouterr().err
    with pytest.raises(Exit) as info:
        sql_task(InvokeContext(), query, param=["no-equals-sign"])
    assert info.value.code == 2


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        ("DROP TABLE `nba_raw.games`", "only queries (SELECT or WITH) run here, not DROP"),
        ("SELECT 1; DROP TABLE `nba_raw.games`", "one query at a time, got 2 statements"),
        ("SELECT 1; SELECT 2", "one query at a time, got 2 statements"),
        ("SELECT (1", "does not parse"),
        ("SELECT * FROM `nba_raw.nope`", "nope"),
        ("   ", "no SQL given"),
        # the first keyword is WITH: this DELETE ran and wiped the table (exit 0)
        (
            "WITH x AS (SELECT 1) DELETE FROM `nba_raw.games` WHERE true",
            "only queries (SELECT or WITH) run here, not DELETE",
        ),
        (
            "WITH x AS (SELECT 1) INSERT INTO `nba_raw.games` SELECT * FROM `nba_raw.games`",
            "only queries (SELECT or WITH) run here, not INSERT",
        ),
    ],
    ids=[
        "ddl",
        "script-with-ddl",
        "script",
        "syntax",
        "unknown-table",
        "empty",
        "with-delete",
        "with-insert",
    ],
)
def test_sandbox_sql_refuses_bad_input_as_usage_errors_and_runs_nothing(
    sandbox: Context, sql: str, needle: str
) -> None:
    """Every refusal is exit 2 (a script used to reach the warehouse and exit 3)."""
    from nbaops.errors import UsageError
    from nbaops.sandbox.sql import run_sql

    with pytest.raises(UsageError, match=re.escape(needle)):
        run_sql(sandbox, sql)
    assert sandbox.warehouse.query("SELECT COUNT(*) AS n FROM `nba_raw.games`").rows[0]["n"] > 0


def test_sandbox_sql_prints_at_most_a_page_of_rows_and_says_so(sandbox: Context) -> None:
    """3M generated rows took 1.2 GB and 24 s to print; order and a query's own LIMIT hold."""
    from nbaops.sandbox.sql import MAX_ROWS, run_sql

    many = run_sql(sandbox, "SELECT x FROM UNNEST(GENERATE_ARRAY(1, 5000)) AS x ORDER BY x DESC")
    assert len(many.rows) == MAX_ROWS and many.truncated
    assert [r["x"] for r in many.rows[:2]] == [5000, 4999]
    assert many.to_json()["truncated"] is True
    few = run_sql(sandbox, "SELECT x FROM UNNEST(GENERATE_ARRAY(1, 5000)) AS x LIMIT 3")
    assert len(few.rows) == 3 and not few.truncated
    # the query runs as written: a wrapper around it renamed duplicate columns (a, a_1)
    with pytest.raises(Exception, match="duplicate column names"):
        run_sql(sandbox, "SELECT 1 AS a, 2 AS a")


@pytest.mark.parametrize("value", ["notadate", "2026-02-30", "5"])
def test_sandbox_sql_param_the_query_cannot_convert_is_a_usage_error(
    sandbox: Context,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
) -> None:
    """``--param d=notadate`` beside a DATE column is bad input (exit 2, one line naming
    the parameter), as BigQuery's parameter coercion refuses it; it exited 3 as a failed
    warehouse query. A value in the data that does not convert is still the query's
    failure (exit 3)."""
    from invoke import Context as InvokeContext
    from invoke.exceptions import Exit

    from nbaops.cli.sandbox import sql as sql_task

    monkeypatch.setenv("NBAOPS_HOME", str(sandbox.home))
    query = "SELECT COUNT(*) AS n FROM `nba_raw.games` WHERE game_date = @d"
    with pytest.raises(Exit) as info:
        sql_task(InvokeContext(), query, param=[f"d={value}"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nbaops: error: sandbox.sql: query parameter @d: ") and "\n" not in err
    with pytest.raises(Exit) as info:
        sql_task(
            InvokeContext(),
            "SELECT CAST(home_team AS DATE) AS d FROM `nba_raw.games` WHERE game_date > @d",
            param=["d=2000-01-01"],
        )
    assert info.value.code == 3


def test_sandbox_sql_names_the_columns_of_a_query_that_returns_no_rows(sandbox: Context) -> None:
    """The column names were read from the first row: a query that matched nothing showed
    no header on a terminal or in tab-separated output and ``"columns": []`` in --json, so
    'no rows' could not be told from 'no such columns'."""
    from nbaops.sandbox.sql import run_sql

    empty = run_sql(
        sandbox,
        "SELECT game_id, home_team AS home FROM `nba_raw.games` WHERE game_date = @d -- none\n",
        {"d": dt.date(1990, 1, 1)},
    )
    assert empty.rows == [] and empty.columns == ["game_id", "home"]
    assert empty.to_json()["columns"] == ["game_id", "home"]
    with_clause = run_sql(
        sandbox, "WITH g AS (SELECT 1 AS n) SELECT n, n + 1 AS m FROM g WHERE n > 1"
    )
    assert with_clause.rows == [] and with_clause.columns == ["n", "m"]


def test_sandbox_sql_runs_a_parenthesised_query(sandbox: Context) -> None:
    """A query may open with a parenthesis, as BigQuery's grammar allows ("(SELECT ...)
    UNION ALL (SELECT ...)"); it was refused as "only queries (SELECT or WITH) run here,
    not (SELECT", which is a query."""
    from nbaops.sandbox.sql import run_sql

    both = run_sql(sandbox, "(SELECT 1 AS a) UNION ALL (SELECT 2 AS a) ORDER BY a")
    assert [r["a"] for r in both.rows] == [1, 2]


@pytest.mark.parametrize(
    "sql",
    [
        "#standardSQL\nSELECT 1 AS a",
        "# the day's games (runbook block)\nSELECT 1 AS a",
        "-- a comment\n# and another\n/* and one more */ SELECT 1 AS a",
    ],
    ids=["dialect-prefix", "hash-comment", "mixed-comments"],
)
def test_sandbox_sql_runs_a_query_that_opens_with_a_hash_comment(
    sandbox: Context, sql: str
) -> None:
    """BigQuery reads ``#`` as a single-line comment, like ``--``
    (cloud.google.com/bigquery/docs/reference/standard-sql/lexical#single_line_comments),
    and documents the ``#standardSQL`` prefix on a query's first line
    (cloud.google.com/bigquery/docs/introduction-sql): such a runbook block was refused as
    "only queries (SELECT or WITH) run here, not #" (exit 2), though it is a query."""
    from nbaops.sandbox.sql import run_sql

    assert [r["a"] for r in run_sql(sandbox, sql).rows] == [1]
