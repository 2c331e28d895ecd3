"""sql-schema-refs: which strings are queries, and what counts as an unknown table/column."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from nbaops.bqschema.sql_refs import SqlSite, check_paths, check_sql, find_sql
from nbaops.table_catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT)


def check(sql: str) -> list[str]:
    return [f"{f.rule}:{f.line}:{f.message}" for f in check_sql(SqlSite("q.py", 1, sql, True),
                                                                 CATALOG)]  # fmt: skip


def test_catalog_reads_the_repository_schemas() -> None:
    cols = CATALOG.columns("nba_predictions.player_prop_predictions")
    assert cols is not None and "predicted_points" in cols
    assert CATALOG.columns("nba_raw.nope") is None


def test_valid_queries_have_no_findings() -> None:
    assert (
        check(
            """
        WITH latest AS (
          SELECT p.player_lookup, p.system_id, COUNT(*) AS n,
                 ANY_VALUE(p.line_value) AS line
          FROM `nba_predictions.player_prop_predictions` AS p
          WHERE p.game_date = @d
          GROUP BY p.player_lookup, p.system_id
          QUALIFY ROW_NUMBER() OVER (PARTITION BY player_lookup ORDER BY n DESC) = 1
        )
        SELECT l.player_lookup, l.n, a.actual_points, SAFE_DIVIDE(l.n, 2) AS half
        FROM latest AS l
        LEFT JOIN `nba_predictions.prediction_accuracy` a USING (player_lookup)
        WHERE a.game_date BETWEEN DATE_SUB(@d, INTERVAL 7 DAY) AND @d
          AND EXISTS (SELECT 1 FROM `nba_raw.games` g WHERE g.game_id = a.game_id)
        ORDER BY half
        """
        )
        == []
    )
    assert check("SELECT COUNT(*) AS n FROM `nba_ops.INFORMATION_SCHEMA.COLUMNS`") == []
    assert check("INSERT INTO `nba_ops.deploys` (deploy_id, service) VALUES (@a, @b)") == []
    assert check("SELECT x FROM UNNEST([1, 2]) AS x") == []  # no dataset.table: not ours


def test_unknown_table() -> None:
    assert check("SELECT a FROM `nba_raw.gamez` WHERE game_date = @d") == [
        "SQL_UNKNOWN_TABLE:1:unknown table `nba_raw.gamez` (no schema file in schemas/)"
    ]


def test_table_names_are_case_sensitive_as_in_bigquery() -> None:
    """BigQuery's dataset and table names are case-sensitive (column names are not): a
    query on `nba_raw.Games` passed the hook, ran against the local DuckDB warehouse, and
    failed in prod with "Not found: Table"."""
    assert check("SELECT game_id FROM `nba_raw.Games` WHERE game_date = @d") == [
        "SQL_UNKNOWN_TABLE:1:unknown table `nba_raw.Games` (no schema file in schemas/); "
        "table names are case-sensitive: `nba_raw.games`?"
    ]
    assert check("SELECT GAME_ID FROM `nba_raw.games` WHERE Game_Date = @d") == []


def test_unknown_columns_qualified_unqualified_and_in_subqueries() -> None:
    found = check(
        "SELECT g.game_id, g.venue, attendance\n"
        "FROM `nba_raw.games` AS g\n"
        "WHERE g.game_date = @d\n"
        "  AND g.game_id IN (SELECT game_id FROM `nba_analytics.player_game_summary`\n"
        "                    WHERE pts > 10)\n"
    )
    assert found == [
        "SQL_UNKNOWN_COLUMN:1:unknown column venue in `nba_raw.games`",
        "SQL_UNKNOWN_COLUMN:1:unknown column attendance (not in `nba_raw.games`)",
        "SQL_UNKNOWN_COLUMN:5:unknown column pts (not in `nba_analytics.player_game_summary`)",
    ]


def test_unknown_column_in_cte_output_and_insert_and_update() -> None:
    assert check("WITH c AS (SELECT game_id FROM `nba_raw.games`) SELECT c.status FROM c") == [
        "SQL_UNKNOWN_COLUMN:1:unknown column status in a subquery"
    ]
    assert check("INSERT INTO `nba_ops.deploys` (deploy_id, who) VALUES (@a, @b)") == [
        "SQL_UNKNOWN_COLUMN:1:unknown column who in `nba_ops.deploys`"
    ]
    assert check("UPDATE `nba_ops.deploys` SET outcome = @o, stage = 2 WHERE deploy_id = @i") == [
        "SQL_UNKNOWN_COLUMN:1:unknown column stage"
    ]


DEPLOYS = "`nba_ops.deploys`"
GAMES = "`nba_raw.games`"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # a subquery used to switch the statement's own check off
        (
            f"DELETE FROM {DEPLOYS} WHERE stage = 1 AND service IN (SELECT home_team FROM {GAMES})",
            ["unknown column stage"],
        ),
        (
            f"UPDATE {DEPLOYS} SET outcome = NULL WHERE service IN "
            f"(SELECT home_team FROM {GAMES}) AND stage = 2",
            ["unknown column stage"],
        ),
        (
            f"DELETE FROM {DEPLOYS} WHERE service IN (SELECT team FROM {GAMES})",
            ["unknown column team (not in `nba_raw.games`)"],
        ),
        # MERGE: the target's and the source's columns, a subquery source by its selects
        (
            f"MERGE {DEPLOYS} AS t USING {DEPLOYS} AS s ON t.stage = s.deploy_id "
            "WHEN MATCHED THEN DELETE",
            ["unknown column t.stage"],
        ),
        (
            f"MERGE {DEPLOYS} AS t USING (SELECT home_team AS svc FROM {GAMES}) AS s "
            "ON t.service = s.svc WHEN MATCHED THEN UPDATE SET t.outcome = s.svc "
            "WHEN NOT MATCHED THEN INSERT (service) VALUES (s.svc)",
            [],
        ),
        (
            f"MERGE {DEPLOYS} AS t USING (SELECT home_team AS svc FROM {GAMES}) AS s "
            "ON t.service = s.team WHEN MATCHED THEN DELETE",
            ["unknown column s.team"],
        ),
        # a correlated subquery of a DML statement sees the statement's table (was:
        # "unknown column b"), and is still checked against it
        (
            f"DELETE FROM {DEPLOYS} AS d WHERE EXISTS "
            f"(SELECT 1 FROM {GAMES} AS g WHERE g.home_team = d.service)",
            [],
        ),
        (
            f"UPDATE {DEPLOYS} AS d SET outcome = 'x' WHERE service IN "
            f"(SELECT g.home_team FROM {GAMES} AS g WHERE g.game_id = d.deploy_id)",
            [],
        ),
        (
            f"DELETE FROM {DEPLOYS} AS d WHERE EXISTS "
            f"(SELECT 1 FROM {GAMES} AS g WHERE g.home_team = d.servce)",
            ["unknown column servce in `nba_ops.deploys`"],
        ),
        # derived tables and CTEs: their own output names hid their unknown columns
        (
            f"SELECT x.game_id FROM (SELECT game_id, nosuch_b FROM {GAMES}) AS x",
            ["unknown column nosuch_b (not in `nba_raw.games`)"],
        ),
        (
            f"SELECT g.game_id FROM {GAMES} AS g LEFT JOIN "
            f"(SELECT game_id, nosuch_c FROM {GAMES}) AS s ON s.game_id = g.game_id",
            ["unknown column nosuch_c (not in `nba_raw.games`)"],
        ),
        (
            f"WITH c AS (SELECT game_id, nosuch_d FROM {GAMES}) SELECT game_id FROM c",
            ["unknown column nosuch_d (not in `nba_raw.games`)"],
        ),
        (f"WITH c AS (SELECT game_id AS g FROM {GAMES}) SELECT g FROM c", []),
        # HAVING and QUALIFY: SQLGlot leaves their unqualified columns out of the scope
        (
            f"SELECT home_team FROM {GAMES} GROUP BY home_team HAVING MAX(attendance) > 0",
            ["unknown column attendance (not in `nba_raw.games`)"],
        ),
        (
            f"SELECT game_id FROM {GAMES} WHERE TRUE "
            "QUALIFY ROW_NUMBER() OVER (PARTITION BY arena ORDER BY game_id) = 1",
            ["unknown column arena (not in `nba_raw.games`)"],
        ),
        (
            f"SELECT home_team, COUNT(*) AS n FROM {GAMES} GROUP BY home_team HAVING n > 1",
            [],
        ),
    ],
)
def test_dml_statements_and_having_qualify_are_checked(sql: str, expected: list[str]) -> None:
    assert [f.split(":", 2)[2] for f in check(sql)] == expected


def test_select_alias_may_be_used_in_order_by_but_not_invented() -> None:
    assert check("SELECT points AS p FROM `nba_analytics.player_game_summary` ORDER BY p") == []
    assert check("SELECT pts FROM `nba_analytics.player_game_summary` ORDER BY pts") != []


def test_star_except_and_join_using_name_existing_columns() -> None:
    # A query naming a missing column in * EXCEPT (...) or in JOIN ... USING (...) fails
    # in BigQuery as any other unknown column does; SQLGlot's scope lists neither name,
    # so neither was checked.
    games = "`nba_raw.games` WHERE game_date = @d"
    assert [f.split(":", 2)[2] for f in check(f"SELECT * EXCEPT (bogus) FROM {games}")] == [
        "unknown column bogus (not in `nba_raw.games`)"
    ]
    assert check(f"SELECT * EXCEPT (game_id) FROM {games}") == []
    joined = (
        "SELECT g.game_id FROM `nba_raw.games` g JOIN `nba_analytics.player_game_summary` s "
        "USING ({}) WHERE g.game_date = @d"
    )
    assert [f.split(":", 2)[2] for f in check(joined.format("game_id, bogus"))] == [
        "unknown column bogus in `nba_analytics.player_game_summary`"
    ]
    assert check(joined.format("game_id, game_date")) == []


def test_correlated_subquery_sees_the_outer_table() -> None:
    sql = (
        "SELECT game_id FROM `nba_raw.games` g WHERE EXISTS (SELECT 1 FROM "
        "`nba_analytics.player_game_summary` s WHERE s.game_id = g.game_id AND home_team = team)"
    )
    assert check(sql) == []


def test_unparseable_sql_is_a_warning_only_when_passed_to_the_warehouse() -> None:
    (found,) = check_sql(SqlSite("q.py", 3, "SELECT FROM WHERE (", True), CATALOG)
    assert found.rule == "SQL_PARSE" and not found.is_error and found.line == 3
    assert check_sql(SqlSite("q.py", 3, "SELECT FROM WHERE (", False), CATALOG) == []


def test_ddl_sqlglot_cannot_model_is_skipped_without_a_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLGlot parses ALTER ... SET OPTIONS as a generic command and logs a warning (on the
    # hook's stderr, for a statement the hook does not check anyway).
    monkeypatch.setattr(logging.getLogger("sqlglot"), "level", logging.NOTSET)
    sql = "ALTER TABLE `nba_ops.deploys` ALTER COLUMN service SET OPTIONS (description = 'x')"
    with caplog.at_level(logging.WARNING):
        assert check(sql) == []
    assert [r.getMessage() for r in caplog.records] == []


def test_find_sql_sources() -> None:
    source = textwrap.dedent(
        '''
        TABLE = "nba_raw.games"
        COLS = "game_id, status"
        GAMES_SQL = f"""
        SELECT {COLS}
        FROM `{TABLE}`
        """

        def run(wh, name):
            wh.query("SELECT game_id FROM `nba_raw.games`")
            q = "select lower_case FROM `nba_raw.games`"
            wh.execute(q)
            wh.estimate_bytes(sql=GAMES_SQL)
            wh.query(f"SELECT * FROM `{name}`")
            con.execute(f"DESCRIBE {name}")
            print("Select the service you want from the list")
        '''
    )
    sites, warnings = find_sql("m.py", source)
    assert [(s.line, s.sql.split()[1], s.explicit) for s in sites] == [
        (4, "game_id,", True),
        (10, "game_id", True),
        (11, "lower_case", True),
    ]
    assert [(w.rule, w.line) for w in warnings] == [("SQL_DYNAMIC", 14)]


def test_check_paths_reports_file_and_line(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text(
        'X = 1\nSQL = """\nSELECT game_id,\n       nope\nFROM `nba_raw.games`\n"""\n'
    )
    (pkg / "broken.py").write_text("def (:\n")
    (pkg / "latin.py").write_bytes(b"# \xe9\n")
    findings = check_paths([str(pkg)], ROOT / "schemas")
    assert [f.format() for f in findings] == [
        f"{pkg / 'a.py'}:4: SQL_UNKNOWN_COLUMN unknown column nope (not in `nba_raw.games`)"
    ]
