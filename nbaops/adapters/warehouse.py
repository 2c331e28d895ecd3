"""The warehouse: BigQuery Standard SQL with named parameters, on BigQuery or DuckDB.

This module is the contract (:class:`Warehouse`, :class:`QueryResult`, the row checks);
two engines follow it, picked per profile by :func:`nbaops.context.open_warehouse`:
:class:`~nbaops.adapters.warehouse_bigquery.BigQueryWarehouse` (prod profiles) and
:class:`~nbaops.adapters.warehouse_duckdb.DuckDBWarehouse` (the local profile: one DuckDB
file, the same SQL transpiled by SQLGlot).

SQL convention: tables written as logical ``dataset.table`` (the adapter maps datasets
per profile and qualifies the project), values only as ``@name`` parameters (python
``date`` → DATE, ``datetime`` → TIMESTAMP, ``int`` → INT64, ``float`` → FLOAT64,
``str`` → STRING, ``bool`` → BOOL, ``list`` → ARRAY; any other value, a list of lists or
a list mixing types is refused by both engines before the query runs). Rows come back as
dicts of python values; TIMESTAMP values are tz-aware UTC datetimes, JSON values are parsed,
an ARRAY is a list, never None (BigQuery returns a NULL ARRAY as an empty one, and fails a
query whose result holds an ARRAY with a NULL element; the local engine does both).
Every failure or timeout raises :class:`~nbaops.errors.WarehouseError` with the
engine's error text.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nbaops.errors import WarehouseError

if TYPE_CHECKING:
    from nbaops.bqschema.ddl import Statement

# BigQuery's insertAll limit per request; above it one request (= one atomic unit) is impossible.
MAX_INSERT_ROWS = 50_000
# At most this many tables of one dataset are listed (list_tables): the bound on the pages read.
MAX_LISTED_TABLES = 10_000


@dataclass(frozen=True)
class QueryResult:
    """Rows of one query, the SQL as the caller wrote it, and what it cost."""

    rows: list[dict[str, Any]]
    sql: str
    bytes_processed: int | None
    duration_s: float


@runtime_checkable
class Warehouse(Protocol):
    kind: str

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> QueryResult: ...

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...

    def apply_ddl(self, statement: Statement) -> None: ...

    def insert_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def table_schema(self, table: str) -> list[dict[str, Any]]: ...

    def table_resource(self, table: str) -> dict[str, Any]: ...

    def list_tables(self, dataset: str) -> list[str]: ...

    def estimate_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> int | None: ...


def interrupt_local_queries() -> None:
    """Stop the local warehouse's running queries (Ctrl-C) and wait briefly for them; a
    no-op when DuckDB was never loaded (prod runs, tasks without the warehouse)."""
    import sys

    files = sys.modules.get("nbaops.adapters.duckdb_files")
    if files is not None:
        files.interrupt_all()


def split_ref(table: str) -> tuple[str, str]:
    """``dataset.table`` (a ``project.`` prefix and backticks ignored) → (dataset, table)."""
    parts = [p.strip("`") for p in table.strip().strip("`").split(".") if p]
    if len(parts) < 2 or not all(parts):
        raise WarehouseError(f"table {table!r} must be written as dataset.table")
    return parts[-2], parts[-1]


def check_rows(
    table: str, columns: Mapping[str, bool], rows: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Validate rows against ``{column: required}``; return the columns used (in table order).

    Raises:
        WarehouseError: a row names an unknown column or lacks a required one (nothing
            is written: both engines validate before writing).
    """
    lowered = {c.lower(): c for c in columns}
    # Rows usually share one key set: each distinct set is checked once. The per-row work
    # runs in C (map, set, `in`): a sandbox build inserts ~80,000 rows through here.
    key_sets = set(map(tuple, rows))
    used = {lowered.get(key.lower()) for keys in key_sets for key in keys}
    if None in used:
        i, key = next((i, k) for i, row in enumerate(rows) for k in row if k.lower() not in lowered)
        raise WarehouseError(f"insert into {table}: row {i}: no such column {key!r}")
    # a row names a column in any case: its value is under the row's spelling
    value_of = {c: _value(c, key_sets) for c, required in columns.items() if required}
    missing = [c for c, value in value_of.items() if None in map(value, rows)]
    if missing:
        i, col = min(
            (next(i for i, row in enumerate(rows) if value_of[c](row) is None), c) for c in missing
        )
        raise WarehouseError(
            f"insert into {table}: row {i}: required column {col!r} is missing or NULL"
        )
    return [c for c in columns if c in used]


def _value(column: str, key_sets: set[tuple[str, ...]]) -> Callable[[Mapping[str, Any]], Any]:
    """A row's value of ``column`` under any spelling the rows use for it: ``row.get(key)``
    as a C-level callable (for ``map``) when they use one spelling (or none), ``row[key]``
    when every row has that key (the usual case: ~half the time of ``get``, ~0.14 s of
    the ~80,000 rows a sandbox build inserts)."""
    spellings = sorted({k for keys in key_sets for k in keys if k.lower() == column.lower()})
    if len(spellings) == 1 and all(spellings[0] in keys for keys in key_sets):
        return operator.itemgetter(spellings[0])
    if len(spellings) <= 1:
        return operator.methodcaller("get", spellings[0] if spellings else column)
    return lambda row: next((row[k] for k in spellings if row.get(k) is not None), None)


def utc_values(value: Any) -> Any:
    """An engine's value → the contract's: tz-aware datetimes in ``datetime.UTC`` (nested too)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    if isinstance(value, list):
        return [utc_values(v) for v in value]
    if isinstance(value, dict):
        return {k: utc_values(v) for k, v in value.items()}
    return value
