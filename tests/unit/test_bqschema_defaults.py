"""Column defaults are parsed as one expression of the documented forms; DDL is a tree.

Issue 14 item 1: ``"defaultValueExpression": "NULL; DROP TABLE nba_ops.deploys; SELECT 1"``
passed both hooks and ran in schema-apply. These tests pin the grammar and the DDL.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import sqlglot

from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse
from nbaops.bqschema import ddl
from nbaops.bqschema.breaking import compare
from nbaops.bqschema.defaults import DefaultExpressionError, parse_default
from nbaops.bqschema.lint import lint_document
from nbaops.bqschema.model import Field, TableSchema
from nbaops.bqschema.parse import decode_document
from nbaops.errors import WarehouseError

INJECTION = "NULL; DROP TABLE nba_ops.deploys; SELECT 1"

ACCEPTED = [
    "NULL", "TRUE", "42", "-1.5", "1e10", "'nba_api'", "\"x\"", "b'ab'", "r'raw'",
    "DATE '2020-01-01'", "TIMESTAMP '2020-01-01 00:00:00+00'", "DATETIME '2020-01-01 10:00:00'",
    "TIME '10:00:00'", "NUMERIC '1.25'", "BIGNUMERIC '1'", "JSON '{\"a\": 1}'",
    "INTERVAL 1 DAY", "RANGE<DATE> '[2020-01-01, UNBOUNDED)'",
    "CURRENT_TIMESTAMP()", "CURRENT_TIMESTAMP", "CURRENT_DATE()",
    "CURRENT_DATE('America/New_York')",
    "CURRENT_DATETIME()", "CURRENT_TIME()", "GENERATE_UUID()", "RAND()", "SESSION_USER()",
    "ST_GEOGPOINT(1.5, -2)", "[CURRENT_DATE(), DATE '2020-01-01']", "STRUCT(1 AS a, 'x' AS b)",
    "(1)",
    # integer literals may be hexadecimal, and an array literal may name its element type
    # (cloud.google.com/bigquery/docs/reference/standard-sql/lexical#integer_literals,
    # #array_literals): both were refused as "not a literal"
    "0x1F", "-0X1f", "ARRAY<STRING>[]", "ARRAY<DATE>[CURRENT_DATE(), DATE '2020-01-01']",
]  # fmt: skip

REJECTED = [
    (INJECTION, "exactly one expression"),
    ("1; SELECT 2", "exactly one expression"),
    ("(SELECT MAX(game_id) FROM nba_raw.games)", "not a literal"),
    ("other_column", "not a literal"),
    ("UPPER('a')", "not a literal"),
    ("1 + 1", "not a literal"),
    ("CAST(game_id AS STRING)", "not a literal"),
    # not literals (BigQuery has no INT64 '5'), and casts BigQuery does not list
    ("INT64 '5'", "not a literal"),
    ("STRING 'x'", "not a literal"),
    ("CAST('x' AS INT64)", "not a literal"),
    ("SAFE_CAST('1' AS INT64)", "not a literal"),
    ("SAFE_CAST('2020-01-01' AS DATE)", "not a literal"),
    ("[DATE '2020-01-01', SAFE_CAST('x' AS DATE)]", "not a literal"),
    # the function, even to a type that has a literal (SQLGlot reads both alike)
    ("CAST('2020-01-01' AS DATE)", "not a literal"),
    ("[DATE '2020-01-01', cast('2020-01-02' as date)]", "not a literal"),
    ("ST_GEOGPOINT(lon, lat)", "not a literal"),
    ("GENERATE_UUID() || 'x'", "not a literal"),
    ("ARRAY<INT64>[1, other_column]", "not a literal"),
    ("CAST([1] AS ARRAY<INT64>)", "not a literal"),
    ("SAFE_CAST([1] AS ARRAY<INT64>)", "not a literal"),
    ("", "empty"),
    ("   ", "empty"),
    ("'" + "x" * 5000 + "'", "characters"),
    ("'unterminated", "does not parse"),
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_documented_forms_are_accepted(text: str) -> None:
    tree = parse_default(text)
    # the tree re-renders to one statement: what DDL embeds is the tree, not the text
    assert len(sqlglot.parse(tree.sql(dialect="bigquery"), read="bigquery")) == 1


@pytest.mark.parametrize(("text", "why"), REJECTED)
def test_anything_else_is_refused_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(DefaultExpressionError, match=why) as info:
        parse_default(text)
    assert "\n" not in str(info.value)


def test_ddl_never_contains_an_injected_statement() -> None:
    with pytest.raises(DefaultExpressionError):
        ddl.add_column("nba_raw.games", Field("x", "STRING", default=INJECTION))
    with pytest.raises(DefaultExpressionError):
        ddl.set_default("nba_raw.games", "x", INJECTION)


def test_ddl_quotes_identifiers_and_parses_as_one_statement() -> None:
    hostile = "a`; DROP TABLE t; --"
    nested = Field(
        "rec", "STRUCT", fields=[Field("in`ner", "INT64", mode="REQUIRED"), Field("l", "STRING")]
    )
    statements = [
        ddl.add_column("nba.t", Field(hostile, "STRING", description="it's\n'x'", default="'d'")),
        ddl.add_column("nba.t", nested),
        ddl.add_column("nba.t", Field("n", "NUMERIC", precision=10, scale=2)),
        ddl.add_column("nba.t", Field("s", "STRING", mode="REPEATED", max_length=8)),
        ddl.add_column("nba.t", Field("r", "RANGE", range_element="DATE")),
        ddl.drop_not_null("nba.t", hostile),
        ddl.set_data_type("nba.t", Field(hostile, "NUMERIC")),
        ddl.set_description("nba.t", hostile, "x'; DROP TABLE t; --"),
        ddl.set_description("nba.t", hostile, None),
        ddl.set_default("nba.t", hostile, "CURRENT_TIMESTAMP()"),
        ddl.set_default("nba.t", hostile, None),
        ddl.drop_column("nba.t", hostile),
        ddl.rename_column("nba.t", hostile, "b"),
    ]
    for st in statements:
        parsed = sqlglot.parse(st.sql, read="bigquery")
        assert len(parsed) == 1, st.sql
        assert not list(parsed[0].find_all(sqlglot.exp.Drop)) or st.kind == "drop_column"
    assert "STRUCT<`in\\`ner` INT64 NOT NULL, `l` STRING>" in statements[1].sql
    assert "NUMERIC(10, 2)" in statements[2].sql
    assert "ARRAY<STRING(8)>" in statements[3].sql
    assert "RANGE<DATE>" in statements[4].sql
    assert statements[9].sql.endswith("SET DEFAULT CURRENT_TIMESTAMP()")
    assert statements[10].sql.endswith("DROP DEFAULT")


def test_ddl_writes_a_literal_default_as_bigquery_documents_the_literal() -> None:
    """A column default must be "a literal or one of the following functions" (CURRENT_DATE
    ...; https://cloud.google.com/bigquery/docs/default-values): SQLGlot reads DATE '...'
    as a CAST of the string, and the DDL wrote DEFAULT CAST('2024-06-01' AS DATE), a
    function BigQuery does not list, for a default the schema file states as a literal."""
    written = {
        "DATE '2024-06-01'": "DATE '2024-06-01'",
        "TIMESTAMP '2024-06-01 10:00:00+00'": "TIMESTAMP '2024-06-01 10:00:00+00'",
        "DATETIME '2024-06-01 10:00:00'": "DATETIME '2024-06-01 10:00:00'",
        "TIME '10:00:00'": "TIME '10:00:00'",
        "NUMERIC '1.25'": "NUMERIC '1.25'",
        "BIGNUMERIC '1'": "BIGNUMERIC '1'",
        "RANGE<DATE> '[2024-01-01, UNBOUNDED)'": "RANGE<DATE> '[2024-01-01, UNBOUNDED)'",
        "[CURRENT_DATE(), DATE '2020-01-01']": "[CURRENT_DATE, DATE '2020-01-01']",
        # "INTERVAL int64_expression datetime_part" (lexical#interval_literal_single);
        # SQLGlot wrote INTERVAL '5' DAY
        "INTERVAL 5 DAY": "INTERVAL 5 DAY",
        "INTERVAL -5 DAY": "INTERVAL -5 DAY",
        "INTERVAL '1-2' YEAR TO MONTH": "INTERVAL '1-2' YEAR TO MONTH",
        "0x1F": "0x1F",
        "ARRAY<DATE>[CURRENT_DATE(), DATE '2020-01-01']": (
            "ARRAY<DATE>[CURRENT_DATE, DATE '2020-01-01']"
        ),
    }
    for default, sql in written.items():
        assert ddl.set_default("nba.t", "c", default).sql.endswith(f"SET DEFAULT {sql}")
        added = ddl.add_column("nba.t", Field("c", "DATE", default=default)).sql
        assert added.endswith(f"DEFAULT {sql}") and "CAST" not in added


def test_a_default_written_another_way_is_the_same_default() -> None:
    """schema-apply sets the default the DDL writes (CURRENT_DATE() as CURRENT_DATE, date
    '...' as DATE '...'), which a live table then reads back: compared as text with its
    schema file, the default "changed" in every live diff and schema-apply set it again."""
    same = [
        ("CURRENT_DATE", "CURRENT_DATE()"),
        ("DATE '2024-06-01'", "date '2024-06-01'"),
        ("[CURRENT_DATE, DATE '2020-01-01']", "[CURRENT_DATE(), DATE '2020-01-01']"),
        ('"x"', "'x'"),
    ]
    for live, declared in same:
        old = TableSchema([Field("d", "DATE", default=live)])
        new = TableSchema([Field("d", "DATE", default=declared)])
        assert not compare(old, new, "nba.t").changed, (live, declared)
    for live, declared in [("DATE '2024-06-01'", "DATE '2024-06-02'"), ("'x'", None)]:
        old = TableSchema([Field("d", "DATE", default=live)])
        new = TableSchema([Field("d", "DATE", default=declared)])
        result = compare(old, new, "nba.t")
        assert [s.kind for s in result.allowed] == ["set_default" if declared else "drop_default"]


def _lint(fields: list[dict[str, Any]]) -> list[str]:
    return [f.rule for f in lint_document(decode_document("s.json", json.dumps(fields).encode()))]


def test_lint_refuses_the_injected_default() -> None:
    assert _lint([{"name": "c", "type": "STRING", "defaultValueExpression": INJECTION}]) == [
        "DEFAULT_INVALID"
    ]
    assert _lint([{"name": "c", "type": "STRING", "defaultValueExpression": "'ok'"}]) == []


def test_breaking_check_refuses_an_invalid_default_and_prints_no_ddl() -> None:
    old = TableSchema([Field("a", "STRING")])
    added = TableSchema([Field("a", "STRING"), Field("b", "STRING", default=INJECTION)])
    changed = TableSchema([Field("a", "STRING", default=INJECTION)])
    for new in (added, changed):
        result = compare(old, new, "nba_ops.deploys")
        assert [v.rule for v in result.violations] == ["DEFAULT_VALID"]
        assert result.allowed == []


def test_bigquery_execute_refuses_a_script_before_any_call() -> None:
    # no client is created: the refusal happens before the API is touched
    wh = BigQueryWarehouse("p", endpoint="http://127.0.0.1:9")
    with pytest.raises(WarehouseError, match="exactly one statement"):
        wh.execute("ALTER TABLE `nba_raw.games` ADD COLUMN x INT64; DROP TABLE nba_ops.deploys")
    assert wh._client_obj is None


def test_building_a_description_statement_logs_no_parser_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SQLGlot parses ALTER COLUMN SET OPTIONS as a generic command and warns so; the
    parse-back check used to print that warning on stderr of every schema-diff."""
    caplog.set_level("DEBUG")
    statement = ddl.set_description("nba.t", "c", "new text")
    assert statement.description == "new text" and "SET OPTIONS" in statement.sql
    assert [r.getMessage() for r in caplog.records if r.name.startswith("sqlglot")] == []


def test_counting_statements_for_the_warehouse_logs_no_parser_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """BigQuery's execute() counts statements before it runs one: schema-apply's SET OPTIONS
    printed SQLGlot's fallback warning there too."""
    from nbaops.adapters.sql_dialect import statement_count

    sql = "ALTER TABLE `nba.t` ALTER COLUMN `c` SET OPTIONS (description = 'x')"
    logging.getLogger("sqlglot").setLevel(logging.NOTSET)
    caplog.set_level("DEBUG")
    assert statement_count(sql) == 1
    assert [r.getMessage() for r in caplog.records if r.name.startswith("sqlglot")] == []
