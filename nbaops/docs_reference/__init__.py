"""The generated reference of the docs site, built from the code and the config.

Pages written whole under ``docs/reference/`` (one module each, registered in
:data:`PAGES`):

- ``tasks.md`` (:mod:`.tasks_page`) — every invoke task of ``tasks.py`` with its flags;
- ``checks.md`` (:mod:`.checks_page`) — every check spec with its service and every
  threshold key: meaning, code default and the value in force per profile;
- ``hooks.md`` (:mod:`.hooks_page`) — every hook of ``.pre-commit-hooks.yaml``;
- ``services.md`` (:mod:`.services_page`) — every service of ``nbaops.yaml`` with its
  post-deploy checks per profile and the observation window that decides a deploy;
- ``task-map.md`` (:mod:`.task_map`) — task → function → module, the one-hop map;
- ``environment.md`` (:mod:`nbaops.environment`) — every ``NBAOPS_*`` variable.

Also generated: the ``checks`` part of ``schemas/config.schema.json``
(:mod:`.config_schema`), ``docs/schema-rules.md`` (:mod:`nbaops.bqschema.docs`) and the
blocks of hand-written pages between markers::

    <!-- BEGIN generated:post-deploy prediction-worker -->
    ...
    <!-- END generated -->

Kinds: ``post-deploy SERVICE`` (runbooks), ``thresholds CHECK`` and ``sql CHECK``
(playbooks: the check's declared queries or Cloud Logging filter, never retyped),
``task-map tasks`` (``docs/architecture.md``: every task → function → module),
``faults sandbox`` (the sandbox's fault catalog), ``adrs all`` (``docs/index.md``: the
decision records of ``docs/adr/``, from their titles) and ``exit-codes contract`` (the
exit-code table of :data:`nbaops.errors.EXIT_CODES`; in ``README.md`` too).
Other tools' markers are left alone.

``python -m nbaops.docs_reference`` (or ``inv docs.reference``) rewrites everything (a
page it cannot write is one line, exit 3); ``--check`` changes nothing and exits 1 naming
the stale files.
``tests/unit/test_docs_reference.py`` keeps the committed files equal to the output.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nbaops import environment
from nbaops.bqschema.docs import render_markdown
from nbaops.docs_reference import (
    checks_page,
    config_schema,
    hooks_page,
    services_page,
    task_map,
    tasks_page,
)
from nbaops.docs_reference.markdown import HEADER, REGENERATE, load_profiles

if TYPE_CHECKING:
    from nbaops.config import Config

BLOCK_KINDS = ("post-deploy", "thresholds", "sql", "task-map", "faults", "adrs", "exit-codes")
BEGIN_RE = re.compile(
    r"<!-- BEGIN generated:(?P<kind>" + "|".join(BLOCK_KINDS) + r") (?P<arg>[A-Za-z0-9_.-]+) -->"
)
END_MARK = "<!-- END generated -->"


def render_block(kind: str, arg: str, configs: Mapping[str, Config]) -> str:
    """The content of one marked block."""
    from nbaops.checks.registry import ALL_SPECS

    if kind == "post-deploy":  # an unknown service raises UnknownServiceError
        return services_page.post_deploy_block(arg, configs)
    if kind in ("thresholds", "sql"):
        if arg not in ALL_SPECS:
            raise ValueError(f"unknown check {arg!r}; known: {', '.join(ALL_SPECS)}")
        if kind == "sql":
            return checks_page.sql_block(ALL_SPECS[arg], configs)
        return checks_page.thresholds_block(arg, configs)
    root = next(iter(configs.values())).root
    if kind == "task-map":  # docs/architecture.md: the one-hop map of every task
        return task_map.render_table(tasks_page.load_tasks(root))
    if kind == "faults":  # the sandbox's fault catalog
        return faults_block()
    if kind == "adrs":  # docs/index.md: every decision record, from its title
        return adr_table(root / "docs" / "adr")
    if kind == "exit-codes":  # README.md, docs/troubleshooting.md: the one contract
        return exit_code_table()
    raise ValueError(f"unknown generated block kind {kind!r}")


def faults_block() -> str:
    """Every fault ``inv sandbox.fault`` injects, by kind, from the catalogs."""
    from nbaops.local.api_faults import API_FAULT_KINDS
    from nbaops.sandbox.faults import ARMED, CANARY_FAULTS, DATA_FAULTS, DRIFT

    def names(items: Sequence[str]) -> str:
        return ", ".join(f"`{n}`" for n in items)

    return "\n".join(
        [
            f"- data faults (applied at once): {names(list(DATA_FAULTS))};",
            f"- {names([ARMED])}: armed until the service's next revision, which it degrades "
            "(unhealthy, and that service's data fault);",
            f"- {names([DRIFT])}: commits merged to the sandbox's platform repository and not "
            "deployed;",
            f"- canary faults: {names(CANARY_FAULTS)};",
            f"- API faults of the stand-in: {names(API_FAULT_KINDS)}.",
        ]
    )


def exit_code_table() -> str:
    """The exit-code contract, :data:`nbaops.errors.EXIT_CODES`, as a table."""
    from nbaops.errors import EXIT_CODES

    rows = ["| code | meaning |", "| ---- | ------- |"]
    rows += [f"| {code} | {meaning} |" for code, meaning in EXIT_CODES.items()]
    return "\n".join(rows)


def adr_table(folder: Path) -> str:
    """The decision records of ``folder``: number (linked) and title (``# ADR N — title``)."""
    rows = ["| ADR | decision |", "| --- | -------- |"]
    for path in sorted(folder.glob("[0-9][0-9][0-9][0-9]-*.md")):
        first = path.read_text(encoding="utf-8").partition("\n")[0]
        title = first.partition("—")[2].strip() or first.lstrip("# ").strip()
        rows.append(f"| [{path.name[:4]}]({folder.name}/{path.name}) | {title} |")
    return "\n".join(rows)


def fill_blocks(text: str, configs: Mapping[str, Config], where: str = "") -> str:
    """Rewrite every marked block of a page with its generated content.

    Raises:
        ConfigError: a block names no known check or service, or has no end marker (the
            page is bad input: one line naming it, not a traceback).
    """
    from nbaops.errors import ConfigError, UnknownServiceError

    out: list[str] = []
    pos = 0
    for match in BEGIN_RE.finditer(text):
        if match.start() < pos:
            continue
        end = text.find(END_MARK, match.end())
        if end < 0:
            raise ConfigError(f"{where}: {match.group(0)} has no {END_MARK}")
        try:
            body = render_block(match.group("kind"), match.group("arg"), configs)
        except (ValueError, UnknownServiceError) as exc:
            raise ConfigError(f"{where}: {match.group(0)}: {exc}") from None
        out.append(text[pos : match.end()])
        out.append("\n" + body + "\n")
        pos = end
    out.append(text[pos:])
    return "".join(out)


# docs/reference/<name> -> its renderer (root, config per profile) -> Markdown.
PAGES: dict[str, Callable[[Path, Mapping[str, Config]], str]] = {
    "tasks.md": tasks_page.page,
    "checks.md": checks_page.page,
    "hooks.md": hooks_page.page,
    "services.md": services_page.page,
    "task-map.md": task_map.page,
    "environment.md": lambda root, configs: environment.render_reference(
        HEADER.format(cmd=REGENERATE, source=environment.__name__)
    ),
}


def build(root: Path) -> dict[Path, str]:
    """Every generated file and every page with generated blocks: path -> content.

    Raises:
        ConfigError: the config or a page is bad input (not UTF-8 text, a bad block).
    """
    from nbaops.errors import ConfigError

    configs = load_profiles(root)
    docs = root / "docs"
    pages = {docs / "reference" / name: render(root, configs) for name, render in PAGES.items()}
    pages[root / "schemas" / "config.schema.json"] = config_schema.page(root)
    pages[docs / "schema-rules.md"] = render_markdown()  # the schema rule catalogs
    for page in [root / "README.md", *sorted(docs.rglob("*.md"))]:
        if page in pages or not page.is_file():
            continue
        where = str(page.relative_to(root))
        try:
            text = page.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{where}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
        if BEGIN_RE.search(text):
            pages[page] = fill_blocks(text, configs, where)
    return pages


def stale(root: Path, pages: Mapping[Path, str] | None = None) -> list[Path]:
    """Pages whose committed content differs from what the generator produces now."""
    pages = build(root) if pages is None else pages
    return [
        path
        for path, content in pages.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != content
    ]


def write(root: Path) -> list[Path]:
    """Write every stale page (:func:`nbaops.fsutil.write_outputs`: each to a temporary
    file first, then all replace their pages); returns the pages changed.

    Raises:
        OutputError: a page could not be written or replaced (one line, exit 3).
    """
    from nbaops.fsutil import write_outputs

    pages = build(root)
    changed = stale(root, pages)
    write_outputs([("docs.reference", path, pages[path]) for path in changed])
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    from nbaops.errors import NbaopsError
    from nbaops.paths import project_root
    from nbaops.stdio import parse_args, stderr_line

    parser = argparse.ArgumentParser(
        prog="python -m nbaops.docs_reference",
        description="Regenerate docs/reference/*.md and the generated blocks of the "
        "runbooks and playbooks from the code and nbaops.yaml.",
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 and name the stale files"
    )
    args = parse_args(parser, argv)
    root = project_root()
    try:
        changed = stale(root) if args.check else write(root)
    except NbaopsError as exc:
        stderr_line(f"nbaops: error: {exc}")
        return exc.exit_code
    for path in changed:
        print(f"{'stale:' if args.check else 'wrote'} {path.relative_to(root)}")
    if not changed:
        print("docs reference up to date")
    elif args.check:
        print(f"regenerate with: {REGENERATE}")
        return 1
    return 0
