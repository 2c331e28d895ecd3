"""An anchored pattern ends with ``\\Z``, not ``$``: with ``re.match``/``re.search``, ``$``
also matches just before a final newline, so ``"note\\n"`` passed as a column name,
``"v9\\n"`` as a model version and ``"owner/repo\\n"`` as a repository.

Checked on every pattern literal starting with ``^`` passed to ``re.compile``, ``re.match``
or ``re.search`` in ``nbaops/`` and ``hooks/`` (``re.fullmatch`` is exempt: it has no such
gap).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from source_names import names_any

REPO = Path(__file__).resolve().parents[2]
CALLS = frozenset({"compile", "match", "search"})


def _pattern_text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # an rf-string: its literal head and tail
        parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
        return "".join(str(p) for p in parts) if parts else None
    return None


def dollar_anchored() -> list[str]:
    found = []
    for path in sorted([*REPO.glob("nbaops/**/*.py"), *REPO.glob("hooks/*.py")]):
        text = path.read_text(encoding="utf-8")
        # The call names its function in the source (identifiers compare after NFKC): a
        # file naming none of CALLS has no such call, so it is not parsed (most files).
        if not names_any(text, CALLS):
            continue
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in CALLS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.args
            ):
                continue
            text = _pattern_text(node.args[0])
            if text and text.startswith("^") and re.search(r"(?<!\\)\$\Z", text):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {text[-30:]!r}")
    return found


def test_anchored_patterns_end_with_backslash_z() -> None:
    assert dollar_anchored() == []


@pytest.mark.parametrize(
    ("module", "name", "value"),
    [
        ("nbaops.bqschema.lint_rules", "NAME_RE", "points\n"),
        ("nbaops.deploy.request", "MODEL_VERSION_RE", "v9\n"),
        ("nbaops.adapters.github", "_REPO_RE", "owner/repo\n"),
        ("nbaops.services_status", "SHA_RE", "a" * 40 + "\n"),
    ],
)
def test_a_final_newline_does_not_match(module: str, name: str, value: str) -> None:
    import importlib

    pattern = getattr(importlib.import_module(module), name)
    assert pattern.match(value.rstrip("\n"))
    assert not pattern.match(value)
