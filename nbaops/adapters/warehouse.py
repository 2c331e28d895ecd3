"""The warehouse: BigQuery Standard SQL with named parameters, on BigQuery or DuckDB.

One interface (:class:`Warehouse`), two engines:

- :class:`BigQueryWarehouse` (prod profiles): ``google.cloud.bigquery`` (imported
  lazily), Application Default Credentials, or an emulator endpoint with anonymous
  credentials (``NBAOPS_BQ_ENDPOINT`` or ``endpoint=``).
- :class:`DuckDBWarehouse` (the local profile): one DuckDB file under the state folder
  (``warehouse.duckdb``), tables created from ``schemas/`` (see
  :mod:`nbaops.table_catalog`), the same SQL transpiled by SQLGlot with BigQuery's
  semantics restored where they differ (see :mod:`nbaops.adapters.sql_dialect`).

SQL convention: tables written as logical ``dataset.table`` (the adapter maps datasets
per profile and qualifies the project), values only as ``@name`` parameters (python
``date`` → DATE, ``datetime`` → TIMESTAMP, ``int`` → INT64, ``float`` → FLOAT64,
``str`` → STRING, ``bool`` → BOOL, ``list`` → ARRAY). Rows come back as dicts of
python values; TIMESTAMP values are tz-aware UTC datetimes, JSON values are parsed.
Every failure or timeout raises :class:`~nbaops.errors.WarehouseError` with the
engine's error text.

Concurrency (DuckDB): checks run in threads of one process, and two nbaops processes
may run at once. DuckDB lets one *process* hold the file read-write, so the local
warehouse opens the file only while an operation is in flight: threads share that one
connection, each with its own cursor; when the last operation finishes the file is
closed and another process may take it. Opening retries "Could not set lock" with a
bounded exponential backoff (``lock_timeout_s``, default 30 s, env
``NBAOPS_WAREHOUSE_LOCK_TIMEOUT``). :meth:`DuckDBWarehouse.session` keeps the file open
across many operations (a whole check run, a sandbox build).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nbaops import clock
from nbaops.adapters.bq_params import TypedValue, as_utc
from nbaops.environment import read
from nbaops.errors import WarehouseError

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.table_catalog import Catalog

WAREHOUSE_FILE = "warehouse.duckdb"
ENDPOINT_ENV = "NBAOPS_BQ_ENDPOINT"
LOCK_TIMEOUT_ENV = "NBAOPS_WAREHOUSE_LOCK_TIMEOUT"
# BigQuery's insertAll limit per request; above it one request (= one atomic unit) is impossible.
MAX_INSERT_ROWS = 50_000


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

    def insert_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def table_schema(self, table: str) -> list[dict[str, Any]]: ...

    def estimate_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> int | None: ...


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
    required = [c for c, is_required in columns.items() if is_required]
    used: set[str] = set()
    seen_keys: set[tuple[str, ...]] = set()  # rows usually share one key set: check it once
    for i, row in enumerate(rows):
        keys = tuple(row)
        if keys not in seen_keys:
            for key in keys:
                if key.lower() not in lowered:
                    raise WarehouseError(f"insert into {table}: row {i}: no such column {key!r}")
                used.add(lowered[key.lower()])
            seen_keys.add(keys)
        for col in required:
            if row.get(col) is None:
                raise WarehouseError(
                    f"insert into {table}: row {i}: required column {col!r} is missing or NULL"
                )
    return [c for c in columns if c in used]


# --------------------------------------------------------------------------- DuckDB


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


def _py(value: Any) -> Any:
    """DuckDB → python values of the contract (UTC datetimes with ``datetime.UTC``)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value.tzinfo is not None else value
    if isinstance(value, list):
        return [_py(v) for v in value]
    if isinstance(value, dict):
        return {k: _py(v) for k, v in value.items()}
    return value


def _param_value(value: Any) -> Any:
    if isinstance(value, TypedValue):
        value = value.value
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, tuple):
        return [_param_value(v) for v in value]
    if isinstance(value, list):
        return [_param_value(v) for v in value]
    return value


class _SharedConnection:
    """One DuckDB connection per process, open only while operations are in flight."""

    def __init__(self, path: Path, lock_timeout_s: float) -> None:
        self.path = path
        self.lock_timeout_s = lock_timeout_s
        self._lock = threading.Lock()
        self._conn: Any = None
        self._users = 0

    def _open(self) -> Any:
        import duckdb

        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.02
        while True:
            try:
                conn = duckdb.connect(str(self.path))
                conn.execute("SET TimeZone = 'UTC'")
                return conn
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise WarehouseError(
                        f"cannot open local warehouse {self.path}: {exc}"
                    ) from None
                if time.monotonic() + delay > deadline:
                    first = str(exc).splitlines()[0]
                    raise WarehouseError(
                        f"local warehouse {self.path} is locked by another process "
                        f"(waited {self.lock_timeout_s:g}s): {first}"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    @contextmanager
    def hold(self) -> Iterator[Any]:
        """Keep the connection open for the duration of the block; yields it."""
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
            self._users += 1
            conn = self._conn
        try:
            yield conn
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._conn is not None:
                    self._conn.close()
                    self._conn = None

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor of its own for this thread's operation."""
        with self.hold() as conn:
            cur = conn.cursor()
            try:
                cur.execute("SET TimeZone = 'UTC'")
                yield cur
            finally:
                cur.close()


_CONNECTIONS: dict[Path, _SharedConnection] = {}
_CONNECTIONS_LOCK = threading.Lock()


def _shared(path: Path, lock_timeout_s: float) -> _SharedConnection:
    key = path.resolve()
    with _CONNECTIONS_LOCK:
        shared = _CONNECTIONS.get(key)
        if shared is None:
            shared = _CONNECTIONS[key] = _SharedConnection(key, lock_timeout_s)
        shared.lock_timeout_s = lock_timeout_s
        return shared


def _duckdb_error(exc: BaseException, what: str) -> WarehouseError:
    text = str(exc).strip().splitlines()
    return WarehouseError(f"{what}: {text[0] if text else type(exc).__name__}")


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
            lock_timeout_s = float(read(LOCK_TIMEOUT_ENV) or "30")
        self._conn = _shared(self.path, lock_timeout_s)

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
    ) -> list[dict[str, Any]]:
        import duckdb

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
                return self._fetch(cur) if fetch else []
            except duckdb.Error as exc:
                _rollback(cur)
                if timed_out.is_set() or isinstance(exc, duckdb.InterruptException):
                    raise WarehouseError(f"query timed out after {timeout_s:g}s") from None
                raise _duckdb_error(exc, "local warehouse query failed") from None
            finally:
                if timer is not None:
                    timer.cancel()

    @staticmethod
    def _fetch(cur: Any) -> list[dict[str, Any]]:
        description = cur.description or []
        names = [d[0] for d in description]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise WarehouseError(f"duplicate column names in the result: {', '.join(dupes)}")
        json_cols = {i for i, d in enumerate(description) if str(d[1]) == "JSON"}
        out: list[dict[str, Any]] = []
        for raw in cur.fetchall():
            row: dict[str, Any] = {}
            for i, (name, value) in enumerate(zip(names, raw, strict=True)):
                if i in json_cols and isinstance(value, str):
                    value = json.loads(value)
                row[name] = _py(value)
            out.append(row)
        return out

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> QueryResult:
        """Run one SELECT; rows as dicts. ``timeout_s`` interrupts the query."""
        started = time.perf_counter()
        rows = self._run(sql, params, timeout_s=timeout_s, fetch=True)
        return QueryResult(rows, sql, None, time.perf_counter() - started)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one DDL/DML statement (a script of several is refused, nothing runs)."""
        self._run(sql, params, timeout_s=None, fetch=False)

    def estimate_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> int | None:
        """Unknown locally (None), but like a dry run the SQL is planned (``EXPLAIN``), so a
        query that would fail (syntax, unknown table or column, missing parameter) fails
        here too."""
        import duckdb

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
            "WHERE schema_name = $s AND table_name = $t ORDER BY column_index",
            {"s": schema, "t": name},
        ).fetchall()
        return [(r[0], r[1], bool(r[2]), r[3]) for r in rows]

    def insert_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows into ``dataset.table`` in one transaction: all rows or none."""
        if not rows:
            return
        with self._conn.cursor() as cur:
            self._insert(cur, table, rows)

    def _insert(
        self, cur: Any, table: str, rows: Sequence[Mapping[str, Any]], *, own_tx: bool = True
    ) -> None:
        import duckdb

        from nbaops.table_catalog import quote_ident

        schema, name = self._real(table)
        try:
            columns = self._columns(cur, schema, name)
        except duckdb.Error as exc:
            raise _duckdb_error(exc, f"insert into {table} failed") from None
        if not columns:
            raise WarehouseError(f"insert into {table}: no such table in the local warehouse")
        types = {c[0]: c[1] for c in columns}
        used = check_rows(table, {c[0]: not c[2] for c in columns}, rows)
        lowered = {c.lower(): c for c in types}
        key_sets = {tuple(row) for row in rows}
        if all(k in types for keys in key_sets for k in keys):
            norm: Sequence[Mapping[str, Any]] = rows  # already spelled like the table
        else:
            norm = [{lowered[k.lower()]: v for k, v in row.items()} for row in rows]
        params: dict[str, Any] = {}
        selects: list[str] = []
        for i, col in enumerate(used):
            convert = _converter(types[col])
            params[f"c{i}"] = [convert(r.get(col)) for r in norm]
            selects.append(f"UNNEST(CAST($c{i} AS {types[col]}[])) AS {quote_ident(col)}")
        sql = (
            f"INSERT INTO {quote_ident(schema)}.{quote_ident(name)} "
            f"({', '.join(quote_ident(c) for c in used)}) SELECT {', '.join(selects)}"
        )
        try:
            if own_tx:
                cur.begin()
            cur.execute(sql, params)
            if own_tx:
                cur.commit()
        except duckdb.Error as exc:
            if own_tx:
                _rollback(cur)
            raise _duckdb_error(exc, f"insert into {table} failed (nothing written)") from None

    def replace_contents(self, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """In one transaction: empty each named table and insert its new rows.

        Readers see either the old contents or the new ones, never a half-built state.
        """
        import duckdb

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
        """The table's columns in the bq JSON array form, reflected from DuckDB."""
        schema, name = self._real(table)
        with self._conn.cursor() as cur:
            columns = self._columns(cur, schema, name)
        if not columns:
            raise WarehouseError(f"table {table} not found in the local warehouse")
        out = []
        for col, type_text, nullable, comment in columns:
            field = duckdb_type_to_bq(col, type_text)
            if not nullable and field["mode"] == "NULLABLE":
                field["mode"] = "REQUIRED"
            if comment:
                field["description"] = comment
            out.append(field)
        return out

    def table_exists(self, table: str) -> bool:
        schema, name = self._real(table)
        with self._conn.cursor() as cur:
            return bool(self._columns(cur, schema, name))

    def dataset_location(self, dataset: str) -> str | None:
        """``""`` when the dataset (a DuckDB schema) exists (embedded: no location), else None."""
        real = self.datasets.get(dataset, dataset)
        with self._conn.cursor() as cur:
            rows = cur.execute(
                "SELECT 1 FROM duckdb_schemas() WHERE schema_name = $s", {"s": real}
            ).fetchall()
        return "" if rows else None

    def create_tables(self, catalog: Catalog | None = None, *, replace: bool = False) -> list[str]:
        """Create every catalog table that is missing (``replace``: drop and recreate).

        Returns:
            The logical names of the tables created.
        """
        import duckdb

        from nbaops.table_catalog import duckdb_ddl, load_catalog, quote_ident

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
                        cur.execute(f"DROP TABLE {quote_ident(schema)}.{quote_ident(spec.name)}")
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


def _insert_value(value: Any, duck_type: str) -> Any:
    """One python value → what DuckDB's parameter binding expects for ``duck_type``."""
    return _converter(duck_type)(value)


def _identity(value: Any) -> Any:
    return value


def _to_json_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _to_timestamptz(value: Any) -> Any:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.datetime):
        return as_utc(value)
    return value


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


@functools.lru_cache(maxsize=64)
def _converter(duck_type: str) -> Callable[[Any], Any]:
    """The per-column conversion, chosen once per column rather than once per value."""
    upper = duck_type.upper()
    if upper == "JSON":
        return _to_json_text
    if upper.startswith("TIMESTAMP WITH TIME ZONE") or upper == "TIMESTAMPTZ":
        return _to_timestamptz
    if upper == "DATE":
        return _to_date
    if upper == "TIMESTAMP":
        return _to_timestamp
    if upper == "DOUBLE":
        return _to_double
    if upper.startswith("DECIMAL"):
        return _to_decimal
    return _identity


_DUCK_TO_BQ = {
    "VARCHAR": "STRING",
    "BLOB": "BYTES",
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "SMALLINT": "INT64",
    "TINYINT": "INT64",
    "HUGEINT": "INT64",
    "UBIGINT": "INT64",
    "UINTEGER": "INT64",
    "DOUBLE": "FLOAT64",
    "FLOAT": "FLOAT64",
    "BOOLEAN": "BOOL",
    "DATE": "DATE",
    "TIME": "TIME",
    "TIMESTAMP": "DATETIME",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "JSON": "JSON",
    "INTERVAL": "INTERVAL",
}


def duckdb_type_to_bq(name: str, type_text: str) -> dict[str, Any]:
    """One DuckDB column type → a bq JSON field (LIST → REPEATED, STRUCT → RECORD)."""
    from sqlglot import exp

    def convert(col: str, dtype: Any, mode: str) -> dict[str, Any]:
        if dtype.this in (exp.DataType.Type.ARRAY, exp.DataType.Type.LIST):
            return convert(col, dtype.expressions[0], "REPEATED")
        if dtype.this == exp.DataType.Type.STRUCT:
            fields = [convert(sub.name, sub.args["kind"], "NULLABLE") for sub in dtype.expressions]
            return {"name": col, "type": "RECORD", "mode": mode, "fields": fields}
        if dtype.this == exp.DataType.Type.DECIMAL:
            params = [int(p.name) for p in dtype.expressions]
            field: dict[str, Any] = {"name": col, "type": "NUMERIC", "mode": mode}
            if params and params != [38, 9]:
                field["precision"] = str(params[0])
                if len(params) > 1:
                    field["scale"] = str(params[1])
            return field
        text = dtype.sql(dialect="duckdb").upper()
        if text == "TIMESTAMPTZ":
            text = "TIMESTAMP WITH TIME ZONE"
        return {"name": col, "type": _DUCK_TO_BQ.get(text, "STRING"), "mode": mode}

    return convert(name, exp.DataType.build(type_text, dialect="duckdb"), "NULLABLE")


# --------------------------------------------------------------------------- BigQuery


class BigQueryWarehouse:
    """BigQuery through ``google.cloud.bigquery`` (imported on first use).

    Args:
        project: the GCP project (jobs run there; tables are qualified with it).
        location: where every job runs: the datasets' BigQuery location
            (``profiles.<p>.bigquery.location``, default ``US``), never the Cloud Run region.
        datasets: logical → real dataset names.
        endpoint: an emulator URL such as ``http://127.0.0.1:9050`` (anonymous
            credentials); None = the real API with Application Default Credentials.
        root: project root whose ``schemas/`` describes the tables (row validation).
        retry_deadline_s: how long the client retries transient API errors (429/5xx)
            of one call before giving up (the library default is 10 minutes).
        sql_cache_dir: where qualified SQL is kept across runs (None: in memory only).
    """

    kind = "bigquery"

    def __init__(
        self,
        project: str,
        location: str = "US",
        *,
        datasets: Mapping[str, str] | None = None,
        endpoint: str | None = None,
        root: Path | None = None,
        retry_deadline_s: float = 60.0,
        sql_cache_dir: Path | None = None,
    ) -> None:
        self.project = project
        self.sql_cache_dir = sql_cache_dir
        self.retry_deadline_s = retry_deadline_s
        self.location = location
        self.datasets = dict(datasets or {})
        self.endpoint = endpoint
        self.root = root
        self._client_obj: Any = None
        self._client_lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client_obj is None:
                self._client_obj = self._make_client()
            return self._client_obj

    def _make_client(self) -> Any:
        from google.cloud import bigquery

        try:
            if self.endpoint:
                from google.auth.credentials import AnonymousCredentials

                return bigquery.Client(
                    project=self.project,
                    location=self.location,
                    credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                    client_options={"api_endpoint": self.endpoint},
                )
            return bigquery.Client(project=self.project, location=self.location)
        except Exception as exc:  # DefaultCredentialsError and friends
            raise WarehouseError(f"cannot create the BigQuery client: {exc}") from None

    def table_id(self, table: str) -> str:
        dataset, name = split_ref(table)
        return f"{self.project}.{self.datasets.get(dataset, dataset)}.{name}"

    def _sql(self, sql: str) -> str:
        from nbaops.adapters.sql_dialect import qualify_bigquery

        return qualify_bigquery(sql, self.project, self.datasets, cache_dir=self.sql_cache_dir)

    def _job_config(self, params: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        from google.cloud import bigquery

        from nbaops.adapters.bq_params import to_query_parameters

        return bigquery.QueryJobConfig(
            query_parameters=to_query_parameters(params), use_legacy_sql=False, **kwargs
        )

    def _call(self, what: str, fn: Callable[[], Any], timeout_s: float | None = None) -> Any:
        import concurrent.futures

        from google.api_core import exceptions as gexc

        try:
            return fn()
        except (concurrent.futures.TimeoutError, TimeoutError) as exc:
            raise WarehouseError(f"{what} timed out after {timeout_s:g}s") from exc
        except gexc.GoogleAPIError as exc:
            message = getattr(exc, "message", None) or str(exc)
            if timeout_s is not None and "timeout" in message.lower():
                raise WarehouseError(f"{what} timed out after {timeout_s:g}s: {message}") from None
            raise WarehouseError(f"{what} failed: {message}".splitlines()[0]) from None
        except WarehouseError:
            raise
        except Exception as exc:  # transport errors (requests), auth errors
            if timeout_s is not None and "timed out" in str(exc).lower():
                raise WarehouseError(f"{what} timed out after {timeout_s:g}s") from None
            raise WarehouseError(
                f"{what} failed: {type(exc).__name__}: {exc}".splitlines()[0]
            ) from None

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> QueryResult:
        """Run one query job; ``timeout_s`` bounds the job (job_timeout_ms) and the wait."""
        started = time.perf_counter()
        extra: dict[str, Any] = {}
        if timeout_s is not None:
            extra["job_timeout_ms"] = max(1, int(timeout_s * 1000))
        config = self._job_config(params, **extra)
        job_box: list[Any] = []

        def run() -> list[dict[str, Any]]:
            job = self.client.query(self._sql(sql), job_config=config, location=self.location)
            job_box.append(job)
            result = job.result(timeout=timeout_s)
            return [{k: _bq_value(v) for k, v in row.items()} for row in result]

        try:
            rows = self._call("BigQuery query", run, timeout_s)
        except WarehouseError:
            if job_box and timeout_s is not None:
                _cancel_quietly(job_box[0])
            raise
        processed = getattr(job_box[0], "total_bytes_processed", None) if job_box else None
        return QueryResult(rows, sql, processed, time.perf_counter() - started)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one DDL/DML statement as a query job; a multi-statement script is refused
        before any job starts (BigQuery itself would run a script)."""
        from nbaops.adapters.sql_dialect import statement_count

        count = statement_count(sql)
        if count != 1:
            raise WarehouseError(
                f"execute() takes exactly one statement, got {count}; scripts are refused"
            )
        config = self._job_config(params)

        def run() -> None:
            job = self.client.query(self._sql(sql), job_config=config, location=self.location)
            job.result()

        self._call("BigQuery statement", run)

    def estimate_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> int | None:
        """Bytes the query would scan (a dry run: free, nothing runs)."""
        config = self._job_config(params, dry_run=True, use_query_cache=False)

        def run() -> int | None:
            job = self.client.query(self._sql(sql), job_config=config, location=self.location)
            value = job.total_bytes_processed
            return int(value) if value is not None else None

        result: int | None = self._call("BigQuery dry run", run)
        return result

    def _fields(self, table: str) -> list[dict[str, Any]]:
        from nbaops.table_catalog import load_catalog

        try:
            spec = load_catalog(self.root).find(table)
        except Exception:  # an invalid catalog must not block a write: ask BigQuery
            spec = None
        return spec.schema() if spec is not None else self.table_schema(table)

    def insert_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Streaming insert of all rows in ONE ``insertAll`` request, skipInvalidRows=false.

        Guarantee: rows are validated against the schema first (unknown column, missing
        required value → WarehouseError, nothing sent); BigQuery then rejects the whole
        request if any row is invalid, so either every row is written or none is. Each
        row carries an insertId, so the client's automatic retries of the same request
        are de-duplicated (best effort, as BigQuery documents). More than 50,000 rows
        cannot be atomic and are refused.
        """
        if not rows:
            return
        if len(rows) > MAX_INSERT_ROWS:
            raise WarehouseError(
                f"insert into {table}: {len(rows)} rows exceed one atomic insertAll "
                f"request ({MAX_INSERT_ROWS}); nothing was written"
            )
        from nbaops.adapters.bq_params import json_rows

        fields = self._fields(table)
        check_rows(table, {f["name"]: f.get("mode") == "REQUIRED" for f in fields}, rows)
        payload = json_rows(rows, fields)
        table_id = self.table_id(table)

        def run() -> list[Any]:
            from google.cloud.bigquery.retry import DEFAULT_RETRY

            errors: list[Any] = self.client.insert_rows_json(
                table_id,
                payload,
                skip_invalid_rows=False,
                ignore_unknown_values=False,
                retry=DEFAULT_RETRY.with_deadline(self.retry_deadline_s),
            )
            return errors

        errors = self._call(f"insert into {table}", run)
        if errors:
            first = errors[0]
            reasons = "; ".join(
                f"{e.get('reason', '')}: {e.get('message', '')}" for e in first.get("errors", [])
            )
            raise WarehouseError(
                f"insert into {table} rejected ({len(errors)} row(s) with errors; nothing "
                f"written): row {first.get('index')}: {reasons}"
            )

    def table_schema(self, table: str) -> list[dict[str, Any]]:
        table_id = self.table_id(table)

        def run() -> list[dict[str, Any]]:
            return [
                _normalise_field(f.to_api_repr()) for f in self.client.get_table(table_id).schema
            ]

        result: list[dict[str, Any]] = self._call(f"get table {table}", run)
        return result

    def dataset_location(self, dataset: str) -> str | None:
        """The dataset's BigQuery location (``US``, ``EU``, a region), None when missing."""
        from google.api_core import exceptions as gexc

        dataset_id = f"{self.project}.{self.datasets.get(dataset, dataset)}"

        def run() -> str | None:
            try:
                return str(self.client.get_dataset(dataset_id).location or "")
            except gexc.NotFound:
                return None

        result: str | None = self._call(f"get dataset {dataset_id}", run)
        return result

    def create_tables(self, catalog: Catalog | None = None) -> list[str]:
        """Create missing datasets and tables from the catalog (partitioning + clustering)."""
        from google.cloud import bigquery

        from nbaops.table_catalog import load_catalog

        cat = catalog or load_catalog(self.root)
        created: list[str] = []

        def run() -> None:
            for dataset in cat.datasets:
                ds = bigquery.Dataset(f"{self.project}.{self.datasets.get(dataset, dataset)}")
                if self.location:
                    ds.location = self.location
                self.client.create_dataset(ds, exists_ok=True)
            for spec in cat:
                table = bigquery.Table(
                    self.table_id(spec.ref),
                    schema=[bigquery.SchemaField.from_api_repr(f) for f in spec.schema()],
                )
                if spec.partition:
                    table.time_partitioning = bigquery.TimePartitioning(
                        type_=bigquery.TimePartitioningType.DAY, field=spec.partition
                    )
                if spec.cluster:
                    table.clustering_fields = list(spec.cluster)
                self.client.create_table(table, exists_ok=True)
                created.append(spec.ref)

        self._call("creating BigQuery tables", run)
        return created


def _cancel_quietly(job: Any) -> None:
    # Best effort: the job may already be done or gone.
    with contextlib.suppress(Exception):
        job.cancel()


def _bq_value(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    if isinstance(value, list):
        return [_bq_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _bq_value(v) for k, v in value.items()}
    return value


def _normalise_field(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": raw["name"],
        "type": str(raw["type"]).upper(),
        "mode": str(raw.get("mode") or "NULLABLE").upper(),
    }
    if raw.get("description"):
        out["description"] = raw["description"]
    for key in ("precision", "scale", "maxLength"):
        if raw.get(key) not in (None, ""):
            out[key] = str(raw[key])
    if raw.get("fields"):
        out["fields"] = [_normalise_field(f) for f in raw["fields"]]
    return out


# --------------------------------------------------------------------------- factory


def open_warehouse(ctx: Context) -> Warehouse:
    """The profile's warehouse: DuckDB under the state folder (local) or BigQuery.

    A gcp-kind profile honours ``NBAOPS_BQ_ENDPOINT`` (a BigQuery emulator, anonymous
    credentials), which the emulator tests use.
    """
    profile = ctx.config.profile
    from nbaops.adapters.sql_cache import CACHE_DIR_NAME

    cache = ctx.home / CACHE_DIR_NAME
    if ctx.is_local:
        return DuckDBWarehouse(
            ctx.home / WAREHOUSE_FILE, datasets=profile.datasets, root=ctx.root, sql_cache_dir=cache
        )
    return BigQueryWarehouse(
        profile.project,
        profile.bigquery_location,
        datasets=profile.datasets,
        endpoint=read(ENDPOINT_ENV),
        root=ctx.root,
        sql_cache_dir=cache,
    )
