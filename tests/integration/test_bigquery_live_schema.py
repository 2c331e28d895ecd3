"""A live BigQuery table's schema, read through the official client from a local fake of
the ``tables.get`` reply, compares equal to the schema file that declares it.

The local warehouse copies what DuckDB cannot hold back from the schema file, so only a
BigQuery reply shows what the BigQuery engine keeps: it dropped a column's default, its
policy tags and a RANGE column's element type, so ``schema-diff --live`` planned a
``SET DEFAULT`` and noted a tag added on every run, and blocked ``schema-apply`` on a
RANGE column it saw retyped. Field shapes: https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#TableFieldSchema
"""

from __future__ import annotations

import copy
import json
from typing import Any

from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse
from nbaops.bqschema.breaking import compare
from nbaops.bqschema.diff import live_schema
from nbaops.bqschema.model import TableSchema
from nbaops.bqschema.parse import decode_document, to_table_schema

TAG = "projects/nba-props-platform/locations/us/taxonomies/1/policyTags/2"
FIELDS: list[dict[str, Any]] = [
    {"name": "game_id", "type": "STRING", "mode": "REQUIRED", "description": "the game"},
    {"name": "created_at", "type": "TIMESTAMP", "defaultValueExpression": "CURRENT_TIMESTAMP()"},
    {"name": "bettor", "type": "STRING", "policyTags": {"names": [TAG]}},
    {"name": "season", "type": "RANGE", "rangeElementType": {"type": "DATE"}},
    {"name": "team", "type": "STRING", "collation": "und:ci"},
    {"name": "stake", "type": "NUMERIC", "roundingMode": "ROUND_HALF_EVEN"},
    {
        "name": "line",
        "type": "RECORD",
        "fields": [{"name": "book", "type": "STRING", "defaultValueExpression": "'dk'"}],
    },
]


def _file(fields: list[dict[str, Any]] | dict[str, Any]) -> TableSchema:
    schema = to_table_schema(decode_document("t.json", json.dumps(fields).encode()))
    assert schema is not None
    return schema


def _live(fields: list[dict[str, Any]], **table: Any) -> TableSchema:
    """The live schema of a table whose ``tables.get`` reply holds ``fields`` and the
    ``table`` properties (e.g. ``defaultRoundingMode``), read as schema-diff --live does."""
    from worlds.http_fake import FakeServer

    gets: list[str] = []

    def route(request: Any) -> tuple[int, Any]:
        assert request.method == "GET"
        assert request.path.endswith("/projects/p/datasets/nba_ops/tables/bets")
        gets.append(request.path)
        reference = {"projectId": "p", "datasetId": "nba_ops", "tableId": "bets"}
        return 200, {"tableReference": reference, "schema": {"fields": fields}, **table}

    with FakeServer(route) as server:
        warehouse = BigQueryWarehouse("p", endpoint=server.url, timeout_s=10)
        schema = live_schema(warehouse.table_resource("nba_ops.bets"), "nba_ops.bets")
    assert len(gets) == 1  # one tables.get per table
    return schema


def test_a_live_table_equal_to_its_file_shows_no_difference() -> None:
    comparison = compare(_live(FIELDS), _file(FIELDS), "nba_ops.bets")
    assert not comparison.changed, (comparison.violations, comparison.allowed, comparison.notes)


def test_a_file_that_drops_what_only_bigquery_holds_is_a_difference() -> None:
    edited = copy.deepcopy(FIELDS)
    del edited[1]["defaultValueExpression"]
    del edited[2]["policyTags"]
    comparison = compare(_live(FIELDS), _file(edited), "nba_ops.bets")
    assert [v.rule for v in comparison.violations] == ["POLICY_TAG_NO_DELETE"]
    assert [s.kind for s in comparison.allowed] == ["drop_default"]


def test_a_file_that_drops_a_collation_or_rounding_mode_is_a_difference() -> None:
    # neither was in the schema model: the live table's case-insensitive column and its
    # rounding mode were invisible, so the file could drop them and diff clean
    edited = copy.deepcopy(FIELDS)
    del edited[4]["collation"]
    del edited[5]["roundingMode"]
    comparison = compare(_live(FIELDS), _file(edited), "nba_ops.bets")
    found = [(v.rule, v.column) for v in comparison.violations]
    assert found == [("COLLATION_SAME", "team"), ("ROUNDING_MODE_SAME", "stake")]


def test_unset_live_columns_take_the_live_tables_default_rounding_mode_and_collation() -> None:
    """An unset NUMERIC/STRING column of the live table rounds and compares as that table's
    defaultRoundingMode/defaultCollation (Table resource,
    https://cloud.google.com/bigquery/docs/reference/rest/v2/tables). The live schema was
    built from the fields alone: against a ROUND_HALF_EVEN, 'und:ci' table a file stating
    ROUND_HALF_AWAY_FROM_ZERO and '' got only notes, and one stating the table's own
    defaults got ROUNDING_MODE_SAME and COLLATION_SAME."""
    fields = [{"name": "stake", "type": "NUMERIC"}, {"name": "team", "type": "STRING"}]
    defaults = {"defaultRoundingMode": "ROUND_HALF_EVEN", "defaultCollation": "und:ci"}
    live = _live(fields, **defaults)
    assert (live.default_rounding_mode, live.default_collation) == ("ROUND_HALF_EVEN", "und:ci")

    def stating(rounding: str, collation: str) -> TableSchema:
        edited = copy.deepcopy(fields)
        edited[0]["roundingMode"] = rounding
        edited[1]["collation"] = collation
        return _file(edited)

    changed = compare(live, stating("ROUND_HALF_AWAY_FROM_ZERO", ""), "nba_ops.bets")
    found = [(v.rule, v.column) for v in changed.violations]
    assert found == [("ROUNDING_MODE_SAME", "stake"), ("COLLATION_SAME", "team")]
    same = compare(live, stating("ROUND_HALF_EVEN", "und:ci"), "nba_ops.bets")
    assert not same.violations, same.violations
    # a live column stating '' (case-sensitive) in that table does not take its default
    stated = [fields[0], {**fields[1], "collation": ""}]
    assert not compare(_live(stated, **defaults), _file(stated), "nba_ops.bets").changed
    # only the live columns are read, not the layout: a file stating one is not compared
    # with an unpartitioned table
    resource = {"schema": {"fields": fields}, "timePartitioning": {"type": "DAY"}, **defaults}
    assert not compare(live, _file(resource), "nba_ops.bets").changed


def _create_tables(catalog: Any) -> tuple[list[str], dict[str, Any]]:
    """``create_tables(catalog)`` against a fake BigQuery: what it returned, and each table
    resource it POSTed (by table id)."""
    from worlds.http_fake import FakeServer

    sent: dict[str, Any] = {}

    def route(request: Any) -> tuple[int, Any]:
        assert request.method == "POST"
        body = request.json()
        if request.path.endswith("/tables"):
            sent[body["tableReference"]["tableId"]] = body
        return 200, body

    with FakeServer(route) as server:
        warehouse = BigQueryWarehouse("p", endpoint=server.url, timeout_s=10)
        return warehouse.create_tables(catalog), sent


def test_created_tables_get_the_partition_unit_tables_yaml_declares(tmp_path: Any) -> None:
    """``partition_type: MONTH`` was accepted, then every table was created DAY-partitioned."""

    from nbaops.table_catalog import load_catalog

    schemas = tmp_path / "schemas"
    (schemas / "nba_ops").mkdir(parents=True)
    fields = [{"name": "d", "type": "DATE"}, {"name": "k", "type": "STRING"}]
    for name in ("monthly", "daily"):
        (schemas / "nba_ops" / f"{name}.json").write_text(json.dumps(fields))
    (schemas / "tables.yaml").write_text(
        "nba_ops.monthly: {partition: d, partition_type: MONTH, cluster: [k]}\n"
        "nba_ops.daily: {partition: d}\n"
    )
    _, created = _create_tables(load_catalog(schemas=schemas))
    assert created["monthly"]["timePartitioning"] == {"type": "MONTH", "field": "d"}
    assert created["monthly"]["clustering"] == {"fields": ["k"]}
    assert created["daily"]["timePartitioning"] == {"type": "DAY", "field": "d"}


def test_a_profile_cost_limit_is_sent_with_every_query_job(tmp_path: Any, monkeypatch: Any) -> None:
    """profiles.<p>.bigquery.maximum_bytes_billed reaches every query job (BigQuery fails a
    job that would bill more before it runs); a dry run (which bills nothing) is sent
    without it, and the refusal is one WarehouseError line."""
    import pytest
    import yaml
    from worlds.http_fake import FakeServer

    from nbaops.config import load_config
    from nbaops.context import open_warehouse
    from nbaops.errors import WarehouseError
    from nbaops.paths import project_root

    data = yaml.safe_load((project_root() / "nbaops.yaml").read_text(encoding="utf-8"))
    data["profiles"]["prod"].setdefault("bigquery", {})["maximum_bytes_billed"] = 10_485_760
    path = tmp_path / "nbaops.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    profile = load_config(path, "prod").profile
    assert profile.bigquery_maximum_bytes_billed == 10_485_760

    jobs: list[dict[str, Any]] = []
    message = "Query exceeded limit for bytes billed: 10485760. 20971520 or higher required."

    def route(request: Any) -> tuple[int, Any]:
        assert request.method == "POST" and request.path.endswith("/jobs")
        jobs.append(request.json()["configuration"])
        errors = [{"message": message, "reason": "bytesBilledLimitExceeded"}]
        return 400, {"error": {"code": 400, "message": message, "errors": errors}}

    with FakeServer(route) as server:
        monkeypatch.setenv("NBAOPS_BQ_ENDPOINT", server.url)
        warehouse = open_warehouse(profile, tmp_path / "home", project_root())
        with pytest.raises(WarehouseError, match="exceeded limit for bytes billed"):
            warehouse.query("SELECT game_id FROM nba_raw.games WHERE game_date = @d", {"d": "x"})
        with pytest.raises(WarehouseError):
            warehouse.estimate_bytes("SELECT 1 AS x")
    assert jobs[0]["query"]["maximumBytesBilled"] == "10485760"
    assert jobs[-1]["dryRun"] is True and "maximumBytesBilled" not in jobs[-1]["query"]


def test_list_tables_reads_every_page_and_a_missing_dataset_has_none() -> None:
    """``list_tables`` (schema-diff --live's unmanaged tables) through the official client:
    tables.list pages by pageToken, bounded by maxResults; a dataset that does not exist
    (404) has no tables, not an error
    (https://cloud.google.com/bigquery/docs/reference/rest/v2/tables/list)."""
    from worlds.http_fake import FakeServer

    seen: list[str] = []

    def route(request: Any) -> tuple[int, Any]:
        seen.append(request.path)
        if "/datasets/gone/" in request.path:
            return 404, {"error": {"code": 404, "message": "Not found: Dataset p:gone"}}
        assert request.path.endswith("/projects/p/datasets/nba_ops_prod/tables")
        assert request.query["maxResults"]
        ref = {"projectId": "p", "datasetId": "nba_ops_prod"}
        if request.query.get("pageToken") == ["2"]:
            return 200, {"tables": [{"tableReference": {**ref, "tableId": "audit"}}]}
        page = [{"tableReference": {**ref, "tableId": name}} for name in ("deploys", "bets")]
        return 200, {"tables": page, "nextPageToken": "2"}

    with FakeServer(route) as server:
        warehouse = BigQueryWarehouse(
            "p", endpoint=server.url, timeout_s=10, datasets={"nba_ops": "nba_ops_prod"}
        )
        assert warehouse.list_tables("nba_ops") == [
            "nba_ops.audit",
            "nba_ops.bets",
            "nba_ops.deploys",
        ]
        assert warehouse.list_tables("gone") == []
    assert len(seen) == 3


def test_a_table_created_from_a_file_gets_its_default_rounding_mode_and_collation() -> None:
    """A schema file's table resource states defaultRoundingMode and defaultCollation (what
    its unset NUMERIC and STRING columns round and compare as); create_tables sent neither,
    so BigQuery created the table rounding half away from zero and case-sensitive while
    schema-diff judged the columns by the file's defaults
    (https://cloud.google.com/bigquery/docs/reference/rest/v2/tables, Table)."""

    from nbaops.table_catalog import Catalog, TableSpec

    resource = {
        "defaultRoundingMode": "ROUND_HALF_EVEN",
        "defaultCollation": "und:ci",
        "schema": {"fields": [{"name": "team", "type": "STRING"}]},
    }
    with_defaults = to_table_schema(decode_document("bets.json", json.dumps(resource).encode()))
    plain = _file([{"name": "team", "type": "STRING"}])
    assert with_defaults is not None
    catalog = Catalog(
        tables={
            "nba_ops.bets": TableSpec("nba_ops", "bets", with_defaults),
            "nba_ops.plain": TableSpec("nba_ops", "plain", plain),
        }
    )
    names, sent = _create_tables(catalog)
    assert names == ["nba_ops.bets", "nba_ops.plain"]
    assert sent["bets"]["defaultRoundingMode"] == "ROUND_HALF_EVEN"
    assert sent["bets"]["defaultCollation"] == "und:ci"
    assert sent["bets"]["schema"]["fields"][0]["name"] == "team"
    assert "defaultRoundingMode" not in sent["plain"] and "defaultCollation" not in sent["plain"]


def test_a_table_created_from_a_file_keeps_the_column_options_the_model_does_not_read() -> None:
    """A column's timestampPrecision (12: picoseconds) and dataPolicies (field-level access
    control) pass bq-schema-lint's checks (OPTION_VALUE), but the schema model has no place
    for them and wrote the column back without: create_tables made a microsecond column
    with no data policy, readable by anyone the table is, against its schema file
    (https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#TableFieldSchema)."""

    from nbaops.table_catalog import Catalog, TableSpec

    policy = {"name": "projects/p/locations/us/dataPolicies/mask_email"}
    fields = [
        {"name": "at", "type": "TIMESTAMP", "timestampPrecision": "12"},
        {"name": "email", "type": "STRING", "dataPolicies": [policy]},
    ]
    catalog = Catalog(tables={"nba_ops.bets": TableSpec("nba_ops", "bets", _file(fields))})
    _, sent = _create_tables(catalog)
    at, email = sent["bets"]["schema"]["fields"]
    assert int(at["timestampPrecision"]) == 12  # the client sends the int64 as a number
    assert email["dataPolicies"] == [policy]
    # and read back from the live table, the column is the same as its file
    assert not compare(_live(sent["bets"]["schema"]["fields"]), _file(fields), "t").changed
