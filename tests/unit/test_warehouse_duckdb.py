"""The local DuckDB warehouse: tables from schemas/, BigQuery SQL semantics, params,
all-or-nothing inserts, timeouts and concurrency (threads and processes)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from nbaops.adapters.warehouse import Warehouse
from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.errors import DamagedStateError, WarehouseError
from nbaops.table_catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
UTC = dt.UTC
NOW = dt.datetime(2026, 1, 15, 20, 0, tzinfo=UTC)
HEARTBEAT = {  # one valid nba_analytics.processor_heartbeats row
    "processor_name": "p1",
    "service": "phase3-processors",
    "run_id": "r1",
    "status": "success",
    "heartbeat_at": NOW,
}


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> DuckDBWarehouse:
    w = DuckDBWarehouse(tmp_path_factory.mktemp("wh") / "warehouse.duckdb", root=ROOT)
    w.create_tables()
    games = [
        {
            "game_id": f"G{i}",
            "game_date": dt.date(2026, 1, 11) + dt.timedelta(days=i),  # Sun .. Sat
            "season": "2025-26",
            "home_team": "BOS",
            "away_team": "NYK",
            "start_time": dt.datetime(2026, 1, 12, 0, 30, tzinfo=UTC) + dt.timedelta(days=i),
            "status": "final" if i < 4 else "scheduled",
        }
        for i in range(7)
    ]
    w.insert_rows("nba_raw.games", games)
    preds = []
    for i in range(10):
        preds.append(
            {
                "prediction_id": f"p{i}",
                "game_id": "G1",
                "game_date": dt.date(2026, 1, 12),
                "player_lookup": f"player{i % 5}",
                "system_id": "v8" if i % 2 else "v9",
                "predicted_points": 10.0 + i,
                "line_value": 12.5 if i < 8 else None,
                "line_source": "REAL" if i < 8 else "ESTIMATED",
                "recommendation": "OVER" if i % 3 else "PASS",
                "confidence": 0.5 + i / 100,
                "batch_id": "b1" if i < 5 else "b2",
                "created_at": dt.datetime(2026, 1, 12, 12, 0, tzinfo=UTC) + dt.timedelta(minutes=i),
            }
        )
    w.insert_rows("nba_predictions.player_prop_predictions", preds)
    return w


def test_duckdb_warehouse_satisfies_the_protocol(wh: DuckDBWarehouse) -> None:
    assert isinstance(wh, Warehouse)
    assert wh.kind == "duckdb"


def test_every_schema_file_table_is_created_and_reflects_back_identically(
    wh: DuckDBWarehouse,
) -> None:
    catalog = load_catalog(ROOT)
    assert len(catalog) >= 10
    for spec in catalog:
        expected = [
            {k: v for k, v in f.items() if k in ("name", "type", "mode", "description")}
            for f in spec.schema()
        ]
        for f in expected:
            f.setdefault("mode", "NULLABLE")
        assert wh.table_schema(spec.ref) == expected, spec.ref


def _one_table_project(
    tmp_path: Path, table: str, fields: list[dict[str, Any]], *, partition: str
) -> DuckDBWarehouse:
    """A project whose schemas/ hold one table, and a warehouse over it."""
    dataset, name = table.split(".")
    root = tmp_path / "proj"
    (root / "schemas" / dataset).mkdir(parents=True)
    (root / "schemas" / dataset / f"{name}.json").write_text(json.dumps(fields))
    (root / "schemas" / "tables.yaml").write_text(f"{table}: {{partition: {partition}}}\n")
    return DuckDBWarehouse(tmp_path / "w.duckdb", root=root)


# A REPEATED RECORD column (a list of structs).
ITEMS: dict[str, Any] = {
    "name": "items",
    "type": "RECORD",
    "mode": "REPEATED",
    "fields": [{"name": "k", "type": "STRING"}, {"name": "v", "type": "INT64"}],
}


def _declare(fields: list[Any], edit: Path | None = None) -> Any:
    """The table schema ``fields`` declare; with ``edit``, also written there (the schema
    file changed, as before a schema-apply)."""
    from nbaops.bqschema.parse import decode_document, to_table_schema

    text = json.dumps(fields)
    if edit is not None:
        edit.write_text(text)
    declared = to_table_schema(decode_document("t.json", text.encode()))
    assert declared is not None
    return declared


def _live_as_declared(w: DuckDBWarehouse, ref: str, declared: Any) -> Any:
    """The live schema of ``ref``, asserted to diff clean against ``declared``."""
    from nbaops.bqschema.breaking import compare
    from nbaops.bqschema.diff import live_schema

    live = live_schema(w.table_schema(ref), ref)
    assert not compare(live, declared, ref).changed
    return live


def test_nested_repeated_numeric_and_json_types_map_and_round_trip(tmp_path: Path) -> None:
    fields = [
        {"name": "id", "type": "STRING", "mode": "REQUIRED"},
        {"name": "amount", "type": "NUMERIC"},
        {"name": "small", "type": "NUMERIC", "precision": "10", "scale": "2"},
        {"name": "tags", "type": "STRING", "mode": "REPEATED"},
        {"name": "payload", "type": "JSON"},
        ITEMS,
        {"name": "at", "type": "TIMESTAMP"},
        {"name": "local_at", "type": "DATETIME"},
    ]
    w = _one_table_project(tmp_path, "nba_ops.things", fields, partition="at")
    assert w.create_tables() == ["nba_ops.things"]
    assert w.table_schema("nba_ops.things") == [
        {"name": "id", "type": "STRING", "mode": "REQUIRED"},
        {"name": "amount", "type": "NUMERIC", "mode": "NULLABLE"},
        {"name": "small", "type": "NUMERIC", "mode": "NULLABLE", "precision": "10", "scale": "2"},
        {"name": "tags", "type": "STRING", "mode": "REPEATED"},
        {"name": "payload", "type": "JSON", "mode": "NULLABLE"},
        {
            "name": "items",
            "type": "RECORD",
            "mode": "REPEATED",
            "fields": [
                {"name": "k", "type": "STRING", "mode": "NULLABLE"},
                {"name": "v", "type": "INT64", "mode": "NULLABLE"},
            ],
        },
        {"name": "at", "type": "TIMESTAMP", "mode": "NULLABLE"},
        {"name": "local_at", "type": "DATETIME", "mode": "NULLABLE"},
    ]
    w.insert_rows(
        "nba_ops.things",
        [
            {
                "id": "a",
                "amount": Decimal("123456789012.123456789"),
                "small": 1.25,
                "tags": ["x", "y"],
                "payload": {"verdicts": ["PASS"], "n": 2},
                "items": [{"k": "a", "v": 1}],
                "at": "2026-01-15T20:00:00Z",
                "local_at": dt.datetime(2026, 1, 15, 15, 0),
            }
        ],
    )
    row = w.query("SELECT * FROM nba_ops.things WHERE at >= @t", {"t": NOW}).rows[0]
    assert row["amount"] == Decimal("123456789012.123456789")  # NUMERIC keeps 9 decimals
    assert row["small"] == Decimal("1.25")
    assert row["tags"] == ["x", "y"]
    assert row["payload"] == {"verdicts": ["PASS"], "n": 2}  # JSON comes back parsed
    assert row["items"] == [{"k": "a", "v": 1}]
    assert row["at"] == NOW and row["at"].tzinfo is UTC
    assert row["local_at"] == dt.datetime(2026, 1, 15, 15, 0)


def test_insert_converts_mixed_columns_and_passes_clean_ones_as_they_are(tmp_path: Path) -> None:
    # A column of already-right values skips the per-value conversion (checked in C); one
    # mixed value sends the whole column through it. Both must store the same instants.
    fields = [
        {"name": "id", "type": "STRING", "mode": "REQUIRED"},
        {"name": "x", "type": "FLOAT64"},
        {"name": "at", "type": "TIMESTAMP"},
        {"name": "day", "type": "DATE"},
    ]
    w = _one_table_project(tmp_path, "nba_ops.mixed", fields, partition="day")
    w.create_tables()
    at = dt.datetime(2026, 1, 15, 20, 0, tzinfo=UTC)
    eastern = dt.timezone(dt.timedelta(hours=-5))
    clean = [
        {"id": "c1", "x": 1.5, "at": at, "day": dt.date(2026, 1, 15)},
        {"id": "c2", "x": None, "at": None, "day": None},
    ]
    mixed = [
        {"id": "m1", "x": 2, "at": at.astimezone(eastern), "day": at},  # int, -05:00, datetime
        {"id": "m2", "x": 2.5, "at": dt.datetime(2026, 1, 15, 20, 0), "day": "2026-01-15"},
        {"id": "m3", "at": "2026-01-15T20:00:00Z"},  # sparse: x and day missing
    ]
    w.insert_rows("nba_ops.mixed", clean)
    w.insert_rows("nba_ops.mixed", mixed)
    rows = {r["id"]: r for r in w.query("SELECT * FROM nba_ops.mixed").rows}
    assert rows["c1"] == {"id": "c1", "x": 1.5, "at": at, "day": dt.date(2026, 1, 15)}
    assert rows["c2"] == {"id": "c2", "x": None, "at": None, "day": None}
    assert (rows["m1"]["x"], rows["m1"]["at"], rows["m1"]["day"]) == (2.0, at, at.date())
    assert (rows["m2"]["x"], rows["m2"]["at"], rows["m2"]["day"]) == (2.5, at, at.date())
    assert (rows["m3"]["x"], rows["m3"]["at"], rows["m3"]["day"]) == (None, at, None)


def test_timestamps_come_back_as_tz_aware_utc_datetimes(wh: DuckDBWarehouse) -> None:
    rows = wh.query(
        "SELECT start_time FROM `nba_raw.games` WHERE game_date = @d",
        {"d": dt.date(2026, 1, 11)},
    ).rows
    assert rows == [{"start_time": dt.datetime(2026, 1, 12, 0, 30, tzinfo=UTC)}]
    assert rows[0]["start_time"].tzinfo is UTC


def test_dayofweek_follows_bigquery_sunday_is_1(wh: DuckDBWarehouse) -> None:
    rows = wh.query(
        "SELECT game_date, EXTRACT(DAYOFWEEK FROM game_date) AS dow FROM `nba_raw.games` "
        "WHERE game_date BETWEEN @a AND @b ORDER BY game_date",
        {"a": dt.date(2026, 1, 11), "b": dt.date(2026, 1, 17)},
    ).rows
    assert [r["dow"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]


def test_date_functions_return_dates_like_bigquery(wh: DuckDBWarehouse) -> None:
    row = wh.query(
        "SELECT DATE_TRUNC(@d, MONTH) AS m, DATE_TRUNC(@d, WEEK) AS w, "
        "DATE_SUB(@d, INTERVAL 7 DAY) AS s, DATE_ADD(@d, INTERVAL 1 DAY) AS a, "
        "DATE_DIFF(@d, DATE '2026-01-01', DAY) AS dd",
        {"d": dt.date(2026, 1, 15)},
    ).rows[0]
    assert row == {
        "m": dt.date(2026, 1, 1),
        "w": dt.date(2026, 1, 11),  # BigQuery weeks start on Sunday
        "s": dt.date(2026, 1, 8),
        "a": dt.date(2026, 1, 16),
        "dd": 14,
    }
    assert all(type(v) is dt.date for k, v in row.items() if k != "dd")


def test_timestamp_diff_counts_whole_units_not_boundaries(wh: DuckDBWarehouse) -> None:
    row = wh.query(
        "SELECT TIMESTAMP_DIFF(@b, @a, HOUR) AS h, TIMESTAMP_DIFF(@b, @a, MINUTE) AS m, "
        "TIMESTAMP_SUB(@b, INTERVAL 2 HOUR) AS sub",
        {
            "a": dt.datetime(2026, 1, 15, 10, 59, 59, tzinfo=UTC),
            "b": dt.datetime(2026, 1, 15, 11, 0, 1, tzinfo=UTC),
        },
    ).rows[0]
    assert row["h"] == 0 and row["m"] == 0
    assert row["sub"] == dt.datetime(2026, 1, 15, 9, 0, 1, tzinfo=UTC)


def test_datetime_diff_counts_boundaries_like_bigquery(wh: DuckDBWarehouse) -> None:
    """Unlike TIMESTAMP_DIFF, BigQuery's DATETIME_DIFF "gets the number of unit boundaries"
    (its documented examples below): it was rewritten to whole units like TIMESTAMP_DIFF,
    and 558 days 18:50 came out 558 locally where BigQuery answers 559."""
    row = wh.query(
        "SELECT DATETIME_DIFF(DATETIME '2010-07-07 10:20:00', DATETIME '2008-12-25 15:30:00', "
        "DAY) AS days, DATETIME_DIFF(DATETIME '2017-10-15 00:00:00', "
        "DATETIME '2017-10-14 00:00:00', WEEK) AS weeks, DATETIME_DIFF("
        "DATETIME '2017-12-30 00:00:00', DATETIME '2014-12-30 00:00:00', YEAR) AS years"
    ).rows[0]
    assert row == {"days": 559, "weeks": 1, "years": 3}


def test_week_numbers_and_format_follow_bigquery(wh: DuckDBWarehouse) -> None:
    """BigQuery's EXTRACT(WEEK) counts Sunday-started weeks from week 0, WEEK(MONDAY)
    Monday-started ones (the EXTRACT documentation's examples below); DuckDB's ``week`` is
    the ISO week, so 2016-01-01 was week 53 locally, not 0, WEEK(MONDAY) lost its weekday,
    and ISOWEEK did not run. FORMAT's printf specifiers came back unformatted: DuckDB's
    ``format`` takes ``{}``."""
    sql = (
        "SELECT EXTRACT(WEEK FROM d) AS week, EXTRACT(WEEK(MONDAY) FROM d) AS week_monday, "
        "EXTRACT(ISOWEEK FROM d) AS isoweek FROM UNNEST([@d]) AS d"
    )
    documented = {
        dt.date(2015, 12, 31): (52, 52, 53),
        dt.date(2016, 1, 1): (0, 0, 53),
        dt.date(2016, 1, 4): (1, 1, 1),
        dt.date(2017, 11, 5): (45, 44, 44),
    }
    for day, (week, week_monday, isoweek) in documented.items():
        row = wh.query(sql, {"d": day}).rows[0]
        assert row == {"week": week, "week_monday": week_monday, "isoweek": isoweek}, day
    row = wh.query("SELECT FORMAT('%05.1f %s/%d', 3.14159, 'of', 7) AS f").rows[0]
    assert row == {"f": "003.1 of/7"}


def test_parse_timestamp_reads_the_time_in_its_time_zone(wh: DuckDBWarehouse) -> None:
    """BigQuery's PARSE_TIMESTAMP reads a time without an offset in its ``time_zone``
    argument, UTC by default; the transpiled ``strptime`` dropped the zone, and 03:00 in
    New York came back as 03:00 UTC, five hours off. A text with its own offset keeps it."""
    row = wh.query(
        "SELECT PARSE_TIMESTAMP('%Y-%m-%d %H:%M', '2026-01-10 03:00', 'America/New_York') AS ny,"
        " PARSE_TIMESTAMP('%Y-%m-%d %H:%M', '2026-01-10 03:00') AS utc,"
        " PARSE_TIMESTAMP('%Y-%m-%d %H:%M%z', '2026-01-10 03:00+0100', 'America/New_York') AS z"
    ).rows[0]
    assert row == {
        "ny": dt.datetime(2026, 1, 10, 8, 0, tzinfo=UTC),
        "utc": dt.datetime(2026, 1, 10, 3, 0, tzinfo=UTC),
        "z": dt.datetime(2026, 1, 10, 2, 0, tzinfo=UTC),
    }


def test_array_positions_and_division_by_zero_answer_or_fail_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """SQLGlot shifted only a literal OFFSET to DuckDB's 1-based lists: ``xs[OFFSET(i)]``
    read the element after i (and SAFE_OFFSET(-1) the last one). Where BigQuery fails,
    "Array index 3 is out of bounds" and "division by zero" (operators: inf and NaN only
    from inf or NaN operands), DuckDB answered NULL, inf or NaN: a check could PASS
    locally on what errors in production."""
    row = wh.query(
        "SELECT xs[OFFSET(i)] AS o, xs[ORDINAL(i)] AS n, xs[SAFE_OFFSET(i + 2)] AS so, "
        "xs[SAFE_OFFSET(-1)] AS neg, xs[SAFE_ORDINAL(i)] AS sn, xs[OFFSET(NULL)] AS z "
        "FROM UNNEST([1]) AS i, UNNEST([STRUCT(['a', 'b', 'c'] AS xs)])",
    ).rows[0]
    assert row == {"o": "b", "n": "a", "so": None, "neg": None, "sn": "a", "z": None}
    assert wh.query("SELECT SAFE_DIVIDE(1, 0) AS q, 6 / @d AS h", {"d": 4}).rows[0] == {
        "q": None,
        "h": 1.5,
    }
    failing = {
        "SELECT ['a', 'b'][OFFSET(i)] AS x FROM UNNEST([2]) AS i": "Array index 2 is out of",
        "SELECT ['a', 'b'][ORDINAL(i)] AS x FROM UNNEST([0]) AS i": "Array index 0 is out of",
        "SELECT n / d AS x FROM UNNEST([0.0]) AS d, UNNEST([1.0]) AS n": "division by zero",
        "SELECT COUNT(v) / COUNT(*) AS x FROM UNNEST(@xs) AS v": "division by zero",
    }
    for sql, message in failing.items():
        with pytest.raises(WarehouseError, match=message):
            wh.query(sql, {"xs": []} if "@xs" in sql else None)


def test_a_checked_expression_in_a_window_specification_runs_and_raises_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """A division, an array position or SUBSTR in a window's PARTITION BY or ORDER BY
    (inline or a named WINDOW) answers as in BigQuery, and a zero divisor there is still
    "division by zero"; DuckDB refused the query, "ORDER BY window expressions cannot be
    volatile", for the ERROR() that raises BigQuery's errors."""
    rows = wh.query(
        "SELECT x, ROW_NUMBER() OVER (ORDER BY 1 / x) AS r, "
        "SUM(x) OVER (PARTITION BY CAST(x / 4 AS INT64) ORDER BY [x][OFFSET(0)]) AS s, "
        "COUNT(*) OVER w AS c, FIRST_VALUE(x) OVER (ORDER BY SUBSTR('ab', 1, x)) AS f "
        "FROM UNNEST([1, 2, 4]) AS x WINDOW w AS (ORDER BY 2 / x) ORDER BY x"
    ).rows
    assert rows == [
        {"x": 1, "r": 3, "s": 1, "c": 3, "f": 1},
        {"x": 2, "r": 2, "s": 2, "c": 2, "f": 1},  # 2 / 4 rounds to 1, as 4 / 4
        {"x": 4, "r": 1, "s": 6, "c": 1, "f": 1},
    ]
    assert wh.query(
        "SELECT x FROM UNNEST([0, 2]) AS x "
        "QUALIFY ROW_NUMBER() OVER (ORDER BY IF(x = 0, 0, 1 / x)) = 1"
    ).rows == [{"x": 0}]
    for sql in (
        "SELECT ROW_NUMBER() OVER (ORDER BY 1 / x) AS r FROM UNNEST([1, 0]) AS x",
        "SELECT COUNT(*) OVER w AS c FROM UNNEST([1, 0]) AS x WINDOW w AS (PARTITION BY 1 / x)",
    ):
        with pytest.raises(WarehouseError, match="division by zero"):
            wh.query(sql)


def test_a_plain_array_subscript_is_a_zero_based_offset_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """BigQuery reads ``xs[i]`` as ``xs[OFFSET(i)]`` (zero-based, an error out of range).
    SQLGlot shifted only a literal index to DuckDB's 1-based lists: ``xs[i]`` read the
    element before (NULL for i = 0), and out of range both answered NULL."""
    row = wh.query(
        "SELECT xs[i] AS first, xs[i + 2] AS last, xs[1] AS second "
        "FROM UNNEST([0]) AS i, UNNEST([STRUCT(['a', 'b', 'c'] AS xs)])",
    ).rows[0]
    assert row == {"first": "a", "last": "c", "second": "b"}
    for sql in (
        "SELECT ['a', 'b'][i] AS x FROM UNNEST([2]) AS i",
        "SELECT ['a', 'b'][i] AS x FROM UNNEST([-1]) AS i",
        "SELECT ['a', 'b'][5] AS x",
    ):
        with pytest.raises(WarehouseError, match="Array index -?[0-9] is out of bounds"):
            wh.query(sql)


def test_a_struct_subscript_reads_the_field_at_that_position_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """BigQuery's struct subscript operator: ``s[i]`` and ``s[OFFSET(i)]`` are the field
    at position i from 0, ``s[ORDINAL(i)]`` from 1, i an integer literal, no ``SAFE_``
    keyword (operators#struct_subscript_operator). Locally it was read as an array's
    subscript, and DuckDB refused ``LEN`` of a STRUCT: "No function matches ...
    'length(STRUCT(...))'", a message about a function the query never called."""
    row = wh.query(
        "WITH items AS (SELECT STRUCT(23 AS n, 'tea' AS drink, FALSE AS hot) AS item) "
        "SELECT item[0] AS first, item[OFFSET(1)] AS second, item[ORDINAL(3)] AS third, "
        "STRUCT(7, 'x')[1] AS unnamed, r[1] AS b "
        "FROM items, UNNEST([STRUCT(1 AS a, 2 AS b)]) AS r"
    ).rows[0]
    assert row == {"first": 23, "second": "tea", "third": False, "unnamed": "x", "b": 2}
    refused = {
        "SELECT STRUCT(23 AS n, 'tea' AS d)[6] AS f": "^Field ordinal 6 is out of bounds in STRUCT",
        "SELECT STRUCT(23 AS n, 'tea' AS d)[ORDINAL(0)] AS f": "^Field ordinal 0 is out of",
        "SELECT STRUCT(23 AS n)[SAFE_OFFSET(0)] AS f": "no SAFE_OFFSET or SAFE_ORDINAL on a STRUCT",
        "SELECT STRUCT(23 AS n)[@i] AS f": "position must be an integer literal locally, not @i",
    }
    for sql, message in refused.items():
        with pytest.raises(WarehouseError, match=message):
            wh.query(sql, {"i": 0})


def test_a_float_cast_to_string_reads_as_in_bigquery(wh: DuckDBWarehouse) -> None:
    """BigQuery writes a FLOAT64 as "%.15g" (17 digits when 15 do not read back), NaN and
    0 unsigned (ZetaSQL's RoundTripDoubleToString; the conversion rules' "A returned NaN
    or 0 will not be signed"). DuckDB's own text kept '1.0', '1000000000000000.0',
    '0.6666666666666666' and '-0.0': a check comparing or printing the text differed."""
    row = wh.query(
        "SELECT CAST(1.0 AS STRING) AS one, CAST(2 / 3 AS STRING) AS third, "
        "CAST(1e15 AS STRING) AS big, CAST(@huge AS STRING) AS huge, "
        "SAFE_CAST(x AS STRING) AS col, CAST(@neg_zero AS STRING) AS zero, "
        "CAST(@nan AS STRING) AS nan, CAST(@inf AS STRING) AS inf, "
        "CAST(@small AS STRING) AS small, CAST(@none AS STRING) AS none, "
        "CAST(@n AS STRING) AS n, CAST(DATE '2026-01-15' AS STRING) AS day "
        "FROM UNNEST([2.5]) AS x",
        {
            "huge": 1e20,
            "neg_zero": -0.0,
            "nan": float("nan"),
            "inf": float("-inf"),
            "small": 1.5e-7,
            "none": None,
            "n": 7,
        },
    ).rows[0]
    assert row == {
        "one": "1", "third": "0.66666666666666663", "big": "1e+15", "huge": "1e+20",
        "col": "2.5", "zero": "0", "nan": "nan", "inf": "-inf", "small": "1.5e-07",
        "none": None, "n": "7", "day": "2026-01-15",
    }  # fmt: skip
    # a FORMAT clause is not this conversion: not rewritten into the plain text
    with pytest.raises(WarehouseError):
        wh.query("SELECT CAST(1.5 AS STRING FORMAT '999.99') AS f")


def test_a_timestamp_cast_to_string_writes_its_fraction_in_groups_of_three_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """BigQuery writes a TIMESTAMP as text in UTC with '+00' and its fraction of a second
    in digits of three, none when whole (google/zetasql compliance testdata timestamp.test,
    timestamp_to_string_2: '00:00:00.100', '00:00:00.000100'); DuckDB's text dropped every
    trailing zero ('00:00:00.1+00')."""
    row = wh.query(
        "SELECT CAST(TIMESTAMP '2015-01-28 00:00:00' AS STRING) AS whole, "
        "CAST(TIMESTAMP '2015-01-28 00:00:00.1' AS STRING) AS tenth, "
        "CAST(TIMESTAMP '2015-01-28 00:00:00.0001' AS STRING) AS micros, "
        "CAST(t AS STRING) AS col, SAFE_CAST(@p AS STRING) AS param, "
        "CAST(TIMESTAMP '0001-01-01 00:00:00' AS STRING) AS first "
        "FROM UNNEST([TIMESTAMP '1969-12-31 23:59:59.99']) AS t",
        {"p": dt.datetime(2015, 1, 28, 0, 0, 0, 10, tzinfo=UTC)},
    ).rows[0]
    assert row == {
        "whole": "2015-01-28 00:00:00+00", "tenth": "2015-01-28 00:00:00.100+00",
        "micros": "2015-01-28 00:00:00.000100+00", "col": "1969-12-31 23:59:59.990+00",
        "param": "2015-01-28 00:00:00.000010+00", "first": "0001-01-01 00:00:00+00",
    }  # fmt: skip


def test_a_float_cast_to_int64_rounds_halfway_cases_away_from_zero_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """BigQuery casts a FLOAT64 to the closest INT64, "Halfway cases such as 1.5 or -0.5
    round away from zero" (conversion_functions#cast_as_int64); DuckDB's cast rounded
    them to even: 2.5 → 2, -2.5 → -2, 0.5 → 0, where BigQuery answers 3, -3 and 1."""
    row = wh.query(
        "SELECT CAST(CAST(2.5 AS FLOAT64) AS INT64) AS lit, CAST(x AS INT64) AS col, "
        "SAFE_CAST(-x AS INT64) AS neg, CAST(@half AS INT64) AS param, "
        "CAST(@most AS INT64) AS near, CAST('12' AS INT64) AS text, CAST(n AS INT64) AS num "
        "FROM UNNEST([CAST(4.5 AS FLOAT64)]) AS x, UNNEST([CAST('2.5' AS NUMERIC)]) AS n",
        {"half": 0.5, "most": 2.4999999},
    ).rows[0]
    assert row == {"lit": 3, "col": 5, "neg": -5, "param": 1, "near": 2, "text": 12, "num": 3}


def test_a_string_cast_to_int64_takes_only_an_integer_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """BigQuery casts a STRING to INT64 only when it is an integer, decimal or hex ("-0x123
    to -291", conversion_functions#cast_as_int64), around spaces (google/zetasql
    zetasql/public/functions/convert_string.cc, StringToNumeric); anything else is "Bad
    int64 value: ..." (SAFE_CAST: NULL). DuckDB's cast read '1.5' as 2 and '1e3' as 1000,
    and refused '-0x1F'."""
    row = wh.query(
        "SELECT CAST(' -15 ' AS INT64) AS spaced, CAST('0x1F' AS INT64) AS hex, "
        "CAST('-0x1F' AS INT64) AS neg_hex, CAST(s AS INT64) AS col, "
        "SAFE_CAST('1.5' AS INT64) AS safe_point, SAFE_CAST(@e AS INT64) AS safe_param, "
        "CAST(CAST(NULL AS STRING) AS INT64) AS null_text "
        "FROM UNNEST(['+7']) AS s",
        {"e": "1e3"},
    ).rows[0]
    assert row == {
        "spaced": -15, "hex": 31, "neg_hex": -31, "col": 7, "safe_point": None,
        "safe_param": None, "null_text": None,
    }  # fmt: skip
    for bad, params in (
        ("SELECT CAST('1.5' AS INT64) AS x", {}),
        ("SELECT CAST(s AS INT64) AS x FROM UNNEST(['1_000']) AS s", {}),
        ("SELECT CAST(@e AS INT64) AS x", {"e": "1e3"}),
    ):
        with pytest.raises(WarehouseError, match="Bad int64 value: (1.5|1_000|1e3)$"):
            wh.query(bad, params)


def test_a_numeric_cast_to_string_drops_trailing_zeros_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """BigQuery writes a NUMERIC without trailing fractional zeros, and without a point
    when none is left (ZetaSQL's NumericValue::ToString: NUMERIC '1.50' → '1.5'). DuckDB's
    DECIMAL(38, 9) text kept nine places, '1.500000000': a check comparing or printing
    the text differed."""
    row = wh.query(
        "SELECT CAST(NUMERIC '1.50' AS STRING) AS lit, CAST(n AS STRING) AS col, "
        "SAFE_CAST(CAST(@x AS NUMERIC) AS STRING) AS param, "
        "CAST(NUMERIC '-0.000000001' AS STRING) AS tiny, CAST(NUMERIC '100' AS STRING) AS whole, "
        "CAST(NUMERIC '0' AS STRING) AS zero, CAST(CAST(NULL AS NUMERIC) AS STRING) AS none, "
        "CAST(BIGNUMERIC '1.50' AS STRING) AS big "
        "FROM UNNEST([CAST('2.50' AS NUMERIC)]) AS n",
        {"x": "12.340"},
    ).rows[0]
    assert row == {
        "lit": "1.5", "col": "2.5", "param": "12.34", "tiny": "-0.000000001",
        "whole": "100", "zero": "0", "none": None, "big": "1.5",
    }  # fmt: skip


def test_an_operand_a_rewrite_uses_twice_is_written_and_evaluated_once(
    wh: DuckDBWarehouse,
) -> None:
    """A rewrite that uses its operand more than once (the zero check of a divisor, the
    bounds check of an array position, the float text's round-trip test) bound it once; a
    copy at each use ran it again at each use and doubled the text at each level of
    nesting: 12 nested divisors were 4,096 copies of the innermost one (300 KB of SQL from
    222 characters), and a float cast to text nested in another's operand six copies a
    level."""
    from nbaops.adapters.sql_dialect import to_duckdb

    fraction = "x"
    for _ in range(12):
        fraction = f"1 / (1 + {fraction})"
    sql = f"SELECT {fraction} AS r, CAST(CAST(CAST(x / 3 AS STRING) AS FLOAT64) / 2 AS STRING) AS t"
    sql += " FROM UNNEST([1.0]) AS x"
    (translated,) = to_duckdb(sql)
    assert len(translated.sql) < 20 * len(sql)  # it was 1,365 times
    row = wh.query(sql).rows[0]
    assert row["r"] == pytest.approx(233 / 377)  # Fibonacci: 1/(1+1/(1+...1)) 12 deep
    assert row["t"] == "0.16666666666666666"


def test_substr_starts_a_position_off_the_left_end_at_1_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """BigQuery's SUBSTR starts a position "off the left end" (0, or before -LENGTH) from 1
    and refuses a negative length ("Third argument in SUBSTR() cannot be negative");
    DuckDB counted the places before the first character ('abcdef' from 0 for 2 was 'a',
    'abc' from -4 for 3 'ab') and read a negative length backwards ('b')."""
    row = wh.query(
        "SELECT SUBSTR(s, 0, 2) AS zero, SUBSTR(s, -8, 3) AS before, SUBSTR(s, -2) AS tail, "
        "SUBSTR(s, 2, 3) AS mid, SUBSTR(s, 9) AS past, SUBSTR(s, 0) AS whole "
        "FROM UNNEST(['abcdef']) AS s"
    ).rows[0]
    assert row == {
        "zero": "ab", "before": "abc", "tail": "ef", "mid": "bcd", "past": "", "whole": "abcdef",
    }  # fmt: skip
    with pytest.raises(WarehouseError, match="Third argument in SUBSTR\\(\\) cannot be negative"):
        wh.query("SELECT SUBSTR(s, 3, n) AS x FROM UNNEST(['abcdef']) AS s, UNNEST([-1]) AS n")


def test_instr_searches_backwards_from_a_negative_position_and_counts_occurrences(
    wh: DuckDBWarehouse,
) -> None:
    """BigQuery's INSTR(value, subvalue, position, occurrence) (google/zetasql
    docs/string_functions.md, whose examples these are): a negative position searches
    backwards from the end, the occurrence-th match counts overlapping ones, 0 when there
    is none, NULL for a NULL argument; a position of 0 or an occurrence below 1 is an
    error. Locally INSTR('abcabc', 'c', -1) was -1 and the occurrence was ignored."""
    row = wh.query(
        "SELECT INSTR(s, 'an', 1, 1) AS first, INSTR(s, 'an', 1, 2) AS second, "
        "INSTR(s, 'an', 1, 3) AS third, INSTR(s, 'an', 3, 1) AS from3, "
        "INSTR(s, 'an', -1, 1) AS last, INSTR(s, 'an', -3, 1) AS back3, "
        "INSTR(s, 'an', -1, 2) AS back_second, INSTR(s, 'an', 9) AS past, "
        "INSTR(s, 'an', -9) AS before, INSTR('helloooo', 'oo', 1, 2) AS overlapping, "
        "INSTR('abcabc', 'c', -1) AS c_last, INSTR(CAST(NULL AS STRING), 'an', 1) AS null_value, "
        "INSTR('ab', '', 1, 3) AS empty3, INSTR('ab', '', 1, 4) AS empty4, "
        "INSTR('a', '', -1) AS empty_back1, INSTR('a', '', -2) AS empty_back2 "
        "FROM UNNEST(['banana']) AS s"
    ).rows[0]
    assert row == {
        "first": 2,
        "second": 4,
        "third": 0,
        "from3": 4,
        "last": 4,
        "back3": 4,
        "back_second": 2,
        "past": 0,
        "before": 0,
        "overlapping": 6,
        "c_last": 6,
        "null_value": None,
        "empty3": 3,
        "empty4": 0,
        "empty_back1": 2,
        "empty_back2": 1,
    }  # fmt: skip  (the empty subvalue's answers: zetasql string.cc's comments)
    with pytest.raises(WarehouseError, match="Position must be non-zero"):
        wh.query("SELECT INSTR(s, 'a', p) AS x FROM UNNEST(['abc']) AS s, UNNEST([0]) AS p")
    with pytest.raises(WarehouseError, match="Occurrence must be positive"):
        wh.query("SELECT INSTR(s, 'a', 0, o) AS x FROM UNNEST(['abc']) AS s, UNNEST([0]) AS o")


def test_countif_of_no_rows_and_date_from_unix_date_answer_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """COUNTIF "returns 0 if there are zero input rows" (BigQuery), DuckDB's COUNT_IF NULL:
    a check reading "0 failures" got None. DATE_FROM_UNIX_DATE returns a DATE, DuckDB's
    date + interval a TIMESTAMP."""
    row = wh.query(
        "SELECT COUNTIF(v > 0) AS none, DATE_FROM_UNIX_DATE(20000) AS d FROM UNNEST(@xs) AS v",
        {"xs": []},
    ).rows[0]
    assert row == {"none": 0, "d": dt.date(2024, 10, 4)}
    windowed = wh.query(
        "SELECT COUNTIF(v > 1) OVER (ORDER BY v) AS n FROM UNNEST([1, 2, 3]) AS v ORDER BY v"
    ).rows
    assert [r["n"] for r in windowed] == [0, 1, 2]


def test_monitoring_aggregates_countif_safe_divide_qualify_unnest(wh: DuckDBWarehouse) -> None:
    row = wh.query(
        """
        SELECT COUNT(*) AS n,
               COUNTIF(line_source = 'REAL') AS real_lines,
               SAFE_DIVIDE(COUNTIF(line_source = 'REAL'), COUNT(*)) AS coverage,
               SAFE_DIVIDE(1, 0) AS div0,
               COUNT(DISTINCT IF(recommendation = 'PASS', player_lookup, NULL)) AS passes,
               APPROX_QUANTILES(predicted_points, 2)[OFFSET(1)] AS median
        FROM `nba_predictions.player_prop_predictions`
        WHERE game_date = @d AND system_id IN UNNEST(@systems)
        """,
        {"d": dt.date(2026, 1, 12), "systems": ["v8", "v9"]},
    ).rows[0]
    assert row["n"] == 10 and row["real_lines"] == 8
    assert row["coverage"] == pytest.approx(0.8)
    assert row["div0"] is None
    assert row["passes"] == 4
    assert 13 <= row["median"] <= 15
    latest = wh.query(
        """
        SELECT player_lookup, system_id, created_at
        FROM `nba_predictions.player_prop_predictions`
        WHERE game_date = @d
        QUALIFY ROW_NUMBER() OVER (PARTITION BY player_lookup ORDER BY created_at DESC) = 1
        ORDER BY player_lookup
        """,
        {"d": dt.date(2026, 1, 12)},
    ).rows
    assert [r["player_lookup"] for r in latest] == [f"player{i}" for i in range(5)]
    assert latest[0]["created_at"] == dt.datetime(2026, 1, 12, 12, 5, tzinfo=UTC)
    names = wh.query("SELECT x FROM UNNEST(@xs) AS x ORDER BY x", {"xs": ["b", "a"]}).rows
    assert names == [{"x": "a"}, {"x": "b"}]
    none = wh.query(
        "SELECT COUNT(*) AS n FROM `nba_predictions.player_prop_predictions` "
        "WHERE game_date = @d AND system_id IN UNNEST(@systems)",
        {"d": dt.date(2026, 1, 12), "systems": []},
    ).rows
    assert none == [{"n": 0}]


def test_eastern_dates_and_formatting_keep_the_time_zone(wh: DuckDBWarehouse) -> None:
    row = wh.query(
        "SELECT DATE(@t, 'America/New_York') AS d, "
        "FORMAT_TIMESTAMP('%Y-%m-%d %H:%M', @t, 'America/New_York') AS f, "
        "EXTRACT(HOUR FROM @t AT TIME ZONE 'America/New_York') AS h",
        {"t": dt.datetime(2026, 1, 16, 3, 30, tzinfo=UTC)},  # 22:30 ET the day before
    ).rows[0]
    assert row == {"d": dt.date(2026, 1, 15), "f": "2026-01-15 22:30", "h": 22}


def test_numeric_cast_keeps_bigquery_scale(wh: DuckDBWarehouse) -> None:
    row = wh.query("SELECT CAST(@x AS NUMERIC) AS n", {"x": "1.123456789"}).rows[0]
    assert row["n"] == Decimal("1.123456789")


def test_current_timestamp_follows_the_pinned_clock(
    wh: DuckDBWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBAOPS_NOW", "2026-03-01T04:00:00Z")
    row = wh.query("SELECT CURRENT_TIMESTAMP() AS t, CURRENT_DATE('America/New_York') AS d").rows[0]
    assert row == {"t": dt.datetime(2026, 3, 1, 4, 0, tzinfo=UTC), "d": dt.date(2026, 2, 28)}


def test_the_pinned_clock_holds_inside_other_rewritten_functions(
    wh: DuckDBWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CURRENT_DATE() inside DATE_SUB (the playbooks' ``DATE_SUB(CURRENT_DATE(
    'America/New_York'), INTERVAL 14 DAY)``), EXTRACT(DAYOFWEEK ...) or TIMESTAMP_DIFF was
    left as DuckDB's own, real clock: the rewrite of the outer function skipped its
    operands, so a window's lower bound ignored NBAOPS_NOW while its upper bound followed
    it."""
    monkeypatch.setenv("NBAOPS_NOW", "2026-03-01T04:00:00Z")
    row = wh.query(
        "SELECT DATE_SUB(CURRENT_DATE('America/New_York'), INTERVAL 14 DAY) AS start, "
        "EXTRACT(DAYOFWEEK FROM CURRENT_DATE('America/New_York')) AS dow, "
        "TIMESTAMP_DIFF(CURRENT_TIMESTAMP(), TIMESTAMP '2026-02-28 00:00:00+00', HOUR) AS h"
    ).rows[0]
    assert row == {"start": dt.date(2026, 2, 14), "dow": 7, "h": 28}  # Feb 28: a Saturday


def test_project_qualifier_is_stripped_and_datasets_are_mapped(tmp_path: Path) -> None:
    w = DuckDBWarehouse(tmp_path / "w.duckdb", datasets={"nba_raw": "raw_dev"}, root=ROOT)
    w.create_tables()
    w.insert_rows(
        "nba_raw.games",
        [
            {
                "game_id": "X",
                "game_date": dt.date(2026, 1, 1),
                "season": "2025-26",
                "home_team": "LAL",
                "away_team": "GSW",
                "start_time": NOW,
                "status": "final",
            }
        ],
    )
    assert w.query(
        "SELECT game_id FROM `some-project.nba_raw.games` WHERE game_date = @d",
        {"d": dt.date(2026, 1, 1)},
    ).rows == [{"game_id": "X"}]
    # the data really lives in the mapped schema
    assert w.query(
        "SELECT COUNT(*) AS n FROM raw_dev.games WHERE game_date = @d", {"d": dt.date(2026, 1, 1)}
    ).rows == [{"n": 1}]


def test_unused_params_are_ignored_and_missing_ones_fail(wh: DuckDBWarehouse) -> None:
    assert wh.query("SELECT @a AS a", {"a": 1, "unused": "x"}).rows == [{"a": 1}]
    with pytest.raises(WarehouseError, match="@b is used but not given"):
        wh.query("SELECT @a + @b AS s", {"a": 1})


def test_a_parameter_bigquery_cannot_take_is_refused_locally_too_before_the_query_runs(
    wh: DuckDBWarehouse,
) -> None:
    """The BigQuery engine cannot send a dict (DuckDB's STRUCT), a list of lists or a list
    mixing types as a query parameter (bq_params.to_query_parameters); the local engine
    bound them, so SQL passed locally that fails in production (and a STRUCT's subscript
    failed with DuckDB's "No function matches ... length(STRUCT(...))"). Each is now the
    same one line on both profiles, even for a parameter the SQL does not use."""
    refused = {
        "ps": ([{"a": 1, "b": "x"}], "type dict has no BigQuery query parameter type"),
        "p": ({"a": 1}, "type dict has no BigQuery query parameter type"),
        "xss": ([[1, 2]], "type list has no BigQuery query parameter type"),
        "mixed": ([1, "a"], r"array mixes types \['INT64', 'STRING'\]"),
    }
    for name, (value, message) in refused.items():
        with pytest.raises(WarehouseError, match=f"^query parameter @{name}: {message}$"):
            wh.query("SELECT s[OFFSET(0)] AS a FROM UNNEST(@ps) AS s", {"ps": [1], name: value})
        with pytest.raises(WarehouseError, match=f"^query parameter @{name}: {message}$"):
            wh.estimate_bytes("SELECT 1 AS a", {name: value})


def test_an_array_in_a_result_is_never_null_and_never_holds_null_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """BigQuery returns a NULL ARRAY as an empty one and fails a query whose result holds an
    ARRAY with a NULL element, "Array cannot have a null element; error in writing field
    xs" (data-types#array_type); locally the first came back None and the second passed,
    so a check could PASS on what errors in production."""
    row = wh.query(
        "SELECT CAST(NULL AS ARRAY<INT64>) AS none, ARRAY_AGG(x IGNORE NULLS) AS agg, "
        "[1, 2] AS xs, [STRUCT(1 AS a)] AS structs "
        "FROM UNNEST([CAST(NULL AS INT64)]) AS x"
    ).rows[0]
    assert row == {"none": [], "agg": [], "xs": [1, 2], "structs": [{"a": 1}]}
    with pytest.raises(
        WarehouseError, match="^Array cannot have a null element; error in writing field xs$"
    ):
        wh.query("SELECT ARRAY_AGG(x) AS xs FROM UNNEST([1, NULL]) AS x")


def test_bad_sql_raises_warehouse_error_with_the_engine_text(wh: DuckDBWarehouse) -> None:
    with pytest.raises(WarehouseError, match="no_such_table"):
        wh.query("SELECT * FROM nba_raw.no_such_table WHERE game_date = @d", {"d": dt.date.today()})
    with pytest.raises(WarehouseError, match="parse"):
        wh.query("SELEC 1 FROM")


def test_duplicate_result_columns_are_refused_like_bigquery(wh: DuckDBWarehouse) -> None:
    with pytest.raises(WarehouseError, match="duplicate column names"):
        wh.query("SELECT 1 AS a, 2 AS a")


def test_a_large_insert_stores_exactly_what_small_ones_store(tmp_path: Path) -> None:
    """From REGISTER_AT values on, the columns go to DuckDB as NumPy arrays instead of list
    parameters (~15x faster: a sandbox build inserts ~1.5M values). Every type the schemas
    use, NULLs, REPEATED and RECORD values, wide NUMERICs, mixed and sparse columns and
    values to convert must land exactly as through the list parameters."""
    from nbaops.adapters import warehouse_duckdb

    fields = [
        {"name": "id", "type": "STRING", "mode": "REQUIRED"},
        {"name": "n", "type": "INT64"},
        {"name": "x", "type": "FLOAT64"},
        {"name": "ok", "type": "BOOL"},
        {"name": "amount", "type": "NUMERIC"},
        {"name": "tags", "type": "STRING", "mode": "REPEATED"},
        {"name": "payload", "type": "JSON"},
        ITEMS,
        {"name": "at", "type": "TIMESTAMP"},
        {"name": "local_at", "type": "DATETIME"},
        {"name": "day", "type": "DATE"},
    ]
    at = dt.datetime(2026, 1, 15, 20, 0, tzinfo=UTC)
    eastern = dt.timezone(dt.timedelta(hours=-5))
    kinds: list[dict[str, Any]] = [
        {
            "n": 2**62,
            "x": 1.5,
            "ok": True,
            "amount": Decimal("123456789012345678901.123456789"),
            "tags": ["x", "y"],
            "payload": {"verdicts": ["PASS"], "n": 2},
            "items": [{"k": "a", "v": 1}],
            "at": at,
            "local_at": dt.datetime(2026, 1, 15, 15, 0),
            "day": dt.date(2026, 1, 15),
        },
        {"n": None, "x": None, "ok": None, "amount": None, "tags": [], "payload": None},
        {"x": 2, "at": at.astimezone(eastern), "day": at, "items": []},  # int, -05:00, datetime
        {"x": 2.5, "at": "2026-01-15T20:00:00Z", "day": "2026-01-15", "ok": False},
        {"amount": 1.25, "payload": "[1, 2]", "at": dt.datetime(2026, 1, 15, 20, 0)},
    ]
    count = warehouse_duckdb.REGISTER_AT // len(fields) + len(kinds)
    rows = [{"id": f"r{i:05d}", **kinds[i % len(kinds)]} for i in range(count)]
    large = _one_table_project(tmp_path / "large", "nba_ops.things", fields, partition="at")
    small = _one_table_project(tmp_path / "small", "nba_ops.things", fields, partition="at")
    large.create_tables()
    small.create_tables()
    large.insert_rows("nba_ops.things", rows)  # one insert, over the size: NumPy arrays
    step = warehouse_duckdb.REGISTER_AT // len(fields) - 1
    for start in range(0, count, step):  # under the size: list parameters
        small.insert_rows("nba_ops.things", rows[start : start + step])
    read = "SELECT * FROM nba_ops.things ORDER BY id"
    got, want = large.query(read).rows, small.query(read).rows
    assert len(got) == count and got == want
    assert got[0]["amount"] == Decimal("123456789012345678901.123456789")
    assert got[0]["tags"] == ["x", "y"] and got[0]["items"] == [{"k": "a", "v": 1}]
    assert got[2]["at"] == at and got[2]["day"] == at.date() and got[2]["x"] == 2.0


def test_insert_is_all_or_nothing(tmp_path: Path) -> None:
    w = DuckDBWarehouse(tmp_path / "w.duckdb", root=ROOT)
    w.create_tables()
    good = HEARTBEAT
    # a missing required value in row 2: rejected before writing
    with pytest.raises(WarehouseError, match="row 1: required column 'run_id'"):
        w.insert_rows("nba_analytics.processor_heartbeats", [good, {**good, "run_id": None}])
    # an unknown column
    with pytest.raises(WarehouseError, match="no such column 'colour'"):
        w.insert_rows("nba_analytics.processor_heartbeats", [good, {**good, "colour": "red"}])
    # a value the engine cannot convert, discovered while writing: still nothing written,
    # whether the columns went as list parameters or (a large insert) as NumPy arrays
    with pytest.raises(WarehouseError, match="nothing written"):
        w.insert_rows(
            "nba_analytics.processor_heartbeats", [good, {**good, "rows_processed": "many"}]
        )
    with pytest.raises(WarehouseError, match="nothing written"):
        w.insert_rows(
            "nba_analytics.processor_heartbeats",
            [{**good, "run_id": f"r{i}"} for i in range(20_000)]
            + [{**good, "rows_processed": "many"}],
        )
    count = "SELECT COUNT(*) AS n FROM nba_analytics.processor_heartbeats WHERE heartbeat_at >= @t"
    assert w.query(count, {"t": NOW - dt.timedelta(days=1)}).rows == [{"n": 0}]
    w.insert_rows("nba_analytics.processor_heartbeats", [good, {**good, "run_id": "r2"}])
    assert w.query(count, {"t": NOW - dt.timedelta(days=1)}).rows == [{"n": 2}]
    with pytest.raises(WarehouseError, match="no such table"):
        w.insert_rows("nba_ops.nope", [good])


def test_a_row_may_name_a_required_column_in_any_case(tmp_path: Path) -> None:
    """BigQuery column names are case-insensitive, and the row check accepts a key in
    any case as its column; but a REQUIRED column's value was looked up under the
    table's spelling only, so a row naming it ``PROCESSOR_NAME`` was refused as "missing
    or NULL" with the value right there (rows spelling it both ways are read each way)."""
    w = DuckDBWarehouse(tmp_path / "w.duckdb", root=ROOT)
    w.create_tables()
    shouted = {key.upper(): value for key, value in HEARTBEAT.items()}
    w.insert_rows("nba_analytics.processor_heartbeats", [shouted, {**HEARTBEAT, "run_id": "r2"}])
    rows = w.query(
        "SELECT processor_name, run_id FROM nba_analytics.processor_heartbeats "
        "WHERE heartbeat_at >= @t ORDER BY run_id",
        {"t": NOW - dt.timedelta(days=1)},
    ).rows
    assert rows == [
        {"processor_name": "p1", "run_id": "r1"},
        {"processor_name": "p1", "run_id": "r2"},
    ]
    with pytest.raises(WarehouseError, match="row 1: required column 'run_id' is missing"):
        w.insert_rows("nba_analytics.processor_heartbeats", [shouted, {**shouted, "RUN_ID": None}])


def test_replace_contents_swaps_tables_atomically(tmp_path: Path) -> None:
    w = DuckDBWarehouse(tmp_path / "w.duckdb", root=ROOT)
    w.create_tables()
    w.insert_rows("nba_analytics.processor_heartbeats", [HEARTBEAT])
    with pytest.raises(WarehouseError):
        w.replace_contents(
            {
                "nba_analytics.processor_heartbeats": [{**HEARTBEAT, "run_id": "new"}],
                "nba_raw.games": [{"game_id": "only-an-id"}],
            }
        )
    q = "SELECT run_id FROM nba_analytics.processor_heartbeats WHERE heartbeat_at >= @t"
    assert w.query(q, {"t": NOW - dt.timedelta(hours=1)}).rows == [{"run_id": "r1"}]
    w.replace_contents({"nba_analytics.processor_heartbeats": [{**HEARTBEAT, "run_id": "new"}]})
    assert w.query(q, {"t": NOW - dt.timedelta(hours=1)}).rows == [{"run_id": "new"}]


def test_timeout_interrupts_the_query(wh: DuckDBWarehouse) -> None:
    started = time.perf_counter()
    with pytest.raises(WarehouseError, match=r"timed out after 0.3s"):
        wh.query("SELECT COUNT(*) AS n FROM range(100000000) a, range(100000) b", timeout_s=0.3)
    assert time.perf_counter() - started < 10
    # the connection is still usable afterwards
    assert wh.query("SELECT 1 AS one").rows == [{"one": 1}]


def test_a_query_returns_only_after_its_timeout_timer_has_ended(
    wh: DuckDBWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timer's callback holds the query's cursor: a timer thread still ending after the
    query returned freed the cursor in that thread, and when that raced the process's exit
    DuckDB's destructor aborted it (exit 134, "FATAL: exception not rethrown": about 1 run
    in 50 of `inv check-lines` under load, 2026-12-02). Here every timer thread is slow to
    end, as a loaded machine makes it."""
    started: list[threading.Timer] = []

    class SlowToEnd(threading.Timer):
        def run(self) -> None:
            started.append(self)
            super().run()
            time.sleep(0.1)

    monkeypatch.setattr(threading, "Timer", SlowToEnd)
    assert wh.query("SELECT 1 AS one", timeout_s=30).rows == [{"one": 1}]
    with pytest.raises(WarehouseError):
        wh.query("SELECT * FROM no_such_table", timeout_s=30)
    assert len(started) == 2
    assert not any(t.is_alive() for t in started)


def test_threads_share_the_warehouse_with_their_own_cursors(wh: DuckDBWarehouse) -> None:
    errors: list[BaseException] = []
    results: list[int] = []

    def work(i: int) -> None:
        try:
            for _ in range(5):
                r = wh.query(
                    "SELECT COUNT(*) AS n FROM `nba_raw.games` WHERE game_date >= @d",
                    {"d": dt.date(2026, 1, 11) + dt.timedelta(days=i % 7)},
                )
                results.append(r.rows[0]["n"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 60 and set(results) <= set(range(1, 8))


def test_two_warehouse_files_open_at_once_each_see_only_their_own_tables(tmp_path: Path) -> None:
    """Every file is attached to the process's one DuckDB instance: catalog lookups must
    name the file's own database, or a file without a dataset would find another file's."""
    full = DuckDBWarehouse(tmp_path / "full.duckdb", root=ROOT)
    full.create_tables()
    empty = DuckDBWarehouse(tmp_path / "empty.duckdb", root=ROOT)
    with full.session(), empty.session():
        assert full.dataset_location("nba_raw") == ""
        assert empty.dataset_location("nba_raw") is None
        assert [c["name"] for c in full.table_schema("nba_raw.games")][:2] == [
            "game_id",
            "game_date",
        ]
        with pytest.raises(WarehouseError, match="no such table"):
            empty.insert_rows("nba_raw.games", [{"game_id": "G1"}])
        with pytest.raises(WarehouseError, match="nba_raw"):
            empty.query("SELECT COUNT(*) AS n FROM `nba_raw.games`")
        assert full.query("SELECT COUNT(*) AS n FROM `nba_raw.games`").rows == [{"n": 0}]


def test_after_an_operation_another_process_opens_the_file_and_reads_what_it_wrote(
    tmp_path: Path,
) -> None:
    """Closing the file (DETACH) releases its lock and checkpoints what was written: a
    process started right after the insert opens the file itself and counts the row."""
    path = tmp_path / "w.duckdb"
    w = DuckDBWarehouse(path, root=ROOT)
    w.create_tables()
    w.insert_rows(
        "nba_raw.games",
        [
            {
                "game_id": "G1",
                "game_date": dt.date(2026, 1, 12),
                "season": "2025-26",
                "home_team": "BOS",
                "away_team": "NYK",
                "start_time": dt.datetime(2026, 1, 13, 0, 30, tzinfo=UTC),
                "status": "final",
            }
        ],
    )
    code = (
        "import sys, _duckdb\n"
        "con = _duckdb.connect(sys.argv[1])\n"
        "print(con.execute('SELECT COUNT(*) FROM nba_raw.games').fetchall()[0][0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "1"), done.stderr
    assert not path.with_name(path.name + ".wal").exists()


def test_duckdb_spills_beside_the_warehouse_file_not_into_the_working_directory(
    tmp_path: Path,
) -> None:
    """A connection of its own spilled to ``<file>.tmp``; the shared instance's default
    is ``.tmp`` in whatever folder the command ran from (perhaps not writable)."""
    w = DuckDBWarehouse(tmp_path / "w.duckdb", root=ROOT)
    with w._conn.cursor() as cur:
        (setting,) = cur.execute("SELECT current_setting('temp_directory')").fetchone()
    assert setting == f"{tmp_path / 'w.duckdb'}.tmp"


class _DetachFailsOnce:
    """The process's DuckDB instance, except that its next DETACH raises (a checkpoint
    that failed) and leaves the file attached."""

    def __init__(self, instance: Any) -> None:
        self.instance, self.failed = instance, False

    def cursor(self) -> Any:
        real, owner = self.instance.cursor(), self

        class Cursor:
            def execute(self, sql: str, *args: Any) -> Any:
                if sql.startswith("DETACH ") and not owner.failed:
                    owner.failed = True
                    raise RuntimeError("checkpoint failed")
                return real.execute(sql, *args)

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

        return Cursor()


def test_a_file_whose_detach_failed_opens_again_and_is_not_called_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attached twice, the file would read as damaged ("Unique file handle conflict"),
    and a reset in the same process would set a healthy file aside: the next open
    detaches the old alias first."""
    from nbaops.adapters import duckdb_files

    w = DuckDBWarehouse(tmp_path / "w.duckdb", root=ROOT)
    w.create_tables()
    flaky = _DetachFailsOnce(duckdb_files._instance())
    monkeypatch.setattr(duckdb_files, "_INSTANCE", [flaky])
    with pytest.raises(RuntimeError, match="checkpoint failed"):
        w.query("SELECT 1 AS x")
    assert flaky.failed
    assert w.query("SELECT COUNT(*) AS n FROM `nba_raw.games`").rows == [{"n": 0}]
    code = "import sys, _duckdb; _duckdb.connect(sys.argv[1]).close()"
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "w.duckdb")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr  # the lock was released in the end


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
    w = DuckDBWarehouse(Path(sys.argv[1]), root=Path(sys.argv[2]))
    with w.session():
        w.query("SELECT 1 AS x")
        print("holding", flush=True)
        time.sleep(float(sys.argv[3]))
    """
)


def _hold_in_other_process(path: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), str(ROOT), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_second_process_waits_for_the_lock_then_proceeds(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    DuckDBWarehouse(path, root=ROOT).create_tables()
    proc = _hold_in_other_process(path, 1.0)
    try:
        w = DuckDBWarehouse(path, root=ROOT, lock_timeout_s=20)
        started = time.perf_counter()
        assert w.query("SELECT 2 AS x").rows == [{"x": 2}]
        assert time.perf_counter() - started > 0.3  # it really had to wait
    finally:
        proc.wait(timeout=30)


def test_lock_wait_is_bounded_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    DuckDBWarehouse(path, root=ROOT).create_tables()
    proc = _hold_in_other_process(path, 5.0)
    try:
        w = DuckDBWarehouse(path, root=ROOT, lock_timeout_s=0.5)
        with pytest.raises(WarehouseError, match="locked by another process"):
            w.query("SELECT 1 AS x")
    finally:
        proc.kill()
        proc.wait(timeout=30)


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs a folder nobody may create in")
def test_a_warehouse_in_a_folder_nbaops_cannot_write_says_so_not_reset(tmp_path: Path) -> None:
    """A read-only NBAOPS_HOME (a read-only mount) was called a damaged warehouse, with
    "`inv sandbox.reset` rebuilds it": a reset cannot write there either. /sys refuses new
    files even to root, as a read-only mount does."""
    w = DuckDBWarehouse(Path("/sys/nbaops-warehouse.duckdb"), root=ROOT)
    with pytest.raises(DamagedStateError, match="NBAOPS_HOME must be a folder") as caught:
        w.query("SELECT 1 AS x")
    assert "sandbox.reset" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_estimate_bytes_is_unknown_locally_but_validates_sql(wh: DuckDBWarehouse) -> None:
    assert wh.estimate_bytes("SELECT 1 AS x") is None
    with pytest.raises(WarehouseError):
        wh.estimate_bytes("SELEC")


def test_execute_runs_bigquery_dml(tmp_path: Path) -> None:
    w = DuckDBWarehouse(tmp_path / "w.duckdb", root=ROOT)
    w.create_tables()
    w.execute(
        "INSERT INTO `nba_raw.games` (game_id, game_date, season, home_team, away_team, "
        "start_time, status) VALUES (@id, @d, '2025-26', 'BOS', 'MIA', @t, 'scheduled')",
        {"id": "Z", "d": dt.date(2026, 2, 1), "t": NOW},
    )
    w.execute(
        "UPDATE `nba_raw.games` SET status = 'final' WHERE game_date = @d AND game_id = @id",
        {"id": "Z", "d": dt.date(2026, 2, 1)},
    )
    assert w.query(
        "SELECT status FROM nba_raw.games WHERE game_date = @d", {"d": dt.date(2026, 2, 1)}
    ).rows == [{"status": "final"}]


def test_every_cursor_computes_in_utc_whatever_the_machines_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zone is set once for the database (``SET GLOBAL``), not per cursor: a query on
    any thread's cursor reads day boundaries in UTC even where DuckDB's default is not."""
    import _duckdb

    real_connect = _duckdb.connect

    def new_york_machine(*args: object, **kwargs: object) -> object:
        conn = real_connect(*args, **kwargs)  # type: ignore[arg-type]
        conn.execute("SET GLOBAL TimeZone = 'America/New_York'")
        return conn

    monkeypatch.setattr(_duckdb, "connect", new_york_machine)
    w = DuckDBWarehouse(tmp_path / "w.duckdb", root=ROOT)
    sql = "SELECT DATE(TIMESTAMP '2026-01-15 02:00:00+00') AS day"
    assert w.query(sql).rows == [{"day": dt.date(2026, 1, 15)}]  # New York: the 14th


def test_attributes_duckdb_cannot_hold_are_read_back_from_the_declared_fields() -> None:
    from nbaops.bqschema.model import Field
    from nbaops.table_catalog import with_unheld_attributes

    declared = [
        Field("code", "STRING", max_length=3, default="'x'", description="file text"),
        Field("blob", "BYTES", max_length=8),
        Field("n", "INT64", max_length=None, default="0"),
        Field("retyped", "STRING", max_length=5),  # live is INT64: not the same column
        Field("rec", "STRUCT", fields=[Field("a", "STRING", mode="REQUIRED", description="A"),
                                       Field("b", "INT64", mode="REPEATED")]),
    ]  # fmt: skip
    live = [
        {"name": "CODE", "type": "STRING", "mode": "NULLABLE", "description": "comment"},
        {"name": "blob", "type": "BYTES", "mode": "NULLABLE"},
        {"name": "n", "type": "INT64", "mode": "REQUIRED"},
        {"name": "retyped", "type": "INT64", "mode": "NULLABLE"},
        {"name": "rec", "type": "RECORD", "mode": "NULLABLE", "fields": [
            {"name": "a", "type": "STRING", "mode": "NULLABLE"},
            {"name": "b", "type": "INT64", "mode": "NULLABLE"},
        ]},
        {"name": "extra", "type": "STRING", "mode": "NULLABLE"},
    ]  # fmt: skip
    assert with_unheld_attributes(live, declared) == [
        # the top-level description is DuckDB's own column comment: kept as reflected
        {"name": "CODE", "type": "STRING", "mode": "NULLABLE", "description": "comment",
         "maxLength": "3", "defaultValueExpression": "'x'"},
        {"name": "blob", "type": "BYTES", "mode": "NULLABLE", "maxLength": "8"},
        {"name": "n", "type": "INT64", "mode": "REQUIRED", "defaultValueExpression": "0"},
        {"name": "retyped", "type": "INT64", "mode": "NULLABLE"},
        {"name": "rec", "type": "RECORD", "mode": "NULLABLE", "fields": [
            {"name": "a", "type": "STRING", "mode": "REQUIRED", "description": "A"},
            # REPEATED is a DuckDB list: a nested mode DuckDB holds is never overridden
            {"name": "b", "type": "INT64", "mode": "NULLABLE"},
        ]},
        {"name": "extra", "type": "STRING", "mode": "NULLABLE"},
    ]  # fmt: skip


def test_bignumeric_and_geography_read_back_as_declared_not_as_what_duckdb_holds(
    tmp_path: Path,
) -> None:
    """BIGNUMERIC is a DOUBLE locally (no 76-digit decimal in DuckDB), GEOGRAPHY WKT text:
    they read back as FLOAT64 and STRING, so the local live diff reported FIELD_SAME_TYPE
    and FIELD_COERCIBLE_TYPE (breaking) for a table built from its own file, and the
    sandbox migration planned a rebuild on every run."""

    fields = [
        {"name": "day", "type": "DATE"},
        {"name": "big", "type": "BIGNUMERIC"},
        {"name": "sized", "type": "BIGNUMERIC", "precision": "50", "scale": "20"},
        {"name": "ratio", "type": "FLOAT64"},
        {"name": "place", "type": "GEOGRAPHY"},  # WKT text locally: read back as STRING
        {"name": "spots", "type": "RECORD", "fields": [{"name": "at", "type": "GEOGRAPHY"}]},
        {"name": "label", "type": "STRING"},
    ]
    w = _one_table_project(tmp_path, "nba_ops.amounts", fields, partition="day")
    w.create_tables()
    live = _live_as_declared(w, "nba_ops.amounts", _declare(fields))
    assert [f.type for f in live.fields] == [
        *("DATE", "BIGNUMERIC", "BIGNUMERIC", "FLOAT64", "GEOGRAPHY", "STRUCT", "STRING")
    ]


def test_a_collation_and_rounding_mode_read_back_as_declared(tmp_path: Path) -> None:
    """DuckDB keeps neither: without the schema file's values a table built from its own
    file showed COLLATION_SAME and ROUNDING_MODE_SAME (breaking) in every local live diff."""

    fields = [
        {"name": "day", "type": "DATE"},
        {"name": "team", "type": "STRING", "collation": "und:ci"},
        {"name": "stake", "type": "NUMERIC", "roundingMode": "ROUND_HALF_EVEN"},
    ]
    w = _one_table_project(tmp_path, "nba_ops.stakes", fields, partition="day")
    w.create_tables()
    live = _live_as_declared(w, "nba_ops.stakes", _declare(fields))
    assert live.field_map()["team"].collation == "und:ci"

    # added by the DDL schema-apply runs (COLLATE 'und:ci' names no DuckDB collation)
    from nbaops.bqschema import ddl

    edit = tmp_path / "proj" / "schemas" / "nba_ops" / "stakes.json"
    added = [*fields, {"name": "alias", "type": "STRING", "maxLength": "8", "collation": "und:ci"}]
    declared = _declare(added, edit)
    w.apply_ddl(ddl.add_column("nba_ops.stakes", declared.fields[-1]))
    _live_as_declared(w, "nba_ops.stakes", declared)

    # SET DATA TYPE STRING(12) COLLATE 'und:ci' (a widened maxLength) runs too
    added[-1]["maxLength"] = "12"
    declared = _declare(added, edit)
    w.apply_ddl(ddl.set_data_type("nba_ops.stakes", declared.fields[-1]))
    _live_as_declared(w, "nba_ops.stakes", declared)


def test_schema_apply_ddl_adds_columns_duckdb_holds_otherwise_as_the_catalog_creates_them(
    tmp_path: Path,
) -> None:
    """The DDL schema-apply (and the sandbox migration) runs to add a column: GEOGRAPHY
    failed ("Type with name GEOGRAPHY does not exist"), BIGNUMERIC became DECIMAL(38, 5)
    where a created table has DOUBLE, and a RECORD's NOT NULL or described NUMERIC field
    DuckDB's bare DECIMAL(18, 3): the columns lost digits and never diffed clean."""
    from nbaops.bqschema import ddl

    base = [{"name": "day", "type": "DATE"}]
    added = [
        {"name": "place", "type": "GEOGRAPHY"},
        {"name": "big", "type": "BIGNUMERIC", "precision": "40", "scale": "2"},
        {"name": "shot", "type": "RECORD", "fields": [
            {"name": "x", "type": "NUMERIC", "mode": "REQUIRED", "description": "metres"},
        ]},
    ]  # fmt: skip
    w = _one_table_project(tmp_path, "nba_ops.spots", base, partition="day")
    w.create_tables()
    # the schema file gains the columns; schema-apply adds them to the existing table
    declared = _declare(base + added, tmp_path / "proj" / "schemas" / "nba_ops" / "spots.json")
    for field in declared.fields[1:]:
        w.apply_ddl(ddl.add_column("nba_ops.spots", field))
    w.execute("INSERT INTO `nba_ops.spots` (day, shot) VALUES (@d, STRUCT(1.123456789 AS x))",
              {"d": dt.date(2026, 1, 15)})  # fmt: skip
    assert w.query("SELECT shot.x AS x FROM `nba_ops.spots`").rows == [
        {"x": Decimal("1.123456789")}  # NUMERIC's 9 decimals, not DECIMAL(18, 3)'s 3
    ]
    # the columns are what the catalog creates; the file's own table diffs clean
    _live_as_declared(w, "nba_ops.spots", declared)


def test_schema_apply_adds_a_column_whose_default_is_a_typed_literal(tmp_path: Path) -> None:
    """The DDL writes a typed literal default as BigQuery takes it (DEFAULT DATE '...',
    not a CAST); the local warehouse runs the same statement and fills the default in."""
    from nbaops.bqschema import ddl
    from nbaops.bqschema.model import Field

    base = [{"name": "day", "type": "DATE"}]
    w = _one_table_project(tmp_path, "nba_ops.days", base, partition="day")
    w.create_tables()
    for field in (
        Field("since", "DATE", default="DATE '2024-06-01'"),
        Field("at", "TIMESTAMP", default="TIMESTAMP '2024-06-01 10:00:00+00'"),
        Field("stake", "NUMERIC", default="NUMERIC '1.25'"),
    ):
        w.apply_ddl(ddl.add_column("nba_ops.days", field))
    w.execute("INSERT INTO `nba_ops.days` (day) VALUES (@d)", {"d": dt.date(2026, 1, 15)})
    assert w.query("SELECT since, at, stake FROM `nba_ops.days`").rows == [
        {
            "since": dt.date(2024, 6, 1),
            "at": dt.datetime(2024, 6, 1, 10, 0, tzinfo=UTC),
            "stake": Decimal("1.25"),
        }
    ]


def test_a_backslash_in_a_like_pattern_escapes_the_next_character_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """BigQuery's LIKE: "You can escape \\, _, or % using two backslashes ... If you are
    using raw strings, only a single backslash is required. For example, r'\\%'"
    (cloud.google.com/bigquery/docs/reference/standard-sql/operators#like_operator), and a
    pattern ending with one is an error (google/zetasql zetasql/public/functions/like.cc,
    "LIKE pattern ends with a backslash"). DuckDB's LIKE has no escape character unless
    ESCAPE names one: r'a\\_b' matched only 'a\\xb'-like text, never 'a_b'."""
    row = wh.query(
        r"SELECT 'a_b' LIKE r'a\_b' AS underscore, 'axb' LIKE r'a\_b' AS not_any, "
        r"'50%' LIKE r'50\%' AS percent, '500' LIKE r'50\%' AS not_many, "
        r"r'a\b' LIKE r'a\\b' AS backslash, 'ab' LIKE r'a\b' AS other, "
        r"'a_b' NOT LIKE r'a\_b' AS negated, "
        r"'x_1' LIKE ANY (r'x\_%', 'y%') AS any_of, 'xy1' LIKE ANY (r'x\_%', 'y%') AS none_of"
    ).rows[0]
    assert row == {
        "underscore": True,
        "not_any": False,
        "percent": True,
        "not_many": False,
        "backslash": True,
        "other": True,
        "negated": False,
        "any_of": True,
        "none_of": False,
    }
    with pytest.raises(WarehouseError):
        wh.query(r"SELECT 'a' LIKE r'a\' AS dangling")


def test_unix_seconds_and_millis_round_down_to_the_unit_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """BigQuery's UNIX_SECONDS and UNIX_MILLIS "Truncates higher levels of precision by
    rounding down to the beginning of the second" (of the millisecond): UNIX_SECONDS of
    1970-01-01 00:00:01.8 is 1, UNIX_MILLIS of 00:00:00.0018 is 1 (the examples of
    cloud.google.com/bigquery/docs/reference/standard-sql/timestamp_functions#unix_seconds
    and #unix_millis), and half a second before the epoch is -1. Locally they rounded to
    the nearest (2, 2 and 0): DuckDB's CAST(EPOCH(ts) AS BIGINT) and EPOCH_MS."""
    row = wh.query(
        "SELECT UNIX_SECONDS(TIMESTAMP '1970-01-01 00:00:01.8+00') AS s, "
        "UNIX_MILLIS(TIMESTAMP '1970-01-01 00:00:00.0018+00') AS ms, "
        "UNIX_SECONDS(TIMESTAMP '1969-12-31 23:59:59.5+00') AS before_s, "
        "UNIX_MILLIS(TIMESTAMP '1969-12-31 23:59:59.9995+00') AS before_ms, "
        "UNIX_SECONDS(TIMESTAMP '2008-12-25 15:30:00+00') AS whole, "
        "UNIX_SECONDS(CAST(NULL AS TIMESTAMP)) AS none"
    ).rows[0]
    assert row == {
        "s": 1,
        "ms": 1,
        "before_s": -1,
        "before_ms": -1,
        "whole": 1230219000,
        "none": None,
    }


def test_timestamp_millis_and_micros_are_timestamps_as_in_bigquery(wh: DuckDBWarehouse) -> None:
    """BigQuery's TIMESTAMP_MILLIS and TIMESTAMP_MICROS return a TIMESTAMP
    (cloud.google.com/bigquery/docs/reference/standard-sql/timestamp_functions
    #timestamp_millis): an aware UTC datetime in a result, '+00' in its text, like
    TIMESTAMP_SECONDS. Locally they were DuckDB's zone-less TIMESTAMP (EPOCH_MS,
    MAKE_TIMESTAMP): BigQuery's DATETIME, a naive datetime, text without '+00'."""
    row = wh.query(
        "SELECT TIMESTAMP_MILLIS(1230219000000) AS ms, TIMESTAMP_MICROS(1230219000000001) AS us, "
        "TIMESTAMP_SECONDS(1230219000) AS s, "
        "CAST(TIMESTAMP_MILLIS(1230219000100) AS STRING) AS ms_text, "
        "TIMESTAMP_MILLIS(CAST(NULL AS INT64)) AS none"
    ).rows[0]
    utc = dt.UTC
    assert row == {
        "ms": dt.datetime(2008, 12, 25, 15, 30, tzinfo=utc),
        "us": dt.datetime(2008, 12, 25, 15, 30, 0, 1, tzinfo=utc),
        "s": dt.datetime(2008, 12, 25, 15, 30, tzinfo=utc),
        "ms_text": "2008-12-25 15:30:00.100+00",
        "none": None,
    }


def test_a_fractional_number_for_an_int64_column_is_refused_as_bigquery_refuses_it(
    tmp_path: Path,
) -> None:
    """BigQuery's insertAll refuses a number with a fraction for an INT64 column ("invalid:
    Cannot convert value to integer (bad value): 5.69", the row error insert_rows_json
    returns; the BigQuery engine raises it, nothing written). Locally DuckDB's cast
    rounded it (1.5 stored as 2): a row corrupted where production refuses it. Whole
    numbers (2.0) and digit strings ('12') are still taken."""
    fields = [
        {"name": "id", "type": "STRING", "mode": "REQUIRED"},
        {"name": "n", "type": "INT64"},
        {"name": "day", "type": "DATE"},
    ]
    w = _one_table_project(tmp_path, "nba_ops.ints", fields, partition="day")
    w.create_tables()
    with pytest.raises(WarehouseError, match=r"row 1: column 'n': .*bad value\): 1\.5"):
        w.insert_rows("nba_ops.ints", [{"id": "a", "n": 1}, {"id": "b", "n": 1.5}])
    with pytest.raises(WarehouseError, match=r"bad value\): nan"):
        w.insert_rows("nba_ops.ints", [{"id": "c", "n": float("nan")}])
    assert w.query("SELECT COUNT(*) AS c FROM nba_ops.ints").rows == [{"c": 0}]
    w.insert_rows("nba_ops.ints", [{"id": "d", "n": 2.0}, {"id": "e", "n": "12"}])
    rows = w.query("SELECT id, n FROM nba_ops.ints ORDER BY id").rows
    assert rows == [{"id": "d", "n": 2}, {"id": "e", "n": 12}]


def test_a_date_or_timestamp_text_that_does_not_parse_is_a_warehouse_error(
    tmp_path: Path,
) -> None:
    """insert_rows raises WarehouseError for a row it cannot write, as the BigQuery engine
    does for insertAll's row errors (its callers catch that type). A DATE or TIMESTAMP
    given as text that is no date escaped as the bare ValueError of its conversion
    ("Invalid isoformat string: 'x'"), with no table or column named."""
    fields = [
        {"name": "id", "type": "STRING", "mode": "REQUIRED"},
        {"name": "at", "type": "TIMESTAMP"},
        {"name": "day", "type": "DATE"},
    ]
    w = _one_table_project(tmp_path, "nba_ops.texts", fields, partition="day")
    w.create_tables()
    with pytest.raises(WarehouseError, match=r"nba_ops\.texts.*column 'day'.*not a date"):
        w.insert_rows("nba_ops.texts", [{"id": "a", "day": "not a date"}])
    with pytest.raises(WarehouseError, match=r"column 'at'.*nonsense"):
        w.insert_rows("nba_ops.texts", [{"id": "b", "at": "nonsense"}])
    with pytest.raises(WarehouseError, match=r"column 'day'"):
        w.replace_contents({"nba_ops.texts": [{"id": "c", "day": "2026-13-45"}]})
    assert w.query("SELECT COUNT(*) AS c FROM nba_ops.texts").rows == [{"c": 0}]


def test_a_safe_prefixed_function_answers_null_instead_of_an_error_as_in_bigquery(
    wh: DuckDBWarehouse,
) -> None:
    """BigQuery's ``SAFE.`` prefix: "If you begin a function with the SAFE. prefix, it will
    return NULL instead of an error" (cloud.google.com/bigquery/docs/reference/
    standard-sql/functions-reference#safe_prefix). SQLGlot wrote the prefix into DuckDB's
    SQL as it was ("SAFE.CAST(STRPTIME(...) AS DATE)", "SAFE.5 // 0"), which DuckDB could
    not parse or bind: every query using it failed locally."""
    row = wh.query(
        "SELECT SAFE.PARSE_DATE('%Y%m%d', 'nope') AS bad_date, "
        "SAFE.PARSE_DATE('%Y%m%d', '20240131') AS good_date, "
        "SAFE.SUBSTR('abc', 1, -1) AS bad_length, SAFE.SUBSTR('abc', 2, 1) AS good_substr, "
        "SAFE.DIV(5, 0) AS div_zero, SAFE.DIV(7, 2) AS div"
    ).rows[0]
    assert row == {
        "bad_date": None,
        "good_date": dt.date(2024, 1, 31),
        "bad_length": None,
        "good_substr": "b",
        "div_zero": None,
        "div": 3,
    }
