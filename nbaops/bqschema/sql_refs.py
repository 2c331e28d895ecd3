"""Check that every SQL query in a Python package references tables and columns that exist
in ``schemas/`` (parsed with SQLGlot, BigQuery dialect).

What counts as a query:

- a string passed to ``.query(...)``, ``.execute(...)`` or ``.estimate_bytes(...)``
  (directly, or through a name assigned a string constant anywhere in the module);
- any other string constant that starts like a SQL statement in upper case
  (``SELECT``, ``WITH``, ``INSERT INTO``, ``MERGE``, ``UPDATE``, ``DELETE FROM``), such
  as module-level ``*_SQL`` constants.

f-strings cannot be checked; when one is passed to a warehouse call it is reported as a
warning. DDL (``CREATE``/``ALTER``/``DROP``) is not checked. sqlglot is imported only
here: the schema hooks stay light.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbaops.bqschema.model import Field, Finding, Rule, Severity
from nbaops.errors import UsageError, first_line
from nbaops.table_catalog import Catalog, load_catalog

SQL_RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        Rule(
            "SQL_UNKNOWN_TABLE",
            Severity.ERROR,
            "A query reads or writes a table that has no schema file in schemas/ (or is not "
            "written as dataset.table). Dataset and table names are case-sensitive, as in "
            "BigQuery; column names are not.",
            "Fix the table name, or add the table's schema file.",
        ),
        Rule(
            "SQL_UNKNOWN_COLUMN",
            Severity.ERROR,
            "A query uses a column that the table's schema file does not have.",
            "Fix the column name, or add the column to the schema (and the table).",
        ),
        Rule(
            "SQL_PARSE",
            Severity.WARNING,
            "A string passed to a warehouse call is not SQL that SQLGlot can parse as "
            "BigQuery, so it was not checked.",
            "Check the SQL; if it is valid BigQuery, report the SQLGlot gap.",
        ),
        Rule(
            "SQL_DYNAMIC",
            Severity.WARNING,
            "A warehouse call gets SQL built at run time (an f-string or expression), which "
            "cannot be checked.",
            "Prefer constant SQL with @parameters; table names can come from a constant.",
        ),
    ]
}

WAREHOUSE_METHODS = frozenset({"query", "execute", "estimate_bytes"})
_SQL_START = re.compile(
    r"^\s*(SELECT\s|WITH\s|INSERT\s+INTO\s|MERGE\s|UPDATE\s|DELETE\s+FROM\s)", re.DOTALL
)
_CHECKED_STATEMENTS = (
    "Select",
    "Union",
    "Intersect",
    "Except",
    "Insert",
    "Update",
    "Delete",
    "Merge",
    "With",
    "Subquery",
)


@dataclass(frozen=True)
class SqlSite:
    """One SQL text found in a source file."""

    path: str
    line: int  # the line where the string literal starts
    sql: str
    explicit: bool  # passed to a warehouse call (parse failures are reported)


# -- finding SQL in Python sources ---------------------------------------------------------


def _string_value(
    node: ast.AST, constants: dict[str, list[ast.AST]] | None = None, depth: int = 0
) -> str | None:
    """The string an expression always evaluates to: literals, ``+`` of literals, and
    f-strings / names built only from module string constants. None otherwise."""
    if depth > 8:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _string_value(node.left, constants, depth + 1)
        right = _string_value(node.right, constants, depth + 1)
        if left is not None and right is not None:
            return left + right
    if isinstance(node, ast.Name) and constants is not None:
        values = constants.get(node.id, [])
        if len(values) == 1:
            return _string_value(values[0], constants, depth + 1)
    if isinstance(node, ast.JoinedStr):
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                if value.conversion != -1 or value.format_spec is not None:
                    return None
                text = _string_value(value.value, constants, depth + 1)
            else:
                text = _string_value(value, constants, depth + 1)
            if text is None:
                return None
            parts.append(text)
        return "".join(parts)
    return None


def _literal_text(node: ast.JoinedStr) -> str:
    return "".join(
        v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
    )


def find_sql(path: str, source: str) -> tuple[list[SqlSite], list[Finding]]:
    """SQL strings in one Python source (and warnings for SQL that cannot be checked)."""
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError):
        return [], []  # ruff reports syntax errors; nothing to check here
    # Walked once, each node sorted into the only kinds the passes below read (in walk
    # order): most nodes are names, attributes and operators, and skipping them in every
    # pass was most of the time.
    strings: list[ast.Constant | ast.JoinedStr] = []
    calls: list[ast.Call] = []
    assigns: list[ast.Assign | ast.AnnAssign] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant | ast.JoinedStr):
            strings.append(node)
        elif isinstance(node, ast.Call):
            calls.append(node)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            assigns.append(node)
    constants: dict[str, list[ast.AST]] = {}
    for node in assigns:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                constants.setdefault(target.id, []).append(value)

    sites: dict[int, SqlSite] = {}
    findings: list[Finding] = []
    explicit_nodes: set[int] = set()
    for node in calls:
        if not (isinstance(node.func, ast.Attribute) and node.func.attr in WAREHOUSE_METHODS):
            continue
        arg: ast.AST | None = node.args[0] if node.args else None
        for kw in node.keywords:
            if kw.arg == "sql":
                arg = kw.value
        if arg is None:
            continue
        candidates = [arg]
        if isinstance(arg, ast.Name):
            candidates = constants.get(arg.id, [])
            if not candidates:
                continue  # a parameter or computed value: checked where it is defined
        for cand in candidates:
            text = _string_value(cand, constants)
            if text is not None:
                explicit_nodes.add(id(cand))
                sites[id(cand)] = SqlSite(path, getattr(cand, "lineno", node.lineno), text, True)
            elif isinstance(cand, ast.JoinedStr) and "`" in _literal_text(cand):
                # Backquoted names mark warehouse (BigQuery) SQL; other f-strings here are
                # local DuckDB statements, not ours to check.
                explicit_nodes.add(id(cand))
                message = f"{node.func.attr}() gets an f-string; its SQL was not checked"
                findings.append(_finding(path, cand.lineno, "SQL_DYNAMIC", message))
    # The literal pieces of an f-string are not queries of their own.
    inner = {
        id(child)
        for node in strings
        if isinstance(node, ast.JoinedStr)
        for child in ast.walk(node)
        if child is not node
    }
    for node in strings:
        if id(node) in explicit_nodes or id(node) in inner:  # every site so far is explicit
            continue
        text = _string_value(node, constants)
        if text and _SQL_START.match(text) and re.search(r"\b(FROM|INTO|SET)\b", text):
            sites[id(node)] = SqlSite(path, node.lineno, text, False)
    return sorted(sites.values(), key=lambda s: s.line), findings


# -- checking one SQL text -----------------------------------------------------------------


def _finding(path: str, line: int, rule: str, message: str) -> Finding:
    return Finding(path, line, rule, SQL_RULES[rule].severity, message)


def _at(site: SqlSite, node: Any, rule: str, message: str) -> Finding:
    """A finding at ``node``'s line within the SQL (its first line for None)."""
    target = getattr(node, "this", None)
    meta = getattr(target, "meta", None) or getattr(node, "meta", None) or {}
    line = meta.get("line") if isinstance(meta, dict) else None
    offset = line if isinstance(line, int) and line > 0 else 1
    return _finding(site.path, site.line + offset - 1, rule, message)


def _table_key(table: Any) -> str | None:
    """``dataset.table`` of an sqlglot Table; None for INFORMATION_SCHEMA and the like."""
    parts = [p for p in (table.catalog, table.db, table.name) if p]
    joined = ".".join(parts)
    if "INFORMATION_SCHEMA" in joined.upper() or joined.lower().startswith("region-"):
        return None
    if table.db:
        return f"{table.db}.{table.name}"
    name = str(table.name)
    if "." in name:  # `dataset.table` quoted as one identifier
        return ".".join(name.split(".")[-2:])
    return name


def check_sql(site: SqlSite, catalog: Catalog) -> list[Finding]:
    """Findings for one SQL text: unknown tables and columns, with file:line."""
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    from nbaops.bqschema.ddl import parse_bigquery

    try:  # (quiet: DDL SQLGlot has no node for is skipped below, not worth a warning)
        statements = parse_bigquery(site.sql)
    except SqlglotError as exc:
        if not site.explicit:
            return []
        return [_at(site, None, "SQL_PARSE", f"cannot parse SQL: {first_line(exc)[:160]}")]
    findings: list[Finding] = []
    for stmt in statements:
        if type(stmt).__name__ not in _CHECKED_STATEMENTS:
            continue
        if not any(t.db or "." in t.name for t in stmt.find_all(exp.Table)):
            continue  # no dataset.table: a local (DuckDB) statement, not warehouse SQL
        findings.extend(_check_statement(site, stmt, catalog, exp))
    return sorted(findings, key=lambda f: f.line)


def _check_statement(site: SqlSite, stmt: Any, catalog: Catalog, exp: Any) -> list[Finding]:
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.scope import Scope, traverse_scope

    findings: list[Finding] = []
    known_tables: dict[str, dict[str, Field]] = {}
    for table in stmt.find_all(exp.Table):
        key = _table_key(table)
        if key is None or "." not in key:
            continue  # a CTE, UNNEST alias or local table: only dataset.table is ours
        columns = catalog.columns(key)
        if columns is None:
            message = f"unknown table `{key}` (no schema file in schemas/)"
            spelled = next((k for k in catalog.tables if k.lower() == key.lower()), None)
            if spelled is not None:  # BigQuery would not find it; DuckDB, locally, would
                message += f"; table names are case-sensitive: `{spelled}`?"
            findings.append(_at(site, table, "SQL_UNKNOWN_TABLE", message))
        else:
            known_tables[key.lower()] = columns

    # INSERT INTO t (a, b): the column list.
    if isinstance(stmt, exp.Insert) and isinstance(stmt.this, exp.Schema):
        target = stmt.this.this
        key = _table_key(target) if isinstance(target, exp.Table) else None
        columns = catalog.columns(key) if key else None
        if columns is not None:
            for ident in stmt.this.expressions:
                if isinstance(ident, exp.Identifier) and ident.name.lower() not in columns:
                    message = f"unknown column {ident.name} in `{key}`"
                    findings.append(_at(site, ident, "SQL_UNKNOWN_COLUMN", message))

    outer: dict[str, Any] = {}  # a DML statement's own tables: its subqueries see them
    if isinstance(stmt, (exp.Update, exp.Delete, exp.Merge)):
        findings.extend(_check_dml(site, stmt, catalog, exp))
        for table in stmt.find_all(exp.Table):
            if table.find_ancestor(exp.Select) is None:
                outer.setdefault(table.alias_or_name.lower(), table)
    try:
        scopes = list(traverse_scope(stmt))
    except (SqlglotError, RecursionError, ValueError, KeyError):
        scopes = []
    for scope in scopes:  # the queries (a DML statement's subqueries: its own columns above)
        if isinstance(scope.expression, exp.Select):
            findings.extend(_check_scope(site, scope, catalog, exp, Scope, outer))
    return findings


def _check_dml(site: SqlSite, stmt: Any, catalog: Catalog, exp: Any) -> Iterator[Finding]:
    """UPDATE/DELETE/MERGE: the statement's own columns (not those of its subqueries,
    which are queries of their own) against the tables and subqueries it names, when
    every one of them is known."""
    provided: dict[str, set[str] | None] = {}
    for table in stmt.find_all(exp.Table):
        if table.find_ancestor(exp.Select) is not None:
            continue  # inside a subquery
        key = _table_key(table)
        columns = catalog.columns(key) if key else None
        if columns is None:
            return  # an unknown table (reported) or not ours: its columns are unknown
        provided[table.alias_or_name.lower()] = set(columns)
    for sub in stmt.find_all(exp.Subquery):  # MERGE ... USING (SELECT ...) AS s
        if sub.alias and sub.find_ancestor(exp.Select) is None:
            inner = sub.this
            named = getattr(inner, "named_selects", None)
            provided[sub.alias.lower()] = {n.lower() for n in named} if named else None
    union = {name for cols in provided.values() for name in cols or ()}
    for col in stmt.find_all(exp.Column):
        if col.find_ancestor(exp.Select) is not None:
            continue  # a subquery's column: checked in its scope
        parts = [part.name.lower() for part in col.parts]
        if not parts or isinstance(col.this, exp.Star):
            continue
        if len(parts) >= 2 and parts[0] in provided:  # alias.column (or alias.record.field)
            cols = provided[parts[0]]
            unknown = cols is not None and parts[1] not in cols
        else:
            unknown = parts[0] not in union and parts[0] not in provided
        if unknown:
            yield _at(site, col, "SQL_UNKNOWN_COLUMN", f"unknown column {col.sql('bigquery')}")


def _source_columns(source: Any, catalog: Catalog, exp: Any, scope_cls: Any) -> set[str] | None:
    """Column names a source provides (lower case); None when unknown."""
    if isinstance(source, exp.Table):
        key = _table_key(source)
        cols = catalog.columns(key) if key else None
        return set(cols) if cols is not None else None
    if isinstance(source, scope_cls):
        expr = source.expression
        if isinstance(expr, exp.Unnest):
            return None
        if isinstance(expr, (exp.Select, exp.Union)) or hasattr(expr, "named_selects"):
            selects = expr.selects if hasattr(expr, "selects") else []
            if any(
                isinstance(s, exp.Star)
                or (isinstance(s, exp.Column) and isinstance(s.this, exp.Star))
                for s in selects
            ):
                return None
            try:
                return {n.lower() for n in expr.named_selects}
            except (AttributeError, ValueError):
                return None
    return None


def _scope_columns(scope: Any, exp: Any) -> list[Any]:
    """The scope's columns, plus the unqualified ones of HAVING, QUALIFY and a ``* EXCEPT
    (...)`` list, which SQLGlot leaves out (HAVING and QUALIFY may name a select alias:
    :func:`_check_scope` accepts those)."""
    columns = list(scope.columns)
    seen = {id(c) for c in columns}
    expr = scope.expression
    if not isinstance(expr, exp.Select):
        return columns
    selected = [s.this if isinstance(s, exp.Column) else s for s in expr.expressions]
    stars = [s for s in selected if isinstance(s, exp.Star)]  # * or t.*, with its EXCEPT
    for node in (expr.args.get("having"), expr.args.get("qualify"), *stars):
        for col in node.find_all(exp.Column) if node is not None else ():
            if id(col) not in seen and col.find_ancestor(exp.Select) is expr:
                seen.add(id(col))
                columns.append(col)
    return columns


def _check_scope(
    site: SqlSite,
    scope: Any,
    catalog: Catalog,
    exp: Any,
    scope_cls: Any,
    outer: dict[str, Any] | None = None,
) -> Iterator[Finding]:
    """One query's columns against its sources, the enclosing queries' and ``outer``
    (the tables of the DML statement the query is a subquery of)."""
    own = {alias.lower(): src for alias, src in scope.sources.items()}
    sources = dict(own)
    # Correlated subqueries (WHERE/SELECT) see the enclosing scopes' sources; a derived
    # table or CTE does not: its parent's sources include *itself*, whose output names
    # hid every unknown column it selects.
    parent = None if scope.is_derived_table or scope.is_cte else scope.parent
    while parent is not None:
        for alias, src in parent.sources.items():
            sources.setdefault(alias.lower(), src)
        parent = parent.parent
    for alias, src in (outer or {}).items():
        sources.setdefault(alias, src)
    provided = {
        alias: _source_columns(src, catalog, exp, scope_cls) for alias, src in sources.items()
    }
    all_known = all(cols is not None for cols in provided.values())
    union = {name for cols in provided.values() for name in cols or ()}
    expr = scope.expression
    select_aliases: set[str] = set()
    if isinstance(expr, exp.Select):
        select_aliases = {s.alias.lower() for s in expr.expressions if isinstance(s, exp.Alias)}
        # UNNEST/table functions in FROM make unqualified names unresolvable here.
        if expr.find(exp.Unnest, exp.Lateral) is not None:
            all_known = False
    for col in _scope_columns(scope, exp):
        if col.find_ancestor(exp.Select) is not expr and isinstance(expr, exp.Select):
            continue  # belongs to a subquery: checked in that scope
        parts = [p.name for p in col.parts]
        if not parts or isinstance(col.this, exp.Star):
            continue
        head = parts[0].lower()
        if len(parts) >= 2 and head in sources:
            cols = provided[head]
            name = parts[1].lower()
            if cols is not None and name not in cols:
                message = f"unknown column {parts[1]} in {_describe(sources[head], exp)}"
                yield _at(site, col, "SQL_UNKNOWN_COLUMN", message)
            continue
        # unqualified (or a struct path starting with a column)
        if head in union or head in sources or head in select_aliases:
            continue
        if all_known and sources:
            where = ", ".join(sorted(_describe(s, exp) for s in own.values()))
            yield _at(
                site, col, "SQL_UNKNOWN_COLUMN", f"unknown column {parts[0]} (not in {where})"
            )
    # JOIN ... USING (a, b): each name is a column of the joined table (SQLGlot keeps them
    # as identifiers, not columns of the scope)
    for join in expr.args.get("joins") or () if isinstance(expr, exp.Select) else ():
        joined = join.this.alias_or_name.lower()
        for ident in join.args.get("using") or ():
            cols = provided.get(joined)
            if cols is not None and ident.name.lower() not in cols:
                message = f"unknown column {ident.name} in {_describe(sources[joined], exp)}"
                yield _at(site, ident, "SQL_UNKNOWN_COLUMN", message)


def _describe(source: Any, exp: Any) -> str:
    if isinstance(source, exp.Table):
        return f"`{_table_key(source)}`"
    return "a subquery"


# -- the package walk ----------------------------------------------------------------------


# Where a repository's queries are by default (sql-schema-refs without paths): every
# Python file below the current folder, except tests, virtualenvs and build output.
DEFAULT_GLOBS = ("**/*.py",)
DEFAULT_EXCLUDES = ("tests/**", "test/**", "**/tests/**", "venv/**", "build/**", "dist/**")
_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "env"}


def find_python_files(
    globs: Sequence[str] = DEFAULT_GLOBS,
    excludes: Sequence[str] = DEFAULT_EXCLUDES,
    root: str | Path = ".",
) -> list[str]:
    """Python files under ``root`` matching any glob and no exclude (hidden folders skipped).

    Globs are ``fnmatch``-style on the ``/``-separated path relative to ``root``, where
    ``**/`` also matches nothing (``**/*.py`` matches ``app.py``).
    """
    import fnmatch

    def matches(rel: str, patterns: Sequence[str]) -> bool:
        return any(
            fnmatch.fnmatch(rel, pattern)
            or (pattern.startswith("**/") and fnmatch.fnmatch(rel, pattern[3:]))
            for pattern in patterns
        )

    base = Path(root)
    found: list[str] = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(files):
            rel = (Path(folder) / name).relative_to(base).as_posix()
            if matches(rel, globs) and not matches(rel, excludes):
                found.append(os.path.join(folder, name) if str(base) != "." else rel)
    return found


def iter_python_files(paths: Iterable[str]) -> Iterator[str]:
    """The given ``.py`` files, and every Python file below the given folders."""
    for p in paths:
        if os.path.isdir(p):
            yield from find_python_files(DEFAULT_GLOBS, (), root=p)
        elif p.endswith(".py"):
            yield p


def check_paths(
    paths: Sequence[str],
    schemas_dir: str | Path,
    *,
    globs: Sequence[str] | None = None,
    excludes: Sequence[str] | None = None,
) -> list[Finding]:
    """Check every SQL query in the given Python files/folders against ``schemas_dir``;
    no paths means every file :func:`find_python_files` finds with ``globs``/``excludes``.

    Raises:
        UsageError: a path or ``schemas_dir`` does not exist, or ``schemas_dir`` is not
            a folder.
        ConfigError: a schema file or ``tables.yaml`` there is not usable (the one
            catalog loader, :func:`nbaops.table_catalog.load_catalog`, is strict).
    """
    paths = paths or find_python_files(globs or DEFAULT_GLOBS, excludes or DEFAULT_EXCLUDES)
    missing = [p for p in [*paths, str(schemas_dir)] if not os.path.exists(p)]
    if missing:
        raise UsageError(f"{missing[0]}: no such file or folder")
    if not os.path.isdir(schemas_dir):  # read as a folder of no schemas, every table unknown
        raise UsageError(f"{schemas_dir}: not a folder")
    catalog = load_catalog(schemas=Path(schemas_dir))
    findings: list[Finding] = []
    for path in iter_python_files(paths):
        try:
            source = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        sites, warnings = find_sql(path, source)
        findings.extend(warnings)
        for site in sites:
            findings.extend(check_sql(site, catalog))
    return sorted(findings, key=lambda f: (f.path, f.line, f.rule))
