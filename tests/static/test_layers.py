"""Architecture rules of ``nbaops/`` (docs/architecture.md), checked on every test run:

1. No import cycles between nbaops modules. The graph is grimp's, which counts every
   import statement: top-level, lazy (inside a function) and ``TYPE_CHECKING`` ones.
   A lazy import only hides a cycle from the interpreter, not from a reader.
2. No Google client import (``google.*``, ``googleapiclient``) outside ``nbaops/adapters/``:
   every Google API sits behind one adapter module (lazy and ``TYPE_CHECKING`` imports
   count). One exception, stated in :data:`GOOGLE_EXCEPTIONS` with its reason.
3. The layer order kernel -> schema -> adapters | local -> context -> features -> cli, as
   the import-linter contract in ``pyproject.toml`` ``[tool.importlinter]`` declares it
   (``lint-imports``, also run by ``nox -s lint``).
4. No module above :data:`MAX_MODULE_LINES` lines: a longer one holds two concepts.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest
from source_names import names_any

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "nbaops"
GOOGLE_ROOTS = ("google", "googleapiclient")
MAX_MODULE_LINES = 700

# Import cycles of areas still being untangled in this round (issue 18): each entry is one
# strongly connected component. The lead empties this set as the branches land; a cycle
# that is gone must leave the set (the test says so), a new one can never join it.
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()

# module path (relative to the repo) -> the only Google modules it may import, and why.
GOOGLE_EXCEPTIONS: dict[str, tuple[frozenset[str], str]] = {
    "nbaops/local/monitoring_grpc.py": (
        frozenset({"google.cloud.monitoring_v3.types"}),
        "a gRPC *server* for the official Monitoring client: it (de)serializes the wire "
        "messages ListTimeSeriesRequest/Response with the client's own proto types (the "
        "client has no REST transport), and calls no Google API",
    ),
}


# ------------------------------------------------------------------ 1. no import cycles


def strongly_connected(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """Tarjan's algorithm (iterative): the components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = []
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work.append((root, iter(sorted(graph.find_modules_directly_imported_by(root)))))
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    imported = graph.find_modules_directly_imported_by(child)
                    work.append((child, iter(sorted(imported))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("nbaops", cache_dir=None)


def describe(graph: grimp.ImportGraph, component: frozenset[str]) -> str:
    edges = []
    for importer in sorted(component):
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & component):
            lines = [
                d["line_number"]
                for d in graph.get_import_details(importer=importer, imported=imported)
            ]
            edges.append(f"  {importer} -> {imported} (line {', '.join(map(str, lines))})")
    return "\n".join(edges)


def test_tarjan_finds_a_cycle_and_ignores_a_chain() -> None:
    chain = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        chain.add_import(importer=importer, imported=imported)
    assert strongly_connected(chain) == [frozenset({"p.a", "p.b", "p.c"})]
    chain.remove_import(importer="p.c", imported="p.a")
    assert strongly_connected(chain) == []


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    cycles = strongly_connected(graph)
    new = [c for c in cycles if c not in KNOWN_CYCLES]
    assert not new, "import cycles (lazy and TYPE_CHECKING imports count):\n" + "\n\n".join(
        describe(graph, c) for c in new
    )
    gone = sorted(sorted(c) for c in KNOWN_CYCLES - set(cycles))
    assert not gone, f"these cycles are gone: remove them from KNOWN_CYCLES: {gone}"


def test_the_context_and_the_stand_in_never_reach_into_the_sandbox(
    graph: grimp.ImportGraph,
) -> None:
    """The local profile is wired by injection (nbaops.sandbox.world), never by import."""
    sandbox = {m for m in graph.modules if m.startswith("nbaops.sandbox")}
    below = {m for m in graph.modules if m.startswith("nbaops.local")} | {"nbaops.context"}
    reached = {
        (importer, imported)
        for importer in below
        for imported in graph.find_modules_directly_imported_by(importer) & sandbox
    }
    assert not reached


# ------------------------------------------------------------------ 2. Google clients


def google_imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Every Google module a file imports: statements anywhere, ``import_module`` literals."""
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        for name in names:
            if name.split(".")[0] in GOOGLE_ROOTS:
                yield node.lineno, name


_IMPORT_WORDS = (*GOOGLE_ROOTS, "import_module", "__import__")


def google_imports_outside_adapters() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if relative.startswith("nbaops/adapters/"):
            continue
        text = path.read_text(encoding="utf-8")
        # google_imports finds a Google module named by an import statement (identifiers,
        # compared after NFKC) or an import_module/__import__ call: a file naming neither
        # "google" nor those functions has none, so it is not parsed (most files).
        if not names_any(text, _IMPORT_WORDS):
            continue
        tree = ast.parse(text, filename=relative)
        for lineno, name in google_imports(tree):
            found.setdefault(relative, set()).add(f"{name} (line {lineno})")
    return found


def test_the_scan_sees_lazy_type_checking_and_dynamic_imports() -> None:
    source = (
        "import importlib\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from google.cloud import bigquery\n"
        "def f():\n    import googleapiclient.discovery\n"
        "    return importlib.import_module('google.auth')\n"
        "import googlemaps\n"
    )
    assert sorted(name for _, name in google_imports(ast.parse(source))) == [
        "google.auth",
        "google.cloud",
        "googleapiclient.discovery",
    ]


def test_no_google_client_import_outside_adapters() -> None:
    found = google_imports_outside_adapters()
    bad = {}
    for path, names in found.items():
        allowed, _why = GOOGLE_EXCEPTIONS.get(path, (frozenset(), ""))
        extra = {n for n in names if n.split(" (line")[0] not in allowed}
        if extra:
            bad[path] = sorted(extra)
    assert not bad, f"Google imports belong in nbaops/adapters/ (add to an adapter): {bad}"
    unused = sorted(set(GOOGLE_EXCEPTIONS) - set(found))
    assert not unused, f"stale GOOGLE_EXCEPTIONS entries (no such import any more): {unused}"


# ------------------------------------------------------------------ 3. layers


def test_the_layer_contract_holds() -> None:
    """``lint-imports`` with the pyproject contract (kernel at the bottom, cli on top)."""
    tool = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert tool is not None, "import-linter is a dev dependency (pip install -e '.[dev]')"
    done = subprocess.run(
        [tool, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def test_the_architecture_page_names_every_module_in_its_layer() -> None:
    """docs/architecture.md's layer table states the contract of ``pyproject.toml``: each
    row names exactly the top-level modules of its layer, top to bottom (the kernel row
    had lost ``concurrency``, ``fsutil`` and ``nba_names``)."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers"]
    declared = [set(re.split(r"\s*[:|]\s*", layer.strip())) for layer in contract["layers"]]
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("\n| layer | modules |", 1)[1].split("\n\n", 1)[0]
    rows = table.splitlines()[2:]  # past the header's end and the separator
    top_level = {path.stem for path in PACKAGE.glob("*.py")} | {
        path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()
    }
    documented = [
        {
            name
            for token in re.findall(r"`([^`]+)`", row.split("|")[2])
            if (name := token.removeprefix("nbaops/").rstrip("/")) in top_level
        }
        for row in rows
    ]
    assert documented == declared


def test_no_module_is_longer_than_the_limit() -> None:
    """A module past the limit is split along what it holds (issue 18: the DuckDB
    warehouse's type mapping went to table_catalog, the sandbox's Cloud Run seeding to
    sandbox/services_seed.py)."""
    long = {
        str(path.relative_to(REPO)): n
        for path in sorted(PACKAGE.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"split these modules (over {MAX_MODULE_LINES} lines): {long}"
