"""The schema hooks through the real `pre-commit run` in a temporary git repository.

The hooks are declared `repo: local`, `language: system`, `entry: <this python> -m hooks.x`
so the test needs no network (pre-commit would pip-install `language: python` hooks).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("pre_commit") is None, reason="pre-commit is not installed"
    ),
]

ROOT = Path(__file__).resolve().parents[2]
FIELDS: list[dict[str, Any]] = [
    {"name": "game_id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "game_date", "type": "DATE", "mode": "REQUIRED"},
    {"name": "points", "type": "INT64", "mode": "NULLABLE"},
]
SCHEMA = "schemas/nba_analytics/player_game_summary.json"


def config() -> str:
    """The schema hooks as .pre-commit-hooks.yaml declares them (files, exclude,
    always_run...), run with this Python instead of a pre-commit-built environment."""
    hooks = []
    for hook_id, module in [
        ("bq-schema-lint", "hooks.bq_schema_lint"),
        ("bq-schema-breaking", "hooks.bq_schema_breaking"),
    ]:
        declared = {k: v for k, v in manifest()[hook_id].items() if k != "language_version"}
        hooks.append({**declared, "language": "system", "entry": f"{sys.executable} -m {module}"})
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]})


def run(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=repo, capture_output=True, text=True, check=check,
                          env=os.environ.copy())  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in {
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "NBAOPS_NOW": "2026-11-25T15:00:00Z",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    root = tmp_path / "svc"
    (root / "schemas" / "nba_analytics").mkdir(parents=True)
    (root / SCHEMA).write_text(json.dumps(FIELDS, indent=2))
    (root / ".pre-commit-config.yaml").write_text(config())
    run(root, "git", "init", "-q", "-b", "main")
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-q", "-m", "base")
    return root


def pre_commit(repo: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return run(repo, sys.executable, "-m", "pre_commit", "run", "--files", *files, check=False)


def test_clean_change_passes(repo: Path) -> None:
    (repo / SCHEMA).write_text(json.dumps([*FIELDS, {"name": "x", "type": "BOOL"}], indent=2))
    run(repo, "git", "add", SCHEMA)
    proc = pre_commit(repo, SCHEMA)
    assert proc.returncode == 0, proc.stdout
    assert re.search(r"BigQuery schema lint\.+Passed", proc.stdout)
    assert re.search(r"BigQuery schema breaking changes\.+Passed", proc.stdout)


def test_invalid_schema_and_breaking_change_fail(repo: Path) -> None:
    broken = [FIELDS[0], {"name": "game_date", "type": "DATES", "mode": "REQUIRED"}]
    (repo / SCHEMA).write_text(json.dumps(broken, indent=2))
    run(repo, "git", "add", SCHEMA)
    proc = pre_commit(repo, SCHEMA)
    assert proc.returncode == 1
    assert f"{SCHEMA}:9: TYPE_UNKNOWN game_date: unknown type 'DATES'" in proc.stdout
    assert "FIELD_NO_DELETE column points (NULLABLE INT64) removed" in proc.stdout


def test_a_commit_that_only_deletes_a_schema_is_blocked(repo: Path) -> None:
    # pre-commit passes no deleted file: the hook must run anyway (always_run) and compare
    # every schema with HEAD, where the table still exists.
    run(repo, sys.executable, "-m", "pre_commit", "install")
    run(repo, "git", "rm", "-q", SCHEMA)
    proc = run(repo, "git", "commit", "-m", "drop the table", check=False)
    assert proc.returncode != 0, proc.stdout
    assert "TABLE_NO_DELETE table nba_analytics.player_game_summary removed" in proc.stderr
    assert run(repo, "git", "log", "--oneline").stdout.count("\n") == 1  # not committed


def test_git_commit_is_blocked_by_the_installed_hook(repo: Path) -> None:
    run(repo, sys.executable, "-m", "pre_commit", "install")
    (repo / SCHEMA).write_text(json.dumps(FIELDS[:2], indent=2))
    run(repo, "git", "add", SCHEMA)
    proc = run(repo, "git", "commit", "-m", "drop points", check=False)
    assert proc.returncode != 0
    assert "FIELD_NO_DELETE" in proc.stdout + proc.stderr
    assert run(repo, "git", "log", "--oneline").stdout.count("\n") == 1  # not committed


def test_a_committed_breaking_change_fails_a_from_ref_to_ref_run(repo: Path) -> None:
    """CI runs ``pre-commit run --from-ref A --to-ref B``: pre-commit exports them as
    PRE_COMMIT_FROM_REF/PRE_COMMIT_TO_REF, and the hook compares with the from-ref. It used
    to compare with HEAD, where a committed dropped column is already gone, and passed."""
    base = run(repo, "git", "rev-parse", "HEAD").stdout.strip()
    (repo / SCHEMA).write_text(json.dumps(FIELDS[:2], indent=2))
    run(repo, "git", "commit", "-q", "-am", "drop points")
    proc = run(repo, sys.executable, "-m", "pre_commit", "run", "bq-schema-breaking",
               "--from-ref", base, "--to-ref", "HEAD", check=False)  # fmt: skip
    assert proc.returncode == 1, proc.stdout
    assert "FIELD_NO_DELETE column points (NULLABLE INT64) removed" in proc.stdout
    # --against still wins over the environment
    env = {**os.environ, "PRE_COMMIT_FROM_REF": base, "PRE_COMMIT_TO_REF": "HEAD"}
    hook = [sys.executable, "-m", "hooks.bq_schema_breaking"]
    same = subprocess.run([*hook, "--against", "HEAD", SCHEMA], cwd=repo, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert same.returncode == 0, same.stdout + same.stderr


# -- .pre-commit-hooks.yaml, for the services' repositories ---------------------------------


def manifest() -> dict[str, dict[str, Any]]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return {h["id"]: h for h in hooks}


def selects(hook: dict[str, Any], path: str) -> bool:
    included = re.search(hook.get("files", ""), path) is not None
    excluded = "exclude" in hook and re.search(hook["exclude"], path) is not None
    return included and not excluded


@pytest.mark.parametrize(
    ("hook_id", "path", "expected"),
    [
        ("bq-schema-lint", "schemas/nba_raw/games.json", True),
        ("bq-schema-lint", "services/x/schemas/t.json", True),
        ("bq-schema-lint", "schemas/config.schema.json", False),
        ("bq-schema-lint", "package.json", False),
        ("bq-schema-breaking", "schemas/tables.yaml", True),
        ("bq-schema-breaking", "schemas/nba_raw/games.json", True),
        ("bq-schema-breaking", "config/tables.yaml", False),
        ("sql-schema-refs", "nbaops/checks/lines.py", True),
    ],
)
def test_manifest_file_patterns(hook_id: str, path: str, expected: bool) -> None:
    assert selects(manifest()[hook_id], path) is expected


def test_the_breaking_hook_selects_the_one_catalog_file_the_check_reads() -> None:
    """The manifest selected ``tables.yml`` too, which nothing reads: a commit of that file
    ran the hook, and the check passed it without looking at a line."""
    from nbaops.bqschema.parse import LAYOUT_FILE

    hook = manifest()["bq-schema-breaking"]
    assert selects(hook, f"schemas/{LAYOUT_FILE}")
    assert not selects(hook, "schemas/tables.yml")


def test_manifest_hooks_ask_for_the_python_the_package_requires() -> None:
    """pre-commit builds a hook's environment with its own interpreter unless the hook
    names one: under pre-commit on Python 3.12 the install failed ("requires a different
    Python: 3.12.1 not in '<3.12,>=3.11'") and no hook ran."""
    import tomllib

    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    major_minor = re.fullmatch(r">=(3\.\d+),<3\.\d+", requires)
    assert major_minor is not None, requires  # one minor version: the one hooks ask for
    for hook in manifest().values():
        assert hook["language_version"] == f"python{major_minor.group(1)}", hook["id"]


def test_manifest_entries_are_installed_console_scripts() -> None:
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for hook in manifest().values():
        assert hook["language"] == "python"
        module, _, func = scripts[hook["entry"]].partition(":")
        assert func == "main" and importlib.util.find_spec(module) is not None


# -- .pre-commit-config.yaml: this repository's own environments ---------------------------

# Run in a child Python: every import of a top-level module that is neither the standard
# library, nbaops/hooks (from the checkout, as `python -m` finds them) nor one the hook's
# additional_dependencies install fails, as in the environment pre-commit builds for it.
ONLY_DECLARED = """
import importlib.abc, importlib.machinery, runpy, sys, sysconfig
allowed = set(sys.stdlib_module_names) | {"nbaops", "hooks"} | set(sys.argv[2].split(","))
paths = sysconfig.get_paths()
class OnlyDeclared(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        top = name.partition(".")[0]
        if top in allowed:
            return None
        spec = importlib.machinery.PathFinder.find_spec(top)  # _sysconfigdata_* ...
        origin = (spec.origin or "") if spec is not None else ""
        installed = origin.startswith((paths["purelib"], paths["platlib"]))
        if installed or not origin.startswith(paths["stdlib"]):
            raise ModuleNotFoundError(f"No module named {name!r} (not declared)", name=name)
        return None
sys.meta_path.insert(0, OnlyDeclared())
module, sys.argv = sys.argv[1], [sys.argv[1], *sys.argv[3:]]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def local_hooks() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return {h["id"]: h for r in config["repos"] if r["repo"] == "local" for h in r["hooks"]}


def declared_modules(hook: dict[str, Any]) -> set[str]:
    """The top-level modules the hook's ``additional_dependencies`` install."""
    from importlib.metadata import packages_distributions

    wanted = {
        re.split(r"[=<>!~\[ ]", d, maxsplit=1)[0].lower().replace("_", "-")
        for d in hook.get("additional_dependencies", [])
    }
    return {
        module
        for module, dists in packages_distributions().items()
        if any(d.lower().replace("_", "-") in wanted for d in dists)
    }


@pytest.mark.parametrize(
    ("hook_id", "args"),
    [
        ("bq-schema-lint", [SCHEMA]),
        ("bq-schema-breaking", []),
        ("sql-schema-refs", []),
    ],
)
def test_local_schema_hooks_run_with_only_their_declared_dependencies(
    repo: Path, hook_id: str, args: list[str]
) -> None:
    """pre-commit builds each ``repo: local`` python hook an environment holding only its
    ``additional_dependencies``; nbaops' own are not installed there. bq-schema-lint and
    bq-schema-breaking declared PyYAML alone, but a column default is parsed and the
    allowed change's DDL built with SQLGlot: a commit adding a column failed both hooks
    with "internal error: ModuleNotFoundError: No module named 'sqlglot'" (exit 3)."""
    hook = local_hooks()[hook_id]
    assert hook["language"] == "python"
    module = re.fullmatch(r"python -m ([\w.]+)", hook["entry"])
    assert module is not None, hook["entry"]
    added = {"name": "x", "type": "STRING", "defaultValueExpression": "'n/a'",
             "description": "an added column"}  # fmt: skip
    (repo / SCHEMA).write_text(json.dumps([*FIELDS, added], indent=2))
    (repo / "queries.py").write_text(
        'SQL = "SELECT game_id, x FROM nba_analytics.player_game_summary"\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    only = ",".join(sorted(declared_modules(hook)))
    command = [sys.executable, "-c", ONLY_DECLARED, module.group(1), only, *args]
    proc = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert "No module named" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_local_hooks_pin_the_versions_pyproject_pins() -> None:
    """A ``repo: local`` hook installs its own ``additional_dependencies``: a pin there that
    drifts from pyproject.toml's runs the hook (ruff, the schema hooks' SQLGlot) on another
    version than the tests and ``nox -s lint`` use, and nothing said so."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for group in project.get("optional-dependencies", {}).values():
        requirements += group

    def name(requirement: str) -> str:
        return re.split(r"[=<>!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")

    pinned = {name(r): r.split(";")[0].strip() for r in requirements if "==" in r}
    seen = 0
    for hook_id, hook in local_hooks().items():
        for dependency in hook.get("additional_dependencies", []):
            assert pinned.get(name(dependency)) == dependency, (hook_id, dependency)
            seen += 1
    assert seen >= 5  # ruff twice, PyYAML and SQLGlot in the schema hooks
