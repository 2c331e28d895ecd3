"""The test suite's layout rules (issue 18 "Tests"), checked over the files of tests/.

- the marker of a test is its directory: declared once in pyproject, added by conftest,
  never written in a module;
- the shared worlds come from the ``worlds`` package: no ``sys.path`` edits, no imports
  of a ``conftest`` module;
- ``tests/unit`` holds no server-backed test: nothing there starts the stand-in, a test
  world, or a subprocess of the ``inv`` tool.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from source_names import names_any

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent

# Fixtures (tests/worlds) and modules whose use means a server or a world is started.
SERVER_FIXTURES = {"standin", "dworld", "world", "receiver"}
SERVER_MODULES = ("worlds", "nbaops.local.standin")


def directories_with_tests() -> list[Path]:
    return sorted(p for p in TESTS.iterdir() if p.is_dir() and any(p.glob("test_*.py")))


def modules(folder: Path = TESTS) -> list[Path]:
    return sorted(folder.rglob("test_*.py"))


def registered_markers() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lines = config["tool"]["pytest"]["ini_options"]["markers"]
    return {line.split(":", 1)[0].strip() for line in lines}


def marker_names(node: ast.AST) -> set[str]:
    """``pytest.mark.<name>`` attributes anywhere under ``node``."""
    return {
        n.attr
        for n in ast.walk(node)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Attribute)
        and n.value.attr == "mark"
    }


def test_every_test_directory_has_its_marker_registered() -> None:
    missing = {p.name for p in directories_with_tests()} - registered_markers()
    assert not missing, f"register these markers in pyproject [tool.pytest.ini_options]: {missing}"


def test_this_test_carries_the_marker_of_its_directory(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("static") is not None
    assert request.node.get_closest_marker("unit") is None


def test_no_module_marks_its_own_directory() -> None:
    hand_marked = []
    for path in modules():
        text = path.read_text(encoding="utf-8")
        if not names_any(text, ("pytestmark",)):  # no assignment to it: nothing to parse
            continue
        tree = ast.parse(text)
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            marks = any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets)
            if marks and path.parent.name in marker_names(node):
                hand_marked.append(str(path.relative_to(TESTS)))
    assert not hand_marked, f"conftest adds the directory marker; remove it from: {hand_marked}"


def test_no_test_file_edits_sys_path_or_imports_a_conftest() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if not names_any(text, ("sys", "conftest")):  # names neither: nothing to find
            continue
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "path"
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
            ):
                offenders.append(f"{path.relative_to(TESTS)}:{node.lineno}: sys.path")
            if isinstance(node, ast.ImportFrom) and node.module == "conftest":
                offenders.append(f"{path.relative_to(TESTS)}:{node.lineno}: from conftest")
    assert not offenders, offenders


# "world" is in "dworld" and "worlds"; "standin" in "nbaops.local.standin".
_SERVER_WORDS = ("world", "standin", "receiver", "subprocess")


def server_uses(path: Path) -> list[str]:
    """What in a test module starts a server, a world or an ``inv`` process."""
    text = path.read_text(encoding="utf-8")
    # Each use below names one of these (a fixture argument, a module, ``subprocess``):
    # a module naming none of them uses nothing and is not parsed.
    if not names_any(text, _SERVER_WORDS):
        return []
    tree = ast.parse(text)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            used = SERVER_FIXTURES & {a.arg for a in node.args.args}
            found += [f"{node.name} uses the fixture {name}" for name in sorted(used)]
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            found += [
                f"line {node.lineno} imports {name}"
                for name in names
                if name.startswith(SERVER_MODULES)
            ]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "subprocess"
            and node.args
            and isinstance(node.args[0], ast.List | ast.Tuple)
            and any(
                isinstance(e, ast.Constant) and e.value in ("inv", "invoke")
                for e in node.args[0].elts
            )
        ):
            found.append(f"line {node.lineno} runs inv")
    return found


def test_unit_tests_start_no_server_world_or_inv_process() -> None:
    server_names = (*SERVER_FIXTURES, *SERVER_MODULES)
    assert all(any(w in name for w in _SERVER_WORDS) for name in server_names)  # the filter
    offenders = {
        str(p.relative_to(TESTS)): uses for p in modules(TESTS / "unit") if (uses := server_uses(p))
    }
    assert not offenders, f"server-backed tests belong in tests/integration: {offenders}"


def test_the_server_rule_recognises_each_kind_of_use(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "from worlds.deploy_world import DeployWorld\n"
        "import nbaops.local.standin\n"
        "def test_a(standin): pass\n"
        "def test_b(): subprocess.run([sys.executable, '-m', 'invoke', 'deploy'])\n"
        "def test_c(program): program.run(['inv', 'deploy'])  # in-process: allowed\n",
        encoding="utf-8",
    )
    assert server_uses(sample) == [
        "line 1 imports worlds.deploy_world",
        "line 2 imports nbaops.local.standin",
        "test_a uses the fixture standin",
        "line 4 runs inv",
    ]
