"""The table catalog: every table in ``schemas/`` with its partitioning, and its DuckDB DDL.

``schemas/<dataset>/<table>.json`` (the JSON array form ``bq show --schema`` prints) is
the single source of truth for columns; ``schemas/tables.yaml`` adds the partition
column and clustering per table. The local warehouse creates its tables from here,
the BigQuery adapter creates datasets/tables from here, and the schema hooks and the
"every query filters on the partition column" test reuse :func:`load_catalog` and
:func:`partition_filter_problems`.

Type mapping BigQuery → DuckDB (see :func:`duckdb_type`): STRING→VARCHAR, BYTES→BLOB,
INT64→BIGINT, FLOAT64→DOUBLE, NUMERIC→DECIMAL(38,9) (BigQuery's exact precision and
scale; ``NUMERIC(P,S)`` keeps P,S), BIGNUMERIC→DOUBLE (DuckDB decimals stop at 38
digits: approximate), BOOL→BOOLEAN, DATE→DATE, DATETIME→TIMESTAMP, TIME→TIME,
TIMESTAMP→TIMESTAMPTZ, JSON→JSON, GEOGRAPHY→VARCHAR (WKT), INTERVAL→INTERVAL,
RECORD/STRUCT→STRUCT(...), mode REPEATED→``type[]``, mode REQUIRED→NOT NULL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from nbaops.errors import ConfigError
from nbaops.paths import project_root, schemas_dir

LOGICAL_DATASETS = ("nba_raw", "nba_analytics", "nba_precompute", "nba_predictions", "nba_ops")

_SCALAR_TO_DUCKDB = {
    "STRING": "VARCHAR",
    "BYTES": "BLOB",
    "INT64": "BIGINT",
    "INTEGER": "BIGINT",
    "FLOAT64": "DOUBLE",
    "FLOAT": "DOUBLE",
    "BOOL": "BOOLEAN",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "DATETIME": "TIMESTAMP",
    "TIME": "TIME",
    "TIMESTAMP": "TIMESTAMPTZ",
    "JSON": "JSON",
    "GEOGRAPHY": "VARCHAR",
    "INTERVAL": "INTERVAL",
    "BIGNUMERIC": "DOUBLE",
    "BIGDECIMAL": "DOUBLE",
}
_VALID_MODES = ("NULLABLE", "REQUIRED", "REPEATED")


@dataclass(frozen=True)
class TableSpec:
    """One table: its logical ``dataset.table`` name, bq JSON fields and partitioning."""

    dataset: str
    name: str
    fields: tuple[dict[str, Any], ...]
    partition: str | None = None
    cluster: tuple[str, ...] = ()
    path: Path | None = None

    @property
    def ref(self) -> str:
        return f"{self.dataset}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    def field(self, name: str) -> dict[str, Any] | None:
        for f in self.fields:
            if f["name"].lower() == name.lower():
                return f
        return None

    @property
    def required_columns(self) -> list[str]:
        return [f["name"] for f in self.fields if f.get("mode", "NULLABLE") == "REQUIRED"]

    @property
    def partition_type(self) -> str | None:
        """The bq type of the partition column (DATE or TIMESTAMP), or None."""
        if not self.partition:
            return None
        f = self.field(self.partition)
        return f["type"].upper() if f else None

    def schema(self) -> list[dict[str, Any]]:
        """The bq JSON array form (a deep copy)."""
        copied: list[dict[str, Any]] = json.loads(json.dumps(list(self.fields)))
        return copied


@dataclass(frozen=True)
class Catalog:
    """All tables under ``schemas/``, keyed by logical ``dataset.table``."""

    root: Path
    tables: dict[str, TableSpec] = field(default_factory=dict)

    def get(self, ref: str) -> TableSpec:
        """The table ``dataset.table`` (``project.`` prefix ignored); ConfigError if unknown."""
        key = normalise_ref(ref)
        try:
            return self.tables[key]
        except KeyError:
            raise ConfigError(
                f"unknown table {ref!r}; known tables: {', '.join(sorted(self.tables))}"
            ) from None

    def find(self, ref: str) -> TableSpec | None:
        return self.tables.get(normalise_ref(ref))

    @property
    def datasets(self) -> list[str]:
        return sorted({t.dataset for t in self.tables.values()})

    def partition_column(self, ref: str) -> str | None:
        spec = self.find(ref)
        return spec.partition if spec else None

    def __iter__(self) -> Any:
        return iter(self.tables.values())

    def __len__(self) -> int:
        return len(self.tables)


def normalise_ref(ref: str) -> str:
    """``project.dataset.table`` / `` `dataset.table` `` → ``dataset.table``."""
    parts = [p for p in ref.strip().strip("`").split(".") if p]
    if len(parts) < 2:
        raise ConfigError(f"table {ref!r} must be written as dataset.table")
    return ".".join(p.strip("`") for p in parts[-2:])


def _validate_fields(path: Path, fields: Any, where: str = "") -> None:
    if not isinstance(fields, list) or not fields:
        raise ConfigError(f"{path}: {where or '(top level)'}: expected a non-empty array of fields")
    seen: set[str] = set()
    for i, f in enumerate(fields):
        at = f"{where}[{i}]"
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not f["name"]:
            raise ConfigError(f"{path}: {at}: every field needs a string 'name'")
        if not isinstance(f.get("type"), str):
            raise ConfigError(f"{path}: {at}.{f['name']}: every field needs a string 'type'")
        lowered = f["name"].lower()
        if lowered in seen:
            raise ConfigError(f"{path}: {at}: duplicate column {f['name']!r}")
        seen.add(lowered)
        mode = f.get("mode", "NULLABLE").upper()
        if mode not in _VALID_MODES:
            raise ConfigError(f"{path}: {at}.{f['name']}: unknown mode {f.get('mode')!r}")
        kind = f["type"].upper()
        if kind in ("RECORD", "STRUCT"):
            _validate_fields(path, f.get("fields"), f"{at}.{f['name']}.fields")
        elif kind not in _SCALAR_TO_DUCKDB and kind not in ("NUMERIC", "DECIMAL"):
            raise ConfigError(f"{path}: {at}.{f['name']}: unknown BigQuery type {f['type']!r}")


def _load(root: Path) -> Catalog:
    base = schemas_dir(root)
    layout_path = base / "tables.yaml"
    layout: dict[str, Any] = {}
    if layout_path.is_file():
        try:
            loaded = yaml.safe_load(layout_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{layout_path}: invalid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{layout_path}: expected a mapping of dataset.table to options")
        layout = loaded
    tables: dict[str, TableSpec] = {}
    for path in sorted(base.glob("*/*.json")):
        dataset, name = path.parent.name, path.stem
        try:
            fields = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read table schema: {exc}") from None
        _validate_fields(path, fields)
        ref = f"{dataset}.{name}"
        opts = layout.get(ref) or {}
        if not isinstance(opts, dict):
            raise ConfigError(f"{layout_path}: {ref}: expected a mapping")
        partition = opts.get("partition")
        cluster = tuple(opts.get("cluster") or ())
        names = {f["name"] for f in fields}
        if partition is not None and partition not in names:
            raise ConfigError(f"{layout_path}: {ref}.partition: {partition!r} is not a column")
        for col in cluster:
            if col not in names:
                raise ConfigError(f"{layout_path}: {ref}.cluster: {col!r} is not a column")
        tables[ref] = TableSpec(dataset, name, tuple(fields), partition, cluster, path)
    unknown = sorted(set(layout) - set(tables))
    if unknown:
        raise ConfigError(
            f"{layout_path}: {unknown[0]}: no schema file schemas/"
            f"{unknown[0].replace('.', '/')}.json"
        )
    return Catalog(root=root, tables=tables)


@lru_cache(maxsize=8)
def _cached(root: Path, stamp: tuple[tuple[str, int], ...]) -> Catalog:
    return _load(root)


def _stamp(root: Path) -> tuple[tuple[str, int], ...]:
    base = schemas_dir(root)
    paths = [base / "tables.yaml", *sorted(base.glob("*/*.json"))]
    return tuple((str(p), p.stat().st_mtime_ns) for p in paths if p.exists())


def load_catalog(root: Path | None = None) -> Catalog:
    """Load (and cache until a file changes) the catalog of ``root/schemas``.

    Raises:
        ConfigError: an unreadable/invalid schema file or an inconsistent tables.yaml.
    """
    base = (root or project_root()).resolve()
    return _cached(base, _stamp(base))


# --------------------------------------------------------------------------- DuckDB DDL


def duckdb_type(f: Mapping[str, Any]) -> str:
    """The DuckDB column type for one bq JSON field (mode REPEATED → LIST)."""
    kind = str(f["type"]).upper()
    if kind in ("RECORD", "STRUCT"):
        inner = ", ".join(f"{quote_ident(sub['name'])} {duckdb_type(sub)}" for sub in f["fields"])
        base = f"STRUCT({inner})"
    elif kind in ("NUMERIC", "DECIMAL"):
        precision = int(f.get("precision") or 38)
        scale = int(f.get("scale") or (9 if not f.get("precision") else 0))
        base = f"DECIMAL({min(precision, 38)},{scale})"
    else:
        base = _SCALAR_TO_DUCKDB[kind]
    if str(f.get("mode", "NULLABLE")).upper() == "REPEATED":
        return f"{base}[]"
    return base


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duckdb_ddl(spec: TableSpec, schema: str | None = None) -> list[str]:
    """``CREATE SCHEMA``/``CREATE TABLE IF NOT EXISTS`` + column comments for one table."""
    target_schema = schema or spec.dataset
    table = f"{quote_ident(target_schema)}.{quote_ident(spec.name)}"
    columns = []
    for f in spec.fields:
        col = f"{quote_ident(f['name'])} {duckdb_type(f)}"
        if str(f.get("mode", "NULLABLE")).upper() == "REQUIRED":
            col += " NOT NULL"
        columns.append(col)
    statements = [
        f"CREATE SCHEMA IF NOT EXISTS {quote_ident(target_schema)}",
        f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)})",
    ]
    for f in spec.fields:
        if f.get("description"):
            text = str(f["description"]).replace("'", "''")
            statements.append(f"COMMENT ON COLUMN {table}.{quote_ident(f['name'])} IS '{text}'")
    return statements


# ------------------------------------------------------------- partition-filter analysis


def partition_filter_problems(sql: str, catalog: Catalog) -> list[str]:
    """Reads of partitioned tables that do not filter on the partition column.

    For every SELECT scope that reads a partitioned table of the catalog, the scope's
    WHERE clause (or a JOIN ... ON condition) must reference that table's partition
    column (qualified by the table's alias, or unqualified). This is the static form of
    BigQuery's ``require_partition_filter``: a query's cost then tracks its window,
    not the table's history. DML (UPDATE/DELETE/MERGE) is checked the same way.

    Returns:
        One message per offending table reference (empty when the SQL is fine).

    Raises:
        ConfigError: the SQL does not parse as BigQuery Standard SQL.
    """
    import sqlglot
    from sqlglot import exp

    try:
        statements = sqlglot.parse(sql, read="bigquery")
    except sqlglot.errors.ParseError as exc:
        raise ConfigError(
            f"SQL does not parse as BigQuery SQL: {str(exc).splitlines()[0]}"
        ) from None
    problems: list[str] = []
    for statement in statements:
        if statement is None:
            continue
        for table in statement.find_all(exp.Table):
            if not table.args.get("db"):
                continue
            spec = catalog.find(f"{table.args['db'].name}.{table.name}")
            if spec is None or not spec.partition:
                continue
            alias = table.alias_or_name
            if not _filtered(table, spec.partition, alias):
                problems.append(
                    f"{spec.ref} is read without a filter on its partition column "
                    f"{spec.partition!r}"
                )
    return problems


def _filtered(table: Any, column: str, alias: str) -> bool:
    from sqlglot import exp

    scope_node = table.find_ancestor(exp.Select, exp.Update, exp.Delete, exp.Merge)
    if scope_node is None:
        return False
    conditions: list[Any] = []
    where = scope_node.args.get("where")
    if where is not None:
        conditions.append(where)
    for join in scope_node.args.get("joins") or []:
        if join.args.get("on") is not None:
            conditions.append(join.args["on"])
    if isinstance(scope_node, exp.Merge) and scope_node.args.get("on") is not None:
        conditions.append(scope_node.args["on"])
    for cond in conditions:
        for col in cond.find_all(exp.Column):
            if col.name.lower() != column.lower():
                continue
            qualifier = col.table
            if not qualifier or qualifier.lower() in (alias.lower(), table.name.lower()):
                return True
    return False


def ddl_for_catalog(catalog: Catalog, datasets: Mapping[str, str] | None = None) -> list[str]:
    """Every statement that creates the catalog's tables in DuckDB (datasets mapped)."""
    mapping = datasets or {}
    out: list[str] = []
    for spec in catalog:
        out.extend(duckdb_ddl(spec, mapping.get(spec.dataset, spec.dataset)))
    return out


def column_names(fields: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(f["name"]) for f in fields]
