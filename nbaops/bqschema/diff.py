"""Compare schema files with a git base or with the live table, judged by the rules.

Used by the ``bq-schema-breaking`` hook (files vs a git ref) and the ``schema-diff`` /
``schema-apply`` tasks (a file vs a ref or vs the warehouse).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from nbaops.bqschema.breaking import Comparison, RuleConfig, Verdicts, compare, judge
from nbaops.bqschema.ddl import Statement
from nbaops.bqschema.gitbase import GitBase, relative
from nbaops.bqschema.lint import layout_problems, lint_paths
from nbaops.bqschema.lint_rules import lint_finding
from nbaops.bqschema.model import Finding, TableSchema
from nbaops.bqschema.parse import (
    LAYOUT_FILE,
    Layout,
    LayoutError,
    decode_document,
    layout_lines,
    parse_layouts,
    read_bytes,
    read_schema,
    table_name_for,
    to_table_schema,
)
from nbaops.errors import GitError, UsageError, WarehouseError, first_line
from nbaops.gitrepo import Repo


def is_schema_path(path: str) -> bool:
    """A BigQuery schema file: ``*.json`` that is not a JSON Schema (``*.schema.json``)."""
    name = PurePosixPath(path).name
    return name.endswith(".json") and not name.endswith(".schema.json")


def schema_files(root: Path, schemas_dir: str) -> Iterator[Path]:
    """The schema files below ``root/schemas_dir`` (none when it is not a folder)."""
    return (p for p in (root / schemas_dir).rglob("*.json") if is_schema_path(p.name))


@dataclass
class TableDiff:
    """One table's comparison and its verdicts."""

    table: str
    path: str
    comparison: Comparison
    verdicts: Verdicts

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "path": self.path,
            "findings": [f.to_json() for f in self.verdicts.findings],
            "ddl": [s.sql for s in self.verdicts.plan],
            "notes": self.verdicts.notes
            + [f"{v.rule} {v.message}: no DDL can apply it" for v in self.verdicts.unappliable],
        }


@dataclass
class DiffResult:
    """Everything a breaking check found."""

    against: str
    tables: list[TableDiff] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # unreadable/invalid files, layouts
    note: str = ""  # e.g. "first commit: no base to compare with, lint only"

    @property
    def all_findings(self) -> list[Finding]:
        return self.findings + [f for t in self.tables for f in t.verdicts.findings]

    @property
    def failed(self) -> bool:
        return any(f.is_error for f in self.all_findings)

    @property
    def plan(self) -> list[Statement]:
        return [s for t in self.tables for s in t.verdicts.plan]


def _expand_given(paths: Sequence[str], root: Path, base: GitBase | None) -> list[str]:
    """The named paths relative to the repository ``root``, a folder standing for the
    schema files below it. A path that is neither in the working tree nor at the base (None:
    no commit yet) is a typo: refused, not compared with nothing and passed.

    Raises:
        UsageError: a named path is outside the repository, or exists neither in the
            working tree nor at the base.
    """
    given = [relative(root, p) for p in paths]
    out: list[str] = []
    at_base: dict[str, bytes | None] | None = None
    for rel in given:
        where = root / rel
        if where.is_dir():
            below = {p.relative_to(root).as_posix() for p in schema_files(root, rel)}
            if base is not None:
                below |= {p for p in base.list_files(rel) if is_schema_path(p)}
            out.extend(sorted(below))
            continue
        if not where.exists() and not where.is_symlink():
            if base is None:
                raise UsageError(f"{rel}: no such file in the working tree (no commit yet)")
            at_base = at_base if at_base is not None else base.read_many(given)
            if at_base.get(rel) is None and not base.list_files(rel):
                raise UsageError(f"{rel}: no such file in the working tree or at {base.ref}")
        out.append(rel)
    return out


# The rules about a table's partitioning and clustering (from the catalog, unless the
# schema file states them itself).
LAYOUT_RULES = frozenset({"PARTITION_SAME", "CLUSTER_SAME"})


def _with_layout(
    schema: TableSchema | None, table: str, layouts: dict[str, Layout] | None
) -> TableSchema | None:
    if schema is None or schema.layout_known or layouts is None:
        return schema
    schema.partitioning, schema.clustering = layouts.get(table, (None, ()))
    schema.layout_known = True
    return schema


def _parse_layout(
    path: str, data: bytes | None, findings: list[Finding] | None, side: str
) -> dict[str, Layout] | None:
    """The catalog's layouts (None: no catalog, or an invalid one, reported in
    ``findings`` unless None: a base's, which has no layout to protect)."""
    if data is None:
        return None
    try:
        return parse_layouts(data.decode("utf-8"))
    except (LayoutError, UnicodeDecodeError) as exc:
        if findings is not None:
            findings.append(lint_finding(path, 1, "LAYOUT_INVALID", f"{side}: {exc}"))
        return None


def check_against_ref(
    paths: Sequence[str],
    *,
    ref: str = "HEAD",
    config: RuleConfig | None = None,
    schemas_dir: str | None = None,
    start: str | Path = ".",
    today: dt.date | None = None,
) -> DiffResult:
    """Compare schema files in the working tree with the same files at ``ref``.

    Args:
        paths: changed files (schema ``*.json`` and ``tables.yaml``); empty means every
            schema file under ``schemas_dir``.
        ref: the git base (``HEAD`` in pre-commit, ``origin/main`` in CI).
        config: the ``schema_rules`` config (default: every rule, no waivers).
        schemas_dir: where schema files live, for detecting removed tables and the
            partition/cluster catalog (relative to the repository root). One the user
            named (``--schemas-dir``) that exists neither in the working tree nor at
            ``ref`` is a typo (it would silently turn off removed-table detection); the
            default, None for ``schemas``, may be absent (schema files in nested
            ``schemas/`` folders).
        start: a folder inside the repository.
        today: the date waivers are checked against (default: today, US Eastern).

    Raises:
        GitError: not a git repository or unknown ref.
        UsageError: ``schemas_dir`` is outside the repository (an absolute path inside it
            is taken relative to its root), or was given and does not exist.
    """
    from nbaops.clock import today_eastern

    config = config or RuleConfig()
    today = today or today_eastern()
    schemas_dir_given = schemas_dir is not None
    schemas_dir = schemas_dir or "schemas"
    repo = Repo(start)  # GitError (exit 3): not a git repository
    try:
        base = GitBase(repo, ref)
    except UsageError:
        try:
            repo.resolve("HEAD")
        except GitError:  # no commit at all: a first commit has nothing to compare with
            return _lint_only(paths, ref, schemas_dir, repo.root)
        raise
    result = DiffResult(against=ref)
    root = base.root

    def shown(rel: str) -> str:
        return os.path.relpath(root / rel)

    given = _expand_given(paths, root, base)
    if Path(schemas_dir).is_absolute():  # as sql-schema-refs takes it
        try:
            schemas_dir = Path(schemas_dir).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            raise UsageError(
                f"--schemas-dir: {schemas_dir} is outside the repository {root}"
            ) from None
    if ".." in Path(schemas_dir).parts:
        raise UsageError(
            f"--schemas-dir: {schemas_dir!r} must be a folder inside the repository {root}"
        )
    at_base = base.list_files(schemas_dir)
    if schemas_dir_given and not at_base and not (root / schemas_dir).is_dir():
        raise UsageError(f"--schemas-dir: no folder {schemas_dir!r} in {root} or at {ref}")
    base_schemas = {p for p in at_base if is_schema_path(p)}
    if given:
        schema_paths = [p for p in given if is_schema_path(p)]
    else:
        schema_paths = sorted(
            p.relative_to(root).as_posix() for p in schema_files(root, schemas_dir)
        )
    # Removed tables: schema files at the base that are gone from the working tree.
    for p in sorted(base_schemas):
        if not (root / p).exists() and p not in schema_paths:
            schema_paths.append(p)

    layout_rel = f"{schemas_dir}/{LAYOUT_FILE}"
    old_bytes = base.read_many([*schema_paths, layout_rel])
    new_layout_bytes = read_bytes(str(root / layout_rel)) if (root / layout_rel).is_file() else None
    if isinstance(new_layout_bytes, Finding):
        result.findings.append(new_layout_bytes)
        new_layout_bytes = None
    # a catalog broken at the base is not reported: as a broken base schema file, it has
    # nothing to protect, and failing on it blocked the very commit that fixes it
    old_layouts = _parse_layout(shown(layout_rel), old_bytes[layout_rel], None, f"at {ref}")
    new_layouts = _parse_layout(
        shown(layout_rel), new_layout_bytes, result.findings, "working tree"
    )
    if new_layouts is None and old_layouts is not None and not (root / layout_rel).exists():
        new_layouts = {}  # the catalog was deleted: every table lost its partitioning/clustering
    # Where a partition/cluster finding points: the table's entry in the catalog.
    entry_lines = (
        layout_lines(new_layout_bytes.decode("utf-8"))
        if new_layouts is not None and new_layout_bytes is not None
        else {}
    )
    # A changed catalog entry makes its table part of the check even if its file is not.
    if old_layouts is not None and new_layouts is not None:
        for table in set(old_layouts) | set(new_layouts):
            if old_layouts.get(table) != new_layouts.get(table):
                candidate = _schema_rel(schemas_dir, table)
                if candidate not in schema_paths:
                    schema_paths.append(candidate)
                    old_bytes.update(base.read_many([candidate]))
    for table in _tables_without_schema(root, schemas_dir, new_layouts or {}):
        message = f"{table}: no schema file {_schema_rel(schemas_dir, table)}"
        line = entry_lines.get(table, 1)
        result.findings.append(lint_finding(shown(layout_rel), line, "LAYOUT_INVALID", message))

    sides: list[_Sides] = []
    for rel in schema_paths:
        new_schema: TableSchema | None = None
        if (root / rel).exists():
            new_schema, errors = read_schema(shown(rel))
            if new_schema is None:
                result.findings.extend(errors)
                continue
        old_data = old_bytes.get(rel)
        old_schema: TableSchema | None = None
        if old_data is not None:
            old_doc = decode_document(f"{rel}@{ref}", old_data)
            old_schema = to_table_schema(old_doc)
            if old_schema is None:  # the base itself was broken: nothing to protect
                continue
        table = table_name_for(rel, new_schema or old_schema)
        was = table_name_for(rel, old_schema) if old_schema else table
        if was != table:  # its tableReference names another table: one gone, one new
            sides += [(rel, was, old_schema, None), (rel, table, None, new_schema)]
        else:
            sides.append((rel, table, old_schema, new_schema))
    for rel, table, old_schema, new_schema in _across_moves(sides):
        path = shown(rel)
        from_catalog = new_schema is not None and not new_schema.layout_known
        new_schema = _with_layout(new_schema, table, new_layouts)
        old_schema = _with_layout(old_schema, table, old_layouts)
        comparison = compare(old_schema, new_schema, table)
        verdicts = judge(comparison, config, path=path, today=today)
        if from_catalog:
            entry, line = shown(layout_rel), entry_lines.get(table, 1)
            verdicts.findings = [  # a partition/cluster finding points at the entry
                dataclasses.replace(f, path=entry, line=line) if f.rule in LAYOUT_RULES else f
                for f in verdicts.findings
            ]
            if new_schema is not None:  # the entry's columns exist (a new table included)
                result.findings.extend(
                    lint_finding(entry, line, rule, f"{table}: {message}")
                    for rule, message in layout_problems(new_schema)
                )
        result.tables.append(TableDiff(table, path, comparison, verdicts))
    return result


# One schema file's table at the base and in the working tree: (path, table, old, new).
_Sides = tuple[str, str, TableSchema | None, TableSchema | None]


def _across_moves(sides: list[_Sides]) -> list[_Sides]:
    """``sides`` with a table that left one file for another compared across the move: a
    table resource is the table its ``tableReference`` names, whatever its path, so a
    moved one is neither removed (at the old path) nor new (at the new one)."""
    gone = {table: old for _, table, old, new in sides if old is not None and new is None}
    arrived = {table for _, table, old, new in sides if old is None and new is not None}
    moved = gone.keys() & arrived
    out: list[_Sides] = []
    for rel, table, old, new in sides:
        if table in moved:
            if new is None:
                continue  # compared at the file it moved to
            old = gone[table]
        out.append((rel, table, old, new))
    return out


def _tables_without_schema(root: Path, schemas_dir: str, layouts: dict[str, Layout]) -> list[str]:
    """The catalog's tables that no schema file in the working tree describes (the catalog
    refuses such an entry, :mod:`nbaops.table_catalog`): none at the entry's path, nor a
    table resource elsewhere whose ``tableReference`` names it (read only when needed)."""
    missing = [t for t in sorted(layouts) if not (root / _schema_rel(schemas_dir, t)).is_file()]
    if missing:
        named = {
            table_name_for(str(p), read_schema(str(p))[0]) for p in schema_files(root, schemas_dir)
        }
        missing = [t for t in missing if t not in named]
    return missing


def _schema_rel(schemas_dir: str, table: str) -> str:
    """Where the catalog expects ``dataset.table``'s schema file (relative to the root)."""
    return f"{schemas_dir}/{table.replace('.', '/')}.json"


def _lint_only(paths: Sequence[str], ref: str, schemas_dir: str, root: Path) -> DiffResult:
    """A repository's first commit: nothing to break yet, so lint the schema files only."""
    if paths:
        given = _expand_given(paths, root, None)
        files = [os.path.relpath(root / p) for p in given if is_schema_path(p)]
    else:
        files = sorted(os.path.relpath(p) for p in schema_files(root, schemas_dir))
    result = DiffResult(against=ref, findings=lint_paths(files))
    result.note = (
        f"no commit yet to compare with ({ref} does not exist: a first commit): "
        f"breaking-change rules skipped, {len(files)} schema file(s) linted"
    )
    return result


def render_lines(result: DiffResult, *, ddl: bool = True) -> list[str]:
    """The hook's output: findings as ``path:line: RULE_ID message``, then (unless ``ddl``
    is False) the DDL, notes and changes to migrate by hand as ``-- `` lines."""
    lines = [f.format() for f in sorted(result.all_findings, key=lambda f: (f.path, f.line))]
    if result.note:
        lines.insert(0, f"note: {result.note}")
    for t in result.tables if ddl else []:
        if t.verdicts.plan:
            lines.append(f"-- {t.table}: DDL for the allowed changes ({t.path})")
            lines.extend(f"{s.sql};" for s in t.verdicts.plan)
        for note in t.verdicts.notes:
            lines.append(f"-- {t.table}: {note}")
        for v in t.verdicts.unappliable:
            lines.append(
                f"-- {t.table}: {v.rule} {v.message}: no DDL can apply it; migrate by hand"
            )
    return lines


# -- tasks: schema-diff ----------------------------------------------------------------------


def schema_path(root: Path, table: str) -> Path:
    """``schemas/<dataset>/<table>.json`` for a logical ``dataset.table``."""
    dataset, _, name = table.partition(".")
    return root / "schemas" / dataset / f"{name}.json"


_TABLE_REF = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,1023}\.[A-Za-z_][A-Za-z0-9_]{0,1023}")


def resolve_tables(
    root: Path, table: str | None, removed: Callable[[str], bool] | None = None
) -> list[str]:
    """The named table (validated) or every table with a schema file.

    Args:
        root: the project root (its ``schemas/``).
        table: the ``--table`` given, or None for every table.
        removed: whether a table without a schema file still exists on the other side
            (at the base ref, or live): named, it is compared and reported as
            TABLE_NO_DELETE, as a run over every table reports it, not refused as unknown.

    Raises:
        UsageError: unknown table (names the known ones).
    """
    folder = root / "schemas"  # none when it is not a folder
    tables = sorted(
        f"{p.parent.name}.{p.stem}" for p in folder.glob("*/*.json") if is_schema_path(p.name)
    )
    # only a well-formed dataset.table is looked up elsewhere (a git path, a warehouse name)
    looked_up = table is not None and _TABLE_REF.fullmatch(table) is not None
    if table is not None and table not in tables and not (looked_up and removed and removed(table)):
        raise UsageError(f"unknown table {table!r}; known tables: {', '.join(tables)}")
    return tables if table is None else [table]


def _at_ref(root: Path, ref: str, table: str) -> bool:
    """Whether a table's schema file exists at ``ref`` (False when git cannot say)."""
    try:
        base = GitBase(Repo(root), ref)
        rel = relative(base.root, schema_path(root, table))
        return base.read_many([rel]).get(rel) is not None
    except (GitError, UsageError):
        return False


def live_schema(live: list[dict[str, Any]] | dict[str, Any], table: str) -> TableSchema:
    """The warehouse's bq JSON array (``Warehouse.table_schema``), or its table resource
    with the table defaults its unset columns take (``Warehouse.table_resource``), as a
    :class:`TableSchema`. Its layout is not read: only the columns are compared."""
    import json

    doc = decode_document(f"live:{table}", json.dumps(live, default=str).encode())
    schema = to_table_schema(doc)
    if schema is None:  # the adapter returned something that is not a field list
        raise WarehouseError(f"{table}: the warehouse returned a schema that is not a field list")
    schema.layout_known = False
    return schema


@dataclass
class SchemaDiffReport:
    """The result of ``schema-diff`` / ``schema-apply`` (implements the Report protocol).

    Its own class, not a :class:`~nbaops.report.CheckReport`: per table a diff, its
    breaking-rule findings and DDL plan; the verdict comes from the findings.
    """

    title: str
    against: str
    tables: list[TableDiff] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # table -> why it could not be compared, as raised (doctor judges by type: a NotFound
    # table is missing); a key without a dot is a dataset whose tables could not be listed
    raised: dict[str, Exception] = field(default_factory=dict, repr=False)
    unmanaged: list[str] = field(default_factory=list)  # live tables no schema file declares
    applied: list[str] = field(default_factory=list)
    refused: bool = False
    dry_run: bool = False

    def could_not(self, name: str, exc: Exception) -> None:
        """Record why the table (or dataset) ``name`` could not be compared (or listed)."""
        self.raised[name] = exc

    @property
    def errors(self) -> dict[str, str]:
        """table (or dataset) -> the first line of why it could not be compared (listed)."""
        return {name: first_line(exc) for name, exc in self.raised.items()}

    @property
    def verdict(self) -> Any:
        from nbaops.verdict import Verdict

        everything = self.findings + [f for t in self.tables for f in t.verdicts.findings]
        if self.refused or any(f.is_error for f in everything):
            return Verdict.FAIL
        if self.errors:
            return Verdict.ERROR
        if (
            everything
            or self.unmanaged
            or any(t.verdicts.unappliable or t.verdicts.notes for t in self.tables)
        ):
            return Verdict.WARN
        return Verdict.PASS

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "against": self.against,
            "tables": [t.to_json() for t in self.tables],
            "findings": [f.to_json() for f in self.findings],
            "errors": self.errors,
            "unmanaged": self.unmanaged,
            "applied": self.applied,
            "refused": self.refused,
            "dry_run": self.dry_run,
        }

    def render(self, console: Any) -> None:
        from nbaops.report import emit, error_cause, verdict_part

        emit(console, (self.title, "bold"), f" (against {self.against})")
        for f in self.findings:
            emit(console, f.format())
        # tables failing the same way: one line; a key without a dot is a dataset whose
        # tables could not be listed (:func:`_list_unmanaged`), not a table
        causes: dict[tuple[bool, str], list[str]] = {}
        for name, message in self.errors.items():
            causes.setdefault(("." in name, error_cause(message)), []).append(name)
        for (is_table, cause), names in causes.items():
            if is_table:
                emit(console, f"{', '.join(names)}: could not compare: {cause}")
            else:
                emit(console, f"dataset {', '.join(names)}: tables could not be listed: {cause}")
        if self.unmanaged:
            emit(console, f"in the warehouse, no schema file: {', '.join(self.unmanaged)}")
        unchanged = [t.table for t in self.tables if not t.comparison.changed]
        for t in self.tables:
            if not t.comparison.changed:
                continue
            emit(console, (t.table, "bold"), f" ({t.path}): changed")
            for f in t.verdicts.findings:
                emit(console, f"  {f.format()}")
            for s in t.verdicts.plan:
                emit(console, f"  {'applied' if s.sql in self.applied else 'ddl'}: {s.sql};")
            for note in t.verdicts.notes:
                emit(console, f"  note: {note}")
            for v in t.verdicts.unappliable:
                emit(console, f"  manual: {v.rule} {v.message} (no DDL can apply it)")
        summary = f"{len(self.tables)} table(s) compared, {len(unchanged)} unchanged"
        not_compared = sum("." in name for name in self.errors)
        if not_compared:
            summary += f", {not_compared} could not be compared"
        if len(self.errors) > not_compared:
            summary += f", {len(self.errors) - not_compared} dataset(s) could not be listed"
        if self.refused:
            summary += "; refused: breaking changes (see the rule ids above), nothing applied"
        elif self.applied:
            summary += f"; {len(self.applied)} statement(s) applied"
        elif self.dry_run:
            summary += "; dry run, nothing applied"
        emit(console, verdict_part(self.verdict), " ", summary)


def diff_against_ref(ctx: Any, table: str | None, ref: str) -> SchemaDiffReport:
    """``schema-diff --against REF``: schema files in the working tree vs ``ref``."""
    config = ctx.config.settings("schema_rules", RuleConfig)
    tables = resolve_tables(ctx.root, table, functools.partial(_at_ref, ctx.root, ref))
    paths = [str(schema_path(ctx.root, t)) for t in tables] if table else []
    result = check_against_ref(paths, ref=ref, config=config, start=ctx.root)
    report = SchemaDiffReport("schema-diff", against=ref, findings=result.findings)
    report.tables = result.tables
    return report


def diff_live(ctx: Any, table: str | None) -> SchemaDiffReport:
    """``schema-diff --live``: each schema file vs the table in the profile's warehouse;
    without ``table``, also the tables of those datasets that no file declares
    (:attr:`SchemaDiffReport.unmanaged`)."""
    from nbaops.clock import today_eastern

    config = ctx.config.settings("schema_rules", RuleConfig)
    warehouse = ctx.warehouse
    # a table the warehouse lists in its dataset; one it cannot list (unreachable, denied)
    # raises its WarehouseError, the cause, not "unknown table"
    tables = resolve_tables(
        ctx.root, table, lambda name: name in warehouse.list_tables(name.partition(".")[0])
    )
    report = SchemaDiffReport("schema-diff", against=f"live ({ctx.profile} warehouse)")
    today = today_eastern()
    for name in tables:
        path = schema_path(ctx.root, name)
        shown = os.path.relpath(path)
        new: TableSchema | None = None
        if path.exists() or path.is_symlink():  # else a removed file: TABLE_NO_DELETE
            new, errors = read_schema(shown)
            if new is None:
                report.findings.extend(errors)
                continue
        try:
            old = live_schema(warehouse.table_resource(name), name)
        except WarehouseError as exc:
            report.could_not(name, exc)
            continue
        comparison = compare(old, new, name)
        report.tables.append(
            TableDiff(name, shown, comparison, judge(comparison, config, path=shown, today=today))
        )
    if table is None:
        _list_unmanaged(warehouse, tables, report)
    return report


def _list_unmanaged(warehouse: Any, declared: list[str], report: SchemaDiffReport) -> None:
    """The tables of the datasets ``schemas/`` declares that no schema file declares (a
    WARN, not TABLE_NO_DELETE: other writers may own tables there; ``--table`` names one to
    compare it as a removal). A dataset that cannot be listed is an error."""
    for dataset in sorted({t.partition(".")[0] for t in declared}):
        try:
            listed = warehouse.list_tables(dataset)
        except WarehouseError as exc:
            report.could_not(dataset, exc)
            continue
        report.unmanaged.extend(t for t in listed if t not in declared)
