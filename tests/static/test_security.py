"""Static security rules, checked on every run of the tests:

1. SQL takes values only as query parameters: no string handed to a SQL call
   (``.query/.execute/.executemany/.estimate_bytes``) in ``nbaops/`` or ``hooks/`` is built
   by formatting a run-time value into it (f-string, ``%``, ``.format``, ``+``). Formatting
   is allowed when every interpolated piece is a SQL fragment made of string constants, or
   an identifier passed through a validating/quoting helper (``quote_ident``, ``_ident``);
   anything else must carry a ``noqa: S608`` marker (ruff's "SQL built from strings,
   reviewed" rule) on the call or the string, which states that only identifiers are
   interpolated.
2. Every workflow in ``.github/workflows/`` sets ``permissions: {}`` at the top and, per
   job, only what that job needs; pins every action to a 40-hex commit SHA; and checks out
   with ``persist-credentials: false``.
3. No secret-looking literal (Slack webhook URL, private key, cloud/GitHub/Slack token) is
   committed anywhere in the repository.
"""

from __future__ import annotations

import ast
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from source_names import names_any

REPO = Path(__file__).resolve().parents[2]
SQL_SINKS = frozenset({"query", "execute", "executemany", "estimate_bytes"})
IDENTIFIER_HELPERS = frozenset({"quote_ident", "_ident"})
MARKER = "noqa: S608"


# ------------------------------------------------------------------ 1. SQL formatting


@dataclass(frozen=True)
class Formatted:
    path: str
    line: int
    pieces: tuple[str, ...]  # the interpolated expressions that are not provably constant

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: SQL formats {', '.join(self.pieces)} into its text"


def _assignments(scope: ast.AST) -> dict[str, list[ast.expr]]:
    found: dict[str, list[ast.expr]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            found.setdefault(node.target.id, []).append(node.value)
    return found


class _Scan:
    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self.lines = source.splitlines()
        self.tree = ast.parse(source, filename=str(path))
        self.names = _assignments(self.tree)  # every assignment, at any depth
        self.module_names = {
            name: values
            for name, values in self.names.items()
            if all(self._top_level(v) for v in values)
        }

    def _top_level(self, value: ast.expr) -> bool:
        return any(value is getattr(stmt, "value", None) for stmt in self.tree.body)

    def constant(self, node: ast.expr, depth: int = 0) -> bool:
        """A string expression made only of literals and module-level constants."""
        if depth > 10:
            return False
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str | int | float)
        if isinstance(node, ast.Name):
            values = self.module_names.get(node.id)
            return bool(values) and all(self.constant(v, depth + 1) for v in values or [])
        if isinstance(node, ast.JoinedStr):
            return all(
                self.constant(v.value if isinstance(v, ast.FormattedValue) else v, depth + 1)
                for v in node.values
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.constant(node.left, depth + 1) and self.constant(node.right, depth + 1)
        return False

    def safe_piece(self, node: ast.expr) -> bool:
        if self.constant(node):
            return True
        if isinstance(node, ast.Call):
            name = (
                node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            )
            if name in IDENTIFIER_HELPERS:
                return True
            # "sep".join(<safe piece> for ...): a list of quoted identifiers
            if (
                name == "join"
                and isinstance(node.func, ast.Attribute)
                and self.constant(node.func.value)
                and len(node.args) == 1
                and isinstance(node.args[0], ast.GeneratorExp | ast.ListComp)
            ):
                return self.safe_piece(node.args[0].elt)
        return False

    def pieces(self, node: ast.expr) -> list[ast.expr] | None:
        """The interpolated sub-expressions of a built string (None: not built here)."""
        if isinstance(node, ast.JoinedStr):
            inner = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
            return inner or None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            if self.constant(node):
                return None
            return [node.left, node.right]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            return [node.right]
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "format":
            return [*node.args, *(k.value for k in node.keywords)]
        return None

    def marked(self, *nodes: ast.AST) -> bool:
        for node in nodes:
            first = getattr(node, "lineno", 1)
            last = getattr(node, "end_lineno", first) or first
            if any(MARKER in line for line in self.lines[first - 1 : last]):
                return True
        return False

    def findings(self) -> Iterator[Formatted]:
        """Every SQL call whose string (or any assignment anywhere in the module to the name
        it passes) interpolates an unsafe piece. One walk: the module's assignments hold
        every function's too, so a per-function pass could only find the same sites."""
        seen: set[tuple[int, int]] = set()
        for call in ast.walk(self.tree):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in SQL_SINKS
                and call.args
            ):
                continue
            arg = call.args[0]
            candidates = self.names.get(arg.id, []) if isinstance(arg, ast.Name) else [arg]
            for cand in candidates:
                key = (call.lineno, cand.lineno)
                parts = self.pieces(cand)
                if key in seen or not parts:
                    continue
                seen.add(key)
                unsafe = [p for p in parts if not self.safe_piece(p)]
                if unsafe and not self.marked(call, cand):
                    yield Formatted(
                        str(self.path.relative_to(REPO)),
                        cand.lineno,
                        tuple(ast.unparse(p) for p in unsafe),
                    )


def formatted_sql(paths: list[Path]) -> list[Formatted]:
    out: list[Formatted] = []
    for path in paths:
        source = path.read_text(encoding="utf-8")
        # A finding is a call of a SQL_SINKS method, named in the source (identifiers compare
        # after NFKC; "executemany" contains "execute"): other files are not parsed.
        if not names_any(source, SQL_SINKS):
            continue
        out.extend(_Scan(path, source).findings())
    return out


def _python_files() -> list[Path]:
    return sorted(p for folder in ("nbaops", "hooks") for p in (REPO / folder).rglob("*.py"))


# Reviewed sites that predate the in-code marker: (path, interpolated pieces) -> why it is
# safe. Their owners should replace an entry with the S608 marker (see MARKER) on the
# line; an entry that no longer matches fails the test below, so this list only shrinks.
REVIEWED: dict[tuple[str, tuple[str, ...]], str] = {
    (
        "nbaops/adapters/warehouse_duckdb.py",
        ("target", "f\"SELECT {', '.join(unnest)}\""),
    ): "INSERT INTO <quote_ident(table)> (<quote_ident(column)>...) SELECT UNNEST(CAST($cN AS "
    "<column type>[])) AS <quote_ident(column)>: values are $cN parameters, types come from "
    "the table itself",
    (
        "nbaops/adapters/warehouse_duckdb.py",
        ("st.sql",),
    ): "EXPLAIN of an already transpiled statement; its values stay bound parameters",
    (
        "nbaops/regression/sources.py",
        ("table",),
    ): "DESCRIBE of a table name chosen by the module (identifier only)",
    (
        "nbaops/regression/run.py",
        ("sources.TABLE", "sql"),
    ): "CREATE TABLE AS the golden graded_sql: identifiers and a float only, values bound",
}


def test_no_sql_is_built_by_formatting_values_into_strings() -> None:
    found = formatted_sql(_python_files())
    problems = [f for f in found if (f.path, f.pieces) not in REVIEWED]
    stale = set(REVIEWED) - {(f.path, f.pieces) for f in found}
    assert not stale, f"reviewed SQL sites no longer present (drop them): {sorted(stale)}"
    assert not problems, (
        "SQL built from run-time values (use @name/$name parameters; if only identifiers are "
        f"interpolated, mark the line with '# {MARKER} - identifiers only'):\n"
        + "\n".join(map(str, problems))
    )


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("def f(wh, day):\n    wh.query(f\"SELECT * FROM t WHERE d = '{day}'\")\n", True),
        (
            'def f(wh, day):\n    sql = "SELECT * FROM t WHERE d = %s" % day\n    wh.query(sql)\n',
            True,
        ),
        ('def f(wh, d):\n    wh.execute("DELETE FROM t WHERE d = {}".format(d))\n', True),
        ('def f(wh, d):\n    wh.query("SELECT * FROM t WHERE d = \'" + d + "\'")\n', True),
        (
            'def f(wh, t):\n    wh.execute(f"DROP TABLE {t}")  # noqa: S608 - identifiers only\n',
            False,
        ),
        ('def f(wh, t):\n    wh.execute(f"DROP TABLE {quote_ident(t)}")\n', False),
        (
            'COLS = "a, b"\nSQL = f"SELECT {COLS} FROM t WHERE d = @d"\n'
            'def f(wh, d):\n    wh.query(SQL, {"d": d})\n',
            False,
        ),
        ('def f(wh, d):\n    wh.query("SELECT * FROM t WHERE d = @d", {"d": d})\n', False),
    ],
)
def test_the_sql_scan_flags_values_formatted_into_sql(
    tmp_path: Path, source: str, flagged: bool
) -> None:
    path = REPO / "nbaops" / "_probe_not_a_module.py"  # only its name is used
    findings = list(_Scan(path, source).findings())
    assert bool(findings) is flagged, findings


# ------------------------------------------------------------------ 2. workflows

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# Scopes a job may request with write access, and what justifies it.
WRITE_SCOPES = {
    "id-token": "OIDC for Workload Identity Federation (google-github-actions/auth)",
    "issues": "the drift workflow's issue sync",
}
READ_ONLY_SCOPES = {"contents", "actions", "checks", "pull-requests", "statuses"}


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    return data


def test_there_are_workflows_to_check() -> None:
    assert WORKFLOWS, "no workflow files found"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_has_no_default_token_scopes(path: Path) -> None:
    data = _load(path)
    assert "permissions" in data, f"{path.name}: no top-level permissions"
    assert data["permissions"] == {}, f"{path.name}: top-level permissions must be {{}}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_each_job_asks_only_for_what_it_needs(path: Path) -> None:
    for name, job in _load(path)["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"{path.name}:{name}: permissions must be a mapping"
        uses = [str(s.get("uses", "")) for s in job.get("steps", [])]
        for scope, level in perms.items():
            assert level in ("read", "write", "none"), f"{path.name}:{name}: {scope}={level}"
            if level == "write":
                assert scope in WRITE_SCOPES, f"{path.name}:{name}: {scope}: write not allowed"
            elif level == "read":
                assert scope in READ_ONLY_SCOPES | set(WRITE_SCOPES), f"{path.name}:{name}"
        if perms.get("id-token") == "write":
            assert any(u.startswith("google-github-actions/auth@") for u in uses), (
                f"{path.name}:{name}: id-token: write without google-github-actions/auth"
            )
        if perms.get("issues") == "write":
            run = " ".join(str(s.get("run", "")) for s in job.get("steps", []))
            assert "issue" in run.lower(), f"{path.name}:{name}: issues: write but no issue step"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_to_commit_shas_and_checkout_keeps_no_token(path: Path) -> None:
    for name, job in _load(path)["jobs"].items():
        if "uses" in job and not str(job["uses"]).startswith("./"):
            assert SHA_PIN.match(str(job["uses"])), f"{path.name}:{name}: {job['uses']}"
        for step in job.get("steps", []):
            uses = step.get("uses")
            if not uses or str(uses).startswith(("./", "docker://")):
                continue
            assert SHA_PIN.match(str(uses)), f"{path.name}:{name}: {uses} is not SHA-pinned"
            if str(uses).startswith("actions/checkout@"):
                assert (step.get("with") or {}).get("persist-credentials") is False, (
                    f"{path.name}:{name}: checkout without persist-credentials: false"
                )


# ------------------------------------------------------------------ 3. committed secrets

SECRET_PATTERNS = {
    "Slack webhook URL": re.compile(
        r"hooks\.slack\.com/services/T[A-Z0-9]{8,}/B[A-Z0-9]{8,}/[A-Za-z0-9]{24}"
    ),
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "Google API key": re.compile(r"AIza[0-9A-Za-z_-]{35}"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,})"),
    "Slack token": re.compile(r"\bxox[abposr]-[0-9]{6,}-[0-9A-Za-z-]{10,}"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
}


def secrets_in(text: str) -> list[str]:
    return [kind for kind, pattern in SECRET_PATTERNS.items() if pattern.search(text)]


def _repo_files() -> list[Path]:
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    return [REPO / name for name in listed if name and (REPO / name).is_file()]


def test_no_secret_looking_literal_is_committed() -> None:
    hits = []
    files = _repo_files()
    assert len(files) > 50, "git ls-files found too few files to be this repository"
    for path in files:
        raw = path.read_bytes()
        if b"\0" in raw[:4096]:
            continue  # binary
        kinds = secrets_in(raw.decode("utf-8", errors="replace"))
        hits.extend(f"{path.relative_to(REPO)}: {kind}" for kind in kinds)
    assert not hits, "secret-looking literals:\n" + "\n".join(hits)


def test_the_secret_scan_recognises_real_shapes() -> None:
    # Built at run time so this file itself holds no secret-looking literal.
    webhook = "https://hooks.slack.com/services/" + "T01ABCDEF2/" + "B03GHIJKL4/" + "a1" * 12
    key = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIE..."
    assert secrets_in(webhook) == ["Slack webhook URL"]
    assert secrets_in(key) == ["private key"]
    assert secrets_in("https://hooks.slack.com/services/A/B/c") == []
