"""DuckDB is imported at run time in one place, ``nbaops/adapters/duckdb_engine.py``.

Every other module gets connections and the exception classes from it (``connect()``,
``engine().Error``), so the import cost and the UTC session setting live in one module.
An import under ``if TYPE_CHECKING:`` (annotations only) is allowed anywhere.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from source_names import names_any

REPO = Path(__file__).resolve().parents[2]
ENGINE = "nbaops/adapters/duckdb_engine.py"
DUCKDB_MODULES = {"duckdb", "_duckdb"}

# module path -> why it still imports DuckDB itself. The lead's area this round; an entry
# that no longer applies must leave (the test says so).
KNOWN: dict[str, str] = {
    "nbaops/regression/candidate.py": "reads --predictions with duckdb.Error (regression/**)",
}


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    """Ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return inside


@functools.cache  # both tests read the same files; a frozenset, so no test can change it
def runtime_duckdb_importers() -> frozenset[str]:
    found: set[str] = set()
    for path in sorted((REPO / "nbaops").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        # An import names its module in the source (identifiers compare after NFKC), so a
        # file without "duckdb" has no DuckDB import: skip parsing it (most of the time).
        if not names_any(text, ("duckdb",)):
            continue
        tree = ast.parse(text)
        annotations_only = _type_checking_blocks(tree)
        for node in ast.walk(tree):
            if id(node) in annotations_only:
                continue
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = {node.module.split(".")[0]}
            else:
                continue
            if names & DUCKDB_MODULES:
                found.add(str(path.relative_to(REPO)))
    return frozenset(found)


def test_only_the_engine_module_imports_duckdb_at_run_time() -> None:
    offenders = runtime_duckdb_importers() - {ENGINE} - set(KNOWN)
    assert not offenders, f"import DuckDB through {ENGINE} (connect, engine().Error): {offenders}"


def test_the_known_exceptions_still_apply_and_the_engine_is_found() -> None:
    found = runtime_duckdb_importers()
    assert ENGINE in found
    stale = set(KNOWN) - found
    assert not stale, f"remove from KNOWN (they no longer import DuckDB): {stale}"
