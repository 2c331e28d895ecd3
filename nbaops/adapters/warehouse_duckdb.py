"""The local warehouse engine: one DuckDB file, BigQuery SQL transpiled by SQLGlot.

Tables are created from ``schemas/`` (see :mod:`nbaops.table_catalog`); the same SQL as
on BigQuery is transpiled with BigQuery's semantics restored where they differ (see
:mod:`nbaops.adapters.sql_dialect`).

Concurrency: checks run in threads of one process, and two nbaops processes may run at
once; the file is open only while an operation is in flight (see
:mod:`nbaops.adapters.duckdb_files`), lock waits bounded by ``lock_timeout_s`` (default
30 s, env ``NBAOPS_WAREHOUSE_LOCK_TIMEOUT``). :meth:`DuckDBWarehouse.session` keeps the
file open across many operations (a whole check run, a sandbox build).
DuckDB itself comes from :mod:`nbaops.adapters.duckdb_engine`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import operator
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.adapters.bq_params import TypedValue, check_query_parameters
from nbaops.adapters.duckdb_engine import engine
from nbaops.adapters.duckdb_files import attached_file
from nbaops.adapters.errors import NotFoundError, typed_as
from nbaops.adapters.warehouse import (
    MAX_LISTED_TABLES,
    QueryResult,
    check_rows,
    split_ref,
    utc_values,
)
from nbaops.clock import as_utc
from nbaops.environment import typed
from nbaops.errors import ParameterValueError, WarehouseError, first_line

if TYPE_CHECKING:
    from nbaops.bqschema.ddl import Statement
    from nbaops.bqschema.model import Field
    from nbaops.table_catalog import Catalog

WAREHOUSE_FILE = "warehouse.duckdb"
LOCK_TIMEOUT_ENV = "NBAOPS_WAREHOUSE_LOCK_TIMEOUT"


def _param_value(value: Any) -> Any:
    if isinstance(value, TypedValue):
        value = value.value
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, tuple | list):
        return [_param_value(v) for v in value]
    return value


def _duckdb_error(exc: BaseException, what: str) -> WarehouseError:
    name = _parameter_at_fault(exc)
    if name is not None:
        return ParameterValueError(name, f"query parameter @{name}: {first_line(exc)}")
    return WarehouseError(f"{what}: {first_line(exc)}")


def _result_array(column: str, value: list[Any] | None) -> list[Any]:
    """An ARRAY column's value as BigQuery returns it: "BigQuery translates a NULL ARRAY into
    an empty ARRAY in the query result", and "raises an error if the query result has an
    ARRAY which contains NULL elements" (cloud.google.com/bigquery/docs/reference/
    standard-sql/data-types#array_type; the error reads "Array cannot have a null element;
    error in writing field <column>"). DuckDB returns both as they are."""
    if value is None:
        return []
    if any(element is None for element in value):
        raise WarehouseError(f"Array cannot have a null element; error in writing field {column}")
    return value


_CARETS = re.compile(r"( *)(\^+)")
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _parameter_at_fault(exc: BaseException) -> str | None:
    """The parameter a DuckDB conversion error points at (its ``LINE n: ...`` context with
    carets under ``$name``), else None. DuckDB casts a bound value to the type the query
    uses it as only while the query runs (``EXPLAIN`` plans ``game_date = $d`` whatever
    ``$d`` holds), so a value that cannot convert surfaces there, not in the dry run."""
    if type(exc).__name__ != "ConversionException":
        return None
    lines = str(exc).splitlines()
    for context, marks in zip(lines, lines[1:], strict=False):
        head, sep, text = context.partition(": ")
        carets = _CARETS.fullmatch(marks)
        if sep and head.startswith("LINE ") and carets:
            start = len(marks) - len(marks.lstrip()) - len(head) - len(sep)
            found = _PARAMETER.fullmatch(text[start : start + len(carets.group(2))])
            return found.group(1) if found else None
    return None


class DuckDBWarehouse:
    """The local warehouse: one DuckDB file, BigQuery SQL transpiled with SQLGlot.

    Args:
        path: the DuckDB file (created on first use).
        datasets: logical → real dataset names (DuckDB schemas carry the real names).
        root: project root whose ``schemas/`` defines the tables (default: discovered).
        lock_timeout_s: how long to wait for another process holding the file.
        sql_cache_dir: where transpiled SQL is kept across runs (default: ``sql-cache/``
            beside the file; see :mod:`nbaops.adapters.sql_cache`).
    """

    kind = "duckdb"

    def __init__(
        self,
        path: Path,
        *,
        datasets: Mapping[str, str] | None = None,
        root: Path | None = None,
        lock_timeout_s: float | None = None,
        sql_cache_dir: Path | None = None,
    ) -> None:
        from nbaops.adapters.sql_cache import CACHE_DIR_NAME

        self.path = Path(path)
        self.datasets = dict(datasets or {})
        self.root = root
        self.sql_cache_dir = sql_cache_dir or self.path.parent / CACHE_DIR_NAME
        if lock_timeout_s is None:
            lock_timeout_s = typed(LOCK_TIMEOUT_ENV) or 30.0
        self._conn = attached_file(self.path, lock_timeout_s)

    # -- connection management -------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[DuckDBWarehouse]:
        """Keep the file open across several operations (other processes wait meanwhile)."""
        with self._conn.hold():
            yield self

    # -- SQL ---------------------------------------------------------------------------

    def _bind(
        self, names: frozenset[str], needs_now: bool, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        from nbaops.adapters.sql_dialect import NOW_PARAM

        check_query_parameters(params)  # what the BigQuery engine could not send
        missing = sorted(n for n in names if n not in params)
        if missing:
            raise WarehouseError(f"query parameter @{missing[0]} is used but not given")
        bound = {n: _param_value(params[n]) for n in names}
        if needs_now:
            bound[NOW_PARAM] = clock.now()
        return bound

    def _run(
        self,
        sql: str,
        params: Mapping[str, Any] | None,
        *,
        timeout_s: float | None,
        fetch: bool,
        max_rows: int | None = None,
    ) -> list[dict[str, Any]]:
        duckdb = engine()

        from nbaops.adapters.sql_dialect import to_duckdb

        statements = to_duckdb(sql, self.datasets, cache_dir=self.sql_cache_dir)
        if len(statements) != 1:  # never a script: one injected ';' cannot add a statement
            what = "query()" if fetch else "execute()"
            raise WarehouseError(
                f"{what} takes exactly one statement, got {len(statements)}; scripts are refused"
            )
        given = dict(params or {})
        with self._conn.cursor() as cur:
            timer: threading.Timer | None = None
            timed_out = threading.Event()
            if timeout_s is not None:

                def _interrupt() -> None:
                    timed_out.set()
                    cur.interrupt()

                timer = threading.Timer(timeout_s, _interrupt)
                timer.daemon = True
                timer.start()
            try:
                (st,) = statements
                cur.execute(st.sql, self._bind(st.params, st.needs_now, given) or None)
                return self._fetch(cur, max_rows) if fetch else []
            except duckdb.Error as exc:
                _rollback(cur)
                if timed_out.is_set() and timeout_s is not None:
                    raise WarehouseError(f"query timed out after {timeout_s:g}s") from None
                if isinstance(exc, duckdb.InterruptException):
                    raise WarehouseError("query interrupted") from None
                raise _duckdb_error(exc, "local warehouse query failed") from None
            finally:
                if timer is not None:
                    # Joined, not only cancelled: the timer holds this cursor (in its
                    # callback). A timer thread ending after the query returned freed the
                    # cursor itself, and at the process's exit that raced the interpreter's
                    # shutdown: the thread, unwound inside DuckDB's destructor, aborted the
                    # process ("FATAL: exception not rethrown", exit 134).
                    timer.cancel()
                    timer.join()

    @staticmethod
    def _fetch(cur: Any, max_rows: int | None = None) -> list[dict[str, Any]]:
        description = cur.description or []
        names = [d[0] for d in description]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise WarehouseError(f"duplicate column names in the result: {', '.join(dupes)}")
        json_cols = {i for i, d in enumerate(description) if str(d[1]) == "JSON"}
        array_cols = {i for i, d in enumerate(description) if str(d[1]).endswith("[]")}
        out: list[dict[str, Any]] = []
        for raw in cur.fetchall() if max_rows is None else cur.fetchmany(max_rows):
            row: dict[str, Any] = {}
            for i, (name, value) in enumerate(zip(names, raw, strict=True)):
                if i in json_cols and isinstance(value, str):
                    value = json.loads(value)
                if i in array_cols:
                    value = _result_array(name, value)
                row[name] = utc_values(value)
            out.append(row)
        return out

    def query(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
        max_rows: int | None = None,
    ) -> QueryResult:
        """Run one SELECT; rows as dicts. ``timeout_s`` interrupts the query; ``max_rows``
        converts only the first rows of the result (the query itself unchanged)."""
        started = time.perf_counter()
        rows = self._run(sql, params, timeout_s=timeout_s, fetch=True, max_rows=max_rows)
        return QueryResult(rows, sql, None, time.perf_counter() - started)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one DDL/DML statement (a script of several is refused, nothing runs)."""
        self._run(sql, params, timeout_s=None, fetch=False)

    def apply_ddl(self, statement: Statement) -> None:
        """Run one schema-change statement, keeping its description as the column comment.

        DuckDB's dialect drops ``OPTIONS (description = ...)`` from ``ADD COLUMN`` and cannot
        parse ``ALTER COLUMN ... SET OPTIONS``, so the description is set with ``COMMENT ON
        COLUMN``, which :meth:`table_schema` reads back (BigQuery's own statement sets it
        there). A changed description therefore applies locally too, and a live diff after
        it is clean.
        """
        from nbaops.table_catalog import duckdb_comment

        if statement.kind != "set_description":
            self.execute(statement.sql)
        if statement.kind == "set_description" or statement.description:
            schema, name = self._real(statement.table)
            comment = duckdb_comment(schema, name, statement.column, statement.description)
            with self._conn.cursor() as cur:
                try:
                    cur.execute(comment)
                except engine().Error as exc:
                    raise _duckdb_error(exc, "setting a column description failed") from None

    def estimate_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> int | None:
        """Unknown locally (None), but like a dry run the SQL is planned (``EXPLAIN``), so a
        query that would fail (syntax, unknown table or column, missing parameter) fails
        here too."""
        duckdb = engine()

        from nbaops.adapters.sql_dialect import to_duckdb

        statements = to_duckdb(sql, self.datasets, cache_dir=self.sql_cache_dir)
        with self._conn.cursor() as cur:
            for st in statements:
                bound = self._bind(st.params, st.needs_now, dict(params or {}))
                try:
                    cur.execute(f"EXPLAIN {st.sql}", bound or None)
                except duckdb.Error as exc:
                    raise _duckdb_error(exc, "local warehouse dry run failed") from None
        return None

    # -- tables ------------------------------------------------------------------------

    def _real(self, table: str) -> tuple[str, str]:
        dataset, name = split_ref(table)
        return self.datasets.get(dataset, dataset), name

    def _columns(self, cur: Any, schema: str, name: str) -> list[tuple[str, str, bool, str | None]]:
        rows = cur.execute(
            "SELECT column_name, data_type, is_nullable, comment FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = $s "
            "AND table_name = $t ORDER BY column_index",
            {"s": schema, "t": name},
        ).fetchall()
        return [(r[0], r[1], bool(r[2]), r[3]) for r in rows]

    @staticmethod
    def _column_types(cur: Any, schema: str, name: str) -> list[tuple[str, str, bool]]:
        """(name, type, nullable) of each column; [] when there is no such table.

        ``pragma_table_info`` of the one table: ``duckdb_columns()`` describes every
        column of the catalog, and its first call in a process took ~40 ms of a run's
        history insert.
        """
        duckdb = engine()

        from nbaops.table_catalog import quote_ident

        try:
            rows = cur.execute(
                'SELECT name, type, "notnull" FROM pragma_table_info($t) ORDER BY cid',
                {"t": f"{quote_ident(schema)}.{quote_ident(name)}"},
            ).fetchall()
        except duckdb.CatalogException:
            return []
        return [(r[0], r[1], not r[2]) for r in rows]

    def insert_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows into ``dataset.table`` in one transaction: all rows or none."""
        if not rows:
            return
        with self._conn.cursor() as cur:
            self._insert(cur, table, rows)

    def _insert(
        self, cur: Any, table: str, rows: Sequence[Mapping[str, Any]], *, own_tx: bool = True
    ) -> None:
        duckdb = engine()

        from nbaops.table_catalog import quote_ident

        schema, name = self._real(table)
        try:
            columns = self._column_types(cur, schema, name)
        except duckdb.Error as exc:
            raise _duckdb_error(exc, f"insert into {table} failed") from None
        if not columns:
            raise WarehouseError(f"insert into {table}: no such table in the local warehouse")
        types = {c[0]: c[1] for c in columns}
        used = check_rows(table, {c[0]: not c[2] for c in columns}, rows)
        lowered = {c.lower(): c for c in types}
        key_sets = set(map(tuple, rows))
        if all(k in types for keys in key_sets for k in keys):
            norm: Sequence[Mapping[str, Any]] = rows  # already spelled like the table
        else:
            norm = [{lowered[k.lower()]: v for k, v in row.items()} for row in rows]
        columns_used = _columns_of(norm, used)
        for column, column_values in zip(used, columns_used, strict=True):
            if types[column] in _INTEGER_TYPES:
                _check_integral(table, column, column_values)
        values: list[list[Any]] = []
        for column, column_values in zip(used, columns_used, strict=True):
            try:  # text that is no date or time: a row error, as BigQuery's insertAll answers
                values.append(_converted(types[column], column_values))
            except (ValueError, TypeError) as exc:
                raise WarehouseError(
                    f"insert into {table} rejected (nothing written): column {column!r}: "
                    f"{first_line(exc)}"
                ) from None
        target = (
            f"INSERT INTO {quote_ident(schema)}.{quote_ident(name)} "
            f"({', '.join(quote_ident(c) for c in used)}) "
        )
        registered = len(rows) * len(used) >= REGISTER_AT
        if registered:  # the columns as arrays DuckDB scans in place, cast as the table's
            casts = (f"CAST({quote_ident(c)} AS {types[c]})" for c in used)
            sql = target + f"SELECT {', '.join(casts)} FROM {_REGISTERED}"  # noqa: S608 - identifiers only
            params: dict[str, Any] | None = None
        else:  # one list parameter per column, unnested
            params = {f"c{i}": v for i, v in enumerate(values)}
            unnest = (
                f"UNNEST(CAST($c{i} AS {types[c]}[])) AS {quote_ident(c)}"
                for i, c in enumerate(used)
            )
            sql = target + f"SELECT {', '.join(unnest)}"
        try:
            if registered:
                cur.register(_REGISTERED, _object_arrays(used, values))
            if own_tx:
                cur.begin()
            cur.execute(sql, params)
            if own_tx:
                cur.commit()
        except duckdb.Error as exc:
            if own_tx:
                _rollback(cur)
            raise _duckdb_error(exc, f"insert into {table} failed (nothing written)") from None
        finally:
            if registered:
                cur.unregister(_REGISTERED)  # (nothing to do when registering failed)

    def replace_contents(self, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """In one transaction: empty each named table and insert its new rows.

        Readers see either the old contents or the new ones, never a half-built state.
        """
        duckdb = engine()

        from nbaops.table_catalog import quote_ident

        with self._conn.cursor() as cur:
            try:
                cur.begin()
                for table, rows in tables.items():
                    schema, name = self._real(table)
                    target = f"{quote_ident(schema)}.{quote_ident(name)}"
                    cur.execute(f"DELETE FROM {target}")  # noqa: S608 - quoted identifiers
                    if rows:
                        self._insert(cur, table, rows, own_tx=False)
                cur.commit()
            except (duckdb.Error, WarehouseError) as exc:
                _rollback(cur)
                if isinstance(exc, WarehouseError):
                    raise
                raise _duckdb_error(exc, "replacing warehouse contents failed") from None

    def table_schema(self, table: str) -> list[dict[str, Any]]:
        """The table's columns in the bq JSON array form, reflected from DuckDB.

        Types, modes, top-level descriptions (column comments) and the columns themselves
        are DuckDB's. What DuckDB has no place for — BIGNUMERIC and GEOGRAPHY (held as
        DOUBLE and text), a STRING/BYTES ``maxLength``, a ``defaultValueExpression``,
        policy tags, a collation or rounding mode, a RECORD sub-field's description and
        REQUIRED mode — is read back from the table's schema file, the file the local
        warehouse is built and migrated from
        (:func:`nbaops.table_catalog.with_unheld_attributes`): a local live diff
        never reports these attributes (docs/standin.md, "The local warehouse").
        """
        from nbaops.table_catalog import duckdb_type_to_bq, with_unheld_attributes

        schema, name = self._real(table)
        with self._conn.cursor() as cur:
            columns = self._columns(cur, schema, name)
        if not columns:
            # a NotFoundError too, as the BigQuery adapter's 404 (doctor: a missing table)
            raise typed_as(NotFoundError, WarehouseError)(
                f"table {table} not found in the local warehouse"
            )
        out = []
        for col, type_text, nullable, comment in columns:
            field = duckdb_type_to_bq(col, type_text)
            if not nullable and field["mode"] == "NULLABLE":
                field["mode"] = "REQUIRED"
            if comment:
                field["description"] = comment
            out.append(field)
        declared = self._declared_fields(table)
        return with_unheld_attributes(out, declared) if declared else out

    def table_resource(self, table: str) -> dict[str, Any]:
        """The table's fields as a Table resource (``{"schema": {"fields": [...]}}``), with
        no ``defaultRoundingMode`` or ``defaultCollation``: a DuckDB table cannot hold them
        (docs/standin.md, "The local warehouse")."""
        return {"schema": {"fields": self.table_schema(table)}}

    def _declared_fields(self, table: str) -> list[Field] | None:
        """The table's fields as its schema file declares them; None without a readable
        file (a table whose file was removed, or a file the diff reports itself)."""
        from nbaops.bqschema.parse import read_schema
        from nbaops.paths import project_root, schemas_dir

        dataset, name = split_ref(table)
        path = schemas_dir(self.root or project_root()) / dataset / f"{name}.json"
        if not path.is_file():
            return None
        declared, _errors = read_schema(str(path))
        return declared.fields if declared is not None else None

    def list_tables(self, dataset: str) -> list[str]:
        """The logical ``dataset.table`` names of the dataset's (DuckDB schema's) tables
        and views, sorted; [] when it does not exist."""
        real = self.datasets.get(dataset, dataset)
        with self._conn.cursor() as cur:
            rows = cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_schema = $s "
                "ORDER BY table_name LIMIT $n",
                {"s": real, "n": MAX_LISTED_TABLES},
            ).fetchall()
        return [f"{dataset}.{name}" for (name,) in rows]

    def dataset_location(self, dataset: str) -> str | None:
        """``""`` when the dataset (a DuckDB schema) exists (embedded: no location), else None."""
        real = self.datasets.get(dataset, dataset)
        with self._conn.cursor() as cur:
            rows = cur.execute(
                "SELECT 1 FROM duckdb_schemas() "
                "WHERE database_name = current_database() AND schema_name = $s",
                {"s": real},
            ).fetchall()
        return "" if rows else None

    def create_tables(self, catalog: Catalog | None = None, *, replace: bool = False) -> list[str]:
        """Create every catalog table that is missing (``replace``: drop and recreate).

        Returns:
            The logical names of the tables created.
        """
        duckdb = engine()

        from nbaops.table_catalog import duckdb_ddl, duckdb_drop_table, load_catalog

        cat = catalog or load_catalog(self.root)
        created: list[str] = []
        with self._conn.cursor() as cur:
            try:
                cur.begin()
                for spec in cat:
                    schema = self.datasets.get(spec.dataset, spec.dataset)
                    exists = bool(self._columns(cur, schema, spec.name))
                    if exists and not replace:
                        continue
                    if exists:
                        cur.execute(duckdb_drop_table(schema, spec.name))
                    for statement in duckdb_ddl(spec, schema):
                        cur.execute(statement)
                    created.append(spec.ref)
                cur.commit()
            except duckdb.Error as exc:
                _rollback(cur)
                raise _duckdb_error(exc, "creating local warehouse tables failed") from None
        return created


def _rollback(cur: Any) -> None:
    # No transaction open means nothing to undo.
    with contextlib.suppress(Exception):
        cur.rollback()


def _to_json_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _to_timestamptz(value: Any) -> Any:
    return as_utc(value) if isinstance(value, str | dt.datetime) else value


def _to_date(value: Any) -> Any:
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _to_timestamp(value: Any) -> Any:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _to_double(value: Any) -> Any:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return float(value)
    return value


def _to_decimal(value: Any) -> Any:
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


_INTEGER_TYPES = frozenset({"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"})


def _check_integral(table: str, column: str, values: list[Any]) -> None:
    """Refuse a number with a fraction (or NaN, an infinity) for an integer column, as
    BigQuery's insertAll does ("Cannot convert value to integer (bad value): 5.69", its
    row error); DuckDB's cast rounded it (1.5 stored as 2). Whole numbers and strings go
    to DuckDB's cast as before ('12' is 12 in both)."""
    if _only(int)(values):  # ints only (the usual case): one C-level type scan
        return
    for index, value in enumerate(values):
        if isinstance(value, float):
            fraction = not value.is_integer()
        elif isinstance(value, Decimal):
            fraction = not value.is_finite() or value != value.to_integral_value()
        else:
            fraction = False
        if fraction:
            raise WarehouseError(
                f"insert into {table} rejected (nothing written): row {index}: column "
                f"{column!r}: Cannot convert value to integer (bad value): {value}"
            )


def _only(*kinds: type) -> Callable[[list[Any]], bool]:
    """Whether a column's values are all of ``kinds`` (or None), checked in C (map, set)."""
    allowed = {*kinds, type(None)}
    return lambda values: set(map(type, values)) <= allowed


def _aware_utc(values: list[Any]) -> bool:
    """Whether every value is None or a datetime already in ``datetime.UTC``."""
    return set(map(type, values)) <= {dt.datetime, type(None)} and set(
        map(operator.attrgetter("tzinfo"), filter(None, values))
    ) <= {dt.UTC}


# Per column type: its conversion, and when a column needs none (every value already as
# the conversion would return it), so it is passed as it is instead of one Python call per
# value.
_CONVERTERS: dict[str, tuple[Callable[[Any], Any], Callable[[list[Any]], bool]]] = {
    "JSON": (_to_json_text, _only(str)),
    "TIMESTAMP WITH TIME ZONE": (_to_timestamptz, _aware_utc),
    "TIMESTAMPTZ": (_to_timestamptz, _aware_utc),
    "DATE": (_to_date, _only(dt.date)),
    "TIMESTAMP": (_to_timestamp, _only(dt.datetime)),
    "DOUBLE": (_to_double, _only(float)),
    "DECIMAL": (_to_decimal, _only(Decimal)),
}


def _converted(duck_type: str, values: list[Any]) -> list[Any]:
    """``values`` as the column's type needs them (see :data:`_CONVERTERS`)."""
    entry = _CONVERTERS.get(duck_type.upper().split("(", 1)[0])  # DECIMAL(38,9) → DECIMAL
    if entry is None:
        return values
    convert, fits = entry
    return values if fits(values) else [convert(v) for v in values]


# From this many values (rows x columns) an insert hands DuckDB the columns as NumPy object
# arrays, which it scans in place (its documented NumPy import, "each array supplies one
# column": duckdb.org/docs/2.0/guides/python/import_numpy), instead
# of one list parameter per column, which it converts value by value: ~1 us a value, 0.7 s
# of a 2.3 s sandbox build and a third of the sandbox tests' time, against ~0.06 us (plus
# NumPy's import, ~60 ms once per process: below this size the list parameters win).
REGISTER_AT = 50_000
_REGISTERED = "_nbaops_insert_rows"


def _object_arrays(used: Sequence[str], values: Sequence[list[Any]]) -> dict[str, Any]:
    """Each column as a one-dimensional NumPy array of its Python values as they are (a
    list stays one element: a REPEATED value, not a second dimension)."""
    import numpy as np

    return {
        col: np.fromiter(column, dtype=object, count=len(column))
        for col, column in zip(used, values, strict=True)
    }


def _columns_of(rows: Sequence[Mapping[str, Any]], used: Sequence[str]) -> list[list[Any]]:
    """The rows' values column by column, in ``used`` order (a missing key is None).

    When every row has every used key (the usual case), one C-level transpose
    (``itemgetter`` + ``zip``) replaces a Python ``row.get`` per value.
    """
    if not rows or not used:
        return [[] for _ in used]
    try:
        if len(used) == 1:
            return [list(map(operator.itemgetter(used[0]), rows))]
        return [list(column) for column in zip(*map(operator.itemgetter(*used), rows), strict=True)]
    except KeyError:  # a row without some column: NULL there
        return [[row.get(col) for row in rows] for col in used]
