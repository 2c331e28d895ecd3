"""The catalog of breaking-change rules (:mod:`nbaops.bqschema.breaking` applies them)
and the type coercions BigQuery applies in place.

Kept apart from the comparison so each module stays readable; ``docs/schema-rules.md`` is
generated from :data:`BREAKING_RULES` (:mod:`nbaops.bqschema.docs`).
"""

from __future__ import annotations

from nbaops.bqschema.model import BIGQUERY, CONSUMER, Rule, Severity

E = Severity.ERROR
_BOTH = (BIGQUERY, CONSUMER)

_CATALOG = [
    Rule(
        "TABLE_NO_DELETE",
        E,
        "A table's schema file was removed, or a table resource's `tableReference` names "
        "another table (one moved to another file, its `tableReference` unchanged, is the "
        "same table, compared across the move).",
        "Keep the file until the table is dropped and no query reads it; waive with a "
        "reason and expiry to retire a table.",
        (CONSUMER,),
    ),
    Rule(
        "FIELD_NO_DELETE",
        E,
        "A column was removed. BigQuery rejects it as a schema update (it needs "
        "`ALTER TABLE ... DROP COLUMN`), and every query that reads it breaks.",
        "Keep the column (deprecate it in its description); once no consumer reads it, "
        "waive the change and apply the printed DROP COLUMN.",
        _BOTH,
    ),
    Rule(
        "FIELD_NO_RENAME",
        E,
        "A column was renamed (a removed and an added column with the same type and mode at "
        "the same position or with the same description). BigQuery rejects it as a schema "
        "update and queries using the old name break.",
        "Add the new column beside the old one and migrate readers first; or waive and "
        "apply the printed RENAME COLUMN.",
        _BOTH,
    ),
    Rule(
        "FIELD_SAME_TYPE",
        E,
        "A column's type changed (legacy aliases such as INTEGER/INT64 are the same type). "
        "Readers get different values, even when BigQuery can widen the type.",
        "Add a new column of the new type; or, for a widening (INT64 -> NUMERIC/FLOAT64), "
        "waive it and apply the printed SET DATA TYPE.",
        (CONSUMER,),
    ),
    Rule(
        "FIELD_COERCIBLE_TYPE",
        E,
        "A type change BigQuery cannot apply in place: only INT64 -> NUMERIC/BIGNUMERIC/"
        "FLOAT64, NUMERIC -> BIGNUMERIC/FLOAT64 and BIGNUMERIC -> FLOAT64 are allowed by "
        "ALTER COLUMN SET DATA TYPE.",
        "Add a new column and backfill it, or recreate the table.",
        (BIGQUERY,),
    ),
    Rule(
        "TYPE_PARAMS_NO_NARROW",
        E,
        "A parameterized type was narrowed: maxLength added or lowered, NUMERIC/BIGNUMERIC "
        "precision or scale reduced, also together with a coercion (INT64 -> NUMERIC(3), "
        "NUMERIC(10, 2) -> BIGNUMERIC(4, 1)), or any parameters on a BIGNUMERIC that had "
        "none (its 76.76 digits reach 5.78e38; BIGNUMERIC(76, 38) stops below 10^38). "
        "BigQuery only widens type parameters.",
        "Keep the wider parameters, or recreate the table.",
        (BIGQUERY,),
    ),
    Rule(
        "MODE_NO_TIGHTEN",
        E,
        "A column changed from NULLABLE to REQUIRED. BigQuery rejects it, and writers "
        "that send NULL break.",
        "Keep it NULLABLE and validate in the writer.",
        _BOTH,
    ),
    Rule(
        "REPEATED_SAME",
        E,
        "A column changed to or from REPEATED. BigQuery rejects it and readers break.",
        "Add a new column with the new mode.",
        _BOTH,
    ),
    Rule(
        "NO_REQUIRED_ADD",
        E,
        "A REQUIRED column was added to an existing table. BigQuery rejects it (existing "
        "rows have no value).",
        "Add it as NULLABLE (optionally with a defaultValueExpression).",
        (BIGQUERY,),
    ),
    Rule(
        "POLICY_TAG_NO_DELETE",
        E,
        "A column lost its policy tag: data that was access-controlled becomes readable.",
        "Keep the policy tag; waive with the data owner's sign-off as the reason.",
        (CONSUMER,),
    ),
    Rule(
        "PARTITION_SAME",
        E,
        "The table's partitioning (column or granularity) changed. BigQuery cannot change "
        "it in place, and every query's partition filter depends on it. Reported at the "
        "table's entry in `schemas/tables.yaml` (or at its schema file when that states "
        "`timePartitioning` itself).",
        "Create a new table with the new partitioning and migrate.",
        _BOTH,
    ),
    Rule(
        "CLUSTER_SAME",
        E,
        "The table's clustering columns changed: query cost and the partition/cluster "
        "filters consumers rely on change. Reported where the clustering is declared, like "
        "PARTITION_SAME.",
        "Waive it with a reason, then apply with `bq update --clustering_fields` (no DDL).",
        (CONSUMER,),
    ),
    Rule(
        "PARTITION_FILTER_NO_REQUIRE",
        E,
        "A table resource turned on `requirePartitionFilter` (or the deprecated "
        "`timePartitioning.requirePartitionFilter`): every query of the table without a "
        'filter on its partition column now fails ("Cannot query over table ... without a '
        'filter over column(s) ... that can be used for partition elimination"). Turning it '
        "off is only a note.",
        "Make every reader filter on the partition column first; then waive it with a reason "
        "and apply with `bq update --require_partition_filter` (no DDL).",
        (CONSUMER,),
    ),
    Rule(
        "DEFAULT_VALID",
        E,
        "A new or changed column default is not exactly one expression of the forms BigQuery "
        "accepts (a literal, CURRENT_DATE/DATETIME/TIME/TIMESTAMP, GENERATE_UUID, RAND, "
        "SESSION_USER, ST_GEOGPOINT, or an ARRAY/STRUCT of them). No DDL is printed or run "
        "for it: a default is never pasted into SQL.",
        "Fix `defaultValueExpression` (bq-schema-lint's DEFAULT_INVALID says what is wrong).",
        (BIGQUERY,),
    ),
    Rule(
        "COLLATION_SAME",
        E,
        "A STRING column's `collation` changed ('': case-sensitive; 'und:ci': "
        "case-insensitive; none: the table's `defaultCollation`, else case-sensitive). "
        "BigQuery changes a column's collation only for a new column "
        "(https://cloud.google.com/bigquery/docs/managing-table-schemas lists no collation "
        "change), and comparisons, joins, GROUP BY and ORDER BY on it give other results.",
        "Add a new column with the new collation and migrate readers to it.",
        _BOTH,
    ),
    Rule(
        "ROUNDING_MODE_SAME",
        E,
        "A NUMERIC/BIGNUMERIC column's `roundingMode` changed, set or removed: values written "
        "from now on round differently from the ones already stored, which keep their "
        "rounding. Unset rounds as the table's `defaultRoundingMode`, else "
        "ROUND_HALF_AWAY_FROM_ZERO, so stating or removing that mode is only a note.",
        "Keep the rounding mode; or waive it with a reason and apply it with `bq update` "
        "(tables.patch).",
        (CONSUMER,),
    ),
]

BREAKING_RULES: dict[str, Rule] = {r.id: r for r in _CATALOG}

# ALTER COLUMN SET DATA TYPE: the coercions BigQuery applies in place.
COERCIONS: dict[str, frozenset[str]] = {
    "INT64": frozenset({"NUMERIC", "BIGNUMERIC", "FLOAT64"}),
    "NUMERIC": frozenset({"BIGNUMERIC", "FLOAT64"}),
    "BIGNUMERIC": frozenset({"FLOAT64"}),
}
