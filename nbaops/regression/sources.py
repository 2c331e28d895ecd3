"""Where graded predictions come from: the profile's warehouse, a file, or the golden set.

Every source ends as one DuckDB table (:data:`TABLE`) with the columns of
:data:`nbaops.regression.metrics.REQUIRED_COLUMNS` (+ optional ones), which the metrics
read. The warehouse query joins ``prediction_accuracy`` (grading) with
``player_prop_predictions`` (line source, confidence, created_at), ``nba_raw.games``
(tip-off) and ``player_game_summary`` (home/away, minutes); every table is filtered on its
``game_date`` partition, so the query's cost tracks the window, not the history.
"""

from __future__ import annotations

# SQL text here interpolates only table names chosen by this module or validated as
# identifiers, and bucket edges validated as numbers; values are bound parameters ($name).
# Hence the "noqa: S608" markers.
import csv
import datetime as dt
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops.clock import as_utc
from nbaops.errors import UsageError
from nbaops.fsutil import input_file
from nbaops.regression.metrics import OPTIONAL_COLUMNS, REQUIRED_COLUMN_TYPES, REQUIRED_COLUMNS
from nbaops.regression.scan import ident as _ident  # the name tests/static/test_security knows

if TYPE_CHECKING:
    import duckdb

    from nbaops.adapters.warehouse import Warehouse

TABLE = "graded"

WAREHOUSE_SQL = """
SELECT a.prediction_id, a.game_id, a.game_date, a.player_lookup, a.system_id,
       a.predicted_points, a.line_value, a.recommendation, a.actual_points,
       p.batch_id, p.line_source, p.confidence, p.created_at,
       g.start_time AS game_start, s.is_home, s.minutes
FROM `nba_predictions.prediction_accuracy` AS a
LEFT JOIN (
  SELECT prediction_id, batch_id, line_source, confidence, created_at
  FROM `nba_predictions.player_prop_predictions`
  WHERE game_date BETWEEN @since AND @until
) AS p ON p.prediction_id = a.prediction_id
LEFT JOIN (
  SELECT game_id, start_time FROM `nba_raw.games`
  WHERE game_date BETWEEN @since AND @until
) AS g ON g.game_id = a.game_id
LEFT JOIN (
  SELECT game_id, player_lookup, ANY_VALUE(is_home) AS is_home, ANY_VALUE(minutes) AS minutes
  FROM `nba_analytics.player_game_summary`
  WHERE game_date BETWEEN @since AND @until
  GROUP BY game_id, player_lookup
) AS s ON s.game_id = a.game_id AND s.player_lookup = a.player_lookup
WHERE a.game_date BETWEEN @since AND @until
""".strip()

_COLUMN_TYPES: dict[str, str] = {**REQUIRED_COLUMN_TYPES, **OPTIONAL_COLUMNS}


@dataclass(frozen=True)
class Loaded:
    """A source loaded into DuckDB: what it was, the SQL or path behind it, its size."""

    label: str
    query: str
    rows: int
    bytes_processed: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def load_file(con: duckdb.DuckDBPyConnection, path: Path, table: str = TABLE) -> Loaded:
    """Load graded predictions from a CSV or Parquet file.

    A Parquet file becomes a view (the metrics scan it directly: no copy); a CSV file is
    parsed once into a table. Every value of a typed column must parse as its type.

    Raises:
        UsageError: missing file, unknown format, unreadable (the decoder's reason is kept),
            lacking required columns, or a value that is not of its column's type (naming
            column, value and row).
    """
    from nbaops.adapters.duckdb_engine import engine

    path = input_file("--from", path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        # A view cannot hold a prepared parameter: the path is a quoted literal.
        literal = "'" + str(path).replace("'", "''") + "'"
        statement = f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({literal})"  # noqa: S608
    elif suffix in (".csv", ".gz", ".tsv"):
        statement = (
            f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv($path, header = true)"  # noqa: S608
        )
    else:
        raise UsageError(f"--from: {path.name}: expected a .csv or .parquet file")
    try:
        drop_relation(con, table)
        con.execute(statement, {"path": str(path)} if "$path" in statement else None)
        check_types(con, table, f"--from {path.name}")
        counted = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        rows = int(counted[0]) if counted else 0
    except engine().Error as exc:
        raise UsageError(f"--from: cannot read {path}: {duckdb_reason(exc)}") from None
    return Loaded(label=f"file {path}", query=f"read {path}", rows=rows)


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the view or table ``name`` if there is one.

    ``DROP VIEW IF EXISTS`` drops a view, passes over nothing, and refuses a table
    ("Existing object ... is of type Table"): the one case dropped as a table. (Asking the
    catalog which it is, ``information_schema`` or ``duckdb_tables()``, costs ~10 ms on a
    connection's first such query: a tenth of ``inv regression``'s own work on small
    inputs.)
    """
    from nbaops.adapters.duckdb_engine import engine

    try:
        con.execute(f"DROP VIEW IF EXISTS {_ident(name)}")
    except engine().CatalogException:
        con.execute(f"DROP TABLE {_ident(name)}")


def duckdb_reason(exc: BaseException) -> str:
    """The first line of a DuckDB error plus its reason line (e.g. 'not utf-8 encoded'),
    without the echoed input line, the suggestions and the reader options."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    skip = ("Original Line", "Possible Solution", "LINE ", "^")
    reason = next(
        (
            line
            for line in lines[1:]
            if not line.startswith(skip) and not re.match(r"^[\w ]+ = ", line)
        ),
        None,
    )
    return f"{lines[0]}: {reason}" if reason else lines[0]


# The SQL type every known non-text column must parse as (numbers, dates, times, booleans).
_TYPED = {c: t for c, t in _COLUMN_TYPES.items() if t != "VARCHAR"}


def check_types(con: duckdb.DuckDBPyConnection, table: str, what: str) -> None:
    """The required columns are there, and every value of a typed column parses as its
    type (only text columns are scanned).

    Raises:
        UsageError: naming the missing columns, or the column, first bad value and its row
            (1 = first data row).
    """
    rows = con.execute(f"DESCRIBE {table}").fetchall()
    described = {str(r[0]).lower(): str(r[1]).upper() for r in rows}
    missing = [c for c in REQUIRED_COLUMNS if c not in described]
    if missing:
        raise UsageError(
            f"{what}: missing column(s) {', '.join(missing)}; required: "
            + ", ".join(REQUIRED_COLUMNS)
        )
    for column, sql_type in _TYPED.items():
        have = described.get(column)
        if have is None or _SAME_TYPE.get(have, have) == sql_type:
            continue  # typed as it must be by the reader: nothing can be malformed
        kind = {"DOUBLE": "a number", "DATE": "a date", "BOOLEAN": "true/false"}.get(
            sql_type, "a timestamp"
        )
        if not have.startswith(("VARCHAR", "BLOB")):
            _check_cast(con, table, what, column, have, sql_type, kind)
            continue
        row = con.execute(
            f"""SELECT n, v FROM (
              SELECT row_number() OVER () AS n, CAST({column} AS VARCHAR) AS v FROM {table})
            WHERE v IS NOT NULL AND trim(v) <> '' AND TRY_CAST(v AS {sql_type}) IS NULL
            ORDER BY n LIMIT 1"""  # noqa: S608
        ).fetchone()
        if row is not None:
            raise UsageError(
                f"{what}: column {column}: value {row[1]!r} in row {row[0]} is not {kind}"
            )


# DuckDB's DESCRIBE spelling of a type the metrics name otherwise.
_SAME_TYPE = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ"}


def _check_cast(
    con: duckdb.DuckDBPyConnection,
    table: str,
    what: str,
    column: str,
    have: str,
    sql_type: str,
    kind: str,
) -> None:
    """A column the reader typed otherwise (dates as integers 20261018, epoch seconds, a
    struct) must cast to its type, every value: else it is bad input (exit 2), not an
    engine error in the middle of the metrics (an internal error, exit 3)."""
    from nbaops.adapters.duckdb_engine import engine

    try:
        con.execute(f"SELECT count(CAST({column} AS {sql_type})) FROM {table}").fetchone()  # noqa: S608
    except engine().Error as exc:
        raise UsageError(
            f"{what}: column {column} is {have}, which is not {kind} ({duckdb_reason(exc)})"
        ) from None


def load_warehouse(
    con: duckdb.DuckDBPyConnection,
    warehouse: Warehouse,
    since: dt.date,
    until: dt.date,
    table: str = TABLE,
) -> Loaded:
    """Query the profile's warehouse for graded predictions of [since, until] (game dates).

    Raises:
        WarehouseError: the query failed.
    """
    result = warehouse.query(WAREHOUSE_SQL, {"since": since, "until": until})
    _rows_to_table(con, result.rows, table)
    return Loaded(
        label=f"warehouse ({warehouse.kind}) {since}..{until}",
        query=result.sql,
        rows=len(result.rows),
        bytes_processed=result.bytes_processed,
        since=since,
        until=until,
    )


def _rows_to_table(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], table: str) -> None:
    """Bulk-load query rows through a temporary CSV (fast; typed by the column list)."""
    columns = list(_COLUMN_TYPES)
    types = ", ".join(f"'{c}': '{t}'" for c, t in _COLUMN_TYPES.items())
    with tempfile.TemporaryDirectory(prefix="nbaops-regression-") as tmp:
        path = Path(tmp) / "graded.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_csv_value(row.get(c)) for c in columns])
        con.execute(
            f"""CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv($path,
            header = true, columns = {{{types}}}, nullstr = '')""",  # noqa: S608
            {"path": str(path)},
        )


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return as_utc(value).isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
