"""Read a BigQuery schema file in any of its real-world forms, keeping line numbers.

The three forms:

1. the JSON array that ``bq show --schema`` prints (``[{"name": ..., "type": ...}]``);
2. an object with ``fields`` (the API's TableSchema);
3. a whole table resource (``bq show --format=prettyjson``) with ``schema.fields``, and
   optionally ``timePartitioning``, ``clustering`` and ``tableReference``.

Malformed input of any kind (unreadable, huge, binary, not UTF-8, invalid JSON, absurd
nesting, wrong shapes) becomes :class:`~nbaops.bqschema.model.Finding` objects, never an
exception.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from nbaops.bqschema.jsonpos import JArray, JObject, LineIndex, loads
from nbaops.bqschema.lint_rules import as_int, lint_finding, unknown_keys
from nbaops.bqschema.model import (
    KEPT_FIELD_KEYS,
    MODES,
    ROUNDING_MODE_UNSPECIFIED,
    Field,
    Finding,
    Partitioning,
    TableSchema,
    canonical_type,
)

# The largest schema BigQuery accepts: 10,000 columns (nested ones included), each with a
# 1,024-character description of up to 4 UTF-8 bytes a character, ~45 MiB as JSON. Such a
# file parses and lints in ~1 s; anything larger is not a schema (a data file?).
MAX_BYTES = 64 * 1024 * 1024

SCHEMA_KEYS = ("fields", "foreignTypeInfo")
TABLE_KEYS = (
    "kind",
    "etag",
    "id",
    "selfLink",
    "tableReference",
    "friendlyName",
    "description",
    "labels",
    "schema",
    "timePartitioning",
    "rangePartitioning",
    "clustering",
    "requirePartitionFilter",
    "partitionDefinition",
    "numBytes",
    "numPhysicalBytes",
    "numLongTermBytes",
    "numRows",
    "creationTime",
    "expirationTime",
    "lastModifiedTime",
    "type",
    "view",
    "materializedView",
    "materializedViewStatus",
    "externalDataConfiguration",
    "biglakeConfiguration",
    "location",
    "streamingBuffer",
    "encryptionConfiguration",
    "snapshotDefinition",
    "defaultCollation",
    "defaultRoundingMode",
    "cloneDefinition",
    "numTimeTravelPhysicalBytes",
    "numTotalLogicalBytes",
    "numActiveLogicalBytes",
    "numLongTermLogicalBytes",
    "numTotalPhysicalBytes",
    "numActivePhysicalBytes",
    "numLongTermPhysicalBytes",
    "numPartitions",
    "maxStaleness",
    "restrictions",
    "tableConstraints",
    "resourceTags",
    "tableReplicationInfo",
    "replicas",
    "externalCatalogTableOptions",
    "managedTableType",
    "numCurrentPhysicalBytes",
    "model",  # deprecated
)
PARTITION_KEYS = ("type", "field", "expirationMs", "requirePartitionFilter")
RANGE_PARTITION_KEYS = ("field", "range")
RANGE_KEYS = ("start", "end", "interval")
MAX_PARTITIONS = 10_000  # BigQuery's limit of partitions per table
CLUSTER_KEYS = ("fields",)
PARTITION_TYPES = ("DAY", "HOUR", "MONTH", "YEAR")


@dataclass
class Document:
    """One schema file, decoded: ``fields_node`` is None unless it is shaped like a schema
    (field-level findings may still exist); ``table_node`` is set for a table resource."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    lines: LineIndex | None = None
    fields_node: JArray | None = None
    table_node: JObject | None = None

    def line_of(self, offset: int) -> int:
        return self.lines.line(offset) if self.lines is not None else 1

    def add(self, rule: str, line: int, message: str) -> None:
        self.findings.append(lint_finding(self.path, line, rule, message))


def read_bytes(path: str) -> bytes | Finding:
    """The file's bytes, or a FILE_UNREADABLE / FILE_TOO_LARGE finding (a regular file
    only: :func:`nbaops.fsutil.read_regular`; a FIFO blocked, a device never ended)."""
    from nbaops.fsutil import read_regular

    try:
        data, size = read_regular(path, MAX_BYTES)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return lint_finding(path, 1, "FILE_UNREADABLE", f"cannot read file: {reason}")
    if size > MAX_BYTES:
        message = f"file has {size} bytes; a schema file is at most {MAX_BYTES} bytes"
        return lint_finding(path, 1, "FILE_TOO_LARGE", message)
    return data


def decode_document(path: str, data: bytes) -> Document:
    """Decode bytes into a :class:`Document` and find its schema form."""
    doc = Document(path)
    if len(data) > MAX_BYTES:
        doc.add("FILE_TOO_LARGE", 1, f"file has more than {MAX_BYTES} bytes")
        return doc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        doc.add(
            "FILE_ENCODING",
            data.count(b"\n", 0, exc.start) + 1,
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}",
        )
        return doc
    if data.startswith(codecs.BOM_UTF8):
        doc.add("FILE_BOM", 1, "starts with a UTF-8 byte-order mark: bq and json.load refuse it")
    doc.lines = LineIndex(text)
    try:
        root = loads(text)
    except json.JSONDecodeError as exc:
        doc.add(
            "JSON_SYNTAX",
            exc.lineno,
            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
        )
        return doc
    except RecursionError:
        doc.add("JSON_SYNTAX", 1, "invalid JSON: nested too deeply to be a schema")
        return doc
    except ValueError as exc:  # NaN / Infinity
        match = re.search(r"-?(NaN|Infinity)", text)
        line = doc.line_of(match.start()) if match else 1
        doc.add("JSON_SYNTAX", line, f"invalid JSON: {exc}")
        return doc
    surrogate = _lone_surrogate(root)
    if surrogate is not None:
        doc.add(
            "FILE_ENCODING",
            doc.line_of(surrogate),
            "a string escapes a lone UTF-16 surrogate (\\ud800-\\udfff): not Unicode text, "
            "which BigQuery refuses",
        )
        return doc
    _locate(doc, root)
    return doc


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(root: Any) -> int | None:
    """The offset of a value whose text (or key) holds a lone surrogate, or None.

    Valid UTF-8 cannot encode one, but JSON can escape one (``"\\ud800"``) and the decoder
    keeps it (a pair of escapes becomes one character)."""
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, pos = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return pos
        elif isinstance(node, JObject):
            for key, value in node.items():
                stack.append((key, node.value_pos[key]))
                stack.append((value, node.value_pos[key]))
        elif isinstance(node, JArray):
            stack.extend(zip(node, node.item_pos, strict=False))
    return None


def read_document(path: str) -> Document:
    """Read and decode one schema file; problems become findings on the document."""
    data = read_bytes(path)
    if isinstance(data, Finding):
        return Document(path, [data])
    return decode_document(path, data)


def read_schema(path: str) -> tuple[TableSchema | None, list[Finding]]:
    """The typed schema of one file, or None and the errors that make it unreadable."""
    doc = read_document(path)
    schema = to_table_schema(doc)
    return schema, [] if schema is not None else [f for f in doc.findings if f.is_error]


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _report_duplicates(doc: Document, root: Any) -> None:
    """JSON_DUPLICATE_KEY for every object but the fields (their check names the column):
    the table resource, ``schema``, ``timePartitioning``, a field's ``policyTags`` ... The
    last of two equal keys is what a JSON reader keeps, silently."""
    # (node, its path for messages, the column it belongs to, is it a field object)
    stack: list[tuple[Any, str, str, bool]] = [(root, "", "", False)]
    while stack:
        node, where, column, is_field = stack.pop()
        if isinstance(node, JObject):
            if is_field:
                name = node.get("name")
                column = where = f"{column}.{name}".lstrip(".") if isinstance(name, str) else where
            for key, pos in () if is_field else node.duplicates:
                at = f"{where}: " if where else ""
                doc.add(
                    "JSON_DUPLICATE_KEY",
                    doc.line_of(pos),
                    f'{at}key "{key}" appears more than once',
                )
            for key, value in node.items():
                inner = f"{where}.{key}" if where else key
                stack.append((value, inner, column if is_field else "", False))
        elif isinstance(node, JArray):
            holds_fields = node is root or where.endswith("fields")
            for i, item in enumerate(node):
                stack.append((item, f"{where}[{i}]", column, holds_fields))


def _locate(doc: Document, root: Any) -> None:
    """Find the field list in one of the three forms (or report SCHEMA_SHAPE)."""
    _report_duplicates(doc, root)
    if isinstance(root, JArray):
        doc.fields_node = root
        return
    if not isinstance(root, JObject):
        doc.add(
            "SCHEMA_SHAPE",
            1,
            f"top level is {_kind(root)}; expected an array of fields, "
            'an object with "fields" or a table resource with "schema"',
        )
        return
    if "schema" in root and "fields" not in root:
        doc.table_node = root
        for key, message in unknown_keys(root, TABLE_KEYS, "the table resource"):
            doc.add("UNKNOWN_KEY", doc.line_of(root.value_pos[key]), message)
        schema = root["schema"]
        if not isinstance(schema, JObject):
            doc.add(
                "SCHEMA_SHAPE",
                doc.line_of(root.value_pos["schema"]),
                f'"schema" is {_kind(schema)}; expected an object with "fields"',
            )
            return
        holder = schema
    elif "fields" in root:
        holder = root
    else:
        keys = ", ".join(sorted(root)[:5]) or "no keys"
        doc.add(
            "SCHEMA_SHAPE",
            doc.line_of(root.pos),
            f'object without "fields" or "schema" ({keys}); not a BigQuery schema',
        )
        return
    for key, message in unknown_keys(holder, SCHEMA_KEYS, "the schema object"):
        doc.add("UNKNOWN_KEY", doc.line_of(holder.value_pos[key]), message)
    fields = holder.get("fields")
    if not isinstance(fields, JArray):
        line = doc.line_of(holder.value_pos.get("fields", holder.pos))
        doc.add("SCHEMA_SHAPE", line, f'"fields" is {_kind(fields)}; expected an array')
        return
    doc.fields_node = fields


# -- the typed model ---------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """``value`` when the JSON holds a string there, else None (lint reports the type)."""
    return value if isinstance(value, str) else None


def _rounding_mode(value: Any) -> str | None:
    """A stated rounding mode; ``ROUNDING_MODE_UNSPECIFIED`` (the enum's 0) states none."""
    return value if isinstance(value, str) and value != ROUNDING_MODE_UNSPECIFIED else None


def _build_fields(doc: Document, nodes: Any, depth: int = 1) -> list[Field]:
    out: list[Field] = []
    if not isinstance(nodes, list) or depth > 16:
        return out
    for item in nodes:
        if not isinstance(item, JObject):
            continue
        name, ftype = item.get("name"), item.get("type")
        if not isinstance(name, str) or not isinstance(ftype, str):
            continue
        mode = item.get("mode", "NULLABLE")
        mode = mode.upper() if isinstance(mode, str) and mode.upper() in MODES else "NULLABLE"
        tags = item.get("policyTags")
        names = tags.get("names") if isinstance(tags, dict) else None
        elem = item.get("rangeElementType")
        etype = _text(elem.get("type")) if isinstance(elem, dict) else None
        out.append(
            Field(
                name=name,
                # An unknown type is kept as written: lint reports it, and the breaking
                # check must not mistake the column for a removed one.
                type=canonical_type(ftype),
                mode=mode,
                fields=_build_fields(doc, item.get("fields"), depth + 1),
                description=_text(item.get("description")),
                policy_tags=tuple(n for n in names if isinstance(n, str))
                if isinstance(names, list)
                else (),
                max_length=as_int(item.get("maxLength")),
                precision=as_int(item.get("precision")),
                scale=as_int(item.get("scale")),
                default=_text(item.get("defaultValueExpression")),
                range_element=etype.upper() if etype is not None else None,
                collation=_text(item.get("collation")),
                rounding_mode=_rounding_mode(item.get("roundingMode")),
                kept={key: item[key] for key in KEPT_FIELD_KEYS if key in item},
                line=doc.line_of(item.pos),
            )
        )
    return out


def to_table_schema(doc: Document) -> TableSchema | None:
    """The typed schema of a decoded document (None when it has no field list)."""
    if doc.fields_node is None:
        return None
    schema = TableSchema(fields=_build_fields(doc, doc.fields_node))
    table = doc.table_node
    if table is not None:
        schema.layout_known = True
        part = table.get("timePartitioning")
        if isinstance(part, dict):
            ptype = part.get("type", "DAY")
            schema.partitioning = Partitioning(
                field=_text(part.get("field")),
                type=ptype.upper() if isinstance(ptype, str) else "DAY",
            )
        ranged = table.get("rangePartitioning")
        if isinstance(ranged, dict) and schema.partitioning is None:
            bounds = ranged.get("range")
            bounds = bounds if isinstance(bounds, dict) else {}
            schema.partitioning = Partitioning(
                field=_text(ranged.get("field")),
                type="RANGE",
                bounds=(
                    as_int(bounds.get("start")),
                    as_int(bounds.get("end")),
                    as_int(bounds.get("interval")),
                ),
            )
        clus = table.get("clustering")
        cfields = clus.get("fields") if isinstance(clus, dict) else None
        if isinstance(cfields, list):
            schema.clustering = tuple(c for c in cfields if isinstance(c, str))
        required = table.get("requirePartitionFilter")
        if not isinstance(required, bool) and isinstance(part, dict):  # the deprecated place
            required = part.get("requirePartitionFilter")
        schema.require_partition_filter = required is True
        schema.default_rounding_mode = _rounding_mode(table.get("defaultRoundingMode"))
        schema.default_collation = _text(table.get("defaultCollation"))
        ref = table.get("tableReference")
        if isinstance(ref, dict):
            ds, tb = ref.get("datasetId"), ref.get("tableId")
            if isinstance(ds, str) and isinstance(tb, str):
                schema.table_id = f"{ds}.{tb}"
    return schema


def table_name_for(path: str, schema: TableSchema | None = None) -> str:
    """``dataset.table`` of a schema file: the table resource's own reference, else
    ``<parent folder>.<file stem>`` (``schemas/nba_raw/games.json`` → ``nba_raw.games``)."""
    if schema is not None and schema.table_id:
        return schema.table_id
    p = PurePath(path)
    parent = p.parent.name
    return f"{parent}.{p.stem}" if parent else p.stem


# -- the partition/cluster catalog (schemas/tables.yaml) --------------------------------


class LayoutError(ValueError):
    """The table catalog is malformed."""


Layout = tuple[Partitioning | None, tuple[str, ...]]
# The catalog's one file name, in its schemas folder: the only name read (no ``tables.yml``).
LAYOUT_FILE = "tables.yaml"
LAYOUT_KEYS = ("partition", "partition_type", "cluster")


def parse_layouts(text: str) -> dict[str, Layout]:
    """Parse ``tables.yaml``: ``dataset.table: {partition: col, partition_type: DAY,
    cluster: [cols]}``.

    Raises:
        LayoutError: the YAML is invalid or an entry has the wrong shape.
    """
    from nbaops.errors import ConfigError
    from nbaops.yaml_load import load_bounded

    try:  # the config's loader: bounded, and a table listed twice is an error, not the last
        data = load_bounded(text, "tables.yaml")
    except ConfigError as exc:
        raise LayoutError(str(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LayoutError("top level must be a mapping of dataset.table to its layout")
    out: dict[str, Layout] = {}
    for table, body in data.items():
        if not isinstance(table, str) or not isinstance(body, dict):
            raise LayoutError(f"{table!r}: expected a mapping with partition/cluster")
        unknown = sorted(str(k) for k in body if k not in LAYOUT_KEYS)
        if unknown:  # a typo (partiton:) would silently leave the table unpartitioned
            raise LayoutError(
                f"{table}: unknown key {unknown[0]!r} (expected {', '.join(LAYOUT_KEYS)})"
            )
        part = body.get("partition")
        ptype = body.get("partition_type", "DAY")
        cluster = body.get("cluster", [])
        if part is not None and not isinstance(part, str):
            raise LayoutError(f"{table}: partition must be a column name")
        if not isinstance(ptype, str) or ptype.upper() not in PARTITION_TYPES:
            raise LayoutError(f"{table}: partition_type must be DAY, HOUR, MONTH or YEAR")
        if not isinstance(cluster, list) or not all(isinstance(c, str) for c in cluster):
            raise LayoutError(f"{table}: cluster must be a list of column names")
        partitioning = Partitioning(field=part, type=ptype.upper()) if part else None
        out[table] = (partitioning, tuple(cluster))
    return out


def layout_lines(text: str) -> dict[str, int]:
    """The line (1-based) of each table's entry in a ``tables.yaml`` that
    :func:`parse_layouts` accepted: where a partition/cluster finding points."""
    import yaml

    node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        str(key.value): key.start_mark.line + 1
        for key, _value in node.value
        if isinstance(key, yaml.ScalarNode)
    }
