"""``inv sandbox.sql``: run BigQuery SQL (a runbook's query) on the sandbox warehouse.

The SQL goes through the same path as the checks: the warehouse adapter of the local
profile transpiles BigQuery Standard SQL to the embedded engine (``nbaops.adapters
.sql_dialect``), with named ``@parameters`` bound from ``--param name=value``. It is
planned first (like a BigQuery dry run), so a syntax error, an unknown table or a
missing parameter is bad input (exit 2) and nothing runs. A ``--param`` value the query
cannot convert to the type it uses it as (``d=notadate`` beside a DATE column) is bad input
too (exit 2): BigQuery coerces a STRING parameter to DATE, DATETIME, TIME or TIMESTAMP and
"if the parameter value can't be coerced successfully to the target type, an error is
provided" (cloud.google.com/bigquery/docs/reference/standard-sql/conversion_rules,
query parameter coercion); DuckDB converts it only while the read-only query runs. Only
queries (``SELECT`` / ``WITH``) are accepted: the sandbox's data is rebuilt from its seed,
not edited by hand.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from nbaops.errors import ParameterValueError, UsageError, first_line
from nbaops.report import nonfinite_name
from nbaops.verdict import Verdict

if TYPE_CHECKING:
    from rich.console import Console

    from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
    from nbaops.context import Context

# BigQuery's comments: "--" and "#" to the end of the line, "/* ... */" (lexical structure,
# single-line comments: a runbook block may open with "#standardSQL" or a "# ..." note)
_COMMENT = re.compile(r"(?:--|#)[^\n]*|/\*.*?\*/", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


MAX_ROWS = 1000  # rows a query prints at most (one page of a terminal's scrollback)


def parse_params(pairs: Iterable[str]) -> dict[str, Any]:
    """``name=value`` pairs as query parameters: dates, integers, numbers, else text; a
    JSON array (``sources=["REAL","VEGAS"]``) is an ARRAY of one such type."""
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not _NAME.match(name):
            raise UsageError(f"--param {pair!r}: expected NAME=VALUE, e.g. game_date=2026-01-14")
        if name in params:  # the last one silently won
            raise UsageError(f"--param {name}: given twice")
        value = _array(name, text) if text.lstrip().startswith("[") else typed(text)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int) and not -(2**63) <= item < 2**63:
                raise UsageError(f"--param {name}: {str(item)[:40]} is outside INT64")
            if isinstance(item, float) and not math.isfinite(item):  # 1e400, JSON's NaN
                raise UsageError(f"--param {name}: {item} is not a finite FLOAT64")
        params[name] = value
    return params


def _array(name: str, text: str) -> list[Any]:
    """An ARRAY parameter from a JSON array of strings or numbers (one type; strings are
    typed like a plain value, so ``["2026-01-14"]`` is an ARRAY<DATE>)."""
    import json

    try:
        items = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--param {name}: not a JSON array ({first_line(exc)[:80]})") from None
    if not isinstance(items, list) or not all(
        isinstance(i, str | int | float) and not isinstance(i, bool) for i in items
    ):
        raise UsageError(f'--param {name}: an array holds strings or numbers, e.g. ["a", "b"]')
    values = [typed(i) if isinstance(i, str) else i for i in items]
    if len({type(v) for v in values}) > 1:
        kinds = ", ".join(sorted({type(v).__name__ for v in values}))
        raise UsageError(f"--param {name}: an array holds one type, got {kinds}")
    return values


def typed(text: str) -> Any:
    """The value a BigQuery parameter of the natural type would carry: a number written
    in ASCII digits, a date or a timestamp, else text (``nan``, ``inf`` or ``1_000`` are
    words to a query, not the numbers Python's ``float``/``int`` read them as)."""
    if _INT.fullmatch(text.strip()):
        return int(text)
    if _FLOAT.fullmatch(text.strip()):
        return float(text)
    for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
        with contextlib.suppress(ValueError):
            return parse(text)
    return text


def cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):  # as BigQuery prints NUMERIC: 1.25, not 1.250000000
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, float):  # BigQuery's NaN, Infinity
        return nonfinite_name(value) or str(value)
    return str(value)


@dataclass
class SqlReport:
    """The rows of one query (exit 0 when it ran).

    Its own class, not a :class:`~nbaops.report.CheckReport`: the shape is a result set
    (columns and rows, tab-separated off a terminal), not checks with verdicts.
    """

    sql: str
    columns: list[str]
    rows: list[dict[str, Any]]
    duration_s: float
    params: dict[str, Any] = field(default_factory=dict)
    truncated: bool = False  # more than MAX_ROWS rows: the first MAX_ROWS are shown

    @property
    def verdict(self) -> Verdict:
        return Verdict.PASS

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "sql": self.sql,
            # as the scalars are written; an ARRAY's values a list of them (not its repr)
            "params": {
                k: [cell(i) for i in v] if isinstance(v, list) else cell(v)
                for k, v in self.params.items()
            },
            "columns": self.columns,
            "rows": [{k: _jsonable(v) for k, v in r.items()} for r in self.rows],
            "row_count": len(self.rows),
            "truncated": self.truncated,
            "duration_s": round(self.duration_s, 3),
        }

    def render(self, console: Console) -> None:
        from rich.table import Table
        from rich.text import Text

        from nbaops.report import is_table_console

        if is_table_console(console):
            table = Table(show_lines=False)
            # names and values are Text, never markup ("[/x]" in the data crashed Rich)
            for column in self.columns:
                table.add_column(Text(column), overflow="fold")
            for row in self.rows:
                table.add_row(*(Text(cell(row.get(c))) for c in self.columns))
            console.print(table)
        else:  # logs and pipes: tab-separated, one row a line, written to the console's file
            # (printing would expand the tabs), so past the runner's capture: redacted and
            # its control characters escaped here
            from nbaops.redact import printable, redact

            lines = ["\t".join(map(_field, self.columns))]
            lines += [
                "\t".join(_field(cell(row.get(c))) for c in self.columns) for row in self.rows
            ]
            console.file.write(printable(redact("".join(line + "\n" for line in lines))))
        more = (
            f" (the first {MAX_ROWS}: there are more; aggregate or add LIMIT)"
            if self.truncated
            else ""
        )
        console.print(f"{len(self.rows)} row(s){more} in {self.duration_s:.2f}s", highlight=False)


# the two control characters printable() keeps (the layout of the output); a carriage
# return, like every other one, it writes itself (\x0d)
_SEPARATORS = {"\t": "\\t", "\n": "\\n"}
_SEPARATOR = re.compile("[\t\n]")


def _field(text: str) -> str:
    """A name or value as one tab-separated field: its own tab or line break written
    escaped (``\\t``, ``\\n``), as :func:`nbaops.redact.printable` writes every other
    control character, so a row stays one line and its cells stay in their columns."""
    return _SEPARATOR.sub(lambda m: _SEPARATORS[m.group()], text)


def _jsonable(value: Any) -> Any:
    """A result value as BigQuery's REST API writes it: ARRAY a list, STRUCT and JSON an
    object, BYTES base64, NUMERIC and BIGNUMERIC text (exact), dates and times ISO 8601
    (a NaN or infinite FLOAT64 becomes its name in :func:`nbaops.cli.runner.emit_json`)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray | memoryview):
        import base64

        return base64.b64encode(bytes(value)).decode("ascii")
    return cell(value)


def run_sql(ctx: Context, sql: str, params: dict[str, Any] | None = None) -> SqlReport:
    """Plan, then run one query on the sandbox warehouse.

    Raises:
        UsageError: empty SQL, not a query, more than one statement, the query cannot
            be planned, or a ``--param`` value does not convert to the type the query
            uses it as (``d=notadate`` beside a DATE column; DuckDB converts a bound value
            only while running, where BigQuery's parameter coercion refuses it) (exit 2).
        WarehouseError: the query failed while running (exit 3).
    """
    from nbaops.sandbox.lifecycle import settings_for

    settings_for(ctx)  # the local profile only (UsageError otherwise)
    text = sql.strip().rstrip(";").strip()
    # the first keyword, inside any opening parentheses ("(SELECT ...) UNION ALL (...)")
    first = _COMMENT.sub(" ", text).lstrip(" \t\n(").split(None, 1)
    if not first:
        raise UsageError("sandbox.sql: no SQL given")
    keyword = first[0].split("(", 1)[0].upper()
    if keyword not in ("SELECT", "WITH"):
        raise UsageError(f"sandbox.sql: only queries (SELECT or WITH) run here, not {keyword}")
    from nbaops.adapters.sql_dialect import changing_statement, statement_count

    try:
        count = statement_count(text)
        changing = changing_statement(text)  # the first keyword alone let WITH ... DELETE by
    except Exception as exc:  # does not parse: the same exit 2 as a failed dry run
        raise UsageError(f"sandbox.sql: {first_line(exc)}") from exc
    if count != 1:
        raise UsageError(f"sandbox.sql: one query at a time, got {count} statements")
    if changing is not None:
        raise UsageError(f"sandbox.sql: only queries (SELECT or WITH) run here, not {changing}")
    values = dict(params or {})
    warehouse = ctx.warehouse
    try:
        warehouse.estimate_bytes(text, values)  # a dry run: nothing has run yet
    except Exception as exc:
        raise UsageError(f"sandbox.sql: {first_line(exc)}") from exc
    from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse

    assert isinstance(warehouse, DuckDBWarehouse)  # the local profile only (settings_for)
    started = time.perf_counter()
    # one row past the cap says there are more (3M generated rows took 1.2 GB and 24 s as
    # Python rows); the query runs as written (a wrapper renamed duplicate columns)
    try:
        rows = warehouse.query(text, values, max_rows=MAX_ROWS + 1).rows
    except ParameterValueError as exc:  # read-only: the failed query changed nothing
        raise UsageError(f"sandbox.sql: {exc}") from None
    took = time.perf_counter() - started
    columns = list(rows[0]) if rows else _columns_of_no_rows(warehouse, text, values)
    return SqlReport(text, columns, rows[:MAX_ROWS], took, values, len(rows) > MAX_ROWS)


def _columns_of_no_rows(warehouse: DuckDBWarehouse, text: str, values: dict[str, Any]) -> list[str]:
    """The column names of a query that returned no rows. The warehouse gives rows as
    dicts, so it is asked for one row of NULLs under those names: a LEFT JOIN from a
    one-row table keeps its row when the query has none (the query on its own lines, so a
    trailing ``--`` comment ends before the closing parenthesis)."""
    # the query just planned and run as written, its values still bound as parameters
    wrapped = f"SELECT q.* FROM (SELECT 1) AS one LEFT JOIN (\n{text}\n) AS q ON TRUE"  # noqa: S608
    rows = warehouse.query(wrapped, values, max_rows=1).rows
    return list(rows[0]) if rows else []
