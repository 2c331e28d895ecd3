"""The table catalog: every table in ``schemas/`` with its partitioning, and its DuckDB DDL.

``schemas/<dataset>/<table>.json`` (the JSON array form ``bq show --schema`` prints) is
the single source of truth for columns; ``schemas/tables.yaml`` adds the partition
column and clustering per table. Both are read by :mod:`nbaops.bqschema.parse` into the
one schema model (:class:`nbaops.bqschema.model.TableSchema`) and linted by the same
rules as the ``bq-schema-lint`` hook: a file the hook rejects is a ConfigError here.
The local warehouse creates its tables from here, the BigQuery adapter creates
datasets/tables from here, and the schema hooks and the "every query filters on the
partition column" test (``tests/static/test_partition_filters.py``) reuse :func:`load_catalog`;
the ``sql-schema-refs`` hook checks queries against :meth:`Catalog.columns`.

The DuckDB column types (:func:`duckdb_type`, table ``_SCALAR_TO_DUCKDB``): NUMERIC keeps
BigQuery's exact precision and scale (``DECIMAL(38,9)`` by default); BIGNUMERIC becomes
DOUBLE (DuckDB decimals stop at 38 digits: approximate); GEOGRAPHY is WKT text; mode
REPEATED is a list (``type[]``), REQUIRED is NOT NULL. The way back
(:func:`duckdb_type_to_bq`, :func:`with_unheld_attributes`) reads a local table's columns
as bq JSON fields: the local warehouse's live schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from nbaops.bqschema.model import Field, TableSchema, canonical_type
from nbaops.errors import ConfigError
from nbaops.paths import project_root, schemas_dir

# BigQuery types DuckDB has no type for, and what a column of one is created as: the one
# declaration (the local DDL translation and the way back read it from here).
UNHELD_TYPES = {
    "BIGNUMERIC": "DOUBLE",  # DuckDB's decimals stop at 38 digits: approximate
    "GEOGRAPHY": "VARCHAR",  # WKT text
}

_SCALAR_TO_DUCKDB = {
    "STRING": "VARCHAR",
    "BYTES": "VARBINARY",  # SQLGlot's name for what DuckDB calls BLOB
    "INT64": "BIGINT",
    "FLOAT64": "DOUBLE",
    "BOOL": "BOOLEAN",
    "DATE": "DATE",
    "DATETIME": "TIMESTAMP",
    "TIME": "TIME",
    "TIMESTAMP": "TIMESTAMPTZ",
    "JSON": "JSON",
    "INTERVAL": "INTERVAL",
    **UNHELD_TYPES,
}


@dataclass(frozen=True)
class TableSpec:
    """One table: its logical ``dataset.table`` name, its schema model and partitioning."""

    dataset: str
    name: str
    model: TableSchema
    partition: str | None = None
    cluster: tuple[str, ...] = ()
    partition_unit: str = "DAY"  # tables.yaml's partition_type: DAY, HOUR, MONTH or YEAR

    @property
    def ref(self) -> str:
        return f"{self.dataset}.{self.name}"

    @property
    def fields(self) -> list[Field]:
        return self.model.fields

    @property
    def column_names(self) -> list[str]:
        return [f.name for f in self.model.fields]

    def field(self, name: str) -> Field | None:
        return self.model.field_map().get(name.lower())

    @property
    def partition_type(self) -> str | None:
        """The bq type of the partition column (DATE or TIMESTAMP), or None."""
        f = self.field(self.partition) if self.partition else None
        return f.type if f else None

    def schema(self) -> list[dict[str, Any]]:
        """The bq JSON array form (canonical types and modes; a fresh copy)."""
        return self.model.to_json()


@dataclass(frozen=True)
class Catalog:
    """All tables under ``schemas/``, keyed by logical ``dataset.table``."""

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

    def columns(self, ref: str) -> dict[str, Field] | None:
        """The columns of ``dataset.table`` by lower-cased name; None if unknown.

        The table is looked up as spelled: BigQuery's dataset and table names are
        case-sensitive (``nba_raw.Games`` is another table), its column names are not.
        """
        spec = self.tables.get(ref)
        return spec.model.field_map() if spec is not None else None

    @property
    def datasets(self) -> list[str]:
        return sorted({t.dataset for t in self.tables.values()})

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


def read_table_schema(path: Path) -> TableSchema:
    """One schema file as the model, linted like the ``bq-schema-lint`` hook does.

    Raises:
        ConfigError: the file's first lint error (unreadable, invalid JSON, a field
            without name or type, an unknown type or mode, a duplicate column, ...).
    """
    from nbaops.bqschema.lint import lint_document
    from nbaops.bqschema.parse import read_document, to_table_schema

    doc = read_document(str(path))
    errors = [f for f in lint_document(doc) if f.is_error]
    schema = to_table_schema(doc)
    if errors or schema is None:
        problem = errors[0].format() if errors else f"{path}: not a schema"
        raise ConfigError(f"cannot use table schema {problem}")
    return schema


def _load(base: Path) -> Catalog:
    from nbaops.bqschema.parse import LAYOUT_FILE, Layout, LayoutError, parse_layouts

    layout_path = base / LAYOUT_FILE
    layout: dict[str, Layout] = {}
    if layout_path.is_file():
        try:
            layout = parse_layouts(layout_path.read_text(encoding="utf-8"))
        except LayoutError as exc:
            raise ConfigError(f"{layout_path}: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{layout_path}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{layout_path}: cannot read: not UTF-8 text") from None
    tables: dict[str, TableSpec] = {}
    for path in sorted(base.glob("*/*.json")):
        dataset, name = path.parent.name, path.stem
        model = read_table_schema(path)
        ref = f"{dataset}.{name}"
        partitioning, cluster = layout.get(ref) or (None, ())
        partition = partitioning.field if partitioning else None
        names = model.field_map()  # by lower-cased name: BigQuery's names ignore case
        if partition is not None and partition.lower() not in names:
            raise ConfigError(f"{layout_path}: {ref}.partition: {partition!r} is not a column")
        for col in cluster:
            if col.lower() not in names:
                raise ConfigError(f"{layout_path}: {ref}.cluster: {col!r} is not a column")
        unit = partitioning.type if partitioning else "DAY"
        tables[ref] = TableSpec(dataset, name, model, partition, cluster, unit)
    unknown = sorted(set(layout) - set(tables))
    if unknown:
        raise ConfigError(
            f"{layout_path}: {unknown[0]}: no schema file schemas/"
            f"{unknown[0].replace('.', '/')}.json"
        )
    return Catalog(tables=tables)


@lru_cache(maxsize=8)
def _cached(base: Path, stamp: tuple[tuple[str, int], ...]) -> Catalog:
    return _load(base)


def catalog_files(base: Path) -> list[Path]:
    """The files the catalog of the schemas folder ``base`` is read from (some may not
    exist): ``tables.yaml`` and every ``<dataset>/<table>.json``."""
    from nbaops.bqschema.parse import LAYOUT_FILE

    return [base / LAYOUT_FILE, *sorted(base.glob("*/*.json"))]


def _stamp(base: Path) -> tuple[tuple[str, int], ...]:
    return tuple((str(p), p.stat().st_mtime_ns) for p in catalog_files(base) if p.exists())


def load_catalog(root: Path | None = None, *, schemas: Path | None = None) -> Catalog:
    """Load (and cache until a file changes) the catalog of ``root/schemas`` (or of the
    folder ``schemas``: a services repository's copy).

    Raises:
        ConfigError: an unreadable/invalid schema file or an inconsistent tables.yaml.
    """
    base = (schemas or schemas_dir(root or project_root())).resolve()
    return _cached(base, _stamp(base))


# --------------------------------------------------------------------------- DuckDB DDL
# Built as SQLGlot trees rendered in DuckDB's dialect, like the BigQuery DDL of
# :mod:`nbaops.bqschema.ddl`: names are quoted identifiers and descriptions string
# literals, never text pasted into a statement. (SQLGlot is imported only when a table is
# created or a description set: not on a run that finds its tables in place.)


def duckdb_type(f: Field) -> str:
    """The DuckDB column type of one model field (mode REPEATED → LIST), as SQL text.

    Raises:
        ConfigError: a type DuckDB has no column for (RANGE).
    """
    return str(_duckdb_type(f).sql(dialect="duckdb"))


# The DDL builders below import SQLGlot and bqschema.ddl where used: every local run
# imports this module (quote_ident, the catalog), few build DDL (~3 ms saved per run).
def _duckdb_type(f: Field) -> Any:
    from sqlglot import exp

    from nbaops.bqschema.ddl import identifier

    kind = exp.DataType.Type
    if f.type == "STRUCT":
        members = [
            exp.ColumnDef(this=identifier(sub.name), kind=_duckdb_type(sub)) for sub in f.fields
        ]
        base = exp.DataType(this=kind.STRUCT, expressions=members, nested=True)
    elif f.type == "NUMERIC":
        precision, scale = f.numeric_params()
        params = [
            exp.DataTypeParam(this=exp.Literal.number(n)) for n in (min(precision, 38), scale)
        ]
        base = exp.DataType(this=kind.DECIMAL, expressions=params)
    elif f.type in _SCALAR_TO_DUCKDB:
        base = exp.DataType(this=kind[_SCALAR_TO_DUCKDB[f.type]])
    else:
        raise ConfigError(f"column {f.name!r}: no DuckDB type for BigQuery {f.type}")
    if f.mode == "REPEATED":
        return exp.DataType(this=kind.ARRAY, expressions=[base], nested=True)
    return base


def _table(schema: str, table: str) -> Any:
    from sqlglot import exp

    from nbaops.bqschema.ddl import identifier

    return exp.Table(this=identifier(table), db=identifier(schema))


def quote_ident(name: str) -> str:
    """A DuckDB quoted identifier (for DML that names a catalog table or column)."""
    return '"' + name.replace('"', '""') + '"'


def duckdb_ddl(spec: TableSpec, schema: str | None = None) -> list[str]:
    """``CREATE SCHEMA``/``CREATE TABLE IF NOT EXISTS`` + column comments for one table."""
    from sqlglot import exp

    from nbaops.bqschema.ddl import identifier

    target_schema = schema or spec.dataset
    columns = [
        exp.ColumnDef(
            this=identifier(f.name),
            kind=_duckdb_type(f),
            constraints=[exp.ColumnConstraint(kind=exp.NotNullColumnConstraint())]
            if f.mode == "REQUIRED"
            else None,
        )
        for f in spec.fields
    ]
    trees = [
        exp.Create(kind="SCHEMA", exists=True, this=exp.Table(db=identifier(target_schema))),
        exp.Create(
            kind="TABLE",
            exists=True,
            this=exp.Schema(this=_table(target_schema, spec.name), expressions=columns),
        ),
    ]
    statements = [str(t.sql(dialect="duckdb")) for t in trees]
    for f in spec.fields:
        if f.description:
            statements.append(duckdb_comment(target_schema, spec.name, f.name, f.description))
    return statements


def duckdb_drop_table(schema: str, table: str) -> str:
    """``DROP TABLE`` of one table."""
    from sqlglot import exp

    return str(exp.Drop(kind="TABLE", tables=[_table(schema, table)]).sql(dialect="duckdb"))


def duckdb_comment(schema: str, table: str, column: str, description: str | None) -> str:
    """``COMMENT ON COLUMN`` (DuckDB keeps a BigQuery description as the column comment).

    DuckDB takes no parameter here: the text is a string literal (SQLGlot doubles its
    quotes; in DuckDB's standard strings a backslash is not an escape), the names quoted
    identifiers; None clears the comment.
    """
    from sqlglot import exp

    from nbaops.bqschema.ddl import identifier

    target = exp.Column(this=identifier(column), table=identifier(table), db=identifier(schema))
    text = exp.null() if description is None else exp.Literal.string(description)
    tree = exp.Comment(this=target, kind="COLUMN", expression=text)
    return str(tree.sql(dialect="duckdb"))


# --------------------------------------------------------------------------- DuckDB → bq
# The other direction: a local table's DuckDB columns read back as bq JSON fields (what
# ``DuckDBWarehouse.table_schema`` returns, the local "live" schema).


_DUCK_TO_BQ = {
    "VARCHAR": "STRING",
    "BLOB": "BYTES",
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "SMALLINT": "INT64",
    "TINYINT": "INT64",
    "HUGEINT": "INT64",
    "UBIGINT": "INT64",
    "UINTEGER": "INT64",
    "DOUBLE": "FLOAT64",
    "FLOAT": "FLOAT64",
    "BOOLEAN": "BOOL",
    "DATE": "DATE",
    "TIME": "TIME",
    "TIMESTAMP": "DATETIME",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "JSON": "JSON",
    "INTERVAL": "INTERVAL",
}


def duckdb_type_to_bq(name: str, type_text: str) -> dict[str, Any]:
    """One DuckDB column type → a bq JSON field (LIST → REPEATED, STRUCT → RECORD)."""
    from sqlglot import exp

    def convert(col: str, dtype: Any, mode: str) -> dict[str, Any]:
        if dtype.this in (exp.DataType.Type.ARRAY, exp.DataType.Type.LIST):
            return convert(col, dtype.expressions[0], "REPEATED")
        if dtype.this == exp.DataType.Type.STRUCT:
            fields = [convert(sub.name, sub.args["kind"], "NULLABLE") for sub in dtype.expressions]
            return {"name": col, "type": "RECORD", "mode": mode, "fields": fields}
        if dtype.this == exp.DataType.Type.DECIMAL:
            params = [int(p.name) for p in dtype.expressions]
            field: dict[str, Any] = {"name": col, "type": "NUMERIC", "mode": mode}
            if params and params != [38, 9]:
                field["precision"] = str(params[0])
                if len(params) > 1:
                    field["scale"] = str(params[1])
            return field
        text = dtype.sql(dialect="duckdb").upper()
        if text == "TIMESTAMPTZ":
            text = "TIMESTAMP WITH TIME ZONE"
        return {"name": col, "type": _DUCK_TO_BQ.get(text, "STRING"), "mode": mode}

    return convert(name, exp.DataType.build(type_text, dialect="duckdb"), "NULLABLE")


# BigQuery types DuckDB holds as another, and the bq type that one reads back as.
_HELD_AS = {bq: _DUCK_TO_BQ[duck] for bq, duck in UNHELD_TYPES.items()}


def with_unheld_attributes(
    live: list[dict[str, Any]], declared: Sequence[Field], *, nested: bool = False
) -> list[dict[str, Any]]:
    """``live`` (bq JSON fields reflected from DuckDB) with what DuckDB cannot hold taken
    from ``declared`` (the schema file's fields), matched by name (any case) and type.

    Taken: the type of a BIGNUMERIC (with its precision and scale) or GEOGRAPHY column
    (:data:`_HELD_AS`), ``maxLength`` of STRING/BYTES (VARCHAR and BLOB have no length),
    ``defaultValueExpression`` (the local DDL runs a default, but its DuckDB text is not
    BigQuery's), ``policyTags``, ``collation`` and ``roundingMode`` (DuckDB columns have
    neither), and inside a RECORD each sub-field's ``description`` and REQUIRED mode
    (DuckDB's STRUCT fields have neither comments nor NOT NULL). Everything
    DuckDB does hold (the columns, types, precision and scale, REPEATED, top-level modes
    and descriptions) stays as reflected, so a change to it is still a difference.
    """
    by_name = {f.name.lower(): f for f in declared}
    for column in live:
        f = by_name.get(str(column["name"]).lower())
        if f is not None and _HELD_AS.get(f.type) == column["type"]:
            column["type"] = f.type
            for key, number in (("precision", f.precision), ("scale", f.scale)):
                if number is not None:
                    column[key] = str(number)
        if f is None or canonical_type(str(column["type"])) != f.type:
            continue
        if f.type in ("STRING", "BYTES") and f.max_length is not None:
            column["maxLength"] = str(f.max_length)
        if f.default is not None:
            column["defaultValueExpression"] = f.default
        if f.collation is not None:
            column["collation"] = f.collation
        if f.rounding_mode is not None:
            column["roundingMode"] = f.rounding_mode
        if f.policy_tags:
            column["policyTags"] = {"names": list(f.policy_tags)}
        if nested:
            if f.description and not column.get("description"):
                column["description"] = f.description
            if f.mode == "REQUIRED" and column["mode"] == "NULLABLE":
                column["mode"] = "REQUIRED"
        if f.type == "STRUCT" and column.get("fields"):
            with_unheld_attributes(column["fields"], f.fields, nested=True)
    return live
