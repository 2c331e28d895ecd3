"""The BigQuery warehouse engine (prod profiles).

``google.cloud.bigquery`` is imported on first use; Application Default Credentials, or an
emulator endpoint with anonymous credentials (``NBAOPS_BQ_ENDPOINT`` or ``endpoint=``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nbaops.adapters.credentials import client_kwargs
from nbaops.adapters.errors import error_reason, google_call, network_failure
from nbaops.adapters.warehouse import (
    MAX_INSERT_ROWS,
    MAX_LISTED_TABLES,
    QueryResult,
    check_rows,
    split_ref,
    utc_values,
)
from nbaops.errors import WarehouseError

if TYPE_CHECKING:
    from nbaops.bqschema.ddl import Statement
    from nbaops.table_catalog import Catalog, TableSpec

T = TypeVar("T")

# How one BigQuery call is retried (the client's own defaults retry for 10 minutes, job
# failures for 40, and send requests without a timeout: an unreachable endpoint hung a
# health run for as long). BigQuery documents retrying 5xx and the rateLimitExceeded /
# backendError reasons with backoff; a connection that cannot be made is retried twice
# (a blip), then reported at once as unreachable, not as a slow query.
RETRY_REASONS = frozenset({"rateLimitExceeded", "backendError", "internalError", "badGateway"})
UNREACHABLE_RETRIES = 2
CANCEL_TIMEOUT_S = 5.0  # the job cancel after a failed query: one request, at most this


def bounded_retry(deadline_s: float) -> Any:
    """A ``google.api_core`` Retry for one call: transient API errors until ``deadline_s``,
    an unreachable endpoint :data:`UNREACHABLE_RETRIES` times."""
    from google.api_core import exceptions as gexc
    from google.api_core.retry import Retry

    transient = (
        gexc.TooManyRequests,
        gexc.InternalServerError,
        gexc.BadGateway,
        gexc.ServiceUnavailable,
        gexc.GatewayTimeout,
    )
    seen = [0]

    def predicate(exc: Exception) -> bool:
        if network_failure(exc):
            seen[0] += 1
            return seen[0] <= UNREACHABLE_RETRIES
        if isinstance(exc, transient):
            return True
        return error_reason(exc) in RETRY_REASONS

    return Retry(predicate=predicate, initial=1.0, maximum=8.0, timeout=deadline_s)


class BigQueryWarehouse:
    """BigQuery through ``google.cloud.bigquery`` (imported on first use).

    Args:
        project: the GCP project (jobs run there; tables are qualified with it).
        location: where every job runs: the datasets' BigQuery location
            (``profiles.<p>.bigquery.location``, default ``US``), never the Cloud Run region.
        maximum_bytes_billed: a query job that would bill more fails before it runs
            (``profiles.<p>.bigquery.maximum_bytes_billed``; None: no limit).
        datasets: logical → real dataset names.
        endpoint: an emulator URL such as ``http://127.0.0.1:9050`` (anonymous
            credentials); None = the real API with Application Default Credentials.
        root: project root whose ``schemas/`` describes the tables (row validation).
        retry_deadline_s: how long the client retries transient API errors (429/5xx)
            of one call before giving up (the library default is 10 minutes).
        timeout_s: what one call may take, retries included, when its caller gives no
            timeout (a query's own ``timeout_s`` otherwise); every HTTP request is bounded.
        sql_cache_dir: where qualified SQL is kept across runs (None: in memory only).
    """

    kind = "bigquery"

    def __init__(
        self,
        project: str,
        location: str = "US",
        *,
        datasets: Mapping[str, str] | None = None,
        maximum_bytes_billed: int | None = None,
        endpoint: str | None = None,
        root: Path | None = None,
        retry_deadline_s: float = 60.0,
        timeout_s: float = 120.0,
        sql_cache_dir: Path | None = None,
    ) -> None:
        self.project = project
        self.timeout_s = timeout_s
        self.sql_cache_dir = sql_cache_dir
        self.retry_deadline_s = retry_deadline_s
        self.location = location
        self.maximum_bytes_billed = maximum_bytes_billed
        self.datasets = dict(datasets or {})
        self.endpoint = endpoint
        self.root = root
        self._client_obj: Any = None
        self._client_lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client_obj is None:
                self._client_obj = self._call("client", self._make_client)
            return self._client_obj

    def _make_client(self) -> Any:
        from google.cloud import bigquery

        kwargs = client_kwargs(self.endpoint)
        del kwargs["transport"]  # BigQuery's client has one (REST) transport
        return bigquery.Client(project=self.project, location=self.location, **kwargs)

    def table_id(self, table: str) -> str:
        dataset, name = split_ref(table)
        return f"{self.project}.{self.datasets.get(dataset, dataset)}.{name}"

    def _sql(self, sql: str) -> str:
        from nbaops.adapters.sql_qualify import qualify_bigquery

        return qualify_bigquery(sql, self.project, self.datasets, cache_dir=self.sql_cache_dir)

    def _job_config(self, params: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        from google.cloud import bigquery

        from nbaops.adapters.bq_params import to_query_parameters

        if self.maximum_bytes_billed is not None and not kwargs.get("dry_run"):
            # BigQuery fails a job that would bill more, before it runs (a cost guard on
            # top of the partition filters every query has)
            kwargs["maximum_bytes_billed"] = self.maximum_bytes_billed
        return bigquery.QueryJobConfig(
            query_parameters=to_query_parameters(params), use_legacy_sql=False, **kwargs
        )

    def _call(self, what: str, fn: Callable[[], T], timeout_s: float | None = None) -> T:
        """``fn()``; every failure is one WarehouseError line (``errors.google_call``)."""
        return google_call(
            "BigQuery", what, fn, error=WarehouseError, timeout_s=timeout_s, typed=False
        )

    def _bounds(self, timeout_s: float | None = None) -> dict[str, Any]:
        """``retry`` and ``timeout`` for one client call (see :func:`bounded_retry`)."""
        limit = timeout_s if timeout_s is not None else self.timeout_s
        return {"retry": bounded_retry(min(self.retry_deadline_s, limit)), "timeout": limit}

    def _run_query(self, sql: str, config: Any, timeout_s: float | None, started: list[Any]) -> Any:
        """Start a query job; returns it with the bounds and the job retry its ``result()``
        takes. Every request and retry is bounded by the call's time. ``job_retry=None`` at
        the insert: the client otherwise wraps jobs.insert in its own 10-minute retry of
        any connection error, around ours; a job that *fails* with a retryable reason is
        still run again, by ``result()``, within the same time. The job goes into
        ``started`` the moment ``client.query`` returns it, before this method's own code
        (the job retry's ``with_timeout``) runs, so a Ctrl-C from then on cancels it. A
        Ctrl-C during jobs.insert or the client's handling of its answer still leaves the
        job unknown here: the client makes its id, and an id given up front would make
        the client's retry of a lost reply (409, then ``get_job``) a failure instead."""
        from google.cloud.bigquery import retry

        bounds = self._bounds(timeout_s)
        job = self.client.query(
            self._sql(sql), job_config=config, location=self.location, job_retry=None, **bounds
        )
        started.append(job)
        return job, {**bounds, "job_retry": retry.DEFAULT_JOB_RETRY.with_timeout(bounds["timeout"])}

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

        limit = timeout_s if timeout_s is not None else self.timeout_s

        def run() -> list[dict[str, Any]]:
            job, bounds = self._run_query(sql, config, limit, job_box)
            result = job.result(**bounds)
            return [{k: utc_values(v) for k, v in row.items()} for row in result]

        rows = _cancelling_on_failure(job_box, limit, lambda: self._call("query", run, limit))
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
        job_box: list[Any] = []

        def run() -> None:
            job, bounds = self._run_query(sql, config, None, job_box)
            job.result(**bounds)

        _cancelling_on_failure(
            job_box, self.timeout_s, lambda: self._call("statement", run, self.timeout_s)
        )

    def apply_ddl(self, statement: Statement) -> None:
        """Run one schema-change statement (BigQuery runs all of them as written)."""
        self.execute(statement.sql)

    def estimate_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> int | None:
        """Bytes the query would scan (a dry run: free, nothing runs)."""
        config = self._job_config(params, dry_run=True, use_query_cache=False)

        def run() -> int | None:
            job, _waits = self._run_query(sql, config, None, [])
            value = job.total_bytes_processed
            return int(value) if value is not None else None

        return self._call("dry run", run, self.timeout_s)

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
            errors: list[Any] = self.client.insert_rows_json(
                table_id,
                payload,
                skip_invalid_rows=False,
                ignore_unknown_values=False,
                **self._bounds(),
            )
            return errors

        errors = self._call(f"insert into {table}", run)
        if errors:
            # skipInvalidRows=false: every row of the request has an entry, the valid ones
            # reason "stopped" with no message (held back by another row); the invalid rows
            # say why, so they are the ones named (all "stopped": as they are)
            invalid = [e for e in errors if _not_only_stopped(e)] or errors
            first = invalid[0]
            reasons = "; ".join(
                f"{e.get('reason', '')}: {e.get('message', '')}" for e in first.get("errors", [])
            )
            raise WarehouseError(
                f"insert into {table} rejected ({len(invalid)} row(s) with errors; nothing "
                f"written): row {first.get('index')}: {reasons}"
            )

    def table_schema(self, table: str) -> list[dict[str, Any]]:
        fields: list[dict[str, Any]] = self.table_resource(table)["schema"]["fields"]
        return fields

    def table_resource(self, table: str) -> dict[str, Any]:
        """The table's fields and the table defaults its unset columns take, as its Table
        resource writes them: ``{"schema": {"fields": [...]}, "defaultRoundingMode": ...,
        "defaultCollation": ...}`` (each default only when the table states it), from one
        ``tables.get``. An unset NUMERIC column "inherits the table default rounding mode"
        and an unset STRING column "the table default collation"
        (https://cloud.google.com/bigquery/docs/reference/rest/v2/tables, Table); the
        client's Table has no property for either (googleapis/python-bigquery#1505): they
        are read from its resource."""
        table_id = self.table_id(table)

        def run() -> dict[str, Any]:
            got = self.client.get_table(table_id, **self._bounds())
            resource = got.to_api_repr()
            out: dict[str, Any] = {
                "schema": {"fields": [_normalise_field(f.to_api_repr()) for f in got.schema]}
            }
            for key in ("defaultRoundingMode", "defaultCollation"):
                if isinstance(resource.get(key), str):
                    out[key] = resource[key]
            return out

        return self._call(f"get table {table}", run, self.timeout_s)

    def list_tables(self, dataset: str) -> list[str]:
        """The logical ``dataset.table`` names of the dataset's tables (views included),
        sorted; [] when the dataset does not exist. At most :data:`MAX_LISTED_TABLES`
        (``tables.list`` pages through ``maxResults``:
        https://cloud.google.com/bigquery/docs/reference/rest/v2/tables/list)."""
        from google.api_core import exceptions as gexc

        dataset_id = f"{self.project}.{self.datasets.get(dataset, dataset)}"

        def run() -> list[str]:
            listed = self.client.list_tables(
                dataset_id, max_results=MAX_LISTED_TABLES, **self._bounds()
            )
            try:
                return sorted(f"{dataset}.{t.table_id}" for t in listed)
            except gexc.NotFound:  # raised by the first page, when iterated
                return []

        return self._call(f"list tables of {dataset_id}", run, self.timeout_s)

    def dataset_location(self, dataset: str) -> str | None:
        """The dataset's BigQuery location (``US``, ``EU``, a region), None when missing."""
        from google.api_core import exceptions as gexc

        dataset_id = f"{self.project}.{self.datasets.get(dataset, dataset)}"

        def run() -> str | None:
            try:
                return str(self.client.get_dataset(dataset_id, **self._bounds()).location or "")
            except gexc.NotFound:
                return None

        return self._call(f"get dataset {dataset_id}", run, self.timeout_s)

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
                self.client.create_dataset(ds, exists_ok=True, **self._bounds())
            for spec in cat:
                table = bigquery.Table(
                    self.table_id(spec.ref),
                    schema=[bigquery.SchemaField.from_api_repr(f) for f in spec.schema()],
                )
                if spec.partition:
                    table.time_partitioning = bigquery.TimePartitioning(
                        type_=spec.partition_unit, field=spec.partition
                    )
                if spec.cluster:
                    table.clustering_fields = list(spec.cluster)
                table = _with_table_defaults(table, spec)
                self.client.create_table(table, exists_ok=True, **self._bounds())
                created.append(spec.ref)

        self._call("creating tables", run)
        return created


def _with_table_defaults(table: Any, spec: TableSpec) -> Any:
    """``table`` with the schema file's ``defaultRoundingMode`` and ``defaultCollation``:
    the rounding mode and collation of its NUMERIC and STRING columns that state none
    (Table resource, https://cloud.google.com/bigquery/docs/reference/rest/v2/tables:
    "during table creation or update, if a STRING field is added to this table without
    explicit collation specified, then the table inherits the table default collation").
    The client's Table has no property for either (googleapis/python-bigquery#1505), so
    they go into the resource it sends."""
    from google.cloud import bigquery

    defaults = {
        "defaultRoundingMode": spec.model.default_rounding_mode,
        "defaultCollation": spec.model.default_collation,
    }
    stated = {key: value for key, value in defaults.items() if value is not None}
    if not stated:
        return table
    return bigquery.Table.from_api_repr({**table.to_api_repr(), **stated})


def _not_only_stopped(row_error: Mapping[str, Any]) -> bool:
    """Whether an ``insertErrors`` entry says why its row is invalid: not only reason
    ``stopped`` (a valid row not written because another row was invalid)."""
    return any(e.get("reason") != "stopped" for e in row_error.get("errors", []))


def _cancelling_on_failure(job_box: list[Any], limit_s: float, call: Callable[[], T]) -> T:
    """``call()``; when it does not return (failed, timed out, or a Ctrl-C or SIGTERM raised
    as KeyboardInterrupt while it waited) the job it started (``job_box``) is asked to stop:
    BigQuery runs a job to its end whether or not its caller still waits, and bills it
    ("Requests that a job be cancelled [...] Cancelled jobs may still incur costs",
    https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/cancel); a DDL/DML
    statement left running could still change the table after its caller reported a
    failure. The interrupt itself is raised again, after the cancel."""
    try:
        return call()
    except BaseException:
        if job_box:
            _cancel_quietly(job_box[0], min(limit_s, CANCEL_TIMEOUT_S))
        raise


def _cancel_quietly(job: Any, timeout_s: float) -> None:
    """Ask BigQuery to stop ``job``, once, for at most ``timeout_s``: best effort (it may be
    done or gone, or the network that failed the query may fail this too). The client's
    default would retry for 10 minutes, after the query had already failed."""
    with contextlib.suppress(Exception):
        job.cancel(retry=None, timeout=timeout_s)


def _normalise_field(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A live field as the schema files write it: every attribute the breaking-change
    comparison reads (a default, policy tags, a RANGE's element type, collation and rounding
    mode too: dropped, the comparison saw a default to set and a tag added on every run, a
    RANGE column retyped, and a collation or rounding mode removed)."""
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
    for key in ("defaultValueExpression", "roundingMode"):
        if raw.get(key):
            out[key] = raw[key]
    # '' is a collation too: case-sensitive, stated (dropped, the column read as taking
    # its table's defaultCollation, 'und:ci' in a case-insensitive table). "'': empty
    # string. Default to case-sensitive behavior" (bigquery v2 TableFieldSchema.collation,
    # https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#TableFieldSchema)
    if isinstance(raw.get("collation"), str):
        out["collation"] = raw["collation"]
    tags = raw.get("policyTags")
    if isinstance(tags, Mapping) and tags.get("names"):
        out["policyTags"] = {"names": list(tags["names"])}
    element = raw.get("rangeElementType")
    if isinstance(element, Mapping) and element.get("type"):
        out["rangeElementType"] = {"type": str(element["type"]).upper()}
    if raw.get("fields"):
        out["fields"] = [_normalise_field(f) for f in raw["fields"]]
    return out
