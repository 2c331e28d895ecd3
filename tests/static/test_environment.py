"""Environment variables: declared once in nbaops.environment and read only there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from source_names import names_any

from nbaops import environment

ROOT = Path(__file__).resolve().parents[2]
READERS = ("os.environ.get", "os.getenv", "environ.get", "getenv")
NAME_RE = re.compile(r"\bNBAOPS_[A-Z][A-Z0-9_]*[A-Z0-9]\b")


def _env_reads(tree: ast.Module) -> list[str]:
    """The declared (or NBAOPS_*) names a module reads with os.environ.get / os.getenv /
    os.environ[...]."""
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }

    def name_of(arg: ast.expr) -> str:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
        return constants.get(arg.id, "") if isinstance(arg, ast.Name) else ""

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and ast.unparse(node.func) in READERS:
            found.append(name_of(node.args[0]))
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            found.append(name_of(node.slice) if isinstance(node.ctx, ast.Load) else "")
    declared = {*environment.VARIABLES, *environment.OTHER_VARIABLES}
    return [name for name in found if name.startswith("NBAOPS_") or name in declared]


def test_only_the_environment_module_reads_environment_variables() -> None:
    """Over the package and the entry points that import it (the hooks, the benchmarks,
    tasks.py); not noxfile.py, which nox runs in its own environment without nbaops."""
    offenders = {}
    sources = [
        ROOT / "tasks.py",
        *(
            module
            for folder in ("nbaops", "hooks", "benchmarks")
            for module in (ROOT / folder).rglob("*.py")
        ),
    ]
    for path in sorted(sources):
        if path.name == "environment.py" and path.parent.name == "nbaops":
            continue
        text = path.read_text(encoding="utf-8")
        # Every read names "environ" or "getenv" (identifiers compare after NFKC): a file
        # naming neither reads nothing and is not parsed.
        if not names_any(text, ("environ", "getenv")):
            continue
        reads = _env_reads(ast.parse(text))
        if reads:
            offenders[str(path.relative_to(ROOT))] = reads
    assert offenders == {}, "read environment variables through nbaops.environment.read"


def test_the_scan_sees_a_direct_read() -> None:
    tree = ast.parse(
        'import os\nX = "NBAOPS_HOME"\na = os.environ.get(X)\nb = os.environ["NBAOPS_NOW"]\n'
        'c = os.getenv("GITHUB_ACTOR")\nd = os.getenv("TERM")'
    )
    assert _env_reads(tree) == ["NBAOPS_HOME", "NBAOPS_NOW", "GITHUB_ACTOR"]


def test_every_variable_used_in_code_config_and_docs_is_declared() -> None:
    files = [
        *(ROOT / "nbaops").rglob("*.py"),
        *(ROOT / "docs").rglob("*.md"),
        ROOT / "README.md",
        ROOT / "noxfile.py",
    ]
    used = {
        (name, str(path.relative_to(ROOT)))
        for path in files
        for name in NAME_RE.findall(path.read_text(encoding="utf-8"))
    }
    assert {(n, p) for n, p in used if n not in environment.VARIABLES} == set()


def test_read_returns_none_for_unset_or_empty_and_refuses_undeclared_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NBAOPS_HOME", "")
    assert environment.read("NBAOPS_HOME") is None
    monkeypatch.setenv("NBAOPS_HOME", "/tmp/x")
    assert environment.read("NBAOPS_HOME") == "/tmp/x"
    with pytest.raises(KeyError):
        environment.read("NBAOPS_NOT_DECLARED")
