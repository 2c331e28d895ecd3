"""Property tests: no input of any kind makes schema parsing, lint or comparison raise."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbaops.bqschema.breaking import compare
from nbaops.bqschema.lint import lint_document
from nbaops.bqschema.model import Finding, Partitioning
from nbaops.bqschema.parse import decode_document, parse_layouts, to_table_schema

KEYS = st.sampled_from(
    ["name", "type", "mode", "fields", "description", "precision", "scale", "maxLength",
     "policyTags", "defaultValueExpression", "rangeElementType", "schema", "timePartitioning",
     "clustering", "roundingMode", "collation", "x"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
    st.sampled_from(["RECORD", "STRING", "INT64", "NUMERIC", "RANGE", "REPEATED", "REQUIRED"]),
)  # fmt: skip
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=6)),
    max_leaves=40,
)


def check_findings(findings: list[Finding]) -> None:
    for f in findings:
        assert f.line >= 1
        assert f.rule and f.rule.isupper()
        assert "\n" not in f.format()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    check_findings(lint_document(decode_document("x.json", data)))


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    check_findings(lint_document(decode_document("x.json", text.encode("utf-8", "surrogatepass"))))


# 150 shapes a run (was 400): generating recursive shapes is most of the cost, and each run
# draws new ones (not derandomized), so the runs together keep exploring.
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSONISH)
def test_arbitrary_json_shapes_never_raise(value: Any) -> None:
    data = json.dumps(value).encode()
    check_findings(lint_document(decode_document("x.json", data)))
    for wrapped in ({"fields": value}, {"schema": {"fields": value}}, [value]):
        raw = json.dumps(wrapped).encode()
        check_findings(lint_document(decode_document("x.json", raw)))
        schema = to_table_schema(decode_document("x.json", raw))
        if schema is not None:
            compare(schema, schema, "d.t")
            compare(schema, to_table_schema(decode_document("y.json", data)), "d.t")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_layout_catalog_errors_are_layout_errors(text: str) -> None:
    from nbaops.bqschema.parse import LayoutError

    with contextlib.suppress(LayoutError):  # anything else escapes and fails the test
        parse_layouts(text)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        # a typo would silently leave the table unpartitioned
        ("{partiton: d}", "t.x: unknown key 'partiton' (expected partition, partition_type,"),
        ("{partition: d, clusterr: [id]}", "t.x: unknown key 'clusterr'"),
        ("{partition: d, partition_type: WEEKLY}", "partition_type must be DAY, HOUR, MONTH"),
    ],
)
def test_layout_catalog_refuses_unknown_keys_and_partition_types(entry: str, message: str) -> None:
    from nbaops.bqschema.parse import LayoutError

    with pytest.raises(LayoutError) as info:
        parse_layouts(f"t.x: {entry}\n")
    assert message in str(info.value)
    assert parse_layouts("t.x: {partition: d, partition_type: month, cluster: [id]}\n") == {
        "t.x": (Partitioning(field="d", type="MONTH"), ("id",))
    }
