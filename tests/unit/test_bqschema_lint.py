"""bq-schema-lint rules: each fires on the case it names and stays quiet on valid input."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from nbaops.bqschema.lint import lint_document, lint_paths
from nbaops.bqschema.lint_rules import LINT_RULES
from nbaops.bqschema.model import CANONICAL_TYPES, MODES, Severity
from nbaops.bqschema.parse import MAX_BYTES, decode_document

ROOT = Path(__file__).resolve().parents[2]

EVERY_TYPE = [
    "STRING", "BYTES", "INTEGER", "INT64", "FLOAT", "FLOAT64", "BOOLEAN", "BOOL", "NUMERIC",
    "BIGNUMERIC", "TIMESTAMP", "DATE", "TIME", "DATETIME", "GEOGRAPHY", "JSON", "INTERVAL",
]  # fmt: skip


def every_type_fields() -> list[dict[str, Any]]:
    """A schema using every type (legacy and GoogleSQL spellings) in every mode."""
    fields: list[dict[str, Any]] = []
    for t in EVERY_TYPE:
        for mode in MODES:
            fields.append({"name": f"{t.lower()}_{mode.lower()}", "type": t, "mode": mode})
    fields += [
        {"name": "lower_case_type", "type": "string", "mode": "nullable"},
        {"name": "no_mode", "type": "Int64"},
        {"name": "rng", "type": "RANGE", "rangeElementType": {"type": "DATE"}},
        {"name": "price", "type": "NUMERIC", "precision": "10", "scale": "2"},
        {"name": "big", "type": "BIGNUMERIC", "precision": 76, "scale": 38},
        {"name": "code", "type": "STRING", "maxLength": "8", "collation": "und:ci"},
        {"name": "blob", "type": "BYTES", "maxLength": 1024},
        {"name": "created", "type": "TIMESTAMP", "defaultValueExpression": "CURRENT_TIMESTAMP()"},
        {"name": "amount", "type": "NUMERIC", "roundingMode": "ROUND_HALF_EVEN"},
        {"name": "secret", "type": "STRING",
         "policyTags": {"names": ["projects/p/locations/us/taxonomies/1/policyTags/2"]}},
        {"name": "rec", "type": "RECORD", "mode": "REPEATED", "description": "nested",
         "fields": [{"name": "a", "type": "INT64", "mode": "REQUIRED"},
                    {"name": "s", "type": "STRUCT", "fields": [{"name": "b", "type": "DATE"}]}]},
    ]  # fmt: skip
    return fields


def lint(data: Any, raw: bool = False) -> list[Any]:
    text = data if raw else json.dumps(data, indent=2)
    return lint_document(
        decode_document("schema.json", text.encode() if isinstance(text, str) else text)
    )


def rules(findings: list[Any]) -> list[str]:
    return [f.rule for f in findings]


def one_field(**kw: Any) -> list[dict[str, Any]]:
    return [{"name": "c", "type": "STRING", **kw}]


# -- valid input in all three forms ------------------------------------------------------


@pytest.mark.parametrize("form", ["array", "object", "table"])
def test_every_type_and_mode_is_valid_in_all_three_forms(form: str) -> None:
    fields = every_type_fields()
    doc: Any = {
        "array": fields,
        "object": {"fields": fields},
        "table": {
            "kind": "bigquery#table",
            "tableReference": {"projectId": "p", "datasetId": "nba_raw", "tableId": "t"},
            "schema": {"fields": fields},
            "timePartitioning": {"type": "DAY", "field": "date_required"},
            "clustering": {"fields": ["string_required", "int64_nullable"]},
            "numRows": "0",
        },
    }[form]
    assert lint(doc) == []


def test_every_canonical_type_is_covered_by_the_valid_sample() -> None:
    from nbaops.bqschema.model import canonical_type

    sampled = {canonical_type(f["type"]) for f in every_type_fields()}
    assert set(CANONICAL_TYPES) <= sampled


def test_repository_schemas_are_clean() -> None:
    files = sorted((ROOT / "schemas").glob("*/*.json"))
    assert files, "schemas/ has table schema files"
    for path in files:
        assert lint_paths([str(path)]) == [], path


# -- the file and JSON --------------------------------------------------------------------


def test_json_syntax_reports_line_and_column() -> None:
    text = '[\n  {"name": "a", "type": "STRING"},\n  {"name": "b" "type": "INT64"}\n]'
    (finding,) = lint(text, raw=True)
    assert finding.rule == "JSON_SYNTAX" and finding.line == 3
    assert "line 3, column 16" in finding.message
    assert finding.format().startswith("schema.json:3: JSON_SYNTAX ")


@pytest.mark.parametrize(
    "text",
    ["", "[1,]", '[{"name": "a", "type": "STRING"},]', "[NaN]", "{'a': 1}", "[" * 100_000],
)
def test_invalid_json_variants_are_json_syntax_findings(text: str) -> None:
    assert rules(lint(text, raw=True)) == ["JSON_SYNTAX"]


def test_non_utf8_and_binary_are_encoding_findings() -> None:
    findings = lint_document(
        decode_document("x.json", b'[\n{"name": "caf\xe9", "type": "STRING"}]')
    )
    assert rules(findings) == ["FILE_ENCODING"] and findings[0].line == 2
    assert rules(lint_document(decode_document("x.json", bytes(range(256))))) == ["FILE_ENCODING"]


@pytest.mark.parametrize(
    "body",
    [
        b'[\n{"name": "a", "type": "STRING", "description": "x\\ud800y"}]',
        b'[\n{"name": "a", "type": "STRING", "description": "\\udc00"}]',
        b'[\n{"name": "a", "type": "STRING", "policyTags": {"names": ["\\ud83d"]}}]',
        b'[\n{"name": "a", "type": "STRING", "x\\ud800": 1}]',
    ],
)
def test_a_lone_surrogate_escape_is_not_text(body: bytes) -> None:
    """json.loads keeps "\\ud800" as a lone surrogate: a description holding one passed the
    lint, though no UTF-8 text (what BigQuery stores) can hold it."""
    findings = lint_document(decode_document("x.json", body))
    assert rules(findings) == ["FILE_ENCODING"] and findings[0].line == 2
    assert "lone UTF-16 surrogate" in findings[0].message


def test_a_surrogate_pair_escape_is_one_character_and_fine() -> None:
    body = b'[{"name": "a", "type": "STRING", "description": "\\ud83c\\udfc0 ball"}]'
    assert rules(lint_document(decode_document("x.json", body))) == []


def test_a_byte_order_mark_is_a_finding_because_json_load_refuses_it() -> None:
    # bq --schema and Client.schema_from_json read the file with json.load: a BOM fails
    # there ("Unexpected UTF-8 BOM"), so the hook must not pass it. The rest is still linted.
    body = b'[{"name": "a", "type": "STRING"}]'
    assert rules(lint_document(decode_document("x.json", b"\xef\xbb\xbf" + body))) == ["FILE_BOM"]
    assert rules(lint_document(decode_document("x.json", body))) == []
    with_error = b'\xef\xbb\xbf[{"name": "a", "type": "STRNG"}]'
    assert set(rules(lint_document(decode_document("x.json", with_error)))) > {"FILE_BOM"}


def test_unreadable_and_huge_files(tmp_path: Path) -> None:
    assert rules(lint_paths([str(tmp_path / "missing.json")])) == ["FILE_UNREADABLE"]
    assert rules(lint_paths([str(tmp_path)])) == ["FILE_UNREADABLE"]
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    assert rules(lint_paths([str(big)])) == ["FILE_TOO_LARGE"]
    # a FIFO nobody writes to blocked open() for ever; a device never ends
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    assert rules(lint_paths([str(fifo), "/dev/zero"])) == ["FILE_UNREADABLE"] * 2


def test_the_largest_schema_bigquery_accepts_is_not_too_large() -> None:
    # 10,000 columns with 1,024-character descriptions (4-byte characters): ~40 MiB of
    # legal schema (~40 MB), refused as FILE_TOO_LARGE under the old 8 MiB limit.
    description = "\U0001f3c0" * 1024
    fields = [
        {"name": f"c{i}", "type": "STRING", "description": description} for i in range(10_000)
    ]
    text = json.dumps(fields, ensure_ascii=False)
    assert len(text.encode()) > 32 * 1024 * 1024  # four times the old limit
    assert lint(text, raw=True) == []


def test_duplicate_json_key() -> None:
    findings = lint('[{"name": "a", "type": "STRING", "type": "INT64"}]', raw=True)
    assert rules(findings) == ["JSON_DUPLICATE_KEY"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # only the root and the field objects were checked: the second value won, silently
        (
            '{"schema": {"fields": [{"name": "a", "type": "DATE"}], "fields": []}}',
            'schema: key "fields" appears more than once',
        ),
        (
            '{"schema": {"fields": [{"name": "a", "type": "DATE"}]}, '
            '"timePartitioning": {"field": "a", "field": "a"}}',
            'timePartitioning: key "field" appears more than once',
        ),
        (
            '[{"name": "r", "type": "RECORD", "fields": [{"name": "ssn", "type": "STRING", '
            '"policyTags": {"names": ["projects/p/locations/us/taxonomies/1/policyTags/9"], '
            '"names": []}}]}]',
            'r.ssn.policyTags: key "names" appears more than once',
        ),
    ],
)
def test_duplicate_json_key_in_any_object(text: str, message: str) -> None:
    found = [f for f in lint(text, raw=True) if f.rule == "JSON_DUPLICATE_KEY"]
    assert [f.message for f in found] == [message]


@pytest.mark.parametrize(
    "doc",
    ['"just a string"', "42", "null", '{"$schema": "x", "properties": {}}', '{"fields": {}}',
     '{"schema": []}', '["a", 1]'],
)  # fmt: skip
def test_wrong_shapes(doc: str) -> None:
    assert set(rules(lint(doc, raw=True))) == {"SCHEMA_SHAPE"}


def test_empty_schema_is_a_warning_only() -> None:
    (finding,) = lint([])
    assert finding.rule == "SCHEMA_EMPTY" and finding.severity is Severity.WARNING


def test_too_many_columns() -> None:
    fields = [{"name": f"c{i}", "type": "INT64"} for i in range(10_001)]
    assert rules(lint(fields)) == ["TOO_MANY_COLUMNS"]
    assert lint(fields[:10_000]) == []


# -- keys -----------------------------------------------------------------------------------


def test_unknown_key_suggests_the_closest_known_key() -> None:
    (finding,) = lint(one_field(decsription="x"))
    assert finding.rule == "UNKNOWN_KEY"
    assert 'did you mean "description"?' in finding.message
    (finding,) = lint(one_field(Mode="NULLABLE"))
    assert 'did you mean "mode"?' in finding.message


def test_unknown_key_without_a_close_match_has_no_suggestion() -> None:
    (finding,) = lint(one_field(zzzzzz=1))
    assert finding.rule == "UNKNOWN_KEY" and "did you mean" not in finding.message


def test_unknown_keys_in_schema_object_and_table_resource() -> None:
    assert rules(lint({"fields": [], "feilds": []})) == ["SCHEMA_EMPTY", "UNKNOWN_KEY"]
    found = lint({"schema": {"fields": one_field()}, "timePartitoning": {"type": "DAY"},
                  "clusterin": {}})  # fmt: skip
    assert rules(found) == ["UNKNOWN_KEY", "UNKNOWN_KEY"]
    assert {'"clustering"?' in found[0].message, '"timePartitioning"?' in found[0].message} == {
        True,
        False,
    }


def test_every_key_the_bigquery_discovery_document_declares_is_known() -> None:
    """UNKNOWN_KEY is "a key BigQuery does not know": the bigquery v2 discovery document
    bundled with google-api-python-client declares Table.numCurrentPhysicalBytes
    and Table.model, and TableFieldSchema.dataPolicyList, dataGovernanceTagsInfo and
    generatedColumn, which the lint reported as errors: a table resource as
    `bq show --format=prettyjson` prints it (numCurrentPhysicalBytes included) failed."""
    from nbaops.bqschema.lint_rules import FIELD_KEYS
    from nbaops.bqschema.parse import (
        CLUSTER_KEYS,
        PARTITION_KEYS,
        RANGE_KEYS,
        RANGE_PARTITION_KEYS,
        SCHEMA_KEYS,
        TABLE_KEYS,
    )
    from nbaops.local.discovery import documents_available, load_document

    if not documents_available():
        pytest.skip("google-api-python-client (its discovery documents) is not installed")
    declared = load_document("bigquery.v2")["schemas"]
    for schema, known in [
        ("Table", TABLE_KEYS),
        ("TableSchema", SCHEMA_KEYS),
        ("TableFieldSchema", FIELD_KEYS),
        ("TimePartitioning", PARTITION_KEYS),
        ("RangePartitioning", RANGE_PARTITION_KEYS),
        ("Clustering", CLUSTER_KEYS),
    ]:
        assert sorted(set(declared[schema]["properties"]) - set(known)) == [], schema
    ranged = declared["RangePartitioning"]["properties"]["range"]["properties"]
    assert set(RANGE_KEYS) <= set(ranged)
    printed = {"numCurrentPhysicalBytes": "1024", "schema": {"fields": one_field()}}
    assert lint(printed) == []


def test_key_value_type() -> None:
    assert rules(lint(one_field(description=5))) == ["KEY_VALUE_TYPE"]
    assert rules(lint(one_field(policyTags=["x"]))) == ["KEY_VALUE_TYPE"]


# -- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "FIELD_NAME_MISSING"),
        (None, "FIELD_NAME_MISSING"),
        ("1st", "FIELD_NAME_INVALID"),
        ("has space", "FIELD_NAME_INVALID"),
        ("dash-ed", "FIELD_NAME_INVALID"),
        ("note\n", "FIELD_NAME_INVALID"),  # `$` matches before a final newline
        ("x" * 301, "FIELD_NAME_TOO_LONG"),
        ("_TABLE_SUFFIX", "FIELD_NAME_RESERVED"),
        ("_file_name", "FIELD_NAME_RESERVED"),
        ("_PARTITIONTIME", "FIELD_NAME_RESERVED"),
        ("_ROW_TIMESTAMP", "FIELD_NAME_RESERVED"),
        ("__ROOT__x", "FIELD_NAME_RESERVED"),
        ("_COLIDENTIFIER_1", "FIELD_NAME_RESERVED"),
        ("_CHANGE_TYPE", "FIELD_NAME_RESERVED"),
        ("_change_sequence_number", "FIELD_NAME_RESERVED"),
        ("_CHANGE_TIMESTAMP_UTC", "FIELD_NAME_RESERVED"),
    ],
)
def test_bad_names(name: Any, rule: str) -> None:
    assert rules(lint([{"name": name, "type": "STRING"}])) == [rule]


# BigQuery reserves three _CHANGE_ names (CDC pseudo-columns), not the prefix _CHANGE_:
# `_change_reason` was refused as FIELD_NAME_RESERVED though BigQuery accepts it.
@pytest.mark.parametrize(
    "name", ["_ok", "a1", "x" * 300, "Points_Avg", "_table", "partition", "_change_reason"]
)
def test_good_names(name: str) -> None:
    assert lint([{"name": name, "type": "STRING"}]) == []


def test_duplicates_differing_only_in_case_at_the_same_level() -> None:
    findings = lint([{"name": "Points", "type": "INT64"}, {"name": "points", "type": "INT64"}])
    assert rules(findings) == ["FIELD_NAME_DUPLICATE"] and findings[0].line == 6
    nested_same_name = [
        {"name": "a", "type": "INT64"},
        {"name": "r", "type": "RECORD", "fields": [{"name": "A", "type": "INT64"}]},
    ]
    assert lint(nested_same_name) == []


# -- types and modes ----------------------------------------------------------------------


def test_type_missing_and_unknown_with_suggestions() -> None:
    assert rules(lint([{"name": "a"}])) == ["TYPE_MISSING"]
    (finding,) = lint([{"name": "a", "type": "INTEGR"}])
    assert finding.rule == "TYPE_UNKNOWN" and '"INTEGER"' in finding.message
    (finding,) = lint([{"name": "a", "type": "DECIMAL"}])
    assert '"NUMERIC"' in finding.message
    (finding,) = lint([{"name": "a", "type": "ARRAY"}])
    assert "mode REPEATED" in finding.message
    assert rules(lint([{"name": "a", "type": 3}])) == ["TYPE_UNKNOWN"]


def test_mode_unknown() -> None:
    (finding,) = lint(one_field(mode="OPTIONAL"))
    assert finding.rule == "MODE_UNKNOWN"
    (finding,) = lint(one_field(mode="REPEATD"))
    assert '"REPEATED"' in finding.message


def test_record_needs_fields_and_only_record_has_them() -> None:
    assert rules(lint([{"name": "r", "type": "RECORD"}])) == ["RECORD_NO_FIELDS"]
    assert rules(lint([{"name": "r", "type": "STRUCT", "fields": []}])) == ["RECORD_NO_FIELDS"]
    assert rules(lint(one_field(fields=[{"name": "x", "type": "INT64"}]))) == [
        "FIELDS_ON_NON_RECORD"
    ]


def nested(depth: int) -> list[dict[str, Any]]:
    node: dict[str, Any] = {"name": "leaf", "type": "INT64"}
    for i in range(depth - 1):
        node = {"name": f"r{i}", "type": "RECORD", "fields": [node]}
    return [node]


def test_nesting_depth_limit_is_15() -> None:
    assert lint(nested(15)) == []
    assert rules(lint(nested(16))) == ["NESTING_TOO_DEEP"]
    assert rules(lint(nested(60))) == ["NESTING_TOO_DEEP"]
    # Deeper than Python's recursion allows: still one finding, never a traceback.
    deep = '{"name": "r", "type": "RECORD", "fields": [' * 5000
    text = "[" + deep + '{"name": "x", "type": "INT64"}' + "]}" * 5000 + "]"
    (finding,) = lint(text, raw=True)
    assert finding.rule == "JSON_SYNTAX" and "nested too deeply" in finding.message


def test_range_element_type() -> None:
    assert rules(lint([{"name": "r", "type": "RANGE"}])) == ["RANGE_ELEMENT_TYPE"]
    bad = [{"name": "r", "type": "RANGE", "rangeElementType": {"type": "INT64"}}]
    assert rules(lint(bad)) == ["RANGE_ELEMENT_TYPE"]
    assert rules(lint(one_field(rangeElementType={"type": "DATE"}))) == ["RANGE_ELEMENT_TYPE"]


# -- parameters and options ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ftype", "precision", "scale", "ok"),
    [
        ("NUMERIC", 10, 2, True),
        ("NUMERIC", 38, 9, True),
        ("NUMERIC", 29, None, True),
        ("NUMERIC", 30, None, False),
        ("NUMERIC", 39, 9, False),
        ("NUMERIC", 12, 10, False),
        ("NUMERIC", 5, 5, False),
        ("BIGNUMERIC", 76, 38, True),
        ("BIGNUMERIC", 38, None, True),
        ("BIGNUMERIC", 77, 38, False),
        ("BIGNUMERIC", 50, 39, False),
        ("NUMERIC", None, 2, False),
        ("NUMERIC", "x", None, False),
        ("NUMERIC", 1.5, None, False),
    ],
)
def test_precision_scale_ranges(ftype: str, precision: Any, scale: Any, ok: bool) -> None:
    field: dict[str, Any] = {"name": "n", "type": ftype}
    if precision is not None:
        field["precision"] = precision
    if scale is not None:
        field["scale"] = scale
    assert rules(lint([field])) == ([] if ok else ["PRECISION_SCALE_RANGE"])


def test_precision_scale_only_on_numeric_types() -> None:
    assert rules(lint(one_field(precision=5))) == ["PRECISION_SCALE_TYPE"]
    assert rules(lint([{"name": "f", "type": "FLOAT64", "scale": 2}])) == ["PRECISION_SCALE_TYPE"]


def test_max_length_only_on_string_and_bytes_and_positive() -> None:
    assert rules(lint([{"name": "i", "type": "INT64", "maxLength": 3}])) == ["MAX_LENGTH_TYPE"]
    assert rules(lint(one_field(maxLength=0))) == ["MAX_LENGTH_RANGE"]
    assert rules(lint(one_field(maxLength="ten"))) == ["MAX_LENGTH_RANGE"]
    assert lint(one_field(maxLength="10")) == []


def test_default_value_only_on_top_level_columns() -> None:
    top = [{"name": "d", "type": "DATE", "defaultValueExpression": "CURRENT_DATE()"}]
    assert lint(top) == []
    inner = [{"name": "r", "type": "RECORD", "fields": top}]
    assert rules(lint(inner)) == ["DEFAULT_NOT_TOP_LEVEL"]


def test_description_length_limit() -> None:
    assert lint(one_field(description="x" * 1024)) == []
    assert rules(lint(one_field(description="x" * 1025))) == ["DESCRIPTION_TOO_LONG"]


def test_option_type() -> None:
    assert rules(lint(one_field(roundingMode="ROUND_HALF_EVEN"))) == ["OPTION_TYPE"]
    num = [{"name": "n", "type": "NUMERIC", "roundingMode": "UP"}]
    assert rules(lint(num)) == ["OPTION_TYPE"]
    # a value of TableFieldSchema.roundingMode's enum (bigquery v2 discovery document):
    # no rounding mode set, valid where a rounding mode is
    unset = [{"name": "n", "type": "BIGNUMERIC", "roundingMode": "ROUNDING_MODE_UNSPECIFIED"}]
    assert lint(unset) == []
    assert rules(lint(one_field(roundingMode="ROUNDING_MODE_UNSPECIFIED"))) == ["OPTION_TYPE"]
    assert rules(lint([{"name": "i", "type": "INT64", "collation": "und:ci"}])) == ["OPTION_TYPE"]
    two = one_field(policyTags={"names": ["projects/a/x/1", "projects/a/x/2"]})
    assert rules(lint(two)) == ["OPTION_TYPE"]


# -- table resource layout ----------------------------------------------------------------


def table(partition: Any = None, cluster: Any = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": {
            "fields": [
                {"name": "d", "type": "DATE"},
                {"name": "s", "type": "STRING"},
                {"name": "f", "type": "FLOAT64"},
                {"name": "tags", "type": "STRING", "mode": "REPEATED"},
            ]
        }
    }
    if partition is not None:
        doc["timePartitioning"] = partition
    if cluster is not None:
        doc["clustering"] = {"fields": cluster}
    return doc


def test_partition_and_cluster_checks() -> None:
    assert lint(table({"type": "DAY", "field": "d"}, ["s"])) == []
    assert lint(table({"type": "HOUR"})) == []  # ingestion-time partitioning
    # BigQuery partitions a DATE column by DAY, MONTH or YEAR only: HOUR passed the lint
    # and failed at table creation
    assert rules(lint(table({"type": "HOUR", "field": "d"}))) == ["PARTITION_INVALID"]
    assert lint(table({"type": "MONTH", "field": "d"})) == []
    hourly = table({"type": "hour", "field": "at"})
    hourly["schema"]["fields"].append({"name": "at", "type": "TIMESTAMP"})
    assert lint(hourly) == []
    assert rules(lint(table({"type": "WEEK", "field": "d"}))) == ["PARTITION_INVALID"]
    assert rules(lint(table({"type": "DAY", "field": "s"}))) == ["PARTITION_INVALID"]
    assert rules(lint(table({"type": "DAY", "field": "nope"}))) == ["PARTITION_INVALID"]
    assert rules(lint(table(cluster=["f"]))) == ["CLUSTER_INVALID"]
    assert rules(lint(table(cluster=["tags"]))) == ["CLUSTER_INVALID"]
    assert rules(lint(table(cluster=["nope"]))) == ["CLUSTER_INVALID"]
    assert rules(lint(table(cluster=["d", "s", "d", "s", "s"]))) == ["CLUSTER_INVALID"]


@pytest.mark.parametrize(
    ("ftype", "clusterable"),
    [("BYTES", False), ("TIME", False), ("INTERVAL", False), ("JSON", False)]
    + [("RANGE", True), ("GEOGRAPHY", True), ("BIGNUMERIC", True), ("BOOLEAN", True)],
)
def test_cluster_types_are_the_ones_bigquery_lists(ftype: str, clusterable: bool) -> None:
    """BigQuery clusters on BIGNUMERIC, BOOL, DATE, DATETIME, GEOGRAPHY, INT64, NUMERIC,
    RANGE, STRING and TIMESTAMP only: a BYTES or TIME clustering column passed the lint and
    failed at table creation, and a RANGE one was refused."""
    doc = table(cluster=["c"])
    column: dict[str, Any] = {"name": "c", "type": ftype}
    if ftype == "RANGE":
        column["rangeElementType"] = {"type": "DATE"}
    doc["schema"]["fields"].append(column)
    assert rules(lint(doc)) == ([] if clusterable else ["CLUSTER_INVALID"])


def ranged(field: str, start: Any = "0", end: Any = "100", interval: Any = "10") -> dict[str, Any]:
    doc = table()
    doc["schema"]["fields"].append({"name": "id", "type": "INTEGER", "mode": "REQUIRED"})
    doc["rangePartitioning"] = {
        "field": field,
        "range": {"start": start, "end": end, "interval": interval},
    }
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (ranged("id"), None),
        (ranged("id", 0, 100, 10), None),  # numbers as well as bq's int64 strings
        (ranged("s"), "range partition column 's' is STRING; must be an INTEGER (INT64)"),
        (ranged("nope"), "range partition column 'nope' is not a top-level column"),
        (ranged("id", interval="0"), "range [0, 100) by 0: needs start < end and interval > 0"),
        (ranged("id", start="100"), "range [100, 100) by 10: needs start < end"),
        (ranged("id", end="100001"), "makes 10001 partitions (at most 10000)"),
        (ranged("id", end="x"), "needs integer start, end and interval"),
        (
            {**ranged("id"), "timePartitioning": {"field": "d"}},
            "both timePartitioning and rangePartitioning",
        ),
    ],
)
def test_range_partitioning_checks(doc: dict[str, Any], message: str | None) -> None:
    # rangePartitioning was not checked at all: any column, any range passed.
    found = lint(doc)
    if message is None:
        assert found == []
    else:
        assert rules(found) == ["PARTITION_INVALID"]
        assert message in found[0].message


# -- output --------------------------------------------------------------------------------


def test_findings_name_the_line_of_the_field() -> None:
    text = (
        '[\n  {"name": "ok", "type": "STRING"},\n  {\n    "name": "bad",\n'
        '    "type": "STRNG"\n  }\n]'
    )
    (finding,) = lint(text, raw=True)
    assert (finding.line, finding.rule) == (5, "TYPE_UNKNOWN")
    assert finding.format() == (
        "schema.json:5: TYPE_UNKNOWN bad: unknown type 'STRNG'; did you mean \"STRING\"?"
    )


def test_every_finding_rule_is_in_the_catalog() -> None:
    samples = [
        lint(every_type_fields()), lint("[", raw=True), lint(one_field(zz=1)), lint(nested(20)),
    ]  # fmt: skip
    for findings in samples:
        for f in findings:
            assert f.rule in LINT_RULES


@pytest.mark.parametrize(
    ("field", "ok"),
    [
        ({"type": "STRING", "collation": "und:ci"}, True),
        ({"type": "STRING", "collation": ""}, True),
        ({"type": "STRING", "collation": "en:ci"}, False),
        ({"type": "STRING", "policyTags": {"names": ["p/1"]}}, False),
        ({"type": "TIMESTAMP", "timestampPrecision": "12"}, True),
        ({"type": "TIMESTAMP", "timestampPrecision": 6}, True),
        ({"type": "TIMESTAMP", "timestampPrecision": 9}, False),
        ({"type": "DATE", "timestampPrecision": 6}, False),
        ({"type": "STRING", "dataPolicies": [{"name": "projects/p/locations/us/dataPolicies/d"}]},
         True),
        ({"type": "STRING", "dataPolicies": [{"name": "d"}]}, False),
        ({"type": "STRING", "dataPolicies": "d"}, False),
        ({"type": "STRING", "foreignTypeDefinition": "varchar"}, True),
        ({"type": "STRING", "foreignTypeDefinition": 3}, False),
    ],
)  # fmt: skip
def test_option_values_follow_the_api_documentation(field: dict[str, Any], ok: bool) -> None:
    found = rules(lint([{"name": "c", **field}]))
    assert found == ([] if ok else ["OPTION_VALUE"])


def test_foreign_type_definition_only_on_top_level_columns() -> None:
    inner = {"name": "x", "type": "STRING", "foreignTypeDefinition": "v"}
    nested = [{"name": "r", "type": "RECORD", "fields": [inner]}]
    assert rules(lint(nested)) == ["OPTION_VALUE"]


@pytest.mark.parametrize(
    ("default", "ok"),
    [("CURRENT_TIMESTAMP()", True), ("'x'", True),
     ("NULL; DROP TABLE nba_ops.deploys; SELECT 1", False), ("col_a", False), (5, None)],
)  # fmt: skip
def test_default_value_form(default: Any, ok: bool | None) -> None:
    found = rules(lint(one_field(defaultValueExpression=default)))
    assert found == ([] if ok else ["DEFAULT_INVALID"] if ok is False else ["KEY_VALUE_TYPE"])


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("schemas/nba_raw/games.json", None),
        ("/repo/schemas/nba_raw/gämes – 2024 x.json", None),  # letters, dash, space, digits
        ("schemas/config.schema.json", None),  # not the dataset/table layout
        ("elsewhere/nba-raw/games.json", None),
        ("schemas/nba-raw/games.json", "folder 'nba-raw' is not a BigQuery dataset name"),
        ("schemas/nba raw/games.json", "folder 'nba raw'"),
        ("schemas/nba_raw/games@v2.json", "characters '@' are not allowed"),
        ("schemas/nba_raw/a.b.json", "characters '.' are not allowed"),
        ("schemas/nba_raw/" + "t" * 1025 + ".json", "empty or too long"),
    ],
)
def test_the_schema_path_must_name_a_bigquery_dataset_and_table(
    path: str, problem: str | None
) -> None:
    """schemas/<dataset>/<table>.json creates that dataset and table: a name BigQuery
    refuses would only fail at schema-apply/doctor in prod."""
    text = json.dumps([{"name": "a", "type": "STRING"}]).encode()
    findings = [
        f for f in lint_document(decode_document(path, text)) if f.rule == "TABLE_PATH_NAME"
    ]
    if problem is None:
        assert findings == []
    else:
        assert len(findings) == 1 and problem in findings[0].message
        assert findings[0].severity is Severity.ERROR
