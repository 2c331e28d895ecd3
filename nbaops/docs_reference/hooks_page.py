"""``docs/reference/hooks.md``: every hook of ``.pre-commit-hooks.yaml``.

Each hook with its entry point, file filter and flags, read from the hook's own argparse
parser (its module's ``PARSER``).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from nbaops.docs_reference.markdown import HEADER, REGENERATE, cell, code, on_path

if TYPE_CHECKING:
    from nbaops.config import Config


@dataclass(frozen=True)
class HookDoc:
    """One hook of ``.pre-commit-hooks.yaml``: the entry as written, its module and parser."""

    hook: Mapping[str, Any]
    module: str
    parser: argparse.ArgumentParser | None

    @property
    def options(self) -> list[argparse.Action]:
        actions = self.parser._actions if self.parser else []
        return [a for a in actions if not isinstance(a, argparse._HelpAction)]


def hook_parser(module_name: str) -> argparse.ArgumentParser:
    """The argparse parser a hook module declares (``PARSER``; see :mod:`hooks`)."""
    parser = getattr(importlib.import_module(module_name), "PARSER", None)
    if not isinstance(parser, argparse.ArgumentParser):
        raise RuntimeError(f"{module_name} declares no PARSER")
    return parser


def _project(root: Path) -> dict[str, Any]:
    """The ``[project]`` table of pyproject.toml."""
    import tomllib

    return dict(tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"])


def hook_docs(root: Path) -> list[HookDoc]:
    # console-script name -> module, from [project.scripts]
    scripts = _project(root).get("scripts", {})
    entries = {name: target.split(":", 1)[0] for name, target in scripts.items()}
    hooks = yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    out: list[HookDoc] = []
    for hook in hooks:
        entry = str(hook["entry"])
        module = entries.get(entry.split()[0], "")
        if not module and entry.startswith("python -m "):
            module = entry.split()[2]
        parser = None
        if module:
            with on_path(root):
                parser = hook_parser(module)
        out.append(HookDoc(hook, module, parser))
    return out


def page(root: Path, configs: Mapping[str, Config]) -> str:
    """``docs/reference/hooks.md``; the copyable block names the repository and ``v<version>``
    (pyproject.toml) a service repository's pre-commit config fetches the hooks from."""
    hooks = hook_docs(root)
    project = _project(root)
    repo_url, rev = project["urls"]["Repository"], f"v{project['version']}"
    lines = [
        HEADER.format(cmd=REGENERATE, source=".pre-commit-hooks.yaml and the hooks' parsers"),
        "# Hook reference",
        "",
        "The pre-commit hooks this repository publishes in `.pre-commit-hooks.yaml` (the "
        "services' own repositories use them; this repository runs the same modules from "
        "`.pre-commit-config.yaml`). Findings print as `path:line: RULE_ID message`; exit "
        "0 clean or warnings only, 1 an error finding, 2 bad usage or config, 3 could not "
        "determine. With `--json` (`bq-schema-lint`) stdout is exactly one JSON document, "
        'errors included: bad usage is `{"error": "...", "exit_code": 2}`. The rule '
        "catalog is [schema rules](../schema-rules.md).",
        "",
        "```yaml",
        "# .pre-commit-config.yaml of a service repository (copy as is)",
        "repos:",
        f"  - repo: {repo_url}",
        f"    rev: {rev}",
        "    hooks:",
        *[f"      - id: {doc.hook['id']}" for doc in hooks],
        "```",
        "",
        "`pre-commit install` once in that repository; the hooks' environment is built with "
        f"`{hooks[0].hook.get('language_version', 'python3')}` (each hook's "
        "`language_version`: the package's `requires-python`), which must be on the PATH "
        "whatever Python pre-commit itself runs on. A first commit has no base to "
        "compare with: `bq-schema-breaking` then lints only. On a commit it compares with "
        "`HEAD`; in CI run `pre-commit run --from-ref origin/main --to-ref HEAD` and it "
        "compares with the from-ref (pre-commit exports it as `PRE_COMMIT_FROM_REF`), so a "
        "breaking change already committed on the branch fails; `args: [--against, REF]` "
        "overrides both. `sql-schema-refs` scans every "
        "`*.py` below the repository (tests, virtualenvs and build output skipped); narrow "
        "or widen it with `args: [--glob, 'services/**/*.py', --exclude, 'scripts/**']`. "
        "Every failure prints the rule's anchor in [schema rules](../schema-rules.md) and, "
        "for breaking-change rules, the `schema_rules.waivers` entry that waives it.",
    ]
    for doc in hooks:
        hook = doc.hook
        lines += ["", f"## {hook['id']}", "", str(hook.get("description", "")), ""]
        if doc.parser and doc.parser.description:
            lines += [doc.parser.description, ""]
        lines.append(f"- name: {hook.get('name', '')}")
        lines.append(f"- entry: `{hook['entry']}`" + (f" (`{doc.module}`)" if doc.module else ""))
        lines += [f"- {key}: `{hook[key]}`" for key in ("files", "exclude") if hook.get(key)]
        lines.append(f"- pass_filenames: {'yes' if hook.get('pass_filenames', True) else 'no'}")
        if doc.options:
            lines += [
                "",
                "| argument | metavar | default | help |",
                "| -------- | ------- | ------- | ---- |",
            ]
        for opt in doc.options:
            flags = " / ".join(opt.option_strings) or opt.dest
            default = "—" if opt.default in (None, False, [], "") else code(opt.default)
            lines.append(
                f"| `{flags}` | {cell(opt.metavar or '') or '—'} | "
                f"{cell(default)} | {cell(opt.help or '') or '(no help)'} |"
            )
    return "\n".join(lines) + "\n"
