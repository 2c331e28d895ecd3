"""The docs stay true: generated reference current, every task/check/hook/service documented,
every documented ``inv`` command and ``nox`` session real, every internal link resolving.

When one of these fails after a code or config change, regenerate with
``python -m nbaops.docs_reference`` (or ``inv docs.reference``) and write the missing page.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from nbaops import docs_reference as ref
from nbaops.docs_reference import hooks_page, markdown, tasks_page
from nbaops.docs_reference.checks_page import check_specs
from nbaops.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REGEN = "regenerate with `python -m nbaops.docs_reference` (or `inv docs.reference`)"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    monkeypatch.delenv("NBAOPS_CONFIG", raising=False)


@cache
def collection() -> Any:
    return tasks_page.load_tasks(ROOT)


@cache
def configs() -> dict[str, Any]:
    return markdown.load_profiles(ROOT)


def doc_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def copy_of_the_repository(tmp_path: Path) -> None:
    """What the generator reads (config, hooks, tasks, docs, schemas), copied to tmp_path."""
    for name in ("nbaops.yaml", "pyproject.toml", ".pre-commit-hooks.yaml", "tasks.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")


# ---------------------------------------------------------------- Markdown parsing


@dataclass(frozen=True)
class Snippet:
    path: Path
    line: int
    text: str


FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")


def fenced_blocks(path: Path) -> Iterator[tuple[str, Snippet]]:
    """(language, block) for every fenced code block of a Markdown file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, lang = match.group(1), match.group(2).lower()
        start = i + 1
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            i += 1
        yield lang, Snippet(path, start + 1, "\n".join(lines[start:i]))
        i += 1


def prose_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Lines outside fenced code blocks, numbered from 1."""
    inside: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = FENCE.match(line)
        if inside is None and match:
            inside = match.group(1)
            continue
        if inside is not None:
            if line.strip().startswith(inside):
                inside = None
            continue
        yield number, line


INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


def inv_commands(path: Path) -> Iterator[Snippet]:
    """Every ``inv ...`` command of a page: in shell code blocks and in inline code."""
    for lang, block in fenced_blocks(path):
        if lang in ("mermaid", "sql", "text", "json", "python", "yaml", "toml"):
            continue
        joined = block.text.replace("\\\n", " ")
        for offset, line in enumerate(joined.splitlines()):
            for command in _segments(line):
                yield Snippet(path, block.line + offset, command)
    for number, line in prose_lines(path):
        for span in INLINE.findall(line):
            for command in _segments(span):
                yield Snippet(path, number, command)


def _segments(line: str) -> Iterator[str]:
    text = line.strip()
    text = re.sub(r"^\$\s+", "", text)
    text = re.sub(r"\s#\s.*$", "", text)
    for segment in re.split(r"&&|\|\||;|\s\|\s", text):
        words = segment.split()
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
            words.pop(0)  # environment assignments before the command
        if words and (words[0] == "inv" or words[0].endswith("/inv")):
            yield " ".join(words)


# ---------------------------------------------------------------- command resolution

CORE_FLAGS = {"--list", "-l", "--version", "-V", "--complete", "--help", "-h"}


def _placeholder(token: str) -> bool:
    """NAME, S, PCT, <task>, ...: a value written as a placeholder."""
    bare = token.strip("<>.,")
    return (
        token in ("...", "…")
        or bool(re.fullmatch(r"[A-Z][A-Z0-9_]*", bare))
        or token.startswith("<")
    )


@cache
def _parser_contexts() -> tuple[dict[str, Any], dict[str, str]]:
    """The task parser contexts by name and the aliases (built once: ``to_contexts`` makes
    a parser for every task)."""
    coll = collection()
    contexts = {c.name: c for c in coll.to_contexts()}
    aliases = {alias: name for name, al in coll.task_names.items() for alias in al}
    return contexts, aliases


def resolve_inv(command: str) -> list[str]:
    """Problems with one ``inv`` command line (empty when it would parse)."""
    contexts, aliases = _parser_contexts()
    text = command.replace("\\|", " ").replace("[", " ").replace("]", " ")
    text = text.replace("|", " ")
    try:
        tokens = shlex.split(text)[1:]
    except ValueError:
        tokens = text.split()[1:]
    problems: list[str] = []
    if all(_placeholder(t) for t in tokens):
        return problems  # `inv` or `inv ...` named in prose, not a command
    current: Any = None
    positional: list[Any] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token.startswith((">", "2>")):
            break  # a redirection ends the command
        if token in ("...", "…"):
            continue
        name = aliases.get(token, token)
        if token.startswith("-"):
            flag = token.split("=", 1)[0]
            if current is None:
                if flag not in CORE_FLAGS:
                    problems.append(f"{flag}: not an invoke option before a task name")
                elif flag in ("--help", "-h") and i < len(tokens) and not tokens[i].startswith("-"):
                    target = tokens[i]
                    i += 1
                    if (
                        target not in contexts
                        and target not in aliases
                        and not _placeholder(target)
                    ):
                        problems.append(f"--help {target}: no such task")
                continue
            arg = current.flags.get(flag) or current.inverse_flags.get(flag)
            if arg is None:
                problems.append(f"{current.name}: no flag {flag}")
                continue
            if arg.takes_value and "=" not in token and flag not in current.inverse_flags:
                i += 1  # its value
            continue
        if name in contexts:
            current = contexts[name]
            positional = list(current.positional_args)
            continue
        if current is None:
            if not _placeholder(token):
                problems.append(f"{token}: no such task")
            continue
        if positional:
            positional.pop(0)
            continue
        problems.append(f"{current.name}: unexpected argument {token!r} (no such task either)")
    if current is None and not any(t in CORE_FLAGS for t in tokens):
        problems.append("no task named")
    return problems


def documented_inv_commands() -> list[Snippet]:
    pages = [*doc_pages(), ROOT / "README.md"]
    return [s for page in pages for s in inv_commands(page)]


# ---------------------------------------------------------------- links and anchors


def slugify(text: str) -> str:
    """Python-Markdown's toc slugify (what MkDocs uses for heading ids)."""
    value = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def heading_ids(path: Path) -> set[str]:
    ids: set[str] = set()
    for _, line in prose_lines(path):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        title = match.group(1)
        custom = re.search(r"\{:?\s*#([\w-]+)\s*\}\s*$", title)
        if custom:
            ids.add(custom.group(1))
            continue
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title).replace("`", "")
        title = re.sub(r"<[^>]+>", "", title)
        base = slugify(title)
        slug, n = base, 0
        while slug in ids:
            n += 1
            slug = f"{base}_{n}"
        ids.add(slug)
    return ids


LINK = re.compile(r"(?<!!)\[(?:[^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def internal_links(path: Path) -> Iterator[tuple[int, str]]:
    for number, line in prose_lines(path):
        line = INLINE.sub("", line)
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # http:, https:, mailto:
            yield number, target


# ================================================================ tests


def test_generated_reference_matches_the_code_and_config() -> None:
    outdated = ref.stale(ROOT)
    assert not outdated, (
        "generated docs are out of date: "
        + ", ".join(rel(p) for p in outdated)
        + f"; {REGEN} and commit the result"
    )


def test_check_mode_exits_zero_when_current_and_names_the_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert ref.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_a_changed_threshold_or_new_flag_makes_the_docs_stale(tmp_path: Path) -> None:
    """The freshness test can fail: a copy of the repo with one threshold changed and one
    flag added is reported stale on exactly the pages that show them."""
    copy_of_the_repository(tmp_path)
    config = tmp_path / "nbaops.yaml"
    text = config.read_text(encoding="utf-8")
    assert "\nchecks: {}\n" in text
    config.write_text(
        text.replace("\nchecks: {}\n", "\nchecks: {error_logs: {fail_at: 12}}\n"),
        encoding="utf-8",
    )
    tasks = tmp_path / "tasks.py"
    tasks.write_text(
        tasks.read_text(encoding="utf-8") + "\n\nfrom invoke import task as _task\n\n\n"
        "@_task(help={'loud': 'Shout.'})\ndef brand_new(c, loud=False):\n"
        "    '''A task nobody documented.'''\n\n\nns.add_task(brand_new)\n",
        encoding="utf-8",
    )
    outdated = {p.relative_to(tmp_path).as_posix() for p in ref.stale(tmp_path)}
    assert "docs/reference/tasks.md" in outdated
    assert "docs/reference/checks.md" in outdated
    assert "docs/reference/services.md" in outdated
    assert "docs/playbooks/error-logs.md" in outdated  # its generated thresholds block
    assert "docs/reference/hooks.md" not in outdated
    assert "schemas/config.schema.json" not in outdated  # a value, not a key, changed
    pages = ref.build(tmp_path)
    assert "## brand-new" in pages[tmp_path / "docs/reference/tasks.md"]
    assert "`--loud / -l`" in pages[tmp_path / "docs/reference/tasks.md"]


def test_a_changed_key_in_a_spec_makes_the_config_schema_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks part of schemas/config.schema.json is generated from the specs."""
    from nbaops.checks.registry import REGISTRY
    from nbaops.checks.spec import Key
    from nbaops.docs_reference import config_schema

    (tmp_path / "schemas").mkdir()
    shutil.copy(ROOT / "schemas" / "config.schema.json", tmp_path / "schemas")
    assert config_schema.page(tmp_path) == (ROOT / "schemas/config.schema.json").read_text()
    keys = REGISTRY["error_logs"].keys
    assert isinstance(keys, dict)
    monkeypatch.setitem(keys, "fail_at", Key("integer", 10, "Changed meaning.", maximum=99))
    regenerated = config_schema.page(tmp_path)
    assert (
        '"fail_at": {"description": "Changed meaning.", "type": "integer", "minimum": 0, '
        '"maximum": 99}' in regenerated
    )
    assert (
        json.loads(regenerated)["$defs"]["alerts"]
        == json.loads((ROOT / "schemas/config.schema.json").read_text())["$defs"]["alerts"]
    )  # the hand-written rest is kept as is


def test_every_task_has_a_docstring_and_help_for_every_flag() -> None:
    missing: list[str] = []
    for name, task in tasks_page.named_tasks(collection()):
        if not markdown.docstring(task.body):
            missing.append(f"{name}: no docstring")
        missing += [f"{name} --{f.names[0]}: no help" for f in task.get_arguments() if not f.help]
    assert not missing, "; ".join(missing)


def test_every_task_has_a_reference_entry() -> None:
    text = (DOCS / "reference" / "tasks.md").read_text(encoding="utf-8")
    # A collection's default task is documented under its alias (`regression`).
    missing = [
        n
        for n, aliases in collection().task_names.items()
        if not any(f"\n## {x}\n" in text for x in (n, *aliases))
    ]
    assert not missing, f"tasks without a reference entry: {missing}; {REGEN}"


def test_every_service_has_a_runbook_with_its_generated_thresholds() -> None:
    problems: list[str] = []
    first = next(iter(configs().values()))
    for name, service in first.services.items():
        page = ROOT / service.runbook  # the page Slack alerts and the reference link
        if not page.is_file():
            problems.append(f"{name}: no runbook {rel(page)}")
            continue
        text = page.read_text(encoding="utf-8")
        if f"<!-- BEGIN generated:post-deploy {name} -->" not in text:
            problems.append(f"{rel(page)}: no generated post-deploy block for {name}")
        for needed in ("inv deploy", "inv rollback", "inv pre-deploy", "## Rollback"):
            if needed not in text:
                problems.append(f"{rel(page)}: never mentions {needed!r}")
    assert not problems, "; ".join(problems)


def test_the_service_reference_links_the_runbook_the_config_names(tmp_path: Path) -> None:
    """``services.<name>.runbook`` moves a service's runbook: the reference links that page,
    the one its Slack alerts link, not ``docs/runbooks/<name>.md``."""
    from nbaops.docs_reference import services_page

    text = (ROOT / "nbaops.yaml").read_text(encoding="utf-8")
    anchor = "\n  prediction-worker:\n"  # the service, not the canary override
    assert anchor in text
    (tmp_path / "nbaops.yaml").write_text(
        text.replace(anchor, anchor + "    runbook: docs/ops/worker.md\n"), encoding="utf-8"
    )
    page = services_page.page(tmp_path, markdown.load_profiles(tmp_path))
    assert "- runbook: [prediction-worker](../ops/worker.md)" in page
    assert "runbooks/prediction-worker.md" not in page
    assert "- runbook: [grading-service](../runbooks/grading-service.md)" in page


def test_every_check_has_a_playbook_with_its_sql_and_thresholds() -> None:
    problems: list[str] = []
    for check in check_specs():
        page = DOCS / check.playbook
        if not page.is_file():
            problems.append(f"{check.id}: no playbook {rel(page)}")
            continue
        text = page.read_text(encoding="utf-8")
        for kind in ("sql", "thresholds"):
            if f"<!-- BEGIN generated:{kind} {check.id} -->" not in text:
                problems.append(f"{rel(page)}: no generated {kind} block for {check.id}")
        for verdict in ("FAIL", "ERROR"):
            if verdict not in text:
                problems.append(f"{rel(page)}: does not say what {verdict} means")
    assert not problems, "; ".join(problems)


def test_playbook_sql_is_the_checks_declared_queries() -> None:
    """The SQL in a playbook is each query of the check's spec itself, not a retyped copy."""
    for check in check_specs():
        text = (DOCS / check.playbook).read_text(encoding="utf-8")
        for query in check.queries:
            assert query.sql.strip("\n") in text, f"{check.id}: {query.name} missing; {REGEN}"
            assert f"`{check.id}` query `{query.name}`" in text, check.id


def test_every_hook_is_in_the_reference_with_its_module() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    text = (DOCS / "reference" / "hooks.md").read_text(encoding="utf-8")
    for doc in hooks_page.hook_docs(ROOT):
        assert doc.module, f"{doc.hook['id']}: entry {doc.hook['entry']!r} resolves to no module"
        assert doc.options, f"{doc.hook['id']}: no arguments read from its parser"
    missing = [h["id"] for h in hooks if f"\n## {h['id']}\n" not in text]
    assert not missing, f"hooks without a reference entry: {missing}; {REGEN}"


def test_every_documented_inv_command_exists() -> None:
    commands = documented_inv_commands()
    assert len(commands) > 50, "the command scanner found suspiciously few commands"
    problems = [
        f"{rel(s.path)}:{s.line}: `{s.text}`: {p}" for s in commands for p in resolve_inv(s.text)
    ]
    assert not problems, "documented commands that do not exist:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ("inv deploy --service phase4-processors --canary 10", None),
        ("inv --help deploy", None),
        ("inv sandbox.fault next-revision-degraded --service phase4-processors", None),
        ("inv deploy --servce x", "deploy: no flag --servce"),
        ("inv deploy-everything", "deploy-everything: no such task"),
        ("inv check-lines yesterday", "check-lines: unexpected argument"),
        ("inv --help nosuchtask", "--help nosuchtask: no such task"),
    ],
)
def test_command_resolution_catches_typos(command: str, problem: str | None) -> None:
    problems = resolve_inv(command)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_every_documented_nox_session_exists() -> None:
    source = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    sessions = set()
    for args, function in re.findall(r"@nox\.session\(([^)]*)\)\s*\ndef (\w+)\(", source):
        named = re.search(r"name=\"([\w-]+)\"", args)
        sessions.add(named.group(1) if named else function)
    default = re.search(r"nox\.options\.sessions = \[([^\]]*)\]", source)
    assert default is not None
    assert set(re.findall(r"\"([\w-]+)\"", default.group(1))) <= sessions
    assert "docs" in sessions
    problems: list[str] = []
    for page in [*doc_pages(), ROOT / "README.md"]:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for name in re.findall(r"\bnox -s ([a-z][\w-]*)", line):
                if name not in sessions:
                    problems.append(f"{rel(page)}:{number}: nox -s {name}")
    assert not problems, f"unknown nox sessions: {problems}"


def test_internal_links_and_anchors_resolve() -> None:
    problems: list[str] = []
    for page in doc_pages():
        for number, target in internal_links(page):
            path_part, _, fragment = target.partition("#")
            dest = (page.parent / path_part).resolve() if path_part else page
            where = f"{rel(page)}:{number}: {target}"
            if path_part and DOCS.resolve() not in dest.parents:
                problems.append(f"{where}: leaves docs/ (the site cannot serve it)")
                continue
            if not dest.is_file():
                problems.append(f"{where}: no such file")
                continue
            if fragment and dest.suffix == ".md" and fragment not in heading_ids(dest):
                problems.append(f"{where}: no heading #{fragment}")
    assert not problems, "broken links:\n" + "\n".join(problems)


def _nav_files(nav: Any) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from _nav_files(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_files(value)


class _MkdocsLoader(yaml.SafeLoader):
    """Safe YAML that reads MkDocs' ``!!python/name:`` tags as plain text."""


_MkdocsLoader.add_multi_constructor(
    "tag:yaml.org,2002:python/name:", lambda loader, suffix, node: suffix
)


def load_mkdocs_yml() -> dict[str, Any]:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=_MkdocsLoader)  # a SafeLoader subclass


def test_every_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    config = load_mkdocs_yml()
    assert config["strict"] is True
    nav = set(_nav_files(config["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in doc_pages()}
    assert not pages - nav, f"pages missing from nav in mkdocs.yml: {sorted(pages - nav)}"
    assert not nav - pages, f"nav entries without a page: {sorted(nav - pages)}"


def test_sql_in_the_docs_names_only_known_tables_and_columns() -> None:
    from nbaops.bqschema.sql_refs import SqlSite, check_sql
    from nbaops.table_catalog import load_catalog

    catalog = load_catalog(ROOT)
    problems: list[str] = []
    count = 0
    for page in doc_pages():
        for lang, block in fenced_blocks(page):
            if lang != "sql":
                continue
            count += 1
            site = SqlSite(rel(page), block.line, block.text, True)
            problems += [
                f"{f.path}:{f.line}: {f.rule} {f.message}" for f in check_sql(site, catalog)
            ]
    assert count >= 10
    assert not problems, "\n".join(problems)


MERMAID_TYPES = (
    "flowchart",
    "graph",
    "sequenceDiagram",
    "stateDiagram-v2",
    "gantt",
    "timeline",
    "classDiagram",
    "erDiagram",
)


def test_mermaid_diagrams_are_well_formed() -> None:
    problems: list[str] = []
    for page in doc_pages():
        for lang, block in fenced_blocks(page):
            if lang != "mermaid":
                continue
            lines = [ln.strip() for ln in block.text.splitlines() if ln.strip()]
            where = f"{rel(page)}:{block.line}"
            if not lines or not lines[0].startswith(MERMAID_TYPES):
                problems.append(f"{where}: does not start with a diagram type")
                continue
            opened = sum(1 for ln in lines if re.match(r"^(subgraph|loop|alt|opt|par|rect)\b", ln))
            closed = sum(1 for ln in lines if ln == "end")
            if opened != closed:
                problems.append(f"{where}: {opened} blocks opened, {closed} closed")
            for ln in lines:
                if ln.count("[") != ln.count("]") or ln.count("(") != ln.count(")"):
                    problems.append(f"{where}: unbalanced brackets in {ln!r}")
    assert not problems, "\n".join(problems)


def test_fill_blocks_rejects_unknown_blocks_and_missing_end_markers() -> None:
    with pytest.raises(ValueError, match="unknown generated block kind"):
        ref.render_block("nope", "x", configs())
    other = "<!-- BEGIN generated:someone-else x -->\nkept\n<!-- END generated -->\n"
    assert ref.fill_blocks(other, configs()) == other  # another tool's markers are left alone
    with pytest.raises(ConfigError, match="^page.md: .* unknown check"):
        ref.fill_blocks(
            "<!-- BEGIN generated:sql nope -->\n<!-- END generated -->", configs(), "page.md"
        )
    with pytest.raises(ConfigError, match="^page.md: .* unknown service"):
        ref.fill_blocks(
            "<!-- BEGIN generated:post-deploy nope -->\n<!-- END generated -->",
            configs(),
            "page.md",
        )
    with pytest.raises(ConfigError, match="has no"):
        ref.fill_blocks("<!-- BEGIN generated:sql shot_zones -->\n", configs())


def test_a_page_with_a_bad_block_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generated block naming an unknown check (a typo in a page) was a ValueError:
    ``python -m nbaops.docs_reference`` printed a traceback naming no page."""
    copy_of_the_repository(tmp_path)
    page = tmp_path / "docs" / "typo.md"
    page.write_text("<!-- BEGIN generated:sql shot_zone -->\n<!-- END generated -->\n")
    monkeypatch.setenv("NBAOPS_ROOT", str(tmp_path))
    assert ref.main(["--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nbaops: error: docs/typo.md: <!-- BEGIN generated:sql shot_zone -->")
    assert "unknown check 'shot_zone'" in err and err.count("\n") == 1


def test_a_page_that_cannot_be_written_is_one_line_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regenerating wrote the stale pages one by one with ``write_text``: a page it could
    not write (here a folder in its place) was an IsADirectoryError traceback (exit 1,
    "a check failed") after the pages before it had been rewritten."""
    copy_of_the_repository(tmp_path)
    config = tmp_path / "nbaops.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "\nchecks: {}\n", "\nchecks: {error_logs: {fail_at: 12}}\n"
        ),
        encoding="utf-8",
    )
    checks = tmp_path / "docs" / "reference" / "checks.md"  # stale, written first
    services = tmp_path / "docs" / "reference" / "services.md"  # stale, cannot be written
    before = checks.read_text(encoding="utf-8")
    services.unlink()
    services.mkdir()
    monkeypatch.setenv("NBAOPS_ROOT", str(tmp_path))
    assert ref.main([]) == 3
    captured = capsys.readouterr()
    assert captured.err.startswith("nbaops: error: ") and captured.err.count("\n") == 1
    assert "services.md" in captured.err
    assert checks.read_text(encoding="utf-8") == before
    assert not [p.name for p in checks.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("path", "content", "expected"),
    [
        ("docs/latin1.md", b"caf\xe9\n", "docs/latin1.md: not UTF-8 text (byte 3: "),
        ("nbaops.yaml", b"version: 1\nchecks: [unclosed\n", "nbaops.yaml"),
    ],
    ids=["page-not-utf8", "config-not-yaml"],
)
def test_a_bad_page_or_config_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    content: bytes,
    expected: str,
) -> None:
    """A page that is not UTF-8 was a UnicodeDecodeError traceback, and a malformed
    nbaops.yaml a PyYAML ParserError one (the generator parsed the file itself to list
    its profiles instead of loading it as every task does)."""
    copy_of_the_repository(tmp_path)
    (tmp_path / path).write_bytes(content)
    monkeypatch.setenv("NBAOPS_ROOT", str(tmp_path))
    assert ref.main(["--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nbaops: error: ") and err.count("\n") == 1
    assert expected in err


def test_fill_blocks_replaces_only_the_block() -> None:
    text = (
        "before\n<!-- BEGIN generated:thresholds shot_zones -->\nstale\n"
        "<!-- END generated -->\nafter\n"
    )
    filled = ref.fill_blocks(text, configs())
    assert filled.startswith("before\n") and filled.endswith("<!-- END generated -->\nafter\n")
    assert "stale" not in filled and "`mismatch_fail_above`" in filled
    assert ref.fill_blocks(filled, configs()) == filled


def test_mkdocs_builds_in_strict_mode(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="mkdocs is in the docs extra (pip install -e .[docs])")
    pytest.importorskip("pymdownx", reason="pymdown-extensions is in the docs extra")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(tmp_path / "site"))
    build(config)  # strict: any warning (broken link, anchor, nav) raises
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "runbooks" / "prediction-worker.html").is_file()
    architecture = (tmp_path / "site" / "architecture.html").read_text(encoding="utf-8")
    assert '<pre class="mermaid"><code>flowchart' in architecture  # left for mermaid-init.js


def test_hook_reference_shows_a_copyable_repo_and_rev_block() -> None:
    import re
    import tomllib

    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "reference" / "hooks.md").read_text(encoding="utf-8")
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert f"  - repo: {project['urls']['Repository']}\n    rev: v{project['version']}\n" in text
    assert re.search(r"repo: https://\S+", text) and "<this repository>" not in text


def test_the_fault_list_and_the_adr_table_are_derived_not_retyped(tmp_path: Path) -> None:
    """docs/index.md listed faults and ADRs by hand: hit-rate-drop and ADRs 0010-0011 were
    missing. Both blocks now come from the catalogs and the ADR files."""
    from nbaops.docs_reference import adr_table, faults_block
    from nbaops.sandbox.faults import known_faults

    block = faults_block()
    assert all(f"`{name}`" in block for name in known_faults())
    (tmp_path / "0001-first.md").write_text("# ADR 0001 — First thing\n\nbody\n")
    (tmp_path / "0012-new.md").write_text("# ADR 0012 — A new decision\n")
    (tmp_path / "README.md").write_text("# not a record\n")
    assert adr_table(tmp_path).splitlines()[2:] == [
        f"| [0001]({tmp_path.name}/0001-first.md) | First thing |",
        f"| [0012]({tmp_path.name}/0012-new.md) | A new decision |",
    ]


def test_the_exit_code_contract_is_declared_once_and_is_what_the_runner_returns() -> None:
    """The contract was written out in seven places; ADR 0003 and docs/index.md left out
    130. It is nbaops.errors.EXIT_CODES, shown as a generated table in README.md and
    docs/troubleshooting.md (kept current by --check) and linked from the others."""
    from nbaops.errors import EXIT_CODES, EXIT_INTERRUPTED, EXIT_USAGE
    from nbaops.verdict import Verdict, exit_code_for

    returned = {exit_code_for(v) for v in Verdict} | {EXIT_USAGE, EXIT_INTERRUPTED}
    assert set(EXIT_CODES) == returned
    pages = ref.build(ROOT)
    for page in (ROOT / "README.md", DOCS / "troubleshooting.md"):
        assert ref.exit_code_table() in pages[page]
    for page in (DOCS / "index.md", DOCS / "adr" / "0003-verdicts-and-exit-codes.md"):
        assert "troubleshooting.md#exit-codes" in page.read_text(encoding="utf-8")


def test_a_bad_flag_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m nbaops.docs_reference --bogus`` printed argparse's usage line before the
    error (README: bad input is one line)."""
    from nbaops.stdio import run_main

    assert run_main(lambda: ref.main(["--bogus"])) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", "nbaops: error: unrecognized arguments: --bogus\n")
