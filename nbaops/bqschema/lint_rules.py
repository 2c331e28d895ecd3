"""The lint rule catalog (stable ids) and the checks of single field objects.

Every rule here says what BigQuery itself enforces on a table schema (or what the
schema file must look like for ``bq`` to read it). :data:`LINT_RULES` is the source of
``docs/schema-rules.md``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from nbaops.bqschema.jsonpos import JObject
from nbaops.bqschema.model import (
    ACCEPTED_TYPES,
    MODES,
    ROUNDING_MODE_UNSPECIFIED,
    ROUNDING_MODES,
    Finding,
    Rule,
    Severity,
    canonical_type,
)

E, W = Severity.ERROR, Severity.WARNING

_CATALOG = [
    # -- the file -------------------------------------------------------------------------
    Rule(
        "FILE_UNREADABLE",
        E,
        "The file cannot be read (missing, a folder, no permission).",
        "Check the path and permissions.",
    ),
    Rule(
        "FILE_TOO_LARGE",
        E,
        "The file is larger than any schema BigQuery accepts can be (64 MiB: 10,000 columns, "
        "each with a 1,024-character description).",
        "Is this a data file? A schema file holds only the columns' definitions.",
    ),
    Rule(
        "FILE_ENCODING",
        E,
        "The file is not UTF-8 text (binary data or another encoding), or a string escapes "
        "a lone UTF-16 surrogate (`\\ud800`), which no UTF-8 text can hold.",
        "Save the file as UTF-8.",
    ),
    Rule(
        "FILE_BOM",
        E,
        "The file starts with a UTF-8 byte-order mark (EF BB BF). `bq --schema` and the "
        "client's `Client.schema_from_json` read schema files with `json.load`, which "
        'refuses it ("Unexpected UTF-8 BOM"): the deploy that creates the table fails.',
        "Save the file as UTF-8 without a BOM.",
    ),
    Rule(
        "JSON_SYNTAX",
        E,
        "The file is not valid JSON; the finding names the line and column.",
        "Fix the JSON at the reported position (trailing commas and comments are not JSON).",
    ),
    Rule(
        "JSON_DUPLICATE_KEY",
        E,
        "The same key appears twice in one JSON object.",
        "Keep one; JSON readers silently keep only the last value.",
    ),
    Rule(
        "SCHEMA_SHAPE",
        E,
        "The document is not a schema in one of its three forms: a JSON array of fields "
        "(`bq show --schema`), an object with `fields`, or a table resource with "
        "`schema.fields`; or a field is not a JSON object.",
        "Use one of the three forms; every field is an object with at least name and type.",
    ),
    Rule(
        "TABLE_PATH_NAME",
        E,
        "Under `schemas/<dataset>/<table>.json`, the folder is not a BigQuery dataset name "
        "(letters, digits, underscores; at most 1,024) or the file name is not a table name "
        "(letters, marks, digits, connectors, dashes, spaces; at most 1,024 UTF-8 bytes).",
        "Rename the folder or file: the dataset and table are created under these names "
        "(cloud.google.com/bigquery/docs/datasets#dataset-naming, "
        "cloud.google.com/bigquery/docs/tables#table_naming).",
    ),
    Rule(
        "SCHEMA_EMPTY",
        W,
        "The schema has no columns.",
        "Add the table's columns (an empty schema creates a table you cannot load).",
    ),
    Rule(
        "TOO_MANY_COLUMNS",
        E,
        "More than 10,000 columns including nested fields.",
        "BigQuery's limit is 10,000 columns per table; split the table.",
    ),
    # -- keys -----------------------------------------------------------------------------
    Rule(
        "UNKNOWN_KEY",
        E,
        "A key BigQuery does not know (usually a typo); the finding suggests the closest key.",
        "Rename it to the suggested key or remove it; the API rejects unknown names.",
    ),
    Rule(
        "KEY_VALUE_TYPE",
        E,
        "A known key has a value of the wrong JSON type (e.g. `fields` not a list, "
        "`description` not a string).",
        "Use the JSON type the BigQuery TableFieldSchema documents.",
    ),
    # -- names ----------------------------------------------------------------------------
    Rule("FIELD_NAME_MISSING", E, "A field has no `name` (or an empty one).", "Name the column."),
    Rule(
        "FIELD_NAME_INVALID",
        E,
        "A column name uses characters other than letters, digits and underscores, or "
        "starts with a digit.",
        "Use [A-Za-z_][A-Za-z0-9_]*.",
    ),
    Rule(
        "FIELD_NAME_TOO_LONG",
        E,
        "A column name is longer than 300 characters.",
        "Shorten it to 300 characters or fewer.",
    ),
    Rule(
        "FIELD_NAME_RESERVED",
        E,
        "A column name starts with a prefix BigQuery reserves: _TABLE_, _FILE_, _PARTITION, "
        "_ROW_TIMESTAMP, __ROOT__, _COLIDENTIFIER, _CHANGE_SEQUENCE_NUMBER, _CHANGE_TYPE, "
        "_CHANGE_TIMESTAMP (any case).",
        "Rename the column.",
    ),
    Rule(
        "FIELD_NAME_DUPLICATE",
        E,
        "Two columns at the same level have names that differ only in case (or not at all); "
        "BigQuery column names are case-insensitive.",
        "Rename or remove one of them.",
    ),
    # -- types and modes ------------------------------------------------------------------
    Rule("TYPE_MISSING", E, "A field has no `type`.", "Add the type, e.g. STRING or INT64."),
    Rule(
        "TYPE_UNKNOWN",
        E,
        "A type BigQuery does not accept in a table schema. Accepted (any case): STRING, "
        "BYTES, INTEGER/INT64, FLOAT/FLOAT64, BOOLEAN/BOOL, NUMERIC, BIGNUMERIC, TIMESTAMP, "
        "DATE, TIME, DATETIME, GEOGRAPHY, JSON, INTERVAL, RANGE, RECORD/STRUCT.",
        "Use the suggested type; arrays are `mode: REPEATED`, not a type.",
    ),
    Rule(
        "MODE_UNKNOWN",
        E,
        "A mode other than NULLABLE, REQUIRED or REPEATED (any case).",
        "Use one of the three modes, or omit it for NULLABLE.",
    ),
    Rule(
        "RECORD_NO_FIELDS",
        E,
        "A RECORD/STRUCT field without sub-fields.",
        "Give it `fields`, or change its type.",
    ),
    Rule(
        "FIELDS_ON_NON_RECORD",
        E,
        "Sub-fields on a field that is not RECORD/STRUCT.",
        "Make it a RECORD, or move the sub-fields out.",
    ),
    Rule(
        "NESTING_TOO_DEEP",
        E,
        "RECORD fields nested more than 15 levels deep.",
        "BigQuery allows at most 15 levels; flatten the structure.",
    ),
    Rule(
        "RANGE_ELEMENT_TYPE",
        E,
        "A RANGE field without `rangeElementType.type` of DATE, DATETIME or TIMESTAMP, or "
        "`rangeElementType` on a field that is not RANGE.",
        "Set rangeElementType: {type: DATE|DATETIME|TIMESTAMP} on RANGE fields only.",
    ),
    # -- type parameters and options ------------------------------------------------------
    Rule(
        "PRECISION_SCALE_TYPE",
        E,
        "`precision`/`scale` on a type other than NUMERIC/BIGNUMERIC.",
        "Remove them, or change the type to NUMERIC/BIGNUMERIC.",
    ),
    Rule(
        "PRECISION_SCALE_RANGE",
        E,
        "`precision`/`scale` outside BigQuery's ranges (NUMERIC: 0 <= scale <= 9, "
        "1 <= precision - scale <= 29; BIGNUMERIC: 0 <= scale <= 38, "
        "1 <= precision - scale <= 38), not integers, or scale without precision.",
        "Use values within the ranges.",
    ),
    Rule(
        "MAX_LENGTH_TYPE",
        E,
        "`maxLength` on a type other than STRING/BYTES.",
        "Remove it, or change the type.",
    ),
    Rule(
        "MAX_LENGTH_RANGE",
        E,
        "`maxLength` is not a positive integer.",
        "Use a positive integer (it may be written as a string, as bq prints it).",
    ),
    Rule(
        "DEFAULT_NOT_TOP_LEVEL",
        E,
        "`defaultValueExpression` on a nested field.",
        "Default values apply to top-level columns only; set it on the top-level RECORD.",
    ),
    Rule(
        "DEFAULT_INVALID",
        E,
        "`defaultValueExpression` is not exactly one expression of the forms BigQuery "
        "documents for defaults: a literal (typed literals such as DATE '2020-01-01' too), "
        "CURRENT_DATE(), CURRENT_DATETIME(), CURRENT_TIME(), CURRENT_TIMESTAMP(), "
        "GENERATE_UUID(), RAND(), SESSION_USER(), ST_GEOGPOINT(x, y), or an ARRAY/STRUCT of "
        "them (https://cloud.google.com/bigquery/docs/default-values). A second statement "
        "(`NULL; DROP TABLE ...`), a subquery, a column reference or a CAST(...) is refused.",
        "Write one literal or one of the listed functions.",
    ),
    Rule(
        "OPTION_VALUE",
        E,
        "An option value outside what the BigQuery API documents for TableFieldSchema: "
        "`collation` other than 'und:ci' or '', a policy tag name not of the form "
        "projects/P/locations/L/taxonomies/T/policyTags/G, `timestampPrecision` other than "
        "6 or 12 or on a non-TIMESTAMP field, `dataPolicies` not a list of {name: "
        "projects/P/locations/L/dataPolicies/D}, `foreignTypeDefinition` not a string or on "
        "a nested field.",
        "Use a documented value, or remove the option.",
    ),
    Rule(
        "DESCRIPTION_TOO_LONG",
        E,
        "A description longer than 1,024 characters.",
        "Shorten it to 1,024 characters or fewer.",
    ),
    Rule(
        "OPTION_TYPE",
        E,
        "`roundingMode` on a type other than NUMERIC/BIGNUMERIC or with an unknown value "
        "(ROUNDING_MODE_UNSPECIFIED is known: no rounding mode set), "
        "`collation` on a type other than STRING, or more than one policy tag.",
        "Remove the option or fix its value.",
    ),
    # -- table resource -------------------------------------------------------------------
    Rule(
        "PARTITION_INVALID",
        E,
        "A table resource's timePartitioning (or the table's `schemas/tables.yaml` entry, "
        "checked by bq-schema-breaking) names a missing column, a column that is not "
        "a top-level DATE/TIMESTAMP/DATETIME, an unknown type (DAY, HOUR, MONTH, YEAR) or "
        "HOUR on a DATE column; "
        "or its rangePartitioning names a column that is not a top-level INTEGER, or a range "
        "without integer start < end and interval > 0, or more than 10,000 partitions; or "
        "it has both.",
        "Partition on an existing top-level DATE, TIMESTAMP or DATETIME column, or an "
        "INTEGER column with a range of at most 10,000 intervals.",
    ),
    Rule(
        "CLUSTER_INVALID",
        E,
        "A table resource's clustering (or its `schemas/tables.yaml` entry's) has more than "
        "4 columns, or names a missing, nested, "
        "REPEATED or non-clusterable (FLOAT64, JSON, RECORD, ...) column.",
        "Cluster on at most 4 existing top-level columns of a clusterable type.",
    ),
    Rule(
        "LAYOUT_INVALID",
        E,
        "The partition/cluster catalog (`schemas/tables.yaml`) is not valid YAML, an entry "
        "is not `dataset.table: {partition: col, cluster: [cols]}`, or it names a table "
        "with no schema file `schemas/<dataset>/<table>.json`.",
        "Fix the entry; the breaking check cannot compare partitioning without it.",
    ),
]

LINT_RULES: dict[str, Rule] = {r.id: r for r in _CATALOG}


def lint_finding(path: str, line: int, rule: str, message: str) -> Finding:
    """A finding of one of these rules, with the rule's severity."""
    return Finding(path, line, rule, LINT_RULES[rule].severity, message)


# -- what the checks know --------------------------------------------------------------

FIELD_KEYS = (
    "name",
    "type",
    "mode",
    "fields",
    "description",
    "policyTags",
    "dataPolicies",
    "maxLength",
    "precision",
    "scale",
    "roundingMode",
    "collation",
    "defaultValueExpression",
    "rangeElementType",
    "foreignTypeDefinition",
    "timestampPrecision",
    "categories",
    "dataPolicyList",
    "dataGovernanceTagsInfo",
    "generatedColumn",
)
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_NAME = 300
MAX_DESCRIPTION = 1024
MAX_DEPTH = 15
MAX_COLUMNS = 10_000
RESERVED_PREFIXES = (
    "_TABLE_",
    "_FILE_",
    "_PARTITION",
    "_ROW_TIMESTAMP",
    "__ROOT__",
    "_COLIDENTIFIER",
    # the change-data-capture pseudo-columns, not every _CHANGE_ name
    # (cloud.google.com/bigquery/docs/schemas#column_names)
    "_CHANGE_SEQUENCE_NUMBER",
    "_CHANGE_TYPE",
    "_CHANGE_TIMESTAMP",
)
RANGE_ELEMENTS = ("DATE", "DATETIME", "TIMESTAMP")
COLLATIONS = ("und:ci", "")
TIMESTAMP_PRECISIONS = (6, 12)
POLICY_TAG_RE = re.compile(
    r"^projects/[^/\s]+/locations/[^/\s]+/taxonomies/[^/\s]+/policyTags/[^/\s]+\Z"
)
DATA_POLICY_RE = re.compile(r"^projects/[^/\s]+/locations/[^/\s]+/dataPolicies/[^/\s]+\Z")
_TYPE_HINTS = {
    "DECIMAL": "NUMERIC",
    "BIGDECIMAL": "BIGNUMERIC",
    "INT": "INT64",
    "BIGINT": "INT64",
    "SMALLINT": "INT64",
    "TINYINT": "INT64",
    "BYTEINT": "INT64",
    "DOUBLE": "FLOAT64",
    "REAL": "FLOAT64",
    "FLOAT32": "FLOAT64",
    "VARCHAR": "STRING",
    "TEXT": "STRING",
    "CHAR": "STRING",
    "BINARY": "BYTES",
    "BLOB": "BYTES",
    "ARRAY": "mode REPEATED",
}

Emit = Callable[[str, int, str], None]


def suggest(word: str, choices: tuple[str, ...] | list[str]) -> str | None:
    """The closest choice to ``word`` (case-insensitive first, then difflib)."""
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return close[0]
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def unknown_keys(node: JObject, known: tuple[str, ...], what: str) -> Iterator[tuple[str, str]]:
    """(key, message) for every key of ``node`` that is not in ``known``."""
    for key in node:
        if key in known:
            continue
        yield key, f'unknown key "{key}" in {what}{_did_you_mean(suggest(key, known))}'


def as_int(value: Any) -> int | None:
    """bq prints int64 values as strings ("10"); accept both, reject bools and floats."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value.strip()):
        return int(value)
    return None


def _type_of(node: JObject) -> str | None:
    value = node.get("type")
    if isinstance(value, str) and value.upper() in ACCEPTED_TYPES:
        return canonical_type(value)
    return None


def check_name(name: Any, where: str, emit: Emit, line: int) -> str | None:
    """Checks a column name; returns it when it is a usable string."""
    if not isinstance(name, str) or not name:
        emit(
            "FIELD_NAME_MISSING",
            line,
            f'{where}: field has no name ("name" must be a non-empty string)',
        )
        return None
    shown = name if len(name) <= 60 else name[:57] + "..."
    if len(name) > MAX_NAME:
        emit(
            "FIELD_NAME_TOO_LONG",
            line,
            f"column name {shown!r} has {len(name)} characters (at most {MAX_NAME})",
        )
    if not NAME_RE.match(name):
        why = (
            "starts with a digit"
            if name[0].isdigit()
            else ("may contain only letters, digits and underscores")
        )
        emit("FIELD_NAME_INVALID", line, f"column name {shown!r} {why}")
    upper = name.upper()
    for prefix in RESERVED_PREFIXES:
        if upper.startswith(prefix):
            emit(
                "FIELD_NAME_RESERVED",
                line,
                f"column name {shown!r} uses the reserved prefix {prefix}",
            )
            break
    return name


# Keys that apply to some types only: (those types, the rule when on another type).
_ONLY_FOR: dict[str, tuple[tuple[str, ...], str]] = {
    "maxLength": (("STRING", "BYTES"), "MAX_LENGTH_TYPE"),
    "roundingMode": (("NUMERIC", "BIGNUMERIC"), "OPTION_TYPE"),
    "collation": (("STRING",), "OPTION_TYPE"),
    "timestampPrecision": (("TIMESTAMP",), "OPTION_VALUE"),
    "rangeElementType": (("RANGE",), "RANGE_ELEMENT_TYPE"),
}


@dataclass(frozen=True)
class _Field:
    """One field object under check: emits a rule at a key's line, the path first."""

    node: JObject
    ftype: str | None  # the canonical type; None when missing or unknown
    depth: int
    path: str
    emit: Emit
    line_of: Callable[[int], int]

    def at(self, key: str | None, rule: str, message: str) -> None:
        """``rule`` at the line of ``key``'s value (the field's line for None or a missing key)."""
        pos = self.node.pos if key is None else self.node.value_pos.get(key, self.node.pos)
        self.emit(rule, self.line_of(pos), f"{self.path}: {message}")

    def misplaced(self, key: str) -> bool:
        """Whether ``key`` sits on a type it does not apply to (:data:`_ONLY_FOR`; emitted)."""
        types, rule = _ONLY_FOR[key]
        if self.ftype is None or self.ftype in types:
            return False
        self.at(key, rule, f"{key} applies only to {' and '.join(types)}, not {self.ftype}")
        return True


def _did_you_mean(hint: str | None) -> str:
    return f'; did you mean "{hint}"?' if hint else ""


def check_field(
    node: JObject, depth: int, path: str, emit: Emit, line_of: Callable[[int], int]
) -> None:
    """All checks of one field object except its sub-fields (the walker recurses)."""
    f = _Field(node, _type_of(node), depth, path, emit, line_of)
    for key, pos in node.duplicates:
        emit("JSON_DUPLICATE_KEY", line_of(pos), f'{path}: key "{key}" appears more than once')
    for key, message in unknown_keys(node, FIELD_KEYS, f"field {path}"):
        emit("UNKNOWN_KEY", line_of(node.value_pos.get(key, node.pos)), message)

    raw_type = node.get("type")
    if "type" not in node:
        f.at(None, "TYPE_MISSING", "field has no type")
    elif not isinstance(raw_type, str):
        f.at("type", "TYPE_UNKNOWN", f"type must be a string, got {type(raw_type).__name__}")
    elif f.ftype is None:
        hint = _TYPE_HINTS.get(raw_type.upper()) or suggest(raw_type, list(ACCEPTED_TYPES))
        f.at("type", "TYPE_UNKNOWN", f"unknown type {raw_type[:40]!r}{_did_you_mean(hint)}")
    mode = node.get("mode")
    if "mode" in node and (not isinstance(mode, str) or mode.upper() not in MODES):
        hint = suggest(mode, list(MODES)) if isinstance(mode, str) else None
        f.at(
            "mode",
            "MODE_UNKNOWN",
            f"unknown mode {repr(mode)[:40]} (NULLABLE, REQUIRED or REPEATED){_did_you_mean(hint)}",
        )

    sub = node.get("fields")
    if "fields" in node and not isinstance(sub, list):
        f.at("fields", "KEY_VALUE_TYPE", '"fields" must be a list')
    if f.ftype == "STRUCT":
        if not isinstance(sub, list) or not sub:
            f.at(None, "RECORD_NO_FIELDS", "RECORD/STRUCT field has no sub-fields")
    elif isinstance(sub, list) and sub and f.ftype is not None:
        message = f"sub-fields on a {f.ftype} field (only RECORD/STRUCT has them)"
        f.at("fields", "FIELDS_ON_NON_RECORD", message)

    desc = node.get("description")
    if "description" in node and not isinstance(desc, str):
        f.at("description", "KEY_VALUE_TYPE", '"description" must be a string')
    elif isinstance(desc, str) and len(desc) > MAX_DESCRIPTION:
        message = f"description has {len(desc)} characters (at most {MAX_DESCRIPTION})"
        f.at("description", "DESCRIPTION_TOO_LONG", message)

    _check_type_params(f)
    _check_options(f)


def _precision_problem(ftype: str, node: JObject) -> str | None:
    """What is wrong with a NUMERIC/BIGNUMERIC field's precision and scale, if anything."""
    has_p, has_s = "precision" in node, "scale" in node
    precision = as_int(node.get("precision")) if has_p else None
    scale = as_int(node.get("scale")) if has_s else None
    if has_p and precision is None:
        return "precision must be an integer"
    if has_s and scale is None:
        return "scale must be an integer"
    if has_s and not has_p:
        return "scale needs a precision"
    max_scale, max_int = (9, 29) if ftype == "NUMERIC" else (38, 38)
    s, p = scale or 0, precision or 0
    if not 0 <= s <= max_scale:
        return f"scale {s} is outside 0..{max_scale}"
    if not 1 <= p - s <= max_int:
        return f"precision {p} with scale {s} leaves {p - s} integer digits (1..{max_int} allowed)"
    return None


def _check_type_params(f: _Field) -> None:
    node, ftype = f.node, f.ftype
    if ("precision" in node or "scale" in node) and ftype is not None:
        key = "precision" if "precision" in node else "scale"
        if ftype not in ("NUMERIC", "BIGNUMERIC"):
            message = f"precision/scale apply only to NUMERIC and BIGNUMERIC, not {ftype}"
            f.at(key, "PRECISION_SCALE_TYPE", message)
        elif problem := _precision_problem(ftype, node):
            f.at(key, "PRECISION_SCALE_RANGE", f"{ftype} {problem}")
    if "maxLength" in node and not f.misplaced("maxLength"):
        value = as_int(node["maxLength"])
        if value is None or value < 1:
            message = f"maxLength must be a positive integer, got {node['maxLength']!r:.40}"
            f.at("maxLength", "MAX_LENGTH_RANGE", message)


def _check_options(f: _Field) -> None:
    node = f.node
    expression = node.get("defaultValueExpression")
    if "defaultValueExpression" in node:
        if f.depth > 1:
            message = "defaultValueExpression is allowed on top-level columns only"
            f.at("defaultValueExpression", "DEFAULT_NOT_TOP_LEVEL", message)
        elif not isinstance(expression, str):
            message = '"defaultValueExpression" must be a string (a SQL expression)'
            f.at("defaultValueExpression", "KEY_VALUE_TYPE", message)
        else:
            from nbaops.bqschema.defaults import DefaultExpressionError, parse_default

            try:
                parse_default(expression)
            except DefaultExpressionError as exc:
                f.at("defaultValueExpression", "DEFAULT_INVALID", str(exc))
    rounding = node.get("roundingMode")
    if (
        "roundingMode" in node
        and not f.misplaced("roundingMode")
        and rounding not in (*ROUNDING_MODES, ROUNDING_MODE_UNSPECIFIED)
    ):
        message = (
            f"roundingMode must be one of {', '.join(ROUNDING_MODES)} "
            f"({ROUNDING_MODE_UNSPECIFIED}: none set)"
        )
        f.at("roundingMode", "OPTION_TYPE", message)
    collation = node.get("collation")
    if "collation" in node and not f.misplaced("collation"):
        if not isinstance(collation, str):
            f.at("collation", "KEY_VALUE_TYPE", '"collation" must be a string')
        elif collation not in COLLATIONS:
            f.at("collation", "OPTION_VALUE", f"collation {collation[:40]!r} is not 'und:ci' or ''")
    if "policyTags" in node:
        _check_policy_tags(f, node["policyTags"])
    _check_api_options(f)
    if f.ftype == "RANGE":
        elem = node.get("rangeElementType")
        etype = elem.get("type") if isinstance(elem, dict) else None
        if not isinstance(etype, str) or etype.upper() not in RANGE_ELEMENTS:
            message = "RANGE needs rangeElementType.type of DATE, DATETIME or TIMESTAMP"
            f.at("rangeElementType" if elem else "type", "RANGE_ELEMENT_TYPE", message)
    elif "rangeElementType" in node:
        f.misplaced("rangeElementType")


def _check_policy_tags(f: _Field, tags: Any) -> None:
    names = tags.get("names") if isinstance(tags, dict) else None
    if not isinstance(tags, dict) or (
        "names" in tags
        and (not isinstance(names, list) or not all(isinstance(n, str) for n in names))
    ):
        message = '"policyTags" must be {"names": ["projects/.../policyTags/..."]}'
        f.at("policyTags", "KEY_VALUE_TYPE", message)
    elif isinstance(names, list) and len(names) > 1:
        f.at("policyTags", "OPTION_TYPE", f"at most one policy tag per column, got {len(names)}")
    elif isinstance(names, list) and names and not POLICY_TAG_RE.match(names[0]):
        message = (
            f"policy tag {names[0][:60]!r} is not projects/P/locations/L/taxonomies/T/policyTags/G"
        )
        f.at("policyTags", "OPTION_VALUE", message)


def _check_api_options(f: _Field) -> None:
    """timestampPrecision, dataPolicies, foreignTypeDefinition as the API documents them."""
    node = f.node
    precision = node.get("timestampPrecision")
    if (
        "timestampPrecision" in node
        and not f.misplaced("timestampPrecision")
        and as_int(precision) not in TIMESTAMP_PRECISIONS
    ):
        message = f"timestampPrecision must be 6 or 12, got {precision!r:.40}"
        f.at("timestampPrecision", "OPTION_VALUE", message)
    policies = node.get("dataPolicies")
    if "dataPolicies" in node and not (
        isinstance(policies, list)
        and all(
            isinstance(p, dict)
            and isinstance(p.get("name"), str)
            and DATA_POLICY_RE.match(p["name"])
            for p in policies
        )
    ):
        message = '"dataPolicies" must be [{"name": "projects/P/locations/L/dataPolicies/D"}, ...]'
        f.at("dataPolicies", "OPTION_VALUE", message)
    if "foreignTypeDefinition" in node:
        if not isinstance(node["foreignTypeDefinition"], str):
            f.at(
                "foreignTypeDefinition", "OPTION_VALUE", '"foreignTypeDefinition" must be a string'
            )
        elif f.depth > 1:
            message = "foreignTypeDefinition is allowed on top-level columns only"
            f.at("foreignTypeDefinition", "OPTION_VALUE", message)


_DATASET_NAME = re.compile(r"[A-Za-z0-9_]{1,1024}")
_TABLE_PUNCTUATION = ("Pc", "Pd", "Zs")  # with every letter (L*), mark (M*) and number (N*)


def path_name_problem(path: str) -> str | None:
    """Why ``schemas/<dataset>/<table>.json`` does not name a BigQuery table (None: it does,
    or the path is not in that layout)."""
    import unicodedata
    from pathlib import PurePath

    parts = PurePath(path).parts
    if len(parts) < 3 or parts[-3] != "schemas" or not parts[-1].endswith(".json"):
        return None
    dataset, table = parts[-2], parts[-1][: -len(".json")]
    if not _DATASET_NAME.fullmatch(dataset):
        return f"folder {dataset!r} is not a BigQuery dataset name (letters, digits, underscores)"
    bad = sorted(
        {
            c
            for c in table
            if unicodedata.category(c) not in _TABLE_PUNCTUATION
            and unicodedata.category(c)[0] not in "LMN"
        }
    )
    if not table or bad or len(table.encode("utf-8")) > 1024:
        why = f"characters {''.join(bad)!r} are not allowed" if bad else "empty or too long"
        return f"file name {table!r} is not a BigQuery table name: {why}"
    return None
