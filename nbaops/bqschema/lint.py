"""Lint BigQuery schema files: run every rule of :mod:`nbaops.bqschema.lint_rules`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nbaops.bqschema.jsonpos import JArray, JObject
from nbaops.bqschema.lint_rules import (
    MAX_COLUMNS,
    MAX_DEPTH,
    NAME_RE,
    as_int,
    check_field,
    check_name,
    path_name_problem,
    unknown_keys,
)
from nbaops.bqschema.model import Field, Finding, TableSchema
from nbaops.bqschema.parse import (
    CLUSTER_KEYS,
    MAX_PARTITIONS,
    PARTITION_KEYS,
    PARTITION_TYPES,
    RANGE_KEYS,
    RANGE_PARTITION_KEYS,
    Document,
    read_document,
    to_table_schema,
)

# The types BigQuery does not cluster on (cloud.google.com/bigquery/docs/clustered-tables,
# limitations); every other type of model.CANONICAL_TYPES it does, and an unknown type is
# TYPE_UNKNOWN's finding.
_UNCLUSTERABLE = frozenset({"FLOAT64", "BYTES", "TIME", "INTERVAL", "JSON", "STRUCT"})
_PARTITION_COLUMN_TYPES = {"DATE", "TIMESTAMP", "DATETIME"}


def lint_document(doc: Document) -> list[Finding]:
    """All findings for one decoded document (its decode/shape findings included)."""
    problem = path_name_problem(doc.path)
    if problem is not None:
        doc.add("TABLE_PATH_NAME", 1, problem)
    if doc.fields_node is None:
        return list(doc.findings)
    if not doc.fields_node:
        doc.add("SCHEMA_EMPTY", doc.line_of(doc.fields_node.pos), "schema has no columns")
    count = _lint_level(doc, doc.fields_node, depth=1, prefix="")
    if count > MAX_COLUMNS:
        message = f"{count} columns including nested fields (at most {MAX_COLUMNS})"
        doc.add("TOO_MANY_COLUMNS", 1, message)
    if doc.table_node is not None:
        _lint_layout(doc, doc.table_node)
    return sorted(doc.findings, key=lambda f: (f.line, f.rule))


def _lint_level(doc: Document, fields: JArray, depth: int, prefix: str) -> int:
    """Lint one level of fields (recursing into RECORDs); returns the column count."""
    seen: dict[str, str] = {}
    count = 0
    for index, item in enumerate(fields):
        if not isinstance(item, JObject):
            pos = fields.item_pos[index] if index < len(fields.item_pos) else fields.pos
            where = f"{prefix}[{index}]" if prefix else f"field #{index + 1}"
            message = f"{where} is not an object; each field must be an object with name and type"
            doc.add("SCHEMA_SHAPE", doc.line_of(pos), message)
            continue
        count += 1
        line = doc.line_of(item.pos)
        raw_name = item.get("name")
        if isinstance(raw_name, str) and NAME_RE.match(raw_name):
            label = raw_name
        elif isinstance(raw_name, str) and raw_name:
            label = repr(raw_name[:40])  # keep findings on one printable line
        else:
            label = f"#{index + 1}"
        path = f"{prefix}.{label}" if prefix else label
        name = check_name(
            raw_name, path, doc.add, doc.line_of(item.value_pos.get("name", item.pos))
        )
        if name is not None:
            key = name.lower()
            if key in seen:
                message = f"{path}: duplicates column {seen[key]!r} (names are case-insensitive)"
                doc.add("FIELD_NAME_DUPLICATE", line, message)
            else:
                seen[key] = name
        check_field(item, depth, path, doc.add, doc.line_of)
        sub = item.get("fields")
        if isinstance(sub, JArray) and sub:
            if depth >= MAX_DEPTH:
                message = f"{path}: RECORD nested deeper than {MAX_DEPTH} levels"
                doc.add("NESTING_TOO_DEEP", doc.line_of(sub.pos), message)
            else:
                count += _lint_level(doc, sub, depth + 1, path)
    return count


def _lint_layout(doc: Document, table: JObject) -> None:
    schema = to_table_schema(doc)
    columns = schema.field_map() if schema else {}  # top-level columns by lower-cased name
    part = table.get("timePartitioning")
    if part is not None:
        line = doc.line_of(table.value_pos["timePartitioning"])
        if not isinstance(part, JObject):
            doc.add("KEY_VALUE_TYPE", line, '"timePartitioning" must be an object')
        else:
            for _key, message in unknown_keys(part, PARTITION_KEYS, "timePartitioning"):
                doc.add("UNKNOWN_KEY", line, message)
            ptype = part.get("type", "DAY")
            if not isinstance(ptype, str) or ptype.upper() not in PARTITION_TYPES:
                message = (
                    f"timePartitioning.type {ptype!r:.30} is not one of DAY, HOUR, MONTH, YEAR"
                )
                doc.add("PARTITION_INVALID", line, message)
            pfield = part.get("field")
            unit = ptype.upper() if isinstance(ptype, str) else None
            problem = _partition_problem(pfield, columns, ranged=False, unit=unit)
            if pfield is not None and problem:
                doc.add("PARTITION_INVALID", line, problem)
    ranged = table.get("rangePartitioning")
    if ranged is not None:
        _lint_range_partitioning(doc, table, ranged, columns)
    clus = table.get("clustering")
    if clus is not None:
        line = doc.line_of(table.value_pos["clustering"])
        cfields = clus.get("fields") if isinstance(clus, JObject) else None
        if not isinstance(clus, JObject) or not isinstance(cfields, list):
            doc.add("KEY_VALUE_TYPE", line, '"clustering" must be {"fields": [columns]}')
            return
        for _key, message in unknown_keys(clus, CLUSTER_KEYS, "clustering"):
            doc.add("UNKNOWN_KEY", line, message)
        for message in _cluster_problems(cfields, columns):
            doc.add("CLUSTER_INVALID", line, message)


def _partition_problem(
    name: object, columns: Mapping[str, Field], *, ranged: bool, unit: str | None = None
) -> str | None:
    """What is wrong with a partition column (None: nothing): missing, REPEATED, of a type
    BigQuery cannot partition on (a range: INT64; time: DATE, TIMESTAMP, DATETIME), or a
    DATE column partitioned by HOUR (a DATE has no hours: DAY, MONTH or YEAR only)."""
    column = columns.get(name.lower()) if isinstance(name, str) else None
    label = "range partition column" if ranged else "partition column"
    if column is None:
        return f"{label} {name!r:.60} is not a top-level column"
    wanted = {"INT64"} if ranged else _PARTITION_COLUMN_TYPES
    if column.type in wanted and column.mode != "REPEATED":
        if unit == "HOUR" and column.type == "DATE":
            return f"{label} {name!r} is a DATE: partition it by DAY, MONTH or YEAR, not HOUR"
        return None
    what = "REPEATED" if column.mode == "REPEATED" else column.type
    must = "an INTEGER (INT64)" if ranged else "DATE, TIMESTAMP or DATETIME"
    return f"{label} {name!r} is {what}; must be {must}"


def _cluster_problems(names: Sequence[object], columns: Mapping[str, Field]) -> list[str]:
    """What is wrong with clustering columns: more than 4, missing, REPEATED or of a type
    BigQuery cannot cluster on."""
    found = [f"{len(names)} clustering columns (at most 4)"] if len(names) > 4 else []
    for name in names:
        column = columns.get(name.lower()) if isinstance(name, str) else None
        if column is None:
            found.append(f"clustering column {name!r:.60} is not a top-level column")
        elif column.mode == "REPEATED" or column.type in _UNCLUSTERABLE:
            what = "REPEATED" if column.mode == "REPEATED" else column.type
            found.append(f"clustering column {name!r} is {what}, which BigQuery cannot cluster on")
    return found


def layout_problems(schema: TableSchema) -> list[tuple[str, str]]:
    """``(rule, message)`` for partition/cluster columns a schema does not have, or of a type
    BigQuery cannot partition or cluster on: the layout of a ``tables.yaml`` entry, checked
    against its table's columns as a table resource's own layout is (:func:`_lint_layout`)."""
    columns = schema.field_map()
    found: list[tuple[str, str]] = []
    part = schema.partitioning
    if part is not None and part.field is not None:
        ranged = part.type == "RANGE"
        problem = _partition_problem(part.field, columns, ranged=ranged, unit=part.type)
        if problem:
            found.append(("PARTITION_INVALID", problem))
    found += [("CLUSTER_INVALID", m) for m in _cluster_problems(schema.clustering, columns)]
    return found


def _lint_range_partitioning(
    doc: Document, table: JObject, ranged: Any, columns: dict[str, Field]
) -> None:
    """``rangePartitioning``: an INTEGER top-level column (REQUIRED or NULLABLE), integer
    start < end, interval > 0, at most :data:`MAX_PARTITIONS` ranges; never together with
    ``timePartitioning`` (BigQuery: creating-integer-range-partitions, Limitations)."""
    line = doc.line_of(table.value_pos["rangePartitioning"])
    if "timePartitioning" in table:
        message = "both timePartitioning and rangePartitioning: a table has one partitioning"
        doc.add("PARTITION_INVALID", line, message)
    bounds = ranged.get("range") if isinstance(ranged, JObject) else None
    if not isinstance(ranged, JObject) or not isinstance(bounds, JObject):
        message = '"rangePartitioning" must be {"field": column, "range": {start, end, interval}}'
        doc.add("KEY_VALUE_TYPE", line, message)
        return
    for _key, message in unknown_keys(ranged, RANGE_PARTITION_KEYS, "rangePartitioning"):
        doc.add("UNKNOWN_KEY", line, message)
    for _key, message in unknown_keys(bounds, RANGE_KEYS, "rangePartitioning.range"):
        doc.add("UNKNOWN_KEY", line, message)
    problem = _partition_problem(ranged.get("field"), columns, ranged=True)
    if problem:
        doc.add("PARTITION_INVALID", line, problem)
    start, end, interval = (as_int(bounds.get(key)) for key in RANGE_KEYS)
    if start is None or end is None or interval is None:
        message = "rangePartitioning.range needs integer start, end and interval"
        doc.add("PARTITION_INVALID", line, message)
    elif interval <= 0 or end <= start:
        message = f"range [{start}, {end}) by {interval}: needs start < end and interval > 0"
        doc.add("PARTITION_INVALID", line, message)
    elif (count := -(-(end - start) // interval)) > MAX_PARTITIONS:  # ceil
        message = f"range [{start}, {end}) by {interval} makes {count} partitions"
        doc.add("PARTITION_INVALID", line, f"{message} (at most {MAX_PARTITIONS})")


def lint_paths(paths: Iterable[str]) -> list[Finding]:
    """Lint many files in one process, in the given order; never raises for bad input."""
    return [f for path in paths for f in lint_document(read_document(path))]
