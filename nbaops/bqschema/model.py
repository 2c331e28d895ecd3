"""The shared vocabulary of schema safety: rules, findings, and the parsed table schema.

Kept free of heavy imports: the pre-commit hooks import this on every commit.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


# Breaking-change categories, modelled on buf's (FILE/PACKAGE/WIRE/...).
BIGQUERY = "BIGQUERY"  # BigQuery rejects the change as a schema update (tables.update/patch)
CONSUMER = "CONSUMER"  # the change breaks queries, readers or writers downstream
CATEGORIES = (BIGQUERY, CONSUMER)


@dataclass(frozen=True)
class Rule:
    """One rule of a catalog, with a stable UPPER_SNAKE id.

    Attributes:
        id: stable id used in findings, ``except:`` lists and waivers.
        severity: ERROR fails the hook; WARNING is printed and does not fail.
        summary: what the rule catches, one sentence.
        fix: how to fix it (or waive it), one or two sentences.
        categories: breaking-change categories (empty for lint rules).
    """

    id: str
    severity: Severity
    summary: str
    fix: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One problem found in one file, printed as ``path:line: RULE_ID message``."""

    path: str
    line: int
    rule: str
    severity: Severity
    message: str
    table: str = ""
    column: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        prefix = "" if self.is_error else "warning: "
        return f"{self.path}:{self.line}: {self.rule} {prefix}{self.message}"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "severity": self.severity.value}


# Legacy SQL names and their GoogleSQL equivalents: both spellings are the same type.
TYPE_ALIASES = {
    "INTEGER": "INT64",
    "FLOAT": "FLOAT64",
    "BOOLEAN": "BOOL",
    "RECORD": "STRUCT",
}
CANONICAL_TYPES = (
    "STRING",
    "BYTES",
    "INT64",
    "FLOAT64",
    "BOOL",
    "NUMERIC",
    "BIGNUMERIC",
    "TIMESTAMP",
    "DATE",
    "TIME",
    "DATETIME",
    "GEOGRAPHY",
    "JSON",
    "INTERVAL",
    "RANGE",
    "STRUCT",
)
ACCEPTED_TYPES = frozenset(CANONICAL_TYPES) | frozenset(TYPE_ALIASES)
MODES = ("NULLABLE", "REQUIRED", "REPEATED")
ROUNDING_MODES = ("ROUND_HALF_AWAY_FROM_ZERO", "ROUND_HALF_EVEN")
# TableFieldSchema.roundingMode's enum value 0 (bigquery v2 discovery document): no
# rounding mode set, so the model holds it as None, as an absent roundingMode.
ROUNDING_MODE_UNSPECIFIED = "ROUNDING_MODE_UNSPECIFIED"
# How a column without a rounding mode rounds: "Unspecified will default to using
# ROUND_HALF_AWAY_FROM_ZERO" (https://cloud.google.com/bigquery/docs/reference/rest/v2/RoundingMode).
UNSET_ROUNDING_MODE = "ROUND_HALF_AWAY_FROM_ZERO"


# TableFieldSchema keys the model does not interpret but keeps as written, so the column
# written back (Field.to_json: the table nbaops creates) is the one the file declares: a
# picosecond TIMESTAMP, a data policy (field-level access control), ... (not compared).
KEPT_FIELD_KEYS = (
    "timestampPrecision",
    "dataPolicies",
    "foreignTypeDefinition",
    "dataPolicyList",
    "dataGovernanceTagsInfo",
    "generatedColumn",
)


def canonical_type(type_name: str) -> str:
    """``INTEGER`` → ``INT64`` etc.; case-insensitive, as BigQuery accepts it."""
    upper = type_name.upper()
    return TYPE_ALIASES.get(upper, upper)


@dataclass
class Field:
    """One column (or nested sub-field) of a schema.

    ``type`` and ``mode`` are canonical (upper case, GoogleSQL names, NULLABLE default).
    """

    name: str
    type: str
    mode: str = "NULLABLE"
    fields: list[Field] = field(default_factory=list)
    description: str | None = None
    policy_tags: tuple[str, ...] = ()
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    default: str | None = None
    range_element: str | None = None
    collation: str | None = None  # STRING only: 'und:ci' or '' (case-sensitive, as unset)
    rounding_mode: str | None = None  # NUMERIC/BIGNUMERIC only: ROUND_HALF_AWAY_FROM_ZERO/_EVEN
    kept: dict[str, Any] = field(default_factory=dict)  # KEPT_FIELD_KEYS, as written
    line: int = 1

    def numeric_params(self) -> tuple[int, int]:
        """(precision, scale) of a NUMERIC/BIGNUMERIC column: BigQuery's defaults when
        unset (NUMERIC 38, 9; BIGNUMERIC 76, 38), scale 0 when only precision is given."""
        precision, scale = (38, 9) if self.type == "NUMERIC" else (76, 38)
        if self.precision is not None:
            precision, scale = self.precision, 0
        return precision, self.scale if self.scale is not None else scale

    def to_json(self) -> dict[str, Any]:
        """The bq JSON form of this field."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "mode": self.mode}
        if self.fields:
            out["fields"] = [f.to_json() for f in self.fields]
        if self.description is not None:
            out["description"] = self.description
        if self.policy_tags:
            out["policyTags"] = {"names": list(self.policy_tags)}
        for key, number in (
            ("maxLength", self.max_length),
            ("precision", self.precision),
            ("scale", self.scale),
        ):
            if number is not None:  # bq prints int64 values as strings
                out[key] = str(number)
        if self.default is not None:
            out["defaultValueExpression"] = self.default
        if self.range_element is not None:
            out["rangeElementType"] = {"type": self.range_element}
        if self.collation is not None:
            out["collation"] = self.collation
        if self.rounding_mode is not None:
            out["roundingMode"] = self.rounding_mode
        out.update(self.kept)
        return out


@dataclass(frozen=True)
class Partitioning:
    """Time partitioning (``type`` DAY/HOUR/MONTH/YEAR; ``field`` None means ingestion
    time, ``_PARTITIONTIME``) or integer-range partitioning (``type`` RANGE, ``bounds``
    (start, end, interval) as the table resource's ``rangePartitioning.range`` states
    them; None where a value is not an integer)."""

    field: str | None
    type: str = "DAY"
    bounds: tuple[int | None, int | None, int | None] | None = None

    def describe(self) -> str:
        if self.type == "RANGE":
            start, end, interval = self.bounds or (None, None, None)
            return f"RANGE on {self.field} [{start}, {end}) by {interval}"
        return f"{self.type} on {self.field or '_PARTITIONTIME'}"


@dataclass
class TableSchema:
    """A table's columns plus, when known, its partitioning and clustering.

    ``partitioning``/``clustering`` are None when the source does not say (a bare
    column list); an explicit "not partitioned" is ``Partitioning``-less with
    ``layout_known`` True.
    """

    fields: list[Field]
    partitioning: Partitioning | None = None
    clustering: tuple[str, ...] = ()
    layout_known: bool = False
    table_id: str | None = None
    # the table resource's defaultRoundingMode (None: not stated, or UNSPECIFIED): "if a
    # decimal field is added to this table without an explicit rounding mode specified,
    # then the field inherits the table default rounding mode" (bigquery v2 discovery
    # document, Table.defaultRoundingMode), so an unset column rounds this way
    default_rounding_mode: str | None = None
    # the table resource's defaultCollation: likewise "if a STRING field is added to this
    # table without explicit collation specified, then the table inherits the table
    # default collation" (Table.defaultCollation); '' states case-sensitive
    default_collation: str | None = None
    # the table resource's requirePartitionFilter (or the deprecated
    # timePartitioning.requirePartitionFilter): queries without a partition filter fail
    require_partition_filter: bool = False

    def field_map(self) -> dict[str, Field]:
        return {f.name.lower(): f for f in self.fields}

    def to_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self.fields]
