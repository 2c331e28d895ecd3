"""SQL rewriting for the two engines, parameter typing and the table catalog."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from nbaops.adapters.bq_params import TypedValue, json_rows, to_query_parameters
from nbaops.adapters.sql_dialect import to_duckdb
from nbaops.adapters.sql_qualify import qualify_bigquery
from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse
from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.bqschema.model import Field
from nbaops.context import Context, open_warehouse
from nbaops.errors import ConfigError, WarehouseError
from nbaops.sandbox.world import open_context
from nbaops.table_catalog import duckdb_type, load_catalog

ROOT = Path(__file__).resolve().parents[2]


def test_qualify_bigquery_rewrites_only_table_references() -> None:
    sql = (
        "SELECT g.game_date, 'nba_raw.games' AS s FROM `nba_raw.games` g "
        "JOIN nba_predictions.player_prop_predictions p USING (game_id) "
        "WHERE g.game_date = @d "
        "AND EXTRACT(DATE FROM p.created_at AT TIME ZONE 'America/New_York') = @d"
    )
    out = qualify_bigquery(sql, "nba-props-platform", {"nba_raw": "raw_prod"})
    assert "`nba-props-platform.raw_prod.games` g" in out
    assert "`nba-props-platform.nba_predictions.player_prop_predictions` p" in out
    # everything else (string literals, functions, spacing) is sent verbatim
    assert "'nba_raw.games' AS s" in out
    assert "EXTRACT(DATE FROM p.created_at AT TIME ZONE 'America/New_York') = @d" in out


def test_qualify_bigquery_leaves_explicit_projects_ctes_and_unnest_alone() -> None:
    sql = (
        "WITH recent AS (SELECT * FROM `other-proj.nba_raw.games` WHERE game_date = @d) "
        "SELECT x FROM recent, UNNEST(@xs) AS x"
    )
    assert qualify_bigquery(sql, "p-1", {"nba_raw": "mapped"}) == sql


def test_qualify_bigquery_names_the_table_of_every_ddl_statement_schema_apply_sends() -> None:
    """SQLGlot keeps ``ALTER COLUMN ... SET OPTIONS`` as unparsed text: its table was sent
    as the logical ``nba_ops.deploys``, so with a dataset mapped BigQuery changed (or did
    not find) the unmapped dataset's table."""
    from nbaops.bqschema import ddl

    mapping = {"nba_ops": "ops_prod"}
    statements = [
        ddl.set_description("nba_ops.deploys", "message", "what happened"),
        ddl.set_description("nba_ops.deploys", "message", None),
        ddl.add_column("nba_ops.deploys", Field("note", "STRING")),
        ddl.drop_not_null("nba_ops.deploys", "message"),
    ]
    for statement in statements:
        out = qualify_bigquery(statement.sql, "p-1", mapping)
        assert out.startswith("ALTER TABLE `p-1.ops_prod.deploys` "), (statement.kind, out)
    if_exists = (
        "ALTER TABLE IF EXISTS nba_ops.deploys ALTER COLUMN m SET OPTIONS (description = 'x')"
    )
    assert "IF EXISTS `p-1.ops_prod.deploys` ALTER" in qualify_bigquery(if_exists, "p-1", mapping)
    # a string literal that looks like a table is never rewritten
    quoted = ddl.set_description("nba_ops.deploys", "message", "copied from nba_ops.deploys")
    assert "'copied from nba_ops.deploys'" in qualify_bigquery(quoted.sql, "p-1", mapping)


def test_to_duckdb_maps_datasets_and_lists_parameters() -> None:
    (st,) = to_duckdb(
        "SELECT * FROM `proj.nba_raw.games` WHERE game_date BETWEEN @a AND @b",
        {"nba_raw": "raw_dev"},
    )
    assert "raw_dev" in st.sql and "proj" not in st.sql
    assert st.params == frozenset({"a", "b"}) and not st.needs_now


def test_to_duckdb_drops_struct_field_constraints_duckdb_cannot_hold() -> None:
    # The BigQuery DDL of an added RECORD keeps NOT NULL and OPTIONS on its fields (also in
    # an ARRAY<STRUCT>); DuckDB's STRUCT(...) takes neither (NOT NULL: a syntax error).
    from nbaops.bqschema import ddl

    inner = Field("d", "STRING", description="deep")
    rec = Field(
        "rec",
        "STRUCT",
        fields=[
            Field("b", "INT64", mode="REQUIRED", description="b's"),
            Field("c", "STRUCT", mode="REPEATED", fields=[inner], description="cc"),
        ],
        description="top",
    )
    statement = ddl.add_column("nba.t", rec)
    assert "`b` INT64 NOT NULL OPTIONS (description='b\\'s')" in statement.sql
    assert "ARRAY<STRUCT<`d` STRING OPTIONS (description='deep')>> OPTIONS" in statement.sql
    (duck,) = to_duckdb(statement.sql, {"nba": "nba_dev"})
    assert duck.sql == (
        'ALTER TABLE nba_dev."t" ADD COLUMN IF NOT EXISTS "rec" '
        'STRUCT("b" BIGINT, "c" STRUCT("d" TEXT)[])'
    )


def test_to_duckdb_rejects_unparseable_sql() -> None:
    with pytest.raises(WarehouseError, match="does not parse"):
        to_duckdb("SELECT (1")


def test_query_parameters_are_typed_like_the_sql_convention() -> None:
    params = to_query_parameters(
        {
            "d": dt.date(2026, 1, 1),
            "t": dt.datetime(2026, 1, 1, 12, 0),  # naive = UTC
            "n": 3,
            "f": 0.5,
            "s": "x",
            "b": True,
            "m": Decimal("1.5"),
            "xs": ["a", "b"],
            "empty": TypedValue([], "INT64", array=True),
            "null": None,
        }
    )
    by_name = {p.name: p for p in params}
    assert by_name["d"].type_ == "DATE"
    assert by_name["t"].type_ == "TIMESTAMP"
    assert by_name["t"].value == dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert by_name["n"].type_ == "INT64"
    assert by_name["f"].type_ == "FLOAT64"
    assert by_name["s"].type_ == "STRING"
    assert by_name["b"].type_ == "BOOL"  # not INT64 although bool is an int
    assert by_name["m"].type_ == "NUMERIC"
    assert by_name["xs"].array_type == "STRING" and by_name["xs"].values == ["a", "b"]
    assert by_name["empty"].array_type == "INT64" and by_name["empty"].values == []
    assert by_name["null"].value is None
    with pytest.raises(WarehouseError, match="^query parameter @bad: array mixes types"):
        to_query_parameters({"bad": [1, "a"]})
    with pytest.raises(WarehouseError, match="^query parameter @bad: type object has no BigQuery"):
        to_query_parameters({"bad": object()})


def test_json_rows_serialise_for_insert_all() -> None:
    rows = json_rows(
        [
            {
                "at": dt.datetime(2026, 1, 1, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
                "d": dt.date(2026, 1, 1),
                "verdicts": {"a": "PASS"},
                "m": Decimal("2.50"),
            }
        ],
        [{"name": "verdicts", "type": "JSON"}, {"name": "at", "type": "TIMESTAMP"}],
    )
    assert rows == [
        {
            "at": "2026-01-01T12:00:00+00:00",
            "d": "2026-01-01",
            "verdicts": json.dumps({"a": "PASS"}),
            "m": "2.50",
        }
    ]
    # a row may name a column in any case (BigQuery's are case-insensitive): still typed
    assert json_rows([{"Verdicts": {"a": "PASS"}}], [{"name": "verdicts", "type": "JSON"}]) == [
        {"Verdicts": json.dumps({"a": "PASS"})}
    ]


def test_catalog_reads_every_schema_with_partitions() -> None:
    catalog = load_catalog(ROOT)
    games = catalog.get("nba_raw.games")
    assert games.partition == "game_date" and games.partition_type == "DATE"
    assert catalog.get("`proj.nba_ops.deploys`").partition == "started_at"
    assert set(catalog.datasets) == {
        "nba_raw",
        "nba_analytics",
        "nba_precompute",
        "nba_predictions",
        "nba_ops",
    }
    with pytest.raises(ConfigError, match="unknown table 'nba_raw.nope'"):
        catalog.get("nba_raw.nope")


def test_bigquery_types_map_to_duckdb() -> None:
    assert duckdb_type(Field("t", "TIMESTAMP")) == "TIMESTAMPTZ"
    assert duckdb_type(Field("n", "NUMERIC")) == "DECIMAL(38, 9)"
    assert duckdb_type(Field("n", "NUMERIC", precision=10, scale=2)) == "DECIMAL(10, 2)"
    assert duckdb_type(Field("n", "NUMERIC", precision=10)) == "DECIMAL(10, 0)"
    assert duckdb_type(Field("i", "INT64", mode="REPEATED")) == "BIGINT[]"
    assert duckdb_type(Field("j", "JSON")) == "JSON"
    assert duckdb_type(Field("b", "BYTES")) == "BLOB"
    struct = Field("s", "STRUCT", fields=[Field("a", "DATETIME")])
    assert duckdb_type(struct) == 'STRUCT("a" TIMESTAMP)'
    with pytest.raises(ConfigError, match="no DuckDB type for BigQuery RANGE"):
        duckdb_type(Field("r", "RANGE", range_element="DATE"))


def test_duckdb_ddl_is_a_tree_hostile_names_and_descriptions_stay_data() -> None:
    """Schema files are input: a name or description with quotes, a semicolon or a
    backslash is a quoted identifier or a string literal in the created table (the DDL
    is built as SQLGlot trees, not pasted text), and DuckDB reads each back unchanged."""
    import duckdb

    from nbaops.bqschema.model import TableSchema
    from nbaops.table_catalog import TableSpec, duckdb_comment, duckdb_ddl, duckdb_drop_table

    name = 'odd "col"; DROP TABLE x'
    text = "it's a \\ path'); DROP TABLE x; --"
    fields = [
        Field(name, "STRING", mode="REQUIRED", description=text),
        Field("tags", "STRUCT", mode="REPEATED", fields=[Field('a"b', "NUMERIC")]),
        Field("raw", "BYTES"),
    ]
    spec = TableSpec("data set", 't"able', TableSchema(fields=fields))
    con = duckdb.connect()
    for statement in duckdb_ddl(spec):
        con.execute(statement)
    described = con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'data set' AND table_name = 't\"able' ORDER BY ordinal_position"
    ).fetchall()
    assert described == [
        (name, "VARCHAR", "NO"),
        ("tags", 'STRUCT("a""b" DECIMAL(38,9))[]', "YES"),
        ("raw", "BLOB", "YES"),
    ]
    comment = "SELECT comment FROM duckdb_columns() WHERE column_name = $c"
    assert con.execute(comment, {"c": name}).fetchall() == [(text,)]
    con.execute(duckdb_comment("data set", 't"able', name, None))
    assert con.execute(comment, {"c": name}).fetchall() == [(None,)]
    con.execute(duckdb_drop_table("data set", 't"able'))
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchall() == [(0,)]


def test_catalog_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "schemas" / "nba_raw").mkdir(parents=True)
    (tmp_path / "schemas" / "nba_raw" / "t.json").write_text(
        json.dumps([{"name": "a", "type": "STRANGE"}])
    )
    # the same lint rules as the bq-schema-lint hook, with the file and line
    with pytest.raises(ConfigError, match=r"t\.json:1: TYPE_UNKNOWN a: unknown type 'STRANGE'"):
        load_catalog(tmp_path)
    (tmp_path / "schemas" / "nba_raw" / "t.json").write_text(
        json.dumps([{"name": "a", "type": "DATE"}])
    )
    (tmp_path / "schemas" / "tables.yaml").write_text("nba_raw.t: {partition: b}\n")
    with pytest.raises(ConfigError, match="'b' is not a column"):
        load_catalog(tmp_path)


def test_catalog_matches_partition_and_cluster_columns_in_any_case(tmp_path: Path) -> None:
    """BigQuery column names are case-insensitive, and bq-schema-lint/-breaking match
    tables.yaml's columns so: the catalog refused `partition: Game_Date` for a `game_date`
    column (sql-schema-refs exited 2, every local run failed) while both hooks passed."""
    from nbaops.bqschema.lint import layout_problems
    from nbaops.bqschema.model import Partitioning, TableSchema

    (tmp_path / "schemas" / "nba_raw").mkdir(parents=True)
    (tmp_path / "schemas" / "nba_raw" / "t.json").write_text(
        json.dumps([{"name": "game_date", "type": "DATE"}, {"name": "team", "type": "STRING"}])
    )
    (tmp_path / "schemas" / "tables.yaml").write_text(
        "nba_raw.t: {partition: Game_Date, cluster: [TEAM]}\n"
    )
    spec = load_catalog(tmp_path).get("nba_raw.t")
    assert (spec.partition, spec.cluster, spec.partition_type) == ("Game_Date", ("TEAM",), "DATE")
    as_hooks_see_it = TableSchema(spec.fields, Partitioning("Game_Date"), ("TEAM",))
    assert layout_problems(as_hooks_see_it) == []


def test_open_warehouse_picks_the_engine_by_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path))
    ctx = open_context("local")
    local = open_warehouse(ctx.config.profile, ctx.home, ctx.root)
    assert isinstance(local, DuckDBWarehouse) and local.path == tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("NBAOPS_BQ_ENDPOINT", "http://127.0.0.1:9")
    ctx = Context.create("prod")
    prod = open_warehouse(ctx.config.profile, ctx.home, ctx.root)
    assert isinstance(prod, BigQueryWarehouse)
    assert prod.project == "nba-props-platform" and prod.endpoint == "http://127.0.0.1:9"
    assert prod.table_id("nba_raw.games") == "nba-props-platform.nba_raw.games"


def test_to_duckdb_ddl_of_a_bytes_length_and_a_current_timestamp_default() -> None:
    # BLOB takes no length; a column DEFAULT is evaluated per insert and DuckDB refuses a
    # parameter there, so CURRENT_TIMESTAMP() stays DuckDB's own function in DDL
    (blob,) = to_duckdb("ALTER TABLE `nba.t` ADD COLUMN IF NOT EXISTS `b` BYTES(8)")
    assert blob.sql.endswith('"b" BLOB')
    (add,) = to_duckdb(
        "ALTER TABLE `nba.t` ADD COLUMN IF NOT EXISTS `at` TIMESTAMP DEFAULT CURRENT_TIMESTAMP()"
    )
    (alter,) = to_duckdb("ALTER TABLE `nba.t` ALTER COLUMN `at` SET DEFAULT CURRENT_DATE()")
    assert not add.needs_now and not alter.needs_now
    assert add.sql.endswith("DEFAULT CURRENT_TIMESTAMP")
    assert "$" not in alter.sql
    (query,) = to_duckdb("SELECT CURRENT_TIMESTAMP() AS now")
    assert query.needs_now  # queries still read the pinned clock


class _RejectingClient:
    """``insert_rows_json`` answering like BigQuery with skipInvalidRows=false: the invalid
    row's reason, and ``stopped`` with no message for every valid row it held back."""

    def __init__(self, errors: list[dict[str, object]]) -> None:
        self.errors = errors

    def insert_rows_json(self, *args: object, **kwargs: object) -> list[dict[str, object]]:
        return self.errors


def test_a_rejected_insert_names_the_invalid_row_not_a_row_held_back_with_it() -> None:
    """insertAll with skipInvalidRows=false answers an error for *every* row: the valid ones
    with reason ``stopped`` and an empty message (held back because another row was
    invalid), the invalid one with its reason. The first entry was reported, so a history
    write failing on its 4th row said "row 0: stopped: " and hid why."""
    stopped = {"reason": "stopped", "location": "", "debugInfo": "", "message": ""}
    bad = {"reason": "invalid", "location": "value", "message": "Cannot convert value"}
    warehouse = BigQueryWarehouse("p", root=ROOT)
    warehouse._client_obj = _RejectingClient(
        [
            {"index": 0, "errors": [stopped]},
            {"index": 1, "errors": [stopped]},
            {"index": 2, "errors": [stopped]},
            {"index": 3, "errors": [bad]},
        ]
    )
    at = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
    row = {"run_at": at, "profile": "prod", "check_name": "c", "service": "s", "verdict": "PASS"}
    rows = [{**row, "run_id": f"r{i}"} for i in range(4)]
    with pytest.raises(WarehouseError) as raised:
        warehouse.insert_rows("nba_ops.check_results", rows)
    message = str(raised.value)
    assert "row 3: invalid: Cannot convert value" in message, message
    assert "nothing written" in message and "stopped" not in message


def test_json_rows_send_a_non_finite_float_as_the_string_bigquery_reads() -> None:
    """JSON has no NaN or Infinity: json.dumps wrote them as bare ``NaN``/``Infinity``
    tokens, a body insertAll refuses whole ("Invalid JSON payload"), while the local
    engine stored them. The client's own ``insert_rows`` sends them as strings
    (``_helpers._float_to_json``: "nan", "inf", "-inf"), which a FLOAT64 column reads."""
    from google.cloud.bigquery._helpers import _float_to_json

    values = [float("nan"), float("inf"), float("-inf")]
    rows = json_rows([{"x": v, "xs": [v]} for v in values], [{"name": "x", "type": "FLOAT64"}])
    json.dumps(rows, allow_nan=False)  # one valid JSON document
    assert [r["x"] for r in rows] == [_float_to_json(v) for v in values] == ["nan", "inf", "-inf"]
    assert [r["xs"] for r in rows] == [["nan"], ["inf"], ["-inf"]]
    assert json_rows([{"x": 0.5}]) == [{"x": 0.5}]  # a finite float stays a number


class _Job:
    """A started query job whose ``result()`` raises ``error``; records cancels."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.cancels: list[dict[str, object]] = []

    def result(self, **_kwargs: object) -> list[object]:
        raise self.error

    def cancel(self, **kwargs: object) -> bool:
        self.cancels.append(kwargs)
        return True


class _StartingClient:
    def __init__(self, job: _Job) -> None:
        self.job = job

    def query(self, *_args: object, **_kwargs: object) -> _Job:
        return self.job


@pytest.mark.parametrize("method", ["query", "execute"])
def test_a_ctrl_c_while_a_job_runs_cancels_the_job_and_is_raised_again(method: str) -> None:
    """Ctrl-C (or a SIGTERM raised as KeyboardInterrupt) while waiting for a query's or a
    statement's result: the job was cancelled only on a WarehouseError, so an interrupted
    query went on running and billing in BigQuery, and an interrupted DML statement could
    still change the table after the task had stopped."""
    job = _Job(KeyboardInterrupt())
    warehouse = BigQueryWarehouse("p", root=ROOT, timeout_s=30)
    warehouse._client_obj = _StartingClient(job)
    sql = "SELECT 1 AS x" if method == "query" else "DELETE FROM nba_ops.deploys WHERE TRUE"
    with pytest.raises(KeyboardInterrupt):
        getattr(warehouse, method)(sql)
    assert len(job.cancels) == 1, "the interrupted job was left running"
    assert job.cancels[0] == {"retry": None, "timeout": 5.0}  # one bounded request


def test_a_statement_that_times_out_cancels_its_job() -> None:
    """execute() (schema apply's DDL, DML) never cancelled its job: a statement that timed
    out was reported failed while BigQuery went on running it, and it could still change
    the table afterwards. query() cancels on a timeout or failure; execute() now too."""
    import concurrent.futures

    job = _Job(concurrent.futures.TimeoutError())
    warehouse = BigQueryWarehouse("p", root=ROOT, timeout_s=2)
    warehouse._client_obj = _StartingClient(job)
    with pytest.raises(WarehouseError, match="BigQuery statement: timed out"):
        warehouse.execute("ALTER TABLE nba_ops.deploys ADD COLUMN IF NOT EXISTS z STRING")
    assert job.cancels == [{"retry": None, "timeout": 2.0}]


def test_an_integer_outside_int64_is_refused_before_any_query() -> None:
    """INT64 holds -2**63 .. 2**63-1 (BigQuery data types, "Integer types":
    https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#integer_types).
    A Python int past that was typed INT64 and sent as its digits: BigQuery refused the job
    with an HTTP 400 after the request, and the local engine bound it as a wider integer
    and answered. It is now one line naming the parameter, before any request, on both
    engines (check_query_parameters); the ends of the range still pass."""
    from nbaops.adapters.bq_params import check_query_parameters

    lowest, highest = -(2**63), 2**63 - 1
    by_name = {p.name: p for p in to_query_parameters({"lo": lowest, "hi": highest})}
    assert by_name["lo"].type_ == by_name["hi"].type_ == "INT64"
    assert by_name["hi"].value == highest
    for name, value in {
        "big": 2**63,
        "small": -(2**63) - 1,
        "ids": [1, 2**64],
        "typed": TypedValue(2**70, "INT64"),
        "digits": 10**5000,  # str() of it raises ValueError: the message must not
    }.items():
        for call in (to_query_parameters, check_query_parameters):
            with pytest.raises(WarehouseError, match=f"^query parameter @{name}: .*INT64"):
                call({name: value})


def test_a_decimal_that_numeric_cannot_hold_is_a_bignumeric_parameter() -> None:
    """Every Decimal was typed NUMERIC, which holds 9 decimal places and less than 1e29
    (https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#decimal_types):
    Decimal('0.0000000001') or Decimal('1e30') made BigQuery refuse the job. Google's own
    DB-API (google.cloud.bigquery.dbapi._helpers.bigquery_scalar_type) types such a value
    BIGNUMERIC; so does this module now, and an array holding one is ARRAY<BIGNUMERIC>,
    not "array mixes types". A NaN or infinite Decimal fits neither: one line, not a
    decimal.InvalidOperation traceback."""
    from google.cloud.bigquery.dbapi._helpers import bigquery_scalar_type

    values = {
        "fits": Decimal("12345.123456789"),
        "max": Decimal("99999999999999999999999999999.999999999"),
        "scale": Decimal("0.0000000001"),
        "huge": Decimal("1e30"),
        "negative": Decimal("-1e29"),
    }
    by_name = {p.name: p for p in to_query_parameters(values)}
    for name, value in values.items():
        assert by_name[name].type_ == bigquery_scalar_type(value), name
    assert by_name["fits"].type_ == by_name["max"].type_ == "NUMERIC"
    assert by_name["scale"].type_ == by_name["huge"].type_ == "BIGNUMERIC"
    (mixed,) = to_query_parameters({"xs": [Decimal("1.5"), Decimal("1e30")]})
    assert mixed.array_type == "BIGNUMERIC"
    (plain,) = to_query_parameters({"xs": [Decimal("1.5"), Decimal("2")]})
    assert plain.array_type == "NUMERIC"
    for bad in (Decimal("NaN"), Decimal("Infinity"), [Decimal("1"), Decimal("-Infinity")]):
        with pytest.raises(WarehouseError, match="^query parameter @d: .*NUMERIC"):
            to_query_parameters({"d": bad})


def test_a_json_column_holding_nan_or_infinity_is_sent_as_valid_json() -> None:
    """A JSON column's value (deploys.verdicts) is sent as JSON text: json.dumps wrote a
    NaN or an infinity inside it as the bare tokens ``NaN``/``Infinity``, which JSON does
    not have (RFC 8259 section 6: "Numeric values that cannot be represented in the grammar
    below (such as Infinity and NaN) are not permitted"), so BigQuery refused the row as
    invalid JSON and the whole insertAll with it. They are written as the strings Google's
    JSON mapping uses for them ("NaN", "Infinity", "-Infinity": proto3 JSON mapping of
    float and double, https://protobuf.dev/programming-guides/json/)."""

    def strict(text: str) -> object:
        def refuse(token: str) -> object:
            raise AssertionError(f"not JSON: {token} in {text}")

        return json.loads(text, parse_constant=refuse)

    value = {"ratio": float("nan"), "xs": [float("inf"), -float("inf")], "ok": 0.5, "n": None}
    (row,) = json_rows([{"verdicts": value}], [{"name": "verdicts", "type": "JSON"}])
    assert strict(row["verdicts"]) == {
        "ratio": "NaN",
        "xs": ["Infinity", "-Infinity"],
        "ok": 0.5,
        "n": None,
    }
    (row,) = json_rows([{"verdicts": float("nan")}], [{"name": "verdicts", "type": "JSON"}])
    assert strict(row["verdicts"]) == "NaN"
    (row,) = json_rows([{"verdicts": {"a": "PASS"}}], [{"name": "verdicts", "type": "JSON"}])
    assert row["verdicts"] == json.dumps({"a": "PASS"})  # finite values: as before


@pytest.mark.parametrize("method", ["query", "execute"])
def test_a_ctrl_c_right_after_the_job_started_still_cancels_it(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job was recorded for its cancel only after _run_query() had returned, and that
    still called Python code (the job retry's with_timeout) once jobs.insert had answered:
    a Ctrl-C arriving there left a started job nobody cancelled. The interrupt is raised
    at that instant here."""
    from google.cloud.bigquery import retry

    class _InterruptedRetry:
        def with_timeout(self, _timeout: float) -> object:
            raise KeyboardInterrupt

    monkeypatch.setattr(retry, "DEFAULT_JOB_RETRY", _InterruptedRetry())
    job = _Job(AssertionError("result() is not reached"))
    warehouse = BigQueryWarehouse("p", root=ROOT, timeout_s=30)
    warehouse._client_obj = _StartingClient(job)
    sql = "SELECT 1 AS x" if method == "query" else "DELETE FROM nba_ops.deploys WHERE TRUE"
    with pytest.raises(KeyboardInterrupt):
        getattr(warehouse, method)(sql)
    assert len(job.cancels) == 1, "the started job was left running"


def test_json_rows_send_an_int64_as_its_digits_as_the_clients_insert_rows_does() -> None:
    """An INT64 was sent to insertAll as a JSON number: past 2**53 a number is not exact
    for a reader that holds JSON numbers as doubles (9007199254740993 reads as ...992).
    Google's own insert_rows sends every INT64 as a string
    (google.cloud.bigquery._helpers._int_to_json), and its Java client documents why: "To
    ensure proper serialization of numeric data, [...] supply values using a string-typed
    representation" (InsertAllRequest.RowToInsert, googleapis/java-bigquery#190)."""
    from google.cloud.bigquery._helpers import _int_to_json

    big = 2**53 + 1
    fields = [{"name": "n", "type": "INT64"}, {"name": "ns", "type": "INTEGER"}]
    (row,) = json_rows([{"n": big, "ns": [1, big], "flag": True, "other": 7}], fields)
    assert row == {"n": _int_to_json(big), "ns": ["1", str(big)], "flag": True, "other": 7}
    assert json_rows([{"n": None}], fields) == [{"n": None}]
